//! Kinds of objects: device numbers, descriptor types, socket families,
//! transports and addresses.

use super::*;

/// Linux `dev_t` (`MAJOR << 20 | MINOR`) to the user-space `st_dev` encoding.
pub fn user_dev(kdev: u32) -> u64 {
    libc::makedev(kdev >> 20, kdev & 0xfffff)
}

/// Linux `dev_t` of a terminal to the `tty_nr` encoding of `/proc/PID/stat`
/// (`new_encode_dev`: minor bits 0-7 and 20-31, major bits 8-19), which
/// `process_tty` holds; 0 stays 0 (no controlling terminal).
pub fn tty_nr(kdev: u32) -> u32 {
    let (major, minor) = (kdev >> 20, kdev & 0xf_ffff);
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

pub(super) fn fd_type(i_mode: u32, path: Option<&str>, family: Option<u16>) -> &'static str {
    match i_mode & 0o170000 {
        0o100000 => {
            if path.is_some_and(|p| p.starts_with("memfd:")) {
                "memfd"
            } else {
                "file"
            }
        }
        0o040000 => "directory",
        0o010000 => "pipe",
        0o140000 => match family {
            Some(2) => "ipv4",
            Some(10) => "ipv6",
            Some(1) => "unix",
            _ => "other",
        },
        _ => match path.unwrap_or("") {
            p if p.contains("eventfd") => "event",
            p if p.contains("signalfd") => "signalfd",
            p if p.contains("timerfd") => "timerfd",
            p if p.contains("inotify") => "inotify",
            p if p.contains("bpf") => "bpf",
            p if p.contains("userfaultfd") => "userfaultfd",
            _ => "other",
        },
    }
}

pub(super) fn family_name(f: u16) -> String {
    match f {
        1 => "AF_UNIX".into(),
        2 => "AF_INET".into(),
        10 => "AF_INET6".into(),
        16 => "AF_NETLINK".into(),
        17 => "AF_PACKET".into(),
        other => format!("AF_{other}"),
    }
}

/// `network_transport` of a socket: family, `sk_type` and `sk_protocol`.
pub(super) fn transport(family: u16, ty: u16, proto: u16) -> Option<String> {
    let t = match (family, ty, proto) {
        (1, _, _) => "unix",
        (2 | 10, 3, _) => "raw",
        (2 | 10, _, 6) => "tcp",
        (2 | 10, _, 17) => "udp",
        _ => return None,
    };
    Some(t.into())
}

pub(super) fn ip_string(family: u16, a: &[u8; 16]) -> Option<String> {
    match family {
        2 => Some(Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()),
        10 => Some(Ipv6Addr::from(*a).to_string()),
        _ => None,
    }
}
