//! `notify_fifo` / `vrrp_notify_fifo` (`fifo_open()`, `keepalived/core/notify.c`): the
//! FIFO is made if missing (and removed on exit if we made it), its script is started
//! with the FIFO's path as last argument, and it is held open read-write and
//! non-blocking, so a line never blocks the daemon when nobody reads. Only a FIFO owned
//! by us is used: a file planted at the path is refused.

use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};

use keepalived_engine::config::model::Fifo;
use tracing::{info, warn};

use super::scripts::Scripts;

pub struct NotifyFifo {
    path: String,
    file: File,
    created: bool,
}

impl NotifyFifo {
    pub fn open(f: &Fifo, scripts: &Scripts) -> Result<NotifyFifo, String> {
        let c = CString::new(f.path.as_str()).map_err(|_| "NUL in the FIFO path".to_string())?;
        // SAFETY: mkfifo with a NUL-terminated path.
        let created = unsafe { libc::mkfifo(c.as_ptr(), 0o644) } == 0;
        if !created {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(format!("cannot create notify FIFO {}: {e}", f.path));
            }
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&f.path)
            .map_err(|e| format!("cannot open notify FIFO {}: {e}", f.path))?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if let Err(why) = safe_fifo(&f.path, &meta) {
            if created {
                let _ = std::fs::remove_file(&f.path);
            }
            return Err(format!("notify FIFO {} {why}: not using it", f.path));
        }
        // The script is given the path only once it is known to lead to our FIFO, so
        // a root script never reads lines someone else writes.
        if let Some(script) = &f.script {
            let mut cmd = script.clone();
            cmd.argv.push(f.path.clone());
            scripts.notify(&cmd);
        }
        info!(fifo = %f.path, "notify FIFO open");
        Ok(NotifyFifo {
            path: f.path.clone(),
            file,
            created,
        })
    }

    /// One line; a full FIFO nobody reads loses it rather than stall the daemon.
    pub fn write(&mut self, line: &str) {
        if let Err(e) = self.file.write_all(line.as_bytes()) {
            warn!(fifo = %self.path, "{e}");
        }
    }
}

/// Whether the FIFO at `path`, opened as `meta`, carries only our lines to the script
/// that reads it: a FIFO we own that nobody else can write, in a directory where nobody
/// else can put another file at its name (owned by root or us, and not writable by
/// others unless sticky).
fn safe_fifo(path: &str, meta: &std::fs::Metadata) -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.file_type().is_fifo() || meta.uid() != me {
        return Err("is not a FIFO we own".into());
    }
    if meta.mode() & 0o022 != 0 {
        return Err("is writable by others".into());
    }
    let dir = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let d = std::fs::metadata(dir).map_err(|e| format!("has no directory we can read: {e}"))?;
    let sticky = d.mode() & libc::S_ISVTX != 0;
    if (d.uid() != 0 && d.uid() != me) || (d.mode() & 0o022 != 0 && !sticky) {
        return Err(format!(
            "is in {}, where others can replace it",
            dir.display()
        ));
    }
    Ok(())
}

impl Drop for NotifyFifo {
    /// Unlinked first, so a reader that loops reopening it cannot reopen this one
    /// (`fifo_close()`).
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn fifo(path: &std::path::Path, mode: u32) -> std::fs::Metadata {
        let c = CString::new(path.display().to_string()).unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        std::fs::metadata(path).unwrap()
    }

    /// A FIFO is used only where nobody else can write it or put another at its name.
    #[test]
    fn only_a_fifo_nobody_else_can_write_or_replace() {
        let dir = std::env::temp_dir().join(format!("kars-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let ok = dir.join("ok");
        assert_eq!(
            safe_fifo(&ok.display().to_string(), &fifo(&ok, 0o644)),
            Ok(())
        );
        let open = dir.join("open");
        let m = fifo(&open, 0o666);
        assert_eq!(
            safe_fifo(&open.display().to_string(), &m),
            Err("is writable by others".to_string())
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let m = std::fs::metadata(&ok).unwrap();
        assert!(safe_fifo(&ok.display().to_string(), &m)
            .unwrap_err()
            .contains("where others can replace it"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(safe_fifo(&ok.display().to_string(), &m), Ok(()));
        let file = dir.join("file");
        std::fs::write(&file, "").unwrap();
        let m = std::fs::metadata(&file).unwrap();
        assert!(safe_fifo(&file.display().to_string(), &m).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
