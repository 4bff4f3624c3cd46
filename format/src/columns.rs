//! Column accumulators for [`crate::EventBatchBuilder`]: plain vectors,
//! turned into Arrow arrays (without copying the values) when a batch is
//! finished.
//!
//! Arrow's own builders append through a few calls per value (the null
//! bitmap, the value buffer, the offsets, each with its own growth check),
//! and a row of the `events` schema is 55 such appends, most of them nulls.
//! Here a column that has had only nulls in the batch so far stores nothing
//! but their number, a column without a null stores no validity, and the
//! rare paths (the first value after leading nulls, the first null) are out
//! of line, so that the row's code stays small. In the pipeline bench
//! (`cargo bench -p hindsight-recorder --bench pipeline`) this took the
//! decode stage from a median of about 1 540 to 1 230 ns a row.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, ArrowPrimitiveType, BooleanArray, ListArray, PrimitiveArray, StringArray,
};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field};

/// Validity of the rows pushed so far. Nothing is stored while every row
/// is valid (most columns of most batches); the first null writes the
/// `true`s before it, and from then on each row is one `bool`.
#[derive(Debug, Default)]
struct Validity {
    valid: Vec<bool>,
    len: usize,
    nulls: usize,
}

impl Validity {
    #[inline]
    fn push(&mut self, valid: bool) {
        if valid {
            if self.nulls > 0 {
                self.valid.push(true);
            }
        } else {
            self.push_null();
        }
        self.len += 1;
    }

    #[inline]
    fn push_null(&mut self) {
        if self.nulls == 0 {
            self.first_null();
        }
        self.valid.push(false);
        self.nulls += 1;
    }

    /// Writes the `true`s of the rows before the first null.
    #[cold]
    #[inline(never)]
    fn first_null(&mut self) {
        self.valid.resize(self.len, true);
    }

    /// Starts with `n` null rows (of a column that had only nulls so far).
    #[cold]
    #[inline(never)]
    fn nulls_first(&mut self, n: usize) {
        debug_assert_eq!(self.len, 0);
        self.valid.resize(n, false);
        self.len = n;
        self.nulls = n;
    }

    /// The null buffer of the rows pushed (none when every row is valid);
    /// empty afterwards.
    fn finish(&mut self) -> Option<NullBuffer> {
        // Packed into a bitmap (a copy either way): the vector is kept for
        // the next batch.
        let nulls = (self.nulls > 0).then(|| NullBuffer::from(self.valid.as_slice()));
        self.valid.clear();
        self.len = 0;
        self.nulls = 0;
        nulls
    }
}

/// A column of primitive values (`T::Native::default()` under a null).
///
/// While only nulls were pushed, nothing is stored but their number
/// (`lead`): in a batch of `getppid` rows, the file and network columns
/// cost one increment a row.
#[derive(Debug)]
pub(crate) struct PrimCol<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    validity: Validity,
    lead: usize,
}

impl<T: ArrowPrimitiveType> PrimCol<T> {
    /// An empty column with room for `rows` rows.
    pub(crate) fn with_capacity(rows: usize) -> Self {
        PrimCol {
            values: Vec::with_capacity(rows),
            validity: Validity::default(),
            lead: 0,
        }
    }

    /// Appends a value.
    #[inline]
    pub(crate) fn push(&mut self, v: T::Native) {
        if self.lead > 0 {
            self.end_lead();
        }
        self.values.push(v);
        self.validity.push(true);
    }

    /// Writes the leading nulls, before the first value.
    #[cold]
    #[inline(never)]
    fn end_lead(&mut self) {
        self.values.resize(self.lead, T::Native::default());
        self.validity.nulls_first(std::mem::take(&mut self.lead));
    }

    /// Appends a value or a null.
    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<T::Native>) {
        match v {
            Some(v) => self.push(v),
            None if self.values.is_empty() => self.lead += 1,
            None => {
                self.values.push(T::Native::default());
                self.validity.push(false);
            }
        }
    }

    /// The rows pushed as an array; empty afterwards, with room for as
    /// many rows.
    pub(crate) fn finish(&mut self) -> PrimitiveArray<T> {
        let lead = std::mem::take(&mut self.lead);
        if lead > 0 {
            return PrimitiveArray::new_null(lead);
        }
        let rows = self.values.len();
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(rows));
        let nulls = self.validity.finish();
        PrimitiveArray::new(ScalarBuffer::from(values), nulls)
    }
}

/// A column of UTF-8 strings (leading nulls counted only, as in
/// [`PrimCol`]).
#[derive(Debug)]
pub(crate) struct StrCol {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
    validity: Validity,
    lead: usize,
}

