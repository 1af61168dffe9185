//! Statements and blocks over the lexer's lines, and the value readers every block uses.
//! Block contents live in `blocks/`; this file knows braces, locations and messages.

use super::diag::{DiagClass, Diagnostic, Location, Severity};
use super::lexer::{split_command, Lexer, Text, Token};
use super::model::{Command, IpPrefix, SECOND};
use super::registry::{self, Block, Keyword, Runtime};

use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;

/// One statement: a keyword, its arguments, and whether a `{` followed on the line.
#[derive(Debug, Clone)]
pub struct Stmt {
    pub kw: Token,
    pub args: Args,
    pub block: bool,
    pub file: Arc<str>,
    pub line: u32,
    pub text: Text,
    /// Column of the first token of the physical line the statement starts on.
    pub indent: u32,
}

impl Stmt {
    pub fn kw(&self) -> &str {
        self.kw.text.as_str()
    }
    pub fn loc(&self) -> Location {
        self.loc_col(self.kw.col)
    }
    pub fn loc_col(&self, col: u32) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line,
            column: col,
        }
    }
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(|t| t.text.as_str())
    }
    /// Keyword and arguments as written, for messages.
    pub fn head(&self) -> String {
        let mut s = self.kw.text.to_string();
        for a in self.args.iter() {
            s.push(' ');
            s.push_str(&a.text);
        }
        s
    }
}

/// A statement's arguments. Keywords take one or two, which are kept inline: a vector
/// each would be an allocation for most lines of a large config.
#[derive(Debug, Clone)]
pub struct Args(ArgList);

#[derive(Debug, Clone)]
enum ArgList {
    None,
    One([Token; 1]),
    Two([Token; 2]),
    Many(Vec<Token>),
}

impl std::ops::Deref for Args {
    type Target = [Token];
    fn deref(&self) -> &[Token] {
        match &self.0 {
            ArgList::None => &[],
            ArgList::One(t) => t,
            ArgList::Two(t) => t,
            ArgList::Many(v) => v,
        }
    }
}

impl FromIterator<Token> for Args {
    fn from_iter<I: IntoIterator<Item = Token>>(iter: I) -> Self {
        let mut it = iter.into_iter();
        Args(match (it.next(), it.next()) {
            (None, _) => ArgList::None,
            (Some(a), None) => ArgList::One([a]),
            (Some(a), Some(b)) => match it.next() {
                None => ArgList::Two([a, b]),
                Some(c) => ArgList::Many([a, b, c].into_iter().chain(it).collect()),
            },
        })
    }
}

enum Item {
    Stmt(Stmt),
    Open(Location),
    Close(Location, bool),
    Eof,
}

struct CurLine {
    file: Arc<str>,
    line: u32,
    text: Text,
    first_col: u32,
    toks: Vec<Token>,
    at_start: bool,
}

/// A `}` that closed a block although it was indented deeper than the block's keyword:
/// the usual sign of one `}` too many, reported if the parse later goes wrong.
struct SuspectClose {
    at: Location,
    text: Text,
    opener: String,
    opener_line: u32,
}

/// Keywords that open a block somewhere in the language (the registry's `Block` values):
/// with `{` they are parsed as blocks; any other keyword followed by `{` is an error.
fn is_block_keyword(kw: &str) -> bool {
    registry::opens_block(kw)
}

/// Where a keyword found in the wrong block belongs: "; 'KW' belongs in a virtual_server
/// block", naming every block the registry has it in ([`registry::homes`]); empty for a
/// keyword no block knows.
fn home_hint(kw: &str) -> String {
    let homes = registry::homes(kw);
    let Some((first, rest)) = homes.split_first() else {
        return String::new();
    };
    let mut hint = format!("; '{kw}' belongs in {}", first.phrase());
    for (i, b) in rest.iter().enumerate() {
        hint.push_str(if i + 1 == rest.len() {
            " or in "
        } else {
            ", in "
        });
        hint.push_str(b.phrase());
    }
    hint
}

