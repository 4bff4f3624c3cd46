//! [`ViewEquality`]: `string_column = 'literal'` compared on the string
//! views' 16 bytes.
//!
//! Forensic filters compare a name column with a literal on every row
//! (`syscall = 'openat'`, `event_kind = 'process_exec'`, `user_name =
//! 'root'`). `events` strings are scanned as `Utf8View`, whose 16-byte view
//! of a string of at most 12 bytes holds its length and all its bytes, and of
//! a longer one its length and first 4 bytes. Arrow's comparison kernel
//! handles any pair of views row by row (buffer lookups, branches on each
//! row's length); at 50 M events that was a fifth of *failed opens by
//! errno*'s CPU time. This rule replaces `col = 'lit'` and `col <> 'lit'` in
//! filters (`FilterExec`) over a `Utf8View` column with [`ViewEqExpr`]: for a
//! short literal a row matches when its view equals the literal's view (one
//! 128-bit comparison, vectorized), for a longer one when length and prefix
//! match and then the bytes. Same answers, nulls included (a null row gives
//! null).

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray, StringViewArray};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;

/// The physical optimizer rule (see the module documentation).
#[derive(Debug, Default)]
pub struct ViewEquality;

impl PhysicalOptimizerRule for ViewEquality {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        crate::filters::rewrite_filters(plan, |predicate, schema| {
            let rewritten = Arc::clone(predicate).transform_up(|e| rewrite_expr(e, schema))?;
            Ok(rewritten.transformed.then_some(rewritten.data))
        })
    }

    fn name(&self) -> &str {
        "ViewEquality"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

fn rewrite_expr(
    expr: Arc<dyn PhysicalExpr>,
    schema: &Schema,
) -> Result<Transformed<Arc<dyn PhysicalExpr>>> {
    let Some(b) = expr.downcast_ref::<BinaryExpr>() else {
        return Ok(Transformed::no(expr));
    };
    let negated = match b.op() {
        Operator::Eq => false,
        Operator::NotEq => true,
        _ => return Ok(Transformed::no(expr)),
    };
    let (column, literal) = match (
        b.left().downcast_ref::<Column>(),
        b.right().downcast_ref::<Literal>(),
        b.right().downcast_ref::<Column>(),
        b.left().downcast_ref::<Literal>(),
    ) {
        (Some(_), Some(l), _, _) => (b.left(), l),
        (_, _, Some(_), Some(l)) => (b.right(), l),
        _ => return Ok(Transformed::no(expr)),
    };
    let value = match literal.value() {
        ScalarValue::Utf8View(Some(v)) | ScalarValue::Utf8(Some(v)) => v.clone(),
        _ => return Ok(Transformed::no(expr)),
    };
    if column.data_type(schema)? != DataType::Utf8View {
        return Ok(Transformed::no(expr));
    }
    Ok(Transformed::yes(Arc::new(ViewEqExpr::new(
        Arc::clone(column),
        value,
        negated,
    ))))
}

/// `expr = 'literal'` (or `<>`) over a `Utf8View` input, compared on views.
#[derive(Debug, Clone, Eq)]
pub struct ViewEqExpr {
    expr: Arc<dyn PhysicalExpr>,
    literal: String,
    negated: bool,
}

impl ViewEqExpr {
    /// `expr = literal`, or `expr <> literal` when `negated`.
    pub fn new(expr: Arc<dyn PhysicalExpr>, literal: String, negated: bool) -> Self {
        Self {
            expr,
            literal,
            negated,
        }
    }

    /// The comparison on one array of views.
    fn compare(&self, array: &StringViewArray) -> BooleanArray {
        let lit = self.literal.as_bytes();
        let views = array.views();
        let neg = self.negated;
        let values = if lit.len() <= 12 {
            // The whole string is in the view: equal views, equal strings.
            let want = inline_view(lit);
            BooleanBuffer::collect_bool(views.len(), |i| (views[i] == want) != neg)
        } else {
            // Length and 4-byte prefix first (the low 64 bits), then bytes.
            let mut head = [0u8; 8];
            head[..4].copy_from_slice(&(lit.len() as u32).to_le_bytes());
            head[4..].copy_from_slice(&lit[..4]);
            let head = u64::from_le_bytes(head);
            BooleanBuffer::collect_bool(views.len(), |i| {
                let hit = views[i] as u64 == head && array.is_valid(i) && {
                    // SAFETY: i < len; a view of more than 12 bytes points
                    // into a data buffer of the array (checked at creation).
                    unsafe { array.value_unchecked(i) }.as_bytes() == lit
                };
                hit != neg
            })
        };
        BooleanArray::new(values, array.nulls().cloned())
    }
}

impl Hash for ViewEqExpr {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.expr.hash(state);
        self.literal.hash(state);
        self.negated.hash(state);
    }
}

impl PartialEq for ViewEqExpr {
    fn eq(&self, other: &Self) -> bool {
        self.expr.as_ref() == other.expr.as_ref()
            && self.literal == other.literal
            && self.negated == other.negated
    }
}

/// The view Arrow gives a string of at most 12 bytes: length, then the bytes,
/// zero-padded.
fn inline_view(s: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&(s.len() as u32).to_le_bytes());
    bytes[4..4 + s.len()].copy_from_slice(s);
    u128::from_le_bytes(bytes)
}

impl fmt::Display for ViewEqExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negated { "!=" } else { "=" };
        write!(f, "{} {op} {} (views)", self.expr, self.literal)
    }
}

impl PhysicalExpr for ViewEqExpr {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn nullable(&self, input_schema: &Schema) -> Result<bool> {
        self.expr.nullable(input_schema)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let value = self.expr.evaluate(batch)?;
        let array = value.into_array(batch.num_rows())?;
        let Some(views) = array.as_any().downcast_ref::<StringViewArray>() else {
            return Err(datafusion::common::DataFusionError::Internal(format!(
                "ViewEqExpr over {}, not Utf8View",
                array.data_type()
            )));
        };
        Ok(ColumnarValue::Array(Arc::new(self.compare(views))))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.expr]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        Ok(Arc::new(Self::new(
            Arc::clone(&children[0]),
            self.literal.clone(),
            self.negated,
        )))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = if self.negated { "<>" } else { "=" };
        self.expr.fmt_sql(f)?;
        write!(f, " {op} '{}'", self.literal.replace('\'', "''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(values: &[Option<&str>], literal: &str) {
        let array = StringViewArray::from(values.to_vec());
        for negated in [false, true] {
            let e = ViewEqExpr::new(Arc::new(Column::new("c", 0)), literal.to_string(), negated);
            let got = e.compare(&array);
            let want: BooleanArray = values
                .iter()
                .map(|v| v.map(|v| (v == literal) != negated))
                .collect();
            assert_eq!(got, want, "{values:?} vs {literal:?}, negated {negated}");
        }
    }

    #[test]
    fn views_compare_like_strings() {
        let values = [
            Some("openat"),
            None,
            Some("open"),
            Some("openat2"),
            Some(""),
            Some("process_exec"),
            Some("process_exit"),
            Some("process_exec_"),
            Some("/usr/bin/python3"),
            Some("/usr/bin/python2"),
            Some("/usr/lib/python3"),
            Some("/usr/bin/python3.11"),
        ];
        for lit in [
            "openat",
            "",
            "process_exec",
            "process_exec_",
            "/usr/bin/python3",
            "/usr",
            "missing value, longer than twelve",
        ] {
            check(&values, lit);
        }
    }
}
