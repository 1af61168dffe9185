//! The checker child: the checker engine on the shared checker driver, with the probers,
//! notify scripts, `notify_fifo`/`lvs_notify_fifo` lines, e-mail alerts, netlink address
//! events for `ha_suspend`, and the kernel's IPVS table kept as the engine wants it.
//! Where the kernel has no IPVS, that is said once and the checks still run.

mod fwmarks;
pub mod probe;
pub(crate) mod probe_tasks;
mod tracked_files;

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use keepalived_engine::check::io::{CheckInput, CheckOutput};
use keepalived_engine::check::CheckEngine;
use keepalived_engine::config::model::{Config, GlobalDefs, LvsFlushOnStop};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::dump::DumpHost;
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{debug, error, info, warn};

use keepalived_driver::check::{self as driver, Event, Platform};
use keepalived_driver::{EngineClock, Query};

use crate::bfd::events::{next_record, EventReader};
use crate::host::auto_priority;
use crate::host::fifo::NotifyFifo;
use crate::host::files::{dump_file, DumpPaths, CHECKER_DATA};
use crate::host::netlink::{HostEvent, Netlink};
use crate::host::process::{start_process, EXIT_FATAL};
use crate::host::script_user::ScriptUser;
use crate::host::scripts::Scripts;
use crate::host::signals::Signals;
use crate::host::smtp::Mailer;
use crate::host::tuning;
use crate::ipvs::wire::{Timeouts, DEFAULT_TIMEOUTS, STATE_BACKUP, STATE_MASTER};
use crate::ipvs::{IpvsError, IpvsTable, StopMode, SyncDaemons};
use crate::metrics::live::CheckLive;
use crate::metrics::{next_question, Asked, CheckAnswer, ChildMetrics};
use crate::vrrp::platform::clock_and_users;
use fwmarks::FwmarkTable;
use probe::{Prober, TlsSetup};
use probe_tasks::ProbeTasks;
use tracked_files::CheckerFiles;

pub struct CheckerSetup {
    /// `-I`: leave the IPVS table as it is on stop.
    pub dont_release_ipvs: bool,
    /// Configurations from the parent, complete ([`crate::config_channel`]).
    pub reloads: UnboundedReceiver<Box<Config>>,
    /// `--metrics`: the parent's questions, and what to record for them.
    pub metrics: Option<ChildMetrics<CheckAnswer, CheckLive>>,
    /// `-x`, `-A`.
    pub snmp: crate::snmp::SnmpOptions,
}

struct LinuxChecker {
    clock: EngineClock,
    signals: Signals,
    netlink: Netlink,
    probes: ProbeTasks,
    /// The `track_file`s FILE_CHECKs follow, and their changes.
    files: CheckerFiles,
    /// Inputs due before anything else: a reload's file values, then the reload.
    queued: VecDeque<CheckInput>,
    scripts: Scripts,
    fifos: Vec<NotifyFifo>,
    mailer: Option<Mailer>,
    setup: CheckerSetup,
    /// The kernel's table; `None` where the kernel has no IPVS (said once at start).
    ipvs: Option<IpvsTable>,
    /// `nftables_ipvs`: the marks of the groups' fwmark services.
    fwmarks: FwmarkTable,
    /// `lvs_sync_daemon` without a VRRP instance: both threads, run by this process.
    syncd: Option<SyncDaemons>,
    /// Whether `lvs_timeouts` were set, so a reload that drops them restores defaults.
    timeouts_set: bool,
    /// The running configuration's globals, to tell what a reload changed.
    global: GlobalDefs,
    /// When the configuration being applied was taken, for the "Reload applied" line.
    reload_started: Option<std::time::Instant>,
    /// Where the state dump goes, from the running configuration.
    dumps: DumpPaths,
    stopping: bool,
    /// `--metrics`: the parent's questions, the answer being given, and the IPVS
    /// counters (probe times are recorded by the probe tasks).
    questions: Option<UnboundedReceiver<Asked<CheckAnswer>>>,
    asked: Option<std::sync::mpsc::SyncSender<CheckAnswer>>,
    live: Option<CheckLive>,
    /// The SNMP sub-agent, when `-x` or `enable_snmp_checker` asks for it.
    snmp:
        crate::snmp::LoopSide<crate::snmp::CheckerEvent, keepalived_engine::check::live::CheckLive>,
    /// With its notifications on: the engine's state it last reported, and whether a
    /// step since may have changed a server or a quorum (it changed IPVS, ran a notify or
    /// wrote a FIFO line).
    snmp_seen: Option<keepalived_engine::check::live::CheckLive>,
    snmp_changed: bool,
    /// The BFD sessions' states, from the BFD child (`bfd_check_thread()`).
    bfd: Option<EventReader>,
}

