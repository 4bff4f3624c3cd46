//! Errno names for `deny:` actions and for printing (the table is
//! `hindsight_format::errno`, shared with the query UDFs and Falco's `evt.res`).

use hindsight_format::errno;

/// The symbolic name of a (positive) errno, or the number as text.
pub fn name(n: i32) -> String {
    errno::name(n.into()).map_or_else(|| n.to_string(), str::to_string)
}

/// Parses `EACCES` (any case) or a positive number.
pub fn parse(s: &str) -> Option<i32> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i32>() {
        return (n > 0).then_some(n);
    }
    errno::number(s)
}

/// Every known name, for suggestions.
pub fn names() -> impl Iterator<Item = &'static str> {
    errno::all().map(|(s, _)| s)
}
