//! Starting the recorded command held before `exec`, so its pid is in the
//! kernel filter before it runs an instruction of its own; and stop signals.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::RecordError;

/// A forked child waiting for [`Held::release`] before it calls `execvp`.
#[derive(Debug)]
pub struct Held {
    /// Its pid.
    pub pid: i32,
    go_w: i32,
    err_r: i32,
}

fn cstrings(argv: &[String]) -> Result<Vec<CString>, RecordError> {
    argv.iter()
        .map(|a| {
            CString::new(a.as_bytes())
                .map_err(|_| RecordError::Command(format!("argument {a:?} contains a NUL byte")))
        })
        .collect()
}

/// Forks `argv`; the child blocks until released (or exits 127 if the
/// recorder goes away first).
pub fn spawn_held(argv: &[String]) -> Result<Held, RecordError> {
    if argv.is_empty() {
        return Err(RecordError::Command("empty command".into()));
    }
    let args = cstrings(argv)?;
    let mut ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let mut go = [0i32; 2];
    let mut err = [0i32; 2];
    // SAFETY: plain libc calls; between fork and exec the child only calls
    // async-signal-safe functions (read, write, close, execvp, _exit).
    unsafe {
        if libc::pipe2(go.as_mut_ptr(), libc::O_CLOEXEC) != 0
            || libc::pipe2(err.as_mut_ptr(), libc::O_CLOEXEC) != 0
        {
            return Err(RecordError::Command(format!(
                "pipe: {}",
                std::io::Error::last_os_error()
            )));
        }
        let pid = libc::fork();
        if pid < 0 {
            return Err(RecordError::Command(format!(
                "fork: {}",
                std::io::Error::last_os_error()
            )));
        }
        if pid == 0 {
            libc::close(go[1]);
            libc::close(err[0]);
            let mut b = 0u8;
            let n = libc::read(go[0], (&raw mut b).cast(), 1);
            if n != 1 {
                libc::_exit(127);
            }
            libc::execvp(ptrs[0], ptrs.as_ptr());
            let e = *libc::__errno_location();
            libc::write(err[1], (&raw const e).cast(), 4);
            libc::_exit(127);
        }
        libc::close(go[0]);
        libc::close(err[1]);
        Ok(Held {
            pid,
            go_w: go[1],
            err_r: err[0],
        })
    }
}

impl Held {
    /// Lets the child exec; fails when `execvp` failed.
    pub fn release(self, program: &str) -> Result<i32, RecordError> {
        // SAFETY: our own pipe fds.
        unsafe {
            libc::write(self.go_w, b"g".as_ptr().cast(), 1);
            libc::close(self.go_w);
            let mut e = 0i32;
            let n = libc::read(self.err_r, (&raw mut e).cast(), 4);
            libc::close(self.err_r);
            if n == 4 {
                let mut status = 0;
                libc::waitpid(self.pid, &mut status, 0);
                let mut source = std::io::Error::from_raw_os_error(e);
                if e == libc::ENOENT
                    && program.contains('/')
                    && std::path::Path::new(program).is_file()
                {
                    // The file is there: what is missing is its `#!`
                    // interpreter (or, for a binary, its ELF loader).
                    source = std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!(
                            "{source}: the file exists, so its #! interpreter (or ELF loader) does not"
                        ),
                    );
                }
                return Err(RecordError::Exec {
                    program: program.to_string(),
                    source,
                });
            }
        }
        Ok(self.pid)
    }
}

/// How the recorded command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// Its exit status as a shell gives it: the exit code, or 128 + the
    /// signal that killed it.
    pub code: i32,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
}

/// Waits without blocking: `Some` once `pid` ended.
pub fn try_wait(pid: i32) -> Option<Ended> {
    let mut status = 0;
    // SAFETY: plain waitpid on our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r == pid {
        if libc::WIFEXITED(status) {
            Some(Ended {
                code: libc::WEXITSTATUS(status),
                signal: None,
            })
        } else if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            Some(Ended {
                code: 128 + sig,
                signal: Some(sig),
            })
        } else {
            None
        }
    } else if r < 0 {
        Some(Ended {
            code: 255,
            signal: None,
        })
    } else {
        None
    }
}

static STOP: AtomicBool = AtomicBool::new(false);
static LAST_SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    LAST_SIGNAL.store(sig, Ordering::SeqCst);
    STOP.store(true, Ordering::SeqCst);
}

/// Installs SIGINT/SIGTERM handlers that set the returned flag (handlers,
/// not SIG_IGN, so a recorded command execs with default dispositions).
pub fn stop_flag() -> &'static AtomicBool {
    // SAFETY: installing an async-signal-safe handler (atomic stores only).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &sa, std::ptr::null_mut());
    }
    &STOP
}

/// Sends `sig` to `pid`.
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: plain kill.
    unsafe {
        libc::kill(pid, sig);
    }
}