/// Runs the checker side until SIGTERM/SIGINT. Returns the process exit code.
pub fn run_checker(config: Config, setup: CheckerSetup, pidfile: &Path) -> u8 {
    tuning::apply(&tuning::ProcessTuning::checker(&config.global));
    auto_priority::configure(auto_priority::AutoPriority::checker(
        &config.global,
        auto_priority::current_rr(),
    ));
    tuning::raise_nofile(tuning::checker_fds_required(&config));
    let Some(rt) = start_process(pidfile) else {
        return EXIT_FATAL as u8;
    };
    let code = rt.block_on(async move {
        let mut platform = match LinuxChecker::new(setup, &config).await {
            Ok(p) => p,
            Err(e) => {
                error!("{e}");
                return EXIT_FATAL as u8;
            }
        };
        let seed = u64::from(std::process::id()) ^ platform.clock.elapsed().as_nanos() as u64;
        let now = Platform::now(&platform);
        let files = platform.files.values();
        let mut engine = CheckEngine::with_track_files(config, now, seed, files);
        platform.present_addresses(&mut engine).await;
        crate::host::process::release_freed_memory();
        info!(
            "Starting Healthcheck child process, pid={}",
            std::process::id()
        );
        driver::run(&mut engine, &mut platform).await;
        // The stop's notifications, then the session's close. keepalived sends them as it
        // clears the table: none with -I, the quorums' alone when it flushes it whole
        // (`checker_terminate_phase1()`, `clear_services()`).
        if !platform.setup.dont_release_ipvs {
            let flush_all = platform.global.lvs_flush_on_stop == Some(LvsFlushOnStop::All);
            platform.snmp_changed = true;
            platform.report_to_snmp_with(&engine, !flush_all);
        }
        platform.snmp.stop();
        platform.stop_sync_daemons();
        // clear_services() → nft_ipvs_end(), not with -I.
        if !platform.setup.dont_release_ipvs {
            platform.fwmarks.release();
        }
        info!("Stopped");
        0
    });
    let _ = std::fs::remove_file(pidfile);
    code
}

impl LinuxChecker {
    /// With SNMP notifications on, after a step that may have changed a server or a
    /// quorum (and at start and stop): the engine's state goes to the sub-agent with the
    /// one it last had, which tells what changed (realServerStateChange,
    /// virtualServerQuorumStateChange).
    fn report_to_snmp(&mut self, engine: &CheckEngine) {
        self.report_to_snmp_with(engine, true);
    }

    /// [`Self::report_to_snmp`], with or without the real servers' notifications.
    fn report_to_snmp_with(&mut self, engine: &CheckEngine, real_servers: bool) {
        if !self.snmp.notifies() || !std::mem::take(&mut self.snmp_changed) {
            return;
        }
        let after = engine.live(self.clock.now());
        let same = self.snmp_seen.as_ref().is_some_and(|b| {
            b.stopped == after.stopped && b.virtual_servers == after.virtual_servers
        });
        if !same {
            self.snmp.post(
                crate::snmp::CheckerEvent {
                    after: after.clone(),
                    real_servers,
                },
                false,
            );
        }
        self.snmp_seen = Some(after);
    }

