//! Child processes: track scripts with their timeout (SIGTERM to the process group, SIGKILL
//! 2 s later, as `vrrp_script_child_timeout_thread()`), notify scripts, and FIFO lines.

use std::ffi::CString;
use std::time::Duration;

use keepalived_engine::config::model::{Command, GlobalDefs};
use keepalived_engine::vrrp::ScriptStatus;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tracing::warn;

/// keepalived's grace between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(2);

pub struct Scripts {
    /// Who scripts run as when they name nobody.
    pub default_user: ScriptUser,
    tx: UnboundedSender<(String, ScriptStatus)>,
    pub exits: UnboundedReceiver<(String, ScriptStatus)>,
}

/// Who scripts run as when they name nobody (`set_default_script_user()`): global
/// `script_user [group]`, else `keepalived_script` if that user exists, else root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptUser {
    pub user: Option<String>,
    pub group: Option<String>,
}

impl ScriptUser {
    pub fn from_global(g: &GlobalDefs) -> ScriptUser {
        let user = g.script_user.clone().or_else(|| {
            identity("keepalived_script", None)
                .is_some()
                .then(|| "keepalived_script".to_string())
        });
        ScriptUser {
            user,
            group: g.script_group.clone(),
        }
    }
}

/// A resolved user: uid, primary gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

/// `user` and optionally `group` from the password and group databases; `None` if
/// either is unknown.
fn identity(user: &str, group: Option<&str>) -> Option<Identity> {
    let c = CString::new(user).ok()?;
    // SAFETY: getpwnam returns a pointer into static storage or null; we copy out at once.
    let pw = unsafe { libc::getpwnam(c.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: non-null result of getpwnam.
    let (uid, mut gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    if let Some(g) = group {
        let cg = CString::new(g).ok()?;
        // SAFETY: as getpwnam above.
        let gr = unsafe { libc::getgrnam(cg.as_ptr()) };
        if gr.is_null() {
            return None;
        }
        // SAFETY: non-null result of getgrnam.
        gid = unsafe { (*gr).gr_gid };
    }
    let mut groups = vec![0 as libc::gid_t; 64];
    let mut n = groups.len() as libc::c_int;
    // SAFETY: the buffer holds n entries; n is updated to the count found.
    if unsafe { libc::getgrouplist(c.as_ptr(), gid, groups.as_mut_ptr(), &mut n) } < 0 {
        groups.resize(n.max(0) as usize, 0);
        // SAFETY: as above, with a buffer of the size the first call asked for.
        unsafe { libc::getgrouplist(c.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
    }
    groups.truncate(n.max(0) as usize);
    Some(Identity { uid, gid, groups })
}

/// The process for `cmd`: executed directly when the path is an executable file, as
/// keepalived does, else through `/bin/sh -c` (keepalived's `system()` fallback); as its
/// own `user`/`group`, else the default script user. `None` if the user is unknown: the
/// script is not run as anyone else.
pub(crate) fn process(cmd: &Command, default: &ScriptUser) -> Option<tokio::process::Command> {
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
    let (user, group) = match &cmd.user {
        Some(u) => (Some(u.as_str()), cmd.group.as_deref()),
        None => (default.user.as_deref(), default.group.as_deref()),
    };
    if let Some(user) = user {
        let Some(id) = identity(user, group) else {
            warn!(script = %first, "unknown script user {user}{}: not running it", group.map(|g| format!(" or group {g}")).unwrap_or_default());
            return None;
        };
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
    Some(p)
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
        let Some(mut p) = process(cmd, &self.default_user) else {
            let _ = tx.send((name, ScriptStatus::Exited(127)));
            return;
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
        if let Some(mut p) = process(cmd, &self.default_user) {
            if let Ok(mut child) = p.spawn() {
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
            }
        }
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
