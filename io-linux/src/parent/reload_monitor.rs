//! `reload_time_file` (keepalived's `start_reload_monitor()` and `inotify_event_thread()`,
//! `keepalived/core/reload_monitor.c`): the parent watches the file and schedules a
//! reload at the time it holds ([`super::reload_time`]). Writing the file (closing it
//! after a write) or creating it, by name or by a rename into place, reads it again and
//! moves or cancels the reload; removing it, or renaming it away, cancels it; the
//! directory going away stops the watch until the next reload. When the time comes, the
//! file is removed unless `reload_repeat` is set and it holds no date, and the parent
//! reloads as on SIGHUP.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::unix::AsyncFd;
use tokio::time::Instant;
use tracing::{info, warn};

use super::reload_time::{self, BadTime, Due};
use super::sleep_until;

/// The `inotify_event` header: wd, mask, cookie, len.
const EVENT_HEADER: usize = 16;

/// What the directory's watch reports (keepalived's): the file created, renamed in or
/// out, or removed, and the directory itself removed or renamed.
const DIR_MASK: u32 = libc::IN_CREATE
    | libc::IN_DELETE
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM
    | libc::IN_DELETE_SELF
    | libc::IN_MOVE_SELF;

/// What the file's own watch reports: the file closed after a write.
const FILE_MASK: u32 = libc::IN_CLOSE_WRITE;

/// The reload the file asks for.
#[derive(Debug, Clone, Copy)]
struct Scheduled {
    due: Due,
    deadline: Instant,
}

/// A watched `reload_time_file`.
pub struct ReloadMonitor {
    path: PathBuf,
    /// The file's name in its directory, as the directory's events give it.
    name: Vec<u8>,
    repeat: bool,
    inotify: AsyncFd<OwnedFd>,
    dir_wd: i32,
    file_wd: Option<i32>,
    scheduled: Option<Scheduled>,
    /// No reload is scheduled at or before this time (seconds since the epoch): the one
    /// just done, whose file may still name it.
    not_before: Option<i64>,
}

/// Why [`ReloadMonitor::next`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    /// The scheduled time has come: reload. The monitor is spent; start another after
    /// the reload.
    Reload { at: i64 },
    /// The directory went away; the monitor is spent.
    Stopped,
}

