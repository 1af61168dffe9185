//! The line reader: files and includes, `@id` conditionals, comments, `$NAME`
//! definitions, `~SEQ`/`~LST` expansion, and tokenising. Follows keepalived's
//! `read_line()` pipeline (`lib/parser.c`); it yields one [`Line`] of tokens at a time so a
//! 250,000-line config never exists as a token tree in memory.

use super::budget::{Budget, Limit, Limits, REFERENCE_COST};
use super::diag::{quoted_part, DiagClass, Diagnostic, Diagnostics, Location, Severity};
use super::glob;
use super::source::{ConfigFs, ParseOptions};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// keepalived's `MAXBUF`: longer lines are dropped there; we read them and say so.
const KEEPALIVED_MAXBUF: usize = 1024;
/// Include nesting beyond this is certainly a runaway (keepalived has no limit but the
/// open-file limit).
const MAX_INCLUDE_DEPTH: usize = 64;
/// How much of a file is read at a time: a large config is never held whole.
const CHUNK: usize = 64 * 1024;
/// The longest physical line read: keepalived reads lines into a buffer of a few KiB
/// (`MAXBUF`), so this is far beyond any configuration, and it bounds what one line
/// without a newline (a sparse file of gigabytes) can make the reader hold.
const MAX_PHYSICAL_LINE: usize = 1 << 20;
/// Definitions expanding through more levels than this are taken as recursive.
const MAX_EXPANSION_DEPTH: usize = 32;
/// Definitions that double at every level would otherwise grow a line without bound.
const MAX_EXPANDED_LINE: usize = 64 * 1024;

/// A slice of shared text. A line is usually a slice of its file and a token a slice of
/// its line, so reading a line copies and allocates nothing. Not shared across threads:
/// the counts need no atomics.
#[derive(Clone)]
pub struct Text {
    buf: Rc<String>,
    start: usize,
    end: usize,
}

impl Text {
    fn new(buf: Rc<String>, start: usize, end: usize) -> Self {
        Text { buf, start, end }
    }

    /// The part from `start` to `end`, byte offsets within this text.
    fn slice(&self, start: usize, end: usize) -> Text {
        Text::new(self.buf.clone(), self.start + start, self.start + end)
    }

    pub fn as_str(&self) -> &str {
        &self.buf[self.start..self.end]
    }

    /// The text as a string of its own, for what outlives the parse (diagnostics): a
    /// slice must not keep its whole file alive.
    pub fn to_arc(&self) -> Arc<str> {
        Arc::from(self.as_str())
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        let end = s.len();
        Text::new(Rc::new(s), 0, end)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::from(s.to_string())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One token of a line, quotes and escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: Text,
    /// 1-based character column in [`Line::text`].
    pub col: u32,
    /// Whether any part was quoted: a quoted `{` is a word, not a brace.
    pub quoted: bool,
}

impl Token {
    pub fn is_open(&self) -> bool {
        !self.quoted && self.text.as_str() == "{"
    }
    pub fn is_close(&self) -> bool {
        !self.quoted && self.text.as_str() == "}"
    }
}

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

/// Where an `include` line was (file, line, column of its pattern, text), for messages.
struct IncludeSite {
    file: Arc<str>,
    line: u32,
    col: u32,
    text: Arc<str>,
}

impl IncludeSite {
    /// The pattern as written, for messages.
    fn pattern(&self) -> &str {
        let start = self
            .text
            .char_indices()
            .nth((self.col as usize).saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| i);
        self.text[start..].trim_end()
    }
}

/// An include match waiting its turn, and the `include` line that named it.
type QueuedInclude = (PathBuf, Rc<IncludeSite>);

/// A raw physical line: where it is, the chunk of its file it was cut from and its byte
/// range there, and which of the bytes in [`MARKS`] it holds.
struct RawLine {
    file: Arc<str>,
    line: u32,
    content: Rc<String>,
    start: usize,
    end: usize,
    marks: u8,
}

const NUL: u8 = 1;
const COMMENT: u8 = 2;
const DOLLAR: u8 = 4;
const NEWLINE: u8 = 8;

/// The bytes a line is scanned for as it is cut from its file: most lines have none, and
/// skip decommenting and substitution.
static MARKS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[0] = NUL;
    t[b'#' as usize] = COMMENT;
    t[b'!' as usize] = COMMENT;
    t[b'$' as usize] = DOLLAR;
    t[b'\n' as usize] = NEWLINE;
    t
};

struct Frame<'a> {
    name: Arc<str>,
    /// The `include` line that opened this file; None for the main file.
    site: Option<Rc<IncludeSite>>,
    dir: PathBuf,
    canonical: PathBuf,
    reader: Box<dyn Read + 'a>,
    /// Bytes read past the last whole line of `content`: the start of the next chunk.
    partial: Vec<u8>,
    eof: bool,
    /// A line longer than [`MAX_PHYSICAL_LINE`] stopped the reading of this file.
    too_long: bool,
    /// The whole lines read last; the lines and tokens cut from them share it.
    content: Rc<String>,
    pos: usize,
    line: u32,
    /// Further matches of this file's current `include`, read once the first is done:
    /// only the chain of files being read counts for cycle detection, not siblings.
    queued: VecDeque<QueuedInclude>,
}

