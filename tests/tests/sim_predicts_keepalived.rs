//! What the simulator predicts for `examples/director-pair` is what keepalived 2.2.7 and
//! keepalived-rs do on real namespaces.
//!
//! Two Ethernet segments, each a bridge in a namespace of its own (`ext` and `int`), and
//! two directors, `lvs1` and `lvs2`, each with an `eth0` on `ext` and an `eth1` on `int`,
//! the interface names the example's configs name. Each implementation in turn runs both
//! directors on the example's own files (`lvs1.conf`, `lvs2.conf` and the `common.conf`
//! they include, copied side by side). The virtual server in `common.conf` needs IPVS,
//! which the kernels the tests run on lack, so both implementations run the directors
//! VRRP-only (`-P`); the simulator runs the checker too, but the three facts compared
//! here are VRRP's alone:
//! 1. who holds both virtual addresses (VI_EXT's and VI_INT's) before the fault;
//! 2. who holds both once lvs1's `eth1` is down, the two having moved together (the sync
//!    group VG_LVS: VI_INT faults and takes VI_EXT with it);
//! 3. who holds both once `eth1` is back up (lvs1, priority 150, preempts).
//!
//! The simulator's facts come from the trace of `internal-link-fails.toml` (seed 1). The
//! failover of each implementation takes at most the master-down interval's bound,
//! (3 + 1) × advert_int (RFC 3768 §6.1: 3 × advert_int plus a skew time below one
//! advert_int), plus [`MARGIN`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keepalived_sim::run::Outcome;
use keepalived_sim::scenario::Scenario;
use keepalived_sim::world::{Kind, TraceLine};
use keepalived_tests::host::{keepalived_rs, run, runnable, tmp_dir, wait_for, Daemon, Netns};

const TEST: &str = "sim_keepalived_and_keepalived_rs_agree_on_the_director_pair";

/// The example's directory, relative to this crate.
const EXAMPLE: &str = "../examples/director-pair";

/// The directors, in the example's order: index 0 is `lvs1`, index 1 `lvs2`.
const DIRECTORS: [&str; 2] = ["lvs1", "lvs2"];

/// The longest any real wait may take before the test fails.
const LIMIT: Duration = Duration::from_secs(15);

/// What a failover may take beyond the master-down interval's bound.
const MARGIN: Duration = Duration::from_secs(1);

/// Two VIPs that land in different snapshots still moved together when they are this
/// close.
const TOGETHER: f64 = 0.1;

/// How long a holder must stay before it counts as a fact.
const SETTLE: Duration = Duration::from_secs(1);

/// What each director holds: its addresses, without prefix lengths.
type Held = BTreeMap<String, BTreeSet<String>>;

/// The director that holds every VIP while every other holds none; none otherwise.
fn holder(held: &Held, vips: &[String]) -> Option<String> {
    let has_all = |a: &BTreeSet<String>| vips.iter().all(|v| a.contains(v));
    let has_none = |a: &BTreeSet<String>| vips.iter().all(|v| !a.contains(v));
    let mut all = held.iter().filter(|(_, a)| has_all(a));
    let (who, _) = all.next()?;
    (all.next().is_none() && held.iter().all(|(name, a)| name == who || has_none(a)))
        .then(|| who.clone())
}

/// Which of `vips` each director holds.
fn vips_held<'a>(held: &'a Held, vips: &[String]) -> BTreeMap<&'a str, Vec<&'a String>> {
    held.iter()
        .map(|(name, a)| {
            (
                name.as_str(),
                a.iter().filter(|x| vips.contains(x)).collect(),
            )
        })
        .collect()
}

/// The three facts of the module's doc, and the times behind them.
#[derive(Debug)]
struct Facts {
    before: Option<String>,
    after: Option<String>,
    /// Seconds between the first and the last VIP reaching the new holder.
    spread: f64,
    back: Option<String>,
    /// From the link going down to the new holder holding both and the old neither.
    failover: Duration,
    /// From the link coming back to the old holder holding both again.
    takeback: Duration,
}

impl std::fmt::Display for Facts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = |h: &Option<String>| h.clone().unwrap_or_else(|| "nobody".to_string());
        write!(
            f,
            "{} holds both; link down: {} holds both after {:.3} s (VIPs {:.3} s apart); \
             link up: {} holds both after {:.3} s",
            who(&self.before),
            who(&self.after),
            self.failover.as_secs_f64(),
            self.spread,
            who(&self.back),
            self.takeback.as_secs_f64()
        )
    }
}

