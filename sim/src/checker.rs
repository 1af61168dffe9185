//! Health checking in the simulation: a checker host (or a VRRP host whose config has
//! virtual servers, beside its VRRP side) runs the checker engine on the daemon's own
//! checker driver (`keepalived_driver::check`), probing real-server hosts over turmoil
//! TCP. TCP_CHECK is a connect; HTTP_GET sends keepalived's request and judges the answer
//! by status and digest with the engine's HTTP code (`keepalived_engine::check::http`);
//! MISC_CHECK exits as the scenario's `script` events say for its command line. A
//! real-server host answers a connect alone by closing, and a GET with its `http` answer
//! for the path (404 for another).
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
//! latency + 3 ticks), is under connect_timeout; and what its checkers ask beyond a
//! connect holds (each URL's answer passes status and digest, each MISC_CHECK command
//! succeeds). A server that connects but answers wrongly fails each probe quickly, as a
//! refusing one does. `lat` below is that link's latency.
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
//!   A GET takes two more latencies (request and answer), and HTTP_GET needs a second
//!   pass a delay_loop later after a failed URL (`epilog()`, check_http.c).
//!   With several checkers, the latest of theirs.
//! - (d) Quorum: once every unanswering server of a virtual server is past its (b)
//!   deadline and the answering weight is 0 or below quorum − hysteresis, quorum is
//!   DOWN; once every answering one is past its (c) deadline and their weight reaches
//!   quorum + hysteresis, it is UP.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use keepalived_driver::check::{self as driver, Event, Platform};
use keepalived_driver::EngineClock;
use keepalived_engine::check::http::{evaluate_status_and_digest, Feed, Parser, Protocol, Request};
use keepalived_engine::check::io::{CheckInput, CheckOutput};
use keepalived_engine::check::probe::{ProbeId, ProbeKind, ProbeOutcome, ProbeSpec};
use keepalived_engine::check::CheckEngine;
use keepalived_engine::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use turmoil::net::{TcpListener, TcpStream};

use crate::bfd::{bfd_side, next_state, Clients, StateRx};
use crate::host::{turmoil_ipv4, Control};
use crate::scenario::{HttpAnswer, Inject};
use crate::world::{CheckerView, Kind, RsSpec, World};

/// How long a simulated MISC_CHECK command runs.
const MISC_RUN: Duration = Duration::from_millis(10);
/// The most of a request or response the simulated HTTP ends read.
const HTTP_MAX: usize = 64 * 1024;

struct SimChecker {
    idx: usize,
    world: Rc<RefCell<World>>,
    control: UnboundedReceiver<Control>,
    results: UnboundedReceiver<(ProbeId, ProbeOutcome)>,
    result_tx: UnboundedSender<(ProbeId, ProbeOutcome)>,
    clock: EngineClock,
    inject: Option<Inject>,
    stopping: bool,
    /// Session states from the host's BFD side (`BFD_CHECK`), when it runs one.
    bfd: Option<StateRx>,
}

impl SimChecker {
    fn log(&self, what: String) {
        let mut w = self.world.borrow_mut();
        w.now = turmoil::sim_elapsed().unwrap_or_default().as_secs_f64();
        w.log(self.idx, Kind::Checker, what);
    }

    fn declared_down(&self, label: &str) {
        let mut w = self.world.borrow_mut();
        let t = turmoil::sim_elapsed().unwrap_or_default().as_secs_f64();
        w.declared_down.push((self.idx, label.to_string(), t));
    }

    /// Where turmoil reaches the host whose interface holds `target`'s address.
    fn route(&self, target: SocketAddr) -> Option<SocketAddr> {
        let w = self.world.borrow();
        let h = w
            .hosts
            .iter()
            .position(|h| h.ifaces.iter().any(|i| i.holds(target.ip())))?;
        Some(SocketAddr::from((turmoil_ipv4(h), target.port())))
    }
}

