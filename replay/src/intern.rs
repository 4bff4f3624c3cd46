//! [`Interner`]: one shared copy of strings that repeat on many events (fd
//! kinds, open flags), so the state model does not allocate one per event;
//! [`PathCache`]: the same for the paths of recently opened files.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A fast, deterministic hasher for short strings (8 bytes per step).
#[derive(Default, Clone, Copy)]
pub struct StrHasher(u64);

impl Hasher for StrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().unwrap_or_default());
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        for b in chunks.remainder() {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
}

/// Strings handed out as shared [`Arc<str>`]s; at most [`Interner::MAX`]
/// are kept (then it starts over, deterministically), so memory stays
/// bounded whatever the input.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    set: HashSet<Arc<str>, BuildHasherDefault<StrHasher>>,
}

impl Interner {
    /// Most strings kept.
    pub const MAX: usize = 4096;

    /// The shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.set.get(s) {
            return a.clone();
        }
        if self.set.len() >= Self::MAX {
            self.set.clear();
        }
        let a: Arc<str> = Arc::from(s);
        self.set.insert(a.clone());
        a
    }
}

/// Recently seen strings, shared: a direct-mapped cache of
/// [`PathCache::SLOTS`] entries indexed by a hash of the string. A hit hands
/// out the copy already held; a miss allocates one and takes the slot. Made
/// for the paths of opened files, which repeat (libraries, configuration)
/// but are too many to keep them all: nothing is ever searched or swept, so
/// a stream of distinct paths costs one hash and one comparison more than
/// allocating each.
#[derive(Debug, Clone)]
pub struct PathCache {
    slots: Box<[Option<Arc<str>>]>,
}

impl Default for PathCache {
    fn default() -> PathCache {
        PathCache {
            slots: vec![None; Self::SLOTS].into_boxed_slice(),
        }
    }
}

impl PathCache {
    /// Entries kept (a power of two).
    pub const SLOTS: usize = 1 << 13;

    /// A shared copy of `s`.
    pub fn get(&mut self, s: &str) -> Arc<str> {
        let mut h = StrHasher::default();
        h.write(s.as_bytes());
        // The multiply leaves its best-mixed bits at the top.
        let i = (h.finish() >> (64 - Self::SLOTS.trailing_zeros())) as usize;
        match &mut self.slots[i] {
            Some(a) if **a == *s => a.clone(),
            slot => slot.insert(Arc::from(s)).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_stays_bounded() {
        let mut i = Interner::default();
        let a = i.get("O_RDONLY|O_CLOEXEC");
        let b = i.get("O_RDONLY|O_CLOEXEC");
        assert!(Arc::ptr_eq(&a, &b));
        for n in 0..Interner::MAX + 10 {
            assert_eq!(&*i.get(&n.to_string()), n.to_string());
        }
        assert!(i.set.len() <= Interner::MAX);
        assert_eq!(&*i.get("O_RDONLY|O_CLOEXEC"), "O_RDONLY|O_CLOEXEC");
    }

    #[test]
    fn path_cache_shares_repeats_and_stays_bounded() {
        let mut c = PathCache::default();
        let a = c.get("/etc/ld.so.cache");
        assert!(Arc::ptr_eq(&a, &c.get("/etc/ld.so.cache")));
        for n in 0..PathCache::SLOTS * 3 {
            let p = format!("/tmp/f{n}");
            assert_eq!(&*c.get(&p), p);
        }
        assert_eq!(c.slots.len(), PathCache::SLOTS);
        // Evicted or not, the answer is the string asked for.
        assert_eq!(&*c.get("/etc/ld.so.cache"), "/etc/ld.so.cache");
        assert_eq!(&*c.get(""), "");
    }
}
