//! `max_auto_priority` and `min_auto_priority_delay`: a process whose timers fire late
//! is not being scheduled soon enough, so it moves itself to SCHED_RR, one realtime
//! priority step per late wake-up up to `max_auto_priority` (keepalived's
//! `increment_process_priority()`, called from `thread_fetch_next_queue()` in
//! `scheduler.c` when the earliest timer is more than `min_auto_priority_delay`
//! microseconds overdue). A late wake-up is logged whether or not the priority may rise.
//!
//! The scheduling class is a property of the process, so the state is the process's
//! too: [`configure`] once as the process starts, [`woke`] from its timer.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use keepalived_engine::config::model::GlobalDefs;
use tracing::{info, warn};

/// keepalived's default `min_auto_priority_delay`: one second.
const DEFAULT_MIN_DELAY: Duration = Duration::from_secs(1);

/// What to do about late wake-ups, and where the priority stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoPriority {
    /// The highest SCHED_RR priority to rise to; 0 never rises (`max_auto_priority`
    /// unset, 0 or -1).
    pub max: u32,
    /// How late a wake-up must be to count.
    pub min_delay: Duration,
    /// The process's SCHED_RR priority now; 0 when it is not realtime.
    pub current: u32,
    /// RLIMIT_RTTIME to set when the process first becomes realtime here, in µs
    /// (`vrrp_rlimit_rttime`); 0 sets none.
    pub rlimit_rttime_us: u64,
    /// The deadline last reported late, so one late deadline is counted once.
    last_late: Option<u64>,
}

/// What a late wake-up calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Not late enough to count.
    OnTime,
    /// Late; the priority stays (at its maximum, or not allowed to rise).
    Late,
    /// Late; move to SCHED_RR at this priority.
    RaiseTo(u32),
}

impl AutoPriority {
    /// The VRRP process's settings: `rt_priority` is the realtime priority it was
    /// started with (`vrrp_rt_priority`), if that took.
    pub fn vrrp(g: &GlobalDefs, rt_priority: Option<u32>) -> AutoPriority {
        AutoPriority {
            max: g
                .max_auto_priority
                .map_or(0, |m| u32::try_from(m).unwrap_or(0)),
            min_delay: g
                .min_auto_priority_delay_us
                .map_or(DEFAULT_MIN_DELAY, Duration::from_micros),
            current: rt_priority.unwrap_or(0),
            rlimit_rttime_us: g.vrrp_rlimit_rttime_us,
            last_late: None,
        }
    }

    /// The checker process's: `checker_rt_priority` and `checker_rlimit_rttime`
    /// (`start_check()` passes the same `max_auto_priority` and delay).
    pub fn checker(g: &GlobalDefs, rt_priority: Option<u32>) -> AutoPriority {
        AutoPriority {
            rlimit_rttime_us: g.checker_rlimit_rttime_us,
            ..AutoPriority::vrrp(g, rt_priority)
        }
    }

    /// A timer due at `deadline` (any monotonic count of µs that names it) was acted on
    /// `late`: whether that counts, and what it calls for. `min_rr` is SCHED_RR's lowest
    /// priority (the first step).
    pub fn step(&mut self, deadline: u64, late: Duration, min_rr: u32) -> Step {
        if late <= self.min_delay || self.last_late == Some(deadline) {
            return Step::OnTime;
        }
        self.last_late = Some(deadline);
        if self.max == 0 || self.current >= self.max {
            return Step::Late;
        }
        let next = if self.current == 0 {
            min_rr
        } else {
            self.current + 1
        };
        Step::RaiseTo(next)
    }
}

/// This process's SCHED_RR priority, if it runs under SCHED_RR (as `vrrp_rt_priority`
/// leaves it).
pub fn current_rr() -> Option<u32> {
    // SAFETY: queries about this process; `param` is written by the kernel.
    unsafe {
        if libc::sched_getscheduler(0) & !libc::SCHED_RESET_ON_FORK != libc::SCHED_RR {
            return None;
        }
        let mut param = libc::sched_param { sched_priority: 0 };
        if libc::sched_getparam(0, &mut param) != 0 {
            return None;
        }
        u32::try_from(param.sched_priority).ok()
    }
}

static STATE: Mutex<Option<AutoPriority>> = Mutex::new(None);

/// The deadline a loop without a timer of its own last said it would wait for
/// ([`waiting_for`]).
static WAITING_FOR: Mutex<Option<u64>> = Mutex::new(None);

/// For a loop that sleeps on tokio's timer and asks only how long to wait (the
/// checker's): it is about to wait for `deadline`, and it is `now` (µs on one
/// monotonic clock). The deadline it waited for before, if now past, fired `now −
/// that` late: the loop has just come back from it. A deadline already past is late
/// too.
pub fn waiting_for(deadline: u64, now: u64) {
    let previous = WAITING_FOR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .replace(deadline);
    if let Some(p) = previous.filter(|p| *p < now && *p != deadline) {
        woke(p, Duration::from_micros(now - p));
    }
    if deadline < now {
        woke(deadline, Duration::from_micros(now - deadline));
    }
}

