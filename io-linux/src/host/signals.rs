//! The signals keepalived's processes act on (`keepalived/core/main.c`, `vrrp_daemon.c`),
//! as async streams; the mask a child starts with so none is lost before it listens; and
//! the signals no process of ours uses, which are ignored so that none of them can end a
//! daemon holding VIPs (a stray `kill -s RTMIN+5`, a closed pipe, a timer signal).

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

/// SIGRTMAX−1: write the statistics, then zero them (`--signum=STATS_CLEAR`,
/// keepalived's `SIGSTATS_CLEAR`).
pub fn sigstats_clear() -> i32 {
    libc::SIGRTMAX() - 1
}

pub struct Signals {
    pub hup: Signal,
    pub term: Signal,
    pub int: Interrupt,
    pub usr1: Signal,
    pub usr2: Signal,
    pub json: Signal,
    pub stats_clear: Signal,
}

impl Signals {
    /// Ignores the signals no process uses, installs the handlers, then unblocks the
    /// signals a re-executed child started with blocked: one that arrived in between is
    /// delivered now rather than lost.
    pub fn install() -> std::io::Result<Signals> {
        ignore_unused()?;
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
            stats_clear: signal(SignalKind::from_raw(sigstats_clear()))?,
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
            sigstats_clear(),
        ] {
            libc::sigaddset(&mut set, s);
        }
        match libc::pthread_sigmask(how, &set, std::ptr::null_mut()) {
            0 => Ok(()),
            e => Err(std::io::Error::from_raw_os_error(e)),
        }
    }
}

/// The signals whose default action ends or stops a process and that no process of ours
/// acts on: the classic ones, and every real-time signal but JSON and STATS_CLEAR.
/// keepalived 2.2.7 ignores only SIGPIPE, so a `kill -s RTMIN+5` (or SIGALRM, SIGPWR …)
/// ends it; here they are ignored.
///
/// Left at their default: SIGKILL and SIGSTOP (which cannot be caught), and the signals
/// that report a fault of the process itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
/// SIGSYS): the kernel delivers those with their default action even when ignored, so
/// ignoring them would hide only a `kill` of them, and the runtime keeps its handler
/// for a stack overflow. SIGCHLD, SIGCONT, SIGURG and SIGWINCH end nothing.
fn unused() -> impl Iterator<Item = libc::c_int> {
    let classic = [
        libc::SIGQUIT,
        libc::SIGTRAP,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGSTKFLT,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
    ];
    let used = [sigjson(), sigstats_clear()];
    // glibc keeps the real-time signals below SIGRTMIN() for itself.
    let realtime = (libc::SIGRTMIN()..=libc::SIGRTMAX()).filter(move |s| !used.contains(s));
    classic.into_iter().chain(realtime)
}

/// Sets every signal of [`unused`] to `handler`.
fn set_unused(handler: libc::sighandler_t) -> std::io::Result<()> {
    for sig in unused() {
        // SAFETY: sigaction with SIG_IGN or SIG_DFL and an empty mask; async-signal-safe.
        let r = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Ignores the signals no process of ours uses ([`unused`]).
pub fn ignore_unused() -> std::io::Result<()> {
    set_unused(libc::SIG_IGN)
}

/// Puts back the default action of the signals [`ignore_unused`] ignored, for a program
/// we start (a script, modprobe): an ignored signal stays ignored across exec, and a
/// script is owed the defaults, as keepalived's `signal_handler_script()` gives it.
/// Async-signal-safe, for a `pre_exec` hook.
pub fn restore_defaults() -> std::io::Result<()> {
    set_unused(libc::SIG_DFL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unused_signals_exclude_those_we_act_on_and_the_uncatchable() {
        let unused: Vec<_> = unused().collect();
        for sig in [
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGTERM,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGCHLD,
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            sigjson(),
            sigstats_clear(),
        ] {
            assert!(!unused.contains(&sig), "signal {sig} is in the unused set");
        }
        for sig in [
            libc::SIGPIPE,
            libc::SIGALRM,
            libc::SIGRTMIN(),
            libc::SIGRTMAX(),
        ] {
            assert!(
                unused.contains(&sig),
                "signal {sig} is missing from the unused set"
            );
        }
    }
}
