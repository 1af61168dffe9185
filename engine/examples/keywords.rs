//! Prints the keyword reference generated from the registry:
//! `cargo run -p keepalived-engine --example keywords > docs/keywords.md`.

fn main() {
    print!("{}", keepalived_engine::config::registry::markdown());
}
