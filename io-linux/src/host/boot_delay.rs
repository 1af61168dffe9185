//! `vrrp_delay_after_boot SECS` (keepalived 2.3, `vrrp_delay_after_boot_handler()`): the
//! VRRP process holds its instances as `vrrp_startup_delay` does, until the host has been
//! up SECS, read from /proc/uptime when the VRRP process starts. With both keywords the
//! longer wait is taken.

use keepalived_engine::config::model::GlobalDefs;

/// The startup delay (µs) for a host up `uptime_us`: `vrrp_startup_delay`, or what is
/// left of `vrrp_delay_after_boot`, whichever is longer.
pub fn startup_delay_us(g: &GlobalDefs, uptime_us: Option<u64>) -> u64 {
    let after_boot = match uptime_us {
        Some(up) => g.vrrp_delay_after_boot_us.saturating_sub(up),
        None => 0,
    };
    g.vrrp_startup_delay_us.max(after_boot)
}

/// How long the host has been up (µs), from /proc/uptime; None if it cannot be read,
/// when keepalived ignores `vrrp_delay_after_boot` with a warning.
pub fn uptime_us() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/uptime").ok()?;
    let secs: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some((secs * 1e6) as u64)
}

/// [`startup_delay_us`] for this host now, said in the log when it delays the start.
pub fn vrrp_startup_delay_us(g: &GlobalDefs) -> u64 {
    if g.vrrp_delay_after_boot_us == 0 {
        return g.vrrp_startup_delay_us;
    }
    let uptime = uptime_us();
    if uptime.is_none() {
        tracing::warn!("Unable to read /proc/uptime for vrrp_delay_after_boot - ignoring");
    }
    let delay = startup_delay_us(g, uptime);
    if delay > g.vrrp_startup_delay_us {
        tracing::info!(
            "vrrp_delay_after_boot: delaying startup for {:.3} seconds",
            delay as f64 / 1e6
        );
    }
    delay
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longer_of_the_two_delays_counts() {
        let mut g = GlobalDefs {
            vrrp_delay_after_boot_us: 120_000_000,
            ..GlobalDefs::default()
        };
        assert_eq!(startup_delay_us(&g, Some(100_000_000)), 20_000_000);
        assert_eq!(startup_delay_us(&g, Some(300_000_000)), 0);
        g.vrrp_startup_delay_us = 30_000_000;
        assert_eq!(startup_delay_us(&g, Some(100_000_000)), 30_000_000);
        assert_eq!(startup_delay_us(&g, Some(10_000_000)), 110_000_000);
        assert_eq!(startup_delay_us(&g, None), 30_000_000);
        assert!(uptime_us().is_some_and(|u| u > 0));
    }
}