    async fn new(mut setup: CheckerSetup, config: &Config) -> Result<LinuxChecker, String> {
        // First: taking the BFD event pipe makes it close-on-exec again, and the notify
        // FIFOs' scripts (and modprobe) start below; a script started before would hold
        // the pipe's read end for its whole life.
        let bfd = EventReader::inherited(crate::host::process::Process::Checker);
        let metrics = setup.metrics.take();
        let setup_snmp = setup.snmp.clone();
        crate::host::netlink::set_rcv_bufs(crate::host::netlink::RcvBufs::lvs(&config.global));
        let mut netlink = Netlink::connect().map_err(|e| e.to_string())?;
        // Fills the interface index the address events are reported by.
        netlink.interfaces().await.map_err(|e| e.to_string())?;
        let tls = TlsSetup::new(config.ssl.as_ref()).map_err(|e| format!("SSL: {e}"))?;
        let script_user = ScriptUser::from_global(&config.global);
        let scripts = Scripts::new(script_user.clone());
        let mut fifos = Vec::new();
        for f in [&config.global.notify_fifo, &config.global.lvs_notify_fifo]
            .into_iter()
            .flatten()
        {
            match NotifyFifo::open(f, &scripts) {
                Ok(fifo) => fifos.push(fifo),
                Err(e) => warn!("{e}"),
            }
        }
        let ipvs = match IpvsTable::open(config.global.lvs_flush) {
            Ok(t) => Some(t),
            Err(IpvsError::Unavailable(why)) => {
                warn!("IPVS is unavailable in this kernel{why}: health checks, notify scripts, FIFO lines and alerts run, but nothing is programmed");
                None
            }
            Err(e) => {
                warn!("IPVS: {e}: health checks run, but nothing is programmed");
                None
            }
        };
        let mut c = LinuxChecker {
            clock: EngineClock::start(),
            signals: Signals::install().map_err(|e| format!("signals: {e}"))?,
            netlink,
            probes: ProbeTasks::new(Prober::new(tls, script_user)),
            files: CheckerFiles::start(config),
            queued: VecDeque::new(),
            scripts,
            fifos,
            mailer: Mailer::from_global(&config.global),
            setup,
            ipvs,
            fwmarks: FwmarkTable::start(&config.global),
            syncd: None,
            timeouts_set: false,
            global: config.global.clone(),
            reload_started: None,
            dumps: DumpPaths::new(config),
            stopping: false,
            questions: None,
            asked: None,
            live: None,
            snmp: crate::snmp::start_checker(config, &setup_snmp),
            snmp_seen: None,
            snmp_changed: true,
            bfd,
        };
        if let Some(m) = metrics {
            c.probes.time_into(m.live.clone());
            c.questions = Some(m.questions);
            c.live = Some(m.live);
        }
        c.apply_globals(&config.global, None);
        Ok(c)
    }

    /// `lvs_timeouts` and a checker-run `lvs_sync_daemon`, at start (`old` = None) and
    /// on reload (`start_check()`: timeouts back to the kernel's defaults when dropped;
    /// the sync threads restarted only if their settings changed).
    fn apply_globals(&mut self, g: &GlobalDefs, old: Option<&GlobalDefs>) {
        let Some(table) = self.ipvs.as_mut() else {
            return;
        };
        let t = Timeouts {
            tcp: g.lvs_timeouts.tcp_s.unwrap_or(0),
            tcp_fin: g.lvs_timeouts.tcpfin_s.unwrap_or(0),
            udp: g.lvs_timeouts.udp_s.unwrap_or(0),
        };
        let set = if t != Timeouts::default() {
            Some(t)
        } else if self.timeouts_set {
            Some(DEFAULT_TIMEOUTS)
        } else {
            None
        };
        if let Some(t) = set {
            match table.client().set_timeouts(&t) {
                Ok(()) => info!(
                    "IPVS: timeouts tcp {} tcpfin {} udp {}",
                    t.tcp, t.tcp_fin, t.udp
                ),
                Err(e) => warn!("IPVS: cannot set lvs_timeouts: {e}"),
            }
        }
        self.timeouts_set = t != Timeouts::default();
        // With an instance named, the VRRP process runs the threads.
        let wanted = g.lvs_sync_daemon.as_ref().filter(|d| d.instance.is_none());
        let had = old.and_then(|o| o.lvs_sync_daemon.as_ref().filter(|d| d.instance.is_none()));
        if old.is_some() && wanted == had {
            return;
        }
        self.stop_sync_daemons();
        if let Some(cfg) = wanted {
            match SyncDaemons::open(cfg) {
                Ok(mut d) => {
                    d.clear();
                    d.start(STATE_MASTER);
                    d.start(STATE_BACKUP);
                    self.syncd = Some(d);
                }
                Err(e) => warn!("IPVS: lvs_sync_daemon: {e}"),
            }
        }
    }

