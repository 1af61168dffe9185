//! `include` lines (keepalived's `check_include()`): the pattern, its braces and globs
//! expanded relative to the including file, and the matches read one after another.

use super::tokenize::column;
use super::Lexer;
use crate::config::diag::{quoted_part, DiagClass, Severity};
use crate::config::glob;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// Where an `include` line was (file, line, column of its pattern, text), for messages.
pub(super) struct IncludeSite {
    pub(super) file: Arc<str>,
    pub(super) line: u32,
    pub(super) col: u32,
    pub(super) text: Arc<str>,
}

impl IncludeSite {
    /// The pattern as written, for messages.
    pub(super) fn pattern(&self) -> &str {
        let start = self
            .text
            .char_indices()
            .nth((self.col as usize).saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| i);
        self.text[start..].trim_end()
    }
}

/// An include match waiting its turn, and the `include` line that named it.
pub(super) type QueuedInclude = (PathBuf, Rc<IncludeSite>);

/// `include FILE` (and the checking variants): the file pattern is the rest of the line,
/// untokenised, as in keepalived (`is_include()`).
pub(super) fn include_pattern(text: &str, indent: usize) -> Option<(u32, &str)> {
    let trimmed = &text[indent..];
    if !trimmed.starts_with("include") {
        return None;
    }
    let word_end = trimmed.find(char::is_whitespace)?;
    let word = &trimmed[..word_end];
    if !matches!(
        word,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    ) {
        return None;
    }
    let rest = trimmed[word_end..].trim_start();
    Some((column(text, text.len() - rest.len()), rest.trim_end()))
}

impl<'a> Lexer<'a> {
    /// Expands `pattern` of the `include` line `text`, relative to the including file, and
    /// queues the matches that can be read on the including file (`open_glob_file()`).
    pub(super) fn include(
        &mut self,
        file: &Arc<str>,
        lineno: u32,
        text: &str,
        col: u32,
        pattern: &str,
    ) {
        if pattern.is_empty() {
            self.diag(
                Severity::Error,
                DiagClass::Structure,
                file,
                lineno,
                col,
                text,
                "'include' needs a file name or pattern".into(),
            );
            return;
        }
        let base = self.stack.last().map(|f| f.dir.clone()).unwrap_or_default();
        let mut matches: Vec<PathBuf> = Vec::new();
        let expanded = glob::expand_braces(pattern, &mut self.budget).and_then(|alternatives| {
            for alt in alternatives {
                let p = Path::new(&alt);
                let full = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                };
                matches.extend(glob::glob(self.fs, &full, &mut self.budget)?);
            }
            Ok(())
        });
        if let Err(limit) = expanded {
            let construct = format!("'include {pattern}'");
            self.stop(file, lineno, col, text, &construct, limit);
            return;
        }
        let site = Rc::new(IncludeSite {
            file: file.clone(),
            line: lineno,
            col,
            text: Arc::from(quoted_part(text, col)),
        });
        let mut readable = VecDeque::new();
        for m in matches {
            if self.fs.open(&m).is_ok() {
                readable.push_back((m, site.clone()));
            } else if !glob::has_wildcard(pattern) {
                self.diag(
                    Severity::Warning,
                    DiagClass::Note,
                    file,
                    lineno,
                    col,
                    text,
                    format!(
                        "include file '{}' cannot be read - skipping it",
                        m.display()
                    ),
                );
            }
        }
        if let Some(frame) = self.stack.last_mut() {
            frame.queued.extend(readable);
        }
    }

    /// Opens a queued match of the `include` line `site`.
    pub(super) fn open_include(&mut self, path: &Path, site: Rc<IncludeSite>) {
        if let Err(msg) = self.push_file(path, Some(site.clone())) {
            let class = if msg.starts_with("include cycle") {
                DiagClass::Fatal
            } else {
                DiagClass::Structure
            };
            self.diag(
                Severity::Error,
                class,
                &site.file,
                site.line,
                site.col,
                &site.text,
                msg,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::lines;
    use crate::config::{MemFs, ParseOptions};

    #[test]
    fn include_relative_glob_and_cycle() {
        let fs = MemFs::new()
            .with("/k.conf", "include conf.d/*.conf\ninclude {x,y}.inc\nend\n")
            .with("/conf.d/b.conf", "b\n")
            .with("/conf.d/a.conf", "a\ninclude ../x.inc\n")
            .with("/x.inc", "x\n")
            .with("/y.inc", "y\n");
        let (out, diags) = lines(&fs, &ParseOptions::default());
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(out, ["a", "x", "b", "x", "y", "end"]);

        let fs = MemFs::new()
            .with("/k.conf", "include a.conf\n")
            .with("/a.conf", "include k.conf\n");
        let (_, diags) = lines(&fs, &ParseOptions::default());
        assert_eq!(diags.exit_code(), 4);
        assert!(
            diags.0[0]
                .message
                .contains("include cycle: /k.conf -> /a.conf -> /k.conf"),
            "{}",
            diags.0[0]
        );
    }
}
