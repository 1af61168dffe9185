//! Health checking in the simulation: a checker host runs the checker engine on the
//! daemon's own checker driver (`keepalived_driver::check`), probing real-server
//! hosts over turmoil TCP; a real-server host accepts connections and drops them.
//!
//! How turmoil 0.7's TCP shapes the faults (read from its source):
//! - A connect's SYN crosses the link (latency, holds, partitions and random loss apply);
//!   the SYN-ACK does not: the client's connect completes when the server's `accept`
//!   takes the SYN. So a probe takes the one-way latency to the server.
//! - A crashed host gets nothing delivered: SYNs wait on the link and the connect times
//!   out, as against a powered-off host. Its listener is gone when it restarts, so the
//!   SYNs that waited are refused.
//! - `hang`: the server keeps its listener but stops accepting. The SYNs queue in its
//!   backlog and no SYN-ACK comes: a reachable host that does not answer. On `recover`
//!   the queued SYNs of probes that gave up are skipped (their connects are gone).
//!   turmoil panics past 64 queued SYNs, so a hang must stay shorter than 64 probes.
//! - `refuse`: the host runs but its service is stopped: the listeners close, so every
//!   connect is refused at once; `accept` binds them again.
//! - TCP never retransmits: a SYN lost to `fail_rate` loss is a probe lost, not a slow
//!   one. So loss on checker links is modelled as `hold` with `ms` (every SYN of the
//!   burst arrives at the release, as a retransmission would) and as `latency`; the
//!   scenario loader refuses `loss` there.
//!
//! Invariants, checked after every step (`World::check_checkers`). "Declared down" is
//! the engine's alive flag (`real_servers()`, read through the driver's
//! `check::Platform::observe`) falling, a `Removing`/`Disabling service` log line or an `RS … DOWN` FIFO line.
//! "Answers within the timeout" at time x means: the host runs, listens and accepts, no
//! partition cuts the link, and the SYN's one-way latency plus what is left of a hold
//! (an open-ended hold never answers), plus the run's slack (50 ms + 3 × the base
//! latency + 3 ticks), is under connect_timeout. `lat` below is that link's latency.
//! - (a) No false down: at a declaration at time d, the server must not have answered
//!   within the timeout over all of [d − connect_timeout − lat − slack, d]: the last
//!   failing probe started in that window, and could not have failed.
//! - (b) Down in time: a server that stops answering at t, while up, is declared down by
//!   t + lat + max(delay_loop, delay_before_retry) + retry × (delay_before_retry +
//!   connect_timeout) + connect_timeout + slack. A success may land up to `lat` after t,
//!   the next run comes a delay_loop later, then retry + 1 runs must fail, each taking up
//!   to connect_timeout (a hung or dead server never refuses), delay_before_retry apart.
//!   A refusing server (`refuse`) fails each probe after a round trip instead, so its
//!   bound has 2 × lat in place of each connect_timeout: within the issue's
//!   delay_loop + retry × delay_before_retry + connect_timeout. If the checker has
//!   not made its first run yet (BOOTSTRAP_DELAY 1 s + random(0..warmup) after start),
//!   the first failure takes the server down: by max(t, first run) + connect_timeout +
//!   slack. With several checkers, the earliest of theirs.
//! - (c) Up in time: a server that answers again at t is declared up by t +
//!   connect_timeout (a probe out at t may still time out) + max(delay_loop,
//!   delay_before_retry) + lat + slack; before its first run, by that run + lat + slack.
//!   With several checkers, the latest of theirs.
//! - (d) Quorum: once every unanswering server of a virtual server is past its (b)
//!   deadline and the answering weight is 0 or below quorum − hysteresis, quorum is
//!   DOWN; once every answering one is past its (c) deadline and their weight reaches
//!   quorum + hysteresis, it is UP.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use keepalived_driver::check::{self as driver, Event, Platform};
use keepalived_driver::EngineClock;
use keepalived_engine::check::io::{CheckInput, CheckOutput};
use keepalived_engine::check::probe::{ProbeId, ProbeKind, ProbeOutcome, ProbeSpec};
use keepalived_engine::check::CheckEngine;
use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::time::Instant;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use turmoil::net::{TcpListener, TcpStream};

use crate::host::{host_ipv4, Control};
use crate::scenario::Inject;
use crate::world::{CheckerView, RsSpec, World};

