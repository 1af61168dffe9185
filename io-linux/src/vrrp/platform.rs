//! The Linux platform under the shared driver: it wires the VRRP child's parts to the
//! driver's `Platform` calls. Each part is its own module: the clock (`timer`), the
//! host's network (`network`), polled links (`linkbeat`), the packet sockets (`sockets`),
//! who hears of instance events (`reports`), a reload in progress (`reload`), the
//! interfaces' `promote_secondaries` (`promote`) and memory trimming (`trim`); signals,
//! the parent's configurations and the stop are here.

use std::future::Future;
use std::time::Duration;

use crate::snmp::VrrpEvent;
use keepalived_engine::config::model::Config;
use keepalived_engine::snmp::traps::TrapEvent;
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::live::Live;
use keepalived_engine::vrrp::REMOVED_BY_RELOAD;
use keepalived_engine::vrrp::{Engine, Input, InterfaceInfo, Output, State, TrackedAtStart};
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{debug, error, info, warn};

use keepalived_driver::vrrp::{Event, Platform};
use keepalived_driver::{EngineClock, Query};

use super::linkbeat::{Method, PolledLinks};
use super::network::Network;
use super::promote::PromoteSecondaries;
use super::reload::Reload;
use super::reports::Reports;
use super::sockets::Sockets;
use super::statics::Statics;
use super::timer::Clock;
use super::tracked_files::TrackedFiles;
use super::tracked_processes::TrackedProcesses;
use super::trim::MemoryTrim;
use crate::bfd::events::{next_record, EventReader};
use crate::host::files::{dump_file, DumpPaths, VRRP_DATA};
use crate::host::script_user::{Identity, ScriptUser};
use crate::host::scripts::Scripts;
use crate::host::signals::Signals;
use crate::metrics::live::VrrpLive;
use crate::metrics::{next_question, Asked, ChildMetrics, VrrpAnswer};
use keepalived_engine::vrrp::dump::{DumpHost, LinkPolling};

pub(crate) struct LinuxPlatform {
    /// The engine's clock and the timer its deadlines are waited on with.
    clock: Clock,
    /// Signals, the parent's configurations, and the stop.
    control: Control,
    /// The interface table, and the addresses, routes, rules and VMACs on the host.
    network: Network,
    /// Interfaces whose link is polled rather than taken from netlink events.
    polled: PolledLinks,
    /// VRRP adverts in and out; GARPs and NAs out.
    sockets: Sockets,
    /// Track and notify scripts, and their exits.
    scripts: Scripts,
    /// The `track_file`s the instances follow, and their changes.
    files: TrackedFiles,
    /// The `vrrp_track_process`es the instances follow, and their counts' changes.
    processes: TrackedProcesses,
    /// The log, notify FIFOs, SMTP alerts and the IPVS sync daemon.
    reports: Reports,
    /// The reload whose outputs are being carried out.
    reload: Option<Reload>,
    /// The static addresses, routes and rules, kept by a task of their own.
    statics: Statics,
    /// When freed memory goes back to the kernel.
    trim: MemoryTrim,
    /// Where the signal dumps go, from the running configuration.
    dumps: DumpPaths,
    /// The interfaces whose `promote_secondaries` the instances turned on.
    promote: PromoteSecondaries,
    /// `--metrics`: what the parent asks, and what this platform measures for it.
    metrics: Metrics,
    /// The SNMP sub-agent, when `-x` or an `enable_snmp_*` asks for it.
    snmp: crate::snmp::LoopSide<VrrpEvent, Live>,
    /// The BFD sessions' states, from the BFD child (`vrrp_bfd_thread()`).
    bfd: Option<EventReader>,
}

/// The metrics endpoint's side of the platform ([`crate::metrics`]).
#[derive(Default)]
struct Metrics {
    questions: Option<UnboundedReceiver<Asked<VrrpAnswer>>>,
    /// Where the answer to the question being answered goes.
    asked: Option<std::sync::mpsc::SyncSender<VrrpAnswer>>,
    live: Option<VrrpLive>,
}

