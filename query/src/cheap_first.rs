//! [`CheapFirst`]: in a filter's `AND`, cheap tests on numbers run first.
//!
//! DataFusion evaluates `a AND b` left to right, and when `a` keeps few rows
//! it evaluates `b` only on those. Forensic filters often pair a string test
//! that keeps many rows with a numeric one that keeps few (`syscall =
//! 'openat' AND ret < 0`: 40 % of the rows against 3 %), written in that
//! order. This rule moves comparisons of a numeric or boolean column with a
//! literal, and `IS [NOT] NULL` tests of a column, ahead of the other
//! conjuncts of a filter (`FilterExec`), keeping the order within each group.
//! Filters are free of side effects, so only the cost changes.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::expressions::{
    BinaryExpr, Column, IsNotNullExpr, IsNullExpr, Literal,
};
use datafusion::physical_expr::{PhysicalExpr, conjunction, split_conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// The physical optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct CheapFirst;

impl PhysicalOptimizerRule for CheapFirst {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        crate::filters::rewrite_filters(plan, |predicate, schema| Ok(reorder(predicate, schema)))
    }

    fn name(&self) -> &str {
        "hindsight_cheap_first"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The conjunction with its cheap tests first; `None` when already so.
pub fn reorder(
    predicate: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
) -> Option<Arc<dyn PhysicalExpr>> {
    let parts = split_conjunction(predicate);
    if parts.len() < 2 {
        return None;
    }
    let (cheap, rest): (Vec<_>, Vec<_>) = parts.iter().partition(|e| is_cheap(e, schema));
    let first_costly = parts.iter().position(|e| !is_cheap(e, schema))?;
    if cheap.is_empty() || parts[first_costly..].iter().all(|e| !is_cheap(e, schema)) {
        return None;
    }
    Some(conjunction(cheap.into_iter().chain(rest).map(Arc::clone)))
}

/// A comparison of a numeric or boolean column with a literal, or a null
/// test of a column.
fn is_cheap(e: &Arc<dyn PhysicalExpr>, schema: &Schema) -> bool {
    let plain = |e: &Arc<dyn PhysicalExpr>| {
        e.downcast_ref::<Column>().is_some_and(|c| {
            schema.fields().get(c.index()).is_some_and(|f| {
                f.data_type().is_primitive()
                    || f.data_type().is_null()
                    || *f.data_type() == datafusion::arrow::datatypes::DataType::Boolean
            })
        })
    };
    if let Some(n) = e.downcast_ref::<IsNullExpr>() {
        return n.arg().downcast_ref::<Column>().is_some();
    }
    if let Some(n) = e.downcast_ref::<IsNotNullExpr>() {
        return n.arg().downcast_ref::<Column>().is_some();
    }
    let Some(b) = e.downcast_ref::<BinaryExpr>() else {
        return false;
    };
    let comparison = matches!(
        b.op(),
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
    );
    let literal = |e: &Arc<dyn PhysicalExpr>| e.downcast_ref::<Literal>().is_some();
    comparison
        && ((plain(b.left()) && literal(b.right())) || (literal(b.left()) && plain(b.right())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field};
    use datafusion::common::ScalarValue;

    #[test]
    fn numeric_tests_move_ahead_of_string_tests() {
        let schema = Schema::new(vec![
            Field::new("syscall", DataType::Utf8View, true),
            Field::new("ret", DataType::Int64, true),
        ]);
        let syscall: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            Arc::new(Column::new("syscall", 0)),
            Operator::Eq,
            Arc::new(Literal::new(ScalarValue::Utf8View(Some("openat".into())))),
        ));
        let ret: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            Arc::new(Column::new("ret", 1)),
            Operator::Lt,
            Arc::new(Literal::new(ScalarValue::Int64(Some(0)))),
        ));
        let both = conjunction([Arc::clone(&syscall), Arc::clone(&ret)]);
        let reordered = reorder(&both, &schema).expect("reordered");
        assert_eq!(
            reordered.to_string(),
            conjunction([ret.clone(), syscall.clone()]).to_string()
        );
        // Already cheap first, or nothing cheap: left alone.
        assert!(reorder(&conjunction([ret.clone(), syscall.clone()]), &schema).is_none());
        assert!(reorder(&conjunction([syscall.clone(), syscall]), &schema).is_none());
    }
}
