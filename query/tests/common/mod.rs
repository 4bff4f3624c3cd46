//! The committed fixture recordings (`fixtures/recordings/`, made by
//! `scripts/regen-fixtures.sh`; see its README).

// Each test binary uses only some of these.
#![allow(dead_code)]

use std::path::PathBuf;

use hindsight_query::{SessionOptions, run_sql, session};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recordings")
}

/// The single-host recording (20 000 events of web-1).
pub fn small() -> String {
    fixtures().join("synthetic-small").display().to_string()
}

/// The fleet tree (`host=NAME/date=DAY/rec/`).
pub fn fleet() -> String {
    fixtures().join("fleet").display().to_string()
}

/// The single `Int64` that `sql` (a `SELECT count(*) ...`) returns over the
/// recording at `path`, or the error's text.
pub async fn single_i64(path: &str, sql: &str) -> Result<i64, String> {
    let ctx = session(&[path.to_string()], SessionOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let frames = run_sql(&ctx, sql).await.map_err(|e| e.to_string())?;
    let batches = frames
        .into_iter()
        .next()
        .expect("one statement")
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let col = batches[0].column(0);
    let v = col
        .as_any()
        .downcast_ref::<hindsight_query::datafusion::arrow::array::Int64Array>()
        .expect("an Int64 column");
    Ok(v.value(0))
}
