//! BFD in the simulation: a host whose config has `bfd_instance` blocks runs the BFD
//! engine on the daemon's own BFD loop (`keepalived_driver::bfd`), beside its VRRP and
//! checker sides, as keepalived runs its BFD process beside the other two.
//!
//! Control packets travel as VRRP adverts do (`crate::platform`): UDP datagrams to the
//! control port (3784, RFC 5881 §4) in an envelope carrying the segment and the IP
//! header's fields (family, source, destination, TTL: the session's `ttl`/`hoplimit`,
//! 255 or 64 by default), so the engine sees what a socket with IP_PKTINFO and
//! IP_RECVTTL would tell it. A packet goes to the host holding the session's neighbour
//! address, on the segment that address is on; the sender needs an interface there (else
//! the send fails as with no route), and a `source_ip` it does not hold makes the
//! session's socket fail to open (`bind()`'s EADDRNOTAVAIL), which the loop retries. The
//! segment faults (cuts, one-way cuts, loss, latency, carrier) apply on receipt as for
//! adverts; whole-host faults (crash, pause, holds, link loss and latency) are turmoil's
//! or the loop's.
//!
//! A session's state goes to the host's VRRP side (`track_bfd`, as
//! `vrrp::Input::Bfd`) and checker side (`BFD_CHECK`, as `CheckInput::Bfd`) by the
//! event's flags, through channels standing for keepalived's pipes.
//!
//! Invariant (`World::check_bfd`): no session is Up without a control packet from its
//! neighbour within its detection time (RFC 5880 §6.8.4), plus the run's BFD slack.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use keepalived_driver::bfd::{self as driver, Event, Platform, SessionEvent};
use keepalived_engine::bfd::{Engine, Input, CONTROL_PORT};
use keepalived_engine::time::Instant;
use keepalived_engine::wire::Family;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use turmoil::net::UdpSocket;

use crate::host::{engine_now, engine_until, turmoil_ipv4, Control};
use crate::platform::Envelope;
use crate::rng::Rng;
use crate::world::{Kind, TraceLine, World};

#[cfg(test)]
thread_local! {
    /// A fault for the invariant's tests: session Down events reach the world and the
    /// clients this much late, as from an engine that declares Down late.
    static HOLD_DOWN: std::cell::Cell<Duration> = const { std::cell::Cell::new(Duration::ZERO) };
}

/// Session states (`bfd_instance` name, Up or not) on their way to a client process.
pub(crate) type StateTx = UnboundedSender<(String, bool)>;
pub(crate) type StateRx = UnboundedReceiver<(String, bool)>;

/// The processes of a host that follow its BFD sessions.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    pub vrrp: Option<StateTx>,
    pub checker: Option<StateTx>,
}

/// The next session state from the BFD side, if the process has one; never otherwise.
pub(crate) async fn next_state(rx: &mut Option<StateRx>) -> Option<(String, bool)> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A session's socket as opened.
#[derive(Debug, Clone)]
struct Session {
    src: Option<IpAddr>,
    ttl: u8,
}

struct SimBfd {
    idx: usize,
    world: Rc<RefCell<World>>,
    sock: UdpSocket,
    control: UnboundedReceiver<Control>,
    start: tokio::time::Instant,
    sessions: BTreeMap<String, Session>,
    clients: Clients,
    /// Packets a segment's latency holds back, by when they arrive and arrival order.
    due: BTreeMap<(tokio::time::Instant, u64), Input>,
    seq: u64,
    rng: Rng,
    /// A shutdown was handed to the engine: the next event ends the loop.
    stopping: bool,
    buf: Vec<u8>,
}

impl SimBfd {
    fn sim_now(&self) -> f64 {
        turmoil::sim_elapsed().unwrap_or_default().as_secs_f64()
    }

    fn log(&self, session: &str, detail: String) {
        let mut w = self.world.borrow_mut();
        w.now = self.sim_now();
        let host = w.hosts[self.idx].name.clone();
        w.record(TraceLine {
            t: 0.0,
            host,
            kind: Kind::Bfd,
            instance: Some(session.to_string()),
            from: None,
            to: None,
            reason: None,
            detail,
        });
    }

