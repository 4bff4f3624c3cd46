//! Test support for the Phantom Attack reproducer in `fixtures/phantom/`.
//!
//! Builds the C program (once per test process, cached by mtime in
//! `CARGO_TARGET_TMPDIR`), runs one of its modes, and parses its JSON-lines
//! ground truth into typed records, so tests can compare a recording against
//! what the kernel really opened or connected to.
//!
//! Include it from a root-package test with
//! `#[path = "support/phantom.rs"] mod phantom;`.
//!
//! ```ignore
//! let bin = phantom::Phantom::build()?;
//! // Directly:
//! let run = bin.run(phantom::Mode::Openat2Uffd, &phantom::RunOptions::count(50))?;
//! // Or under the recorder: put `bin.args(...)` after `hindsight record -o DIR --`,
//! // with `log` set, then `phantom::read_log(&log_path)?`.
//! ```
//!
//! Strings in the log are byte strings: ASCII as is, every other byte as one
//! `\u00XX` code point; [`to_bytes`] maps them back.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::SystemTime;

use serde_json::Value;

/// Exit code of `phantom` when a mode cannot run on this kernel (e.g. no
/// userfaultfd); a `record=skipped` line says why.
pub const EXIT_UNAVAILABLE: i32 = 3;

/// Error from building, running or parsing the reproducer; the message names
/// the command, file, line or field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error(msg.into()))
}

/// One reproducer mode (the program's subcommand).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// (a) a racing thread flips the `openat` path between harmless and target.
    OpenRace,
    /// (b) `open_how` in a userfaultfd page; the path is swapped while the kernel copies it.
    Openat2Uffd,
    /// (c) the `openat` path lives in a page not present at syscall entry.
    OpenUnfaulted,
    /// (d) `openat` of a symlink to the target (not a mismatch).
    Symlink,
    /// (e) a racing thread flips `connect`'s port between two loopback listeners.
    ConnectRace,
    /// (f) `connect`'s sockaddr lives in a page not present at syscall entry.
    ConnectUnfaulted,
    /// Every mode above in turn.
    All,
}

impl Mode {
    /// The six single modes, in the order `all` runs them.
    pub const EACH: [Mode; 6] = [
        Mode::OpenRace,
        Mode::Openat2Uffd,
        Mode::OpenUnfaulted,
        Mode::Symlink,
        Mode::ConnectRace,
        Mode::ConnectUnfaulted,
    ];

    /// The subcommand name, also the `mode` field of every log record.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::OpenRace => "open-race",
            Mode::Openat2Uffd => "openat2-uffd",
            Mode::OpenUnfaulted => "open-unfaulted",
            Mode::Symlink => "symlink",
            Mode::ConnectRace => "connect-race",
            Mode::ConnectUnfaulted => "connect-unfaulted",
            Mode::All => "all",
        }
    }

    /// Parses a `mode` field.
    pub fn parse(s: &str) -> Option<Mode> {
        Mode::EACH
            .into_iter()
            .chain([Mode::All])
            .find(|m| m.as_str() == s)
    }

    /// True when every attempt has a predictable outcome (`expected_*` set).
    pub fn is_deterministic(self) -> bool {
        !matches!(self, Mode::OpenRace | Mode::ConnectRace | Mode::All)
    }

    /// True for the `connect` modes (values are `127.0.0.1:PORT`, not paths).
    pub fn is_connect(self) -> bool {
        matches!(self, Mode::ConnectRace | Mode::ConnectUnfaulted)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Options of one run; `None` leaves the program's default.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--count N`: attempts per mode (program default 100, 20 for `all`).
    pub count: Option<u32>,
    /// `--harmless PATH`: what a naive monitor is shown.
    pub harmless: Option<PathBuf>,
    /// `--target PATH`: what the kernel really opens (e.g. `/etc/shadow`).
    pub target: Option<PathBuf>,
    /// `--workdir DIR`: where default files and the symlink go.
    pub workdir: Option<PathBuf>,
    /// `--log FILE`: JSON lines to FILE instead of stdout.
    pub log: Option<PathBuf>,
}

impl RunOptions {
    /// Options with just `--count N`.
    pub fn count(n: u32) -> RunOptions {
        RunOptions {
            count: Some(n),
            ..RunOptions::default()
        }
    }
}

