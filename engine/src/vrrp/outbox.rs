//! The outputs waiting to be carried out, in lanes: one per interface, the shortest
//! served first, one for what belongs to no instance, and a master's periodic adverts
//! ahead of them all but an instance's takeover under way.
//!
//! A router that takes over 1,000 instances on four interfaces queues thousands of
//! outputs, and on a busy host each address change can wait for a scheduler slice. With
//! one queue, an instance on a fifth interface that falls due during that burst waits
//! for the whole of it (0.7 s in the side-by-side run); with lanes taken in turn it
//! still waits a round of the others' per output of its own (8 ms). keepalived serves
//! each interface's socket as its own thread (`vrrp_dispatcher_read_timeout()`), so that
//! instance goes next; serving the shortest lane first does the same, and costs a burst
//! no more than what the quiet interfaces have to do.
//!
//! Order: within a lane, first in first out. Every output of an instance, its notifies
//! included, goes to its interface's lane, so each instance's own sequence (advert,
//! addresses, GARP, notify) is kept; only different interfaces interleave. What belongs
//! to no instance (a sync group's notify, a track script) waits until everything queued
//! before it in any lane has gone, as with one queue: a group's MASTER notify must follow
//! its members' addresses, on whichever interfaces they are.
//!
//! What one instance pushes to its interface's lane between two [`Outbox::enter`]s is
//! one burst (a takeover: its advert, addresses, GARPs). Once started, its first
//! [`BURST`] outputs go before any other lane, urgent included, and
//! [`Outbox::continues`] says whether the next output is of it, so a driver carries a
//! takeover out whole before it works out more timers, as keepalived's single
//! `vrrp_state_become_master()` call does. [`GENERAL`] and [`URGENT`] pushes (a
//! `settle()` of every sync group, every track script due) are never held together.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::io::Output;

/// Masters' periodic adverts and GARP refreshes: ahead of everything queued but a
/// takeover under way (at most [`BURST`] outputs), or a 30 ms instance behind a burst
/// would miss its interval and its peer would take over.
pub const URGENT: usize = 0;
/// Outputs of no instance: track scripts, sync groups, paced GARPs. Each waits for
/// what was queued before it in every lane.
pub const GENERAL: usize = 1;

/// The most outputs of one burst that go out together: one instance's takeover with
/// up to four addresses (an advert, four adds, 20 GARPs, the state change) and then
/// some; a master's periodic advert waits no longer than that behind it.
pub const BURST: usize = 32;

/// A lane that has held more than this many outputs is shrunk once it is empty again:
/// 1,000 instances changing state at once must not keep that peak's memory.
const KEEP: usize = 64;

/// An output with the number of its push, so [`GENERAL`] can wait its turn, and of its
/// burst.
#[derive(Debug, Clone)]
struct Queued {
    push: u64,
    burst: u64,
    output: Output,
}

#[derive(Debug, Clone)]
pub struct Outbox {
    lanes: Vec<VecDeque<Queued>>,
    pushed: u64,
    /// How many [`Outbox::enter`]s: the burst a push belongs to.
    bursts: u64,
    /// The lane and burst of the output last taken, and how many of that burst have
    /// gone.
    taken: Option<(usize, u64, usize)>,
    by_interface: BTreeMap<String, usize>,
    /// The non-empty lanes other than [`URGENT`], by how much each holds, then by number:
    /// the order they are served in.
    ready: BTreeSet<(usize, usize)>,
    /// Where [`Outbox::push_back`] puts an output.
    current: usize,
}

