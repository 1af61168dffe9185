//! `~SEQ(...)`, `~SEQx(...)` and `~LST(...)` lines: the rest of the line repeated once per
//! value with its variables defined (keepalived's `add_seq()` and `add_lst()`).

use super::definitions::SubstError;
use super::text::Text;
use super::tokenize::column;
use super::{Lexer, Pending};
use crate::config::budget::Limit;
use crate::config::diag::{DiagClass, Severity};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

/// The values of a `~SEQ`/`~LST`, yielded one at a time as the definitions to make before
/// the repeated line is processed; like keepalived's `set_definition()` they stay defined
/// afterwards.
pub(super) enum Values {
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
    pub(super) fn len(&self) -> u64 {
        match self {
            Values::Seq { left, .. } => *left,
            Values::List { rows, .. } => rows.len() as u64,
        }
    }

    pub(super) fn construct(&self) -> &'static str {
        match self {
            Values::Seq { hex: true, .. } => "~SEQx",
            Values::Seq { .. } => "~SEQ",
            Values::List { .. } => "~LST",
        }
    }

    pub(super) fn next_binding(&mut self) -> Option<Vec<(String, String)>> {
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

impl<'a> Lexer<'a> {
    /// A `~SEQ`/`~LST` line (its construct at byte `indent` of `body`): queues the rest of
    /// the line to be produced once per value.
    pub(super) fn sequence(&mut self, file: &Arc<str>, lineno: u32, body: &Text, indent: usize) {
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
}

pub(super) fn is_seq(text: &str) -> bool {
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
