//! [`FdTable`]: one process's open descriptors, copied in O(1) at fork.
//!
//! A fork copies the parent's table, as the kernel does. A daemon that holds
//! tens of thousands of descriptors and forks thousands of children would
//! make that copy the whole cost of a replay, so the table is a persistent
//! (structurally shared) map: a copy shares every node with the original and
//! a change copies only the path to the changed entry. The close-on-exec
//! descriptors are tracked in a second shared set, so an exec closes them
//! without scanning the table.

use imbl::{OrdMap, OrdSet};

use crate::state::FdInfo;

/// Open descriptors by number, in number order.
#[derive(Clone, Default)]
pub struct FdTable {
    map: OrdMap<i32, FdInfo>,
    /// A superset of the close-on-exec descriptors (an fd whose flag was
    /// cleared may linger until the next exec).
    cloexec: OrdSet<i32>,
}

/// A descriptor being changed; keeps the close-on-exec set up to date when dropped.
pub struct FdMut<'a> {
    fd: i32,
    info: &'a mut FdInfo,
    cloexec_set: &'a mut OrdSet<i32>,
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
        if self.info.cloexec {
            self.cloexec_set.insert(self.fd);
        }
    }
}

impl FdTable {
    /// The descriptor `fd`, if open.
    pub fn get(&self, fd: &i32) -> Option<&FdInfo> {
        self.map.get(fd)
    }

    /// The descriptor `fd` for changing, if open.
    pub fn get_mut(&mut self, fd: &i32) -> Option<FdMut<'_>> {
        let info = self.map.get_mut(fd)?;
        Some(FdMut {
            fd: *fd,
            info,
            cloexec_set: &mut self.cloexec,
        })
    }

    /// The descriptor `fd` for changing, opened with default info if it was not.
    pub fn get_or_default(&mut self, fd: i32) -> FdMut<'_> {
        if !self.map.contains_key(&fd) {
            self.map.insert(fd, FdInfo::default());
        }
        let info = self.map.get_mut(&fd).expect("just inserted");
        FdMut {
            fd,
            info,
            cloexec_set: &mut self.cloexec,
        }
    }

    /// Opens (or replaces) `fd`; returns what it replaced.
    pub fn insert(&mut self, fd: i32, info: FdInfo) -> Option<FdInfo> {
        if info.cloexec {
            self.cloexec.insert(fd);
        }
        self.map.insert(fd, info)
    }

    /// Closes `fd`; returns what it was.
    pub fn remove(&mut self, fd: &i32) -> Option<FdInfo> {
        self.cloexec.remove(fd);
        self.map.remove(fd)
    }

    /// Whether `fd` is open.
    pub fn contains_key(&self, fd: &i32) -> bool {
        self.map.contains_key(fd)
    }

    /// Closes everything (exit).
    pub fn clear(&mut self) {
        self.map.clear();
        self.cloexec.clear();
    }

    /// Closes the close-on-exec descriptors (exec).
    pub fn close_on_exec(&mut self) {
        for fd in std::mem::take(&mut self.cloexec) {
            if self.map.get(&fd).is_some_and(|f| f.cloexec) {
                self.map.remove(&fd);
            }
        }
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every open descriptor, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (&i32, &FdInfo)> {
        self.map.iter()
    }
}

impl PartialEq for FdTable {
    fn eq(&self, other: &FdTable) -> bool {
        self.map == other.map
    }
}

impl std::fmt::Debug for FdTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.map.iter()).finish()
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
}
