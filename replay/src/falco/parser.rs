//! The Falco condition parser.
//!
//! A hand-written recursive-descent parser that follows the grammar of
//! falcosecurity/libs (`userspace/libsinsp/filter/parser.cpp`) token for
//! token: the same lexical classes (identifiers, field names, bare strings,
//! numbers, quoted strings with libs' escapes), the same operator order and
//! the same rules for when a blank is required after `and`, `or` and `not`.

use super::ast::{CmpOp, Expr, FieldRef, Operand, Rhs, Span, SrcId, Transformer, Value};

/// A syntax error at a byte offset of the condition text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset where parsing stopped.
    pub offset: usize,
    /// What was expected.
    pub message: String,
}

/// Parses one condition text.
pub fn parse(text: &str, src: SrcId) -> Result<Expr, ParseError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        pos: 0,
        src,
        depth: 0,
    };
    if text.trim().is_empty() {
        return Err(p.err("the condition is empty"));
    }
    let expr = p.parse_or()?;
    p.blank();
    if p.pos != p.s.len() {
        return Err(p.err("unexpected token, expecting 'or', 'and'"));
    }
    Ok(expr)
}

const TRANSFORMERS: [&str; 8] = [
    "tolower(",
    "toupper(",
    "b64(",
    "basename(",
    "len(",
    "join(",
    "concat(",
    "getopt(",
];

/// The binary operators, loosest first: each level joins operands of the next.
/// Builds the node of one binary level from its operands.
type Join = fn(Vec<Expr>, Span) -> Expr;

const BINARY_LEVELS: [(&str, Join); 2] = [("or", Expr::Or), ("and", Expr::And)];

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    src: SrcId,
    /// Nesting levels here: parentheses and transformers around this point
    /// (at most [`crate::ir::MAX_NESTING`]; the stages after parsing recurse too).
    depth: usize,
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\x08' | b'\r' | b'\n')
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

impl<'a> Parser<'a> {
    fn err(&self, msg: impl Into<String>) -> ParseError {
        ParseError {
            offset: self.pos.min(self.s.len()),
            message: msg.into(),
        }
    }

