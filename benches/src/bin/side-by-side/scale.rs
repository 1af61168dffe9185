//! 1,000 VRRP instances on two routers: time to settle from start, steady CPU and memory
//! of each router's daemon, a SIGHUP with the same config (how long the VRRP process is
//! busy with it, VIPs removed), and the time for the backup to hold all 1,000 after the
//! master is killed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keepalived_tests::host::{tmp_dir, wait_for, Netns};
use serde_json::{json, Value};

use crate::common::{cpu_percent, excess_cpu_ms, pids, proc_kib, start, Links, Which, INSTANCES};

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

pub fn run(which: Which) -> Value {
    const WINDOW: Duration = Duration::from_secs(20);
    let dir = tmp_dir(&format!("sbs-scale-{}", which.name()));
    let ns = [Netns::new("sc1"), Netns::new("sc2")];
    let links = Links::new([&ns[0], &ns[1]], "sc");
    let confs = [conf(&dir, &links, 0), conf(&dir, &links, 1)];
    let t0 = Instant::now();
    let d1 = start(which, &ns[0], &confs[0], &dir, "s1", "-P");
    let d2 = start(which, &ns[1], &confs[1], &dir, "s2", "-P");
    let settled = wait_for(Duration::from_secs(120), || {
        links.vips(0) == INSTANCES && links.vips(1) == 0
    })
    .map(|_| t0.elapsed().as_secs_f64() * 1000.0);
    eprintln!(
        "{} 1,000 instances settled after start: {settled:?} ms",
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

    // The master dies: time until the backup holds every VIP.
    let t1 = Instant::now();
    d1.crash();
    links.drop_vips(0);
    let takeover = wait_for(Duration::from_secs(60), || links.vips(1) == INSTANCES)
        .map(|_| t1.elapsed().as_secs_f64() * 1000.0);
    eprintln!(
        "{}: all 1,000 on the backup after the master's death: {takeover:?} ms",
        which.name()
    );
    drop(d1);
    drop(d2);
    json!({
        "instances": INSTANCES,
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
    })
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
        "all 1,000 on the backup after SIGKILL",
        "takeover_after_kill_ms",
        " ms",
    ),
];
