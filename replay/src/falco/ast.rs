//! The syntax tree of a Falco condition, with source spans.
//!
//! Every node carries a [`Span`] into the condition text it was parsed from
//! (a rule's condition, a macro's condition or an exception), so that errors
//! found after macro expansion still point at the right file, line and column.

/// Identifies one parsed condition text in a [`super::source::SourceMap`].
pub type SrcId = u32;

/// A byte range inside one condition text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// Which condition text.
    pub src: SrcId,
    /// Byte offset of the first character.
    pub start: u32,
    /// Byte offset one past the last character.
    pub end: u32,
}

/// A boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All children hold.
    And(Vec<Expr>, Span),
    /// At least one child holds.
    Or(Vec<Expr>, Span),
    /// The child does not hold.
    Not(Box<Expr>, Span),
    /// A bare identifier: a macro reference (resolved before compilation).
    Macro(String, Span),
    /// `operand exists`.
    Exists(Operand, Span),
    /// `operand OP rhs`.
    Compare {
        /// Left-hand side.
        lhs: Operand,
        /// The operator.
        op: CmpOp,
        /// Right-hand side.
        rhs: Rhs,
        /// Span of the whole check.
        span: Span,
    },
}

impl Expr {
    /// The span of this expression.
    pub fn span(&self) -> Span {
        match self {
            Expr::And(_, s)
            | Expr::Or(_, s)
            | Expr::Not(_, s)
            | Expr::Macro(_, s)
            | Expr::Exists(_, s) => *s,
            Expr::Compare { span, .. } => *span,
        }
    }
}

/// A field reference such as `proc.aname[2]` or `evt.arg.flags`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRef {
    /// Field name (`proc.aname`).
    pub name: String,
    /// Argument in brackets (`2`), if any.
    pub arg: Option<String>,
    /// Where the field name starts and the argument ends.
    pub span: Span,
}

impl FieldRef {
    /// The field as written (`proc.aname[2]`).
    pub fn display(&self) -> String {
        match &self.arg {
            Some(a) => format!("{}[{a}]", self.name),
            None => self.name.clone(),
        }
    }
}

/// A field transformer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transformer {
    /// `tolower(x)`.
    ToLower,
    /// `toupper(x)`.
    ToUpper,
    /// `basename(x)`.
    Basename,
    /// `len(x)`: length in bytes (strings) or items (lists).
    Len,
    /// `b64(x)`: base64-decode.
    B64,
}

impl Transformer {
    /// Parses a transformer name.
    pub fn parse(name: &str) -> Option<Transformer> {
        Some(match name {
            "tolower" => Transformer::ToLower,
            "toupper" => Transformer::ToUpper,
            "basename" => Transformer::Basename,
            "len" => Transformer::Len,
            "b64" => Transformer::B64,
            _ => return None,
        })
    }

    /// The transformer's name.
    pub fn name(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
            Transformer::B64 => "b64",
        }
    }
}

/// Something that yields a value from the event: a field, possibly transformed.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A plain field.
    Field(FieldRef),
    /// A transformer applied to an operand.
    Transform(Transformer, Box<Operand>, Span),
}

impl Operand {
    /// The innermost field.
    pub fn field(&self) -> &FieldRef {
        match self {
            Operand::Field(f) => f,
            Operand::Transform(_, inner, _) => inner.field(),
        }
    }

    /// The span of the operand.
    pub fn span(&self) -> Span {
        match self {
            Operand::Field(f) => f.span,
            Operand::Transform(_, _, s) => *s,
        }
    }
}

/// A literal value with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The value, unescaped.
    pub text: String,
    /// Where it was written.
    pub span: Span,
    /// Whether it was written in quotes (quoted values are never list names).
    pub quoted: bool,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Rhs {
    /// A single value (quoted, bare or number).
    Value(Value),
    /// A parenthesised list `(a, b, c)`; list names inside are expanded.
    List(Vec<Value>, Span),
    /// An identifier after a list operator: a list name (`in my_list`).
    ListName(Value),
    /// `val(field)` or a transformed field: compare with another field.
    Operand(Operand),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `contains`.
    Contains,
    /// `icontains`.
    IContains,
    /// `bcontains` (hex bytes).
    BContains,
    /// `startswith`.
    StartsWith,
    /// `bstartswith` (hex bytes).
    BStartsWith,
    /// `endswith`.
    EndsWith,
    /// `glob` (fnmatch without flags: `*` crosses `/`).
    Glob,
    /// `iglob`.
    IGlob,
    /// `regex` (anchored: the whole value must match).
    Regex,
    /// `in`.
    In,
    /// `intersects`.
    Intersects,
    /// `pmatch` (path prefix match).
    PMatch,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "contains",
            CmpOp::IContains => "icontains",
            CmpOp::BContains => "bcontains",
            CmpOp::StartsWith => "startswith",
            CmpOp::BStartsWith => "bstartswith",
            CmpOp::EndsWith => "endswith",
            CmpOp::Glob => "glob",
            CmpOp::IGlob => "iglob",
            CmpOp::Regex => "regex",
            CmpOp::In => "in",
            CmpOp::Intersects => "intersects",
            CmpOp::PMatch => "pmatch",
        }
    }

    /// Whether the operator takes a list on the right.
    pub fn is_list_op(self) -> bool {
        matches!(self, CmpOp::In | CmpOp::Intersects | CmpOp::PMatch)
    }
}