    fn span(&self, start: usize) -> Span {
        Span {
            src: self.src,
            start: start as u32,
            end: self.pos as u32,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    /// One nesting level deeper, at the `(` just read.
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > crate::ir::MAX_NESTING {
            return Err(ParseError {
                offset: self.pos.saturating_sub(1).min(self.s.len()),
                message: crate::ir::too_deep(),
            });
        }
        Ok(())
    }

    fn blank(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn lit(&mut self, s: &str) -> bool {
        if self.s[self.pos..].starts_with(s.as_bytes()) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// A keyword operator that needs a blank after it (`contains `).
    fn word_op(&mut self, w: &str) -> bool {
        let save = self.pos;
        if self.lit(w) {
            if self.blank() {
                return true;
            }
            self.pos = save;
        }
        false
    }

    fn ident_len(&self, at: usize) -> usize {
        let s = &self.s[at..];
        if !s.first().is_some_and(u8::is_ascii_alphabetic) {
            return 0;
        }
        1 + s[1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count()
    }

    fn lex_identifier(&mut self) -> Option<String> {
        let n = self.ident_len(self.pos);
        if n == 0 {
            return None;
        }
        let t = self.text[self.pos..self.pos + n].to_string();
        self.pos += n;
        Some(t)
    }

    fn lex_field_name(&mut self) -> Option<String> {
        let mut end = self.pos + self.ident_len(self.pos);
        if end == self.pos {
            return None;
        }
        let mut segments = 0;
        while self.s.get(end) == Some(&b'.') {
            let n = self.ident_len(end + 1);
            if n == 0 {
                break;
            }
            end += 1 + n;
            segments += 1;
        }
        if segments == 0 {
            return None;
        }
        let t = self.text[self.pos..end].to_string();
        self.pos = end;
        Some(t)
    }

    fn lex_while(&mut self, ok: impl Fn(u8) -> bool) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(&ok) {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.text[start..self.pos].to_string())
    }

    fn lex_bare_str(&mut self) -> Option<String> {
        self.lex_while(|c| !matches!(c, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_space(c))
    }

    fn lex_field_arg_bare(&mut self) -> Option<String> {
        self.lex_while(|c| !matches!(c, b'[' | b']' | b'"' | b'\'') && !is_space(c))
    }

    fn lex_number(&mut self) -> Option<String> {
        let s = self.s;
        let start = self.pos;
        let mut i = start;
        if s.get(i) == Some(&b'0') && matches!(s.get(i + 1), Some(b'x' | b'X')) {
            let n = s[i + 2..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            if n > 0 {
                self.pos = i + 2 + n;
                return Some(self.text[start..self.pos].to_string());
            }
        }
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits = s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        i += digits;
        if s.get(i) == Some(&b'.') {
            i += 1;
        }
        i += s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if matches!(s.get(i), Some(b'e' | b'E'))
            && matches!(s.get(i + 1), Some(b'+' | b'-'))
            && s.get(i + 2).is_some_and(u8::is_ascii_digit)
        {
            i += 2;
            i += s[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        }
        self.pos = i;
        Some(self.text[start..i].to_string())
    }

    fn lex_quoted(&mut self) -> Result<Option<String>, ParseError> {
        let Some(delim @ (b'"' | b'\'')) = self.peek() else {
            return Ok(None);
        };
        let start = self.pos;
        let mut prev = b'\\';
        let mut i = start;
        while i < self.s.len() {
            let c = self.s[i];
            if c == delim && prev != b'\\' && i > start {
                let raw = &self.text[start..=i];
                self.pos = i + 1;
                return unescape(raw).map(Some).map_err(|m| ParseError {
                    offset: start,
                    message: m,
                });
            }
            prev = c;
            i += 1;
        }
        Ok(None)
    }

    fn parse_or(&mut self) -> Result<Expr, ParseError> {
        self.parse_binary(0)
    }

    /// One binary level of [`BINARY_LEVELS`]: `next (kw next)*`, where a
    /// keyword must be followed by a blank or by `(` (as libs requires).
    fn parse_binary(&mut self, level: usize) -> Result<Expr, ParseError> {
        let Some(&(kw, build)) = BINARY_LEVELS.get(level) else {
            return self.parse_not();
        };
        self.blank();
        let start = self.pos;
        let mut children = vec![self.parse_binary(level + 1)?];
        self.blank();
        while self.lit(kw) {
            let child = if self.blank() {
                self.parse_binary(level + 1)?
            } else if self.lit("(") {
                self.parse_embedded_remainder()?
            } else {
                return Err(self.err(format!("expected blank or '(' after '{kw}'")));
            };
            children.push(child);
            self.blank();
        }
        Ok(if children.len() == 1 {
            children.pop().expect("one child")
        } else {
            build(children, self.span(start))
        })
    }

    fn parse_not(&mut self) -> Result<Expr, ParseError> {
        self.blank();
        let start = self.pos;
        let mut negate = false;
        loop {
            let save = self.pos;
            if self.lit("not") && self.peek().is_some_and(is_space) {
                while self.peek().is_some_and(is_space) {
                    self.pos += 1;
                }
                negate = !negate;
            } else {
                self.pos = save;
                break;
            }
        }
        let child = if self.lit("not(") {
            negate = !negate;
            self.parse_embedded_remainder()?
        } else {
            self.parse_check()?
        };
        Ok(if negate {
            Expr::Not(Box::new(child), self.span(start))
        } else {
            child
        })
    }

    /// After a `(`: the expression and its `)`, one nesting level deeper.
    fn parse_embedded_remainder(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        self.blank();
        let e = self.parse_or()?;
        self.blank();
        if !self.lit(")") {
            return Err(self.err("expected a ')' token"));
        }
        self.depth -= 1;
        Ok(e)
    }

    fn parse_check(&mut self) -> Result<Expr, ParseError> {
        self.blank();
        let start = self.pos;
        if self.lit("(") {
            return self.parse_embedded_remainder();
        }
        if let Some(name) = self.lex_field_name() {
            let left = self.parse_field_remainder(name, start)?;
            return self.parse_condition(Operand::Field(left), start);
        }
        if let Some(t) = self.lex_transformer()? {
            let left = self.parse_transformer_remainder(t, start)?;
            return self.parse_condition(left, start);
        }
        if let Some(id) = self.lex_identifier() {
            return Ok(Expr::Macro(id, self.span(start)));
        }
        Err(self.err("expected a '(' token, a field check, or an identifier"))
    }

    fn lex_transformer(&mut self) -> Result<Option<Transformer>, ParseError> {
        let start = self.pos;
        for t in TRANSFORMERS {
            if self.lit(t) {
                let name = &t[..t.len() - 1];
                return match Transformer::parse(name) {
                    Some(t) => Ok(Some(t)),
                    None => {
                        self.pos = start;
                        Err(self.err(format!(
                            "the '{name}' transformer is not supported by hindsight replay"
                        )))
                    }
                };
            }
        }
        Ok(None)
    }

    fn parse_field_remainder(
        &mut self,
        name: String,
        start: usize,
    ) -> Result<FieldRef, ParseError> {
        let arg = self.parse_optional_field_arg()?;
        Ok(FieldRef {
            name,
            arg,
            span: self.span(start),
        })
    }

    fn parse_optional_field_arg(&mut self) -> Result<Option<String>, ParseError> {
        if !self.lit("[") {
            return Ok(None);
        }
        let arg = match self.lex_quoted()? {
            Some(q) => q,
            None => self.lex_field_arg_bare().ok_or_else(|| {
                self.err("expected a valid field argument: a quoted string or a bare string")
            })?,
        };
        if !self.lit("]") {
            return Err(self.err("expected a ']' token"));
        }
        Ok(Some(arg))
    }

    fn parse_transformer_remainder(
        &mut self,
        t: Transformer,
        start: usize,
    ) -> Result<Operand, ParseError> {
        self.enter()?;
        self.blank();
        let arg_start = self.pos;
        let inner = if let Some(t2) = self.lex_transformer()? {
            self.parse_transformer_remainder(t2, arg_start)?
        } else if let Some(name) = self.lex_field_name() {
            Operand::Field(self.parse_field_remainder(name, arg_start)?)
        } else {
            return Err(self.err(format!(
                "expected a field or a nested transformer inside '{}('",
                t.name()
            )));
        };
        self.blank();
        if self.lit(",") {
            return Err(self.err(format!("'{}' takes exactly one argument", t.name())));
        }
        if !self.lit(")") {
            return Err(self.err("expected a ')' token closing the transformer"));
        }
        if self.parse_optional_field_arg()?.is_some() {
            return Err(self.err("a transformer result takes no argument"));
        }
        self.depth -= 1;
        Ok(Operand::Transform(t, Box::new(inner), self.span(start)))
    }

    fn try_transformer_or_val(&mut self) -> Result<Option<Operand>, ParseError> {
        self.blank();
        let start = self.pos;
        if self.lit("val(") {
            self.blank();
            let fstart = self.pos;
            let Some(name) = self.lex_field_name() else {
                return Err(self.err("expected a field within 'val' transformer"));
            };
            let f = self.parse_field_remainder(name, fstart)?;
            self.blank();
            if !self.lit(")") {
                return Err(self.err("expected a ')' token closing the transformer"));
            }
            return Ok(Some(Operand::Field(f)));
        }
        if let Some(t) = self.lex_transformer()? {
            return self.parse_transformer_remainder(t, start).map(Some);
        }
        Ok(None)
    }

    fn parse_condition(&mut self, lhs: Operand, start: usize) -> Result<Expr, ParseError> {
        self.blank();
        if self.lit("exists") {
            return Ok(Expr::Exists(lhs, self.span(start)));
        }
        self.blank();
        let num_ops = [
            ("<=", CmpOp::Le),
            ("<", CmpOp::Lt),
            (">=", CmpOp::Ge),
            (">", CmpOp::Gt),
        ];
        for (t, op) in num_ops {
            if self.lit(t) {
                let rhs = self.parse_num_value_or_transformer()?;
                return Ok(Expr::Compare {
                    lhs,
                    op,
                    rhs,
                    span: self.span(start),
                });
            }
        }
        let sym_ops = [("==", CmpOp::Eq), ("=", CmpOp::Eq), ("!=", CmpOp::Ne)];
        let word_ops = [
            ("glob", CmpOp::Glob),
            ("iglob", CmpOp::IGlob),
            ("contains", CmpOp::Contains),
            ("icontains", CmpOp::IContains),
            ("bcontains", CmpOp::BContains),
            ("startswith", CmpOp::StartsWith),
            ("bstartswith", CmpOp::BStartsWith),
            ("endswith", CmpOp::EndsWith),
            ("regex", CmpOp::Regex),
        ];
        let mut str_op = None;
        for (t, op) in sym_ops {
            if self.lit(t) {
                str_op = Some(op);
                break;
            }
        }
        if str_op.is_none() {
            for (t, op) in word_ops {
                if self.word_op(t) {
                    str_op = Some(op);
                    break;
                }
            }
        }
        if let Some(op) = str_op {
            let rhs = self.parse_str_value_or_transformer()?;
            return Ok(Expr::Compare {
                lhs,
                op,
                rhs,
                span: self.span(start),
            });
        }
        let list_ops = [
            ("intersects", CmpOp::Intersects),
            ("in", CmpOp::In),
            ("pmatch", CmpOp::PMatch),
        ];
        for (t, op) in list_ops {
            if self.lit(t) {
                let rhs = self.parse_list_value_or_transformer()?;
                return Ok(Expr::Compare {
                    lhs,
                    op,
                    rhs,
                    span: self.span(start),
                });
            }
        }
        Err(self.err(
            "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', \
             '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', \
             'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'",
        ))
    }

    fn value(&self, text: String, start: usize) -> Value {
        Value {
            quoted: matches!(self.s[start], b'"' | b'\''),
            text,
            span: self.span(start),
        }
    }

    fn parse_num_value_or_transformer(&mut self) -> Result<Rhs, ParseError> {
        self.blank();
        let start = self.pos;
        if let Some(o) = self.try_transformer_or_val()? {
            return Ok(Rhs::Operand(o));
        }
        match self.lex_number() {
            Some(n) => Ok(Rhs::Value(self.value(n, start))),
            None => Err(self.err(
                "expected a number value or a field with a valid transformer: 'val', \
                 'tolower', 'toupper', 'b64', 'basename', 'len'",
            )),
        }
    }

    fn parse_plain_str(&mut self) -> Result<Option<Value>, ParseError> {
        self.blank();
        let start = self.pos;
        if let Some(q) = self.lex_quoted()? {
            return Ok(Some(self.value(q, start)));
        }
        Ok(self.lex_bare_str().map(|b| self.value(b, start)))
    }

    fn parse_str_value_or_transformer(&mut self) -> Result<Rhs, ParseError> {
        if let Some(o) = self.try_transformer_or_val()? {
            return Ok(Rhs::Operand(o));
        }
        match self.parse_plain_str()? {
            Some(v) => Ok(Rhs::Value(v)),
            None => Err(self.err(
                "expected a string value or a field with a valid transformer: 'val', \
                 'tolower', 'toupper', 'b64', 'basename', 'len'",
            )),
        }
    }

    fn try_list(&mut self) -> Result<Option<Rhs>, ParseError> {
        let start = self.pos;
        if !self.lit("(") {
            return Ok(None);
        }
        let mut values = Vec::new();
        self.blank();
        if let Some(v) = self.parse_plain_str()? {
            values.push(v);
            self.blank();
            while self.lit(",") {
                match self.parse_plain_str()? {
                    Some(v) => values.push(v),
                    None => return Err(self.err("expected a string value")),
                }
                self.blank();
            }
        }
        if !self.lit(")") {
            return Err(self.err("expected a ')' token"));
        }
        Ok(Some(Rhs::List(values, self.span(start))))
    }

    fn parse_list_value_or_transformer(&mut self) -> Result<Rhs, ParseError> {
        self.blank();
        let start = self.pos;
        if let Some(l) = self.try_list()? {
            return Ok(l);
        }
        if let Some(o) = self.try_transformer_or_val()? {
            return Ok(Rhs::Operand(o));
        }
        if let Some(id) = self.lex_identifier() {
            return Ok(Rhs::ListName(self.value(id, start)));
        }
        Err(self.err(
            "expected a list, an identifier, or a field with a valid transformer: 'val', \
             'tolower', 'toupper', 'b64', 'basename', 'len'",
        ))
    }
}

/// Unescapes a quoted string (including its delimiters) as libs does.
pub fn unescape(raw: &str) -> Result<String, String> {
    let b = raw.as_bytes();
    let delim = b[0];
    let inner = &b[1..b.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&e) = inner.get(i) else {
            // A trailing backslash escapes the closing delimiter; libs never gets here.
            break;
        };
        match e {
            b'b' => out.push(b'\x08'),
            b'f' => out.push(b'\x0c'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            // libs maps "\ " to a backslash (a compatibility quirk) and "\\" to one.
            b' ' | b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'"' | b'\'' if e == delim => out.push(e),
            b'"' => return Err("invalid \\\" escape in '-quoted string".into()),
            b'\'' => return Err("invalid \\' escape in \"-quoted string".into()),
            b'x' => {
                let hex = inner
                    .get(i + 1..i + 3)
                    .ok_or("truncated hex char escape sequence")?;
                let hex = std::str::from_utf8(hex).map_err(|_| "invalid hex char escape")?;
                let v = u8::from_str_radix(hex, 16)
                    .map_err(|_| format!("invalid hex char escape sequence: {hex}"))?;
                out.push(v);
                i += 2;
            }
            other => {
                return Err(format!(
                    "unsupported string escape sequence: \\{}",
                    other as char
                ));
            }
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the quoted string is not valid UTF-8".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Expr {
        parse(s, 0).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn precedence_and_not() {
        let e = p("a or b and not c");
        let Expr::Or(c, _) = e else { panic!() };
        assert!(matches!(&c[0], Expr::Macro(n, _) if n == "a"));
        let Expr::And(a, _) = &c[1] else { panic!() };
        assert!(matches!(&a[1], Expr::Not(..)));
        // `not not x` cancels; `not(` needs no blank.
        assert!(matches!(p("not not x"), Expr::Macro(..)));
        assert!(matches!(p("not(x)"), Expr::Not(..)));
        assert!(matches!(p("x and(y)"), Expr::And(..)));
    }

    #[test]
    fn checks() {
        let e = p("fd.typechar='f' and fd.num>=0 and proc.aname[2]=sshd");
        let Expr::And(c, _) = e else { panic!() };
        let Expr::Compare { lhs, op, rhs, .. } = &c[2] else {
            panic!()
        };
        assert_eq!(lhs.field().display(), "proc.aname[2]");
        assert_eq!(*op, CmpOp::Eq);
        assert!(matches!(rhs, Rhs::Value(v) if v.text == "sshd"));
        assert!(parse("proc.name in (a, )", 0).is_err());
    }

    #[test]
    fn lists_and_values() {
        let Expr::Compare {
            rhs: Rhs::List(v, _),
            ..
        } = p("proc.name in (runc:[0:PARENT], \"a b\", '(systemd)')")
        else {
            panic!()
        };
        let t: Vec<_> = v.iter().map(|v| v.text.as_str()).collect();
        assert_eq!(t, ["runc:[0:PARENT]", "a b", "(systemd)"]);
        assert!(
            matches!(p("proc.name in ()"), Expr::Compare { rhs: Rhs::List(v, _), .. } if v.is_empty())
        );
        assert!(matches!(
            p("proc.name in my_list"),
            Expr::Compare {
                rhs: Rhs::ListName(_),
                ..
            }
        ));
        assert!(matches!(p("proc.name exists"), Expr::Exists(..)));
        assert!(matches!(
            p("tolower(proc.name) = val(proc.pname)"),
            Expr::Compare {
                lhs: Operand::Transform(..),
                rhs: Rhs::Operand(Operand::Field(_)),
                ..
            }
        ));
        assert!(matches!(
            p("len(proc.args) > 3"),
            Expr::Compare { op: CmpOp::Gt, .. }
        ));
        assert!(matches!(
            p("evt.arg[0] contains x"),
            Expr::Compare {
                op: CmpOp::Contains,
                ..
            }
        ));
    }

    #[test]
    fn errors() {
        let e = parse("proc.name = ", 0).unwrap_err();
        assert!(e.message.contains("expected a string value"), "{e:?}");
        let e = parse("proc.name foo bar", 0).unwrap_err();
        assert!(e.message.contains("check operator"));
        assert_eq!(e.offset, 10);
        let e = parse("(a and b", 0).unwrap_err();
        assert!(e.message.contains("')'"));
        let e = parse("a andb", 0).unwrap_err();
        assert!(e.message.contains("expecting 'or', 'and'") || e.message.contains("after 'and'"));
        assert!(parse("proc.name containsx y", 0).is_err());
        assert!(
            parse("join(proc.name) = x", 0)
                .unwrap_err()
                .message
                .contains("not supported")
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape(r#""a\"b\x41""#).unwrap(), "a\"bA");
        assert!(unescape(r#"'a\"b'"#).is_err());
    }
}
