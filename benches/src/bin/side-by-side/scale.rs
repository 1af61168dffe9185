//! 250, 1,000 or 4,000 VRRP instances (1, 4 or 16 links × 250 VRIDs) on two routers:
//! time to settle from start, steady CPU and memory of each router's daemon, a SIGHUP
//! with the same config (how long the VRRP process is busy with it, VIPs removed), and
//! the takeover after the master is killed: when the backup holds every VIP, and, from a
//! capture of every link, how long after its master's last advert the first and the last
//! instance sent their first advert, how late each was against its master-down timer
//! (the kill falls where it falls in the advert interval; these do not depend on it), and
//! the CPU the backup spent taking over, an instance.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keepalived_tests::host::{tmp_dir, wait_for, Capture, Netns};
use serde_json::{json, Value};

use crate::common::{
    cpu_ns, cpu_percent, excess_cpu_ms, median_worst, pids, proc_kib, start, Links, Which, VRIDS,
};
use crate::failover::{now, parse_advert, skew_s};

const PRIO: [u8; 2] = [200, 100];

fn conf(dir: &Path, links: &Links, i: usize) -> PathBuf {
    let text = format!(
        "global_defs {{\n  router_id sc{}\n}}\n{}",
        i + 1,
        links.instances(i, PRIO[i])
    );
    let p = dir.join(format!("scale{}.conf", i + 1));
    let _ = std::fs::write(&p, text);
    p
}

/// The "Reload applied in X ms" our VRRP child logs, in `log` after byte `from`.
fn logged_reload_ms(log: &Path, from: usize) -> Option<f64> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text
        .get(from..)?
        .lines()
        .find(|l| l.contains("Reload applied in"))?
        .to_string();
    line.split("Reload applied in ")
        .nth(1)?
        .split(' ')
        .next()?
        .parse()
        .ok()
}

/// The instance counts `--only scale` measures by default: 1, 4 and 16 links.
pub const SIZES: [usize; 3] = [250, 1000, 4000];

