//! [`FdTable`]: one process's open descriptors, copied in O(1) at fork.
//!
//! A fork copies the parent's table, as the kernel does. A daemon that holds
//! tens of thousands of descriptors and forks thousands of children would
//! make that copy the whole cost of a replay, so the table is persistent
//! (structurally shared): a copy shares everything with the original and a
//! change copies only what leads to the changed entry. Descriptor numbers
//! below 2^18 index a three-level radix tree of shared 64-slot nodes (the
//! last level holds the [`FdInfo`] records themselves), so a lookup is three loads rather than a
//! search; other numbers go to an ordered persistent map.
//!
//! The close-on-exec descriptors live in a map of their own, so an exec
//! closes all of them by dropping that map: O(1) however many a child
//! inherited (removing them one by one from a shared map copied a path per
//! descriptor and was the largest cost of replaying fork+exec-heavy load).

use std::sync::Arc;

use imbl::OrdMap;

use crate::state::FdInfo;

/// Bits of a descriptor number each level of a [`FdMap`]'s radix tree takes.
const BITS: u32 = 6;
const FANOUT: usize = 1 << BITS;
/// Descriptors below this number live in the radix tree of a [`FdMap`];
/// others (negative, or huge) in its ordered map.
const DIRECT: i32 = 1 << (3 * BITS);

/// An inner level of the radix tree: 64 shared children and how many are used.
#[derive(Clone)]
struct Node<T> {
    slots: [Option<Arc<T>>; FANOUT],
    used: u32,
}

impl<T> Default for Node<T> {
    fn default() -> Node<T> {
        Node {
            slots: std::array::from_fn(|_| None),
            used: 0,
        }
    }
}

impl<T> Node<T> {
    /// The node below slot `i`, made unique for changing (created if missing).
    fn child_mut(&mut self, i: usize) -> &mut T
    where
        T: Clone + Default,
    {
        let slot = &mut self.slots[i];
        if slot.is_none() {
            self.used += 1;
        }
        Arc::make_mut(slot.get_or_insert_with(Default::default))
    }
}

/// The last level: 64 descriptor records, held in place (not each behind
/// a pointer of its own: opening a descriptor allocates nothing, and
/// closing one touches only this node), and how many are used.
#[derive(Clone)]
struct Leaf {
    slots: [Option<FdInfo>; FANOUT],
    used: u32,
}

impl Default for Leaf {
    fn default() -> Leaf {
        Leaf {
            slots: std::array::from_fn(|_| None),
            used: 0,
        }
    }
}

type Mid = Node<Leaf>;
type Top = Node<Mid>;

/// A persistent map from descriptor number to [`FdInfo`]: numbers below 64
/// (nearly every descriptor most processes ever hold) sit in one shared
/// 64-slot leaf, kept even when it empties (a process that opens and closes
/// descriptor 3 over and over would otherwise free and re-make it each
/// time); other numbers below 2^18 index a three-level radix tree of such
/// leaves (a lookup is one or three loads, never a search), the rest go to an
/// ordered persistent map. A copy is O(1) and shares everything; a change
/// copies only the nodes on the path to the entry it touches (at most three
/// of 64 slots each).
#[derive(Clone, Default)]
struct FdMap {
    low: Option<Arc<Leaf>>,
    root: Option<Arc<Top>>,
    other: OrdMap<i32, FdInfo>,
    len: usize,
}

#[inline]
fn direct(fd: i32) -> Option<[usize; 3]> {
    let m = FANOUT - 1;
    (0..DIRECT).contains(&fd).then_some({
        let fd = fd as usize;
        [fd >> (2 * BITS), (fd >> BITS) & m, fd & m]
    })
}

impl FdMap {
    #[inline]
    fn get(&self, fd: i32) -> Option<&FdInfo> {
        match direct(fd) {
            Some([0, 0, c]) => self.low.as_ref()?.slots[c].as_ref(),
            Some([a, b, c]) => self.root.as_ref()?.slots[a].as_ref()?.slots[b]
                .as_ref()?
                .slots[c]
                .as_ref(),
            None => self.other.get(&fd),
        }
    }

    #[inline]
    fn contains(&self, fd: i32) -> bool {
        self.get(fd).is_some()
    }

