//! The one internal representation every rule language compiles to.
//!
//! Falco, Sigma and Hindsight's native rules all become [`Rule`]s whose
//! [`Rule::condition`] is a [`Cond`] tree over [`Field`]s. The engine then
//! shares state, evaluation and verdicts between them.
//!
//! # Semantics (the contract for compilers)
//!
//! * **Two-valued logic, Falco style.** A [`Test`] whose field is missing
//!   (null, no such process/fd/ancestor, transformer failed) is `false`;
//!   `Not` of it is `true`. Use [`Cond::Exists`] to test presence explicitly.
//! * **Multi-valued fields** ([`Field::is_multi`]: `proc_argv`, `process_args`,
//!   `ancestor_*`) make a test hold when *any* element satisfies it. `Not`
//!   applies to the whole test (so `Not(ancestor_name = "sshd")` means "no
//!   ancestor is sshd").
//! * **Types.** Comparisons of an `Int` field with a `Str` literal parse the
//!   literal as an integer at compile time (eval never parses). `Bool` fields
//!   compare with `Bool` literals. Ordering ops (`<`…) on strings compare bytes.
//! * **Case.** [`Test::nocase`] makes every string op ASCII-case-insensitive
//!   (Sigma's default); `Eq`/`In`/`Contains`/`StartsWith`/`EndsWith`/`Glob`/`Regex`/`PMatch`
//!   honour it. Falco's `icontains` is `Contains` with `nocase`.
//! * **`Glob`** follows falcosecurity/libs: the whole value must match; `*`
//!   matches any run of characters including `/`, `?` one character, `[abc]`,
//!   `[a-z]` and `[!a]`/`[^a]` classes; `\` escapes the next character.
//! * **`PMatch`** (Falco `pmatch`): the value equals a list entry or lies under
//!   it (`/tmp` matches `/tmp` and `/tmp/x`, not `/tmpfoo`).
//! * **`Regex { anchored }`**: `anchored` means the whole value must match
//!   (Falco `regex`); otherwise a match anywhere (Sigma `|re`). RE2-like syntax
//!   (the `regex` crate); invalid patterns are a compile error.
//! * **`In`/`Intersects`**: the right side is a [`Literal::List`]. `In` holds
//!   when the value (or any element of a multi-valued field) is in the list;
//!   `Intersects` is the same for multi-valued fields and reads better.
//! * **`Cidr`**: the right side is a string or a list of `addr/len` networks
//!   (IPv4 or IPv6); holds when the field's IP address lies in one of them.
//! * **`BContains`/`BStartsWith`**: byte search with a [`Literal::Bytes`] needle.
//! * **Field vs field** ([`Rhs::Field`], Falco `val(...)`): both sides are read
//!   from the same event and state.

use crate::field::Field;

/// A transformer applied to a field value before the test (Falco's `tolower(...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Transform {
    /// ASCII lower case.
    ToLower,
    /// ASCII upper case.
    ToUpper,
    /// The part after the last `/`.
    Basename,
    /// Length in bytes (strings) or number of elements (lists); the value becomes an integer.
    Len,
    /// Base64-decode (standard alphabet, padding optional); missing when invalid.
    B64,
    /// A capability bit mask as space-separated names (`CAP_CHOWN CAP_KILL`),
    /// as Falco renders `thread.cap_*`; the value becomes a string.
    CapNames,
    /// The first 12 characters, as Falco shortens `container.id`.
    ShortId,
}

impl Transform {
    /// Lower-case name, as written in native rules and in errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Transform::ToLower => "lower",
            Transform::ToUpper => "upper",
            Transform::Basename => "basename",
            Transform::Len => "len",
            Transform::B64 => "b64",
            Transform::CapNames => "cap_names",
            Transform::ShortId => "short_id",
        }
    }
}

/// A field read, with transformers applied innermost first
/// (`transforms = [Basename, ToLower]` is `lower(basename(field))`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Expr {
    /// The field.
    pub field: Field,
    /// Transformers, applied in order.
    pub transforms: Vec<Transform>,
}

impl Expr {
    /// A bare field read.
    pub fn field(field: Field) -> Expr {
        Expr {
            field,
            transforms: Vec::new(),
        }
    }
}

