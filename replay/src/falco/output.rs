//! Output templates (`%proc.name`, `%proc.aname[2]`) and Falco's JSON alert
//! format (`--format falco-json`).

use serde_json::{Map, Value as Json};

use crate::field::{Col, FdField, Field};
use crate::ir::{self, Part};
use crate::verdict::Verdict;

use super::compile::{FalcoField, OpenFlag, Val, lookup};
use super::fields::FType;

/// One piece of a Falco output template.
#[derive(Debug, Clone, PartialEq)]
pub enum TPart {
    /// Literal text.
    Text(String),
    /// A field, as written (`proc.aname[2]`), and its lowering.
    Field(String, Box<FalcoField>),
}

/// A field of an output template that cannot be rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// What is wrong.
    pub message: String,
    /// A suggestion.
    pub help: Option<String>,
    /// Byte offset of the field's `%` in the template.
    pub offset: usize,
    /// Length in characters of the field as written (`%proc.nme`).
    pub len: usize,
}

/// Splits a template into text and fields. Every field that cannot be
/// rendered (unknown, not recorded) is an error, in template order.
pub fn parse_template(t: &str) -> Result<Vec<TPart>, Vec<TemplateError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut text = String::new();
    let b = t.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 1 < b.len() && b[i + 1].is_ascii_alphabetic() {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'.') {
                j += 1;
            }
            let mut name = &t[start..j];
            // A trailing dot is punctuation ("%fd.name.").
            while name.ends_with('.') {
                name = &name[..name.len() - 1];
                j -= 1;
            }
            let mut arg = None;
            if j < b.len()
                && b[j] == b'['
                && let Some(end) = t[j..].find(']')
            {
                arg = Some(t[j + 1..j + end].to_string());
                j += end + 1;
            }
            let display = match &arg {
                Some(a) => format!("{name}[{a}]"),
                None => name.to_string(),
            };
            let f = match lookup(name, arg.as_deref()) {
                Ok(f) => f,
                Err((message, help)) => {
                    errors.push(TemplateError {
                        message,
                        help,
                        offset: i,
                        len: t[i..j].chars().count(),
                    });
                    i = j;
                    continue;
                }
            };
            if !text.is_empty() {
                out.push(TPart::Text(std::mem::take(&mut text)));
            }
            out.push(TPart::Field(display, Box::new(f)));
            i = j;
        } else {
            let ch = t[i..].chars().next().unwrap_or(' ');
            text.push(ch);
            i += ch.len_utf8();
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if !text.is_empty() {
        out.push(TPart::Text(text));
    }
    Ok(out)
}

/// The IR field that best represents a Falco field in generic output.
fn representative(v: &Val) -> Option<ir::Expr> {
    let c = |c: Col| Some(ir::Expr::field(Field::Column(c)));
    match v {
        Val::Ir(e) | Val::CwdSlash(e) | Val::Default(e, _) | Val::HostOnly(e) => Some(e.clone()),
        Val::Coalesce(list) => list
            .iter()
            .find(|e| !matches!(e.field, Field::Column(_)))
            .or(list.first())
            .cloned(),
        Val::EvtType { .. } => c(Col::Syscall),
        Val::EvtRes | Val::RawRes | Val::Failed => c(Col::Ret),
        Val::EvtNum => c(Col::Seq),
        Val::FdType { .. } => Some(ir::Expr::field(Field::Fd(FdField::Type))),
        Val::FdName => Some(ir::Expr::field(Field::Fd(FdField::Path))),
        Val::Enum(e, _) => Some(e.clone()),
        Val::SockFamily => c(Col::NetworkFamily),
        Val::OpenFlag(_) | Val::OpenExec => c(Col::FileFlags),
        Val::FdNum => Some(super::compile::fd_num()),
        Val::Role { remote, .. } => representative(&Val::Coalesce(remote.clone())),
        Val::Either(a, _) => representative(a),
        Val::Mode => c(Col::FileMode),
        Val::Const(_) | Val::Unavailable(_) => None,
    }
}

