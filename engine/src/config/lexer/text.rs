//! [`Text`]: the shared string slices that lines and tokens are made of, so that reading
//! a line copies nothing.

use std::rc::Rc;
use std::sync::Arc;

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
    pub(super) fn new(buf: Rc<String>, start: usize, end: usize) -> Self {
        Text { buf, start, end }
    }

    /// The part from `start` to `end`, byte offsets within this text.
    pub(super) fn slice(&self, start: usize, end: usize) -> Text {
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
