//! 1,000 VIPs moving in one takeover, with and without `vrrp_strict`: two routers and a
//! client on one bridged segment, one VRRPv2 instance (advert 1 s) holding 1,000 /32s (or
//! `--vips N`) on the LAN interface. With `vrrp_strict` the backup (priority 100) is not in accept mode,
//! so when it takes over all 1,000 go into the nftables set `ip keepalived vips` first
//! (keepalived's `vrrp_state_become_master()`: advert, firewall, VIPs, then gratuitous
//! ARPs); without it, no firewall is made: that is the baseline.
//!
//! Router 1 is the address owner (priority 255, `state MASTER`, as `vrrp_strict`
//! requires of an owner), so each round it is master as soon as it starts, without a
//! master-down interval; owners are in accept mode, so it makes no drop rules itself. Only
//! router 2 is measured. `garp_master_delay 0`: no second burst of gratuitous ARPs comes
//! 5 s after a takeover, in the middle of the next round.
//!
//! Per failover (SIGKILL with the master's VIPs removed, or SIGTERM), from the client's
//! capture: the decision instant is the old master's last advert plus the master-down
//! interval (SIGKILL), or its priority-0 advert plus the skew time (SIGTERM), as RFC 3768
//! §6.4.2 has the backup decide; the overshoot is the new master's first gratuitous ARP
//! less that instant, as in `failover`.
//!
//! The ruleset is complete at the `NFT_MSG_NEWGEN` that ends the last transaction adding
//! elements to the set: nf_tables sends it to the `NFNLGRP_NFTABLES` group at the end of
//! `nf_tables_commit()`, after the elements' own notifications, still inside the daemon's
//! `send(2)`. A socket of ours in router 2's namespace listens to that group from a thread
//! blocked in `recv(2)` and reads the realtime clock as each message arrives (netlink has
//! no kernel receive timestamp, and this kernel has no `nlmon` to capture one); the
//! client's capture is on the same clock. With a listener present the kernel also builds
//! the notifications, a cost both daemons pay alike. After each takeover router 2 must
//! hold all 1,000 VIPs and, with `vrrp_strict`, its set all 1,000 elements, or the
//! failover counts as failed.

use std::fmt::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use keepalived_tests::host::{in_netns, tmp_dir, wait_for, Capture, Lan, Netns};
use serde_json::{json, Value};

use crate::common::{median_worst, start, usage, Which};
use crate::failover::{now, parse_advert, skew_s, Stop};

/// The segment's 192.168.NET.0/24, and the VIPs' 10.NET.0.0/16.
const NET: u8 = 94;
const VRID: u8 = 94;
/// VIPs by default; keepalived 2.2.7 fills the set from a fixed 8 KiB batch buffer
/// and dies with about 470 or more, so `--vips 400` compares the two.
pub const VIPS: usize = 1000;
const VERSION: u8 = 2;
const ADVERT_S: f64 = 1.0;
/// Router 1 owns the addresses; router 2's priority sets the skew.
const PRIO: [u8; 2] = [255, 100];

/// `<linux/netfilter/nfnetlink.h>` / `<linux/netfilter/nf_tables.h>`.
const NFNLGRP_NFTABLES: u32 = 7;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_NEWSETELEM: u8 = 12;
const NFT_MSG_NEWGEN: u8 = 15;

/// VIP `i` of the 1,000: 10.94.0.1 … 10.94.3.250.
fn vip(i: usize) -> String {
    format!("10.{NET}.{}.{}", i / 250, i % 250 + 1)
}

