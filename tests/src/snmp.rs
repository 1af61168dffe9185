//! net-snmp as the SNMP tests run it: snmptrapd's log read back as traps.

use std::path::Path;

/// snmptrapd's configuration: every trap logged as `==== TRAP <from>` and one varbind
/// a line, numeric (with `-On -Ob`).
pub const SNMPTRAPD_CONF: &str = "authCommunity log public\nformat2 ==== TRAP %b%V\\n% \\n%v\\n\n";

/// The traps snmptrapd logged to `log` (written with [`SNMPTRAPD_CONF`]), each as its
/// varbinds after sysUpTime.0, one a line; snmpd's own coldStart left out.
pub fn traps(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .split("==== TRAP")
        .skip(1)
        .map(|t| {
            t.lines()
                .skip(1)
                .filter(|l| !l.starts_with(".1.3.6.1.2.1.1.3.0 ") && !l.trim().is_empty())
                .map(str::trim_end)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|t| !t.contains(".1.3.6.1.6.3.1.1.5.1"))
        .collect()
}
