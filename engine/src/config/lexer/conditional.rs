//! `@id` conditional lines: `@id rest` is kept only when `id` is this node's config id,
//! `@^id rest` only when it is not (keepalived's `read_line()`).

use super::tokenize::decomment;

/// What a line's `@` conditional makes of it.
pub(super) enum Conditional {
    /// The line has no conditional.
    Plain,
    /// The conditional does not hold: the line is dropped.
    Dropped,
    /// The conditional holds: the line without it, its indent kept, decommented.
    Kept(String),
}

/// Checks the conditional of `raw`, whose leading blanks are `indent` bytes long, against
/// `config_id`.
pub(super) fn conditional(raw: &str, indent: usize, config_id: &str) -> Conditional {
    let Some(cond) = raw[indent..].strip_prefix('@') else {
        return Conditional::Plain;
    };
    let (negate, cond) = match cond.strip_prefix('^') {
        Some(c) => (true, c),
        None => (false, cond),
    };
    let id_end = cond.find(char::is_whitespace).unwrap_or(cond.len());
    let id = &cond[..id_end];
    if (id == config_id) == negate {
        return Conditional::Dropped;
    }
    let kept = format!("{}{}", &raw[..indent], cond[id_end..].trim_start());
    Conditional::Kept(decomment(&kept).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(raw: &str, config_id: &str) -> Option<String> {
        let indent = raw.len() - raw.trim_start().len();
        match conditional(raw, indent, config_id) {
            Conditional::Plain => Some(format!("plain: {raw}")),
            Conditional::Dropped => None,
            Conditional::Kept(k) => Some(k),
        }
    }

    #[test]
    fn conditionals_keep_or_drop_by_config_id() {
        assert_eq!(
            kept("  @r1 router_id R1 # c", "r1").as_deref(),
            Some("  router_id R1 ")
        );
        assert_eq!(kept("@r1 router_id R1", "r2"), None);
        assert_eq!(kept("@^r1 router_id X", "r1"), None);
        assert_eq!(
            kept("@^r1 router_id X", "r2").as_deref(),
            Some("router_id X")
        );
        assert_eq!(kept("@r1", "r1").as_deref(), Some(""));
        assert_eq!(
            kept("router_id @r1", "r1").as_deref(),
            Some("plain: router_id @r1")
        );
    }
}