impl StrCol {
    /// An empty column with room for `rows` rows of `bytes` bytes in all.
    pub(crate) fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        StrCol {
            offsets,
            bytes: Vec::with_capacity(bytes),
            validity: Validity::default(),
            lead: 0,
        }
    }

    /// Rows pushed.
    fn len(&self) -> usize {
        self.offsets.len() - 1 + self.lead
    }

    #[inline]
    fn end_row(&mut self, valid: bool) {
        let end = i32::try_from(self.bytes.len()).expect("under 2 GiB of strings in one batch");
        self.offsets.push(end);
        self.validity.push(valid);
    }

    /// Appends a string.
    #[inline]
    pub(crate) fn push(&mut self, s: &str) {
        if self.lead > 0 {
            self.end_lead();
        }
        self.bytes.extend_from_slice(s.as_bytes());
        self.end_row(true);
    }

    /// Writes the leading nulls, before the first value.
    #[cold]
    #[inline(never)]
    fn end_lead(&mut self) {
        self.offsets.resize(self.lead + 1, 0);
        self.validity.nulls_first(std::mem::take(&mut self.lead));
    }

    /// Appends a string or a null.
    #[inline]
    pub(crate) fn push_opt(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.push(s),
            None if self.offsets.len() == 1 => self.lead += 1,
            None => self.end_row(false),
        }
    }

    /// The rows pushed as an array; empty afterwards, with room for as
    /// many rows and string bytes.
    pub(crate) fn finish(&mut self) -> StringArray {
        let lead = std::mem::take(&mut self.lead);
        if lead > 0 {
            return StringArray::new_null(lead);
        }
        let (rows, len) = (self.len(), self.bytes.len());
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        let offsets = std::mem::replace(&mut self.offsets, offsets);
        let bytes = std::mem::replace(&mut self.bytes, Vec::with_capacity(len));
        let nulls = self.validity.finish();
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        debug_assert!(nulls.as_ref().is_none_or(|n| n.len() == offsets.len() - 1));
        // SAFETY: `bytes` is a concatenation of `&str`s (valid UTF-8), and
        // each offset is the length of `bytes` after a whole string was
        // appended, so every offset is a char boundary within `bytes` (and
        // `OffsetBuffer::new` checked that they do not decrease). Offsets and
        // validity are pushed in step (`end_row`, `end_lead`), so the null
        // buffer has one bit per row. The
        // checked constructor would validate the UTF-8 of every byte once
        // more: with argv-heavy rows (`xargs stat`, 1.4 KiB a row) that
        // pass cost more than all the pushes saved.
        unsafe { StringArray::new_unchecked(offsets, Buffer::from_vec(bytes), nulls) }
    }
}

/// A column of booleans (leading nulls counted only, as in [`PrimCol`]).
#[derive(Debug)]
pub(crate) struct BoolCol {
    values: Vec<bool>,
    validity: Validity,
    lead: usize,
}

impl BoolCol {
    /// An empty column with room for `rows` rows.
    pub(crate) fn with_capacity(rows: usize) -> Self {
        BoolCol {
            values: Vec::with_capacity(rows),
            validity: Validity::default(),
            lead: 0,
        }
    }

    /// Appends a value or a null (false under it).
    #[inline]
    pub(crate) fn push_opt(&mut self, v: Option<bool>) {
        match v {
            None if self.values.is_empty() => self.lead += 1,
            v => {
                if self.lead > 0 {
                    self.end_lead();
                }
                self.values.push(v.unwrap_or(false));
                self.validity.push(v.is_some());
            }
        }
    }

    /// Writes the leading nulls, before the first value.
    #[cold]
    #[inline(never)]
    fn end_lead(&mut self) {
        self.values.resize(self.lead, false);
        self.validity.nulls_first(std::mem::take(&mut self.lead));
    }

    /// The rows pushed as an array; empty afterwards, with room for as
    /// many rows.
    pub(crate) fn finish(&mut self) -> BooleanArray {
        let lead = std::mem::take(&mut self.lead);
        if lead > 0 {
            return BooleanArray::new_null(lead);
        }
        let values = BooleanBuffer::from(self.values.as_slice());
        self.values.clear();
        let nulls = self.validity.finish();
        BooleanArray::new(values, nulls)
    }
}

/// A column of lists of strings (`process_args`).
#[derive(Debug)]
pub(crate) struct StrListCol {
    offsets: Vec<i32>,
    items: StrCol,
    validity: Validity,
    item_field: Arc<Field>,
}

