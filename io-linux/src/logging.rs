//! Logging as keepalived does it: syslog by default (`-S` facility), the console too with
//! `-l`, more detail with `-D`.

use std::ffi::CString;
use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

use crate::cli::Options;

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

/// Console and syslog together.
#[derive(Clone, Copy)]
struct Both {
    console: bool,
    syslog: bool,
}

struct BothWriter(Both);

impl Write for BothWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.console {
            let _ = std::io::stderr().write_all(buf);
        }
        if self.0.syslog {
            let _ = Syslog.write(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for Both {
    type Writer = BothWriter;
    fn make_writer(&'a self) -> BothWriter {
        BothWriter(*self)
    }
}

pub fn init(opts: &Options) {
    let facility = opts
        .log_facility
        .as_deref()
        .and_then(|f| f.parse::<i32>().ok())
        .filter(|f| (0..=7).contains(f))
        .map_or(libc::LOG_DAEMON, |f| (16 + f) << 3);
    let syslog = !opts.no_syslog;
    if syslog {
        // SAFETY: a static identifier; openlog keeps the pointer, which lives forever.
        unsafe { libc::openlog(c"Keepalived_vrrp".as_ptr(), libc::LOG_PID, facility) };
    }
    let level = if opts.log_detail {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(Both {
            console: opts.log_console,
            syslog,
        })
        .with_ansi(false)
        .with_max_level(level)
        .with_target(false)
        .try_init();
}
