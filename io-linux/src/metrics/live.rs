//! What the children measure as they go, beside the engines' counters: how long
//! takeovers and probes take on this host, and how the kernel took the IPVS changes. The
//! platforms record into these; the query thread encodes them (they are shared handles,
//! so recording never waits for a scrape).

use std::time::Duration;

use keepalived_engine::time::Instant;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};

/// The VRRP child's measurements.
#[derive(Debug, Clone)]
pub struct VrrpLive {
    /// Seconds from the engine's decision that an instance becomes master to the host
    /// having carried out what comes before that change in its outputs: its VIPs added,
    /// its GARPs and first advert sent.
    pub takeover: Histogram,
    /// Seconds the loop reached a deadline late (busy with a burst, or not scheduled),
    /// each time it did.
    pub timer_late: Histogram,
}

impl Default for VrrpLive {
    fn default() -> VrrpLive {
        // 100 µs to about 1.6 s.
        VrrpLive {
            takeover: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
            timer_late: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
        }
    }
}

impl VrrpLive {
    /// An instance's change to MASTER, decided at `at`, is being carried out at `now`.
    pub fn took_over(&self, at: Instant, now: Instant) {
        let d = Duration::from_micros(now.0.saturating_sub(at.0));
        self.takeover.observe(d.as_secs_f64());
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
    fn a_takeover_counts_from_its_decision() {
        let live = VrrpLive::default();
        live.took_over(Instant(1_000_000), Instant(1_001_200));
        live.took_over(Instant(2_000_000), Instant(2_000_500));
        let (n, sum) = count_sum(&live.takeover);
        assert_eq!(n, 2);
        assert!((sum - 0.0017).abs() < 1e-9, "{sum}");
        // A clock that did not move counts as no time, not as a wrap.
        live.took_over(Instant(5), Instant(3));
        assert_eq!(count_sum(&live.takeover), (3, sum));
    }
}
