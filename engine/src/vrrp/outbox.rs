//! The outputs waiting to be carried out, in lanes: one per interface, served in turn, one
//! for what belongs to no instance, and a master's periodic adverts ahead of them all.
//!
//! A router that takes over 1,000 instances on four interfaces queues thousands of
//! outputs, and on a busy host each address change can wait for a scheduler slice. With
//! one queue, an instance on a fifth interface that falls due during that burst waits
//! for the whole of it (0.7 s in the side-by-side run). keepalived serves each
//! interface's socket as its own thread (`vrrp_dispatcher_read_timeout()`), so that
//! instance goes next; lanes served in turn give the same.
//!
//! Order: within a lane, first in first out. Every output of an instance, its notifies
//! included, goes to its interface's lane, so each instance's own sequence (advert,
//! addresses, GARP, notify) is kept; only different interfaces interleave. What belongs
//! to no instance (a sync group's notify, a track script) waits until everything queued
//! before it in any lane has gone, as with one queue: a group's MASTER notify must follow
//! its members' addresses, on whichever interfaces they are.

use std::collections::{BTreeMap, VecDeque};

use super::io::Output;

/// A masters' periodic adverts and GARP refreshes: ahead of everything queued, or a
/// 30 ms instance behind a burst would miss its interval and its peer would take over.
pub const URGENT: usize = 0;
/// Outputs of no instance: track scripts, sync groups, paced GARPs. Each waits for
/// what was queued before it in every lane.
pub const GENERAL: usize = 1;

/// A lane that has held more than this many outputs is shrunk once it is empty again:
/// 1,000 instances changing state at once must not keep that peak's memory.
const KEEP: usize = 64;

#[derive(Debug, Clone)]
pub struct Outbox {
    /// Each output with the number of its push, so [`GENERAL`] can wait its turn.
    lanes: Vec<VecDeque<(u64, Output)>>,
    pushed: u64,
    by_interface: BTreeMap<String, usize>,
    /// The non-empty lanes other than [`URGENT`], in the order they are served.
    ready: VecDeque<usize>,
    /// Where [`Outbox::push_back`] puts an output.
    current: usize,
}

impl Default for Outbox {
    fn default() -> Outbox {
        Outbox {
            lanes: vec![VecDeque::new(), VecDeque::new()],
            pushed: 0,
            by_interface: BTreeMap::new(),
            ready: VecDeque::new(),
            current: GENERAL,
        }
    }
}

impl Outbox {
    /// The lane of `interface`, made on first use.
    pub fn lane(&mut self, interface: &str) -> usize {
        if let Some(&l) = self.by_interface.get(interface) {
            return l;
        }
        self.lanes.push(VecDeque::new());
        let l = self.lanes.len() - 1;
        self.by_interface.insert(interface.to_string(), l);
        l
    }

    /// Sends what is pushed from now on to `lane`.
    pub fn enter(&mut self, lane: usize) {
        self.current = lane;
    }

    pub fn push_back(&mut self, o: Output) {
        let l = self.current;
        if l != URGENT && self.lanes[l].is_empty() {
            self.ready.push_back(l);
        }
        self.pushed += 1;
        self.lanes[l].push_back((self.pushed, o));
    }

    /// The next output: urgent first, then one from each non-empty lane in turn.
    pub fn pop_front(&mut self) -> Option<Output> {
        if let Some((_, o)) = self.lanes[URGENT].pop_front() {
            return Some(o);
        }
        loop {
            let Some(l) = self.ready.pop_front() else {
                self.shrink();
                return None;
            };
            if l == GENERAL && self.older_elsewhere() {
                self.ready.push_back(l);
                continue;
            }
            let o = self.lanes[l].pop_front().map(|(_, o)| o);
            if !self.lanes[l].is_empty() {
                self.ready.push_back(l);
            }
            return o;
        }
    }

    /// Whether an interface lane holds an output pushed before [`GENERAL`]'s first.
    fn older_elsewhere(&self) -> bool {
        let Some(&(first, _)) = self.lanes[GENERAL].front() else {
            return false;
        };
        self.ready
            .iter()
            .filter_map(|&l| self.lanes[l].front())
            .any(|&(n, _)| n < first)
    }

    fn shrink(&mut self) {
        for q in &mut self.lanes {
            if q.capacity() > KEEP {
                q.shrink_to(KEEP);
            }
        }
        if self.ready.capacity() > KEEP {
            self.ready.shrink_to(KEEP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(instance: &str, n: u32) -> Output {
        Output::Log {
            instance: instance.into(),
            message: n.to_string(),
        }
    }

    fn drain(o: &mut Outbox) -> Vec<(String, String)> {
        std::iter::from_fn(|| o.pop_front())
            .map(|o| match o {
                Output::Log { instance, message } => (instance, message),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn lanes_take_turns_and_each_keeps_its_order() {
        let mut o = Outbox::default();
        let (a, b) = (o.lane("eth0"), o.lane("eth1"));
        assert_eq!(o.lane("eth0"), a);
        o.enter(a);
        for n in 0..3 {
            o.push_back(log("a", n));
        }
        o.enter(b);
        o.push_back(log("b", 0));
        o.push_back(log("b", 1));
        o.enter(URGENT);
        o.push_back(log("u", 0));
        let got: Vec<String> = drain(&mut o)
            .into_iter()
            .map(|(i, m)| format!("{i}{m}"))
            .collect();
        assert_eq!(got, ["u0", "a0", "b0", "a1", "b1", "a2"]);
        assert!(o.ready.is_empty());
    }

    #[test]
    fn an_output_of_no_instance_waits_for_what_was_queued_before_it() {
        let mut o = Outbox::default();
        let (a, b) = (o.lane("eth0"), o.lane("eth1"));
        o.enter(a);
        o.push_back(log("a", 0));
        o.push_back(log("a", 1));
        o.enter(b);
        o.push_back(log("b", 0));
        o.enter(GENERAL);
        o.push_back(log("g", 0));
        o.enter(b);
        o.push_back(log("b", 1));
        let got: Vec<String> = drain(&mut o)
            .into_iter()
            .map(|(i, m)| format!("{i}{m}"))
            .collect();
        // b1 came after g0 but is in a lane of its own: lanes are not held by GENERAL.
        assert_eq!(got, ["a0", "b0", "a1", "b1", "g0"]);
    }

    #[test]
    fn an_urgent_output_goes_ahead_of_lanes_already_queued() {
        let mut o = Outbox::default();
        o.enter(GENERAL);
        o.push_back(log("g", 0));
        o.push_back(log("g", 1));
        assert_eq!(drain(&mut o).len(), 2);
        o.push_back(log("g", 2));
        o.enter(URGENT);
        o.push_back(log("u", 0));
        assert_eq!(o.pop_front(), Some(log("u", 0)));
        assert_eq!(o.pop_front(), Some(log("g", 2)));
        assert_eq!(o.pop_front(), None);
    }
}
