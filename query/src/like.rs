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
//! still pruned on it. On a low-cardinality column (dictionary-encoded in
//! the segments, so its rows share a few string views per batch) the
//! pattern is matched once per distinct view, not once per row.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayAccessor, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, LargeStringArray,
    StringArray, StringViewArray,
};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::comparison::like;
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

/// `input LIKE pattern`, the regex run only where `input LIKE candidates`;
/// on string views that repeat (read from a dictionary-encoded column), once
/// per distinct view.
fn evaluate(input: &ArrayRef, pattern: &str, candidates: &str) -> Result<BooleanArray> {
    let input = match input.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Arc::clone(input),
        _ => cast(input, &DataType::Utf8View)?,
    };
    if let Some(views) = input.as_any().downcast_ref::<StringViewArray>()
        && let Some(distinct) = distinct_views(views)
    {
        let matched = evaluate_rows(
            &(Arc::new(distinct.values) as ArrayRef),
            pattern,
            candidates,
        )?;
        let matched: Vec<bool> = matched.values().iter().collect();
        let rows = &distinct.row_value;
        let bits = BooleanBuffer::collect_bool(rows.len(), |i| {
            // Null rows point at 0, which an all-null batch does not have.
            matched.get(rows[i] as usize).copied().unwrap_or(false)
        });
        return Ok(BooleanArray::new(bits, views.nulls().cloned()));
    }
    evaluate_rows(&input, pattern, candidates)
}

/// The distinct values of a string view array and each row's index among
/// them (0 for null rows, whose result is masked by the input's nulls).
struct DistinctViews {
    values: StringViewArray,
    row_value: Vec<u32>,
}

/// Largest share of distinct views (1 in N rows) for which matching once
/// per distinct view pays off.
const DISTINCT_SHARE: usize = 8;

/// Slots of the open-addressing table of [`distinct_views`] (a power of
/// two); at most half are used.
const SLOTS: usize = 256;

/// Groups the rows of `views` by their 16-byte view: equal views hold equal
/// strings (the same inline bytes, or the same bytes of the same buffer).
/// Rows decoded from a Parquet dictionary page share their value's view, so
/// a low-cardinality column has a handful per batch. `None` when there are
/// more than `SLOTS / 2` distinct views or more than one row in
/// [`DISTINCT_SHARE`] has a view of its own (matching every row is then as
/// cheap).
fn distinct_views(views: &StringViewArray) -> Option<DistinctViews> {
    const EMPTY: u32 = u32::MAX;
    let limit = (views.len() / DISTINCT_SHARE).clamp(16, SLOTS / 2);
    let mut keys = [0u128; SLOTS];
    let mut slots = [EMPTY; SLOTS];
    let mut first_rows: Vec<usize> = Vec::new();
    let mut row_value = Vec::with_capacity(views.len());
    let nulls = views.nulls();
    for (row, &view) in views.views().iter().enumerate() {
        if nulls.is_some_and(|n| n.is_null(row)) {
            row_value.push(0);
            continue;
        }
        let mixed = ((view as u64) ^ ((view >> 64) as u64).rotate_left(29))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut slot = (mixed >> 56) as usize & (SLOTS - 1);
        let index = loop {
            if slots[slot] == EMPTY {
                if first_rows.len() >= limit {
                    return None;
                }
                let index = first_rows.len() as u32;
                first_rows.push(row);
                keys[slot] = view;
                slots[slot] = index;
                break index;
            }
            if keys[slot] == view {
                break slots[slot];
            }
            slot = (slot + 1) & (SLOTS - 1);
        };
        row_value.push(index);
    }
    let values = StringViewArray::from_iter_values(first_rows.iter().map(|&r| views.value(r)));
    Some(DistinctViews { values, row_value })
}

/// [`evaluate`] row by row.
fn evaluate_rows(input: &ArrayRef, pattern: &str, candidates: &str) -> Result<BooleanArray> {
    let pre = like_scalar(input, candidates)?;
    // The candidate rows: true and not null.
    let selected = match pre.nulls() {
        Some(nulls) => pre.values() & nulls.inner(),
        None => pre.values().clone(),
    };
    if selected.count_set_bits() == 0 {
        return Ok(pre);
    }
    // Candidates keep their full match (the input there is not null, so
    // neither is the match); every other row keeps `pre` (false or null).
    let regex = pattern_regex(pattern)?;
    let mut bits = BooleanBufferBuilder::new(pre.len());
    bits.append_buffer(pre.values());
    match input.data_type() {
        DataType::Utf8 => unset_misses(input.as_string::<i32>(), &regex, &selected, &mut bits),
        DataType::LargeUtf8 => unset_misses(input.as_string::<i64>(), &regex, &selected, &mut bits),
        _ => unset_misses(input.as_string_view(), &regex, &selected, &mut bits),
    }
    Ok(BooleanArray::new(bits.finish(), pre.nulls().cloned()))
}

/// Clears the bit of each selected row whose string `regex` does not match.
fn unset_misses<'a>(
    strings: impl ArrayAccessor<Item = &'a str>,
    regex: &regex::Regex,
    selected: &BooleanBuffer,
    bits: &mut BooleanBufferBuilder,
) {
    for row in selected.set_indices() {
        if !regex.is_match(strings.value(row)) {
            bits.set_bit(row, false);
        }
    }
}

