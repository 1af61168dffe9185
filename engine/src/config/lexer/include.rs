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

/// keepalived's include checks (`include_t`, `lib/parser.c`): which problems with an
/// `include` are configuration errors. Without a check the problem is only reported, and
/// the reading goes on without the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IncludeCheck(u8);

impl IncludeCheck {
    pub const NONE: IncludeCheck = IncludeCheck(0);
    /// `INCLUDE_R` (`readable`): a match that is a directory or cannot be read.
    pub const READ: IncludeCheck = IncludeCheck(1);
    /// `INCLUDE_M` (`match`): a file or directory named in the pattern does not exist.
    pub const MATCH: IncludeCheck = IncludeCheck(2);
    /// `INCLUDE_W` (`wildcard_match`): nothing matches, even a pattern with wildcards.
    pub const WILDCARD_MATCH: IncludeCheck = IncludeCheck(4);
    /// `INCLUDE_B` (`brace_match`): an alternative of a `{...}` list matches nothing.
    pub const BRACE_MATCH: IncludeCheck = IncludeCheck(8);
    /// Every check: `include_check` without options, `includea`, `-e`.
    pub const ALL: IncludeCheck = IncludeCheck(15);

    pub fn contains(self, other: IncludeCheck) -> bool {
        self.0 & other.0 == other.0
    }

    #[must_use]
    pub fn with(self, other: IncludeCheck) -> IncludeCheck {
        IncludeCheck(self.0 | other.0)
    }

    #[must_use]
    pub fn without(self, other: IncludeCheck) -> IncludeCheck {
        IncludeCheck(self.0 & !other.0)
    }

    /// The checks an include keyword adds (`check_include()`): `includer`, `includem`,
    /// `includew`, `includeb`, `includea`; plain `include` adds none.
    fn of_keyword(word: &str) -> IncludeCheck {
        let r = IncludeCheck::READ;
        match word {
            "includer" => r,
            "includem" => r.with(IncludeCheck::MATCH),
            "includew" => r
                .with(IncludeCheck::MATCH)
                .with(IncludeCheck::WILDCARD_MATCH),
            "includeb" => r.with(IncludeCheck::BRACE_MATCH),
            "includea" => IncludeCheck::ALL,
            _ => IncludeCheck::NONE,
        }
    }

    /// `include_check [+|-]OPTION...` applied to these checks (`include_check_set()`): no
    /// option means all; a bare option (only as the first word) sets `readable` and it;
    /// `+` adds one, `-` removes one. Returns what was refused: the index of the word and
    /// why, as keepalived reports it, each word refused on its own.
    pub fn set(&mut self, words: &[&str]) -> Vec<(usize, String)> {
        let mut refused = Vec::new();
        if words.is_empty() {
            *self = IncludeCheck::ALL;
            return refused;
        }
        for (i, word) in words.iter().enumerate() {
            let (op, name) = match word.as_bytes().first() {
                Some(b'+') => (Some(true), &word[1..]),
                Some(b'-') => (Some(false), &word[1..]),
                _ => (None, *word),
            };
            if op.is_none() {
                if i > 0 {
                    refused.push((
                        i,
                        format!("Duplicate include_check '{word}' specified - ignoring"),
                    ));
                    continue;
                }
                *self = IncludeCheck::NONE;
            }
            let flag = match name {
                "read" => IncludeCheck::READ,
                "match" => IncludeCheck::MATCH,
                "wildcard_match" => IncludeCheck::WILDCARD_MATCH,
                "brace_match" => IncludeCheck::BRACE_MATCH,
                _ => {
                    refused.push((i, format!("Unknown include_check type '{name}' - ignoring")));
                    continue;
                }
            };
            *self = match op {
                None => IncludeCheck::READ.with(flag),
                Some(true) => self.with(flag),
                Some(false) => self.without(flag),
            };
        }
        refused
    }
}

/// `include FILE` (and the checking variants): the file pattern is the rest of the line,
/// untokenised, as in keepalived (`is_include()`), and the checks the keyword adds.
pub(super) fn include_pattern(text: &str, indent: usize) -> Option<(u32, &str, IncludeCheck)> {
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
    Some((
        column(text, text.len() - rest.len()),
        rest.trim_end(),
        IncludeCheck::of_keyword(word),
    ))
}

