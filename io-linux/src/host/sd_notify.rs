//! systemd's readiness protocol (sd_notify(3)): datagrams of `KEY=VALUE` lines to the
//! socket `NOTIFY_SOCKET` names, for a `Type=notify` unit such as Debian's
//! keepalived.service. The parent says READY=1 once its children are started,
//! RELOADING=1 (with MONOTONIC_USEC, as `Type=notify-reload` wants) and READY=1 around
//! each reload, STOPPING=1 when it stops, a STATUS= line with each, and WATCHDOG=1 at
//! half of `WATCHDOG_USEC` when the unit sets `WatchdogSec`.
//!
//! keepalived 2.2.7 speaks only when its parent is PID 1 named systemd; here the
//! variable is enough, so the protocol can be tested without systemd, and a
//! supervisor other than systemd can use it too.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use tracing::{debug, warn};

/// The environment variables of the protocol; a child process is started without them,
/// so that only the main process speaks for the service.
pub const VARIABLES: [&str; 3] = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"];

/// The shortest period of WATCHDOG=1: a `WATCHDOG_USEC` of a few microseconds would
/// otherwise have the parent do nothing else.
pub const MIN_WATCHDOG_EVERY: Duration = Duration::from_millis(10);

pub struct SdNotify {
    socket: UnixDatagram,
    to: SocketAddr,
    watchdog: Option<Duration>,
    /// A send has failed and been logged; later failures are only at debug.
    failed: bool,
}

impl SdNotify {
    /// The notifier the environment asks for, if any: `NOTIFY_SOCKET` is a path or, with
    /// a leading `@`, an abstract socket name. `WATCHDOG_USEC` applies unless
    /// `WATCHDOG_PID` names another process (sd_watchdog_enabled(3)).
    pub fn from_env() -> Option<SdNotify> {
        let name = std::env::var_os("NOTIFY_SOCKET")?;
        let name = name.to_str()?;
        let to = match name.strip_prefix('@') {
            Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name.as_bytes()),
            None if name.starts_with('/') => SocketAddr::from_pathname(name),
            None => {
                warn!("NOTIFY_SOCKET={name} is neither a path nor an abstract socket: systemd is not told of our state");
                return None;
            }
        };
        let to = match to {
            Ok(a) => a,
            Err(e) => {
                warn!("NOTIFY_SOCKET={name}: {e}: systemd is not told of our state");
                return None;
            }
        };
        // Non-blocking: a service manager that stops reading must never stall the
        // parent, which supervises the children and stops them in order.
        let socket = match UnixDatagram::unbound().and_then(|s| s.set_nonblocking(true).map(|()| s))
        {
            Ok(s) => s,
            Err(e) => {
                warn!("NOTIFY_SOCKET: cannot open a socket: {e}");
                return None;
            }
        };
        Some(SdNotify {
            socket,
            to,
            watchdog: watchdog_interval(
                std::env::var("WATCHDOG_USEC").ok().as_deref(),
                std::env::var("WATCHDOG_PID").ok().as_deref(),
                std::process::id(),
            ),
            failed: false,
        })
    }

    /// How often to send WATCHDOG=1: half the watchdog's timeout, as sd_watchdog_enabled(3)
    /// advises, but not more often than every [`MIN_WATCHDOG_EVERY`].
    pub fn watchdog_every(&self) -> Option<Duration> {
        self.watchdog.map(|d| (d / 2).max(MIN_WATCHDOG_EVERY))
    }

    pub fn ready(&mut self, status: &str) {
        let msg = format!("READY=1\nMAINPID={}\nSTATUS={status}\n", std::process::id());
        self.send(&msg);
    }

    pub fn reloading(&mut self, status: &str) {
        let msg = format!(
            "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS={status}\n",
            monotonic_usec()
        );
        self.send(&msg);
    }

    pub fn stopping(&mut self, status: &str) {
        self.send(&format!("STOPPING=1\nSTATUS={status}\n"));
    }

    pub fn watchdog(&mut self) {
        self.send("WATCHDOG=1\n");
    }

    fn send(&mut self, msg: &str) {
        match self.socket.send_to_addr(msg.as_bytes(), &self.to) {
            Ok(_) => debug!("sd_notify: {}", msg.trim_end().replace('\n', " ")),
            Err(e) if !self.failed => {
                self.failed = true;
                warn!("sd_notify: cannot send to NOTIFY_SOCKET: {e}");
            }
            Err(e) => debug!("sd_notify: cannot send to NOTIFY_SOCKET: {e}"),
        }
    }
}

/// The watchdog timeout `WATCHDOG_USEC` gives, if it is for process `pid`.
fn watchdog_interval(usec: Option<&str>, for_pid: Option<&str>, pid: u32) -> Option<Duration> {
    if for_pid.is_some_and(|p| p.trim().parse::<u32>().ok() != Some(pid)) {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// CLOCK_MONOTONIC in microseconds, the clock MONOTONIC_USEC is read against.
fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_applies_to_its_own_process_only() {
        let us = 4321;
        assert_eq!(
            watchdog_interval(Some("2000000"), None, us),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            watchdog_interval(Some("2000000"), Some("4321"), us),
            Some(Duration::from_secs(2))
        );
        assert_eq!(watchdog_interval(Some("2000000"), Some("1"), us), None);
        assert_eq!(watchdog_interval(Some("0"), None, us), None);
        assert_eq!(watchdog_interval(Some("soon"), None, us), None);
        assert_eq!(watchdog_interval(None, None, us), None);
    }

    #[test]
    fn messages_reach_the_socket_as_lines() {
        let dir = std::env::temp_dir().join(format!("kars-sdnotify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        let mut n = SdNotify {
            socket: UnixDatagram::unbound().unwrap(),
            to: SocketAddr::from_pathname(&path).unwrap(),
            watchdog: None,
            failed: false,
        };
        let mut buf = [0u8; 512];
        let mut next = || {
            let len = server.recv(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..len]).into_owned()
        };
        n.ready("Running");
        assert_eq!(
            next(),
            format!("READY=1\nMAINPID={}\nSTATUS=Running\n", std::process::id())
        );
        let before = monotonic_usec();
        n.reloading("Reloading");
        let msg = next();
        let usec: u64 = msg
            .lines()
            .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(msg.starts_with("RELOADING=1\n") && usec >= before, "{msg}");
        n.stopping("Stopping");
        assert_eq!(next(), "STOPPING=1\nSTATUS=Stopping\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