impl Default for Outbox {
    fn default() -> Outbox {
        Outbox {
            lanes: vec![VecDeque::new(), VecDeque::new()],
            pushed: 0,
            bursts: 0,
            taken: None,
            by_interface: BTreeMap::new(),
            ready: BTreeSet::new(),
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

    /// Sends what is pushed from now on to `lane`, as a new burst.
    pub fn enter(&mut self, lane: usize) {
        self.current = lane;
        self.bursts += 1;
    }

    pub fn push_back(&mut self, o: Output) {
        let l = self.current;
        let held = self.lanes[l].len();
        if l != URGENT {
            self.ready.remove(&(held, l));
            self.ready.insert((held + 1, l));
        }
        self.pushed += 1;
        self.lanes[l].push_back(Queued {
            push: self.pushed,
            burst: self.bursts,
            output: o,
        });
    }

    /// The next output: urgent first, then from the lane that holds least.
    pub fn pop_front(&mut self) -> Option<Output> {
        let Some(l) = self.next_lane() else {
            self.shrink();
            return None;
        };
        if l != URGENT {
            let held = self.lanes[l].len();
            self.ready.remove(&(held, l));
            if held > 1 {
                self.ready.insert((held - 1, l));
            }
        }
        let q = self.lanes[l].pop_front()?;
        let gone = match self.taken {
            Some((tl, tb, n)) if (tl, tb) == (l, q.burst) => n + 1,
            _ => 1,
        };
        self.taken = Some((l, q.burst, gone));
        // What is pushed after a take is of a later call into the engine: a new burst.
        self.bursts += 1;
        Some(q.output)
    }

    /// Whether the next output belongs to the instance's burst of the one last taken,
    /// and that burst has not yet had its [`BURST`] outputs.
    pub fn continues(&self) -> bool {
        self.taken.is_some_and(|(l, burst, gone)| {
            l > GENERAL && gone < BURST && self.lanes[l].front().is_some_and(|q| q.burst == burst)
        })
    }

    /// The lane [`Outbox::pop_front`] takes from next: the burst under way, then urgent,
    /// then the lane that holds least.
    fn next_lane(&self) -> Option<usize> {
        if self.continues() {
            return self.taken.map(|(l, ..)| l);
        }
        if !self.lanes[URGENT].is_empty() {
            return Some(URGENT);
        }
        self.ready
            .iter()
            .find(|&&(_, l)| l != GENERAL || !self.older_elsewhere())
            .map(|&(_, l)| l)
    }

    /// Whether an interface lane holds an output pushed before [`GENERAL`]'s first.
    fn older_elsewhere(&self) -> bool {
        let Some(first) = self.lanes[GENERAL].front().map(|q| q.push) else {
            return false;
        };
        self.ready
            .iter()
            .filter_map(|&(_, l)| self.lanes[l].front())
            .any(|q| q.push < first)
    }

    fn shrink(&mut self) {
        for q in &mut self.lanes {
            if q.capacity() > KEEP {
                q.shrink_to(KEEP);
            }
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

    fn texts(o: &mut Outbox) -> Vec<String> {
        drain(o)
            .into_iter()
            .map(|(i, m)| format!("{i}{m}"))
            .collect()
    }

    #[test]
    fn the_shortest_lane_goes_first_and_each_keeps_its_order() {
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
        assert_eq!(texts(&mut o), ["u0", "b0", "b1", "a0", "a1", "a2"]);
        assert!(o.ready.is_empty());
    }

    #[test]
    fn a_quiet_interface_goes_ahead_of_a_busy_one_between_its_takeovers() {
        let mut o = Outbox::default();
        let (a, b) = (o.lane("eth0"), o.lane("eth1"));
        // 100 instances' takeovers, an output each.
        for n in 0..100 {
            o.enter(a);
            o.push_back(log("a", n));
        }
        assert_eq!(o.pop_front(), Some(log("a", 0)));
        o.enter(b);
        for n in 0..4 {
            o.push_back(log("b", n));
        }
        let got = texts(&mut o);
        assert_eq!(got[..5], ["b0", "b1", "b2", "b3", "a1"]);
        assert_eq!(got.len(), 103);
    }

    #[test]
    fn a_burst_continues_until_its_last_output_even_with_more_in_its_lane() {
        let mut o = Outbox::default();
        let a = o.lane("eth0");
        o.enter(a);
        o.push_back(log("a", 0));
        o.push_back(log("a", 1));
        // The next instance on the same interface: a burst of its own.
        o.enter(a);
        o.push_back(log("b", 0));
        assert!(!o.continues(), "nothing taken yet");
        assert_eq!(o.pop_front(), Some(log("a", 0)));
        assert!(o.continues());
        assert_eq!(o.pop_front(), Some(log("a", 1)));
        assert!(!o.continues(), "b0 is another instance's");
        assert_eq!(o.pop_front(), Some(log("b", 0)));
        assert!(!o.continues(), "empty");
    }

    #[test]
    fn a_burst_under_way_goes_ahead_of_a_shorter_lane_and_of_urgent() {
        let mut o = Outbox::default();
        let (a, b) = (o.lane("eth0"), o.lane("eth1"));
        o.enter(a);
        for n in 0..4 {
            o.push_back(log("a", n));
        }
        assert_eq!(o.pop_front(), Some(log("a", 0)));
        // Shorter than what is left of a's burst, and urgent: both wait for its end.
        o.enter(b);
        o.push_back(log("b", 0));
        o.enter(URGENT);
        o.push_back(log("u", 0));
        assert_eq!(texts(&mut o), ["a1", "a2", "a3", "u0", "b0"]);
    }

    #[test]
    fn a_long_burst_lets_urgent_in_after_its_first_outputs_and_nothing_else_holds() {
        let mut o = Outbox::default();
        let a = o.lane("eth0");
        o.enter(a);
        for n in 0..BURST + 2 {
            o.push_back(log("a", n as u32));
        }
        for n in 0..BURST {
            assert_eq!(o.pop_front(), Some(log("a", n as u32)));
        }
        assert!(
            !o.continues(),
            "a burst holds the loop for BURST outputs at most"
        );
        o.enter(URGENT);
        o.push_back(log("u", 0));
        assert_eq!(o.pop_front(), Some(log("u", 0)));
        // A sync group's changes (one GENERAL burst) are not held together.
        let mut g = Outbox::default();
        g.enter(GENERAL);
        g.push_back(log("g", 0));
        g.push_back(log("g", 1));
        assert_eq!(g.pop_front(), Some(log("g", 0)));
        assert!(!g.continues());
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
        // g0 waits for a0, a1 and b0; b1, pushed after it, is not held back by it.
        assert_eq!(texts(&mut o), ["a0", "a1", "b0", "g0", "b1"]);
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