pub struct Setup {
    pub dont_release: bool,
    pub fifos: Vec<keepalived_engine::config::model::Fifo>,
    /// Where the parent's later configurations arrive.
    pub reloads: UnboundedReceiver<Box<Config>>,
    /// `--metrics`: the parent's questions, and what to record for them.
    pub metrics: Option<ChildMetrics<VrrpAnswer, VrrpLive>>,
    /// `-x`, `-A`.
    pub snmp: crate::snmp::SnmpOptions,
    /// Whether the checker child runs: it serves the SNMP global scalars when its MIB
    /// is enabled.
    pub checker_runs: bool,
}

/// What the operator and the parent ask of the child: signals, later configurations,
/// and the stop, with or without `-V`.
struct Control {
    signals: Signals,
    /// Configurations from the parent, complete ([`crate::config_channel`]).
    reloads: UnboundedReceiver<Box<Config>>,
    /// `-V`: leave VIPs in place when stopping.
    dont_release: bool,
    stopping: bool,
}

impl Control {
    fn shutdown(&mut self, why: &str) -> Event {
        info!("{why} received: stopping");
        self.stopping = true;
        Event::Input(Input::Shutdown)
    }

    /// Stopping with `-V`: the engine's removals are not carried out.
    fn leaves_vips(&self) -> bool {
        self.stopping && self.dont_release
    }
}

impl LinuxPlatform {
    /// What comes before any packet: the stop once asked for, and a link change the
    /// polled interfaces already found.
    fn before_packets(&mut self) -> Option<Event> {
        if self.control.stopping {
            return Some(Event::Stop);
        }
        self.polled.pending()
    }

    /// Sends a gratuitous ARP or unsolicited NA frame, the drop rules of the VIPs it
    /// announces in place first (keepalived sets them before adding the VIPs), so
    /// nobody is sent to a VIP before its rule is there.
    fn announce(&mut self, interface: &str, frame: &[u8]) {
        self.network.flush_firewall();
        if let Some(i) = self.network.ifindex(interface) {
            if let Err(e) = self.sockets.send_frame(i, frame) {
                warn!(%interface, "sending GARP/NA: {e}");
            }
        }
    }

    /// Creates the VMACs, opens a raw socket per (interface, protocol, family) the
    /// configuration needs, and starts a reader task for each.
    pub async fn new(
        setup: Setup,
        config: &Config,
    ) -> Result<(LinuxPlatform, Vec<InterfaceInfo>), String> {
        // First: taking the BFD event pipe makes it close-on-exec again, before anything
        // below can start a process that would hold it.
        let bfd = EventReader::inherited(crate::host::process::Process::Vrrp);
        let (network, ifs) = Network::connect(config).await?;
        let engine_clock = EngineClock::start();
        let mut platform = LinuxPlatform {
            network,
            sockets: Sockets::new(engine_clock)?,
            scripts: Scripts::new(ScriptUser::from_global(&config.global)),
            files: TrackedFiles::start(config),
            processes: TrackedProcesses::new(config),
            control: Control {
                signals: Signals::install().map_err(|e| format!("signals: {e}"))?,
                reloads: setup.reloads,
                dont_release: setup.dont_release,
                stopping: false,
            },
            polled: PolledLinks::new(config),
            reports: Reports::new(config),
            reload: None,
            statics: Statics::start(config, setup.dont_release),
            trim: MemoryTrim::default(),
            clock: Clock::new(engine_clock),
            dumps: DumpPaths::new(config),
            promote: PromoteSecondaries::default(),
            metrics: match setup.metrics {
                Some(m) => Metrics {
                    questions: Some(m.questions),
                    live: Some(m.live),
                    ..Metrics::default()
                },
                None => Metrics::default(),
            },
            snmp: crate::snmp::start_vrrp(config, &setup.snmp, setup.checker_runs),
            bfd,
        };
        platform
            .sockets
            .open(config, |name| platform.network.ifindex(name))?;
        platform.reports.open_fifos(&setup.fifos, &platform.scripts);
        platform.promote.apply(config);
        Ok((platform, ifs))
    }

