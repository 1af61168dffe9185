//! Process names (`process_name`, `vrrp_process_name`, `checker_process_name`,
//! `process_names`): keepalived's `set_process_name()` sets the name the kernel shows in
//! /proc/PID/comm, ps and pgrep (PR_SET_NAME), in the parent when it reads the
//! configuration and in each child when it reads its own, again at each reload when the
//! name changed; a name removed goes back to the program's.

use std::sync::Mutex;

use keepalived_engine::config::model::GlobalDefs;

use super::process::Process;

/// The program's name (which keepalived's `set_process_name(NULL)` gives back as
/// "keepalived"), and the configured name last applied.
struct Named {
    original: String,
    applied: Option<String>,
}

static NAMED: Mutex<Option<Named>> = Mutex::new(None);

/// The name `role` is given by a configuration's `global_defs`, if any.
fn configured(role: Process, g: &GlobalDefs) -> Option<&str> {
    match role {
        Process::Parent => g.process_name.as_deref(),
        Process::Vrrp => g.vrrp_process_name.as_deref(),
        Process::Checker => g.checker_process_name.as_deref(),
        Process::Bfd => g.bfd_process_name.as_deref(),
    }
}

/// Names this process `role` as configuration `g` says. At the first configuration a
/// child without a name of its own takes the parent's `process_name`, or else the
/// program's name, as keepalived's forked children inherit the parent's (a child
/// re-executed through /proc/self/exe would otherwise be "exe"); later, only a change of
/// the process's own name acts (`vrrp_daemon.c`, `check_daemon.c`, `reload_config()`).
pub fn apply(role: Process, g: &GlobalDefs) {
    let Ok(mut named) = NAMED.lock() else { return };
    let own = configured(role, g).map(str::to_string);
    match named.as_mut() {
        None => {
            let original = program();
            let first = match role {
                Process::Parent => own.clone(),
                _ => Some(
                    own.clone()
                        .or_else(|| g.process_name.clone())
                        .unwrap_or_else(|| original.clone()),
                ),
            };
            if let Some(name) = &first {
                set(name);
            }
            *named = Some(Named {
                original,
                applied: own,
            });
        }
        Some(n) if n.applied != own => {
            set(own.as_deref().unwrap_or(&n.original));
            n.applied = own;
        }
        Some(_) => {}
    }
}

/// The program's name as the kernel would give it: the last part of the path it was run
/// by (the children are given the parent's).
fn program() -> String {
    std::env::args_os()
        .next()
        .as_deref()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(read)
        .unwrap_or_else(|| "keepalived-rs".into())
}

/// The name of this process (its first thread, which ps shows).
pub fn read() -> Option<String> {
    std::fs::read_to_string("/proc/self/comm")
        .ok()
        .map(|s| s.trim_end_matches('\n').to_string())
}

/// Sets the name through /proc/self/comm, the first thread's, so it can be set from any
/// thread (a reload arrives on the configuration reader's); the kernel keeps 15 bytes.
fn set(name: &str) {
    if let Err(e) = std::fs::write("/proc/self/comm", name.as_bytes()) {
        tracing::warn!("Failed to set process name '{name}': {e}");
    }
}
