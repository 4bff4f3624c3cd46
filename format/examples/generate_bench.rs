//! Measures synthetic generation + writing: events/s and bytes/event.
//!
//! `cargo run --release -p hindsight-format --example generate_bench -- [EVENTS]`

use std::time::Instant;

use hindsight_format::generate::{Generator, GeneratorConfig, generate_recording, writer_options};

fn main() {
    let events: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let cfg = GeneratorConfig {
        events,
        ..Default::default()
    };

    let t = Instant::now();
    let mut g = Generator::new(cfg.clone());
    let mut n = 0;
    loop {
        let b = g.next_batch(65_536);
        if b.is_empty() {
            break;
        }
        n += b.len();
    }
    let gen_secs = t.elapsed().as_secs_f64();
    println!(
        "generate only:   {n} events in {gen_secs:.2}s = {:.2}M events/s",
        n as f64 / gen_secs / 1e6
    );

    let tmp = std::env::temp_dir().join(format!("hindsight-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let t = Instant::now();
    let m = generate_recording(&tmp, &cfg, writer_options(1 << 20), &mut |_| {}).expect("generate");
    let secs = t.elapsed().as_secs_f64();
    let bytes = m.segment_bytes();
    let arrow: u64 = m.segments.iter().map(|s| s.arrow_bytes).sum();
    println!(
        "generate + write: {} events in {secs:.2}s = {:.2}M events/s, {bytes} bytes, {:.1} bytes/event, compression {:.1}x",
        m.rows(),
        m.rows() as f64 / secs / 1e6,
        bytes as f64 / m.rows() as f64,
        arrow as f64 / bytes as f64
    );
    let t = Instant::now();
    let rec = hindsight_format::Recording::open(&tmp).expect("open");
    let mut rows = 0;
    for b in rec.batches(None) {
        rows += b.expect("batch").num_rows();
    }
    let rsecs = t.elapsed().as_secs_f64();
    println!(
        "read back (all columns): {rows} rows in {rsecs:.2}s = {:.2}M rows/s",
        rows as f64 / rsecs / 1e6
    );
    let t = Instant::now();
    let ev = rec.events().count();
    let esecs = t.elapsed().as_secs_f64();
    println!(
        "read back as Event: {ev} in {esecs:.2}s = {:.2}M events/s",
        ev as f64 / esecs / 1e6
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
