//! The pool: a real server entering or leaving its virtual server, or changing weight,
//! and the share of the IPVS table each virtual server derives from that state, emitted
//! as the minimal diff.

use std::collections::BTreeMap;

use super::io::CheckOutput;
use super::ipvs::{self, DestKey, DestParams, Service, ServiceKey, ServiceParams};
use super::runtime::real_weight;
use super::CheckEngine;
use crate::config::model::{LvsKind, VirtualServer};

/// The service parameters a virtual server asks of IPVS (`ipvs_set_srule()`).
fn service_params(vs: &VirtualServer) -> ServiceParams {
    let persistent = vs.persistence_timeout_s.is_some();
    ServiceParams {
        protocol: vs.protocol,
        scheduler: vs.lvs_sched.clone(),
        sched_flags: vs.sched_flags.clone(),
        persistence_timeout_s: vs.persistence_timeout_s,
        // `ipvs_set_srule()`: granularity and engine only go with persistence.
        persistence_granularity: vs.persistence_granularity.clone().filter(|_| persistent),
        persistence_engine: vs.persistence_engine.clone().filter(|_| persistent),
        ops: vs.ops,
    }
}

impl CheckEngine {
    /// `perform_svr_state()`: a real server enters or leaves the pool.
    pub(super) fn perform_svr_state(&mut self, vi: usize, ri: usize, alive: bool) {
        let v = &self.vss[vi];
        let r = &v.rss[ri];
        if r.alive == alive {
            return;
        }
        let inhibit = r.cfg.inhibit_on_failure;
        let msg = format!(
            "{}ing service {} {} VS {}",
            match (alive, inhibit) {
                (true, true) => "Enabl",
                (true, false) => "Add",
                (false, true) => "Disabl",
                (false, false) => "Remov",
            },
            r.label,
            if inhibit {
                "of"
            } else if alive {
                "to"
            } else {
                "from"
            },
            v.label
        );
        let (vl, rl) = (v.label.clone(), r.label.clone());
        self.log(Some(&vl), Some(&rl), msg);
        self.vss[vi].rss[ri].alive = alive;
        self.sync_ipvs(vi);
        self.rs_notifies(vi, ri);
        self.update_quorum_state(vi, false);
    }

    /// `update_svr_wgt()`: the effective weight moved from `old`; the pool and the
    /// quorum follow.
    pub(super) fn update_svr_wgt(&mut self, vi: usize, ri: usize, old: i64) {
        let r = &self.vss[vi].rss[ri];
        let (ow, nw) = (real_weight(old), real_weight(r.effective_weight()));
        if ow == nw {
            return;
        }
        let msg = format!(
            "Changing weight from {ow} to {nw} for {}active service {} of VS {}",
            if r.alive { "" } else { "in" },
            r.label,
            self.vss[vi].label
        );
        let (vl, rl) = (self.vss[vi].label.clone(), r.label.clone());
        self.log(Some(&vl), Some(&rl), msg);
        self.sync_ipvs(vi);
        self.update_quorum_state(vi, false);
    }

    /// This virtual server's share of the IPVS table, from its state.
    pub(super) fn fragment(&self, vi: usize) -> BTreeMap<ServiceKey, Service> {
        let v = &self.vss[vi];
        let params = service_params(&v.cfg);
        let mut map = BTreeMap::new();
        for key in &v.keys {
            let mut dests = BTreeMap::new();
            let dest_port = |kind: LvsKind, own: u16| {
                // ipvs_cmd(): NAT keeps the real server's port, DR/TUN the service's.
                if kind == LvsKind::Nat {
                    own
                } else {
                    key.port()
                }
            };
            for r in &v.rss {
                // The pool holds the alive servers while no sorry server stands in
                // (perform_quorum_state()); an inhibit_on_failure server stays in at
                // weight 0 instead of leaving (ipvs_cmd(): DELDEST → EDITDEST weight 0).
                let weight = if r.alive && !v.sorry_active {
                    real_weight(r.effective_weight())
                } else if r.cfg.inhibit_on_failure {
                    0
                } else {
                    continue;
                };
                let method = r
                    .cfg
                    .lvs_method
                    .as_deref()
                    .cloned()
                    .unwrap_or_else(|| v.cfg.lvs_method.clone());
                let dk = DestKey {
                    addr: r.cfg.address,
                    port: dest_port(method.kind, r.port()),
                };
                dests.entry(dk).or_insert(DestParams {
                    weight,
                    method,
                    uthreshold: r.cfg.uthreshold.unwrap_or(0),
                    lthreshold: r.cfg.lthreshold.unwrap_or(0),
                });
            }
            if let Some(ss) = &v.cfg.sorry_server {
                // alloc_ssvr(): weight 1, the virtual server's method unless
                // sorry_server_lvs_method; with sorry_server_inhibit it stays at weight 0
                // while not needed (init_service_vs()).
                let weight = if v.sorry_active {
                    Some(1)
                } else if v.cfg.sorry_server_inhibit {
                    Some(0)
                } else {
                    None
                };
                if let Some(weight) = weight {
                    let method = ss
                        .lvs_method
                        .clone()
                        .unwrap_or_else(|| v.cfg.lvs_method.clone());
                    let dk = DestKey {
                        addr: ss.address,
                        port: dest_port(method.kind, ss.port.unwrap_or(0)),
                    };
                    let p = DestParams {
                        weight,
                        method,
                        uthreshold: 0,
                        lthreshold: 0,
                    };
                    if v.sorry_active {
                        dests.insert(dk, p);
                    } else {
                        dests.entry(dk).or_insert(p);
                    }
                }
            }
            map.insert(
                key.clone(),
                Service {
                    params: params.clone(),
                    dests,
                },
            );
        }
        map
    }

    /// Emits what changed in this virtual server's share of the table.
    pub(super) fn sync_ipvs(&mut self, vi: usize) {
        if self.hold_ipvs {
            return;
        }
        let new = self.fragment(vi);
        let mut ops = Vec::new();
        ipvs::diff_maps(&self.vss[vi].ipvs, &new, &mut ops);
        self.out.extend(ops.into_iter().map(CheckOutput::Ipvs));
        self.vss[vi].ipvs = new;
    }
}
