//! [`SelectivePushdown`]: only filters that look for a needle are evaluated
//! inside the Parquet decoder.
//!
//! With `pushdown_filters`, DataFusion evaluates a scan's filter while it
//! decodes (late materialization): the filter's columns are decoded first,
//! and the other columns only for the rows that passed, through a
//! `RowSelection`. That pays when the filter keeps so few rows that whole
//! pages of the other columns are never decompressed (one file path among
//! millions, one pid); it costs when the kept rows are spread over every
//! page (a syscall name, an event kind, `IS NOT NULL` on an address,
//! `ret < 0`): each page is still decompressed, and building, intersecting
//! and walking the selections costs more than the filter after the scan
//! that it replaces (at 50 M events a quarter of *failed opens by errno*'s
//! CPU time went to selection bookkeeping).
//!
//! Hindsight's session turns `pushdown_filters` off, so every scan keeps its
//! predicate for pruning (row-group statistics, page index, bloom filters)
//! and a `FilterExec` above it filters the decoded batches. This rule then
//! turns pushdown back on for a scan whose predicate has a *needle*: an
//! equality, `IN` list or prefix `LIKE` against literals on a column with
//! many distinct values (paths, addresses, ids; not the dictionary-encoded
//! names), or a boolean flag asked to be set (`WHERE toctou_mismatch`: the
//! boolean columns of `events` flag rare rows; `NOT toctou_mismatch` is no
//! needle). The `FilterExec` above stays: on the few rows the
//! scan returns it is cheap, and answers never depend on this rule.

use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::datasource::physical_plan::{
    FileScanConfig, FileScanConfigBuilder, FileSource, ParquetSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CastExpr, Column, InListExpr, LikeExpr, Literal,
};
use datafusion::physical_expr::split_conjunction;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::scalar::ScalarValue;
use hindsight_format::schema::ColumnType;

/// The physical optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct SelectivePushdown;

