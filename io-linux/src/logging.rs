//! Logging as keepalived does it: syslog by default (`-S` facility) under the process's
//! own identity, the console too with `-l`, a file with `-g`, more detail with `-D`.

use std::fs::File;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

use crate::cli::Options;
use crate::host::process::Process;

/// keepalived's default for `-g` without a file name.
pub(crate) const DEFAULT_LOG_FILE: &str = "/tmp/keepalived.log";

/// The `-g` file of `process`: `keepalived.log` → `keepalived_vrrp.log` for the VRRP child.
pub(crate) fn log_file_path(base: &Path, process: Process) -> PathBuf {
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

/// Where syslog listens.
const DEV_LOG: &str = "/dev/log";
/// How long a missing or refusing syslog is left alone before the next try.
const SYSLOG_RETRY: Duration = Duration::from_secs(1);

/// Sends each formatted log line to syslog as glibc's `syslog()` would
/// (`<PRI>Mmm dd hh:mm:ss IDENT[PID]: line` on `/dev/log`), but never waits: the socket
/// is non-blocking, a line syslog has no room for is dropped (and the drops counted in
/// the next line that goes through), and a missing `/dev/log` is retried once a second,
/// not once a line. glibc blocks while syslog's queue is full and reconnects for every
/// line when there is none; at a stop that logs a line per real server, either can hold
/// the process past `child_wait_time`, and it is SIGKILLed with IPVS half removed.
struct Syslog {
    path: PathBuf,
    sock: Option<UnixDatagram>,
    retry_at: Option<std::time::Instant>,
    ident: &'static str,
    pid: u32,
    facility: i32,
    dropped: u64,
}

impl Syslog {
    fn new(process: Process, facility: i32) -> Syslog {
        Syslog {
            path: PathBuf::from(DEV_LOG),
            sock: None,
            retry_at: None,
            ident: process.ident().to_str().unwrap_or("keepalived-rs"),
            pid: std::process::id(),
            facility,
            dropped: 0,
        }
    }

    fn connect(&mut self) {
        let now = std::time::Instant::now();
        if self.retry_at.is_some_and(|t| now < t) {
            return;
        }
        let sock = UnixDatagram::unbound().and_then(|s| {
            s.connect(&self.path)?;
            s.set_nonblocking(true)?;
            Ok(s)
        });
        match sock {
            Ok(s) => {
                self.sock = Some(s);
                self.retry_at = None;
            }
            Err(_) => self.retry_at = Some(now + SYSLOG_RETRY),
        }
    }

    fn send(&mut self, line: &str) {
        if self.sock.is_none() {
            self.connect();
        }
        let Some(sock) = &self.sock else {
            self.dropped += 1;
            return;
        };
        let mut msg = format!(
            "<{}>{} {}[{}]: {line}",
            self.facility | libc::LOG_INFO,
            syslog_time(),
            self.ident,
            self.pid
        );
        if self.dropped > 0 {
            msg.push_str(&format!(
                " ({} earlier lines dropped: syslog was full or away)",
                self.dropped
            ));
        }
        match sock.send(msg.as_bytes()) {
            Ok(_) => self.dropped = 0,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => self.dropped += 1,
            Err(_) => {
                // syslog restarted or went away: reconnect, later.
                self.sock = None;
                self.retry_at = Some(std::time::Instant::now() + SYSLOG_RETRY);
                self.dropped += 1;
            }
        }
    }
}

/// Local time as RFC 3164 has it: `Nov 26 16:44:02`.
fn syslog_time() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // SAFETY: time(NULL) and localtime_r into a zeroed tm we own.
    let tm = unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm
    };
    format!(
        "{} {:2} {:02}:{:02}:{:02}",
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// Every destination a log line goes to.
#[derive(Clone)]
struct Sinks {
    console: bool,
    syslog: Option<Arc<Mutex<Syslog>>>,
    file: Option<Arc<Mutex<File>>>,
}

struct SinksWriter(Sinks);

impl Write for SinksWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.console {
            let _ = std::io::stderr().write_all(buf);
        }
        if let Some(s) = &self.0.syslog {
            if let Ok(mut s) = s.lock() {
                let line = String::from_utf8_lossy(buf);
                s.send(line.trim_end());
            }
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

/// A log file opened for appending, never through a symlink, not readable by others,
/// and only if it is a regular file of ours with one link: `-g` defaults to a file in
/// /tmp, where any user could have planted a link or a file of their own at that name
/// ([`crate::host::security::open_own_file`]).
fn open_log_file(path: &Path) -> std::io::Result<File> {
    crate::host::security::open_own_file(path, false)
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
    let syslog = (!opts.no_syslog).then(|| Arc::new(Mutex::new(Syslog::new(process, facility))));
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
    fn syslog_lines_are_glibc_shaped_and_a_full_syslog_never_blocks() {
        let dir = std::env::temp_dir().join(format!("kars-syslog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let _ = std::fs::remove_file(&path);
        let mut s = Syslog::new(Process::Checker, libc::LOG_DAEMON);
        s.path = path.clone();
        // Nobody listening yet: dropped, and not retried before a second has passed.
        s.send("lost");
        assert!(s.sock.is_none() && s.retry_at.is_some());
        let rx = UnixDatagram::bind(&path).unwrap();
        s.retry_at = None;
        s.send("hello");
        let mut buf = [0u8; 512];
        let n = rx.recv(&mut buf).unwrap();
        let got = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(got.starts_with("<30>"), "{got}");
        assert!(
            got.ends_with(&format!(
                " Keepalived_healthcheckers[{}]: hello (1 earlier lines dropped: syslog was full or away)",
                std::process::id()
            )),
            "{got}"
        );
        // A receiver that never reads: the queue fills and sends come back WouldBlock,
        // counted as dropped (a blocking socket would wait here instead).
        for i in 0..20_000 {
            s.send(&format!("line {i}"));
        }
        assert!(s.dropped > 0, "the queue never filled");
        let _ = std::fs::remove_dir_all(&dir);
    }

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
