//! The parent process (keepalived's `start_keepalived()`, `reload_config()` and
//! `*_respawn_thread()`): it alone reads the configuration, keeps the last one that
//! loaded, and hands it to each child it starts by re-executing this binary with
//! `--child=ROLE` ([`crate::config_channel`]). Which children run is the command line's
//! and the configuration's to say ([`children`]), at start and at each reload: a reload
//! that gives a child its first work starts it, and one that takes its last away stops
//! it as SIGTERM does. On SIGHUP, or at the time a `reload_time_file` names
//! ([`reload_monitor`]), it loads the file again off its loop ([`config_loader`]), after
//! a check in a process of its own if `reload_check_config` asks for one
//! ([`config_check`]), with the `reload_file` in place meanwhile ([`reload_file`]), and
//! saved in `config_save_dir` if set ([`config_save`]); then it sends the result to the
//! children, or refuses it and keeps the running one. It
//! restarts a child that dies unless `-R`, with a growing delay while the child keeps
//! dying young, and takes the VIPs of a dead VRRP child off the host meanwhile. On
//! SIGTERM it stops the children, waiting `child_wait_time` before SIGKILL.
//!
//! The BFD child tells the VRRP and checker children of its sessions down two pipes the
//! parent opens before any child and keeps for its whole life (`open_bfd_pipes()`,
//! [`crate::bfd::events`]), so a child restarted reads where the last one left off.
//! Whenever the parent starts a VRRP or checker child while a BFD child runs, it sends
//! the BFD child SIGUSR2, and the BFD child writes every session's state again: the new
//! child learns them at once, where keepalived's waits for each session's next change.

pub mod children;
pub mod config_check;
pub mod config_loader;
pub mod config_save;
mod may_hold;
pub mod reload_file;
pub mod reload_monitor;
pub mod reload_time;

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use keepalived_engine::vrrp::Owned;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::bfd::events::{self as bfd_events, EventPipes};
use crate::config_channel::{self, ChildLink};
use crate::host::netlink::Netlink;
use crate::host::process::{Process, EXIT_CONFIG, EXIT_FATAL};
use crate::host::scripts::run_to_end;
use crate::host::sd_notify::{self, SdNotify};
use crate::host::signals::{self, Signals};
use crate::metrics;
use crate::version;
use children::Roles;
use config_check::{ConfigCheck, Outcome};
use config_loader::{Good, Held, LoadFn, Loader, Refusal};
use may_hold::MayHold;
use reload_monitor::{Fired, ReloadMonitor};

/// A child that ran at least this long before it died is restarted at once: it had read
/// its configuration, opened its sockets and run its protocol, so its death says nothing
/// about the next one. Start-up takes well under a second even for 1,000 instances.
const STABLE_LIFETIME: Duration = Duration::from_secs(10);

/// The wait before restarting a child that died young, doubled at each young death in a
/// row up to [`MAX_BACKOFF`]. One second is longer than a start-up, so a child that dies
/// as it starts is not restarted in a tight loop (keepalived waits one second too).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between restarts: a child that cannot stay up is still tried once a
/// minute, so that a host fixed meanwhile (an interface back) gets its VRRP back without
/// an operator.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How often the parent says that a configuration load has not finished. A load cannot
/// be cancelled, and SIGHUPs wait for it; 30 s is far beyond any file that answers.
const SLOW_LOAD_NOTICE: Duration = Duration::from_secs(30);

pub struct ParentSetup {
    /// The command line the parent was given, without argv[0]; each child gets it again,
    /// and the parent reads `-P`, `-C` and `--all` from it ([`Roles::from_args`]).
    pub args: Vec<OsString>,
    /// Not read: which children run is decided at start and at each reload from the
    /// command line in `args` and the configuration ([`Roles`]).
    pub children: Vec<Process>,
    pub dont_respawn: bool,
    /// `-V`: the VIPs of a VRRP child that dies stay on the host, as on its stop.
    pub dont_release_vrrp: bool,
    pub child_wait: Duration,
    pub pidfile: PathBuf,
    /// The configuration file, for log lines.
    pub config_path: PathBuf,
    /// The configuration loaded at start.
    pub good: Good,
    /// How a SIGHUP loads the configuration again.
    pub load: Arc<LoadFn<Good>>,
    /// `--metrics`: the endpoint's socket, bound before the parent detached.
    pub metrics: Option<std::net::TcpListener>,
}

struct Running {
    role: Process,
    pid: i32,
    started: Instant,
    link: ChildLink,
    /// Stopped because the configuration no longer gives it work: SIGTERM sent, and
    /// SIGKILL due at this time if it is still there (`None` once sent). Its exit is not
    /// a death: it is not restarted.
    retiring: Option<Option<Instant>>,
}

