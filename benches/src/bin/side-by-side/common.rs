//! What every part of the harness shares: which daemon, how it is started, what is read
//! of its processes, and the 1,000-instance links between two routers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{Daemon, Netns};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Which {
    Ours,
    Keepalived,
}

impl Which {
    pub const BOTH: [Which; 2] = [Which::Ours, Which::Keepalived];

    pub fn name(self) -> &'static str {
        match self {
            Which::Ours => "keepalived-rs",
            Which::Keepalived => "keepalived",
        }
    }

    fn binary(self) -> PathBuf {
        match self {
            Which::Ours => beside_us("keepalived-rs"),
            Which::Keepalived => PathBuf::from("keepalived"),
        }
    }
}

pub fn usage(why: &str) -> ! {
    eprintln!("side-by-side: {why}\n{}", crate::USAGE);
    std::process::exit(2);
}

/// A binary of this workspace, built beside this one (`cargo build --release` builds all).
pub fn beside_us(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join(name)))
        .filter(|p| p.exists())
        .unwrap_or_else(|| usage(&format!("{name} is not built beside this binary")))
}

/// One daemon in the foreground, logging to `<tag>.log`, pidfiles `<tag>.p/.r/.c`; `role`
/// is `-P` (VRRP only) or `-C` (checker only), as both daemons spell them.
pub fn start(which: Which, ns: &Netns, conf: &Path, dir: &Path, tag: &str, role: &str) -> Daemon {
    start_with(which, ns, conf, dir, tag, role, &[])
}

/// [`start`] with `extra` arguments after the others.
pub fn start_with(
    which: Which,
    ns: &Netns,
    conf: &Path,
    dir: &Path,
    tag: &str,
    role: &str,
    extra: &[&str],
) -> Daemon {
    let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let mut args = vec![
        "-n", "-l", "-G", role, "-f", &c, "-p", &p, "-r", &r, "-c", &k,
    ];
    args.extend_from_slice(extra);
    Daemon::start(ns, &which.binary(), &args, dir.join(format!("{tag}.log")))
}

/// The pids in the pidfiles `<tag>.<kind>` for each of `kinds` (`p` parent, `r` VRRP
/// child, `c` checker child).
pub fn pids(dir: &Path, tag: &str, kinds: &[&str]) -> Vec<i32> {
    kinds
        .iter()
        .filter_map(|k| Daemon::pid_of(dir, tag, k))
        .collect()
}

/// utime + stime of `pids`, in clock ticks.
pub fn cpu_ticks(pids: &[i32]) -> u64 {
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

/// % of one core that `pids` used over `window`, measured now, in scheduler nanoseconds:
/// a daemon that idles at half a percent uses a tick or two a second, too few for
/// utime/stime's tick sampling to tell 0.50 % from 0.55 %.
pub fn cpu_percent(pids: &[i32], window: Duration) -> f64 {
    let before = cpu_ns(pids);
    std::thread::sleep(window);
    let used = cpu_ns(pids).saturating_sub(before);
    used as f64 / 1e9 / window.as_secs_f64() * 100.0
}

pub fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// The `key:   N kB` line of `/proc/PID/<file>` summed over `pids`, in KiB: `VmRSS` of
/// `status`, or `Pss` of `smaps_rollup` (each page shared by n processes counts 1/n, so
/// two processes mapping one binary are not counted twice).
pub fn proc_kib(pids: &[i32], file: &str, key: &str) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/{file}")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// CPU time `pids` have used, in ns: each process's CPU clock, which counts all its
/// threads, those that have ended too. (`/proc/PID/schedstat` counts the main thread
/// only: keepalived-rs's parent loads and encodes a configuration on a thread of its
/// own, which that missed.)
pub fn cpu_ns(pids: &[i32]) -> u64 {
    pids.iter().filter_map(|&p| process_cpu_ns(p)).sum()
}

fn process_cpu_ns(pid: i32) -> Option<u64> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: clock_getcpuclockid writes a clockid_t through the pointer we pass.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
        return None;
    }
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes a timespec through the pointer we pass.
    if unsafe { libc::clock_gettime(clock, &mut t) } != 0 {
        return None;
    }
    Some(u64::try_from(t.tv_sec).ok()? * 1_000_000_000 + u64::try_from(t.tv_nsec).ok()?)
}