    fn get_mut(&mut self, fd: i32) -> Option<&mut FdInfo> {
        // Look before changing anything: a change copies what is shared.
        self.get(fd)?;
        match direct(fd) {
            Some([0, 0, c]) => Arc::make_mut(self.low.as_mut()?).slots[c].as_mut(),
            Some([a, b, c]) => {
                let top = Arc::make_mut(self.root.as_mut()?);
                let leaf = top.child_mut(a).child_mut(b);
                leaf.slots[c].as_mut()
            }
            None => self.other.get_mut(&fd),
        }
    }

    fn insert(&mut self, fd: i32, info: FdInfo) -> Option<FdInfo> {
        let old = match direct(fd) {
            Some([0, 0, c]) => {
                let leaf = Arc::make_mut(self.low.get_or_insert_with(Default::default));
                let old = leaf.slots[c].replace(info);
                leaf.used += u32::from(old.is_none());
                old
            }
            Some([a, b, c]) => {
                let top = Arc::make_mut(self.root.get_or_insert_with(Default::default));
                let leaf = top.child_mut(a).child_mut(b);
                let old = leaf.slots[c].replace(info);
                leaf.used += u32::from(old.is_none());
                old
            }
            None => self.other.insert(fd, info),
        };
        self.len += usize::from(old.is_none());
        old
    }

    fn remove(&mut self, fd: i32) -> Option<FdInfo> {
        if !self.contains(fd) {
            return None;
        }
        let old = match direct(fd) {
            Some([0, 0, c]) => {
                let leaf = Arc::make_mut(self.low.as_mut()?);
                leaf.used -= 1;
                leaf.slots[c].take()
            }
            Some([a, b, c]) => {
                let top = Arc::make_mut(self.root.as_mut()?);
                let mid = top.child_mut(a);
                let leaf = mid.child_mut(b);
                let old = leaf.slots[c].take();
                leaf.used -= 1;
                // Empty nodes go, so an emptied tree holds nothing.
                if leaf.used == 0 {
                    mid.slots[b] = None;
                    mid.used -= 1;
                    if mid.used == 0 {
                        top.slots[a] = None;
                        top.used -= 1;
                        if top.used == 0 {
                            self.root = None;
                        }
                    }
                }
                old
            }
            None => self.other.remove(&fd),
        };
        self.len -= 1;
        old
    }

    /// Every entry, in number order.
    fn iter(&self) -> impl Iterator<Item = (i32, &FdInfo)> {
        fn used<T>(n: &Node<T>) -> impl Iterator<Item = (usize, &Arc<T>)> {
            n.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((i, s.as_ref()?)))
        }
        fn held(l: &Leaf) -> impl Iterator<Item = (usize, &FdInfo)> {
            l.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((i, s.as_ref()?)))
        }
        let below = self.other.range(..0).map(|(k, v)| (*k, v));
        let above = self.other.range(DIRECT..).map(|(k, v)| (*k, v));
        let low = self
            .low
            .iter()
            .flat_map(|leaf| held(leaf).map(|(c, info)| (c as i32, info)));
        let direct = self.root.iter().flat_map(|top| {
            used(top).flat_map(|(a, mid)| {
                used(mid).flat_map(move |(b, leaf)| {
                    held(leaf)
                        .map(move |(c, info)| (((a << (2 * BITS)) | (b << BITS) | c) as i32, info))
                })
            })
        });
        below.chain(low).chain(direct).chain(above)
    }
}

