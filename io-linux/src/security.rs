//! What `-t` checks against this host: interfaces that exist, and script security as
//! keepalived's `check_script_secure()` does it (exit 6 when a script is unsafe).

use keepalived_engine::config::model::{CheckerKind, Command, Config, GlobalDefs};
use keepalived_engine::config::{DiagClass, Diagnostic, Diagnostics, Severity};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn push(d: &mut Diagnostics, severity: Severity, class: DiagClass, message: String) {
    d.push(Diagnostic {
        severity,
        class,
        location: None,
        message,
        source_line: None,
    });
}

/// Warns about interfaces the config names that this host does not have (keepalived
/// 2.2.7 logs the same and carries on: interfaces can appear later).
pub fn check_interfaces(cfg: &Config, d: &mut Diagnostics) {
    for vi in &cfg.instances {
        if let Some(i) = &vi.interface {
            if !Path::new("/sys/class/net").join(i).exists() {
                push(
                    d,
                    Severity::Warning,
                    DiagClass::Note,
                    format!(
                        "interface {i} for vrrp_instance {} doesn't exist on this host",
                        vi.name
                    ),
                );
            }
        }
    }
}

fn all_commands(cfg: &Config) -> Vec<(String, &Command)> {
    let mut v: Vec<(String, &Command)> = Vec::new();
    for s in &cfg.vrrp_scripts {
        if let Some(c) = &s.script {
            v.push((format!("vrrp_script {}", s.name), c));
        }
    }
    for i in &cfg.instances {
        let extra = [&i.notify_master_rx_lower_pri].into_iter().flatten();
        for c in i.notifies.commands().chain(extra) {
            v.push((format!("vrrp_instance {}", i.name), c));
        }
        if let Some(Some(c)) = &i.notify_deleted {
            v.push((format!("vrrp_instance {}", i.name), c));
        }
    }
    for g in &cfg.sync_groups {
        for c in g.notifies.commands() {
            v.push((format!("vrrp_sync_group {}", g.name), c));
        }
    }
    for vs in &cfg.virtual_servers {
        for c in [&vs.quorum_up, &vs.quorum_down].into_iter().flatten() {
            v.push(("virtual_server".into(), c));
        }
        for rs in &vs.real_servers {
            for c in [rs.notify_up.as_deref(), rs.notify_down.as_deref()]
                .into_iter()
                .flatten()
            {
                v.push((format!("real_server {}", rs.address), c));
            }
            for ck in &rs.checkers {
                if let CheckerKind::MiscCheck(m) = &ck.kind {
                    if let Some(c) = &m.misc_path {
                        v.push((format!("real_server {} MISC_CHECK", rs.address), c));
                    }
                }
            }
        }
    }
    for c in [&cfg.global.startup_script, &cfg.global.shutdown_script]
        .into_iter()
        .flatten()
    {
        v.push(("global_defs".into(), c));
    }
    v
}

/// Path components from `/` down to the file, each of which a non-root user must not be
/// able to write (or replace) for the script to be safe to run as root.
fn unsafe_component(path: &Path) -> Option<(PathBuf, &'static str)> {
    let mut cur = PathBuf::from("/");
    let mut parts: Vec<PathBuf> = vec![cur.clone()];
    for c in path.components().skip(1) {
        cur.push(c);
        parts.push(cur.clone());
    }
    for p in parts {
        let meta = match std::fs::metadata(&p) {
            Ok(m) => m,
            Err(_) => return Some((p, "does not exist")),
        };
        let mode = meta.mode();
        let sticky_dir = meta.is_dir() && mode & 0o1000 != 0;
        if meta.uid() != 0 && !sticky_dir {
            return Some((p, "is not owned by root"));
        }
        if mode & 0o022 != 0 && !sticky_dir {
            return Some((p, "is writable by users other than root"));
        }
    }
    None
}

