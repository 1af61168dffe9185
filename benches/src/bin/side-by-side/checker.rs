//! Checker scale: 5,000 (and 500) real servers with TCP_CHECK at delay_loop 1 s (250
//! virtual servers × 20), each daemon's checker alone (`-C`) against a loopback listener that
//! accepts every connection: checks done a second, CPU and memory of the checker process.
//!
//! keepalived 2.2.7's checker exits at start on a kernel without IPVS, so where this
//! kernel has none the measurement runs inside Debian's kernel under qemu (virtme-ng),
//! both daemons in the same VM; every figure there is emulated, so compare the ratios.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use keepalived_tests::host::{debian_kernel, host_has_ipvs, wait_for, Daemon, Netns};
use serde_json::{json, Value};

use crate::common::{beside_us, cpu_ticks, pids, proc_kib, start, ticks_per_s, usage, Which};

/// Virtual servers of 20 real servers each: 5,000 checks a second, the figure asked for,
/// and 500, which an emulated VM can keep up with, so CPU per check compares fairly there.
pub const SIZES: [usize; 2] = [250, 25];
pub const RS: usize = 20;
const PORT: u16 = 18080;
const WARMUP: Duration = Duration::from_secs(15);
const WINDOW: Duration = Duration::from_secs(20);
/// Set inside the VM, so the inner run measures instead of booting another.
const IN_VM: &str = "SBS_IN_VM";

/// Both daemons' figures, measured here or in a VM; `out` is where the VM's run leaves
/// its result.
pub fn run(out: &Path) -> Value {
    let emulated = std::env::var_os(IN_VM).is_some();
    if emulated || host_has_ipvs() {
        let place = if emulated { "vm" } else { "host" };
        let mut doc = json!({ "emulated": emulated });
        for vs in SIZES {
            let size = (vs * RS).to_string();
            for w in Which::BOTH {
                doc[&size][w.name()] = measure(w, vs, out, place);
            }
        }
        let _ = std::fs::write(
            out.join("checker.json"),
            serde_json::to_string_pretty(&doc).unwrap_or_default(),
        );
        return doc;
    }
    let Some(kernel) = debian_kernel() else {
        usage("no IPVS here and no Debian kernel in /boot to boot one (linux-image-amd64)");
    };
    let out = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    let me = std::env::current_exe().unwrap_or_else(|_| usage("cannot find this binary"));
    let inner = format!(
        "env {IN_VM}=1 {} --only checker --out {}",
        me.display(),
        out.display()
    );
    eprintln!(
        "no IPVS in this kernel: measuring the checkers under qemu ({})",
        kernel.display()
    );
    let _ = std::fs::remove_file(out.join("checker.json"));
    let status = Command::new("vng")
        .args(["--run", &kernel.display().to_string()])
        .args(["--disable-kvm", "--memory", "2G", "--cpus", "2"])
        .args(["--rwdir", &out.display().to_string()])
        .args(["--exec", &inner])
        .stdin(Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("the VM run failed (is virtme-ng installed?)");
    }
    let mut doc: Value = std::fs::read_to_string(out.join("checker.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| json!({}));
    // Ours can run here as well (without IPVS it checks and notifies, and says so): the
    // figure on real hardware, with no keepalived beside it.
    doc["host"]["keepalived-rs"] = measure(Which::Ours, SIZES[0], &out, "host");
    doc
}

/// The listener's count of accepted connections, from its last line
/// (`<ms> <accepted> <errors> …`), with the time it was read.
fn accepted(log: &Path) -> Option<(Instant, u64)> {
    let text = std::fs::read_to_string(log).ok()?;
    let n = text
        .lines()
        .last()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((Instant::now(), n))
}

/// One daemon's checker; its config, logs and pidfiles stay in
/// `out/checker-<place>-<servers>-<daemon>` (outside the VM's own /tmp), `place` being
/// `vm` or `host`, so the host's run after the VM's keeps the VM's logs.
fn measure(which: Which, vs: usize, out: &Path, place: &str) -> Value {
    let dir = out.join(format!("checker-{place}-{}-{}", vs * RS, which.name()));
    let _ = std::fs::create_dir_all(&dir);
    let ns = Netns::new("ck");
    let conf = dir.join("check.conf");
    let text = keepalived_benches::loopback_check_config(vs, RS, PORT, None, 1).unwrap_or_default();
    let _ = std::fs::write(&conf, text);
    let listener_log = dir.join("listener.log");
    let listener = Daemon::start(
        &ns,
        &beside_us("accept-listener"),
        &[&PORT.to_string()],
        listener_log.clone(),
    );
    let daemon = start(which, &ns, &conf, &dir, "ck", "-C");
    let running = wait_for(Duration::from_secs(60), || {
        accepted(&listener_log).is_some_and(|(_, n)| n > 0)
    });
    if running.is_none() {
        eprintln!("{}: no check reached the listener", which.name());
    }
    std::thread::sleep(WARMUP);
    let checker = pids(&dir, "ck", &["c"]);
    let parent = pids(&dir, "ck", &["p"]);
    let a = accepted(&listener_log);
    let c0 = cpu_ticks(&checker);
    std::thread::sleep(WINDOW);
    let b = accepted(&listener_log);
    let used_s = cpu_ticks(&checker).saturating_sub(c0) as f64 / ticks_per_s();
    let checks_per_s = match (a, b) {
        (Some((ta, na)), Some((tb, nb))) if tb > ta => {
            (nb.saturating_sub(na)) as f64 / (tb - ta).as_secs_f64()
        }
        _ => f64::NAN,
    };
    let cpu_percent = used_s / WINDOW.as_secs_f64() * 100.0;
    let rss = proc_kib(&checker, "status", "VmRSS");
    let parent_rss = proc_kib(&parent, "status", "VmRSS");
    let pss = proc_kib(&checker, "smaps_rollup", "Pss");
    eprintln!(
        "{} checker, {} real servers: {checks_per_s:.0} checks/s, {cpu_percent:.1} % of a core, RSS {rss} KiB (parent {parent_rss} KiB)",
        which.name(),
        vs * RS
    );
    daemon.stop();
    drop(listener);
    json!({
        "real_servers": vs * RS,
        "checks_per_s": checks_per_s,
        "cpu_percent": cpu_percent,
        "cpu_ms_per_1000_checks": used_s * 1000.0 / (checks_per_s * WINDOW.as_secs_f64()) * 1000.0,
        "rss_kib": rss,
        "pss_kib": pss,
        "parent_rss_kib": parent_rss,
    })
}

pub const ROWS: &[(&str, &str, &str)] = &[
    ("checks done a second", "checks_per_s", ""),
    ("checker CPU (% of a core)", "cpu_percent", " %"),
    (
        "checker CPU per 1,000 checks",
        "cpu_ms_per_1000_checks",
        " ms",
    ),
    ("checker RSS", "rss_kib", " KiB"),
    ("checker PSS", "pss_kib", " KiB"),
    ("parent RSS", "parent_rss_kib", " KiB"),
];
