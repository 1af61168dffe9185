//! Logging as keepalived does it: syslog by default (`-S` facility) under the process's
//! own identity, the console too with `-l`, a file with `-g`, more detail with `-D`.
//!
//! A syslog line is keepalived's: the message alone (`Keepalived_vrrp[PID]: (VI_1)
//! Entering MASTER STATE`), at the severity of its level (keepalived sends everything at
//! info). The console and the file get a timestamp, the level and the structured fields
//! (`instance=VI_1 vrid=51`) too, or with `--log-format json` one JSON object a line.
//! When stderr is the journal (`JOURNAL_STREAM`, as systemd sets it), lines for syslog
//! and the console go to journald's native socket instead, once each, with the fields
//! as journal fields (`INSTANCE=VI_1`, `VRID=51`).

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

use crate::cli::{LogFormat, Options};
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
    clock: SyslogClock,
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
            clock: SyslogClock::default(),
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

    fn send(&mut self, severity: i32, line: &str) {
        if self.sock.is_none() {
            self.connect();
        }
        let Some(sock) = &self.sock else {
            self.dropped += 1;
            return;
        };
        let mut msg = String::with_capacity(32 + self.ident.len() + line.len().min(MAX_MESSAGE));
        let _ = write!(msg, "<{}>", self.facility | severity);
        self.clock.put(&mut msg);
        let _ = write!(msg, " {}[{}]: {}", self.ident, self.pid, clip(line));
        if self.dropped > 0 {
            let _ = write!(
                msg,
                " ({} earlier lines dropped: syslog was full or away)",
                self.dropped
            );
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

/// The longest message sent to syslog or the journal, in bytes: rsyslog's default
/// `maxMessageSize` is 8 KiB, and a datagram must stay well under the socket's limit
/// (a longer one fails as a whole, and the line would be lost).
const MAX_MESSAGE: usize = 8192;

/// `text` cut to [`MAX_MESSAGE`] bytes at a character boundary, saying so.
fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_MESSAGE {
        return text.into();
    }
    let mut end = MAX_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} ... ({} bytes cut)", &text[..end], text.len() - end).into()
}

/// Local time as RFC 3164 has it (`Nov 26 16:44:02`), worked out once a second: a
/// takeover of thousands of instances logs a line each within a few milliseconds, and
/// `localtime_r()` takes glibc's time zone lock each time.
#[derive(Default)]
struct SyslogClock {
    second: Option<libc::time_t>,
    text: String,
}

impl SyslogClock {
    /// Appends the local time now to `out`.
    fn put(&mut self, out: &mut String) {
        // SAFETY: time(NULL) reads the clock and writes nothing of ours.
        let t = unsafe { libc::time(std::ptr::null_mut()) };
        self.put_at(t, out);
    }

    /// Appends the local time of second `t` to `out`.
    fn put_at(&mut self, t: libc::time_t, out: &mut String) {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        if self.second != Some(t) {
            // SAFETY: localtime_r into a zeroed tm we own.
            let tm = unsafe {
                let mut tm: libc::tm = std::mem::zeroed();
                libc::localtime_r(&t, &mut tm);
                tm
            };
            self.text.clear();
            let _ = write!(
                self.text,
                "{} {:2} {:02}:{:02}:{:02}",
                MONTHS[tm.tm_mon.clamp(0, 11) as usize],
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec
            );
            self.second = Some(t);
        }
        out.push_str(&self.text);
    }
}

/// The syslog severity of a level: keepalived's `log_message()` levels, debug at debug.
fn severity(level: &Level) -> i32 {
    match *level {
        Level::ERROR => libc::LOG_ERR,
        Level::WARN => libc::LOG_WARNING,
        Level::INFO => libc::LOG_INFO,
        Level::DEBUG | Level::TRACE => libc::LOG_DEBUG,
    }
}

