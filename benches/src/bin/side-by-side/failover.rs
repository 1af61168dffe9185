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
//!
//! With `--snmp-walk MS`, both daemons' routers run as AgentX sub-agents (`-x -A
//! unix:SOCK`, which serves all three VRRP MIBs in both) of an snmpd in their namespace,
//! and a walker there walks KEEPALIVED-MIB, RFC 2787's VRRP-MIB and RFC 6527's VRRPV3-MIB
//! through snmpd every MS ms throughout (SNMPv2c GetBulk, as `snmpbulkwalk` does); the
//! rows keep their keys, so `--compare` with a run without it shows what serving SNMP
//! costs a failover.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use keepalived_tests::host::{in_netns, tmp_dir, wait_for, Capture, Daemon, Lan, Netns};
use serde_json::{json, Value};

use crate::common::{beside_us, median_worst, start, start_with, Links, Which, INSTANCES, LINKS};

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

/// `--snmp-walk MS`: how often the VRRP MIBs are walked through snmpd during the
/// failovers.
pub static SNMP_WALK: OnceLock<Duration> = OnceLock::new();

/// Where snmpd answers SNMPv2c (community `public`), in each router's namespace.
const SNMP_AGENT: &str = "127.0.0.1:1161";

/// KEEPALIVED-MIB's global scalars and VRRP tables (`.1`, `.2` of
/// `.1.3.6.1.4.1.9586.100.5`), RFC 2787's VRRP-MIB and RFC 6527's VRRPV3-MIB: the
/// subtrees walked, KEEPALIVED-MIB as one walk.
const KEEPALIVED_MIB: &[u32] = &[1, 3, 6, 1, 4, 1, 9586, 100, 5];
const KEEPALIVED_VRRP: &[u32] = &[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2];
const RFC2787: &[u32] = &[1, 3, 6, 1, 2, 1, 68];
const RFC6527: &[u32] = &[1, 3, 6, 1, 2, 1, 207];

/// Objects asked for in one GetBulk, `snmpbulkwalk`'s default.
const MAX_REPETITIONS: i64 = 10;

/// snmpd as the AgentX master agent in a router's namespace, listening on `<tag>.sock`
/// and answering SNMPv2c on [`SNMP_AGENT`]; stopped and its socket removed when dropped.
struct Snmpd {
    daemon: Option<Daemon>,
    sock: PathBuf,
}

impl Snmpd {
    /// Starts snmpd and waits for its AgentX socket, so that a daemon started next
    /// connects as it starts rather than at a later retry.
    fn start(ns: &Netns, dir: &Path, tag: &str) -> Snmpd {
        let sock = dir.join(format!("{tag}.sock"));
        let _ = std::fs::remove_file(&sock);
        let conf = dir.join(format!("{tag}.conf"));
        let _ = std::fs::write(
            &conf,
            format!(
                "master agentx\nagentXSocket unix:{}\nagentaddress udp:{SNMP_AGENT}\nrocommunity public 127.0.0.1\n",
                sock.display()
            ),
        );
        // Its persistent state in `dir`, not in /var/lib/snmp; no MIB files to load.
        let persist = dir.join(format!("{tag}-persist"));
        let _ = std::fs::create_dir_all(&persist);
        let daemon = Daemon::start_with_env(
            ns,
            Path::new("snmpd"),
            &["-f", "-Lo", "-C", "-c", &conf.display().to_string()],
            &[("SNMP_PERSISTENT_DIR", &persist), ("MIBS", Path::new(""))],
            dir.join(format!("{tag}.log")),
        );
        let snmpd = Snmpd {
            daemon: Some(daemon),
            sock,
        };
        if wait_for(Duration::from_secs(10), || snmpd.sock.exists()).is_none() {
            let log = snmpd.daemon.as_ref().map(Daemon::log_text);
            panic!(
                "snmpd did not open {} in {}: {}",
                snmpd.sock.display(),
                ns.name,
                log.unwrap_or_default()
            );
        }
        snmpd
    }

    /// The daemons' `-x -A` arguments for this snmpd.
    fn args(&self) -> [String; 3] {
        [
            "-x".into(),
            "-A".into(),
            format!("unix:{}", self.sock.display()),
        ]
    }
}

impl Drop for Snmpd {
    fn drop(&mut self) {
        drop(self.daemon.take());
        let _ = std::fs::remove_file(&self.sock);
    }
}

