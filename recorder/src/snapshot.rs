//! `process_snapshot` rows: the processes already running when a whole-host
//! recording starts, read from `/proc` right after the kernel programs are
//! attached (so every process is either in the snapshot or seen forking),
//! so that their executable, argv, credentials and parentage are known.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use hindsight_format::event::{Event, EventKind};

use crate::decode::HostInfo;
use crate::procinfo::ProcInfo;

/// Facts of one process from `/proc/PID/{stat,status,loginuid,cgroup}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcFacts {
    /// `comm`.
    pub comm: String,
    /// Parent pid.
    pub ppid: i32,
    /// Real, effective uid.
    pub uid: (u32, u32),
    /// Real gid.
    pub gid: u32,
    /// Effective and permitted capabilities.
    pub caps: (u64, u64),
    /// Audit login uid (None when unset).
    pub loginuid: Option<u32>,
    /// cgroup v2 path (`/system.slice/...`).
    pub cgroup: Option<String>,
}

/// Parses `/proc/PID/stat` and `/proc/PID/status` texts.
pub fn parse_facts(stat: &str, status: &str) -> Option<ProcFacts> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let rest: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    let ppid = rest.get(1)?.parse().ok()?;
    let field = |name: &str| -> Vec<&str> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().collect())
            .unwrap_or_default()
    };
    let uids = field("Uid:");
    let gids = field("Gid:");
    let hex = |name: &str| {
        field(name)
            .first()
            .and_then(|v| u64::from_str_radix(v, 16).ok())
            .unwrap_or(0)
    };
    Some(ProcFacts {
        comm,
        ppid,
        uid: (
            uids.first()?.parse().ok()?,
            uids.get(1).and_then(|v| v.parse().ok()).unwrap_or(0),
        ),
        gid: gids.first()?.parse().ok()?,
        caps: (hex("CapEff:"), hex("CapPrm:")),
        loginuid: None,
        cgroup: None,
    })
}

/// The cgroup v2 path in a `/proc/PID/cgroup` text (`0::/path`).
fn cgroup_v2_path(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
}

/// Reads every process in `/proc` except `self_pid`; with `within` (a
/// directory under `cgroup_root`), only processes in that cgroup subtree.
/// Processes that vanish while being read are skipped.
pub fn read_processes(
    self_pid: i32,
    cgroup_root: Option<&Path>,
    within: Option<&Path>,
) -> Vec<(i32, ProcFacts, ProcInfo, Option<u64>)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<i32> = dir
        .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&p| p != self_pid)
        .collect();
    pids.sort_unstable();
    let mut out = Vec::new();
    for pid in pids {
        let base = PathBuf::from(format!("/proc/{pid}"));
        let (Ok(stat), Ok(status)) = (
            std::fs::read_to_string(base.join("stat")),
            std::fs::read_to_string(base.join("status")),
        ) else {
            continue;
        };
        let Some(mut facts) = parse_facts(&stat, &status) else {
            continue;
        };
        facts.loginuid = std::fs::read_to_string(base.join("loginuid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .filter(|&u: &u32| u != u32::MAX);
        facts.cgroup = std::fs::read_to_string(base.join("cgroup"))
            .ok()
            .and_then(|s| cgroup_v2_path(&s));
        let cg_dir = cgroup_root
            .zip(facts.cgroup.as_deref())
            .map(|(root, p)| root.join(p.trim_start_matches('/')));
        if let Some(w) = within
            && !cg_dir.as_deref().is_some_and(|d| d.starts_with(w))
        {
            continue;
        }
        let cgroup_id = cg_dir
            .as_deref()
            .and_then(|d| std::fs::metadata(d).ok())
            .map(|m| m.ino());
        let info = ProcInfo::from_proc(pid);
        out.push((pid, facts, info, cgroup_id));
    }
    out
}

/// The `process_snapshot` row of one process, stamped `time_ns`.
pub fn snapshot_event(
    host: &HostInfo,
    time_ns: i64,
    pid: i32,
    facts: &ProcFacts,
    info: &ProcInfo,
    cgroup_id: Option<u64>,
) -> Event {
    Event {
        time_ns,
        host_name: host.host_name.clone(),
        boot_id: host.boot_id.clone(),
        event_kind: EventKind::ProcessSnapshot,
        process_pid: pid,
        thread_id: pid,
        process_parent_pid: Some(facts.ppid),
        process_vpid: info.vpid.or(Some(pid)),
        process_session_id: info.session_id,
        process_tty: info.tty,
        process_name: Some(facts.comm.clone()),
        process_executable: info.exe.clone(),
        process_args: info.args.clone(),
        process_command_line: info.args.as_ref().map(|a| a.join(" ")),
        process_cwd: info.cwd.clone(),
        process_cap_effective: Some(facts.caps.0),
        process_cap_permitted: Some(facts.caps.1),
        user_id: Some(facts.uid.0),
        user_name: host.users.get(&facts.uid.0).cloned(),
        group_id: Some(facts.gid),
        process_effective_user_id: Some(facts.uid.1),
        login_uid: facts.loginuid,
        cgroup_id,
        container_id: info.container_id.clone(),
        file_path: info.exe.clone(),
        kernel_source: Some("procfs".into()),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_status() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 34816 4242 4194560 1 0 0 0";
        let status = "Name:\tx\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n\
                      CapPrm:\t000001ffffffffff\nCapEff:\t0000000000000400\n";
        let f = parse_facts(stat, status).unwrap();
        assert_eq!(f.comm, "my (odd) name");
        assert_eq!(f.ppid, 1);
        assert_eq!(f.uid, (1000, 0));
        assert_eq!(f.gid, 100);
        assert_eq!(f.caps, (0x400, 0x1ff_ffff_ffff));
        assert_eq!(
            cgroup_v2_path("0::/system.slice/ssh.service\n"),
            Some("/system.slice/ssh.service".into())
        );
    }

    #[test]
    fn reads_this_process_tree() {
        let me = std::process::id() as i32;
        let procs = read_processes(-1, None, None);
        let (_, facts, info, _) = procs
            .iter()
            .find(|(p, ..)| *p == me)
            .expect("own process in /proc");
        assert_eq!(
            facts.ppid,
            std::os::unix::process::parent_id() as i32,
            "{facts:?}"
        );
        assert!(info.exe.is_some());
        assert!(
            read_processes(me, None, None)
                .iter()
                .all(|(p, ..)| *p != me)
        );
    }
}