    /// Takes in a datagram: the input it gives and how long the segment's latency holds
    /// it, unless it is not for this host or the segment drops it.
    fn receive(&mut self, n: usize) -> Option<(Duration, Input)> {
        let env = Envelope::parse(&self.buf[..n])?;
        let w = self.world.borrow();
        let hs = &w.hosts[self.idx];
        hs.ifaces
            .iter()
            .find(|i| i.segment == env.segment && i.holds(env.dst))?;
        if env.sender >= w.hosts.len() || !w.carries(env.segment, env.sender, self.idx) {
            return None;
        }
        let (loss, delay) = w.segment_faults(env.segment, env.sender, self.idx);
        let input = Input::Packet {
            src: env.src,
            dst: Some(env.dst),
            ttl: Some(env.ttl),
            bytes: env.bytes.to_vec(),
        };
        drop(w);
        if loss > 0.0 && self.rng.unit() < loss {
            return None;
        }
        Some((Duration::from_secs_f64(delay), input))
    }

    /// Hands a packet to the loop now: the invariant hears of it as the engine does.
    fn hand(&mut self, input: Input) -> (Instant, Input) {
        if let Input::Packet {
            src,
            dst: Some(dst),
            bytes,
            ..
        } = &input
        {
            let t = self.sim_now();
            let mut w = self.world.borrow_mut();
            w.now = t;
            w.bfd_heard(self.idx, *src, *dst, bytes);
        }
        (self.now(), input)
    }

    fn later(&mut self, after: Duration, input: Input) {
        self.seq += 1;
        self.due
            .insert((tokio::time::Instant::now() + after, self.seq), input);
    }

    /// A packet that has arrived by now, without waiting: one held back by latency whose
    /// time has come, else one waiting in the socket.
    fn ready_packet(&mut self) -> Option<(Instant, Input)> {
        loop {
            let now = tokio::time::Instant::now();
            if self
                .due
                .first_key_value()
                .is_some_and(|((t, _), _)| *t <= now)
            {
                let (_, input) = self.due.pop_first()?;
                return Some(self.hand(input));
            }
            let (n, _) = self.sock.try_recv_from(&mut self.buf).ok()?;
            match self.receive(n) {
                Some((d, input)) if d.is_zero() => return Some(self.hand(input)),
                Some((d, input)) => self.later(d, input),
                None => {}
            }
        }
    }

    /// Where a packet to `dst` goes: the host holding it, the segment, and our interface
    /// there (its index).
    fn route(&self, dst: IpAddr) -> Option<(usize, usize, usize)> {
        let w = self.world.borrow();
        let (h, seg) = w.hosts.iter().enumerate().find_map(|(h, hs)| {
            hs.ifaces
                .iter()
                .find(|i| i.holds(dst))
                .map(|i| (h, i.segment))
        })?;
        let k = w.hosts[self.idx]
            .ifaces
            .iter()
            .position(|i| i.segment == seg)?;
        Some((h, seg, k))
    }
}

impl Platform for SimBfd {
    fn now(&self) -> Instant {
        engine_now(self.world.borrow().hosts[self.idx].clock, self.start)
    }

    fn until(&self, t: Instant) -> Duration {
        engine_until(self.world.borrow().hosts[self.idx].clock, self.start, t)
    }

