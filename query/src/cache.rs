//! [`CacheRecursiveInvariants`]: the parts of a recursive CTE's recursive term
//! that do not read the work table are computed once, not once per iteration.
//!
//! DataFusion re-executes the whole recursive term at every iteration of
//! `WITH RECURSIVE`. A common table expression inside it (`procs AS (SELECT
//! DISTINCT pid, ppid FROM events WHERE event_kind = 'process_fork')`) is
//! inlined, so every level of a process tree rescans and re-aggregates the
//! recording, although that side of the join is the same each time. This
//! physical optimizer rule wraps every maximal subtree of a recursive term
//! that contains a table scan and no work table in a [`CachedExec`]: its first
//! execution streams through and keeps the batches, later executions replay
//! them. Recordings are read-only, so the replayed rows are the rows a rescan
//! would produce; a subtree whose rows pass [`CACHE_LIMIT_BYTES`] is not kept
//! (it is then re-executed, as before).
//!
//! The rule runs before DataFusion's post-optimization filter pushdown, and a
//! [`CachedExec`] lets no filter through: a join's dynamic filter, built from
//! one iteration's rows, never reaches the cached scan.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::recursive_query::RecursiveQueryExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::work_table::WorkTableExec;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    PlanProperties, ReplaceChildrenOptions,
};
use futures::Stream;

/// Largest cached output of one subtree partition (bytes of Arrow memory);
/// beyond it the subtree is re-executed at every iteration.
pub const CACHE_LIMIT_BYTES: usize = 1 << 30;

/// Name of the DataFusion rule [`CacheRecursiveInvariants`] runs before.
pub const BEFORE_RULE: &str = "FilterPushdown(Post)";

/// The physical optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct CacheRecursiveInvariants;

impl PhysicalOptimizerRule for CacheRecursiveInvariants {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(rq) = node.downcast_ref::<RecursiveQueryExec>() else {
                return Ok(Transformed::no(node));
            };
            let term = Arc::clone(rq.recursive_term());
            let (cached, changed) = wrap_invariants(term)?;
            if !changed {
                return Ok(Transformed::no(node));
            }
            let static_term = Arc::clone(rq.static_term());
            Ok(Transformed::yes(Arc::clone(&node).replace_children(
                vec![static_term, cached],
                recompute(),
            )?))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "CacheRecursiveInvariants"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Wraps the maximal work-table-free subtrees of `plan` that scan a table.
fn wrap_invariants(plan: Arc<dyn ExecutionPlan>) -> Result<(Arc<dyn ExecutionPlan>, bool)> {
    if plan.is::<CachedExec>() {
        return Ok((plan, false));
    }
    if !contains(&plan, |p| p.is::<WorkTableExec>()) {
        if contains(&plan, |p| {
            p.children().is_empty() && p.name() == "DataSourceExec"
        }) {
            return Ok((Arc::new(CachedExec::new(plan)), true));
        }
        return Ok((plan, false));
    }
    let mut changed = false;
    let mut children = Vec::new();
    for child in plan.children() {
        let (c, ch) = wrap_invariants(Arc::clone(child))?;
        changed |= ch;
        children.push(c);
    }
    if !changed {
        return Ok((plan, false));
    }
    Ok((plan.replace_children(children, recompute())?, true))
}

/// Children changed: properties computed anew.
fn recompute() -> ReplaceChildrenOptions {
    ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute)
}

fn contains(plan: &Arc<dyn ExecutionPlan>, pred: impl Fn(&dyn ExecutionPlan) -> bool) -> bool {
    let mut found = false;
    let _ = plan.apply(|p| {
        if pred(p.as_ref()) {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// One output partition's kept batches.
type Slot = Mutex<Option<Arc<Vec<RecordBatch>>>>;

/// Runs its input once per partition and replays the batches afterwards
/// (see [`CacheRecursiveInvariants`]). The cache survives the plan resets
/// between iterations of a recursive query.
#[derive(Debug)]
pub struct CachedExec {
    input: Arc<dyn ExecutionPlan>,
    slots: Arc<Vec<Slot>>,
}

impl CachedExec {
    /// Caches `input`'s output partitions.
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        let n = input.output_partitioning().partition_count();
        let slots = Arc::new((0..n).map(|_| Mutex::new(None)).collect());
        Self { input, slots }
    }
}

impl DisplayAs for CachedExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match t {
            DisplayFormatType::TreeRender => write!(f, ""),
            _ => write!(f, "CachedExec: computed once, replayed at every iteration"),
        }
    }
}

impl ExecutionPlan for CachedExec {
    fn name(&self) -> &str {
        "CachedExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let input = children.swap_remove(0);
        if input.output_partitioning().partition_count() != self.slots.len() {
            return Ok(Arc::new(CachedExec::new(input)));
        }
        // The same subtree (reset between iterations, or rebuilt by a later
        // rule before anything ran): keep the cache.
        Ok(Arc::new(CachedExec {
            input,
            slots: Arc::clone(&self.slots),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let schema = self.schema();
        let slot = &self.slots[partition];
        let kept = slot.lock().map(|s| s.clone()).unwrap_or(None);
        if let Some(batches) = kept {
            let replay =
                futures::stream::iter((0..batches.len()).map(move |i| Ok(batches[i].clone())));
            return Ok(Box::pin(RecordBatchStreamAdapter::new(schema, replay)));
        }
        Ok(Box::pin(Keeping {
            input: self.input.execute(partition, context)?,
            schema,
            kept: Some(Vec::new()),
            bytes: 0,
            slots: Arc::clone(&self.slots),
            partition,
        }))
    }
}

/// Passes the input's batches through and keeps them; stores them in the
/// slot when the input ends (not when the consumer stops early).
struct Keeping {
    input: SendableRecordBatchStream,
    schema: SchemaRef,
    kept: Option<Vec<RecordBatch>>,
    bytes: usize,
    slots: Arc<Vec<Slot>>,
    partition: usize,
}

impl Stream for Keeping {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let polled = this.input.as_mut().poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(batch))) => {
                this.bytes += batch.get_array_memory_size();
                if this.bytes > CACHE_LIMIT_BYTES {
                    this.kept = None;
                } else if let Some(kept) = this.kept.as_mut() {
                    kept.push(batch.clone());
                }
            }
            Poll::Ready(Some(Err(_))) => this.kept = None,
            Poll::Ready(None) => {
                if let Some(kept) = this.kept.take()
                    && let Ok(mut slot) = this.slots[this.partition].lock()
                {
                    *slot = Some(Arc::new(kept));
                }
            }
            Poll::Pending => {}
        }
        polled
    }
}

impl RecordBatchStream for Keeping {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}
