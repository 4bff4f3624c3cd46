//! `hindsight record`: record a command and its descendants, or the whole host.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use std::io::ErrorKind;

use anyhow::{Context, bail};
use hindsight_format::WriterOptions;
use hindsight_recorder::{Counters, RecordError, RecordOptions, RecordSummary, Target, spawn};

/// Record what programs do, with kernel-authoritative (TOCTOU-aware) arguments.
///
/// With a command after `--`, Hindsight starts it, records it and every
/// descendant, stops when it exits and exits with its exit status (125, 126
/// and 127 are the recorder's, as for timeout(1): see below). Without one,
/// it records the whole host (except itself) until Ctrl-C, SIGTERM or
/// `--duration`. Needs root and a kernel with BTF.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  sudo hindsight record -o rec -- make test
  sudo hindsight record -o rec --duration 30s
  sudo hindsight record -o rec --syscalls +read,+write -- ./server
  sudo hindsight record -o rec --syscalls -openat,-openat2 -- make   # default minus opens
  sudo hindsight record -o rec --syscalls all --ignore-prefix /proc/ -- sh -c 'ls /'
  sudo hindsight record -o rec --max-size 1G --segment-size 64M   # always-on ring

Syscall sets (--syscalls, comma-separated):
  default        files, descriptors (close, pipe, socketpair), process,
                 network and privilege calls (no read/write)
  all            every syscall that returns (exit and exit_group never do:
                 the process_exit row records them)
  NAME,...       exactly these calls
  +NAME / -NAME  the default set plus/minus these calls

