//! [`GroupOnCodes`]: `GROUP BY` on the name columns groups small integer
//! codes, not strings.
//!
//! The name columns of `events` (`user_name`, `syscall`, `event_kind`,
//! `process_executable`, ...) have few distinct values and are stored with
//! Parquet dictionary pages; the scan decodes them into string views, and
//! every row of a batch that holds the same dictionary entry gets the very
//! same 16-byte view. DataFusion's hash aggregation hashes each row's value
//! and probes its table with it, row by row, where DuckDB groups on the
//! dictionary codes (*events per user* took twice DuckDB's time).
//!
//! This physical optimizer rule replaces a partial `AggregateExec` whose
//! keys are plain name columns and whose aggregates have a groups accumulator
//! (`count`, `min`, `max`, `sum`, ...; no `DISTINCT`, no `ORDER BY`) with a
//! [`CodeGroupExec`]. It gives each distinct value of a key a code: a row
//! whose view was already seen in its batch gets that view's code without
//! looking at the string (a small table of the batch's views); only a
//! batch's first sight of a value looks the string up. A single key's code
//! is the group; two keys' codes index a flat table of groups, more keys'
//! a hash map. Integer keys and other strings (paths, addresses: too many
//! values, and `count(DISTINCT pid)`'s inner grouping, which barely
//! reduces) are left to DataFusion. The aggregates are DataFusion's own groups accumulators, fed with the
//! group of each row, and the output is the partial aggregate's (same
//! schema, same states), so the final aggregate above is unchanged.
//! `EXPLAIN` shows `CodeGroupExec`.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringViewArray, StringViewBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::aggregate::AggregateFunctionExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{EquivalenceProperties, Partitioning};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, InputOrderMode,
    PlanProperties,
};
use futures::{Stream, StreamExt};
use hindsight_format::schema::ColumnType;

/// The physical optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct GroupOnCodes;

impl PhysicalOptimizerRule for GroupOnCodes {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(agg) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            match CodeGroupExec::try_from_aggregate(agg)? {
                Some(exec) => Ok(Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>)),
                None => Ok(Transformed::no(node)),
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "GroupOnCodes"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A quick hash for packed codes (the standard SipHash costs
/// more than everything else these maps do).
#[derive(Debug, Default, Clone, Copy)]
struct QuickHasher(u64);

impl std::hash::Hasher for QuickHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        let h = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 32);
    }

    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }

    fn write_i128(&mut self, v: i128) {
        self.write_u128(v as u128);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type QuickMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<QuickHasher>>;

/// How one key column is coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    /// `Utf8View`: codes through the batch's views.
    View,
}

/// Whether `name` is one of the dictionary-encoded name columns of `events`.
fn is_name_column(name: &str) -> bool {
    hindsight_format::COLUMNS
        .iter()
        .any(|c| c.name == name && matches!(c.ty, ColumnType::Utf8Dict))
}

/// A partial aggregate computed on codes of its keys (see the module
/// documentation).
#[derive(Debug)]
pub struct CodeGroupExec {
    input: Arc<dyn ExecutionPlan>,
    /// Input column index and kind of each key.
    keys: Vec<(usize, KeyKind)>,
    aggr_expr: Vec<Arc<AggregateFunctionExpr>>,
    filter_expr: Vec<Option<Arc<dyn PhysicalExpr>>>,
    /// The partial aggregate's output schema.
    schema: SchemaRef,
    /// What `EXPLAIN` shows for the keys and the aggregates.
    display: String,
    properties: Arc<PlanProperties>,
}

