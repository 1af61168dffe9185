//! `keepalived-sim check`: the keepalived.conf files of a cluster, one host each, turned
//! into a simulated cluster and a generated fault campaign over it.
//!
//! The cluster: each file is a host named by its file stem (config id too, for `@host`
//! lines); each interface a config uses is plugged into the segment of the same name
//! unless `--segments` says otherwise; every real server a virtual server checks becomes
//! a simulated server on the segment whose VIP subnet holds its address (else the first
//! checker host's first segment), answering each HTTP_GET URL with a status it accepts.
//!
//! The campaign, each run over several seeds with every invariant on: a fault-free
//! baseline; each host crashed and restarted, paused, and reloaded with its own config;
//! each segment partitioned and healed, with advert loss, with latency; each pair of hosts
//! on a segment partitioned one way; each track script failing then recovering; each
//! interface an instance uses or tracks taken down and up.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keepalived_engine::config::model::{CheckerKind, Config};

use crate::fidelity;
use crate::host::{default_ipv4, default_ipv6, Iface};
use crate::run::Outcome;
use crate::scenario::{
    assign_addresses, load_config_file, Action, Event, Host, HttpAnswer, Role, Scenario,
};
use crate::world::Kind;

/// A cluster read from config files, ready for a campaign.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub base: Scenario,
}

/// `--segments`: host `host`'s interface `iface` is on segment `segment`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentOverride {
    pub host: String,
    pub iface: String,
    pub segment: String,
}

impl SegmentOverride {
    /// `HOST:IFACE=SEGMENT`.
    pub fn parse(s: &str) -> Result<SegmentOverride, String> {
        let bad = || format!("{s:?}: expected HOST:IFACE=SEGMENT");
        let (lhs, segment) = s.rsplit_once('=').ok_or_else(bad)?;
        let (host, iface) = lhs.rsplit_once(':').ok_or_else(bad)?;
        if [host, iface, segment].iter().any(|x| x.is_empty()) {
            return Err(bad());
        }
        Ok(SegmentOverride {
            host: host.into(),
            iface: iface.into(),
            segment: segment.into(),
        })
    }
}

/// Reads the cluster of `files` (one host each).
pub fn cluster(files: &[PathBuf], overrides: &[SegmentOverride]) -> Result<Cluster, String> {
    let mut segments: Vec<String> = Vec::new();
    let seg_index =
        |name: &str, segments: &mut Vec<String>| match segments.iter().position(|s| s == name) {
            Some(k) => k,
            None => {
                segments.push(name.to_string());
                segments.len() - 1
            }
        };
    let mut hosts: Vec<Host> = Vec::new();
    for f in files {
        let name = host_name(f, files)?;
        if hosts.iter().any(|h| h.name == name) {
            return Err(format!(
                "{}: two hosts would be named {name}; each file is one host, named by its stem (or, when stems repeat, its directory)",
                f.display()
            ));
        }
        let config = load_config_file(f, &name).map_err(|m| format!("host {name}: {m}"))?;
        let role = if config.instances.is_empty() && !config.virtual_servers.is_empty() {
            Role::Checker
        } else {
            Role::Vrrp
        };
        let mut names: Vec<String> = Vec::new();
        for (n, _) in fidelity::interfaces_named(&config) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
        if names.is_empty() {
            names.push("eth0".into());
        }
        let i = hosts.len();
        let ifaces = names
            .into_iter()
            .map(|n| {
                let seg = overrides
                    .iter()
                    .find(|o| o.host == name && o.iface == n)
                    .map_or(n.clone(), |o| o.segment.clone());
                let segment = seg_index(&seg, &mut segments);
                Iface {
                    name: n,
                    segment,
                    ipv4: default_ipv4(segment, i),
                    ipv6: default_ipv6(segment, i),
                }
            })
            .collect();
        hosts.push(Host {
            name,
            role,
            source: f.display().to_string(),
            config: Arc::new(config),
            ifaces,
            listen: Vec::new(),
            http: Vec::new(),
            inject: None,
        });
    }
    for o in overrides {
        let ok = hosts
            .iter()
            .any(|h| h.name == o.host && h.iface(&o.iface).is_some());
        if !ok {
            return Err(format!(
                "--segments {}:{}={}: no host {} with interface {}",
                o.host, o.iface, o.segment, o.host, o.iface
            ));
        }
    }
    let directors = hosts.len();
    let unfaithful = add_real_servers(&mut hosts, &mut segments);
    if !unfaithful.is_empty() {
        return Err(unfaithful.join("\n"));
    }
    if segments.len() > crate::scenario::MAX_HOSTS || hosts.len() > crate::scenario::MAX_HOSTS {
        return Err(format!(
            "{} hosts on {} segments: at most {} of each",
            hosts.len(),
            segments.len(),
            crate::scenario::MAX_HOSTS
        ));
    }
    assign_addresses(&mut hosts, &vec![Vec::new(); directors]);
    for i in 0..hosts.len() {
        fidelity::check_host(&hosts, &segments, i)?;
    }
    // A likely topology mistake would make every run pass without the instances ever
    // meeting: refused, unless --segments placed that host's interfaces deliberately.
    let lonely = topology_warnings(&hosts, &segments, overrides);
    if !lonely.is_empty() {
        return Err(lonely.join("\n"));
    }
    let base = Scenario {
        file: files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        name: "baseline".into(),
        description: String::new(),
        duration: 10.0,
        tick_ms: 1,
        // A few milliseconds of random delay per message, so seeds differ, well under
        // the slack the shortest advert interval allows.
        max_latency_ms: shortest_advert_ms(&hosts).map_or(5, |ms| (ms / 8).clamp(1, 5)),
        segments,
        hosts,
        events: Vec::new(),
        expects: Vec::new(),
    };
    Ok(Cluster { base })
}

