//! `vrrp_track_process`: how many processes match each tracker, and when its quorum is
//! held (keepalived's `keepalived/core/track_process.c`).
//!
//! As keepalived does, the watch reads /proc once, then follows the kernel's process
//! events (exec, fork, rename, exit; [`connector`]) and looks again at a process only
//! when it execs. keepalived gives up when the events are not to be had, which is the
//! case in any network namespace but the initial one (the subscription is refused), in
//! a container's user or PID namespace, and on kernels without `CONFIG_PROC_EVENTS`:
//! its trackers then count nothing and a weight-0 tracker holds its instance in FAULT.
//! Here the watch reads /proc again every [`POLL_INTERVAL`] instead, and says so once.
//!
//! When events are lost to a full socket buffer (ENOBUFS), keepalived waits a second for
//! things to settle, doubles the buffer and reads /proc again
//! (`reinitialise_track_processes()`); so does this. A fresh read of /proc is held
//! against what was counted as the events that would explain the difference
//! ([`Counters::reconcile`]), so the fork and terminate delays apply to it.

mod connector;
mod counters;
mod matcher;
mod procfs;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use keepalived_engine::config::model::{GlobalDefs, TrackProcess};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use crate::host::io_error::describe;

use connector::{Connector, Msg, ProcEvent, RcvBuf};
use counters::{Counters, Found};
use procfs::Looker;

/// How often /proc is read when the kernel's events are not to be had. A second is the
/// resolution of the usual alternative, a `pidof`/`pgrep` track script at `interval 1`,
/// and of the default advert interval, so a process's death is acted on within one
/// advert; it is also the second keepalived waits after an overrun before it reads /proc.
/// One read costs a stat file per process (and a bounded command line only when a
/// tracker matches command lines), a few milliseconds on a host of thousands of
/// processes, and it runs off the event loop.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How long after an overrun /proc is read again (`process_lost_messages_timer_thread`,
/// `TIMER_HZ`): the burst that overflowed the buffer has then most likely passed.
const SETTLE_AFTER_OVERRUN: Duration = Duration::from_secs(1);

/// The keyword whose buffer size applies to the events socket.
const RCV_BUFS_KEYWORD: &str = "process_monitor_rcv_bufs";

/// Where procfs is mounted.
const PROC: &str = "/proc";

/// Where the counts come from.
enum Source {
    /// The kernel's process events; `rescan_at`: when /proc is read after an overrun.
    Events {
        conn: Connector,
        batch: Vec<Msg>,
        rescan_at: Option<Instant>,
    },
    /// Reading /proc every [`POLL_INTERVAL`]; `scan`: a read under way off the loop.
    Poll {
        next: Instant,
        scan: Option<JoinHandle<std::io::Result<Vec<Found>>>>,
    },
}

/// What woke the watch.
enum Step {
    Events(std::io::Result<()>),
    Delay,
    Rescan,
    StartScan,
    Scanned(std::io::Result<Vec<Found>>),
}

/// The trackers of one configuration, their counts, and where the counts come from.
pub(crate) struct ProcessWatch {
    counters: Counters,
    looker: Looker,
    source: Source,
    rcvbuf: RcvBuf,
    proc: PathBuf,
    /// Counts the engine has not been given yet.
    pending: VecDeque<(String, u32)>,
}

impl ProcessWatch {
    /// Subscribes to process events, or falls back to reading /proc, then reads /proc
    /// once (`init_track_processes()`). `None` when the configuration tracks no
    /// process. The counts are at [`ProcessWatch::counts`].
    pub(crate) fn start(trackers: &[TrackProcess], global: &GlobalDefs) -> Option<ProcessWatch> {
        if trackers.is_empty() {
            return None;
        }
        let rcvbuf = rcvbuf(global);
        let mut w = ProcessWatch {
            counters: Counters::new(trackers),
            looker: Looker::new(Vec::new()),
            source: open_source(rcvbuf),
            rcvbuf,
            proc: PathBuf::from(PROC),
            pending: VecDeque::new(),
        };
        w.rebuild(trackers);
        Some(w)
    }

    /// Every tracker's count now, by name (for the engine's start).
    pub(crate) fn counts(&mut self) -> Vec<(String, u32)> {
        self.pending.clear();
        self.counters.all()
    }

