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
pub mod budget;
mod complete;
mod diag;
mod glob;
pub mod lexer;
pub mod model;
mod parser;
pub mod registry;
mod source;
mod static_track;

pub use diag::{DiagClass, Diagnostic, Diagnostics, Location, Severity, MAX_DIAGNOSTICS};
pub use lexer::IncludeCheck;
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
    load_with_limits(fs, path, opts, budget::Limits::FIELD)
}

/// [`load`] with other expansion limits than the field's.
pub fn load_with_limits(
    fs: &dyn ConfigFs,
    path: &Path,
    opts: &ParseOptions,
    limits: budget::Limits,
) -> Loaded {
    let lexer = lexer::Lexer::with_limits(fs, opts, path, limits);
    let mut p = parser::Parser::new(lexer);
    let mut config = Config::default();
    blocks::root(&mut p, &mut config);
    let lx = p.into_lexer();
    let mut diagnostics = lx.diags;
    let files = lx.files;
    if diagnostics.iter().all(|d| d.class != DiagClass::Fatal) {
        complete::complete(&mut config, &mut diagnostics);
        static_track::apply(&mut config, &mut diagnostics);
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

/// The files of a fuzz input after the main one, in order: names an `include` can reach
/// by a plain name, a brace list or a wildcard.
const FUZZ_FILES: [&str; 4] = [
    "/k/inc.conf",
    "/k/conf.d/a.conf",
    "/k/conf.d/b.conf",
    "/k/conf.d/sub/c.inc",
];

/// The fuzzers' entry: bytes split at NULs into a main file (`/k/main.conf`) and the
/// files it may include ([`FUZZ_FILES`]), parsed and validated with config id `r1` and
/// expansion limits a hundredth of the field's, so that the fuzzer reaches them often
/// and each run stays fast. Shared with the corpus replay test; not part of the API.
#[doc(hidden)]
pub fn fuzz_config_input(data: &[u8]) {
    let mut parts = data.splitn(FUZZ_FILES.len() + 1, |&b| b == 0);
    let main = parts.next().unwrap_or_default();
    let mut fs = MemFs::new().with("/k/main.conf", String::from_utf8_lossy(main));
    for (name, text) in FUZZ_FILES.iter().zip(parts) {
        fs.insert(name, String::from_utf8_lossy(text));
    }
    let field = budget::Limits::FIELD;
    let limits = budget::Limits {
        lines: field.lines / 100,
        bytes: field.bytes / 100,
        substitution_work: field.substitution_work / 100,
        include_files: field.include_files / 100,
        included_bytes: field.included_bytes / 100,
    };
    let loaded = load_with_limits(
        &fs,
        Path::new("/k/main.conf"),
        &ParseOptions::default().with_config_id("r1"),
        limits,
    );
    for d in loaded.diagnostics.iter() {
        let _ = d.to_string();
    }
}