/// A real server being gathered: its ports, its HTTP answers and its segment.
type Server = (Vec<u16>, Vec<HttpAnswer>, Option<usize>);

fn shortest_advert_ms(hosts: &[Host]) -> Option<u64> {
    hosts
        .iter()
        .flat_map(|h| &h.config.instances)
        .map(|vi| vi.advert_int_us / 1000)
        .min()
}

/// The host a file is: its stem, or its directory's name when another file has the
/// same stem (`lvs1/keepalived.conf`, `lvs2/keepalived.conf`).
fn host_name(f: &Path, files: &[PathBuf]) -> Result<String, String> {
    let stem = |p: &Path| p.file_stem().map(|s| s.to_string_lossy().into_owned());
    let name = stem(f).ok_or_else(|| format!("{}: not a file name", f.display()))?;
    if files
        .iter()
        .filter(|g| stem(g).as_deref() == Some(&name))
        .count()
        < 2
    {
        return Ok(name);
    }
    std::fs::canonicalize(f)
        .ok()
        .and_then(|p| {
            p.parent()?
                .file_name()
                .map(|d| d.to_string_lossy().into_owned())
        })
        .ok_or_else(|| {
            format!(
                "{}: two files are named {name} and its directory has no name",
                f.display()
            )
        })
}

