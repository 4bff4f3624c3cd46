//! The committed fixtures: reproducible, readable by DuckDB and pyarrow, and
//! documented column by column in the book.

use std::path::{Path, PathBuf};
use std::process::Command;

use hindsight_format::generate::{GeneratorConfig, generate_recording, writer_options};
use hindsight_format::manifest::parse_rfc3339;
use hindsight_format::reader::{OpenOptions, discover};
use hindsight_format::{COLUMNS, Event, Manifest, Recording};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn small() -> PathBuf {
    repo().join("fixtures/recordings/synthetic-small")
}

fn all_events(dir: &Path) -> Vec<Event> {
    Recording::open(dir)
        .unwrap()
        .events()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The exact arguments of scripts/regen-fixtures.sh.
#[test]
fn regenerating_the_small_fixture_gives_identical_rows_and_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rec");
    let cfg = GeneratorConfig {
        seed: 1,
        events: 20_000,
        host_name: "web-1".into(),
        start_time_ns: parse_rfc3339("2026-11-20T08:00:00Z").unwrap(),
        ..Default::default()
    };
    let fresh = generate_recording(&out, &cfg, writer_options(8192), &mut |_| {}).unwrap();
    let committed = Manifest::read(&small()).unwrap();
    assert_eq!(
        all_events(&out),
        all_events(&small()),
        "rows differ: run scripts/regen-fixtures.sh"
    );
    let hashes = |m: &Manifest| {
        m.segments
            .iter()
            .map(|s| s.sha256.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        hashes(&fresh),
        hashes(&committed),
        "segment bytes differ: run scripts/regen-fixtures.sh"
    );
    assert_eq!(
        fresh.to_json(),
        committed.to_json(),
        "manifest differs: run scripts/regen-fixtures.sh"
    );
}

#[test]
fn fixtures_verify() {
    let rec = Recording::open_with(
        small(),
        OpenOptions {
            verify: true,
            salvage: true,
        },
    )
    .unwrap();
    assert_eq!(rec.rows(), 20_000);
    assert!(rec.manifest().complete);
    assert!(rec.manifest().segments.len() >= 2);
    let total: u64 = std::fs::read_dir(small().join("events"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(total < 1_000_000, "fixture too big: {total} bytes");
    let fleet = discover(&repo().join("fixtures/recordings/fleet")).unwrap();
    assert_eq!(fleet.len(), 2);
    for f in fleet {
        Recording::open_with(
            &f.path,
            OpenOptions {
                verify: true,
                salvage: true,
            },
        )
        .unwrap();
        let host = &f.partitions[0];
        assert_eq!(host.0, "host");
        assert_eq!(Manifest::read(&f.path).unwrap().host_name, host.1);
    }
}

const PY: &str = r#"
import sys, json
try:
    import duckdb, pyarrow.parquet as pq
except ImportError as e:
    print("SKIP", e); sys.exit(0)
d = sys.argv[1]
glob = d + "/events/*.parquet"
con = duckdb.connect()
types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()}
count = con.execute(f"SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM read_parquet('{glob}')").fetchone()
kinds = dict(con.execute(f"SELECT event_kind, count(*) FROM read_parquet('{glob}') GROUP BY 1").fetchall())
argv = con.execute(f"SELECT process_args FROM read_parquet('{glob}') WHERE event_kind = 'process_exec' ORDER BY seq LIMIT 1").fetchone()[0]
import glob as g
t = pq.read_table(sorted(g.glob(glob)))
print(json.dumps({
    "duckdb_types": types,
    "duckdb_count": list(count),
    "kinds": kinds,
    "argv": argv,
    "pyarrow_rows": t.num_rows,
    "pyarrow_types": {f.name: str(f.type) for f in t.schema},
}))
"#;

#[test]
fn duckdb_and_pyarrow_read_segments_unchanged() {
    let out = match Command::new("python3")
        .arg("-c")
        .arg(PY)
        .arg(small())
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            println!("SKIPPED: cannot run python3: {e}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(reason) = stdout.strip_prefix("SKIP") {
        println!("SKIPPED: python3 lacks duckdb or pyarrow:{reason}");
        return;
    }
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let d = &v["duckdb_types"];
    assert_eq!(d["time"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(d["time_ns"], "BIGINT");
    assert_eq!(d["seq"], "UBIGINT");
    assert_eq!(d["event_kind"], "VARCHAR");
    assert_eq!(d["process_args"], "VARCHAR[]");
    assert_eq!(d["process_tty"], "UINTEGER");
    assert_eq!(d["source_port"], "USMALLINT");
    assert_eq!(d["toctou_mismatch"], "BOOLEAN");
    assert_eq!(d["file_path_user_err"], "INTEGER");
    assert_eq!(d.as_object().unwrap().len(), COLUMNS.len());
    assert_eq!(
        v["duckdb_count"],
        serde_json::json!([20000, 20000, 0, 19999])
    );
    assert!(v["kinds"]["process_exec"].as_u64().unwrap() > 0);
    assert!(!v["argv"].as_array().unwrap().is_empty());
    assert_eq!(v["pyarrow_rows"], 20000);
    let p = &v["pyarrow_types"];
    assert_eq!(p["time"], "timestamp[us, tz=UTC]");
    assert_eq!(p["seq"], "uint64");
    assert_eq!(p["process_args"], "list<item: string>");
    assert_eq!(p["lost_events"], "uint64");
}

/// The column table in book/src/format.md must list every column of
/// `COLUMNS`, in order, with the same type and nullability.
#[test]
fn book_column_table_matches_the_schema() {
    let path = repo().join("book/src/format.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    let book: Vec<(String, String, String)> = rows
        .iter()
        .filter(|r| r.len() >= 4)
        .map(|r| {
            (
                r[0].trim_matches('`').to_string(),
                r[1].clone(),
                r[2].clone(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = COLUMNS
        .iter()
        .map(|c| {
            (
                c.name.to_string(),
                c.ty.sql_name().to_string(),
                if c.nullable { "yes" } else { "no" }.to_string(),
            )
        })
        .collect();
    for (i, w) in want.iter().enumerate() {
        assert_eq!(
            book.get(i),
            Some(w),
            "{}: column table row {} should be {w:?}",
            path.display(),
            i + 1
        );
    }
    assert_eq!(
        book.len(),
        want.len(),
        "{}: extra rows in the column table",
        path.display()
    );
}

/// A recording of an older format version lacks the newer trailing columns:
/// reading it with a projection that names them reads the others and treats
/// the missing ones as null (the frozen fixture `format-v2`, without
/// `process_exe_upper_layer`).
#[test]
fn projection_naming_a_newer_column_reads_an_older_recording() {
    let dir = repo().join("fixtures/recordings/format-v2");
    let rec = Recording::open(&dir).unwrap();
    assert_eq!(rec.manifest().format_version, 2, "format-v2 is frozen");
    let mut rows = 0;
    for batch in rec.batches(Some(&["seq", "process_exe_upper_layer", "event_kind"])) {
        let batch = batch.unwrap();
        assert!(batch.schema().index_of("process_exe_upper_layer").is_err());
        assert!(batch.schema().index_of("event_kind").is_ok());
        rows += batch.num_rows();
    }
    assert_eq!(rows as u64, rec.rows());
    let ev = all_events(&dir);
    assert!(ev.iter().all(|e| e.process_exe_upper_layer.is_none()));
}
