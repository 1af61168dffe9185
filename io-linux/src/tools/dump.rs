//! `-d`: the resolved configuration as indented `key: value` text, from the same serde
//! data `--json` prints, so the two never disagree.

use serde_json::Value;
use std::fmt::Write;

pub fn text(config: &keepalived_engine::config::Config) -> String {
    let value = serde_json::to_value(config).unwrap_or(Value::Null);
    let mut out = String::new();
    if let Value::Object(map) = &value {
        for (k, v) in map {
            if is_empty(v) {
                continue;
            }
            write_entry(&mut out, 0, k, v);
        }
    }
    out
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            Some(a.iter().filter_map(scalar).collect::<Vec<_>>().join(" "))
        }
        _ => None,
    }
}

fn title(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    for k in ["name", "address", "interface", "kind"] {
        if let Some(s) = o.get(k).and_then(scalar) {
            return Some(s);
        }
    }
    None
}

fn write_entry(out: &mut String, depth: usize, key: &str, v: &Value) {
    let pad = "  ".repeat(depth);
    if let Some(s) = scalar(v) {
        let _ = writeln!(out, "{pad}{key}: {s}");
        return;
    }
    match v {
        Value::Object(map) => {
            let _ = writeln!(out, "{pad}{key}:");
            for (k, x) in map {
                if !is_empty(x) {
                    write_entry(out, depth + 1, k, x);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let label =
                    title(item).map_or_else(|| format!("{key}[{i}]"), |t| format!("{key} {t}"));
                write_entry(out, depth, &label, item);
            }
        }
        _ => {}
    }
}
