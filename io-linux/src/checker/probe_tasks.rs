//! The checker child's probes in flight: one task per checker, a late start reported to
//! the engine, and nothing from a superseded probe let through.
//!
//! On a host that cannot keep up (5,000 checks a second in an emulated VM), probes wait
//! to run. Two things keep that a slowdown rather than a collapse:
//! - a probe that began late says so ([`CheckInput::ProbeStarted`]), so the engine's
//!   watchdog does not count the wait against the real server;
//! - when the engine asks again for a checker whose last probe is still out (it gave up on
//!   it), that probe is aborted. Work stays at one probe per checker, where keepalived's
//!   one thread per checker keeps it, instead of piling up without bound.
//!
//! The probes [`Prober::cut_off_by_caller`] names are cut off here at their time budget,
//! with one timer for all of them: it is armed at the earliest cut-off, left as it is when
//! that probe ends first, and re-armed when it fires. A tokio timer of each probe's own
//! would cost an eventfd write for nearly every probe: the runtime wakes its I/O driver
//! whenever a timer comes that is earlier than the wake-up it planned when it last
//! parked, which after the last timer fired is none.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::pin::Pin;
use std::time::{Duration, Instant};

use keepalived_engine::check::io::CheckInput;
use keepalived_engine::check::probe::{ProbeId, ProbeOutcome, ProbeSpec};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::AbortHandle;

use crate::checker::probe::{self, Prober};
use crate::metrics::live::CheckLive;

/// A probe that begins this long after the engine asked for it reports its start; one
/// that begins sooner does not, as the difference to the watchdog is too small to matter.
const LATE_START: Duration = Duration::from_millis(500);

enum Word {
    /// The probe began, at this time: its time budget counts from then, as it would with
    /// a timer of its own, and one that has not begun is never cut off.
    Began(Instant),
    Done(ProbeOutcome),
}

struct Message {
    id: ProbeId,
    /// Which start of this checker's probe the message is from.
    generation: u64,
    word: Word,
}

struct Running {
    generation: u64,
    task: AbortHandle,
    /// The checker's keyword, for `--metrics`.
    kind: &'static str,
    asked: Instant,
    budget: Duration,
    /// Whether the probe is ours to cut off ([`Prober::cut_off_by_caller`]).
    cut: bool,
    /// When it is cut off as timed out, once it has begun.
    cut_off: Option<Instant>,
}

pub struct ProbeTasks {
    prober: Prober,
    /// `--metrics`: where each probe's time goes.
    timed: Option<CheckLive>,
    running: HashMap<ProbeId, Running>,
    generation: u64,
    tx: UnboundedSender<Message>,
    rx: UnboundedReceiver<Message>,
    /// The running probes' cut-offs, earliest first.
    cut_offs: BTreeSet<(Instant, ProbeId)>,
    /// One timer for every cut-off, armed at `armed_at`: the earliest cut-off, or an
    /// earlier one whose probe has since ended.
    timer: Pin<Box<tokio::time::Sleep>>,
    armed_at: Option<Instant>,
    /// What [`ProbeTasks::next`] has taken and not yet returned.
    ready: VecDeque<CheckInput>,
}

impl ProbeTasks {
    pub fn new(prober: Prober) -> ProbeTasks {
        let (tx, rx) = unbounded_channel();
        ProbeTasks {
            prober,
            timed: None,
            running: HashMap::new(),
            generation: 0,
            tx,
            rx,
            cut_offs: BTreeSet::new(),
            timer: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            armed_at: None,
            ready: VecDeque::new(),
        }
    }

    /// Records how long each probe takes into `live`.
    pub fn time_into(&mut self, live: CheckLive) {
        self.timed = Some(live);
    }

