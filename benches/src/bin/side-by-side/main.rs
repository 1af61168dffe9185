//! keepalived-rs and keepalived (Debian's 2.2.7) on the same namespace topology in the
//! same run, each figure reported for both and as a ratio.
//!
//! Failover precision: two routers and a client on one bridged segment; the master is
//! killed (SIGKILL, its VIP removed as a dead host loses it) or stopped (SIGTERM). The
//! client's capture gives the old master's last advert and the new master's first
//! gratuitous ARP; the time between them less the protocol's bound (master-down interval
//! after SIGKILL, skew time after SIGTERM's priority-0 advert) is the daemon's overshoot.
//!
//! Usage (root; tcpdump, iproute2 and keepalived installed):
//!   side-by-side [--failovers N] [--out DIR] [--only failover]
//! Writes DIR/result.json and DIR/result.md (DIR defaults to target/side-by-side).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keepalived_tests::host::{tmp_dir, wait_for, Capture, Daemon, Lan, Netns};
use serde_json::{json, Value};

const VIP: &str = "10.93.0.100";
const NET: u8 = 93;
const VRID: u8 = 93;
/// The master's and the backup's priorities; the bound uses the backup's skew.
const PRIO: [u8; 2] = [200, 100];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Which {
    Ours,
    Keepalived,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Ours => "keepalived-rs",
            Which::Keepalived => "keepalived",
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Stop {
    Kill,
    Term,
}

struct Opts {
    failovers: usize,
    out: PathBuf,
    only: Option<String>,
}

fn main() {
    let mut opts = Opts {
        failovers: 20,
        out: PathBuf::from("target/side-by-side"),
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--failovers" => {
                opts.failovers = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage("--failovers needs a number"))
            }
            "--out" => {
                opts.out = args
                    .next()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| usage("--out needs a directory"))
            }
            "--only" => {
                opts.only = Some(
                    args.next()
                        .filter(|v| v == "failover" || v == "scale")
                        .unwrap_or_else(|| usage("--only takes failover or scale")),
                )
            }
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if std::fs::create_dir_all(&opts.out).is_err() {
        usage("cannot create the output directory");
    }
    let run = |what: &str| opts.only.as_deref().is_none_or(|o| o == what);
    let mut doc = json!({});
    let mut md = String::new();
    if run("scale") {
        let ours = scale(Which::Ours);
        let theirs = scale(Which::Keepalived);
        md.push_str(&scale_table(&ours, &theirs));
        doc["scale"] = json!({ "keepalived-rs": ours, "keepalived": theirs });
    }
    if run("failover") {
        let (rows, table) = failover_all(&opts);
        md.push_str(&table);
        doc["failover"] = Value::Array(rows);
    }
    let _ = std::fs::write(
        opts.out.join("result.json"),
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    );
    let _ = std::fs::write(opts.out.join("result.md"), &md);
    println!("{md}");
}

fn failover_all(opts: &Opts) -> (Vec<Value>, String) {
    let mut results = Vec::new();
    let mut md = String::from(
        "| failover | advert | bound | keepalived-rs overshoot median / worst | keepalived overshoot median / worst |\n|---|---|---|---|---|\n",
    );
    for (version, advert) in [(2, 1.0), (3, 1.0), (3, 0.1), (3, 0.03)] {
        for stop in [Stop::Kill, Stop::Term] {
            let mut row = Vec::new();
            for which in [Which::Ours, Which::Keepalived] {
                let r = failovers(which, version, advert, stop, opts.failovers);
                eprintln!(
                    "{} v{version} {advert}s {stop:?}: overshoot median {:.2} ms, worst {:.2} ms over {} failovers",
                    which.name(),
                    r.median_ms(),
                    r.worst_ms(),
                    r.overshoot_ms.len()
                );
                row.push(r);
            }
            let _ = writeln!(
                md,
                "| {} v{version} | {advert} s | {:.1} ms | {:.2} / {:.2} ms | {:.2} / {:.2} ms |",
                match stop {
                    Stop::Kill => "SIGKILL",
                    Stop::Term => "SIGTERM",
                },
                row[0].bound_ms,
                row[0].median_ms(),
                row[0].worst_ms(),
                row[1].median_ms(),
                row[1].worst_ms()
            );
            results.extend(row.iter().map(|r| r.json()));
        }
    }
    (results, md)
}

