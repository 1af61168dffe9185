//! docs/scenarios.md cannot drift from the parser: every TOML example in it parses (the
//! fragments after the first, full, example's hosts), every action and expectation the
//! parser knows has a section, and every section names one it knows.

use std::path::PathBuf;

use keepalived_sim::run::run;
use keepalived_sim::scenario::{Scenario, ACTIONS, EXPECTATIONS};

fn doc() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md");
    std::fs::read_to_string(path).expect("docs/scenarios.md")
}

/// The text of every ```toml block.
fn toml_blocks(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```toml") => cur = Some(String::new()),
            (Some(_), "```") => out.extend(cur.take()),
            (Some(c), l) => {
                c.push_str(l);
                c.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

/// The names of the `#### ` sections under a `### ` heading.
fn sections(doc: &str, under: &str) -> Vec<String> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in doc.lines() {
        if let Some(h) = line.strip_prefix("### ") {
            inside = h.trim() == under;
        } else if line.starts_with("## ") {
            inside = false;
        } else if let Some(h) = line.strip_prefix("#### ") {
            if inside {
                out.push(h.trim().trim_matches('`').to_string());
            }
        }
    }
    out
}

#[test]
fn every_example_parses() {
    let doc = doc();
    let blocks = toml_blocks(&doc);
    assert!(blocks.len() > 25, "{} examples", blocks.len());
    let base = &blocks[0];
    let sc = Scenario::parse("docs/scenarios.md", base).unwrap_or_else(|e| panic!("{e}"));
    // The full example runs and holds its expectation.
    let o = run(&sc, 1);
    assert!(o.ok(), "{:?} {:?}", o.violations, o.failed);
    for (k, fragment) in blocks.iter().enumerate().skip(1) {
        let text = format!("{base}\n{fragment}");
        if let Err(e) = Scenario::parse("docs/scenarios.md", &text) {
            panic!("example {k} of docs/scenarios.md does not parse: {e}\n{fragment}");
        }
    }
}

#[test]
fn every_action_and_expectation_is_documented_and_no_other() {
    let doc = doc();
    let actions = sections(&doc, "`[[event]]`");
    let mut want: Vec<String> = ACTIONS.iter().map(|s| s.to_string()).collect();
    let mut got = actions.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "actions documented vs known");
    let expects = sections(&doc, "`[[expect]]`");
    let mut want: Vec<String> = EXPECTATIONS.iter().map(|s| s.to_string()).collect();
    let mut got = expects;
    want.sort();
    got.sort();
    assert_eq!(got, want, "expectations documented vs known");
    // Each action's section has an example using it.
    let blocks = toml_blocks(&doc).join("\n");
    for a in ACTIONS {
        assert!(
            blocks.contains(&format!("action = \"{a}\"")),
            "no example of action {a}"
        );
    }
}

#[test]
fn an_undocumented_action_is_refused_with_the_known_ones() {
    let doc = doc();
    let base = &toml_blocks(&doc)[0];
    let text = format!("{base}\n[[event]]\nat = 1.0\naction = \"explode\"\nhosts = [\"r1\"]\n");
    let e = Scenario::parse("x.toml", &text).unwrap_err().to_string();
    for a in ACTIONS {
        assert!(e.contains(a), "{e} lacks {a}");
    }
}
