//! Faster `LIKE` for patterns Arrow can only run as a regular expression.
//!
//! Arrow evaluates `LIKE` without a regex only for four shapes: `'lit'`,
//! `'lit%'`, `'%lit'` and `'%lit%'`, where `lit` holds no `_`. Any other
//! pattern becomes a regex matched row by row, and forensic patterns often
//! have another shape because flag and family names contain `_`: `flags LIKE
//! '%O_WRONLY%'` runs the regex on every row. [`LikePrefilter`] (an optimizer
//! rule) rewrites such a `LIKE` into [`like_prefiltered`]: a cheap
//! fast-shape `LIKE` on a literal run every match must contain (`'%WRONLY%'`)
//! picks the candidate rows, and the regex runs on those only. The result is
//! the same for every row, NULLs included. A literal prefix (`'/etc/%.conf'`)
//! also stays as `x LIKE '/etc/%'` in front, so row groups and pages are
//! still pruned on it.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBufferBuilder, LargeStringArray, StringArray,
    StringViewArray,
};
use datafusion::arrow::compute::kernels::comparison::like;
use datafusion::arrow::compute::{cast, filter};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::expr::{Like, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    ColumnarValue, Expr, LogicalPlan, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

/// Name of the function [`LikePrefilter`] puts in plans (seen in `EXPLAIN`).
pub const FUNCTION_NAME: &str = "like_prefiltered";

/// The optimizer rule: rewrites `x [NOT] LIKE 'pattern'` when Arrow would
/// need a regex for `pattern` and a literal run of it can preselect rows.
#[derive(Debug, Default)]
pub struct LikePrefilter;

impl OptimizerRule for LikePrefilter {
    fn name(&self) -> &str {
        "hindsight_like_prefilter"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        // Keep every output column's name (a projected `x LIKE p` is named after it).
        let names = NamePreserver::new(&plan);
        plan.map_expressions(|e| {
            let name = names.save(&e);
            Ok(e.transform_up(rewrite_like)?
                .update_data(|e| name.restore(e)))
        })
    }
}

fn rewrite_like(expr: Expr) -> Result<Transformed<Expr>> {
    let Expr::Like(Like {
        negated,
        expr: input,
        pattern,
        escape_char: None,
        case_insensitive: false,
    }) = &expr
    else {
        return Ok(Transformed::no(expr));
    };
    let Expr::Literal(literal, _) = pattern.as_ref() else {
        return Ok(Transformed::no(expr));
    };
    let (Some(text), Some(plan)) = (
        literal.try_as_str().flatten(),
        literal.try_as_str().flatten().and_then(plan_pattern),
    ) else {
        return Ok(Transformed::no(expr));
    };
    let call = Expr::ScalarFunction(ScalarFunction::new_udf(
        Arc::new(like_prefiltered()),
        vec![
            input.as_ref().clone(),
            Expr::Literal(ScalarValue::Utf8(Some(text.to_string())), None),
            Expr::Literal(ScalarValue::Utf8(Some(plan.candidates)), None),
        ],
    ));
    let rewritten = match plan.prefix {
        Some(prefix) => Expr::Like(Like::new(
            false,
            input.clone(),
            // The same string type as the original pattern (LIKE wants both sides alike).
            Box::new(Expr::Literal(same_type(literal, prefix), None)),
            None,
            false,
        ))
        .and(call),
        None => call,
    };
    Ok(Transformed::yes(if *negated {
        Expr::Not(Box::new(rewritten))
    } else {
        rewritten
    }))
}

/// `text` as a literal of the same string type as `like`.
fn same_type(like: &ScalarValue, text: String) -> ScalarValue {
    match like {
        ScalarValue::Utf8View(_) => ScalarValue::Utf8View(Some(text)),
        ScalarValue::LargeUtf8(_) => ScalarValue::LargeUtf8(Some(text)),
        _ => ScalarValue::Utf8(Some(text)),
    }
}

/// How [`like_prefiltered`] runs one pattern.
#[derive(Debug, PartialEq, Eq)]
struct PatternPlan {
    /// A fast-shape pattern every match also matches (`'%WRONLY%'`, `'/etc/%'`).
    candidates: String,
    /// `'prefix%'` when the pattern starts with a literal (kept for pruning).
    prefix: Option<String>,
}

/// `None` when Arrow runs `pattern` without a regex already, when it holds
/// an escape (`\`), or when no literal run is long enough to help.
fn plan_pattern(pattern: &str) -> Option<PatternPlan> {
    if pattern.contains('\\') || fast_shape(pattern) {
        return None;
    }
    let is_wild = |c: char| c == '%' || c == '_';
    let first_wild = pattern.find(is_wild)?;
    if first_wild > 0 {
        let prefix = format!("{}%", &pattern[..first_wild]);
        return Some(PatternPlan {
            candidates: prefix.clone(),
            prefix: Some(prefix),
        });
    }
    let longest = pattern
        .split(is_wild)
        .max_by_key(|run| run.len())
        .filter(|run| run.len() >= 2)?;
    Some(PatternPlan {
        candidates: format!("%{longest}%"),
        prefix: None,
    })
}

/// The shapes Arrow matches without a regex: `lit`, `lit%`, `%lit`, `%lit%`.
fn fast_shape(pattern: &str) -> bool {
    let literal = |s: &str| !s.contains(['%', '_', '\\']);
    let inner = pattern.strip_prefix('%').unwrap_or(pattern);
    let inner = inner.strip_suffix('%').unwrap_or(inner);
    literal(inner)
}

/// `like_prefiltered(x, pattern, candidates)`: `x LIKE pattern`, evaluated
/// as `x LIKE candidates` first and `x LIKE pattern` on the rows that pass.
/// `candidates` must be implied by `pattern` (the optimizer rule makes sure).
pub fn like_prefiltered() -> ScalarUDF {
    ScalarUDF::new_from_impl(LikePrefiltered {
        signature: Signature::any(3, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct LikePrefiltered {
    signature: Signature,
}

impl ScalarUDFImpl for LikePrefiltered {
    fn name(&self) -> &str {
        FUNCTION_NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar_str = |v: &ColumnarValue| match v {
            ColumnarValue::Scalar(s) => s.try_as_str().flatten().map(str::to_string),
            ColumnarValue::Array(_) => None,
        };
        let (Some(pattern), Some(candidates)) =
            (scalar_str(&args.args[1]), scalar_str(&args.args[2]))
        else {
            return exec_err!("{FUNCTION_NAME}: the patterns must be string literals");
        };
        let scalar_input = matches!(args.args[0], ColumnarValue::Scalar(_));
        let input = args.args[0].to_array(args.number_rows)?;
        let out = evaluate(&input, &pattern, &candidates)?;
        if scalar_input {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(Arc::new(out)))
        }
    }
}

/// `input LIKE pattern`, the regex run only where `input LIKE candidates`.
fn evaluate(input: &ArrayRef, pattern: &str, candidates: &str) -> Result<BooleanArray> {
    let input = match input.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Arc::clone(input),
        _ => cast(input, &DataType::Utf8View)?,
    };
    let pre = like_scalar(&input, candidates)?;
    // The candidate rows: true and not null.
    let selected = match pre.nulls() {
        Some(nulls) => pre.values() & nulls.inner(),
        None => pre.values().clone(),
    };
    let hits = selected.count_set_bits();
    if hits == 0 {
        return Ok(pre);
    }
    let full = like_scalar(
        &filter(&input, &BooleanArray::new(selected.clone(), None))?,
        pattern,
    )?;
    // Candidates keep their full match (the input there is not null, so
    // neither is the match); every other row keeps `pre` (false or null).
    let mut bits = BooleanBufferBuilder::new(pre.len());
    bits.append_buffer(pre.values());
    for (row, matched) in selected.set_indices().zip(full.values().iter()) {
        if !matched {
            bits.set_bit(row, false);
        }
    }
    Ok(BooleanArray::new(bits.finish(), pre.nulls().cloned()))
}

/// Arrow's `LIKE` of a string array against one pattern.
fn like_scalar(input: &ArrayRef, pattern: &str) -> Result<BooleanArray> {
    Ok(match input.data_type() {
        DataType::Utf8 => like(input, &StringArray::new_scalar(pattern))?,
        DataType::LargeUtf8 => like(input, &LargeStringArray::new_scalar(pattern))?,
        _ => like(input, &StringViewArray::new_scalar(pattern))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_only_regex_patterns() {
        for fast in ["/etc/shadow", "/etc/%", "%.so", "%WRONLY%", "%a\\_b%"] {
            assert_eq!(plan_pattern(fast), None, "{fast}");
        }
        let p = plan_pattern("%O_WRONLY%").unwrap();
        assert_eq!(p.candidates, "%WRONLY%");
        assert_eq!(p.prefix, None);
        assert_eq!(plan_pattern("%O_WRONLY").unwrap().candidates, "%WRONLY%");
        let p = plan_pattern("/etc/%.conf").unwrap();
        assert_eq!(p.candidates, "/etc/%");
        assert_eq!(p.prefix.as_deref(), Some("/etc/%"));
        assert_eq!(plan_pattern("%a_b%"), None, "no literal run of 2 bytes");
    }

    #[test]
    fn same_result_as_like() {
        let values: ArrayRef = Arc::new(StringViewArray::from(vec![
            Some("O_WRONLY|O_CREAT"),
            None,
            Some("O_RDONLY"),
            Some("OXWRONLY"),
            Some("WRONLY"),
            Some("a much longer flags string with O_WRONLY inside"),
            Some(""),
        ]));
        for (pattern, candidates) in [("%O_WRONLY%", "%WRONLY%"), ("O_%ONLY", "O%")] {
            let got = evaluate(&values, pattern, candidates).unwrap();
            let want = like_scalar(&values, pattern).unwrap();
            assert_eq!(got, want, "{pattern}");
        }
    }
}