fn usage(why: &str) -> ! {
    eprintln!("side-by-side: {why}\nusage: side-by-side [--failovers N] [--out DIR]");
    std::process::exit(2);
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// RFC 3768 §6.1 / RFC 5798 §6.1: v2 skew is (256 − p)/256 s whatever the interval, v3
/// scales it by the advert interval.
fn skew_s(version: u8, advert: f64, prio: u8) -> f64 {
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
    bound_ms: f64,
    overshoot_ms: Vec<f64>,
    failed: usize,
}

impl Series {
    fn sorted(&self) -> Vec<f64> {
        let mut v = self.overshoot_ms.clone();
        v.sort_by(f64::total_cmp);
        v
    }
    fn median_ms(&self) -> f64 {
        let v = self.sorted();
        if v.is_empty() {
            f64::NAN
        } else if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        }
    }
    fn worst_ms(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }
    fn json(&self) -> Value {
        json!({
            "daemon": self.which.name(),
            "version": self.version,
            "advert_s": self.advert,
            "stop": format!("{:?}", self.stop),
            "bound_ms": self.bound_ms,
            "overshoot_ms": self.overshoot_ms,
            "median_ms": self.median_ms(),
            "worst_ms": self.worst_ms(),
            "failed": self.failed,
        })
    }
}

fn conf(dir: &Path, i: usize, iface: &str, version: u8, advert: f64) -> PathBuf {
    let p = dir.join(format!("r{}.conf", i + 1));
    let text = format!(
        "global_defs {{\n  router_id r{}\n  vrrp_version {version}\n}}\n\
         vrrp_instance VI_1 {{\n  state BACKUP\n  interface {iface}\n  virtual_router_id {VRID}\n  \
         priority {}\n  advert_int {advert}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
        i + 1,
        PRIO[i]
    );
    let _ = std::fs::write(&p, text);
    p
}

/// `keepalived-rs`, built beside this binary (`cargo build --release` builds both).
fn ours_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("keepalived-rs")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| usage("keepalived-rs is not built beside this binary"))
}

/// A VRRP advert line of `tcpdump -e -tt`: (time, source MAC, priority).
fn parse_advert(line: &str) -> Option<(f64, String, u8)> {
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

/// `n` failovers of router 1 to router 2 for one daemon, interval and stop.
fn failovers(which: Which, version: u8, advert_s: f64, stop: Stop, n: usize) -> Series {
    let dir = tmp_dir(&format!(
        "sbs-{}-{version}-{advert_s}-{stop:?}",
        which.name()
    ));
    let lan = Lan::new("sb", NET, 3);
    let macs = [lan.mac(0), lan.mac(1)];
    let confs = [
        conf(&dir, 0, &lan.ifs[0], version, advert_s),
        conf(&dir, 1, &lan.ifs[1], version, advert_s),
    ];
    let cap = Capture::start(&lan.ns[2], &lan.ifs[2], "vrrp or arp", &dir.join("client"));
    let advert = Duration::from_secs_f64(advert_s);
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
        bound_ms: bound * 1000.0,
        overshoot_ms: Vec::new(),
        failed: 0,
    };
    let settle = Duration::from_secs_f64((4.0 * advert_s).max(1.0));
    let _r2 = start(which, &lan.ns[1], &confs[1], &dir, "r2");
    for k in 0..n {
        let r1 = start(which, &lan.ns[0], &confs[0], &dir, &format!("r1-{k}"));
        let up = wait_for(Duration::from_secs(15), || lan.holders(VIP) == [0]);
        if up.is_none() {
            s.failed += 1;
            eprintln!("{} r1 never became the only master (run {k})", which.name());
            drop(r1);
            lan.drop_address(0, VIP);
            continue;
        }
        std::thread::sleep(settle + advert);
        let t0 = now();
        match stop {
            Stop::Kill => {
                r1.crash();
                lan.drop_address(0, VIP);
            }
            Stop::Term => r1.signal(libc::SIGTERM),
        }
        let took = wait_for(Duration::from_secs(15), || lan.holders(VIP) == [1]);
        std::thread::sleep(Duration::from_millis(300) + advert);
        drop(r1);
        lan.drop_address(0, VIP);
        if took.is_none() {
            s.failed += 1;
            eprintln!("{} r2 never took over (run {k})", which.name());
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
                    which.name(),
                    if garp.is_none() {
                        "GARP from r2"
                    } else {
                        "last advert from r1"
                    }
                );
            }
        }
        // Router 2 is master now; router 1 comes back next round and preempts.
    }
    s
}

// ---- scale and reload: 1,000 instances on two routers ----------------------------------

/// Interfaces between the two routers, and VRIDs on each.
const LINKS: usize = 4;
const VRIDS: usize = 250;

/// Two namespaces joined by `LINKS` veth pairs, `sc1:scKa` ↔ `sc2:scKb`.
struct Routers {
    ns: [Netns; 2],
}

