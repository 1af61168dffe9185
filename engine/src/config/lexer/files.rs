//! The files being read: a stack of open files (the main one, and includes within
//! includes), each read a chunk at a time and cut into physical lines, as keepalived's
//! `read_line()` reads from its include stack.

use super::include::{IncludeSite, QueuedInclude};
use super::Lexer;
use crate::config::budget::Limit;
use crate::config::diag::{DiagClass, Diagnostic, Location, Severity};
use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// Include nesting beyond this is certainly a runaway (keepalived has no limit but the
/// open-file limit).
const MAX_INCLUDE_DEPTH: usize = 64;
/// How much of a file is read at a time: a large config is never held whole.
const CHUNK: usize = 64 * 1024;
/// The longest physical line read: keepalived reads lines into a buffer of a few KiB
/// (`MAXBUF`), so this is far beyond any configuration, and it bounds what one line
/// without a newline (a sparse file of gigabytes) can make the reader hold.
const MAX_PHYSICAL_LINE: usize = 1 << 20;

/// A raw physical line: where it is, the chunk of its file it was cut from and its byte
/// range there, and which of the bytes in [`MARKS`] it holds.
pub(super) struct RawLine {
    pub(super) file: Arc<str>,
    pub(super) line: u32,
    pub(super) content: Rc<String>,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) marks: u8,
}

pub(super) const NUL: u8 = 1;
pub(super) const COMMENT: u8 = 2;
pub(super) const DOLLAR: u8 = 4;
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

/// A file being read.
pub(super) struct Frame<'a> {
    name: Arc<str>,
    /// The `include` line that opened this file; None for the main file.
    site: Option<Rc<IncludeSite>>,
    pub(super) dir: PathBuf,
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
    pub(super) queued: VecDeque<QueuedInclude>,
    /// The include checks when this file was opened, put back when it ends.
    pub(super) include_check: super::IncludeCheck,
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

impl<'a> Lexer<'a> {
    /// Opens `path` on top of the stack of files being read; refuses an include cycle and
    /// nesting past [`MAX_INCLUDE_DEPTH`].
    pub(super) fn push_file(
        &mut self,
        path: &Path,
        site: Option<Rc<IncludeSite>>,
    ) -> Result<(), String> {
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
            include_check: self.include_check,
        });
        Ok(())
    }

    /// Next raw physical line from the include stack, with its file and number.
    pub(super) fn next_raw(&mut self) -> Option<RawLine> {
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
                        self.pop_file();
                        continue;
                    }
                    Err(e) => {
                        let message =
                            format!("cannot read configuration file '{}': {e}", frame.name);
                        self.pop_file();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MemFs, ParseOptions};

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
}
