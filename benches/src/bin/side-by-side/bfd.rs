//! BFD detection and recovery: each daemon runs a `vrrp_instance` that tracks a BFD
//! session (min_rx/min_tx 100 ms, multiplier 3: a 300 ms detection time) to a keepalived
//! 2.2.7 BFD peer in the other namespace of a veth pair, and is MASTER alone on the link.
//! Each run drops the peer's BFD packets at its interface's egress (nftables), waits
//! until the instance has left MASTER, lets them through again and waits until it is
//! MASTER again.
//!
//! Both daemons face the same peer, keepalived 2.2.7, so that the only thing that
//! differs between the two columns is the daemon measured: with the two daemons
//! tracking each other every figure would mix both implementations' timers.
//!
//! From a capture on the measured daemon's side of the link (where the dropped packets
//! never appear), per run:
//! - detect: the peer's last BFD packet before the instance's first priority-0 advert,
//!   to that advert (MASTER leaving for FAULT); the bound is the detection time;
//! - down: the same last packet to the daemon's own first BFD Down;
//! - bfd up: the unblocking to the daemon's first BFD Up after it;
//! - master: the unblocking to the instance's first advert with its priority (MASTER
//!   again): the BFD handshake at the slow rate (RFC 5880 §6.8.3: 1 s while not Up),
//!   then VRRP's master-down interval;
//! - via Init: how many runs came back through Init, the peer's slow-rate Down (which
//!   no longer names our discriminator) heard before our second Down reached it, so one
//!   more of the peer's slow-rate packets (its Up) is waited for.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::bfd::{
    adverts_from, bfd_instance, controls_from, start, tracking_instance, DropBfd, Frame,
    LinkCapture, State, MIN_RX_MS, MULTIPLIER,
};
use keepalived_tests::host::{tmp_dir, wait_for, Pair};
use serde_json::{json, Value};

use crate::common::{beside_us, median_worst, Which};
use crate::failover::now;

const NET: u8 = 237;
const VIP: &str = "10.237.0.100";
const VRID: u8 = 237;
const PRIO: u8 = 100;
/// VRRP v3 at 100 ms, so that the master-down interval (3 × 0.1 s + skew) after the
/// session is Up again is small beside the BFD handshake.
const ADVERT_S: f64 = 0.1;