impl CodeGroupExec {
    /// The replacement of `agg`, when it has the shape this operator handles.
    pub fn try_from_aggregate(agg: &AggregateExec) -> Result<Option<Self>> {
        if *agg.mode() != AggregateMode::Partial
            || !agg.group_expr().is_single()
            || agg.group_expr().is_empty()
            || agg.limit_options().is_some()
            || *agg.input_order_mode() != InputOrderMode::Linear
        {
            return Ok(None);
        }
        let input_schema = agg.input().schema();
        let mut keys = Vec::new();
        let mut has_name = false;
        for (expr, _) in agg.group_expr().expr() {
            let Some(col) = expr.downcast_ref::<Column>() else {
                return Ok(None);
            };
            let field = input_schema.field(col.index());
            let kind = match field.data_type() {
                // Other strings (paths, addresses) have too many values for
                // a batch's views to repeat.
                DataType::Utf8View if is_name_column(field.name()) => {
                    has_name = true;
                    KeyKind::View
                }
                _ => return Ok(None),
            };
            keys.push((col.index(), kind));
        }
        if !has_name || keys.len() > 4 {
            return Ok(None);
        }
        for a in agg.aggr_expr() {
            if a.is_distinct() || !a.order_bys().is_empty() || !a.groups_accumulator_supported() {
                return Ok(None);
            }
        }
        let display = format!(
            "gby=[{}], aggr=[{}]",
            agg.group_expr()
                .expr()
                .iter()
                .map(|(e, name)| format!("{e} as {name}"))
                .collect::<Vec<_>>()
                .join(", "),
            agg.aggr_expr()
                .iter()
                .map(|a| a.name().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let schema = agg.schema();
        let partitions = agg.input().output_partitioning().partition_count();
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Ok(Some(Self {
            input: Arc::clone(agg.input()),
            keys,
            aggr_expr: agg.aggr_expr().to_vec(),
            filter_expr: agg.filter_expr().to_vec(),
            schema,
            display,
            properties,
        }))
    }
}

impl DisplayAs for CodeGroupExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match t {
            DisplayFormatType::TreeRender => write!(f, ""),
            _ => write!(f, "CodeGroupExec: mode=Partial, {}", self.display),
        }
    }
}

