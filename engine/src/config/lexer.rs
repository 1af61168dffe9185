//! The line reader: files and includes, `@id` conditionals, comments, `$NAME`
//! definitions, `~SEQ`/`~LST` expansion, and tokenising. Follows keepalived's
//! `read_line()` pipeline (`lib/parser.c`); it yields one [`Line`] of tokens at a time so a
//! 250,000-line config never exists as a token tree in memory.

use super::diag::{DiagClass, Diagnostic, Diagnostics, Location, Severity};
use super::glob;
use super::source::{ConfigFs, ParseOptions};
use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// keepalived's `MAXBUF`: longer lines are dropped there; we read them and say so.
const KEEPALIVED_MAXBUF: usize = 1024;
/// Include nesting beyond this is certainly a runaway (keepalived has no limit but the
/// open-file limit).
const MAX_INCLUDE_DEPTH: usize = 64;
/// Definitions expanding through more levels than this are taken as recursive.
const MAX_EXPANSION_DEPTH: usize = 32;
/// Definitions that double at every level would otherwise grow a line without bound.
const MAX_EXPANDED_LINE: usize = 64 * 1024;
/// A `~SEQ` that would produce more lines than this is refused rather than run away.
const MAX_SEQ_LINES: i64 = 1_000_000;

/// One token of a line, quotes and escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: String,
    /// 1-based character column in [`Line::text`].
    pub col: u32,
    /// Whether any part was quoted: a quoted `{` is a word, not a brace.
    pub quoted: bool,
}

impl Token {
    pub fn is_open(&self) -> bool {
        !self.quoted && self.text == "{"
    }
    pub fn is_close(&self) -> bool {
        !self.quoted && self.text == "}"
    }
}

/// A logical line after every expansion, ready for the parser.
#[derive(Debug, Clone)]
pub struct Line {
    pub file: Arc<str>,
    pub line: u32,
    pub text: Arc<str>,
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

/// An include match waiting its turn: path, and where the `include` line was (file,
/// line, column, text) for messages.
type QueuedInclude = (PathBuf, Arc<str>, u32, u32, Arc<str>);

/// A raw physical line: file name, line number, file content, and the line's byte range.
type RawLine = (Arc<str>, u32, Arc<str>, usize, usize);

struct Frame {
    name: Arc<str>,
    dir: PathBuf,
    canonical: PathBuf,
    content: Arc<str>,
    pos: usize,
    line: u32,
    /// Further matches of this file's current `include`, read once the first is done:
    /// only the chain of files being read counts for cycle detection, not siblings.
    queued: VecDeque<QueuedInclude>,
}

/// A line queued by `~SEQ`/`~LST` expansion, with the definitions it expands under.
struct Pending {
    file: Arc<str>,
    line: u32,
    text: String,
    /// Set once the line has gone through `$` substitution.
    substituted: bool,
    /// `~SEQ`/`~LST` variables to define before the line is processed; like keepalived's
    /// `set_definition()` they stay defined afterwards.
    bind: Vec<(String, String)>,
}

pub struct Lexer<'a> {
    fs: &'a dyn ConfigFs,
    opts: &'a ParseOptions,
    stack: Vec<Frame>,
    pending: VecDeque<Pending>,
    defs: BTreeMap<String, String>,
    rng: u64,
    pub diags: Diagnostics,
    /// Every file read, in order: the dump and the reload diff name them.
    pub files: Vec<PathBuf>,
}

