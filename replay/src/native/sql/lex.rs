//! The tokens of native rule conditions: identifiers, quoted strings,
//! integers and symbols, with byte spans for error carets.

use super::SqlError;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Sym(&'static str),
    End,
}

/// A token and its byte span in the source.
#[derive(Debug, Clone)]
pub(super) struct Token {
    /// What it is.
    pub(super) tok: Tok,
    /// First byte.
    pub(super) start: usize,
    /// One past the last byte.
    pub(super) end: usize,
}

/// Splits `src` into tokens, ending with [`Tok::End`].
pub(super) fn lex(src: &str) -> Result<Vec<Token>, SqlError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'\'' || c == b'"' {
            // 'string' with '' escapes; "ident" quoted.
            let q = c;
            let mut s = String::new();
            i += 1;
            loop {
                match src[i..].chars().next() {
                    None => {
                        return Err(SqlError {
                            start,
                            end: src.len(),
                            message: "unterminated string".into(),
                            help: Some("close it with a matching quote".into()),
                        });
                    }
                    Some(ch) if ch as u32 == u32::from(q) => {
                        if b.get(i + 1) == Some(&q) {
                            s.push(ch);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push(Token {
                tok: if q == b'\'' {
                    Tok::Str(s)
                } else {
                    Tok::Ident(s)
                },
                start,
                end: i,
            });
            continue;
        }
        if c.is_ascii_digit()
            || (c == b'-'
                && b.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !matches!(
                    out.last().map(|t: &Token| &t.tok),
                    Some(Tok::Ident(_) | Tok::Int(_) | Tok::Str(_)) | Some(Tok::Sym(")"))
                ))
        {
            i += 1;
            let hex = c == b'0' && matches!(b.get(i), Some(b'x') | Some(b'X'));
            if hex {
                i += 1;
            }
            while i < b.len()
                && (b[i].is_ascii_hexdigit() && hex || b[i].is_ascii_digit() || b[i] == b'_')
            {
                i += 1;
            }
            let text = src[start..i].replace('_', "");
            let v = if hex {
                i64::from_str_radix(&text[2..], 16).ok()
            } else if let Some(oct) = text.strip_prefix('0').filter(|s| !s.is_empty()) {
                i64::from_str_radix(oct, 8).ok()
            } else {
                text.parse().ok()
            };
            let v = v.ok_or_else(|| SqlError {
                start,
                end: i,
                message: format!("bad number `{}`", &src[start..i]),
                help: None,
            })?;
            out.push(Token {
                tok: Tok::Int(v),
                start,
                end: i,
            });
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            // ancestor_exe[2]
            if b.get(i) == Some(&b'[')
                && let Some(close) = src[i..].find(']')
            {
                i += close + 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                start,
                end: i,
            });
            continue;
        }
        const SYMS: [&str; 16] = [
            "!~*", "<=", ">=", "<>", "!=", "==", "~*", "!~", "=", "<", ">", "(", ")", ",", "~", "*",
        ];
        match SYMS.iter().find(|s| src[i..].starts_with(**s)) {
            Some(s) => {
                i += s.len();
                out.push(Token {
                    tok: Tok::Sym(s),
                    start,
                    end: i,
                });
            }
            None => {
                let ch = src[i..].chars().next().unwrap_or(' ');
                return Err(SqlError {
                    start,
                    end: i + ch.len_utf8(),
                    message: format!("unexpected character `{ch}`"),
                    help: None,
                });
            }
        }
    }
    out.push(Token {
        tok: Tok::End,
        start: src.len(),
        end: src.len(),
    });
    Ok(out)
}
