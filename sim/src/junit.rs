//! JUnit XML for CI test reporters (GitLab, Jenkins, GitHub actions that read JUnit).
//!
//! The document is one `<testsuites>` holding one `<testsuite>` per distinct suite name,
//! in the order the suites are first seen, each carrying its `tests`, `failures` and
//! `time`. Every run is a `<testcase classname="suite" name="…" time="…">`; a failing one
//! holds a single `<failure>` whose `message` is its first failure line and whose text is
//! every failure line followed by `reproduce: <command>`, the command line that replays the
//! run from its scenario and seed.
//!
//! Scenario and host names come from users, so every name and message goes through
//! [`escape`]: the five XML specials become entities and characters XML 1.0 cannot carry
//! (control characters other than tab, newline and carriage return, U+FFFE, U+FFFF) become
//! U+FFFD.

use std::fmt::Write;

use crate::run::Outcome;

/// One test case: a run of a scenario with one seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The suite it is grouped under, also its `classname` (a scenario's name).
    pub suite: String,
    pub name: String,
    /// Wall-clock seconds the run took.
    pub seconds: f64,
    /// One line per broken invariant or unmet expectation; empty when the run passed.
    pub failures: Vec<String>,
    /// The command line that replays the run.
    pub reproduce: String,
}

impl Case {
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }
}

/// A test case for one run's outcome, named after its seed (and its scenario too when
/// the suite is not the scenario): each violation becomes
/// `at 12.345 s [a, b]: <invariant> (<detail>)`, each unmet expectation
/// `expectation failed: <text>`.
pub fn case_from(suite: &str, o: &Outcome, seconds: f64, reproduce: String) -> Case {
    let violations = o.violations.iter().map(|v| v.to_string());
    let expectations = o.failed.iter().map(|f| format!("expectation failed: {f}"));
    Case {
        suite: suite.to_string(),
        name: if suite == o.scenario {
            format!("seed {}", o.seed)
        } else {
            format!("{} seed {}", o.scenario, o.seed)
        },
        seconds,
        failures: violations.chain(expectations).collect(),
        reproduce,
    }
}