/// A child waiting to be restarted.
struct Respawn {
    role: Process,
    at: Instant,
}

/// Where a reload is, from its request to the end of its load.
enum Stage {
    Idle,
    /// `reload_check_config`'s check runs.
    Checking(Box<ConfigCheck>),
    /// The loader reads the file.
    Loading,
}

struct Parent {
    setup: ParentSetup,
    roles: Roles,
    running: Vec<Running>,
    respawns: Vec<Respawn>,
    /// Each role's last wait before a restart ([`next_backoff`]).
    backoff: Vec<(Process, Duration)>,
    /// What the running VRRP child may hold on the host.
    vrrp_may_hold: MayHold,
    exits: UnboundedReceiver<(i32, ExitStatus)>,
    exit_tx: UnboundedSender<(i32, ExitStatus)>,
    stage: Stage,
    /// A reload was asked for while one was under way: one more follows it.
    again: bool,
    /// The `reload_file` created for the reload under way.
    reload_file: Option<PathBuf>,
    /// The running configuration's `reload_time_file`, watched.
    monitor: Option<ReloadMonitor>,
    /// The time of the last timed reload (seconds since the epoch).
    last_timed: Option<i64>,
    /// systemd's notify socket, when the service manager gave one.
    notify: Option<SdNotify>,
    /// `--metrics`: the children's query channels, which the endpoint asks.
    queries: Option<Arc<metrics::channel::Children>>,
    /// The BFD child's event pipes to the VRRP and checker children.
    bfd_pipes: EventPipes,
}

/// Runs the parent until SIGTERM/SIGINT or a child's permanent failure. Returns the exit
/// code.
pub fn run(setup: ParentSetup) -> u8 {
    let Some(rt) = crate::host::process::start_process(&setup.pidfile) else {
        return EXIT_FATAL as u8;
    };
    let pidfile = setup.pidfile.clone();
    // keepalived's banner (`print_version()`'s first lines, then the command line and
    // the configuration file), which operators and tools look for.
    info!("Starting {}", version::title());
    info!("Running on {}", version::running_on());
    let line: Vec<String> = std::env::args_os()
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    info!("Command line: {}", line.join(" "));
    info!("Configuration file {}", setup.config_path.display());
    let code = rt.block_on(async move {
        let mut signals = match Signals::install() {
            Ok(s) => s,
            Err(e) => {
                error!("signals: {e}");
                return EXIT_FATAL;
            }
        };
        let (exit_tx, exits) = unbounded_channel();
        // Before any child starts (`start_keepalived()`: "must be opened before vrrp and
        // bfd start"); keepalived stops if it cannot.
        let bfd_pipes = match EventPipes::open() {
            Ok(p) => p,
            Err(e) => {
                error!("Unable to create the BFD event pipes: {e}");
                return EXIT_FATAL;
            }
        };
        let mut loader = Loader::new(setup.load.clone());
        let roles = Roles::from_args(&setup.args);
        let mut parent = Parent {
            setup,
            roles,
            running: Vec::new(),
            respawns: Vec::new(),
            backoff: Vec::new(),
            vrrp_may_hold: MayHold::default(),
            exits,
            exit_tx,
            stage: Stage::Idle,
            again: false,
            reload_file: None,
            monitor: None,
            last_timed: None,
            notify: SdNotify::from_env(),
            queries: None,
            bfd_pipes,
        };
        if let Some(listener) = parent.setup.metrics.take() {
            let children = Arc::new(metrics::channel::Children::default());
            match metrics::http::spawn(listener, children.clone()) {
                Ok(()) => parent.queries = Some(children),
                Err(e) => {
                    error!("--metrics: cannot start the endpoint's thread: {e}");
                    return EXIT_FATAL;
                }
            }
        }
        // A reload file left by a previous run says nothing about this one.
        if let Some(f) = &parent.setup.good.reload.reload_file {
            reload_file::remove(f);
        }
        // `run_startup_script()`: the children start once it has ended.
        let scripts = parent.setup.good.start_stop.clone();
        if let Some((cmd, timeout)) = &scripts.startup {
            run_to_end("startup script", cmd, &scripts.user, *timeout).await;
        }
        let mut code = None;
        let first = parent.roles.children(parent.setup.good.work);
        if first.is_empty() {
            info!("Warning - keepalived-rs has no configuration to run: no child process started");
        }
        for role in first {
            if let Err(c) = parent.start(role) {
                parent.stop_all().await;
                code = Some(c);
                break;
            }
        }
        let code = match code {
            Some(c) => c,
            None => {
                parent.watch_reload_time();
                info!("Startup complete");
                parent.ready();
                parent.supervise(&mut signals, &mut loader).await
            }
        };
        // Once the children are gone (`sigend()`), with the last good configuration's.
        let scripts = &parent.setup.good.start_stop;
        if let Some((cmd, timeout)) = &scripts.shutdown {
            run_to_end("shutdown script", cmd, &scripts.user, *timeout).await;
        }
        code
    });
    let _ = std::fs::remove_file(&pidfile);
    info!("Stopped {}", version::title());
    code as u8
}