fn conf(dir: &Path, i: usize, iface: &str, strict: bool, vips: usize) -> PathBuf {
    let p = dir.join(format!("r{}.conf", i + 1));
    let mut text = format!(
        "global_defs {{\n  router_id r{}\n  vrrp_version {VERSION}\n  vrrp_garp_master_delay 0\n{}}}\n\
         vrrp_instance VI_1 {{\n  state {}\n  interface {iface}\n  virtual_router_id {VRID}\n  \
         priority {}\n  advert_int {ADVERT_S}\n  garp_master_delay 0\n  virtual_ipaddress {{\n",
        i + 1,
        if strict { "  vrrp_strict\n" } else { "" },
        if PRIO[i] == 255 { "MASTER" } else { "BACKUP" },
        PRIO[i]
    );
    for v in 0..vips {
        let _ = writeln!(text, "    {}/32", vip(v));
    }
    text.push_str("  }\n}\n");
    let _ = std::fs::write(&p, text);
    p
}

/// How many of the 1,000 VIPs namespace `ns` holds on `dev`.
fn vips_held(ns: &Netns, dev: &str) -> usize {
    let out = ns
        .command("ip")
        .args(["-4", "-o", "addr", "show", "dev", dev])
        .output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let prefix = format!(" 10.{NET}.");
    text.lines().filter(|l| l.contains(&prefix)).count()
}

/// How many elements the set `ip keepalived vips` holds in `ns` (0 without the table).
fn set_elements(ns: &Netns) -> usize {
    let out = ns
        .command("nft")
        .args(["-j", "list", "set", "ip", "keepalived", "vips"])
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        return 0;
    };
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    doc["nftables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["set"]["elem"].as_array())
        .map(Vec::len)
        .sum()
}

/// The first gratuitous ARP for any of the VIPs from `mac` at or after `since`: a line
/// `TIME SRC > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length N: Request who-has VIP
/// tell VIP, length 28`.
fn first_garp(text: &str, mac: &str, since: f64) -> Option<f64> {
    let prefix = format!("10.{NET}.");
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        let t: f64 = w.next()?.parse().ok()?;
        let who = l.split("who-has ").nth(1)?.split_whitespace().next()?;
        let tell = l.split("tell ").nth(1)?.split([' ', ',']).next()?;
        (t >= since && w.next()? == mac && who == tell && who.starts_with(&prefix)).then_some(t)
    })
}

/// nf_tables' notifications in one namespace, each as (realtime of its arrival, message
/// type), from a socket in `NFNLGRP_NFTABLES` read by a thread of its own.
struct NftWatch {
    events: Arc<Mutex<Vec<(f64, u8)>>>,
    /// Datagrams the kernel dropped for want of room (ENOBUFS): events are missing.
    lost: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NftWatch {
    fn start(ns: &Netns) -> NftWatch {
        let fd = in_netns(&ns.name, listener)
            .unwrap_or_else(|e| usage(&format!("cannot listen to nf_tables: {e}")));
        let events = Arc::new(Mutex::new(Vec::new()));
        let lost = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (e, l, s) = (events.clone(), lost.clone(), stop.clone());
        let thread = std::thread::spawn(move || read_events(&fd, &e, &l, &s));
        NftWatch {
            events,
            lost,
            stop,
            thread: Some(thread),
        }
    }

    /// The end of the last transaction at or after `since` that added set elements: the
    /// arrival of the `NFT_MSG_NEWGEN` after the last `NFT_MSG_NEWSETELEM`.
    fn last_commit(&self, since: f64) -> Option<f64> {
        let events = self.events.lock().map(|e| e.clone()).unwrap_or_default();
        let recent: Vec<(f64, u8)> = events.into_iter().filter(|(t, _)| *t >= since).collect();
        let last_elem = recent.iter().rposition(|(_, m)| *m == NFT_MSG_NEWSETELEM)?;
        recent[last_elem..]
            .iter()
            .find(|(_, m)| *m == NFT_MSG_NEWGEN)
            .map(|(t, _)| *t)
    }
}

impl Drop for NftWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A NETLINK_NETFILTER socket in the calling thread's namespace, member of
/// `NFNLGRP_NFTABLES`, with room for a whole takeover's notifications and a 200 ms
/// receive timeout so its reader can notice it should stop.
fn listener() -> std::io::Result<OwnedFd> {
    let err = std::io::Error::last_os_error;
    // SAFETY: socket(2) with constant arguments; the descriptor is owned at once.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_NETFILTER,
        )
    };
    if raw < 0 {
        return Err(err());
    }
    // SAFETY: `raw` is a descriptor we just opened and own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let set = |level: i32, name: i32, v: &[u8]| {
        // SAFETY: setsockopt(2) on our socket with a buffer of its stated length.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                level,
                name,
                v.as_ptr().cast(),
                v.len() as libc::socklen_t,
            )
        };
        if r < 0 {
            Err(err())
        } else {
            Ok(())
        }
    };
    set(
        libc::SOL_SOCKET,
        libc::SO_RCVBUFFORCE,
        &(32i32 << 20).to_ne_bytes(),
    )?;
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: a timeval is plain data; we only read its bytes.
    let tv = unsafe {
        std::slice::from_raw_parts(
            (&timeout as *const libc::timeval).cast::<u8>(),
            std::mem::size_of::<libc::timeval>(),
        )
    };
    set(libc::SOL_SOCKET, libc::SO_RCVTIMEO, tv)?;
    // SAFETY: sockaddr_nl is plain data, valid all zero (pid chosen by the kernel).
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: bind(2) with a sockaddr_nl of its own size.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(err());
    }
    set(
        libc::SOL_NETLINK,
        libc::NETLINK_ADD_MEMBERSHIP,
        &NFNLGRP_NFTABLES.to_ne_bytes(),
    )?;
    Ok(fd)
}