    fn stop_sync_daemons(&mut self) {
        if let Some(mut d) = self.syncd.take() {
            d.stop(STATE_MASTER);
            d.stop(STATE_BACKUP);
        }
    }

    /// SIGTERM: what happens to the table (`-I`, `lvs_flush_on_stop`).
    fn shutdown(&mut self) -> Event {
        self.stopping = true;
        let mode = if self.setup.dont_release_ipvs {
            StopMode::Leave
        } else if self.global.lvs_flush_on_stop == Some(LvsFlushOnStop::All) {
            StopMode::FlushAll
        } else {
            StopMode::Remove
        };
        if let Some(t) = self.ipvs.as_mut() {
            t.stop(mode);
        }
        Event::Input(CheckInput::Shutdown)
    }

    /// The addresses on this host at start, for `ha_suspend`; changes follow as events.
    async fn present_addresses(&mut self, engine: &mut CheckEngine) {
        match self.netlink.addresses().await {
            Ok(addrs) => {
                let now = Platform::now(self);
                for addr in addrs {
                    engine.handle_input(
                        now,
                        CheckInput::AddressPresent {
                            addr,
                            present: true,
                        },
                    );
                }
            }
            Err(e) => warn!("reading addresses: {e}"),
        }
    }

    /// A configuration from the parent, complete: the process-wide settings follow it,
    /// and the engine gets it next, after the values of the files it tracks (nothing
    /// here awaits).
    fn reload(&mut self, config: Box<Config>) -> Event {
        self.reload_started = Some(std::time::Instant::now());
        tuning::raise_nofile(tuning::checker_fds_required(&config));
        self.mailer = Mailer::from_global(&config.global);
        self.scripts.default_user = ScriptUser::from_global(&config.global);
        self.dumps = DumpPaths::new(&config);
        self.snmp.reload(&config);
        let old = std::mem::replace(&mut self.global, config.global.clone());
        self.apply_globals(&config.global, Some(&old));
        self.fwmarks.reload(&config.global);
        if let Some(t) = self.ipvs.as_mut() {
            t.report_next("reload");
        }
        let mut values = self.files.reload(&config).into_iter();
        let Some(first) = values.next() else {
            return Event::Input(CheckInput::Reload(config));
        };
        self.queued.extend(values);
        self.queued.push_back(CheckInput::Reload(config));
        Event::Input(first)
    }
}

impl Platform for LinuxChecker {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn until(&self, t: Instant) -> Duration {
        crate::host::auto_priority::waiting_for(t.as_micros(), self.clock.now().as_micros());
        self.clock.until(t)
    }