impl Facts {
    /// The facts the implementations must share with the simulator.
    fn shared(&self) -> (Option<&str>, Option<&str>, bool, Option<&str>) {
        (
            self.before.as_deref(),
            self.after.as_deref(),
            self.spread <= TOGETHER,
            self.back.as_deref(),
        )
    }
}

/// The example's scenario, loaded as `keepalived-sim run` loads it.
fn scenario() -> Scenario {
    let path = keepalived_tests::crate_dir()
        .join(EXAMPLE)
        .join("internal-link-fails.toml");
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Every virtual address of the directors' instances, and the longest advert_int.
fn vips_and_advert_int(sc: &Scenario) -> (Vec<String>, Duration) {
    let mut vips = BTreeSet::new();
    let mut advert_us = 0;
    for h in sc
        .hosts
        .iter()
        .filter(|h| DIRECTORS.contains(&h.name.as_str()))
    {
        for i in &h.config.instances {
            vips.extend(i.virtual_ipaddress.iter().map(|a| a.address.to_string()));
            advert_us = advert_us.max(i.advert_int_us);
        }
    }
    assert_eq!(
        vips.len(),
        2,
        "the example's instances have one VIP each: {vips:?}"
    );
    (vips.into_iter().collect(), Duration::from_micros(advert_us))
}

/// The time of the scenario's `action` on `lvs1`, from its trace line.
fn fault_time(o: &Outcome, action: &str) -> f64 {
    o.trace
        .iter()
        .find(|l| l.kind == Kind::Fault && l.reason.as_deref() == Some(action))
        .unwrap_or_else(|| panic!("no {action} in the simulator's trace"))
        .t
}

/// Applies the address changes of `lines` to what each director holds.
fn replay<'a>(lines: impl Iterator<Item = &'a TraceLine>, held: &mut Held) {
    for l in lines {
        let Some(a) = held.get_mut(&l.host) else {
            continue;
        };
        match l.kind {
            Kind::AddressAdd => {
                a.insert(l.detail.trim_start_matches("+ ").to_string());
            }
            Kind::AddressDel => {
                a.remove(l.detail.trim_start_matches("- "));
            }
            _ => {}
        }
    }
}

fn nobody_holds() -> Held {
    DIRECTORS
        .iter()
        .map(|d| (d.to_string(), BTreeSet::new()))
        .collect()
}

/// What each director holds just before `t`.
fn held_before(o: &Outcome, t: f64) -> Held {
    let mut held = nobody_holds();
    replay(o.trace.iter().filter(|l| l.t < t), &mut held);
    held
}

/// The first instant from `since` on after which `want` holds every VIP and every other
/// director none, counting every line of one instant together.
fn first_held_by(o: &Outcome, since: f64, want: &str, vips: &[String]) -> Option<f64> {
    let mut held = held_before(o, since);
    let later: Vec<&TraceLine> = o.trace.iter().filter(|l| l.t >= since).collect();
    later.chunk_by(|a, b| a.t == b.t).find_map(|same| {
        replay(same.iter().copied(), &mut held);
        (holder(&held, vips).as_deref() == Some(want)).then_some(same[0].t)
    })
}

/// The simulator's facts, from the trace of one run.
fn predicted(o: &Outcome, vips: &[String]) -> Facts {
    let (down, up) = (fault_time(o, "link_down"), fault_time(o, "link_up"));
    let before = holder(&held_before(o, down), vips);
    let after = holder(&held_before(o, up), vips);
    let back = holder(&held_before(o, f64::INFINITY), vips);
    let (Some(old), Some(new)) = (before.as_deref(), after.as_deref()) else {
        panic!("the simulator has no single holder around the fault: before {before:?}, after {after:?}");
    };
    let moved = first_held_by(o, down, new, vips).expect("the simulator's failover");
    let returned = first_held_by(o, up, old, vips).expect("the simulator's takeback");
    // When each VIP last reached the new holder while the link was down.
    let arrivals: Vec<f64> = vips
        .iter()
        .map(|v| {
            o.trace
                .iter()
                .filter(|l| l.t >= down && l.t < up && l.host == new)
                .filter(|l| l.kind == Kind::AddressAdd && l.detail == format!("+ {v}"))
                .map(|l| l.t)
                .next_back()
                .unwrap_or_else(|| panic!("{v} never reached {new} in the simulator"))
        })
        .collect();
    let spread = arrivals.iter().copied().fold(f64::MIN, f64::max)
        - arrivals.iter().copied().fold(f64::MAX, f64::min);
    Facts {
        before,
        after,
        spread,
        back,
        failover: Duration::from_secs_f64(moved - down),
        takeback: Duration::from_secs_f64(returned - up),
    }
}

