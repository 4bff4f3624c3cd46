//! [`ShareScanWork`]: scans whose row order nothing needs let their
//! partitions share the segments.
//!
//! Segments declare that their rows are sorted by `seq` (Parquet sorting
//! columns), so DataFusion marks every scan of a recording order-preserving,
//! and an order-preserving scan reads a fixed run of consecutive segments per
//! partition instead of letting an idle partition take the next unread
//! segment from a shared queue (DataFusion's work stealing). A recording's
//! segments follow each other in time, so a query that keeps a time window
//! (or anything else found in a few neighbouring segments) found all its rows
//! in one partition's run while the other pruned its segments and sat idle:
//! *5-minute window* at 50 M events read all 12 M rows in partition 0 of 2.
//!
//! After the physical optimizer has placed its sorts, a scan whose order
//! nothing above it relies on (no operator between it and the next full sort
//! requires an input ordering, merges sorted streams or sorts with a limit)
//! and that has no row limit of its own drops the declared order, which lets
//! its partitions share the work. Answers never
//! change: a plan that needs the order keeps it; the others read the same
//! rows, only in another partition.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;

/// The physical optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct ShareScanWork;

impl PhysicalOptimizerRule for ShareScanWork {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        rewrite(plan, false)
    }

    fn name(&self) -> &str {
        "ShareScanWork"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Rewrites the scans under `plan`; `ordered` says whether something above
/// relies on the order of `plan`'s output.
fn rewrite(plan: Arc<dyn ExecutionPlan>, ordered: bool) -> Result<Arc<dyn ExecutionPlan>> {
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>() {
        let Some(scan) = exec.data_source().downcast_ref::<FileScanConfig>() else {
            return Ok(plan);
        };
        if ordered
            || !scan.preserve_order
            || scan.file_groups.len() < 2
            || scan.limit.is_some()
            || scan.output_partitioning.is_some()
        {
            return Ok(plan);
        }
        let config = FileScanConfigBuilder::from(scan.clone())
            .with_output_ordering(Vec::new())
            .with_preserve_order(false)
            .build();
        return Ok(DataSourceExec::from_data_source(config));
    }
    // A full sort makes its own order; a top-k sort may use its input's.
    let sort_resets = plan
        .downcast_ref::<SortExec>()
        .is_some_and(|s| s.fetch().is_none());
    let merges = plan.is::<SortPreservingMergeExec>();
    let required = plan.required_input_ordering();
    let children: Vec<Arc<dyn ExecutionPlan>> = plan.children().into_iter().cloned().collect();
    if children.is_empty() {
        return Ok(plan);
    }
    let mut changed = false;
    let mut new_children = Vec::with_capacity(children.len());
    for (i, child) in children.into_iter().enumerate() {
        let child_ordered = !sort_resets
            && (ordered
                || merges
                || plan.is::<SortExec>()
                || required.get(i).is_some_and(Option::is_some));
        let new = rewrite(Arc::clone(&child), child_ordered)?;
        changed |= !Arc::ptr_eq(&new, &child);
        new_children.push(new);
    }
    if changed {
        datafusion::physical_plan::replace_children_if_necessary(plan, new_children)
    } else {
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::datasource::physical_plan::FileScanConfig;
    use datafusion::datasource::source::DataSourceExec;

    use crate::{SessionOptions, session};

    /// (file groups, order-preserving, declared ordering) of every scan in the
    /// plan of `sql`.
    async fn scans(sql: &str) -> Vec<(usize, bool, bool)> {
        let ctx = session(
            &[concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fixtures/recordings/synthetic-small"
            )],
            SessionOptions {
                target_partitions: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let mut out = Vec::new();
        let _ = plan.apply(|p| {
            if let Some(e) = p.downcast_ref::<DataSourceExec>()
                && let Some(s) = e.data_source().downcast_ref::<FileScanConfig>()
            {
                out.push((
                    s.file_groups.len(),
                    s.preserve_order,
                    !s.output_ordering.is_empty(),
                ));
            }
            Ok(TreeNodeRecursion::Continue)
        });
        out
    }

    #[tokio::test]
    async fn unordered_plans_share_segments_and_ordered_ones_keep_their_order() {
        // The fixture has three segments, split into two groups.
        let grouped =
            "SELECT syscall, count(*) AS n FROM events WHERE seq > 5 GROUP BY 1 ORDER BY n";
        assert_eq!(scans(grouped).await, vec![(2, false, false)]);
        for ordered in [
            "SELECT seq, syscall FROM events WHERE seq > 5 ORDER BY seq",
            "SELECT seq, syscall FROM events ORDER BY seq LIMIT 3",
        ] {
            let kept = scans(ordered).await;
            assert!(
                kept.iter().all(|&(_, _, ordering)| ordering),
                "{ordered}: {kept:?}"
            );
        }
    }
}
