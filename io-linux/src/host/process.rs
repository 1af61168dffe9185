//! keepalived's processes: the parent and the children it starts (`keepalived/core/main.c`),
//! what each does first, and the exit codes they share.

use std::path::Path;

use tracing::error;

/// Which of keepalived's processes this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Parent,
    Vrrp,
    Checker,
    /// The BFD process (`keepalived/bfd/bfd_daemon.c`).
    Bfd,
}

impl Process {
    /// The syslog identity keepalived gives the process.
    pub fn ident(self) -> &'static std::ffi::CStr {
        match self {
            Process::Parent => c"Keepalived",
            Process::Vrrp => c"Keepalived_vrrp",
            Process::Checker => c"Keepalived_healthcheckers",
            Process::Bfd => c"Keepalived_bfd",
        }
    }

    /// What `-g` appends to the log file's stem (`open_log_file()`).
    pub(crate) fn file_suffix(self) -> &'static str {
        match self {
            Process::Parent => "",
            Process::Vrrp => "_vrrp",
            Process::Checker => "_healthcheckers",
            Process::Bfd => "_bfd",
        }
    }

    /// The name in the parent's log lines ("VRRP child process(123) died").
    pub fn title(self) -> &'static str {
        match self {
            Process::Parent => "Parent",
            Process::Vrrp => "VRRP",
            Process::Checker => "Healthcheck",
            Process::Bfd => "BFD",
        }
    }

    /// The value of the internal `--child=` option that makes a re-executed binary this
    /// child.
    pub fn arg(self) -> &'static str {
        match self {
            Process::Parent => "parent",
            Process::Vrrp => "vrrp",
            Process::Checker => "checker",
            Process::Bfd => "bfd",
        }
    }

    pub(crate) fn from_arg(s: &str) -> Option<Process> {
        match s {
            "vrrp" => Some(Process::Vrrp),
            "checker" => Some(Process::Checker),
            "bfd" => Some(Process::Bfd),
            _ => None,
        }
    }
}

/// Hands the heap pages freed since start-up (the parsed configuration, a burst's queue)
/// back to the kernel. glibc keeps freed memory for reuse and only trims the top of the
/// heap, so without this a daemon's RSS stays at its start-up peak.
pub fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks and madvises the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Exit codes that mean a child cannot work with this configuration or host: respawning
/// would fail the same way (keepalived's KEEPALIVED_EXIT_FATAL / _CONFIG, "exited with
/// permanent error").
pub const EXIT_FATAL: i32 = 1;
pub const EXIT_CONFIG: i32 = 4;

/// What every process does first: its runtime (single-threaded, so a run depends only on
/// its inputs) and its pidfile. `None` if the runtime cannot be made.
pub(crate) fn start_process(pidfile: &Path) -> Option<tokio::runtime::Runtime> {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the runtime: {e}");
            return None;
        }
    };
    if let Err(e) = super::files::write_pidfile(pidfile) {
        error!(file = %pidfile.display(), "pidfile: {e}");
    }
    Some(rt)
}
