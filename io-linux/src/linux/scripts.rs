//! Child processes: track scripts with their timeout (SIGTERM to the process group, SIGKILL
//! 2 s later, as `vrrp_script_child_timeout_thread()`), notify scripts, and FIFO lines.

use std::ffi::CString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use keepalived_engine::config::model::Command;
use keepalived_engine::vrrp::ScriptStatus;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// keepalived's grace between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

pub struct Scripts {
    tx: UnboundedSender<(String, ScriptStatus)>,
    pub exits: UnboundedReceiver<(String, ScriptStatus)>,
}

fn user_ids(user: &str) -> Option<(u32, u32)> {
    let c = CString::new(user).ok()?;
    // SAFETY: getpwnam returns a pointer into static storage or null; we copy out at once.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: non-null result of getpwnam.
    let pw = unsafe { &*pw };
    Some((pw.pw_uid, pw.pw_gid))
}

/// The process for `cmd`: executed directly when the path is an executable file, as
/// keepalived does, else through `/bin/sh -c` (keepalived's `system()` fallback).
fn process(cmd: &Command) -> Option<tokio::process::Command> {
    let first = cmd.argv.first()?;
    let direct = std::fs::metadata(first)
        .is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0);
    let mut p = if direct {
        let mut p = tokio::process::Command::new(first);
        p.args(&cmd.argv[1..]);
        p
    } else {
        let mut p = tokio::process::Command::new("/bin/sh");
        p.arg("-c").arg(cmd.argv.join(" "));
        p
    };
    p.process_group(0)
        .env_remove("LD_PRELOAD")
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("IFS");
    p.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some((uid, gid)) = cmd.user.as_deref().and_then(user_ids) {
        p.uid(uid).gid(gid);
    }
    Some(p)
}

impl Default for Scripts {
    fn default() -> Self {
        let (tx, exits) = unbounded_channel();
        Scripts { tx, exits }
    }
}

impl Scripts {
    /// Runs a track script; its result arrives on `exits`.
    pub fn run_track(&self, name: String, cmd: &Command, timeout: Duration) {
        let tx = self.tx.clone();
        let Some(mut p) = process(cmd) else {
            let _ = tx.send((name, ScriptStatus::Exited(127)));
            return;
        };
        tokio::spawn(async move {
            let status = match p.spawn() {
                Err(_) => ScriptStatus::Exited(127),
                Ok(mut child) => {
                    let pid = child.id().map(|p| p as i32);
                    tokio::select! {
                        biased;
                        r = child.wait() => match r {
                            Ok(s) => match (s.code(), std::os::unix::process::ExitStatusExt::signal(&s)) {
                                (Some(c), _) => ScriptStatus::Exited(c),
                                (None, Some(sig)) => ScriptStatus::Signaled(sig),
                                _ => ScriptStatus::Exited(1),
                            },
                            Err(_) => ScriptStatus::Exited(1),
                        },
                        _ = tokio::time::sleep(timeout.max(Duration::from_millis(1))) => {
                            if let Some(pid) = pid {
                                // SAFETY: signalling our own child's process group.
                                unsafe { libc::kill(-pid, libc::SIGTERM) };
                                if tokio::time::timeout(KILL_GRACE, child.wait()).await.is_err() {
                                    // SAFETY: as above.
                                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                                    let _ = child.wait().await;
                                }
                            }
                            ScriptStatus::TimedOut
                        }
                    }
                }
            };
            let _ = tx.send((name, status));
        });
    }

    /// Starts a notify script and reaps it in the background.
    pub fn notify(&self, cmd: &Command) {
        if let Some(mut p) = process(cmd) {
            if let Ok(mut child) = p.spawn() {
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
            }
        }
    }
}

/// Appends a line to a FIFO (or file) without blocking when nobody reads it.
pub fn write_fifo(path: &str, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)?;
    f.write_all(line.as_bytes())
}
