//! Failover precision: two routers and a client on one bridged segment; the master is
//! killed (SIGKILL, its VIPs removed as a dead host loses them) or stopped (SIGTERM). The
//! client's capture gives the old master's last advert and the new master's first
//! gratuitous ARP; the time between them less the protocol's bound (master-down interval
//! after SIGKILL, skew time after SIGTERM's priority-0 advert) is the daemon's overshoot.
//!
//! Under load, each router also runs 1,000 other instances (which fail over with the
//! measured one), a checker doing 5,000 TCP checks a second against a listener in its
//! namespace, and a process spins on every core.
//!
//! With `--scrape MS`, keepalived-rs's routers serve `--metrics` and a scraper in each
//! router's namespace reads `/metrics` every MS ms throughout; the rows keep their keys,
//! so `--compare` with a run without it shows what scraping costs a failover.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keepalived_tests::host::{in_netns, tmp_dir, wait_for, Capture, Daemon, Lan};
use serde_json::{json, Value};

use crate::common::{beside_us, median_worst, start, start_with, Links, Which, INSTANCES};

/// `--scrape MS`: how often keepalived-rs's `/metrics` is read during the failovers.
pub static SCRAPE: OnceLock<Duration> = OnceLock::new();

/// Where the routers serve `--metrics`, in their own namespaces.
const METRICS: &str = "127.0.0.1:9650";

/// Reads `/metrics` in some namespaces every `every` until dropped, counting the
/// scrapes that answered 200 and those that did not.
struct Scraper {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Scraper {
    fn start(namespaces: &[&str], every: Duration) -> Scraper {
        let mut s = Scraper {
            stop: Arc::default(),
            ok: Arc::default(),
            failed: Arc::default(),
            threads: Vec::new(),
        };
        for ns in namespaces {
            let (ns, stop) = (ns.to_string(), s.stop.clone());
            let (ok, failed) = (s.ok.clone(), s.failed.clone());
            s.threads.push(std::thread::spawn(move || {
                in_netns(&ns, || {
                    while !stop.load(Ordering::Relaxed) {
                        let n = if scrape_once() { &ok } else { &failed };
                        n.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(every);
                    }
                })
            }));
        }
        s
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        eprintln!(
            "scrapes of /metrics: {} answered, {} not (a router stopped or starting)",
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        );
    }
}

/// One GET /metrics, answered 200.
fn scrape_once() -> bool {
    let Ok(mut s) =
        std::net::TcpStream::connect_timeout(&METRICS.parse().unwrap(), Duration::from_secs(1))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    if s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut out = Vec::new();
    s.read_to_end(&mut out).is_ok() && out.starts_with(b"HTTP/1.1 200")
}

const VIP: &str = "10.93.0.100";
const NET: u8 = 93;
const VRID: u8 = 93;
/// The master's and the backup's priorities; the bound uses the backup's skew.
const PRIO: [u8; 2] = [200, 100];
/// The checker load: 250 virtual servers × 20 real servers, delay_loop 1 s.
const CHECK_VS: usize = 250;
const CHECK_RS: usize = 20;
const CHECK_PORT: u16 = 18080;

#[derive(Clone, Copy, Debug)]
pub enum Stop {
    Kill,
    Term,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Kill => "SIGKILL",
            Stop::Term => "SIGTERM",
        }
    }
}

/// The (VRRP version, advert interval in seconds) of each failover row.
pub const ADVERTS: [(u8, f64); 4] = [(2, 1.0), (3, 1.0), (3, 0.1), (3, 0.03)];

/// Every failover series, idle or under load, of every interval or only `advert`, and
/// their Markdown table.
pub fn all(n: usize, load: bool, advert: Option<f64>) -> (Vec<Value>, String) {
    let mut results = Vec::new();
    let mut md = format!(
        "| failover{} | advert | bound | keepalived-rs overshoot median / worst | keepalived overshoot median / worst | ratio of medians |\n|---|---|---|---|---|---|\n",
        if load { " under load" } else { ", idle" }
    );
    let rows = ADVERTS
        .iter()
        .filter(|(_, a)| advert.is_none_or(|x| x == *a));
    for &(version, advert) in rows {
        for stop in [Stop::Kill, Stop::Term] {
            let row: Vec<Series> = Which::BOTH
                .iter()
                .map(|&which| {
                    let r = failovers(which, version, advert, stop, n, load);
                    let (median, worst) = median_worst(&r.overshoot_ms);
                    eprintln!(
                        "{}: overshoot median {median:.2} ms, worst {worst:.2} ms over {} failovers ({} failed)",
                        r.key(),
                        r.overshoot_ms.len(),
                        r.failed
                    );
                    r
                })
                .collect();
            let (m0, w0) = median_worst(&row[0].overshoot_ms);
            let (m1, w1) = median_worst(&row[1].overshoot_ms);
            let _ = writeln!(
                md,
                "| {} v{version} | {advert} s | {:.1} ms | {m0:.2} / {w0:.2} ms | {m1:.2} / {w1:.2} ms | {:.2} |",
                stop.name(),
                row[0].bound_ms,
                m0 / m1
            );
            results.extend(row.iter().map(Series::json));
        }
    }
    md.push('\n');
    (results, md)
}

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// RFC 3768 §6.1 / RFC 5798 §6.1: v2 skew is (256 − p)/256 s whatever the interval, v3
/// scales it by the advert interval.
pub fn skew_s(version: u8, advert: f64, prio: u8) -> f64 {
    let f = f64::from(256 - u16::from(prio)) / 256.0;
    if version == 2 {
        f
    } else {
        f * advert
    }
}

