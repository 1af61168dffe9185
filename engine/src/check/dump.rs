//! The checker side's SIGUSR1 dump, beside the VRRP engine's
//! ([`crate::vrrp::Engine::data_text`]).

use std::fmt::Write;

use super::CheckEngine;

impl CheckEngine {
    /// The SIGUSR1 dump of the checker side (`/tmp/keepalived_check.data`): each virtual
    /// server with its quorum, each real server with its state, weight and checkers.
    /// keepalived calls its format unstable; this one is meant for people.
    pub fn data_text(&self) -> String {
        let mut s = String::from("------< Health checkers >------\n");
        let rss = self.real_servers();
        for vs in self.virtual_servers() {
            let _ = writeln!(s, " Virtual server {}", vs.label);
            let _ = writeln!(
                s,
                "   Quorum = {} (hysteresis {}), alive weight = {}, quorum {}",
                vs.quorum,
                vs.hysteresis,
                vs.alive_weight,
                if vs.quorum_up { "UP" } else { "DOWN" }
            );
            if vs.sorry_active {
                let _ = writeln!(s, "   Sorry server in use");
            }
            if vs.suspended {
                let _ = writeln!(s, "   Suspended (ha_suspend: address not on this host)");
            }
            for rs in rss.iter().filter(|r| r.virtual_server == vs.label) {
                let _ = writeln!(
                    s,
                    "   Real server {} {} weight {}",
                    rs.label,
                    if rs.alive { "UP" } else { "DOWN" },
                    rs.effective_weight
                );
                for c in &rs.checkers {
                    let _ = writeln!(
                        s,
                        "     {} {}{}",
                        c.kind,
                        if !c.has_run {
                            "not run yet"
                        } else if c.up {
                            "up"
                        } else {
                            "down"
                        },
                        if c.supported {
                            ""
                        } else {
                            " (not supported: counted up)"
                        }
                    );
                }
            }
        }
        s
    }
}