/// Reads `fd` until `stop`, noting each nf_tables message with the time it arrived.
fn read_events(
    fd: &OwnedFd,
    events: &Mutex<Vec<(f64, u8)>>,
    lost: &AtomicUsize,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 1 << 20];
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: recv(2) into our own buffer of its full length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let t = now();
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                lost.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        let mut rest = &buf[..n as usize];
        let mut got = Vec::new();
        // nlmsghdr: length (u32), type (u16), flags, sequence, port; 4-byte aligned.
        while rest.len() >= 16 {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let ty = u16::from_ne_bytes([rest[4], rest[5]]);
            if len < 16 || len > rest.len() {
                break;
            }
            if ty >> 8 == NFNL_SUBSYS_NFTABLES {
                got.push((t, (ty & 0xff) as u8));
            }
            rest = &rest[((len + 3) & !3).min(rest.len())..];
        }
        if let Ok(mut e) = events.lock() {
            e.extend(got);
        }
    }
}

struct Series {
    which: Which,
    strict: bool,
    stop: Stop,
    vips: usize,
    bound_ms: f64,
    overshoot_ms: Vec<f64>,
    /// Decision → ruleset complete (with `vrrp_strict`).
    ruleset_ms: Vec<f64>,
    /// Ruleset complete → first gratuitous ARP.
    rules_to_garp_ms: Vec<f64>,
    failed: usize,
}

impl Series {
    fn key(&self) -> String {
        format!(
            "{} {} {}",
            self.stop.name(),
            if self.strict {
                "vrrp_strict"
            } else {
                "no firewall"
            },
            self.which.name()
        )
    }

    fn json(&self) -> Value {
        let (median, worst) = median_worst(&self.overshoot_ms);
        let (r_median, r_worst) = median_worst(&self.ruleset_ms);
        json!({
            "key": self.key(),
            "daemon": self.which.name(),
            "strict": self.strict,
            "stop": self.stop.name(),
            "vips": self.vips,
            "version": VERSION,
            "advert_s": ADVERT_S,
            "bound_ms": self.bound_ms,
            "overshoot_ms": self.overshoot_ms,
            "median_ms": median,
            "worst_ms": worst,
            "ruleset_ms": self.ruleset_ms,
            "ruleset_median_ms": if self.strict { json!(r_median) } else { Value::Null },
            "ruleset_worst_ms": if self.strict { json!(r_worst) } else { Value::Null },
            "rules_to_garp_ms": self.rules_to_garp_ms,
            "failed": self.failed,
        })
    }
}

