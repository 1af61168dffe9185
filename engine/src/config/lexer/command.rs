//! Script command lines split into argv, quotes joined and backslash escapes resolved, as
//! keepalived's `alloc_strvec_quoted_escaped()` does. The parser splits the command lines
//! of scripts with it; configuration lines are split by [`tokenize`](super::tokenize::tokenize).

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
}