impl Frame<'_> {
    /// Reads the next chunk of whole lines into `content`; false at the end of the file.
    fn refill(&mut self) -> io::Result<bool> {
        let mut buf = std::mem::take(&mut self.partial);
        while !self.eof {
            let len = buf.len();
            buf.resize(len + CHUNK, 0);
            match self.reader.read(&mut buf[len..]) {
                Ok(0) => {
                    buf.truncate(len);
                    self.eof = true;
                }
                Ok(n) => {
                    buf.truncate(len + n);
                    if buf[len..].contains(&b'\n') {
                        break;
                    }
                    let line_start = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                    if buf.len() - line_start > MAX_PHYSICAL_LINE {
                        // The whole lines before it are read; the file ends here.
                        buf.truncate(line_start);
                        self.eof = true;
                        self.too_long = true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => buf.truncate(len),
                Err(e) => return Err(e),
            }
        }
        if !self.eof {
            let cut = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            self.partial = buf.split_off(cut);
        }
        if buf.is_empty() {
            return Ok(false);
        }
        // keepalived reads bytes; a stray invalid byte must not lose the file. Chunks end
        // at a newline, which no UTF-8 sequence spans, so each converts on its own.
        let text = String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        self.content = Rc::new(text);
        self.pos = 0;
        Ok(true)
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

/// The values of a `~SEQ`/`~LST`, yielded one at a time as the definitions to make before
/// the repeated line is processed; like keepalived's `set_definition()` they stay defined
/// afterwards.
enum Values {
    Seq {
        var: String,
        /// The next value; None once the sequence is done (or would overflow).
        next: Option<i64>,
        step: i64,
        /// Values still to come, `next` included.
        left: u64,
        hex: bool,
    },
    List {
        vars: Vec<String>,
        rows: VecDeque<Vec<String>>,
    },
}

impl Values {
    /// How many repetitions are still to come.
    fn len(&self) -> u64 {
        match self {
            Values::Seq { left, .. } => *left,
            Values::List { rows, .. } => rows.len() as u64,
        }
    }

    fn construct(&self) -> &'static str {
        match self {
            Values::Seq { hex: true, .. } => "~SEQx",
            Values::Seq { .. } => "~SEQ",
            Values::List { .. } => "~LST",
        }
    }

    fn next_binding(&mut self) -> Option<Vec<(String, String)>> {
        match self {
            Values::Seq {
                var,
                next,
                step,
                left,
                hex,
            } => {
                if *left == 0 {
                    return None;
                }
                let v = (*next)?;
                *left -= 1;
                *next = v.checked_add(*step);
                let text = if *hex {
                    format!("{v:x}")
                } else {
                    v.to_string()
                };
                Some(vec![(var.clone(), text)])
            }
            Values::List { vars, rows } => {
                let row = rows.pop_front()?;
                Some(vars.iter().cloned().zip(row).collect())
            }
        }
    }
}

/// What stopped a substitution.
enum SubstError {
    /// A mistake on this line: reported, the line dropped, reading goes on.
    Line(String),
    /// The whole configuration's budget ran out at the reference `$name` starting at byte
    /// `at` of the line.
    Budget {
        limit: Limit,
        name: String,
        at: usize,
    },
}

impl From<String> for SubstError {
    fn from(s: String) -> Self {
        SubstError::Line(s)
    }
}

pub struct Lexer<'a> {
    fs: &'a dyn ConfigFs,
    opts: &'a ParseOptions,
    stack: Vec<Frame<'a>>,
    pending: VecDeque<Pending>,
    defs: BTreeMap<String, String>,
    rng: u64,
    /// What expansion has spent, shared by every file of the load.
    budget: Budget,
    pub diags: Diagnostics,
    /// Every file read, in order: the dump and the reload diff name them.
    pub files: Vec<PathBuf>,
}

impl<'a> Lexer<'a> {
    /// Opens the main config file; a missing one is fatal (exit 4), as it should have
    /// been in keepalived 2.2.7, which exits 0 for it.
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

    fn push_file(&mut self, path: &Path, site: Option<Rc<IncludeSite>>) -> Result<(), String> {
        let canonical = self.fs.canonicalize(path).map_err(|e| e.to_string())?;
        if self.stack.iter().any(|f| f.canonical == canonical) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .map(|f| f.name.to_string())
                .chain(std::iter::once(path.display().to_string()))
                .collect();
            return Err(format!("include cycle: {}", chain.join(" -> ")));
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(format!("includes nested deeper than {MAX_INCLUDE_DEPTH}"));
        }
        let reader = self.fs.open(path).map_err(|e| e.to_string())?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.files.push(path.to_path_buf());
        self.stack.push(Frame {
            name: Arc::from(path.display().to_string()),
            site,
            dir,
            canonical,
            reader,
            partial: Vec::new(),
            eof: false,
            too_long: false,
            content: Rc::default(),
            pos: 0,
            line: 0,
            queued: VecDeque::new(),
        });
        Ok(())
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

    /// Next raw physical line from the include stack, with its file and number.
    fn next_raw(&mut self) -> Option<RawLine> {
        loop {
            let frame = self.stack.last_mut()?;
            if let Some((path, site)) = frame.queued.pop_front() {
                self.open_include(&path, site);
                continue;
            }
            if frame.pos >= frame.content.len() {
                match frame.refill() {
                    Ok(true) => {
                        if let Some(site) = frame.site.clone() {
                            let read = frame.content.len() as u64;
                            if let Err(limit) = self.budget.spend(Limit::IncludedBytes, read) {
                                let construct = format!("'include {}'", site.pattern());
                                self.stop(
                                    &site.file, site.line, site.col, &site.text, &construct, limit,
                                );
                                return None;
                            }
                        }
                    }
                    Ok(false) => {
                        if frame.too_long {
                            let (file, line) = (frame.name.clone(), frame.line.saturating_add(1));
                            self.diags.push(Diagnostic {
                                severity: Severity::Error,
                                class: DiagClass::Structure,
                                location: Some(Location {
                                    file,
                                    line,
                                    column: 1,
                                }),
                                message: format!(
                                    "this line is longer than {} MiB - the rest of the file is not read",
                                    MAX_PHYSICAL_LINE >> 20
                                ),
                                source_line: None,
                            });
                        }
                        self.stack.pop();
                        continue;
                    }
                    Err(e) => {
                        let message =
                            format!("cannot read configuration file '{}': {e}", frame.name);
                        self.stack.pop();
                        self.diags.push(Diagnostic {
                            severity: Severity::Error,
                            class: DiagClass::Fatal,
                            location: None,
                            message,
                            source_line: None,
                        });
                        continue;
                    }
                }
            }
            let start = frame.pos;
            let bytes = frame.content.as_bytes();
            let mut end = start;
            let mut marks = 0;
            while end < bytes.len() {
                let m = MARKS[usize::from(bytes[end])];
                if m == NEWLINE {
                    break;
                }
                marks |= m;
                end += 1;
            }
            frame.pos = end + 1;
            frame.line = frame.line.saturating_add(1);
            if end > start && bytes[end - 1] == b'\r' {
                end -= 1;
            }
            return Some(RawLine {
                file: frame.name.clone(),
                line: frame.line,
                content: frame.content.clone(),
                start,
                end,
                marks,
            });
        }
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
            let trimmed = trim_start(raw);
            let mut indent = raw.len() - trimmed.len();
            let body = if let Some(cond) = trimmed.strip_prefix('@') {
                let (negate, cond) = match cond.strip_prefix('^') {
                    Some(c) => (true, c),
                    None => (false, cond),
                };
                let id_end = cond.find(char::is_whitespace).unwrap_or(cond.len());
                let id = &cond[..id_end];
                if (id == self.opts.config_id) == negate {
                    continue;
                }
                let kept = format!("{}{}", &raw[..indent], cond[id_end..].trim_start());
                let kept = decomment(&kept).into_owned();
                indent = kept.len() - trim_start(&kept).len();
                Text::from(kept)
            } else {
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
            };
            // `$NAME=VALUE` definitions, with `\` continuation lines inside them only.
            let definition = if marks & DOLLAR == 0 {
                None
            } else {
                parse_definition(&body)
            };
            if let Some((name, value)) = definition {
                // A trailing `\` continues the definition on the next line; the lines stay
                // lines, so the definition expands to several (`read_line()`).
                let name = name.to_string();
                let mut value = value.to_string();
                // Each continuation line is charged as a line and its bytes, and the value
                // is cut in place: copying the whole value at each line made a file of
                // continuation lines cost quadratic time.
                while value.ends_with('\\') {
                    value.pop();
                    value.truncate(value.trim_end().len());
                    value.push('\n');
                    match self.next_raw() {
                        Some(r) if !r.content[r.start..r.end].trim().is_empty() => {
                            let more = decomment(&r.content[r.start..r.end]);
                            let more = more.trim();
                            let spent = self
                                .budget
                                .spend(Limit::Lines, 1)
                                .and_then(|()| self.budget.spend(Limit::Bytes, more.len() as u64));
                            if let Err(limit) = spent {
                                let construct = format!("the definition of '${name}'");
                                self.stop(&file, lineno, 1, &body, &construct, limit);
                                return None;
                            }
                            value.push_str(more);
                        }
                        _ => break,
                    }
                }
                let value = value.trim_end_matches('\n').to_string();
                self.defs.insert(name, value);
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
        mut indent: usize,
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
        let text = if substituted || !body.contains('$') {
            body
        } else {
            let expanded = self.substitute(&body, 0).map(|t| match t {
                Cow::Borrowed(_) => None,
                Cow::Owned(o) => Some(o),
            });
            match expanded {
                Ok(None) => body,
                Ok(Some(o)) => {
                    // A multi-line definition: each of its lines is a line of its own.
                    // Only substitution brings a newline into a line.
                    let pieces = o.bytes().filter(|&b| b == b'\n').count() as u64;
                    let spent = self
                        .budget
                        .spend(Limit::Bytes, o.len() as u64)
                        .and_then(|()| self.budget.spend(Limit::Lines, pieces));
                    if let Err(limit) = spent {
                        let (col, construct) = first_reference(&body);
                        self.stop(&file, lineno, col, &body, &construct, limit);
                        return None;
                    }
                    if pieces > 0 {
                        for l in o.split('\n').rev() {
                            self.pending.push_front(Pending::Line {
                                file: file.clone(),
                                line: lineno,
                                text: l.to_string(),
                            });
                        }
                        return None;
                    }
                    indent = o.len() - trim_start(&o).len();
                    Text::from(o)
                }
                Err(SubstError::Line(msg)) => {
                    self.diag(
                        Severity::Error,
                        DiagClass::Value,
                        &file,
                        lineno,
                        1,
                        &body,
                        msg,
                    );
                    return None;
                }
                Err(SubstError::Budget { limit, name, at }) => {
                    let construct = format!("'${name}'");
                    self.stop(&file, lineno, column(&body, at), &body, &construct, limit);
                    return None;
                }
            }
        };
        if let Some((col, pattern)) = include_pattern(&text, indent) {
            self.include(&file, lineno, &text, col, pattern);
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

    /// A `~SEQ`/`~LST` line (its construct at byte `indent` of `body`): queues the rest of
    /// the line to be produced once per value.
    fn sequence(&mut self, file: &Arc<str>, lineno: u32, body: &Text, indent: usize) {
        let trimmed = &body[indent..];
        let col = column(body, indent);
        let head_end = trimmed.find(')').map_or(trimmed.len(), |i| i + 1);
        // Definitions inside the parentheses are expanded first.
        let head = match self.substitute(&trimmed[..head_end], 0) {
            Ok(h) => h.into_owned(),
            Err(SubstError::Line(msg)) => {
                self.diag(
                    Severity::Error,
                    DiagClass::Value,
                    file,
                    lineno,
                    col,
                    body,
                    msg,
                );
                return;
            }
            Err(SubstError::Budget { limit, name, at }) => {
                let construct = format!("'${name}'");
                let at = column(body, indent.saturating_add(at));
                self.stop(file, lineno, at, body, &construct, limit);
                return;
            }
        };
        let values = match parse_seq(&head) {
            Ok((values, _)) => values,
            Err(msg) => {
                self.diag(
                    Severity::Error,
                    DiagClass::Value,
                    file,
                    lineno,
                    col,
                    body,
                    msg,
                );
                return;
            }
        };
        // A sequence longer than all the lines left to produce is refused before it starts.
        if values.len() > self.budget.remaining(Limit::Lines) {
            let construct = format!("'{}' of {} values", values.construct(), values.len());
            self.stop(file, lineno, col, body, &construct, Limit::Lines);
            return;
        }
        let rest = trimmed[head_end..].trim_start();
        self.pending.push_front(Pending::Repeat {
            file: file.clone(),
            line: lineno,
            origin: body.clone(),
            col,
            text: Rc::new(rest.to_string()),
            values,
        });
    }

    fn include(&mut self, file: &Arc<str>, lineno: u32, text: &str, col: u32, pattern: &str) {
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

    fn open_include(&mut self, path: &Path, site: Rc<IncludeSite>) {
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

    /// `$NAME`, `${NAME}` and the predefined `${_...}` names (`set_std_definitions()`).
    /// Every byte scanned and every reference resolved is spent from the budget, so that
    /// definitions which multiply one another stop however little text they produce.
    fn substitute<'t>(&mut self, text: &'t str, depth: usize) -> Result<Cow<'t, str>, SubstError> {
        if !text.contains('$') {
            return Ok(Cow::Borrowed(text));
        }
        if depth > MAX_EXPANSION_DEPTH {
            return Err(format!("definitions nest more than {MAX_EXPANSION_DEPTH} deep - is one defined in terms of itself?").into());
        }
        let spend = |lx: &mut Self, n: u64| {
            lx.budget
                .spend(Limit::SubstitutionWork, n)
                .map_err(|limit| SubstError::Budget {
                    limit,
                    name: String::new(),
                    at: 0,
                })
        };
        spend(self, text.len() as u64)?;
        // The reference being resolved names the construct when the budget runs out.
        let located = |e: SubstError, name: &str, at: usize| match e {
            SubstError::Budget { limit, name: n, .. } if n.is_empty() && depth == 0 => {
                SubstError::Budget {
                    limit,
                    name: name.to_string(),
                    at,
                }
            }
            e => e,
        };
        let mut out = String::with_capacity(text.len().saturating_add(16));
        let mut rest = text;
        let mut changed = false;
        while let Some(i) = rest.find('$') {
            let at = text.len() - rest.len() + i;
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(inner_start) = after.strip_prefix('{') {
                if let Some(close) = inner_start.find('}') {
                    let inner = &inner_start[..close];
                    spend(self, REFERENCE_COST).map_err(|e| located(e, inner, at))?;
                    if let Some(value) = self.lookup(inner)? {
                        let value = self
                            .substitute(&value, depth + 1)
                            .map_err(|e| located(e, &format!("{{{inner}}}"), at))?
                            .into_owned();
                        out.push_str(&value);
                        if out.len() > MAX_EXPANDED_LINE {
                            return Err(format!(
                                "definitions expand this line past {MAX_EXPANDED_LINE} bytes"
                            )
                            .into());
                        }
                        rest = &inner_start[close + 1..];
                        changed = true;
                        continue;
                    }
                }
                out.push('$');
                rest = after;
                continue;
            }
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            let name = &after[..name_len];
            let next = after[name_len..].chars().next();
            // `$NAME` only when followed by blank, `,`, `)` or the end (`replace_param()`).
            let starts_ok = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
            if starts_ok && next.is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | ',' | ')')) {
                if let Some(value) = self.defs.get(name).cloned() {
                    spend(self, REFERENCE_COST).map_err(|e| located(e, name, at))?;
                    let value = self
                        .substitute(&value, depth + 1)
                        .map_err(|e| located(e, name, at))?
                        .into_owned();
                    out.push_str(&value);
                    if out.len() > MAX_EXPANDED_LINE {
                        return Err(format!(
                            "definitions expand this line past {MAX_EXPANDED_LINE} bytes"
                        )
                        .into());
                    }
                    rest = &after[name_len..];
                    changed = true;
                    continue;
                }
            }
            out.push('$');
            rest = after;
        }
        out.push_str(rest);
        Ok(if changed {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        })
    }

    fn lookup(&mut self, inner: &str) -> Result<Option<String>, String> {
        let mut words = inner.split_whitespace();
        let Some(name) = words.next() else {
            return Ok(None);
        };
        if let Some(v) = self.defs.get(name) {
            // A user definition may shadow a predefined name, as in keepalived.
            if words.clone().next().is_none() {
                return Ok(Some(v.clone()));
            }
        }
        Ok(match name {
            "_PWD" => Some(
                self.stack
                    .last()
                    .map(|f| f.dir.display().to_string())
                    .unwrap_or_default(),
            ),
            "_INSTANCE" => Some(self.opts.config_id.clone()),
            "_HASH" => Some("#".into()),
            "_BANG" => Some("!".into()),
            "_ENV" => {
                let var = words.next().ok_or("${_ENV} needs a variable name")?;
                Some(self.opts.env.get(var).cloned().unwrap_or_default())
            }
            "_RANDOM" => {
                let parse = |w: Option<&str>, default: i64| -> Result<i64, String> {
                    w.map_or(Ok(default), |w| {
                        w.parse()
                            .map_err(|_| format!("${{_RANDOM}} bound '{w}' is not a number"))
                    })
                };
                // One parameter is the minimum (`${_RANDOM 10}` is 10..=32767).
                let lo = parse(words.next(), 0)?;
                let hi = parse(words.next(), 32767)?;
                if hi < lo {
                    return Err(format!("${{_RANDOM {lo} {hi}}}: maximum below minimum"));
                }
                // In i128: the span of the whole i64 range does not fit in 64 bits.
                let span = i128::from(hi) - i128::from(lo) + 1;
                let offset = i128::from(self.next_random()) % span;
                Some((i128::from(lo) + offset).to_string())
            }
            _ => {
                if words.next().is_some() {
                    None
                } else {
                    self.defs.get(name).cloned()
                }
            }
        })
    }

    /// splitmix64: `${_RANDOM}` is reproducible from `random_seed`.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The column and name of the first `$` reference of a line, which names the
/// substitution in messages.
fn first_reference(line: &str) -> (u32, String) {
    let Some(at) = line.find('$') else {
        return (1, "'$' substitution".to_string());
    };
    let after = &line[at + 1..];
    let len = match after.strip_prefix('{') {
        Some(inner) => inner.find('}').map_or(0, |c| c + 2),
        None => after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len()),
    };
    (column(line, at), format!("'${}'", &after[..len]))
}

/// The 1-based character column of byte `at` of `line`.
fn column(line: &str, at: usize) -> u32 {
    let before = line.get(..at).unwrap_or(line);
    let chars = if before.is_ascii() {
        before.len()
    } else {
        before.chars().count()
    };
    u32::try_from(chars).map_or(u32::MAX, |c| c.saturating_add(1))
}

/// `include FILE` (and the checking variants): the file pattern is the rest of the line,
/// untokenised, as in keepalived.
fn include_pattern(text: &str, indent: usize) -> Option<(u32, &str)> {
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

/// Cuts the line at the first `#` or `!` outside double quotes; `\#` and `\!` stand for
/// the characters themselves (`decomment()`).
pub fn decomment(line: &str) -> Cow<'_, str> {
    let bytes = line.as_bytes();
    if !bytes.iter().any(|&b| b == b'#' || b == b'!') {
        return Cow::Borrowed(line);
    }
    let mut out: Option<String> = None;
    let mut in_quote = false;
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_quote = !in_quote,
            b'\\' if !in_quote && matches!(bytes.get(i + 1), Some(b'#') | Some(b'!')) => {
                let o = out.get_or_insert_with(String::new);
                o.push_str(&line[last..i]);
                last = i + 1;
                i += 1;
            }
            b'#' | b'!' if !in_quote => {
                return match out {
                    None => Cow::Borrowed(&line[..i]),
                    Some(mut o) => {
                        o.push_str(&line[last..i]);
                        Cow::Owned(o)
                    }
                };
            }
            _ => {}
        }
        i += 1;
    }
    match out {
        Some(mut o) => {
            o.push_str(&line[last..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(line),
    }
}

/// `$NAME=VALUE` with only whitespace before `$` and nothing between the name and `=`.
fn parse_definition(line: &str) -> Option<(&str, &str)> {
    let rest = trim_start(line).strip_prefix('$')?;
    let eq = rest.find('=')?;
    let name = &rest[..eq];
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((name, rest[eq + 1..].trim()))
}

fn is_seq(text: &str) -> bool {
    ["~SEQx", "~SEQ", "~LST"].iter().any(|k| {
        text.strip_prefix(k)
            .is_some_and(|r| r.trim_start().starts_with('('))
    })
}

/// Parses `~SEQ(var,[start,[step,]]end)`, `~SEQx(...)` or `~LST(var,v1,...)` /
/// `~LST({a,b},{1,2},...)` at the start of `s`; returns its values, produced as they are
/// needed, and the byte offset of the text after the closing parenthesis.
fn parse_seq(s: &str) -> Result<(Values, usize), String> {
    let kind = if s.starts_with("~SEQx") {
        "SEQx"
    } else if s.starts_with("~SEQ") {
        "SEQ"
    } else {
        "LST"
    };
    let open = s.find('(').map_or(s.len(), |i| i + 1);
    let mut depth = 1usize;
    let mut close = None;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' | '{' => depth = depth.saturating_add(1),
            ')' | '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close.ok_or_else(|| format!("~{kind}( has no closing ')'"))?;
    let inner = &s[open..close];
    let args = split_args(inner);
    if kind == "LST" {
        if args.len() < 2 {
            return Err(
                "~LST needs a variable and at least one value: ~LST(var, v1, v2, ...)".into(),
            );
        }
        let var_spec = args[0].trim();
        let braced = var_spec.strip_prefix('{').and_then(|v| v.strip_suffix('}'));
        let vars: Vec<String> = match braced {
            Some(list) => list.split(',').map(|v| v.trim().to_string()).collect(),
            None => {
                check_var(var_spec)?;
                vec![var_spec.to_string()]
            }
        };
        let mut rows = VecDeque::with_capacity(args.len() - 1);
        for value in &args[1..] {
            let value = value.trim();
            let values: Vec<String> = match braced {
                Some(_) => value
                    .strip_prefix('{')
                    .and_then(|v| v.strip_suffix('}'))
                    .map(|v| v.split(',').map(|x| x.trim().to_string()).collect())
                    .unwrap_or_else(|| vec![value.to_string()]),
                None => vec![value.to_string()],
            };
            if values.len() != vars.len() {
                return Err(format!(
                    "~LST value '{value}' has {} items for {} variables",
                    values.len(),
                    vars.len()
                ));
            }
            rows.push_back(values);
        }
        return Ok((Values::List { vars, rows }, close + 1));
    }
    let var = args[0].trim();
    check_var(var)?;
    let nums: Result<Vec<i64>, String> = args[1..]
        .iter()
        .map(|a| {
            let a = a.trim();
            parse_c_long(a).ok_or_else(|| format!("~{kind}: '{a}' is not an integer"))
        })
        .collect();
    let nums = nums?;
    let (start, step, end) = match nums.as_slice() {
        // keepalived: `~SEQ(v, N)` counts from 1 (or -1) towards N.
        [end] => (
            if *end < 0 { -1 } else { 1 },
            if *end < 1 { -1 } else { 1 },
            *end,
        ),
        [start, end] => (*start, if end >= start { 1 } else { -1 }, *end),
        [start, step, end] => (*start, *step, *end),
        _ => {
            return Err(format!(
                "~{kind} takes (var, end), (var, start, end) or (var, start, step, end)"
            ))
        }
    };
    if step == 0 || (step > 0 && end < start) || (step < 0 && end > start) {
        return Err(format!(
            "~{kind}: step {step} never gets from {start} to {end}"
        ));
    }
    if kind == "SEQx" && (start < 0 || end < 0) {
        return Err("~SEQx: values must not be negative".into());
    }
    // In i128: `end - start` reaches 2^64 - 1, which no i64 holds. The count, at most
    // 2^64, saturates to u64::MAX: far past any budget, so refused all the same.
    let count = (i128::from(end) - i128::from(start)) / i128::from(step) + 1;
    let left = u64::try_from(count).unwrap_or(u64::MAX);
    let values = Values::Seq {
        var: var.to_string(),
        next: Some(start),
        step,
        left,
        hex: kind == "SEQx",
    };
    Ok((values, close + 1))
}

fn check_var(var: &str) -> Result<(), String> {
    if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("'{var}' is not a valid variable name"));
    }
    Ok(())
}

/// Splits on commas outside `{}`.
fn split_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// `strtol(s, NULL, 0)`: decimal, `0x` hex, leading-`0` octal; empty is 0. Values out of
/// the range of a C long are refused (strtol would clamp them).
fn parse_c_long(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let magnitude = if digits.is_empty() {
        0
    } else if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        u64::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<u64>().ok()?
    };
    // In i128, where both -2^63 and 2^64 - 1 are numbers.
    let v = i128::from(magnitude);
    i64::try_from(if neg { -v } else { v }).ok()
}

