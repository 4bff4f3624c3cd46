//! A synthetic recording generator with realistic distributions, fully
//! deterministic from [`GeneratorConfig`] (seed, host, start time).
//!
//! It simulates a small Linux host: systemd and services alive at start
//! (`process_snapshot` rows), sshd sessions running shells that run tools
//! (ls, cat, git, curl, python3, make → gcc, …), cron jobs, a web or database
//! service, and a container. Processes fork and exec with argv, load their
//! libraries, open, stat and close files under `/usr/lib`, `/etc`, `/proc`,
//! `/home`, `/tmp`, connect to plausible peers, and exit. A few rows carry
//! TOCTOU mismatches (user memory named another object than the kernel used)
//! and a few are `loss` rows. `read`/`write` are off by default, as in the
//! recorder.
//!
//! [`Generator::next_batch`] streams rows, so any size works in bounded memory;
//! [`generate_recording`] writes a whole recording.

mod files;
mod net;
mod procs;
mod tables;

use std::collections::BTreeMap;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::event::{Event, EventKind};
use crate::manifest::{Clock, Hooks, Manifest, parse_rfc3339};
use crate::writer::{RecordingWriter, WriterOptions};
use files::FdTable;
use tables::{Tool, tool};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// Seed of the random generator: same config, same rows.
    pub seed: u64,
    /// Number of rows to generate.
    pub events: u64,
    /// Host name of the simulated machine (a name containing `db` runs
    /// postgres, any other runs nginx).
    pub host_name: String,
    /// Time of the first event, ns since the Unix epoch.
    pub start_time_ns: i64,
    /// `uname -r` to record.
    pub kernel_release: String,
    /// Also generate `read`/`write` rows (the recorder's default is off).
    pub read_write: bool,
    /// Mean time between events, ns.
    pub mean_gap_ns: u64,
}

/// The default start time of generated recordings.
pub const DEFAULT_START: &str = "2026-11-20T08:00:00Z";

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 1,
            events: 100_000,
            host_name: "web-1".into(),
            start_time_ns: parse_rfc3339(DEFAULT_START).expect("valid constant"),
            kernel_release: "6.8.0-49-generic".into(),
            read_write: false,
            mean_gap_ns: 25_000,
        }
    }
}

const ROOT_CAPS: u64 = (1 << 41) - 1;
const USERS: &[(u32, &str)] = &[
    (0, "root"),
    (33, "www-data"),
    (104, "syslog"),
    (113, "postgres"),
    (999, "redis"),
    (1000, "alice"),
    (1001, "bob"),
];

struct Proc {
    pid: i32,
    ppid: i32,
    sid: i32,
    tty: u32,
    vpid_base: Option<i32>,
    tool: &'static Tool,
    cmdline: String,
    cwd: String,
    home: &'static str,
    uid: u32,
    user: &'static str,
    login_uid: Option<u32>,
    cgroup_id: u64,
    container_id: Option<String>,
    fds: FdTable,
    startup: usize,
    remaining: u32,
    waiting_on: Option<i32>,
    daemon: bool,
}

/// Streams synthetic events. See the module documentation.
pub struct Generator {
    cfg: GeneratorConfig,
    rng: ChaCha8Rng,
    boot_id: String,
    procs: Vec<Proc>,
    next_pid: i32,
    next_tty: u32,
    seq: u64,
    emitted: u64,
    last_returned_ns: i64,
    time_ns: i64,
    next_loss_at: u64,
    next_phantom_at: u64,
    /// A stream of its own for the rare executables, so that they leave the
    /// first [`RARE_FIRST`] events (and the committed small fixtures) as they were.
    rare_rng: ChaCha8Rng,
    next_rare_at: u64,
    lost: u64,
    out: Vec<Event>,
}

/// No rare executable runs before this many events.
const RARE_FIRST: u64 = 150_000;