struct Series {
    which: Which,
    version: u8,
    advert: f64,
    stop: Stop,
    load: bool,
    bound_ms: f64,
    overshoot_ms: Vec<f64>,
    failed: usize,
}

impl Series {
    /// The series' name, the same in every run, so runs can be compared.
    fn key(&self) -> String {
        format!(
            "{} {} v{} {} s {}",
            if self.load { "load" } else { "idle" },
            self.stop.name(),
            self.version,
            self.advert,
            self.which.name()
        )
    }

    fn json(&self) -> Value {
        let (median, worst) = median_worst(&self.overshoot_ms);
        json!({
            "key": self.key(),
            "daemon": self.which.name(),
            "load": self.load,
            "version": self.version,
            "advert_s": self.advert,
            "stop": self.stop.name(),
            "bound_ms": self.bound_ms,
            "overshoot_ms": self.overshoot_ms,
            "median_ms": median,
            "worst_ms": worst,
            "failed": self.failed,
        })
    }
}

fn conf(dir: &Path, i: usize, iface: &str, version: u8, advert: f64, extra: &str) -> PathBuf {
    let p = dir.join(format!("r{}.conf", i + 1));
    let text = format!(
        "global_defs {{\n  router_id r{}\n  vrrp_version {version}\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface {iface}\n  virtual_router_id {VRID}\n  \
         priority {}\n  advert_int {advert}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n{extra}",
        i + 1,
        PRIO[i]
    );
    let _ = std::fs::write(&p, text);
    p
}

/// A VRRP advert line of `tcpdump -e -tt`: (time, source MAC, priority).
pub fn parse_advert(line: &str) -> Option<(f64, String, u8)> {
    if !line.contains("VRRP") || !line.contains("Advertisement") {
        return None;
    }
    let mut w = line.split_whitespace();
    let t = w.next()?.parse().ok()?;
    let mac = w.next()?.to_string();
    let prio = line
        .split("prio ")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    Some((t, mac, prio))
}

/// The busy side of the failover-under-load runs, the same for both daemons. The checker
/// is keepalived-rs's (`-C`) for both, because keepalived 2.2.7's checker exits on a
/// kernel without IPVS.
struct Load {
    _checkers: Vec<Daemon>,
    _listeners: Vec<Daemon>,
    _hogs: Vec<Daemon>,
}

