//! [`rewrite_filters`]: the walk that the filter-rewriting physical rules
//! ([`crate::cheap_first::CheapFirst`], [`crate::view_eq::ViewEquality`])
//! share.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::common::Result;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};

/// Gives every `FilterExec` of `plan` the predicate `rewrite` returns for
/// its predicate and input schema; `None` leaves that filter as it is.
pub fn rewrite_filters(
    plan: Arc<dyn ExecutionPlan>,
    rewrite: impl Fn(&Arc<dyn PhysicalExpr>, &Schema) -> Result<Option<Arc<dyn PhysicalExpr>>>,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        let Some(filter) = node.downcast_ref::<FilterExec>() else {
            return Ok(Transformed::no(node));
        };
        let Some(predicate) = rewrite(filter.predicate(), &filter.input().schema())? else {
            return Ok(Transformed::no(node));
        };
        let new = FilterExecBuilder::from(filter)
            .with_predicate(predicate)
            .build()?;
        Ok(Transformed::yes(Arc::new(new) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}