/// SCHED_RR's lowest priority, asked of the kernel once: `woke` runs at every timer the
/// process wakes for.
fn min_rr() -> u32 {
    static MIN_RR: OnceLock<u32> = OnceLock::new();
    // SAFETY: no arguments but the policy.
    *MIN_RR.get_or_init(|| {
        u32::try_from(unsafe { libc::sched_get_priority_min(libc::SCHED_RR) }).unwrap_or(1)
    })
}

/// Sets this process's late wake-up handling; until it is called, late wake-ups are
/// not looked at.
pub fn configure(auto: AutoPriority) {
    *STATE.lock().unwrap_or_else(|e| e.into_inner()) = Some(auto);
}

/// A timer due at `deadline` (µs on the caller's monotonic clock) fired, or was found
/// already due, `late`. Logs a late wake-up and raises the priority a step if it may.
pub fn woke(deadline: u64, late: Duration) {
    let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(auto) = state.as_mut() else {
        return;
    };
    let step = auto.step(deadline, late, min_rr());
    if step == Step::OnTime {
        return;
    }
    info!(
        "A thread timer expired {}.{:06} seconds ago",
        late.as_secs(),
        late.subsec_micros()
    );
    let Step::RaiseTo(priority) = step else {
        return;
    };
    if set_realtime(priority, auto.current == 0, auto.rlimit_rttime_us) {
        auto.current = priority;
        info!("Set realtime priority {priority}");
    }
}

/// `set_process_priorities()` for a realtime priority: SCHED_RR, reset for the
/// processes we fork (scripts run at normal priority), and on first becoming realtime
/// an RLIMIT_RTTIME guard against a busy loop taking a CPU for good.
fn set_realtime(priority: u32, first: bool, rlimit_rttime_us: u64) -> bool {
    let param = libc::sched_param {
        sched_priority: i32::try_from(priority).unwrap_or(i32::MAX),
    };
    // SAFETY: a valid sched_param for this process.
    let r =
        unsafe { libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param) };
    if r != 0 {
        warn!(
            "cannot raise priority to SCHED_RR {priority}: {}",
            std::io::Error::last_os_error()
        );
        return false;
    }
    if first && rlimit_rttime_us > 0 {
        // As tuning.rs sets it for vrrp_rt_priority: soft and hard alike, since the
        // process does not handle SIGXCPU.
        let lim = libc::rlimit {
            rlim_cur: rlimit_rttime_us,
            rlim_max: rlimit_rttime_us,
        };
        // SAFETY: a valid rlimit for this process.
        if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &lim) } != 0 {
            warn!(
                "cannot set RLIMIT_RTTIME: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto(max: u32, current: u32) -> AutoPriority {
        AutoPriority {
            max,
            min_delay: Duration::from_millis(1),
            current,
            rlimit_rttime_us: 10_000,
            last_late: None,
        }
    }

    #[test]
    fn a_late_timer_raises_one_step_from_the_lowest_rr_priority_up_to_the_maximum() {
        let ms = Duration::from_millis;
        let mut a = auto(3, 0);
        assert_eq!(
            a.step(100, ms(1), 1),
            Step::OnTime,
            "exactly the delay is on time"
        );
        assert_eq!(a.step(100, ms(2), 1), Step::RaiseTo(1));
        a.current = 1;
        assert_eq!(
            a.step(100, ms(3), 1),
            Step::OnTime,
            "one deadline counts once"
        );
        assert_eq!(a.step(200, ms(10), 1), Step::RaiseTo(2));
        a.current = 3;
        assert_eq!(a.step(300, ms(10), 1), Step::Late);
    }

    #[test]
    fn without_max_auto_priority_late_timers_are_only_reported() {
        let mut a = auto(0, 0);
        assert_eq!(a.step(7, Duration::from_secs(2), 1), Step::Late);
    }

    #[test]
    fn settings_come_from_global_defs() {
        let mut g = GlobalDefs::default();
        let a = AutoPriority::vrrp(&g, None);
        assert_eq!((a.max, a.min_delay), (0, DEFAULT_MIN_DELAY));
        g.max_auto_priority = Some(-1);
        assert_eq!(AutoPriority::vrrp(&g, None).max, 0);
        g.max_auto_priority = Some(20);
        g.min_auto_priority_delay_us = Some(1000);
        let a = AutoPriority::vrrp(&g, Some(5));
        assert_eq!(
            (a.max, a.min_delay, a.current),
            (20, Duration::from_micros(1000), 5)
        );
    }
}
