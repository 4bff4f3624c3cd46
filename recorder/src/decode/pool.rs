//! Strings of earlier rows, kept cleared to be filled again: a row's text
//! values (paths, flags, argument lists, kernel sources) are written into
//! buffers that already have room, instead of a `malloc` and a `free` for
//! each value of each row (a fifth of the decoder's time before).

use hindsight_format::event::Event;

/// Most buffers kept: a row uses about a dozen.
const KEEP: usize = 64;
/// Buffers that grew larger than this are freed, not kept.
const MAX_CAPACITY: usize = 4096;

/// A free list of cleared `String`s.
#[derive(Debug, Default)]
pub(super) struct StrPool(Vec<String>);

impl StrPool {
    /// An empty string, with room from an earlier row when one is kept.
    pub(super) fn take(&mut self) -> String {
        self.0.pop().unwrap_or_default()
    }

    /// `v` in a kept buffer.
    pub(super) fn of(&mut self, v: &str) -> String {
        let mut s = self.take();
        s.push_str(v);
        s
    }

    /// Keeps `s` (cleared) for a later value.
    pub(super) fn put(&mut self, s: Option<String>) {
        if let Some(mut s) = s
            && s.capacity() > 0
            && s.capacity() <= MAX_CAPACITY
            && self.0.len() < KEEP
        {
            s.clear();
            self.0.push(s);
        }
    }

    /// Takes every text value of `e` (left `None`) into the pool.
    pub(super) fn reclaim(&mut self, e: &mut Event) {
        for f in [
            &mut e.syscall,
            &mut e.process_name,
            &mut e.process_executable,
            &mut e.process_command_line,
            &mut e.process_cwd,
            &mut e.user_name,
            &mut e.container_id,
            &mut e.file_path,
            &mut e.file_path_user,
            &mut e.file_flags,
            &mut e.file_target_path,
            &mut e.file_target_path_user,
            &mut e.fd_type,
            &mut e.network_family,
            &mut e.network_transport,
            &mut e.source_ip,
            &mut e.destination_ip,
            &mut e.destination_addr_user,
            &mut e.kernel_source,
            &mut e.syscall_args,
        ] {
            let s = f.take();
            self.put(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_cleared_and_bounded() {
        let mut pool = StrPool::default();
        let s = pool.of("/etc/passwd");
        let cap = s.capacity();
        pool.put(Some(s));
        let again = pool.take();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), cap);
        for _ in 0..2 * KEEP {
            pool.put(Some(String::from("x")));
        }
        assert_eq!(pool.0.len(), KEEP);
        pool.put(Some(String::with_capacity(MAX_CAPACITY + 1)));
        assert_eq!(pool.0.len(), KEEP);
    }

    #[test]
    fn reclaim_empties_every_text_field() {
        let mut pool = StrPool::default();
        let mut e = Event {
            file_path: Some("/a".into()),
            kernel_source: Some("sys_exit_fd".into()),
            syscall_args: Some("dirfd=-100".into()),
            ..Event::default()
        };
        pool.reclaim(&mut e);
        assert_eq!(e, Event::default());
        assert_eq!(pool.0.len(), 3);
    }
}
