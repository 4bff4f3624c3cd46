//! A small reader for the kernel's BTF (`/sys/kernel/btf/vmlinux`, or the
//! `.BTF` section of a `vmlinux` ELF): enough to find struct members and
//! their byte offsets, following anonymous structs and unions.
//!
//! aya parses BTF too, but does not expose type lookup; the recorder needs
//! only this much, and owning it lets us test it against other kernels' BTF.

use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Errors while reading BTF or looking up members.
#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    /// The file could not be read.
    #[error("cannot read BTF from {path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The data is not valid BTF.
    #[error("invalid BTF in {path}: {reason}")]
    Invalid {
        /// File.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A struct the recorder needs is missing.
    #[error("kernel BTF has no struct `{0}`")]
    NoStruct(String),
    /// A member the recorder needs is missing.
    #[error("kernel BTF: struct `{strukt}` has no member `{member}`")]
    NoMember {
        /// Struct name.
        strukt: String,
        /// Member path.
        member: String,
    },
}

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// One struct/union member.
#[derive(Debug, Clone)]
struct Member {
    name: u32,
    type_id: u32,
    /// Offset in bits.
    bit_offset: u32,
}

/// One BTF type (only what member lookup needs).
#[derive(Debug, Clone)]
struct Type {
    kind: u32,
    name: u32,
    /// Referenced type (ptr, typedef, modifiers, array element).
    type_ref: u32,
    /// Number of members, enumerators or parameters.
    vlen: u32,
    members: Vec<Member>,
}

/// Parsed BTF: types by id, plus an index of named structs.
#[derive(Debug)]
pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
    structs: HashMap<String, u32>,
    /// Names of functions (one look-up each, not a scan of all types).
    funcs: HashSet<String>,
    /// `btf_trace_<tracepoint>` typedefs by tracepoint name.
    tracepoints: HashMap<String, u32>,
}

fn u32_at(data: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(off..off + 4)?.try_into().ok()?))
}

impl Btf {
    /// Reads the running kernel's BTF.
    pub fn from_sys_fs() -> Result<Btf, BtfError> {
        Btf::from_file(Path::new("/sys/kernel/btf/vmlinux"))
    }

