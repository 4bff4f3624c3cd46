//! Decoding an exec row: the binary the kernel executed, the new image's
//! argv, and the process table's update.

use super::*;

impl Decoder {
    pub(super) fn decode_exec(
        &mut self,
        h: &WireHeader,
        e: &mut Event,
        rec: &[u8],
        kpath: Option<String>,
        kpath2: Option<String>,
        user_path: Option<String>,
    ) {
        e.event_kind = EventKind::ProcessExec;
        e.file_path = kpath.clone();
        e.process_executable = kpath.clone();
        e.file_inode = Some(h.ino);
        e.file_device = Some(user_dev(h.dev));
        e.kernel_source = Some("sched_process_exec".into());
        if h.flags & F_AUX != 0 {
            let argv = sect(rec, OFF_AUX, h.aux_len as usize);
            let mut args: Vec<String> = argv
                .split(|&c| c == 0)
                .map(|s| escape_invalid(s).into_owned())
                .collect();
            if args.last().is_some_and(|s| s.is_empty()) {
                args.pop();
            }
            e.process_args = Some(args);
            if h.child_tgid > h.aux_len {
                // Cut to fit the record: say so, and how much there was.
                e.syscall_args = Some(format!(
                    "argv_bytes={} argv_recorded={}",
                    h.child_tgid, h.aux_len
                ));
            }
        }
        e.process_cwd = kpath2.clone();
        if h.flags & F_EXE_OVERLAY != 0 {
            e.process_exe_upper_layer = Some(h.flags & F_EXE_UPPER != 0);
        }
        let kname = (h.flags & F_EXEC_KNAME != 0).then(|| cstr(sect(rec, OFF_USER_PATH2, 256)));
        // execveat with a descriptor and a relative (or empty) name: the
        // kernel names the file by both, so its own copy of the name is
        // what follows the call's own descriptor (`args[0]`).
        let kname = match (kname, &user_path) {
            (Some(k), Some(u))
                if !u.starts_with('/') && syscalls::name(h.syscall_nr) == Some("execveat") =>
            {
                let fd = h.args[0] as i32;
                Some(fd_relative_name(&k, fd).map(str::to_string).unwrap_or(k))
            }
            (k, _) => k,
        };
        if let Some(u) = &user_path {
            e.file_path_user = (h.user_err == 0).then(|| u.clone());
            e.file_path_user_err = Some(h.user_err);
        }
        e.toctou_mismatch = match (&user_path, &kname) {
            (Some(_), _) if h.user_err != 0 => Some(true),
            (Some(u), Some(k)) if u != k => Some(true),
            // Equal as far as they were kept: a name cut short was compared
            // whole in the kernel.
            (Some(_), Some(_)) if h.flags & F_USER_TRUNC != 0 => {
                (h.flags & F_KNAME1 != 0).then_some(h.flags & F_KNAME1_DIFF != 0)
            }
            (Some(_), Some(_)) => Some(false),
            _ => None,
        };
        let info = ProcInfo {
            exe: kpath.clone(),
            args: e.process_args.clone(),
            cmdline: None,
            cwd: kpath2,
            last_exec: kpath.map(|path| crate::procinfo::LastExec {
                path,
                ino: h.ino,
                dev: user_dev(h.dev),
                mismatch: e.toctou_mismatch,
                upper_layer: e.process_exe_upper_layer,
            }),
            ..self.proc_info(e.process_pid).clone()
        };
        self.procs.insert(e.process_pid, info);
    }
}

/// The name an `execveat(fd, name, ...)` gave, from the file name the
/// kernel made of it (fs/exec.c): `/dev/fd/N/name` for a relative name,
/// `/dev/fd/N` for an empty one (`AT_EMPTY_PATH`, e.g. `fexecve` of a
/// memfd); `None` for any other name, and when N is not the call's `fd`
/// (an absolute `/dev/fd/M/...` swapped in names another directory).
pub(super) fn fd_relative_name(kname: &str, fd: i32) -> Option<&str> {
    let rest = kname.strip_prefix("/dev/fd/")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || rest[..digits].parse::<i32>() != Ok(fd) {
        return None;
    }
    match &rest[digits..] {
        "" => Some(""),
        tail => tail.strip_prefix('/'),
    }
}