impl From<Field> for Expr {
    fn from(field: Field) -> Expr {
        Expr::field(field)
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Literal {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// Raw bytes (`bcontains`/`bstartswith` needles).
    Bytes(Vec<u8>),
    /// A list (`in`, `intersects`, `pmatch`, `cidr`).
    List(Vec<Literal>),
}

/// The right-hand side of a [`Test`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rhs {
    /// A literal.
    Lit(Literal),
    /// Another field of the same event/state (Falco `val(field)`).
    Field(Expr),
}

/// A test operator. See the module docs for exact semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// `=`.
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
    /// Substring.
    Contains,
    /// Prefix.
    StartsWith,
    /// Suffix.
    EndsWith,
    /// Byte substring ([`Literal::Bytes`]).
    BContains,
    /// Byte prefix ([`Literal::Bytes`]).
    BStartsWith,
    /// Shell-style glob over the whole value (falcosecurity/libs semantics).
    Glob,
    /// Path prefix match against a list of paths.
    PMatch,
    /// Regular expression; `anchored` = must match the whole value.
    Regex {
        /// Whole-value match (Falco) vs search (Sigma).
        anchored: bool,
    },
    /// Membership in a list.
    In,
    /// Some element of a multi-valued field is in the list.
    Intersects,
    /// IP address within one of the CIDR networks.
    Cidr,
}

impl Op {
    /// The operator as written in errors and debug output.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::StartsWith => "startswith",
            Op::EndsWith => "endswith",
            Op::BContains => "bcontains",
            Op::BStartsWith => "bstartswith",
            Op::Glob => "glob",
            Op::PMatch => "pmatch",
            Op::Regex { anchored: true } => "regex",
            Op::Regex { anchored: false } => "regex-search",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::Cidr => "cidr",
        }
    }
}

/// One test: `lhs op rhs`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Test {
    /// The field read (with transformers).
    pub lhs: Expr,
    /// The operator.
    pub op: Op,
    /// A literal or another field.
    pub rhs: Rhs,
    /// ASCII-case-insensitive string comparison.
    pub nocase: bool,
}

/// How deeply a rule condition may nest: parentheses, `not`, and each macro
/// a condition uses count one level each. Every rule language stops at this
/// depth with [`too_deep`], so the recursive stages after parsing
/// (simplification, specialisation, evaluation, dropping) stay far within the
/// main thread's stack, even in a debug build.
pub const MAX_NESTING: usize = 100;

/// How many tests and operators one condition may hold once its macros are
/// expanded (macros that use macros twice grow exponentially).
pub const MAX_NODES: usize = 100_000;

/// The error for a condition nested more than [`MAX_NESTING`] levels.
pub fn too_deep() -> String {
    format!("condition nested too deeply (more than {MAX_NESTING} levels)")
}

/// The error for a condition larger than [`MAX_NODES`].
pub fn too_large() -> String {
    format!(
        "condition too large once its macros are expanded (more than {MAX_NODES} tests and operators)"
    )
}

/// A boolean condition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cond {
    /// Always true / always false.
    Const(bool),
    /// All hold (empty: true).
    And(Vec<Cond>),
    /// Any holds (empty: false).
    Or(Vec<Cond>),
    /// Negation.
    Not(Box<Cond>),
    /// A field test.
    Test(Test),
    /// The field is present (not null, the process/fd/ancestor is known).
    Exists(Expr),
}

impl Cond {
    /// `lhs op literal`, case-sensitive: the common case for compilers.
    pub fn test(field: Field, op: Op, lit: Literal) -> Cond {
        Cond::Test(Test {
            lhs: Expr::field(field),
            op,
            rhs: Rhs::Lit(lit),
            nocase: false,
        })
    }

    /// (levels, nodes): how deeply the condition nests (a test alone is 1)
    /// and how many nodes it has. Walks without recursion, so it is safe on
    /// any tree.
    pub fn shape(&self) -> (usize, usize) {
        let mut todo = vec![(self, 1usize)];
        let (mut depth, mut nodes) = (0, 0);
        while let Some((c, d)) = todo.pop() {
            depth = depth.max(d);
            nodes += 1;
            match c {
                Cond::And(v) | Cond::Or(v) => todo.extend(v.iter().map(|c| (c, d + 1))),
                Cond::Not(c) => todo.push((c, d + 1)),
                Cond::Const(_) | Cond::Test(_) | Cond::Exists(_) => {}
            }
        }
        (depth, nodes)
    }

