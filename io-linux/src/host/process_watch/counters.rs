//! How many processes each tracker counts, and when its quorum is held: keepalived's
//! process tree and its fork and terminate delays (`keepalived/core/track_process.c`),
//! with no I/O and the time passed in.
//!
//! keepalived decides quorum on each change of count: only a change that crosses the
//! quorum's edge (`quorum`, or `quorum_max` + 1) can change it. Such a change is delayed
//! by how it came about:
//! - a tracked process forking (`check_process_fork()`) by `fork_delay`;
//! - a tracked process exiting (`check_process_termination()`) by `terminate_delay`;
//! - a process starting to match, by exec or by a new name (`check_process()`,
//!   `check_process_comm_change()`), and one ceasing to match, at once.
//!
//! A change back across the edge while a delay runs cancels it: an exit cancels a
//! pending fork delay, and a fork or a new match cancels a pending terminate delay; the
//! quorum is then decided from the count. When a delay ends, the quorum is decided from
//! the count at that moment.
//!
//! The engine decides quorum from the count it is given, with the same bounds, so the
//! count it is given changes with the quorum: while a delay holds the quorum back, the
//! engine keeps the count it had ([`Counters::changes`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use keepalived_engine::config::model::TrackProcess;
use tracing::info;

use super::matcher::Matcher;

/// What a look at one process found: which trackers it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub pid: i32,
    pub ppid: i32,
    /// Its start time, when read (see [`super::matcher::Stat::start`]).
    pub start: Option<u64>,
    /// Indexes of the trackers it matches, ascending.
    pub matches: Vec<usize>,
}

/// One `vrrp_track_process`.
#[derive(Debug)]
pub(crate) struct Tracker {
    pub name: String,
    pub matcher: Matcher,
    quorum: u32,
    quorum_max: u32,
    fork_delay: Option<Duration>,
    terminate_delay: Option<Duration>,
    /// `num_cur_proc`.
    count: u32,
    /// `have_quorum`: the quorum as decided, which a delay holds back.
    have_quorum: bool,
    /// When a pending fork delay ends (`fork_timer_thread`).
    fork_timer: Option<Instant>,
    /// When a pending terminate delay ends (`terminate_timer_thread`).
    terminate_timer: Option<Instant>,
    /// The count the engine was last given.
    told: Option<u32>,
}

impl Tracker {
    /// The model holds each delay as `delay` or its own keyword left it, whichever
    /// was written last (`vrrp_tprocess_delay_general()`).
    fn new(t: &TrackProcess) -> Tracker {
        let delay = |us: Option<u64>| us.filter(|&us| us > 0).map(Duration::from_micros);
        Tracker {
            name: t.name.clone(),
            matcher: Matcher::new(t),
            quorum: t.quorum,
            quorum_max: t.quorum_max.unwrap_or(u32::MAX),
            fork_delay: delay(t.fork_delay_us),
            terminate_delay: delay(t.terminate_delay_us),
            count: 0,
            have_quorum: false,
            fork_timer: None,
            terminate_timer: None,
            told: None,
        }
    }

    fn in_quorum(&self, n: u32) -> bool {
        n >= self.quorum && n <= self.quorum_max
    }

    /// `update_process_status()`.
    fn decide(&mut self, up: bool) {
        if up != self.have_quorum {
            self.have_quorum = up;
            info!(
                tracked_process = %self.name,
                count = self.count,
                "Quorum {} for tracked process {}",
                if up { "gained" } else { "lost" },
                self.name
            );
        }
    }

    /// One more process, by exec or a new name (`check_process()`): no delay.
    fn matched(&mut self) {
        self.count += 1;
        if self.count == self.quorum || self.count == self.quorum_max.saturating_add(1) {
            self.terminate_timer = None;
            self.decide(self.count == self.quorum);
        }
    }

    /// One more process by a tracked process's fork (`check_process_fork()`).
    fn forked(&mut self, now: Instant) {
        self.count += 1;
        if self.count == self.quorum || self.count == self.quorum_max.saturating_add(1) {
            if self.terminate_timer.take().is_none() {
                if let Some(d) = self.fork_delay {
                    self.fork_timer = Some(now + d);
                    return;
                }
            }
            self.decide(self.count == self.quorum);
        }
    }