/// A simulated server for every address a checker probes, answering every URL asked of
/// it with a status the checker accepts. What cannot be served faithfully is returned.
fn add_real_servers(hosts: &mut Vec<Host>, segments: &mut Vec<String>) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut servers: BTreeMap<IpAddr, Server> = BTreeMap::new();
    let directors = hosts.len();
    for h in hosts[..directors].iter() {
        // The segment of a VIP subnet holding the address.
        let vip_segment = |a: IpAddr| -> Option<usize> {
            h.config.instances.iter().find_map(|vi| {
                let k = crate::host::iface_of(&h.ifaces, vi)?;
                vi.virtual_ipaddress
                    .iter()
                    .any(|v| same_subnet(v.address, a, v.prefix_len))
                    .then(|| h.ifaces[k].segment)
            })
        };
        for (ip, port, c) in fidelity::probed(&h.config) {
            let e = servers.entry(ip).or_insert((Vec::new(), Vec::new(), None));
            if !e.0.contains(&port) {
                e.0.push(port);
            }
            if e.2.is_none() {
                e.2 = vip_segment(ip).or(h.ifaces.first().map(|i| i.segment));
            }
            let CheckerKind::HttpGet(hc) = &c.kind else {
                continue;
            };
            for u in &hc.urls {
                if let Some(d) = &u.digest {
                    let m = format!(
                        "{ip}: HTTP_GET {} expects digest {d}, a body the simulated server cannot \
                         make up; run it from a scenario file whose real_server hosts give `http` \
                         answers with the real body",
                        u.path
                    );
                    if !warnings.contains(&m) {
                        warnings.push(m);
                    }
                }
                if !e.1.iter().any(|a| a.path == u.path) {
                    e.1.push(HttpAnswer {
                        path: u.path.clone(),
                        status: u.status_codes.first().map_or(200, |r| r.0),
                        body: String::new(),
                    });
                }
            }
        }
    }
    for (ip, (listen, http, seg)) in servers {
        let segment = match seg {
            Some(s) => s,
            None => {
                segments.push("servers".into());
                segments.len() - 1
            }
        };
        let i = hosts.len();
        hosts.push(Host {
            name: format!("rs-{ip}"),
            role: Role::RealServer,
            source: String::new(),
            config: Arc::new(Config::default()),
            ifaces: vec![Iface {
                name: "eth0".into(),
                segment,
                ipv4: match ip {
                    IpAddr::V4(a) => a,
                    IpAddr::V6(_) => default_ipv4(segment, i),
                },
                ipv6: match ip {
                    IpAddr::V6(a) => a,
                    IpAddr::V4(_) => default_ipv6(segment, i),
                },
            }],
            listen,
            http,
            inject: None,
        });
    }
    warnings
}

fn same_subnet(a: IpAddr, b: IpAddr, prefix: u8) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let m = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(a) & m == u32::from(b) & m
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let m = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(a) & m == u128::from(b) & m
        }
        _ => false,
    }
}

/// An instance alone on its segment while the same VRID runs on other hosts elsewhere:
/// most likely an interface mapped to the wrong segment, or a typo in `interface`.
fn topology_warnings(
    hosts: &[Host],
    segments: &[String],
    overrides: &[SegmentOverride],
) -> Vec<String> {
    let mut seen: Vec<(usize, String, u8, bool, usize, String)> = Vec::new();
    for (h, hs) in hosts.iter().enumerate() {
        for vi in &hs.config.instances {
            let Some(k) = crate::host::iface_of(&hs.ifaces, vi) else {
                continue;
            };
            seen.push((
                h,
                vi.name.clone(),
                vi.virtual_router_id,
                vi.is_ipv6(),
                hs.ifaces[k].segment,
                hs.ifaces[k].name.clone(),
            ));
        }
    }
    let mut out = Vec::new();
    for (h, inst, vrid, v6, seg, ifname) in &seen {
        let peers_here = seen
            .iter()
            .any(|(o, _, v, f, s, _)| o != h && v == vrid && f == v6 && s == seg);
        let elsewhere: Vec<String> = seen
            .iter()
            .filter(|(o, _, v, f, s, _)| o != h && v == vrid && f == v6 && s != seg)
            .map(|(o, i, _, _, s, n)| format!("{} {i} on {n} ({})", hosts[*o].name, segments[*s]))
            .collect();
        let placed = overrides
            .iter()
            .any(|o| o.host == hosts[*h].name && o.iface == *ifname);
        if !peers_here && !elsewhere.is_empty() && !placed {
            out.push(format!(
                "likely topology mistake: {} {inst} (VRID {vrid}) is alone on segment {} ({ifname}) while {} runs VRID {vrid}; \
                 map the interfaces to one segment with --segments HOST:IFACE=SEGMENT if they share a LAN",
                hosts[*h].name,
                segments[*seg],
                elsewhere.join(", ")
            ));
        }
    }
    out
}

/// The timing of a campaign run: settle, fault, hold, recover, settle.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// When the fault comes: after the cluster has elected and settled.
    fault: f64,
    /// How long it lasts.
    hold: f64,
    /// The whole run.
    duration: f64,
    /// The longest master-down interval of the cluster, (down_timer_adverts + 1) ×
    /// advert_int: the protocol's bound on a takeover.
    bound: f64,
    /// The shortest advert interval.
    advert: f64,
}

