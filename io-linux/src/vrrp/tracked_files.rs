//! The VRRP child's `track_file`s (`vrrp_track_file`): the files the instances and sync
//! groups track are watched ([`FileWatch`]) and each change of value reaches the engine
//! as [`Input::TrackFile`]. keepalived's VRRP process calls `init_track_files()` at start
//! and at each reload, after writing the `init_file`s while the configuration is read.

use std::collections::{BTreeMap, BTreeSet};

use keepalived_engine::config::model::Config;
use keepalived_engine::vrrp::Input;

use crate::host::file_watch::{umask_val, FileWatch};

/// The watched files of the running configuration.
#[derive(Debug, Default)]
pub(crate) struct TrackedFiles {
    watch: FileWatch,
}

/// The `track_file` names an instance or a sync group refers to: only those are watched
/// (`init_track_files()` forgets a file nothing tracks).
fn tracked(config: &Config) -> BTreeSet<String> {
    let instances = config.instances.iter().map(|i| &i.trackers);
    let groups = config.sync_groups.iter().map(|g| &g.trackers);
    instances
        .chain(groups)
        .flat_map(|t| t.files.iter().map(|r| r.name.clone()))
        .collect()
}

impl TrackedFiles {
    /// Writes the `init_file`s, watches the tracked files and reads them.
    pub(crate) fn start(config: &Config) -> TrackedFiles {
        TrackedFiles {
            watch: FileWatch::start(&config.track_files, &tracked(config), false, umask_val()),
        }
    }

    /// Each tracked file's value as read at start, for [`keepalived_engine::vrrp::Engine::with_track_files`].
    pub(crate) fn values(&self) -> BTreeMap<String, i64> {
        self.watch.values()
    }

    /// The files watched, by `track_file` name, with the path `realpath()` gave.
    pub(crate) fn paths(&self) -> Vec<(String, String)> {
        self.watch.paths()
    }

    /// A reload: the new configuration's files are watched instead, and their values,
    /// read again, go to the engine ahead of the new configuration.
    pub(crate) fn reload(&mut self, config: &Config) -> Vec<Input> {
        self.watch = FileWatch::start(&config.track_files, &tracked(config), true, umask_val());
        self.watch
            .values()
            .into_iter()
            .map(|(name, value)| Input::TrackFile { name, value })
            .collect()
    }

    /// The next change of a tracked file's value. Cancel-safe.
    pub(crate) async fn next(&mut self) -> Input {
        let (name, value) = self.watch.next().await;
        Input::TrackFile { name, value }
    }
}
