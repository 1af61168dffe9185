//! `keepalived-sim`: the deterministic cluster simulator. The simulator itself is built
//! in its own issue; until then this binary checks the configs it would simulate.

use keepalived_engine::config::{load, ParseOptions};
use keepalived_linux::hostfs::HostFs;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("keepalived-sim: the cluster simulator is not built yet; `keepalived-sim FILE...` checks configs for it");
        return ExitCode::from(2);
    }
    let mut worst = 0;
    for f in files {
        let l = load(&HostFs, Path::new(&f), &ParseOptions::default());
        for d in l.diagnostics.iter() {
            eprintln!("{d}");
        }
        println!(
            "{f}: {} instances, exit code {}",
            l.config.instances.len(),
            l.diagnostics.exit_code()
        );
        worst = worst.max(l.diagnostics.exit_code());
    }
    ExitCode::from(worst as u8)
}