struct SimChecker {
    idx: usize,
    world: Rc<RefCell<World>>,
    control: UnboundedReceiver<Control>,
    results: UnboundedReceiver<(ProbeId, ProbeOutcome)>,
    result_tx: UnboundedSender<(ProbeId, ProbeOutcome)>,
    clock: EngineClock,
    inject: Option<Inject>,
    stopping: bool,
}

impl SimChecker {
    fn log(&self, what: String) {
        let mut w = self.world.borrow_mut();
        w.now = turmoil::sim_elapsed().unwrap_or_default().as_secs_f64();
        w.log(self.idx, what);
    }

    fn declared_down(&self, label: &str) {
        let mut w = self.world.borrow_mut();
        let t = turmoil::sim_elapsed().unwrap_or_default().as_secs_f64();
        w.declared_down.push((self.idx, label.to_string(), t));
    }
}

/// One TCP_CHECK: a connect bounded by the probe's timeout. Other kinds are refused by
/// the scenario loader; should one get here it fails, saying why.
async fn probe(spec: ProbeSpec, inject: Option<Inject>) -> Option<ProbeOutcome> {
    let timeout = Duration::from_micros(spec.timeout_us);
    let outcome = match (&spec.kind, &spec.endpoint) {
        (ProbeKind::Tcp, Some(ep)) => {
            match tokio::time::timeout(timeout, TcpStream::connect(ep.target)).await {
                Ok(Ok(stream)) => {
                    drop(stream);
                    ProbeOutcome::Up
                }
                Ok(Err(e)) => ProbeOutcome::Down {
                    reason: e.kind().to_string(),
                },
                Err(_) => ProbeOutcome::Down {
                    reason: "timeout".into(),
                },
            }
        }
        _ => ProbeOutcome::Down {
            reason: "not simulated".into(),
        },
    };
    match inject {
        None => Some(outcome),
        Some(Inject::FalseDown) => Some(ProbeOutcome::Down {
            reason: "injected failure".into(),
        }),
        Some(Inject::LoseResults) => None,
    }
}

impl Platform for SimChecker {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn until(&self, t: Instant) -> Duration {
        self.clock.until(t)
    }

    async fn next_event(&mut self) -> Event {
        if self.stopping {
            return Event::Stop;
        }
        loop {
            tokio::select! {
                biased;
                c = self.control.recv() => match c {
                    Some(Control::Shutdown) | None => {
                        self.stopping = true;
                        return Event::Input(CheckInput::Shutdown);
                    }
                    Some(Control::Reload(text)) => {
                        let name = self.world.borrow().hosts[self.idx].name.clone();
                        let cfg = parse_str(&text, &ParseOptions::default().with_config_id(name)).config;
                        return Event::Input(CheckInput::Reload(Box::new(cfg)));
                    }
                    // Pauses, links and hangs are for VRRP and real-server hosts.
                    Some(_) => {}
                },
                Some((id, outcome)) = self.results.recv() => {
                    return Event::Input(CheckInput::ProbeDone { id, outcome });
                }
            }
        }
    }

    async fn execute(&mut self, out: CheckOutput) {
        match out {
            CheckOutput::StartProbe(spec) => {
                let (tx, inject) = (self.result_tx.clone(), self.inject);
                tokio::task::spawn_local(async move {
                    let id = spec.id;
                    if let Some(outcome) = probe(spec, inject).await {
                        let _ = tx.send((id, outcome));
                    }
                });
            }
            CheckOutput::Log {
                real_server,
                message,
                ..
            } => {
                if let Some(rs) = &real_server {
                    if message.starts_with("Removing service")
                        || message.starts_with("Disabling service")
                    {
                        self.declared_down(rs);
                    }
                }
                self.log(message);
            }
            CheckOutput::Fifo { line } => {
                let line = line.trim_end().to_string();
                let mut words = line.split(' ');
                if let (Some("RS"), Some(rs)) = (words.next(), words.next()) {
                    if line.ends_with(" DOWN") {
                        self.declared_down(rs);
                    }
                }
                self.log(format!("fifo: {line}"));
            }
            CheckOutput::Notify { command, .. } => {
                self.log(format!("notify {}", command.argv.join(" ")))
            }
            // The table follows from the alive flags the invariants read; e-mail has no
            // receiver here.
            CheckOutput::Ipvs(_) | CheckOutput::SmtpAlert { .. } => {}
        }
    }