/// Every series, and their Markdown table.
pub fn all(n: usize, vips: usize) -> (Vec<Value>, String) {
    let mut results = Vec::new();
    let mut md = format!(
        "| {vips} VIPs in one takeover, v{VERSION} advert {ADVERT_S} s | keepalived-rs median / worst | keepalived median / worst | ratio of medians |\n|---|---|---|---|\n"
    );
    let cell = |v: &[f64], s: &Series| {
        let (m, w) = median_worst(v);
        let failed = if s.failed > 0 {
            format!(" ({} of {} failed)", s.failed, s.failed + v.len())
        } else {
            String::new()
        };
        format!("{m:.2} / {w:.2} ms{failed}")
    };
    for stop in [Stop::Kill, Stop::Term] {
        for strict in [false, true] {
            let row: Vec<Series> = Which::BOTH
                .iter()
                .map(|&which| {
                    let s = failovers(which, strict, stop, n, vips);
                    let (m, w) = median_worst(&s.overshoot_ms);
                    let (rm, rw) = median_worst(&s.ruleset_ms);
                    eprintln!(
                        "strict {}: overshoot median {m:.2} ms, worst {w:.2} ms; decision to ruleset median {rm:.2} ms, worst {rw:.2} ms; {} failovers ({} failed)",
                        s.key(),
                        s.overshoot_ms.len(),
                        s.failed
                    );
                    s
                })
                .collect();
            let ratio = |f: fn(&Series) -> &Vec<f64>| {
                median_worst(f(&row[0])).0 / median_worst(f(&row[1])).0
            };
            let what = if strict { "vrrp_strict" } else { "no firewall" };
            let _ = writeln!(
                md,
                "| {} overshoot, {what} (bound {:.0} ms) | {} | {} | {:.2} |",
                stop.name(),
                row[0].bound_ms,
                cell(&row[0].overshoot_ms, &row[0]),
                cell(&row[1].overshoot_ms, &row[1]),
                ratio(|s| &s.overshoot_ms)
            );
            if strict {
                let _ = writeln!(
                    md,
                    "| {} decision → ruleset complete | {} | {} | {:.2} |",
                    stop.name(),
                    cell(&row[0].ruleset_ms, &row[0]),
                    cell(&row[1].ruleset_ms, &row[1]),
                    ratio(|s| &s.ruleset_ms)
                );
            }
            results.extend(row.iter().map(Series::json));
        }
    }
    md.push('\n');
    (results, md)
}