    /// One process fewer because it stopped matching (`remove_process_from_track()`):
    /// no delay.
    fn unmatched(&mut self) {
        let before = self.count;
        self.count = self.count.saturating_sub(1);
        if before == self.quorum || self.count == self.quorum_max {
            self.fork_timer = None;
            self.decide(self.count == self.quorum_max);
        }
    }

    /// One process fewer because it exited (`check_process_termination()`).
    fn exited(&mut self, now: Instant) {
        let before = self.count;
        self.count = self.count.saturating_sub(1);
        if before == self.quorum || self.count == self.quorum_max {
            if self.fork_timer.take().is_none() {
                if let Some(d) = self.terminate_delay {
                    self.terminate_timer = Some(now + d);
                    return;
                }
            }
            self.decide(self.count == self.quorum_max);
        }
    }

    /// Ends the delays due by `now` (`process_gained_quorum_timer_thread()`,
    /// `process_lost_quorum_timer_thread()`).
    fn expire(&mut self, now: Instant) {
        let due = |t: &mut Option<Instant>| t.take_if(|t| *t <= now).is_some();
        if due(&mut self.fork_timer) | due(&mut self.terminate_timer) {
            self.decide(self.in_quorum(self.count));
        }
    }

    /// The count for the engine: the real one when it says what the quorum is, else
    /// the last one given, which does.
    fn for_engine(&self) -> u32 {
        if self.in_quorum(self.count) == self.have_quorum {
            return self.count;
        }
        match self.told {
            Some(n) if self.in_quorum(n) == self.have_quorum => n,
            // Never the case once a count was given (the first one is the real one), but
            // a count on the right side of the edge is always at hand.
            _ if self.have_quorum => self.quorum,
            _ if self.quorum > 0 => self.quorum - 1,
            _ => self.quorum_max.saturating_add(1),
        }
    }
}

/// The process tree: each process counted and the trackers that count it
/// (`tracked_process_instance_t`).
#[derive(Debug, Default)]
struct Counted {
    start: Option<u64>,
    trackers: Vec<usize>,
}

/// Every tracker of a configuration and the processes they count.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    trackers: Vec<Tracker>,
    tree: BTreeMap<i32, Counted>,
}

impl Counters {
    pub(crate) fn new(config: &[TrackProcess]) -> Counters {
        Counters {
            trackers: config.iter().map(Tracker::new).collect(),
            tree: BTreeMap::new(),
        }
    }

    pub(crate) fn matchers(&self) -> Vec<Matcher> {
        self.trackers.iter().map(|t| t.matcher.clone()).collect()
    }

    pub(crate) fn trackers(&self) -> impl Iterator<Item = &Tracker> {
        self.trackers.iter()
    }

    /// The first scan (`read_procs()`), then each quorum as the count says
    /// (`initialise_process_tracking_priorities()`).
    pub(crate) fn start(&mut self, found: &[Found]) {
        self.tree.clear();
        for t in &mut self.trackers {
            t.count = 0;
            t.fork_timer = None;
            t.terminate_timer = None;
        }
        for f in found.iter().filter(|f| !f.matches.is_empty()) {
            for &i in &f.matches {
                self.trackers[i].count += 1;
            }
            self.tree.insert(
                f.pid,
                Counted {
                    start: f.start,
                    trackers: f.matches.clone(),
                },
            );
        }
        for t in &mut self.trackers {
            t.have_quorum = t.in_quorum(t.count);
        }
    }

    /// PROC_EVENT_FORK of a process (not a thread): the child is counted by every
    /// tracker that counts its parent.
    pub(crate) fn fork(&mut self, parent: i32, child: i32, now: Instant) {
        let Some(of_parent) = self.tree.get(&parent).map(|c| c.trackers.clone()) else {
            return;
        };
        let entry = self.tree.entry(child).or_default();
        for i in of_parent {
            // A pid still counted from a process whose exit was missed is not counted
            // twice.
            if entry.trackers.contains(&i) {
                continue;
            }
            entry.trackers.push(i);
            entry.trackers.sort_unstable();
            self.trackers[i].forked(now);
        }
    }

