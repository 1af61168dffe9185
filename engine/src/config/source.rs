//! Where configuration text comes from.
//!
//! The engine never touches the filesystem: the daemon hands it a [`ConfigFs`] backed by
//! the real one, tests and the simulator hand it a [`MemFs`]. Everything else the
//! language needs from the outside world (`-i` config id, `${_ENV X}`, the seed of
//! `${_RANDOM}`) arrives in [`ParseOptions`].

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Read-only view of a filesystem, as much of it as `include` needs.
pub trait ConfigFs {
    /// The whole file as UTF-8 text.
    fn read_to_string(&self, path: &Path) -> io::Result<String>;
    /// The file as a stream of bytes, which the lexer reads a chunk at a time so that a
    /// large config is never held whole. By default, the text `read_to_string` returns.
    fn open(&self, path: &Path) -> io::Result<Box<dyn io::Read + '_>> {
        Ok(Box::new(io::Cursor::new(
            self.read_to_string(path)?.into_bytes(),
        )))
    }
    /// Names of the entries of a directory (not sorted, no `.`/`..`).
    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// A path without symlinks or `..`, used to detect include cycles.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        Ok(normalize(path))
    }
}

/// An in-memory filesystem: the simulator's, the tests' and the fuzzer's.
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: BTreeMap<PathBuf, String>,
}

impl MemFs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a file. Relative paths are taken from `/`.
    pub fn insert(&mut self, path: impl AsRef<Path>, text: impl Into<String>) -> &mut Self {
        self.files
            .insert(normalize(&Path::new("/").join(path)), text.into());
        self
    }

    pub fn with(mut self, path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        self.insert(path, text);
        self
    }
}

impl MemFs {
    fn get(&self, path: &Path) -> io::Result<&String> {
        self.files
            .get(&normalize(path))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such file"))
    }
}

impl ConfigFs for MemFs {
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        self.get(path).cloned()
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn io::Read + '_>> {
        Ok(Box::new(self.get(path)?.as_bytes()))
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let dir = normalize(dir);
        let mut names: Vec<String> = Vec::new();
        for path in self.files.keys() {
            if let Ok(rest) = path.strip_prefix(&dir) {
                if let Some(Component::Normal(first)) = rest.components().next() {
                    let name = first.to_string_lossy().into_owned();
                    if names.last() != Some(&name) {
                        names.push(name);
                    }
                }
            }
        }
        if names.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such directory"));
        }
        Ok(names)
    }
}

/// Lexical normalisation: drops `.` and resolves `..` against the preceding component.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Everything the language reads from outside the config files.
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// `-i/--config-id`; keepalived's default is the host name up to the first dot.
    pub config_id: String,
    /// Environment for `${_ENV NAME}`.
    pub env: BTreeMap<String, String>,
    /// Seed for `${_RANDOM}` until a `random_seed` line gives one.
    pub random_seed: u64,
    /// The include checks in force before any `include_check` line (`-e` sets them all).
    pub include_check: super::lexer::IncludeCheck,
}

impl ParseOptions {
    pub fn with_config_id(mut self, id: impl Into<String>) -> Self {
        self.config_id = id.into();
        self
    }
}

/// The config id keepalived uses by default: the node name up to the first `.`.
pub fn default_config_id(hostname: &str) -> String {
    hostname.split('.').next().unwrap_or("").to_string()
}
