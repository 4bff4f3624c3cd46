//! `count` beside one `DISTINCT` aggregate, in the form DataFusion's own
//! rewrite understands.
//!
//! DataFusion turns `SELECT g, sum(y), count(DISTINCT x) ... GROUP BY g`
//! into two cheap group-bys (first by `g, x`, then by `g`), but only when the
//! other aggregates are `sum`, `min` or `max`. With a `count` beside it, as
//! in "top talkers" (`count(*), count(DISTINCT destination_ip)`), it keeps
//! one set of distinct values per group instead, several times slower.
//! [`CountBesideDistinct`] runs just before that rewrite and states such a
//! `count(e)` as `sum(CASE WHEN e IS NULL THEN 0 ELSE 1 END)`, which is equal
//! whenever there is a group (so only with a `GROUP BY`); the output keeps
//! its names, types and non-null `count` columns.

use std::collections::HashSet;
use std::sync::Arc;

use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result, ScalarValue};
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::functions_aggregate::sum::sum_udaf;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{Aggregate, Expr, LogicalPlan, LogicalPlanBuilder, lit, when};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

/// Name of DataFusion's rule this one prepares for (it must run after us).
pub const BEFORE_RULE: &str = "single_distinct_aggregation_to_group_by";

/// The optimizer rule; see the module documentation.
#[derive(Debug, Default)]
pub struct CountBesideDistinct;

impl OptimizerRule for CountBesideDistinct {
    fn name(&self) -> &str {
        "hindsight_count_beside_distinct"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(agg) = plan else {
            return Ok(Transformed::no(plan));
        };
        if !applies(&agg) {
            return Ok(Transformed::no(LogicalPlan::Aggregate(agg)));
        }
        let before = Arc::clone(&agg.schema);
        let groups = agg.group_expr.len();
        let counts: Vec<bool> = agg.aggr_expr.iter().map(is_plain_count).collect();
        let aggr_expr = agg.aggr_expr.iter().cloned().map(count_as_sum).collect();
        // Fails only if a rewritten name clashes with another aggregate's
        // (`count(*)` beside `sum(1)`): then the plan stays as it was.
        let Ok(new) = Aggregate::try_new(Arc::clone(&agg.input), agg.group_expr.clone(), aggr_expr)
        else {
            return Ok(Transformed::no(LogicalPlan::Aggregate(agg)));
        };
        let after = Arc::clone(&new.schema);
        let mut exprs = Vec::with_capacity(before.fields().len());
        for (i, ((new_q, new_f), (old_q, old_f))) in after.iter().zip(before.iter()).enumerate() {
            let column = Expr::Column(Column::new(new_q.cloned(), new_f.name()));
            let is_count = i >= groups && counts[i - groups];
            exprs.push(if is_count {
                coalesce(vec![column, lit(0i64)]).alias_qualified(old_q.cloned(), old_f.name())
            } else if new_q == old_q && new_f.name() == old_f.name() {
                column
            } else {
                column.alias_qualified(old_q.cloned(), old_f.name())
            });
        }
        let plan = LogicalPlanBuilder::from(LogicalPlan::Aggregate(new))
            .project(exprs)?
            .build()?;
        Ok(Transformed::yes(plan))
    }
}

/// A `GROUP BY` (no grouping sets) whose aggregates are one or more
/// `DISTINCT` ones over the same single expression plus `sum`/`min`/`max`/
/// `count`, with at least one `count`, none filtered or ordered.
fn applies(agg: &Aggregate) -> bool {
    if agg.group_expr.is_empty() || matches!(agg.group_expr.first(), Some(Expr::GroupingSet(_))) {
        return false;
    }
    let mut distinct_args = HashSet::new();
    let mut counts = 0;
    for e in &agg.aggr_expr {
        let Expr::AggregateFunction(AggregateFunction { func, params }) = e else {
            return false;
        };
        if params.filter.is_some() || !params.order_by.is_empty() {
            return false;
        }
        if params.distinct {
            if params.args.len() != 1 {
                return false;
            }
            distinct_args.insert(&params.args[0]);
            continue;
        }
        match func.name().to_lowercase().as_str() {
            "count" if params.args.len() == 1 => counts += 1,
            "sum" | "min" | "max" => {}
            _ => return false,
        }
    }
    distinct_args.len() == 1 && counts > 0
}

fn is_plain_count(e: &Expr) -> bool {
    matches!(e, Expr::AggregateFunction(AggregateFunction { func, params })
        if !params.distinct && func.name().eq_ignore_ascii_case("count"))
}

/// `count(e)` → `sum(1)` for a non-null literal `e`, else
/// `sum(CASE WHEN e IS NULL THEN 0 ELSE 1 END)`; anything else unchanged.
fn count_as_sum(e: Expr) -> Expr {
    if !is_plain_count(&e) {
        return e;
    }
    let Expr::AggregateFunction(AggregateFunction { params, .. }) = e else {
        unreachable!("checked by is_plain_count");
    };
    let arg = params.args.into_iter().next().expect("one argument");
    let one = match &arg {
        Expr::Literal(v, _) if !v.is_null() => lit(ScalarValue::Int64(Some(1))),
        _ => when(arg.is_null(), lit(0i64))
            .otherwise(lit(1i64))
            .expect("a CASE with one branch"),
    };
    Expr::AggregateFunction(AggregateFunction::new_udf(
        sum_udaf(),
        vec![one],
        false,
        None,
        vec![],
        None,
    ))
}