    /// A reload (`reload_track_processes()`): the new configuration's trackers, counted
    /// afresh; the events subscription, if any, is kept. Returns every count.
    pub(crate) fn reload(
        &mut self,
        trackers: &[TrackProcess],
        global: &GlobalDefs,
    ) -> Vec<(String, u32)> {
        let rcvbuf = rcvbuf(global);
        if rcvbuf != self.rcvbuf {
            self.rcvbuf = rcvbuf;
            if let Source::Events { conn, .. } = &self.source {
                if rcvbuf.size > 0 {
                    if let Err(e) = conn.set_size(rcvbuf) {
                        info!(
                            "Cannot set process monitor receive buffer: {}",
                            describe(&e)
                        );
                    }
                }
            }
        }
        self.counters = Counters::new(trackers);
        self.rebuild(trackers);
        self.counts()
    }

    /// The next count to give the engine. Cancel-safe: whatever woke it is recorded
    /// before it returns, and a count not yet taken waits for the next call.
    pub(crate) async fn next(&mut self) -> (String, u32) {
        loop {
            if let Some(c) = self.pending.pop_front() {
                return c;
            }
            let step = self.wait().await;
            self.on(step);
            self.pending.extend(self.counters.changes());
        }
    }

    /// Reads /proc and counts from scratch, for the trackers as they now are.
    fn rebuild(&mut self, trackers: &[TrackProcess]) {
        for (t, tp) in self.counters.trackers().zip(trackers) {
            if t.matcher.name_too_long() {
                warn!(
                    tracked_process = %t.name,
                    "vrrp_track_process {}: process '{}' is longer than the 15 characters the \
                     kernel keeps of a process name, so it never matches; full_command \
                     matches the command line instead",
                    t.name,
                    tp.process.as_deref().unwrap_or_default()
                );
            }
        }
        self.looker = Looker::new(self.counters.matchers());
        // An unreadable /proc counts nothing.
        let found = self.scan_now().unwrap_or_default();
        self.counters.start(&found);
        if let Source::Poll { next, scan } = &mut self.source {
            *next = Instant::now() + POLL_INTERVAL;
            if let Some(h) = scan.take() {
                h.abort();
            }
        }
    }

    /// A read of /proc on the loop; `None` (logged) if /proc cannot be listed.
    fn scan_now(&self) -> Option<Vec<Found>> {
        self.looker
            .scan(&self.proc)
            .map_err(|e| unreadable(&self.proc, &e))
            .ok()
    }