/// The template as IR output parts (for the engine's generic rendering).
pub fn ir_parts(t: &[TPart]) -> Vec<Part> {
    t.iter()
        .map(|p| match p {
            TPart::Text(s) => Part::Text(s.clone()),
            TPart::Field(_, f) => match (&f.val, representative(&f.val)) {
                (Val::Const(c), _) => Part::Text(c.clone()),
                // In the order `render` (falco-json) reads them.
                (Val::Coalesce(list), _) if list.len() > 1 => Part::First(list.clone()),
                (_, Some(e)) => Part::Field(e),
                (_, None) => Part::Text("<NA>".into()),
            },
        })
        .collect()
}

/// Reads values back from a verdict: event columns and state fields.
struct Lookup<'a> {
    v: &'a Verdict,
}

impl Lookup<'_> {
    fn get(&self, e: &ir::Expr) -> Option<Json> {
        let raw = match &e.field {
            Field::Column(c) => self.v.event.get(c.name()).cloned(),
            Field::ArgvAt(n) => self
                .v
                .event
                .get(Col::ProcessArgs.name())
                .and_then(|a| a.get(usize::from(*n)))
                .cloned(),
            f => {
                let name = f.name();
                self.v
                    .fields
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            }
        }
        .filter(|v| !v.is_null())?;
        if e.transforms.contains(&ir::Transform::CapNames) {
            return Some(Json::String(crate::value::cap_names(raw.as_i64()?)));
        }
        if e.transforms.contains(&ir::Transform::ShortId) {
            let s = raw.as_str()?;
            return Some(Json::String(s.get(..12).unwrap_or(s).to_string()));
        }
        if e.transforms.contains(&ir::Transform::Basename) {
            let s = raw.as_str()?;
            return Some(Json::String(s.rsplit('/').next().unwrap_or("").to_string()));
        }
        Some(raw)
    }

    fn col(&self, c: Col) -> Option<Json> {
        self.get(&ir::Expr::field(Field::Column(c)))
    }

    fn first(&self, list: &[ir::Expr]) -> Option<Json> {
        list.iter().find_map(|e| self.get(e))
    }

    fn str_col(&self, c: Col) -> Option<String> {
        self.col(c).and_then(|v| v.as_str().map(str::to_string))
    }
}

/// `fd.type`: the event's `fd_type`, unless it is the recorder's `other`
/// and the fd table knows better.
fn fd_type(l: &Lookup<'_>) -> Option<Json> {
    let ev = l.col(Col::FdType);
    let table = || l.get(&ir::Expr::field(Field::Fd(FdField::Type)));
    match ev {
        Some(t) if t.as_str() == Some("other") => table().or(Some(t)),
        Some(t) => Some(t),
        None => table(),
    }
}