/// Outcome class of an attempt, judged after the syscall: by inode (open
/// modes) or by the peer port (connect modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actual {
    /// The harmless candidate was opened / connected to.
    Harmless,
    /// The target was opened / connected to.
    Target,
    /// Something else succeeded (e.g. a torn path naming a directory).
    Other,
    /// The syscall failed (`ret` < 0, see `errno`).
    Failed,
}

impl Actual {
    fn parse(s: &str) -> Option<Actual> {
        Some(match s {
            "harmless" => Actual::Harmless,
            "target" => Actual::Target,
            "other" => Actual::Other,
            "failed" => Actual::Failed,
            _ => return None,
        })
    }
}

/// What the program predicts for a deterministic attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The value a reader of user memory at syscall entry sees; `None` when that read fails.
    pub user: Option<String>,
    /// The error of that read (-14, -EFAULT) when it fails.
    pub user_err: Option<i32>,
    /// What the kernel uses: absolute target path, or `127.0.0.1:PORT`.
    pub kernel: String,
    /// Whether a correct recorder sets `toctou_mismatch` (false for symlinks).
    pub mismatch: bool,
}

/// `record=setup`: one per mode run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Mode this setup belongs to.
    pub mode: Mode,
    /// Log format version (1).
    pub version: u32,
    /// Process id of the reproducer.
    pub pid: i32,
    /// Harmless path, or `127.0.0.1:PORT` for connect modes.
    pub harmless: String,
    /// Target path, or `127.0.0.1:PORT` for connect modes.
    pub target: String,
    /// Inode of the harmless file (open modes, when it exists).
    pub harmless_inode: Option<u64>,
    /// `st_dev` of the harmless file.
    pub harmless_device: Option<u64>,
    /// Inode of the target file (open modes).
    pub target_inode: Option<u64>,
    /// `st_dev` of the target file.
    pub target_device: Option<u64>,
    /// Port of the harmless listener (connect modes).
    pub harmless_port: Option<u16>,
    /// Port of the target listener (connect modes).
    pub target_port: Option<u16>,
    /// Address of the user buffer, when fixed for the whole run.
    pub user_addr: Option<u64>,
    /// Address of `struct open_how` (openat2-uffd).
    pub how_addr: Option<u64>,
    /// Race modes: how the racer writes (`u64`, `u16`: untorn; `bytes`: may tear).
    pub flip: Option<String>,
    /// CPU of the syscall thread (race modes).
    pub main_cpu: Option<i32>,
    /// CPU of the racing thread (race modes; -1 with one CPU).
    pub racer_cpu: Option<i32>,
    /// The symlink's path (symlink mode).
    pub link: Option<String>,
    /// What the symlink points to (symlink mode; absolute).
    pub link_target: Option<String>,
}

/// `record=attempt`: one syscall and its ground truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Mode of the attempt.
    pub mode: Mode,
    /// 0-based attempt number within the mode run.
    pub attempt: u64,
    /// Process id.
    pub pid: i32,
    /// Thread that made the syscall.
    pub tid: i32,
    /// `openat`, `openat2` or `connect`.
    pub syscall: String,
    /// dirfd argument (open modes; -100 = AT_FDCWD).
    pub dirfd: Option<i32>,
    /// Socket fd argument (connect modes).
    pub sockfd: Option<i32>,
    /// Address of the path / sockaddr buffer passed to the syscall.
    pub user_addr: u64,
    /// Buffer content just before the syscall (racy in race modes; `None` when
    /// reading it would have faulted the page in).
    pub user_before: Option<String>,
    /// Buffer content just after the syscall.
    pub user_after: Option<String>,
    /// CLOCK_MONOTONIC (= `bpf_ktime_get_ns`) just before the syscall.
    pub t_enter_ns: u64,
    /// CLOCK_MONOTONIC just after the syscall.
    pub t_exit_ns: u64,
    /// CLOCK_BOOTTIME just before (= `bpf_ktime_get_boot_ns`).
    pub t_enter_boot_ns: u64,
    /// CLOCK_BOOTTIME just after.
    pub t_exit_boot_ns: u64,
    /// CLOCK_REALTIME (ns since the epoch) just before.
    pub t_enter_real_ns: u64,
    /// CLOCK_REALTIME just after.
    pub t_exit_real_ns: u64,
    /// Return value (fd for open, 0 for connect, -1 on error).
    pub ret: i64,
    /// errno when `ret` < 0, else 0.
    pub errno: i32,
    /// Which candidate the kernel really used.
    pub actual: Actual,
    /// The kernel's object: `/proc/self/fd` path of the opened file, or the
    /// `getpeername` address `127.0.0.1:PORT`.
    pub actual_value: Option<String>,
    /// Inode of the opened file (`fstat`).
    pub actual_inode: Option<u64>,
    /// `st_dev` of the opened file (userspace encoding).
    pub actual_device: Option<u64>,
    /// Major number of `actual_device`.
    pub actual_dev_major: Option<u32>,
    /// Minor number of `actual_device`.
    pub actual_dev_minor: Option<u32>,
    /// Connect modes: which listener's `accept` returned our socket.
    pub accepted_by: Option<Actual>,
    /// Race modes: flips the racer made during the syscall (shows the race was live).
    pub flips: Option<u64>,
    /// openat2-uffd: userfaults the handler served during the syscall.
    pub uffd_faults: Option<u64>,
    /// openat2-uffd: the path as it was when the kernel faulted on `open_how`.
    pub path_at_fault: Option<String>,
    /// openat2-uffd: address of `struct open_how`.
    pub how_addr: Option<u64>,
    /// openat2-uffd: error a non-faulting read of `open_how` at entry gets (-14).
    pub expected_how_user_err: Option<i32>,
    /// Prediction for deterministic modes; `None` in race modes.
    pub expected: Option<Expected>,
}

