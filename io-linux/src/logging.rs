//! Logging as keepalived does it: syslog by default (`-S` facility) under the process's
//! own identity, the console too with `-l`, a file with `-g`, more detail with `-D`.

use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

use crate::cli::Options;
use crate::process::Process;

/// keepalived's default for `-g` without a file name.
pub const DEFAULT_LOG_FILE: &str = "/tmp/keepalived.log";

/// The `-g` file of `process`: `keepalived.log` → `keepalived_vrrp.log` for the VRRP child.
pub fn log_file_path(base: &Path, process: Process) -> PathBuf {
    let stem = base
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match base.extension() {
        Some(ext) => format!("{stem}{}.{}", process.file_suffix(), ext.to_string_lossy()),
        None => format!("{stem}{}", process.file_suffix()),
    };
    base.with_file_name(name)
}

/// Writes each formatted log line to syslog.
#[derive(Clone, Copy)]
struct Syslog;

impl Write for Syslog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf).trim_end().replace('\0', " ");
        if let Ok(c) = CString::new(line) {
            // SAFETY: a constant format string and a NUL-terminated argument.
            unsafe { libc::syslog(libc::LOG_INFO, c"%s".as_ptr(), c.as_ptr()) };
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every destination a log line goes to.
#[derive(Clone)]
struct Sinks {
    console: bool,
    syslog: bool,
    file: Option<Arc<Mutex<File>>>,
}

struct SinksWriter(Sinks);

impl Write for SinksWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.console {
            let _ = std::io::stderr().write_all(buf);
        }
        if self.0.syslog {
            let _ = Syslog.write(buf);
        }
        if let Some(f) = &self.0.file {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(buf);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for Sinks {
    type Writer = SinksWriter;
    fn make_writer(&'a self) -> SinksWriter {
        SinksWriter(self.clone())
    }
}

/// A log file opened for appending, never through a symlink, not readable by others.
fn open_log_file(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

pub fn init(opts: &Options, process: Process) {
    let facility = opts
        .log_facility
        .as_deref()
        .and_then(|f| {
            f.parse::<i32>()
                .ok()
                .or_else(|| f.strip_prefix("local")?.parse().ok())
        })
        .filter(|f| (0..=7).contains(f))
        .map_or(libc::LOG_DAEMON, |f| (16 + f) << 3);
    let facility = match opts.log_facility.as_deref() {
        Some("user") => libc::LOG_USER,
        Some("daemon") => libc::LOG_DAEMON,
        _ => facility,
    };
    let syslog = !opts.no_syslog;
    if syslog {
        // SAFETY: a static identifier; openlog keeps the pointer, which lives forever.
        unsafe { libc::openlog(process.ident().as_ptr(), libc::LOG_PID, facility) };
    }
    let file = opts.log_file.as_ref().and_then(|f| {
        let base = f.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_LOG_FILE));
        let path = log_file_path(&base, process);
        match open_log_file(&path) {
            Ok(file) => Some(Arc::new(Mutex::new(file))),
            Err(e) => {
                eprintln!(
                    "keepalived-rs: cannot open log file {}: {e}",
                    path.display()
                );
                None
            }
        }
    });
    let level = if opts.log_detail {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(Sinks {
            console: opts.log_console,
            syslog,
            file,
        })
        .with_ansi(false)
        .with_max_level(level)
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_process_logs_to_its_own_file() {
        let base = Path::new("/tmp/keepalived.log");
        assert_eq!(log_file_path(base, Process::Parent), base);
        assert_eq!(
            log_file_path(base, Process::Vrrp),
            Path::new("/tmp/keepalived_vrrp.log")
        );
        assert_eq!(
            log_file_path(Path::new("/var/log/ka"), Process::Checker),
            Path::new("/var/log/ka_healthcheckers")
        );
    }
}
