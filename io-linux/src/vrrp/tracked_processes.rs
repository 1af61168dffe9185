//! The VRRP child's `vrrp_track_process` trackers: the process watch of the running
//! configuration, its counts as engine inputs. The first counts are the engine's from
//! its start (keepalived reads /proc in `init_track_processes()` before
//! `initialise_tracking_priorities()`), so an instance whose process runs never passes
//! through FAULT; a reload's counts reach the engine ahead of the new configuration.

use std::collections::BTreeMap;

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::Input;

use crate::host::process_watch::ProcessWatch;

pub(crate) struct TrackedProcesses {
    /// `None` while the configuration tracks no process.
    watch: Option<ProcessWatch>,
}

impl TrackedProcesses {
    /// Starts watching the processes `config` tracks.
    pub(crate) fn new(config: &Config) -> TrackedProcesses {
        TrackedProcesses {
            watch: ProcessWatch::start(&config.track_processes, &config.global),
        }
    }

    /// Whether any process is tracked, so [`TrackedProcesses::next`] can give anything.
    pub(crate) fn active(&self) -> bool {
        self.watch.is_some()
    }

    /// Every tracker's count now, for the engine's start.
    pub(crate) fn counts(&mut self) -> BTreeMap<String, u32> {
        self.watch
            .as_mut()
            .map(|w| w.counts().into_iter().collect())
            .unwrap_or_default()
    }

    /// The next change of a count. Cancel-safe; never ends while nothing is tracked, so
    /// it is polled only when [`TrackedProcesses::active`].
    pub(crate) async fn next(&mut self) -> Input {
        match self.watch.as_mut() {
            Some(w) => {
                let (name, count) = w.next().await;
                Input::ProcessCount { name, count }
            }
            None => std::future::pending().await,
        }
    }

    /// The trackers of a new configuration, counted afresh: their counts, for the engine
    /// ahead of the reload.
    pub(crate) fn reload(&mut self, config: &Config) -> Vec<Input> {
        if config.track_processes.is_empty() {
            self.watch = None;
            return Vec::new();
        }
        let counts = if let Some(w) = self.watch.as_mut() {
            w.reload(&config.track_processes, &config.global)
        } else {
            self.watch = ProcessWatch::start(&config.track_processes, &config.global);
            self.watch
                .as_mut()
                .map(ProcessWatch::counts)
                .unwrap_or_default()
        };
        counts
            .into_iter()
            .map(|(name, count)| Input::ProcessCount { name, count })
            .collect()
    }
}
