//! A virtual server's quorum: gained and lost with hysteresis on the alive weight, and the
//! sorry server that stands in while it is lost (`update_quorum_state()`, `ipwrapper.c`).

use super::CheckEngine;

impl CheckEngine {
    /// `update_quorum_state()`, `ipwrapper.c`: gain at alive weight ≥ quorum +
    /// hysteresis, lose at 0 or < quorum − hysteresis; the sorry server swaps with the
    /// real servers.
    pub(super) fn update_quorum_state(&mut self, vi: usize, init: bool) {
        let v = &self.vss[vi];
        let sum = v.alive_weight();
        let (q, h) = (i64::from(v.quorum), i64::from(v.hysteresis));
        let (up, sorry_active) = (v.quorum_up, v.sorry_active);
        let threshold = if up { q - h } else { q + h };
        let has_sorry = v.cfg.sorry_server.is_some();
        let vl = v.label.clone();
        if !up && sum >= threshold {
            self.vss[vi].quorum_up = true;
            self.log(
                Some(&vl),
                None,
                format!("Gained quorum {q}+{h}={threshold} <= {sum} for VS {vl}"),
            );
            if self.vss[vi].sorry_active {
                self.log(
                    Some(&vl),
                    None,
                    format!("Removing sorry server from VS {vl}"),
                );
                self.vss[vi].sorry_active = false;
                self.sync_ipvs(vi);
            }
            self.vs_notifies(vi, init, threshold, sum, false);
        } else if (up && (sum == 0 || sum < threshold))
            || (init && !up && has_sorry && !sorry_active)
        {
            self.vss[vi].quorum_up = false;
            self.log(
                Some(&vl),
                None,
                format!(
                    "{} {q}-{h}={threshold} > {sum} for VS {vl}",
                    if init {
                        "Starting with quorum down"
                    } else {
                        "Lost quorum"
                    }
                ),
            );
            if has_sorry && !self.vss[vi].sorry_active {
                self.log(Some(&vl), None, format!("Adding sorry server to VS {vl}"));
                self.vss[vi].sorry_active = true;
                self.sync_ipvs(vi);
            }
            self.vs_notifies(vi, init, threshold, sum, false);
        }
    }
}