/// One run of `instances` (a multiple of 250) for `which`.
pub fn run(which: Which, instances: usize) -> Value {
    const WINDOW: Duration = Duration::from_secs(20);
    let dir = tmp_dir(&format!("sbs-scale-{}-{instances}", which.name()));
    let ns = [Netns::new("sc1"), Netns::new("sc2")];
    let links = Links::new([&ns[0], &ns[1]], "sc", instances / VRIDS);
    let instances = links.instances_count();
    let confs = [conf(&dir, &links, 0), conf(&dir, &links, 1)];
    let t0 = Instant::now();
    let d1 = start(which, &ns[0], &confs[0], &dir, "s1", "-P");
    let d2 = start(which, &ns[1], &confs[1], &dir, "s2", "-P");
    let settled = wait_for(Duration::from_secs(120), || {
        links.vips(0) == instances && links.vips(1) == 0
    })
    .map(|_| t0.elapsed().as_secs_f64() * 1000.0);
    eprintln!(
        "{} {instances} instances settled after start: {settled:?} ms",
        which.name()
    );
    std::thread::sleep(Duration::from_secs(5));
    let (p1, p2) = (pids(&dir, "s1", &["p", "r"]), pids(&dir, "s2", &["p", "r"]));
    let (cpu1, cpu2) = std::thread::scope(|s| {
        let a = s.spawn(|| cpu_percent(&p1, WINDOW));
        let b = s.spawn(|| cpu_percent(&p2, WINDOW));
        (a.join().unwrap_or(f64::NAN), b.join().unwrap_or(f64::NAN))
    });
    let (rss1, rss2) = (
        proc_kib(&p1, "status", "VmRSS"),
        proc_kib(&p2, "status", "VmRSS"),
    );
    let (pss1, pss2) = (
        proc_kib(&p1, "smaps_rollup", "Pss"),
        proc_kib(&p2, "smaps_rollup", "Pss"),
    );
    // What the processes allocated themselves (heap, stacks), unshared with any file.
    let (anon1, anon2) = (
        proc_kib(&p1, "status", "RssAnon"),
        proc_kib(&p2, "status", "RssAnon"),
    );
    eprintln!(
        "{}: CPU master {cpu1:.2} % backup {cpu2:.2} %, RSS master {rss1} KiB backup {rss2} KiB, PSS {pss1} / {pss2} KiB",
        which.name()
    );

    // Reload with the same config: how long the master's VRRP process is busy, and the
    // VIPs deleted on the master meanwhile.
    let mon_file = dir.join("monitor.txt");
    let mon = ns[0]
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
    let cpu = excess_cpu_ms(&p1, Duration::from_secs(2), || d1.signal(libc::SIGHUP));
    let logged = match which {
        // Our VRRP child says when the new configuration is applied.
        Which::Ours => {
            wait_for(Duration::from_secs(10), || {
                logged_reload_ms(&log, before).is_some()
            });
            logged_reload_ms(&log, before)
        }
        // keepalived 2.2.7 logs no end of a VRRP reload.
        Which::Keepalived => None,
    };
    std::thread::sleep(Duration::from_secs(3));
    if let Ok(mut m) = mon {
        let _ = m.kill();
        let _ = m.wait();
    }
    let removed = std::fs::read_to_string(&mon_file)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("Deleted") && l.contains(" 10.11"))
        .count();
    let still = links.vips(0);
    eprintln!(
        "{}: reload cost {cpu:.1} ms of CPU (logged {logged:?} ms), VIPs removed during it {removed}, held after {still}",
        which.name()
    );

    // The master dies: time until the backup holds every VIP, and each instance's first
    // advert from the backup in a capture of its link.
    let caps: Vec<Capture> = (0..instances / VRIDS)
        .map(|k| {
            let dev = links.dev(1, k);
            Capture::start(&ns[1], &dev, "vrrp", &dir.join(format!("takeover-{dev}")))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let t1 = Instant::now();
    let killed_at = now();
    let backup_cpu = cpu_ns(&p2);
    d1.crash();
    links.drop_vips(0);
    let takeover = wait_for(Duration::from_secs(60), || links.vips(1) == instances)
        .map(|_| t1.elapsed().as_secs_f64() * 1000.0);
    // What the takeover cost the backup (parent + VRRP child), from the kill until it
    // holds every VIP: the work of thousands of timers falling due at once, each
    // instance's takeover waiting for those before it; the new masters' first adverts
    // are in it too.
    let takeover_cpu_us = takeover
        .map(|_| cpu_ns(&p2).saturating_sub(backup_cpu) as f64 / 1e3 / instances.max(1) as f64);
    std::thread::sleep(Duration::from_millis(500));
    let texts: Vec<String> = caps.iter().map(Capture::text).collect();
    drop(caps);
    let per = takeovers(&texts, killed_at);
    let since_kill: Vec<f64> = per.iter().map(|t| t.0).collect();
    let since_advert: Vec<f64> = per.iter().map(|t| t.1).collect();
    let lates: Vec<f64> = since_advert.iter().map(|t| t - down_ms()).collect();
    let min = |v: &[f64]| v.iter().copied().reduce(f64::min);
    let max = |v: &[f64]| v.iter().copied().reduce(f64::max);
    let (first, last) = (min(&since_advert), max(&since_advert));
    let (late_median, late_worst) = median_worst(&lates);
    eprintln!(
        "{}: all {instances} on the backup after the master's death: {takeover:?} ms ({takeover_cpu_us:.1?} µs of the backup's CPU an instance); from its master's last advert to its backup's first: first instance {first:?} ms, last {last:?} ms ({} instances seen; from the kill {:?} to {:?} ms); late against the master-down timer: median {late_median:.2} ms, worst {late_worst:.2} ms",
        which.name(),
        per.len(),
        min(&since_kill),
        max(&since_kill),
    );
    drop(d1);
    drop(d2);
    json!({
        "instances": instances,
        "settled_after_start_ms": settled,
        "cpu_percent_master": cpu1,
        "cpu_percent_backup": cpu2,
        "rss_kib_master": rss1,
        "rss_kib_backup": rss2,
        "pss_kib_master": pss1,
        "pss_kib_backup": pss2,
        "anon_kib_master": anon1,
        "anon_kib_backup": anon2,
        "reload_cpu_ms": cpu,
        "reload_logged_ms": logged,
        "reload_vips_removed": removed,
        "vips_held_after_reload": still,
        "takeover_after_kill_ms": takeover,
        "takeover_first_advert_ms": first,
        "takeover_last_advert_ms": last,
        "takeover_instances_seen": per.len(),
        "takeover_late_median_ms": late_median,
        "takeover_late_worst_ms": late_worst,
        "takeover_cpu_us_per_instance": takeover_cpu_us,
    })
}

/// The backup's master-down interval: three adverts of 1 s and its skew (RFC 3768 §6.1).
fn down_ms() -> f64 {
    (3.0 + skew_s(2, 1.0, PRIO[1])) * 1000.0
}

/// For each instance (one capture text a link, VRIDs 1–250) whose master advertised and
/// whose backup then took over: ms from `killed_at` to the backup's first advert, and
/// from the master's last advert to it.
fn takeovers(texts: &[String], killed_at: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for text in texts {
        let mut last_master = [f64::NAN; 256];
        let mut first_backup = [f64::NAN; 256];
        for line in text.lines() {
            let (Some((t, _, prio)), Some(vrid)) = (parse_advert(line), vrid_of(line)) else {
                continue;
            };
            if prio == PRIO[0] && t <= killed_at {
                last_master[vrid] = t;
            } else if prio == PRIO[1] && t > killed_at && first_backup[vrid].is_nan() {
                first_backup[vrid] = t;
            }
        }
        for v in 1..=VRIDS {
            let (m, b) = (last_master[v], first_backup[v]);
            if !m.is_nan() && !b.is_nan() {
                out.push(((b - killed_at) * 1000.0, (b - m) * 1000.0));
            }
        }
    }
    out
}

/// The `vrid N,` of a tcpdump VRRP line.
fn vrid_of(line: &str) -> Option<usize> {
    line.split("vrid ")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
        .filter(|v| (1..256).contains(v))
}

/// One Markdown row per figure: both daemons and the ratio.
pub fn table(title: &str, ours: &Value, theirs: &Value, rows: &[(&str, &str, &str)]) -> String {
    let f = |v: &Value, k: &str| v[k].as_f64();
    let cell =
        |v: Option<f64>, unit: &str| v.map_or("–".to_string(), |x| format!("{x:.2}{unit}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "–".into(),
    };
    let mut md = format!("| {title} | keepalived-rs | keepalived | ratio |\n|---|---|---|---|\n");
    for (label, key, unit) in rows {
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

pub const ROWS: &[(&str, &str, &str)] = &[
    ("settled after start", "settled_after_start_ms", " ms"),
    ("CPU, master (% of a core)", "cpu_percent_master", " %"),
    ("CPU, backup (% of a core)", "cpu_percent_backup", " %"),
    ("RSS, master (parent + VRRP)", "rss_kib_master", " KiB"),
    ("RSS, backup (parent + VRRP)", "rss_kib_backup", " KiB"),
    ("PSS, master (parent + VRRP)", "pss_kib_master", " KiB"),
    ("PSS, backup (parent + VRRP)", "pss_kib_backup", " KiB"),
    (
        "anonymous, master (parent + VRRP)",
        "anon_kib_master",
        " KiB",
    ),
    (
        "anonymous, backup (parent + VRRP)",
        "anon_kib_backup",
        " KiB",
    ),
    (
        "reload, same config: CPU it cost (parent + VRRP)",
        "reload_cpu_ms",
        " ms",
    ),
    (
        "reload, same config: wall time as logged",
        "reload_logged_ms",
        " ms",
    ),
    ("VIPs removed during reload", "reload_vips_removed", ""),
    (
        "SIGKILL → every VIP on the backup (with where in the interval the kill fell)",
        "takeover_after_kill_ms",
        " ms",
    ),
    (
        "master's last advert → backup's first, first instance",
        "takeover_first_advert_ms",
        " ms",
    ),
    (
        "master's last advert → backup's first, last instance",
        "takeover_last_advert_ms",
        " ms",
    ),
    (
        "first advert after the master-down timer, median",
        "takeover_late_median_ms",
        " ms",
    ),
    (
        "first advert after the master-down timer, worst",
        "takeover_late_worst_ms",
        " ms",
    ),
    (
        "backup's CPU from the kill to every VIP held, an instance",
        "takeover_cpu_us_per_instance",
        " µs",
    ),
];

/// The cost as the number of instances grows: one row per size, both daemons.
pub fn growth(by_size: &[(usize, Value, Value)]) -> String {
    let mut md = String::from(
        "| instances | CPU master: ours / keepalived | CPU backup: ours / keepalived | PSS master | PSS backup | anonymous master | anonymous backup | takeover, last instance: late against its timer |\n|---|---|---|---|---|---|---|---|\n",
    );
    let pair = |a: &Value, b: &Value, k: &str, unit: &str, digits: usize| {
        let f = |v: &Value| {
            v[k].as_f64()
                .map_or("–".to_string(), |x| format!("{x:.digits$}"))
        };
        format!("{} / {}{unit}", f(a), f(b))
    };
    for (n, ours, theirs) in by_size {
        let _ = writeln!(
            md,
            "| {n} | {} | {} | {} | {} | {} | {} | {} |",
            pair(ours, theirs, "cpu_percent_master", " %", 2),
            pair(ours, theirs, "cpu_percent_backup", " %", 2),
            pair(ours, theirs, "pss_kib_master", " KiB", 0),
            pair(ours, theirs, "pss_kib_backup", " KiB", 0),
            pair(ours, theirs, "anon_kib_master", " KiB", 0),
            pair(ours, theirs, "anon_kib_backup", " KiB", 0),
            pair(ours, theirs, "takeover_late_worst_ms", " ms", 1),
        );
    }
    md.push('\n');
    md
}
