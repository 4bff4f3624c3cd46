//! Source locations: from a byte offset inside a condition text back to the
//! file, line and column where the user wrote it, for error messages.
//!
//! A condition text is made of one or more segments, each the value of one
//! YAML scalar (an appended macro condition has two). YAML folding changes
//! whitespace and removes quotes, so offsets are mapped by aligning the
//! scalar's value with its raw text in the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ast::SrcId;

/// One loaded rules file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as given by the user.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
}

/// Where a piece of condition text came from.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Offset of the segment in the condition text.
    pub text_start: usize,
    /// Length of the segment in the condition text.
    pub text_len: usize,
    /// Index of the file in [`SourceMap::files`].
    pub file: usize,
    /// Byte range of the YAML scalar in the file.
    pub raw_start: usize,
    /// Byte length of the YAML scalar in the file.
    pub raw_len: usize,
    /// 1-based line of the scalar (used when the byte range is unknown).
    pub line: usize,
    /// 1-based column of the scalar.
    pub col: usize,
}

/// A condition text that was parsed, with its origin.
#[derive(Debug, Clone)]
pub struct CondSource {
    /// The text given to the parser.
    pub text: String,
    /// Where its parts came from.
    pub segments: Vec<Segment>,
    /// What it is, for messages: `rule 'Foo'`, `macro 'bar'`.
    pub owner: String,
}

/// A resolved location in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// The text of that line.
    pub line_text: String,
}

/// All files and condition texts of one rule set.
#[derive(Debug, Default)]
pub struct SourceMap {
    /// Loaded files, in load order.
    pub files: Vec<Arc<SourceFile>>,
    /// Parsed condition texts; an [`SrcId`] indexes this.
    pub conds: Vec<CondSource>,
}

impl SourceMap {
    /// Registers a file and returns its index.
    pub fn add_file(&mut self, path: &Path, text: String) -> usize {
        self.files.push(Arc::new(SourceFile {
            path: path.to_path_buf(),
            text,
        }));
        self.files.len() - 1
    }

    /// Registers a condition text and returns its id.
    pub fn add_cond(&mut self, cond: CondSource) -> SrcId {
        self.conds.push(cond);
        (self.conds.len() - 1) as SrcId
    }

    /// The location of a byte offset of condition `src`.
    pub fn locate(&self, src: SrcId, offset: usize) -> Option<Location> {
        let cond = self.conds.get(src as usize)?;
        let seg = cond
            .segments
            .iter()
            .rev()
            .find(|s| s.text_start <= offset)
            .or(cond.segments.first())?;
        let file = &self.files[seg.file];
        let value = cond
            .text
            .get(seg.text_start..seg.text_start + seg.text_len)
            .unwrap_or("");
        let rel = offset.saturating_sub(seg.text_start).min(value.len());
        let byte = match file.text.get(seg.raw_start..seg.raw_start + seg.raw_len) {
            Some(raw) if seg.raw_len > 0 => seg.raw_start + align(value, raw, rel),
            _ => line_col_to_byte(&file.text, seg.line, seg.col),
        };
        Some(byte_to_location(file, byte))
    }

    /// The location of a YAML item (line and column given by the YAML parser).
    pub fn item_location(&self, file: usize, line: usize, col: usize) -> Location {
        let f = &self.files[file];
        byte_to_location(f, line_col_to_byte(&f.text, line, col))
    }
}

/// Maps offset `rel` of `value` to an offset of `raw`, the scalar's source.
fn align(value: &str, raw: &str, rel: usize) -> usize {
    let v = value.as_bytes();
    let r = raw.as_bytes();
    // Skip a block scalar header (`>`, `|-`, ...) and its line break.
    let mut j = 0;
    if matches!(r.first(), Some(b'>' | b'|')) {
        while j < r.len() && r[j] != b'\n' {
            j += 1;
        }
    }
    let mut i = 0;
    while i < rel && j < r.len() {
        while j < r.len() && r[j] != v[i] && !(is_ws(v[i]) && is_ws(r[j])) {
            j += 1;
        }
        if j >= r.len() {
            break;
        }
        if is_ws(v[i]) && is_ws(r[j]) && r[j] != v[i] {
            // Folded line break: consume the break and the indentation.
            while j < r.len() && is_ws(r[j]) {
                j += 1;
            }
        } else {
            j += 1;
        }
        i += 1;
    }
    // Land on the character itself, not on skipped indentation before it.
    if i < v.len() && !is_ws(v[i]) {
        while j < r.len() && r[j] != v[i] {
            j += 1;
        }
    }
    j.min(r.len())
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\n' | b'\t' | b'\r')
}

fn line_col_to_byte(text: &str, line: usize, col: usize) -> usize {
    let mut off = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let c = l
                .char_indices()
                .nth(col.saturating_sub(1))
                .map_or(l.len(), |(b, _)| b);
            return off + c;
        }
        off += l.len();
    }
    text.len()
}

fn byte_to_location(file: &SourceFile, byte: usize) -> Location {
    let byte = byte.min(file.text.len());
    let before = &file.text[..byte];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let col = file.text[line_start..byte].chars().count() + 1;
    let line_text = file.text[line_start..]
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    Location {
        path: file.path.clone(),
        line,
        col,
        line_text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_folded() {
        let raw = ">\n    a and\n    bb\n";
        let value = "a and bb\n";
        assert_eq!(&raw[align(value, raw, 0)..][..1], "a");
        assert_eq!(&raw[align(value, raw, 6)..][..2], "bb");
        let raw = "\"x = 'y'\"";
        assert_eq!(&raw[align("x = 'y'", raw, 4)..][..1], "'");
    }
}