/// The wait before restarting a child that lived `lived`, after a wait of `last` (zero
/// if none) before its own start.
fn next_backoff(last: Duration, lived: Duration) -> Duration {
    if lived >= STABLE_LIFETIME {
        Duration::ZERO
    } else if last.is_zero() {
        FIRST_BACKOFF
    } else {
        (last * 2).min(MAX_BACKOFF)
    }
}

impl Parent {
    /// Re-executes this binary as `role`, with its end of a configuration channel as
    /// descriptor [`config_channel::CHILD_FD`], and sends it the last good configuration.
    /// The child dies with SIGTERM if the parent dies (PR_SET_PDEATHSIG, as keepalived's
    /// children do), and starts with the signals it handles blocked until its handlers
    /// are in place.
    fn start(&mut self, role: Process) -> Result<(), i32> {
        let (ours, theirs) = match config_channel::pair() {
            Ok(p) => p,
            Err(e) => {
                error!(
                    "cannot start the {} child process: socketpair: {e}",
                    role.title()
                );
                return Err(EXIT_FATAL);
            }
        };
        let parent = std::process::id() as libc::pid_t;
        let mut cmd = tokio::process::Command::new("/proc/self/exe");
        cmd.arg0(
            std::env::args_os()
                .next()
                .unwrap_or_else(|| "keepalived-rs".into()),
        )
        .args(&self.setup.args)
        .arg(format!("--child={}", role.arg()));
        for var in sd_notify::VARIABLES {
            cmd.env_remove(var);
        }
        let channel = theirs.as_raw_fd();
        // `--metrics`: a query channel beside the configuration's. The BFD child has
        // nothing the endpoint serves.
        let queries = match self.queries.as_ref().filter(|_| role != Process::Bfd) {
            Some(_) => match metrics::channel::Children::pair() {
                Ok(p) => Some(p),
                Err(e) => {
                    error!(
                        "cannot start the {} child process: socketpair: {e}",
                        role.title()
                    );
                    return Err(EXIT_FATAL);
                }
            },
            None => None,
        };
        let query_fd = queries.as_ref().map(|(_, theirs)| theirs.as_raw_fd());
        match query_fd {
            Some(_) => cmd.env(
                metrics::channel::QUERY_ENV,
                metrics::channel::QUERY_FD.to_string(),
            ),
            None => cmd.env_remove(metrics::channel::QUERY_ENV),
        };
        // Its ends of the BFD event pipes, installed last: the parent keeps its own
        // above every descriptor a child is given, so no install overwrites another.
        let bfd_ends = self.bfd_pipes.for_child(role);
        if bfd_ends.iter().any(Option::is_some) {
            cmd.env(bfd_events::EVENTS_ENV, "1");
        } else {
            cmd.env_remove(bfd_events::EVENTS_ENV);
        }
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before PDEATHSIG was armed.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("parent exited"));
                }
                config_channel::install_in_child(channel)?;
                if let Some(fd) = query_fd {
                    metrics::channel::install_in_child(fd)?;
                }
                bfd_events::install_in_child(bfd_ends)?;
                signals::set_mask(libc::SIG_BLOCK)
            });
        }
        let spawned = cmd.spawn();
        drop(theirs);
        let queries = queries.map(|(ours, _theirs)| ours);
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                error!("cannot start the {} child process: {e}", role.title());
                return Err(EXIT_FATAL);
            }
        };
        let Some(pid) = child.id() else {
            return Err(EXIT_FATAL);
        };
        let pid = pid as i32;
        let link = match ChildLink::start(ours, role) {
            Ok(l) => l,
            Err(e) => {
                error!("the {} child's configuration channel: {e}", role.title());
                // SAFETY: killing the child we just started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return Err(EXIT_FATAL);
            }
        };
        link.send(self.setup.good.frame.clone());
        if role == Process::Vrrp {
            self.vrrp_may_hold = MayHold::started(self.setup.good.held.clone());
        }
        if let (Some(children), Some(ours)) = (&self.queries, queries) {
            children.started(role, ours);
        }
        info!("Starting the {} child process, pid={pid}", role.title());
        let tx = self.exit_tx.clone();
        tokio::spawn(async move {
            if let Ok(status) = child.wait().await {
                let _ = tx.send((pid, status));
            }
        });
        self.running.push(Running {
            role,
            pid,
            started: Instant::now(),
            link,
            retiring: None,
        });
        if matches!(role, Process::Vrrp | Process::Checker) {
            self.bfd_resend();
        }
        Ok(())
    }

    /// SIGUSR2 to the running BFD child: it writes every session's state again, for the
    /// VRRP or checker child just started. A BFD child starting after it writes them all
    /// anyway; one not yet listening holds the signal blocked until it is
    /// ([`signals::set_mask`]).
    fn bfd_resend(&self) {
        for c in &self.running {
            if c.role == Process::Bfd && c.retiring.is_none() {
                debug!(
                    "asking the BFD child process({}) for every session's state",
                    c.pid
                );
                // SAFETY: signalling a child we started and have not yet reaped.
                unsafe { libc::kill(c.pid, libc::SIGUSR2) };
            }
        }
    }

    fn forward(&self, sig: i32, to: impl Fn(Process) -> bool) {
        for c in self.running.iter().filter(|c| to(c.role)) {
            // SAFETY: signalling a child we started and have not yet reaped.
            unsafe { libc::kill(c.pid, sig) };
        }
    }

    async fn supervise(&mut self, signals: &mut Signals, loader: &mut Loader<Good>) -> i32 {
        // The running load's start, and when to say next that it has not finished.
        let mut slow: Option<(Instant, Instant)> = None;
        // WATCHDOG=1 at half of systemd's WatchdogSec, from the loop that supervises
        // the children, so a parent that hangs stops it.
        let watchdog_every = self.notify.as_ref().and_then(SdNotify::watchdog_every);
        let mut watchdog_at = watchdog_every.map(|every| Instant::now() + every);
        loop {
            let respawn_at = self.respawns.iter().map(|r| r.at).min();
            let kill_at = self
                .running
                .iter()
                .filter_map(|c| c.retiring.flatten())
                .min();
            let load_started = loader.running_since().map(Instant::from_std);
            if slow.map(|(t, _)| t) != load_started {
                slow = load_started.map(|t| (t, t + SLOW_LOAD_NOTICE));
            }
            let slow_notice = slow.map(|(_, at)| at);
            let mut check = match &mut self.stage {
                Stage::Checking(c) => Some(&mut **c),
                _ => None,
            };
            tokio::select! {
                _ = signals.term.recv() => {
                    info!("SIGTERM received: stopping the child processes");
                    self.stop_all().await;
                    return 0;
                }
                _ = signals.int.recv() => {
                    info!("SIGINT received: stopping the child processes");
                    self.stop_all().await;
                    return 0;
                }
                // The children never read the file: a reload is the parent's load, and
                // its result sent to them (`reload_config()`).
                _ = signals.hup.recv() => self.request_reload(loader, "SIGHUP received"),
                fired = reload_monitor::next(&mut self.monitor) => {
                    self.monitor = None;
                    if let Fired::Reload { at } = fired {
                        self.last_timed = Some(at);
                        self.request_reload(loader, "Reload time reached (reload_time_file)");
                    }
                }
                outcome = check_finished(&mut check) => self.checked(outcome, loader),
                done = loader.finished() => {
                    self.stage = Stage::Idle;
                    if let Some(f) = self.reload_file.take() {
                        reload_file::remove(&f);
                    }
                    self.reloaded(done.result, done.took);
                    self.reload_ended(loader);
                }
                _ = signals.usr1.recv() => {
                    self.forward(libc::SIGUSR1, |_| true);
                    let (path, text) = &self.setup.good.data;
                    crate::host::files::dump_file(path, text);
                }
                // Statistics and JSON are the VRRP child's alone (`propagate_signal()`).
                _ = signals.usr2.recv() => self.forward(libc::SIGUSR2, |r| r == Process::Vrrp),
                _ = signals.stats_clear.recv() => {
                    self.forward(signals::sigstats_clear(), |r| r == Process::Vrrp)
                }
                _ = signals.json.recv() => {
                    self.forward(signals::sigjson(), |r| r == Process::Vrrp)
                }
                Some((pid, status)) = self.exits.recv() => {
                    if let Some(code) = self.child_exited(pid, status).await {
                        return code;
                    }
                }
                _ = sleep_until(slow_notice), if slow_notice.is_some() => {
                    let since = load_started.map_or(Duration::ZERO, |t| t.elapsed());
                    warn!(
                        "The configuration load started {} s ago has not finished: {} is slow to read; a reload waits for it",
                        since.as_secs(),
                        self.setup.config_path.display()
                    );
                    slow = slow.map(|(t, at)| (t, at + SLOW_LOAD_NOTICE));
                }
                _ = sleep_until(kill_at), if kill_at.is_some() => self.kill_retiring(),
                _ = sleep_until(watchdog_at), if watchdog_at.is_some() => {
                    if let Some(n) = &mut self.notify {
                        n.watchdog();
                    }
                    // From now, not from the missed tick: a stalled parent sends one,
                    // not a burst.
                    watchdog_at = watchdog_every.map(|every| Instant::now() + every);
                }
                _ = sleep_until(respawn_at), if respawn_at.is_some() => {
                    if let Some(code) = self.respawn_due() {
                        self.stop_all().await;
                        return code;
                    }
                }
            }
        }
    }

    /// A reload is asked for (`process_reload_signal()`): with `reload_check_config`, the
    /// check runs first, else the load starts; one under way takes the request as one
    /// more reload after it. The running configuration's `reload_file` is in place until
    /// the reload ends.
    fn request_reload(&mut self, loader: &mut Loader<Good>, why: &str) {
        let path = self.setup.config_path.display().to_string();
        if !matches!(self.stage, Stage::Idle) {
            if std::mem::replace(&mut self.again, true) {
                info!("{why}: a reload of {path} is already to follow the one under way");
            } else {
                info!("{why}: reloading {path} once the reload under way has finished");
            }
            return;
        }
        if let Some(n) = &mut self.notify {
            n.reloading(&format!("Reloading {path}"));
        }
        let settings = self.setup.good.reload.clone();
        if let Some(f) = &settings.reload_file {
            reload_file::create(f);
            self.reload_file = Some(f.clone());
        }
        let Some(log) = &settings.check else {
            info!("{why}: reloading {path}");
            loader.request();
            self.stage = Stage::Loading;
            return;
        };
        match ConfigCheck::start(&self.setup.args, log.as_deref()) {
            Ok(c) => {
                info!("{why}: checking the new configuration of {path} before reloading (reload_check_config)");
                self.stage = Stage::Checking(Box::new(c));
            }
            Err(e) => {
                error!("Reload refused: cannot run the configuration check: {e}; the running configuration stays");
                self.reload_ended_early();
                self.reload_ended(loader);
            }
        }
    }

    /// `reload_check_child_thread()`: a check that passed starts the load; one that did not
    /// ends the reload, the running configuration staying.
    fn checked(&mut self, outcome: Outcome, loader: &mut Loader<Good>) {
        let Stage::Checking(check) = std::mem::replace(&mut self.stage, Stage::Idle) else {
            return;
        };
        match outcome {
            Outcome::Passed => {
                info!("The new configuration passed its check: reloading");
                loader.request();
                self.stage = Stage::Loading;
            }
            Outcome::Failed(why) => {
                let see = match check.log() {
                    Some(l) => format!("see {} for details", l.display()),
                    None => "reload_check_config names no log file for the details".to_string(),
                };
                error!("Reload refused: the new configuration failed validation ({why}), {see}; the running configuration stays");
                self.reload_ended_early();
                self.reload_ended(loader);
            }
        }
    }

    /// A reload that ends before its load: its `reload_file` goes.
    fn reload_ended_early(&mut self) {
        self.stage = Stage::Idle;
        if let Some(f) = self.reload_file.take() {
            reload_file::remove(&f);
        }
    }

    /// After each reload, applied or not: the `reload_time_file` is watched again if the
    /// watch is spent or the configuration names another (`reload_config()` restarts the
    /// monitor), and a reload asked for meanwhile starts.
    fn reload_ended(&mut self, loader: &mut Loader<Good>) {
        self.ready();
        let s = &self.setup.good.reload;
        let watched = self
            .monitor
            .as_ref()
            .map(|m| (m.path().to_path_buf(), m.repeat()));
        let wanted = s.time_file.clone().map(|f| (f, s.repeat));
        if self.monitor.is_none() || watched != wanted {
            self.watch_reload_time();
        }
        if std::mem::take(&mut self.again) {
            self.request_reload(loader, "Reload asked for during the last one");
        }
    }

    /// Watches the running configuration's `reload_time_file`, if it names one.
    fn watch_reload_time(&mut self) {
        let s = &self.setup.good.reload;
        self.monitor = s
            .time_file
            .as_ref()
            .and_then(|f| ReloadMonitor::start(f, s.repeat, self.last_timed));
    }

    /// A load finished: the new configuration replaces the last good one and goes to each
    /// running child (a child waiting for a restart gets it when it starts), or it is
    /// refused and the running one stays. The children then follow the new configuration:
    /// one it gives work to for the first time starts, and one it leaves without work
    /// stops (`propagate_signal()` starts a child `running_vrrp()` or
    /// `running_checker()` now asks for). Either way one line says so.
    fn reloaded(&mut self, result: Result<Good, Refusal>, took: Duration) {
        let good = match result {
            Ok(g) => g,
            Err(why) => {
                error!("Reload refused: {why}; the running configuration stays");
                return;
            }
        };
        // `reload_config()`: what the processes were started in cannot change under them.
        let old = &self.setup.good.root;
        let fixed = [
            (
                "net_namespace",
                &old.net_namespace,
                &good.root.net_namespace,
            ),
            ("instance", &old.instance, &good.root.instance),
        ];
        if let Some((name, _, _)) = fixed.iter().find(|(_, a, b)| a != b) {
            let why = Refusal::Fixed(name);
            error!("Reload refused: {why}; the running configuration stays");
            return;
        }
        self.setup.good = good;
        let work = self.setup.good.work;
        let mut sent = Vec::new();
        let mut retire = Vec::new();
        for c in self.running.iter().filter(|c| c.retiring.is_none()) {
            if !self.roles.runs(c.role, work) {
                retire.push(c.pid);
                continue;
            }
            if c.link.send(self.setup.good.frame.clone()) {
                sent.push(c.role.title());
                if c.role == Process::Vrrp {
                    self.vrrp_may_hold.sent(self.setup.good.held.clone());
                }
            }
        }
        info!(
            "Reload: configuration loaded in {:.1} ms, sent to the child processes: {}",
            took.as_secs_f64() * 1000.0,
            if sent.is_empty() {
                "none running".to_string()
            } else {
                sent.join(", ")
            }
        );
        for pid in retire {
            self.retire(pid);
        }
        let roles = self.roles;
        self.respawns.retain(|r| roles.runs(r.role, work));
        for role in roles.children(work) {
            if self.running.iter().any(|c| c.role == role) {
                // Running, or retiring and started again once it has gone.
                continue;
            }
            // A child waiting for its restart starts now, with this configuration.
            self.respawns.retain(|r| r.role != role);
            info!(
                "Reload: the configuration gives the {} child process work: starting it",
                role.title()
            );
            if self.start(role).is_err() {
                self.respawn_later(role);
            }
        }
    }

    /// Stops the child `pid`, which the configuration no longer gives work, as SIGTERM
    /// stops it: it releases what it holds and exits. SIGKILL follows after
    /// `child_wait_time` if it has not.
    fn retire(&mut self, pid: i32) {
        let wait = self.setup.child_wait;
        let Some(c) = self.running.iter_mut().find(|c| c.pid == pid) else {
            return;
        };
        info!(
            "Reload: the configuration has no {} left: stopping the {} child process({pid})",
            match c.role {
                Process::Vrrp => "vrrp_instance or static address, route or rule",
                Process::Bfd => "bfd_instance",
                _ => "virtual_server",
            },
            c.role.title()
        );
        c.retiring = Some(Some(Instant::now() + wait));
        // SAFETY: signalling a child we started and have not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }

    /// SIGKILL to each retiring child past its `child_wait_time`.
    fn kill_retiring(&mut self) {
        let now = Instant::now();
        for c in &mut self.running {
            if c.retiring.flatten().is_some_and(|at| at <= now) {
                warn!(
                    "{} child process({}) still running after {:?}: SIGKILL",
                    c.role.title(),
                    c.pid,
                    self.setup.child_wait
                );
                c.retiring = Some(None);
                // SAFETY: signalling a child we started and have not yet reaped.
                unsafe { libc::kill(c.pid, libc::SIGKILL) };
            }
        }
    }

    /// A child that could not start is tried again after its backoff.
    fn respawn_later(&mut self, role: Process) {
        let last = self
            .backoff
            .iter()
            .find(|(r, _)| *r == role)
            .map_or(Duration::ZERO, |(_, d)| *d);
        let wait = next_backoff(last, Duration::ZERO);
        self.backoff.retain(|(r, _)| *r != role);
        self.backoff.push((role, wait));
        self.respawns.push(Respawn {
            role,
            at: Instant::now() + wait,
        });
    }

    /// A child ended on its own: what a dead VRRP child held comes off the host, and the
    /// child is restarted after its backoff, or everything stops (`-R`, or an error a
    /// restart cannot mend). A child stopped because the configuration left it without
    /// work is not restarted, and what a VRRP one held comes off the host even with `-V`,
    /// as a reload that deletes an instance removes its VIPs (`clear_diff_vrrp()`).
    /// Returns the parent's exit code when it is to stop.
    async fn child_exited(&mut self, pid: i32, status: ExitStatus) -> Option<i32> {
        let i = self.running.iter().position(|c| c.pid == pid)?;
        let Running {
            role,
            started,
            retiring,
            ..
        } = self.running.remove(i);
        if let Some(q) = &self.queries {
            // One the configuration stopped is no longer expected; one that died is
            // down until it is restarted.
            if retiring.is_some() {
                q.retired(role);
            } else {
                q.exited(role);
            }
        }
        let how = describe(status);
        let title = role.title();
        if retiring.is_some() {
            info!(
                "{title} child process({pid}) {how}: stopped, the configuration gives it no work"
            );
            if role == Process::Vrrp {
                self.release_vrrp(true).await;
                self.vrrp_may_hold.clear();
            }
            // A reload gave it work again while it stopped.
            if self.roles.runs(role, self.setup.good.work)
                && !self.running.iter().any(|c| c.role == role)
                && self.start(role).is_err()
            {
                self.respawn_later(role);
            }
            return None;
        }
        let stop = if matches!(status.code(), Some(EXIT_FATAL | EXIT_CONFIG)) {
            error!("{title} child process({pid}) exited with permanent error ({how}): terminating");
            status.code()
        } else if self.setup.dont_respawn {
            warn!("{title} child process({pid}) {how}: exiting (-R)");
            Some(0)
        } else {
            None
        };
        let wait = stop.is_none().then(|| {
            let last = self
                .backoff
                .iter()
                .find(|(r, _)| *r == role)
                .map_or(Duration::ZERO, |(_, d)| *d);
            let lived = started.elapsed();
            let wait = next_backoff(last, lived);
            warn!(
                "{title} child process({pid}) {how}: respawning in {} s (it ran for {:.1} s)",
                wait.as_secs(),
                lived.as_secs_f64()
            );
            wait
        });
        if role == Process::Vrrp {
            self.release_vrrp(false).await;
        }
        let Some(wait) = wait else {
            self.stop_all().await;
            return stop;
        };
        self.backoff.retain(|(r, _)| *r != role);
        self.backoff.push((role, wait));
        self.respawns.push(Respawn {
            role,
            at: Instant::now() + wait,
        });
        None
    }

    /// Starts the children whose wait is over. Returns an exit code if one cannot start.
    fn respawn_due(&mut self) -> Option<i32> {
        let now = Instant::now();
        let (due, later) = std::mem::take(&mut self.respawns)
            .into_iter()
            .partition(|r| r.at <= now);
        self.respawns = later;
        for r in due {
            if let Err(code) = self.start(r.role) {
                return Some(code);
            }
        }
        None
    }

    /// Takes what the dead VRRP child may have held off the host (`vrrp_may_hold`): a VRRP
    /// child that died sends no adverts, so a VIP left behind would be held with nobody
    /// telling the backups, who could never take over cleanly. With `-V` it stays, as it
    /// does when the child stops, unless `forced` (the instances are gone from the
    /// configuration).
    async fn release_vrrp(&self, forced: bool) {
        let held = &self.vrrp_may_hold;
        if held.is_empty() {
            return;
        }
        if self.setup.dont_release_vrrp && !forced {
            info!("VRRP child process gone: its addresses, routes and rules stay on the host (-V)");
            return;
        }
        info!(
            "VRRP child process gone: removing the addresses, routes and rules its instances hold"
        );
        let mut netlink = match Netlink::connect() {
            Ok(n) => n,
            Err(e) => {
                error!("cannot remove the VRRP addresses: {e}");
                return;
            }
        };
        if let Err(e) = netlink.interfaces().await {
            error!("cannot remove the VRRP addresses: {e}");
            return;
        }
        // One dump of the host's addresses, so that 1,000 instances of a backup, holding
        // nothing, cost one request rather than 1,000.
        let present: std::collections::BTreeSet<std::net::IpAddr> = match netlink.addresses().await
        {
            Ok(a) => a.into_iter().collect(),
            Err(e) => {
                error!("cannot remove the VRRP addresses: {e}");
                return;
            }
        };
        for Held { instance, what } in held.iter() {
            release(&netlink, &present, instance, what).await;
        }
    }

    /// SIGTERM to every child, SIGKILL to those still running after `child_wait_time`
    /// (`sigend()`).
    /// READY=1 to systemd: at start once the children are started, and at the end of
    /// each reload, applied or refused.
    fn ready(&mut self) {
        let Some(n) = &mut self.notify else {
            return;
        };
        let children: Vec<&str> = self.running.iter().map(|c| c.role.title()).collect();
        let status = if children.is_empty() {
            "Running: no child process has work".to_string()
        } else {
            format!(
                "Running: {} child process(es) started",
                children.join(" and ")
            )
        };
        n.ready(&status);
    }

    async fn stop_all(&mut self) {
        self.respawns.clear();
        // The children first: nothing may stand between SIGTERM and their release of
        // what they hold.
        self.forward(libc::SIGTERM, |_| true);
        if let Some(n) = &mut self.notify {
            n.stopping("Stopping the child processes");
        }
        let deadline = Instant::now() + self.setup.child_wait;
        while !self.running.is_empty() {
            match tokio::time::timeout_at(deadline, self.exits.recv()).await {
                Ok(Some((pid, status))) => {
                    if let Some(i) = self.running.iter().position(|c| c.pid == pid) {
                        let c = self.running.remove(i);
                        info!(
                            "{} child process({pid}) {}",
                            c.role.title(),
                            describe(status)
                        );
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    for c in &self.running {
                        warn!(
                            "{} child process({}) still running after {:?}: SIGKILL",
                            c.role.title(),
                            c.pid,
                            self.setup.child_wait
                        );
                    }
                    self.forward(libc::SIGKILL, |_| true);
                    let vrrp = self.running.iter().any(|c| c.role == Process::Vrrp);
                    for _ in 0..self.running.len() {
                        if self.exits.recv().await.is_none() {
                            break;
                        }
                    }
                    self.running.clear();
                    // Killed, it released nothing.
                    if vrrp {
                        self.release_vrrp(false).await;
                    }
                }
            }
        }
    }
}

/// Removes one thing a dead VRRP child held, if the host has it: an address only when it
/// is on its interface (`present` lists the host's addresses), so each line logged is one
/// removal; a route or rule regardless (absent, the kernel refuses, and that is logged
/// with `-D` only).
async fn release(
    netlink: &Netlink,
    present: &std::collections::BTreeSet<std::net::IpAddr>,
    instance: &str,
    what: &Owned,
) {
    match what {
        Owned::Address {
            addr, interface, ..
        } => {
            if !present.contains(&addr.address)
                || !matches!(netlink.has_address(addr.address, interface).await, Ok(true))
            {
                return;
            }
            match netlink.del_address(addr, interface).await {
                Ok(()) => info!(
                    %instance, %interface,
                    "({instance}) removed {}/{} from {interface}",
                    addr.address, addr.prefix_len
                ),
                Err(e) => {
                    warn!(%instance, %interface, "({instance}) removing {}: {e}", addr.address)
                }
            }
        }
        Owned::Route(r) => {
            let to = prefix(r.to.as_ref());
            match netlink.route(r, false).await {
                Ok(()) => info!(%instance, "({instance}) removed route to {to}"),
                Err(e) => debug!(%instance, "({instance}) removing route to {to}: {e}"),
            }
        }
        Owned::Rule(r) => {
            let (from, to) = (prefix(r.from.as_ref()), prefix(r.to.as_ref()));
            match netlink.rule(r, false).await {
                Ok(()) => info!(%instance, "({instance}) removed rule from {from} to {to}"),
                Err(e) => debug!(%instance, "({instance}) removing rule from {from} to {to}: {e}"),
            }
        }
    }
}

/// A route's or rule's prefix as `ip` writes it; `all` when there is none.
fn prefix(p: Option<&keepalived_engine::config::model::IpPrefix>) -> String {
    p.map_or_else(|| "all".to_string(), |p| format!("{}/{}", p.address, p.len))
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The end of the configuration check under way, or never when there is none.
async fn check_finished(check: &mut Option<&mut ConfigCheck>) -> Outcome {
    match check {
        Some(c) => c.finished().await,
        None => std::future::pending().await,
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_that_keeps_dying_young_waits_longer_each_time_up_to_the_cap() {
        let young = Duration::from_millis(300);
        let mut waits = Vec::new();
        let mut last = Duration::ZERO;
        for _ in 0..9 {
            last = next_backoff(last, young);
            waits.push(last.as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn a_child_that_lived_long_is_restarted_at_once_and_its_backoff_starts_over() {
        assert_eq!(
            next_backoff(Duration::from_secs(32), STABLE_LIFETIME),
            Duration::ZERO
        );
        assert_eq!(
            next_backoff(Duration::ZERO, Duration::from_secs(1)),
            FIRST_BACKOFF
        );
    }
}
