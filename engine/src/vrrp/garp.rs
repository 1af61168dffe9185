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
    /// Each interface's GARP lane and NA lane ([`lane_index`]), from its first frame of
    /// that kind. Keyed by the name alone, so that a frame finds its lane without a copy
    /// of its interface's name: a takeover sends `garp_master_repeat` frames a VIP.
    lanes: BTreeMap<String, [Option<Lane>; 2]>,
}

/// Where an interface's lane for GARPs (`na` false) or NAs (`na` true) is.
fn lane_index(na: bool) -> usize {
    usize::from(na)
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
            Output::SendGratuitousArp { interface, .. } => (interface, false),
            Output::SendNeighborAdvert { interface, .. } => (interface, true),
            _ => {
                out.push_back(frame);
                return;
            }
        };
        let (arp_i, na_i) = self
            .per_if
            .get(interface.as_str())
            .copied()
            .unwrap_or((None, None));
        let interval = if na {
            na_i.unwrap_or(self.default_na)
        } else {
            arp_i.unwrap_or(self.default_arp)
        };
        let slots = match self.lanes.get_mut(interface.as_str()) {
            Some(slots) => slots,
            None => self.lanes.entry(interface.clone()).or_default(),
        };
        let lane = slots[lane_index(na)].get_or_insert_with(Lane::default);
        lane.interval = interval;
        lane.send(now, frame, out);
    }

    pub fn flush(&mut self, now: Instant, out: &mut Outbox) {
        for lane in self.lanes.values_mut().flatten().flatten() {
            lane.flush(now, out);
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.lanes
            .values()
            .flatten()
            .flatten()
            .filter_map(Lane::deadline)
            .min()
    }

    /// When `interface` may send its next gratuitous ARP (`na`: neighbour
    /// advertisement), once it has sent one (keepalived's `garp_next_time`).
    pub fn next_send(&self, interface: &str, na: bool) -> Option<Instant> {
        self.lane(interface, na).map(|l| l.next)
    }

    /// When `interface` last sent a gratuitous ARP (`na`: neighbour advertisement).
    pub fn last_send(&self, interface: &str, na: bool) -> Option<Instant> {
        self.lane(interface, na)
            .map(|l| Instant(l.next.0.saturating_sub(l.interval.as_micros() as u64)))
    }

    fn lane(&self, interface: &str, na: bool) -> Option<&Lane> {
        self.lanes.get(interface)?[lane_index(na)].as_ref()
    }
}