    /// Runs `spec` in a task of its own; a probe of the same checker still out is aborted.
    pub fn start(&mut self, spec: ProbeSpec) {
        self.generation += 1;
        let (id, generation) = (spec.id, self.generation);
        let (kind, budget) = (spec.kind.keyword(), Prober::budget(&spec));
        let cut = Prober::cut_off_by_caller(&spec.kind);
        let (prober, tx, timed) = (self.prober.clone(), self.tx.clone(), self.timed.clone());
        let asked = Instant::now();
        let task = tokio::spawn(async move {
            let began = Instant::now();
            let _ = tx.send(Message {
                id,
                generation,
                word: Word::Began(began),
            });
            let outcome = prober.run_to_end(&spec).await;
            if let Some(live) = &timed {
                let up = matches!(outcome, ProbeOutcome::Up | ProbeOutcome::Exited(0));
                live.probe(kind, up, began.elapsed());
            }
            let _ = tx.send(Message {
                id,
                generation,
                word: Word::Done(outcome),
            });
        });
        let running = Running {
            generation,
            task: task.abort_handle(),
            kind,
            asked,
            budget,
            cut,
            cut_off: None,
        };
        if let Some(old) = self.running.insert(id, running) {
            old.task.abort();
            if let Some(cut_off) = old.cut_off {
                self.cut_offs.remove(&(cut_off, id));
            }
        }
    }

    /// The next start or result of a probe that is still the current one, or the
    /// timeout of one that ran out of time. Cancel-safe.
    pub async fn next(&mut self) -> CheckInput {
        loop {
            if self.ready.is_empty() {
                self.take_what_is_due();
            }
            if let Some(input) = self.ready.pop_front() {
                return input;
            }
            let armed = self.armed_at.is_some();
            tokio::select! {
                biased;
                // `self` holds a sender, so the channel never closes.
                Some(m) = self.rx.recv() => {
                    if let Some(input) = self.heard(m) {
                        return input;
                    }
                }
                () = &mut self.timer, if armed => self.armed_at = None,
                else => return std::future::pending().await,
            }
        }
    }