/// Open descriptors by number, in number order.
#[derive(Clone, Default)]
pub struct FdTable {
    /// Descriptors without close-on-exec (as last filed).
    keep: FdMap,
    /// Descriptors with close-on-exec (as last filed).
    cloexec: FdMap,
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
            if self.keep.get(fd).is_some_and(|f| f.cloexec) {
                if let Some(info) = self.keep.remove(fd) {
                    self.cloexec.insert(fd, info);
                }
            } else if self.cloexec.get(fd).is_some_and(|f| !f.cloexec)
                && let Some(info) = self.cloexec.remove(fd)
            {
                self.keep.insert(fd, info);
            }
        }
    }

    /// The descriptor `fd`, if open.
    #[inline]
    pub fn get(&self, fd: &i32) -> Option<&FdInfo> {
        self.keep.get(*fd).or_else(|| self.cloexec.get(*fd))
    }

    /// The descriptor `fd` for changing, if open.
    pub fn get_mut(&mut self, fd: &i32) -> Option<FdMut<'_>> {
        self.refile();
        let (info, was_cloexec) = if self.keep.contains(*fd) {
            (self.keep.get_mut(*fd)?, false)
        } else {
            (self.cloexec.get_mut(*fd)?, true)
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
        self.keep.remove(*fd).or_else(|| self.cloexec.remove(*fd))
    }

    /// Whether `fd` is open.
    pub fn contains_key(&self, fd: &i32) -> bool {
        self.keep.contains(*fd) || self.cloexec.contains(*fd)
    }

    /// Closes everything (exit).
    pub fn clear(&mut self) {
        self.keep = FdMap::default();
        self.cloexec = FdMap::default();
        self.misfiled.clear();
    }

    /// Closes the close-on-exec descriptors (exec).
    pub fn close_on_exec(&mut self) {
        self.refile();
        self.cloexec = FdMap::default();
    }

    /// Number of open descriptors.
    pub fn len(&self) -> usize {
        self.keep.len + self.cloexec.len
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every open descriptor, in number order.
    pub fn iter(&self) -> impl Iterator<Item = (i32, &FdInfo)> {
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
        let open: Vec<i32> = t.iter().map(|(fd, _)| fd).collect();
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
        let order: Vec<i32> = t.iter().map(|(fd, _)| fd).collect();
        assert_eq!(order, vec![1, 3, 5]);
        t.insert(3, info(false));
        t.close_on_exec();
        let open: Vec<i32> = t.iter().map(|(fd, _)| fd).collect();
        assert_eq!(open, vec![3, 5]);
        assert_eq!(c.len(), 3);
        let mut c = c;
        c.close_on_exec();
        let open: Vec<i32> = c.iter().map(|(fd, _)| fd).collect();
        assert_eq!(open, vec![5]);
    }

    #[test]
    fn agrees_with_an_ordered_map_across_number_ranges_and_copies() {
        use std::collections::BTreeMap;
        // Negative, small, leaf-boundary and beyond-the-array numbers.
        let fds = [
            -100,
            -1,
            0,
            1,
            63,
            64,
            65,
            127,
            4095,
            18599,
            65535,
            65536,
            1 << 20,
        ];
        let mut t = FdTable::default();
        let mut model: BTreeMap<i32, bool> = BTreeMap::new();
        let mut copies: Vec<(FdTable, BTreeMap<i32, bool>)> = Vec::new();
        let mut x: u64 = 7;
        for step in 0..4000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let fd = fds[(x >> 33) as usize % fds.len()];
            let cloexec = (x >> 20) & 1 == 1;
            match (x >> 40) % 5 {
                0 | 1 => {
                    t.insert(fd, info(cloexec));
                    model.insert(fd, cloexec);
                }
                2 => {
                    assert_eq!(t.remove(&fd).is_some(), model.remove(&fd).is_some());
                }
                3 => {
                    if let Some(mut f) = t.get_mut(&fd) {
                        f.cloexec = cloexec;
                        model.insert(fd, cloexec);
                    }
                }
                _ => {
                    if step % 7 == 0 {
                        t.close_on_exec();
                        model.retain(|_, c| !*c);
                    }
                    copies.push((t.clone(), model.clone()));
                }
            }
            let got: Vec<(i32, bool)> = t.iter().map(|(fd, f)| (fd, f.cloexec)).collect();
            let want: Vec<(i32, bool)> = model.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(got, want, "step {step}");
            assert_eq!(t.len(), model.len());
            for fd in fds {
                assert_eq!(t.contains_key(&fd), model.contains_key(&fd));
            }
        }
        // Every copy still holds what it held when taken.
        for (c, m) in copies {
            let got: Vec<(i32, bool)> = c.iter().map(|(fd, f)| (fd, f.cloexec)).collect();
            let want: Vec<(i32, bool)> = m.iter().map(|(k, v)| (*k, *v)).collect();
            assert_eq!(got, want);
        }
    }
}