Exit status, with a command (as timeout(1), env(1) and chroot(1)):
  N      the command's exit status (128+N when signal N killed it)
  125    the recorder failed: a bad flag or value, not root, an unusable -o
         DIR, or writing failed while recording (the summary still gives
         the command's exit status)
  126    the command was found but could not be executed
  127    the command was not found
Without a command: 0 recorded, 2 error.")]
pub struct Args {
    /// Recording directory to create (must not exist or be empty, not a
    /// symbolic link; made 0700 and the recorder's). Missing directories
    /// above it are made 0700 too, and removed again (with DIR) when
    /// recording fails before it starts. A path, or a file:// URL as
    /// `query` takes it.
    #[arg(short, long, value_name = "DIR", value_parser = crate::path::recording())]
    pub output: PathBuf,

    /// Stop after this long (e.g. 30s, 5m, 1h); a recorded command gets SIGTERM,
    /// and SIGKILL 2 s later if it is still running (the command itself, not
    /// its children, as `timeout --foreground -k 2s`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Which syscalls to record (see the sets below).
    #[arg(long, value_name = "SET", default_value = "default", value_parser = parse_syscall_set)]
    pub syscalls: String,

    /// Only record tasks in this cgroup v2 directory and below (a path under
    /// the cgroup2 mount, or relative to it, e.g. `system.slice/nginx.service`).
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<PathBuf>,

    /// Drop syscall rows whose path starts with this prefix (repeatable),
    /// e.g. `/proc/`: an absolute path, as recorded paths are, or the start
    /// of a pseudo file's name (`pipe:`, `memfd:`). When it names a directory, the kernel itself skips
    /// calls on files below it (matched by inode, so symlinks and `..` cannot
    /// evade it); other rows are filtered by the decoder. Process rows stay.
    #[arg(long = "ignore-prefix", value_name = "PREFIX")]
    pub ignore_prefix: Vec<String>,

    /// Start a new segment when the current one reaches this size (e.g. 64M).
    /// The row group being filled counts at its size before compression, so
    /// segments come out smaller than this (several times, for well
    /// compressing rows); a segment also ends at 1 048 576 rows.
    #[arg(long, value_name = "SIZE", value_parser = parse_segment_size, default_value = "128M")]
    pub segment_size: u64,

    /// Start a new segment after this long (e.g. 10m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10m")]
    pub segment_duration: Duration,

    /// Keep at most this many bytes of segments, deleting the oldest (an
    /// always-on ring; deletions are counted in the manifest). At least twice
    /// --segment-size.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,

    /// Kernel ring-buffer size (a power of two from 4K to 2G, e.g. 16M). Smaller loses
    /// events sooner under load; losses are counted and written as `loss` rows.
    #[arg(long, value_name = "SIZE", value_parser = parse_ring_buffer, default_value = "16M")]
    pub ring_buffer: u64,

    /// The command to record, after `--`.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// Exit status of `record -- CMD` when the recorder itself fails (its own
/// usage errors included), as timeout(1), env(1) and chroot(1) exit.
pub const FAILED: u8 = 125;

/// Exit status of `record -- CMD` when CMD was found but could not be
/// executed (permission denied, not an executable format, ...).
pub const CANNOT_EXECUTE: u8 = 126;

/// Exit status of `record -- CMD` when CMD was not found.
pub const NOT_FOUND: u8 = 127;

/// The exit status for `err`, an error of `record -- CMD` (not of a
/// whole-host recording, whose errors exit 2): [`NOT_FOUND`] or
/// [`CANNOT_EXECUTE`] when the command could not be executed, else
/// [`FAILED`]. 125 to 127 are the recorder's so that a script can tell them
/// from the command's own exit status 2 (which `record` passes on).
pub fn error_status(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<RecordError>() {
        Some(RecordError::Exec { source, .. }) if source.kind() == ErrorKind::NotFound => NOT_FOUND,
        Some(RecordError::Exec { .. }) => CANNOT_EXECUTE,
        _ => FAILED,
    }
}

/// Whether the command line `args` runs `hindsight record` with a command
/// after `--` (then even a usage error of `record` exits [`FAILED`]).
pub fn runs_a_command(args: &[OsString]) -> bool {
    let Some(record) = subcommand(args, 1).filter(|&i| args[i] == "record") else {
        return false;
    };
    let after = &args[record + 1..];
    after
        .iter()
        .position(|a| a == "--")
        .is_some_and(|dashes| dashes + 1 < after.len())
}

/// The subcommand in `args`: the first argument from index `from` on that
/// is not one of the global options (none of which takes a value).
fn subcommand(args: &[OsString], from: usize) -> Option<usize> {
    args.iter()
        .skip(from)
        .position(|a| !a.as_encoded_bytes().starts_with(b"-"))
        .map(|i| i + from)
}

/// Checks a `--syscalls` value while the command line is parsed, so that
/// an unknown name is a usage error before anything is loaded.
pub fn parse_syscall_set(s: &str) -> Result<String, String> {
    hindsight_recorder::syscalls::parse_set(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

/// Lets `--syscalls` take a set that starts with `-` as the next argument
/// (`--syscalls -openat,-openat2`, as the help writes it), which clap would
/// read as an option: joins the two into `--syscalls=-openat,-openat2`.
/// A next argument that is a flag (`--duration`, `--`, a lone short option
/// like `-o`) is left alone, so that clap still says the set is missing.
/// Only the arguments of `record` and of `bench record` before a `--` are
/// looked at. (clap's `allow_hyphen_values` would take `--duration` as the
/// set, and report a following `30s` as an unexpected argument.)
pub fn join_syscall_sets(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let record = match subcommand(&args, 1) {
        Some(i) if args[i] == "record" => i,
        Some(i) if args[i] == "bench" => match subcommand(&args, i + 1) {
            Some(j) if args[j] == "record" => j,
            _ => return args,
        },
        _ => return args,
    };
    let mut i = record + 1;
    while i + 1 < args.len() && args[i] != "--" {
        let next = args[i + 1].as_encoded_bytes();
        let hyphen_set = next.len() > 2 && next[0] == b'-' && next[1] != b'-';
        if args[i] == "--syscalls" && hyphen_set {
            let mut joined = OsString::from("--syscalls=");
            joined.push(args.remove(i + 1));
            args[i] = joined;
        }
        i += 1;
    }
    args
}

/// Parses `30s`, `5m`, `2h`, `500ms` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (try 30s, 5m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("`{s}` is too long a duration"))
}

/// Parses `64M`, `1G`, `4096`, `512K` (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| s.split_at(i))
        .unwrap_or((s, ""));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (try 64M, 1G)"))?;
    let mult = match unit.trim_end_matches(['B', 'b', 'i']) {
        "" => 1,
        "K" | "k" => 1 << 10,
        "M" | "m" => 1 << 20,
        "G" | "g" => 1 << 30,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use K, M or G)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large a size"))
}

/// `--ring-buffer`: a size that is a power of two between 4K and 2G (what
/// the kernel takes for a BPF ring buffer's data area).
pub fn parse_ring_buffer(s: &str) -> Result<u64, String> {
    let n = parse_size(s)?;
    if !(4096..=1 << 31).contains(&n) {
        Err(format!("{} is outside 4K to 2G", human(n)))
    } else if !n.is_power_of_two() {
        Err(format!(
            "{} is not a power of two (e.g. 4M, 16M, 64M)",
            human(n)
        ))
    } else {
        Ok(n)
    }
}

/// `--segment-size`: at least 1M.
pub fn parse_segment_size(s: &str) -> Result<u64, String> {
    let n = parse_size(s)?;
    if n >= 1 << 20 {
        Ok(n)
    } else {
        Err(format!(
            "{} is below the smallest segment size, 1M",
            human(n)
        ))
    }
}

/// The name of signal `sig` (`SIGSEGV`), for the usual ones.
fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// The live progress line: elapsed time, events (`rate` in the last
/// second), lost events, bytes received from the kernel, bytes on disk
/// (see [`Counters::disk_bytes`]) and, once a row group is written, the
/// compression so far in parentheses (see [`Counters::compression`]).
fn progress_line(c: &Counters, elapsed: Duration, rate: u64) -> String {
    let ratio = c
        .compression()
        .map_or_else(String::new, |r| format!(" ({})", ratio_text(r)));
    format!(
        "{}s  {} events ({rate}/s)  lost {}  {} in, {} on disk{ratio}",
        elapsed.as_secs(),
        c.events.load(Relaxed),
        c.lost.load(Relaxed),
        compact(c.wire_bytes.load(Relaxed)),
        compact(c.disk_bytes.load(Relaxed)),
    )
}

/// A compression ratio as the progress line and the summary print it: one
/// decimal below 10x (`6.9x`), whole from there (`44x`).
fn ratio_text(r: f64) -> String {
    // 9.96 would print as `10.0x` with one decimal.
    if r < 9.95 {
        format!("{r:.1}x")
    } else {
        format!("{r:.0}x")
    }
}

/// `line` cut to `width - 1` characters, so that it never wraps and `\r`
/// keeps updating it in place.
fn fit(line: &str, width: usize) -> &str {
    match line.char_indices().nth(width.saturating_sub(1)) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// Columns of the terminal on stderr (80 when it says nothing).
fn terminal_width() -> usize {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ fills the winsize it is given, or fails.
    let ok = unsafe { libc::ioctl(2, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        ws.ws_col as usize
    } else {
        80
    }
}

/// `bytes` in few characters for the progress line: `8.5MiB`, `373KiB`.
fn compact(bytes: u64) -> String {
    let (n, unit) = match bytes {
        b if b >= 1 << 30 => (b as f64 / (1u64 << 30) as f64, "GiB"),
        b if b >= 1 << 20 => (b as f64 / (1u64 << 20) as f64, "MiB"),
        b if b >= 1 << 10 => (b as f64 / 1024.0, "KiB"),
        b => return format!("{b}B"),
    };
    if n < 10.0 {
        format!("{n:.1}{unit}")
    } else {
        format!("{n:.0}{unit}")
    }
}

/// Runs `hindsight record`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = if args.command.is_empty() {
        Target::Host
    } else {
        Target::Command(args.command.clone())
    };
    let ring_bytes =
        u32::try_from(args.ring_buffer).expect("parse_ring_buffer keeps it at most 2G");
    if let Some(max) = args.max_size
        && max < args.segment_size.saturating_mul(2)
    {
        bail!(
            "--max-size {}: the ring must hold at least two segments (2 x --segment-size, \
             {}); for a smaller ring lower --segment-size too (at least 1M)",
            human(max),
            human(args.segment_size.saturating_mul(2))
        );
    }
    if args.duration.is_some_and(|d| d.is_zero()) {
        bail!(
            "--duration 0: nothing would be recorded (e.g. 30s, or leave it out to record until the command exits or Ctrl-C)"
        );
    }
    if args.ignore_prefix.iter().any(|p| p.is_empty()) {
        bail!(
            "--ignore-prefix '': an empty prefix would drop every row with a path (is a shell variable unset?)"
        );
    }
    // Paths are recorded absolute, or as the name of a pseudo file
    // (`pipe:[N]`, `socket:[N]`, `anon_inode:[…]`, `memfd:NAME`).
    if let Some(p) = args
        .ignore_prefix
        .iter()
        .find(|p| !p.starts_with('/') && !p.contains(':'))
    {
        bail!(
            "--ignore-prefix {p}: recorded paths are absolute, so a relative prefix never \
             matches (e.g. /proc/, or {})",
            std::path::absolute(p).map_or_else(|_| format!("/{p}"), |a| a.display().to_string())
        );
    }
    if args.segment_duration.is_zero() {
        bail!("--segment-duration 0: a segment must last longer than that (e.g. 10m)");
    }
    let opts = RecordOptions {
        out_dir: args.output.clone(),
        target,
        syscalls: args.syscalls.clone(),
        duration: args.duration,
        cgroup: args.cgroup.clone(),
        ignore_prefixes: args.ignore_prefix.clone(),
        ring_bytes,
        writer: WriterOptions {
            segment_bytes: args.segment_size,
            segment_duration: Some(args.segment_duration),
            max_size: args.max_size,
            ..WriterOptions::default()
        },
        task_btf: true,
        dynptr: true,
        long_names: true,
    };
    let stop = spawn::stop_flag();
    let tty = std::io::stderr().is_terminal();
    let mut last_events = 0u64;
    let mut told_stop = false;
    let result = hindsight_recorder::record(&opts, stop, |c, elapsed| {
        if let Some(why) = c.stopped.get() {
            if !told_stop {
                told_stop = true;
                if tty {
                    eprint!("\r\x1b[K");
                }
                eprintln!(
                    "hindsight: {why}; recording stopped after {}s, the kernel programs are \
                     detached, and the command runs on unrecorded until it exits",
                    elapsed.as_secs()
                );
            }
            return;
        }
        if !tty {
            return;
        }
        let events = c.events.load(Relaxed);
        let rate = events - last_events;
        last_events = events;
        let line = progress_line(c, elapsed, rate);
        eprint!("\r\x1b[K{}", fit(&line, terminal_width()));
    });
    if tty {
        eprint!("\r\x1b[K");
    }
    let summary = match result {
        Ok(summary) => summary,
        Err(RecordError::Stopped { error, summary }) => {
            print_summary(&summary);
            bail!(
                "recording into {} stopped: writing it failed: {error}",
                args.output.display()
            );
        }
        // The error names the directory concerned (-o's, or a parent).
        Err(e @ (RecordError::OutDir(_) | RecordError::Create(_))) => return Err(e.into()),
        Err(e) => {
            // Nothing recorded (the library removed what it made for it).
            return Err(e).with_context(|| format!("recording into {}", args.output.display()));
        }
    };
    print_summary(&summary);
    Ok(match summary.exit_code {
        Some(c) => ExitCode::from(c.clamp(0, 255) as u8),
        None => ExitCode::SUCCESS,
    })
}

/// The one-paragraph summary on stderr.
fn print_summary(s: &RecordSummary) {
    // In ring mode, sizes are those of the segments kept.
    let kept = s.events.saturating_sub(s.deleted_events);
    let per_event = if kept > 0 && s.disk_bytes > 0 {
        format!("{:.1}", s.disk_bytes as f64 / kept as f64)
    } else {
        "-".into()
    };
    // Rows from the /proc snapshot of a whole-host recording have no wire
    // bytes; the ratio says something only when the kernel's records dominate.
    let ratio = if s.disk_bytes > 0
        && s.deleted_segments == 0
        && s.wire_bytes as f64 >= s.disk_bytes as f64
    {
        let r = ratio_text(s.wire_bytes as f64 / s.disk_bytes as f64);
        format!(", {r} compression vs. the kernel wire format")
    } else {
        String::new()
    };
    eprintln!(
        "hindsight: recorded {} events in {:.1}s into {} ({}{} in {} segment(s), {} bytes/event\
         {}); lost {} event(s) ({} loss row(s)){}{}; {}\
         hooks: {}{}.{}",
        s.events,
        s.elapsed.as_secs_f64(),
        s.dir.display(),
        if s.deleted_segments > 0 {
            format!(
                "--max-size deleted the {} oldest segment(s) with {} events; kept {kept} events, ",
                s.deleted_segments, s.deleted_events
            )
        } else {
            String::new()
        },
        human(s.disk_bytes),
        s.segments,
        per_event,
        ratio,
        s.lost,
        s.loss_rows,
        if s.ignored > 0 {
            format!(", {} row(s) dropped by --ignore-prefix", s.ignored)
        } else {
            String::new()
        },
        if s.decode_errors > 0 {
            format!(", {} undecodable record(s)", s.decode_errors)
        } else {
            String::new()
        },
        match s.cpu {
            Some(all) => format!(
                "recorder CPU {}; ",
                hindsight_format::summary::cpu_text(
                    all.as_secs_f64(),
                    s.startup_cpu.map(|d| d.as_secs_f64())
                )
            ),
            None => String::new(),
        },
        s.hooks_active.join(", "),
        if s.hooks_unavailable.is_empty() {
            String::new()
        } else {
            format!(
                " (unavailable: {})",
                s.hooks_unavailable
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        match (s.exit_code, s.exit_signal) {
            (Some(c), Some(sig)) => format!(
                " The command was killed by signal {sig}{} (exit status {c}).",
                signal_name(sig).map_or(String::new(), |n| format!(" ({n})"))
            ),
            (Some(c), None) => format!(" The command exited with code {c}."),
            (None, _) => String::new(),
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("3 weeks").is_err());
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert!(parse_size("lots").is_err());
        let huge = parse_duration("99999999999999999999h").unwrap_err();
        assert!(huge.contains("too long"), "{huge}");
        let huge = parse_size("17179869185G").unwrap_err();
        assert!(huge.contains("too large"), "{huge}");
    }

    #[test]
    fn progress_line_has_the_bytes_on_disk() {
        let c = Counters::default();
        c.events.store(47_523, Relaxed);
        c.wire_bytes.store(15 << 20, Relaxed);
        c.disk_bytes.store(2 << 20, Relaxed);
        let line = progress_line(&c, Duration::from_millis(2_100), 22_635);
        assert_eq!(
            line,
            "2s  47523 events (22635/s)  lost 0  15MiB in, 2.0MiB on disk"
        );
        // Once rows are in Parquet: what they took in over what they take.
        // 40 000 of the 47 523 rows, in 357 KiB: 15 MiB * 40000/47523 / 357 KiB.
        c.compressed_rows.store(40_000, Relaxed);
        c.compressed_bytes.store(357 << 10, Relaxed);
        let line = progress_line(&c, Duration::from_millis(2_100), 22_635);
        assert_eq!(
            line,
            "2s  47523 events (22635/s)  lost 0  15MiB in, 2.0MiB on disk (36x)"
        );
        // Fits 80 columns with a long run's numbers.
        c.events.store(42_000_000, Relaxed);
        c.lost.store(1_234_567, Relaxed);
        c.wire_bytes.store(14 << 30, Relaxed);
        c.disk_bytes.store(120 << 20, Relaxed);
        c.compressed_rows.store(41_000_000, Relaxed);
        c.compressed_bytes.store(118 << 20, Relaxed);
        let line = progress_line(&c, Duration::from_secs(3600), 70_000);
        assert!(line.len() < 80, "{line} ({})", line.len());
        assert_eq!(compact(900), "900B");
        assert_eq!(compact(373 << 10), "373KiB");
    }

    #[test]
    fn ratios_have_one_decimal_below_10x() {
        assert_eq!(ratio_text(6.94), "6.9x");
        assert_eq!(ratio_text(1.0), "1.0x");
        assert_eq!(ratio_text(9.94), "9.9x");
        // Rounds to 10: whole, not "10.0x".
        assert_eq!(ratio_text(9.96), "10x");
        assert_eq!(ratio_text(10.0), "10x");
        assert_eq!(ratio_text(43.6), "44x");
        // The progress line uses it.
        let c = Counters::default();
        c.events.store(1_000, Relaxed);
        c.wire_bytes.store(694 << 10, Relaxed);
        c.disk_bytes.store(100 << 10, Relaxed);
        c.compressed_rows.store(1_000, Relaxed);
        c.compressed_bytes.store(100 << 10, Relaxed);
        let line = progress_line(&c, Duration::from_secs(1), 1_000);
        assert!(line.ends_with(" on disk (6.9x)"), "{line}");
    }

    #[test]
    fn the_line_is_cut_to_the_terminal() {
        assert_eq!(fit("12345", 80), "12345");
        assert_eq!(fit("12345", 4), "123");
        assert_eq!(fit("é1234", 3), "é1");
        assert_eq!(fit("12345", 0), "");
    }

    #[test]
    fn syscall_sets() {
        for set in [
            "default",
            "all",
            "-openat,-openat2",
            "+read",
            "openat,execve",
        ] {
            assert_eq!(parse_syscall_set(set).as_deref(), Ok(set));
        }
        assert!(
            parse_syscall_set("-nosuchcall")
                .unwrap_err()
                .contains("nosuchcall")
        );
    }

    #[test]
    fn a_command_after_dashes_is_seen_before_parsing() {
        let runs =
            |line: &str| runs_a_command(&line.split(' ').map(OsString::from).collect::<Vec<_>>());
        assert!(runs("hs record -o r -- true"));
        assert!(runs("hs -v record --bogus -- sh -c x"));
        // The whole host; another subcommand; `bench record`.
        assert!(!runs("hs record -o r"));
        assert!(!runs("hs record -o r --"));
        assert!(!runs("hs query r -- x"));
        assert!(!runs("hs bench record -- x"));
    }

    fn joined(args: &str) -> String {
        let out = join_syscall_sets(args.split(' ').map(OsString::from));
        let out: Vec<_> = out.iter().map(|a| a.to_str().unwrap()).collect();
        out.join(" ")
    }

    #[test]
    fn a_set_starting_with_a_minus_is_joined_to_syscalls() {
        let cases = [
            (
                "hs record -o r --syscalls -openat,-openat2 -- cat",
                "hs record -o r --syscalls=-openat,-openat2 -- cat",
            ),
            (
                "hs -v record --syscalls -read",
                "hs -v record --syscalls=-read",
            ),
            // Flags stay flags; so do the command's arguments and other
            // subcommands' arguments.
            (
                "hs record --syscalls --duration 1s",
                "hs record --syscalls --duration 1s",
            ),
            ("hs record --syscalls -- x", "hs record --syscalls -- x"),
            ("hs record --syscalls -o r", "hs record --syscalls -o r"),
            (
                "hs record -- sh --syscalls -read",
                "hs record -- sh --syscalls -read",
            ),
            ("hs query --syscalls -read", "hs query --syscalls -read"),
            // `bench record` passes its set to `record`.
            (
                "hs bench record --syscalls -openat,-openat2 --rounds 1",
                "hs bench record --syscalls=-openat,-openat2 --rounds 1",
            ),
            (
                "hs bench -v record --syscalls -read",
                "hs bench -v record --syscalls=-read",
            ),
            (
                "hs bench record --syscalls --rounds 1",
                "hs bench record --syscalls --rounds 1",
            ),
            (
                "hs bench query --syscalls -read",
                "hs bench query --syscalls -read",
            ),
            ("hs bench", "hs bench"),
            ("hs record --syscalls", "hs record --syscalls"),
        ];
        for (args, want) in cases {
            assert_eq!(joined(args), want, "{args}");
        }
    }
}
