//! `errno_name`: Linux errno numbers to names (the table lives in the format crate).

pub use hindsight_format::errno::name as errno_name;