/// The implementation that runs the directors.
#[derive(Clone, Copy, Debug)]
enum Implementation {
    Keepalived,
    KeepalivedRs,
}

impl Implementation {
    fn name(self) -> &'static str {
        match self {
            Implementation::Keepalived => "keepalived 2.2.7",
            Implementation::KeepalivedRs => "keepalived-rs",
        }
    }

    /// Director `conf` in `ns`, VRRP only, in the foreground, its files `<tag>.*` in `dir`.
    fn start(self, ns: &Netns, conf: &Path, dir: &Path, tag: &str) -> Daemon {
        match self {
            Implementation::KeepalivedRs => Daemon::ours(ns, conf, dir, tag, &["-P"]),
            Implementation::Keepalived => {
                let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
                let (conf, p, r) = (conf.display().to_string(), file("p"), file("r"));
                let args = ["-n", "-l", "-D", "-P", "-f", &conf, "-p", &p, "-r", &r];
                let log = dir.join(format!("{tag}.log"));
                Daemon::start(ns, Path::new("keepalived"), &args, log)
            }
        }
    }
}

/// The two segments and the directors on them. The namespaces go, with everything in
/// them, when this is dropped.
struct Directors {
    /// `lvs1`'s and `lvs2`'s namespaces.
    ns: [Netns; 2],
    _segments: [Netns; 2],
}

impl Directors {
    /// Namespaces `<prefix>1` and `<prefix>2` for the directors, and one bridge per
    /// segment in a namespace of the bridge's name, `<prefix>ext` and `<prefix>int`:
    /// director `i` has `eth0` on `ext` with 203.0.113.(`i` + 1)/24 and `eth1` on `int`
    /// with 192.168.100.(`i` + 2)/24, the VIPs' subnets; their bridge ports are
    /// `<prefix>(i + 1)e` and `<prefix>(i + 1)i`.
    fn new(prefix: &str) -> Directors {
        let segments = ["ext", "int"].map(|s| Netns::bridge(&format!("{prefix}{s}")));
        let ns = [1, 2].map(|i| Netns::new(&format!("{prefix}{i}")));
        for (i, host) in ns.iter().enumerate() {
            let links = [
                ("eth0", &segments[0], "e", format!("203.0.113.{}/24", i + 1)),
                (
                    "eth1",
                    &segments[1],
                    "i",
                    format!("192.168.100.{}/24", i + 2),
                ),
            ];
            for (dev, seg, side, addr) in links {
                let port = format!("{}{side}", host.name);
                run(
                    "ip",
                    &[
                        "link", "add", dev, "netns", &host.name, "type", "veth", "peer", "name",
                        &port, "netns", &seg.name,
                    ],
                );
                seg.ip(&["link", "set", &port, "master", &seg.name]);
                seg.ip(&["link", "set", &port, "up"]);
                host.ip(&["addr", "add", &addr, "dev", dev]);
                host.ip(&["link", "set", dev, "up"]);
            }
        }
        Directors {
            ns,
            _segments: segments,
        }
    }

    /// What each director holds now, each read in one `ip -br addr` (every interface at
    /// once, so two VIPs added together show together).
    fn held(&self) -> Held {
        DIRECTORS
            .iter()
            .zip(&self.ns)
            .map(|(name, ns)| {
                let out = ns
                    .command("ip")
                    .args(["-br", "addr"])
                    .output()
                    .expect("ip -br addr");
                // `DEV STATE ADDR/LEN ADDR/LEN …`
                let addrs = String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .flat_map(|l| l.split_whitespace().skip(2))
                    .filter_map(|a| a.split('/').next())
                    .map(str::to_string)
                    .collect();
                (name.to_string(), addrs)
            })
            .collect()
    }
}

