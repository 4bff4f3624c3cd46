//! `open_flags`, `cidr_match`, `human_duration`.

use std::net::IpAddr;
use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility, create_udf,
};

/// Linux `open(2)` flag bits (generic values, as on x86-64 and arm64), in the
/// order they are printed after the access mode.
const OPEN_FLAGS: &[(i64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o4010000, "O_SYNC"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o20200000, "O_TMPFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
    (0o10000000, "O_PATH"),
];

/// Numeric open flags to their symbolic form: `577` → `O_WRONLY|O_CREAT|O_TRUNC`.
/// Unknown bits are kept as a hex remainder (`0x40000000`).
pub fn open_flags_symbolic(flags: i64) -> String {
    let mut parts = vec![match flags & 0o3 {
        0 => "O_RDONLY".to_string(),
        1 => "O_WRONLY".to_string(),
        2 => "O_RDWR".to_string(),
        _ => "O_ACCMODE".to_string(),
    }];
    let mut rest = flags & !0o3;
    for &(bits, name) in OPEN_FLAGS {
        if rest & bits == bits {
            parts.push(name.to_string());
            rest &= !bits;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// `open_flags(n)`: symbolic flags for a number; a string (the `file_flags`
/// column is already symbolic) is returned unchanged.
#[derive(Debug, PartialEq, Eq, Hash)]
struct OpenFlags {
    signature: Signature,
}

impl ScalarUDFImpl for OpenFlags {
    fn name(&self) -> &str {
        "open_flags"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = super::all_scalar(&args.args);
        let array = &super::arrays(&args.args)?[0];
        let out: StringArray = if array.data_type().is_integer() {
            super::int64(array)?
                .iter()
                .map(|v| v.map(open_flags_symbolic))
                .collect()
        } else {
            super::utf8_array(array)?
        };
        super::finish(scalar, Arc::new(out))
    }
}

pub(super) fn open_flags_udf() -> ScalarUDF {
    ScalarUDF::from(OpenFlags {
        signature: Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Int64]),
                TypeSignature::Exact(vec![DataType::Utf8]),
            ],
            Volatility::Immutable,
        ),
    })
}

/// Parses `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128).
pub fn parse_cidr(cidr: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match cidr.split_once('/') {
        Some((a, l)) => (
            a.trim().parse::<IpAddr>().ok()?,
            Some(l.trim().parse::<u8>().ok()?),
        ),
        None => (cidr.trim().parse::<IpAddr>().ok()?, None),
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((addr, len))
}

/// Whether `ip` lies in `cidr`. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
/// match IPv4 networks. Anything that is not an address (a unix socket path)
/// is simply not in any network.
pub fn ip_in_cidr(ip: &str, net: (IpAddr, u8)) -> bool {
    let Ok(mut ip) = ip.trim().parse::<IpAddr>() else {
        return false;
    };
    if let (IpAddr::V6(v6), IpAddr::V4(_)) = (ip, net.0)
        && let Some(v4) = v6.to_ipv4_mapped()
    {
        ip = IpAddr::V4(v4);
    }
    match (ip, net.0) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(net.1)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(net.1)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

pub(super) fn cidr_match_udf() -> ScalarUDF {
    create_udf(
        "cidr_match",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let mut last: Option<(String, (IpAddr, u8))> = None;
            super::two_str_to_bool(args, |ip, cidr| {
                let net = match &last {
                    Some((text, net)) if text == cidr => *net,
                    _ => {
                        let net = parse_cidr(cidr).ok_or_else(|| {
                            DataFusionError::Execution(format!(
                                "cidr_match: {cidr:?} is not a network (want e.g. '10.0.0.0/8', 'fd00::/8' or '192.0.2.7')"
                            ))
                        })?;
                        last = Some((cidr.to_string(), net));
                        net
                    }
                };
                Ok(ip_in_cidr(ip, net))
            })
        }),
    )
}

/// A duration in nanoseconds for people: `850ns`, `12.3µs`, `4.56ms`,
/// `12.34s`, `5m 03s`, `2h 05m 03s`, `3d 04h 05m`. Negative values get a `-`.
pub fn format_duration_ns(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let mut n = ns.unsigned_abs();
    if n < 60_000_000_000 {
        // Rounded to three significant digits before the unit is chosen, so
        // that 999,999 ns is `1ms`, not `1000µs`.
        let scale = 10u64.pow(n.checked_ilog10().unwrap_or(0).saturating_sub(2));
        n = (n + scale / 2) / scale * scale;
    }
    let body = if n < 1_000 {
        format!("{n}ns")
    } else if n < 1_000_000 {
        format!("{}µs", trim3(n as f64 / 1e3))
    } else if n < 1_000_000_000 {
        format!("{}ms", trim3(n as f64 / 1e6))
    } else if n < 60_000_000_000 {
        format!("{}s", trim3(n as f64 / 1e9))
    } else {
        let s = n / 1_000_000_000;
        let (d, h, m, s) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
        if d > 0 {
            format!("{d}d {h:02}h {m:02}m")
        } else if h > 0 {
            format!("{h}h {m:02}m {s:02}s")
        } else {
            format!("{m}m {s:02}s")
        }
    };
    format!("{sign}{body}")
}

/// Three significant digits, trailing zeros dropped (`4.560` → `4.56`).
fn trim3(v: f64) -> String {
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        assert_eq!(open_flags_symbolic(0), "O_RDONLY");
        assert_eq!(open_flags_symbolic(577), "O_WRONLY|O_CREAT|O_TRUNC");
        assert_eq!(open_flags_symbolic(0o2000002), "O_RDWR|O_CLOEXEC");
        assert_eq!(open_flags_symbolic(0o4010001), "O_WRONLY|O_SYNC");
        assert_eq!(open_flags_symbolic(0o20200002), "O_RDWR|O_TMPFILE");
        assert_eq!(open_flags_symbolic(0x4000_0000), "O_RDONLY|0x40000000");
    }

    #[test]
    fn cidrs() {
        let n = parse_cidr("10.0.0.0/8").unwrap();
        assert!(ip_in_cidr("10.1.2.3", n));
        assert!(!ip_in_cidr("11.1.2.3", n));
        assert!(ip_in_cidr("::ffff:10.9.9.9", n));
        assert!(!ip_in_cidr("/run/docker.sock", n));
        assert!(ip_in_cidr("0.0.0.1", parse_cidr("0.0.0.0/0").unwrap()));
        assert!(ip_in_cidr("fd00::1", parse_cidr("fd00::/8").unwrap()));
        assert!(ip_in_cidr("192.0.2.7", parse_cidr("192.0.2.7").unwrap()));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("nope").is_none());
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration_ns(850), "850ns");
        assert_eq!(format_duration_ns(12_300), "12.3µs");
        assert_eq!(format_duration_ns(4_560_000), "4.56ms");
        assert_eq!(format_duration_ns(12_340_000_000), "12.3s");
        assert_eq!(format_duration_ns(303_000_000_000), "5m 03s");
        assert_eq!(format_duration_ns(7_503_000_000_000), "2h 05m 03s");
        assert_eq!(format_duration_ns(-1_500), "-1.5µs");
        assert_eq!(format_duration_ns(999_999), "1ms");
        assert_eq!(format_duration_ns(999_499), "999µs");
        assert_eq!(format_duration_ns(59_999_999_999), "1m 00s");
        assert_eq!(format_duration_ns(0), "0ns");
        assert_eq!(format_duration_ns(273_900 * 1_000_000_000), "3d 04h 05m");
    }
}