impl Load {
    fn start(lan: &Lan, dir: &Path) -> Load {
        let check = dir.join("check.conf");
        let text =
            keepalived_benches::loopback_check_config(CHECK_VS, CHECK_RS, CHECK_PORT, None, 1)
                .unwrap_or_default();
        let _ = std::fs::write(&check, text);
        let listener = beside_us("accept-listener");
        let port = CHECK_PORT.to_string();
        let mut load = Load {
            _checkers: Vec::new(),
            _listeners: Vec::new(),
            _hogs: Vec::new(),
        };
        for i in 0..2 {
            let ns = &lan.ns[i];
            load._listeners.push(Daemon::start(
                ns,
                &listener,
                &[&port],
                dir.join(format!("listener{i}.log")),
            ));
            let tag = format!("checker{i}");
            load._checkers
                .push(start(Which::Ours, ns, &check, dir, &tag, "-C"));
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..cores {
            load._hogs.push(Daemon::start(
                &lan.ns[2],
                Path::new("sh"),
                &["-c", "while :; do :; done"],
                dir.join(format!("hog{i}.log")),
            ));
        }
        load
    }
}

/// `n` failovers of router 1 to router 2 for one daemon, interval and stop, idle or
/// under load.
fn failovers(which: Which, version: u8, advert_s: f64, stop: Stop, n: usize, load: bool) -> Series {
    let dir = tmp_dir(&format!(
        "sbs-{}-{version}-{advert_s}-{stop:?}-{}",
        which.name(),
        if load { "load" } else { "idle" }
    ));
    let lan = Lan::new("sb", NET, 3);
    let macs = [lan.mac(0), lan.mac(1)];
    let links = load.then(|| Links::new([&lan.ns[0], &lan.ns[1]], "sl"));
    let extra = |i: usize| {
        links
            .as_ref()
            .map_or(String::new(), |l| l.instances(i, PRIO[i]))
    };
    let confs = [
        conf(&dir, 0, &lan.ifs[0], version, advert_s, &extra(0)),
        conf(&dir, 1, &lan.ifs[1], version, advert_s, &extra(1)),
    ];
    let _load = load.then(|| Load::start(&lan, &dir));
    let cap = Capture::start(&lan.ns[2], &lan.ifs[2], "vrrp or arp", &dir.join("client"));
    let master_down = 3.0 * advert_s + skew_s(version, advert_s, PRIO[1]);
    let bound = match stop {
        Stop::Kill => master_down,
        Stop::Term => skew_s(version, advert_s, PRIO[1]),
    };
    let mut s = Series {
        which,
        version,
        advert: advert_s,
        stop,
        load,
        bound_ms: bound * 1000.0,
        overshoot_ms: Vec::new(),
        failed: 0,
    };
    // Once router 1 is master, router 2 need only have heard it: its master-down timer
    // then restarts with every advert.
    let settle = Duration::from_secs_f64(2.0 * advert_s + 0.5);
    let dead = |i: usize| {
        lan.drop_address(i, VIP);
        if let Some(l) = &links {
            l.drop_vips(i);
        }
    };
    let scrape = SCRAPE.get().filter(|_| which == Which::Ours);
    let extra: &[&str] = if scrape.is_some() {
        &["--metrics", METRICS]
    } else {
        &[]
    };
    let _r2 = start_with(which, &lan.ns[1], &confs[1], &dir, "r2", "-P", extra);
    let _scraper = scrape.map(|every| Scraper::start(&[&lan.ns[0].name, &lan.ns[1].name], *every));
    for k in 0..n {
        let r1 = start_with(
            which,
            &lan.ns[0],
            &confs[0],
            &dir,
            &format!("r1-{k}"),
            "-P",
            extra,
        );
        let up = wait_for(Duration::from_secs(15), || lan.holders(VIP) == [0]).and_then(|_| {
            // Under load, the other 1,000 come back to router 1 before it is stopped.
            let all = || links.as_ref().is_none_or(|l| l.vips(0) == INSTANCES);
            wait_for(Duration::from_secs(30), all)
        });
        if up.is_none() {
            s.failed += 1;
            eprintln!("{}: router 1 never became master (run {k})", s.key());
            drop(r1);
            dead(0);
            continue;
        }
        std::thread::sleep(settle);
        let t0 = now();
        match stop {
            Stop::Kill => {
                r1.crash();
                dead(0);
            }
            Stop::Term => r1.signal(libc::SIGTERM),
        }
        let took = wait_for(Duration::from_secs(15), || lan.holders(VIP) == [1]);
        // Time for the capture to reach its file.
        std::thread::sleep(Duration::from_millis(300));
        drop(r1);
        dead(0);
        if took.is_none() {
            s.failed += 1;
            eprintln!("{}: router 2 never took over (run {k})", s.key());
            continue;
        }
        let text = cap.text();
        let garp = cap
            .garps(VIP, t0)
            .into_iter()
            .find(|(_, m)| *m == macs[1])
            .map(|(t, _)| t);
        let last = text
            .lines()
            .rev()
            .filter_map(parse_advert)
            .filter(|(t, m, p)| {
                *m == macs[0]
                    && *t >= t0 - 2.0 * advert_s - 1.0
                    && garp.is_some_and(|g| *t <= g)
                    && (matches!(stop, Stop::Kill) || *p == 0)
            })
            .map(|(t, _, _)| t)
            .next();
        match (last, garp) {
            (Some(a), Some(g)) => s.overshoot_ms.push((g - a - bound) * 1000.0),
            _ => {
                s.failed += 1;
                eprintln!(
                    "{} run {k}: no {} in the capture",
                    s.key(),
                    if garp.is_none() {
                        "GARP from router 2"
                    } else {
                        "last advert from router 1"
                    }
                );
            }
        }
        // Router 2 is master now; router 1 comes back next round and preempts.
    }
    s
}
