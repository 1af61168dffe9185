//! Writes the manual pages and the bash completion into a directory, for packages:
//! `cargo run -p keepalived-linux --example manual -- DIR` gives `DIR/keepalived-rs.8`,
//! `DIR/keepalived.conf.5` and `DIR/keepalived-rs.bash`.

use keepalived_linux::tools::manual;

fn main() {
    let Some(dir) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: manual DIR");
        std::process::exit(2);
    };
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        std::process::exit(1);
    }
    write("keepalived-rs.8", manual::daemon_page());
    write("keepalived.conf.5", manual::config_page());
    write("keepalived-rs.bash", manual::bash_completion());
}
