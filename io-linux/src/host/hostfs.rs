//! The engine's `ConfigFs` over the real filesystem.

use keepalived_engine::config::ConfigFs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub struct HostFs;

impl ConfigFs for HostFs {
    fn read_to_string(&self, path: &Path) -> io::Result<String> {
        let mut bytes = Vec::new();
        self.open(path)?.read_to_end(&mut bytes)?;
        // keepalived reads bytes; a stray invalid byte must not lose the whole file.
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn io::Read + '_>> {
        // Checked before opening: opening a FIFO would wait for a writer.
        if !std::fs::metadata(path)?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        Ok(Box::new(std::fs::File::open(path)?))
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect()
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }
}

/// keepalived's default `-i`: the node name up to the first dot.
pub fn host_config_id() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    keepalived_engine::config::default_config_id(name.trim())
}