    fn observe(&mut self, engine: &CheckEngine) {
        let mut w = self.world.borrow_mut();
        if let Some(v) = w.checkers.get_mut(&self.idx) {
            v.rss = engine.real_servers();
            v.vss = engine.virtual_servers();
        }
    }
}

/// The simulated keepalived-rs checker process of host `idx`.
pub async fn checker_main(world: Rc<RefCell<World>>, idx: usize) -> turmoil::Result {
    let (tx, rx) = unbounded_channel();
    let (text, name, inject, seed) = {
        let mut w = world.borrow_mut();
        let seed = w.seed;
        let h = &mut w.hosts[idx];
        h.control = Some(tx);
        h.alive = true;
        h.restarts += 1;
        // Each start draws its own warmups, reproducibly from the run's seed.
        let seed = seed ^ (idx as u64) << 32 ^ u64::from(h.restarts);
        (h.config_text.clone(), h.name.clone(), h.inject, seed)
    };
    let config = parse_str(&text, &ParseOptions::default().with_config_id(name)).config;
    let n_hosts = world.borrow().hosts.len();
    let specs: Vec<RsSpec> = config
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .map(|rs| {
            let ip = rs
                .checkers
                .first()
                .and_then(|c| c.connection.connect_ip)
                .unwrap_or(rs.address);
            RsSpec {
                host: (0..n_hosts)
                    .find(|&h| std::net::IpAddr::V4(host_ipv4(h)) == ip)
                    .unwrap_or(idx),
                schedules: rs.checkers.iter().map(|c| c.schedule.clone()).collect(),
            }
        })
        .collect();
    let (result_tx, results) = unbounded_channel();
    let mut p = SimChecker {
        idx,
        world: world.clone(),
        control: rx,
        results,
        result_tx,
        clock: EngineClock::start(),
        inject,
        stopping: false,
    };
    let mut engine = CheckEngine::new(config, p.now(), seed);
    world.borrow_mut().checker_started(
        idx,
        CheckerView {
            start: turmoil::sim_elapsed().unwrap_or_default().as_secs_f64(),
            rss: engine.real_servers(),
            vss: engine.virtual_servers(),
            specs,
        },
    );
    driver::run(&mut engine, &mut p).await;
    world.borrow_mut().hosts[idx].alive = false;
    Ok(())
}

/// A real server: listens on its ports, accepts and drops every connection, and stops
/// accepting while hung.
pub async fn real_server_main(world: Rc<RefCell<World>>, idx: usize) -> turmoil::Result {
    let (tx, mut rx) = unbounded_channel();
    let ports = {
        let mut w = world.borrow_mut();
        let h = &mut w.hosts[idx];
        h.control = Some(tx);
        h.alive = true;
        // A restarted process answers again.
        h.hung = false;
        h.refusing = false;
        h.listen.clone()
    };
    let (hang_tx, hang_rx) = tokio::sync::watch::channel(false);
    let (refuse_tx, refuse_rx) = tokio::sync::watch::channel(false);
    for port in ports {
        let bind = move || TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, port));
        let mut listener = Some(bind().await?);
        let (mut hung, mut refuse) = (hang_rx.clone(), refuse_rx.clone());
        tokio::task::spawn_local(async move {
            loop {
                // A stopped service has no listener: connects are refused at once.
                let Some(l) = &listener else {
                    if refuse.changed().await.is_err() {
                        return;
                    }
                    if !*refuse.borrow_and_update() {
                        listener = bind().await.ok();
                    }
                    continue;
                };
                let stop = *hung.borrow_and_update();
                tokio::select! {
                    biased;
                    r = refuse.changed() => {
                        if r.is_err() {
                            return;
                        }
                        if *refuse.borrow_and_update() {
                            listener = None;
                        }
                    }
                    r = hung.changed() => if r.is_err() { return },
                    r = l.accept(), if !stop => drop(r),
                }
            }
        });
    }
    world.borrow_mut().hosts[idx].listening = true;
    loop {
        match rx.recv().await {
            Some(Control::Hang(h)) => {
                let _ = hang_tx.send(h);
            }
            Some(Control::Refuse(r)) => {
                let _ = refuse_tx.send(r);
            }
            Some(_) => {}
            // The runner let go of this host (it crashed): nothing more comes; the
            // listeners keep serving until turmoil stops the host.
            None => std::future::pending::<()>().await,
        }
    }
}
