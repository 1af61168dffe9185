//! Child processes: track scripts with their timeout (SIGTERM to the process group, SIGKILL
//! 2 s later, as `vrrp_script_child_timeout_thread()`), notify scripts, and FIFO lines.

use std::time::Duration;

use keepalived_engine::config::model::Command;
use keepalived_engine::vrrp::ScriptStatus;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tracing::warn;

use super::script_user::{Identity, ScriptUser};

/// keepalived's grace between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

pub struct Scripts {
    /// Who scripts run as when they name nobody.
    pub default_user: ScriptUser,
    tx: UnboundedSender<(String, ScriptStatus)>,
    pub exits: UnboundedReceiver<(String, ScriptStatus)>,
}

/// The process for `cmd`: executed directly when the path is an executable file, as
/// keepalived does, else through `/bin/sh -c` (keepalived's `system()` fallback); as its
/// own `user`/`group`, else the default script user. Refused, with why, if the user is
/// unknown (the script is not run as anyone else), or if `enable_script_security` is
/// on, the script runs privileged (as root, or a set-uid or set-gid root file) and its
/// path is no longer one only root can change:
/// the check made when the configuration was loaded ([`crate::host::security`]) is made again
/// here, so a directory made writable since then does not let a user in.
pub(crate) fn process(
    cmd: &Command,
    default: &ScriptUser,
) -> Result<tokio::process::Command, String> {
    let first = cmd.argv.first().ok_or("empty command")?;
    let (user, group) = default.for_command(cmd);
    let id = match user {
        Some(user) => Some(default.identity(user, group).ok_or_else(|| {
            format!(
                "unknown script user {user}{}",
                group.map(|g| format!(" or group {g}")).unwrap_or_default()
            )
        })?),
        None => None,
    };
    if default.secure && !crate::host::security::is_file_test(first) {
        let r = crate::host::security::resolve(std::path::Path::new(first))
            .map_err(|e| e.to_string())?;
        let as_whom = id.clone().unwrap_or_else(Identity::current);
        if crate::host::security::runs_privileged(&r.meta, &as_whom) {
            if let Some(w) = r.weakness {
                return Err(format!("unsafe: {w}"));
            }
        }
    }
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
    // Only the main process speaks to systemd.
    for var in super::sd_notify::VARIABLES {
        p.env_remove(var);
    }
    p.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: restore_defaults() makes only async-signal-safe calls.
    unsafe { p.pre_exec(super::signals::restore_defaults) };
    if let Some((soft, hard)) = super::tuning::script_nofile() {
        // The checker raised its open-file limit for its probes; a script gets the one
        // the daemon started with, as keepalived's children do.
        // SAFETY: setrlimit is async-signal-safe and the rlimit is built before the fork.
        unsafe {
            let lim = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            p.pre_exec(move || {
                // Lowering can only fail on bad arguments; a script is not refused for it.
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
                Ok(())
            });
        }
    }
    if let Some(id) = id {
        // SAFETY: setgroups/setgid/setuid are async-signal-safe; the group list was
        // resolved before the fork. Groups and gid go first, while we are still root.
        unsafe {
            p.pre_exec(move || {
                if libc::setgroups(id.groups.len(), id.groups.as_ptr()) != 0
                    || libc::setgid(id.gid) != 0
                    || libc::setuid(id.uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    Ok(p)
}

impl Scripts {
    pub fn new(default_user: ScriptUser) -> Scripts {
        let (tx, exits) = unbounded_channel();
        Scripts {
            default_user,
            tx,
            exits,
        }
    }
}

impl Scripts {
    /// Runs a track script; its result arrives on `exits`.
    pub fn run_track(&self, name: String, cmd: &Command, timeout: Duration) {
        let tx = self.tx.clone();
        let mut p = match process(cmd, &self.default_user) {
            Ok(p) => p,
            Err(why) => {
                warn!(script = %name, "not running track script: {why}");
                let _ = tx.send((name, ScriptStatus::Exited(127)));
                return;
            }
        };
        tokio::spawn(async move {
            let status = match p.spawn() {
                Err(_) => ScriptStatus::Exited(127),
                Ok(child) => wait_with_timeout(child, timeout).await,
            };
            let _ = tx.send((name, status));
        });
    }

    /// Starts a notify script and reaps it in the background.
    pub fn notify(&self, cmd: &Command) {
        let shown = cmd.argv.join(" ");
        match process(cmd, &self.default_user)
            .and_then(|mut p| p.spawn().map_err(|e| e.to_string()))
        {
            Ok(mut child) => {
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
            }
            Err(why) => warn!(script = %shown, "not running notify script: {why}"),
        }
    }
}

/// Runs `cmd` to its end, or until `timeout` (then its process group is stopped as a
/// track script's is), and logs how it ended: `startup_script` before the children
/// start and `shutdown_script` after they stop (`run_startup_script()`,
/// `startup_shutdown_script_completed()` in keepalived's `main.c`).
pub async fn run_to_end(what: &str, cmd: &Command, default: &ScriptUser, timeout: Duration) {
    let shown = cmd.argv.join(" ");
    let child = match process(cmd, default) {
        Ok(mut p) => p.spawn().map_err(|e| e.to_string()),
        Err(why) => Err(why),
    };
    let child = match child {
        Ok(c) => c,
        Err(why) => {
            warn!("Call of {what} {shown} failed: {why}");
            return;
        }
    };
    tracing::debug!("Running {what} {shown}");
    match wait_with_timeout(child, timeout).await {
        ScriptStatus::Exited(0) => tracing::debug!("{what} succeeded"),
        ScriptStatus::Exited(c) => warn!("{what} failed, status {c}"),
        ScriptStatus::Signaled(sig) => warn!("{what} killed by signal {sig}"),
        ScriptStatus::TimedOut => warn!("{what} timed out after {timeout:?}"),
    }
}

/// Waits for a child started from [`process`] (so the leader of its own process group);
/// after `timeout`, SIGTERM to the group, then SIGKILL 2 s later, as keepalived does for
/// track scripts and MISC_CHECK (`misc_check_child_timeout_thread()`). The group is
/// killed too if this future is dropped before the child is reaped, so an abandoned
/// check leaves nothing running.
pub(crate) async fn wait_with_timeout(
    mut child: tokio::process::Child,
    timeout: Duration,
) -> ScriptStatus {
    /// SIGKILLs the process group unless disarmed.
    struct GroupGuard(Option<i32>);
    impl Drop for GroupGuard {
        fn drop(&mut self) {
            if let Some(pid) = self.0 {
                // SAFETY: signalling the process group of a child we started.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        }
    }
    let pid = child.id().map(|p| p as i32);
    let mut guard = GroupGuard(pid);
    let status = tokio::select! {
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
    };
    // The leader is reaped; its pid may be reused, so never signal it again. (Other
    // members of a group whose leader exited normally are left alone, as keepalived
    // does.)
    guard.0 = None;
    status
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// With `enable_script_security`, each run checks the path again: a directory made
    /// writable after the configuration was loaded stops the script from running.
    #[test]
    fn each_run_checks_the_path_again() {
        if !crate::host::security::running_as_root() {
            eprintln!("skipping: a safe script path needs root-owned files (not root)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("kars-rerun-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let script = dir.join("notify.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let cmd = Command {
            argv: vec![script.display().to_string()],
            user: None,
            group: None,
        };
        let secure = ScriptUser {
            secure: true,
            ..ScriptUser::default()
        };
        assert!(process(&cmd, &secure).is_ok());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = process(&cmd, &secure).expect_err("refused");
        assert_eq!(
            refused,
            format!("unsafe: {} is writable by everyone", dir.display())
        );
        // Without enable_script_security it runs, as keepalived runs it.
        assert!(process(&cmd, &ScriptUser::default()).is_ok());
        // A script run as another user is not root's concern.
        let as_nobody = Command {
            user: Some("nobody".into()),
            ..cmd
        };
        assert!(process(&as_nobody, &secure).is_ok());
        // Unless the file is set-uid root: then it runs with root's powers all the same.
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o4755)).unwrap();
        assert!(process(&as_nobody, &secure).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
