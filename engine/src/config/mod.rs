//! The keepalived.conf language: lexer (includes, conditionals, definitions, sequences),
//! parser into a typed model with keepalived's defaults, and validation.

mod diag;
mod glob;
pub mod lexer;
mod source;

pub use diag::{DiagClass, Diagnostic, Diagnostics, Location, Severity};
pub use source::{default_config_id, normalize, ConfigFs, MemFs, ParseOptions};