    async fn next_event(&mut self) -> Event {
        if self.stopping {
            return Event::Stop;
        }
        loop {
            let next_due = self.due.keys().next().map(|(t, _)| *t);
            tokio::select! {
                biased;
                c = self.control.recv() => match c {
                    Some(Control::Pause(ms)) => return Event::Pause(Duration::from_millis(ms)),
                    Some(Control::Reload(cfg)) => {
                        self.world.borrow_mut().bfd_reloaded(self.idx, &cfg);
                        return Event::Input(Input::Reload(Box::new((*cfg).clone())));
                    }
                    Some(Control::Shutdown) => {
                        self.stopping = true;
                        return Event::Input(Input::Shutdown);
                    }
                    // Carrier is applied where packets are received and sent; hangs are
                    // real servers'.
                    Some(Control::Link(..) | Control::Hang(_) | Control::Refuse(_)) => {}
                    None => return Event::Stop,
                },
                _ = async { tokio::time::sleep_until(next_due.unwrap_or_else(tokio::time::Instant::now)).await }, if next_due.is_some() => {
                    if let Some((_, input)) = self.due.pop_first() {
                        let (at, input) = self.hand(input);
                        return Event::Packet { at, input };
                    }
                }
                r = self.sock.recv_from(&mut self.buf) => {
                    let Ok((n, _)) = r else { continue };
                    match self.receive(n) {
                        Some((d, input)) if d.is_zero() => {
                            let (at, input) = self.hand(input);
                            return Event::Packet { at, input };
                        }
                        Some((d, input)) => self.later(d, input),
                        None => {}
                    }
                }
            }
        }
    }

    fn next_packet(&mut self) -> impl std::future::Future<Output = (Instant, Input)> {
        let got = self.ready_packet();
        async move {
            match got {
                Some(p) => p,
                None => std::future::pending().await,
            }
        }
    }

    async fn open(
        &mut self,
        session: &str,
        src: Option<IpAddr>,
        _dst: IpAddr,
        ttl: u8,
    ) -> io::Result<()> {
        // bind() to an address the host does not hold fails.
        if let Some(a) = src {
            let held = self.world.borrow().hosts[self.idx]
                .ifaces
                .iter()
                .any(|i| i.holds(a));
            if !held {
                return Err(io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    format!("{a} is not an address of this host"),
                ));
            }
        }
        self.sessions
            .insert(session.to_string(), Session { src, ttl });
        Ok(())
    }

    async fn close(&mut self, session: &str) {
        self.sessions.remove(session);
    }

    async fn transmit(&mut self, session: &str, dst: IpAddr, bytes: &[u8]) -> io::Result<()> {
        let Some(s) = self.sessions.get(session).cloned() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        self.world.borrow_mut().bfd_sent(self.idx, session, bytes);
        // A neighbour no host holds: the packet goes nowhere, as to an address that
        // never answers ARP.
        let Some((h, segment, k)) = self.route(dst) else {
            return Ok(());
        };
        let (iface, up) = {
            let w = self.world.borrow();
            let hs = &w.hosts[self.idx];
            (hs.ifaces[k].clone(), hs.links[k])
        };
        // No carrier: the kernel has no route left on the interface.
        if !up {
            return Err(io::ErrorKind::NetworkUnreachable.into());
        }
        let family = if dst.is_ipv6() {
            Family::V6
        } else {
            Family::V4
        };
        let src = s.src.unwrap_or(match family {
            Family::V4 => IpAddr::V4(iface.ipv4),
            Family::V6 => IpAddr::V6(iface.ipv6),
        });
        let d = Envelope {
            family,
            sender: self.idx,
            segment,
            src,
            dst,
            ttl: s.ttl,
            bytes,
        }
        .emit();
        self.sock
            .send_to(&d, SocketAddr::from((turmoil_ipv4(h), CONTROL_PORT)))
            .await
            .map(|_| ())
    }

    async fn deliver(&mut self, event: SessionEvent) {
        let SessionEvent {
            session,
            up,
            vrrp,
            checker,
        } = event;
        #[cfg(test)]
        if !up {
            let d = HOLD_DOWN.with(|h| h.get());
            if !d.is_zero() {
                tokio::time::sleep(d).await;
            }
        }
        self.log(
            &session,
            format!("BFD {session} {}", if up { "Up" } else { "Down" }),
        );
        self.world.borrow_mut().bfd_state(self.idx, &session, up);
        for (wanted, to) in [(vrrp, &self.clients.vrrp), (checker, &self.clients.checker)] {
            if let (true, Some(tx)) = (wanted, to) {
                let _ = tx.send((session.clone(), up));
            }
        }
    }

    fn send_failed(&mut self, session: &str, error: &io::Error) {
        self.log(session, format!("BFD {session}: send failed ({error})"));
    }

    fn open_failed(&mut self, session: &str, error: &io::Error) {
        self.log(
            session,
            format!("BFD {session}: socket not opened ({error}), retried in 60 s"),
        );
    }
}