impl StrListCol {
    /// An empty column with room for `rows` rows; `data_type` is the
    /// schema's `List(Utf8)` type (its item field is reused).
    pub(crate) fn with_capacity(rows: usize, data_type: &DataType) -> Self {
        let DataType::List(item_field) = data_type else {
            panic!("StrListCol of a {data_type} column");
        };
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        StrListCol {
            offsets,
            items: StrCol::with_capacity(rows, rows * 8),
            validity: Validity::default(),
            item_field: item_field.clone(),
        }
    }

    /// Appends a list or a null.
    #[inline]
    pub(crate) fn push_opt(&mut self, list: Option<&[String]>) {
        if let Some(list) = list {
            for s in list {
                self.items.push(s);
            }
        }
        let end = i32::try_from(self.items.len()).expect("under 2^31 list items in one batch");
        self.offsets.push(end);
        self.validity.push(list.is_some());
    }

    /// The rows pushed as an array; empty afterwards, with room for as
    /// many rows and items.
    pub(crate) fn finish(&mut self) -> ListArray {
        let rows = self.offsets.len() - 1;
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        let offsets = std::mem::replace(&mut self.offsets, offsets);
        let items: ArrayRef = Arc::new(self.items.finish());
        let nulls = self.validity.finish();
        ListArray::new(
            self.item_field.clone(),
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            items,
            nulls,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Array, BooleanBuilder, Int64Builder, ListBuilder, StringBuilder, UInt16Builder,
    };
    use arrow::datatypes::{Int64Type, UInt16Type};

    /// Which rows of a pattern are null (`false`): leading nulls, nulls
    /// after values, none, all.
    const PATTERNS: [&[bool]; 6] = [
        &[true, false, true, false],
        &[false, false, true, false, true],
        &[true, true, true],
        &[false, false],
        &[false],
        &[],
    ];

    /// Each column type builds the same array as Arrow's builder from the
    /// same pushes, for every pattern, twice in a row (the second time after
    /// `finish`, as the next batch).
    #[test]
    fn columns_equal_arrow_builders() {
        let args = ["ls".to_string(), "-l".to_string(), "é".to_string()];
        let ty = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        let mut p = PrimCol::<Int64Type>::with_capacity(1);
        let mut s = StrCol::with_capacity(2, 1);
        let mut c = BoolCol::with_capacity(0);
        let mut l = StrListCol::with_capacity(1, &ty);
        for pattern in PATTERNS.iter().chain(PATTERNS.iter().rev()) {
            let mut pb = Int64Builder::new();
            let mut sb = StringBuilder::new();
            let mut cb = BooleanBuilder::new();
            let mut lb = ListBuilder::new(StringBuilder::new());
            for (i, &present) in pattern.iter().enumerate() {
                let int = present.then_some(i as i64 - 2);
                p.push_opt(int);
                pb.append_option(int);
                let text = present.then(|| ["", "日本語", "/etc/shadow"][i % 3]);
                s.push_opt(text);
                sb.append_option(text);
                let flag = present.then_some(i % 2 == 0);
                c.push_opt(flag);
                cb.append_option(flag);
                let list = present.then(|| &args[i % 4..]);
                l.push_opt(list.map(|v| v as &[String]));
                match list {
                    Some(items) => {
                        for item in items {
                            lb.values().append_value(item);
                        }
                        lb.append(true);
                    }
                    None => lb.append(false),
                }
            }
            assert_eq!(p.finish(), pb.finish(), "{pattern:?}");
            let strings = s.finish();
            strings.to_data().validate_full().expect("valid strings");
            assert_eq!(strings, sb.finish(), "{pattern:?}");
            assert_eq!(c.finish(), cb.finish(), "{pattern:?}");
            let lists = l.finish();
            lists.to_data().validate_full().expect("valid lists");
            assert_eq!(lists, lb.finish(), "{pattern:?}");
        }
        let mut p = PrimCol::<UInt16Type>::with_capacity(0);
        let mut pb = UInt16Builder::new();
        for v in [1u16, 2, 3] {
            p.push(v);
            pb.append_value(v);
        }
        let (a, b) = (p.finish(), pb.finish());
        assert_eq!(a, b);
        assert!(a.nulls().is_none());
    }

    /// A column without a null has no null buffer, and one of only nulls
    /// has one with every row unset.
    #[test]
    fn null_buffers_only_where_there_are_nulls() {
        let mut s = StrCol::with_capacity(0, 0);
        s.push("x");
        assert!(s.finish().nulls().is_none());
        s.push_opt(None);
        s.push_opt(None);
        let a = s.finish();
        assert_eq!(a.len(), 2);
        assert_eq!(a.null_count(), 2);
    }
}
