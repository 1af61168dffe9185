//! Printing a run: the timeline, the failover summary, and what went wrong with the
//! command that reproduces it.

use std::fmt::Write as _;

use crate::run::Outcome;
use crate::scenario::Scenario;

pub fn timeline(o: &Outcome) -> String {
    let mut s = String::new();
    for l in &o.trace {
        let _ = writeln!(s, "{:>10.6}  {:<6} {}", l.t, l.host, l.detail);
    }
    s
}

/// Failover times beside the protocol's floor: the master-down interval of the host that
/// took over (down_timer_adverts × advert_int + skew), counted from the last advert it
/// heard, which came up to one interval before the loss.
pub fn failovers(o: &Outcome, sc: &Scenario) -> String {
    let mut s = String::new();
    for (host, took) in &o.failovers {
        let floor = sc
            .hosts
            .iter()
            .find(|h| &h.name == host)
            .and_then(|h| h.config.instances.first())
            .map(|vi| {
                let int = vi.advert_int_us as f64 / 1e6;
                let p = 256.0 - f64::from(vi.priority);
                let skew = if vi.version == 2 {
                    p / 256.0
                } else {
                    p * int / 256.0
                };
                f64::from(vi.down_timer_adverts) * int + skew
            });
        match floor {
            Some(f) => {
                let _ = writeln!(
                    s,
                    "failover to {host}: {took:.3} s after the master was lost (protocol floor: \
                     master-down interval {f:.3} s after the last advert it heard)"
                );
            }
            None => {
                let _ = writeln!(s, "failover to {host}: {took:.3} s");
            }
        }
    }
    s
}

/// Everything that failed, each with `repro`, the command that reproduces the run.
pub fn failures(o: &Outcome, repro: &str) -> String {
    let mut s = String::new();
    for v in &o.violations {
        let _ = writeln!(
            s,
            "VIOLATION at {:.6} s [{}]: {} ({})\n  reproduce: {repro}",
            v.t,
            v.hosts.join(", "),
            v.invariant,
            v.detail
        );
    }
    for f in &o.failed {
        let _ = writeln!(s, "EXPECTATION FAILED: {f}\n  reproduce: {repro}");
    }
    s
}
