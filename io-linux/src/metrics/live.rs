//! What the children measure as they go, beside the engines' counters: how long
//! takeovers and probes take on this host, and how the kernel took the IPVS changes. The
//! platforms record into these; the query thread encodes them (they are shared handles,
//! so recording never waits for a scrape).

use std::collections::BTreeMap;
use std::time::Duration;

use keepalived_engine::time::Instant;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// The VRRP child's measurements.
#[derive(Debug, Clone)]
pub struct VrrpLive {
    /// Seconds from the moment an instance's takeover was decided (its master-down timer
    /// fell due, or the event that made it master came in) to the moment the host had
    /// carried it out: VIPs added, GARPs and the first advert sent.
    pub takeover: Histogram,
}

impl Default for VrrpLive {
    fn default() -> VrrpLive {
        // 100 µs to about 1.6 s.
        VrrpLive {
            takeover: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
        }
    }
}

/// Follows each takeover from its decision to the end of the burst that carries it out.
#[derive(Debug, Default)]
pub struct Takeovers {
    /// The deadline the loop last slept towards: when the engine wakes on its timer, the
    /// moment its decisions were due.
    due: std::cell::Cell<Option<Instant>>,
    /// Instances become master in the burst being carried out, and when that was decided.
    open: BTreeMap<String, Instant>,
}

impl Takeovers {
    /// The loop is about to sleep until `t`.
    pub fn sleeping_until(&self, t: Instant) {
        self.due.set(Some(t));
    }

    /// `instance` became master at `now`: decided when the timer fell due, or now if the
    /// loop was woken by something else (the timer not yet due).
    pub fn became_master(&mut self, instance: &str, now: Instant) {
        let decided = self.due.get().filter(|d| *d <= now).unwrap_or(now);
        self.open.insert(instance.to_string(), decided);
    }

    /// Every output of the burst has been carried out at `now`.
    pub fn drained(&mut self, now: Instant, into: &Histogram) {
        for (_, decided) in std::mem::take(&mut self.open) {
            let d = Duration::from_micros(now.0.saturating_sub(decided.0));
            into.observe(d.as_secs_f64());
        }
    }
}

/// A probe's labels: the checker's keyword and `up` or `down`.
pub type ProbeLabels = [(&'static str, &'static str); 2];

fn probe_histogram() -> Histogram {
    // 500 µs to about 16 s (connect_timeout's range).
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The checker child's measurements.
#[derive(Debug, Clone)]
pub struct CheckLive {
    /// Seconds each probe took, by checker kind and outcome.
    pub probes: Family<ProbeLabels, Histogram, fn() -> Histogram>,
    /// IPVS changes the kernel took, and those it refused.
    pub ipvs_changes: Counter,
    pub ipvs_errors: Counter,
}

impl Default for CheckLive {
    fn default() -> CheckLive {
        CheckLive {
            probes: Family::new_with_constructor(probe_histogram),
            ipvs_changes: Counter::default(),
            ipvs_errors: Counter::default(),
        }
    }
}

impl CheckLive {
    pub fn probe(&self, checker: &'static str, up: bool, took: Duration) {
        let result = if up { "up" } else { "down" };
        self.probes
            .get_or_create(&[("checker", checker), ("result", result)])
            .observe(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The histogram's count and sum, as a scrape reads them.
    fn count_sum(h: &Histogram) -> (u64, f64) {
        let mut reg = prometheus_client::registry::Registry::default();
        reg.register("t", "t", h.clone());
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &reg).unwrap();
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().parse::<f64>().unwrap())
                .unwrap()
        };
        (value("t_count ") as u64, value("t_sum "))
    }

    #[test]
    fn a_takeover_counts_from_its_due_timer_to_the_end_of_its_burst() {
        let live = VrrpLive::default();
        let mut t = Takeovers::default();
        t.sleeping_until(Instant(1_000_000));
        // Woken 300 µs late, carried out 1.2 ms after it was due.
        t.became_master("VI_1", Instant(1_000_300));
        t.drained(Instant(1_001_200), &live.takeover);
        let (n, sum) = count_sum(&live.takeover);
        assert_eq!(n, 1);
        assert!((sum - 0.0012).abs() < 1e-9, "{sum}");
        // Made master by an event before the timer's deadline: counted from the event.
        t.sleeping_until(Instant(9_000_000));
        t.became_master("VI_2", Instant(2_000_000));
        t.drained(Instant(2_000_500), &live.takeover);
        let (n, sum) = count_sum(&live.takeover);
        assert_eq!(n, 2);
        assert!((sum - 0.0017).abs() < 1e-9, "{sum}");
        // Nothing open: nothing observed.
        t.drained(Instant(3_000_000), &live.takeover);
        assert_eq!(count_sum(&live.takeover).0, 2);
    }
}
