//! A notify FIFO read line by line while daemons write to it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::host::wait_for;

/// A FIFO made before the daemon starts (which then uses it as it is), held open here
/// for writing too, so a daemon closing it at a reload or an exit never ends the read:
/// every line either daemon writes is kept, in order.
pub struct FifoLines {
    pub path: PathBuf,
    lines: Arc<Mutex<Vec<String>>>,
    holder: std::fs::File,
    reader: Option<std::thread::JoinHandle<()>>,
}

const END: &str = "END OF TEST";

impl FifoLines {
    pub fn new(path: PathBuf) -> FifoLines {
        let c = std::ffi::CString::new(path.display().to_string()).unwrap();
        // SAFETY: mkfifo with a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        // Read-write: the open does not wait for a writer, and this end keeps one.
        let holder = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .expect("open the FIFO");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (read, into) = (holder.try_clone().unwrap(), lines.clone());
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(read).lines() {
                let Ok(line) = line else { return };
                if line == END {
                    return;
                }
                into.lock().unwrap().push(line);
            }
        });
        FifoLines {
            path,
            lines,
            holder,
            reader: Some(reader),
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// Waits up to `limit` for `line` among the lines from the `from`th on.
    pub fn wait_line(&self, from: usize, line: &str, limit: Duration) -> bool {
        wait_for(limit, || self.lines()[from..].iter().any(|l| l == line)).is_some()
    }
}

impl Drop for FifoLines {
    fn drop(&mut self) {
        let _ = writeln!(self.holder, "{END}");
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}