/// The BFD side of host `idx`: the engine on the daemon's BFD loop, its session states
/// going to `clients`.
pub(crate) async fn bfd_side(world: Rc<RefCell<World>>, idx: usize, clients: Clients) {
    let (tx, rx) = unbounded_channel();
    let (config, seed) = {
        let mut w = world.borrow_mut();
        let seed = w.seed;
        let h = &mut w.hosts[idx];
        h.bfd_control = Some(tx);
        // One stream per run, host and start, apart from the VRRP side's.
        let mut r = Rng(seed ^ 0xbfd0_0000);
        let seed = r.next() ^ Rng((idx as u64) << 32 | u64::from(h.restarts)).next();
        (h.config.clone(), seed)
    };
    let sock = match UdpSocket::bind((Ipv4Addr::UNSPECIFIED, CONTROL_PORT)).await {
        Ok(s) => s,
        Err(e) => {
            let mut w = world.borrow_mut();
            w.now = turmoil::sim_elapsed().unwrap_or_default().as_secs_f64();
            w.log(idx, Kind::Bfd, format!("BFD: control port not bound ({e})"));
            return;
        }
    };
    {
        let mut w = world.borrow_mut();
        w.now = turmoil::sim_elapsed().unwrap_or_default().as_secs_f64();
        w.bfd_started(idx, &config);
    }
    let mut p = SimBfd {
        idx,
        world: world.clone(),
        sock,
        control: rx,
        start: tokio::time::Instant::now(),
        sessions: BTreeMap::new(),
        clients,
        due: BTreeMap::new(),
        seq: 0,
        rng: Rng(seed),
        stopping: false,
        buf: vec![0u8; 65536],
    };
    let mut engine = Engine::new(&config, p.now(), seed);
    driver::run(&mut engine, &mut p).await;
}

/// A host that runs BFD alone (its config has `bfd_instance` blocks and neither
/// `vrrp_instance` nor `virtual_server`): a neighbour the others' sessions point at.
pub async fn bfd_main(world: Rc<RefCell<World>>, idx: usize) -> turmoil::Result {
    {
        let mut w = world.borrow_mut();
        let h = &mut w.hosts[idx];
        h.alive = true;
        h.restarts += 1;
    }
    bfd_side(world.clone(), idx, Clients::default()).await;
    world.borrow_mut().hosts[idx].alive = false;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::run::run;
    use crate::scenario::Scenario;

    const INVARIANT: &str = "no BFD session is Up without a packet from its neighbour";

    // An injected fault proves the invariant live in a whole run: with every Down held
    // 500 ms, r1's gateway session stays Up past its 300 ms Detection Time after the
    // partition at 10 s, and is caught 300 ms + the 2 ms slack (one tick to notice) after
    // the gateway's last packet, long before the late Down. Without the fault the same
    // runs hold every invariant.
    #[test]
    fn a_session_down_declared_late_is_caught_at_its_detection_time() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join("bfd_gateway_failover.toml");
        let sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        for seed in 1..=2 {
            HOLD_DOWN.with(|h| h.set(Duration::ZERO));
            let o = run(&sc, seed);
            assert!(o.ok(), "seed {seed}: {:?} {:?}", o.violations, o.failed);
            HOLD_DOWN.with(|h| h.set(Duration::from_millis(500)));
            let o = run(&sc, seed);
            HOLD_DOWN.with(|h| h.set(Duration::ZERO));
            let v = o
                .violations
                .iter()
                .find(|v| v.invariant.starts_with(INVARIANT) && v.t >= 10.0)
                .unwrap_or_else(|| panic!("seed {seed}: not caught: {:?}", o.violations));
            assert_eq!(v.hosts, vec!["r1".to_string()], "{v:?}");
            // The gateway's last packet came before 10 s, at most one 100 ms interval
            // earlier.
            assert!(
                v.t > 10.0 && v.t <= 10.0 + 0.3 + 0.003,
                "seed {seed}: {v:?}"
            );
        }
    }
}