/// Polls until `want` holds every VIP and the other director none, within [`LIMIT`];
/// returns how long that took from `since`, and the seconds between the first VIP and
/// the last reaching `want`. Fails with what each director holds.
fn wait_held_by(
    d: &Directors,
    want: &str,
    vips: &[String],
    since: Instant,
    what: &str,
) -> (Duration, f64) {
    let mut first_seen: BTreeMap<&String, Instant> = BTreeMap::new();
    let reached = wait_for(LIMIT, || {
        let held = d.held();
        let now = Instant::now();
        for v in vips.iter().filter(|v| held[want].contains(*v)) {
            first_seen.entry(v).or_insert(now);
        }
        holder(&held, vips).as_deref() == Some(want)
    });
    if reached.is_none() {
        panic!(
            "{what}: {want} did not hold {vips:?} alone within {LIMIT:?}; of them, each holds {:?}",
            vips_held(&d.held(), vips)
        );
    }
    let seen: Vec<Instant> = first_seen.into_values().collect();
    let (first, last) = (seen.iter().min().unwrap(), seen.iter().max().unwrap());
    (since.elapsed(), last.duration_since(*first).as_secs_f64())
}

/// The holder after [`SETTLE`].
fn settled(d: &Directors, vips: &[String]) -> Option<String> {
    std::thread::sleep(SETTLE);
    holder(&d.held(), vips)
}

/// One implementation on the real segments: the example's steps, with its facts.
fn observed(
    imp: Implementation,
    prefix: &str,
    confs: &[PathBuf; 2],
    dir: &Path,
    vips: &[String],
) -> Facts {
    // Declared first, so dropped last: the daemons die before their namespaces.
    let d = Directors::new(prefix);
    let _daemons: Vec<Daemon> = (0..2)
        .map(|i| {
            imp.start(
                &d.ns[i],
                &confs[i],
                dir,
                &format!("{prefix}-{}", DIRECTORS[i]),
            )
        })
        .collect();
    let name = imp.name();
    let (old, new) = (DIRECTORS[0], DIRECTORS[1]);

    wait_held_by(&d, old, vips, Instant::now(), &format!("{name}, start"));
    let before = settled(&d, vips);

    let down = Instant::now();
    d.ns[0].ip(&["link", "set", "eth1", "down"]);
    let (failover, spread) =
        wait_held_by(&d, new, vips, down, &format!("{name}, {old}'s eth1 down"));
    let after = settled(&d, vips);

    let up = Instant::now();
    d.ns[0].ip(&["link", "set", "eth1", "up"]);
    let (takeback, _) = wait_held_by(&d, old, vips, up, &format!("{name}, {old}'s eth1 up"));
    let back = settled(&d, vips);

    Facts {
        before,
        after,
        spread,
        back,
        failover,
        takeback,
    }
}

#[test]
fn sim_keepalived_and_keepalived_rs_agree_on_the_director_pair() {
    if !runnable(TEST, &["ip", "keepalived"]) {
        return;
    }
    let sc = scenario();
    let (vips, advert_int) = vips_and_advert_int(&sc);
    let bound = advert_int * 4 + MARGIN;
    let outcome = keepalived_sim::run::run(&sc, 1);
    assert!(
        outcome.ok(),
        "the simulator's own run failed: {:?} {:?}",
        outcome.violations,
        outcome.failed
    );
    let sim = predicted(&outcome, &vips);

    let dir = tmp_dir("sim-predicts");
    let example = keepalived_tests::crate_dir().join(EXAMPLE);
    for f in ["common.conf", "lvs1.conf", "lvs2.conf"] {
        std::fs::copy(example.join(f), dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let confs = DIRECTORS.map(|d| dir.join(format!("{d}.conf")));
    // keepalived-rs must be built beside the tests before anything starts.
    keepalived_rs();

    let real = [
        (Implementation::Keepalived, "ksvk"),
        (Implementation::KeepalivedRs, "ksvr"),
    ]
    .map(|(imp, prefix)| (imp, observed(imp, prefix, &confs, &dir, &vips)));

    eprintln!("VIPs {vips:?}; failover bound {bound:?}");
    eprintln!("simulator: {sim}");
    for (imp, f) in &real {
        eprintln!("{}: {f}", imp.name());
    }
    assert!(
        sim.failover <= bound,
        "the simulator's failover {:?} is over the bound {bound:?}",
        sim.failover
    );
    for (imp, f) in &real {
        assert_eq!(
            f.shared(),
            sim.shared(),
            "{} and the simulator disagree on (before, after, moved together, back)",
            imp.name()
        );
        assert!(
            f.failover <= bound,
            "{}'s failover took {:?}, over the bound {bound:?} (the simulator predicts {:?})",
            imp.name(),
            f.failover,
            sim.failover
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
