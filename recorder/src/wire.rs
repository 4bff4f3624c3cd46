//! Ring-buffer records as the kernel sends them, laid out again for the
//! decoder.
//!
//! The kernel packs a record: the [`WireHeader`], then only the used bytes
//! of each section the record uses, in [`WireEvent`] order
//! ([`section_lens`] is the rule both sides follow). A `stat` of a relative
//! name is ~0.4 KB instead of ~2.3 KB, so the ring buffer holds several
//! times more records and the kernel copies less while the traced program
//! waits. [`unpack_into`] puts every section back at its fixed `OFF_*`
//! offset, so [`crate::decode`] reads one layout whatever was sent.
//!
//! [`WireEvent`]: hindsight_recorder_common::WireEvent

use hindsight_recorder_common::{WireHeader, section_lens};

/// Appends the packed record `rec` to `out` with each section at its fixed
/// offset from the record's start (gaps zero-filled) and returns the bytes
/// appended. A record shorter than its header, or than the sections its
/// header announces, is appended as far as it goes: the decoder then
/// reports it (or reads the sections it has), nothing is invented.
pub fn unpack_into(rec: &[u8], out: &mut Vec<u8>) -> usize {
    let start = out.len();
    let hlen = size_of::<WireHeader>();
    if rec.len() < hlen {
        out.extend_from_slice(rec);
        return rec.len();
    }
    // SAFETY: WireHeader is plain old data and `rec` holds enough bytes.
    let h: WireHeader = unsafe { std::ptr::read_unaligned(rec.as_ptr().cast()) };
    out.extend_from_slice(&rec[..hlen]);
    let mut pos = hlen;
    for (off, n) in section_lens(&h) {
        if n == 0 {
            continue;
        }
        let end = (pos + n).min(rec.len());
        out.resize(start + off, 0);
        out.extend_from_slice(&rec[pos..end]);
        if end < pos + n {
            break;
        }
        pos = end;
    }
    out.len() - start
}

#[cfg(test)]
mod tests {
    use hindsight_recorder_common::{
        F_AUX, F_EXEC_KNAME, F_FILE, F_KNAME1, F_KNAME1_BYTES, F_KNAME1_DIFF, F_KPATH_COMPLETE,
        F_KPATH_REREAD, F_KPATH_WALK, F_KPATH2_COMPLETE, F_KPATH2_WALK, F_USER_PATH, F_USER_PATH2,
        KIND_EXEC, KIND_SYSCALL, OFF_AUX, OFF_KNAME, OFF_KPATH, OFF_KPATH2, OFF_USER_PATH,
        OFF_USER_PATH2, WireEvent,
    };

    use super::*;
    use crate::decode::{Decoder, HostInfo};

    /// A record in the fixed layout (what the decoder reads), with the
    /// given sections, and the section lengths set in its header.
    fn fixed(kind: u32, nr: u32, flags: u32, sections: &[(usize, &[u8])]) -> Vec<u8> {
        // SAFETY: WireHeader is plain old data; all-zero is valid.
        let mut h: WireHeader = unsafe { std::mem::zeroed() };
        h.kind = kind;
        h.flags = flags;
        h.syscall_nr = nr;
        h.ts_enter = 1000;
        h.ts_exit = 1500;
        h.tgid = std::process::id();
        h.tid = h.tgid;
        h.ppid = 1;
        h.loginuid = u32::MAX;
        h.comm[..4].copy_from_slice(b"test");
        let used = |off: usize| {
            sections
                .iter()
                .find(|(o, _)| *o == off)
                .map_or(0, |(_, b)| b.len())
        };
        h.user_len = used(OFF_USER_PATH) as u16;
        h.user_len2 = used(OFF_USER_PATH2) as u16;
        h.kpath_len = used(OFF_KPATH) as u32;
        h.kpath2_len = used(OFF_KPATH2) as u32;
        h.aux_len = used(OFF_AUX) as u32;
        let mut rec = vec![0u8; size_of::<WireEvent>()];
        // SAFETY: `rec` holds a whole WireEvent.
        unsafe { std::ptr::write_unaligned(rec.as_mut_ptr().cast(), h) };
        for (off, b) in sections {
            rec[*off..off + b.len()].copy_from_slice(b);
        }
        rec
    }

    /// What the kernel sends for `rec` (the rule of `send` in the kernel
    /// programs, written again).
    fn pack(rec: &[u8]) -> Vec<u8> {
        let hlen = size_of::<WireHeader>();
        // SAFETY: as above.
        let h: WireHeader = unsafe { std::ptr::read_unaligned(rec.as_ptr().cast()) };
        let mut out = rec[..hlen].to_vec();
        for (off, n) in section_lens(&h) {
            out.extend_from_slice(&rec[off..off + n]);
        }
        out
    }

