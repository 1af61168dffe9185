//! The line reader: files and includes, `@id` conditionals, comments, `$NAME`
//! definitions, `~SEQ`/`~LST` expansion, and tokenising. Follows keepalived's
//! `read_line()` pipeline (`lib/parser.c`); it yields one [`Line`] of tokens at a time so a
//! 250,000-line config never exists as a token tree in memory.
//!
//! This module holds the [`Lexer`] and its line loop; each stage of the pipeline is a
//! module of its own: `files` (the stack of files, cut into physical lines),
//! `conditional` (`@id` lines), `definitions` (`$NAME`), `sequence` (`~SEQ`/`~LST`),
//! `include`, `tokenize` (comments and words) and `text` (the shared slices lines and
//! tokens are made of); `command` splits scripts' command lines for the parser.

mod command;
mod conditional;
mod definitions;
mod files;
mod include;
mod sequence;
mod text;
mod tokenize;

pub use command::split_command;
pub use include::IncludeCheck;
pub use text::Text;
pub use tokenize::Token;

use super::budget::{Budget, Limit, Limits};
use super::diag::{quoted_part, DiagClass, Diagnostic, Diagnostics, Location, Severity};
use super::source::{ConfigFs, ParseOptions};
use conditional::{conditional, Conditional};
use definitions::parse_definition;
use files::{Frame, RawLine, COMMENT, DOLLAR, NUL};
use include::include_pattern;
use sequence::{is_seq, Values};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use tokenize::{decomment, tokenize, trim_start};

/// keepalived's `MAXBUF`: longer lines are dropped there; we read them and say so.
const KEEPALIVED_MAXBUF: usize = 1024;

/// A logical line after every expansion, ready for the parser.
#[derive(Debug, Clone)]
pub struct Line {
    pub file: Arc<str>,
    pub line: u32,
    pub text: Text,
    pub tokens: Vec<Token>,
}

impl Line {
    pub fn location(&self, col: u32) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
            column: col,
        }
    }
}

/// Lines waiting to be processed before the next line of the file.
enum Pending {
    /// One line of a multi-line definition, already substituted.
    Line {
        file: Arc<str>,
        line: u32,
        text: String,
    },
    /// The rest of a `~SEQ`/`~LST` line, produced once per value as it is reached, so a
    /// long or nested sequence holds one entry per level, never one per value.
    Repeat {
        file: Arc<str>,
        line: u32,
        /// The line the construct is on, and its column, for messages.
        origin: Text,
        col: u32,
        text: Rc<String>,
        values: Values,
    },
}

pub struct Lexer<'a> {
    fs: &'a dyn ConfigFs,
    opts: &'a ParseOptions,
    stack: Vec<Frame<'a>>,
    pending: VecDeque<Pending>,
    defs: BTreeMap<String, String>,
    rng: u64,
    /// The include checks in force (keepalived's `include_check`): each file read starts
    /// with those of the `include` line that named it, and they are put back at its end.
    include_check: IncludeCheck,
    /// What expansion has spent, shared by every file of the load.
    budget: Budget,
    pub diags: Diagnostics,
    /// Every file read, in order: the dump and the reload diff name them.
    pub files: Vec<PathBuf>,
}

