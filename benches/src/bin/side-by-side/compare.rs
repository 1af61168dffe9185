//! A run's figures next to an earlier run's: every number in both result.json files, by
//! its path (`scale.keepalived-rs.cpu_percent_master`, `failover.idle SIGKILL v2 1 s
//! keepalived-rs.median_ms`), with the ratio now / before.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Every number in `v` by path; a failover series is named by its `key`, and the lists
/// of single samples are left out (their median and worst are kept).
fn flatten(v: &Value, path: &str, out: &mut BTreeMap<String, f64>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.insert(path.to_string(), x);
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                flatten(v, &join(k), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                match item["key"].as_str() {
                    Some(key) => flatten(item, &join(key), out),
                    None if item.is_object() => flatten(item, &join(&i.to_string()), out),
                    None => {}
                }
            }
        }
        _ => {}
    }
}

pub fn table(before: &Value, now: &Value) -> String {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten(before, "", &mut a);
    flatten(now, "", &mut b);
    let mut md = String::from("| figure | before | now | now / before |\n|---|---|---|---|\n");
    let mut shared = 0;
    for (k, new) in &b {
        let Some(old) = a.get(k) else { continue };
        shared += 1;
        let ratio = if *old != 0.0 {
            format!("{:.2}", new / old)
        } else {
            "–".into()
        };
        let _ = writeln!(md, "| {k} | {old:.2} | {new:.2} | {ratio} |");
    }
    let _ = writeln!(
        md,
        "\n{shared} figures in both runs; {} only in the earlier one, {} only in this one.",
        a.keys().filter(|k| !b.contains_key(*k)).count(),
        b.keys().filter(|k| !a.contains_key(*k)).count()
    );
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn series_are_matched_by_key_not_position() {
        let before = json!({"failover": [
            {"key": "idle SIGKILL v2 1 s keepalived", "median_ms": 0.4, "overshoot_ms": [0.4]},
            {"key": "idle SIGKILL v2 1 s keepalived-rs", "median_ms": 0.8},
        ], "scale": {"keepalived-rs": {"cpu_percent_master": 2.0}}});
        let now = json!({"failover": [
            {"key": "idle SIGKILL v2 1 s keepalived-rs", "median_ms": 0.4},
        ], "scale": {"keepalived-rs": {"cpu_percent_master": 1.0}}});
        let t = table(&before, &now);
        assert!(
            t.contains(
                "| failover.idle SIGKILL v2 1 s keepalived-rs.median_ms | 0.80 | 0.40 | 0.50 |"
            ),
            "{t}"
        );
        assert!(
            t.contains("| scale.keepalived-rs.cpu_percent_master | 2.00 | 1.00 | 0.50 |"),
            "{t}"
        );
        assert!(!t.contains("overshoot_ms"), "{t}");
        assert!(
            t.contains("2 figures in both runs; 1 only in the earlier one, 0 only in this one."),
            "{t}"
        );
    }
}
