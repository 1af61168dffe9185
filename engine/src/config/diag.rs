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
    /// An include check failed (`include_check`, `-e`, `includer`…): keepalived's
    /// `had_config_file_error()`, which stops a start and makes `-t` exit 6 before any
    /// other check.
    Include,
    /// Harmless: ignored extra words, deprecated synonyms, defaults applied. As an
    /// error: one keepalived reports (so `-t` fails) and steps over with a default, which
    /// does not refuse a reload.
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub class: DiagClass,
    pub location: Option<Location>,
    pub message: String,
    /// The config line as read (after includes, definitions and expansions). Once kept
    /// in [`Diagnostics`], only up to what can be shown: `EXCERPT_CHARS` past the column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<Arc<str>>,
}

impl Diagnostic {
    /// Whether this diagnostic makes `-t` fail (exit 5), as keepalived counts it.
    pub fn counts_as_error(&self) -> bool {
        self.severity == Severity::Error || self.class == DiagClass::UnknownKeyword
    }
}

/// How many characters of a config line a diagnostic quotes: a window around the column
/// it points at. A line may be megabytes long; a message must stay readable, and neither
/// stderr nor the log may receive the whole of it.
pub const EXCERPT_CHARS: usize = 160;
/// How many bytes of a message are kept: messages quote tokens, which may be as long as
/// their line.
pub const MAX_MESSAGE_BYTES: usize = 512;
/// How many diagnostics a load keeps. Past this they are counted (for the exit code) but
/// not kept: a configuration generated with one mistake per line must not hold a
/// diagnostic per line in memory, and no reader goes through ten thousand of them.
pub const MAX_DIAGNOSTICS: usize = 10_000;

/// At most `max` bytes of `s`, cut at a character boundary, with what was left out said.
fn bounded(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} more bytes not shown)", &s[..cut], s.len() - cut).into()
}

/// The start of `line` that holds all a diagnostic at `column` can quote: what comes
/// after the excerpt is never shown, so it need not be copied or kept.
pub(crate) fn quoted_part(line: &str, column: u32) -> &str {
    let keep = (column as usize).saturating_add(EXCERPT_CHARS);
    if line.len() <= keep {
        return line;
    }
    match line.char_indices().nth(keep) {
        Some((cut, _)) => &line[..cut],
        None => line,
    }
}

/// The part of `line` a diagnostic quotes, and how many characters of that part come
/// before the caret at `column` (1-based, in characters). Marks cut ends with `…`.
fn excerpt(line: &str, column: u32) -> (String, usize) {
    let caret = (column as usize).saturating_sub(1);
    let total = if line.len() <= EXCERPT_CHARS {
        line.chars().count()
    } else {
        // Only the characters up to the window's end are counted, not the whole line.
        line.chars().take(caret + EXCERPT_CHARS + 1).count()
    };
    if total <= EXCERPT_CHARS {
        return (line.to_string(), caret);
    }
    // The caret a third of the way in: what follows a column says more than what precedes.
    let first = caret.saturating_sub(EXCERPT_CHARS / 3);
    let mut out = String::new();
    let mut before = caret - first;
    if first > 0 {
        out.push('…');
        before += 1;
    }
    out.extend(line.chars().skip(first).take(EXCERPT_CHARS));
    if first + EXCERPT_CHARS < total {
        out.push('…');
    }
    (out, before)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Kept diagnostics are already bounded (with room for the note of what was cut).
        let message = bounded(&self.message, 2 * MAX_MESSAGE_BYTES);
        match &self.location {
            Some(loc) => write!(f, "{loc}: {sev}: {message}")?,
            None => write!(f, "{sev}: {message}")?,
        }
        if let (Some(loc), Some(text)) = (&self.location, &self.source_line) {
            let gutter = loc.line.to_string().len();
            let (quoted, before) = excerpt(text, loc.column);
            write!(f, "\n {:>gutter$} | {}", loc.line, quoted)?;
            let pad: String = quoted
                .chars()
                .take(before)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "\n {:>gutter$} | {pad}^", "")?;
        }
        Ok(())
    }
}

/// What was said past [`MAX_DIAGNOSTICS`]: enough to keep the exit code right.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Unkept {
    count: usize,
    errors: usize,
    fatal: bool,
    security: bool,
    include: bool,
}

/// All diagnostics of one parse, in the order found (the first [`MAX_DIAGNOSTICS`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Diagnostics(pub Vec<Diagnostic>, #[serde(skip)] Unkept);

impl Diagnostics {
    /// Keeps `d`, its message and quoted line shortened to what is ever shown. Past
    /// [`MAX_DIAGNOSTICS`] it is only counted; one note says so.
    pub fn push(&mut self, d: Diagnostic) {
        if self.0.len() < MAX_DIAGNOSTICS {
            self.keep(d);
            return;
        }
        let u = &mut self.1;
        u.count += 1;
        u.errors += usize::from(d.counts_as_error());
        u.fatal |= d.class == DiagClass::Fatal;
        u.security |= d.class == DiagClass::Security && d.severity == Severity::Error;
        u.include |= d.class == DiagClass::Include && d.severity == Severity::Error;
        if u.count == 1 {
            self.0.push(Diagnostic {
                severity: Severity::Warning,
                class: DiagClass::Note,
                location: None,
                message: format!("more than {MAX_DIAGNOSTICS} diagnostics: the rest are not shown"),
                source_line: None,
            });
        }
    }

