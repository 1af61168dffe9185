//! The BFD process's SIGUSR1 dump, `keepalived_bfd.data` (`bfd_print_data()`:
//! `dump_global_data()` then `dump_bfd_data()`), from the BFD data on: the global
//! section is the caller's, as it is the same for every process.
//!
//! The lines are keepalived 2.2.7's (`dump_bfd()` in `bfd_data.c`), in its order. What
//! the engine cannot know comes in a [`DumpHost`]: the wall clock, and the sockets'
//! descriptors. keepalived prints its threads' addresses (`0x%p`); the engine has no
//! threads, so a timer that is not running prints as glibc prints a null pointer,
//! `0x(nil)`, and a running one as `0x0x` and its deadline in hex microseconds. The
//! `sands_*` lines are set only while keepalived reloads, so they always read
//! `[disabled]`.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::time::Instant;
use crate::vrrp::dump::ctime;

use super::session::Session;
use super::Engine;

/// What the dump prints that the engine cannot know.
#[derive(Debug, Clone, Default)]
pub struct DumpHost {
    /// The engine's clock when the dump is made.
    pub now: Instant,
    /// Microseconds since the Unix epoch at `now`.
    pub wall_us: u64,
    /// The local time zone's offset from UTC, in seconds (keepalived's `ctime_r()`).
    pub utc_offset_s: i64,
    /// The listening socket's descriptor (`fd_in`), `None` when it is not open.
    pub fd_in: Option<i32>,
    /// Each session's socket descriptor (`fd_out`) by name; a session not listed
    /// prints -1.
    pub fd_out: Vec<(String, i32)>,
}

impl DumpHost {
    fn wall(&self, t: Instant) -> u64 {
        if t <= self.now {
            self.wall_us
                .saturating_sub((self.now - t).as_micros() as u64)
        } else {
            self.wall_us + (t - self.now).as_micros() as u64
        }
    }
}

/// `0x%p` of a thread: `0x(nil)` when not running.
fn thread(at: Option<Instant>) -> String {
    match at {
        None => "0x(nil)".into(),
        Some(t) => format!("0x0x{:x}", t.as_micros()),
    }
}

/// `inet_sockaddrtos()`.
fn addr(a: &IpAddr) -> String {
    a.to_string()
}

impl Engine {
    /// `dump_bfd_data()` as SIGUSR1 writes it: the BFD data and, when there are
    /// sessions, the topology, one `dump_bfd()` per session.
    pub fn dump_text(&self, host: &DumpHost) -> String {
        let mut s = String::new();
        s.push_str("------< BFD Data >------\n");
        let _ = writeln!(s, " fd_in = {}", host.fd_in.unwrap_or(-1));
        let _ = writeln!(
            s,
            " thread_in = {}",
            if host.fd_in.is_some() && !self.shut_down {
                "0x0x1".to_string()
            } else {
                thread(None)
            }
        );
        if !self.sessions.is_empty() {
            s.push_str("------< BFD Topology >------\n");
            for b in &self.sessions {
                session_text(&mut s, b, host);
            }
        }
        s
    }
}

fn session_text(s: &mut String, b: &Session, host: &DumpHost) {
    let mut w = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    let c = &b.cfg;
    w(format!(" BFD Instance = {}", c.name));
    w(format!("   Neighbor IP = {}", addr(&b.nbr)));
    if let Some(src) = &c.source_ip {
        w(format!("   Source IP = {}", addr(src)));
    }
    w(format!("   Required min RX interval = {} us", b.min_rx()));
    w(format!("   Desired min TX interval = {} us", b.min_tx()));
    w(format!("   Desired idle TX interval = {} us", b.idle_tx()));
    w(format!("   Detection multiplier = {}", c.multiplier));
    w(format!(
        "   {} = {}",
        if b.nbr.is_ipv4() { "TTL" } else { "hoplimit" },
        c.send_ttl()
    ));
    w(format!("   max_hops = {}", c.max_hops));
    w(format!("   passive = {}", c.passive));
    let yes = |v: bool| if v { "Yes" } else { "No" };
    w(format!(
        "   send event to VRRP process = {}",
        yes(c.to_vrrp())
    ));
    w(format!(
        "   send event to checker process = {}",
        yes(c.to_checker())
    ));
    let fd = host
        .fd_out
        .iter()
        .find(|(n, _)| *n == c.name)
        .map_or(-1, |(_, fd)| *fd);
    w(format!("   fd_out {fd}"));
    w(format!("   thread_open_fd_out {}", thread(None)));
    w(format!("   thread_out {}", thread(b.sender)));
    w("   sands_out = [disabled]".into());
    w(format!("   thread_exp {}", thread(b.expire)));
    w("   sands_exp = [disabled]".into());
    w(format!("   thread_rst {}", thread(b.reset)));
    w("   sands_rst = [disabled]".into());
    w("   send error = false".into());
    w(format!("   local state = {}", b.local_state));
    w(format!("   remote state = {}", b.remote_state));
    w(format!("   local discriminator = 0x{:x}", b.local_discr));
    w(format!("   remote discriminator = 0x{:x}", b.remote_discr));
    w(format!("   local diag = {}", b.local_diag));
    w(format!("   remote diag = {}", b.remote_diag));
    w(format!("   remote min tx intv = {} us", b.remote_min_tx));
    w(format!("   remote min rx intv = {} us", b.remote_min_rx));
    w(format!("   local demand = {}", u8::from(b.local_demand)));
    w(format!("   remote demand = {}", u8::from(b.remote_demand)));
    w(format!(
        "   remote detect multiplier = {}",
        b.remote_detect_mult
    ));
    w(format!(
        "   {}poll, {}final",
        if b.poll { "" } else { "!" },
        if b.final_ { "" } else { "!" }
    ));
    w(format!("   local tx intv = {} us", b.local_tx_intv));
    w(format!("   remote tx intv = {} us", b.remote_tx_intv));
    w(format!(
        "   local detection time = {} us",
        b.local_detect_time
    ));
    w(format!(
        "   remote detection time = {} us",
        b.remote_detect_time
    ));
    match b.last_seen {
        None => w("   last_seen = [never]".into()),
        Some(t) => {
            // `%ld.%6.6ld (%.24s.%6.6ld)`: the ctime() text, then the microseconds.
            let wall = host.wall(t);
            let (secs, usec) = (wall / 1_000_000, wall % 1_000_000);
            let c = ctime(secs as i64 + host.utc_offset_s);
            w(format!("   last seen = {secs}.{usec:06} ({c}.{usec:06})"));
        }
    }
}
