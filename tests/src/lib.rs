//! Helpers shared by the integration tests.

pub mod bfd;
pub mod fifo;
pub mod host;
pub mod iproute;
pub mod snmp;
pub mod wire;

use keepalived_engine::config::{load, Loaded, ParseOptions};
use keepalived_linux::host::hostfs::HostFs;
use std::path::{Path, PathBuf};

/// The directory of this crate: tests run with it as the working directory, so config
/// paths in diagnostics are relative and snapshots do not depend on the checkout path.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Loads a corpus config by its path relative to this crate, as `-i r1` would.
pub fn load_corpus(rel: &str) -> Loaded {
    std::env::set_current_dir(crate_dir()).expect("crate dir exists");
    load(
        &HostFs,
        Path::new(rel),
        &ParseOptions::default().with_config_id("r1"),
    )
}

/// Every `*.conf` directly in `dir`, sorted.
pub fn conf_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    v.sort();
    v
}