    /// Reads raw BTF, or the `.BTF` section of an ELF file.
    pub fn from_file(path: &Path) -> Result<Btf, BtfError> {
        let data = std::fs::read(path).map_err(|source| BtfError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path.display().to_string();
        if data.starts_with(b"\x7fELF") {
            let section = crate::elf::Elf::parse(&data)
                .and_then(|elf| elf.section_by_name(".BTF"))
                .ok_or_else(|| BtfError::Invalid {
                    path: name.clone(),
                    reason: "ELF file without a .BTF section".into(),
                })?;
            Btf::parse(section, &name)
        } else {
            Btf::parse(&data, &name)
        }
    }

    /// Parses little-endian raw BTF; `name` is used in errors.
    pub fn parse(data: &[u8], name: &str) -> Result<Btf, BtfError> {
        let bad = |reason: &str| BtfError::Invalid {
            path: name.to_string(),
            reason: reason.to_string(),
        };
        if data.len() < 24 || data[0..2] != [0x9f, 0xeb] {
            return Err(bad("no little-endian BTF magic 0xeb9f"));
        }
        let hdr_len = u32_at(data, 4).ok_or_else(|| bad("short header"))? as usize;
        let type_off = u32_at(data, 8).ok_or_else(|| bad("short header"))? as usize;
        let type_len = u32_at(data, 12).ok_or_else(|| bad("short header"))? as usize;
        let str_off = u32_at(data, 16).ok_or_else(|| bad("short header"))? as usize;
        let str_len = u32_at(data, 20).ok_or_else(|| bad("short header"))? as usize;
        let types_data = data
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or_else(|| bad("type section out of bounds"))?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or_else(|| bad("string section out of bounds"))?
            .to_vec();
        // Type id 0 is void.
        let mut types = vec![Type {
            kind: 0,
            name: 0,
            type_ref: 0,
            vlen: 0,
            members: Vec::new(),
        }];
        let mut pos = 0usize;
        while pos < types_data.len() {
            let rd = |o: usize| u32_at(types_data, pos + o).ok_or_else(|| bad("truncated type"));
            let name_off = rd(0)?;
            let info = rd(4)?;
            let size_or_type = rd(8)?;
            let kind = (info >> 24) & 0x1f;
            let vlen = (info & 0xffff) as usize;
            let kind_flag = info >> 31 == 1;
            pos += 12;
            let mut ty = Type {
                kind,
                name: name_off,
                type_ref: size_or_type,
                vlen: vlen as u32,
                members: Vec::new(),
            };
            match kind {
                KIND_INT => pos += 4,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => {}
                KIND_ARRAY => {
                    ty.type_ref = u32_at(types_data, pos).ok_or_else(|| bad("truncated array"))?;
                    pos += 12;
                }
                KIND_STRUCT | KIND_UNION => {
                    for i in 0..vlen {
                        let m = pos + i * 12;
                        let mname = u32_at(types_data, m).ok_or_else(|| bad("truncated member"))?;
                        let mtype =
                            u32_at(types_data, m + 4).ok_or_else(|| bad("truncated member"))?;
                        let moff =
                            u32_at(types_data, m + 8).ok_or_else(|| bad("truncated member"))?;
                        let bit_offset = if kind_flag { moff & 0x00ff_ffff } else { moff };
                        ty.members.push(Member {
                            name: mname,
                            type_id: mtype,
                            bit_offset,
                        });
                    }
                    pos += 12 * vlen;
                }
                KIND_ENUM => pos += 8 * vlen,
                KIND_FUNC_PROTO => pos += 8 * vlen,
                KIND_VAR => pos += 4,
                KIND_DATASEC => pos += 12 * vlen,
                KIND_DECL_TAG => pos += 4,
                KIND_ENUM64 => pos += 12 * vlen,
                other => return Err(bad(&format!("unknown BTF kind {other}"))),
            }
            types.push(ty);
        }
        let mut btf = Btf {
            types,
            strings,
            structs: HashMap::new(),
            funcs: HashSet::new(),
            tracepoints: HashMap::new(),
        };
        let (mut structs, mut funcs, mut tracepoints) =
            (HashMap::new(), HashSet::new(), HashMap::new());
        for (id, ty) in btf.types.iter().enumerate() {
            if ty.name == 0 {
                continue;
            }
            let name = btf.str_at(ty.name);
            match ty.kind {
                KIND_STRUCT if !ty.members.is_empty() => {
                    structs.entry(name.to_string()).or_insert(id as u32);
                }
                KIND_FUNC => {
                    funcs.insert(name.to_string());
                }
                KIND_TYPEDEF => {
                    if let Some(tp) = name.strip_prefix("btf_trace_") {
                        tracepoints.insert(tp.to_string(), id as u32);
                    }
                }
                _ => {}
            }
        }
        (btf.structs, btf.funcs, btf.tracepoints) = (structs, funcs, tracepoints);
        Ok(btf)
    }

    fn str_at(&self, off: u32) -> &str {
        let start = off as usize;
        let bytes = self.strings.get(start..).unwrap_or(&[]);
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        std::str::from_utf8(&bytes[..end]).unwrap_or("")
    }

    /// Strips typedefs and modifiers.
    fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.types.get(id as usize) {
                Some(t)
                    if matches!(
                        t.kind,
                        KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
                    ) =>
                {
                    id = t.type_ref
                }
                _ => break,
            }
        }
        id
    }

    /// Whether the kernel has a function of this name (e.g. a BPF helper's
    /// implementation, which says the running kernel has the helper).
    pub fn has_func(&self, name: &str) -> bool {
        self.funcs.contains(name)
    }

    /// The number of arguments a raw tracepoint program of `tracepoint`
    /// gets (`ctx.arg(0..n)`), from the kernel's `btf_trace_<tracepoint>`
    /// typedef (a pointer to a prototype whose first parameter is the
    /// tracepoint's own `void *`); `None` when the kernel has no such
    /// tracepoint. Arguments change across releases: `kmem_cache_free`
    /// gained its third (the cache) in Linux 5.12.
    pub fn tracepoint_args(&self, tracepoint: &str) -> Option<u32> {
        let typedef = self
            .types
            .get(*self.tracepoints.get(tracepoint)? as usize)?;
        let ptr = self.types.get(typedef.type_ref as usize)?;
        if ptr.kind != KIND_PTR {
            return None;
        }
        let proto = self.types.get(ptr.type_ref as usize)?;
        if proto.kind != KIND_FUNC_PROTO {
            return None;
        }
        proto.vlen.checked_sub(1)
    }

    /// Whether the kernel has a struct of this name.
    pub fn has_struct(&self, name: &str) -> bool {
        self.structs.contains_key(name)
    }

    /// Size in bytes of `struct name`.
    pub fn struct_size(&self, name: &str) -> Result<u32, BtfError> {
        let id = *self
            .structs
            .get(name)
            .ok_or_else(|| BtfError::NoStruct(name.to_string()))?;
        self.types
            .get(id as usize)
            .map(|t| t.type_ref)
            .ok_or_else(|| BtfError::NoStruct(name.to_string()))
    }

    /// Bit offset of member `name` in composite type `id`, searching
    /// anonymous members; returns the member's type too.
    fn find_member(&self, id: u32, name: &str) -> Option<(u32, u32)> {
        let ty = self.types.get(self.resolve(id) as usize)?;
        if !matches!(ty.kind, KIND_STRUCT | KIND_UNION) {
            return None;
        }
        for m in &ty.members {
            if m.name != 0 && self.str_at(m.name) == name {
                return Some((m.bit_offset, m.type_id));
            }
        }
        for m in &ty.members {
            if m.name == 0
                && let Some((off, t)) = self.find_member(m.type_id, name)
            {
                return Some((m.bit_offset + off, t));
            }
        }
        None
    }

    /// Byte offset of `member` in `struct strukt`; `member` may be a dotted
    /// path through embedded structs (`d_name.name`).
    pub fn member_offset(&self, strukt: &str, member: &str) -> Result<u32, BtfError> {
        let mut id = *self
            .structs
            .get(strukt)
            .ok_or_else(|| BtfError::NoStruct(strukt.to_string()))?;
        let mut bits = 0u32;
        for part in member.split('.') {
            let (off, t) = self
                .find_member(id, part)
                .ok_or_else(|| BtfError::NoMember {
                    strukt: strukt.to_string(),
                    member: member.to_string(),
                })?;
            bits += off;
            id = t;
        }
        Ok(bits / 8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_with_file_name() {
        let err = Btf::parse(b"not btf at all, clearly", "x.btf").unwrap_err();
        assert!(err.to_string().contains("x.btf"), "{err}");
    }

    #[test]
    fn running_kernel_offsets_match_bpftool_free_facts() {
        let Ok(btf) = Btf::from_sys_fs() else {
            eprintln!("skipped: /sys/kernel/btf/vmlinux not readable");
            return;
        };
        // `struct path { struct vfsmount *mnt; struct dentry *dentry; }` has
        // been stable since 2.6: a sanity anchor for the reader.
        assert_eq!(btf.member_offset("path", "mnt").unwrap(), 0);
        assert_eq!(btf.member_offset("path", "dentry").unwrap(), 8);
        // qstr.name follows the 8-byte hash_len union.
        assert_eq!(btf.member_offset("qstr", "name").unwrap(), 8);
        assert!(btf.member_offset("task_struct", "no_such_member").is_err());
        // The helpers the recorder needs (5.8) and prefers (5.19), and a name
        // that is no function.
        assert!(btf.has_func("bpf_ringbuf_output"));
        assert!(btf.has_func("bpf_ringbuf_reserve_dynptr"));
        assert!(!btf.has_func("task_struct"));
        assert!(!btf.has_func("no_such_function"));
        // sys_enter(regs, id), sched_switch(preempt, prev, next[, state]),
        // kmem_cache_free(call_site, ptr, s) on the 6.x kernels tested.
        assert_eq!(btf.tracepoint_args("sys_enter"), Some(2));
        assert!(btf.tracepoint_args("sched_switch").unwrap() >= 3);
        assert_eq!(btf.tracepoint_args("kmem_cache_free"), Some(3));
        assert_eq!(btf.tracepoint_args("no_such_tracepoint"), None);
    }
}