/// Splits a decommented line into tokens as keepalived's `alloc_strvec_r()` does:
/// blanks separate; a `"` at the start of a token quotes up to the next `"` (blanks kept,
/// no escapes); a `"` inside a word ends it; an unquoted `{` or `}` is a token of its own
/// (`read_line()` splits the line at each brace). Reading starts at byte `from`, after
/// blanks already skipped; the tokens, slices of the line, are appended to `tokens`.
pub fn tokenize(line: &Text, from: usize, tokens: &mut Vec<Token>) {
    let s = line.as_str();
    let bytes = s.as_bytes();
    let class = |i: usize| CLASS[usize::from(bytes[i])];
    let mut i = from;
    // Characters before byte `i`: columns count characters, not bytes.
    // Columns saturate: a line of four billion characters is not worth a wrong number
    // more than a right one.
    let mut col = column(s, from) - 1;
    while i < bytes.len() {
        match class(i) {
            BLANK => {
                i += 1;
                col = col.saturating_add(1);
            }
            BRACE => {
                tokens.push(Token {
                    text: line.slice(i, i + 1),
                    col: col.saturating_add(1),
                    quoted: false,
                });
                i += 1;
                col = col.saturating_add(1);
            }
            QUOTE => {
                let open = i + 1;
                let close = s[open..].find('"').map(|q| open + q);
                let end = close.unwrap_or(bytes.len());
                tokens.push(Token {
                    text: line.slice(open, end),
                    col: col.saturating_add(1),
                    quoted: true,
                });
                let quoted = column(&s[open..end], end - open) - 1;
                col = col
                    .saturating_add(1)
                    .saturating_add(quoted)
                    .saturating_add(u32::from(close.is_some()));
                i = close.map_or(end, |c| c + 1);
            }
            first => {
                if first == OTHER && starts_blank(s, i) {
                    i += s[i..].chars().next().map_or(1, char::len_utf8);
                    col = col.saturating_add(1);
                    continue;
                }
                // A word runs to a blank, a quote or a brace: `ab"c d"` is two tokens.
                let start = i;
                let first_col = col.saturating_add(1);
                loop {
                    let run = i;
                    while i < bytes.len() && class(i) == WORD {
                        i += 1;
                    }
                    col = col.saturating_add(u32::try_from(i - run).unwrap_or(u32::MAX));
                    if i < bytes.len() && class(i) == OTHER && !starts_blank(s, i) {
                        i += s[i..].chars().next().map_or(1, char::len_utf8);
                        col = col.saturating_add(1);
                    } else {
                        break;
                    }
                }
                tokens.push(Token {
                    text: line.slice(start, i),
                    col: first_col,
                    quoted: false,
                });
            }
        }
    }
}

