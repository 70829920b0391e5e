//! Builds the plugins workspace for wasm32-wasip2 so `cargo test` needs no
//! extra step, and exposes each component's path as a constant.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let plugins = manifest.join("../plugins");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    // Sources only: `plugins/target` changes on every build.
    for source in [
        "Cargo.toml",
        "Cargo.lock",
        "sdk",
        "my-models",
        "todos",
        "notes",
        "fixtures",
    ] {
        println!("cargo:rerun-if-changed=../plugins/{source}");
    }
    println!("cargo:rerun-if-changed=../wit");

    let target_dir = plugins.join("target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(&plugins)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    // The outer build's settings are for the host target, not the guests.
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key == "RUSTFLAGS" {
            build.env_remove(key);
        }
    }
    let status = build
        .status()
        .expect("running cargo for the plugins workspace");
    assert!(
        status.success(),
        "building plugins/ for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );

    let wasm = target_dir.join("wasm32-wasip2/release");
    let mut consts = String::new();
    for name in [
        "my_models",
        "todos",
        "notes",
        "echo",
        "mirror",
        "gate",
        "spin",
        "hog",
        "crash",
        "halfway",
        "probe",
        "probe_wide",
    ] {
        let path = wasm.join(format!("{name}.wasm"));
        assert!(path.exists(), "{} was not built", path.display());
        consts.push_str(&format!(
            "/// Path of the built `{name}` component.\npub const {}: &str = {:?};\n",
            name.to_uppercase(),
            path.display().to_string()
        ));
    }
    std::fs::write(out.join("components.rs"), consts).expect("writing components.rs");
}