/// What one namespace's walker counted.
#[derive(Default)]
struct Walks {
    /// Walks that snmpd answered throughout and in which the daemon's KEEPALIVED-MIB
    /// objects were.
    ok: usize,
    /// Walks with a request unanswered within 1 s, or without the daemon's objects.
    failed: usize,
    /// The objects of the last answered walk: KEEPALIVED-MIB (its VRRP tables among
    /// them), RFC 2787, RFC 6527.
    last: [usize; 4],
}

/// Walks the VRRP MIBs through snmpd in some namespaces every `every` until dropped.
struct Walker {
    stop: Arc<AtomicBool>,
    threads: Vec<(String, std::thread::JoinHandle<Walks>)>,
}

impl Walker {
    fn start(namespaces: &[&str], every: Duration) -> Walker {
        let stop: Arc<AtomicBool> = Arc::default();
        let threads = namespaces
            .iter()
            .map(|ns| {
                let (name, stop) = (ns.to_string(), stop.clone());
                let thread = std::thread::spawn(move || {
                    in_netns(&name, || {
                        let mut walks = Walks::default();
                        let Some(mut snmp) = SnmpClient::new() else {
                            return walks;
                        };
                        let mut next = Instant::now();
                        while !stop.load(Ordering::Relaxed) {
                            match snmp.walk_all().filter(|c| c[0] > 0) {
                                Some(c) => {
                                    walks.ok += 1;
                                    walks.last = c;
                                }
                                None => walks.failed += 1,
                            }
                            // Every `every` from the first walk on, or at once after a
                            // walk that took longer.
                            next += every;
                            let now = Instant::now();
                            match next.checked_duration_since(now) {
                                Some(wait) => std::thread::sleep(wait),
                                None => next = now,
                            }
                        }
                        walks
                    })
                });
                (ns.to_string(), thread)
            })
            .collect();
        Walker { stop, threads }
    }
}

impl Drop for Walker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for (ns, t) in self.threads.drain(..) {
            let w = t.join().unwrap_or_default();
            eprintln!(
                "SNMP walks in {ns}: {} answered (the last: {} objects of KEEPALIVED-MIB, {} of them its VRRP tables; {} of RFC 2787; {} of RFC 6527), {} not (a router stopped or starting)",
                w.ok, w.last[0], w.last[1], w.last[2], w.last[3], w.failed
            );
        }
    }
}

/// An SNMPv2c client of the snmpd in this thread's namespace: GetBulk walks, one
/// request at a time, 1 s for each answer and no retry (`snmpwalk -t 1 -r 0`).
struct SnmpClient {
    sock: UdpSocket,
    id: i64,
    buf: Vec<u8>,
}

impl SnmpClient {
    fn new() -> Option<SnmpClient> {
        let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
        sock.connect(SNMP_AGENT).ok()?;
        sock.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        Some(SnmpClient {
            sock,
            id: 0,
            buf: vec![0; 65_536],
        })
    }

    /// The objects of KEEPALIVED-MIB, of its VRRP tables, of RFC 2787 and of RFC 6527;
    /// `None` if a request went unanswered.
    fn walk_all(&mut self) -> Option<[usize; 4]> {
        let keepalived = self.walk(KEEPALIVED_MIB)?;
        let vrrp = keepalived
            .iter()
            .filter(|o| o.starts_with(KEEPALIVED_VRRP))
            .count();
        Some([
            keepalived.len(),
            vrrp,
            self.walk(RFC2787)?.len(),
            self.walk(RFC6527)?.len(),
        ])
    }

    /// The names of every object under `root`, in order: GetBulk from `root`, then from
    /// the last name answered, until a name outside `root` or endOfMibView (RFC 3416
    /// §4.2.3); `None` if a request went unanswered or was refused.
    fn walk(&mut self, root: &[u32]) -> Option<Vec<Vec<u32>>> {
        let mut names: Vec<Vec<u32>> = Vec::new();
        loop {
            let from = names.last().map_or(root, Vec::as_slice).to_vec();
            self.id = self.id % i64::from(i32::MAX) + 1;
            let request = get_bulk(self.id, &from);
            self.sock.send(&request).ok()?;
            let bindings = loop {
                let n = self.sock.recv(&mut self.buf).ok()?;
                // An answer to an earlier request that timed out is skipped.
                if let Some(r) = response(&self.buf[..n], self.id) {
                    break r?;
                }
            };
            if bindings.is_empty() {
                return Some(names);
            }
            for (name, tag) in bindings {
                // endOfMibView, or past the subtree: done. A name not after the one
                // asked from would make the walk loop, as snmpwalk's "OID not
                // increasing" says.
                if tag == END_OF_MIB_VIEW || !name.starts_with(root) {
                    return Some(names);
                }
                if name.as_slice() <= names.last().map_or(from.as_slice(), Vec::as_slice) {
                    return None;
                }
                names.push(name);
            }
        }
    }
}

