//! The VRRP loop's time: the engine's clock, and a timerfd for its deadlines. tokio's
//! timer wheel fires on the first whole millisecond after a deadline, so a takeover that
//! waits on it lands up to a millisecond past the protocol's bound; a timerfd becomes
//! readable at the deadline itself (within the kernel's 50 µs timer slack), and epoll
//! wakes the loop then.
//!
//! A backup of 1,000 instances moves its earliest deadline with nearly every advert it
//! hears, and a `timerfd_settime` for each would be a thousand syscalls a second. The
//! timer is re-armed only when a deadline comes earlier than the one armed; a later one
//! waits for the armed expiry and re-arms from there, once per down interval at most.

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tracing::warn;

use keepalived_driver::EngineClock;

use crate::host::auto_priority;

/// The engine's clock, and the timer its deadlines are waited on with: the timerfd, or
/// tokio's timer where the timerfd cannot be had.
pub(crate) struct Clock {
    engine: EngineClock,
    timer: Option<PreciseTimer>,
}

impl Clock {
    /// The timerfd is made here, so call it inside the runtime.
    pub(crate) fn new(engine: EngineClock) -> Clock {
        Clock {
            engine,
            timer: PreciseTimer::new()
                .map_err(|e| warn!("timerfd: {e}; timers fall back to tokio's"))
                .ok(),
        }
    }

    pub(crate) fn now(&self) -> keepalived_engine::time::Instant {
        self.engine.now()
    }

    /// How long from now until the engine time `t` (zero if it has passed). A deadline
    /// found already past is a late wake-up (see [`auto_priority`]).
    pub(crate) fn until(&self, t: keepalived_engine::time::Instant) -> Duration {
        let late = self.engine.now().saturating_since(t);
        if !late.is_zero() {
            auto_priority::woke(t.as_micros(), late);
        }
        self.engine.until(t)
    }

    /// Waits `d`. Cancel-safe. A wait that ends past its deadline is a late wake-up:
    /// keepalived's scheduler measures how overdue its earliest timer is each time
    /// epoll returns (`thread_fetch_next_queue()`), which is when this ends.
    pub(crate) fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        let timer = self.timer.clone();
        let engine = self.engine;
        let deadline = engine.now().as_micros() + d.as_micros() as u64;
        async move {
            match timer {
                Some(t) => t.sleep(d).await,
                None => tokio::time::sleep(d).await,
            }
            let late = engine.now().as_micros().saturating_sub(deadline);
            if late > 0 {
                auto_priority::woke(deadline, Duration::from_micros(late));
            }
        }
    }
}

#[derive(Clone)]
pub struct PreciseTimer {
    fd: Rc<AsyncFd<OwnedFd>>,
    /// When the timerfd is armed to expire, until that expiry is read.
    armed: Rc<Cell<Option<Instant>>>,
}

impl PreciseTimer {
    /// A CLOCK_MONOTONIC timerfd registered with the running tokio reactor (call it
    /// inside the runtime).
    pub fn new() -> io::Result<PreciseTimer> {
        // SAFETY: timerfd_create has no pointer arguments; the fd is owned at once.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: `fd` is open and owned by the AsyncFd for its whole life.
        let fd = unsafe { AsyncFd::register(fd) }.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(PreciseTimer {
            fd: Rc::new(fd),
            armed: Rc::new(Cell::new(None)),
        })
    }

    /// Makes sure the timerfd expires no later than `deadline`. Re-arming replaces the
    /// previous arming and its unread expiries (`timerfd_settime` resets the count).
    fn arm_by(&self, deadline: Instant) -> io::Result<()> {
        if self.armed.get().is_some_and(|t| t <= deadline) {
            return Ok(());
        }
        let d = deadline.saturating_duration_since(Instant::now());
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                // A zero it_value disarms, so the shortest wait is 1 ns.
                tv_nsec: libc::c_long::from(d.subsec_nanos().max(u32::from(d.as_secs() == 0))),
            },
        };
        // SAFETY: settime on our own fd with a valid itimerspec and no old-value pointer.
        let r =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if r < 0 {
            self.armed.set(None);
            return Err(io::Error::last_os_error());
        }
        self.armed.set(Some(deadline));
        Ok(())
    }

    /// Waits `d`. Cancel-safe: dropping it leaves the timer armed, and the next call
    /// re-arms it only if it must expire sooner. Falls back to tokio's sleep if the
    /// timerfd fails.
    pub fn sleep(&self, d: Duration) -> impl Future<Output = ()> + 'static {
        let timer = self.clone();
        let deadline = Instant::now() + d;
        async move {
            if d.is_zero() {
                return;
            }
            loop {
                if timer.arm_by(deadline).is_err() {
                    return tokio::time::sleep_until(deadline.into()).await;
                }
                let Ok(mut ready) = timer.fd.readable().await else {
                    return tokio::time::sleep_until(deadline.into()).await;
                };
                let mut count = [0u8; 8];
                // SAFETY: read(2) of 8 bytes into a buffer of 8.
                let n = unsafe {
                    libc::read(timer.fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len())
                };
                if n != 8 {
                    // Readiness left from an earlier arming: nothing to read yet.
                    ready.clear_ready();
                    continue;
                }
                timer.armed.set(None);
                // An expiry armed for an earlier deadline than this one: arm again.
                if Instant::now() >= deadline {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn sleeps_at_least_as_long_as_asked_and_rearms_after_a_drop() {
        runtime().block_on(async {
            let t = PreciseTimer::new().unwrap();
            // Armed, then dropped before it fires: the next sleep must not end early.
            drop(t.sleep(Duration::from_millis(1)));
            tokio::time::sleep(Duration::from_millis(5)).await;
            let start = std::time::Instant::now();
            t.sleep(Duration::from_millis(20)).await;
            assert!(start.elapsed() >= Duration::from_millis(20));
            t.sleep(Duration::ZERO).await;
        });
    }

    #[test]
    fn a_later_deadline_keeps_the_armed_expiry_and_an_earlier_one_replaces_it() {
        use futures::FutureExt;
        runtime().block_on(async {
            let t = PreciseTimer::new().unwrap();
            // Polled once (armed), then dropped, as the VRRP loop does when a packet wins.
            assert!(t.sleep(Duration::from_millis(40)).now_or_never().is_none());
            let first = t.armed.get().expect("armed");
            assert!(t.sleep(Duration::from_millis(400)).now_or_never().is_none());
            assert_eq!(
                t.armed.get(),
                Some(first),
                "a later deadline re-armed the timerfd"
            );
            // The later sleep still lasts its whole length across the earlier expiry.
            let start = std::time::Instant::now();
            t.sleep(Duration::from_millis(80)).await;
            assert!(start.elapsed() >= Duration::from_millis(80));
            assert!(t.sleep(Duration::from_millis(400)).now_or_never().is_none());
            let later = t.armed.get().expect("armed");
            assert!(t.sleep(Duration::from_millis(10)).now_or_never().is_none());
            assert!(
                t.armed.get().expect("armed") < later,
                "an earlier deadline waited"
            );
        });
    }
}
