//! `$NAME=VALUE` definitions (keepalived's `check_definition()`), continued over lines
//! ending in `\`, and their expansion: `$NAME`, `${NAME}` and the predefined `${_...}`
//! names (`replace_param()`, `set_std_definitions()`), and a line that expands to several.

use super::text::Text;
use super::tokenize::{column, decomment, trim_start};
use super::{Lexer, Pending};
use crate::config::budget::{Limit, REFERENCE_COST};
use crate::config::diag::{DiagClass, Severity};
use std::borrow::Cow;
use std::sync::Arc;

/// Definitions expanding through more levels than this are taken as recursive.
const MAX_EXPANSION_DEPTH: usize = 32;
/// Definitions that double at every level would otherwise grow a line without bound.
const MAX_EXPANDED_LINE: usize = 64 * 1024;

/// What stopped a substitution.
pub(super) enum SubstError {
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

impl<'a> Lexer<'a> {
    /// Records `$name=value`, read from `body`. A trailing `\` continues the definition on
    /// the next physical line; the lines stay lines, so the definition expands to several
    /// (`read_line()`). None when the budget ran out and reading has stopped.
    pub(super) fn define(
        &mut self,
        file: &Arc<str>,
        lineno: u32,
        body: &str,
        name: &str,
        value: &str,
    ) -> Option<()> {
        let name = name.to_string();
        let mut value = value.to_string();
        // Each continuation line is charged as a line and its bytes, and the value is cut
        // in place: copying the whole value at each line would make a file of continuation
        // lines cost quadratic time.
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
                        self.stop(file, lineno, 1, body, &construct, limit);
                        return None;
                    }
                    value.push_str(more);
                }
                _ => break,
            }
        }
        let value = value.trim_end_matches('\n').to_string();
        self.defs.insert(name, value);
        Some(())
    }
    /// Expands the definitions `body` refers to; `indent` is the length of its leading
    /// blanks. Returns the expanded line and its indent, or None when the line is used up:
    /// refused, stopped by the budget, or split into lines of its own, queued to be read
    /// next (a multi-line definition).
    pub(super) fn expand(
        &mut self,
        file: &Arc<str>,
        lineno: u32,
        body: Text,
        indent: usize,
    ) -> Option<(Text, usize)> {
        let expanded = self.substitute(&body, 0).map(|t| match t {
            Cow::Borrowed(_) => None,
            Cow::Owned(o) => Some(o),
        });
        match expanded {
            Ok(None) => Some((body, indent)),
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
                    self.stop(file, lineno, col, &body, &construct, limit);
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
                let indent = o.len() - trim_start(&o).len();
                Some((Text::from(o), indent))
            }
            Err(SubstError::Line(msg)) => {
                self.diag(
                    Severity::Error,
                    DiagClass::Value,
                    file,
                    lineno,
                    1,
                    &body,
                    msg,
                );
                None
            }
            Err(SubstError::Budget { limit, name, at }) => {
                let construct = format!("'${name}'");
                self.stop(file, lineno, column(&body, at), &body, &construct, limit);
                None
            }
        }
    }
    /// `$NAME`, `${NAME}` and the predefined `${_...}` names (`set_std_definitions()`).
    /// Every byte scanned and every reference resolved is spent from the budget, so that
    /// definitions which multiply one another stop however little text they produce.
    pub(super) fn substitute<'t>(
        &mut self,
        text: &'t str,
        depth: usize,
    ) -> Result<Cow<'t, str>, SubstError> {
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

    /// `random_seed SEED` (global_defs): the `${_RANDOM}` values after it follow from
    /// SEED alone, so the same configuration is read each time (keepalived 2.2.7 means
    /// this too, but seeds before the line is read and so never uses it).
    pub fn reseed(&mut self, seed: u64) {
        self.rng = seed ^ 0x9e37_79b9_7f4a_7c15;
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

/// `$NAME=VALUE` with only whitespace before `$` and nothing between the name and `=`.
pub(super) fn parse_definition(line: &str) -> Option<(&str, &str)> {
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