    fn records() -> Vec<Vec<u8>> {
        let kname = {
            let mut k = [0u8; 256];
            k[..10].copy_from_slice(b"/etc/shad\0");
            k
        };
        vec![
            // getppid: the header alone.
            fixed(KIND_SYSCALL, 110, 0, &[]),
            // openat of an absolute path, the object walked.
            fixed(
                KIND_SYSCALL,
                257,
                F_USER_PATH | F_KPATH_WALK | F_KPATH_COMPLETE | F_FILE,
                &[
                    (OFF_USER_PATH, b"/etc/hostname\0"),
                    (OFF_KPATH, b"hostname\0etc\0"),
                ],
            ),
            // newfstatat of a relative name: the directory walked.
            fixed(
                KIND_SYSCALL,
                262,
                F_USER_PATH | F_KPATH2_WALK | F_KPATH2_COMPLETE,
                &[(OFF_USER_PATH, b"x.py\0"), (OFF_KPATH2, b"lib\0usr\0")],
            ),
            // renameat: both names at entry and again at exit.
            fixed(
                KIND_SYSCALL,
                264,
                F_USER_PATH | F_USER_PATH2 | F_KPATH_REREAD | F_AUX,
                &[
                    (OFF_USER_PATH, b"/tmp/a\0"),
                    (OFF_USER_PATH2, b"/tmp/b\0"),
                    (OFF_KPATH, b"/tmp/a\0"),
                    (OFF_AUX, b"/tmp/b\0"),
                ],
            ),
            // An open whose kernel copy of the name differed.
            fixed(
                KIND_SYSCALL,
                257,
                F_USER_PATH | F_KNAME1 | F_KNAME1_DIFF | F_KNAME1_BYTES,
                &[(OFF_USER_PATH, b"/etc/hostname\0"), (OFF_KNAME, &kname)],
            ),
            // exec: binary, kernel's name, argv and cwd.
            fixed(
                KIND_EXEC,
                59,
                F_KPATH_WALK
                    | F_KPATH_COMPLETE
                    | F_KPATH2_WALK
                    | F_KPATH2_COMPLETE
                    | F_AUX
                    | F_EXEC_KNAME,
                &[
                    (OFF_USER_PATH2, b"/bin/true\0"),
                    (OFF_KPATH, b"true\0bin\0usr\0"),
                    (OFF_KPATH2, b"tmp\0"),
                    (OFF_AUX, b"true\0--x\0"),
                ],
            ),
        ]
    }

    #[test]
    fn packed_records_decode_to_the_same_rows() {
        let host = HostInfo::default();
        for rec in records() {
            let packed = pack(&rec);
            assert!(packed.len() < 700, "packed {} bytes", packed.len());
            let mut out = Vec::new();
            let n = unpack_into(&packed, &mut out);
            assert_eq!(n, out.len());
            let mut a = Decoder::new(host.clone(), Vec::new());
            let mut b = Decoder::new(host.clone(), Vec::new());
            let want = a.decode(&rec).unwrap();
            let got = b.decode(&out).unwrap();
            assert_eq!(format!("{got:?}"), format!("{want:?}"));
        }
    }

    #[test]
    fn sections_land_at_their_fixed_offsets_after_other_records() {
        let recs = records();
        let mut out = vec![7u8; 5];
        for rec in &recs {
            let start = out.len();
            let n = unpack_into(&pack(rec), &mut out);
            // SAFETY: as above.
            let h: WireHeader = unsafe { std::ptr::read_unaligned(rec.as_ptr().cast()) };
            for (off, len) in section_lens(&h).into_iter().filter(|s| s.1 > 0) {
                assert_eq!(out[start + off..start + off + len], rec[off..off + len]);
            }
            assert_eq!(out.len(), start + n);
        }
    }

    #[test]
    fn a_short_record_is_kept_as_far_as_it_goes() {
        let rec = records().swap_remove(1);
        let packed = pack(&rec);
        let mut out = Vec::new();
        assert_eq!(unpack_into(&packed[..10], &mut out), 10);
        let mut out = Vec::new();
        let hlen = size_of::<WireHeader>();
        let n = unpack_into(&packed[..hlen + 5], &mut out);
        assert_eq!(n, OFF_USER_PATH + 5);
        assert_eq!(&out[OFF_USER_PATH..], b"/etc/");
    }
}
