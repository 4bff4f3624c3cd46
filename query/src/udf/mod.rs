//! Scalar functions for forensics: `basename`, `dirname`, `path_match`,
//! `errno_name`, `open_flags`, `cidr_match`, `human_duration`.
//!
//! Each one is NULL in, NULL out; see the book's query chapter for examples.

mod errno;
mod misc;
mod path;

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};

pub use errno::errno_name;
pub use misc::{format_duration_ns, open_flags_symbolic};

/// Names of the scalar functions [`register`] adds (for completion and docs).
pub const NAMES: &[&str] = &[
    "basename",
    "dirname",
    "path_match",
    "errno_name",
    "open_flags",
    "cidr_match",
    "human_duration",
];

/// Registers every Hindsight scalar function on `ctx`.
pub fn register(ctx: &SessionContext) {
    for udf in all() {
        ctx.register_udf(udf);
    }
}

/// Every Hindsight scalar function.
pub fn all() -> Vec<ScalarUDF> {
    vec![
        str_to_str("basename", path::basename),
        str_to_str("dirname", path::dirname),
        path::path_match_udf(),
        int_to_str("errno_name", |v| errno_name(v).map(str::to_string)),
        misc::open_flags_udf(),
        misc::cidr_match_udf(),
        int_to_str("human_duration", |v| Some(format_duration_ns(v))),
    ]
}

/// True when every argument is a scalar: the result is then a scalar too.
pub(crate) fn all_scalar(args: &[ColumnarValue]) -> bool {
    args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)))
}

/// Turns a one-row-per-input result back into a scalar when the inputs were.
pub(crate) fn finish(scalar: bool, out: ArrayRef) -> Result<ColumnarValue> {
    if scalar {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
    } else {
        Ok(ColumnarValue::Array(out))
    }
}

/// Every argument as an array of one common length.
pub(crate) fn arrays(args: &[ColumnarValue]) -> Result<Vec<ArrayRef>> {
    ColumnarValue::values_to_arrays(args)
}

/// Casts an argument array to `Utf8` (it may arrive as a view or dictionary).
pub fn utf8_array(array: &ArrayRef) -> Result<StringArray> {
    let cast = datafusion::arrow::compute::cast(array, &DataType::Utf8)?;
    Ok(cast
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("cast to Utf8")
        .clone())
}

/// Casts an argument array to `Int64`.
pub(crate) fn int64(array: &ArrayRef) -> Result<datafusion::arrow::array::Int64Array> {
    let cast = datafusion::arrow::compute::cast(array, &DataType::Int64)?;
    Ok(cast
        .as_any()
        .downcast_ref::<datafusion::arrow::array::Int64Array>()
        .expect("cast to Int64")
        .clone())
}

fn str_to_str(name: &str, f: fn(&str) -> Option<&str>) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let scalar = all_scalar(args);
            let input = utf8_array(&arrays(args)?[0])?;
            let out: StringArray = input.iter().map(|v| v.and_then(f)).collect();
            finish(scalar, Arc::new(out))
        }),
    )
}

fn int_to_str(name: &str, f: fn(i64) -> Option<String>) -> ScalarUDF {
    create_udf(
        name,
        vec![DataType::Int64],
        DataType::Utf8,
        Volatility::Immutable,
        Arc::new(move |args: &[ColumnarValue]| {
            let scalar = all_scalar(args);
            let input = int64(&arrays(args)?[0])?;
            let out: StringArray = input.iter().map(|v| v.and_then(f)).collect();
            finish(scalar, Arc::new(out))
        }),
    )
}

/// Builds a boolean result from a per-row function over two string columns.
pub(crate) fn two_str_to_bool(
    args: &[ColumnarValue],
    mut f: impl FnMut(&str, &str) -> Result<bool>,
) -> Result<ColumnarValue> {
    let scalar = all_scalar(args);
    let arrays = arrays(args)?;
    let (a, b) = (utf8_array(&arrays[0])?, utf8_array(&arrays[1])?);
    let mut out = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) || b.is_null(i) {
            out.push(None);
        } else {
            out.push(Some(f(a.value(i), b.value(i))?));
        }
    }
    finish(scalar, Arc::new(BooleanArray::from(out)))
}