impl ReloadMonitor {
    /// Starts watching `path` and schedules the reload it holds, if any. `None`, said in
    /// the log, when its directory cannot be watched. `not_before` is the time of the
    /// timed reload just done, so that the file it came from, still in place with
    /// `reload_repeat`, schedules the next one and not the same one again.
    pub fn start(path: &Path, repeat: bool, not_before: Option<i64>) -> Option<ReloadMonitor> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(|n| n.as_bytes().to_vec())?;
        // SAFETY: inotify_init1 has no preconditions.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            warn!(
                "Unable to monitor reload timer file {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            );
            return None;
        }
        // SAFETY: a descriptor we just opened and own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let Some(dir_wd) = add_watch(&fd, &dir, DIR_MASK) else {
            warn!(
                "Unable to monitor reload timer file directory {} - ignoring",
                dir.display()
            );
            return None;
        };
        // SAFETY: `fd` is open and owned by the AsyncFd for its whole life.
        let inotify = match unsafe { AsyncFd::register(fd) } {
            Ok(a) => a,
            Err(e) => {
                warn!(
                    "Unable to monitor reload timer file {}: {e}",
                    path.display()
                );
                return None;
            }
        };
        let mut m = ReloadMonitor {
            path: path.to_path_buf(),
            name,
            repeat,
            inotify,
            dir_wd,
            file_wd: None,
            scheduled: None,
            not_before,
        };
        m.watch_file();
        Some(m)
    }

    /// The file watched.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `reload_repeat` was set when the watch started.
    pub fn repeat(&self) -> bool {
        self.repeat
    }

    /// The file's own watch, and a read of what it holds (`watch_file()`); absent, it is
    /// watched from when it appears.
    fn watch_file(&mut self) {
        self.file_wd = add_watch(self.inotify.get_ref(), &self.path, FILE_MASK);
        if self.file_wd.is_some() {
            self.read_file();
        }
    }

    /// Reads the file and schedules, moves or cancels the reload (`read_file()`).
    fn read_file(&mut self) {
        let (line, time) = match reload_time::read(&self.path) {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.cancel();
                return;
            }
            Err((line, why)) => {
                info!("Invalid reload time '{line}' specified - ignoring: {why}");
                self.cancel();
                return;
            }
        };
        let now = epoch_now();
        let seen_at = self.not_before.map_or(now, |t| t.max(now));
        let due = match time.due(seen_at, &line) {
            Ok(d) => d,
            Err(why @ BadTime::Past(_)) => {
                info!("Reload date/time is in the past - ignoring: {why}");
                self.cancel();
                return;
            }
            Err(why) => {
                info!("Invalid reload time '{line}' specified - ignoring: {why}");
                self.cancel();
                return;
            }
        };
        if self.scheduled.is_some_and(|s| s.due.at == due.at) {
            return;
        }
        let wall = UNIX_EPOCH + Duration::from_secs(due.at.max(0) as u64);
        let deadline = Instant::now()
            + wall
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO);
        let new = reload_time::local_text(due.at);
        match self.scheduled.replace(Scheduled { due, deadline }) {
            Some(old) => info!(
                "Reload time updated from {} to {new}",
                reload_time::local_text(old.due.at)
            ),
            None => info!("Scheduling reload for {new}"),
        }
    }

    fn cancel(&mut self) {
        if let Some(s) = self.scheduled.take() {
            info!(
                "Cancelling reload scheduled for {}",
                reload_time::local_text(s.due.at)
            );
        }
    }

    /// Waits for the scheduled time, following the file's changes meanwhile. Cancel-safe:
    /// each event is read and acted on without an await in between.
    pub async fn next(&mut self) -> Fired {
        loop {
            let deadline = self.scheduled.map(|s| s.deadline);
            tokio::select! {
                ready = self.inotify.readable() => {
                    let Ok(mut guard) = ready else {
                        return Fired::Stopped;
                    };
                    guard.clear_ready();
                    drop(guard);
                    if self.events() {
                        return Fired::Stopped;
                    }
                }
                _ = sleep_until(deadline), if deadline.is_some() => {
                    let Some(s) = self.scheduled.take() else { continue };
                    if !self.repeat || s.due.dated {
                        let _ = std::fs::remove_file(&self.path);
                    }
                    return Fired::Reload { at: s.due.at };
                }
            }
        }
    }

    /// Reads the pending events and acts on them; true when the directory has gone.
    fn events(&mut self) -> bool {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reading into a buffer we own, of its length.
            let n = unsafe {
                libc::read(
                    self.inotify.get_ref().as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n <= 0 {
                return false;
            }
            let mut at = 0;
            let n = n as usize;
            while at + EVENT_HEADER <= n {
                let word = |i: usize| {
                    let b = &buf[at + i * 4..at + i * 4 + 4];
                    u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
                };
                let (wd, mask, len) = (word(0) as i32, word(1), word(3) as usize);
                let name_end = (at + EVENT_HEADER + len).min(n);
                let raw = &buf[at + EVENT_HEADER..name_end];
                let name = &raw[..raw.iter().position(|b| *b == 0).unwrap_or(raw.len())];
                at += EVENT_HEADER + len;
                if Some(wd) == self.file_wd && mask & libc::IN_CLOSE_WRITE != 0 {
                    self.read_file();
                }
                if wd != self.dir_wd {
                    continue;
                }
                if mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF) != 0 {
                    self.cancel();
                    info!("Directory of reload timer file has disappeared. Monitoring stopped.");
                    return true;
                }
                if name != self.name.as_slice() {
                    continue;
                }
                if mask & (libc::IN_CREATE | libc::IN_MOVED_TO) != 0 {
                    self.remove_file_watch();
                    self.watch_file();
                } else if mask & (libc::IN_DELETE | libc::IN_MOVED_FROM) != 0 {
                    self.remove_file_watch();
                    self.cancel();
                }
            }
        }
    }

    fn remove_file_watch(&mut self) {
        if let Some(wd) = self.file_wd.take() {
            // SAFETY: removing a watch of our own inotify descriptor.
            unsafe { libc::inotify_rm_watch(self.inotify.get_ref().as_raw_fd(), wd) };
        }
    }
}

fn add_watch(fd: &OwnedFd, path: &Path, mask: u32) -> Option<i32> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: a valid C string and our own inotify descriptor.
    let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), c.as_ptr(), mask) };
    (wd >= 0).then_some(wd)
}

fn epoch_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Waits for `monitor`'s next reload, or forever when there is none.
pub async fn next(monitor: &mut Option<ReloadMonitor>) -> Fired {
    match monitor {
        Some(m) => m.next().await,
        None => std::future::pending().await,
    }
}