thread_local! {
    /// Compiled patterns of this thread (Arrow's `LIKE` compiles its regex
    /// on every call, that is every batch: a tenth of *writes under /etc*).
    static REGEXES: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> =
        std::cell::RefCell::default();
}

/// The regex of a `LIKE` pattern without escapes (the only ones
/// [`plan_pattern`] plans): `%` any run, `_` any one character, anything
/// else itself; the whole string must match, newlines included.
fn pattern_regex(pattern: &str) -> Result<regex::Regex> {
    if let Some(r) = REGEXES.with(|m| m.borrow().get(pattern).cloned()) {
        return Ok(r);
    }
    let mut text = String::with_capacity(pattern.len() * 2 + 2);
    text.push('^');
    for c in pattern.chars() {
        match c {
            '%' => text.push_str(".*"),
            '_' => text.push('.'),
            c => text.push_str(&regex::escape(c.encode_utf8(&mut [0; 4]))),
        }
    }
    text.push('$');
    let regex = regex::RegexBuilder::new(&text)
        .dot_matches_new_line(true)
        .build()
        .map_err(|e| {
            datafusion::common::DataFusionError::Execution(format!("LIKE '{pattern}': {e}"))
        })?;
    REGEXES.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 64 {
            m.clear();
        }
        m.insert(pattern.to_string(), regex.clone());
    });
    Ok(regex)
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
    fn compiled_patterns_match_like_arrow() {
        let strings = [
            Some("/etc/ssh/sshd_config"),
            Some("/etc/ld.so.conf"),
            Some("/etc/ldXsoYconf"),
            Some("a.b+c(d)[e]{f}^$|?*"),
            Some("line\nbreak_x"),
            Some("é_ü/ß"),
            Some(""),
            None,
        ];
        for array in [
            Arc::new(StringArray::from(strings.to_vec())) as ArrayRef,
            Arc::new(LargeStringArray::from(strings.to_vec())) as ArrayRef,
            Arc::new(StringViewArray::from(strings.to_vec())) as ArrayRef,
        ] {
            for (pattern, candidates) in [
                ("/etc/%_config", "/etc/%"),
                ("/etc/ld.so%", "/etc/%"),
                ("%.b+c(d)[e]{f}^$|?*", "%b+c(d)[e]{f}^$|?*%"),
                ("line%break__", "line%"),
                ("__ü/%", "%ü/%"),
                ("%_%", "%%"),
            ] {
                let got = evaluate_rows(&array, pattern, candidates).unwrap();
                let want = like_scalar(&array, pattern).unwrap();
                assert_eq!(got, want, "{pattern} on {}", array.data_type());
            }
        }
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

    /// Repeated values (as read from a dictionary page) take the
    /// once-per-distinct-view path; the answer is Arrow's `LIKE`.
    #[test]
    fn repeated_views_same_result_as_like() {
        let distinct = [
            Some("O_WRONLY|O_CREAT|O_TRUNC"),
            None,
            Some("O_RDONLY"),
            Some("O_RDWR|O_CLOEXEC"),
            Some("O_WRONLY"),
            Some("a much longer flags string with O_RDWR inside"),
            Some(""),
        ];
        let rows: Vec<Option<&str>> = (0..1000).map(|i| distinct[(i * 7 + i / 3) % 7]).collect();
        // A dictionary cast to views: each row's view points at its
        // dictionary value's bytes, as the Parquet reader decodes them.
        let dict: datafusion::arrow::array::DictionaryArray<
            datafusion::arrow::datatypes::Int32Type,
        > = rows.into_iter().collect();
        let values = cast(&dict, &DataType::Utf8View).unwrap();
        let views = values.as_any().downcast_ref::<StringViewArray>().unwrap();
        assert!(distinct_views(views).is_some(), "few distinct views");
        for (pattern, candidates) in [("%O_WRONLY%", "%WRONLY%"), ("%O_RDWR%", "%RDWR%")] {
            let got = evaluate(&values, pattern, candidates).unwrap();
            let want = like_scalar(&values, pattern).unwrap();
            assert_eq!(got, want, "{pattern}");
            assert!(got.true_count() > 0 && got.null_count() > 0, "{pattern}");
        }
        // All null: no distinct value at all.
        let nothing: ArrayRef = Arc::new(StringViewArray::from(vec![None::<&str>; 100]));
        let got = evaluate(&nothing, "%O_WRONLY%", "%WRONLY%").unwrap();
        assert_eq!(got, like_scalar(&nothing, "%O_WRONLY%").unwrap());
        // All distinct: matched row by row, same answer.
        let unique: Vec<String> = (0..1000).map(|i| format!("/tmp/O_WRONLY/{i}")).collect();
        let unique: ArrayRef = Arc::new(StringViewArray::from_iter_values(unique));
        let views = unique.as_any().downcast_ref::<StringViewArray>().unwrap();
        assert!(distinct_views(views).is_none(), "every view distinct");
        let got = evaluate(&unique, "%O_WRONLY%", "%WRONLY%").unwrap();
        assert_eq!(got, like_scalar(&unique, "%O_WRONLY%").unwrap());
    }
}
