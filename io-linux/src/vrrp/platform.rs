//! The Linux platform under the shared driver: raw sockets in, raw sockets out, addresses
//! through rtnetlink, GARP through AF_PACKET, scripts as child processes, signals.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::FutureExt;
use keepalived_engine::config::model::{AuthType, Config};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::{Input, InterfaceInfo, Output, Owned, State};
use keepalived_engine::wire::Family;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{debug, error, info, warn};

use keepalived_driver::vrrp::{Event, Platform};
use keepalived_driver::EngineClock;

use super::linkbeat;
use super::raw::{PacketSender, RawV4, RawV6, Received6};
use super::timer::PreciseTimer;
use super::vmac::{self, Vmacs};
use crate::host::fifo::NotifyFifo;
use crate::host::files::dump_file;
use crate::host::netlink::{HostEvent, Netlink};
use crate::host::script_user::ScriptUser;
use crate::host::scripts::Scripts;
use crate::host::signals::Signals;
use crate::host::smtp::Mailer;
use crate::ipvs::syncd::InstanceSyncd;

/// One raw socket: IPv4 (IP header ours) or IPv6 (header the kernel's).
enum Sock {
    V4(RawV4),
    V6(RawV6),
}

/// The most packets [`LinuxPlatform::next_event`] takes in a row before it looks at
/// signals, script exits and netlink again.
const PACKET_STREAK: u32 = 64;

/// A receive stamp further back than this is taken for a wall clock stepped forward, not
/// for a wait: such a packet is dated when it is read.
const LONGEST_WAIT: Duration = Duration::from_secs(1);

/// At least this many outputs carried out between two empty queues (1,000 takeovers,
/// say) give their freed memory back.
const TRIM_AFTER: usize = 512;

pub(crate) struct LinuxPlatform {
    clock: EngineClock,
    pub netlink: Netlink,
    interfaces: BTreeMap<String, InterfaceInfo>,
    vmacs: Vmacs,
    sockets: Sockets,
    packet_out: PacketSender,
    scripts: Scripts,
    signals: Signals,
    fifos: Vec<NotifyFifo>,
    /// Each instance's VRID, for the `vrid` field of log lines.
    vrids: BTreeMap<String, u8>,
    /// Configurations from the parent, complete ([`crate::config_channel`]).
    reloads: UnboundedReceiver<Box<Config>>,
    /// `-V`: leave VIPs in place when stopping.
    dont_release: bool,
    stopping: bool,
    /// Events to hand the loop before any new one (polled link changes).
    pending: VecDeque<Event>,
    /// Packets taken in a row without looking at signals, scripts and netlink.
    streak: u32,
    /// Outputs carried out since the engine's queue was last empty.
    since_drained: usize,
    /// After a reload: the VMACs the new configuration keeps; the others are deleted
    /// once the engine has taken their addresses off.
    vmac_keep: Option<Vec<String>>,
    /// Interfaces whose link is polled rather than taken from netlink events.
    /// Where `smtp_alert` mail goes, if anywhere.
    mailer: Option<Mailer>,
    polled: BTreeMap<String, linkbeat::Method>,
    linkbeat_sock: Option<std::os::fd::OwnedFd>,
    poll_tick: tokio::time::Interval,
    /// `lvs_sync_daemon IF INSTANCE`: the IPVS sync threads follow that instance.
    syncd: Option<InstanceSyncd>,
    /// When the loop took the configuration being applied, for the "Reload applied" line.
    reload_started: Option<std::time::Instant>,
    /// Engine deadlines, kept to the microsecond rather than tokio's millisecond.
    timer: Option<PreciseTimer>,
}

pub struct Setup {
    pub dont_release: bool,
    pub fifos: Vec<keepalived_engine::config::model::Fifo>,
    /// Where the parent's later configurations arrive.
    pub reloads: UnboundedReceiver<Box<Config>>,
}

