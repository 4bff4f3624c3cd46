//! Linux errno names, as Falco prints `evt.res` for failed calls (the table
//! is `hindsight_format::errno`).

use hindsight_format::errno;

/// `(name, number)` for every errno Linux defines.
pub fn all() -> impl Iterator<Item = (&'static str, i64)> {
    errno::all().map(|(n, v)| (n, i64::from(v)))
}

/// The name of errno `n`, or `E<n>` when unknown.
pub fn name(n: i64) -> String {
    errno::name(n).map_or_else(|| format!("E{n}"), str::to_string)
}