    async fn next_event(&mut self) -> Event {
        if self.stopping {
            return Event::Stop;
        }
        if let Some(input) = self.queued.pop_front() {
            return Event::Input(input);
        }
        loop {
            tokio::select! {
                biased;
                _ = self.signals.term.recv() => {
                    info!("SIGTERM received: stopping");
                    return self.shutdown();
                }
                _ = self.signals.int.recv() => {
                    info!("SIGINT received: stopping");
                    return self.shutdown();
                }
                _ = self.signals.hup.recv() => {
                    crate::config_channel::pass_reload_to_parent(crate::host::process::Process::Checker)
                }
                Some(config) = self.setup.reloads.recv() => return self.reload(config),
                // A session's state, for the BFD_CHECKs that name it.
                r = next_record(&mut self.bfd) => {
                    return Event::Input(CheckInput::Bfd { name: r.name, up: r.up });
                }
                _ = self.signals.usr1.recv() => return Event::DumpData,
                // Statistics and JSON are VRRP's; the checker has none to give.
                _ = self.signals.usr2.recv() => {}
                _ = self.signals.stats_clear.recv() => {}
                _ = self.signals.json.recv() => {}
                input = self.probes.next() => return Event::Input(input),
                input = self.files.next() => return Event::Input(input),
                Some(ev) = self.netlink.next_host_event() => {
                    if let HostEvent::Address { addr, added, .. } = ev {
                        return Event::Input(CheckInput::AddressPresent { addr, present: added });
                    }
                }
                // Last: a scrape never comes before a probe's result or a signal.
                asked = next_question(&mut self.questions) => {
                    self.asked = Some(asked.reply);
                    return Event::Query(asked.query);
                }
                _ = self.snmp.next_question() => return Event::Query(Query::Live),
            }
        }
    }

    async fn execute(&mut self, out: CheckOutput) {
        self.snmp_changed |= matches!(
            out,
            CheckOutput::Ipvs(_) | CheckOutput::Notify { .. } | CheckOutput::Fifo { .. }
        );
        match out {
            CheckOutput::StartProbe(spec) => self.probes.start(spec),
            CheckOutput::Notify { command, .. } => self.scripts.notify(&command),
            CheckOutput::Fifo { line } => {
                for f in &mut self.fifos {
                    f.write(&line);
                }
            }
            CheckOutput::SmtpAlert { subject, body } => {
                if let Some(m) = self.mailer.clone() {
                    tokio::spawn(async move {
                        match m.send(&subject, &body).await {
                            Ok(()) => info!("SMTP alert sent: {subject}"),
                            Err(e) => warn!("SMTP alert \"{subject}\" not sent: {e}"),
                        }
                    });
                }
            }
            CheckOutput::Ipvs(op) => match self.ipvs.as_mut() {
                Some(t) => t.push(&op),
                None => debug!("IPVS change not applied (no IPVS): {op:?}"),
            },
            CheckOutput::Log {
                virtual_server,
                real_server,
                message,
            } => {
                let vs = virtual_server.unwrap_or_default();
                let rs = real_server.unwrap_or_default();
                info!(virtual_server = %vs, real_server = %rs, "{message}");
            }
        }
    }

    fn write_data(&mut self, text: String) {
        dump_file(&self.dumps.state(CHECKER_DATA), &text);
    }

    /// The wall clock and local time zone, the scripts' uid:gid and the watched files'
    /// paths, for the dump.
    fn dump_host(&self) -> DumpHost {
        DumpHost {
            track_files: Some(self.files.paths()),
            ..clock_and_users(self.now(), &self.scripts.default_user)
        }
    }

    /// The parent's metrics endpoint asked: the servers as they stand go to the query
    /// thread, which renders them off the loop.
    fn answer(&mut self, query: Query, engine: &CheckEngine) {
        if query == Query::Live {
            // The SNMP sub-agent builds its tables from it off the loop.
            self.snmp.answer(|| engine.live(self.clock.now()));
            return;
        }
        if let Some(reply) = self.asked.take() {
            let _ = reply.try_send(CheckAnswer {
                virtual_servers: engine.virtual_servers(),
                real_servers: engine.real_servers(),
            });
        }
    }

