//! Reading for replay: `Recording::view_batches` (string columns as
//! `Utf8View`) and `EventColumns::fill_next` (one reused `Event`, strings
//! equal to the row before not copied) give exactly the rows that
//! `Recording::events` gives, with every column or a projection.

use hindsight_format::batch::{EventColumns, Spare};
use hindsight_format::generate::{GeneratorConfig, generate_recording};
use hindsight_format::{Event, Recording, WriterOptions};

fn recording(dir: &std::path::Path) -> Recording {
    let cfg = GeneratorConfig {
        events: 60_000,
        ..GeneratorConfig::default()
    };
    let opts = WriterOptions {
        segment_rows: 25_000,
        row_group_rows: 4_096,
        spool: false,
        ..WriterOptions::default()
    };
    generate_recording(&dir.join("rec"), &cfg, opts, &mut |_| {}).expect("generate");
    Recording::open(dir.join("rec")).expect("open")
}

fn read_with_fill_next(rec: &Recording, columns: Option<&[&str]>) -> Vec<Event> {
    let mut out = Vec::new();
    let mut ev = Event::default();
    let mut spare = Spare::default();
    for b in rec.view_batches(columns) {
        let b = b.expect("batch");
        assert!(
            b.schema()
                .fields()
                .iter()
                .all(|f| f.data_type() != &arrow::datatypes::DataType::Utf8),
            "string columns should be views"
        );
        let cols = EventColumns::new(&b).expect("columns");
        for i in 0..b.num_rows() {
            cols.fill_next(i, &mut ev, &mut spare);
            out.push(ev.clone());
        }
    }
    out
}

#[test]
fn fill_next_over_views_gives_every_row_as_events_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = recording(dir.path());
    let want: Vec<Event> = rec.events().map(|e| e.expect("row")).collect();
    assert_eq!(want.len(), 60_000);
    assert_eq!(read_with_fill_next(&rec, None), want);
}

#[test]
fn projected_view_reads_keep_the_columns_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rec = recording(dir.path());
    let cols: Vec<&str> = hindsight_format::reader::REQUIRED_COLUMNS
        .iter()
        .copied()
        .chain(["syscall", "file_path", "process_executable"])
        .collect();
    let got = read_with_fill_next(&rec, Some(&cols));
    let want: Vec<Event> = rec
        .events()
        .map(|e| {
            let e = e.expect("row");
            Event {
                time_ns: e.time_ns,
                seq: e.seq,
                host_name: e.host_name,
                boot_id: e.boot_id,
                event_kind: e.event_kind,
                process_pid: e.process_pid,
                thread_id: e.thread_id,
                syscall: e.syscall,
                file_path: e.file_path,
                process_executable: e.process_executable,
                ..Event::default()
            }
        })
        .collect();
    assert_eq!(got, want);
}