impl ExecutionPlan for CodeGroupExec {
    fn name(&self) -> &str {
        "CodeGroupExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        let mut tnr = TreeNodeRecursion::Continue;
        for a in &self.aggr_expr {
            for e in a.expressions() {
                tnr = tnr.visit_sibling(|| f(&e))?;
            }
        }
        for e in self.filter_expr.iter().flatten() {
            tnr = tnr.visit_sibling(|| f(e))?;
        }
        Ok(tnr)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.swap_remove(0);
        let partitions = input.output_partitioning().partition_count();
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&self.schema)),
            Partitioning::UnknownPartitioning(partitions),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Ok(Arc::new(Self {
            input,
            keys: self.keys.clone(),
            aggr_expr: self.aggr_expr.clone(),
            filter_expr: self.filter_expr.clone(),
            schema: Arc::clone(&self.schema),
            display: self.display.clone(),
            properties,
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let accumulators = self
            .aggr_expr
            .iter()
            .map(|a| a.create_groups_accumulator())
            .collect::<Result<Vec<_>>>()?;
        let state = GroupState {
            keys: self
                .keys
                .iter()
                .map(|&(i, k)| KeyCodes::new(i, k))
                .collect(),
            groups: QuickMap::default(),
            dense: Vec::new(),
            group_keys: Vec::new(),
            last: None,
            accumulators,
            aggr_expr: self.aggr_expr.clone(),
            filter_expr: self.filter_expr.clone(),
            schema: Arc::clone(&self.schema),
            codes: Vec::new(),
            group_of_row: Vec::new(),
            rows_seen: false,
        };
        Ok(Box::pin(CodeGroupStream {
            input: Some(self.input.execute(partition, context)?),
            state,
            schema: Arc::clone(&self.schema),
        }))
    }
}

/// Codes of one key column, stable for one partition's stream. Code 0 is
/// NULL.
#[derive(Debug)]
struct KeyCodes {
    column: usize,
    kind: KeyKind,
    /// String of each code (index 0 unused).
    strings: Vec<Box<str>>,
    by_string: HashMap<Box<str>, u32>,
    /// The batch's views seen so far and their codes: open addressing,
    /// code 0 = empty slot.
    seen_views: Vec<u128>,
    seen_codes: Vec<u32>,
    seen_used: Vec<usize>,
    /// Whether a NULL key was seen (code 0 in use).
    null_seen: bool,
}

/// Slots of a batch's view table (a power of two).
const SEEN_SLOTS: usize = 1024;

impl KeyCodes {
    fn new(column: usize, kind: KeyKind) -> Self {
        Self {
            column,
            kind,
            strings: vec!["".into()],
            by_string: HashMap::new(),
            seen_views: vec![0; SEEN_SLOTS],
            seen_codes: vec![0; SEEN_SLOTS],
            seen_used: Vec::new(),
            null_seen: false,
        }
    }

    fn string_code(&mut self, s: &str) -> u32 {
        if let Some(&c) = self.by_string.get(s) {
            return c;
        }
        let c = self.strings.len() as u32;
        self.strings.push(s.into());
        self.by_string.insert(s.into(), c);
        c
    }

    /// Writes the code of every row of `array` into `out`.
    fn code(&mut self, array: &ArrayRef, out: &mut Vec<u32>) -> Result<()> {
        out.clear();
        match self.kind {
            KeyKind::View => self.code_views(array.as_string_view(), out),
        }
        Ok(())
    }

    fn code_views(&mut self, array: &StringViewArray, out: &mut Vec<u32>) {
        for &slot in &self.seen_used {
            self.seen_codes[slot] = 0;
        }
        self.seen_used.clear();
        let views = array.views();
        out.resize(views.len(), 0);
        let mut i = 0;
        while i < views.len() {
            // The loop over rows runs on local slices (the table's lookups
            // stay in registers); it leaves at a view not yet in the batch's
            // table, which `first_sight` codes and enters.
            i += code_known_views(
                &views[i..],
                &self.seen_views,
                &self.seen_codes,
                &mut out[i..],
            );
            if i < views.len() {
                let slot = free_slot(views[i], &self.seen_views, &self.seen_codes);
                out[i] = self.first_sight(array, i, views[i], slot);
                i += 1;
            }
        }
        if let Some(nulls) = array.nulls().filter(|n| n.null_count() > 0) {
            self.null_seen = true;
            // NULL rows get code 0, run by run (not a bit test a row).
            let mut next = 0;
            for (start, end) in nulls.valid_slices() {
                out[next..start].fill(0);
                next = end;
            }
            out[next..].fill(0);
        }
    }

    /// The code of row `i`, whose view is not in the batch's table yet
    /// (`slot` is free); NULL rows get 0 and are not kept.
    #[cold]
    #[inline(never)]
    fn first_sight(&mut self, array: &StringViewArray, i: usize, view: u128, slot: usize) -> u32 {
        if array.is_null(i) {
            return 0;
        }
        // SAFETY: i < len.
        let s = unsafe { array.value_unchecked(i) };
        let c = self.string_code(s);
        if self.seen_used.len() < SEEN_SLOTS / 2 {
            self.seen_views[slot] = view;
            self.seen_codes[slot] = c;
            self.seen_used.push(slot);
        }
        c
    }

    /// The output column of this key for the groups' codes.
    fn output(&self, codes: impl Iterator<Item = u32>) -> Result<ArrayRef> {
        match self.kind {
            KeyKind::View => {
                let mut b = StringViewBuilder::new();
                for c in codes {
                    if c == 0 {
                        b.append_null();
                    } else {
                        b.append_value(&self.strings[c as usize]);
                    }
                }
                Ok(Arc::new(b.finish()))
            }
        }
    }
}

/// The first slot of `view` in a batch's table (see [`KeyCodes`]).
#[inline(always)]
fn view_slot(view: u128) -> usize {
    let h = ((view as u64) ^ ((view >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 54) as usize & (SEEN_SLOTS - 1)
}

/// Writes the codes of the leading rows of `views` whose view is in the
/// batch's table into `out`; returns how many (it stops at the first view
/// not in the table).
fn code_known_views(
    views: &[u128],
    seen_views: &[u128],
    seen_codes: &[u32],
    out: &mut [u32],
) -> usize {
    let (seen_views, seen_codes) = (&seen_views[..SEEN_SLOTS], &seen_codes[..SEEN_SLOTS]);
    for (i, (&view, o)) in views.iter().zip(out.iter_mut()).enumerate() {
        // Views of a batch point into its buffers: equal views are the
        // same bytes (for longer strings the same place of the same
        // buffer), so a view's code holds for the whole batch.
        let mut slot = view_slot(view);
        loop {
            let c = seen_codes[slot];
            if c == 0 {
                return i;
            }
            if seen_views[slot] == view {
                *o = c;
                break;
            }
            slot = (slot + 1) & (SEEN_SLOTS - 1);
        }
    }
    views.len()
}

/// The free slot where `view` (not in the batch's table) goes.
fn free_slot(view: u128, seen_views: &[u128], seen_codes: &[u32]) -> usize {
    let mut slot = view_slot(view);
    while seen_codes[slot] != 0 && seen_views[slot] != view {
        slot = (slot + 1) & (SEEN_SLOTS - 1);
    }
    slot
}

/// Codes per key below which two keys' groups sit in a flat table.
const DENSE_CODES: usize = 256;

/// One partition's groups and accumulators.
struct GroupState {
    keys: Vec<KeyCodes>,
    /// Codes of several keys (packed, 32 bits each) to group index.
    groups: QuickMap<u128, usize>,
    /// Group of two small codes (`a * DENSE_CODES + b`; `u32::MAX`: none yet).
    dense: Vec<u32>,
    /// Packed codes of each group (several keys only).
    group_keys: Vec<u128>,
    last: Option<(u128, usize)>,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    aggr_expr: Vec<Arc<AggregateFunctionExpr>>,
    filter_expr: Vec<Option<Arc<dyn PhysicalExpr>>>,
    schema: SchemaRef,
    codes: Vec<Vec<u32>>,
    group_of_row: Vec<usize>,
    rows_seen: bool,
}

impl GroupState {
    fn num_groups(&self) -> usize {
        if self.keys.len() == 1 {
            match self.keys[0].kind {
                KeyKind::View => self.keys[0].strings.len(),
            }
        } else {
            self.group_keys.len()
        }
    }

    /// The group of packed key codes, made when new (two keys whose codes
    /// are below [`DENSE_CODES`] also enter the flat table).
    fn group_of(&mut self, packed: u128) -> usize {
        let next = self.group_keys.len();
        let g = *self.groups.entry(packed).or_insert(next);
        if g == next {
            self.group_keys.push(packed);
        }
        let (a, b) = ((packed >> 32) as usize, (packed as u32) as usize);
        if self.keys.len() == 2 && a < DENSE_CODES && b < DENSE_CODES {
            self.dense[a * DENSE_CODES + b] = g as u32;
        }
        g
    }

    /// Groups of the batch's rows for two keys: through the flat table while
    /// both codes are small, the map otherwise.
    fn group_pairs(&mut self, n: usize) {
        self.group_of_row.resize(n, 0);
        let mut row = 0;
        while row < n {
            {
                let (a, b) = (&self.codes[0][row..n], &self.codes[1][row..n]);
                let dense = &self.dense[..DENSE_CODES * DENSE_CODES];
                let out = &mut self.group_of_row[row..n];
                for ((&a, &b), o) in a.iter().zip(b).zip(out.iter_mut()) {
                    let (a, b) = (a as usize, b as usize);
                    if a >= DENSE_CODES || b >= DENSE_CODES {
                        break;
                    }
                    let g = dense[a * DENSE_CODES + b];
                    if g == u32::MAX {
                        break;
                    }
                    *o = g as usize;
                    row += 1;
                }
            }
            if row < n {
                let (a, b) = (self.codes[0][row], self.codes[1][row]);
                self.group_of_row[row] = self.group_of((u128::from(a) << 32) | u128::from(b));
                row += 1;
            }
        }
    }

    fn update(&mut self, batch: &RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(());
        }
        self.rows_seen = true;
        self.codes.resize_with(self.keys.len(), Vec::new);
        for (k, out) in self.keys.iter_mut().zip(self.codes.iter_mut()) {
            k.code(batch.column(k.column), out)?;
        }
        self.group_of_row.clear();
        if self.keys.len() == 1 {
            let codes = &self.codes[0];
            self.group_of_row.extend(codes.iter().map(|&c| c as usize));
        } else {
            if self.dense.is_empty() && self.keys.len() == 2 {
                self.dense = vec![u32::MAX; DENSE_CODES * DENSE_CODES];
            }
            if self.keys.len() == 2 {
                self.group_pairs(n);
            } else {
                for row in 0..n {
                    let mut packed = 0u128;
                    for codes in &self.codes {
                        packed = (packed << 32) | u128::from(codes[row]);
                    }
                    let g = match self.last {
                        Some((p, g)) if p == packed => g,
                        _ => {
                            let g = self.group_of(packed);
                            self.last = Some((packed, g));
                            g
                        }
                    };
                    self.group_of_row.push(g);
                }
            }
        }
        let total = self.num_groups();
        for ((acc, agg), filter) in self
            .accumulators
            .iter_mut()
            .zip(&self.aggr_expr)
            .zip(&self.filter_expr)
        {
            let values = agg
                .expressions()
                .iter()
                .map(|e| e.evaluate(batch).and_then(|v| v.into_array(n)))
                .collect::<Result<Vec<_>>>()?;
            let filter = match filter {
                Some(f) => Some(f.evaluate(batch)?.into_array(n)?),
                None => None,
            };
            let filter = filter.as_ref().map(|f| f.as_boolean().clone());
            acc.update_batch(
                &values,
                &self.group_of_row,
                filter.as_ref().map(|f: &BooleanArray| f as &BooleanArray),
                total,
            )?;
        }
        Ok(())
    }

    /// The partial aggregate's output: keys, then every accumulator's state.
    fn finish(&mut self) -> Result<RecordBatch> {
        if !self.rows_seen {
            return Ok(RecordBatch::new_empty(Arc::clone(&self.schema)));
        }
        // Every group was made by a row of some batch, and every batch told
        // the accumulators the number of groups so far: they know them all.
        let total = self.num_groups();
        // A single key's group is its code; code 0 (NULL) is a group only
        // when a NULL key was seen.
        let skip = usize::from(self.keys.len() == 1 && !self.keys[0].null_seen);
        let mut columns: Vec<ArrayRef> = Vec::new();
        if self.keys.len() == 1 {
            columns.push(self.keys[0].output(skip as u32..total as u32)?);
        } else {
            let k = self.keys.len();
            for (i, key) in self.keys.iter().enumerate() {
                let shift = 32 * (k - 1 - i);
                let codes = self.group_keys.iter().map(|&p| (p >> shift) as u32);
                columns.push(key.output(codes)?);
            }
        }
        for acc in &mut self.accumulators {
            for state in acc.state(EmitTo::All)? {
                columns.push(state.slice(skip, total - skip));
            }
        }
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

struct CodeGroupStream {
    input: Option<SendableRecordBatchStream>,
    state: GroupState,
    schema: SchemaRef,
}

impl Stream for CodeGroupStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(input) = this.input.as_mut() else {
                return Poll::Ready(None);
            };
            match input.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(batch))) => {
                    if let Err(e) = this.state.update(&batch) {
                        this.input = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.input = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.input = None;
                    return Poll::Ready(Some(this.state.finish()));
                }
            }
        }
    }
}

