//! What the KEEPALIVED-MIB checker tables (`keepalived.3`, [`crate::snmp::checker`])
//! read of the engine at run time: per virtual server its quorum state and live real
//! servers, per real server whether it is alive, its weight and its failed checkers
//! (the fields of `virtual_server_t` and `real_server_t` that `check_snmp.c` reads and
//! the checkers change). Everything else those tables show comes from the
//! configuration, and the IPVS counters from the kernel.

use super::runtime::real_weight;
use super::CheckEngine;
use crate::time::Instant;

/// A snapshot of the engine for the checker MIB, virtual servers in configuration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckLive {
    /// When it was taken.
    pub at: Instant,
    /// The engine has shut down (SIGTERM): every real server is out and the quorum
    /// traps say stopping(3).
    pub stopped: bool,
    pub virtual_servers: Vec<VsLive>,
}

/// One virtual server (`virtual_server_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsLive {
    /// keepalived's `[ip]:proto:port` form, which names it across a reload.
    pub label: String,
    /// Its services are in the IPVS table (`vs->alive`: `virtualServerStatus`).
    pub alive: bool,
    /// `vs->quorum_state_up` (`virtualServerQuorumStatus`).
    pub quorum_up: bool,
    /// The quorum in force: the configured one capped to the total weight
    /// (`virtualServerQuorum`).
    pub quorum: u32,
    /// The hysteresis in force, capped to quorum − 1 (`virtualServerHysteresis`).
    pub hysteresis: u32,
    /// Σ weights of the alive real servers (`weigh_live_realservers()`).
    pub alive_weight: i64,
    /// How many real servers are alive (`virtualServerRealServersUp`; the sorry server
    /// is not counted).
    pub alive_count: u32,
    /// The sorry server is in the pool (`vs->s_svr->alive`).
    pub sorry_active: bool,
    /// Checks are suspended because its `ha_suspend` address is not on this host.
    pub suspended: bool,
    /// Its real servers in configuration order (the sorry server is not one).
    pub real_servers: Vec<RsLive>,
}

/// One real server (`real_server_t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsLive {
    /// keepalived's `[ip]:proto:port` form.
    pub label: String,
    /// `rs->alive` (`realServerStatus`).
    pub alive: bool,
    /// `real_weight(rs->effective_weight)` (`realServerWeight`): the configured weight
    /// plus what dynamic MISC_CHECKs and FILE_CHECKs add, clamped to 0..=INT32_MAX. It
    /// stays as set while the quorum is lost, when IPVS holds the server at weight 0.
    pub weight: u32,
    /// `rs->effective_weight` before the clamp.
    pub effective_weight: i64,
    /// How many of its checkers are down (`rs->num_failed_checkers`:
    /// `realServerFailedChecks`).
    pub failed_checkers: u32,
    /// How many checkers it has.
    pub checkers: u32,
}

impl CheckEngine {
    /// The run-time state the checker MIB shows, at `now`.
    pub fn live(&self, now: Instant) -> CheckLive {
        let virtual_servers = self
            .vss
            .iter()
            .enumerate()
            .map(|(vi, v)| VsLive {
                label: v.label.clone(),
                alive: !self.stopped && !v.ipvs.is_empty(),
                quorum_up: v.quorum_up,
                quorum: v.quorum,
                hysteresis: v.hysteresis,
                alive_weight: v.alive_weight(),
                alive_count: v.rss.iter().filter(|r| r.alive).count() as u32,
                sorry_active: v.sorry_active,
                suspended: self.suspended(vi),
                real_servers: v
                    .rss
                    .iter()
                    .map(|r| {
                        let eff = r.effective_weight();
                        RsLive {
                            label: r.label.clone(),
                            alive: r.alive,
                            weight: real_weight(eff),
                            effective_weight: eff,
                            failed_checkers: r.num_failed() as u32,
                            checkers: r.checkers.len() as u32,
                        }
                    })
                    .collect(),
            })
            .collect();
        CheckLive {
            at: now,
            stopped: self.stopped,
            virtual_servers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::probe::ProbeOutcome;
    use crate::check::{CheckInput, CheckOutput};
    use crate::config::{parse_str, ParseOptions};

    const CONF: &str = "
virtual_server 10.0.0.100 80 {
    delay_loop 2
    lb_kind NAT
    protocol TCP
    quorum 3
    hysteresis 1
    sorry_server 192.0.2.99 80
    real_server 192.0.2.11 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 192.0.2.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
";

    #[test]
    fn live_follows_a_failing_real_server_and_the_quorum() {
        let cfg = parse_str(CONF, &ParseOptions::default()).config;
        let mut e = CheckEngine::new(cfg, Instant::ZERO, 1);
        let l = e.live(Instant::ZERO);
        let v = &l.virtual_servers[0];
        assert_eq!(v.label, "[10.0.0.100]:tcp:80");
        assert!(v.alive && v.quorum_up && !v.sorry_active && !l.stopped);
        assert_eq!(
            (v.quorum, v.hysteresis, v.alive_weight, v.alive_count),
            (3, 1, 4, 2)
        );
        assert_eq!(
            v.real_servers
                .iter()
                .map(|r| (r.alive, r.weight, r.failed_checkers, r.checkers))
                .collect::<Vec<_>>(),
            vec![(true, 3, 0, 1), (true, 1, 0, 1)]
        );

        // Run the checkers until 192.0.2.11's probe can be failed.
        let mut now = Instant::ZERO;
        let mut failed = false;
        for _ in 0..50 {
            now = e.poll_timeout().unwrap_or(now).max(now);
            e.handle_timeout(now);
            while let Some(out) = e.poll_output() {
                if let CheckOutput::StartProbe(spec) = out {
                    let down = format!("{:?}", spec).contains("192.0.2.11");
                    let outcome = if down {
                        failed = true;
                        ProbeOutcome::Down {
                            reason: "refused".into(),
                        }
                    } else {
                        ProbeOutcome::Up
                    };
                    e.handle_input(
                        now,
                        CheckInput::ProbeDone {
                            id: spec.id,
                            outcome,
                        },
                    );
                }
            }
            if failed && !e.live(now).virtual_servers[0].real_servers[0].alive {
                break;
            }
        }
        let l = e.live(now);
        let v = &l.virtual_servers[0];
        assert!(!v.quorum_up && v.sorry_active, "{v:?}");
        assert_eq!((v.alive_weight, v.alive_count), (1, 1));
        let r = &v.real_servers[0];
        assert_eq!((r.alive, r.weight, r.failed_checkers), (false, 3, 1));

        e.handle_input(now, CheckInput::Shutdown);
        let l = e.live(now);
        assert!(l.stopped && !l.virtual_servers[0].alive);
        assert_eq!(l.virtual_servers[0].alive_count, 0);
    }
}
