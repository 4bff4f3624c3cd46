//! Builds the kernel programs (`hindsight-recorder-ebpf`) for bpfel with
//! aya-build. Nightly by default; `HINDSIGHT_EBPF_TOOLCHAIN=stable` (or any
//! rustup toolchain name) builds them with that toolchain and
//! `RUSTC_BOOTSTRAP=1` instead (it needs rust-src and bpf-linker either way).

use aya_build::{Package, Toolchain};

fn main() {
    println!("cargo:rerun-if-env-changed=HINDSIGHT_EBPF_TOOLCHAIN");
    let meta = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .expect("cargo metadata");
    let ebpf = meta
        .packages
        .iter()
        .find(|p| p.name.as_str() == "hindsight-recorder-ebpf")
        .expect("the workspace has hindsight-recorder-ebpf");
    let root_dir = ebpf
        .manifest_path
        .parent()
        .expect("manifest has a directory")
        .as_str()
        .to_string();
    let requested = std::env::var("HINDSIGHT_EBPF_TOOLCHAIN").unwrap_or_default();
    let toolchain = match requested.as_str() {
        "" | "nightly" => Toolchain::Nightly,
        other => {
            // SAFETY: build scripts are single-threaded here.
            unsafe { std::env::set_var("RUSTC_BOOTSTRAP", "1") };
            Toolchain::Custom(other)
        }
    };
    if let Err(err) = aya_build::build_ebpf(
        [Package {
            name: "hindsight-recorder-ebpf",
            root_dir: &root_dir,
            ..Default::default()
        }],
        toolchain,
    ) {
        panic!(
            "building the eBPF programs failed: {err:#}\n\
             (needs `rustup component add rust-src --toolchain nightly` and \
             `cargo install bpf-linker --version 0.10.4 --locked`; see scripts/setup.sh)"
        );
    }
}
