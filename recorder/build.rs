//! Builds the kernel programs (`hindsight-recorder-ebpf`) for bpfel with
//! aya-build. Nightly by default; `HINDSIGHT_EBPF_TOOLCHAIN=stable` (or any
//! rustup toolchain name) builds them with that toolchain and
//! `RUSTC_BOOTSTRAP=1` instead (it needs rust-src and bpf-linker either way).

use std::path::PathBuf;

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
    // `cargo clippy` and `cargo test` run this script with different
    // OUT_DIRs, and aya-build builds the programs under OUT_DIR: the same
    // programs were built twice (about a minute each, with core from
    // source). They are built once per profile, in `target/<profile>/ebpf`,
    // and copied here.
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let shared = out_dir
        .ancestors()
        .nth(3)
        .map_or_else(|| out_dir.clone(), |profile| profile.join("ebpf"));
    std::fs::create_dir_all(&shared).expect("creating the eBPF build directory");
    // SAFETY: build scripts are single-threaded here.
    unsafe { std::env::set_var("OUT_DIR", &shared) };
    let built = aya_build::build_ebpf(
        [Package {
            name: "hindsight-recorder-ebpf",
            root_dir: &root_dir,
            ..Default::default()
        }],
        toolchain,
    );
    // SAFETY: as above.
    unsafe { std::env::set_var("OUT_DIR", &out_dir) };
    if let Err(err) = built {
        panic!(
            "building the eBPF programs failed: {err:#}\n\
             (needs `rustup component add rust-src --toolchain nightly` and \
             `cargo install bpf-linker --version 0.10.4 --locked`; see scripts/setup.sh)"
        );
    }
    if shared != out_dir {
        let name = "hindsight-recorder-ebpf";
        std::fs::copy(shared.join(name), out_dir.join(name))
            .expect("copying the eBPF programs into OUT_DIR");
    }
}