fn timing(sc: &Scenario) -> Timing {
    let bound = sc
        .hosts
        .iter()
        .flat_map(|h| &h.config.instances)
        .map(|vi| f64::from(vi.down_timer_adverts + 1) * vi.advert_int_us as f64 / 1e6)
        .fold(0.0, f64::max);
    let preempt = sc
        .hosts
        .iter()
        .flat_map(|h| &h.config.instances)
        .map(|vi| vi.preempt_delay_us as f64 / 1e6)
        .fold(0.0, f64::max);
    let scripts = sc
        .hosts
        .iter()
        .flat_map(|h| &h.config.vrrp_scripts)
        .map(|s| (s.interval_us as f64 / 1e6) * f64::from(s.fall.max(s.rise).max(1)))
        .fold(0.0, f64::max);
    let checkers = sc
        .hosts
        .iter()
        .flat_map(|h| &h.config.virtual_servers)
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .map(|c| {
            let s = &c.schedule;
            (s.delay_loop_us
                + u64::from(s.retry + 1) * (s.connect_timeout_us + s.delay_before_retry_us))
                as f64
                / 1e6
        })
        .fold(0.0, f64::max);
    let advert = sc
        .hosts
        .iter()
        .flat_map(|h| &h.config.instances)
        .map(|vi| vi.advert_int_us as f64 / 1e6)
        .fold(f64::INFINITY, f64::min);
    let advert = if advert.is_finite() { advert } else { 1.0 };
    let settle = (2.0 * bound + preempt + 2.0).max(5.0);
    let hold = (3.0 * bound).max(scripts * 2.0).max(checkers).max(5.0);
    Timing {
        fault: settle,
        hold,
        duration: settle + hold + settle + preempt,
        bound,
        advert,
    }
}

/// One generated scenario.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scenario: Scenario,
    /// The protocol's takeover bound, for the table.
    pub bound: f64,
    /// How far a seed may move the faults: up to one advert interval.
    pub jitter: f64,
}

impl Plan {
    /// The scenario as seed `seed` runs it: its faults moved by a fraction of an advert
    /// interval drawn from the seed, so that each seed meets the protocol's timers at
    /// another phase.
    pub fn for_seed(&self, seed: u64) -> Scenario {
        let shift = crate::rng::Rng(seed).unit() * self.jitter;
        // Whole milliseconds, so a trace's times stay readable.
        let shift = (shift * 1000.0).round() / 1000.0;
        let mut sc = self.scenario.clone();
        for e in &mut sc.events {
            e.at += shift;
        }
        sc.duration += shift;
        sc
    }
}

