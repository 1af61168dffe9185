//! The file creation mask (keepalived's `umask_val`, `lib/utils.c`): 0177 from the start
//! unless `-u` gives one; the `umask` keyword of each configuration read sets it unless
//! `-u` was given (`umask_handler()`), in the parent and in each child. The files made
//! with it: the dumps (0666 less it), the notify FIFOs (0644 less it); the pidfiles are
//! rw-r--r-- whatever it is, as keepalived's.

use std::sync::atomic::{AtomicBool, Ordering};

use keepalived_engine::config::model::GlobalDefs;

/// keepalived's default: `S_IXUSR | S_IRWXG | S_IRWXO`, so what it writes is root's.
pub const DEFAULT: u32 = 0o177;

/// `-u` was given: the configuration's `umask` is not used.
static FROM_COMMAND_LINE: AtomicBool = AtomicBool::new(false);

/// At the start of each process, before it creates anything: `-u`'s mask, else
/// [`DEFAULT`]. A child's configuration then sets its own, as the parent's did.
pub fn at_start(command_line: Option<u32>) {
    FROM_COMMAND_LINE.store(command_line.is_some(), Ordering::Relaxed);
    set(command_line.unwrap_or(DEFAULT));
}

/// The `umask` of a configuration just read or received; `-u` wins over it.
pub fn from_config(g: &GlobalDefs) {
    let Some(mask) = g.umask else { return };
    if FROM_COMMAND_LINE.load(Ordering::Relaxed) {
        tracing::info!("umask command line option specified, ignoring config option");
        return;
    }
    set(mask);
}

fn set(mask: u32) {
    // SAFETY: umask has no preconditions; it takes the low 9 bits only.
    unsafe { libc::umask((mask & 0o777) as libc::mode_t) };
}

/// The mask in force (from /proc, which reads it without changing it).
pub fn current() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}
