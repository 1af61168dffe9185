//! Who hears of the instances' events besides the host's network: the log (each line with
//! the instance's VRID), the notify FIFOs, SMTP alerts, and the IPVS sync daemon, which
//! follows one instance's state.

use std::collections::BTreeMap;

use keepalived_engine::config::model::{Config, Fifo};
use keepalived_engine::vrrp::{State, MASTER_DOWN};
use tracing::{info, warn};

use crate::host::fifo::NotifyFifo;
use crate::host::scripts::Scripts;
use crate::host::smtp::Mailer;
use crate::ipvs::syncd::InstanceSyncd;

pub(crate) struct Reports {
    /// Each instance's VRID, for the `vrid` field of log lines.
    vrids: BTreeMap<String, u8>,
    fifos: Vec<NotifyFifo>,
    /// Where `smtp_alert` mail goes, if anywhere.
    mailer: Option<Mailer>,
    /// `lvs_sync_daemon IF INSTANCE`: the IPVS sync threads follow that instance.
    syncd: Option<InstanceSyncd>,
}

impl Reports {
    /// `config`'s VRIDs and mailer; its sync daemon started. No FIFO is open yet.
    pub(crate) fn new(config: &Config) -> Reports {
        Reports {
            vrids: vrids(config),
            fifos: Vec::new(),
            mailer: Mailer::from_global(&config.global),
            syncd: InstanceSyncd::start(config.global.lvs_sync_daemon.as_ref()),
        }
    }

    /// Opens the notify FIFOs; one that cannot be opened is left out, with a warning.
    pub(crate) fn open_fifos(&mut self, fifos: &[Fifo], scripts: &Scripts) {
        for f in fifos {
            match NotifyFifo::open(f, scripts) {
                Ok(fifo) => self.fifos.push(fifo),
                Err(e) => warn!("{e}"),
            }
        }
    }

    /// A reload: the new configuration's VRIDs and mailer; the sync daemon restarted if
    /// its settings changed.
    pub(crate) fn reload(&mut self, config: &Config) {
        self.vrids = vrids(config);
        self.mailer = Mailer::from_global(&config.global);
        InstanceSyncd::reload(&mut self.syncd, config.global.lvs_sync_daemon.as_ref());
    }

    /// On exit: the sync daemon's thread stops.
    pub(crate) fn stop_syncd(&mut self) {
        if let Some(s) = self.syncd.take() {
            s.stop();
        }
    }

    /// `instance`'s VRID, 0 for a name the configuration does not have.
    pub(crate) fn vrid(&self, instance: &str) -> u8 {
        self.vrids.get(instance).copied().unwrap_or(0)
    }

    pub(crate) fn state_change(&mut self, instance: &str, from: State, to: State, reason: &str) {
        let word = match to {
            State::Master => "Entering MASTER STATE",
            State::Backup => "Entering BACKUP STATE",
            State::Fault => "Entering FAULT STATE",
            State::Stop => "Stopped",
            State::Init => "Entering INIT STATE",
        };
        let vrid = self.vrid(instance);
        // keepalived's lines: "(VI_1) Entering BACKUP STATE (init)" at start, with -D a
        // timeout's own line at LOG_INFO before "(VI_1) Entering MASTER STATE"
        // (`vrrp_dispatcher_read_timeout()` tests LOG_DETAIL_BIT), and no reason on the
        // others; ours stays in the `reason` field. -D is what enables debug lines here.
        match reason {
            "init" => info!(%instance, vrid, ?from, ?to, %reason, "({instance}) {word} (init)"),
            _ => {
                if reason == MASTER_DOWN && tracing::enabled!(tracing::Level::DEBUG) {
                    info!(%instance, vrid, "({instance}) Receive advertisement timeout");
                }
                info!(%instance, vrid, ?from, ?to, %reason, "({instance}) {word}")
            }
        }
        if let Some(s) = self.syncd.as_mut() {
            s.state_change(instance, to == State::Master);
        }
    }

    pub(crate) fn group_state_change(&self, group: &str, to: State) {
        info!(%group, ?to, "VRRP_Group({group}) {to:?}")
    }

    pub(crate) fn priority_change(&self, instance: &str, effective: u8) {
        let vrid = self.vrid(instance);
        info!(%instance, vrid, effective, "({instance}) effective priority now {effective}")
    }

    /// A line for every notify FIFO.
    pub(crate) fn fifo_line(&mut self, line: &str) {
        for f in &mut self.fifos {
            f.write(line);
        }
    }

    /// Sends an SMTP alert in the background, if mail is configured.
    pub(crate) fn smtp_alert(&self, subject: String, body: String) {
        if let Some(m) = self.mailer.clone() {
            tokio::spawn(async move {
                match m.send(&subject, &body).await {
                    Ok(()) => info!("SMTP alert sent: {subject}"),
                    Err(e) => warn!("SMTP alert \"{subject}\" not sent: {e}"),
                }
            });
        }
    }

    /// A line of the engine's; one of no instance (an advert for an unknown VRID) has no
    /// `(NAME)` before it, as keepalived writes it.
    pub(crate) fn log(&self, instance: &str, message: &str) {
        if instance.is_empty() {
            info!("{message}");
            return;
        }
        let vrid = self.vrid(instance);
        info!(%instance, vrid, "({instance}) {message}")
    }
}

fn vrids(config: &Config) -> BTreeMap<String, u8> {
    config
        .instances
        .iter()
        .map(|i| (i.name.clone(), i.virtual_router_id))
        .collect()
}
