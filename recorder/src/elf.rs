//! A small reader of 64-bit little-endian ELF section headers and symbols:
//! enough to find a kernel image's `.BTF` section ([`crate::btf`]) and a
//! map's definition in the kernel programs' object ([`crate::objfile`]).

/// A 64-bit little-endian ELF file's section header table.
pub struct Elf<'a> {
    data: &'a [u8],
    shoff: usize,
    shentsize: usize,
    shnum: usize,
    /// File offset of the section names' string table.
    shstr: usize,
}

/// One section header.
#[derive(Clone, Copy)]
pub struct Section {
    /// Offset of its name in the section names' string table.
    name: u32,
    /// `sh_type` (`SHT_SYMTAB` is 2).
    pub kind: u32,
    /// `sh_link` (for a symbol table, its string table's index).
    pub link: u32,
    /// File offset of its contents.
    pub offset: usize,
    /// Size of its contents in bytes.
    pub size: usize,
}

/// One `Elf64_Sym`.
pub struct Symbol<'a> {
    /// Its name.
    pub name: &'a [u8],
    /// `st_shndx`: the index of the section it is defined in (0 when
    /// undefined, 0xff00 and above for special indexes).
    pub shndx: usize,
    /// `st_value`: for an object file, the offset in its section.
    pub value: usize,
}

/// `sh_type` of a symbol table.
pub const SHT_SYMTAB: u32 = 2;

fn u16_at(data: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        data.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(data: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        data.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(data: &[u8], o: usize) -> Option<usize> {
    let v = u64::from_le_bytes(data.get(o..o.checked_add(8)?)?.try_into().ok()?);
    usize::try_from(v).ok()
}

impl<'a> Elf<'a> {
    /// The section header table of `data`; `None` unless it is a 64-bit
    /// little-endian ELF file whose header table lies within it.
    pub fn parse(data: &'a [u8]) -> Option<Elf<'a>> {
        if !data.starts_with(b"\x7fELF\x02\x01") {
            return None;
        }
        let mut elf = Elf {
            data,
            shoff: u64_at(data, 0x28)?,
            shentsize: u16_at(data, 0x3a)? as usize,
            shnum: u16_at(data, 0x3c)? as usize,
            shstr: 0,
        };
        elf.shstr = elf.section(u16_at(data, 0x3e)? as usize)?.offset;
        Some(elf)
    }

    /// The number of sections.
    pub fn len(&self) -> usize {
        self.shnum
    }

    /// Whether the file has no sections.
    pub fn is_empty(&self) -> bool {
        self.shnum == 0
    }

    /// Section header `i`.
    pub fn section(&self, i: usize) -> Option<Section> {
        if i >= self.shnum {
            return None;
        }
        let h = self.shoff.checked_add(i.checked_mul(self.shentsize)?)?;
        Some(Section {
            name: u32_at(self.data, h)?,
            kind: u32_at(self.data, h + 4)?,
            link: u32_at(self.data, h + 0x28)?,
            offset: u64_at(self.data, h + 0x18)?,
            size: u64_at(self.data, h + 0x20)?,
        })
    }

    /// The name of section `s`.
    pub fn name(&self, s: &Section) -> Option<&'a [u8]> {
        self.string(self.shstr, s.name)
    }

    /// The contents of section `s`.
    pub fn contents(&self, s: &Section) -> Option<&'a [u8]> {
        self.data.get(s.offset..s.offset.checked_add(s.size)?)
    }

    /// The contents of the first section called `name`.
    pub fn section_by_name(&self, name: &str) -> Option<&'a [u8]> {
        (0..self.shnum)
            .filter_map(|i| self.section(i))
            .find(|s| self.name(s) == Some(name.as_bytes()))
            .and_then(|s| self.contents(&s))
    }

    /// The symbols of the first symbol table (none without one).
    pub fn symbols(&self) -> impl Iterator<Item = Symbol<'a>> + '_ {
        let table = (0..self.shnum)
            .filter_map(|i| self.section(i))
            .find(|s| s.kind == SHT_SYMTAB);
        let strtab = table.and_then(|t| self.section(t.link as usize));
        let (off, count) = table.map_or((0, 0), |t| (t.offset, t.size / 24));
        (0..count).map_while(move |k| {
            let s = off.checked_add(k * 24)?;
            Some(Symbol {
                name: self.string(strtab?.offset, u32_at(self.data, s)?)?,
                shndx: u16_at(self.data, s + 6)? as usize,
                value: u64_at(self.data, s + 8)?,
            })
        })
    }

    /// The NUL-terminated string at `at` in the string table at file offset
    /// `table`.
    fn string(&self, table: usize, at: u32) -> Option<&'a [u8]> {
        let s = self.data.get(table.checked_add(at as usize)?..)?;
        Some(&s[..s.iter().position(|&b| b == 0)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_programs_object() {
        let obj = crate::session::ebpf_object();
        let elf = Elf::parse(obj).expect("an ELF64 object");
        assert!(!elf.is_empty());
        assert!(elf.section_by_name("maps").is_some());
        assert!(elf.section_by_name(".BTF").is_some());
        assert!(elf.section_by_name("no such section").is_none());
        assert!(elf.symbols().any(|s| s.name == b"LONG_NAMES"));
        assert!(Elf::parse(b"\x7fELF\x02\x01 too short").is_none());
        assert!(Elf::parse(b"not an object at all, not at all").is_none());
    }
}
