//! What a namespace holds, as `ip -d -j addr`, `ip -d -j route show table all` and
//! `ip -j rule` (IPv4 and IPv6) print it, normalised so that two namespaces built the
//! same way compare equal, and the differences between two such snapshots listed field
//! by field.
//!
//! Normalised away: interface indexes (`ifindex`, `link_index`, `link_netnsid`), MAC
//! addresses, address lifetimes (kept only as `forever`, `0` or `finite`), route
//! `expires` (kept as `finite`), route cache information, the order of multipath
//! next hops, and link-local addresses.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::host::Netns;

/// One namespace's addresses, routes and rules: items keyed by what identifies them
/// (`addr IFNAME LOCAL`, `route FAMILY TABLE DST`, `rule FAMILY PRIORITY`, `link
/// IFNAME`), each key with every item that has it (a route added with `append` shares
/// its key with the first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub items: BTreeMap<String, Vec<Value>>,
}

fn ip_json(ns: &Netns, args: &[&str]) -> Value {
    let out = ns.ip(args);
    if out.stdout.iter().all(|b| b.is_ascii_whitespace()) {
        return Value::Array(Vec::new());
    }
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ip {args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `4294967295` → `"forever"`, `0` stays, anything else → `"finite"`.
fn lifetime(v: &Value) -> Value {
    match v.as_u64() {
        Some(4_294_967_295) => Value::from("forever"),
        Some(0) => Value::from(0),
        Some(_) => Value::from("finite"),
        None => v.clone(),
    }
}

fn normalise_link(link: &Value) -> Value {
    let mut l = link.clone();
    if let Some(o) = l.as_object_mut() {
        for k in ["ifindex", "link_index", "link_netnsid", "addr_info"] {
            o.remove(k);
        }
        for k in ["address", "broadcast", "permaddr"] {
            if o.contains_key(k) {
                o.insert(k.into(), Value::from("<mac>"));
            }
        }
    }
    l
}

fn normalise_addr(a: &Value) -> Value {
    let mut a = a.clone();
    if let Some(o) = a.as_object_mut() {
        for k in ["valid_life_time", "preferred_life_time"] {
            if let Some(v) = o.get(k).map(lifetime) {
                o.insert(k.into(), v);
            }
        }
        let kernel_ll = o.get("scope").and_then(Value::as_str) == Some("link")
            && o.get("family").and_then(Value::as_str) == Some("inet6")
            && o.get("local")
                .and_then(Value::as_str)
                .is_some_and(|l| l.starts_with("fe80:"));
        if kernel_ll {
            o.insert("local".into(), Value::from("fe80::<link-local>"));
        }
    }
    a
}

fn normalise_route(r: &Value) -> Value {
    let mut r = r.clone();
    if let Some(o) = r.as_object_mut() {
        for k in ["cacheinfo", "cache"] {
            o.remove(k);
        }
        if o.contains_key("expires") {
            o.insert("expires".into(), Value::from("finite"));
        }
        // The kernel keeps IPv6 multipath siblings in the order they were added, which
        // says nothing about the route.
        if let Some(Value::Array(hops)) = o.get_mut("nexthops") {
            hops.sort_by_key(|h| h.to_string());
        }
    }
    r
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("-")
}

impl Snapshot {
    /// What `ns` holds now.
    pub fn take(ns: &Netns) -> Snapshot {
        let mut s = Snapshot::default();
        for link in ip_json(ns, &["-d", "-j", "addr"])
            .as_array()
            .into_iter()
            .flatten()
        {
            let ifname = str_of(link, "ifname").to_string();
            s.add(format!("link {ifname}"), normalise_link(link));
            for a in link["addr_info"].as_array().into_iter().flatten() {
                let a = normalise_addr(a);
                let key = format!(
                    "addr {ifname} {}/{}",
                    str_of(&a, "local"),
                    a.get("prefixlen").cloned().unwrap_or_default()
                );
                s.add(key, a);
            }
        }
        for fam in ["-4", "-6"] {
            let routes = ip_json(ns, &["-d", "-j", fam, "route", "show", "table", "all"]);
            for r in routes.as_array().into_iter().flatten() {
                let r = normalise_route(r);
                let key = format!(
                    "route {fam} table {} {} {}{}",
                    str_of(&r, "table"),
                    str_of(&r, "type"),
                    str_of(&r, "dst"),
                    r.get("from")
                        .and_then(Value::as_str)
                        .map(|f| format!(" from {f}"))
                        .unwrap_or_default()
                );
                s.add(key, r);
            }
            for r in ip_json(ns, &["-j", fam, "rule"])
                .as_array()
                .into_iter()
                .flatten()
            {
                let key = format!(
                    "rule {fam} priority {}",
                    r.get("priority").cloned().unwrap_or_default()
                );
                s.add(key, r.clone());
            }
        }
        for v in s.items.values_mut() {
            v.sort_by_key(|x| x.to_string());
        }
        s
    }

    fn add(&mut self, key: String, v: Value) {
        self.items.entry(key).or_default().push(v);
    }

    /// Whether any item's JSON contains `needle` (e.g. `"local":"10.0.0.1"`).
    pub fn has(&self, needle: &str) -> bool {
        self.items
            .values()
            .flatten()
            .any(|v| v.to_string().contains(needle))
    }

    /// Whether any item satisfies `f`.
    pub fn any(&self, f: impl Fn(&Value) -> bool) -> bool {
        self.items.values().flatten().any(f)
    }

    /// The whole snapshot as pretty JSON, `{KEY: [ITEM…]}`, for a test to leave behind.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.items).unwrap_or_default()
    }
}

/// One difference between two snapshots `a` and `b` (named by `names`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub key: String,
    /// Readable: `only in A: {...}`, or `field F: A X, B Y`.
    pub text: String,
    /// The JSON of the item in `a` alone, if this is an item only `a` has.
    pub only_a: Option<String>,
    /// The same for `b`.
    pub only_b: Option<String>,
}