/// A field's value as recorded: numbers and flags stay typed for JSON.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Text(String),
    Int(i64),
    Uint(u64),
    Bool(bool),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(t) => f.write_str(t),
            Value::Int(n) => write!(f, "{n}"),
            Value::Uint(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One event: its message and its other fields, in the order written.
#[derive(Debug, Default)]
struct Record {
    message: String,
    fields: Vec<(&'static str, Value)>,
}

impl Visit for Record {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::Text(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::Text(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::Uint(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
}

impl Record {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::Text(t) => t,
                other => other.to_string(),
            };
        } else {
            self.fields.push((field.name(), value));
        }
    }

    /// The syslog line: the message as keepalived words it, then the fields it does not
    /// already carry (`interface=eth0 …`). `(VI_1)` in the message is the instance and
    /// its VRID, and a state line's `from`, `to` and `reason` are in its words, so a
    /// line operators grep ("(VI_1) Entering MASTER STATE") stays keepalived's.
    fn syslog(&self) -> String {
        const IN_THE_TEXT: [&str; 5] = ["instance", "vrid", "from", "to", "reason"];
        let mut line = self.message.clone();
        for (k, v) in self.fields.iter().filter(|(k, _)| !IN_THE_TEXT.contains(k)) {
            let _ = write!(line, " {k}={v}");
        }
        line
    }

    /// `2026-12-05T17:11:24.853850Z  INFO message instance=VI_1 vrid=51`.
    fn text(&self, at: std::time::SystemTime, level: &Level) -> String {
        let mut line = String::with_capacity(40 + self.message.len() + 24 * self.fields.len());
        put_utc(&mut line, at);
        let _ = write!(line, " {level:>5} ");
        line.push_str(&self.message);
        for (k, v) in &self.fields {
            let _ = write!(line, " {k}={v}");
        }
        line.push('\n');
        line
    }

    /// One JSON object: timestamp, level, process, pid, message and each field.
    fn json(&self, at: std::time::SystemTime, level: &Level, process: Process) -> String {
        let mut obj = serde_json::Map::new();
        let mut timestamp = String::with_capacity(27);
        put_utc(&mut timestamp, at);
        obj.insert("timestamp".into(), timestamp.into());
        obj.insert("level".into(), level.as_str().into());
        obj.insert("process".into(), process.ident().to_string_lossy().into());
        obj.insert("pid".into(), std::process::id().into());
        obj.insert("message".into(), self.message.clone().into());
        for (k, v) in &self.fields {
            let v = match v {
                Value::Text(t) => t.clone().into(),
                Value::Int(n) => (*n).into(),
                Value::Uint(n) => (*n).into(),
                Value::Bool(b) => (*b).into(),
            };
            // A field named as one of the line's own keys keeps both.
            let key = if obj.contains_key(*k) {
                format!("field_{k}")
            } else {
                (*k).to_string()
            };
            obj.insert(key, v);
        }
        let mut line = serde_json::Value::Object(obj).to_string();
        line.push('\n');
        line
    }
}

/// Appends `at` as RFC 3339 UTC with microseconds: `2026-12-05T17:11:24.853850Z`. The
/// date is worked out from the day count (the proleptic Gregorian calendar, as
/// `gmtime_r()` has it) rather than by glibc, which takes its time zone lock for it.
fn put_utc(out: &mut String, at: std::time::SystemTime) {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_date(secs / 86_400);
    let of_day = secs % 86_400;
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_micros()
    );
}

/// The year, month (1–12) and day (1–31) of the `days`th day after 1970-01-01.
///
/// Counts in 400-year eras of 146,097 days from 0000-03-01, so that the leap day is the
/// last of its year: within an era, the year is the day less the leap days before it,
/// over 365, and the month follows from the 153 days of each five months from March.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // 0 = March … 11 = February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Where journald takes native entries.
const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// journald's native protocol (systemd's `sd_journal_send()`): `FIELD=value` lines, or
/// for a value with a newline the field name, a newline, its length as 64-bit little
/// endian and the value.
struct Journal {
    sock: UnixDatagram,
    path: PathBuf,
    ident: String,
    facility: i32,
}

impl Journal {
    /// The journal, if stderr is connected to it: `JOURNAL_STREAM` is `DEVICE:INODE` of
    /// the stream systemd gave us (systemd.exec(5)).
    fn if_stderr_is_journal(ident: String, facility: i32) -> Option<Journal> {
        let stream = std::env::var("JOURNAL_STREAM").ok()?;
        let (dev, ino) = stream.split_once(':')?;
        let (dev, ino): (u64, u64) = (dev.parse().ok()?, ino.parse().ok()?);
        // SAFETY: fstat of stderr into a zeroed stat we own.
        let st = unsafe {
            let mut st: libc::stat = std::mem::zeroed();
            (libc::fstat(2, &mut st) == 0).then_some(st)?
        };
        if st.st_dev != dev || st.st_ino != ino {
            return None;
        }
        let sock = UnixDatagram::unbound().ok()?;
        sock.set_nonblocking(true).ok()?;
        Some(Journal {
            sock,
            path: PathBuf::from(JOURNAL_SOCKET),
            ident,
            facility,
        })
    }

    /// The entry of one event.
    fn entry(
        &self,
        level: &Level,
        record: &Record,
        file: Option<&str>,
        line: Option<u32>,
    ) -> Vec<u8> {
        let mut e = Vec::new();
        let mut put = |name: &str, value: &str| {
            e.extend_from_slice(name.as_bytes());
            if value.contains('\n') {
                e.push(b'\n');
                e.extend_from_slice(&(value.len() as u64).to_le_bytes());
                e.extend_from_slice(value.as_bytes());
            } else {
                e.push(b'=');
                e.extend_from_slice(value.as_bytes());
            }
            e.push(b'\n');
        };
        put("MESSAGE", &clip(&record.message));
        put("PRIORITY", &severity(level).to_string());
        put("SYSLOG_FACILITY", &(self.facility >> 3).to_string());
        put("SYSLOG_IDENTIFIER", &self.ident);
        put("SYSLOG_PID", &std::process::id().to_string());
        if let Some(f) = file {
            put("CODE_FILE", f);
        }
        if let Some(l) = line {
            put("CODE_LINE", &l.to_string());
        }
        for (k, v) in &record.fields {
            put(&journal_field(k), &clip(&v.to_string()));
        }
        e
    }

    /// Sends an entry; false if journald did not take it.
    fn send(&self, entry: &[u8]) -> bool {
        self.sock.send_to(entry, &self.path).is_ok()
    }
}

/// A field name as journald takes it: upper case letters, digits and `_`, not starting
/// with `_` or a digit.
fn journal_field(name: &str) -> String {
    let mut f: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    // A name of journald's own fields (or one of its prefixes) would stand beside the
    // entry's: `priority` would be a second PRIORITY.
    let journald_own = [
        "MESSAGE",
        "PRIORITY",
        "CODE_FILE",
        "CODE_LINE",
        "CODE_FUNC",
        "ERRNO",
    ];
    if f.starts_with(|c: char| c == '_' || c.is_ascii_digit())
        || journald_own.contains(&f.as_str())
        || f.starts_with("SYSLOG_")
    {
        f.insert_str(0, "F_");
    }
    f
}

/// Every destination a log line goes to, as a tracing layer.
struct Logger {
    process: Process,
    format: LogFormat,
    console: bool,
    syslog: Option<Mutex<Syslog>>,
    journal: Option<Journal>,
    file: Option<Mutex<File>>,
}

impl<S: Subscriber> Layer<S> for Logger {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let meta = event.metadata();
        let level = meta.level();
        let mut record = Record {
            message: String::new(),
            fields: Vec::with_capacity(meta.fields().len()),
        };
        event.record(&mut record);
        let at = std::time::SystemTime::now();
        // Rendered once, for the console and the file alike.
        let line = std::cell::OnceCell::new();
        let rendered = || {
            line.get_or_init(|| match self.format {
                LogFormat::Text => record.text(at, level),
                LogFormat::Json => record.json(at, level, self.process),
            })
        };
        let mut console = self.console;
        let mut syslog = self.syslog.is_some();
        if let Some(j) = &self.journal {
            if (console || syslog) && j.send(&j.entry(level, &record, meta.file(), meta.line())) {
                console = false;
                syslog = false;
            }
        }
        if console {
            let _ = std::io::stderr().write_all(rendered().as_bytes());
        }
        if syslog {
            if let Some(Ok(mut s)) = self.syslog.as_ref().map(Mutex::lock) {
                s.send(severity(level), &record.syslog());
            }
        }
        if let Some(Ok(mut f)) = self.file.as_ref().map(Mutex::lock) {
            let _ = f.write_all(rendered().as_bytes());
        }
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
    let syslog = (!opts.no_syslog).then(|| Mutex::new(Syslog::new(process, facility)));
    let file = opts.log_file.as_ref().and_then(|f| {
        let base = f.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_LOG_FILE));
        let path = log_file_path(&base, process);
        match open_log_file(&path) {
            Ok(file) => Some(Mutex::new(file)),
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
        tracing::level_filters::LevelFilter::DEBUG
    } else {
        tracing::level_filters::LevelFilter::INFO
    };
    let ident = process.ident().to_string_lossy().into_owned();
    let logger = Logger {
        process,
        format: opts.log_format,
        console: opts.log_console,
        syslog,
        journal: Journal::if_stderr_is_journal(ident, facility),
        file,
    };
    let _ = tracing_subscriber::registry()
        .with(logger.with_filter(level))
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
        s.send(libc::LOG_INFO, "lost");
        assert!(s.sock.is_none() && s.retry_at.is_some());
        let rx = UnixDatagram::bind(&path).unwrap();
        s.retry_at = None;
        s.send(libc::LOG_INFO, "hello");
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
            s.send(libc::LOG_INFO, &format!("line {i}"));
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

    #[test]
    fn lines_keep_their_fields_as_text_json_and_journal_fields() {
        let mut r = Record {
            message: "(VI_1) Entering MASTER STATE".into(),
            fields: vec![
                ("instance", Value::Text("VI_1".into())),
                ("vrid", Value::Uint(51)),
            ],
        };
        let at = std::time::UNIX_EPOCH + Duration::from_micros(1_764_954_684_853_850);
        assert_eq!(
            r.text(at, &Level::INFO),
            "2025-12-05T17:11:24.853850Z  INFO (VI_1) Entering MASTER STATE instance=VI_1 vrid=51\n"
        );
        // syslog: keepalived's words alone; another field goes after them.
        assert_eq!(r.syslog(), "(VI_1) Entering MASTER STATE");
        let mut other = Record {
            message: "track_src_ip: gone".into(),
            fields: vec![("interface", Value::Text("eth0".into()))],
        };
        assert_eq!(other.syslog(), "track_src_ip: gone interface=eth0");
        other.fields.push(("pid", Value::Uint(7)));
        let json: serde_json::Value =
            serde_json::from_str(&other.json(std::time::UNIX_EPOCH, &Level::INFO, Process::Vrrp))
                .unwrap();
        assert_eq!(json["field_pid"], 7);
        let json: serde_json::Value =
            serde_json::from_str(&r.json(at, &Level::WARN, Process::Vrrp)).unwrap();
        assert_eq!(json["level"], "WARN");
        assert_eq!(json["process"], "Keepalived_vrrp");
        assert_eq!(json["message"], "(VI_1) Entering MASTER STATE");
        assert_eq!(json["instance"], "VI_1");
        assert_eq!(json["vrid"], 51);
        assert_eq!(json["timestamp"], "2025-12-05T17:11:24.853850Z");

        let j = Journal {
            sock: UnixDatagram::unbound().unwrap(),
            path: PathBuf::from(JOURNAL_SOCKET),
            ident: "Keepalived_vrrp".into(),
            facility: libc::LOG_DAEMON,
        };
        let e = String::from_utf8(j.entry(&Level::DEBUG, &r, Some("x.rs"), Some(7))).unwrap();
        for line in [
            "MESSAGE=(VI_1) Entering MASTER STATE",
            "PRIORITY=7",
            "SYSLOG_FACILITY=3",
            "SYSLOG_IDENTIFIER=Keepalived_vrrp",
            "CODE_LINE=7",
            "INSTANCE=VI_1",
            "VRID=51",
        ] {
            assert!(e.lines().any(|l| l == line), "{line} missing from {e}");
        }
        // A value with a newline goes length-prefixed.
        r.message = "a\nb".into();
        let e = j.entry(&Level::INFO, &r, None, None);
        let mut want = b"MESSAGE\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n");
        assert!(e.starts_with(&want), "{e:?}");
        assert_eq!(journal_field("2nd-try"), "F_2ND_TRY");
        assert_eq!(journal_field("priority"), "F_PRIORITY");
        assert_eq!(journal_field("interface"), "INTERFACE");
        // An overlong message is cut, not lost.
        let long = "x".repeat(MAX_MESSAGE + 10);
        assert!(clip(&long).ends_with("... (10 bytes cut)"));
    }

    #[test]
    fn utc_dates_are_gmtimes_across_leap_years_and_centuries() {
        // Every day from 1970 to 2500 (2100, 2200 and 2300 are not leap years; 2000 and 2400
        // are), at a time of day that moves through the hours.
        let mut line = String::new();
        for day in 0..(530 * 366) {
            let secs = day * 86_400 + (day * 3_607) % 86_400;
            // SAFETY: gmtime_r into a zeroed tm we own.
            let tm = unsafe {
                let mut tm: libc::tm = std::mem::zeroed();
                libc::gmtime_r(&(secs as libc::time_t), &mut tm);
                tm
            };
            let want = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000042Z",
                tm.tm_year + 1900,
                tm.tm_mon + 1,
                tm.tm_mday,
                tm.tm_hour,
                tm.tm_min,
                tm.tm_sec
            );
            line.clear();
            put_utc(
                &mut line,
                std::time::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(42),
            );
            assert_eq!(line, want, "{secs}");
        }
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(47_540), (2100, 2, 28));
        assert_eq!(civil_date(47_541), (2100, 3, 1));
    }

    #[test]
    fn the_syslog_clock_is_the_local_time_of_the_second_asked() {
        // 2026-03-05 12:34:56 UTC, a day of the month below 10.
        let t: libc::time_t = 1_772_714_096;
        let local = |t: libc::time_t| {
            // SAFETY: localtime_r into a zeroed tm we own.
            let tm = unsafe {
                let mut tm: libc::tm = std::mem::zeroed();
                libc::localtime_r(&t, &mut tm);
                tm
            };
            let month = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ][tm.tm_mon as usize];
            let day = tm.tm_mday;
            let time = format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
            // `Mar  5 12:34:56`: the day padded with a space, as glibc's syslog() has it.
            if day < 10 {
                format!("{month}  {day} {time}")
            } else {
                format!("{month} {day} {time}")
            }
        };
        let mut clock = SyslogClock::default();
        // The same second twice, the next, an hour back (a clock stepped back), and a
        // day of the month of two digits.
        for at in [t, t, t + 1, t - 3600, t + 20 * 86_400] {
            let mut line = String::from("<30>");
            clock.put_at(at, &mut line);
            assert_eq!(line, format!("<30>{}", local(at)), "{at}");
        }
        let mut now = String::new();
        clock.put(&mut now);
        assert_eq!(now.len(), 15, "{now}");
    }

    #[test]
    fn utc_never_panics_on_a_time_before_the_epoch_or_far_ahead() {
        let mut line = String::new();
        put_utc(&mut line, std::time::UNIX_EPOCH - Duration::from_secs(1));
        assert_eq!(line, "1970-01-01T00:00:00.000000Z");
        line.clear();
        put_utc(
            &mut line,
            std::time::UNIX_EPOCH + Duration::from_secs(i64::MAX as u64),
        );
        assert!(line.ends_with('Z'), "{line}");
    }

    #[test]
    fn levels_map_to_syslog_severities() {
        assert_eq!(severity(&Level::ERROR), libc::LOG_ERR);
        assert_eq!(severity(&Level::WARN), libc::LOG_WARNING);
        assert_eq!(severity(&Level::INFO), libc::LOG_INFO);
        assert_eq!(severity(&Level::DEBUG), libc::LOG_DEBUG);
    }
}
