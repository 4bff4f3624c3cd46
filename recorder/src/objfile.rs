//! Edits to the kernel programs' object file before it is loaded, for
//! kernels that refuse one of its maps as it is declared.
//!
//! `LONG_NAMES` (the whole entry copies of long paths) has a key of about
//! 4 KiB, the path itself, so that the kernel's own hash and compare do the
//! work. Linux before 5.11 refuses hash keys larger than the BPF stack (512
//! bytes) with E2BIG, and the whole object fails to load. Those kernels
//! also lack the kernel-name hook that reads the map (`kmem_cache_free`
//! says which cache only from 5.12), so there the map is declared with a
//! small key that no program uses.

use crate::elf::Elf;

/// An object file's bytes, 8-byte aligned as the ELF parser wants them
/// (a copy of `include_bytes_aligned!`'s guarantee).
pub struct Object {
    words: Vec<u64>,
    len: usize,
}

impl Object {
    /// A copy of `bytes`.
    fn copy_of(bytes: &[u8]) -> Object {
        let mut words = vec![0u64; bytes.len().div_ceil(8)];
        for (w, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            *w = u64::from_ne_bytes(b);
        }
        Object {
            words,
            len: bytes.len(),
        }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialised bytes, and u8 has
        // no alignment or validity requirement.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, through the unique borrow of `words`.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }
}

/// The object with the legacy map definition of `map` (ELF section `maps`,
/// `struct bpf_map_def { type, key_size, value_size, max_entries, ... }`,
/// which is what aya-ebpf's `#[map]` emits) changed to a key of `key_size`
/// bytes; `None` when the object holds no such map.
pub fn with_map_key_size(obj: &[u8], map: &str, key_size: u32) -> Option<Object> {
    let off = map_def_offset(obj, map)?;
    let mut out = Object::copy_of(obj);
    out.bytes_mut()
        .get_mut(off + 4..off + 8)?
        .copy_from_slice(&key_size.to_le_bytes());
    Some(out)
}

/// The key size of `map`'s definition in `obj`.
pub fn map_key_size(obj: &[u8], map: &str) -> Option<u32> {
    let off = map_def_offset(obj, map)?;
    Some(u32::from_le_bytes(
        obj.get(off + 4..off + 8)?.try_into().ok()?,
    ))
}

/// File offset of the symbol `map`'s definition in the `maps` section of a
/// little-endian ELF64 object.
fn map_def_offset(obj: &[u8], map: &str) -> Option<usize> {
    let elf = Elf::parse(obj)?;
    elf.symbols().find_map(|sym| {
        // A symbol of that name elsewhere (undefined, absolute, common or
        // in another section) is not the map's definition.
        if sym.name != map.as_bytes() || sym.shndx == 0 || sym.shndx >= 0xff00 {
            return None;
        }
        let section = elf.section(sym.shndx)?;
        if elf.name(&section)? != b"maps" || sym.value.checked_add(8)? > section.size {
            return None;
        }
        section.offset.checked_add(sym.value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_key_is_found_and_changed() {
        let obj = crate::session::ebpf_object();
        let whole = hindsight_recorder_common::WHOLE_PATH_LEN as u32;
        let size = map_key_size(obj, "LONG_NAMES").expect("LONG_NAMES in the object");
        assert!(size > whole, "{size}");
        let small = with_map_key_size(obj, "LONG_NAMES", 8).unwrap();
        assert_eq!(small.bytes().as_ptr() as usize % 8, 0);
        let small = small.bytes();
        assert_eq!(small.len(), obj.len());
        assert_eq!(map_key_size(small, "LONG_NAMES"), Some(8));
        // Only those four bytes changed; other maps keep their keys.
        let changed = obj.iter().zip(small).filter(|(a, b)| a != b).count();
        assert!((1..=4).contains(&changed), "{changed}");
        assert_eq!(map_key_size(small, "ENTRY"), map_key_size(obj, "ENTRY"));
        assert_eq!(map_key_size(obj, "ENTRY"), Some(4));
        assert_eq!(map_key_size(obj, "NO_SUCH_MAP"), None);
        assert!(with_map_key_size(b"not an object", "LONG_NAMES", 8).is_none());
    }
}