impl PhysicalOptimizerRule for SelectivePushdown {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        rewrite(plan)
    }

    fn name(&self) -> &str {
        "SelectivePushdown"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn rewrite(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>() {
        let Some(scan) = exec.data_source().downcast_ref::<FileScanConfig>() else {
            return Ok(plan);
        };
        let Some(parquet) = scan.file_source().downcast_ref::<ParquetSource>() else {
            return Ok(plan);
        };
        if parquet.table_parquet_options().global.pushdown_filters {
            return Ok(plan);
        }
        let Some(predicate) = parquet.filter() else {
            return Ok(plan);
        };
        if !split_conjunction(&predicate).into_iter().any(is_needle) {
            return Ok(plan);
        }
        let source = parquet.clone().with_pushdown_filters(true);
        let config = FileScanConfigBuilder::from(scan.clone())
            .with_source(Arc::new(source))
            .build();
        return Ok(DataSourceExec::from_data_source(config));
    }
    let children: Vec<Arc<dyn ExecutionPlan>> = plan.children().into_iter().cloned().collect();
    if children.is_empty() {
        return Ok(plan);
    }
    let mut changed = false;
    let mut new_children = Vec::with_capacity(children.len());
    for child in children {
        let new = rewrite(Arc::clone(&child))?;
        changed |= !Arc::ptr_eq(&new, &child);
        new_children.push(new);
    }
    if changed {
        datafusion::physical_plan::replace_children_if_necessary(plan, new_children)
    } else {
        Ok(plan)
    }
}

/// Whether `expr` looks for a needle: `col = lit`, `col IN (lit, ...)` (or
/// a disjunction of needles) or `col LIKE 'prefix...'` on a column with many
/// distinct values.
pub fn is_needle(expr: &Arc<dyn PhysicalExpr>) -> bool {
    // `WHERE toctou_mismatch`: the boolean columns of `events` flag rare
    // rows (a mismatch, a truncated path, an executable from an overlay's
    // upper layer), so asking for the set ones finds a needle.
    if column_name(expr).is_some_and(is_flag) {
        return true;
    }
    if let Some(b) = expr.downcast_ref::<BinaryExpr>() {
        // Short IN lists are planned as `x = a OR x = b`.
        if *b.op() == Operator::Or {
            return is_needle(b.left()) && is_needle(b.right());
        }
        if *b.op() != Operator::Eq {
            return false;
        }
        let is_true = |e: &Arc<dyn PhysicalExpr>| {
            e.downcast_ref::<Literal>()
                .is_some_and(|l| *l.value() == ScalarValue::Boolean(Some(true)))
        };
        return match (column_name(b.left()), column_name(b.right())) {
            (Some(c), None) if is_flag(c) => is_true(b.right()),
            (None, Some(c)) if is_flag(c) => is_true(b.left()),
            (Some(c), None) if is_literal(b.right()) => many_values(c),
            (None, Some(c)) if is_literal(b.left()) => many_values(c),
            _ => false,
        };
    }
    if let Some(list) = expr.downcast_ref::<InListExpr>() {
        return !list.negated()
            && list.list().iter().all(is_literal)
            && column_name(list.expr()).is_some_and(many_values);
    }
    if let Some(like) = expr.downcast_ref::<LikeExpr>() {
        let prefix = like
            .pattern()
            .downcast_ref::<Literal>()
            .and_then(|l| match l.value() {
                ScalarValue::Utf8(Some(p))
                | ScalarValue::Utf8View(Some(p))
                | ScalarValue::LargeUtf8(Some(p)) => Some(p.clone()),
                _ => None,
            })
            .is_some_and(|p| !p.is_empty() && !p.starts_with(['%', '_']));
        return prefix
            && !like.negated()
            && !like.case_insensitive()
            && column_name(like.expr()).is_some_and(many_values);
    }
    false
}

fn is_literal(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.downcast_ref::<Literal>()
        .is_some_and(|l| !l.value().is_null())
}

/// The column `expr` reads, seen through casts.
fn column_name(expr: &Arc<dyn PhysicalExpr>) -> Option<&str> {
    if let Some(c) = expr.downcast_ref::<Column>() {
        return Some(c.name());
    }
    expr.downcast_ref::<CastExpr>()
        .and_then(|c| column_name(c.expr()))
}

/// Whether an `events` column is a boolean flag of rare rows
/// (`toctou_mismatch`, `file_path_truncated`, `process_exe_upper_layer`).
fn is_flag(name: &str) -> bool {
    hindsight_format::COLUMNS
        .iter()
        .find(|c| c.name == name)
        .is_some_and(|c| matches!(c.ty, ColumnType::Boolean))
}

/// Whether an `events` column has many distinct values: not one of the
/// dictionary-encoded names (syscall, event kind, user, executable, ...)
/// and not a boolean. Unknown columns (partition keys) do not.
fn many_values(name: &str) -> bool {
    hindsight_format::COLUMNS
        .iter()
        .find(|c| c.name == name)
        .is_some_and(|c| !matches!(c.ty, ColumnType::Utf8Dict | ColumnType::Boolean))
}

#[cfg(test)]
mod tests {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::datasource::physical_plan::{FileScanConfig, ParquetSource};
    use datafusion::datasource::source::DataSourceExec;

    use crate::{SessionOptions, session};

    /// A session over the small synthetic fixture.
    async fn fixture() -> datafusion::prelude::SessionContext {
        session(
            &[concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../fixtures/recordings/synthetic-small"
            )],
            SessionOptions::default(),
        )
        .await
        .unwrap()
    }

    /// Whether each scan in the plan of `sql` filters while it decodes.
    async fn pushdown(sql: &str) -> Vec<bool> {
        let ctx = fixture().await;
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
                && let Some(parquet) = s.file_source().downcast_ref::<ParquetSource>()
            {
                out.push(parquet.table_parquet_options().global.pushdown_filters);
            }
            Ok(TreeNodeRecursion::Continue)
        });
        out
    }

    #[tokio::test]
    async fn only_needles_are_filtered_in_the_decoder() {
        for needle in [
            "SELECT process_executable FROM events WHERE file_path = '/etc/shadow'",
            "SELECT syscall FROM events WHERE process_pid IN (1, 581) AND ret < 0",
            "SELECT syscall FROM events WHERE file_path LIKE '/etc/%' AND syscall = 'openat'",
            "SELECT seq FROM events WHERE destination_ip = '10.0.0.1'",
            "SELECT seq FROM events WHERE toctou_mismatch ORDER BY seq",
            "SELECT seq FROM events WHERE toctou_mismatch = true AND ret < 0",
        ] {
            assert_eq!(pushdown(needle).await, vec![true], "{needle}");
        }
        for spread in [
            "SELECT ret, count(*) FROM events WHERE syscall = 'openat' AND ret < 0 GROUP BY ret",
            "SELECT process_pid FROM events WHERE destination_ip IS NOT NULL",
            "SELECT process_executable FROM events WHERE event_kind = 'process_exec'",
            "SELECT seq FROM events WHERE file_path LIKE '%shadow'",
            "SELECT seq FROM events WHERE NOT toctou_mismatch",
            "SELECT seq FROM events WHERE toctou_mismatch = false",
            "SELECT seq FROM events WHERE toctou_mismatch OR ret < 0",
            "SELECT seq FROM events WHERE ret < 0",
        ] {
            assert_eq!(pushdown(spread).await, vec![false], "{spread}");
        }
    }

    #[tokio::test]
    async fn answers_do_not_depend_on_where_the_filter_runs() {
        let ctx = fixture().await;
        let count = |sql: &'static str| {
            let ctx = ctx.clone();
            async move {
                let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
                datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                    .unwrap()
                    .to_string()
            }
        };
        // The same rows through a needle (pushed down) and through a filter
        // that is not (the path's suffix).
        let pushed = count(
            "SELECT count(*) AS n, min(seq) AS first FROM events \
             WHERE file_path = '/etc/crontab'",
        )
        .await;
        let after = count(
            "SELECT count(*) AS n, min(seq) AS first FROM events \
             WHERE file_path LIKE '%/etc/crontab' AND file_path NOT LIKE '_%/etc/crontab'",
        )
        .await;
        assert_eq!(pushed, after);
        assert!(
            !pushed.contains("| 0 "),
            "the fixture opens /etc/crontab: {pushed}"
        );
    }
}