/// The campaign over `c`'s cluster.
pub fn campaign(c: &Cluster) -> Vec<Plan> {
    let base = &c.base;
    let t = timing(base);
    let n = base.hosts.len();
    let vrrp: Vec<usize> = (0..n)
        .filter(|&h| base.hosts[h].role == Role::Vrrp && !base.hosts[h].config.instances.is_empty())
        .collect();
    // Every host that runs keepalived-rs: VRRP hosts and checker-only ones.
    let daemons: Vec<usize> = (0..n)
        .filter(|&h| base.hosts[h].role != Role::RealServer)
        .collect();
    let servers: Vec<usize> = (0..n)
        .filter(|&h| base.hosts[h].role == Role::RealServer)
        .collect();
    let mut plans = Vec::new();
    let mut add = |name: String, events: Vec<(f64, Action)>| {
        let mut sc = base.clone();
        sc.name = name;
        sc.duration = t.duration;
        sc.events = events
            .into_iter()
            .map(|(at, action)| Event { at, action })
            .collect();
        plans.push(Plan {
            scenario: sc,
            bound: t.bound,
            jitter: t.advert.min(1.0),
        });
    };
    let (at, end) = (t.fault, t.fault + t.hold);
    let name = |h: usize| base.hosts[h].name.clone();
    add("baseline".into(), Vec::new());
    for &h in &daemons {
        add(
            format!("crash {} and restart", name(h)),
            vec![(at, Action::Crash(h)), (end, Action::Restart(h))],
        );
    }
    for &h in &daemons {
        add(
            format!("pause {} for {:.1} s", name(h), t.hold),
            vec![(at, Action::Pause(h, (t.hold * 1000.0) as u64))],
        );
    }
    // A stall shorter than the master-down interval: the master resumes as MASTER while
    // a backup may just have taken over.
    for &h in &vrrp {
        let ms = (t.bound * 1000.0 * 0.75) as u64;
        add(
            format!("pause {} for {:.3} s", name(h), ms as f64 / 1000.0),
            vec![(at, Action::Pause(h, ms))],
        );
    }
    for &h in &daemons {
        add(
            format!("reload {} with its own config", name(h)),
            vec![(at, Action::Reload(h, base.hosts[h].config.clone()))],
        );
    }
    for &h in &servers {
        add(
            format!("real server {} hangs and recovers", name(h)),
            vec![(at, Action::Hang(h)), (end, Action::Recover(h))],
        );
        add(
            format!("real server {} refuses and accepts", name(h)),
            vec![(at, Action::Refuse(h)), (end, Action::Accept(h))],
        );
        add(
            format!("real server {} crashes and restarts", name(h)),
            vec![(at, Action::Crash(h)), (end, Action::Restart(h))],
        );
    }
    for &h in &daemons {
        let mut commands: Vec<String> = Vec::new();
        for c in base.hosts[h]
            .config
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .flat_map(|rs| &rs.checkers)
        {
            if let CheckerKind::MiscCheck(m) = &c.kind {
                let cmd = m
                    .misc_path
                    .as_ref()
                    .map(|c| c.argv.join(" "))
                    .unwrap_or_default();
                if !commands.contains(&cmd) {
                    commands.push(cmd);
                }
            }
        }
        for cmd in commands {
            add(
                format!("MISC_CHECK {cmd} fails on {}", name(h)),
                vec![
                    (
                        at,
                        Action::Script {
                            host: h,
                            script: cmd.clone(),
                            ok: false,
                        },
                    ),
                    (
                        end,
                        Action::Script {
                            host: h,
                            script: cmd,
                            ok: true,
                        },
                    ),
                ],
            );
        }
    }
    for (s, seg) in base.segments.iter().enumerate() {
        let on: Vec<usize> = vrrp
            .iter()
            .copied()
            .filter(|&h| base.hosts[h].ifaces.iter().any(|i| i.segment == s))
            .collect();
        if on.len() < 2 {
            continue;
        }
        let pairs: Vec<(usize, usize)> = on
            .iter()
            .flat_map(|&a| on.iter().filter(move |&&b| b != a).map(move |&b| (a, b)))
            .collect();
        add(
            format!("partition segment {seg} and heal"),
            vec![
                (
                    at,
                    Action::Partition {
                        pairs: pairs.clone(),
                        segment: Some(s),
                    },
                ),
                (
                    end,
                    Action::Heal {
                        pairs,
                        segment: Some(s),
                    },
                ),
            ],
        );
        for &(a, b) in on
            .iter()
            .flat_map(|&a| on.iter().filter(move |&&b| b != a).map(move |&b| (a, b)))
            .collect::<Vec<_>>()
            .iter()
        {
            add(
                format!("one-way partition {} -> {} on {seg}", name(a), name(b)),
                vec![
                    (
                        at,
                        Action::Partition {
                            pairs: vec![(a, b)],
                            segment: Some(s),
                        },
                    ),
                    (
                        end,
                        Action::Heal {
                            pairs: vec![(a, b)],
                            segment: Some(s),
                        },
                    ),
                ],
            );
        }
        add(
            format!("5% advert loss on {seg}"),
            vec![
                (
                    at,
                    Action::Loss {
                        segment: Some(s),
                        hosts: Vec::new(),
                        rate: 0.05,
                    },
                ),
                (
                    end,
                    Action::Loss {
                        segment: Some(s),
                        hosts: Vec::new(),
                        rate: 0.0,
                    },
                ),
            ],
        );
        let min_int = base
            .hosts
            .iter()
            .flat_map(|h| &h.config.instances)
            .map(|vi| vi.advert_int_us)
            .min()
            .unwrap_or(1_000_000);
        let ms = (min_int / 4000).clamp(1, 250);
        add(
            format!("{ms} ms latency on {seg}"),
            vec![
                (
                    at,
                    Action::Latency {
                        segment: Some(s),
                        hosts: Vec::new(),
                        ms,
                    },
                ),
                (
                    end,
                    Action::Latency {
                        segment: Some(s),
                        hosts: Vec::new(),
                        ms: 0,
                    },
                ),
            ],
        );
    }
    for &h in &vrrp {
        let cfg = &base.hosts[h].config;
        let mut tracked: Vec<String> = Vec::new();
        for refs in cfg
            .instances
            .iter()
            .map(|vi| &vi.trackers.scripts)
            .chain(cfg.sync_groups.iter().map(|g| &g.trackers.scripts))
        {
            for r in refs {
                if !tracked.contains(&r.name) {
                    tracked.push(r.name.clone());
                }
            }
        }
        for s in tracked {
            add(
                format!("track script {s} fails on {}", name(h)),
                vec![
                    (
                        at,
                        Action::Script {
                            host: h,
                            script: s.clone(),
                            ok: false,
                        },
                    ),
                    (
                        end,
                        Action::Script {
                            host: h,
                            script: s,
                            ok: true,
                        },
                    ),
                ],
            );
        }
        for (k, i) in base.hosts[h].ifaces.iter().enumerate() {
            add(
                format!("link {} down on {}", i.name, name(h)),
                vec![(at, Action::LinkDown(h, k)), (end, Action::LinkUp(h, k))],
            );
        }
    }
    plans
}

