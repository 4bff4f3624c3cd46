//! Decoding a syscall row: arguments, paths, descriptors, addresses and
//! the verdicts on them.

use super::*;

impl Decoder {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn decode_syscall(
        &mut self,
        h: &WireHeader,
        e: &mut Event,
        rec: &[u8],
        name: &'static str,
        kpath: Option<String>,
        kpath2: Option<String>,
        user_path: Option<String>,
        user_path2: Option<String>,
    ) {
        e.event_kind = EventKind::Syscall;
        e.ret = Some(h.ret);
        e.latency_ns = Some(h.ts_exit.saturating_sub(h.ts_enter) as i64);
        let a = h.args;
        let user_err = h.user_err;
        let user_abs = user_path
            .as_deref()
            .filter(|_| user_err == 0)
            .map(|u| absolutize_in(self.pool.take(), u, kpath2.as_deref()));
        if let Some(u) = &user_path {
            // A failed read leaves no value, only its error.
            e.file_path_user = (user_err == 0).then(|| self.pool.of(u));
            e.file_path_user_err = Some(user_err);
        }
        if let Some(u) = &user_path2 {
            // A failed read leaves no value (its error has no column).
            e.file_target_path_user = (h.user_err2 == 0).then(|| self.pool.of(u));
        }
        // The directory the second path is relative to: its own walk when
        // it differs from the first's (`renameat(d1, "a", d2, "b")`).
        let base2 = if h.flags & F_BASE2_WALK != 0 {
            let walk = join_walk(sect(rec, OFF_AUX, (h.aux_len as usize).min(768)));
            Some(if h.flags & F_BASE2_COMPLETE == 0 && h.aux_len > 0 {
                format!("...{walk}")
            } else {
                walk
            })
        } else {
            kpath2.as_deref().map(|k| self.pool.of(k))
        };
        // The second path re-read at exit: after the first in `kpath` when
        // `aux` holds the second base.
        let exit2_off = if h.flags & F_BASE2_WALK != 0 {
            OFF_KPATH + USER_PATH_LEN
        } else {
            OFF_AUX
        };
        let is_open = matches!(name, "open" | "openat" | "openat2" | "creat");
        let kname1 = KName::of(
            h,
            rec,
            (F_KNAME1, F_KNAME1_DIFF, F_KNAME1_BYTES),
            OFF_KNAME,
            &user_path,
            &mut self.pool,
        );
        let kname2 = KName::of(
            h,
            rec,
            (F_KNAME2, F_KNAME2_DIFF, F_KNAME2_BYTES),
            OFF_KNAME2,
            &user_path2,
            &mut self.pool,
        );
        let reread_call = syscalls::name(h.syscall_nr).is_some()
            && syscalls::spec_for(name).flags & S_REREAD != 0;
        // Flags and mode arguments.
        let (flags, mode) = match name {
            "open" => (Some(a[1]), Some(a[2])),
            "openat" => (Some(a[2]), Some(a[3])),
            "creat" => (Some(0o1101), Some(a[1])),
            // The opened file's flags; else open_how's as user memory held it.
            "openat2" => (
                Some(if h.flags & F_FILE != 0 {
                    h.f_flags as u64
                } else {
                    u64::from_ne_bytes(h.uaddr[..8].try_into().unwrap_or_default())
                }),
                None,
            ),
            "mkdir" | "chmod" | "fchmod" | "mknod" => (None, Some(a[1])),
            "mkdirat" | "fchmodat" | "fchmodat2" | "mknodat" => (None, Some(a[2])),
            _ => (None, None),
        };
        if let Some(f) = flags {
            let mut s = self.pool.take();
            open_flags_into(&mut s, f as u32);
            e.file_flags = Some(s);
        }
        if let Some(m) = mode
            && (!is_open || flags.is_some_and(|f| f & 0o100 != 0 || f & 0o20000000 != 0))
        {
            e.file_mode = Some(m as u32);
        }
        // The kernel's object.
        if h.flags & F_FILE != 0 {
            e.file_inode = Some(h.ino);
            e.file_device = Some(user_dev(h.dev));
            e.file_path = kpath.as_deref().map(|k| self.pool.of(k));
            e.fd_type = Some(self.pool.of(fd_type(h.i_mode, kpath.as_deref(), None)));
            e.kernel_source = Some(self.pool.of(if h.flags & F_FD_ARG != 0 {
                "sys_exit_fd_arg"
            } else {
                "sys_exit_fd"
            }));
            if h.flags & (F_KPATH_COMPLETE | F_KPATH_PSEUDO) == 0 && h.kpath_len == 0 {
                // Not reachable from the global root, and not an object of
                // an internal mount either. (A walk cut short keeps its
                // `...` path, with `file_path_truncated`.)
                e.file_path = None;
            }
        }
        if h.flags & F_FD_PAIR != 0 {
            // pipe, pipe2, socketpair: the first descriptor, whose file the
            // kernel side resolved; the pair goes to the arguments below.
            e.fd = Some(h.aux_int);
            let same = h.flags & F_FD_PAIR_SAME != 0;
            if name == "socketpair" && h.flags & F_FILE != 0 {
                // The kernel checked the family of a pair (AF_UNIX).
                let family = same.then_some(1);
                e.fd_type = Some(self.pool.of(fd_type(h.i_mode, None, family)));
            }
            // The numbers were read back from user memory (a racing thread
            // can rewrite them): they name the pair only if the kernel found
            // one pipe's two ends (two unix sockets, each the other's peer)
            // behind them.
            e.toctou_mismatch = Some(!same);
        } else if (is_open || name == "memfd_create") && h.ret >= 0 {
            e.fd = Some(h.ret as i32);
        } else if h.flags & F_FD_ARG != 0
            || matches!(
                name,
                "connect"
                    | "bind"
                    | "listen"
                    | "accept"
                    | "accept4"
                    | "sendto"
                    | "sendmsg"
                    | "recvfrom"
                    | "recvmsg"
                    | "getsockname"
                    | "getpeername"
                    | "shutdown"
                    | "close"
            )
        {
            e.fd = Some(a[0] as i32);
        }
        if reread_call && (kname1.is_some() || kname2.is_some()) {
            // No object remains (unlink, rename...): the kernel's own copies
            // of the names are the authoritative values.
            let mut mismatch = false;
            // A path cut short whose re-read agrees on what was read.
            let mut undecided = false;
            match &kname1 {
                // An empty name with AT_EMPTY_PATH: the object is the dirfd's
                // file, resolved above.
                Some(k) if h.flags & F_FILE != 0 => mismatch |= k.differs,
                Some(k) => {
                    mismatch |= k.differs;
                    e.file_path = k.value.as_deref().map(|v| {
                        if name == "symlink" || name == "symlinkat" {
                            // The target is stored verbatim; it is not resolved.
                            v.to_string()
                        } else {
                            kname_abs(v, kpath2.as_deref())
                        }
                    });
                }
                None if h.flags & F_KPATH_REREAD != 0 => {
                    // e.g. mount's source, which is not a `struct filename`.
                    let exit_val = cstr(sect(rec, OFF_KPATH, 256));
                    match reread_verdict(
                        user_err,
                        user_path.as_deref(),
                        &exit_val,
                        h.flags & F_USER_TRUNC != 0,
                    ) {
                        Some(m) => mismatch |= m,
                        None => undecided = true,
                    }
                    e.file_path = Some(exit_val);
                }
                // A path argument with neither a kernel copy nor a re-read
                // (before Linux 5.12, one longer than the entry copy whose
                // first 255 bytes the kernel's agreed with): a failed entry
                // read is a mismatch; anything else leaves the row undecided,
                // not "no mismatch" on the strength of the other argument.
                None if user_err != 0 => mismatch = true,
                None if user_path.is_some() => undecided = true,
                None => {}
            }
            match &kname2 {
                Some(k) => {
                    mismatch |= k.differs;
                    e.file_target_path = k.value.as_deref().map(|v| kname_abs(v, base2.as_deref()));
                }
                None if h.flags & F_AUX != 0 => {
                    let exit2 = cstr(sect(rec, exit2_off, 256));
                    match reread_verdict(
                        h.user_err2,
                        user_path2.as_deref(),
                        &exit2,
                        h.flags & F_USER_TRUNC2 != 0,
                    ) {
                        Some(m) => mismatch |= m,
                        None => undecided = true,
                    }
                    e.file_target_path = Some(absolutize(&exit2, base2.as_deref()));
                }
                // As for the first path.
                None if h.user_err2 != 0 && h.flags & F_USER_PATH2 != 0 => mismatch = true,
                None if user_path2.is_some() => undecided = true,
                None => {}
            }
            e.kernel_source = Some(self.pool.of("names_cache"));
            e.toctou_mismatch = (mismatch || !undecided).then_some(mismatch);
        } else if h.flags & F_KPATH_REREAD != 0 {
            let exit_val = cstr(sect(rec, OFF_KPATH, 256));
            e.file_path = Some(absolutize(&exit_val, kpath2.as_deref()));
            e.kernel_source = Some(self.pool.of("sys_exit_reread"));
            let mut verdict = reread_verdict(
                user_err,
                user_path.as_deref(),
                &exit_val,
                h.flags & F_USER_TRUNC != 0,
            );
            if h.flags & F_AUX != 0 {
                let exit2 = cstr(sect(rec, exit2_off, 256));
                e.file_target_path = Some(absolutize(&exit2, base2.as_deref()));
                let v2 = reread_verdict(
                    h.user_err2,
                    user_path2.as_deref(),
                    &exit2,
                    h.flags & F_USER_TRUNC2 != 0,
                );
                verdict = match (verdict, v2) {
                    (Some(true), _) | (_, Some(true)) => Some(true),
                    (None, _) | (_, None) => None,
                    _ => Some(false),
                };
            }
            e.toctou_mismatch = verdict;
            if name == "symlink" || name == "symlinkat" {
                // The target is stored verbatim; it is not resolved.
                e.file_path = Some(exit_val);
            }
        } else if is_open && h.flags & F_FILE != 0 {
            e.toctou_mismatch = if let Some(k) = &kname1 {
                // The kernel's own copy of the name, compared in the kernel
                // with the entry copy: no file-system state involved.
                Some(k.differs)
            } else {
                // Without the kernel's copy, judge by name and identity.
                // In a PID namespace, `/proc/self` names the namespace's pid.
                let vpid = self.procs.get(&e.process_pid).and_then(|p| p.vpid);
                let ns_abs = user_abs
                    .as_deref()
                    .zip(vpid.filter(|v| *v != e.process_pid))
                    .map(|(u, v)| resolve_proc_self(u, v, e.thread_id));
                let user_abs = user_abs
                    .as_deref()
                    .map(|u| resolve_proc_self(u, e.process_pid, e.thread_id));
                if user_abs.as_deref().is_some_and(via_fd_link) {
                    // A symlink to an open descriptor, not a second name.
                    Some(false)
                } else if h.flags & F_KPATH_COMPLETE == 0 || h.flags & F_USER_TRUNC != 0 {
                    // No whole path on one side: no verdict by name.
                    None
                } else if user_err != 0 {
                    Some(true)
                } else if ns_abs.is_some() && ns_abs == kpath {
                    Some(false)
                } else {
                    let nofollow = flags.is_some_and(|f| f & 0o400000 != 0);
                    Some(!same_object(
                        user_abs.as_deref().unwrap_or(""),
                        kpath.as_deref().unwrap_or(""),
                        h.ino,
                        user_dev(h.dev),
                        nofollow,
                    ))
                }
            };
        } else if (is_open || (matches!(name, "execve" | "execveat") && h.ret < 0))
            && let Some(k) = &kname1
        {
            // A failed open or exec: no object, but the name the kernel tried
            // (an empty one, `execveat(fd, "", ...)`, names the dirfd's file).
            if let Some(v) = k.value.as_deref().filter(|v| !v.is_empty()) {
                e.file_path = Some(kname_abs(v, kpath2.as_deref()));
            }
            e.kernel_source = Some(self.pool.of("names_cache"));
            e.toctou_mismatch = Some(k.differs);
        } else if matches!(name, "execve" | "execveat") && h.ret == 0 {
            // The kernel's view came with the process_exec row just before.
            if let Some(info) = self.procs.get(&e.process_pid)
                && let Some(x) = &info.last_exec
            {
                e.file_path = Some(x.path.clone());
                e.file_inode = Some(x.ino);
                e.file_device = Some(x.dev);
                e.toctou_mismatch = x.mismatch;
                e.process_exe_upper_layer = x.upper_layer;
                e.kernel_source = Some(self.pool.of("sched_process_exec"));
            }
        }
        // A working directory changed: the kernel's new one (walked at exit)
        // is the object the call used, and the process's cwd from now on.
        if h.ret == 0 {
            let cwd = match name {
                "chdir" if h.flags & F_KPATH2_WALK != 0 => kpath2.clone(),
                "fchdir" if h.flags & F_FILE != 0 => kpath.clone(),
                _ => None,
            };
            if let Some(cwd) = cwd {
                if name == "chdir" {
                    e.file_path = Some(cwd.clone());
                }
                self.proc_info(e.process_pid).cwd = Some(cwd);
            }
        }
        // Socket addresses.
        if h.flags & F_UADDR != 0 {
            e.network_family = Some(family_name(h.uaddr_family));
            // The sockaddr read's error: 0 when user memory was readable.
            e.file_path_user_err = Some(h.uaddr_err);
            if h.uaddr_err != 0 {
                e.destination_addr_user = None;
            } else if h.uaddr_family == 1 {
                e.destination_addr_user = if h.flags & F_UADDR_ABSTRACT != 0 {
                    user_path.as_ref().map(|p| format!("@{p}"))
                } else {
                    user_path.clone()
                };
                e.file_path_user = None;
            } else if let Some(ip) = ip_string(h.uaddr_family, &h.uaddr) {
                let s = if h.uaddr_family == 10 {
                    format!("[{ip}]:{}", h.uaddr_port)
                } else {
                    format!("{ip}:{}", h.uaddr_port)
                };
                if name == "bind" {
                    e.source_ip = Some(ip);
                    e.source_port = Some(h.uaddr_port);
                }
                e.destination_addr_user = Some(s);
            }
        }
        if h.flags & F_KADDR != 0 {
            e.network_family = Some(family_name(h.kaddr_family));
            e.destination_ip = ip_string(h.kaddr_family, &h.kaddr);
            e.destination_port = Some(h.kaddr_port);
            e.network_transport = None;
            e.fd_type = Some(if h.kaddr_family == 10 { "ipv6" } else { "ipv4" }.into());
            let sends = matches!(name, "sendto" | "sendmsg");
            if matches!(name, "accept" | "accept4") {
                // The peer, from the accepted socket: no user value to compare.
                e.kernel_source = Some(self.pool.of("sys_exit_sock"));
            } else {
                e.kernel_source = Some(
                    match (sends, h.kaddr_family == 10) {
                        (false, false) => "cgroup_connect4",
                        (false, true) => "cgroup_connect6",
                        (true, false) => "cgroup_sendmsg4",
                        (true, true) => "cgroup_sendmsg6",
                    }
                    .into(),
                );
                e.toctou_mismatch = Some(
                    h.uaddr_err != 0
                        || h.flags & F_UADDR == 0
                        || h.uaddr_family != h.kaddr_family
                        || h.uaddr_port != h.kaddr_port
                        || h.uaddr != h.kaddr,
                );
            }
        }
        if h.flags & F_SOCK != 0 {
            // The socket itself, read from `struct sock` at exit.
            e.network_family = Some(family_name(h.sock_family));
            e.network_transport = transport(h.sock_family, h.sock_type, h.sock_proto);
            // Other families (netlink, packet...) keep the type the `socket`
            // call's arguments give (replay's state model reads them).
            e.fd_type = match h.sock_family {
                1 => Some("unix".into()),
                2 => Some("ipv4".into()),
                10 => Some("ipv6".into()),
                _ => None,
            };
            e.file_inode = Some(h.ino);
            // A raw socket's `skc_num` is its protocol, not a port; port 0
            // means no local port (yet, or any more: a refused connect).
            if h.sock_type != 3
                && h.lport != 0
                && let Some(ip) = ip_string(h.sock_family, &h.laddr)
            {
                e.source_ip = Some(ip);
                e.source_port = Some(h.lport);
            }
            if e.kernel_source.is_none() {
                e.kernel_source = Some(self.pool.of("sys_exit_sock"));
            }
            if h.flags & F_UNIX_ADDR != 0
                && matches!(name, "connect" | "bind" | "accept" | "accept4")
            {
                // The kernel's own name of the socket: the one connected to
                // (its bound name), or the one bound.
                let raw = sect(rec, OFF_KPATH, (h.kpath_len as usize).min(108));
                let kname = match (&kpath, raw.split_first()) {
                    // The socket file, walked in the kernel.
                    (Some(walked), _) => walked.clone(),
                    // Abstract names start with a NUL; shown `@name` as `ss` does.
                    (None, Some((0, rest))) => format!("@{}", escape_bytes(rest)),
                    _ => cstr(raw),
                };
                if matches!(name, "connect" | "bind") {
                    let cwd = self.procs.get(&e.process_pid).and_then(|p| p.cwd.clone());
                    e.toctou_mismatch = unix_verdict(
                        h,
                        e.destination_addr_user.as_deref(),
                        &kname,
                        cwd.as_deref(),
                    );
                }
                e.destination_ip = Some(kname);
            }
        }
        let mut args = self.pool.take();
        syscall_args_into(&mut args, name, &a);
        if h.flags & F_FD_PAIR != 0 {
            use std::fmt::Write;
            let sep = if args.is_empty() { "" } else { " " };
            // Writing to a String cannot fail.
            let _ = write!(args, "{sep}fd0={} fd1={}", h.aux_int, h.child_tgid as i32);
        }
        if args.is_empty() {
            self.pool.put(Some(args));
        } else {
            e.syscall_args = Some(args);
        }
        if name == "openat2" {
            // open_how.resolve, read at entry; or why it could not be.
            let how = if h.uaddr_err != 0 {
                format!("open_how_err={}", h.uaddr_err)
            } else {
                let resolve = u64::from_ne_bytes(h.uaddr[8..].try_into().unwrap_or_default());
                format!("resolve={}", crate::flags::resolve_flags(resolve))
            };
            e.syscall_args = Some(match e.syscall_args.take() {
                Some(s) => format!("{s} {how}"),
                None => how,
            });
        }
        // What this row kept of its own goes back to the pool.
        for s in [kpath, kpath2, user_path, user_path2, base2, user_abs] {
            self.pool.put(s);
        }
        for k in [kname1, kname2].into_iter().flatten() {
            self.pool.put(k.value);
        }
    }
}