    /// After each engine step: the kernel's table follows the step's changes at once,
    /// and the `nftables_ipvs` marks the engine's ranges (at a stop, the tables go as a
    /// whole once the engine is done).
    fn observe(&mut self, engine: &CheckEngine) {
        if let Some(t) = self.ipvs.as_mut() {
            let applied = t.commit();
            if let Some(live) = &self.live {
                live.ipvs_changes.inc_by(applied.changes);
                live.ipvs_errors.inc_by(applied.failures);
            }
        }
        if !self.stopping {
            self.fwmarks.follow(engine.fwmark_ranges());
            // The stop's notifications are sent once the engine is done (run_checker).
            self.report_to_snmp(engine);
        }
        if let Some(since) = self.reload_started.take() {
            info!(
                "Reload applied in {:.1} ms",
                since.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;
    use std::path::PathBuf;

    use keepalived_engine::config::{parse_str, ParseOptions};

    use super::*;
    use crate::bfd::events::{self, EventPipes};
    use crate::host::process::Process;

    /// Set in the process [`the_fifo_script_does_not_inherit_the_bfd_event_pipe`] starts:
    /// the directory its files go in.
    const CHILD_DIR: &str = "KEEPALIVED_RS_TEST_CHECKER_BFD_FDS";

    fn fd_target(pid: &str, fd: i32) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()
    }

    /// The processes whose parent is this one.
    fn children() -> Vec<String> {
        let me = std::process::id().to_string();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        dir.flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
            .filter(|p| {
                // stat: "PID (COMM) STATE PPID ...", COMM may hold spaces and parens.
                std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                    s.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1).map(|pp| pp == me))
                        .unwrap_or(false)
                })
            })
            .collect()
    }

    /// What the checker child does at start, in the process the test started with the
    /// parent's end of the BFD event pipe at descriptor 6: the notify FIFO's script it
    /// starts must not hold the pipe.
    fn start_checker_in(dir: &Path) {
        let ours = fd_target("self", events::CHECKER_EVENTS_FD).expect("the pipe at 6");
        let text = format!(
            "global_defs {{\n lvs_notify_fifo {d}/fifo\n lvs_notify_fifo_script {d}/script.sh\n}}\n",
            d = dir.display()
        );
        let config = parse_str(&text, &ParseOptions::default()).config;
        assert!(config.global.lvs_notify_fifo.is_some(), "{text}");
        let (_tx, reloads) = tokio::sync::mpsc::unbounded_channel();
        let setup = CheckerSetup {
            dont_release_ipvs: true,
            reloads,
            metrics: None,
            snmp: Default::default(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let checker = LinuxChecker::new(setup, &config).await.unwrap();
            assert!(checker.bfd.is_some(), "the checker reads its BFD events");
            // The script was exec'd before spawn() returned: its descriptors are
            // settled.
            let scripts = children();
            assert!(!scripts.is_empty(), "the FIFO script runs");
            let leaked: Vec<_> = scripts
                .iter()
                .filter(|p| fd_target(p, events::CHECKER_EVENTS_FD).as_ref() == Some(&ours))
                .collect();
            for p in &scripts {
                if let Ok(pid) = p.parse::<i32>() {
                    // SAFETY: our own child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            assert!(
                leaked.is_empty(),
                "the FIFO script {leaked:?} holds the BFD event pipe {ours:?}"
            );
        });
    }

    // The checker's end of the BFD event pipe is made close-on-exec before the checker
    // starts anything: the notify FIFO's script starts with the checker, and would hold
    // the pipe's read end for its whole life (and could take the checker's events).
    #[test]
    fn the_fifo_script_does_not_inherit_the_bfd_event_pipe() {
        if let Some(dir) = std::env::var_os(CHILD_DIR) {
            return start_checker_in(Path::new(&dir));
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            // Scripts run as root by default, which only root can do.
            return;
        }
        let dir = std::env::temp_dir().join(format!("kbfd-checker-fds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("script.sh");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let pipes = EventPipes::open().unwrap();
        let ends = pipes.for_child(Process::Checker);
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "checker::tests::the_fifo_script_does_not_inherit_the_bfd_event_pipe",
            "--exact",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_DIR, &dir)
        .env(events::EVENTS_ENV, "1");
        // SAFETY: install_in_child is async-signal-safe.
        unsafe { cmd.pre_exec(move || events::install_in_child(ends)) };
        let out = cmd.output().unwrap();
        // Open until the child has gone, as the parent keeps them.
        drop(pipes);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