impl Attempt {
    /// True when a kernel timestamp in CLOCK_MONOTONIC falls within this syscall.
    pub fn contains_mono(&self, ns: u64) -> bool {
        (self.t_enter_ns..=self.t_exit_ns).contains(&ns)
    }

    /// True when a kernel timestamp in CLOCK_BOOTTIME falls within this syscall.
    pub fn contains_boot(&self, ns: u64) -> bool {
        (self.t_enter_boot_ns..=self.t_exit_boot_ns).contains(&ns)
    }

    /// True when a CLOCK_REALTIME timestamp falls within this syscall.
    pub fn contains_real(&self, ns: u64) -> bool {
        (self.t_enter_real_ns..=self.t_exit_real_ns).contains(&ns)
    }

    /// The port of `actual_value` for connect modes.
    pub fn actual_port(&self) -> Option<u16> {
        self.actual_value
            .as_deref()
            .and_then(|v| v.rsplit_once(':'))
            .and_then(|(_, p)| p.parse().ok())
    }

    /// Compares what a recorder recorded for this attempt's path/address
    /// argument with the ground truth and returns every disagreement (empty =
    /// the row is right). `setup` is this attempt's mode setup.
    ///
    /// * kernel side: `kernel` must equal `actual_value` (the opened file's
    ///   path, or `127.0.0.1:PORT`), `inode` (when recorded) `actual_inode`;
    /// * deterministic modes: `user`/`user_err` must be the predicted entry
    ///   view, `mismatch` the predicted flag;
    /// * race modes: `user` must name one of the two candidates (or, with a
    ///   byte-wise flip, anything), and `mismatch` must equal "the user value
    ///   names another candidate than the kernel used".
    pub fn check_recorded(&self, setup: &Setup, r: &RecordedArg<'_>) -> Vec<String> {
        let mut problems = Vec::new();
        let mut bad =
            |what: String| problems.push(format!("{} #{}: {what}", self.mode, self.attempt));
        if r.kernel != self.actual_value.as_deref() {
            bad(format!(
                "kernel value {:?}, ground truth {:?}",
                r.kernel, self.actual_value
            ));
        }
        if let Some(ino) = r.inode
            && Some(ino) != self.actual_inode
        {
            bad(format!("inode {ino}, ground truth {:?}", self.actual_inode));
        }
        if let Some(e) = &self.expected {
            if (r.user, r.user_err) != (e.user.as_deref(), e.user_err) {
                bad(format!(
                    "user value {:?} (err {:?}), expected {:?} (err {:?})",
                    r.user, r.user_err, e.user, e.user_err
                ));
            }
            if r.mismatch != e.mismatch {
                bad(format!(
                    "toctou_mismatch {}, expected {}",
                    r.mismatch, e.mismatch
                ));
            }
            return problems;
        }
        let seen = match r.user {
            Some(u) if u == setup.target => Actual::Target,
            Some(u) if u == setup.harmless => Actual::Harmless,
            Some(_) => Actual::Other,
            None => Actual::Failed,
        };
        let untorn = matches!(setup.flip.as_deref(), Some("u64" | "u16"));
        if untorn && !matches!(seen, Actual::Target | Actual::Harmless) {
            bad(format!(
                "user value {:?} (err {:?}) is neither candidate",
                r.user, r.user_err
            ));
        }
        if self.actual != Actual::Failed && matches!(seen, Actual::Target | Actual::Harmless) {
            let differs = seen != self.actual;
            if r.mismatch != differs {
                bad(format!(
                    "toctou_mismatch {} but user saw {seen:?} and the kernel used {:?}",
                    r.mismatch, self.actual
                ));
            }
        }
        problems
    }
}