/// keepalived's script security. With `enable_script_security`, an unsafe script is a
/// security error (exit 6); without it, running scripts as root is reported as keepalived
/// reports it.
pub fn check_scripts(cfg: &Config, running_as_root: bool, d: &mut Diagnostics) {
    let cmds = all_commands(cfg);
    if cmds.is_empty() {
        return;
    }
    let root_user = cfg
        .global
        .script_user
        .as_deref()
        .is_none_or(|u| u == "root");
    if !cfg.global.enable_script_security {
        if running_as_root && root_user {
            push(
                d,
                Severity::Warning,
                DiagClass::Note,
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled"
                    .into(),
            );
        }
        return;
    }
    for (owner, c) in cmds {
        let prog = Path::new(&c.argv[0]);
        if !prog.is_absolute() {
            push(
                d,
                Severity::Error,
                DiagClass::Security,
                format!(
                    "{owner}: script '{}' must be an absolute path with enable_script_security",
                    c.argv[0]
                ),
            );
            continue;
        }
        if let Some((p, why)) = unsafe_component(prog) {
            push(
                d,
                Severity::Error,
                DiagClass::Security,
                format!("{owner}: unsafe permissions found for script '{}': {} {why} - disabling the script", c.argv[0], p.display()),
            );
        }
    }
}

/// Whether scripts would run as root: keepalived's security checks apply only then.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Why a command must not be run, if it must not: with `enable_script_security` and root
/// executing it, a path a non-root user could change (`check_script_secure()`, SC_INHIBIT).
fn inhibited(global: &GlobalDefs, running_as_root: bool, c: &Command) -> Option<String> {
    let path = Path::new(c.argv.first()?);
    let root_user = c
        .user
        .as_deref()
        .or(global.script_user.as_deref())
        .is_none_or(|u| u == "root");
    if !(global.enable_script_security && running_as_root && root_user && path.is_absolute()) {
        return None;
    }
    unsafe_component(path).map(|(p, why)| format!("{} {why}", p.display()))
}

/// What the daemon does with unsafe scripts before it starts (`check_vrrp_script_security()`):
/// track scripts that are unsafe or missing are dropped with their tracking, and unsafe
/// notify scripts are not run. Returns one message per script disabled.
pub fn disable_insecure(cfg: &mut Config, running_as_root: bool) -> Vec<String> {
    let mut msgs = Vec::new();
    let mut dropped = Vec::new();
    for s in &cfg.vrrp_scripts {
        let Some(c) = &s.script else { continue };
        let first = Path::new(c.argv.first().map(String::as_str).unwrap_or(""));
        if first.is_absolute() && !first.exists() {
            msgs.push(format!(
                "Disabling track script {} since not found/accessible",
                s.name
            ));
            dropped.push(s.name.clone());
        } else if let Some(why) = inhibited(&cfg.global, running_as_root, c) {
            msgs.push(format!(
                "Disabling track script {} due to insecure ({why})",
                s.name
            ));
            dropped.push(s.name.clone());
        }
    }
    cfg.vrrp_scripts.retain(|s| !dropped.contains(&s.name));
    for i in &mut cfg.instances {
        i.trackers.scripts.retain(|r| !dropped.contains(&r.name));
    }
    for g in &mut cfg.sync_groups {
        g.trackers.scripts.retain(|r| !dropped.contains(&r.name));
    }
    let global = cfg.global.clone();
    let mut check = |owner: &str, slot: &mut Option<Command>| {
        if let Some(why) = slot
            .as_ref()
            .and_then(|c| inhibited(&global, running_as_root, c))
        {
            msgs.push(format!("{owner}: not running notify script ({why})"));
            *slot = None;
        }
    };
    for i in &mut cfg.instances {
        let owner = format!("vrrp_instance {}", i.name);
        for slot in i.notifies.slots_mut() {
            check(&owner, slot);
        }
        check(&owner, &mut i.notify_master_rx_lower_pri);
    }
    for g in &mut cfg.sync_groups {
        let owner = format!("vrrp_sync_group {}", g.name);
        for slot in g.notifies.slots_mut() {
            check(&owner, slot);
        }
    }
    msgs
}