    /// What the trackers read at start, for the engine's first priorities and states:
    /// tracked files' values, tracked processes' counts and the `track_src_ip`
    /// addresses missing from their interfaces.
    pub(crate) async fn tracked_at_start(&mut self, config: &Config) -> TrackedAtStart {
        self.network.follow_sources(config).await;
        TrackedAtStart {
            files: self.files.values(),
            processes: self.processes.counts(),
            missing_sources: self.network.missing_sources(),
        }
    }

    /// Removes the VIPs the host still holds from a previous run for instances that
    /// start as backup ([`Network::remove_leftovers`]).
    pub(crate) async fn remove_leftovers(&mut self, engine: &Engine) {
        self.network.remove_leftovers(engine).await;
    }

    /// On exit: the VMACs we created go, and the sysctls we changed are put back;
    /// with `-V` they stay, as the VIPs on them do (keepalived skips
    /// `shutdown_vrrp_instances()` then).
    pub async fn release(&mut self) {
        // The stop's notifications go before the child does (keepalived sends them as
        // it stops its instances).
        self.snmp.stop();
        self.reports.stop_syncd();
        // Static items go whether or not -V keeps the VIPs (`vrrp_terminate_phase1()`).
        self.statics.release().await;
        // The firewall's tables go even with -V (`vrrp_terminate_phase2()` →
        // `firewall_fini()`).
        self.network.release_firewall();
        if !self.control.dont_release {
            self.network.remove_vmacs().await;
            self.promote.restore();
        }
    }
}

impl Platform for LinuxPlatform {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn until(&self, t: Instant) -> Duration {
        if let Some(live) = &self.metrics.live {
            let late = self.clock.now().saturating_since(t);
            if !late.is_zero() {
                live.timer_late.observe(late.as_secs_f64());
            }
        }
        self.clock.until(t)
    }