    /// Every field read by the condition, sorted and without duplicates.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect_fields(&self, out: &mut Vec<Field>) {
        match self {
            Cond::Const(_) => {}
            Cond::And(v) | Cond::Or(v) => v.iter().for_each(|c| c.collect_fields(out)),
            Cond::Not(c) => c.collect_fields(out),
            Cond::Test(t) => {
                out.push(t.lhs.field.clone());
                if let Rhs::Field(e) = &t.rhs {
                    out.push(e.field.clone());
                }
            }
            Cond::Exists(e) => out.push(e.field.clone()),
        }
    }
}

/// Rule priority, Falco's scale (Sigma levels map: critical→Critical,
/// high→Error, medium→Warning, low→Notice, informational→Informational).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Priority {
    /// Most severe.
    Emergency,
    /// Action must be taken immediately.
    Alert,
    /// Critical.
    Critical,
    /// Error.
    Error,
    /// Warning (the default).
    #[default]
    Warning,
    /// Notice.
    Notice,
    /// Informational.
    Informational,
    /// Debug.
    Debug,
}

impl Priority {
    /// Every priority, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// Falco's spelling (`Critical`, `Warning`, …), as printed in verdicts.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }

    /// Parses any case of Falco's names plus `info`.
    pub fn parse(s: &str) -> Option<Priority> {
        let l = s.to_ascii_lowercase();
        if l == "info" {
            return Some(Priority::Informational);
        }
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(&l))
    }
}

/// What an enforcer would do when the rule fires (`--simulate-enforcement`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// SIGKILL the process.
    Kill,
    /// SIGKILL the process and all its descendants.
    KillTree,
    /// The syscall fails with this errno (positive, e.g. 13 for EACCES).
    Deny(i32),
}

impl Action {
    /// `kill`, `kill_tree`, `deny: EACCES`.
    pub fn describe(self) -> String {
        match self {
            Action::Kill => "kill".into(),
            Action::KillTree => "kill_tree".into(),
            Action::Deny(e) => format!("deny: {}", crate::errno::name(e)),
        }
    }
}

/// One piece of an output template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A field value, rendered as text (`<NA>` when missing, lists as `[a, b]`).
    Field(Expr),
    /// The first of these field values that is present (a Falco field read
    /// from one of several places, e.g. `evt.arg.target`: the syscall's
    /// argument, else the path column); `<NA>` when none is.
    First(Vec<Expr>),
}

/// A rule's source location and language.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// Language name ([`crate::lang::RuleLanguage::name`]: `hindsight`, `falco`, `sigma`).
    pub language: &'static str,
    /// The rule file as given.
    pub file: String,
    /// 1-based line of the rule's definition (0 when unknown).
    pub line: u32,
}

/// A compiled rule, whatever language it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable unique id within a rule set: native and Falco use the rule name,
    /// Sigma its `id` UUID. Verdicts and diffs key on it.
    pub id: String,
    /// Human name (Falco `rule`, Sigma `title`).
    pub name: String,
    /// Description.
    pub description: String,
    /// Priority / severity.
    pub priority: Priority,
    /// Tags (MITRE ATT&CK ids and the like), as written.
    pub tags: Vec<String>,
    /// Where it came from.
    pub origin: Origin,
    /// The condition.
    pub condition: Cond,
    /// The output template.
    pub output: Vec<Part>,
    /// What an enforcer would do.
    pub action: Option<Action>,
    /// Disabled rules are compiled (so errors show) but not evaluated.
    pub enabled: bool,
    /// Renders the verdict's output text from the finished verdict (its
    /// whole event and the state fields), for a language whose templates
    /// mean more than [`Rule::output`]'s parts can say (Falco's `%evt.res`
    /// as `SUCCESS`, `%proc.cwd` with its trailing slash, …). `None`: the
    /// text rendered from [`Rule::output`] when the rule fired.
    pub late_output: Option<LateOutput>,
}

/// See [`Rule::late_output`].
#[derive(Clone)]
pub struct LateOutput(pub std::sync::Arc<dyn Fn(&crate::verdict::Verdict) -> String + Send + Sync>);

impl std::fmt::Debug for LateOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LateOutput(..)")
    }
}

impl PartialEq for LateOutput {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Rule {
    /// Every field the rule reads (condition and output), sorted, no duplicates.
    pub fn fields(&self) -> Vec<Field> {
        let mut f = self.condition.fields();
        for p in &self.output {
            match p {
                Part::Field(e) => f.push(e.field.clone()),
                Part::First(list) => f.extend(list.iter().map(|e| e.field.clone())),
                Part::Text(_) => {}
            }
        }
        f.sort();
        f.dedup();
        f
    }
}