/// One row of the table: its name and the figures it reads from a series.
type Row = (&'static str, fn(&Series) -> &[f64]);

/// The figures of one daemon's runs, in ms.
struct Series {
    which: Which,
    detect_ms: Vec<f64>,
    down_ms: Vec<f64>,
    bfd_up_ms: Vec<f64>,
    /// Runs whose session came back through Init (the peer's Down heard first, RFC 5880
    /// §6.8.6's three-way handshake) rather than straight from Down to Up on the peer's
    /// Init: the former waits for one more of the peer's slow-rate packets.
    via_init: usize,
    master_ms: Vec<f64>,
    failed: usize,
}

impl Series {
    fn key(&self) -> String {
        format!("bfd 100 ms x3 {}", self.which.name())
    }

    fn json(&self) -> Value {
        let stats = |v: &[f64]| {
            let (m, w) = median_worst(v);
            json!({ "samples_ms": v, "median_ms": m, "worst_ms": w })
        };
        json!({
            "key": self.key(),
            "daemon": self.which.name(),
            "min_rx_ms": MIN_RX_MS,
            "multiplier": MULTIPLIER,
            "advert_s": ADVERT_S,
            "detection_time_ms": f64::from(MIN_RX_MS) * f64::from(MULTIPLIER),
            "detect": stats(&self.detect_ms),
            "down": stats(&self.down_ms),
            "bfd_up": stats(&self.bfd_up_ms),
            "via_init": self.via_init,
            "master": stats(&self.master_ms),
            "failed": self.failed,
        })
    }
}

fn binary(which: Which) -> PathBuf {
    match which {
        Which::Ours => beside_us("keepalived-rs"),
        Which::Keepalived => PathBuf::from("keepalived"),
    }
}

/// `n` runs for each daemon, and their Markdown table.
pub fn all(n: usize) -> (Vec<Value>, String) {
    let series: Vec<Series> = Which::BOTH.iter().map(|&w| runs(w, n)).collect();
    let mut md = format!(
        "| BFD, min_rx/min_tx {MIN_RX_MS} ms × {MULTIPLIER} (detection {} ms), {n} runs | keepalived-rs median / worst | keepalived median / worst | ratio of medians |\n|---|---|---|---|\n",
        MIN_RX_MS * u32::from(MULTIPLIER)
    );
    let rows: [Row; 4] = [
        (
            "peer's last packet → priority-0 advert (MASTER leaves)",
            |s| &s.detect_ms,
        ),
        ("peer's last packet → own BFD Down", |s| &s.down_ms),
        ("unblocked → own BFD Up", |s| &s.bfd_up_ms),
        ("unblocked → MASTER again (first advert)", |s| {
            &s.master_ms
        }),
    ];
    for (name, f) in rows {
        let (m0, w0) = median_worst(f(&series[0]));
        let (m1, w1) = median_worst(f(&series[1]));
        let _ = writeln!(
            md,
            "| {name} | {m0:.1} / {w0:.1} ms | {m1:.1} / {w1:.1} ms | {:.2} |",
            m0 / m1
        );
    }
    let _ = writeln!(
        md,
        "| recoveries through Init (a three-way handshake) | {} | {} | |",
        series[0].via_init, series[1].via_init
    );
    let _ = writeln!(
        md,
        "| runs failed | {} | {} | |\n",
        series[0].failed, series[1].failed
    );
    (series.iter().map(Series::json).collect(), md)
}

fn conf(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let _ = std::fs::write(&p, text);
    p
}

/// One daemon's `n` runs against a keepalived 2.2.7 peer.
fn runs(which: Which, n: usize) -> Series {
    let mut s = Series {
        which,
        detect_ms: Vec::new(),
        down_ms: Vec::new(),
        bfd_up_ms: Vec::new(),
        via_init: 0,
        master_ms: Vec::new(),
        failed: 0,
    };
    let dir = tmp_dir(&format!("sbs-bfd-{}", which.name()));
    let pair = Pair::new("kbfd5s", NET);
    let (a, b) = (
        Ipv4Addr::new(192, 168, NET, 1),
        Ipv4Addr::new(192, 168, NET, 2),
    );
    let ours = conf(
        &dir,
        "measured.conf",
        &format!(
            "{}{}",
            bfd_instance("BFD_1", a, b, false),
            tracking_instance(&pair.ifs[0], VRID, PRIO, ADVERT_S, VIP, "BFD_1")
        ),
    );
    let peer = conf(&dir, "peer.conf", &bfd_instance("BFD_1", b, a, false));
    let cap = LinkCapture::start(&pair.ns[0], &pair.ifs[0], &dir.join("link.pcap"));
    let _peer = start(Path::new("keepalived"), &pair.ns[1], &peer, &dir, "peer");
    let measured = start(&binary(which), &pair.ns[0], &ours, &dir, "measured");
    if wait_for(Duration::from_secs(20), || pair.holds(0, VIP)).is_none() {
        eprintln!(
            "{}: never MASTER with the session to the peer; its log:\n{}",
            s.key(),
            measured.log_text()
        );
        s.failed = n;
        return s;
    }
    for k in 0..n {
        // Up at 100 ms for a while: the poll sequence long done.
        std::thread::sleep(Duration::from_secs(1));
        let t_block = now();
        let block = DropBfd::new(&pair.ns[1], &pair.ifs[1]);
        let left = wait_for(Duration::from_secs(5), || !pair.holds(0, VIP));
        // The packets the figures need may reach the capture's file after the VIP goes:
        // the daemon's own Down, for one, may follow its leaving MASTER.
        let mut detected = None;
        if left.is_some() {
            wait_for(Duration::from_secs(3), || {
                detected = detection(&cap.frames(), a, b, t_block);
                detected.is_some()
            });
        }
        drop(block);
        let t_unblock = now();
        let back = wait_for(Duration::from_secs(20), || pair.holds(0, VIP));
        // Likewise its BFD Up, which keepalived 2.2.7 sends at its next slow-rate
        // transmission, after its VRRP instance has heard the session is Up.
        let mut recovered = None;
        if back.is_some() {
            wait_for(Duration::from_secs(3), || {
                recovered = recovery(&cap.frames(), a, t_unblock);
                recovered.is_some()
            });
        }
        let why = if left.is_none() {
            "MASTER did not leave with the peer's BFD packets dropped"
        } else if back.is_none() {
            "not MASTER again once unblocked"
        } else if detected.is_none() {
            "no priority-0 advert, or no Down of its own, in the capture"
        } else {
            "no BFD Up of its own, or no advert as MASTER, in the capture"
        };
        match (detected, recovered) {
            (Some([detect, down]), Some((up, master, via_init))) => {
                s.via_init += usize::from(via_init);
                s.detect_ms.push(detect);
                s.down_ms.push(down);
                s.bfd_up_ms.push(up);
                s.master_ms.push(master);
            }
            _ => {
                s.failed += 1;
                eprintln!("{} run {k}: {why}", s.key());
                if back.is_none()
                    && wait_for(Duration::from_secs(20), || pair.holds(0, VIP)).is_none()
                {
                    s.failed += n - k - 1;
                    return s;
                }
            }
        }
    }
    let (m, w) = median_worst(&s.detect_ms);
    eprintln!(
        "{}: detect median {m:.1} ms, worst {w:.1} ms over {} runs ({} failed)",
        s.key(),
        s.detect_ms.len(),
        s.failed
    );
    s
}

/// [detect, down] in ms: from the peer's last BFD packet before the instance's first
/// priority-0 advert since `t_block`, to that advert and to the daemon's first Down.
fn detection(frames: &[Frame], ours: Ipv4Addr, peer: Ipv4Addr, t_block: f64) -> Option<[f64; 2]> {
    let prio0 = adverts_from(frames, ours)
        .into_iter()
        .find(|v| v.t >= t_block && v.vrid == VRID && v.priority == 0)?
        .t;
    let last = controls_from(frames, peer)
        .into_iter()
        .rfind(|c| c.t <= prio0)?
        .t;
    let down = controls_from(frames, ours)
        .into_iter()
        .find(|c| c.t >= last && c.h.state == State::Down)?
        .t;
    Some([(prio0 - last) * 1000.0, (down - last) * 1000.0])
}

/// (bfd up, master, via Init): from `t_unblock` to the daemon's first BFD Up and to the
/// instance's first advert at its own priority, in ms, and whether the daemon sent Init
/// on the way to Up.
fn recovery(frames: &[Frame], ours: Ipv4Addr, t_unblock: f64) -> Option<(f64, f64, bool)> {
    let sent: Vec<_> = controls_from(frames, ours)
        .into_iter()
        .filter(|c| c.t >= t_unblock)
        .collect();
    let up = sent.iter().find(|c| c.h.state == State::Up)?.t;
    let via_init = sent.iter().any(|c| c.t <= up && c.h.state == State::Init);
    let master = adverts_from(frames, ours)
        .into_iter()
        .find(|v| v.t >= t_unblock && v.vrid == VRID && v.priority == PRIO)?
        .t;
    Some((
        (up - t_unblock) * 1000.0,
        (master - t_unblock) * 1000.0,
        via_init,
    ))
}