    fn sleep(&self, d: Duration) -> impl std::future::Future<Output = ()> + 'static {
        self.clock.sleep(d)
    }

    fn arrived(&mut self) -> Option<Event> {
        if let Some(ev) = self.before_packets() {
            return Some(ev);
        }
        // A backup of 1,000 instances reads its adverts in bursts; building the whole
        // select of `next_event` for each packet of a burst was a fifth of its CPU. When
        // PACKET_STREAK have been taken in a row this gives none, and the loop goes to
        // `next_event`, which looks at everything: a flood hides no signal.
        let (at, input) = self.sockets.streak_packet()?;
        Some(Event::Packet { at, input })
    }

    async fn next_event(&mut self) -> Event {
        // Not a packet at hand: the loop has just asked `arrived` for one, and a streak
        // taken here again would never let the select below run.
        if let Some(ev) = self.before_packets() {
            return ev;
        }
        loop {
            if let Some(input) = self.network.pending_input() {
                return Event::Input(input);
            }
            let held = self.network.held_until();
            tokio::select! {
                biased;
                _ = self.control.signals.term.recv() => return self.control.shutdown("SIGTERM"),
                _ = self.control.signals.int.recv() => return self.control.shutdown("SIGINT"),
                _ = self.control.signals.hup.recv() => {
                    crate::config_channel::pass_reload_to_parent(crate::host::process::Process::Vrrp)
                }
                // keepalived's words for each (`sigusr1_vrrp()`, `sigusr2_vrrp()`,
                // `sigjson_vrrp()`).
                _ = self.control.signals.usr1.recv() => {
                    info!("Printing VRRP data for process({}) on signal", std::process::id());
                    return Event::DumpData;
                }
                _ = self.control.signals.usr2.recv() => {
                    info!("Printing VRRP stats for process({}) on signal", std::process::id());
                    return Event::DumpStats { clear: false };
                }
                _ = self.control.signals.stats_clear.recv() => {
                    info!(
                        "Printing and clearing VRRP stats for process({}) on signal",
                        std::process::id()
                    );
                    return Event::DumpStats { clear: true };
                }
                _ = self.control.signals.json.recv() => {
                    info!("Printing VRRP as json for process({}) on signal", std::process::id());
                    return Event::DumpJson;
                }
                // Complete: applying it awaits nothing the loop's timer can cancel.
                Some(mut config) = self.control.reloads.recv() => {
                    super::vmac::place_addresses(&mut config);
                    return Event::Reload(config);
                }
                // A session's state, as soon as the BFD child writes it: a track_bfd
                // instance leaves MASTER within the session's detection time.
                r = next_record(&mut self.bfd) => {
                    return Event::Input(Input::Bfd { name: r.name, up: r.up });
                }
                Some((script, status)) = self.scripts.exits.recv() => {
                    return Event::Input(Input::ScriptExited { script, status });
                }
                input = self.files.next() => return Event::Input(input),
                input = self.processes.next(), if self.processes.active() => return Event::Input(input),
                _ = self.polled.tick(), if !self.polled.is_empty() => {
                    if let Some(ev) = self.polled.poll(&mut self.network) {
                        return ev;
                    }
                }
                Some(change) = self.network.next_change() => {
                    let crate::host::netlink::Change::Host(ev) = change else {
                        if let Some(input) = self.network.removed(&change) {
                            return Event::Input(input);
                        }
                        continue;
                    };
                    if let crate::host::netlink::HostEvent::Link(info) = &ev {
                        self.sockets.link_changed(&info.name);
                    }
                    if let Some(ev) = self.network.host_event(ev, |name| self.polled.polls(name)).await {
                        // An interface created, deleted or recreated: its sockets follow
                        // before the engine hears of it.
                        if let Err(e) = self.sockets.follow(|name| self.network.ifindex(name)) {
                            error!("{e}");
                        }
                        return ev;
                    }
                }
                (at, input) = self.sockets.recv() => return Event::Packet { at, input },
                // A link change held back by interface_up_down_delays comes due.
                _ = tokio::time::sleep_until(held.unwrap_or_else(tokio::time::Instant::now)), if held.is_some() => {
                    if let Some(input) = self.network.take_due() {
                        return Event::Input(input);
                    }
                }
                // Last: a scrape never comes before a packet, a signal or a link change.
                asked = next_question(&mut self.metrics.questions) => {
                    self.metrics.asked = Some(asked.reply);
                    return Event::Query(asked.query);
                }
                _ = self.snmp.next_question() => return Event::Query(Query::Live),
            }
        }
    }

    fn next_packet(&mut self) -> impl Future<Output = (Instant, Input)> {
        self.sockets.recv()
    }

    /// What a reload needs before the engine sees it: the new configuration's VMACs,
    /// `promote_secondaries` and sockets, and the interfaces as they now are, so a new
    /// instance starts on a link it can see. Returns those interface changes, for the
    /// engine ahead of the reload.
    async fn prepare_reload(&mut self, config: &Config) -> Vec<Input> {
        let started = std::time::Instant::now();
        self.polled.reload(config);
        self.scripts.default_user = ScriptUser::from_global(&config.global);
        self.reports.reload(config);
        self.statics.reload(config);
        self.dumps = DumpPaths::new(config);
        self.network.ensure_vmacs(config).await;
        self.promote.apply(config);
        self.snmp.reload(config);
        self.network.set_delays(config);
        self.network.reload_firewall(config);
        if let Err(e) = self.sockets.open(config, |name| self.network.ifindex(name)) {
            error!("{e}");
        }
        let mut news = self.network.refresh().await;
        news.extend(self.network.follow_sources(config).await);
        news.extend(self.files.reload(config));
        news.extend(self.processes.reload(config));
        self.reload = Some(Reload::new(started, config));
        news
    }

    /// Every output is carried out: the nftables sets take the VIPs of the burst, a
    /// reload in progress ends (the VMACs its configuration
    /// dropped go, their addresses now off), freed memory goes back after a reload or a
    /// large burst, and the reload is logged as applied.
    async fn drained(&mut self) {
        let reload = self.reload.take();
        self.network.settle().await;
        if let Some(reload) = &reload {
            reload.remove_dropped_vmacs(&mut self.network).await;
        }
        self.network.flush_firewall();
        self.trim.queue_drained(reload.is_some());
        if let Some(reload) = &reload {
            reload.log_applied();
        }
    }

    async fn execute(&mut self, out: Output) {
        self.trim.output_done();
        // Addresses a burst adds wait for their drop rules ([`Network::add`]); any
        // other output puts them on the host first, so it sees them there.
        if !matches!(out, Output::Add { .. }) {
            self.network.settle().await;
        }
        match out {
            Output::Transmit {
                instance,
                interface,
                family,
                src,
                dst,
                bytes,
                ..
            } => {
                if let Err(e) = self
                    .sockets
                    .send_advert(&interface, family, src, dst, &bytes)
                {
                    let vrid = self.reports.vrid(&instance);
                    warn!(%instance, vrid, %interface, "sending advert: {e}");
                }
            }
            Output::Add { instance, what } => {
                let vrid = self.reports.vrid(&instance);
                self.network.add(&instance, vrid, what).await
            }
            Output::Del { instance, what } => {
                if !self.control.leaves_vips() {
                    let vrid = self.reports.vrid(&instance);
                    self.network.change(&instance, vrid, what, false).await
                }
            }
            Output::SendGratuitousArp {
                interface,
                addr,
                frame,
            } => {
                // keepalived's -D line for each (`send_gratuitous_arp_immediate()`).
                debug!("Sending gratuitous ARP on {interface} for {addr}");
                self.announce(&interface, &frame);
            }
            Output::SendNeighborAdvert {
                interface,
                addr,
                frame,
            } => {
                // `ndisc_send_unsolicited_na_immediate()`'s -D line.
                debug!("Sending unsolicited Neighbour Advert on {interface} for {addr}");
                self.announce(&interface, &frame);
            }
            Output::RunScript {
                script,
                command,
                timeout_us,
            } => self
                .scripts
                .run_track(script, &command, Duration::from_micros(timeout_us)),
            Output::Notify { command, .. } => self.scripts.notify(&command),
            Output::Fifo { line } => self.reports.fifo_line(&line),
            Output::StateChange {
                instance,
                from,
                to,
                reason,
                at,
            } => {
                // The instance's VIPs, GARPs and advert came before this in its outputs.
                if let (State::Master, Some(live)) = (to, &self.metrics.live) {
                    live.took_over(at, self.clock.now());
                }
                self.reports.state_change(&instance, from, to, &reason);
                let event = if to == State::Stop && reason == REMOVED_BY_RELOAD {
                    VrrpEvent::Removed {
                        name: instance,
                        from,
                    }
                } else {
                    VrrpEvent::Trap(TrapEvent::Instance { name: instance, to })
                };
                self.snmp.post(event, false);
            }
            Output::GroupStateChange { group, to } => {
                self.reports.group_state_change(&group, to);
                let event = VrrpEvent::Trap(TrapEvent::Group { name: group, to });
                self.snmp.post(event, false);
            }
            Output::PriorityChange {
                instance,
                effective,
            } => self.reports.priority_change(&instance, effective),
            Output::SmtpAlert { subject, body } => self.reports.smtp_alert(subject, body),
            Output::Log { instance, message } => self.reports.log(&instance, &message),
            Output::Refused {
                instance,
                src,
                reason,
            } => self.snmp.post(
                VrrpEvent::Trap(TrapEvent::Refused {
                    instance,
                    src,
                    reason,
                }),
                true,
            ),
        }
    }

    fn write_stats(&mut self, text: String) {
        dump_file(&self.dumps.stats(), &text);
    }

    fn write_data(&mut self, text: String) {
        dump_file(&self.dumps.state(VRRP_DATA), &text);
    }

    fn write_json(&mut self, text: String) {
        dump_file(&self.dumps.json(), &text);
    }

    /// The parent's metrics endpoint asked: the engine's snapshot or its JSON dump goes
    /// to the query thread, which renders it off the loop.
    fn answer(&mut self, query: Query, engine: &Engine) {
        if query == Query::Live {
            // The SNMP sub-agent builds its tables from it off the loop.
            self.snmp.answer(|| engine.live(self.clock.now()));
            return;
        }
        let Some(reply) = self.metrics.asked.take() else {
            return;
        };
        let answer = match query {
            Query::Snapshot => VrrpAnswer::Snapshot(engine.snapshot(self.clock.now())),
            Query::Status => VrrpAnswer::Status(engine.json_text(&self.dump_host())),
            Query::Live => return,
        };
        // The thread waits with room for one answer; a thread gone leaves it unread.
        let _ = reply.try_send(answer);
    }

    /// The wall clock and local time zone, the script users' uid:gid, the interfaces'
    /// indexes and our VMACs' bases, the VRRP sockets and the tracked files' paths, for
    /// the dumps.
    fn dump_host(&self) -> DumpHost {
        DumpHost {
            interfaces: self.network.known_interfaces(),
            sockets: self.sockets.describe(),
            track_files: Some(self.files.paths()),
            routes: Vec::new(),
            ..clock_and_users(self.now(), &self.scripts.default_user)
        }
    }

    /// [`Platform::dump_host`] with each interface as the host has it now and what this
    /// process did to it (keepalived's `dump_if()`); without an answer from the kernel,
    /// the interfaces by name and index alone.
    fn data_host(&self) -> DumpHost {
        let mut host = self.dump_host();
        match super::host_facts::interfaces() {
            Ok(mut ifs) => {
                for i in &mut ifs {
                    self.network.describe(i);
                    i.polling = self.polled.method(&i.name).map(|m| match m {
                        Method::Ethtool => LinkPolling::Ethtool,
                        Method::Ioctl => LinkPolling::Ioctl,
                    });
                    i.promote_secondaries_set = self.promote.turned_on(&i.name);
                }
                host.interfaces = ifs;
            }
            Err(e) => warn!("reading the interfaces for the data dump: {e}"),
        }
        match super::host_facts::routes() {
            Ok(routes) => host.routes = routes,
            Err(e) => warn!("reading the routes for the data dump: {e}"),
        }
        host
    }
}

/// A command's own `user [group]` as uid and gid (getpwnam()).
/// What every dump takes from the host whatever the process: the wall clock at `now`,
/// the local time zone, the default script user's uid:gid, and a way to find any other
/// user's.
pub(crate) fn clock_and_users(now: Instant, default_user: &ScriptUser) -> DumpHost {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let id = default_user
        .user
        .as_deref()
        .and_then(|user| Identity::of(user, default_user.group.as_deref()))
        .unwrap_or_else(Identity::root);
    DumpHost {
        now,
        wall_us: wall.as_micros() as u64,
        utc_offset_s: utc_offset(wall.as_secs() as libc::time_t),
        script_ids: (id.uid, id.gid),
        user_ids: Some(user_ids),
        ..DumpHost::default()
    }
}

/// The uid:gid of a command that names its own user.
fn user_ids(user: &str, group: Option<&str>) -> Option<(u32, u32)> {
    Identity::of(user, group).map(|i| (i.uid, i.gid))
}

/// The local time zone's offset from UTC at `t` (`localtime_r()`'s `tm_gmtoff`).
fn utc_offset(t: libc::time_t) -> i64 {
    // SAFETY: localtime_r writes only the tm it is given.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return 0;
    }
    tm.tm_gmtoff
}