/// One recorded path/address argument, as [`Attempt::check_recorded`] judges it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordedArg<'a> {
    /// Value read from user memory at syscall entry (`file_path_user`), if the read worked.
    pub user: Option<&'a str>,
    /// Error of that read (`file_path_user_err`, e.g. -14).
    pub user_err: Option<i32>,
    /// The authoritative value (`file_path`, or the address as `127.0.0.1:PORT`).
    pub kernel: Option<&'a str>,
    /// The authoritative inode (`file_inode`), when recorded.
    pub inode: Option<u64>,
    /// The recorded `toctou_mismatch`.
    pub mismatch: bool,
}

/// `record=summary`: counts for one mode run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Mode summarised.
    pub mode: Mode,
    /// Attempts made.
    pub attempts: u64,
    /// Attempts where the harmless candidate was used.
    pub harmless: u64,
    /// Attempts where the target was used.
    pub target: u64,
    /// Attempts where something else was opened.
    pub other: u64,
    /// Attempts whose syscall failed.
    pub failed: u64,
    /// Deterministic modes: attempts that went as predicted.
    pub as_expected: Option<u64>,
    /// Wall time of the run.
    pub duration_ms: u64,
}

/// `record=skipped`: a mode that cannot run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Mode skipped.
    pub mode: Mode,
    /// Why, e.g. "userfaultfd refused (EPERM): ...".
    pub reason: String,
    /// errno behind it (0 if none).
    pub errno: i32,
}

/// A parsed log, records in file order per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    /// `record=setup` lines.
    pub setups: Vec<Setup>,
    /// `record=attempt` lines.
    pub attempts: Vec<Attempt>,
    /// `record=summary` lines.
    pub summaries: Vec<Summary>,
    /// `record=skipped` lines.
    pub skipped: Vec<Skipped>,
}

impl Log {
    /// The setup of `mode` (the first, if the log holds several runs).
    pub fn setup(&self, mode: Mode) -> Option<&Setup> {
        self.setups.iter().find(|s| s.mode == mode)
    }

    /// The attempts of `mode`, in order.
    pub fn attempts(&self, mode: Mode) -> Vec<&Attempt> {
        self.attempts.iter().filter(|a| a.mode == mode).collect()
    }

    /// The summary of `mode`.
    pub fn summary(&self, mode: Mode) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.mode == mode)
    }

    /// Why `mode` was skipped, if it was.
    pub fn skipped(&self, mode: Mode) -> Option<&Skipped> {
        self.skipped.iter().find(|s| s.mode == mode)
    }

    /// Checks the ground truth against itself (no recorder needed) and returns
    /// every inconsistency found, each naming mode and attempt:
    /// setups and summaries match the attempts; outcomes agree with inodes,
    /// peers and listeners; deterministic attempts went as predicted (with a
    /// userfault served before the path was copied in openat2-uffd).
    pub fn self_check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for summary in &self.summaries {
            let mode = summary.mode;
            let Some(setup) = self.setup(mode) else {
                problems.push(format!("{mode}: summary without setup"));
                continue;
            };
            let attempts = self.attempts(mode);
            let n = |a: Actual| attempts.iter().filter(|x| x.actual == a).count() as u64;
            let counted = (
                attempts.len() as u64,
                n(Actual::Harmless),
                n(Actual::Target),
                n(Actual::Other),
                n(Actual::Failed),
            );
            let claimed = (
                summary.attempts,
                summary.harmless,
                summary.target,
                summary.other,
                summary.failed,
            );
            if counted != claimed {
                problems.push(format!(
                    "{mode}: summary {claimed:?} != attempts {counted:?}"
                ));
            }
            for (i, a) in attempts.iter().enumerate() {
                check_attempt(setup, i as u64, a, &mut problems);
            }
            if mode.is_deterministic() && summary.as_expected != Some(summary.attempts) {
                problems.push(format!(
                    "{mode}: as_expected {:?} of {} attempts",
                    summary.as_expected, summary.attempts
                ));
            }
        }
        for a in &self.attempts {
            if self.summary(a.mode).is_none() {
                problems.push(format!(
                    "{} #{}: attempt without summary (run cut short?)",
                    a.mode, a.attempt
                ));
            }
        }
        problems
    }
}