    async fn wait(&mut self) -> Step {
        let delay = self.counters.next_deadline();
        let until = |t: Option<Instant>| async move {
            match t {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        match &mut self.source {
            Source::Events {
                conn,
                batch,
                rescan_at,
            } => tokio::select! {
                biased;
                r = conn.recv(batch) => Step::Events(r),
                _ = until(delay) => Step::Delay,
                _ = until(*rescan_at) => Step::Rescan,
            },
            Source::Poll { next, scan } => match scan {
                Some(h) => tokio::select! {
                    biased;
                    r = h => Step::Scanned(r.unwrap_or_else(|e| Err(std::io::Error::other(e)))),
                    _ = until(delay) => Step::Delay,
                },
                None => tokio::select! {
                    biased;
                    _ = until(delay) => Step::Delay,
                    _ = until(Some(*next)) => Step::StartScan,
                },
            },
        }
    }

    fn on(&mut self, step: Step) {
        let now = Instant::now();
        match step {
            Step::Delay => self.counters.expire(now),
            Step::Events(Ok(())) => self.on_events(now),
            Step::Events(Err(e)) => {
                warn!(
                    "Process events socket failed ({}): tracking processes by reading /proc every {} s",
                    describe(&e),
                    POLL_INTERVAL.as_secs()
                );
                self.source = poll_source();
                self.rescan(now);
            }
            Step::Rescan => {
                if let Source::Events { rescan_at, .. } = &mut self.source {
                    *rescan_at = None;
                }
                self.rescan(now);
            }
            Step::StartScan => {
                let looker = self.looker.clone();
                let proc = self.proc.clone();
                if let Source::Poll { scan, .. } = &mut self.source {
                    *scan = Some(tokio::task::spawn_blocking(move || looker.scan(&proc)));
                }
            }
            Step::Scanned(r) => {
                if let Source::Poll { next, scan } = &mut self.source {
                    *scan = None;
                    *next = now + POLL_INTERVAL;
                }
                match r {
                    Ok(found) => self.counters.reconcile(&found, now),
                    Err(e) => unreadable(&self.proc, &e),
                }
            }
        }
    }

    /// A read of /proc held against the counts, on the loop: with events flowing, a
    /// read off the loop could be older than the events handled meanwhile.
    fn rescan(&mut self, now: Instant) {
        if let Some(found) = self.scan_now() {
            self.counters.reconcile(&found, now);
        }
    }

    fn on_events(&mut self, now: Instant) {
        let Source::Events {
            conn,
            batch,
            rescan_at,
        } = &mut self.source
        else {
            return;
        };
        for m in batch.drain(..) {
            match m {
                Msg::Overrun => {
                    if rescan_at.is_none() {
                        match conn.grow(self.rcvbuf.force) {
                            Ok(size) => info!(
                                "Process events were lost; setting global_def \
                                 process_monitor_rcv_bufs to {size} - recommend updating \
                                 configuration file"
                            ),
                            Err(e) => info!(
                                "Process events were lost; cannot grow the receive buffer: {}",
                                describe(&e)
                            ),
                        }
                    }
                    *rescan_at = Some(now + SETTLE_AFTER_OVERRUN);
                }
                // Threads are not processes: only events whose pid is the thread group's
                // count (handle_proc_ev()).
                Msg::Event(ProcEvent::Fork {
                    parent_tgid,
                    child_pid,
                    child_tgid,
                }) if child_pid == child_tgid => self.counters.fork(parent_tgid, child_tgid, now),
                Msg::Event(ProcEvent::Exec { pid, tgid }) if pid == tgid => {
                    let found = self.looker.examine(&self.proc, pid);
                    self.counters.examined(pid, found.as_ref(), false);
                }
                Msg::Event(ProcEvent::Comm { pid, tgid, comm }) if pid == tgid => {
                    let found = self.looker.renamed(pid, matcher::event_comm(&comm));
                    self.counters.examined(pid, Some(&found), true);
                }
                Msg::Event(ProcEvent::Exit { pid, tgid }) if pid == tgid => {
                    self.counters.exit(pid, now)
                }
                Msg::Event(_) => {}
            }
        }
    }
}

/// The kernel's events if it gives them, else reading /proc (said once, here).
fn open_source(rcvbuf: RcvBuf) -> Source {
    match Connector::open(rcvbuf) {
        Ok(conn) => {
            info!("Tracking processes with the kernel's process events");
            Source::Events {
                conn,
                batch: Vec::new(),
                rescan_at: None,
            }
        }
        Err(e) => {
            warn!(
                "{e}: tracking processes by reading /proc every {} s",
                POLL_INTERVAL.as_secs()
            );
            poll_source()
        }
    }
}

/// /proc could not be listed: the counts stay as they were.
fn unreadable(proc: &std::path::Path, e: &std::io::Error) {
    error!(
        "Cannot read {} to track processes: {}",
        proc.display(),
        describe(e)
    );
}

fn poll_source() -> Source {
    Source::Poll {
        next: Instant::now() + POLL_INTERVAL,
        scan: None,
    }
}

fn rcvbuf(global: &GlobalDefs) -> RcvBuf {
    global
        .netlink_buffers
        .iter()
        .find(|b| b.keyword == RCV_BUFS_KEYWORD)
        .map(|b| RcvBuf {
            size: b.size,
            force: b.force,
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    fn tracker(name: &str, process: &str) -> TrackProcess {
        TrackProcess {
            name: name.into(),
            ..matcher::test_tracker(process, "", false)
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// The next count within `limit`, if any.
    async fn next_within(w: &mut ProcessWatch, limit: Duration) -> Option<(String, u32)> {
        tokio::time::timeout(limit, w.next()).await.ok()
    }

    /// A copy of `sleep` whose process name is `comm`, in a fresh directory.
    fn sleeper(comm: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("kars-pw-{comm}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join(comm);
        std::fs::copy("/bin/sleep", &bin).unwrap();
        (dir, bin)
    }

    /// Starts `cmd`. A test thread that forks while the copy is being written holds it
    /// open for writing until its child execs, and an exec meanwhile fails with ETXTBSY.
    fn spawn(cmd: &mut std::process::Command) -> std::process::Child {
        for _ in 0..50 {
            match cmd.spawn() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                r => return r.unwrap(),
            }
        }
        panic!("{cmd:?} stays busy");
    }

    #[test]
    fn polling_follows_processes_coming_and_going() {
        let proc = std::env::temp_dir().join(format!("kars-pw-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&proc);
        let add = |pid: u32, comm: &str| {
            let d = proc.join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("stat"),
                format!("{pid} ({comm}) S 1 {pid} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 {pid}"),
            )
            .unwrap();
        };
        add(100, "daemon");
        add(101, "other");
        let trackers = [tracker("p", "daemon")];
        let mut w = ProcessWatch {
            counters: Counters::new(&trackers),
            looker: Looker::new(Vec::new()),
            source: poll_source(),
            rcvbuf: RcvBuf::default(),
            proc: proc.clone(),
            pending: VecDeque::new(),
        };
        w.rebuild(&trackers);
        assert_eq!(w.counts(), vec![("p".into(), 1)]);
        runtime().block_on(async {
            add(102, "daemon");
            assert_eq!(
                next_within(&mut w, 3 * POLL_INTERVAL).await,
                Some(("p".into(), 2))
            );
            std::fs::remove_dir_all(proc.join("100")).unwrap();
            std::fs::remove_dir_all(proc.join("102")).unwrap();
            assert_eq!(
                next_within(&mut w, 3 * POLL_INTERVAL).await,
                Some(("p".into(), 0))
            );
        });
        // A reload counts afresh, for the new trackers.
        add(103, "other");
        assert_eq!(
            w.reload(&[tracker("q", "other")], &GlobalDefs::default()),
            vec![("q".into(), 2)]
        );
        let _ = std::fs::remove_dir_all(&proc);
    }

    #[test]
    fn events_follow_a_process_from_exec_to_exit() {
        let ci = std::env::var_os("CI").is_some();
        let rt = runtime();
        let _guard = rt.enter();
        let Some(mut w) =
            ProcessWatch::start(&[tracker("p", "kars-pw-evt")], &GlobalDefs::default())
        else {
            unreachable!("one tracker")
        };
        if !matches!(w.source, Source::Events { .. }) {
            assert!(
                !ci,
                "process events must be available in CI (root, initial namespaces)"
            );
            eprintln!("SKIP events_follow_a_process_from_exec_to_exit: no process events here (not root, or not the initial namespaces)");
            return;
        }
        assert_eq!(w.counts(), vec![("p".into(), 0)]);
        let (dir, bin) = sleeper("kars-pw-evt");
        rt.block_on(async {
            let mut child = spawn(std::process::Command::new(&bin).arg("100"));
            assert_eq!(
                next_within(&mut w, Duration::from_secs(5)).await,
                Some(("p".into(), 1))
            );
            // The same program under another argv[0]: the name is the executable's.
            let mut other = spawn(std::process::Command::new(&bin).arg0("x").arg("100"));
            assert_eq!(
                next_within(&mut w, Duration::from_secs(5)).await,
                Some(("p".into(), 2))
            );
            child.kill().unwrap();
            child.wait().unwrap();
            assert_eq!(
                next_within(&mut w, Duration::from_secs(5)).await,
                Some(("p".into(), 1))
            );
            other.kill().unwrap();
            other.wait().unwrap();
            assert_eq!(
                next_within(&mut w, Duration::from_secs(5)).await,
                Some(("p".into(), 0))
            );
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
    #[test]
    fn lost_events_are_made_good_by_reading_proc_again() {
        let ci = std::env::var_os("CI").is_some();
        let rt = runtime();
        let _guard = rt.enter();
        let mut global = GlobalDefs::default();
        // The smallest buffer the kernel allows holds a handful of events.
        global
            .netlink_buffers
            .push(keepalived_engine::config::model::NetlinkBuffer {
                keyword: RCV_BUFS_KEYWORD.into(),
                size: 1,
                force: false,
            });
        let Some(mut w) = ProcessWatch::start(&[tracker("p", "kars-pw-ovr")], &global) else {
            unreachable!("one tracker")
        };
        let Source::Events { conn, .. } = &w.source else {
            assert!(
                !ci,
                "process events must be available in CI (root, initial namespaces)"
            );
            eprintln!(
                "SKIP lost_events_are_made_good_by_reading_proc_again: no process events here"
            );
            return;
        };
        let small = conn.rcvbuf_size();
        assert_eq!(w.counts(), vec![("p".into(), 0)]);
        let (dir, bin) = sleeper("kars-pw-ovr");
        // Unread, the events of a hundred processes overflow the buffer, and the
        // tracked process's exec is lost with them.
        for _ in 0..100 {
            std::process::Command::new("/bin/true").status().unwrap();
        }
        let mut child = spawn(std::process::Command::new(&bin).arg("100"));
        rt.block_on(async {
            assert_eq!(
                next_within(&mut w, SETTLE_AFTER_OVERRUN + Duration::from_secs(3)).await,
                Some(("p".into(), 1)),
                "the read of /proc after the overrun finds the process"
            );
        });
        let Source::Events { conn, .. } = &w.source else {
            unreachable!("still on events")
        };
        assert!(conn.rcvbuf_size() > small, "the buffer grew");
        child.kill().unwrap();
        child.wait().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