/// `n` failovers of router 1 to router 2 for one daemon, with or without `vrrp_strict`.
fn failovers(which: Which, strict: bool, stop: Stop, n: usize, vips: usize) -> Series {
    let dir = tmp_dir(&format!(
        "sbs-strict-{}-{vips}-{strict}-{stop:?}",
        which.name()
    ));
    let lan = Lan::new("kstb", NET, 3);
    let macs = [lan.mac(0), lan.mac(1)];
    let confs = [
        conf(&dir, 0, &lan.ifs[0], strict, vips),
        conf(&dir, 1, &lan.ifs[1], strict, vips),
    ];
    let skew = skew_s(VERSION, ADVERT_S, PRIO[1]);
    let bound = match stop {
        Stop::Kill => 3.0 * ADVERT_S + skew,
        Stop::Term => skew,
    };
    let mut s = Series {
        which,
        strict,
        stop,
        vips,
        bound_ms: bound * 1000.0,
        overshoot_ms: Vec::new(),
        ruleset_ms: Vec::new(),
        rules_to_garp_ms: Vec::new(),
        failed: 0,
    };
    let watch = NftWatch::start(&lan.ns[1]);
    let dead = |i: usize| {
        let _ = lan.ns[i]
            .command("ip")
            .args(["addr", "flush", "dev", &lan.ifs[i], "to"])
            .arg(format!("10.{NET}.0.0/16"))
            .output();
    };
    let held = |i: usize| vips_held(&lan.ns[i], &lan.ifs[i]);
    let _r2 = start(which, &lan.ns[1], &confs[1], &dir, "r2", "-P");
    for k in 0..n {
        let key = s.key();
        // A daemon that cannot take over at all (keepalived 2.2.7's VRRP child dies of
        // SIGSEGV filling the set with ~470 or more VIPs) is not tried n times.
        if s.overshoot_ms.is_empty() && s.failed >= 2 {
            eprintln!("strict {key}: the first two failovers failed, giving up");
            break;
        }
        let fail = |s: &mut Series, why: String| {
            s.failed += 1;
            eprintln!("strict {key} run {k}: {why}");
        };
        let r1 = start(which, &lan.ns[0], &confs[0], &dir, &format!("r1-{k}"), "-P");
        // Router 1 is master and router 2 has let go of everything, so the takeover
        // moves all 1,000 and fills an empty set.
        let ready = wait_for(Duration::from_secs(20), || {
            held(0) == vips && held(1) == 0 && set_elements(&lan.ns[1]) == 0
        });
        if ready.is_none() {
            fail(
                &mut s,
                format!(
                    "router 1 never became master alone (router 1 holds {}, router 2 {} and {} set elements)",
                    held(0),
                    held(1),
                    set_elements(&lan.ns[1])
                ),
            );
            drop(r1);
            dead(0);
            continue;
        }
        let cap = Capture::start(
            &lan.ns[2],
            &lan.ifs[2],
            "vrrp or arp",
            &dir.join(format!("client-{k}")),
        );
        // Router 2 hears an advert or two from the new master before it goes.
        std::thread::sleep(Duration::from_secs_f64(ADVERT_S + 0.5));
        let t0 = now();
        match stop {
            Stop::Kill => {
                r1.crash();
                dead(0);
            }
            Stop::Term => r1.signal(libc::SIGTERM),
        }
        // Only the client's capture is read until the first gratuitous ARP: polling
        // router 2's 1,000 addresses would take CPU from the takeover being measured.
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut garp = None;
        while garp.is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            garp = first_garp(&cap.text(), &macs[1], t0);
        }
        let complete = wait_for(Duration::from_secs(15), || {
            held(1) == vips && (!strict || set_elements(&lan.ns[1]) == vips)
        });
        // Time for the capture and the notifications to come in.
        std::thread::sleep(Duration::from_millis(300));
        drop(r1);
        dead(0);
        let Some(garp) = garp else {
            fail(&mut s, "no gratuitous ARP from router 2".into());
            continue;
        };
        if complete.is_none() {
            fail(
                &mut s,
                format!(
                    "router 2 holds {} VIPs and {} set elements, not {vips}",
                    held(1),
                    set_elements(&lan.ns[1])
                ),
            );
            continue;
        }
        let text = cap.text();
        drop(cap);
        let last = text
            .lines()
            .rev()
            .filter_map(parse_advert)
            .filter(|(t, m, p)| {
                *m == macs[0]
                    && *t >= t0 - 2.0 * ADVERT_S - 1.0
                    && *t <= garp
                    && (matches!(stop, Stop::Kill) || *p == 0)
            })
            .map(|(t, _, _)| t)
            .next();
        let Some(last) = last else {
            fail(&mut s, "no last advert from router 1 in the capture".into());
            continue;
        };
        let decision = last + bound;
        let rules = watch.last_commit(t0);
        if strict {
            match rules {
                Some(r) if watch.lost.load(Ordering::Relaxed) == 0 => {
                    s.ruleset_ms.push((r - decision) * 1000.0);
                    s.rules_to_garp_ms.push((garp - r) * 1000.0);
                }
                _ => {
                    fail(
                        &mut s,
                        "no complete record of router 2's nf_tables commit".into(),
                    );
                    continue;
                }
            }
        }
        s.overshoot_ms.push((garp - decision) * 1000.0);
        // Router 1 comes back next round and, as the owner, takes over at once.
    }
    s
}