/// What the table says of one scenario over its seeds.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: String,
    pub seeds: usize,
    pub failed: usize,
    /// The longest takeover after a master was lost, over the seeds.
    pub failover: Option<f64>,
    pub bound: f64,
    /// State changes (leaving INIT aside), the most over the seeds.
    pub transitions: usize,
}

impl Row {
    pub fn of(plan: &Plan, outcomes: &[&Outcome]) -> Row {
        Row {
            scenario: plan.scenario.name.clone(),
            seeds: outcomes.len(),
            failed: outcomes.iter().filter(|o| !o.ok()).count(),
            failover: outcomes
                .iter()
                .flat_map(|o| o.failovers.iter().map(|f| f.1))
                .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x)))),
            bound: plan.bound,
            transitions: outcomes
                .iter()
                .map(|o| {
                    o.trace
                        .iter()
                        .filter(|l| l.kind == Kind::State && l.from.as_deref() != Some("INIT"))
                        .count()
                })
                .max()
                .unwrap_or(0),
        }
    }
}

/// The table `check` prints.
pub fn table(rows: &[Row]) -> String {
    use std::fmt::Write as _;
    let w = rows
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<w$}  {:>7}  {:>9}  {:>9}  {:>11}",
        "scenario", "outcome", "failover", "bound", "transitions"
    );
    for r in rows {
        let outcome = if r.failed == 0 {
            format!("{}/{} ok", r.seeds, r.seeds)
        } else {
            format!("{} FAIL", r.failed)
        };
        let fo = r.failover.map_or("-".to_string(), |f| format!("{f:.3} s"));
        let _ = writeln!(
            s,
            "{:<w$}  {:>7}  {:>9}  {:>9}  {:>11}",
            r.scenario,
            outcome,
            fo,
            format!("{:.3} s", r.bound),
            r.transitions
        );
    }
    s
}

/// The command that reproduces one run of the campaign.
pub fn reproduce(
    files: &[PathBuf],
    overrides: &[SegmentOverride],
    scenario: &str,
    seed: u64,
) -> String {
    let mut cmd = String::from("keepalived-sim check");
    for f in files {
        cmd.push(' ');
        cmd.push_str(&shell_word(&f.display().to_string()));
    }
    for o in overrides {
        cmd.push_str(" --segments ");
        cmd.push_str(&shell_word(&format!(
            "{}:{}={}",
            o.host, o.iface, o.segment
        )));
    }
    cmd.push_str(&format!(" --only {} --seed {seed}", shell_word(scenario)));
    cmd
}

fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