impl LinuxPlatform {
    /// Creates the VMACs, opens a raw socket per (interface, protocol, family) the
    /// configuration needs, and starts a reader task for each.
    pub async fn new(
        setup: Setup,
        config: &Config,
    ) -> Result<(LinuxPlatform, Vec<InterfaceInfo>), String> {
        let setup_fifos = setup.fifos;
        let mut netlink = Netlink::connect().map_err(|e| e.to_string())?;
        let mut vmacs = Vmacs::default();
        vmacs.ensure(&mut netlink, config).await;
        let ifs = netlink.interfaces().await.map_err(|e| e.to_string())?;
        let clock = EngineClock::start();
        let mut platform = LinuxPlatform {
            clock,
            interfaces: ifs.iter().map(|i| (i.name.clone(), i.clone())).collect(),
            netlink,
            vmacs,
            sockets: Sockets::new(clock),
            packet_out: PacketSender::open().map_err(|e| format!("AF_PACKET socket: {e}"))?,
            scripts: Scripts::new(ScriptUser::from_global(&config.global)),
            signals: Signals::install().map_err(|e| format!("signals: {e}"))?,
            fifos: Vec::new(),
            vrids: vrids(config),
            reloads: setup.reloads,
            dont_release: setup.dont_release,
            stopping: false,
            pending: VecDeque::new(),
            streak: 0,
            since_drained: 0,
            vmac_keep: None,
            mailer: Mailer::from_global(&config.global),
            polled: linkbeat::polled(config),
            linkbeat_sock: linkbeat::socket().ok(),
            poll_tick: {
                let mut t = tokio::time::interval(linkbeat::INTERVAL);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            },
            syncd: InstanceSyncd::start(config.global.lvs_sync_daemon.as_ref()),
            reload_started: None,
            timer: PreciseTimer::new()
                .map_err(|e| warn!("timerfd: {e}; timers fall back to tokio's"))
                .ok(),
        };
        platform.open_sockets(config)?;
        for f in &setup_fifos {
            match NotifyFifo::open(f, &platform.scripts) {
                Ok(fifo) => platform.fifos.push(fifo),
                Err(e) => warn!("{e}"),
            }
        }
        Ok((platform, ifs))
    }

    /// A socket for every (interface, protocol, family) of `config` that has none yet,
    /// each with a reader feeding the one channel the loop selects on.
    fn open_sockets(&mut self, config: &Config) -> Result<(), String> {
        let group4 = match config.global.vrrp_mcast_group4 {
            IpAddr::V4(g) => g,
            IpAddr::V6(_) => keepalived_engine::wire::MCAST_GROUP4,
        };
        let group6 = match config.global.vrrp_mcast_group6 {
            IpAddr::V6(g) => g,
            IpAddr::V4(_) => keepalived_engine::wire::MCAST_GROUP6,
        };
        for vi in &config.instances {
            let Some(ifname) = vi.xmit_interface().map(str::to_string) else {
                continue;
            };
            let v6 = vi.is_ipv6();
            let Some(ifindex) = self.netlink.ifindex(&ifname) else {
                return Err(format!("{}: interface {ifname} does not exist", vi.name));
            };
            let ah = matches!(&vi.authentication, Some(a) if a.auth_type == AuthType::Ah);
            let proto = if ah {
                keepalived_engine::wire::IPPROTO_AH
            } else {
                keepalived_engine::wire::IPPROTO_VRRP
            };
            let family = if v6 { Family::V6 } else { Family::V4 };
            let key = (ifname.clone(), proto, family);
            if self.sockets.by_key.contains_key(&key) {
                continue;
            }
            let sock = if v6 {
                let s = RawV6::open(&ifname, ifindex, group6)
                    .map_err(|e| format!("raw IPv6 socket on {ifname}: {e}"))?;
                Sock::V6(s)
            } else {
                let s = RawV4::open(&ifname, ifindex, proto, group4)
                    .map_err(|e| format!("raw socket on {ifname}: {e}"))?;
                Sock::V4(s)
            };
            self.sockets.by_key.insert(key, sock);
        }
        Ok(())
    }