/// Renders one Falco field's value as Falco prints it (`None`: `<NA>`).
fn render(f: &FalcoField, l: &Lookup<'_>) -> Option<Json> {
    let v = match &f.val {
        Val::Ir(e) => l.get(e),
        Val::Coalesce(list) => l.first(list),
        Val::Default(e, d) => l.get(e).or_else(|| Some(typed(d, f.ty))),
        Val::HostOnly(e) => match l.get(e) {
            None => Some(Json::String("host".into())),
            Some(_) => None,
        },
        Val::Const(c) => Some(Json::String(c.clone())),
        Val::EvtType { .. } => l.str_col(Col::Syscall).map(Json::String).or_else(|| {
            Some(Json::String(
                match l.v.event_kind {
                    "process_exec" => "execve",
                    "process_fork" => "clone",
                    "process_exit" => "procexit",
                    _ => return None,
                }
                .into(),
            ))
        }),
        Val::EvtRes => match l.col(Col::Ret).and_then(|r| r.as_i64()) {
            Some(r) if r < 0 => Some(Json::String(super::errno::name(-r))),
            Some(_) => Some(Json::String("SUCCESS".into())),
            None if matches!(l.v.event_kind, "process_exec" | "process_fork") => {
                Some(Json::String("SUCCESS".into()))
            }
            None => None,
        },
        Val::RawRes => l.col(Col::Ret).or_else(|| {
            matches!(l.v.event_kind, "process_exec" | "process_fork").then(|| Json::from(0))
        }),
        Val::Failed => match l.col(Col::Ret).and_then(|r| r.as_i64()) {
            Some(r) => Some(Json::Bool(r < 0)),
            None if matches!(l.v.event_kind, "process_exec" | "process_fork") => {
                Some(Json::Bool(false))
            }
            None => None,
        },
        Val::EvtNum => Some(Json::from(l.v.seq + 1)),
        Val::FdType { typechar: false } => fd_type(l),
        Val::FdName => {
            let ev = l.col(Col::FilePath);
            let table = || l.get(&ir::Expr::field(Field::Fd(FdField::Path)));
            match ev {
                Some(p) if p.as_str().is_some_and(|s| s.starts_with("socket:[")) => {
                    table().or(Some(p))
                }
                Some(p) => Some(p),
                None => table(),
            }
        }
        Val::Enum(e, table) => l.get(e).map(|raw| {
            let s = raw.as_str().map_or_else(|| raw.to_string(), str::to_string);
            let n = s
                .strip_prefix("0x")
                .map_or_else(|| s.parse().ok(), |h| i64::from_str_radix(h, 16).ok());
            let name = n.and_then(|n| table.iter().find(|(_, v)| *v == n));
            Json::String(name.map_or(s, |(name, _)| (*name).to_string()))
        }),
        Val::OpenExec => {
            let flags = l.str_col(Col::FileFlags).unwrap_or_default();
            let mode = l.col(Col::FileMode).and_then(|m| m.as_i64()).unwrap_or(0);
            let b = (flags.contains("O_CREAT") || flags.contains("O_TMPFILE")) && mode & 0o111 != 0;
            Some(Json::String(b.to_string()))
        }
        Val::FdType { typechar: true } => fd_type(l).and_then(|t| {
            let t = t.as_str()?.to_string();
            let c = match t.as_str() {
                "file" => "f",
                "directory" => "d",
                "ipv4" => "4",
                "ipv6" => "6",
                "unix" => "u",
                "pipe" => "p",
                "memfd" => "m",
                "event" => "e",
                "signalfd" => "s",
                "timerfd" => "t",
                "inotify" => "i",
                "bpf" => "b",
                "netlink" => "n",
                _ => "o",
            };
            Some(Json::String(c.into()))
        }),
        Val::SockFamily => l
            .str_col(Col::NetworkFamily)
            .map(|f| Json::String(if f == "AF_UNIX" { "unix" } else { "ip" }.into())),
        Val::CwdSlash(e) => l.get(e).and_then(|c| {
            let c = c.as_str()?.to_string();
            Some(Json::String(if c.ends_with('/') {
                c
            } else {
                format!("{c}/")
            }))
        }),
        Val::OpenFlag(flag) => {
            let flags = l.str_col(Col::FileFlags).unwrap_or_default();
            let b = match flag {
                OpenFlag::Read => !flags.is_empty() && !flags.contains("O_WRONLY"),
                OpenFlag::Write => flags.contains("O_WRONLY") || flags.contains("O_RDWR"),
                OpenFlag::Create => flags.contains("O_CREAT"),
            };
            Some(Json::String(b.to_string()))
        }
        Val::FdNum => l.first(&[super::compile::fd_num()]).or_else(|| {
            let r = l.col(Col::Ret)?.as_i64()?;
            (r < 0).then(|| Json::from(-1))
        }),
        Val::Role {
            server,
            local,
            remote,
        } => {
            let srv = l
                .str_col(Col::Syscall)
                .is_some_and(|s| matches!(s.as_str(), "accept" | "accept4" | "listen" | "bind"));
            if srv == *server {
                l.first(local)
            } else {
                l.first(remote)
            }
        }
        Val::Either(a, _) => render(
            &FalcoField {
                val: (**a).clone(),
                ty: f.ty,
            },
            l,
        ),
        Val::Mode => {
            let sys = l.str_col(Col::Syscall).unwrap_or_default();
            let mode = l.col(Col::FileMode).and_then(|m| m.as_u64());
            match mode.and_then(|m| super::compile::render_mode(&sys, m as u32)) {
                Some(s) => Some(Json::String(s)),
                None => l.get(&ir::Expr::field(Field::SyscallArg("mode".into()))),
            }
        }
        Val::Unavailable(_) => None,
    }?;
    Some(match (f.ty, v) {
        (FType::Num, Json::String(s)) => {
            s.parse::<i64>().map(Json::from).unwrap_or(Json::String(s))
        }
        (FType::Bool, Json::Bool(b)) => Json::String(b.to_string()),
        (_, Json::Array(a)) => Json::String(
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (_, v) => v,
    })
}

fn typed(s: &str, ty: FType) -> Json {
    match ty {
        FType::Num => s
            .parse::<i64>()
            .map(Json::from)
            .unwrap_or(Json::String(s.into())),
        _ => Json::String(s.into()),
    }
}

fn text(v: &Option<Json>) -> String {
    match v {
        None => "<NA>".into(),
        Some(Json::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` from ns since the epoch (UTC).
pub fn rfc3339_nanos(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// `HH:MM:SS.nnnnnnnnn` (UTC), Falco's `evt.time`.
pub fn clock_nanos(ns: i64) -> String {
    let r = rfc3339_nanos(ns);
    r[11..r.len() - 1].to_string()
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    // Howard Hinnant's days_from_civil inverse.
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Renders a Falco rule's template for a verdict: the text and the
/// `output_fields` map (field as written → value; `null` when missing).
pub fn render_output(t: &[TPart], v: &Verdict) -> (String, Map<String, Json>) {
    let l = Lookup { v };
    let mut out = String::new();
    let mut fields = Map::new();
    for p in t {
        match p {
            TPart::Text(s) => out.push_str(s),
            TPart::Field(name, f) => {
                let val = match name.as_str() {
                    "evt.time" => Some(Json::String(clock_nanos(v.time_ns))),
                    "evt.datetime" => Some(Json::String(
                        rfc3339_nanos(v.time_ns).replace('T', " ").replace('Z', ""),
                    )),
                    "evt.time.iso8601" => Some(Json::String(rfc3339_nanos(v.time_ns))),
                    _ => render(f, &l),
                };
                out.push_str(&text(&val));
                fields.insert(name.clone(), val.unwrap_or(Json::Null));
            }
        }
    }
    (out, fields)
}

/// One alert in Falco's JSON format: `hostname`, `output` (time, priority and
/// the rendered template, as Falco prints it), `output_fields`, `priority`,
/// `rule`, `source`, `tags` (sorted) and `time` (RFC 3339, nanoseconds).
pub fn falco_json(t: &[TPart], v: &Verdict) -> Json {
    let (text, mut fields) = render_output(t, v);
    fields.insert("evt.time".into(), Json::from(v.time_ns));
    let mut tags = v.tags.clone();
    tags.sort();
    tags.dedup();
    let hostname = v
        .event
        .get("host_name")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let mut o = Map::new();
    o.insert("hostname".into(), Json::String(hostname));
    o.insert(
        "output".into(),
        Json::String(format!(
            "{}: {} {}",
            clock_nanos(v.time_ns),
            v.priority,
            text
        )),
    );
    o.insert("output_fields".into(), Json::Object(fields));
    o.insert("priority".into(), Json::String(v.priority.to_string()));
    o.insert("rule".into(), Json::String(v.rule.clone()));
    o.insert("source".into(), Json::String("syscall".into()));
    o.insert(
        "tags".into(),
        Json::Array(tags.into_iter().map(Json::String).collect()),
    );
    o.insert("time".into(), Json::String(rfc3339_nanos(v.time_ns)));
    Json::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339_nanos(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339_nanos(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(clock_nanos(1_700_000_000_123_456_789), "22:13:20.123456789");
    }

    #[test]
    fn template() {
        let t = parse_template("file=%fd.name gparent=%proc.aname[2] x=%evt.arg.flags.").unwrap();
        let names: Vec<_> = t
            .iter()
            .filter_map(|p| match p {
                TPart::Field(n, _) => Some(n.as_str()),
                TPart::Text(_) => None,
            })
            .collect();
        assert_eq!(names, ["fd.name", "proc.aname[2]", "evt.arg.flags"]);
        assert!(matches!(t.last(), Some(TPart::Text(s)) if s == "."));
        let errs = parse_template("a %proc.nme b %evt.nope[x] c").unwrap_err();
        let at: Vec<_> = errs.iter().map(|e| (e.offset, e.len)).collect();
        assert_eq!(at, [(2, 9), (14, 12)]);
    }
}
