//! The seam stays sealed by its dependencies: nothing built on these traits can reach
//! RocksDB, tokio or I/O, because this crate (and the one workspace crate it uses) does not
//! depend on them. Cargo enforces the imports; this test keeps the manifests honest.

/// Names in a manifest's `[dependencies]` table.
fn dependencies(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once(['=', '.']) {
                out.push(name.trim().to_owned());
            }
        }
    }
    out
}

#[test]
fn the_engine_crate_depends_on_nothing_that_does_io() {
    let engine = dependencies(include_str!("../Cargo.toml"));
    assert_eq!(engine, ["tandem-shared", "thiserror"], "engine/Cargo.toml");
    let shared = dependencies(include_str!("../../shared/Cargo.toml"));
    assert!(
        !shared.is_empty(),
        "shared/Cargo.toml has dependencies to check"
    );
    for forbidden in ["rocksdb", "tokio", "tokio-util", "nix"] {
        assert!(
            !shared.iter().any(|d| d == forbidden),
            "tandem-shared, which the engine crate uses, must not depend on {forbidden}"
        );
    }
}