    /// On exit: the VMACs we created go, and the sysctls we changed are put back;
    /// with `-V` they stay, as the VIPs on them do.
    pub async fn release(&mut self) {
        if let Some(s) = self.syncd.take() {
            s.stop();
        }
        if !self.dont_release {
            self.vmacs.remove_all(&mut self.netlink).await;
        }
    }
}

/// The VRRP sockets, one per interface, protocol and family.
struct Sockets {
    by_key: BTreeMap<(String, u8, Family), Sock>,
    /// The engine's clock, to date each packet from when the kernel received it.
    clock: EngineClock,
    /// Where a received IPv4 datagram is read into.
    buf: Vec<u8>,
    /// The socket [`Sockets::poll_packet`] asks first, so that one busy interface cannot
    /// keep the others waiting.
    turn: usize,
}

impl Sockets {
    fn new(clock: EngineClock) -> Sockets {
        Sockets {
            by_key: BTreeMap::new(),
            clock,
            buf: vec![0; 65536],
            turn: 0,
        }
    }

    /// The next packet from whichever socket has one, and when it arrived. Cancel-safe.
    fn recv(&mut self) -> impl Future<Output = (Instant, Input)> + '_ {
        std::future::poll_fn(move |cx| self.poll_packet(cx))
    }

    /// A packet from whichever socket has one, each socket asked first in turn.
    fn poll_packet(&mut self, cx: &mut Context<'_>) -> Poll<(Instant, Input)> {
        let n = self.by_key.len();
        let start = self.turn.min(n);
        let in_turn = self.by_key.iter().enumerate().skip(start);
        let mut more = false;
        for (k, ((interface, ..), sock)) in
            in_turn.chain(self.by_key.iter().enumerate().take(start))
        {
            // Reads past what is not a packet (a runt, a socket error), so that the
            // socket is left either with a packet taken or with the waker registered.
            let mut unread = true;
            for _ in 0..UNUSABLE_READS {
                match sock.poll_input(cx, interface, &mut self.buf) {
                    Poll::Pending => {
                        unread = false;
                        break;
                    }
                    Poll::Ready(Ok((Some(input), waited))) => {
                        self.turn = (k + 1) % n;
                        return Poll::Ready((arrival(self.clock.now(), waited), input));
                    }
                    Poll::Ready(Ok((None, _))) => {}
                    Poll::Ready(Err(e)) => debug!(%interface, "receiving: {e}"),
                }
            }
            more |= unread;
        }
        if more {
            // A socket still holds packets but has no waker: come back to it.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Sock {
    /// One datagram as the engine's input (`None` for one that cannot be), if the runtime
    /// has seen one arrive, and how long it waited to be read.
    fn poll_input(
        &self,
        cx: &mut Context<'_>,
        interface: &str,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<(Option<Input>, Option<Duration>)>> {
        match self {
            Sock::V4(s) => s
                .poll_recv(cx, buf)
                .map_ok(|(len, waited)| (v4_input(interface, &buf[..len]), waited)),
            Sock::V6(s) => s.poll_recv(cx).map_ok(|r| {
                let waited = r.waited;
                (v6_input(interface, r), waited)
            }),
        }
    }
}

/// When a packet read at `now` arrived: a timer it restarts counts from its arrival
/// (RFC 5798 §6.4.2), not from when a busy loop got to it.
fn arrival(now: Instant, waited: Option<Duration>) -> Instant {
    match waited.filter(|w| *w <= LONGEST_WAIT) {
        Some(w) => Instant::from_micros(now.as_micros().saturating_sub(w.as_micros() as u64)),
        None => now,
    }
}

/// Runts and errors one socket may give in a row before the others get their turn.
const UNUSABLE_READS: usize = 64;

/// A received IPv4 datagram (header included) as the engine's input.
fn v4_input(interface: &str, b: &[u8]) -> Option<Input> {
    let header = b.get(..20)?;
    Some(Input::Packet {
        interface: interface.to_string(),
        family: Family::V4,
        src: IpAddr::from([header[12], header[13], header[14], header[15]]),
        dst: IpAddr::from([header[16], header[17], header[18], header[19]]),
        hop_limit: Some(header[8]),
        bytes: b.to_vec(),
    })
}

/// A received IPv6 payload as the engine's input; without its destination (no
/// IPV6_PKTINFO) it cannot be checked, so it is dropped.
fn v6_input(interface: &str, r: Received6) -> Option<Input> {
    Some(Input::Packet {
        interface: interface.to_string(),
        family: Family::V6,
        src: IpAddr::V6(r.src),
        dst: IpAddr::V6(r.dst?),
        hop_limit: r.hop_limit,
        bytes: r.payload,
    })
}

impl Platform for LinuxPlatform {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn until(&self, t: Instant) -> Duration {
        self.clock.until(t)
    }

    fn sleep(&self, d: Duration) -> impl std::future::Future<Output = ()> + 'static {
        let timer = self.timer.clone();
        async move {
            match timer {
                Some(t) => t.sleep(d).await,
                None => tokio::time::sleep(d).await,
            }
        }
    }

    async fn next_event(&mut self) -> Event {
        if self.stopping {
            return Event::Stop;
        }
        if let Some(ev) = self.pending.pop_front() {
            return ev;
        }
        // A backup of 1,000 instances reads its adverts in bursts; building the whole
        // select below for each packet of a burst was a fifth of its CPU. Every
        // PACKET_STREAK-th call still looks at everything, so a flood hides no signal.
        if self.streak < PACKET_STREAK {
            if let Some((at, input)) =
                tokio::task::unconstrained(self.sockets.recv()).now_or_never()
            {
                self.streak += 1;
                return Event::Packet { at, input };
            }
        }
        self.streak = 0;
        loop {
            tokio::select! {
                biased;
                _ = self.signals.term.recv() => return self.shutdown("SIGTERM"),
                _ = self.signals.int.recv() => return self.shutdown("SIGINT"),
                _ = self.signals.hup.recv() => {
                    crate::config_channel::pass_reload_to_parent(crate::host::process::Process::Vrrp)
                }
                _ = self.signals.usr1.recv() => return Event::DumpData,
                _ = self.signals.usr2.recv() => return Event::DumpStats,
                _ = self.signals.json.recv() => return Event::DumpJson,
                // Complete: applying it awaits nothing the loop's timer can cancel.
                Some(config) = self.reloads.recv() => return Event::Reload(config),
                Some((script, status)) = self.scripts.exits.recv() => {
                    return Event::Input(Input::ScriptExited { script, status });
                }
                _ = self.poll_tick.tick(), if !self.polled.is_empty() => {
                    if let Some(ev) = self.poll_links() {
                        return ev;
                    }
                }
                Some(ev) = self.netlink.next_host_event() => {
                    if let Some(ev) = self.host_event(ev).await {
                        return ev;
                    }
                }
                (at, input) = self.sockets.recv() => return Event::Packet { at, input },
            }
        }
    }

    fn next_packet(&mut self) -> impl Future<Output = (Instant, Input)> {
        self.sockets.recv()
    }

    /// What a reload needs before the engine sees it: the new configuration's VMACs and
    /// sockets, and the interfaces as they now are, so a new instance starts on a link it
    /// can see. Returns those interface changes, for the engine ahead of the reload.
    async fn prepare_reload(&mut self, config: &Config) -> Vec<Input> {
        self.reload_started = Some(std::time::Instant::now());
        self.vrids = vrids(config);
        self.polled = linkbeat::polled(config);
        self.mailer = Mailer::from_global(&config.global);
        self.scripts.default_user = ScriptUser::from_global(&config.global);
        InstanceSyncd::reload(&mut self.syncd, config.global.lvs_sync_daemon.as_ref());
        self.vmacs.ensure(&mut self.netlink, config).await;
        if let Err(e) = self.open_sockets(config) {
            error!("{e}");
        }
        let mut news = Vec::new();
        if let Ok(ifs) = self.netlink.interfaces().await {
            for info in ifs {
                if self.interfaces.get(&info.name) != Some(&info) {
                    self.interfaces.insert(info.name.clone(), info.clone());
                    news.push(Input::Interface(info));
                }
            }
        }
        self.vmac_keep = Some(vmac::wanted(config).into_iter().map(|w| w.name).collect());
        news
    }

    async fn drained(&mut self) {
        if let Some(keep) = self.vmac_keep.take() {
            self.vmacs.remove_except(&mut self.netlink, &keep).await;
        }
        let carried_out = std::mem::take(&mut self.since_drained);
        if let Some(since) = self.reload_started.take() {
            // The new configuration is in the engine and its outputs are carried out.
            crate::host::process::release_freed_memory();
            info!(
                "Reload applied in {:.1} ms",
                since.elapsed().as_secs_f64() * 1000.0
            );
        } else if carried_out >= TRIM_AFTER {
            // 1,000 takeovers' queue, freed out of the order it was built in, leaves the
            // heap's top pinned: 2-3 MiB that glibc would keep for the process's life.
            crate::host::process::release_freed_memory();
        }
    }

    async fn execute(&mut self, out: Output) {
        self.since_drained += 1;
        match out {
            Output::Transmit {
                instance,
                interface,
                family,
                dst,
                bytes,
                ..
            } => {
                let proto = match family {
                    Family::V4 => bytes
                        .get(9)
                        .copied()
                        .unwrap_or(keepalived_engine::wire::IPPROTO_VRRP),
                    Family::V6 => keepalived_engine::wire::IPPROTO_VRRP,
                };
                let r = match (
                    self.sockets.by_key.get(&(interface.clone(), proto, family)),
                    dst,
                ) {
                    (Some(Sock::V4(s)), IpAddr::V4(d)) => s.send(&bytes, d),
                    (Some(Sock::V6(s)), IpAddr::V6(d)) => s.send(&bytes, d),
                    _ => Err(std::io::Error::other(
                        "no socket for this interface and family",
                    )),
                };
                if let Err(e) = r {
                    let vrid = self.vrid(&instance);
                    warn!(%instance, vrid, %interface, "sending advert: {e}");
                }
            }
            Output::Add { instance, what } => self.owned(&instance, what, true).await,
            Output::Del { instance, what } => {
                if !(self.stopping && self.dont_release) {
                    self.owned(&instance, what, false).await
                }
            }
            Output::SendGratuitousArp {
                interface, frame, ..
            }
            | Output::SendNeighborAdvert {
                interface, frame, ..
            } => {
                if let Some(i) = self.netlink.ifindex(&interface) {
                    if let Err(e) = self.packet_out.send(i, &frame) {
                        warn!(%interface, "sending GARP/NA: {e}");
                    }
                }
            }
            Output::RunScript {
                script,
                command,
                timeout_us,
            } => self
                .scripts
                .run_track(script, &command, Duration::from_micros(timeout_us)),
            Output::Notify { command, .. } => self.scripts.notify(&command),
            Output::Fifo { line } => {
                for f in &mut self.fifos {
                    f.write(&line);
                }
            }
            Output::StateChange {
                instance,
                from,
                to,
                reason,
            } => {
                let word = match to {
                    State::Master => "Entering MASTER STATE",
                    State::Backup => "Entering BACKUP STATE",
                    State::Fault => "Entering FAULT STATE",
                    State::Stop => "Stopped",
                    State::Init => "Entering INIT STATE",
                };
                let vrid = self.vrid(&instance);
                info!(%instance, vrid, ?from, ?to, %reason, "({instance}) {word} ({reason})");
                if let Some(s) = self.syncd.as_mut() {
                    s.state_change(&instance, to == State::Master);
                }
            }
            Output::GroupStateChange { group, to } => {
                info!(%group, ?to, "VRRP_Group({group}) {to:?}")
            }
            Output::PriorityChange {
                instance,
                effective,
            } => {
                let vrid = self.vrid(&instance);
                info!(%instance, vrid, effective, "({instance}) effective priority now {effective}")
            }
            Output::SmtpAlert { subject, body } => {
                if let Some(m) = self.mailer.clone() {
                    tokio::spawn(async move {
                        match m.send(&subject, &body).await {
                            Ok(()) => info!("SMTP alert sent: {subject}"),
                            Err(e) => warn!("SMTP alert \"{subject}\" not sent: {e}"),
                        }
                    });
                }
            }
            Output::Log { instance, message } => {
                let vrid = self.vrid(&instance);
                info!(%instance, vrid, "({instance}) {message}")
            }
        }
    }

    fn write_stats(&mut self, text: String) {
        dump_file("keepalived.stats", &text);
    }

    fn write_data(&mut self, text: String) {
        dump_file("keepalived.data", &text);
    }

    fn write_json(&mut self, text: String) {
        dump_file("keepalived.json", &text);
    }
}

fn v4_of(a: IpAddr) -> Option<std::net::Ipv4Addr> {
    match a {
        IpAddr::V4(v) => Some(v),
        IpAddr::V6(_) => None,
    }
}

fn v6_of(a: IpAddr) -> Option<std::net::Ipv6Addr> {
    match a {
        IpAddr::V6(v) => Some(v),
        IpAddr::V4(_) => None,
    }
}

fn vrids(config: &keepalived_engine::config::model::Config) -> BTreeMap<String, u8> {
    config
        .instances
        .iter()
        .map(|i| (i.name.clone(), i.virtual_router_id))
        .collect()
}

impl LinuxPlatform {
    /// A link or address change as the engine sees interfaces: state and MAC from link
    /// messages, the primary IPv4 and the link-local IPv6 address (the advert sources)
    /// from address messages. Our own VIPs come and go without changing either.
    async fn host_event(&mut self, ev: HostEvent) -> Option<Event> {
        let merged = match ev {
            HostEvent::Link(info) => {
                // A polled interface's link state comes from polling alone.
                if self.polled.contains_key(&info.name) {
                    return None;
                }
                match self.interfaces.get(&info.name) {
                    Some(old) => InterfaceInfo {
                        ipv4: old.ipv4,
                        ipv6_ll: old.ipv6_ll,
                        ipv6_forwarding: old.ipv6_forwarding,
                        ..info
                    },
                    None => info,
                }
            }
            HostEvent::Address {
                interface,
                addr,
                added,
            } => {
                let mut info = self.interfaces.get(&interface)?.clone();
                let link_local =
                    matches!(addr, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80);
                if let (IpAddr::V6(ll), true, true) = (addr, added, link_local) {
                    self.vmacs
                        .base_link_local(&mut self.netlink, &interface, ll)
                        .await;
                }
                match (addr, added) {
                    (IpAddr::V4(v4), true) if info.ipv4.is_none() => info.ipv4 = Some(v4),
                    (IpAddr::V6(v6), true) if link_local && info.ipv6_ll.is_none() => {
                        info.ipv6_ll = Some(v6)
                    }
                    (a, false)
                        if v4_of(a).is_some_and(|v| info.ipv4 == Some(v))
                            || v6_of(a).is_some_and(|v| info.ipv6_ll == Some(v)) =>
                    {
                        // The source address went: the next primary is what the kernel
                        // lists first now.
                        let fresh = self.netlink.interfaces().await.ok()?;
                        let now = fresh.into_iter().find(|i| i.name == interface)?;
                        info.ipv4 = now.ipv4;
                        info.ipv6_ll = now.ipv6_ll;
                    }
                    _ => return None,
                }
                info
            }
        };
        if self.interfaces.get(&merged.name) == Some(&merged) {
            return None;
        }
        self.interfaces.insert(merged.name.clone(), merged.clone());
        Some(Event::Input(Input::Interface(merged)))
    }

    /// Reads each polled interface's link; the changes become interface events.
    fn poll_links(&mut self) -> Option<Event> {
        let sock = self.linkbeat_sock.as_ref()?;
        for (name, method) in &self.polled {
            let Some(up) = linkbeat::link_up(sock, name, *method) else {
                continue;
            };
            if let Some(old) = self.interfaces.get_mut(name) {
                if old.up != up {
                    old.up = up;
                    info!(interface = %name, "link {} (polled)", if up { "up" } else { "down" });
                    self.pending
                        .push_back(Event::Input(Input::Interface(old.clone())));
                }
            }
        }
        self.pending.pop_front()
    }

    fn vrid(&self, instance: &str) -> u8 {
        self.vrids.get(instance).copied().unwrap_or(0)
    }

    fn shutdown(&mut self, why: &str) -> Event {
        info!("{why} received: stopping");
        self.stopping = true;
        Event::Input(Input::Shutdown)
    }

    /// Removes the VIPs of instances that start as backup if the host still holds them
    /// from a previous run that did not stop cleanly (a crashed and respawned VRRP
    /// child): a backup holding the VIP would answer for it beside the master
    /// (`vrrp_init_state()` → `vrrp_restore_interface(…, force)`).
    pub(crate) async fn remove_leftovers(&mut self, engine: &keepalived_engine::vrrp::Engine) {
        for inst in engine.instances() {
            if inst.owner() || inst.state == State::Master {
                continue;
            }
            for what in inst.owned() {
                let Owned::Address {
                    addr, interface, ..
                } = what
                else {
                    continue;
                };
                if matches!(
                    self.netlink.has_address(addr.address, &interface).await,
                    Ok(true)
                ) {
                    info!(instance = %inst.name(), vrid = inst.vrid(), %interface, "removing {}/{} left from a previous run", addr.address, addr.prefix_len);
                    if let Err(e) = self.netlink.del_address(&addr, &interface).await {
                        warn!(instance = %inst.name(), %interface, "removing {}: {e}", addr.address);
                    }
                }
            }
        }
    }

    /// Adds or removes one address, route or rule. Done, it is logged only with `-D`,
    /// as keepalived logs its GARPs (`vrrp_send_update()`): a takeover of 1,000
    /// instances is not 1,000 more writes ahead of their GARPs.
    async fn owned(&mut self, instance: &str, what: Owned, add: bool) {
        let vrid = self.vrid(instance);
        match what {
            Owned::Address {
                addr, interface, ..
            } => {
                let r = if add {
                    self.netlink.add_address(&addr, &interface).await
                } else {
                    self.netlink.del_address(&addr, &interface).await
                };
                match r {
                    Ok(()) => {
                        debug!(%instance, vrid, %interface, "{} {}/{}", if add { "adding" } else { "removing" }, addr.address, addr.prefix_len)
                    }
                    Err(e) => {
                        warn!(%instance, vrid, %interface, "{} {}: {e}", if add { "adding" } else { "removing" }, addr.address)
                    }
                }
            }
            Owned::Route(r) => match self.netlink.route(&r, add).await {
                Ok(()) => {
                    debug!(%instance, vrid, "{} route {:?} via {:?}", if add { "adding" } else { "removing" }, r.to, r.via)
                }
                Err(e) => {
                    warn!(%instance, vrid, "{} route {:?}: {e}", if add { "adding" } else { "removing" }, r.to)
                }
            },
            Owned::Rule(r) => match self.netlink.rule(&r, add).await {
                Ok(()) => {
                    debug!(%instance, vrid, "{} rule from {:?} to {:?}", if add { "adding" } else { "removing" }, r.from, r.to)
                }
                Err(e) => {
                    warn!(%instance, vrid, "{} rule: {e}", if add { "adding" } else { "removing" })
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packet_is_dated_when_it_arrived_unless_its_stamp_is_implausible() {
        let now = Instant::from_micros(5_000_000);
        let ms = Duration::from_millis;
        assert_eq!(arrival(now, Some(ms(3))), Instant::from_micros(4_997_000));
        assert_eq!(arrival(now, None), now);
        // Further back than any wait: a wall clock stepped forward.
        assert_eq!(arrival(now, Some(LONGEST_WAIT + ms(1))), now);
        // Never before the engine's epoch.
        let early = Instant::from_micros(200);
        assert_eq!(arrival(early, Some(ms(1))), Instant::ZERO);
    }
}
