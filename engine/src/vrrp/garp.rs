//! Gratuitous ARP / unsolicited NA pacing per interface: `vrrp_garp_interval`,
//! `vrrp_gna_interval` and `garp_group` space the frames out; what cannot go now waits its
//! turn (`queue_garp()`, `vrrp_arp.c`), it is never dropped.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::config::model::Config;
use crate::time::{us, Instant};

use super::io::Output;
use super::outbox::Outbox;

#[derive(Debug, Clone, Default)]
struct Lane {
    interval: Duration,
    next: Instant,
    pending: VecDeque<Output>,
}

impl Lane {
    fn send(&mut self, now: Instant, frame: Output, out: &mut Outbox) {
        if self.pending.is_empty() && now >= self.next {
            self.next = now + self.interval;
            out.push_back(frame);
        } else {
            self.pending.push_back(frame);
        }
    }

    fn flush(&mut self, now: Instant, out: &mut Outbox) {
        while now >= self.next {
            let Some(f) = self.pending.pop_front() else {
                break;
            };
            self.next = now + self.interval;
            out.push_back(f);
        }
    }

    fn deadline(&self) -> Option<Instant> {
        (!self.pending.is_empty()).then_some(self.next)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct GarpPacer {
    default_arp: Duration,
    default_na: Duration,
    per_if: BTreeMap<String, (Option<Duration>, Option<Duration>)>,
    lanes: BTreeMap<(String, bool), Lane>,
}

impl GarpPacer {
    pub fn new(cfg: &Config) -> GarpPacer {
        let mut per_if = BTreeMap::new();
        for g in &cfg.garp_groups {
            for i in &g.interfaces {
                per_if.insert(
                    i.clone(),
                    (g.garp_interval_us.map(us), g.gna_interval_us.map(us)),
                );
            }
        }
        GarpPacer {
            default_arp: us(cfg.global.vrrp_garp_interval_us),
            default_na: us(cfg.global.vrrp_gna_interval_us),
            per_if,
            lanes: BTreeMap::new(),
        }
    }

    /// Sends or queues a `SendGratuitousArp` / `SendNeighborAdvert`.
    pub fn send(&mut self, now: Instant, frame: Output, out: &mut Outbox) {
        let (interface, na) = match &frame {
            Output::SendGratuitousArp { interface, .. } => (interface.clone(), false),
            Output::SendNeighborAdvert { interface, .. } => (interface.clone(), true),
            _ => {
                out.push_back(frame);
                return;
            }
        };
        let (arp_i, na_i) = self.per_if.get(&interface).copied().unwrap_or((None, None));
        let interval = if na {
            na_i.unwrap_or(self.default_na)
        } else {
            arp_i.unwrap_or(self.default_arp)
        };
        let lane = self.lanes.entry((interface, na)).or_default();
        lane.interval = interval;
        lane.send(now, frame, out);
    }

    pub fn flush(&mut self, now: Instant, out: &mut Outbox) {
        for lane in self.lanes.values_mut() {
            lane.flush(now, out);
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.lanes.values().filter_map(Lane::deadline).min()
    }

    /// When `interface` may send its next gratuitous ARP (`na`: neighbour
    /// advertisement), once it has sent one (keepalived's `garp_next_time`).
    pub fn next_send(&self, interface: &str, na: bool) -> Option<Instant> {
        self.lanes.get(&(interface.to_string(), na)).map(|l| l.next)
    }

    /// When `interface` last sent a gratuitous ARP (`na`: neighbour advertisement).
    pub fn last_send(&self, interface: &str, na: bool) -> Option<Instant> {
        self.lanes
            .get(&(interface.to_string(), na))
            .map(|l| Instant(l.next.0.saturating_sub(l.interval.as_micros() as u64)))
    }
}