fn user_name(uid: u32) -> &'static str {
    USERS.iter().find(|u| u.0 == uid).map_or("nobody", |u| u.1)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: GeneratorConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let b: u128 = rng.random();
        let h = format!("{b:032x}");
        let boot_id = format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        let rare_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x7261_7265);
        let mut g = Generator {
            time_ns: cfg.start_time_ns,
            cfg,
            rng,
            boot_id,
            procs: Vec::new(),
            next_pid: 1,
            next_tty: 0,
            seq: 0,
            emitted: 0,
            last_returned_ns: 0,
            next_loss_at: 0,
            next_phantom_at: 0,
            rare_rng,
            next_rare_at: 0,
            lost: 0,
            out: Vec::new(),
        };
        g.next_loss_at = g.rng.random_range(1_000..5_000);
        g.next_phantom_at = g.rng.random_range(800..2_500);
        g.next_rare_at = RARE_FIRST + g.rare_rng.random_range(0..150_000);
        g.start_services();
        g
    }

    /// The manifest header of the generated recording (host, kernel, boot,
    /// users, hooks, generator config). Loss totals come from [`Generator::lost`].
    pub fn manifest(&self) -> Manifest {
        let mut m = Manifest {
            host_name: self.cfg.host_name.clone(),
            kernel_release: self.cfg.kernel_release.clone(),
            boot_id: self.boot_id.clone(),
            clock: Clock {
                monotonic_to_wall_ns: self.cfg.start_time_ns - 3_600_000_000_000,
                source: "synthetic".into(),
            },
            hooks: Hooks {
                active: vec!["synthetic".into()],
                unavailable: Vec::new(),
            },
            ..Default::default()
        };
        m.set_start(self.cfg.start_time_ns);
        let c = &self.cfg;
        let config = serde_json::json!({
            "generator": "hindsight generate",
            "seed": c.seed,
            "events": c.events,
            "read_write": c.read_write,
            "mean_gap_ns": c.mean_gap_ns,
        });
        m.recorder_config = config.as_object().cloned().unwrap_or_default();
        for (uid, name) in USERS {
            m.users.insert(*uid, (*name).to_string());
            m.groups.insert(*uid, (*name).to_string());
        }
        m.groups.insert(27, "sudo".into());
        m
    }

    /// Events dropped in the generated `loss` rows so far.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Time of the last event returned so far.
    pub fn last_time_ns(&self) -> i64 {
        self.last_returned_ns
    }

    /// The next at most `max` events; empty once `events` were generated.
    pub fn next_batch(&mut self, max: usize) -> Vec<Event> {
        let remaining = self.cfg.events - self.emitted.min(self.cfg.events);
        let want = (max as u64).min(remaining) as usize;
        self.emitted += want as u64;
        let mut batch = Vec::with_capacity(want);
        while batch.len() < want {
            if self.out.is_empty() {
                self.step();
            }
            let take = (want - batch.len()).min(self.out.len());
            batch.extend(self.out.drain(..take));
        }
        if let Some(e) = batch.last() {
            self.last_returned_ns = e.time_ns;
        }
        batch
    }

    fn base(&mut self, i: usize, kind: EventKind, syscall: Option<&str>) -> Event {
        let gap = self.cfg.mean_gap_ns as f64;
        let u: f64 = self.rng.random::<f64>().max(1e-12);
        self.time_ns += (-u.ln() * gap) as i64 + 1;
        let p = &self.procs[i];
        let seq = self.seq;
        self.seq += 1;
        let root = p.uid == 0;
        Event {
            time_ns: self.time_ns,
            seq,
            host_name: self.cfg.host_name.clone(),
            boot_id: self.boot_id.clone(),
            event_kind: kind,
            syscall: syscall.map(str::to_string),
            process_pid: p.pid,
            thread_id: p.pid,
            process_parent_pid: Some(p.ppid),
            process_vpid: Some(p.vpid_base.map_or(p.pid, |b| p.pid - b)),
            process_session_id: Some(p.sid),
            process_tty: Some(p.tty),
            process_name: Some(p.tool.name.to_string()),
            process_executable: Some(p.tool.exe.to_string()),
            process_command_line: Some(p.cmdline.clone()),
            process_cwd: Some(p.cwd.clone()),
            process_cap_effective: Some(if root { ROOT_CAPS } else { 0 }),
            process_cap_permitted: Some(if root { ROOT_CAPS } else { 0 }),
            user_id: Some(p.uid),
            user_name: Some(p.user.to_string()),
            group_id: Some(p.uid),
            process_effective_user_id: Some(p.uid),
            login_uid: p.login_uid,
            cgroup_id: Some(p.cgroup_id),
            container_id: p.container_id.clone(),
            ..Default::default()
        }
    }

    fn latency(&mut self, min: i64, mean: f64) -> Option<i64> {
        let u: f64 = self.rng.random::<f64>().max(1e-12);
        Some(min + (-u.ln() * mean) as i64)
    }

    /// One scheduling step: one process runs a short burst.
    fn step(&mut self) {
        if self.seq >= self.next_loss_at {
            self.next_loss_at = self.seq + self.rng.random_range(2_000..10_000);
            self.loss();
            return;
        }
        if self.seq >= self.next_rare_at {
            if self.rare_exec() {
                self.next_rare_at = self.seq + self.rare_rng.random_range(100_000..400_000);
                return;
            }
            // No shell is free right now: try again a little later.
            self.next_rare_at = self.seq + 1_000;
        }
        let i = self.pick();
        let burst = self.rng.random_range(1..=4);
        for _ in 0..burst {
            if i >= self.procs.len() || self.procs[i].waiting_on.is_some() || !self.act(i) {
                break;
            }
        }
    }

    fn pick(&mut self) -> usize {
        for _ in 0..8 {
            let i = self.rng.random_range(0..self.procs.len());
            let p = &self.procs[i];
            if p.waiting_on.is_none() && (!p.daemon || self.rng.random_ratio(1, 4)) {
                return i;
            }
        }
        // Services are always runnable.
        self.rng.random_range(0..5.min(self.procs.len()))
    }

    fn loss(&mut self) {
        let n = self.rng.random_range(1..600u64);
        self.lost += n;
        let mut e = self.base(0, EventKind::Loss, None);
        let cpu = self.rng.random_range(0..2);
        e = Event {
            time_ns: e.time_ns,
            seq: e.seq,
            host_name: e.host_name,
            boot_id: e.boot_id,
            event_kind: EventKind::Loss,
            process_pid: 0,
            thread_id: 0,
            lost_events: Some(n),
            kernel_source: Some("ringbuf".into()),
            syscall_args: Some(format!("cause=ringbuf_full cpu={cpu}")),
            ..Default::default()
        };
        self.out.push(e);
    }

    /// Runs one action of process `i`; false when it exited or blocked.
    fn act(&mut self, i: usize) -> bool {
        let t = self.procs[i].tool;
        // Start-up: the dynamic loader opens ld.so.cache and every library.
        let startup = self.procs[i].startup;
        if startup <= t.libs.len() && !self.procs[i].daemon {
            self.procs[i].startup += 1;
            let path = if startup == 0 {
                "/etc/ld.so.cache"
            } else {
                t.libs[startup - 1]
            };
            self.open_stat_close(i, path, "O_RDONLY|O_CLOEXEC");
            return true;
        }
        if self.procs[i].remaining == 0 {
            self.exit(i);
            return false;
        }
        if self.procs[i].remaining != u32::MAX {
            self.procs[i].remaining -= 1;
        }
        let r = self.rng.random_range(0..1000u32);
        let spawn_permille = match t.name {
            "bash" => 450,
            "sh" | "make" => 500,
            "sshd" => self.sessions_wanted(),
            "cron" => 15,
            _ if !t.children.is_empty() => 30,
            _ => 0,
        };
        if r < spawn_permille {
            let child = t.children[self.rng.random_range(0..t.children.len())];
            self.fork_exec(i, tool(child));
            return false;
        }
        let r = self.rng.random_range(0..1000u32);
        if r < t.connect_permille {
            self.connect(i);
            return true;
        }
        if matches!(t.name, "nginx" | "postgres" | "redis-server") && r < 90 {
            self.accept(i);
            return true;
        }
        let rw = if self.cfg.read_write { 400 } else { 0 };
        let r = self.rng.random_range(0..1000 + rw);
        match r {
            0..=449 => {
                let path = self.pick_path(i);
                let flags = self.pick_flags(&path);
                self.open(i, &path, flags);
            }
            450..=699 => self.close(i),
            700..=819 => {
                let path = self.pick_path(i);
                self.path_syscall(i, "newfstatat", &path, 1_000, 1_500.0);
            }
            820..=879 => {
                let path = self.pick_path(i);
                self.path_syscall(i, "statx", &path, 1_200, 1_500.0);
            }
            880..=929 => {
                let path = self.pick_path(i);
                self.path_syscall(i, "faccessat2", &path, 800, 900.0);
            }
            930..=949 => self.path_syscall(i, "readlinkat", "/proc/self/exe", 900, 600.0),
            950..=969 => {
                let path = format!("/tmp/tmp.{:06x}", self.rng.random_range(0..0xff_ffffu32));
                self.open(i, &path, "O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC");
                self.path_syscall(i, "unlinkat", &path, 3_000, 4_000.0);
            }
            970..=979 => {
                let home = self.procs[i].home;
                let (from, to) = (
                    format!("{home}/.cache/tmp-{}", self.seq),
                    format!("{home}/.cache/state.json"),
                );
                let mut e = self.base(i, EventKind::Syscall, Some("renameat2"));
                e.ret = Some(0);
                e.latency_ns = self.latency(4_000, 8_000.0);
                e.file_path_user = Some(from.clone());
                e.file_path = Some(from);
                e.file_target_path_user = Some(to.clone());
                e.file_target_path = Some(to);
                self.out.push(e);
            }
            980..=989 => {
                let path = format!("{}/.cache", self.procs[i].home);
                let mut e = self.base(i, EventKind::Syscall, Some("mkdirat"));
                e.ret = Some(-17);
                e.file_mode = Some(0o755);
                e.latency_ns = self.latency(1_500, 2_000.0);
                e.file_path_user = Some(path.clone());
                e.file_path = Some(path);
                self.out.push(e);
            }
            990..=999 => {
                let path = format!("{}/bin/run.sh", self.procs[i].home);
                let mut e = self.base(i, EventKind::Syscall, Some("fchmodat"));
                e.ret = Some(0);
                e.file_mode = Some(0o755);
                e.latency_ns = self.latency(1_500, 2_000.0);
                e.file_path_user = Some(path.clone());
                e.file_path = Some(path);
                self.out.push(e);
            }
            _ => {
                let fd = self.procs[i].fds.last().copied().unwrap_or(1);
                let name = if r < 1200 { "read" } else { "write" };
                let mut e = self.base(i, EventKind::Syscall, Some(name));
                e.fd = Some(fd);
                e.fd_type = Some("file".into());
                e.ret = Some(self.rng.random_range(0..65536));
                e.latency_ns = self.latency(500, 3_000.0);
                self.out.push(e);
            }
        }
        true
    }

    fn sessions_wanted(&self) -> u32 {
        let shells = self.procs.iter().filter(|p| p.tool.name == "bash").count();
        if shells < 2 {
            60
        } else if shells < 4 {
            4
        } else {
            0
        }
    }
}

