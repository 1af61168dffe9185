//! The signals keepalived's processes act on (`keepalived/core/main.c`, `vrrp_daemon.c`),
//! as async streams; and the mask a child starts with so none is lost before it listens.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// `--ignore-sigint` (keepalived's `ignore_sigint`) on this process's command line: the
/// children have the parent's, so SIGINT stops none of the processes. Read by the parser
/// that read it at start, so the two never disagree.
fn ignore_sigint() -> bool {
    crate::cli::parse(std::env::args_os()).is_ok_and(|o| o.ignore_sigint)
}

/// SIGRTMIN+2: write the JSON state (`--signum=JSON`).
pub fn sigjson() -> i32 {
    libc::SIGRTMIN() + 2
}

pub struct Signals {
    pub hup: Signal,
    pub term: Signal,
    pub int: Interrupt,
    pub usr1: Signal,
    pub usr2: Signal,
    pub json: Signal,
}

impl Signals {
    /// Installs the handlers, then unblocks the signals a re-executed child started with
    /// blocked: one that arrived in between is delivered now rather than lost.
    pub fn install() -> std::io::Result<Signals> {
        let s = Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: Interrupt {
                signal: signal(SignalKind::interrupt())?,
                ignored: ignore_sigint(),
            },
            usr1: signal(SignalKind::user_defined1())?,
            usr2: signal(SignalKind::user_defined2())?,
            json: signal(SignalKind::from_raw(sigjson()))?,
        };
        set_mask(libc::SIG_UNBLOCK)?;
        Ok(s)
    }
}

/// SIGINT, which stops a process as SIGTERM does unless `--ignore-sigint` was given.
/// Ignored, it is still caught (keepalived sets SIG_IGN, which a script would inherit
/// across exec; a caught signal goes back to its default there, as keepalived's
/// `signal_handler_script()` puts it), and each one is only logged.
pub struct Interrupt {
    signal: Signal,
    ignored: bool,
}

impl Interrupt {
    /// The next SIGINT that stops the process: with `--ignore-sigint`, none ever does.
    pub async fn recv(&mut self) -> Option<()> {
        loop {
            let got = self.signal.recv().await;
            if !self.ignored {
                return got;
            }
            if got.is_none() {
                return std::future::pending().await;
            }
            tracing::info!("SIGINT ignored (--ignore-sigint)");
        }
    }
}

/// Blocks (or unblocks) the signals above on the calling thread. Async-signal-safe, so a
/// `pre_exec` hook may call it: a child then holds any signal the parent forwards before
/// the child has installed its handlers, instead of dying of the default action.
pub fn set_mask(how: libc::c_int) -> std::io::Result<()> {
    // SAFETY: sigset_t is plain data initialised by sigemptyset; only libc calls that are
    // async-signal-safe are used.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [
            libc::SIGHUP,
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGUSR1,
            libc::SIGUSR2,
            sigjson(),
        ] {
            libc::sigaddset(&mut set, s);
        }
        match libc::pthread_sigmask(how, &set, std::ptr::null_mut()) {
            0 => Ok(()),
            e => Err(std::io::Error::from_raw_os_error(e)),
        }
    }
}
