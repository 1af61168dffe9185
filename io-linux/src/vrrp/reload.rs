//! A reload between the moment the loop takes the new configuration and the moment the
//! engine's outputs for it are all carried out: the VMACs the new configuration dropped
//! are deleted only then, once the engine has taken their addresses off.

use keepalived_engine::config::model::Config;
use tracing::info;

use super::network::Network;
use super::vmac;

pub(crate) struct Reload {
    /// When the loop took the configuration, for the "Reload applied" line.
    started: std::time::Instant,
    /// The VMACs the new configuration keeps.
    vmacs_kept: Vec<String>,
}

impl Reload {
    /// A reload to `config`, taken by the loop at `started`.
    pub(crate) fn new(started: std::time::Instant, config: &Config) -> Reload {
        Reload {
            started,
            vmacs_kept: vmac::wanted(config).into_iter().map(|w| w.name).collect(),
        }
    }

    /// Deletes the VMACs the new configuration dropped.
    pub(crate) async fn remove_dropped_vmacs(&self, network: &mut Network) {
        network.remove_vmacs_except(&self.vmacs_kept).await;
    }

    /// Logs how long the reload took, from the loop taking the configuration to now.
    pub(crate) fn log_applied(&self) {
        info!(
            "Reload applied in {:.1} ms",
            self.started.elapsed().as_secs_f64() * 1000.0
        );
    }
}