fn check_attempt(setup: &Setup, index: u64, a: &Attempt, problems: &mut Vec<String>) {
    let mode = a.mode;
    let mut bad = |what: String| problems.push(format!("{mode} #{}: {what}", a.attempt));
    if a.attempt != index {
        bad(format!("attempt number out of order (expected {index})"));
    }
    if a.pid != setup.pid {
        bad(format!("pid {} != setup pid {}", a.pid, setup.pid));
    }
    if a.t_enter_ns > a.t_exit_ns || a.t_enter_boot_ns > a.t_exit_boot_ns {
        bad("timestamps out of order".into());
    }
    if (a.ret < 0) != (a.actual == Actual::Failed) || (a.ret < 0 && a.errno == 0) {
        bad(format!(
            "ret {} errno {} vs actual {:?}",
            a.ret, a.errno, a.actual
        ));
    }
    if mode.is_connect() {
        let port = a.actual_port();
        let by_port = match port {
            Some(p) if Some(p) == setup.target_port => Actual::Target,
            Some(p) if Some(p) == setup.harmless_port => Actual::Harmless,
            Some(_) => Actual::Other,
            None => Actual::Failed,
        };
        if by_port != a.actual {
            bad(format!(
                "peer {:?} does not match actual {:?}",
                a.actual_value, a.actual
            ));
        }
        if a.actual != Actual::Failed && a.accepted_by != Some(a.actual) {
            bad(format!(
                "accepted by {:?} but connected to {:?}",
                a.accepted_by, a.actual
            ));
        }
    } else if a.actual != Actual::Failed {
        let by_inode = match (a.actual_inode, a.actual_device) {
            (Some(i), Some(d))
                if Some(i) == setup.target_inode && Some(d) == setup.target_device =>
            {
                Actual::Target
            }
            (Some(i), Some(d))
                if Some(i) == setup.harmless_inode && Some(d) == setup.harmless_device =>
            {
                Actual::Harmless
            }
            _ => Actual::Other,
        };
        if by_inode != a.actual {
            bad(format!(
                "inode {:?} does not match actual {:?}",
                a.actual_inode, a.actual
            ));
        }
    }
    match (&a.expected, mode.is_deterministic()) {
        (Some(e), true) => {
            if a.actual != Actual::Target {
                bad(format!(
                    "deterministic mode used {:?}, not the target",
                    a.actual
                ));
            }
            if a.actual_value.as_deref() != Some(e.kernel.as_str()) {
                bad(format!(
                    "kernel used {:?}, expected {:?}",
                    a.actual_value, e.kernel
                ));
            }
            if e.user.is_none() == e.user_err.is_none() {
                bad("expected exactly one of expected_user and expected_user_err".into());
            }
            let want_mismatch = mode != Mode::Symlink;
            if e.mismatch != want_mismatch {
                bad(format!("expected_mismatch {} for {mode}", e.mismatch));
            }
            match mode {
                Mode::Openat2Uffd => {
                    if a.uffd_faults.unwrap_or(0) < 1 {
                        bad("no userfault served during openat2".into());
                    }
                    if a.path_at_fault.as_deref() != Some(setup.harmless.as_str()) {
                        bad(format!(
                            "path at fault {:?}, not the harmless path",
                            a.path_at_fault
                        ));
                    }
                    if e.user.as_deref() != Some(setup.harmless.as_str()) {
                        bad("expected_user is not the harmless path".into());
                    }
                }
                Mode::OpenUnfaulted | Mode::ConnectUnfaulted
                    if e.user_err != Some(-14) || a.user_before.is_some() =>
                {
                    bad(
                        "unfaulted mode must predict -EFAULT and not read the buffer before".into(),
                    );
                }
                Mode::Symlink
                    if e.user.as_deref() != setup.link.as_deref()
                        || setup.link_target.as_deref() != Some(&e.kernel) =>
                {
                    bad("symlink: expected user/kernel values are not link/link target".into());
                }
                _ => {}
            }
        }
        (None, false) => {}
        (Some(_), false) => bad("race attempt carries a prediction".into()),
        (None, true) => bad("deterministic attempt without a prediction".into()),
    }
}