impl<'a> Lexer<'a> {
    /// Opens the main config file; a missing one is fatal (exit 4), as it should have
    /// been in keepalived 2.2.7, which exits 0 for it.
    pub fn new(fs: &'a dyn ConfigFs, opts: &'a ParseOptions, path: &Path) -> Self {
        let mut lx = Lexer {
            fs,
            opts,
            stack: Vec::new(),
            pending: VecDeque::new(),
            defs: BTreeMap::new(),
            rng: opts.random_seed ^ 0x9e37_79b9_7f4a_7c15,
            diags: Diagnostics::default(),
            files: Vec::new(),
        };
        if let Err(msg) = lx.push_file(path) {
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

    fn push_file(&mut self, path: &Path) -> Result<(), String> {
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
        let content = self.fs.read_to_string(path).map_err(|e| e.to_string())?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        self.files.push(path.to_path_buf());
        self.stack.push(Frame {
            name: Arc::from(path.display().to_string()),
            dir,
            canonical,
            content: Arc::from(content),
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
            source_line: Some(Arc::from(text)),
        });
    }

    /// Next raw physical line from the include stack, with its file and number.
    fn next_raw(&mut self) -> Option<RawLine> {
        loop {
            let frame = self.stack.last_mut()?;
            if let Some((path, file, line, col, text)) = frame.queued.pop_front() {
                self.open_include(&path, &file, line, col, &text);
                continue;
            }
            if frame.pos >= frame.content.len() {
                self.stack.pop();
                continue;
            }
            let start = frame.pos;
            let end = frame.content[start..]
                .find('\n')
                .map_or(frame.content.len(), |i| start + i);
            frame.pos = end + 1;
            frame.line += 1;
            let mut stop = end;
            if stop > start && frame.content.as_bytes()[stop - 1] == b'\r' {
                stop -= 1;
            }
            return Some((
                frame.name.clone(),
                frame.line,
                frame.content.clone(),
                start,
                stop,
            ));
        }
    }

    /// The next line with tokens, or None at the end of the main file.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Line> {
        loop {
            if let Some(p) = self.pending.pop_front() {
                for (k, v) in p.bind {
                    self.defs.insert(k, v);
                }
                if let Some(line) = self.process(p.file, p.line, Cow::Owned(p.text), p.substituted)
                {
                    return Some(line);
                }
                continue;
            }
            let (file, lineno, content, start, end) = self.next_raw()?;
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
            if raw.contains('\0') {
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
            let trimmed = raw.trim_start();
            let body: Cow<str> = if let Some(cond) = trimmed.strip_prefix('@') {
                let (negate, cond) = match cond.strip_prefix('^') {
                    Some(c) => (true, c),
                    None => (false, cond),
                };
                let id_end = cond.find(char::is_whitespace).unwrap_or(cond.len());
                let id = &cond[..id_end];
                if (id == self.opts.config_id) == negate {
                    continue;
                }
                let indent = raw.len() - trimmed.len();
                Cow::Owned(format!("{}{}", &raw[..indent], cond[id_end..].trim_start()))
            } else {
                Cow::Borrowed(raw)
            };
            let body = match decomment(&body) {
                Cow::Borrowed(b) => Cow::Owned(b.to_string()),
                Cow::Owned(o) => Cow::Owned(o),
            };
            // `$NAME=VALUE` definitions, with `\` continuation lines inside them only.
            if let Some((name, value)) = parse_definition(&body) {
                // A trailing `\` continues the definition on the next line; the lines stay
                // lines, so the definition expands to several (`read_line()`).
                let name = name.to_string();
                let mut value = value.to_string();
                while let Some(stripped) = value.strip_suffix('\\') {
                    value = stripped.trim_end().to_string();
                    value.push('\n');
                    match self.next_raw() {
                        Some((_, _, c, s, e)) if !c[s..e].trim().is_empty() => {
                            value.push_str(decomment(&c[s..e]).trim());
                        }
                        _ => break,
                    }
                }
                let value = value.trim_end_matches('\n').to_string();
                self.defs.insert(name, value);
                continue;
            }
            if let Some(line) = self.process(file, lineno, body, false) {
                return Some(line);
            }
        }
    }

    /// Substitution, `~SEQ`/`~LST`, include, tokenising for one decommented line.
    fn process(
        &mut self,
        file: Arc<str>,
        lineno: u32,
        body: Cow<str>,
        substituted: bool,
    ) -> Option<Line> {
        if body.trim().is_empty() {
            return None;
        }
        // `~SEQ`/`~LST` at the start of a line repeat the rest of it, once per value, with
        // the variable defined (`read_line()`; the left-most loop is the outermost).
        let trimmed = body.trim_start();
        if is_seq(trimmed) {
            let indent = body.len() - trimmed.len();
            let head_end = trimmed.find(')').map_or(trimmed.len(), |i| i + 1);
            // Definitions inside the parentheses are expanded first.
            let head = match self.substitute(&trimmed[..head_end], 0) {
                Ok(h) => h.into_owned(),
                Err(msg) => {
                    self.diag(
                        Severity::Error,
                        DiagClass::Value,
                        &file,
                        lineno,
                        indent as u32 + 1,
                        &body,
                        msg,
                    );
                    return None;
                }
            };
            match parse_seq(&head) {
                Ok((bindings, _)) => {
                    let rest = trimmed[head_end..].trim_start();
                    for bind in bindings.into_iter().rev() {
                        self.pending.push_front(Pending {
                            file: file.clone(),
                            line: lineno,
                            text: rest.to_string(),
                            substituted: false,
                            bind,
                        });
                    }
                }
                Err(msg) => {
                    self.diag(
                        Severity::Error,
                        DiagClass::Value,
                        &file,
                        lineno,
                        indent as u32 + 1,
                        &body,
                        msg,
                    );
                }
            }
            return None;
        }
        let text: Cow<str> = if substituted || !body.contains('$') {
            body
        } else {
            match self.substitute(&body, 0) {
                Ok(t) => Cow::Owned(t.into_owned()),
                Err(msg) => {
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
            }
        };
        if text.contains('\n') {
            // A multi-line definition: each of its lines is a line of its own.
            for l in text.split('\n').rev() {
                self.pending.push_front(Pending {
                    file: file.clone(),
                    line: lineno,
                    text: l.to_string(),
                    substituted: true,
                    bind: Vec::new(),
                });
            }
            return None;
        }
        if let Some((col, pattern)) = include_pattern(&text) {
            self.include(&file, lineno, &text, col, pattern);
            return None;
        }
        let tokens = tokenize(&text);
        if tokens.is_empty() {
            return None;
        }
        Some(Line {
            file,
            line: lineno,
            text: Arc::from(text.as_ref()),
            tokens,
        })
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
        for alt in glob::expand_braces(pattern) {
            let p = Path::new(&alt);
            let full = if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            };
            matches.extend(glob::glob(self.fs, &full));
        }
        let mut readable = VecDeque::new();
        for m in matches {
            if self.fs.read_to_string(&m).is_ok() {
                readable.push_back((m, file.clone(), lineno, col, Arc::<str>::from(text)));
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

    fn open_include(&mut self, path: &Path, file: &Arc<str>, lineno: u32, col: u32, text: &str) {
        if let Err(msg) = self.push_file(path) {
            let class = if msg.starts_with("include cycle") {
                DiagClass::Fatal
            } else {
                DiagClass::Structure
            };
            self.diag(Severity::Error, class, file, lineno, col, text, msg);
        }
    }

    /// `$NAME`, `${NAME}` and the predefined `${_...}` names (`set_std_definitions()`).
    fn substitute<'t>(&mut self, text: &'t str, depth: usize) -> Result<Cow<'t, str>, String> {
        if !text.contains('$') {
            return Ok(Cow::Borrowed(text));
        }
        if depth > MAX_EXPANSION_DEPTH {
            return Err(format!("definitions nest more than {MAX_EXPANSION_DEPTH} deep - is one defined in terms of itself?"));
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut rest = text;
        let mut changed = false;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(inner_start) = after.strip_prefix('{') {
                if let Some(close) = inner_start.find('}') {
                    let inner = &inner_start[..close];
                    if let Some(value) = self.lookup(inner)? {
                        let value = self.substitute(&value, depth + 1)?.into_owned();
                        out.push_str(&value);
                        if out.len() > MAX_EXPANDED_LINE {
                            return Err(format!(
                                "definitions expand this line past {MAX_EXPANDED_LINE} bytes"
                            ));
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
                    let value = self.substitute(&value, depth + 1)?.into_owned();
                    out.push_str(&value);
                    if out.len() > MAX_EXPANDED_LINE {
                        return Err(format!(
                            "definitions expand this line past {MAX_EXPANDED_LINE} bytes"
                        ));
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
                let span = (hi - lo) as u64 + 1;
                Some((lo + (self.next_random() % span) as i64).to_string())
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

/// `include FILE` (and the checking variants): the file pattern is the rest of the line,
/// untokenised, as in keepalived.
fn include_pattern(text: &str) -> Option<(u32, &str)> {
    let trimmed = text.trim_start();
    let word_end = trimmed.find(char::is_whitespace)?;
    let word = &trimmed[..word_end];
    if !matches!(
        word,
        "include" | "includer" | "includem" | "includew" | "includeb" | "includea"
    ) {
        return None;
    }
    let rest = trimmed[word_end..].trim_start();
    let col = text[..text.len() - rest.len()].chars().count() as u32 + 1;
    Some((col, rest.trim_end()))
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
                let o = out.get_or_insert_with(String::new);
                o.push_str(&line[last..i]);
                return Cow::Owned(std::mem::take(o));
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
    let rest = line.trim_start().strip_prefix('$')?;
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

type Bindings = Vec<Vec<(String, String)>>;

/// Parses `~SEQ(var,[start,[step,]]end)`, `~SEQx(...)` or `~LST(var,v1,...)` /
/// `~LST({a,b},{1,2},...)` at the start of `s`; returns one binding per repetition and
/// the byte offset of the text after the closing parenthesis.
fn parse_seq(s: &str) -> Result<(Bindings, usize), String> {
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
            '(' | '{' => depth += 1,
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
    let mut bindings = Vec::new();
    if kind == "LST" {
        if args.len() < 2 {
            return Err(
                "~LST needs a variable and at least one value: ~LST(var, v1, v2, ...)".into(),
            );
        }
        let var_spec = args[0].trim();
        if let Some(list) = var_spec.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
            let vars: Vec<&str> = list.split(',').map(str::trim).collect();
            for value in &args[1..] {
                let value = value.trim();
                let values: Vec<&str> = value
                    .strip_prefix('{')
                    .and_then(|v| v.strip_suffix('}'))
                    .map(|v| v.split(',').map(str::trim).collect())
                    .unwrap_or_else(|| vec![value]);
                if values.len() != vars.len() {
                    return Err(format!(
                        "~LST value '{value}' has {} items for {} variables",
                        values.len(),
                        vars.len()
                    ));
                }
                bindings.push(
                    vars.iter()
                        .zip(values)
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                );
            }
        } else {
            check_var(var_spec)?;
            for value in &args[1..] {
                bindings.push(vec![(var_spec.to_string(), value.trim().to_string())]);
            }
        }
    } else {
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
        let count = (end - start) / step + 1;
        if count > MAX_SEQ_LINES {
            return Err(format!(
                "~{kind} would produce {count} lines (limit {MAX_SEQ_LINES})"
            ));
        }
        let mut v = start;
        for _ in 0..count {
            let text = if kind == "SEQx" {
                format!("{v:x}")
            } else {
                v.to_string()
            };
            bindings.push(vec![(var.to_string(), text)]);
            v += step;
        }
    }
    Ok((bindings, close + 1))
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

/// `strtol(s, NULL, 0)`: decimal, `0x` hex, leading-`0` octal; empty is 0.
fn parse_c_long(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if digits.is_empty() {
        0
    } else if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Splits a decommented line into tokens as keepalived's `alloc_strvec_r()` does:
/// blanks separate; a `"` at the start of a token quotes up to the next `"` (blanks kept,
/// no escapes); a `"` inside a word ends it; an unquoted `{` or `}` is a token of its own
/// (`read_line()` splits the line at each brace).
pub fn tokenize(line: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut iter = line.char_indices().peekable();
    let mut col: u32 = 0;
    let mut cur = String::new();
    let mut cur_col = 0;
    let mut in_word = false;
    while let Some((_, c)) = iter.next() {
        col += 1;
        if c == '"' && !in_word {
            let start = col;
            let mut text = String::new();
            for (_, q) in iter.by_ref() {
                col += 1;
                if q == '"' {
                    break;
                }
                text.push(q);
            }
            tokens.push(Token {
                text,
                col: start,
                quoted: true,
            });
            continue;
        }
        if c.is_whitespace() || c == '"' || c == '{' || c == '}' {
            if in_word {
                tokens.push(Token {
                    text: std::mem::take(&mut cur),
                    col: cur_col,
                    quoted: false,
                });
                in_word = false;
            }
            if c == '{' || c == '}' {
                tokens.push(Token {
                    text: c.to_string(),
                    col,
                    quoted: false,
                });
            } else if c == '"' {
                // `ab"c d"`: the quote ends `ab` and opens the next token.
                let start = col;
                let mut text = String::new();
                for (_, q) in iter.by_ref() {
                    col += 1;
                    if q == '"' {
                        break;
                    }
                    text.push(q);
                }
                tokens.push(Token {
                    text,
                    col: start,
                    quoted: true,
                });
            }
            continue;
        }
        if !in_word {
            in_word = true;
            cur_col = col;
        }
        cur.push(c);
    }
    if in_word {
        tokens.push(Token {
            text: cur,
            col: cur_col,
            quoted: false,
        });
    }
    tokens
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

    fn texts(line: &str) -> Vec<String> {
        tokenize(line).into_iter().map(|t| t.text).collect()
    }

    fn lines(fs: &MemFs, opts: &ParseOptions) -> (Vec<String>, Diagnostics) {
        let mut lx = Lexer::new(fs, opts, Path::new("/k.conf"));
        let mut out = Vec::new();
        while let Some(l) = lx.next() {
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
        let t = tokenize("a \"{\"");
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