    /// PROC_EVENT_EXIT of a process: every tracker that counted it loses one.
    pub(crate) fn exit(&mut self, pid: i32, now: Instant) {
        if let Some(c) = self.tree.remove(&pid) {
            for i in c.trackers {
                self.trackers[i].exited(now);
            }
        }
    }

    /// A look at a process after PROC_EVENT_EXEC, or after PROC_EVENT_COMM for the
    /// trackers that match the name: each tracker it now matches and did not counts it,
    /// each it matched and no longer does stops (`check_process()`). `None`: the process
    /// had gone, and its exit decides.
    pub(crate) fn examined(&mut self, pid: i32, found: Option<&Found>, only_names: bool) {
        let Some(found) = found else { return };
        let entry = self.tree.entry(pid).or_default();
        if entry.start.is_none() {
            entry.start = found.start;
        }
        for (i, t) in self.trackers.iter_mut().enumerate() {
            // A new name says nothing of the command line.
            if only_names && t.matcher.full_command() {
                continue;
            }
            let counted = entry.trackers.contains(&i);
            let matches = found.matches.contains(&i);
            if matches && !counted {
                entry.trackers.push(i);
                t.matched();
            } else if counted && !matches {
                entry.trackers.retain(|&j| j != i);
                t.unmatched();
            }
        }
        entry.trackers.sort_unstable();
        if entry.trackers.is_empty() {
            self.tree.remove(&pid);
        }
    }

    /// A fresh scan held against the tree, when events were lost or are not to be had.
    /// What changed is taken as the events that would have said so: a counted process
    /// that is gone (or whose pid another process now has) exited; one that no longer
    /// matches was renamed or exec'd; a new match whose parent is counted by the same
    /// tracker was forked; any other new match exec'd.
    pub(crate) fn reconcile(&mut self, found: &[Found], now: Instant) {
        let by_pid: BTreeMap<i32, &Found> = found.iter().map(|f| (f.pid, f)).collect();
        let gone: Vec<i32> = self
            .tree
            .iter()
            .filter(|(pid, c)| {
                by_pid
                    .get(pid)
                    .is_none_or(|f| matches!((c.start, f.start), (Some(a), Some(b)) if a != b))
            })
            .map(|(&pid, _)| pid)
            .collect();
        for pid in gone {
            self.exit(pid, now);
        }
        // Stopped matching: at once, as check_process() does.
        let counted: Vec<i32> = self.tree.keys().copied().collect();
        for pid in counted {
            if let Some(f) = by_pid.get(&pid) {
                let stale: Vec<usize> = self.tree[&pid]
                    .trackers
                    .iter()
                    .copied()
                    .filter(|i| !f.matches.contains(i))
                    .collect();
                for i in stale {
                    self.drop_one(pid, i);
                }
            }
        }
        // New matches: exec'd ones first, so a fork's parent that is itself new is
        // counted by the time its child is.
        let mut forks = Vec::new();
        for f in found {
            for &i in &f.matches {
                if self
                    .tree
                    .get(&f.pid)
                    .is_some_and(|c| c.trackers.contains(&i))
                {
                    continue;
                }
                let parent_counted = self
                    .tree
                    .get(&f.ppid)
                    .is_some_and(|c| c.trackers.contains(&i))
                    || by_pid.get(&f.ppid).is_some_and(|p| p.matches.contains(&i));
                if parent_counted {
                    forks.push((f, i));
                } else {
                    self.add_one(f, i);
                    self.trackers[i].matched();
                }
            }
        }
        for (f, i) in forks {
            self.add_one(f, i);
            self.trackers[i].forked(now);
        }
    }