impl Routers {
    fn new() -> Routers {
        let ns = [Netns::new("sc1"), Netns::new("sc2")];
        for k in 0..LINKS {
            let (a, b) = (format!("sc{k}a"), format!("sc{k}b"));
            let out = std::process::Command::new("ip")
                .args([
                    "link",
                    "add",
                    &a,
                    "netns",
                    &ns[0].name,
                    "type",
                    "veth",
                    "peer",
                ])
                .args(["name", &b, "netns", &ns[1].name])
                .output();
            if !out.is_ok_and(|o| o.status.success()) {
                usage("cannot create the veth pairs (root?)");
            }
            for (i, dev) in [&a, &b].into_iter().enumerate() {
                ns[i].ip(&[
                    "addr",
                    "add",
                    &format!("10.{}.255.{}/16", 110 + k, i + 1),
                    "dev",
                    dev,
                ]);
                ns[i].ip(&["link", "set", dev, "up"]);
            }
        }
        Routers { ns }
    }

    /// How many of the 1,000 VIPs router `i` holds.
    fn vips(&self, i: usize) -> usize {
        let out = self.ns[i]
            .command("ip")
            .args(["-4", "-o", "addr", "show"])
            .output();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        text.lines()
            .filter(|l| (0..LINKS).any(|k| l.contains(&format!(" 10.{}.1.", 110 + k))))
            .count()
    }

    /// Takes router `i`'s VIPs away, as a dead host loses them.
    fn drop_vips(&self, i: usize) {
        for k in 0..LINKS {
            let dev = format!("sc{k}{}", if i == 0 { 'a' } else { 'b' });
            let _ = self.ns[i]
                .command("ip")
                .args([
                    "addr",
                    "flush",
                    "dev",
                    &dev,
                    "to",
                    &format!("10.{}.1.0/24", 110 + k),
                ])
                .output();
        }
    }
}

fn scale_conf(dir: &Path, i: usize) -> PathBuf {
    let mut s = format!("global_defs {{\n  router_id sc{}\n}}\n", i + 1);
    for k in 0..LINKS {
        for v in 0..VRIDS {
            let _ = write!(
                s,
                "vrrp_instance VI_{k}_{v} {{\n  state BACKUP\n  interface sc{k}{}\n  virtual_router_id {}\n  priority {}\n  advert_int 1\n  virtual_ipaddress {{\n    10.{}.1.{}/16\n  }}\n}}\n",
                if i == 0 { 'a' } else { 'b' },
                v + 1,
                PRIO[i],
                110 + k,
                v + 1
            );
        }
    }
    let p = dir.join(format!("scale{}.conf", i + 1));
    let _ = std::fs::write(&p, s);
    p
}

/// VRRP only (`-P`), in the foreground, logging to `<tag>.log`, pidfiles `<tag>.p/.r/.c`.
fn start(which: Which, ns: &Netns, conf: &Path, dir: &Path, tag: &str) -> Daemon {
    let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let args = [
        "-n", "-l", "-G", "-P", "-f", &c, "-p", &p, "-r", &r, "-c", &k,
    ];
    let log = dir.join(format!("{tag}.log"));
    match which {
        Which::Ours => Daemon::start(ns, &ours_binary(), &args, log),
        Which::Keepalived => Daemon::start(ns, Path::new("keepalived"), &args, log),
    }
}

/// The parent's and VRRP child's pids, from the pidfiles `<tag>.p` and `<tag>.r`.
fn pids(dir: &Path, tag: &str) -> Vec<i32> {
    ["p", "r"]
        .iter()
        .filter_map(|k| Daemon::pid_of(dir, tag, k))
        .collect()
}

