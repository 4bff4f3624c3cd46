//! [`BuildOnRecursiveResult`]: a hash join between a large scan and the
//! result of a recursive CTE builds its table on the CTE's side.
//!
//! DataFusion builds a hash join's table on its left input and swaps the
//! inputs only when statistics say the right one is smaller. A recursive
//! CTE's result has no statistics, so `events e JOIN (SELECT DISTINCT pid
//! FROM tree) t ON e.process_pid = t.pid` (everything a process tree did)
//! builds a table of every event and probes it with the tree's few pids. The
//! rule swaps such a join: the left input has a known row count above
//! DataFusion's own threshold for a one-partition build side
//! (`hash_join_single_partition_threshold_rows`), the right input's is
//! unknown and it reads a recursive CTE. The walk of a tree is bounded by
//! the rows it walks, usually a small part of them; when it is not, the
//! swapped join is still correct, only slower. Answers never change: the
//! swap is DataFusion's own (`HashJoinExec::swap_inputs`).

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::joins::HashJoinExec;
use datafusion::physical_plan::recursive_query::RecursiveQueryExec;
use datafusion::physical_plan::{ExecutionPlan, StatisticsArgs, StatisticsContext};

/// Name of the DataFusion rule [`BuildOnRecursiveResult`] runs after.
pub const AFTER_RULE: &str = "join_selection";

/// The physical optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct BuildOnRecursiveResult;

impl PhysicalOptimizerRule for BuildOnRecursiveResult {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let threshold = config.optimizer.hash_join_single_partition_threshold_rows;
        plan.transform_up(|node| {
            let Some(join) = node.downcast_ref::<HashJoinExec>() else {
                return Ok(Transformed::no(node));
            };
            if !join.join_type().supports_swap() || join.null_aware {
                return Ok(Transformed::no(node));
            }
            let rows = |p: &Arc<dyn ExecutionPlan>| -> Result<_> {
                Ok(StatisticsContext::new()
                    .compute(p.as_ref(), &StatisticsArgs::new())?
                    .num_rows)
            };
            let (left_rows, right_rows) = (rows(join.left())?, rows(join.right())?);
            let large_left = left_rows.get_value().is_some_and(|&n| n > threshold);
            if large_left && right_rows.get_value().is_none() && reads_recursive_cte(join.right()) {
                let mode = *join.partition_mode();
                return Ok(Transformed::yes(join.swap_inputs(mode)?));
            }
            Ok(Transformed::no(node))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "BuildOnRecursiveResult"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn reads_recursive_cte(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut found = false;
    let _ = plan.apply(|p| {
        if p.is::<RecursiveQueryExec>() {
            found = true;
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}