/// Result of [`Phantom::run`].
#[derive(Debug)]
pub struct Run {
    /// Exit status (0 ok, 2 error, 3 mode unavailable).
    pub status: ExitStatus,
    /// The parsed log.
    pub log: Log,
    /// The program's stderr (per-mode tallies, skip reasons).
    pub stderr: String,
}

/// The built reproducer.
#[derive(Debug, Clone)]
pub struct Phantom {
    bin: PathBuf,
}

/// `fixtures/phantom/` in the source tree.
pub fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("phantom")
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

impl Phantom {
    /// Builds the reproducer with `fixtures/phantom/build.sh` into
    /// `$CARGO_TARGET_TMPDIR/phantom/phantom` unless that binary is newer than
    /// `phantom.c` and `build.sh`; once per test process. The binary is named
    /// `phantom` (its comm), which `naive-monitor.bt` filters on.
    pub fn build() -> Result<Phantom, Error> {
        static BUILT: OnceLock<Result<Phantom, Error>> = OnceLock::new();
        BUILT.get_or_init(Self::build_uncached).clone()
    }

    fn build_uncached() -> Result<Phantom, Error> {
        let src = source_dir();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("phantom");
        let bin = dir.join("phantom");
        let newest_src = [src.join("phantom.c"), src.join("build.sh")]
            .iter()
            .filter_map(|p| mtime(p))
            .max();
        if let (Some(b), Some(s)) = (mtime(&bin), newest_src)
            && b >= s
        {
            return Ok(Phantom { bin });
        }
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error(format!("creating {}: {e}", dir.display())))?;
        // Build to a unique name and rename: concurrent test processes never
        // see a half-written binary.
        let tmp = dir.join(format!("phantom.{}.tmp", std::process::id()));
        let out = Command::new("sh")
            .arg(src.join("build.sh"))
            .arg(&tmp)
            .output()
            .map_err(|e| Error(format!("running {}/build.sh: {e}", src.display())))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return err(format!(
                "{}/build.sh failed ({}):\n{}",
                src.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::rename(&tmp, &bin)
            .map_err(|e| Error(format!("renaming to {}: {e}", bin.display())))?;
        Ok(Phantom { bin })
    }

    /// Path of the built binary.
    pub fn path(&self) -> &Path {
        &self.bin
    }

    /// The command line (binary first) for `mode` with `opts`, e.g. to put
    /// after `hindsight record -o DIR --`.
    pub fn args(&self, mode: Mode, opts: &RunOptions) -> Vec<OsString> {
        let mut v = vec![self.bin.clone().into_os_string(), mode.as_str().into()];
        if let Some(n) = opts.count {
            v.extend(["--count".into(), n.to_string().into()]);
        }
        for (flag, val) in [
            ("--harmless", &opts.harmless),
            ("--target", &opts.target),
            ("--workdir", &opts.workdir),
            ("--log", &opts.log),
        ] {
            if let Some(p) = val {
                v.extend([flag.into(), p.clone().into_os_string()]);
            }
        }
        v
    }

    /// A ready [`Command`] for `mode` with `opts`.
    pub fn command(&self, mode: Mode, opts: &RunOptions) -> Command {
        let args = self.args(mode, opts);
        let mut c = Command::new(&args[0]);
        c.args(&args[1..]);
        c
    }

    /// Runs `mode` and parses its log (from `opts.log` if set, else stdout).
    /// Exit code 3 (mode unavailable) is not an error: see `log.skipped`.
    pub fn run(&self, mode: Mode, opts: &RunOptions) -> Result<Run, Error> {
        let out = self
            .command(mode, opts)
            .output()
            .map_err(|e| Error(format!("running {}: {e}", self.bin.display())))?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() && out.status.code() != Some(EXIT_UNAVAILABLE) {
            return err(format!("phantom {mode} failed ({}):\n{stderr}", out.status));
        }
        let log = match &opts.log {
            Some(p) => read_log(p)?,
            None => parse_log(&String::from_utf8_lossy(&out.stdout), "phantom stdout")?,
        };
        Ok(Run {
            status: out.status,
            log,
            stderr,
        })
    }
}

/// Reads and parses a log file written with `--log`.
pub fn read_log(path: &Path) -> Result<Log, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error(format!("reading {}: {e}", path.display())))?;
    parse_log(&text, &path.display().to_string())
}

