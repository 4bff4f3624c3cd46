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

/// Every row of the recording at `dir`, read back.
pub fn read_all(dir: &std::path::Path) -> Vec<Event> {
    hindsight_format::Recording::open(dir)
        .unwrap()
        .events()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// A 2 MiB tmpfs mounted on a temporary directory, unmounted on drop
/// (mounting needs root, as the project's test machines run).
pub struct SmallTmpfs(tempfile::TempDir);

impl SmallTmpfs {
    /// Mounts it; `None` (with a note on stderr) when that is not allowed.
    pub fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIPPED: cannot mount a small tmpfs (not root?)");
            return None;
        }
        Some(SmallTmpfs(dir))
    }

    /// Where it is mounted.
    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}