/// BER tags of RFC 3416's PDUs and of the values an object may have instead of one.
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OBJECT_IDENTIFIER: u8 = 0x06;
const GET_BULK: u8 = 0xa5;
const RESPONSE: u8 = 0xa2;
const END_OF_MIB_VIEW: u8 = 0x82;

/// `tag`, its definite length (short or long form, X.690 §8.1.3) and `content`.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// An INTEGER in the fewest two's-complement octets (X.690 §8.3).
fn integer(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7
        && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
            || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
    {
        start += 1;
    }
    tlv(INTEGER, &bytes[start..])
}

/// An OBJECT IDENTIFIER: the first two arcs in one subidentifier, each in base 128 with
/// the high bit on all octets but the last (X.690 §8.19).
fn object_identifier(oid: &[u32]) -> Vec<u8> {
    let mut content = Vec::new();
    let first = oid.first().copied().unwrap_or(0) * 40 + oid.get(1).copied().unwrap_or(0);
    for &arc in std::iter::once(&first).chain(oid.iter().skip(2)) {
        let mut septets = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            septets.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        content.extend(septets.iter().rev());
    }
    tlv(OBJECT_IDENTIFIER, &content)
}

/// An SNMPv2c GetBulkRequest (RFC 3416 §4.2.3; RFC 1901's message, version 1) for the
/// objects after `from`, community `public`.
fn get_bulk(id: i64, from: &[u32]) -> Vec<u8> {
    let binding = tlv(
        SEQUENCE,
        &[object_identifier(from), tlv(NULL, &[])].concat(),
    );
    let pdu = [
        integer(id),
        integer(0),
        integer(MAX_REPETITIONS),
        tlv(SEQUENCE, &binding),
    ]
    .concat();
    let message = [
        integer(1),
        tlv(OCTET_STRING, b"public"),
        tlv(GET_BULK, &pdu),
    ]
    .concat();
    tlv(SEQUENCE, &message)
}

/// The first TLV of `buf`: its tag, its content and what follows it.
fn read_tlv(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = buf.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |a, b| a << 8 | usize::from(*b));
        rest = &rest[n..];
        len
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn read_integer(buf: &[u8]) -> Option<(i64, &[u8])> {
    let (tag, c, rest) = read_tlv(buf)?;
    if tag != INTEGER || c.is_empty() || c.len() > 8 {
        return None;
    }
    let v = c
        .iter()
        .fold(i64::from(c[0] as i8) >> 8, |a, b| a << 8 | i64::from(*b));
    Some((v, rest))
}

fn read_object_identifier(c: &[u8]) -> Option<Vec<u32>> {
    let mut arcs = Vec::new();
    let mut v: u32 = 0;
    for &b in c {
        v = v.checked_mul(128)? | u32::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.extend([first, v - first * 40]);
            } else {
                arcs.push(v);
            }
            v = 0;
        }
    }
    Some(arcs)
}

/// A Response's variable bindings: each object's name and its value's tag.
type Bindings = Vec<(Vec<u32>, u8)>;

