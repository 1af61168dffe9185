//! `lvs_sync_daemon`: the kernel's connection-sync threads. With a VRRP instance named,
//! the VRRP process runs the master thread while that instance is MASTER and the backup
//! thread otherwise (`ipvs_syncd_master()` / `ipvs_syncd_backup()`); without one, the
//! checker process runs both for its whole life (`checker_ipvs_syncd_needed()`).

use keepalived_engine::config::model::LvsSyncDaemon;
use tracing::{info, warn};

use super::client::{IpvsClient, IpvsError};
use super::wire::{DaemonRepr, STATE_BACKUP, STATE_MASTER};

fn state_name(state: u32) -> &'static str {
    if state == STATE_MASTER {
        "master"
    } else {
        "backup"
    }
}

pub struct SyncDaemons {
    client: IpvsClient,
    cfg: LvsSyncDaemon,
}

impl SyncDaemons {
    pub fn open(cfg: &LvsSyncDaemon) -> Result<SyncDaemons, IpvsError> {
        Ok(SyncDaemons {
            client: IpvsClient::open()?,
            cfg: cfg.clone(),
        })
    }

    pub fn config(&self) -> &LvsSyncDaemon {
        &self.cfg
    }

    fn repr(&self, state: u32) -> DaemonRepr {
        DaemonRepr {
            state,
            ifname: self.cfg.interface.clone(),
            syncid: u32::from(self.cfg.id.unwrap_or(0)),
            maxlen: self.cfg.maxlen,
            group: self.cfg.group,
            port: Some(self.cfg.port),
            ttl: self.cfg.ttl,
        }
    }

    /// Stops both threads, whoever started them: what an earlier run that died left.
    pub fn clear(&mut self) {
        for state in [STATE_MASTER, STATE_BACKUP] {
            let _ = self.client.stop_daemon(&self.repr(state));
        }
    }

    pub fn start(&mut self, state: u32) {
        match self.client.start_daemon(&self.repr(state)) {
            Ok(()) => info!(
                interface = %self.cfg.interface,
                "IPVS: {} sync daemon started (syncid {})",
                state_name(state),
                self.cfg.id.unwrap_or(0)
            ),
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            Err(e) => warn!(
                interface = %self.cfg.interface,
                "IPVS: cannot start the {} sync daemon: {e}",
                state_name(state)
            ),
        }
    }

    pub fn stop(&mut self, state: u32) {
        match self.client.stop_daemon(&self.repr(state)) {
            Ok(()) => info!("IPVS: {} sync daemon stopped", state_name(state)),
            Err(e) if e.errno() == Some(libc::ESRCH) => {}
            Err(e) => warn!(
                "IPVS: cannot stop the {} sync daemon: {e}",
                state_name(state)
            ),
        }
    }

    /// The instance became MASTER (`true`) or left it: the other thread stops first.
    pub fn follow(&mut self, master: bool) {
        let (from, to) = if master {
            (STATE_BACKUP, STATE_MASTER)
        } else {
            (STATE_MASTER, STATE_BACKUP)
        };
        self.stop(from);
        self.start(to);
    }
}

/// The VRRP process's side: the threads follow one instance's state.
pub struct InstanceSyncd {
    pub instance: String,
    daemons: SyncDaemons,
    master: bool,
}

impl InstanceSyncd {
    /// For a config whose `lvs_sync_daemon` names an instance: the backup thread starts
    /// at once (`vrrp_init_state()`), after clearing what an earlier run left.
    pub fn start(cfg: Option<&LvsSyncDaemon>) -> Option<InstanceSyncd> {
        let cfg = cfg?;
        let instance = cfg.instance.clone()?;
        match SyncDaemons::open(cfg) {
            Ok(mut daemons) => {
                daemons.clear();
                daemons.start(STATE_BACKUP);
                Some(InstanceSyncd {
                    instance,
                    daemons,
                    master: false,
                })
            }
            Err(e) => {
                warn!(%instance, "IPVS: lvs_sync_daemon: {e}");
                None
            }
        }
    }

    /// An instance changed state; only ours, entering or leaving MASTER, matters.
    pub fn state_change(&mut self, instance: &str, master: bool) {
        if instance == self.instance && master != self.master {
            self.master = master;
            self.daemons.follow(master);
        }
    }

    /// A reload: unchanged settings keep the running thread (`vrrp_daemon.c` reload).
    pub fn reload(this: &mut Option<InstanceSyncd>, cfg: Option<&LvsSyncDaemon>) {
        let same = match (this.as_ref(), cfg) {
            (Some(s), Some(c)) => s.daemons.config() == c,
            (None, c) => c.and_then(|c| c.instance.as_ref()).is_none(),
            (Some(_), None) => false,
        };
        if same {
            return;
        }
        let was_master = this.as_ref().is_some_and(|s| s.master);
        if let Some(s) = this.take() {
            s.stop();
        }
        *this = InstanceSyncd::start(cfg);
        if let Some(s) = this.as_mut() {
            // The instance keeps its state across a reload; so does its thread.
            if was_master {
                let name = s.instance.clone();
                s.state_change(&name, true);
            }
        }
    }

    /// On exit: the running thread stops.
    pub fn stop(mut self) {
        let state = if self.master {
            STATE_MASTER
        } else {
            STATE_BACKUP
        };
        self.daemons.stop(state);
    }
}