impl<'a> Lexer<'a> {
    /// Opens the main config file; a missing one is fatal (exit 4), as it should have
    /// been in keepalived 2.2.7, which exits 0 for it.
    /// The filesystem the config is read from, for the other files a keyword reads
    /// (iproute2's name files for routes and rules).
    pub(crate) fn fs(&self) -> &'a dyn ConfigFs {
        self.fs
    }

    pub fn new(fs: &'a dyn ConfigFs, opts: &'a ParseOptions, path: &Path) -> Self {
        Self::with_limits(fs, opts, path, Limits::FIELD)
    }

    /// [`Lexer::new`] with other expansion limits than the field's (the fuzzer's).
    pub fn with_limits(
        fs: &'a dyn ConfigFs,
        opts: &'a ParseOptions,
        path: &Path,
        limits: Limits,
    ) -> Self {
        let mut lx = Lexer {
            fs,
            opts,
            stack: Vec::new(),
            pending: VecDeque::new(),
            defs: BTreeMap::new(),
            rng: opts.random_seed ^ 0x9e37_79b9_7f4a_7c15,
            include_check: opts.include_check,
            budget: Budget::new(limits),
            diags: Diagnostics::default(),
            files: Vec::new(),
        };
        if let Err(msg) = lx.push_file(path, None) {
            lx.diags.push(Diagnostic {
                severity: Severity::Error,
                class: DiagClass::Fatal,
                location: None,
                message: format!("cannot read configuration file '{}': {msg}", path.display()),
                source_line: None,
            });
        }
        lx
    }

    #[allow(clippy::too_many_arguments)] // a diagnostic is this many facts
    fn diag(
        &mut self,
        severity: Severity,
        class: DiagClass,
        file: &Arc<str>,
        line: u32,
        col: u32,
        text: &str,
        message: String,
    ) {
        self.diags.push(Diagnostic {
            severity,
            class,
            location: Some(Location {
                file: file.clone(),
                line,
                column: col,
            }),
            message,
            source_line: Some(Arc::from(quoted_part(text, col))),
        });
    }

    /// The budget ran out at `construct` (at `col` of `text`): says so, and ends the
    /// configuration there. Going on would only pile up errors about what is missing,
    /// and a configuration this far past any real one is not going to be used.
    fn stop(
        &mut self,
        file: &Arc<str>,
        line: u32,
        col: u32,
        text: &str,
        construct: &str,
        limit: Limit,
    ) {
        self.diags.push_last(Diagnostic {
            severity: Severity::Error,
            class: DiagClass::Structure,
            location: Some(Location {
                file: file.clone(),
                line,
                column: col,
            }),
            message: format!(
                "{construct} takes the configuration past {} (one budget for the whole \
                 configuration and its includes) - reading stops here",
                self.budget.limits().describe(limit)
            ),
            source_line: Some(Arc::from(quoted_part(text, col))),
        });
        self.pending.clear();
        self.stack.clear();
    }

    /// The next line with tokens, or None at the end of the main file. The tokens go into
    /// `tokens`, cleared first, so that a reader can hand back the previous line's vector
    /// rather than have one allocated per line.
    pub fn next_line(&mut self, mut tokens: Vec<Token>) -> Option<Line> {
        loop {
            if let Some(p) = self.pending.front_mut() {
                let (file, lineno, text, substituted) = match p {
                    Pending::Line { .. } => match self.pending.pop_front() {
                        Some(Pending::Line { file, line, text }) => {
                            (file, line, Text::from(text), true)
                        }
                        _ => continue,
                    },
                    Pending::Repeat {
                        file,
                        line,
                        origin,
                        col,
                        text,
                        values,
                    } => {
                        let Some(bind) = values.next_binding() else {
                            self.pending.pop_front();
                            continue;
                        };
                        let (file, lineno, text) = (file.clone(), *line, text.clone());
                        if let Err(limit) = self.budget.line(text.len()) {
                            let (origin, col) = (origin.clone(), *col);
                            let construct = format!("'{}'", values.construct());
                            self.stop(&file, lineno, col, &origin, &construct, limit);
                            return None;
                        }
                        if values.len() == 0 {
                            self.pending.pop_front();
                        }
                        for (k, v) in bind {
                            self.defs.insert(k, v);
                        }
                        let len = text.len();
                        (file, lineno, Text::new(text, 0, len), false)
                    }
                };
                let indent = text.len() - trim_start(&text).len();
                if let Some(line) =
                    self.process(file, lineno, text, indent, substituted, &mut tokens)
                {
                    return Some(line);
                }
                continue;
            }
            let RawLine {
                file,
                line: lineno,
                content,
                start,
                end,
                marks,
            } = self.next_raw()?;
            let raw = &content[start..end];
            if raw.len() > KEEPALIVED_MAXBUF {
                self.diag(
                    Severity::Warning,
                    DiagClass::Note,
                    &file,
                    lineno,
                    1,
                    raw,
                    format!("line is {} bytes long; keepalived ignores lines over {KEEPALIVED_MAXBUF} bytes, keepalived-rs reads it", raw.len()),
                );
            }
            if marks & NUL != 0 {
                self.diag(
                    Severity::Error,
                    DiagClass::Structure,
                    &file,
                    lineno,
                    1,
                    &raw.replace('\0', "\\0"),
                    "line contains a NUL byte - ignoring it".into(),
                );
                continue;
            }
            // Conditional lines: `@id rest` kept only when id is ours, `@^id` when it is not.
            let mut indent = raw.len() - trim_start(raw).len();
            let body = match conditional(raw, indent, &self.opts.config_id) {
                Conditional::Dropped => continue,
                Conditional::Kept(kept) => {
                    indent = kept.len() - trim_start(&kept).len();
                    Text::from(kept)
                }
                Conditional::Plain => {
                    let kept = if marks & COMMENT == 0 {
                        Ok(raw.len())
                    } else {
                        match decomment(raw) {
                            Cow::Borrowed(b) => Ok(b.len()),
                            Cow::Owned(o) => Err(o),
                        }
                    };
                    match kept {
                        // Most lines are used as written: a slice of the file, not a copy.
                        Ok(len) => {
                            indent = indent.min(len);
                            Text::new(content, start, start + len)
                        }
                        Err(o) => {
                            indent = o.len() - trim_start(&o).len();
                            Text::from(o)
                        }
                    }
                }
            };
            // `$NAME=VALUE` definitions, with `\` continuation lines inside them only.
            let definition = if marks & DOLLAR == 0 {
                None
            } else {
                parse_definition(&body)
            };
            if let Some((name, value)) = definition {
                self.define(&file, lineno, &body, name, value)?;
                continue;
            }
            // Without a `$` there is nothing to substitute.
            let substituted = marks & DOLLAR == 0;
            if let Some(line) = self.process(file, lineno, body, indent, substituted, &mut tokens) {
                return Some(line);
            }
        }
    }

    /// Substitution, `~SEQ`/`~LST`, include, tokenising for one decommented line, whose
    /// leading blanks are `indent` bytes long.
    fn process(
        &mut self,
        file: Arc<str>,
        lineno: u32,
        body: Text,
        indent: usize,
        substituted: bool,
        tokens: &mut Vec<Token>,
    ) -> Option<Line> {
        let trimmed = &body[indent..];
        if trimmed.is_empty() {
            return None;
        }
        // `~SEQ`/`~LST` at the start of a line repeat the rest of it, once per value, with
        // the variable defined (`read_line()`; the left-most loop is the outermost).
        if is_seq(trimmed) {
            self.sequence(&file, lineno, &body, indent);
            return None;
        }
        let (text, indent) = if substituted || !body.contains('$') {
            (body, indent)
        } else {
            self.expand(&file, lineno, body, indent)?
        };
        if let Some((col, pattern, kind)) = include_pattern(&text, indent) {
            self.include(&file, lineno, &text, col, pattern, kind);
            return None;
        }
        tokens.clear();
        tokenize(&text, indent, tokens);
        if tokens.is_empty() {
            return None;
        }
        Some(Line {
            file,
            line: lineno,
            text,
            tokens: std::mem::take(tokens),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MemFs;

    pub(super) fn lines(fs: &MemFs, opts: &ParseOptions) -> (Vec<String>, Diagnostics) {
        let mut lx = Lexer::new(fs, opts, Path::new("/k.conf"));
        let mut out = Vec::new();
        while let Some(l) = lx.next_line(Vec::new()) {
            out.push(
                l.tokens
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        (out, lx.diags)
    }

    #[test]
    fn definitions_conditionals_and_sequences() {
        let fs = MemFs::new().with(
            "/k.conf",
            "$IF=eth0\n$LONG=a \\\n  b\n@r1 router_id R1\n@^r1 router_id OTHER\ninterface $IF\nx ${LONG} ${_HASH}\n~SEQ(i,1,2,5) vrid $i\n~LST({a,b},{1,2},{3,4}) p ${a}-$b\n~SEQx(h,10,11) h $h\n~SEQ(i,2) ~SEQ(j,0x1,2) n ${i}${j}\n$M=m1 \\\n  m2\n$M\n",
        );
        let (out, diags) = lines(&fs, &ParseOptions::default().with_config_id("r1"));
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(
            out,
            [
                "router_id R1",
                "interface eth0",
                "x a",
                "b #",
                "vrid 1",
                "vrid 3",
                "vrid 5",
                "p 1-2",
                "p 3-4",
                "h a",
                "h b",
                "n 11",
                "n 12",
                "n 21",
                "n 22",
                "m1",
                "m2"
            ]
        );
    }
}
