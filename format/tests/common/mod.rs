//! Helpers shared by the recording tests.

use hindsight_format::generate::{Generator, GeneratorConfig};
use hindsight_format::{Event, Manifest};

/// `n` synthetic events (seq 0..n) from `seed`.
pub fn events(n: u64, seed: u64) -> Vec<Event> {
    Generator::new(GeneratorConfig {
        events: n,
        seed,
        ..Default::default()
    })
    .next_batch(n as usize)
}

/// What a recorder knows about itself before the first event.
pub fn header() -> Manifest {
    let mut m = Manifest {
        host_name: "test-host".into(),
        kernel_release: "6.18.0".into(),
        boot_id: "b0".into(),
        ..Default::default()
    };
    m.set_start(1_795_161_600_000_000_000);
    m
}