fn field_diff(a: &Value, b: &Value, names: (&str, &str)) -> Vec<String> {
    let (Some(x), Some(y)) = (a.as_object(), b.as_object()) else {
        return vec![format!("{}: {a}\n      {}: {b}", names.0, names.1)];
    };
    let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| x.get(*k) != y.get(*k))
        .map(|k| {
            let show = |v: Option<&Value>| v.map_or("(absent)".to_string(), |v| v.to_string());
            format!(
                "field {k}: {} {}, {} {}",
                names.0,
                show(x.get(k)),
                names.1,
                show(y.get(k))
            )
        })
        .collect()
}

/// Every difference between `a` and `b`: for a key both have once, the fields that
/// differ; otherwise each item only one side has.
pub fn differences(a: &Snapshot, b: &Snapshot, names: (&str, &str)) -> Vec<Difference> {
    let mut out = Vec::new();
    let empty = Vec::new();
    let mut keys: Vec<&String> = a.items.keys().chain(b.items.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let x = a.items.get(key).unwrap_or(&empty);
        let y = b.items.get(key).unwrap_or(&empty);
        if x == y {
            continue;
        }
        if x.len() == 1 && y.len() == 1 {
            for f in field_diff(&x[0], &y[0], names) {
                out.push(Difference {
                    key: key.clone(),
                    text: f,
                    only_a: None,
                    only_b: None,
                });
            }
            continue;
        }
        for v in x.iter().filter(|v| !y.contains(v)) {
            out.push(Difference {
                key: key.clone(),
                text: format!("only in {}: {v}", names.0),
                only_a: Some(v.to_string()),
                only_b: None,
            });
        }
        for v in y.iter().filter(|v| !x.contains(v)) {
            out.push(Difference {
                key: key.clone(),
                text: format!("only in {}: {v}", names.1),
                only_a: None,
                only_b: Some(v.to_string()),
            });
        }
    }
    out
}

/// `differences` as lines, one per difference, `KEY: TEXT`.
pub fn render(diffs: &[Difference]) -> String {
    diffs
        .iter()
        .map(|d| format!("  {}: {}", d.key, d.text))
        .collect::<Vec<_>>()
        .join("\n")
}