    /// Keeps `d` even past [`MAX_DIAGNOSTICS`]: for the one diagnostic that ends a load
    /// (the expansion budget running out), which must be seen however many came before.
    pub(crate) fn push_last(&mut self, d: Diagnostic) {
        self.keep(d);
    }

    fn keep(&mut self, mut d: Diagnostic) {
        if d.message.len() > MAX_MESSAGE_BYTES {
            d.message = bounded(&d.message, MAX_MESSAGE_BYTES).into_owned();
        }
        if let (Some(loc), Some(text)) = (&d.location, &d.source_line) {
            // What comes before the column stays, so that the caret still finds it.
            let part = quoted_part(text, loc.column);
            if part.len() < text.len() {
                d.source_line = Some(Arc::from(part));
            }
        }
        self.0.push(d);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// How many are kept (see [`MAX_DIAGNOSTICS`]).
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn has_errors(&self) -> bool {
        self.1.errors > 0 || self.0.iter().any(Diagnostic::counts_as_error)
    }

    /// Whether an include check failed ([`DiagClass::Include`]).
    pub fn include_failed(&self) -> bool {
        self.1.include
            || self
                .0
                .iter()
                .any(|d| d.class == DiagClass::Include && d.severity == Severity::Error)
    }

    /// Whether the daemon must not start on this configuration: it cannot be read, or an
    /// include check failed (keepalived exits at `had_config_file_error()`).
    pub fn stops_start(&self) -> bool {
        self.exit_code() == 4 || self.include_failed()
    }

    /// `keepalived -t` exit status: 0 fine, 4 fatal, 6 an include check or script
    /// security, 5 anything else that is an error (unknown keywords included).
    pub fn exit_code(&self) -> i32 {
        if self.1.fatal || self.0.iter().any(|d| d.class == DiagClass::Fatal) {
            4
        } else if self.include_failed()
            || self.1.security
            || self
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

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(line: &str, column: u32, message: &str) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            class: DiagClass::Value,
            location: Some(Location {
                file: Arc::from("/k.conf"),
                line: 7,
                column,
            }),
            message: message.to_string(),
            source_line: Some(Arc::from(line)),
        }
    }

    #[test]
    fn short_lines_are_quoted_whole() {
        let d = diag("\tpriority 300", 11, "priority 300 is out of range");
        assert_eq!(
            d.to_string(),
            "/k.conf:7:11: error: priority 300 is out of range\n 7 | \tpriority 300\n   | \t         ^"
        );
    }

    #[test]
    fn long_lines_are_quoted_around_the_caret_only() {
        let line = format!("{}BAD{}", "a".repeat(5_000_000), "z".repeat(5_000_000));
        let word = format!("unknown keyword '{line}'");
        let d = diag(&line, 5_000_001, &word);
        let shown = d.to_string();
        assert!(
            shown.len() < 3 * (EXCERPT_CHARS + MAX_MESSAGE_BYTES),
            "{}",
            shown.len()
        );
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("more bytes not shown"), "{}", lines[0]);
        let quoted = lines[1].split_once("| ").unwrap().1;
        let caret = lines[2].split_once("| ").unwrap().1;
        assert!(quoted.starts_with('…') && quoted.ends_with('…'), "{quoted}");
        let at = caret.chars().count() - 1;
        assert_eq!(quoted.chars().skip(at).take(3).collect::<String>(), "BAD");
        assert!(quoted.chars().count() <= EXCERPT_CHARS + 2);

        // Kept diagnostics hold no more than what can be shown.
        let mut all = Diagnostics::default();
        all.push(diag(&line, 3, &word));
        let kept = &all.0[0];
        assert!(kept.message.len() < MAX_MESSAGE_BYTES + 64);
        assert!(kept.source_line.as_ref().unwrap().len() <= 3 + EXCERPT_CHARS);
        assert_eq!(kept.to_string().lines().count(), 3);
    }

    #[test]
    fn diagnostics_past_the_limit_are_counted_not_kept() {
        let mut all = Diagnostics::default();
        for _ in 0..MAX_DIAGNOSTICS {
            let mut d = diag("x", 1, "unknown");
            d.severity = Severity::Warning;
            d.class = DiagClass::Note;
            all.push(d);
        }
        assert_eq!(all.exit_code(), 0);
        all.push(diag("x", 1, "bad"));
        assert_eq!(all.len(), MAX_DIAGNOSTICS + 1);
        assert_eq!(all.exit_code(), 5);
        let mut fatal = diag("x", 1, "cycle");
        fatal.class = DiagClass::Fatal;
        all.push(fatal);
        assert_eq!(all.len(), MAX_DIAGNOSTICS + 1);
        assert_eq!(all.exit_code(), 4);
        assert!(all.0.last().unwrap().message.contains("not shown"));
    }
}