/// Parses JSON-lines ground truth; `origin` names the source in errors.
pub fn parse_log(text: &str, origin: &str) -> Result<Log, Error> {
    let mut log = Log::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{origin}:{}", i + 1);
        let v: Value =
            serde_json::from_str(line).map_err(|e| Error(format!("{at}: not JSON: {e}")))?;
        let r = Rec { v: &v, at: &at };
        match r.str("record")?.as_str() {
            "setup" => log.setups.push(r.setup()?),
            "attempt" => log.attempts.push(r.attempt()?),
            "summary" => log.summaries.push(r.summary()?),
            "skipped" => log.skipped.push(Skipped {
                mode: r.mode()?,
                reason: r.str("reason")?,
                errno: r.int("errno")?,
            }),
            other => return err(format!("{at}: unknown record {other:?}")),
        }
    }
    Ok(log)
}

/// Maps a log string back to the bytes it stands for (see the module doc).
pub fn to_bytes(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u32 as u8).collect()
}

struct Rec<'a> {
    v: &'a Value,
    at: &'a str,
}

impl Rec<'_> {
    fn field(&self, k: &str) -> Result<&Value, Error> {
        self.v
            .get(k)
            .ok_or_else(|| Error(format!("{}: missing field {k:?}", self.at)))
    }

    fn opt_str(&self, k: &str) -> Result<Option<String>, Error> {
        match self.v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => err(format!(
                "{}: field {k:?}: expected a string, got {other}",
                self.at
            )),
        }
    }

    fn str(&self, k: &str) -> Result<String, Error> {
        self.opt_str(k)?
            .ok_or_else(|| Error(format!("{}: field {k:?} is missing or null", self.at)))
    }

    fn opt_i64(&self, k: &str) -> Result<Option<i64>, Error> {
        match self.v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                Error(format!(
                    "{}: field {k:?}: expected an integer, got {v}",
                    self.at
                ))
            }),
        }
    }

    fn opt_u64(&self, k: &str) -> Result<Option<u64>, Error> {
        match self.v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| {
                Error(format!(
                    "{}: field {k:?}: expected an unsigned integer, got {v}",
                    self.at
                ))
            }),
        }
    }

    fn u64(&self, k: &str) -> Result<u64, Error> {
        self.field(k)?;
        self.opt_u64(k)?
            .ok_or_else(|| Error(format!("{}: field {k:?} is null", self.at)))
    }

    fn opt_int<T: TryFrom<i64>>(&self, k: &str) -> Result<Option<T>, Error> {
        match self.opt_i64(k)? {
            None => Ok(None),
            Some(x) => T::try_from(x)
                .map(Some)
                .map_err(|_| Error(format!("{}: field {k:?}: {x} out of range", self.at))),
        }
    }

    fn int<T: TryFrom<i64>>(&self, k: &str) -> Result<T, Error> {
        self.field(k)?;
        self.opt_int(k)?
            .ok_or_else(|| Error(format!("{}: field {k:?} is null", self.at)))
    }

    fn opt_bool(&self, k: &str) -> Result<Option<bool>, Error> {
        match self.v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => err(format!(
                "{}: field {k:?}: expected a boolean, got {other}",
                self.at
            )),
        }
    }

    fn opt_addr(&self, k: &str) -> Result<Option<u64>, Error> {
        match self.opt_str(k)? {
            None => Ok(None),
            Some(s) => u64::from_str_radix(s.trim_start_matches("0x"), 16)
                .map(Some)
                .map_err(|_| Error(format!("{}: field {k:?}: bad address {s:?}", self.at))),
        }
    }

    fn mode(&self) -> Result<Mode, Error> {
        let s = self.str("mode")?;
        Mode::parse(&s).ok_or_else(|| Error(format!("{}: unknown mode {s:?}", self.at)))
    }

    fn actual(&self, k: &str) -> Result<Option<Actual>, Error> {
        match self.opt_str(k)? {
            None => Ok(None),
            Some(s) => Actual::parse(&s)
                .map(Some)
                .ok_or_else(|| Error(format!("{}: field {k:?}: unknown outcome {s:?}", self.at))),
        }
    }

    fn setup(&self) -> Result<Setup, Error> {
        Ok(Setup {
            mode: self.mode()?,
            version: self.int("version")?,
            pid: self.int("pid")?,
            harmless: self.str("harmless")?,
            target: self.str("target")?,
            harmless_inode: self.opt_u64("harmless_inode")?,
            harmless_device: self.opt_u64("harmless_device")?,
            target_inode: self.opt_u64("target_inode")?,
            target_device: self.opt_u64("target_device")?,
            harmless_port: self.opt_int("harmless_port")?,
            target_port: self.opt_int("target_port")?,
            user_addr: self.opt_addr("user_addr")?,
            how_addr: self.opt_addr("how_addr")?,
            flip: self.opt_str("flip")?,
            main_cpu: self.opt_int("main_cpu")?,
            racer_cpu: self.opt_int("racer_cpu")?,
            link: self.opt_str("link")?,
            link_target: self.opt_str("link_target")?,
        })
    }

    fn attempt(&self) -> Result<Attempt, Error> {
        let expected = match self.opt_str("expected_kernel")? {
            None => None,
            Some(kernel) => Some(Expected {
                user: self.opt_str("expected_user")?,
                user_err: self.opt_int("expected_user_err")?,
                kernel,
                mismatch: self.opt_bool("expected_mismatch")?.ok_or_else(|| {
                    Error(format!(
                        "{}: expected_kernel without expected_mismatch",
                        self.at
                    ))
                })?,
            }),
        };
        Ok(Attempt {
            mode: self.mode()?,
            attempt: self.u64("attempt")?,
            pid: self.int("pid")?,
            tid: self.int("tid")?,
            syscall: self.str("syscall")?,
            dirfd: self.opt_int("dirfd")?,
            sockfd: self.opt_int("sockfd")?,
            user_addr: self
                .opt_addr("user_addr")?
                .ok_or_else(|| Error(format!("{}: missing field \"user_addr\"", self.at)))?,
            user_before: self.opt_str("user_before")?,
            user_after: self.opt_str("user_after")?,
            t_enter_ns: self.u64("t_enter_ns")?,
            t_exit_ns: self.u64("t_exit_ns")?,
            t_enter_boot_ns: self.u64("t_enter_boot_ns")?,
            t_exit_boot_ns: self.u64("t_exit_boot_ns")?,
            t_enter_real_ns: self.u64("t_enter_real_ns")?,
            t_exit_real_ns: self.u64("t_exit_real_ns")?,
            ret: self.int("ret")?,
            errno: self.int("errno")?,
            actual: self
                .actual("actual")?
                .ok_or_else(|| Error(format!("{}: missing field \"actual\"", self.at)))?,
            actual_value: self.opt_str("actual_value")?,
            actual_inode: self.opt_u64("actual_inode")?,
            actual_device: self.opt_u64("actual_device")?,
            actual_dev_major: self.opt_int("actual_dev_major")?,
            actual_dev_minor: self.opt_int("actual_dev_minor")?,
            accepted_by: self.actual("accepted_by")?,
            flips: self.opt_u64("flips")?,
            uffd_faults: self.opt_u64("uffd_faults")?,
            path_at_fault: self.opt_str("path_at_fault")?,
            how_addr: self.opt_addr("how_addr")?,
            expected_how_user_err: self.opt_int("expected_how_user_err")?,
            expected,
        })
    }

    fn summary(&self) -> Result<Summary, Error> {
        Ok(Summary {
            mode: self.mode()?,
            attempts: self.u64("attempts")?,
            harmless: self.u64("harmless")?,
            target: self.u64("target")?,
            other: self.u64("other")?,
            failed: self.u64("failed")?,
            as_expected: self.opt_u64("as_expected")?,
            duration_ms: self.u64("duration_ms")?,
        })
    }
}
