//! The keepalived.conf language: lexer (includes, conditionals, definitions, sequences),
//! parser into a typed model with keepalived's defaults, and validation.
//!
//! ```
//! use keepalived_engine::config::{parse_str, ParseOptions};
//! let loaded = parse_str("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n virtual_ipaddress { 10.0.0.1/24 }\n}\n", &ParseOptions::default());
//! assert!(!loaded.diagnostics.has_errors());
//! assert_eq!(loaded.config.instances[0].priority, 100);
//! ```

mod blocks;
mod complete;
mod diag;
mod glob;
pub mod lexer;
pub mod model;
mod parser;
mod source;

pub use diag::{DiagClass, Diagnostic, Diagnostics, Location, Severity};
pub use model::Config;
pub use source::{default_config_id, normalize, ConfigFs, MemFs, ParseOptions};

use std::path::{Path, PathBuf};

/// A parsed configuration with everything said about it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Diagnostics,
    /// Every file read, the main one first.
    pub files: Vec<PathBuf>,
}

/// Reads `path` (and what it includes) through `fs`, parses and validates it. Never
/// fails: problems are in `diagnostics`, and whatever could be read is in `config`.
pub fn load(fs: &dyn ConfigFs, path: &Path, opts: &ParseOptions) -> Loaded {
    let lexer = lexer::Lexer::new(fs, opts, path);
    let mut p = parser::Parser::new(lexer);
    let mut config = Config::default();
    blocks::root(&mut p, &mut config);
    let lx = p.into_lexer();
    let mut diagnostics = lx.diags;
    let files = lx.files;
    if diagnostics.iter().all(|d| d.class != DiagClass::Fatal) {
        complete::complete(&mut config, &mut diagnostics);
    }
    Loaded {
        config,
        diagnostics,
        files,
    }
}

/// Parses one config text held in memory (named `keepalived.conf`).
pub fn parse_str(text: &str, opts: &ParseOptions) -> Loaded {
    let fs = MemFs::new().with("/keepalived.conf", text);
    load(&fs, Path::new("/keepalived.conf"), opts)
}

fn blocks_new_instance() -> model::VrrpInstance {
    blocks::new_instance(String::new())
}

fn parser_fmt_secs(us: u64) -> String {
    parser::fmt_secs(us)
}

/// The fuzzers' entry: bytes split at the first NUL into a main file and a file it may
/// include (`/k/inc.conf`), parsed and validated. Shared with the corpus replay test.
pub fn fuzz_config_input(data: &[u8]) {
    let (main, inc) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let fs = MemFs::new()
        .with("/k/main.conf", String::from_utf8_lossy(main))
        .with("/k/inc.conf", String::from_utf8_lossy(inc));
    let loaded = load(
        &fs,
        Path::new("/k/main.conf"),
        &ParseOptions::default().with_config_id("r1"),
    );
    for d in loaded.diagnostics.iter() {
        let _ = d.to_string();
    }
}
