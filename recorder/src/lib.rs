//! The Hindsight recorder: loads the eBPF programs, reads their ring buffer,
//! decodes wire events into [`hindsight_format::Event`]s and writes them as a
//! recording.
//!
//! Kernel struct offsets come from the running kernel's BTF ([`btf`],
//! [`offsets`]); the one wire → event decoder is [`decode`]; a whole session
//! (load, attach, reader thread, decode + write thread) is [`session::record`].

pub mod btf;
pub mod cgroups;
pub mod decode;
mod dirfd;
pub mod elf;
pub mod flags;
pub mod hooks;
pub mod objfile;
pub mod offsets;
mod outdir;
mod parents;
pub mod pipeline;
pub mod procinfo;
pub mod session;
pub mod snapshot;
pub mod spawn;
pub mod syscalls;
pub mod wire;

pub use session::{Counters, RecordOptions, RecordSummary, Target, record};

/// Errors of a recording session.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not running as root.
    #[error(
        "recording needs root (loading eBPF programs needs CAP_BPF and CAP_PERFMON); run it with sudo"
    )]
    NotRoot,
    /// The kernel exposes no BTF.
    #[error(
        "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing); Hindsight needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (Linux 5.8 or later)"
    )]
    NoBtf,
    /// The kernel lacks the BPF ring buffer (Linux < 5.8).
    #[error(
        "this kernel ({0}) has no BPF ring buffer (bpf_ringbuf_output, Linux 5.8 and later), which the recorder writes its records to"
    )]
    NoRingBuf(String),
    /// BTF could not be read or lacks a member.
    #[error(transparent)]
    Btf(#[from] btf::BtfError),
    /// Bad `--syscalls`.
    #[error(transparent)]
    Syscalls(#[from] syscalls::SyscallError),
    /// Bad `--cgroup`.
    #[error("--cgroup: {0}")]
    Cgroup(String),
    /// Other bad options.
    #[error("{0}")]
    Options(String),
    /// Loading or attaching the kernel programs failed.
    #[error("loading the eBPF programs failed: {0}")]
    Load(String),
    /// The recorded command could not be started.
    #[error("{0}")]
    Command(String),
    /// The recorded command could not be executed: `execvp` failed (not
    /// found, not executable, ...). Its `source` tells the one from the other.
    #[error("cannot run `{program}`: {source}")]
    Exec {
        /// The program, as given.
        program: String,
        /// Why `execvp` failed.
        #[source]
        source: std::io::Error,
    },
    /// The recording directory could not be made the recorder's: a missing
    /// parent could not be created, it names a symbolic link, or it was
    /// replaced meanwhile (the error names the directory concerned).
    #[error("{0}")]
    OutDir(#[source] std::io::Error),
    /// The recording could not be started in the directory: it already
    /// holds a recording or other files, or making its first files failed
    /// (the error names the path).
    #[error("{0}")]
    Create(#[source] hindsight_format::FormatError),
    /// Writing the recording failed.
    #[error("writing the recording failed: {0}")]
    Write(#[source] hindsight_format::FormatError),
    /// Writing failed while recording (a full disk): recording stopped
    /// there, with the kernel programs detached, and the session still
    /// waited for the recorded command. What was written and how the
    /// command ended are in the summary (the manifest says `stopped`).
    #[error("recording stopped: writing it failed: {error}")]
    Stopped {
        /// The write error.
        error: hindsight_format::FormatError,
        /// The session up to the error (from the manifest as the writer
        /// left it), with the command's exit code.
        summary: Box<session::RecordSummary>,
    },
}

/// Hashes the integer keys of the decoder's tables (pids, cgroup ids) with
/// one multiplication instead of SipHash: the keys come from the kernel,
/// not from an attacker choosing collisions, and a row looks them up on
/// every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_i32(&mut self, n: i32) {
        self.write_u64(n as u32 as u64);
    }
    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the high bits, which hashbrown uses for its
        // control bytes, mix every bit of the key.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// [`std::hash::BuildHasher`] of [`IdHasher`].
pub type IdHash = std::hash::BuildHasherDefault<IdHasher>;
