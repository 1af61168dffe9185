//! The files the daemon writes: pidfiles and the signal dumps, each created fresh, never
//! through a symlink (the fixes for CVE-2018-19044/19045/19046), with keepalived's modes.

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

/// A dump file created fresh, never through a symlink (the fixes for
/// CVE-2018-19044/19045/19046), read-write for all less the umask as keepalived's
/// `fopen_safe()` makes it: root's only under the default umask 0177.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    write_new(path, text, 0o666).map(|_| ())
}

fn write_new(path: &Path, text: &str, mode: u32) -> std::io::Result<std::fs::File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    Ok(f)
}

/// Our pid in `p`, created fresh as the dumps are, and rw-r--r-- whatever the umask
/// (`pidfile_write()`), so that anyone may read which process to signal.
pub fn write_pidfile(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let f = write_new(p, &format!("{}\n", std::process::id()), 0o644)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
}
