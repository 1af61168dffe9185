//! The parent process (keepalived's `start_keepalived()` and `*_respawn_thread()`): it
//! starts each child by re-executing this binary with `--child=ROLE`, restarts a child
//! that dies unless `-R`, forwards signals, and on SIGTERM stops the children, waiting
//! `child_wait_time` before SIGKILL.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tracing::{debug, error, info, warn};

use crate::linux::signals::{self, Signals};
use crate::process::Process;

/// Exit codes that mean a child cannot work with this configuration or host: respawning
/// would fail the same way (keepalived's KEEPALIVED_EXIT_FATAL / _CONFIG, "exited with
/// permanent error").
pub const EXIT_FATAL: i32 = 1;
pub const EXIT_CONFIG: i32 = 4;

/// A child is restarted at once unless it lived less than this; then the restart waits,
/// so a child that fails at start-up does not spin.
const MIN_LIFETIME: Duration = Duration::from_secs(1);

pub struct ParentSetup {
    /// The command line the parent was given, without argv[0]; each child gets it again.
    pub args: Vec<OsString>,
    pub children: Vec<Process>,
    pub dont_respawn: bool,
    pub child_wait: Duration,
    pub pidfile: PathBuf,
}

struct Running {
    role: Process,
    pid: i32,
    started: tokio::time::Instant,
}

struct Parent {
    setup: ParentSetup,
    running: Vec<Running>,
    exits: UnboundedReceiver<(i32, ExitStatus)>,
    exit_tx: UnboundedSender<(i32, ExitStatus)>,
}

/// Runs the parent until SIGTERM/SIGINT or a child's permanent failure. Returns the exit
/// code.
pub fn run(setup: ParentSetup) -> u8 {
    let Some(rt) = crate::linux::start_process(&setup.pidfile) else {
        return EXIT_FATAL as u8;
    };
    let pidfile = setup.pidfile.clone();
    let code = rt.block_on(async move {
        let mut signals = match Signals::install() {
            Ok(s) => s,
            Err(e) => {
                error!("signals: {e}");
                return EXIT_FATAL;
            }
        };
        let (exit_tx, exits) = unbounded_channel();
        let mut parent = Parent {
            setup,
            running: Vec::new(),
            exits,
            exit_tx,
        };
        for role in parent.setup.children.clone() {
            if let Err(code) = parent.start(role) {
                parent.stop_all().await;
                return code;
            }
        }
        // From here the parent only waits for signals and its children.
        crate::process::unmap_startup_pages();
        parent.supervise(&mut signals).await
    });
    let _ = std::fs::remove_file(&pidfile);
    code as u8
}

