//! Runs a scenario under turmoil with one seed: hosts, the fault schedule, invariants at
//! every step, expectations, and the timeline.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use keepalived_engine::vrrp::State;

use crate::checker::{checker_main, real_server_main};
use crate::host::Control;
use crate::platform::host_main;
use crate::scenario::{Action, Expect, Role, Scenario};
use crate::world::{HostState, TraceLine, Violation, World};

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
        w.base_latency = sc.max_latency_ms as f64 / 1000.0;
    }
    for (i, h) in sc.hosts.iter().enumerate() {
        world.borrow_mut().hosts.push(HostState {
            name: h.name.clone(),
            segment: h.segment.clone(),
            addr: u32::from(crate::host::host_ipv4(i)),
            alive: true,
            link_up: true,
            config_text: h.config_text.clone(),
            listen: h.listen.clone(),
            inject: h.inject,
            ..HostState::default()
        });
        let w = world.clone();
        match h.role {
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
    let mut lost_master_at: Option<f64> = None;
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
                w.log(a, format!("RELEASE with {}", name(b)));
            }
            false
        });
        while let Some(ev) = events.next_if(|e| e.at <= now + 1e-9) {
            let mut w = world.borrow_mut();
            let send = |w: &World, h: usize, c: Control| {
                if let Some(tx) = &w.hosts[h].control {
                    let _ = tx.send(c);
                }
            };
            let what = match &ev.action {
                Action::Crash(h) => {
                    if w.hosts[*h].inst.values().any(|i| i.state == State::Master) {
                        lost_master_at = Some(now);
                    }
                    sim.crash(name(*h).as_str());
                    let hs = &mut w.hosts[*h];
                    hs.alive = false;
                    hs.listening = false;
                    hs.held.clear();
                    hs.control = None;
                    for i in hs.inst.values_mut() {
                        i.state = State::Stop;
                    }
                    (*h, "CRASH".to_string())
                }
                Action::Restart(h) => {
                    sim.bounce(name(*h).as_str());
                    (*h, "RESTART".to_string())
                }
                Action::Partition(a, b) => {
                    sim.partition(name(*a).as_str(), name(*b).as_str());
                    w.cut.insert((*a, *b));
                    w.cut.insert((*b, *a));
                    (*a, format!("PARTITION from {}", name(*b)))
                }
                Action::PartitionOneway { from, to } => {
                    sim.partition_oneway(name(*from).as_str(), name(*to).as_str());
                    w.cut.insert((*from, *to));
                    (*from, format!("PARTITION one-way to {}", name(*to)))
                }
                Action::Heal(a, b) => {
                    sim.repair(name(*a).as_str(), name(*b).as_str());
                    w.cut.remove(&(*a, *b));
                    w.cut.remove(&(*b, *a));
                    (*a, format!("HEAL with {}", name(*b)))
                }
                Action::HealAll => {
                    let cuts: Vec<(usize, usize)> = w.cut.iter().copied().collect();
                    for (a, b) in cuts {
                        sim.repair_oneway(name(a).as_str(), name(b).as_str());
                    }
                    w.cut.clear();
                    (0, "HEAL all".to_string())
                }
                Action::Loss(a, b, rate) => {
                    sim.set_link_fail_rate(name(*a).as_str(), name(*b).as_str(), *rate);
                    (*a, format!("LOSS {:.0}% with {}", rate * 100.0, name(*b)))
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
                Action::Latency(a, b, ms) => {
                    w.latency
                        .insert(((*a).min(*b), (*a).max(*b)), *ms as f64 / 1000.0);
                    sim.set_link_latency(
                        name(*a).as_str(),
                        name(*b).as_str(),
                        Duration::from_millis(*ms),
                    );
                    (*a, format!("LATENCY {ms} ms with {}", name(*b)))
                }
                Action::Pause(h, ms) => {
                    w.hosts[*h].paused_until = now + *ms as f64 / 1000.0;
                    send(&w, *h, Control::Pause(*ms));
                    (*h, format!("PAUSE {ms} ms"))
                }
                Action::LinkDown(h) | Action::LinkUp(h) => {
                    let up = matches!(ev.action, Action::LinkUp(_));
                    w.hosts[*h].link_up = up;
                    send(&w, *h, Control::Link(up));
                    (*h, format!("LINK {}", if up { "UP" } else { "DOWN" }))
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
                Action::Reload(h, text) => {
                    w.hosts[*h].config_text = text.clone();
                    send(&w, *h, Control::Reload(text.clone()));
                    (*h, "RELOAD".to_string())
                }
                Action::Shutdown(h) => {
                    if w.hosts[*h].inst.values().any(|i| i.state == State::Master) {
                        lost_master_at = Some(now);
                    }
                    send(&w, *h, Control::Shutdown);
                    (*h, "SHUTDOWN".to_string())
                }
                Action::Clock {
                    host,
                    offset_ms,
                    drift_ppm,
                } => {
                    w.hosts[*host].clock = (*offset_ms, *drift_ppm);
                    (
                        *host,
                        format!("CLOCK offset {offset_ms} ms drift {drift_ppm} ppm"),
                    )
                }
            };
            w.log(what.0, what.1);
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
        if let Some(lost) = lost_master_at {
            let took: Option<String> = w.trace[..before]
                .iter()
                .rev()
                .take_while(|l| l.t >= lost)
                .find(|l| l.what.contains("-> Master"))
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
                let prefix = format!("{instance} ");
                let n = w
                    .trace
                    .iter()
                    .filter(|l| {
                        l.what.starts_with(&prefix)
                            && l.what.contains(" -> ")
                            && !l.what.contains("Init -> ")
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
                        l.what.starts_with("Removing service")
                            || l.what.starts_with("Disabling service")
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
