//! `include` path expansion: csh brace lists then glob(3) wildcards, as keepalived calls
//! `glob()` with `GLOB_BRACE` (`lib/parser.c`, `read_conf_file()`). Matches come back
//! sorted per pattern, as glob(3) sorts them.

use super::budget::{Budget, Limit};
use super::source::ConfigFs;
use std::path::{Path, PathBuf};

/// Expands `{a,b}` lists (nested, several per pattern) into every alternative, in order.
/// Each alternative is a file name spent from `budget` ([`Limit::IncludeFiles`]) and every
/// string built on the way is spent as bytes ([`Limit::Bytes`]), so `{a,b}` thirty times
/// over stops at the limit instead of building 2^30 names.
pub fn expand_braces(pattern: &str, budget: &mut Budget) -> Result<Vec<String>, Limit> {
    let mut out = Vec::new();
    // Depth first, last alternative at the bottom: the results come out in order.
    let mut todo = vec![pattern.to_string()];
    while let Some(p) = todo.pop() {
        match first_group(&p) {
            None => {
                budget.spend(Limit::IncludeFiles, 1)?;
                out.push(p);
            }
            Some((open, close)) => {
                let alternatives = split_top_level(&p[open + 1..close]);
                let (prefix, suffix) = (&p[..open], &p[close + 1..]);
                for alt in alternatives.into_iter().rev() {
                    let len = prefix.len() + alt.len() + suffix.len();
                    budget.spend(Limit::Bytes, len as u64 + 1)?;
                    let mut s = String::with_capacity(len);
                    s.push_str(prefix);
                    s.push_str(alt);
                    s.push_str(suffix);
                    todo.push(s);
                }
            }
        }
    }
    Ok(out)
}

/// The byte offsets of the first top-level `{` and its matching `}`, if it is closed.
fn first_group(pattern: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut open = 0;
    for (i, b) in pattern.bytes().enumerate() {
        match b {
            b'{' => {
                if depth == 0 {
                    open = i;
                }
                depth += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return Some((open, i));
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level(inner: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, b) in inner.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
}

pub fn has_wildcard(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// fnmatch(3) without flags beyond glob's: `*`, `?`, `[...]` (with `!`/`^` negation and
/// ranges), `\` escapes; a leading `.` must be matched literally.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    match_from(pattern.as_bytes(), name.as_bytes())
}

fn match_from(p: &[u8], n: &[u8]) -> bool {
    // Iterative matcher with single-star backtracking (linear in practice).
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                b'*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                b'?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = match_class(&p[pi..], n[ni]) {
                        if matched {
                            pi += next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == b'[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                b'\\' if pi + 1 < p.len() => {
                    if p[pi + 1] == n[ni] {
                        pi += 2;
                        ni += 1;
                        continue;
                    }
                }
                c => {
                    if c == n[ni] {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Matches one `[...]` class at the start of `p`; returns (matched, class length), or
/// None when the class is not closed (then `[` is literal).
fn match_class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let lo = p[i];
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            if lo <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

/// All paths matching one brace-free pattern, sorted. A pattern without wildcards is
/// returned as it is (the caller finds out whether it exists when reading it). Every path
/// considered on the way, directories included, is spent from `budget`
/// ([`Limit::IncludeFiles`]): `/*/*/*` must not walk a whole filesystem. Each directory
/// to be searched that does not exist adds one to `missing` (glibc's glob calls
/// keepalived's `gl_opendir()` for it, which counts it for the include checks).
pub fn glob(
    fs: &dyn ConfigFs,
    pattern: &Path,
    budget: &mut Budget,
    missing: &mut usize,
) -> Result<Vec<PathBuf>, Limit> {
    let text = pattern.to_string_lossy();
    if !has_wildcard(&text) {
        return Ok(vec![pattern.to_path_buf()]);
    }
    let mut current = vec![PathBuf::new()];
    for component in pattern.components() {
        let comp = component.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &current {
            if has_wildcard(&comp) {
                let dir = if base.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    base
                };
                match fs.read_dir(dir) {
                    Ok(mut names) => {
                        names.sort();
                        for name in names {
                            if wildcard_match(&comp, &name) {
                                budget.spend(Limit::IncludeFiles, 1)?;
                                next.push(base.join(&name));
                            }
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => *missing += 1,
                    Err(_) => {}
                }
            } else {
                next.push(base.join(component.as_os_str()));
            }
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    current.sort();
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn braces(p: &str) -> Vec<String> {
        expand_braces(p, &mut Budget::default()).unwrap()
    }

    #[test]
    fn braces_expand_in_order_and_nest() {
        assert_eq!(braces("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(braces("{x,y{1,2}}.conf"), ["x.conf", "y1.conf", "y2.conf"]);
        assert_eq!(braces("{a,b}{1,2}"), ["a1", "a2", "b1", "b2"]);
        assert_eq!(braces("{a}{b}c{"), ["abc{"]);
        assert_eq!(braces("plain"), ["plain"]);
    }

    #[test]
    fn brace_bombs_stop_at_the_budget() {
        let mut budget = Budget::default();
        let bomb = "/x{a,b}".repeat(30);
        assert_eq!(expand_braces(&bomb, &mut budget), Err(Limit::IncludeFiles));
        let mut budget = Budget::default();
        let bomb = "{,}".repeat(40);
        assert_eq!(expand_braces(&bomb, &mut budget), Err(Limit::IncludeFiles));
        // Single alternatives cost the bytes of every string built: quadratic no more.
        let mut budget = Budget::default();
        let bomb = format!("{}{}", "x".repeat(1 << 20), "{a}".repeat(100_000));
        assert_eq!(expand_braces(&bomb, &mut budget), Err(Limit::Bytes));
    }

    #[test]
    fn wildcards_follow_fnmatch() {
        assert!(wildcard_match("*.conf", "a.conf"));
        assert!(!wildcard_match("*.conf", "a.conf.bak"));
        assert!(wildcard_match("vi_?.conf", "vi_1.conf"));
        assert!(wildcard_match("[a-c]*", "beta"));
        assert!(!wildcard_match("[!a-c]*", "beta"));
        assert!(!wildcard_match("*", ".hidden"));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
    }

    #[test]
    fn glob_walks_directories() {
        let fs = crate::config::MemFs::new()
            .with("/etc/k/conf.d/b.conf", "")
            .with("/etc/k/conf.d/a.conf", "")
            .with("/etc/k/conf.d/c.txt", "")
            .with("/etc/k/other/x.conf", "");
        let mut missing = 0;
        let got = glob(
            &fs,
            Path::new("/etc/k/*/*.conf"),
            &mut Budget::default(),
            &mut missing,
        )
        .unwrap();
        assert_eq!(
            got,
            [
                PathBuf::from("/etc/k/conf.d/a.conf"),
                PathBuf::from("/etc/k/conf.d/b.conf"),
                PathBuf::from("/etc/k/other/x.conf")
            ]
        );
        assert_eq!(missing, 0);
        let none = glob(
            &fs,
            Path::new("/etc/none/*.conf"),
            &mut Budget::default(),
            &mut missing,
        );
        assert_eq!(none, Ok(Vec::new()));
        assert_eq!(missing, 1);
    }
}