impl Parent {
    /// Re-executes this binary as `role`. The child dies with SIGTERM if the parent
    /// dies (PR_SET_PDEATHSIG, as keepalived's children do), and starts with the
    /// forwarded signals blocked until its handlers are in place.
    fn start(&mut self, role: Process) -> Result<(), i32> {
        let parent = std::process::id() as libc::pid_t;
        let mut cmd = tokio::process::Command::new("/proc/self/exe");
        cmd.arg0(
            std::env::args_os()
                .next()
                .unwrap_or_else(|| "keepalived-rs".into()),
        )
        .args(&self.setup.args)
        .arg(format!("--child={}", role.arg()));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before PDEATHSIG was armed.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("parent exited"));
                }
                signals::set_mask(libc::SIG_BLOCK)
            });
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                error!("cannot start the {} child process: {e}", role.title());
                return Err(EXIT_FATAL);
            }
        };
        let Some(pid) = child.id() else {
            return Err(EXIT_FATAL);
        };
        let pid = pid as i32;
        debug!("started the {} child process, pid={pid}", role.title());
        let tx = self.exit_tx.clone();
        tokio::spawn(async move {
            if let Ok(status) = child.wait().await {
                let _ = tx.send((pid, status));
            }
        });
        self.running.push(Running {
            role,
            pid,
            started: tokio::time::Instant::now(),
        });
        Ok(())
    }

    fn forward(&self, sig: i32, to: impl Fn(Process) -> bool) {
        for c in self.running.iter().filter(|c| to(c.role)) {
            // SAFETY: signalling a child we started and have not yet reaped.
            unsafe { libc::kill(c.pid, sig) };
        }
    }

    async fn supervise(&mut self, signals: &mut Signals) -> i32 {
        loop {
            tokio::select! {
                _ = signals.term.recv() => {
                    info!("SIGTERM received: stopping the child processes");
                    self.stop_all().await;
                    return 0;
                }
                _ = signals.int.recv() => {
                    info!("SIGINT received: stopping the child processes");
                    self.stop_all().await;
                    return 0;
                }
                // Each child reloads its own side through its own diff
                // (`propagate_signal()`).
                _ = signals.hup.recv() => {
                    info!("Reloading: SIGHUP to the child processes");
                    self.forward(libc::SIGHUP, |_| true);
                }
                _ = signals.usr1.recv() => self.forward(libc::SIGUSR1, |_| true),
                _ = signals.usr2.recv() => self.forward(libc::SIGUSR2, |_| true),
                _ = signals.json.recv() => {
                    self.forward(signals::sigjson(), |r| r == Process::Vrrp)
                }
                Some((pid, status)) = self.exits.recv() => {
                    if let Some(code) = self.child_exited(pid, status).await {
                        return code;
                    }
                }
            }
        }
    }

    /// A child ended on its own: restart it, or stop everything (`-R`, or an error a
    /// restart cannot mend). Returns the parent's exit code when it is to stop.
    async fn child_exited(&mut self, pid: i32, status: ExitStatus) -> Option<i32> {
        let i = self.running.iter().position(|c| c.pid == pid)?;
        let Running { role, started, .. } = self.running.remove(i);
        let how = describe(status);
        if matches!(status.code(), Some(EXIT_FATAL | EXIT_CONFIG)) {
            error!(
                "{} child process({pid}) exited with permanent error ({how}): terminating",
                role.title()
            );
            self.stop_all().await;
            return status.code();
        }
        if self.setup.dont_respawn {
            warn!("{} child process({pid}) {how}: exiting (-R)", role.title());
            self.stop_all().await;
            return Some(0);
        }
        warn!("{} child process({pid}) {how}: respawning", role.title());
        let lived = started.elapsed();
        if lived < MIN_LIFETIME {
            tokio::time::sleep(MIN_LIFETIME - lived).await;
        }
        match self.start(role) {
            Ok(()) => None,
            Err(code) => {
                self.stop_all().await;
                Some(code)
            }
        }
    }

    /// SIGTERM to every child, SIGKILL to those still running after `child_wait_time`
    /// (`sigend()`).
    async fn stop_all(&mut self) {
        self.forward(libc::SIGTERM, |_| true);
        let deadline = tokio::time::Instant::now() + self.setup.child_wait;
        while !self.running.is_empty() {
            match tokio::time::timeout_at(deadline, self.exits.recv()).await {
                Ok(Some((pid, status))) => {
                    if let Some(i) = self.running.iter().position(|c| c.pid == pid) {
                        let c = self.running.remove(i);
                        info!(
                            "{} child process({pid}) {}",
                            c.role.title(),
                            describe(status)
                        );
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    for c in &self.running {
                        warn!(
                            "{} child process({}) still running after {:?}: SIGKILL",
                            c.role.title(),
                            c.pid,
                            self.setup.child_wait
                        );
                    }
                    self.forward(libc::SIGKILL, |_| true);
                    for _ in 0..self.running.len() {
                        if self.exits.recv().await.is_none() {
                            break;
                        }
                    }
                    self.running.clear();
                }
            }
        }
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended".to_string(),
    }
}
