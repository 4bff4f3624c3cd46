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
pub mod flags;
pub mod hooks;
pub mod offsets;
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
        "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing); Hindsight needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (5.8 or later)"
    )]
    NoBtf,
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
    /// Writing the recording failed.
    #[error("writing the recording failed: {0}")]
    Write(#[source] hindsight_format::FormatError),
}