/// One GET over a connected stream: keepalived's request, the whole response read
/// (bounded) and judged by status code and digest.
async fn http_get(
    mut stream: TcpStream,
    req: &[u8],
    url: &keepalived_engine::config::model::Url,
) -> ProbeOutcome {
    if let Err(e) = stream.write_all(req).await {
        return ProbeOutcome::Down {
            reason: e.kind().to_string(),
        };
    }
    let mut parser = Parser::new(0);
    let mut buf = [0u8; 4096];
    let mut total = 0usize;
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                match parser.feed(&buf[..n]) {
                    Ok(Feed::Complete) => break,
                    Ok(Feed::More) if total <= HTTP_MAX => {}
                    Ok(Feed::More) => {
                        return ProbeOutcome::Down {
                            reason: "response too long".into(),
                        }
                    }
                    Err(reason) => return ProbeOutcome::Down { reason },
                }
            }
            Err(e) => {
                return ProbeOutcome::Down {
                    reason: e.kind().to_string(),
                }
            }
        }
    }
    match parser
        .finish()
        .and_then(|r| evaluate_status_and_digest(url, &r))
    {
        Ok(()) => ProbeOutcome::Up,
        Err(reason) => ProbeOutcome::Down { reason },
    }
}

/// One probe, bounded by its timeout: TCP_CHECK a connect, HTTP_GET a GET of the probe's
/// URL, MISC_CHECK the exit the scenario gives its command line (`script` events).
async fn probe(
    spec: ProbeSpec,
    route: Option<SocketAddr>,
    misc_ok: bool,
    inject: Option<Inject>,
) -> Option<ProbeOutcome> {
    let timeout = Duration::from_micros(spec.timeout_us);
    let outcome = match (&spec.kind, route) {
        (ProbeKind::Misc { .. }, _) => {
            tokio::time::sleep(MISC_RUN.min(timeout)).await;
            ProbeOutcome::Exited(if misc_ok { 0 } else { 1 })
        }
        (ProbeKind::Tcp | ProbeKind::Http { tls: false, .. }, Some(to)) => {
            let run = async {
                let stream = match TcpStream::connect(to).await {
                    Ok(s) => s,
                    Err(e) => {
                        return ProbeOutcome::Down {
                            reason: e.kind().to_string(),
                        }
                    }
                };
                match &spec.kind {
                    ProbeKind::Http {
                        http_protocol,
                        virtualhost,
                        url,
                        ..
                    } => {
                        let target = spec.endpoint.as_ref().map_or(to, |e| e.target);
                        let req = Request {
                            path: &url.path,
                            protocol: Protocol::parse(http_protocol),
                            virtualhost: virtualhost.as_deref(),
                            target,
                        }
                        .to_bytes();
                        http_get(stream, &req, url).await
                    }
                    _ => ProbeOutcome::Up,
                }
            };
            tokio::time::timeout(timeout, run)
                .await
                .unwrap_or(ProbeOutcome::Down {
                    reason: "timeout".into(),
                })
        }
        (_, None) => ProbeOutcome::Down {
            reason: "no host holds the address".into(),
        },
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
                    Some(Control::Reload(cfg)) => {
                        return Event::Input(CheckInput::Reload(Box::new((*cfg).clone())));
                    }
                    // SIGSTOP: nothing runs until it ends; what arrived meanwhile waits.
                    Some(Control::Pause(ms)) => {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                    }
                    // Links and hangs are for VRRP and real-server hosts.
                    Some(_) => {}
                },
                Some((id, outcome)) = self.results.recv() => {
                    return Event::Input(CheckInput::ProbeDone { id, outcome });
                }
                Some((name, up)) = next_state(&mut self.bfd) => {
                    return Event::Input(CheckInput::Bfd { name, up });
                }
            }
        }
    }

    async fn execute(&mut self, out: CheckOutput) {
        match out {
            CheckOutput::StartProbe(spec) => {
                let (tx, inject) = (self.result_tx.clone(), self.inject);
                let route = spec.endpoint.as_ref().and_then(|e| self.route(e.target));
                let misc_ok = match &spec.kind {
                    ProbeKind::Misc { command } => self.world.borrow().hosts[self.idx]
                        .scripts_ok
                        .get(&command.argv.join(" "))
                        .copied()
                        .unwrap_or(true),
                    _ => true,
                };
                tokio::task::spawn_local(async move {
                    let id = spec.id;
                    if let Some(outcome) = probe(spec, route, misc_ok, inject).await {
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

/// The simulated keepalived-rs checker process of a `checker` host.
pub async fn checker_main(world: Rc<RefCell<World>>, idx: usize) -> turmoil::Result {
    let config = world.borrow().hosts[idx].config.clone();
    let mut bfd = None;
    if !config.bfd_instances.is_empty() {
        let (tx, rx) = unbounded_channel();
        bfd = Some(rx);
        let clients = Clients {
            vrrp: None,
            checker: Some(tx),
        };
        // It first runs when this task first waits, once `run_checker` has counted this
        // start (its seed draws on the count).
        tokio::task::spawn_local(bfd_side(world.clone(), idx, clients));
    }
    run_checker(world.clone(), idx, false, bfd).await;
    world.borrow_mut().hosts[idx].alive = false;
    Ok(())
}

/// The checker process beside the VRRP one on a host whose config has virtual servers.
pub async fn checker_side(world: Rc<RefCell<World>>, idx: usize, bfd: Option<StateRx>) {
    run_checker(world, idx, true, bfd).await;
}

async fn run_checker(
    world: Rc<RefCell<World>>,
    idx: usize,
    beside_vrrp: bool,
    bfd: Option<StateRx>,
) {
    let (tx, rx) = unbounded_channel();
    let (config, inject, seed) = {
        let mut w = world.borrow_mut();
        let seed = w.seed;
        let h = &mut w.hosts[idx];
        if beside_vrrp {
            h.checker_control = Some(tx);
        } else {
            h.control = Some(tx);
            h.alive = true;
            h.restarts += 1;
        }
        // Each start draws its own warmups, reproducibly from the run's seed.
        let seed = seed ^ (idx as u64) << 32 ^ u64::from(h.restarts);
        (h.config.clone(), h.inject, seed)
    };
    let specs: Vec<RsSpec> = {
        let w = world.borrow();
        config
            .virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .map(|rs| RsSpec::new(rs, &w.hosts, idx))
            .collect()
    };
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
        bfd,
    };
    let mut engine = CheckEngine::new((*config).clone(), p.now(), seed);
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
}

/// What a real server host answers a GET with: its answer for the path, else 404.
pub(crate) fn http_answer(answers: &[HttpAnswer], request: &[u8]) -> Vec<u8> {
    let line = request
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let path = line
        .split(|&b| b == b' ')
        .nth(1)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    let (status, body) = answers
        .iter()
        .find(|a| a.path == path)
        .map_or((404, ""), |a| (a.status, a.body.as_str()));
    format!(
        "HTTP/1.0 {status} Simulated\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves one accepted connection: a connect alone (TCP_CHECK) ends at EOF; a GET gets
/// the host's answer.
async fn serve(world: Rc<RefCell<World>>, idx: usize, mut stream: TcpStream) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < HTTP_MAX {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let answer = http_answer(&world.borrow().hosts[idx].http, &req);
    let _ = stream.write_all(&answer).await;
    let _ = stream.shutdown().await;
}

/// A real server: listens on its ports, answers every connection (see `serve`), and
/// stops accepting while hung.
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
        let world = world.clone();
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
                    r = l.accept(), if !stop => {
                        if let Ok((stream, _)) = r {
                            tokio::task::spawn_local(serve(world.clone(), idx, stream));
                        }
                    }
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
