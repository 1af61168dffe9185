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
        if let Some(script) = &f.script {
            let mut cmd = script.clone();
            cmd.argv.push(f.path.clone());
            scripts.notify(&cmd);
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&f.path)
            .map_err(|e| format!("cannot open notify FIFO {}: {e}", f.path))?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        // SAFETY: geteuid has no preconditions.
        let ours = meta.uid() == unsafe { libc::geteuid() };
        if !meta.file_type().is_fifo() || !ours {
            if created {
                let _ = std::fs::remove_file(&f.path);
            }
            return Err(format!(
                "notify FIFO {} is not a FIFO we own: not using it",
                f.path
            ));
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

impl Drop for NotifyFifo {
    /// Unlinked first, so a reader that loops reopening it cannot reopen this one
    /// (`fifo_close()`).
    fn drop(&mut self) {
        if self.created {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
