//! Trees as `snmpwalk -On -Ob` prints them, to hold them against keepalived 2.2.7's
//! walks in `tests/data/snmp`.

use std::path::PathBuf;

use crate::agentx::Value;

use super::MibTree;

/// A value as `snmpwalk -On -Ob` prints it without the MIB (net-snmp's
/// `sprint_realloc_by_type()`): octet strings that are all printable read as STRING.
pub fn shown(v: &Value) -> String {
    match v {
        Value::Integer(n) => format!("INTEGER: {n}"),
        Value::Gauge32(n) => format!("Gauge32: {n}"),
        Value::Counter32(n) => format!("Counter32: {n}"),
        Value::Counter64(n) => format!("Counter64: {n}"),
        Value::IpAddress(a) => format!("IpAddress: {a}"),
        Value::TimeTicks(t) => {
            let (cs, s) = (t % 100, t / 100);
            let (d, h, m, s) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
            let days = match d {
                0 => String::new(),
                1 => "1 day, ".into(),
                d => format!("{d} days, "),
            };
            format!("Timeticks: ({t}) {days}{h}:{m:02}:{s:02}.{cs:02}")
        }
        Value::OctetString(b) if b.is_empty() => "\"\"".into(),
        Value::OctetString(b) if b.iter().all(|c| c.is_ascii_graphic() || *c == b' ') => {
            format!("STRING: \"{}\"", String::from_utf8_lossy(b))
        }
        Value::OctetString(b) => format!(
            "Hex-STRING: {}",
            b.iter().map(|c| format!("{c:02X} ")).collect::<String>()
        ),
        other => format!("{other:?}"),
    }
}

/// Every line of `tree` whose OID starts with `prefix` (".1.3.6..."), trimmed.
pub fn lines(tree: &MibTree, prefix: &str) -> Vec<String> {
    tree.iter()
        .map(|(k, v)| format!(".{k} = {}", shown(v)).trim_end().to_string())
        .filter(|l| l.starts_with(prefix))
        .collect()
}

/// `tests/data/snmp/<file>`.
pub fn reference_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/snmp")
        .join(file)
}

/// The lines of the reference walk `file` whose OID starts with `prefix`, trimmed.
pub fn reference(file: &str, prefix: &str) -> Vec<String> {
    std::fs::read_to_string(reference_path(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| l.trim_end().to_string())
        .collect()
}