    fn add_one(&mut self, f: &Found, i: usize) {
        let entry = self.tree.entry(f.pid).or_default();
        entry.start = entry.start.or(f.start);
        entry.trackers.push(i);
        entry.trackers.sort_unstable();
    }

    fn drop_one(&mut self, pid: i32, i: usize) {
        if let Some(c) = self.tree.get_mut(&pid) {
            c.trackers.retain(|&j| j != i);
            if c.trackers.is_empty() {
                self.tree.remove(&pid);
            }
        }
        self.trackers[i].unmatched();
    }

    /// Ends the delays due by `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        for t in &mut self.trackers {
            t.expire(now);
        }
    }

    /// When the next delay ends.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.trackers
            .iter()
            .flat_map(|t| [t.fork_timer, t.terminate_timer])
            .flatten()
            .min()
    }

    /// The counts the engine has not been given yet, by tracker name; marks them given.
    pub(crate) fn changes(&mut self) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        for t in &mut self.trackers {
            let n = t.for_engine();
            if t.told != Some(n) {
                t.told = Some(n);
                out.push((t.name.clone(), n));
            }
        }
        out
    }

    /// Every tracker's count for the engine, given or not; marks them given.
    pub(crate) fn all(&mut self) -> Vec<(String, u32)> {
        for t in &mut self.trackers {
            t.told = None;
        }
        self.changes()
    }

    /// The number of processes a tracker counts now, delays aside.
    #[cfg(test)]
    fn count(&self, i: usize) -> u32 {
        self.trackers[i].count
    }

    #[cfg(test)]
    fn quorum(&self, i: usize) -> bool {
        self.trackers[i].have_quorum
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::process_watch::matcher::test_tracker;

    fn tracker(
        quorum: u32,
        quorum_max: Option<u32>,
        fork: Option<f64>,
        term: Option<f64>,
    ) -> TrackProcess {
        let us = |s: f64| (s * 1e6) as u64;
        TrackProcess {
            quorum,
            quorum_max,
            fork_delay_us: fork.map(us),
            terminate_delay_us: term.map(us),
            ..test_tracker("daemon", "", false)
        }
    }

    fn found(pid: i32, ppid: i32, matches: &[usize]) -> Found {
        Found {
            pid,
            ppid,
            start: Some(pid as u64 * 10),
            matches: matches.to_vec(),
        }
    }

    fn secs(t0: Instant, s: f64) -> Instant {
        t0 + Duration::from_secs_f64(s)
    }

    #[test]
    fn the_first_scan_decides_the_quorum_and_gives_every_count() {
        let mut c = Counters::new(&[tracker(2, None, None, None), {
            let mut t = tracker(1, None, None, None);
            t.name = "q".into();
            t
        }]);
        c.start(&[found(10, 1, &[0]), found(11, 1, &[0, 1]), found(12, 1, &[])]);
        assert_eq!(
            (c.count(0), c.quorum(0), c.count(1), c.quorum(1)),
            (2, true, 1, true)
        );
        assert_eq!(c.changes(), vec![("p".into(), 2), ("q".into(), 1)]);
        assert_eq!(c.changes(), vec![], "given once");
        assert_eq!(
            c.all(),
            vec![("p".into(), 2), ("q".into(), 1)],
            "a reload gives all"
        );
    }

    #[test]
    fn without_delays_every_crossing_is_at_once() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(1, None, None, None)]);
        c.start(&[]);
        assert_eq!(c.changes(), vec![("p".into(), 0)]);
        c.examined(20, Some(&found(20, 1, &[0])), false);
        assert!(c.quorum(0));
        c.fork(20, 21, t0);
        assert_eq!(c.changes(), vec![("p".into(), 2)]);
        c.exit(20, t0);
        c.exit(21, t0);
        assert!(!c.quorum(0));
        assert_eq!(c.changes(), vec![("p".into(), 0)]);
        c.exit(22, t0);
        assert_eq!(c.changes(), vec![], "an untracked exit changes nothing");
    }

    #[test]
    fn terminate_delay_holds_the_loss_of_quorum_and_a_return_cancels_it() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(1, None, None, Some(2.0))]);
        c.start(&[found(30, 1, &[0])]);
        c.changes();
        c.exit(30, t0);
        assert_eq!(c.count(0), 0);
        assert!(c.quorum(0), "held for terminate_delay");
        assert_eq!(c.changes(), vec![], "the engine keeps the count it had");
        assert_eq!(c.next_deadline(), Some(secs(t0, 2.0)));
        c.expire(secs(t0, 1.9));
        assert!(c.quorum(0));
        c.expire(secs(t0, 2.0));
        assert!(!c.quorum(0));
        assert_eq!(c.changes(), vec![("p".into(), 0)]);

        // A new process by exec within the delay cancels it: no loss is ever seen.
        c.examined(31, Some(&found(31, 1, &[0])), false);
        c.changes();
        c.exit(31, secs(t0, 3.0));
        c.examined(32, Some(&found(32, 1, &[0])), false);
        assert_eq!(c.next_deadline(), None);
        assert!(c.quorum(0));
        assert_eq!(c.changes(), vec![], "one process, as before");
    }

    #[test]
    fn a_process_that_stops_matching_is_lost_at_once_whatever_the_delay() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(1, None, Some(5.0), Some(5.0))]);
        c.start(&[found(40, 1, &[0])]);
        c.examined(40, Some(&found(40, 1, &[])), false);
        assert!(!c.quorum(0));
        assert_eq!(c.next_deadline(), None);
        assert_eq!(c.changes(), vec![("p".into(), 0)]);
        c.exit(40, t0);
        assert_eq!(c.count(0), 0, "no longer counted, so its exit is no loss");
    }

    #[test]
    fn fork_delay_holds_a_gain_by_fork_but_not_by_exec() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(2, None, Some(1.0), None)]);
        c.start(&[found(50, 1, &[0])]);
        c.changes();
        c.fork(50, 51, t0);
        assert_eq!(c.count(0), 2);
        assert!(!c.quorum(0), "held for fork_delay");
        assert_eq!(c.changes(), vec![]);
        // The child execs something else within the delay: lost at once, and the
        // delay is cancelled, so the bounce is never seen.
        c.examined(51, Some(&found(51, 50, &[])), false);
        assert_eq!(c.next_deadline(), None);
        assert!(!c.quorum(0));
        assert_eq!(c.changes(), vec![]);
        // A second instance started by exec counts at once.
        c.examined(52, Some(&found(52, 1, &[0])), false);
        assert!(c.quorum(0));
        assert_eq!(c.changes(), vec![("p".into(), 2)]);
    }

    #[test]
    fn a_fork_that_stays_past_fork_delay_gains_the_quorum() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(2, None, Some(1.0), None)]);
        c.start(&[found(60, 1, &[0])]);
        c.changes();
        c.fork(60, 61, t0);
        c.expire(secs(t0, 1.0));
        assert!(c.quorum(0));
        assert_eq!(c.changes(), vec![("p".into(), 2)]);
        // An exit of an untracked parent's child is not ours.
        c.fork(99, 100, t0);
        assert_eq!(c.count(0), 2);
    }

    #[test]
    fn an_exit_within_fork_delay_cancels_it_and_decides_at_once() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(2, None, Some(1.0), Some(3.0))]);
        c.start(&[found(70, 1, &[0])]);
        c.fork(70, 71, t0);
        c.exit(71, secs(t0, 0.5));
        assert_eq!(c.next_deadline(), None, "no terminate delay either");
        assert!(!c.quorum(0));
    }

    #[test]
    fn quorum_max_is_lost_by_a_fork_after_fork_delay_and_regained_at_exit() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(1, Some(1), Some(1.0), Some(1.0))]);
        c.start(&[found(80, 1, &[0])]);
        assert_eq!(c.changes(), vec![("p".into(), 1)]);
        c.fork(80, 81, t0);
        assert!(c.quorum(0), "held for fork_delay");
        assert_eq!(c.changes(), vec![]);
        c.expire(secs(t0, 1.0));
        assert!(!c.quorum(0), "two is above quorum_max");
        assert_eq!(c.changes(), vec![("p".into(), 2)]);
        // Back to one: the exit is the regain, and terminate_delay holds it.
        c.exit(81, secs(t0, 2.0));
        assert!(!c.quorum(0));
        c.expire(secs(t0, 3.0));
        assert!(c.quorum(0));
        assert_eq!(c.changes(), vec![("p".into(), 1)]);
    }

    #[test]
    fn a_new_name_counts_and_uncounts_name_trackers_only() {
        let mut full = tracker(1, None, None, None);
        full.name = "full".into();
        full.full_command = true;
        let mut c = Counters::new(&[tracker(1, None, None, None), full]);
        c.start(&[found(90, 1, &[0, 1])]);
        c.changes();
        // prctl(PR_SET_NAME) to something else: the command line is unchanged.
        c.examined(90, Some(&found(90, 1, &[])), true);
        assert_eq!((c.count(0), c.count(1)), (0, 1));
        c.examined(90, Some(&found(90, 1, &[0])), true);
        assert_eq!((c.count(0), c.count(1)), (1, 1));
        c.exit(90, Instant::now());
        assert_eq!((c.count(0), c.count(1)), (0, 0));
    }

    #[test]
    fn exec_of_a_counted_process_into_itself_is_not_counted_twice() {
        let mut c = Counters::new(&[tracker(1, None, None, None)]);
        c.start(&[found(95, 1, &[0])]);
        c.examined(95, Some(&found(95, 1, &[0])), false);
        assert_eq!(c.count(0), 1);
        c.examined(96, None, false);
        assert_eq!(
            c.count(0),
            1,
            "a process gone before it was read is left to its exit"
        );
    }

    #[test]
    fn a_rescan_takes_changes_as_the_events_that_made_them() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(2, None, Some(1.0), Some(1.0))]);
        c.start(&[found(100, 1, &[0]), found(101, 1, &[0])]);
        c.changes();
        // 101 exited: the terminate delay holds the loss.
        c.reconcile(&[found(100, 1, &[0])], t0);
        assert_eq!(c.count(0), 1);
        assert!(c.quorum(0));
        // 102, a child of 100, appeared: a fork, so the terminate delay is cancelled.
        c.reconcile(&[found(100, 1, &[0]), found(102, 100, &[0])], secs(t0, 0.5));
        assert_eq!(c.next_deadline(), None);
        assert!(c.quorum(0));
        assert_eq!(c.changes(), vec![]);
        // 100 exec'd something else, and 102's pid went to a new matching process: the
        // first leaves at once, the second is an exit with its delay and a new process.
        // The count was 2 and is 1 either way; the loss waits for terminate_delay.
        let mut reused = found(102, 1, &[0]);
        reused.start = Some(7);
        c.reconcile(&[found(100, 1, &[]), reused.clone()], secs(t0, 1.0));
        assert_eq!(c.count(0), 1);
        assert!(c.quorum(0));
        c.expire(secs(t0, 2.0));
        assert!(!c.quorum(0));
        assert_eq!(c.changes(), vec![("p".into(), 1)]);
        // A new process by exec (its parent is not counted) gains at once.
        c.reconcile(
            &[found(100, 1, &[]), reused, found(103, 1, &[0])],
            secs(t0, 3.0),
        );
        assert!(c.quorum(0));
        assert_eq!(c.changes(), vec![("p".into(), 2)]);
    }

    #[test]
    fn a_rescan_counts_a_new_parent_before_its_child() {
        let t0 = Instant::now();
        let mut c = Counters::new(&[tracker(2, None, Some(1.0), None)]);
        c.start(&[]);
        // Child listed first (a wrapped pid), its parent new too: the parent exec'd, the
        // child forked from it.
        c.reconcile(&[found(5, 300, &[0]), found(300, 1, &[0])], t0);
        assert_eq!(c.count(0), 2);
        assert!(!c.quorum(0), "the fork's gain waits for fork_delay");
        c.expire(secs(t0, 1.0));
        assert!(c.quorum(0));
    }
}
