//! `reload_check_config [LOG_FILE]` (keepalived's `start_validate_reload_conf_child()` and
//! `reload_check_child_thread()`, `keepalived/core/main.c`): before a reload, the parent
//! runs this binary again with its own command line and `--config-test[=LOG_FILE]`, and
//! reloads only if that check exits 0. The check is `-t`'s, which goes beyond the
//! parent's own load (interfaces that exist on this host, scripts that are safe to run),
//! and writes its report to LOG_FILE. As keepalived does, a check still running after
//! 5 s gets SIGTERM, and SIGKILL 2 s later; a check that did not exit 0 is a refusal.

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::sleep_until;

/// How long the check may run before SIGTERM (keepalived's `5 * TIMER_HZ`).
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long after SIGTERM before SIGKILL (`handle_child_timeout()`).
const KILL_AFTER: Duration = Duration::from_secs(2);

/// A configuration check under way.
pub struct ConfigCheck {
    child: Child,
    log: Option<PathBuf>,
    /// When to signal next, and with what.
    next: Option<(Instant, i32)>,
    /// Whether it has been signalled for running too long.
    timed_out: bool,
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// Why it did not pass, in words for the log line.
    Failed(String),
}

impl ConfigCheck {
    /// Starts `-t` on the command line the parent was given (`args`, without argv[0]),
    /// its report to `log` (none: `-t` prints it, to nowhere here). The option goes first,
    /// as the line may end with `--` and arguments that are not options.
    pub fn start(args: &[OsString], log: Option<&Path>) -> std::io::Result<ConfigCheck> {
        let test = match log {
            Some(l) => {
                let mut o = OsString::from("--config-test=");
                o.push(l.as_os_str());
                o
            }
            None => OsString::from("--config-test"),
        };
        let argv0 = std::env::args_os()
            .next()
            .unwrap_or_else(|| "keepalived-rs".into());
        let child = Command::new("/proc/self/exe")
            .arg0(argv0)
            .arg(test)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        Ok(ConfigCheck {
            child,
            log: log.map(Path::to_path_buf),
            next: Some((Instant::now() + CHECK_TIMEOUT, libc::SIGTERM)),
            timed_out: false,
        })
    }

    /// Where the check writes its report, if anywhere.
    pub fn log(&self) -> Option<&Path> {
        self.log.as_deref()
    }

    /// Waits for the check to end, signalling it when it runs too long. Cancel-safe: the
    /// deadlines are kept across calls.
    pub async fn finished(&mut self) -> Outcome {
        loop {
            let at = self.next.map(|(at, _)| at);
            tokio::select! {
                status = self.child.wait() => {
                    return match status {
                        Ok(s) => self.outcome(s),
                        Err(e) => Outcome::Failed(format!("waiting for the check: {e}")),
                    };
                }
                _ = sleep_until(at), if at.is_some() => {
                    let Some((_, sig)) = self.next.take() else { continue };
                    self.timed_out = true;
                    if let Some(pid) = self.child.id() {
                        // SAFETY: signalling the check we started and have not reaped.
                        unsafe { libc::kill(pid as i32, sig) };
                    }
                    if sig == libc::SIGTERM {
                        self.next = Some((Instant::now() + KILL_AFTER, libc::SIGKILL));
                    }
                }
            }
        }
    }

    fn outcome(&self, status: ExitStatus) -> Outcome {
        if self.timed_out {
            return Outcome::Failed(format!(
                "the check did not finish within {} s",
                CHECK_TIMEOUT.as_secs()
            ));
        }
        match (status.code(), status.signal()) {
            (Some(0), _) => Outcome::Passed,
            (Some(c), _) => Outcome::Failed(format!("the check exited with status {c}")),
            (None, Some(s)) => Outcome::Failed(format!("the check was killed by signal {s}")),
            _ => Outcome::Failed("the check ended abnormally".to_string()),
        }
    }
}