const WORD: u8 = 0;
const BLANK: u8 = 1;
const BRACE: u8 = 2;
const QUOTE: u8 = 3;
/// Outside ASCII: decoded to tell a Unicode blank from a word character.
const OTHER: u8 = 4;

/// What each byte is to [`tokenize`]; blanks are those of `char::is_whitespace`.
static CLASS: [u8; 256] = {
    let mut t = [WORD; 256];
    let mut b = 0x80;
    while b < 256 {
        t[b] = OTHER;
        b += 1;
    }
    t[b' ' as usize] = BLANK;
    t[b'\t' as usize] = BLANK;
    t[b'\n' as usize] = BLANK;
    t[0x0b] = BLANK;
    t[0x0c] = BLANK;
    t[b'\r' as usize] = BLANK;
    t[b'{' as usize] = BRACE;
    t[b'}' as usize] = BRACE;
    t[b'"' as usize] = QUOTE;
    t
};

/// Whether the (non-ASCII) character at byte `i` is a Unicode blank.
fn starts_blank(s: &str, i: usize) -> bool {
    s[i..].chars().next().is_some_and(char::is_whitespace)
}

/// `str::trim_start`, quick over the ASCII blanks config lines are indented with.
fn trim_start(s: &str) -> &str {
    let blanks = s
        .bytes()
        .position(|b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let rest = &s[blanks..];
    match rest.as_bytes().first() {
        Some(b) if !b.is_ascii_graphic() => rest.trim_start(),
        _ => rest,
    }
}

/// Splits a script command line into argv as keepalived's
/// `alloc_strvec_quoted_escaped()` does: `"` and `'` quote anywhere and quoted pieces join
/// the word around them (`abcd" efg h jkl "mnop` is one argument); backslash escapes
/// `\a \b \E \f \n \r \t \v \nnn \xXX \cC`, and `\C` is C.
pub fn split_command(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                in_word = true;
                if let Some(e) = chars.next() {
                    push_escape(&mut cur, e, &mut chars);
                }
            }
            q @ ('"' | '\'') if quote.is_none() => {
                in_word = true;
                quote = Some(q);
            }
            q if Some(q) == quote => quote = None,
            c if quote.is_none() && c.is_whitespace() => {
                if in_word {
                    args.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        args.push(cur);
    }
    args
}

fn push_escape(cur: &mut String, e: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut take_digits = |radix: u32, max: usize, first: u32| {
        let mut v = first;
        for _ in 0..max {
            match chars.peek().and_then(|c| c.to_digit(radix)) {
                Some(d) => {
                    v = v * radix + d;
                    chars.next();
                }
                None => break,
            }
        }
        v
    };
    let ch = match e {
        'a' => '\x07',
        'b' => '\x08',
        'E' => '\x1b',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        'x' => char::from(take_digits(16, 2, 0) as u8),
        '0'..='7' => char::from((take_digits(8, 2, e.to_digit(8).unwrap_or(0)) & 0xff) as u8),
        'c' => match chars.next() {
            Some(k) => char::from((k.to_ascii_uppercase() as u8) ^ 0x40),
            None => 'c',
        },
        other => other,
    };
    cur.push(ch);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MemFs;

    fn tokens(line: &str) -> Vec<Token> {
        let mut t = Vec::new();
        tokenize(&Text::from(line), 0, &mut t);
        t
    }

    fn texts(line: &str) -> Vec<String> {
        tokens(line)
            .into_iter()
            .map(|t| t.text.to_string())
            .collect()
    }

    fn lines(fs: &MemFs, opts: &ParseOptions) -> (Vec<String>, Diagnostics) {
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
    fn double_quotes_keep_blanks_and_split_words() {
        assert_eq!(
            texts(r#"notify "/bin/a b" 'c d'"#),
            ["notify", "/bin/a b", "'c", "d'"]
        );
        assert_eq!(texts(r#"regex "\d+ x""#), ["regex", "\\d+ x"]);
        assert_eq!(texts(r#"ab"c d"e"#), ["ab", "c d", "e"]);
    }

    #[test]
    fn columns_count_characters_and_unicode_blanks_separate() {
        let got: Vec<(String, u32, bool)> = tokens("a\u{3000}b \"c d\" é{x}\"open end")
            .into_iter()
            .map(|t| (t.text.to_string(), t.col, t.quoted))
            .collect();
        let want = [
            ("a", 1, false),
            ("b", 3, false),
            ("c d", 5, true),
            ("é", 11, false),
            ("{", 12, false),
            ("x", 13, false),
            ("}", 14, false),
            ("open end", 15, true),
        ];
        let want: Vec<(String, u32, bool)> = want
            .iter()
            .map(|(t, c, q)| (t.to_string(), *c, *q))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn script_commands_quote_and_escape_like_a_shell() {
        assert_eq!(
            split_command(r#"abcd" efg h jkl "mnop x"#),
            ["abcd efg h jkl mnop", "x"]
        );
        assert_eq!(
            split_command(r#"/bin/n 'a b' "c\"d" e\ f"#),
            ["/bin/n", "a b", "c\"d", "e f"]
        );
        assert_eq!(split_command(r#""\x41\101\n\q""#), ["AA\nq"]);
    }

    #[test]
    fn braces_split_from_words() {
        assert_eq!(
            texts("vrrp_instance VI_1{ state MASTER }}"),
            ["vrrp_instance", "VI_1", "{", "state", "MASTER", "}", "}"]
        );
        let t = tokens("a \"{\"");
        assert!(!t[1].is_open());
    }

    #[test]
    fn comments_outside_quotes_only() {
        assert_eq!(decomment("router_id a # x"), "router_id a ");
        assert_eq!(decomment("router_id a! x"), "router_id a");
        assert_eq!(decomment(r#"s "a#b" # c"#), r#"s "a#b" "#);
        assert_eq!(decomment(r"s 'a#b'"), "s 'a");
        assert_eq!(texts(&decomment(r"s a\#b # c")), ["s", "a#b"]);
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

    #[test]
    fn lines_across_read_chunks_keep_their_numbers_and_text() {
        let text: String = (1..=20_000).map(|i| format!("ké{i} v{i}\n")).collect();
        assert!(text.len() > 3 * CHUNK);
        let fs = MemFs::new().with("/k.conf", text);
        let opts = ParseOptions::default();
        let mut lx = Lexer::new(&fs, &opts, Path::new("/k.conf"));
        let mut n = 0;
        while let Some(l) = lx.next_line(Vec::new()) {
            n += 1;
            assert_eq!(l.line, n);
            assert_eq!(l.text.as_str(), format!("ké{n} v{n}"));
            assert_eq!(
                l.tokens[1].col,
                format!("ké{n} ").chars().count() as u32 + 1
            );
        }
        assert_eq!(n, 20_000);
        assert!(lx.diags.is_empty(), "{:?}", lx.diags);
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
