//! The files the daemon writes: pidfiles and the signal dumps, each created fresh, never
//! through a symlink, readable by root only (the fixes for CVE-2018-19044/19045/19046).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use tracing::error;

/// A dump in $TMPDIR (or /tmp) under keepalived's file name.
pub(crate) fn dump_file(name: &str, text: &str) {
    let path = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
        .join(name);
    if let Err(e) = write_private(&path, text) {
        error!(file = %path.display(), "writing {name}: {e}");
    }
}

/// A dump file created fresh, never through a symlink, readable by root only (the fixes
/// for CVE-2018-19044/19045/19046).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// Our pid in `p`, created fresh and private as every file we write.
pub fn write_pidfile(p: &Path) -> std::io::Result<()> {
    write_private(p, &format!("{}\n", std::process::id()))
}
