//! Workloads of `hindsight bench record`: the syscall-heavy programs, the C
//! helper that runs and times them in a cgroup, and the scratch space.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde::Serialize;

use super::Args;

/// Source of the workload and timing helper, compiled with gcc at start.
const HELPER_C: &str = include_str!("record_helper.c");

/// The syscall-heavy workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// open(2) + close(2) of one file, `--iterations` times.
    OpenClose,
    /// getppid(2), `--iterations` times.
    Getppid,
    /// `find /usr -type f -print0 | xargs -0 stat > /dev/null`.
    FindStat,
    /// `tar -C / -c usr/lib > /dev/null` (`tar c /usr/lib` without the leading-slash warning).
    Tar,
}

/// Scratch space, the helper binary and the cgroup of one bench run.
pub(super) struct Bench {
    pub(super) dir: PathBuf,
    pub(super) remove_dir: bool,
    pub(super) helper: PathBuf,
    pub(super) cgroup: PathBuf,
    pub(super) hindsight: PathBuf,
    /// `--baseline`: the build run as `hindsight-baseline`.
    pub(super) baseline: Option<PathBuf>,
    pub(super) syscalls: String,
    pub(super) ring_buffer: String,
    /// bpftrace-print's perf buffer pages per CPU (`--ring-buffer` each).
    pub(super) perf_rb_pages: u64,
    pub(super) test_file: PathBuf,
    pub(super) iterations: u64,
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.cgroup);
        if self.remove_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

pub(super) fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

impl Bench {
    pub(super) fn setup(args: &Args) -> anyhow::Result<Bench> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            bail!("bench record needs root (it loads eBPF programs): run it with sudo");
        }
        let (dir, remove_dir) = match &args.work_dir {
            Some(d) => (d.clone(), false),
            None => (
                std::env::temp_dir().join(format!("hindsight-bench-record-{}", std::process::id())),
                true,
            ),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let root = hindsight_recorder::session::cgroup2_root()
            .context("no cgroup2 mount in /proc/mounts (the workloads run in a cgroup v2)")?;
        let cgroup = root.join(format!("hindsight-bench-{}", std::process::id()));
        std::fs::create_dir_all(&cgroup)
            .with_context(|| format!("creating cgroup {}", cgroup.display()))?;
        let ring_bytes = crate::commands::record::parse_size(&args.ring_buffer)
            .map_err(|e| anyhow::anyhow!("--ring-buffer: {e}"))?;
        let mut bench = Bench {
            perf_rb_pages: super::peers::perf_rb_pages(ring_bytes),
            helper: dir.join("hs-bench"),
            test_file: dir.join("open-close-target"),
            dir,
            remove_dir,
            cgroup,
            hindsight: std::env::current_exe().context("locating the hindsight binary")?,
            baseline: args.baseline.clone(),
            syscalls: args.syscalls.clone(),
            ring_buffer: args.ring_buffer.clone(),
            iterations: args.iterations,
        };
        let src = bench.dir.join("hs-bench.c");
        std::fs::write(&src, HELPER_C).with_context(|| format!("writing {}", src.display()))?;
        std::fs::write(&bench.test_file, b"hindsight\n")?;
        let out = Command::new("gcc")
            .args(["-O2", "-pthread", "-o"])
            .arg(&bench.helper)
            .arg(&src)
            .output()
            .context("running gcc (needed to build the workload helper)")?;
        if !out.status.success() {
            bail!(
                "gcc failed to build the workload helper:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        bench.helper = bench.helper.canonicalize()?;
        Ok(bench)
    }

    pub(super) fn workload_argv(&self, w: Workload) -> Vec<String> {
        let helper = self.helper.display().to_string();
        match w {
            Workload::OpenClose => vec![
                helper,
                "openclose".into(),
                self.iterations.to_string(),
                self.test_file.display().to_string(),
            ],
            Workload::Getppid => vec![helper, "getppid".into(), self.iterations.to_string()],
            Workload::FindStat => vec![
                "sh".into(),
                "-c".into(),
                "find /usr -type f -print0 | xargs -0 stat > /dev/null".into(),
            ],
            Workload::Tar => vec![
                "sh".into(),
                "-c".into(),
                "tar -C / -c usr/lib > /dev/null".into(),
            ],
        }
    }

    /// `hs-bench time OUT PROCS CMD...`: the timed, cgroup-placed workload.
    pub(super) fn timed_argv(&self, w: Workload, out: &Path) -> Vec<String> {
        let mut v = vec![
            self.helper.display().to_string(),
            "time".into(),
            out.display().to_string(),
            self.cgroup.join("cgroup.procs").display().to_string(),
        ];
        v.extend(self.workload_argv(w));
        v
    }

    /// The workload's wall time and CPU time (its own and its
    /// descendants'), in ns, from the helper's timing file.
    pub(super) fn read_time(out: &Path) -> anyhow::Result<(u64, u64)> {
        let text = std::fs::read_to_string(out)
            .with_context(|| format!("the workload left no timing in {}", out.display()))?;
        let mut it = text.split_whitespace();
        let ns: u64 = it.next().unwrap_or("").parse().context("timing file")?;
        let status: i32 = it.next().unwrap_or("").parse().context("timing file")?;
        let cpu: u64 = it.next().unwrap_or("").parse().context("timing file")?;
        if status != 0 {
            bail!("the workload failed (wait status {status})");
        }
        Ok((ns, cpu))
    }
}

pub(super) fn wl_name(w: Workload) -> &'static str {
    match w {
        Workload::OpenClose => "open-close",
        Workload::Getppid => "getppid",
        Workload::FindStat => "find-stat",
        Workload::Tar => "tar",
    }
}