    /// Into `ready`: everything the tasks have said so far, then the cut-offs that have
    /// come. In that order, so a probe that ended in time is not reported timed out
    /// because the loop came to it late; and all of them, so a steady stream of results
    /// cannot put a cut-off off.
    fn take_what_is_due(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            if let Some(input) = self.heard(m) {
                self.ready.push_back(input);
            }
        }
        while let Some(input) = self.cut_off_due() {
            self.ready.push_back(input);
        }
        self.arm();
    }

    /// What a probe's task said, for the engine if anything.
    fn heard(&mut self, m: Message) -> Option<CheckInput> {
        let r = self
            .running
            .get_mut(&m.id)
            .filter(|r| r.generation == m.generation)?;
        match m.word {
            Word::Began(at) => {
                let late = at.saturating_duration_since(r.asked) >= LATE_START;
                if r.cut {
                    r.cut_off = Some(at + r.budget);
                    self.cut_offs.insert((at + r.budget, m.id));
                    self.arm();
                }
                late.then_some(CheckInput::ProbeStarted { id: m.id })
            }
            Word::Done(outcome) => {
                self.end(m.id);
                Some(CheckInput::ProbeDone { id: m.id, outcome })
            }
        }
    }

    /// The first probe whose cut-off has come, aborted and reported timed out.
    fn cut_off_due(&mut self) -> Option<CheckInput> {
        let now = Instant::now();
        while self.cut_offs.first().is_some_and(|(at, _)| *at <= now) {
            let (at, id) = self.cut_offs.pop_first()?;
            // Every entry belongs to a running probe; one that did not would be dropped
            // here rather than keep the timer firing.
            if self.running.get(&id).is_none_or(|r| r.cut_off != Some(at)) {
                continue;
            }
            let r = self.end(id)?;
            r.task.abort();
            if let Some(live) = &self.timed {
                live.probe(r.kind, false, r.budget + (now - at));
            }
            return Some(CheckInput::ProbeDone {
                id,
                outcome: probe::down("timeout"),
            });
        }
        None
    }

    /// Forgets a probe that ended.
    fn end(&mut self, id: ProbeId) -> Option<Running> {
        let r = self.running.remove(&id)?;
        if let Some(cut_off) = r.cut_off {
            self.cut_offs.remove(&(cut_off, id));
        }
        Some(r)
    }

    /// Arms the timer at the earliest cut-off if it is not armed at or before it.
    fn arm(&mut self) {
        let Some(&(first, _)) = self.cut_offs.first() else {
            return;
        };
        if self.armed_at.is_none_or(|at| first < at) {
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::from_std(first));
            self.armed_at = Some(first);
        }
    }

    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.running.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::probe::TlsSetup;
    use crate::host::script_user::ScriptUser;
    use keepalived_engine::check::probe::{Endpoint, ProbeKind};

    fn tcp(id: u64, port: u16) -> ProbeSpec {
        ProbeSpec {
            id: ProbeId(id),
            kind: ProbeKind::Tcp,
            endpoint: Some(Endpoint {
                target: ([127, 0, 0, 1], port).into(),
                bind: None,
                bind_port: None,
                bind_if: None,
                fwmark: None,
            }),
            timeout_us: 2_000_000,
        }
    }

    /// SMTP_CHECK of a server that never sends its banner: the probe runs until cut off.
    fn silent_smtp(id: u64, port: u16, timeout_us: u64) -> ProbeSpec {
        ProbeSpec {
            kind: ProbeKind::Smtp {
                helo_name: "probe".into(),
            },
            timeout_us,
            ..tcp(id, port)
        }
    }

    fn tasks() -> ProbeTasks {
        ProbeTasks::new(Prober::new(TlsSetup::default(), ScriptUser::default()))
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    /// A port nothing listens on: connecting is refused at once.
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    /// A server on loopback that accepts and says nothing, and its port.
    async fn listening() -> (tokio::net::TcpListener, u16) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        (l, port)
    }

    #[test]
    fn a_superseded_probes_result_never_reaches_the_engine() {
        runtime().block_on(async {
            let (_open, open_port) = listening().await;
            let mut t = tasks();
            // The first probe runs to its end (refused) before the engine asks again.
            t.start(tcp(7, closed_port()));
            tokio::time::sleep(Duration::from_millis(100)).await;
            t.start(tcp(7, open_port));
            let got = tokio::time::timeout(Duration::from_secs(3), t.next()).await;
            assert_eq!(
                got.expect("the second probe's result"),
                CheckInput::ProbeDone {
                    id: ProbeId(7),
                    outcome: ProbeOutcome::Up
                }
            );
            assert_eq!(t.in_flight(), 0);
            let more = tokio::time::timeout(Duration::from_millis(200), t.next()).await;
            assert!(more.is_err(), "a superseded probe spoke: {more:?}");
        });
    }

    #[test]
    fn a_probe_still_out_is_aborted_when_its_checker_probes_again() {
        runtime().block_on(async {
            let mut t = tasks();
            t.start(tcp(3, closed_port()));
            let first = t.running[&ProbeId(3)].task.clone();
            t.start(tcp(3, closed_port()));
            tokio::task::yield_now().await;
            assert!(first.is_finished(), "the superseded task still runs");
            assert_eq!(t.in_flight(), 1);
        });
    }

    #[test]
    fn a_probe_that_waited_to_run_reports_its_start_before_its_result() {
        runtime().block_on(async {
            let mut t = tasks();
            t.start(tcp(1, closed_port()));
            // The loop is busy: the task cannot begin until this returns.
            std::thread::sleep(LATE_START + Duration::from_millis(100));
            let started = tokio::time::timeout(Duration::from_secs(3), t.next()).await;
            assert_eq!(
                started.unwrap(),
                CheckInput::ProbeStarted { id: ProbeId(1) }
            );
            let done = tokio::time::timeout(Duration::from_secs(3), t.next()).await;
            assert!(matches!(
                done.unwrap(),
                CheckInput::ProbeDone {
                    id: ProbeId(1),
                    outcome: ProbeOutcome::Down { .. }
                }
            ));
            // A probe that begins at once says nothing before its result.
            t.start(tcp(2, closed_port()));
            let done = tokio::time::timeout(Duration::from_secs(3), t.next()).await;
            assert!(matches!(done.unwrap(), CheckInput::ProbeDone { .. }));
        });
    }

    #[test]
    fn a_probe_that_runs_out_of_time_is_cut_off_as_timed_out_and_its_socket_closed() {
        runtime().block_on(async {
            let (server, port) = listening().await;
            let mut t = tasks();
            let budget = Duration::from_millis(300);
            let asked = Instant::now();
            t.start(silent_smtp(4, port, budget.as_micros() as u64));
            let (mut conn, _) = server.accept().await.unwrap();
            let got = tokio::time::timeout(Duration::from_secs(5), t.next()).await;
            assert_eq!(
                got.expect("the cut-off"),
                CheckInput::ProbeDone {
                    id: ProbeId(4),
                    outcome: ProbeOutcome::Down {
                        reason: "timeout".into()
                    }
                }
            );
            assert!(
                asked.elapsed() >= budget,
                "cut off before its budget ran out"
            );
            assert_eq!(t.in_flight(), 0);
            assert!(t.cut_offs.is_empty(), "a cut-off outlived its probe");
            // The aborted probe dropped its connection: the server reads its end.
            let mut b = [0u8; 16];
            let n = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::io::AsyncReadExt::read(&mut conn, &mut b),
            )
            .await
            .expect("the connection closed");
            assert_eq!(n.unwrap(), 0);
        });
    }

    #[test]
    fn a_probe_that_waited_to_run_has_its_whole_budget_from_when_it_began() {
        runtime().block_on(async {
            let (_server, port) = listening().await;
            let mut t = tasks();
            let budget = Duration::from_millis(100);
            t.start(silent_smtp(5, port, budget.as_micros() as u64));
            // The loop is busy past the whole budget (well short of LATE_START, so the
            // result is the first thing said): the task cannot begin meanwhile.
            std::thread::sleep(budget + Duration::from_millis(50));
            let free = Instant::now();
            let got = tokio::time::timeout(Duration::from_secs(5), t.next()).await;
            assert!(matches!(
                got.expect("the cut-off"),
                CheckInput::ProbeDone {
                    id: ProbeId(5),
                    outcome: ProbeOutcome::Down { .. }
                }
            ));
            assert!(
                free.elapsed() >= budget,
                "the wait before it began was counted against its budget"
            );
        });
    }

    #[test]
    fn a_probe_that_ends_in_time_leaves_no_cut_off_and_the_timer_is_left_for_later() {
        runtime().block_on(async {
            let mut t = tasks();
            t.start(tcp(6, closed_port()));
            let got = tokio::time::timeout(Duration::from_secs(3), t.next()).await;
            assert!(matches!(
                got.expect("the refusal"),
                CheckInput::ProbeDone {
                    id: ProbeId(6),
                    outcome: ProbeOutcome::Down { .. }
                }
            ));
            assert!(t.cut_offs.is_empty());
            // Armed at the ended probe's cut-off, the timer fires once, finds nothing due
            // and is not armed again.
            assert!(t.armed_at.is_some());
            let more = tokio::time::timeout(Duration::from_millis(2_500), t.next()).await;
            assert!(more.is_err(), "something was reported: {more:?}");
            assert!(t.armed_at.is_none());
        });
    }

    #[test]
    fn a_tcp_checks_probe_does_not_carry_room_for_the_larger_probes() {
        // Every probe's future is moved into its task as it is spawned, thousands a
        // second; HTTP over TLS alone takes 2,800 bytes, so the other kinds are boxed.
        let prober = Prober::new(TlsSetup::default(), ScriptUser::default());
        let spec = tcp(1, 1);
        let probe = prober.run_to_end(&spec);
        assert!(
            std::mem::size_of_val(&probe) <= 512,
            "TCP_CHECK's probe is {} bytes",
            std::mem::size_of_val(&probe)
        );
    }

    #[test]
    fn a_result_that_came_in_time_is_not_reported_timed_out_when_the_loop_comes_late() {
        runtime().block_on(async {
            let mut t = tasks();
            // A 1 ms budget; the refusal comes at once, but the loop asks only later.
            t.start(ProbeSpec {
                timeout_us: 1_000,
                ..tcp(8, closed_port())
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            let got = tokio::time::timeout(Duration::from_secs(3), t.next()).await;
            match got.expect("the result") {
                CheckInput::ProbeDone {
                    id: ProbeId(8),
                    outcome: ProbeOutcome::Down { reason },
                } => assert_ne!(reason, "timeout"),
                other => panic!("{other:?}"),
            }
            assert!(t.cut_offs.is_empty());
        });
    }
}
