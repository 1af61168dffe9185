//! MISC_CHECK (`keepalived/check/check_misc.c`): the command runs as scripts do (see
//! [`crate::host::scripts`]: executed directly when executable, else `/bin/sh -c`; own
//! process group; LD_PRELOAD, LD_LIBRARY_PATH and IFS removed; as the check's `user`/
//! `group`, else the default script user). Its exit status is the outcome; the engine
//! applies `misc_dynamic`. At the timeout its process group gets SIGTERM, then SIGKILL
//! 2 s later, and the check is `Down` once the script is reaped, as keepalived reports
//! only when the child is gone.

use std::time::Duration;

use keepalived_engine::check::probe::ProbeOutcome;
use keepalived_engine::config::model::Command;
use keepalived_engine::vrrp::ScriptStatus;

use crate::host::script_user::ScriptUser;
use crate::host::scripts::{process, wait_with_timeout};

pub(crate) async fn run(
    cmd: &Command,
    default_user: &ScriptUser,
    timeout: Duration,
) -> ProbeOutcome {
    let down = |reason: String| ProbeOutcome::Down { reason };
    let mut p = match process(cmd, default_user) {
        Ok(p) => p,
        Err(why) => return down(format!("not run: {why}")),
    };
    let child = match p.spawn() {
        Ok(c) => c,
        Err(e) => return down(format!("cannot run {}: {e}", cmd.argv.join(" "))),
    };
    match wait_with_timeout(child, timeout).await {
        ScriptStatus::Exited(code) => ProbeOutcome::Exited(code),
        ScriptStatus::Signaled(sig) => down(format!("killed by signal {sig}")),
        ScriptStatus::TimedOut => down("timeout".into()),
    }
}