/// The variable bindings of the Response to request `id` in `buf`: `None` if `buf` is
/// not that Response, `Some(None)` if it reports an error.
fn response(buf: &[u8], id: i64) -> Option<Option<Bindings>> {
    let (tag, message, _) = read_tlv(buf)?;
    if tag != SEQUENCE {
        return None;
    }
    let (_version, rest) = read_integer(message)?;
    let (_community, _, rest) = read_tlv(rest)?;
    let (tag, pdu, _) = read_tlv(rest)?;
    let (request, rest) = read_integer(pdu)?;
    if tag != RESPONSE || request != id {
        return None;
    }
    let (status, rest) = read_integer(rest)?;
    let (_index, rest) = read_integer(rest)?;
    if status != 0 {
        return Some(None);
    }
    let (_, mut list, _) = read_tlv(rest)?;
    let mut bindings = Vec::new();
    while !list.is_empty() {
        let (_, binding, rest) = read_tlv(list)?;
        let (tag, name, value) = read_tlv(binding)?;
        if tag != OBJECT_IDENTIFIER {
            return None;
        }
        bindings.push((read_object_identifier(name)?, read_tlv(value)?.0));
        list = rest;
    }
    Some(Some(bindings))
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
    let links = load.then(|| Links::new([&lan.ns[0], &lan.ns[1]], "sl", LINKS));
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
    let walk = SNMP_WALK.get();
    // One snmpd in each router's namespace for the whole series; each router, and
    // each restart of router 1, connects to it as a sub-agent.
    let snmpd =
        walk.map(|_| [0, 1].map(|i| Snmpd::start(&lan.ns[i], &dir, &format!("snmpd{}", i + 1))));
    // Each router's arguments beyond the others.
    let owned = [0, 1].map(|i| {
        let mut a = Vec::new();
        if scrape.is_some() {
            a.extend(["--metrics".to_string(), METRICS.to_string()]);
        }
        if let Some(s) = &snmpd {
            a.extend(s[i].args());
        }
        a
    });
    let args: [Vec<&str>; 2] = owned
        .each_ref()
        .map(|a| a.iter().map(String::as_str).collect());
    let _r2 = start_with(which, &lan.ns[1], &confs[1], &dir, "r2", "-P", &args[1]);
    let _scraper = scrape.map(|every| Scraper::start(&[&lan.ns[0].name, &lan.ns[1].name], *every));
    let _walker = walk.map(|every| Walker::start(&[&lan.ns[0].name, &lan.ns[1].name], *every));
    for k in 0..n {
        let r1 = start_with(
            which,
            &lan.ns[0],
            &confs[0],
            &dir,
            &format!("r1-{k}"),
            "-P",
            &args[0],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_bulk_is_snmpbulkwalks_first_request() {
        let req = get_bulk(1, RFC2787);
        let expected: &[u8] = &[
            0x30, 0x24, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa5,
            0x17, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x0a, 0x30, 0x0c, 0x30, 0x0a,
            0x06, 0x06, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x44, 0x05, 0x00,
        ];
        assert_eq!(req, expected);
        // 9586 takes two octets; a long content a long-form length.
        assert_eq!(
            object_identifier(KEEPALIVED_MIB),
            [0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xca, 0x72, 0x64, 0x05]
        );
        assert_eq!(
            &tlv(OCTET_STRING, &[0; 300])[..4],
            &[0x04, 0x82, 0x01, 0x2c]
        );
        assert_eq!(integer(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(-129), [0x02, 0x02, 0xff, 0x7f]);
        assert_eq!(integer(-1), [0x02, 0x01, 0xff]);
    }

    /// A Response as snmpd sends it, with `bindings` of (name, value).
    fn answer(id: i64, status: i64, bindings: &[(&[u32], Vec<u8>)]) -> Vec<u8> {
        let list: Vec<u8> = bindings
            .iter()
            .flat_map(|(n, v)| tlv(SEQUENCE, &[object_identifier(n), v.clone()].concat()))
            .collect();
        let pdu = [
            integer(id),
            integer(status),
            integer(0),
            tlv(SEQUENCE, &list),
        ]
        .concat();
        let message = [
            integer(1),
            tlv(OCTET_STRING, b"public"),
            tlv(RESPONSE, &pdu),
        ]
        .concat();
        tlv(SEQUENCE, &message)
    }

    #[test]
    fn responses_are_read_by_request_id() {
        let name: &[u32] = &[1, 3, 6, 1, 4, 1, 9586, 100, 5, 2, 3, 1, 2, 1];
        let long = vec![b'x'; 200];
        let buf = answer(
            77_000,
            0,
            &[
                (name, tlv(OCTET_STRING, &long)),
                (RFC2787, tlv(END_OF_MIB_VIEW, &[])),
            ],
        );
        assert_eq!(
            response(&buf, 77_000),
            Some(Some(vec![
                (name.to_vec(), OCTET_STRING),
                (RFC2787.to_vec(), END_OF_MIB_VIEW)
            ]))
        );
        assert_eq!(response(&buf, 76_999), None);
        assert_eq!(response(&answer(5, 5, &[]), 5), Some(None));
        assert_eq!(response(&buf[..buf.len() - 1], 77_000), None);
        assert_eq!(read_integer(&integer(-129)), Some((-129, &[][..])));
        assert_eq!(
            read_integer(&integer(i64::from(i32::MAX))).map(|v| v.0),
            Some(2_147_483_647)
        );
    }
}
