//! [`FdTable`]: one process's open descriptors, copied in O(1) at fork.
//!
//! A fork copies the parent's table, as the kernel does. A daemon that holds
//! tens of thousands of descriptors and forks thousands of children would
//! make that copy the whole cost of a replay, so the table is a persistent
//! (structurally shared) map: a copy shares every node with the original and
//! a change copies only the path to the changed entry.
//!
//! The close-on-exec descriptors live in a map of their own, so an exec
//! closes all of them by dropping that map: O(1) however many a child
//! inherited (removing them one by one from a shared map copied a path per
//! descriptor and was the largest cost of replaying fork+exec-heavy load).

use imbl::OrdMap;

use crate::state::FdInfo;

/// Open descriptors by number, in number order.
#[derive(Clone, Default)]
pub struct FdTable {
    /// Descriptors without close-on-exec (as last filed).
    keep: OrdMap<i32, FdInfo>,
    /// Descriptors with close-on-exec (as last filed).
    cloexec: OrdMap<i32, FdInfo>,
    /// Descriptors whose flag changed through an [`FdMut`] since they were
    /// filed; moved to the right map by the next change to the table.
    misfiled: Vec<i32>,
}

/// A descriptor being changed; notes a close-on-exec change when dropped.
pub struct FdMut<'a> {
    fd: i32,
    was_cloexec: bool,
    info: &'a mut FdInfo,
    misfiled: &'a mut Vec<i32>,
}

impl std::ops::Deref for FdMut<'_> {
    type Target = FdInfo;
    fn deref(&self) -> &FdInfo {
        self.info
    }
}

impl std::ops::DerefMut for FdMut<'_> {
    fn deref_mut(&mut self) -> &mut FdInfo {
        self.info
    }
}

impl Drop for FdMut<'_> {
    fn drop(&mut self) {
        if self.info.cloexec != self.was_cloexec {
            self.misfiled.push(self.fd);
        }
    }
}

impl FdTable {
    /// Moves descriptors whose flag changed to the map that matches it.
    fn refile(&mut self) {
        for fd in std::mem::take(&mut self.misfiled) {
            if let Some(info) = self.keep.get(&fd).filter(|f| f.cloexec) {
                let info = info.clone();
                self.keep.remove(&fd);
                self.cloexec.insert(fd, info);
            } else if let Some(info) = self.cloexec.get(&fd).filter(|f| !f.cloexec) {
                let info = info.clone();
                self.cloexec.remove(&fd);
                self.keep.insert(fd, info);
            }
        }
    }

    /// The descriptor `fd`, if open.
    pub fn get(&self, fd: &i32) -> Option<&FdInfo> {
        self.keep.get(fd).or_else(|| self.cloexec.get(fd))
    }

    /// The descriptor `fd` for changing, if open.
    pub fn get_mut(&mut self, fd: &i32) -> Option<FdMut<'_>> {
        self.refile();
        let (info, was_cloexec) = if self.keep.contains_key(fd) {
            (self.keep.get_mut(fd)?, false)
        } else {
            (self.cloexec.get_mut(fd)?, true)
        };
        Some(FdMut {
            fd: *fd,
            was_cloexec,
            info,
            misfiled: &mut self.misfiled,
        })
    }

    /// The descriptor `fd` for changing, opened with default info if it was not.
    pub fn get_or_default(&mut self, fd: i32) -> FdMut<'_> {
        if !self.contains_key(&fd) {
            self.keep.insert(fd, FdInfo::default());
        }
        self.get_mut(&fd).expect("just inserted")
    }

    /// Opens (or replaces) `fd`; returns what it replaced.
    pub fn insert(&mut self, fd: i32, info: FdInfo) -> Option<FdInfo> {
        let old = self.remove(&fd);
        if info.cloexec {
            self.cloexec.insert(fd, info);
        } else {
            self.keep.insert(fd, info);
        }
        old
    }

    /// Closes `fd`; returns what it was.
    pub fn remove(&mut self, fd: &i32) -> Option<FdInfo> {
        self.refile();
        // Look before removing: a map's `remove` makes its path to the key
        // unique (copying nodes shared with a forked copy) even when the key
        // is not there.
        if self.keep.contains_key(fd) {
            self.keep.remove(fd)
        } else if self.cloexec.contains_key(fd) {
            self.cloexec.remove(fd)
        } else {
            None
        }
    }

    /// Whether `fd` is open.
    pub fn contains_key(&self, fd: &i32) -> bool {
        self.keep.contains_key(fd) || self.cloexec.contains_key(fd)
    }

    /// Closes everything (exit).
    pub fn clear(&mut self) {
        self.keep.clear();
        self.cloexec.clear();
        self.misfiled.clear();
    }

    /// Closes the close-on-exec descriptors (exec).
    pub fn close_on_exec(&mut self) {
        self.refile();
        self.cloexec = OrdMap::new();
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.keep.len() + self.cloexec.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.keep.is_empty() && self.cloexec.is_empty()
    }

    /// Every open descriptor, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (&i32, &FdInfo)> {
        let mut a = self.keep.iter().peekable();
        let mut b = self.cloexec.iter().peekable();
        std::iter::from_fn(move || match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if y.0 < x.0 => b.next(),
            (Some(_), _) => a.next(),
            (None, _) => b.next(),
        })
    }
}

impl PartialEq for FdTable {
    fn eq(&self, other: &FdTable) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for FdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(cloexec: bool) -> FdInfo {
        FdInfo {
            cloexec,
            ..FdInfo::default()
        }
    }

    #[test]
    fn copies_are_independent() {
        let mut a = FdTable::default();
        a.insert(3, info(false));
        let mut b = a.clone();
        b.insert(4, info(false));
        b.remove(&3);
        assert!(a.contains_key(&3) && !a.contains_key(&4));
        assert!(!b.contains_key(&3) && b.contains_key(&4));
    }

    #[test]
    fn exec_closes_only_cloexec() {
        let mut t = FdTable::default();
        t.insert(0, info(false));
        t.insert(3, info(true));
        t.get_or_default(4).cloexec = true;
        t.get_mut(&3).expect("open").cloexec = false;
        t.close_on_exec();
        let open: Vec<i32> = t.iter().map(|(fd, _)| *fd).collect();
        assert_eq!(open, vec![0, 3]);
    }

    #[test]
    fn flag_changes_are_refiled_and_order_kept() {
        let mut t = FdTable::default();
        t.insert(5, info(true));
        t.insert(1, info(false));
        t.insert(3, info(true));
        t.get_mut(&1).expect("open").cloexec = true;
        t.get_mut(&5).expect("open").cloexec = false;
        let c = t.clone();
        let order: Vec<i32> = t.iter().map(|(fd, _)| *fd).collect();
        assert_eq!(order, vec![1, 3, 5]);
        t.insert(3, info(false));
        t.close_on_exec();
        let open: Vec<i32> = t.iter().map(|(fd, _)| *fd).collect();
        assert_eq!(open, vec![3, 5]);
        assert_eq!(c.len(), 3);
        let mut c = c;
        c.close_on_exec();
        let open: Vec<i32> = c.iter().map(|(fd, _)| *fd).collect();
        assert_eq!(open, vec![5]);
    }
}
