//! Runs a scenario under turmoil with one seed: hosts, the fault schedule, invariants at
//! every step, expectations, and the timeline.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use keepalived_engine::vrrp::State;

use crate::bfd::bfd_main;
use crate::checker::{checker_main, real_server_main};
use crate::host::Control;
use crate::platform::host_main;
use crate::scenario::{Action, Expect, Role, Scenario};
use crate::world::{HostState, Kind, TraceLine, Violation, World};

/// What one run produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub scenario: String,
    pub seed: u64,
    pub trace: Vec<TraceLine>,
    pub violations: Vec<Violation>,
    /// Expectations that did not hold.
    pub failed: Vec<String>,
    /// Failovers: (host that took over, seconds from the master's loss to the takeover).
    pub failovers: Vec<(String, f64)>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && self.failed.is_empty()
    }
}

/// The seed turmoil and every random choice start from.
pub fn run(sc: &Scenario, seed: u64) -> Outcome {
    let tick = Duration::from_millis(sc.tick_ms);
    let mut sim = turmoil::Builder::new()
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(Duration::from_secs_f64(sc.duration + 10.0))
        .tick_duration(tick)
        .min_message_latency(Duration::ZERO)
        .max_message_latency(Duration::from_millis(sc.max_latency_ms))
        .rng_seed(seed)
        .build();
    let world = Rc::new(RefCell::new(World::with_slack(
        0.05 + 3.0 * sc.max_latency_ms as f64 / 1000.0 + 3.0 * sc.tick_ms as f64 / 1000.0,
    )));
    {
        let mut w = world.borrow_mut();
        w.seed = seed;
        // A BFD session's detection timer fires at the end of the tick its deadline falls
        // in (tokio rounds it up to its millisecond, turmoil to its tick, and the world
        // is checked at tick ends): one tick. One more for the rounding between the
        // engine's microseconds, a drifting host clock's conversions and the invariant's
        // seconds, which can put a wake-up on the far side of a tick boundary.
        w.bfd_slack = 2.0 * tick.as_secs_f64();
        w.base_latency = sc.max_latency_ms as f64 / 1000.0;
        w.segments = sc.segments.clone();
    }
    for (i, h) in sc.hosts.iter().enumerate() {
        world.borrow_mut().hosts.push(HostState {
            name: h.name.clone(),
            ifaces: h.ifaces.clone(),
            links: vec![true; h.ifaces.len()],
            alive: true,
            config: h.config.clone(),
            listen: h.listen.clone(),
            http: h.http.clone(),
            inject: h.inject,
            ..HostState::default()
        });
        let w = world.clone();
        match h.role {
            Role::Vrrp if h.config.instances.is_empty() && h.config.virtual_servers.is_empty() => {
                sim.host(h.name.as_str(), move || bfd_main(w.clone(), i))
            }
            Role::Vrrp if h.config.instances.is_empty() => {
                sim.host(h.name.as_str(), move || checker_main(w.clone(), i))
            }
            Role::Vrrp => sim.host(h.name.as_str(), move || host_main(w.clone(), i)),
            Role::Checker => sim.host(h.name.as_str(), move || checker_main(w.clone(), i)),
            Role::RealServer => sim.host(h.name.as_str(), move || real_server_main(w.clone(), i)),
        }
    }
    // Holds given a duration: (release time, a, b).
    let mut releases: Vec<(f64, usize, usize)> = Vec::new();
    let name = |i: usize| sc.hosts[i].name.clone();
    let mut events = sc.events.iter().peekable();
    let mut master_checks: Vec<&Expect> = sc
        .expects
        .iter()
        .filter(|e| matches!(e, Expect::Master { .. }))
        .collect();
    let mut failed = Vec::new();
    let mut failovers = Vec::new();
    // When a master was lost, and on which host.
    let mut lost_master_at: Option<(f64, usize)> = None;
    // The directed host pairs turmoil is told to cut, following `World::path`.
    let mut applied: BTreeSet<(usize, usize)> = BTreeSet::new();
    let dt = tick.as_secs_f64();
    loop {
        let now = sim.elapsed().as_secs_f64();
        if now > sc.duration + 1e-9 {
            break;
        }
        world.borrow_mut().now = now;
        releases.retain(|&(at, a, b)| {
            if at > now + 1e-9 {
                return true;
            }
            let mut w = world.borrow_mut();
            if w.holds.get(&(a.min(b), a.max(b))) == Some(&Some(at)) {
                sim.release(name(a).as_str(), name(b).as_str());
                w.holds.remove(&(a.min(b), a.max(b)));
                w.log_fault(Some(a), "release", format!("RELEASE with {}", name(b)));
            }
            false
        });
        // Links, cuts and carriers change only by events: turmoil's links follow them then.
        let faults_changed = events.peek().is_some_and(|e| e.at <= now + 1e-9);
        while let Some(ev) = events.next_if(|e| e.at <= now + 1e-9) {
            let mut w = world.borrow_mut();
            // To the host's process, and to its checker side for what concerns both.
            let send = |w: &World, h: usize, c: Control| {
                if matches!(
                    c,
                    Control::Reload(_) | Control::Shutdown | Control::Pause(_)
                ) {
                    if let Some(tx) = &w.hosts[h].checker_control {
                        let _ = tx.send(c.clone());
                    }
                    if let Some(tx) = &w.hosts[h].bfd_control {
                        let _ = tx.send(c.clone());
                    }
                }
                if let Some(tx) = &w.hosts[h].control {
                    let _ = tx.send(c);
                }
            };
            let seg_name = |s: &Option<usize>| match s {
                Some(k) => format!(" on {}", sc.segments[*k]),
                None => String::new(),
            };
            let who = |hs: &[usize]| {
                if hs.is_empty() {
                    "all".to_string()
                } else {
                    hs.iter().map(|&h| name(h)).collect::<Vec<_>>().join(", ")
                }
            };
            let what = match &ev.action {
                Action::Crash(h) => {
                    if w.hosts[*h].inst.values().any(|i| i.state == State::Master) {
                        lost_master_at = Some((now, *h));
                    }
                    sim.crash(name(*h).as_str());
                    w.bfd_stopped(*h);
                    let hs = &mut w.hosts[*h];
                    hs.alive = false;
                    hs.listening = false;
                    hs.held.clear();
                    hs.control = None;
                    hs.checker_control = None;
                    hs.bfd_control = None;
                    for i in hs.inst.values_mut() {
                        i.state = State::Stop;
                    }
                    (*h, "CRASH".to_string())
                }
                Action::Restart(h) => {
                    sim.bounce(name(*h).as_str());
                    (*h, "RESTART".to_string())
                }
                Action::Partition { pairs, segment } => {
                    for &(a, b) in pairs {
                        match segment {
                            Some(s) => w.seg_cut.insert((*s, a, b)),
                            None => w.cut.insert((a, b)),
                        };
                    }
                    let (a, b) = pairs[0];
                    let text = if pairs.len() == 1 {
                        format!("PARTITION one-way to {}{}", name(b), seg_name(segment))
                    } else if pairs.len() == 2 {
                        format!("PARTITION from {}{}", name(b), seg_name(segment))
                    } else {
                        format!("PARTITION {} pairs{}", pairs.len() / 2, seg_name(segment))
                    };
                    (a, text)
                }
                Action::Heal { pairs, segment } => {
                    for &(a, b) in pairs {
                        match segment {
                            Some(s) => w.seg_cut.remove(&(*s, a, b)),
                            None => w.cut.remove(&(a, b)),
                        };
                    }
                    let (a, b) = pairs[0];
                    (a, format!("HEAL with {}{}", name(b), seg_name(segment)))
                }
                Action::HealAll => {
                    w.cut.clear();
                    w.seg_cut.clear();
                    (0, "HEAL all".to_string())
                }
                Action::Loss {
                    segment: None,
                    hosts,
                    rate,
                } => {
                    let (a, b) = (hosts[0], hosts[1]);
                    sim.set_link_fail_rate(name(a).as_str(), name(b).as_str(), *rate);
                    (a, format!("LOSS {:.0}% with {}", rate * 100.0, name(b)))
                }
                Action::Loss {
                    segment: Some(s),
                    hosts,
                    rate,
                } => {
                    if *rate > 0.0 {
                        w.seg_loss.insert(*s, (*rate, hosts.clone()));
                    } else {
                        w.seg_loss.remove(s);
                    }
                    (
                        hosts.first().copied().unwrap_or(0),
                        format!(
                            "LOSS {:.0}% on {} for {}",
                            rate * 100.0,
                            sc.segments[*s],
                            who(hosts)
                        ),
                    )
                }
                Action::Http { host, answer } => {
                    let hs = &mut w.hosts[*host];
                    hs.http.retain(|a| a.path != answer.path);
                    hs.http.push(answer.clone());
                    (
                        *host,
                        format!("HTTP {} now answers {}", answer.path, answer.status),
                    )
                }
                Action::Hang(h) | Action::Recover(h) => {
                    let hang = matches!(ev.action, Action::Hang(_));
                    w.hosts[*h].hung = hang;
                    send(&w, *h, Control::Hang(hang));
                    (*h, if hang { "HANG" } else { "RECOVER" }.to_string())
                }
                Action::Refuse(h) | Action::Accept(h) => {
                    let refuse = matches!(ev.action, Action::Refuse(_));
                    w.hosts[*h].refusing = refuse;
                    send(&w, *h, Control::Refuse(refuse));
                    (*h, if refuse { "REFUSE" } else { "ACCEPT" }.to_string())
                }
                Action::Hold(a, b, ms) => {
                    sim.hold(name(*a).as_str(), name(*b).as_str());
                    let until = ms.map(|ms| now + ms as f64 / 1000.0);
                    w.holds.insert(((*a).min(*b), (*a).max(*b)), until);
                    if let Some(at) = until {
                        releases.push((at, *a, *b));
                    }
                    (
                        *a,
                        match ms {
                            Some(ms) => format!("HOLD {ms} ms with {}", name(*b)),
                            None => format!("HOLD with {}", name(*b)),
                        },
                    )
                }
                Action::Release(a, b) => {
                    sim.release(name(*a).as_str(), name(*b).as_str());
                    w.holds.remove(&((*a).min(*b), (*a).max(*b)));
                    (*a, format!("RELEASE with {}", name(*b)))
                }
                Action::Latency {
                    segment: None,
                    hosts,
                    ms,
                } => {
                    let (a, b) = (hosts[0], hosts[1]);
                    w.latency.insert((a.min(b), a.max(b)), *ms as f64 / 1000.0);
                    sim.set_link_latency(
                        name(a).as_str(),
                        name(b).as_str(),
                        Duration::from_millis(*ms),
                    );
                    (a, format!("LATENCY {ms} ms with {}", name(b)))
                }
                Action::Latency {
                    segment: Some(s),
                    hosts,
                    ms,
                } => {
                    if *ms > 0 {
                        w.seg_latency
                            .insert(*s, (*ms as f64 / 1000.0, hosts.clone()));
                    } else {
                        w.seg_latency.remove(s);
                    }
                    (
                        hosts.first().copied().unwrap_or(0),
                        format!("LATENCY {ms} ms on {} for {}", sc.segments[*s], who(hosts)),
                    )
                }
                Action::Pause(h, ms) => {
                    if w.hosts[*h].inst.values().any(|i| i.state == State::Master) {
                        lost_master_at = Some((now, *h));
                    }
                    w.hosts[*h].paused_until = now + *ms as f64 / 1000.0;
                    w.checker_paused(*h, *ms as f64 / 1000.0);
                    send(&w, *h, Control::Pause(*ms));
                    (*h, format!("PAUSE {ms} ms"))
                }
                Action::LinkDown(h, k) | Action::LinkUp(h, k) => {
                    let up = matches!(ev.action, Action::LinkUp(..));
                    if !up && w.hosts[*h].inst.values().any(|i| i.state == State::Master) {
                        lost_master_at = Some((now, *h));
                    }
                    w.hosts[*h].links[*k] = up;
                    let ifname = w.hosts[*h].ifaces[*k].name.clone();
                    send(&w, *h, Control::Link(ifname.clone(), up));
                    (
                        *h,
                        format!("LINK {ifname} {}", if up { "UP" } else { "DOWN" }),
                    )
                }
                Action::Script { host, script, ok } => {
                    w.hosts[*host].scripts_ok.insert(script.clone(), *ok);
                    (
                        *host,
                        format!(
                            "SCRIPT {script} now {}",
                            if *ok { "succeeds" } else { "fails" }
                        ),
                    )
                }
                Action::Reload(h, cfg) => {
                    w.hosts[*h].config = cfg.clone();
                    send(&w, *h, Control::Reload(cfg.clone()));
                    (*h, "RELOAD".to_string())
                }
                Action::Shutdown(h) => {
                    if w.hosts[*h].inst.values().any(|i| i.state == State::Master) {
                        lost_master_at = Some((now, *h));
                    }
                    send(&w, *h, Control::Shutdown);
                    (*h, "SHUTDOWN".to_string())
                }
                Action::Clock {
                    host,
                    offset_ms,
                    drift_ppm,
                } => {
                    w.set_clock(*host, (*offset_ms, *drift_ppm));
                    (
                        *host,
                        format!("CLOCK offset {offset_ms} ms drift {drift_ppm} ppm"),
                    )
                }
            };
            // A fault on a whole segment, or everywhere, is no one host's.
            let whole = match &ev.action {
                Action::HealAll => true,
                Action::Loss {
                    segment: Some(_),
                    hosts,
                    ..
                }
                | Action::Latency {
                    segment: Some(_),
                    hosts,
                    ..
                } => hosts.is_empty(),
                Action::Partition {
                    pairs,
                    segment: Some(_),
                }
                | Action::Heal {
                    pairs,
                    segment: Some(_),
                } => pairs.len() > 2,
                _ => false,
            };
            w.log_fault((!whole).then_some(what.0), action_name(&ev.action), what.1);
        }
        if faults_changed {
            sync_paths(&mut sim, &world, &mut applied, &name);
        }
        if let Err(e) = sim.step() {
            world.borrow_mut().violations.push(Violation {
                t: now,
                invariant: "hosts run without error",
                hosts: vec![],
                detail: e.to_string(),
            });
            break;
        }
        let mut w = world.borrow_mut();
        w.now = sim.elapsed().as_secs_f64();
        let before = w.trace.len();
        w.check();
        w.account_vips(dt);
        // A takeover after a master was lost: how long it took.
        // The takeover by another host: the lost one coming back is not a failover.
        if let Some((lost, from)) = lost_master_at {
            let took: Option<String> = w.trace[..before]
                .iter()
                .rev()
                .take_while(|l| l.t >= lost)
                .find(|l| {
                    l.kind == Kind::State
                        && l.to.as_deref() == Some("MASTER")
                        && l.host != sc.hosts[from].name
                })
                .map(|l| l.host.clone());
            if let Some(h) = took {
                failovers.push((h, w.now - lost));
                lost_master_at = None;
            }
        }
        let now = w.now;
        master_checks.retain(|e| {
            let Expect::Master { at, instance, host } = e else {
                return false;
            };
            if now + 1e-9 < *at {
                return true;
            }
            let masters: Vec<usize> = (0..w.hosts.len())
                .filter(|&h| {
                    // A paused host's MASTER is stale: nobody hears it.
                    let hs = &w.hosts[h];
                    hs.alive
                        && hs.paused_until <= now
                        && hs
                            .inst
                            .get(instance)
                            .is_some_and(|i| i.state == State::Master)
                })
                .collect();
            let want: Vec<usize> = host.iter().copied().collect();
            if masters != want {
                failed.push(format!(
                    "at {at} s: expected MASTER of {instance} {}, found {}",
                    host.map_or("none".into(), name),
                    if masters.is_empty() {
                        "none".into()
                    } else {
                        masters
                            .iter()
                            .map(|&m| name(m))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
            }
            false
        });
    }
    let w = world.borrow();
    for e in &sc.expects {
        match e {
            Expect::MaxTransitions { instance, max } => {
                // Every state change but leaving INIT, restarts included.
                let n = w
                    .trace
                    .iter()
                    .filter(|l| {
                        l.kind == Kind::State
                            && l.instance.as_deref() == Some(instance.as_str())
                            && l.from.as_deref() != Some("INIT")
                    })
                    .count();
                if n > *max {
                    failed.push(format!(
                        "{instance} changed state {n} times, at most {max} expected"
                    ));
                }
            }
            Expect::VipContinuity { vip, max_gap } => match w.vip_gap(vip) {
                Some(g) if g > *max_gap + 1e-9 => failed.push(format!(
                    "{vip} was held by nobody for {g:.3} s, at most {max_gap} s expected"
                )),
                None => failed.push(format!("{vip} was never held")),
                _ => {}
            },
            Expect::RsDowns { min, max } => {
                let n = w
                    .trace
                    .iter()
                    .filter(|l| {
                        l.kind == Kind::Checker
                            && (l.detail.starts_with("Removing service")
                                || l.detail.starts_with("Disabling service"))
                    })
                    .count();
                if n < *min || n > *max {
                    failed.push(format!(
                        "{n} real servers were declared down; expected {}",
                        match (*min, *max) {
                            (a, usize::MAX) => format!("at least {a}"),
                            (0, b) => format!("at most {b}"),
                            (a, b) => format!("{a} to {b}"),
                        }
                    ));
                }
            }
            Expect::Master { .. } => {}
        }
    }
    Outcome {
        scenario: sc.name.clone(),
        seed,
        trace: w.trace.clone(),
        violations: w.violations.clone(),
        failed,
        failovers,
    }
}

/// The name an action has in a scenario file.
fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Crash(_) => "crash",
        Action::Restart(_) => "restart",
        Action::Partition { pairs, .. } if pairs.len() == 1 => "partition_oneway",
        Action::Partition { .. } => "partition",
        Action::Heal { .. } => "heal",
        Action::HealAll => "heal_all",
        Action::Loss { .. } => "loss",
        Action::Latency { .. } => "latency",
        Action::Pause(..) => "pause",
        Action::LinkDown(..) => "link_down",
        Action::LinkUp(..) => "link_up",
        Action::Script { .. } => "script",
        Action::Reload(..) => "reload",
        Action::Shutdown(_) => "shutdown",
        Action::Hang(_) => "hang",
        Action::Recover(_) => "recover",
        Action::Refuse(_) => "refuse",
        Action::Accept(_) => "accept",
        Action::Hold(..) => "hold",
        Action::Release(..) => "release",
        Action::Clock { .. } => "clock",
        Action::Http { .. } => "http",
    }
}

/// Makes turmoil's links (which carry the checkers' TCP) follow the segments: a directed
/// pair with no segment carrying its packets is cut, and joined again once one does.
fn sync_paths(
    sim: &mut turmoil::Sim<'_>,
    world: &Rc<RefCell<World>>,
    applied: &mut BTreeSet<(usize, usize)>,
    name: &impl Fn(usize) -> String,
) {
    let w = world.borrow();
    let n = w.hosts.len();
    for a in 0..n {
        for b in (0..n).filter(|&b| b != a) {
            let cut = !w.path(a, b);
            if cut && applied.insert((a, b)) {
                sim.partition_oneway(name(a).as_str(), name(b).as_str());
            } else if !cut && applied.remove(&(a, b)) {
                sim.repair_oneway(name(a).as_str(), name(b).as_str());
            }
        }
    }
}
