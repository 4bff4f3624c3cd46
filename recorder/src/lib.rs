//! The Hindsight recorder: loads the eBPF programs, reads their ring buffer,
//! decodes wire events into [`hindsight_format::Event`]s and writes them as a
//! recording.