/// The JUnit document for `cases`, under a `<testsuites>` named `suite_name`.
pub fn render(suite_name: &str, cases: &[Case]) -> String {
    let mut suites: Vec<(&str, Vec<&Case>)> = Vec::new();
    for c in cases {
        match suites.iter_mut().find(|(name, _)| *name == c.suite) {
            Some((_, members)) => members.push(c),
            None => suites.push((&c.suite, vec![c])),
        }
    }
    let failures = |cs: &[&Case]| cs.iter().filter(|c| c.failed()).count();
    let time = |cs: &[&Case]| cs.iter().map(|c| seconds(c.seconds)).sum::<f64>();
    let all: Vec<&Case> = cases.iter().collect();

    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3}\">",
        escape(suite_name),
        all.len(),
        failures(&all),
        time(&all)
    );
    for (name, members) in &suites {
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
            escape(name),
            members.len(),
            failures(members),
            time(members)
        );
        for c in members {
            let _ = write!(
                s,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                escape(&c.suite),
                escape(&c.name),
                seconds(c.seconds)
            );
            if !c.failed() {
                s.push_str("/>\n");
                continue;
            }
            let message = c.failures[0].lines().next().unwrap_or_default();
            let mut text = c.failures.join("\n");
            let _ = write!(text, "\nreproduce: {}", c.reproduce);
            let _ = writeln!(
                s,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                escape(message),
                escape(&text)
            );
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

/// A duration as reporters accept it: finite and not negative.
fn seconds(t: f64) -> f64 {
    if t.is_finite() && t > 0.0 {
        t
    } else {
        0.0
    }
}

/// `s` made safe for XML 1.0 text and double- or single-quoted attribute values (also
/// used by the SVG timeline). Tab, newline and carriage return are written as character
/// references so attribute values keep them (XML 2.3 `Char`, 3.3.3 attribute-value
/// normalisation); other characters outside `Char` become U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::world::Violation;

    /// Checks what a small generated document needs to be well-formed XML: one root
    /// element, start and end tags that balance, quoted attribute values with no raw `<`,
    /// and text whose `&` all start entity or character references. Returns the element
    /// names in document order.
    pub(crate) fn well_formed(xml: &str) -> Result<Vec<String>, String> {
        let mut rest = xml
            .strip_prefix("<?xml")
            .map_or(xml, |r| r.split_once("?>").map_or("", |(_, after)| after));
        let mut open: Vec<String> = Vec::new();
        let mut seen = Vec::new();
        let mut roots = 0;
        loop {
            let (text, after) = match rest.split_once('<') {
                Some(parts) => parts,
                None => {
                    check_text(rest)?;
                    if !open.is_empty() {
                        return Err(format!("unclosed: {open:?}"));
                    }
                    if roots != 1 {
                        return Err(format!("{roots} root elements"));
                    }
                    return Ok(seen);
                }
            };
            if open.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            check_text(text)?;
            let (tag, after) = after.split_once('>').ok_or("unterminated tag")?;
            rest = after;
            if let Some(name) = tag.strip_prefix('/') {
                match open.pop() {
                    Some(o) if o == name.trim() => {}
                    o => return Err(format!("</{name}> closes {o:?}")),
                }
                continue;
            }
            let (body, empty) = match tag.strip_suffix('/') {
                Some(b) => (b, true),
                None => (tag, false),
            };
            let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_:".contains(c))
            {
                return Err(format!("bad tag <{tag}>"));
            }
            check_attributes(&body[name.len()..])?;
            if open.is_empty() {
                roots += 1;
            }
            seen.push(name.clone());
            if !empty {
                open.push(name);
            }
        }
    }

    fn check_attributes(mut a: &str) -> Result<(), String> {
        loop {
            a = a.trim_start();
            if a.is_empty() {
                return Ok(());
            }
            let (key, after) = a
                .split_once('=')
                .ok_or(format!("attribute without value: {a}"))?;
            if key.is_empty() || key.chars().any(char::is_whitespace) {
                return Err(format!("bad attribute name {key:?}"));
            }
            let quote = after.chars().next().filter(|q| *q == '"' || *q == '\'');
            let quote = quote.ok_or(format!("unquoted value for {key}"))?;
            let (value, after) = after[1..]
                .split_once(quote)
                .ok_or(format!("unterminated value for {key}"))?;
            if value.contains('<') {
                return Err(format!("raw < in {key}"));
            }
            check_text(value)?;
            a = after;
        }
    }

    fn check_text(t: &str) -> Result<(), String> {
        if let Some(c) = t
            .chars()
            .find(|&c| (c < ' ' && !"\t\n\r".contains(c)) || c == '\u{fffe}' || c == '\u{ffff}')
        {
            return Err(format!("character {c:?} not allowed in XML"));
        }
        let mut parts = t.split('&');
        parts.next();
        for p in parts {
            let (reference, _) = p.split_once(';').ok_or(format!("bare & before {p:?}"))?;
            let known = ["amp", "lt", "gt", "quot", "apos"].contains(&reference)
                || reference
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            if !known {
                return Err(format!("unknown reference &{reference};"));
            }
        }
        Ok(())
    }

    fn case(suite: &str, name: &str, failures: &[&str]) -> Case {
        Case {
            suite: suite.to_string(),
            name: name.to_string(),
            seconds: 0.25,
            failures: failures.iter().map(|f| f.to_string()).collect(),
            reproduce: format!("keepalived-sim run {suite}.toml --seed 3"),
        }
    }

    #[test]
    fn escapes_specials_and_drops_characters_xml_cannot_carry() {
        assert_eq!(
            escape("a<b>&\"c'\td\u{1}e\u{ffff}\u{7f}é"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#9;d\u{fffd}e\u{fffd}\u{7f}é"
        );
        assert_eq!(escape("x\r\ny"), "x&#13;&#10;y");
    }

    #[test]
    fn groups_cases_by_suite_in_first_seen_order_with_counts() {
        let cases = [
            case("b-suite", "seed 1", &[]),
            case("a-suite", "seed 1", &["at 1.000 s [r1]: one master (two)"]),
            case(
                "b-suite",
                "seed 2",
                &["expectation failed: r1 is MASTER", "second"],
            ),
            case("b-suite", "seed 3", &[]),
        ];
        let xml = render("keepalived-sim sweep", &cases);
        well_formed(&xml).unwrap();
        assert!(xml.contains(
            "<testsuites name=\"keepalived-sim sweep\" tests=\"4\" failures=\"2\" errors=\"0\" time=\"1.000\">"
        ));
        let b = xml
            .find("<testsuite name=\"b-suite\" tests=\"3\" failures=\"1\"")
            .unwrap();
        let a = xml
            .find("<testsuite name=\"a-suite\" tests=\"1\" failures=\"1\"")
            .unwrap();
        assert!(b < a);
        assert!(xml.contains("time=\"0.750\">"));
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("<failure ").count(), 2);
        assert!(xml.contains("<testcase classname=\"b-suite\" name=\"seed 1\" time=\"0.250\"/>"));
    }

    #[test]
    fn a_failure_holds_every_line_and_the_reproduction_command() {
        let xml = render("s", &[case("demo", "seed 3", &["first\nmore", "second"])]);
        well_formed(&xml).unwrap();
        assert!(xml.contains(
            "<failure message=\"first\">first&#10;more&#10;second&#10;reproduce: keepalived-sim run demo.toml --seed 3</failure>"
        ));
    }

    #[test]
    fn user_names_cannot_break_the_document() {
        let mut c = case("<&\"'>\u{0}]]>", "</testcase>", &["<failure>&\u{8}"]);
        c.reproduce = "run 'a b' --seed 1 > out".to_string();
        let xml = render("x\"y", &[c, case("ok", "seed 1", &[])]);
        let elements = well_formed(&xml).unwrap();
        assert_eq!(
            elements,
            [
                "testsuites",
                "testsuite",
                "testcase",
                "failure",
                "testsuite",
                "testcase"
            ]
        );
        assert!(xml.contains("classname=\"&lt;&amp;&quot;&apos;&gt;\u{fffd}]]&gt;\""));
    }

    #[test]
    fn the_checker_rejects_broken_documents() {
        assert!(well_formed("<a><b></a></b>").is_err());
        assert!(well_formed("<a>x & y</a>").is_err());
        assert!(well_formed("<a b=\"<\"/>").is_err());
        assert!(well_formed("<a/><b/>").is_err());
        assert!(well_formed("<a>\u{1}</a>").is_err());
        assert!(well_formed("<a><b/></a>").is_ok());
    }

    #[test]
    fn an_empty_run_list_is_an_empty_testsuites() {
        let xml = render("none", &[]);
        assert_eq!(well_formed(&xml).unwrap(), ["testsuites"]);
        assert!(xml.contains("tests=\"0\" failures=\"0\""));
    }

    #[test]
    fn case_from_formats_violations_then_expectations() {
        let o = Outcome {
            scenario: "demo".to_string(),
            seed: 9,
            trace: vec![],
            violations: vec![Violation {
                t: 12.3456,
                invariant: "at most one master",
                hosts: vec!["r1".to_string(), "r2".to_string()],
                detail: "VI_1 MASTER on both".to_string(),
            }],
            failed: vec!["r2 is MASTER at 20 s".to_string()],
            failovers: vec![],
        };
        let c = case_from(
            "demo",
            &o,
            1.5,
            "keepalived-sim run demo.toml --seed 9".to_string(),
        );
        assert_eq!(c.suite, "demo");
        assert_eq!(c.name, "seed 9");
        assert_eq!(
            c.failures,
            [
                "at 12.346 s [r1, r2]: at most one master (VI_1 MASTER on both)",
                "expectation failed: r2 is MASTER at 20 s"
            ]
        );
        assert_eq!(
            case_from("check", &o, 1.5, String::new()).name,
            "demo seed 9"
        );
        let passed = Outcome {
            violations: vec![],
            failed: vec![],
            ..o
        };
        assert!(!case_from("demo", &passed, 1.5, String::new()).failed());
    }
}
