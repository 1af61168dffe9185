//! A line's words: comments cut (keepalived's `decomment()`) and tokens split with their
//! columns (`alloc_strvec_r()`), and the column and blank helpers the other stages share.

use super::text::Text;
use std::borrow::Cow;

/// Cuts the line at the first `#` or `!` outside double quotes; `\#` and `\!` stand for
/// the characters themselves (`decomment()`).
pub(super) fn decomment(line: &str) -> Cow<'_, str> {
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

/// One token of a line, quotes and escapes resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub text: Text,
    /// 1-based character column in [`Line::text`](super::Line::text).
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

/// Splits a decommented line into tokens as keepalived's `alloc_strvec_r()` does:
/// blanks separate; a `"` at the start of a token quotes up to the next `"` (blanks kept,
/// no escapes); a `"` inside a word ends it; an unquoted `{` or `}` is a token of its own
/// (`read_line()` splits the line at each brace). Reading starts at byte `from`, after
/// blanks already skipped; the tokens, slices of the line, are appended to `tokens`.
pub(super) fn tokenize(line: &Text, from: usize, tokens: &mut Vec<Token>) {
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
pub(super) fn trim_start(s: &str) -> &str {
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

/// The 1-based character column of byte `at` of `line`.
pub(super) fn column(line: &str, at: usize) -> u32 {
    let before = line.get(..at).unwrap_or(line);
    let chars = if before.is_ascii() {
        before.len()
    } else {
        before.chars().count()
    };
    u32::try_from(chars).map_or(u32::MAX, |c| c.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
