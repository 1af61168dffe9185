//! A reload: the new configuration's state is built fresh, then every virtual server,
//! real server and checker that is still the same takes over its old state and schedule,
//! and the IPVS table changes by one diff (`clear_diff_services()`, `migrate_checkers()`).

use super::dump::DumpCfg;
use super::io::{CheckNotifyKind, CheckOutput};
use super::ipvs::diff;
use super::runtime::RsRt;
use super::CheckEngine;
use crate::config::model::{Checker, Config};
use crate::time::{us, Instant};

impl CheckEngine {
    /// Reload: unchanged real servers (same address and port in the same virtual server,
    /// same checker) keep their state and schedule; removed ones leave through the
    /// diff; new ones start as at startup (`clear_diff_services()`, `migrate_checkers()`,
    /// done here without keepalived's losses, issues #381, #608, #1720).
    pub(super) fn reload(&mut self, now: Instant, config: Config) {
        let old_desired = self.desired();
        let mut old_vss = std::mem::take(&mut self.vss);
        self.global = config.global.clone();
        self.dump = DumpCfg::new(&config, Some(&self.dump));
        self.hold_ipvs = true;
        let mut new_vss = self.build(&config, now);
        let mut kept_vs = vec![false; old_vss.len()];
        let mut carried_vs: Vec<Option<usize>> = vec![None; new_vss.len()];
        for (ni, nv) in new_vss.iter_mut().enumerate() {
            let Some(oi) = old_vss
                .iter()
                .enumerate()
                .position(|(i, o)| !kept_vs[i] && o.identity() == nv.identity())
            else {
                continue;
            };
            kept_vs[oi] = true;
            carried_vs[ni] = Some(oi);
            let ov = &mut old_vss[oi];
            nv.reloaded = true;
            nv.quorum_up = ov.quorum_up;
            nv.sorry_active = ov.sorry_active && nv.cfg.sorry_server.is_some();
            let mut kept_rs = vec![false; ov.rss.len()];
            for nr in &mut nv.rss {
                let Some(ori) = ov.rss.iter().enumerate().position(|(i, o)| {
                    !kept_rs[i] && o.cfg.address == nr.cfg.address && o.port() == nr.port()
                }) else {
                    continue;
                };
                kept_rs[ori] = true;
                let or = &mut ov.rss[ori];
                nr.alive = or.alive;
                nr.reloaded = true;
                nr.prev_weight = or.effective_weight();
                migrate_checkers(or, nr, now);
            }
            // Real servers gone from a kept virtual server: down notifies for the alive
            // ones (clear_service_rs()).
            let gone: Vec<RsRt> = ov
                .rss
                .iter()
                .enumerate()
                .filter(|(i, _)| !kept_rs[*i])
                .map(|(_, r)| r.clone())
                .collect();
            for r in gone {
                self.removed_rs(&ov.label, r);
            }
        }
        // Virtual servers gone: their alive servers go down, and the quorum with them.
        for (oi, ov) in old_vss.iter().enumerate() {
            if kept_vs[oi] {
                continue;
            }
            for r in ov.rss.clone() {
                self.removed_rs(&ov.label, r);
            }
            if ov.quorum_up {
                let mut v = ov.clone();
                v.rss.clear();
                v.quorum_up = false;
                self.vss = vec![v];
                self.vs_notifies(
                    0,
                    false,
                    i64::from(ov.quorum) - i64::from(ov.hysteresis),
                    0,
                    false,
                );
                self.vss.clear();
            }
        }
        self.vss = new_vss;
        self.refresh_file_checks();
        self.assign_fresh(now);
        self.reindex();
        self.refresh_bfd_checks();
        // A kept server whose checkers now disagree with its pool state follows them
        // (migrate_checkers()'s tail); then every quorum is looked at again
        // (init_service_vs() → update_quorum_state()).
        for (vi, carried) in carried_vs.iter().enumerate() {
            for ri in 0..self.vss[vi].rss.len() {
                let r = &self.vss[vi].rss[ri];
                let should = r.num_failed() == 0;
                if r.alive != should {
                    self.perform_svr_state(vi, ri, should);
                }
            }
            self.update_quorum_state(vi, carried.is_none());
        }
        self.hold_ipvs = false;
        for vi in 0..self.vss.len() {
            self.vss[vi].ipvs = self.fragment(vi);
        }
        let ops = diff(&old_desired, &self.desired());
        self.out.extend(ops.into_iter().map(CheckOutput::Ipvs));
    }

