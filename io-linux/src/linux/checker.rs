//! The checker child: the checker engine on the shared checker driver, with the probers,
//! notify scripts, `notify_fifo`/`lvs_notify_fifo` lines, e-mail alerts and netlink
//! address events for `ha_suspend`. Programming the kernel's IPVS table is not part of
//! this build: the desired changes are logged, and where the kernel has no IPVS at all
//! that is said once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_engine::check::io::{CheckInput, CheckOutput};
use keepalived_engine::check::CheckEngine;
use keepalived_engine::config::model::Config;
use keepalived_engine::config::{load, ParseOptions};
use keepalived_engine::time::Instant;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tracing::{debug, error, info, warn};

use super::fifo::NotifyFifo;
use super::netlink::{HostEvent, Netlink};
use super::scripts::{ScriptUser, Scripts};
use super::signals::Signals;
use super::tuning;
use crate::check::{Prober, TlsSetup};
use crate::check_driver::{self, CheckEvent, CheckPlatform};
use crate::driver::EngineClock;
use crate::hostfs::HostFs;
use crate::smtp::Mailer;
use keepalived_engine::check::probe::{ProbeId, ProbeOutcome};

/// Where the kernel shows its IPVS table when it has IPVS.
const IPVS_PROC: &str = "/proc/net/ip_vs";

pub struct CheckerSetup {
    pub config_path: PathBuf,
    pub parse: ParseOptions,
}

struct LinuxChecker {
    clock: EngineClock,
    signals: Signals,
    netlink: Netlink,
    prober: Prober,
    results: UnboundedReceiver<(ProbeId, ProbeOutcome)>,
    result_tx: UnboundedSender<(ProbeId, ProbeOutcome)>,
    scripts: Scripts,
    fifos: Vec<NotifyFifo>,
    mailer: Option<Mailer>,
    setup: CheckerSetup,
    /// Whether the one-time IPVS notice has been given.
    ipvs_noticed: bool,
    stopping: bool,
}

/// Runs the checker side until SIGTERM/SIGINT. Returns the process exit code.
pub fn run_checker(config: Config, setup: CheckerSetup, pidfile: &Path) -> u8 {
    tuning::apply(&tuning::ProcessTuning::checker(&config.global));
    tuning::raise_nofile(tuning::checker_fds_required(&config));
    let Some(rt) = super::start_process(pidfile) else {
        return crate::parent::EXIT_FATAL as u8;
    };
    let code = rt.block_on(async move {
        let mut platform = match LinuxChecker::new(setup, &config).await {
            Ok(p) => p,
            Err(e) => {
                error!("{e}");
                return crate::parent::EXIT_FATAL as u8;
            }
        };
        let seed = u64::from(std::process::id()) ^ platform.clock.elapsed().as_nanos() as u64;
        let now = CheckPlatform::now(&platform);
        let mut engine = CheckEngine::new(config, now, seed);
        platform.present_addresses(&mut engine).await;
        info!(
            "Starting Healthcheck child process, pid={}",
            std::process::id()
        );
        check_driver::run(&mut engine, &mut platform).await;
        info!("Stopped");
        0
    });
    let _ = std::fs::remove_file(pidfile);
    code
}

impl LinuxChecker {
    async fn new(setup: CheckerSetup, config: &Config) -> Result<LinuxChecker, String> {
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
        let (result_tx, results) = unbounded_channel();
        Ok(LinuxChecker {
            clock: EngineClock::start(),
            signals: Signals::install().map_err(|e| format!("signals: {e}"))?,
            netlink,
            prober: Prober::new(tls, script_user),
            results,
            result_tx,
            scripts,
            fifos,
            mailer: Mailer::from_global(&config.global),
            setup,
            ipvs_noticed: false,
            stopping: false,
        })
    }

    /// The addresses on this host at start, for `ha_suspend`; changes follow as events.
    async fn present_addresses(&mut self, engine: &mut CheckEngine) {
        match self.netlink.addresses().await {
            Ok(addrs) => {
                let now = CheckPlatform::now(self);
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

    fn reload(&mut self) -> Option<CheckEvent> {
        info!(
            "SIGHUP received: reloading {}",
            self.setup.config_path.display()
        );
        let loaded = load(&HostFs, &self.setup.config_path, &self.setup.parse);
        if loaded.diagnostics.iter().any(|d| d.counts_as_error()) {
            for d in loaded.diagnostics.iter().filter(|d| d.counts_as_error()) {
                warn!("{d}");
            }
            error!("configuration has errors: keeping the running configuration");
            return None;
        }
        let mut config = loaded.config;
        for m in crate::security::disable_insecure(&mut config, crate::security::running_as_root())
        {
            error!("{m}");
        }
        tuning::raise_nofile(tuning::checker_fds_required(&config));
        self.mailer = Mailer::from_global(&config.global);
        self.scripts.default_user = ScriptUser::from_global(&config.global);
        Some(CheckEvent::Input(CheckInput::Reload(Box::new(config))))
    }

    /// Said once: what happens to the IPVS changes the engine asks for.
    fn ipvs_notice(&mut self) {
        if self.ipvs_noticed {
            return;
        }
        self.ipvs_noticed = true;
        if Path::new(IPVS_PROC).exists() {
            warn!("IPVS programming is not part of this build: health checks, notify scripts, FIFO lines and alerts run, and the IPVS changes they call for are only logged");
        } else {
            warn!("IPVS is unavailable in this kernel ({IPVS_PROC} is missing): health checks, notify scripts, FIFO lines and alerts run, but nothing is programmed");
        }
    }
}

impl CheckPlatform for LinuxChecker {
    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn until(&self, t: Instant) -> Duration {
        self.clock.until(t)
    }

    async fn next_event(&mut self) -> CheckEvent {
        if self.stopping {
            return CheckEvent::Stop;
        }
        loop {
            tokio::select! {
                biased;
                _ = self.signals.term.recv() => {
                    info!("SIGTERM received: stopping");
                    self.stopping = true;
                    return CheckEvent::Input(CheckInput::Shutdown);
                }
                _ = self.signals.int.recv() => {
                    info!("SIGINT received: stopping");
                    self.stopping = true;
                    return CheckEvent::Input(CheckInput::Shutdown);
                }
                _ = self.signals.hup.recv() => {
                    if let Some(ev) = self.reload() {
                        return ev;
                    }
                }
                _ = self.signals.usr1.recv() => return CheckEvent::DumpData,
                // Statistics and JSON are VRRP's; the checker has none to give.
                _ = self.signals.usr2.recv() => {}
                _ = self.signals.json.recv() => {}
                Some((id, outcome)) = self.results.recv() => {
                    return CheckEvent::Input(CheckInput::ProbeDone { id, outcome });
                }
                Some(ev) = self.netlink.next_host_event() => {
                    if let HostEvent::Address { addr, added, .. } = ev {
                        return CheckEvent::Input(CheckInput::AddressPresent { addr, present: added });
                    }
                }
            }
        }
    }

    async fn execute(&mut self, out: CheckOutput) {
        match out {
            CheckOutput::StartProbe(spec) => {
                let (prober, tx) = (self.prober.clone(), self.result_tx.clone());
                tokio::spawn(async move {
                    let outcome = prober.run(&spec).await;
                    let _ = tx.send((spec.id, outcome));
                });
            }
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
            CheckOutput::Ipvs(op) => {
                self.ipvs_notice();
                debug!("IPVS change not applied: {op:?}");
            }
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
        super::platform::dump_file("keepalived_check.data", &text);
    }
}