/// Whether a pattern has a `{` that is not escaped (keepalived's `have_brace()`): a
/// missing file is then a `brace_match` problem rather than a `match` one.
fn has_brace(pattern: &str) -> bool {
    let mut escaped = false;
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => return true,
            _ => {}
        }
    }
    false
}

/// What a path an `include` names turned out to be.
enum Found {
    Readable,
    Missing,
    Directory,
    /// A FIFO, a device: never read.
    NotRegular,
    Unreadable(String),
}

impl<'a> Lexer<'a> {
    /// The include checks of the `include_check` line being read (global_defs): they hold
    /// for the includes after it, in this file and the files it includes, until this file
    /// ends. What is refused comes back as for [`IncludeCheck::set`].
    pub fn set_include_check(&mut self, words: &[&str]) -> Vec<(usize, String)> {
        self.include_check.set(words)
    }

    /// Puts the top file of the stack away, and the include checks it started with back.
    pub(super) fn pop_file(&mut self) {
        if let Some(frame) = self.stack.pop() {
            self.include_check = frame.include_check;
        }
    }

    /// Expands `pattern` of the `include` line `text`, relative to the including file, and
    /// queues the matches that can be read on the including file (`open_glob_file()`).
    /// What keepalived reports is reported here with its words: as an error
    /// ([`DiagClass::Include`]) when one of the checks in force, with those `kind` adds,
    /// covers it (`file_config_error()`), else as a note.
    pub(super) fn include(
        &mut self,
        file: &Arc<str>,
        lineno: u32,
        text: &str,
        col: u32,
        pattern: &str,
        kind: IncludeCheck,
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
        let checks = self.include_check.with(kind);
        let base = self.stack.last().map(|f| f.dir.clone()).unwrap_or_default();
        let mut candidates: Vec<PathBuf> = Vec::new();
        let mut missing = 0usize;
        let mut wildcards = false;
        let expanded = glob::expand_braces(pattern, &mut self.budget).and_then(|alternatives| {
            for alt in alternatives {
                let p = Path::new(&alt);
                let full = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                };
                wildcards |= glob::has_wildcard(&alt);
                candidates.extend(glob::glob(self.fs, &full, &mut self.budget, &mut missing)?);
            }
            Ok(())
        });
        if let Err(limit) = expanded {
            let construct = format!("'include {pattern}'");
            self.stop(file, lineno, col, text, &construct, limit);
            return;
        }
        // glob(3) matches what exists (keepalived's `gl_lstat()` counts what does not).
        let mut found = Vec::new();
        for c in candidates {
            match self.found(&c) {
                Found::Missing => missing += 1,
                other => found.push((c, other)),
            }
        }
        let report = |lx: &mut Self, check: IncludeCheck, message: String| {
            let (severity, class) = if checks.contains(check) {
                (Severity::Error, DiagClass::Include)
            } else {
                (Severity::Warning, DiagClass::Note)
            };
            lx.diag(severity, class, file, lineno, col, text, message);
        };
        let brace = has_brace(pattern);
        if found.is_empty() {
            // `open_and_check_glob()` on GLOB_NOMATCH.
            if missing > 0 {
                let check = if brace {
                    IncludeCheck::BRACE_MATCH
                } else {
                    IncludeCheck::MATCH
                };
                report(self, check, format!("Config files missing '{pattern}'."));
            } else if wildcards && checks.contains(IncludeCheck::WILDCARD_MATCH) {
                report(
                    self,
                    IncludeCheck::WILDCARD_MATCH,
                    format!("No config files matched '{pattern}'."),
                );
            }
            return;
        }
        if missing > 0 {
            report(
                self,
                IncludeCheck::BRACE_MATCH,
                format!("Some config files missing: \"{pattern}\"."),
            );
            if checks.contains(IncludeCheck::BRACE_MATCH) {
                return;
            }
        }
        let site = Rc::new(IncludeSite {
            file: file.clone(),
            line: lineno,
            col,
            text: Arc::from(quoted_part(text, col)),
        });
        let mut readable = VecDeque::new();
        for (m, what) in found {
            // `check_glob_file()` and `open_conf_file()`.
            match what {
                Found::Readable => readable.push_back((m, site.clone())),
                Found::Directory => report(
                    self,
                    IncludeCheck::READ,
                    format!(
                        "Configuration file '{}/' is a directory - skipping",
                        m.display()
                    ),
                ),
                Found::NotRegular => report(
                    self,
                    IncludeCheck::READ,
                    format!(
                        "Configuration file '{}' is not a regular non-executable file - skipping",
                        m.display()
                    ),
                ),
                Found::Unreadable(why) => report(
                    self,
                    IncludeCheck::READ,
                    format!(
                        "Configuration file '{}' open problem ({why}) - skipping",
                        m.display()
                    ),
                ),
                Found::Missing => {}
            }
        }
        if let Some(frame) = self.stack.last_mut() {
            frame.queued.extend(readable);
        }
    }

    /// Whether `path` is a file that can be read, a directory, missing, or something else.
    fn found(&self, path: &Path) -> Found {
        match self.fs.open(path) {
            Ok(_) => Found::Readable,
            Err(_) if self.fs.read_dir(path).is_ok() => Found::Directory,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Found::Missing,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Found::NotRegular,
            Err(e) => Found::Unreadable(e.to_string()),
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
    use super::IncludeCheck;
    use crate::config::{DiagClass, Diagnostics, MemFs, ParseOptions, Severity};

    /// The main file `text` read over a few files and a directory, with `checks` in force
    /// from the start (`-e` gives all): the lines read and what was said.
    fn read(text: &str, checks: IncludeCheck) -> (Vec<String>, Diagnostics) {
        let fs = MemFs::new()
            .with("/k.conf", text)
            .with("/a.conf", "a\n")
            .with("/b.conf", "b\n")
            .with("/d/x.conf", "x\n")
            .with("/empty/.keep", "");
        let opts = ParseOptions {
            include_check: checks,
            ..ParseOptions::default()
        };
        lines(&fs, &opts)
    }

    /// The one diagnostic of `text`: whether it is an include error, and its message.
    fn said(text: &str, checks: IncludeCheck) -> (bool, String) {
        let (_, diags) = read(text, checks);
        assert_eq!(diags.len(), 1, "{text}: {diags:?}");
        let d = &diags.0[0];
        let error = d.class == DiagClass::Include && d.severity == Severity::Error;
        assert!(error || d.class == DiagClass::Note, "{d:?}");
        (error, d.message.clone())
    }

    /// Each problem keepalived 2.2.7 reports for an `include`, as it words it, and which
    /// keyword variant makes it an error (checked against `keepalived -t`, which exits 6
    /// for each error here and 0 for the notes).
    #[test]
    fn include_variants_make_their_problems_errors() {
        let none = IncludeCheck::NONE;
        let missing = "Config files missing '/missing.conf'.";
        for (kw, error) in [
            ("include", false),
            ("includer", false),
            ("includem", true),
            ("includew", true),
            ("includeb", false),
            ("includea", true),
        ] {
            assert_eq!(
                said(&format!("{kw} /missing.conf\n"), none),
                (error, missing.into()),
                "{kw}"
            );
            let dir = said(&format!("{kw} /none/*.conf\n"), none);
            assert_eq!(
                dir,
                (error, "Config files missing '/none/*.conf'.".into()),
                "{kw}"
            );
            let directory = said(&format!("{kw} /d\n"), none);
            assert_eq!(
                directory,
                (
                    kw != "include",
                    "Configuration file '/d/' is a directory - skipping".into()
                ),
                "{kw}"
            );
            let brace = said(&format!("{kw} /{{a,missing}}.conf\n"), none);
            assert_eq!(
                brace,
                (
                    matches!(kw, "includeb" | "includea"),
                    "Some config files missing: \"/{a,missing}.conf\".".into()
                ),
                "{kw}"
            );
            // An empty directory matches nothing: said only where it is an error.
            let (_, diags) = read(&format!("{kw} /empty/*.conf\n"), none);
            if matches!(kw, "includew" | "includea") {
                assert_eq!(
                    diags.0[0].message,
                    "No config files matched '/empty/*.conf'."
                );
                assert_eq!(diags.exit_code(), 6);
            } else {
                assert!(diags.is_empty(), "{kw}: {diags:?}");
            }
        }
        // Every brace alternative missing: a brace_match problem, not a match one.
        assert_eq!(
            said("includem /{x,y}.conf\n", none),
            (false, "Config files missing '/{x,y}.conf'.".into())
        );
        assert!(said("includeb /{x,y}.conf\n", none).0);
    }

    #[test]
    fn a_failed_check_exits_6_and_a_brace_failure_reads_nothing_of_the_include() {
        let (out, diags) = read("includeb /{a,missing}.conf\nend\n", IncludeCheck::NONE);
        assert_eq!(out, ["end"]);
        assert_eq!(diags.exit_code(), 6);
        assert!(diags.stops_start());
        // Without the check, what exists is read.
        let (out, diags) = read("include /{a,missing}.conf\nend\n", IncludeCheck::NONE);
        assert_eq!(out, ["a", "end"]);
        assert_eq!(diags.exit_code(), 0);
        assert!(!diags.stops_start());
    }

    /// `-e` is `include_check` with every check from the first line.
    #[test]
    fn all_config_checks_every_include() {
        let (_, diags) = read("include /missing.conf\n", IncludeCheck::ALL);
        assert_eq!(diags.exit_code(), 6);
        assert!(diags.0[0].to_string().contains("Config files missing"));
        let (out, diags) = read("include /[ab].conf\n", IncludeCheck::ALL);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(out, ["a", "b"]);
    }

    #[test]
    fn include_check_words_as_keepalived_reads_them() {
        let set = |words: &[&str]| {
            let mut c = IncludeCheck::NONE;
            let refused = c.set(words);
            (c, refused)
        };
        let (r, m, w, b) = (
            IncludeCheck::READ,
            IncludeCheck::MATCH,
            IncludeCheck::WILDCARD_MATCH,
            IncludeCheck::BRACE_MATCH,
        );
        assert_eq!(set(&[]), (IncludeCheck::ALL, vec![]));
        assert_eq!(set(&["match"]), (r.with(m), vec![]));
        assert_eq!(
            set(&["brace_match", "+wildcard_match"]),
            (r.with(b).with(w), vec![])
        );
        assert_eq!(set(&["+match", "-read"]), (m, vec![]));
        let (c, refused) = set(&["read", "match"]);
        assert_eq!(c, r);
        assert_eq!(
            refused,
            [(
                1,
                "Duplicate include_check 'match' specified - ignoring".to_string()
            )]
        );
        let (c, refused) = set(&["+bogus", "+read"]);
        assert_eq!(c, r);
        assert_eq!(
            refused,
            [(
                0,
                "Unknown include_check type 'bogus' - ignoring".to_string()
            )]
        );
    }

    /// `include_check` holds for the includes after it, in its file and the files those
    /// include; an included file's own `include_check` ends with that file.
    #[test]
    fn include_check_is_saved_and_restored_per_file() {
        let fs = MemFs::new()
            .with(
                "/k.conf",
                "include /missing1.conf\nglobal_defs {\ninclude_check\n}\ninclude /inner.conf\ninclude /missing2.conf\n",
            )
            .with(
                "/inner.conf",
                "global_defs {\ninclude_check -match\n}\ninclude /missing3.conf\n",
            );
        let mut parsed = crate::config::load(
            &fs,
            std::path::Path::new("/k.conf"),
            &ParseOptions::default(),
        );
        let said: Vec<(String, bool)> = parsed
            .diagnostics
            .0
            .drain(..)
            .filter(|d| d.message.starts_with("Config files missing"))
            .map(|d| (d.message, d.class == DiagClass::Include))
            .collect();
        assert_eq!(
            said,
            [
                ("Config files missing '/missing1.conf'.".to_string(), false),
                ("Config files missing '/missing3.conf'.".to_string(), false),
                ("Config files missing '/missing2.conf'.".to_string(), true),
            ]
        );
    }

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