pub struct Parser<'a> {
    lx: Lexer<'a>,
    cur: Option<CurLine>,
    peeked: Option<Item>,
    suspects: Vec<SuspectClose>,
    suspects_reported: bool,
    /// Keywords already warned about as not carried out, so a pool of 40,000 real
    /// servers gives one warning per keyword, not one per server.
    noted: Vec<&'static Keyword>,
}

impl<'a> Parser<'a> {
    pub fn new(lx: Lexer<'a>) -> Self {
        Self {
            lx,
            cur: None,
            peeked: None,
            suspects: Vec::new(),
            suspects_reported: false,
            noted: Vec::new(),
        }
    }

    pub fn into_lexer(self) -> Lexer<'a> {
        self.lx
    }

    /// The lexer, for the keywords that change how the lines after them are read
    /// (`include_check`, `random_seed`).
    pub(crate) fn lexer(&mut self) -> &mut Lexer<'a> {
        &mut self.lx
    }

    // ---- statements and blocks -------------------------------------------------------

    fn next_item(&mut self) -> Item {
        if let Some(item) = self.peeked.take() {
            return item;
        }
        loop {
            let cur = match &mut self.cur {
                Some(c) if !c.toks.is_empty() => c,
                _ => {
                    // The spent line's vector takes the next line's tokens.
                    let buf = self
                        .cur
                        .as_mut()
                        .map(|c| std::mem::take(&mut c.toks))
                        .unwrap_or_default();
                    let line = match self.lx.next_line(buf) {
                        Some(l) => l,
                        None => return Item::Eof,
                    };
                    let first_col = line.tokens.first().map_or(1, |t| t.col);
                    self.cur = Some(CurLine {
                        file: line.file,
                        line: line.line,
                        text: line.text,
                        first_col,
                        toks: line.tokens,
                        at_start: true,
                    });
                    continue;
                }
            };
            let at_start = std::mem::replace(&mut cur.at_start, false);
            let first = cur.toks.remove(0);
            if first.is_close() || first.is_open() {
                let loc = Location {
                    file: cur.file.clone(),
                    line: cur.line,
                    column: first.col,
                };
                return if first.is_close() {
                    Item::Close(loc, at_start)
                } else {
                    Item::Open(loc)
                };
            }
            // The arguments run to a `}` (left for the next item) or a `{` (taken).
            let n = cur
                .toks
                .iter()
                .position(|t| t.is_close() || t.is_open())
                .unwrap_or(cur.toks.len());
            let args: Args = cur.toks.drain(..n).collect();
            let block = cur.toks.first().is_some_and(Token::is_open);
            if block {
                cur.toks.remove(0);
            }
            return Item::Stmt(Stmt {
                kw: first,
                args,
                block,
                file: cur.file.clone(),
                line: cur.line,
                text: cur.text.clone(),
                indent: cur.first_col,
            });
        }
    }

    fn peek_is_open(&mut self) -> bool {
        if self.peeked.is_none() {
            let item = self.next_item();
            self.peeked = Some(item);
        }
        matches!(self.peeked, Some(Item::Open(..)))
    }

    /// Parses the statements of the block `st` opens, handing each to `f`.
    pub fn block(&mut self, st: &Stmt, mut f: impl FnMut(&mut Self, Stmt)) {
        if !st.block {
            if self.peek_is_open() {
                self.peeked = None;
            } else {
                self.error(
                    st,
                    st.kw.col,
                    DiagClass::Structure,
                    format!("'{}' opens a block: expected '{{' after it", st.head()),
                );
                return;
            }
        }
        loop {
            match self.next_item() {
                Item::Stmt(s) => {
                    if !self.rejects_value_block(&s) {
                        f(self, s)
                    }
                }
                Item::Close(at, at_start) => {
                    if at_start && at.line != st.line && at.column > st.indent {
                        self.suspects.push(SuspectClose {
                            text: self
                                .cur
                                .as_ref()
                                .map_or_else(|| Text::from(""), |c| c.text.clone()),
                            at,
                            opener: st.head(),
                            opener_line: st.line,
                        });
                    }
                    return;
                }
                Item::Open(at) => self.stray_open(at),
                Item::Eof => {
                    self.error(
                        st,
                        st.kw.col,
                        DiagClass::Structure,
                        format!(
                            "missing '}}': the block of '{}' opened here is never closed",
                            st.head()
                        ),
                    );
                    return;
                }
            }
        }
    }

    /// [`Self::block`] for a block of the registry: each keyword that is accepted but not
    /// carried out is noted ([`Self::runtime_note`]) before `f` reads it.
    pub fn block_in(&mut self, block: Block, st: &Stmt, mut f: impl FnMut(&mut Self, Stmt)) {
        self.block(st, |p, s| {
            p.runtime_note(block, &s);
            f(p, s)
        })
    }

    /// A value keyword followed by `{`: reported, and its block skipped. True when so.
    fn rejects_value_block(&mut self, s: &Stmt) -> bool {
        if !s.block || is_block_keyword(s.kw()) {
            return false;
        }
        let msg = format!(
            "'{}' takes a value, not a block - ignoring the block",
            s.kw()
        );
        self.error(s, s.kw.col, DiagClass::Structure, msg);
        self.skip_rest_of_block();
        true
    }

    /// A `{` with no keyword before it: reported, and its block skipped.
    fn stray_open(&mut self, at: Location) {
        let msg = "unexpected '{' with no keyword before it - ignoring the block".to_string();
        self.push(Severity::Error, DiagClass::Structure, Some(at), msg);
        self.skip_rest_of_block();
    }

    /// Consumes up to and including the `}` that closes the block just opened.
    fn skip_rest_of_block(&mut self) {
        let mut depth = 1usize;
        loop {
            match self.next_item() {
                Item::Stmt(s) => {
                    if s.block {
                        depth += 1;
                    }
                }
                Item::Open(..) => depth += 1,
                Item::Close(..) => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                Item::Eof => return,
            }
        }
    }

    /// Skips the block of a statement we are not going to read.
    pub fn skip_block(&mut self, st: &Stmt) {
        if st.block || self.peek_is_open() {
            self.peeked = None;
            self.skip_rest_of_block();
        }
    }

    /// Every line of a list block (`virtual_ipaddress {}`, `unicast_peer {}`…) as a statement.
    pub fn lines(&mut self, st: &Stmt) -> Vec<Stmt> {
        let mut out = Vec::new();
        self.block(st, |p, s| {
            if s.block {
                p.error(
                    &s,
                    s.kw.col,
                    DiagClass::Structure,
                    format!("unexpected block inside '{}'", st.kw()),
                );
                p.skip_rest_of_block();
            }
            out.push(s)
        });
        out
    }

    /// Every word of a value block (`group { VI_1 VI_2 }`, `notification_email {}`).
    pub fn words(&mut self, st: &Stmt) -> Vec<Token> {
        let mut out = Vec::new();
        for s in self.lines(st) {
            out.push(s.kw);
            out.extend(s.args.iter().cloned());
        }
        out
    }

    /// The top level: statements until the end of input; a `}` there is one too many.
    pub fn top(&mut self, mut f: impl FnMut(&mut Self, Stmt)) {
        loop {
            match self.next_item() {
                Item::Stmt(s) => {
                    if !self.rejects_value_block(&s) {
                        f(self, s)
                    }
                }
                Item::Close(at, _) => {
                    self.report_suspects();
                    let text = self.cur.as_ref().map(|c| c.text.to_arc());
                    self.diags_push(Diagnostic {
                        severity: Severity::Error,
                        class: DiagClass::Structure,
                        location: Some(at),
                        message: "extra '}' found: there is no open block for it to close".into(),
                        source_line: text,
                    });
                }
                Item::Open(at) => self.stray_open(at),
                Item::Eof => return,
            }
        }
    }

    fn report_suspects(&mut self) {
        if self.suspects_reported {
            return;
        }
        self.suspects_reported = true;
        // Only the first: once one `}` too many has closed a block early, every later
        // close is shifted too, and only the first is the mistake.
        if let Some(s) = std::mem::take(&mut self.suspects).into_iter().next() {
            self.diags_push(Diagnostic {
                severity: Severity::Error,
                class: DiagClass::Structure,
                message: format!(
                    "this '}}' closes '{}' (opened at line {}), but it is indented deeper than that block's keyword: is it one '}}' too many?",
                    s.opener, s.opener_line
                ),
                location: Some(s.at),
                source_line: Some(s.text.to_arc()),
            });
        }
    }

    // ---- diagnostics -----------------------------------------------------------------

    fn diags_push(&mut self, d: Diagnostic) {
        self.lx.diags.push(d);
    }

    pub fn push(
        &mut self,
        severity: Severity,
        class: DiagClass,
        location: Option<Location>,
        message: String,
    ) {
        self.lx.diags.push(Diagnostic {
            severity,
            class,
            location,
            message,
            source_line: None,
        });
    }

    pub fn error(&mut self, st: &Stmt, col: u32, class: DiagClass, message: String) {
        self.lx.diags.push(Diagnostic {
            severity: Severity::Error,
            class,
            location: Some(st.loc_col(col)),
            message,
            source_line: Some(st.text.to_arc()),
        });
    }

    pub fn warn(&mut self, st: &Stmt, col: u32, message: String) {
        self.lx.diags.push(Diagnostic {
            severity: Severity::Warning,
            class: DiagClass::Note,
            location: Some(st.loc_col(col)),
            message,
            source_line: Some(st.text.to_arc()),
        });
    }

    /// Error at argument `i` (or at the end of the line when it is missing).
    pub fn bad_arg(&mut self, st: &Stmt, i: usize, message: String) {
        let col = st
            .args
            .get(i)
            .map_or_else(|| st.text.chars().count() as u32 + 1, |t| t.col);
        self.error(st, col, DiagClass::Value, message);
    }

    /// An unknown keyword: a warning (parsing goes on) that still fails `-t`, as in keepalived.
    pub fn unknown(&mut self, st: &Stmt, context: &str) {
        let hint = home_hint(st.kw());
        // A keyword of some block found at the top level is the usual sign of a block
        // closed early by one '}' too many: say which '}' that may be.
        if !hint.is_empty() && context == "the top level" {
            self.report_suspects();
        }
        self.lx.diags.push(Diagnostic {
            severity: Severity::Warning,
            class: DiagClass::UnknownKeyword,
            location: Some(st.loc()),
            message: format!(
                "unknown keyword '{}' in {context}{hint} - ignoring it",
                st.kw()
            ),
            source_line: Some(st.text.to_arc()),
        });
        self.skip_block(st);
    }

    /// A keyword of `block` that keepalived-rs accepts but does not (wholly) carry out:
    /// a warning naming it with the registry's reason, at its first use in the load. Not
    /// when the block itself is without effect: its opener was warned about already.
    pub fn runtime_note(&mut self, block: Block, st: &Stmt) {
        let Some(k) = block.lookup(st.kw()) else {
            return;
        };
        if matches!(k.runtime, Runtime::Carried | Runtime::Refused(_))
            || block
                .opener()
                .is_some_and(|o| matches!(o.runtime, Runtime::Ignored(_)))
            || self.noted.iter().any(|n| std::ptr::eq(*n, k))
        {
            return;
        }
        self.noted.push(k);
        if let Some(message) = k.runtime_warning(st.kw()) {
            self.warn(st, st.kw.col, message);
        }
    }

    /// Words after the last argument a keyword takes: keepalived ignores them; we say so.
    pub fn extra(&mut self, st: &Stmt, used: usize) {
        if st.args.len() > used {
            let rest: Vec<&str> = st.args[used..].iter().map(|t| t.text.as_str()).collect();
            let col = st.args[used].col;
            self.warn(
                st,
                col,
                format!(
                    "ignoring extra text after '{}': '{}'",
                    st.kw(),
                    rest.join(" ")
                ),
            );
        }
    }

    // ---- values ----------------------------------------------------------------------

    pub fn str_arg(&mut self, st: &Stmt, i: usize, what: &str) -> Option<String> {
        self.arg_text(st, i, || what.to_string())
            .map(str::to_string)
    }

    /// Argument `i`, or an error saying the keyword needs `what`. The description is
    /// only built for the error: most values are there.
    fn arg_text<'s>(
        &mut self,
        st: &'s Stmt,
        i: usize,
        what: impl FnOnce() -> String,
    ) -> Option<&'s str> {
        match st.args.get(i) {
            Some(t) => Some(t.text.as_str()),
            None => {
                self.bad_arg(st, i, format!("'{}' needs {}", st.kw(), what()));
                None
            }
        }
    }

    /// The single value of a `keyword VALUE` line.
    pub fn value(&mut self, st: &Stmt, what: &str) -> Option<String> {
        let v = self.str_arg(st, 0, what);
        self.extra(st, 1);
        v
    }

    pub fn int<T: TryFrom<i64>>(&mut self, st: &Stmt, i: usize, lo: i64, hi: i64) -> Option<T> {
        let text = self.arg_text(st, i, || format!("an integer between {lo} and {hi}"))?;
        match parse_int(text) {
            Some(v) if (lo..=hi).contains(&v) => T::try_from(v).ok(),
            Some(v) => {
                self.bad_arg(
                    st,
                    i,
                    format!("'{}' must be between {lo} and {hi}, found {v}", st.kw()),
                );
                None
            }
            None => {
                self.bad_arg(
                    st,
                    i,
                    format!(
                        "'{}' expects an integer between {lo} and {hi}, found '{text}'",
                        st.kw()
                    ),
                );
                None
            }
        }
    }

    /// `keyword N` with nothing after it.
    pub fn int_value<T: TryFrom<i64>>(&mut self, st: &Stmt, lo: i64, hi: i64) -> Option<T> {
        let v = self.int(st, 0, lo, hi);
        self.extra(st, 1);
        v
    }

    /// A GARP repeat count, 0 to 255: keepalived takes 0 for a configuration error and
    /// sends one (`vrrp_garp_rep_handler()`, `vrrp_garp_refresh_rep_handler()`), so a new
    /// master is never left unannounced.
    pub fn repeat_value(&mut self, st: &Stmt) -> Option<u32> {
        let v: u32 = self.int_value(st, 0, 255)?;
        if v > 0 {
            return Some(v);
        }
        let message = format!("{} must be greater than 0, setting to 1", st.kw());
        self.error(st, st.args[0].col, DiagClass::Value, message);
        Some(1)
    }

    /// A timer in decimal seconds with microsecond resolution (`read_timer()`), as µs.
    pub fn timer(&mut self, st: &Stmt, i: usize, lo_us: u64, hi_us: u64) -> Option<u64> {
        let text = self.arg_text(st, i, || "a time in seconds".into())?;
        match parse_timer(text) {
            Some((v, rounded)) => {
                if rounded {
                    self.warn(
                        st,
                        st.args[i].col,
                        format!("'{text}' has more than 6 decimal places; rounded to microseconds"),
                    );
                }
                if v < lo_us || v > hi_us {
                    self.bad_arg(
                        st,
                        i,
                        format!(
                            "'{}' must be between {} and {} seconds, found {text}",
                            st.kw(),
                            fmt_secs(lo_us),
                            fmt_secs(hi_us)
                        ),
                    );
                    None
                } else {
                    Some(v)
                }
            }
            None => {
                self.bad_arg(
                    st,
                    i,
                    format!(
                        "'{}' expects a time in seconds (like 1 or 0.5), found '{text}'",
                        st.kw()
                    ),
                );
                None
            }
        }
    }

    pub fn timer_value(&mut self, st: &Stmt, lo_us: u64, hi_us: u64) -> Option<u64> {
        let v = self.timer(st, 0, lo_us, hi_us);
        self.extra(st, 1);
        v
    }

    /// A boolean keyword: alone it means true; otherwise `on|off|true|false|yes|no`.
    pub fn flag(&mut self, st: &Stmt) -> bool {
        match st.args.first() {
            None => true,
            Some(t) => match parse_bool(&t.text) {
                Some(b) => {
                    self.extra(st, 1);
                    b
                }
                None => {
                    // keepalived ignores text after most flags; a word that is not a
                    // boolean is taken as such text.
                    self.extra(st, 0);
                    true
                }
            },
        }
    }

    pub fn ip(&mut self, st: &Stmt, i: usize) -> Option<IpAddr> {
        let text = self.arg_text(st, i, || "an IP address".into())?;
        match parse_ip(text) {
            Some(a) => Some(a),
            None => {
                self.bad_arg(
                    st,
                    i,
                    format!(
                        "'{}' expects an IPv4 or IPv6 address, found '{text}'",
                        st.kw()
                    ),
                );
                None
            }
        }
    }

    pub fn ip_value(&mut self, st: &Stmt) -> Option<IpAddr> {
        let v = self.ip(st, 0);
        self.extra(st, 1);
        v
    }

    /// `keyword SCRIPT [USER [GROUP]]`: SCRIPT is one word or a quoted command line.
    pub fn command(&mut self, st: &Stmt) -> Option<Command> {
        let text = self.arg_text(st, 0, || "a script path or a quoted command line".into())?;
        let argv = split_command(text);
        if argv.is_empty() {
            self.bad_arg(st, 0, format!("'{}' has an empty command", st.kw()));
            return None;
        }
        let user = st.arg(1).map(str::to_string);
        let group = st.arg(2).map(str::to_string);
        self.extra(st, 3);
        Some(Command { argv, user, group })
    }

    /// A word from a fixed set.
    pub fn choice(&mut self, st: &Stmt, i: usize, options: &[&str]) -> Option<String> {
        let text = self.arg_text(st, i, || format!("one of {}", options.join(", ")))?;
        if options.contains(&text) {
            Some(text.to_string())
        } else {
            self.bad_arg(
                st,
                i,
                format!(
                    "'{}' expects one of {}, found '{text}'",
                    st.kw(),
                    options.join(", ")
                ),
            );
            None
        }
    }
}

pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

pub fn parse_int(s: &str) -> Option<i64> {
    i64::from_str(s).ok()
}

/// `read_timer()`: digits, optional `.` and up to 6 decimals (more are rounded half up);
/// no sign, no exponent. Returns µs and whether rounding happened.
pub fn parse_timer(s: &str) -> Option<(u64, bool)> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros: u64 = 0;
    for (i, b) in frac.bytes().take(6).enumerate() {
        micros += u64::from(b - b'0') * 10u64.pow(5 - i as u32);
    }
    let rounded = frac.len() > 6;
    if rounded && frac.as_bytes()[6] >= b'5' {
        micros += 1;
    }
    Some((whole.checked_mul(SECOND)?.checked_add(micros)?, rounded))
}

pub fn fmt_secs(us: u64) -> String {
    if us.is_multiple_of(SECOND) {
        (us / SECOND).to_string()
    } else {
        let s = format!("{}.{:06}", us / SECOND, us % SECOND);
        s.trim_end_matches('0').to_string()
    }
}

pub fn parse_ip(s: &str) -> Option<IpAddr> {
    // A scope suffix (`fe80::1%eth0`) is not part of an address we store.
    IpAddr::from_str(s).ok()
}

pub fn parse_prefix(s: &str) -> Option<IpPrefix> {
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let address = parse_ip(addr)?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => {
            let v: u8 = l.parse().ok()?;
            if v > max {
                return None;
            }
            v
        }
        None => max,
    };
    Some(IpPrefix { address, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_read_like_read_timer() {
        assert_eq!(parse_timer("1"), Some((1_000_000, false)));
        assert_eq!(parse_timer("1.5"), Some((1_500_000, false)));
        assert_eq!(parse_timer(".5"), Some((500_000, false)));
        assert_eq!(parse_timer("1."), Some((1_000_000, false)));
        assert_eq!(parse_timer("0.0000015"), Some((2, true)));
        assert_eq!(parse_timer("1e3"), None);
        assert_eq!(parse_timer("-1"), None);
        assert_eq!(parse_timer("."), None);
    }

    /// The unknown-keyword warning for `kw`, parsed in `text` (where `{KW}` stands).
    fn unknown_warning(text: &str, kw: &str) -> String {
        let loaded = crate::config::parse_str(&text.replace("{KW}", kw), &Default::default());
        let quoted = format!("unknown keyword '{kw}'");
        let found = loaded
            .diagnostics
            .iter()
            .find(|d| d.class == DiagClass::UnknownKeyword && d.message.contains(&quoted))
            .map(|d| d.message.clone());
        found.unwrap_or_else(|| panic!("no warning for {kw}: {:#?}", loaded.diagnostics))
    }

    #[test]
    fn a_keyword_in_the_wrong_block_is_told_where_it_belongs() {
        let top = "{KW} 1\n";
        let instance = "vrrp_instance VI {\n interface eth0\n {KW} 1\n}\n";
        let tcp = concat!(
            "virtual_server 10.0.0.1 80 {\n real_server 10.0.0.2 80 {\n",
            "  TCP_CHECK {\n   {KW} 1\n  }\n }\n}\n"
        );
        for (text, kw, hint) in [
            (
                top,
                "router_id",
                "'router_id' belongs in the global_defs block",
            ),
            (
                top,
                "advert_int",
                "'advert_int' belongs in a vrrp_instance block",
            ),
            (
                instance,
                "lb_algo",
                "'lb_algo' belongs in a virtual_server block",
            ),
            (
                instance,
                "auth_pass",
                "'auth_pass' belongs in a vrrp_instance's authentication block",
            ),
            (
                tcp,
                "path",
                "'path' belongs in an HTTP_GET or SSL_GET url block",
            ),
            // A sibling's keyword: MISC_CHECK's in a TCP_CHECK, a sync group's in an
            // instance, and one that several blocks take.
            (
                tcp,
                "misc_path",
                "'misc_path' belongs in a MISC_CHECK block",
            ),
            (
                instance,
                "group",
                "'group' belongs in a vrrp_sync_group block or in a track_group block",
            ),
            (
                instance,
                "quorum",
                "'quorum' belongs in a vrrp_track_process block or in a virtual_server block",
            ),
            // Known to global_defs only to be refused there: its home is the instance.
            (
                top,
                "nopreempt",
                "'nopreempt' belongs in a vrrp_instance block - ",
            ),
        ] {
            let message = unknown_warning(text, kw);
            assert!(message.contains(hint), "{kw}: {message}");
        }
        let message = unknown_warning(instance, "no_such_keyword");
        assert!(!message.contains("belongs"), "{message}");
    }

    #[test]
    fn a_block_keyword_at_the_top_level_points_at_the_close_that_may_be_extra() {
        let text = concat!(
            "virtual_server 10.0.0.1 80 {\n",
            "    delay_loop 6\n",
            "    }\n",
            "    real_server 10.0.0.2 80 {\n",
            "    }\n",
            "}\n"
        );
        let loaded = crate::config::parse_str(text, &Default::default());
        let messages: Vec<&str> = loaded
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("'real_server' belongs in a virtual_server block")),
            "{messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("is it one '}' too many?")),
            "{messages:#?}"
        );
    }

    #[test]
    fn booleans_are_the_six_words() {
        for (w, v) in [
            ("on", true),
            ("yes", true),
            ("true", true),
            ("off", false),
            ("no", false),
            ("false", false),
        ] {
            assert_eq!(parse_bool(w), Some(v));
        }
        assert_eq!(parse_bool("True"), None);
    }
}