impl RecordBatchStream for CodeGroupStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes name each row's string (or NULL) whatever the batch holds:
    /// repeats, NULL runs at either end and inside, long and short strings,
    /// more distinct views than the batch's table keeps.
    #[test]
    fn codes_name_every_row() {
        let mut rows: Vec<Option<String>> = Vec::new();
        rows.push(None);
        for i in 0..3000 {
            let s = match i % 7 {
                0 => None,
                1 => Some(String::new()),
                2 => Some(format!("/usr/lib/a-rather-long-path/{}", i % 900)),
                3 => Some("root".to_string()),
                _ => Some(format!("u{}", i % 13)),
            };
            rows.push(s);
        }
        rows.push(None);
        let array: ArrayRef = Arc::new(StringViewArray::from_iter(rows.iter().cloned()));
        let mut key = KeyCodes::new(0, KeyKind::View);
        let mut out = Vec::new();
        // Twice: codes are stable across batches.
        for _ in 0..2 {
            key.code(&array, &mut out).expect("codes");
            assert_eq!(out.len(), rows.len());
            for (row, &code) in rows.iter().zip(&out) {
                match row {
                    None => assert_eq!(code, 0),
                    Some(s) => assert_eq!(&*key.strings[code as usize], s.as_str()),
                }
            }
        }
        assert!(key.null_seen);
    }
}