/// The writer options `hindsight generate` uses: segments of `segment_rows`
/// rows, no size or time rotation, no spool (the output is reproducible, not
/// precious).
pub fn writer_options(segment_rows: u64) -> WriterOptions {
    WriterOptions {
        segment_rows,
        segment_bytes: u64::MAX,
        segment_duration: None,
        spool: false,
        ..Default::default()
    }
}

/// Generates a recording into `dir` (which must not exist or be empty).
/// Calls `progress(rows_done)` after every batch. Returns the final manifest.
pub fn generate_recording(
    dir: &Path,
    cfg: &GeneratorConfig,
    opts: WriterOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Manifest> {
    let mut generator = Generator::new(cfg.clone());
    let mut writer = RecordingWriter::create(dir, generator.manifest(), opts)?;
    let mut done = 0u64;
    loop {
        let batch = generator.next_batch(65_536);
        if batch.is_empty() {
            break;
        }
        done += batch.len() as u64;
        writer.append_owned(batch)?;
        progress(done);
    }
    let mut lost = BTreeMap::new();
    if generator.lost() > 0 {
        lost.insert("ringbuf_full".to_string(), generator.lost());
    }
    writer.manifest_mut().totals.events_lost = lost;
    let end = generator.last_time_ns();
    writer.finish_at(Some(end))
}

#[cfg(test)]
mod tests {
    use super::tables::RARE_TOOLS;
    use super::*;

    #[test]
    fn deterministic_and_exact_count() {
        let cfg = GeneratorConfig {
            events: 5_000,
            ..Default::default()
        };
        let a: Vec<Event> = Generator::new(cfg.clone()).next_batch(10_000);
        let mut g = Generator::new(cfg);
        let mut b = g.next_batch(1234);
        b.extend(g.next_batch(10_000));
        assert_eq!(a.len(), 5_000);
        assert_eq!(a, b);
        assert!(
            a.windows(2)
                .all(|w| w[0].seq + 1 == w[1].seq && w[0].time_ns < w[1].time_ns)
        );
    }

    #[test]
    fn rare_executables_only_after_the_first_events() {
        let events = Generator::new(GeneratorConfig {
            events: 700_000,
            ..Default::default()
        })
        .next_batch(700_000);
        let rare: Vec<&Event> = events
            .iter()
            .filter(|e| e.event_kind == EventKind::ProcessExec)
            .filter(|e| {
                let exe = e.process_executable.as_deref();
                RARE_TOOLS.iter().any(|t| Some(t.exe) == exe)
            })
            .collect();
        assert!(!rare.is_empty(), "no rare executable in 700k events");
        assert!(
            rare.iter().all(|e| e.seq >= RARE_FIRST),
            "{:?}",
            rare[0].seq
        );
    }

    #[test]
    fn distributions_look_like_a_host() {
        let events = Generator::new(GeneratorConfig {
            events: 50_000,
            ..Default::default()
        })
        .next_batch(50_000);
        let count = |f: &dyn Fn(&Event) -> bool| events.iter().filter(|e| f(e)).count();
        let openat = count(&|e| e.syscall.as_deref() == Some("openat"));
        assert!(
            openat * 100 / events.len() > 25,
            "openat dominates: {openat}"
        );
        assert!(count(&|e| e.event_kind == EventKind::ProcessExec) > 50);
        assert!(count(&|e| e.event_kind == EventKind::ProcessExit) > 50);
        assert!(count(&|e| e.event_kind == EventKind::Loss) >= 2);
        assert!(count(&|e| e.toctou_mismatch == Some(true)) >= 3);
        assert!(count(&|e| e.syscall.as_deref() == Some("connect")) > 10);
        assert_eq!(count(&|e| e.syscall.as_deref() == Some("read")), 0);
        assert!(count(&|e| e.container_id.is_some()) > 0);
        let users: std::collections::BTreeSet<_> =
            events.iter().filter_map(|e| e.user_name.clone()).collect();
        assert!(
            users.contains("root") && users.contains("alice"),
            "{users:?}"
        );
    }
}
