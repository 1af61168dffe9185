//! Diagnostics: every problem found in a config, with where it is and what was expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A place in a config file. Lines and columns count from 1; columns in characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// What kind of problem, which decides `-t`'s exit code as keepalived's
/// `config_test_exit()` does (`keepalived/core/main.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagClass {
    /// The config cannot be read at all (missing main file, include cycle). Exit 4.
    Fatal,
    /// Braces, blocks and values where they do not belong.
    Structure,
    /// A keyword this level does not know: logged, parsing goes on; still exit 5.
    UnknownKeyword,
    /// A value out of range or of the wrong form.
    Value,
    /// A rule across keywords (missing virtual_router_id, duplicate VRID, vrrp_strict…).
    Semantic,
    /// Script security (`enable_script_security`, unsafe paths). Exit 6.
    Security,
    /// Harmless: ignored extra words, deprecated synonyms, defaults applied.
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub class: DiagClass,
    pub location: Option<Location>,
    pub message: String,
    /// The config line as read (after includes, definitions and expansions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<Arc<str>>,
}

impl Diagnostic {
    /// Whether this diagnostic makes `-t` fail (exit 5), as keepalived counts it.
    pub fn counts_as_error(&self) -> bool {
        self.severity == Severity::Error || self.class == DiagClass::UnknownKeyword
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &self.location {
            Some(loc) => write!(f, "{loc}: {sev}: {}", self.message)?,
            None => write!(f, "{sev}: {}", self.message)?,
        }
        if let (Some(loc), Some(text)) = (&self.location, &self.source_line) {
            let gutter = loc.line.to_string().len();
            write!(f, "\n {:>gutter$} | {}", loc.line, text)?;
            let pad: String = text
                .chars()
                .take(loc.column.saturating_sub(1) as usize)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n {:>gutter$} | {pad}^", "")?;
        }
        Ok(())
    }
}

/// All diagnostics of one parse, in the order found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::counts_as_error)
    }

    /// `keepalived -t` exit status: 0 fine, 4 fatal, 6 script security, 5 anything else
    /// that is an error (unknown keywords included).
    pub fn exit_code(&self) -> i32 {
        if self.0.iter().any(|d| d.class == DiagClass::Fatal) {
            4
        } else if self
            .0
            .iter()
            .any(|d| d.class == DiagClass::Security && d.severity == Severity::Error)
        {
            6
        } else if self.has_errors() {
            5
        } else {
            0
        }
    }
}