/// The CPU `pids` spend on `act` beyond their steady use: CPU over `window` after it,
/// less CPU over the same window just before. For a daemon that logs no end to, say, a
/// reload, this is what the reload cost it; for a single-threaded one that does it in one
/// go, it is close to the time it was occupied.
pub fn excess_cpu_ms(pids: &[i32], window: Duration, act: impl FnOnce()) -> f64 {
    let a = cpu_ns(pids);
    std::thread::sleep(window);
    let b = cpu_ns(pids);
    act();
    std::thread::sleep(window);
    let c = cpu_ns(pids);
    (c.saturating_sub(b) as f64 - b.saturating_sub(a) as f64) / 1e6
}

/// The median and the largest of `v` (NaN for none).
pub fn median_worst(v: &[f64]) -> (f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let median = match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    };
    (median, v.last().copied().unwrap_or(f64::NAN))
}

/// VRIDs on each link between two routers; the default is 4 links, 1,000 instances.
pub const VRIDS: usize = 250;
pub const LINKS: usize = 4;
pub const INSTANCES: usize = LINKS * VRIDS;

/// `count` veth pairs between two namespaces, `<tag>Ka` ↔ `<tag>Kb`, on 10.(110+K)/16,
/// carrying 250 VRRP instances each with VIP 10.(110+K).1.(VRID).
pub struct Links<'a> {
    ns: [&'a Netns; 2],
    tag: String,
    count: usize,
}

impl<'a> Links<'a> {
    pub fn new(ns: [&'a Netns; 2], tag: &str, count: usize) -> Links<'a> {
        let links = Links {
            ns,
            tag: tag.to_string(),
            count,
        };
        for k in 0..count {
            let (a, b) = (links.dev(0, k), links.dev(1, k));
            let out = std::process::Command::new("ip")
                .args(["link", "add", &a, "netns", &ns[0].name, "type", "veth"])
                .args(["peer", "name", &b, "netns", &ns[1].name])
                .output();
            if !out.is_ok_and(|o| o.status.success()) {
                usage("cannot create the veth pairs (root?)");
            }
            for (i, dev) in [&a, &b].into_iter().enumerate() {
                let addr = format!("10.{}.255.{}/16", 110 + k, i + 1);
                ns[i].ip(&["addr", "add", &addr, "dev", dev]);
                ns[i].ip(&["link", "set", dev, "up"]);
            }
        }
        links
    }

    /// The VRRP instances on these links.
    pub fn instances_count(&self) -> usize {
        self.count * VRIDS
    }

    /// Router `i`'s end of link `k`.
    pub fn dev(&self, i: usize, k: usize) -> String {
        format!("{}{k}{}", self.tag, if i == 0 { 'a' } else { 'b' })
    }

    /// Router `i`'s `vrrp_instance` blocks, 250 a link (advert_int 1 s), at `priority`.
    pub fn instances(&self, i: usize, priority: u8) -> String {
        let mut s = String::new();
        for k in 0..self.count {
            for v in 0..VRIDS {
                let _ = write!(
                    s,
                    "vrrp_instance VI_{k}_{v} {{\n  state BACKUP\n  interface {}\n  virtual_router_id {}\n  priority {priority}\n  advert_int 1\n  virtual_ipaddress {{\n    10.{}.1.{}/16\n  }}\n}}\n",
                    self.dev(i, k),
                    v + 1,
                    110 + k,
                    v + 1
                );
            }
        }
        s
    }

    /// How many of the instances' VIPs router `i` holds.
    pub fn vips(&self, i: usize) -> usize {
        let out = self.ns[i]
            .command("ip")
            .args(["-4", "-o", "addr", "show"])
            .output();
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        text.lines()
            .filter(|l| (0..self.count).any(|k| l.contains(&format!(" 10.{}.1.", 110 + k))))
            .count()
    }

    /// Takes router `i`'s VIPs away, as a dead host loses them.
    pub fn drop_vips(&self, i: usize) {
        for k in 0..self.count {
            let _ = self.ns[i]
                .command("ip")
                .args(["addr", "flush", "dev", &self.dev(i, k)])
                .args(["to", &format!("10.{}.1.0/24", 110 + k)])
                .output();
        }
    }
}
