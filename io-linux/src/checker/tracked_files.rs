//! The checker child's `track_file`s, for FILE_CHECK: the files the real servers' file
//! checkers name are watched ([`FileWatch`]) and each change of value reaches the engine
//! as [`CheckInput::TrackFile`]. keepalived's checker process calls `init_track_files()`
//! at start and at each reload, after writing the `init_file`s while the configuration
//! is read.

use std::collections::{BTreeMap, BTreeSet};

use keepalived_engine::check::io::CheckInput;
use keepalived_engine::config::model::{CheckerKind, Config};

use crate::host::file_watch::{umask_val, FileWatch};

/// The watched files of the running configuration.
#[derive(Debug, Default)]
pub(crate) struct CheckerFiles {
    watch: FileWatch,
}

/// The `track_file` names a FILE_CHECK refers to: only those are watched
/// (`init_track_files()` forgets a file nothing tracks).
fn tracked(config: &Config) -> BTreeSet<String> {
    let checkers = config
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .flat_map(|r| &r.checkers);
    checkers
        .filter_map(|c| match &c.kind {
            CheckerKind::FileCheck {
                track_file: Some(t),
                ..
            } => Some(t.clone()),
            _ => None,
        })
        .collect()
}

impl CheckerFiles {
    /// Writes the `init_file`s, watches the tracked files and reads them.
    pub(crate) fn start(config: &Config) -> CheckerFiles {
        let watch = FileWatch::start(&config.track_files, &tracked(config), false, umask_val());
        CheckerFiles { watch }
    }

    /// Each tracked file's value as read at start, for
    /// [`keepalived_engine::check::CheckEngine::with_track_files`].
    pub(crate) fn values(&self) -> BTreeMap<String, i64> {
        self.watch.values()
    }

    /// The files watched, by `track_file` name, with the path `realpath()` gave.
    pub(crate) fn paths(&self) -> Vec<(String, String)> {
        self.watch.paths()
    }

    /// A reload: the new configuration's files are watched instead; their values, read
    /// again, are for the engine ahead of the new configuration.
    pub(crate) fn reload(&mut self, config: &Config) -> Vec<CheckInput> {
        self.watch = FileWatch::start(&config.track_files, &tracked(config), true, umask_val());
        self.watch
            .values()
            .into_iter()
            .map(|(name, value)| CheckInput::TrackFile { name, value })
            .collect()
    }

    /// The next change of a tracked file's value. Cancel-safe.
    pub(crate) async fn next(&mut self) -> CheckInput {
        let (name, value) = self.watch.next().await;
        CheckInput::TrackFile { name, value }
    }
}