    /// A real server that a reload dropped: if it was alive, its down notifiers run
    /// (`clear_service_rs()`, "=> Removing <=").
    fn removed_rs(&mut self, vlabel: &str, r: RsRt) {
        self.log(
            Some(vlabel),
            Some(&r.label),
            format!("service {} no longer exist", r.label),
        );
        if !r.alive {
            return;
        }
        if let Some(c) = &r.cfg.notify_down {
            self.out.push_back(CheckOutput::Notify {
                kind: CheckNotifyKind::RealServerDown,
                command: (**c).clone(),
            });
        }
        if self.fifo_enabled() {
            self.out.push_back(CheckOutput::Fifo {
                line: format!("RS {} {vlabel} DOWN\n", r.label),
            });
        }
        if r.cfg.smtp_alert {
            let subject = format!("Realserver {} of virtual server {vlabel} - DOWN", r.label);
            self.smtp(subject, "=> Removing <=".into());
        }
    }
}

/// The same checker across a reload: same type, same type-specific options, same
/// connection (keepalived's per-type `compare()`); the schedule may change.
fn same_checker(a: &Checker, b: &Checker) -> bool {
    a.kind == b.kind && a.connection == b.connection
}

/// `migrate_checkers()`, `ipwrapper.c`: state of each matching old checker moves to the
/// new one, keeping its id, pending probe and next run (capped to the new delay_loop).
fn migrate_checkers(old: &mut RsRt, new: &mut RsRt, now: Instant) {
    let mut used = vec![false; old.checkers.len()];
    for nc in &mut new.checkers {
        let Some(i) = old
            .checkers
            .iter()
            .enumerate()
            .position(|(i, oc)| !used[i] && same_checker(&oc.cfg, &nc.cfg))
        else {
            // New to a kept server: up until it runs, unless the rule below says
            // otherwise (migrate_checkers() only marks alpha checkers down then).
            nc.is_up = true;
            continue;
        };
        used[i] = true;
        let oc = &old.checkers[i];
        nc.id = oc.id;
        nc.is_up = oc.is_up;
        nc.has_run = oc.has_run;
        // "If we have already had sufficient retries for the new retry value … just
        // require one more failure".
        let retry = nc.cfg.schedule.retry;
        nc.retry_it = if !nc.is_up {
            retry.saturating_add(1)
        } else {
            oc.retry_it.min(retry)
        };
        nc.url_idx = oc.url_idx;
        nc.failed_url = oc.failed_url;
        nc.dyn_status = oc.dyn_status;
        nc.last_exit = oc.last_exit;
        nc.in_flight = oc.in_flight;
        nc.started = oc.started;
        let cap = now + us(nc.cfg.schedule.delay_loop_us.max(1));
        nc.next_run = oc.next_run.map(|t| t.min(cap));
        if nc.in_flight.is_some() {
            nc.next_run = None;
        }
    }
    // "If a checker has failed, set new alpha checkers to be down until they have run."
    let any_failed = new.checkers.iter().any(|c| c.has_run && !c.is_up);
    let any_run = new.checkers.iter().any(|c| c.has_run);
    if any_failed || (!new.alive && !any_run) {
        for c in new.checkers.iter_mut().filter(|c| !c.has_run) {
            if c.alpha() && c.supported {
                c.is_up = false;
            }
            c.retry_it = c.cfg.schedule.retry;
        }
    }
}