/// utime + stime of `pids`, in clock ticks.
fn cpu_ticks(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|s| {
            // Fields after the command name, which may hold spaces: state is field 3.
            let rest = s.rsplit_once(") ")?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// VmRSS of `pids`, in KiB.
fn rss_kib(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// 1,000 instances on two routers: time to settle from start, steady CPU and RSS of each
/// router's daemon, a SIGHUP with the same config (time, VIPs removed), and the time for
/// the backup to hold all 1,000 after the master is killed.
fn scale(which: Which) -> Value {
    const WINDOW: Duration = Duration::from_secs(20);
    let total = LINKS * VRIDS;
    let dir = tmp_dir(&format!("sbs-scale-{}", which.name()));
    let routers = Routers::new();
    let confs = [scale_conf(&dir, 0), scale_conf(&dir, 1)];
    let t0 = std::time::Instant::now();
    let d1 = start(which, &routers.ns[0], &confs[0], &dir, "s1");
    let d2 = start(which, &routers.ns[1], &confs[1], &dir, "s2");
    let settled = wait_for(Duration::from_secs(120), || {
        routers.vips(0) == total && routers.vips(1) == 0
    })
    .map(|_| t0.elapsed().as_secs_f64() * 1000.0);
    eprintln!(
        "{} 1,000 instances settled after start: {settled:?} ms",
        which.name()
    );
    std::thread::sleep(Duration::from_secs(5));
    let (p1, p2) = (pids(&dir, "s1"), pids(&dir, "s2"));
    let (c1, c2) = (cpu_ticks(&p1), cpu_ticks(&p2));
    std::thread::sleep(WINDOW);
    let pct = |a: u64, b: u64| {
        (b.saturating_sub(a)) as f64 / ticks_per_s() / WINDOW.as_secs_f64() * 100.0
    };
    let cpu_master = pct(c1, cpu_ticks(&p1));
    let cpu_backup = pct(c2, cpu_ticks(&p2));
    let rss_master = rss_kib(&p1);
    let rss_backup = rss_kib(&p2);
    eprintln!(
        "{}: CPU master {cpu_master:.2} % backup {cpu_backup:.2} %, RSS master {rss_master} KiB backup {rss_backup} KiB",
        which.name()
    );

    // Reload with the same config: VIPs deleted on the master while it applies.
    let mon_file = dir.join("monitor.txt");
    let mon = routers.ns[0]
        .command("ip")
        .args(["monitor", "address"])
        .stdout(
            std::fs::File::create(&mon_file)
                .map(std::process::Stdio::from)
                .unwrap_or_else(|_| std::process::Stdio::null()),
        )
        .spawn();
    std::thread::sleep(Duration::from_millis(500));
    let log = dir.join("s1.log");
    let before = std::fs::read_to_string(&log).unwrap_or_default().len();
    d1.signal(libc::SIGHUP);
    let reload_ms = match which {
        // Our VRRP child says when the new configuration is applied.
        Which::Ours => wait_for(Duration::from_secs(60), || {
            std::fs::read_to_string(&log)
                .ok()
                .and_then(|t| t.get(before..).map(|t| t.contains("Reload done in")))
                .unwrap_or(false)
        })
        .and_then(|_| {
            let t = std::fs::read_to_string(&log).ok()?;
            let l = t
                .get(before..)?
                .lines()
                .find(|l| l.contains("Reload done in"))?
                .to_string();
            l.split("Reload done in ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<f64>()
                .ok()
        }),
        // keepalived 2.2.7 logs no end of a VRRP reload.
        Which::Keepalived => None,
    };
    std::thread::sleep(Duration::from_secs(5));
    if let Ok(mut m) = mon {
        let _ = m.kill();
        let _ = m.wait();
    }
    let removed = std::fs::read_to_string(&mon_file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("Deleted") && l.contains(" 10.11"))
        .count();
    let still = routers.vips(0);
    eprintln!(
        "{}: reload {reload_ms:?} ms, VIPs removed during it {removed}, held after {still}",
        which.name()
    );

    // The master dies: time until the backup holds every VIP.
    let t1 = std::time::Instant::now();
    d1.crash();
    routers.drop_vips(0);
    let takeover = wait_for(Duration::from_secs(60), || routers.vips(1) == total)
        .map(|_| t1.elapsed().as_secs_f64() * 1000.0);
    eprintln!(
        "{}: all 1,000 on the backup after the master's death: {takeover:?} ms",
        which.name()
    );
    drop(d1);
    drop(d2);
    json!({
        "instances": total,
        "settled_after_start_ms": settled,
        "cpu_percent_master": cpu_master,
        "cpu_percent_backup": cpu_backup,
        "rss_kib_master": rss_master,
        "rss_kib_backup": rss_backup,
        "reload_ms": reload_ms,
        "reload_vips_removed": removed,
        "vips_held_after_reload": still,
        "takeover_after_kill_ms": takeover,
    })
}

fn scale_table(ours: &Value, theirs: &Value) -> String {
    let f = |v: &Value, k: &str| v[k].as_f64();
    let cell =
        |v: Option<f64>, unit: &str| v.map_or("–".to_string(), |x| format!("{x:.2}{unit}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".into(),
    };
    let mut md = String::from(
        "| 1,000 instances | keepalived-rs | keepalived | ratio |\n|---|---|---|---|\n",
    );
    for (label, key, unit) in [
        ("settled after start", "settled_after_start_ms", " ms"),
        ("CPU, master (% of a core)", "cpu_percent_master", " %"),
        ("CPU, backup (% of a core)", "cpu_percent_backup", " %"),
        ("RSS, master (parent + VRRP)", "rss_kib_master", " KiB"),
        ("RSS, backup (parent + VRRP)", "rss_kib_backup", " KiB"),
        ("reload, same config", "reload_ms", " ms"),
        ("VIPs removed during reload", "reload_vips_removed", ""),
        (
            "all 1,000 on the backup after SIGKILL",
            "takeover_after_kill_ms",
            " ms",
        ),
    ] {
        let (a, b) = (f(ours, key), f(theirs, key));
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {} |",
            cell(a, unit),
            cell(b, unit),
            ratio(a, b)
        );
    }
    md.push('\n');
    md
}
