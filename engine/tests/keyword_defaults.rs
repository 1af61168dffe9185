//! The registry's defaults held against the parser's: for every keyword whose registry
//! default is one value a config could write ([`DefaultValue::Literal`]), a minimal valid
//! config parses to the same resolved configuration with `keyword DEFAULT` written as
//! without it. The registry's default is the reference's text; the model's (`model.rs`,
//! `blocks/`, `complete.rs`) is what the daemon runs: a difference is a bug in one of them.
//!
//! Configurations are compared as their JSON serialization, which is what `-t --json`
//! dumps and what the engine is handed on a reload. Which keywords a block wrote
//! explicitly (`model::Explicit`) and where a block was defined are bookkeeping that is
//! not serialized (`#[serde(skip)]`), so writing a default does not show there; what it
//! changes after `complete` resolves inheritance does.

use keepalived_engine::config::registry::{self, Block, DefaultValue, Keyword};
use keepalived_engine::config::{parse_str, DiagClass, Loaded, ParseOptions, Severity};
use serde_json::Value;

/// Keywords with a literal default that this test does not place, each with the reason.
const EXCLUDED: &[(Block, &str, &str)] = &[];

const INSTANCE: &str = concat!(
    "vrrp_instance VI_1 {\n",
    " interface eth0\n",
    " virtual_router_id 51\n",
    " priority 100\n",
    " virtual_ipaddress {\n  10.0.0.1/24\n }\n",
    "{KW}\n",
    "}\n"
);

/// A virtual server with one real server and a TCP_CHECK; `{VS}`, `{RS}` and `{CHECK}`
/// mark the three levels.
const VIRTUAL_SERVER: &str = concat!(
    "virtual_server 10.0.0.1 80 {\n",
    "{VS}\n",
    " real_server 10.0.0.2 80 {\n",
    "{RS}\n",
    "  {CHECK}\n",
    " }\n",
    "}\n"
);

const TCP_CHECK: &str = "TCP_CHECK {\n{KW}\n}";

/// The virtual server with `{KW}` at one level and `check` as its checker.
fn lvs(level: &str, check: &str) -> String {
    let check = if level == "{CHECK}" {
        check.to_string()
    } else {
        check.replace("{KW}", "")
    };
    VIRTUAL_SERVER
        .replace("{CHECK}", &check)
        .replace(level, "{KW}")
        .replace("{VS}", "")
        .replace("{RS}", "")
}

/// Minimal valid configs with `{KW}` where a keyword of `block` goes; one per way of
/// reaching the block that a default could depend on.
fn contexts(block: Block) -> Vec<String> {
    let http = |opener: &str| format!("{opener} {{\n url {{\n  path /\n }}\n{{KW}}\n}}");
    match block {
        Block::Root => vec!["{KW}\n".into()],
        Block::GlobalDefs => vec!["global_defs {\n{KW}\n}\n".into()],
        Block::VrrpInstance => vec![INSTANCE.into()],
        Block::AuthHmac => vec![INSTANCE.replace("{KW}", " auth_hmac {\n  key 1 secret\n{KW}\n }")],
        Block::VrrpScript => vec!["vrrp_script S {\n script /bin/true\n{KW}\n}\n".into()],
        Block::TrackFile => vec!["vrrp_track_file F {\n file /run/f\n{KW}\n}\n".into()],
        Block::TrackProcess => vec!["vrrp_track_process P {\n process sshd\n{KW}\n}\n".into()],
        Block::BfdInstance => vec!["bfd_instance B {\n neighbor_ip 10.0.0.9\n{KW}\n}\n".into()],
        Block::VirtualServer => vec![lvs("{VS}", TCP_CHECK)],
        Block::RealServer => vec![lvs("{RS}", TCP_CHECK)],
        Block::Schedule => vec![
            lvs("{VS}", TCP_CHECK),
            lvs("{RS}", TCP_CHECK),
            lvs("{CHECK}", TCP_CHECK),
        ],
        Block::HttpGet => vec![
            lvs("{CHECK}", &http("HTTP_GET")),
            lvs("{CHECK}", &http("SSL_GET")),
        ],
        Block::Url => vec![lvs("{CHECK}", "HTTP_GET {\n url {\n  path /\n{KW}\n }\n}")],
        Block::DnsCheck => vec![lvs("{CHECK}", "DNS_CHECK {\n{KW}\n}")],
        Block::UdpCheck => vec![lvs("{CHECK}", "UDP_CHECK {\n{KW}\n}")],
        Block::FileCheck => vec![format!(
            "vrrp_track_file F {{\n file /run/f\n}}\n{}",
            lvs("{CHECK}", "FILE_CHECK {\n track_file F\n{KW}\n}")
        )],
        _ => Vec::new(),
    }
}

fn parse(text: &str) -> Loaded {
    parse_str(text, &ParseOptions::default())
}

/// What is wrong with a parse that should be clean: its errors and unknown keywords.
fn complaints(l: &Loaded) -> Vec<String> {
    l.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error || d.class == DiagClass::UnknownKeyword)
        .map(|d| d.to_string())
        .collect()
}

/// The resolved configuration, without the record of which keywords were written
/// (`explicit`), which writing a default changes by design.
fn json(l: &Loaded) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("explicit");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(&l.config).expect("a parsed config serializes");
    strip(&mut v);
    v
}

/// The paths at which `a` and `b` differ, with both values.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}.{k}");
                differences(&p, v, y.get(k).unwrap_or(&Value::Null), out);
            }
            for (k, v) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                differences(&format!("{path}.{k}"), &Value::Null, v, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), v, w, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} without, {b} with")),
        _ => {}
    }
}

fn literal(k: &Keyword) -> Option<&'static str> {
    match k.default {
        DefaultValue::Literal(v) => Some(v),
        DefaultValue::Unset | DefaultValue::Derived(_) => None,
    }
}

fn excluded(k: &Keyword) -> bool {
    EXCLUDED
        .iter()
        .any(|(b, name, _)| *b == k.block && *name == k.name)
}

#[test]
fn writing_a_keywords_default_changes_nothing() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for k in registry::all().filter(|k| !excluded(k)) {
        let Some(value) = literal(k) else {
            continue;
        };
        let contexts = contexts(k.block);
        assert!(
            !contexts.is_empty(),
            "no config template for {} ({:?}): add one to contexts()",
            k.name,
            k.block
        );
        for context in &contexts {
            let without = parse(&context.replace("{KW}", ""));
            let wrong = complaints(&without);
            assert!(
                wrong.is_empty(),
                "template is not clean:\n{context}\n{wrong:#?}"
            );
            for name in k.names() {
                let text = context.replace("{KW}", &format!("{name} {value}"));
                let with = parse(&text);
                let wrong = complaints(&with);
                if !wrong.is_empty() {
                    failures.push(format!("'{name} {value}' is not accepted:\n{wrong:#?}"));
                    continue;
                }
                let mut diff = Vec::new();
                differences("config", &json(&without), &json(&with), &mut diff);
                if !diff.is_empty() {
                    failures.push(format!(
                        "'{name} {value}' in {} changes the configuration:\n  {}",
                        k.block.title(),
                        diff.join("\n  ")
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 50, "only {checked} defaults checked");
}

#[test]
fn every_exclusion_names_a_literal_default() {
    for (block, name, why) in EXCLUDED {
        let k = block
            .lookup(name)
            .unwrap_or_else(|| panic!("{name} is not a keyword of {block:?}"));
        assert!(
            literal(k).is_some(),
            "{name} has no literal default to exclude"
        );
        assert!(why.len() > 10, "{name}: say why it is excluded");
    }
}
