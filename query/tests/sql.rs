//! Snapshot tests: each `tests/sql/NAME.sql` runs against the test recording
//! (or the fleet tree when its first line is `-- fixture: fleet`) and its
//! results are compared with `tests/snapshots/sql__NAME.snap`.

mod common;

use std::path::Path;

use hindsight_query::output::table_string;
use hindsight_query::{SessionOptions, run_sql, session};

async fn render(sql_file: &Path) -> String {
    let sql = std::fs::read_to_string(sql_file).expect("read sql");
    let fixture = if sql.starts_with("-- fixture: fleet") {
        common::fleet()
    } else {
        common::small()
    };
    let ctx = session(&[fixture], SessionOptions::default())
        .await
        .expect("session");
    let mut out = String::new();
    let frames = match run_sql(&ctx, &sql).await {
        Ok(f) => f,
        Err(e) => panic!("{}: {e}", sql_file.display()),
    };
    for df in frames {
        let batches = df.collect().await.expect("collect");
        out.push_str(&table_string(&batches).expect("render"));
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/sql")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "expected the forensic question files");
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().to_string();
        let output = render(&file).await;
        let sql = std::fs::read_to_string(&file).unwrap();
        insta::with_settings!({
            description => sql.trim(),
            omit_expression => true,
            prepend_module_to_snapshot => true,
        }, {
            insta::assert_snapshot!(name, output);
        });
    }
}
