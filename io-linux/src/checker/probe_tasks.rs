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

use std::collections::HashMap;
use std::time::{Duration, Instant};

use keepalived_engine::check::io::CheckInput;
use keepalived_engine::check::probe::{ProbeId, ProbeOutcome, ProbeSpec};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::AbortHandle;

use crate::checker::probe::Prober;
use crate::metrics::live::CheckLive;

/// A probe that begins this long after the engine asked for it reports its start; one
/// that begins sooner does not, as the difference to the watchdog is too small to matter.
const LATE_START: Duration = Duration::from_millis(500);

enum Word {
    Started,
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
}

pub struct ProbeTasks {
    prober: Prober,
    /// `--metrics`: where each probe's time goes.
    timed: Option<CheckLive>,
    running: HashMap<ProbeId, Running>,
    generation: u64,
    tx: UnboundedSender<Message>,
    rx: UnboundedReceiver<Message>,
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
        let (prober, tx, timed) = (self.prober.clone(), self.tx.clone(), self.timed.clone());
        let asked = Instant::now();
        let task = tokio::spawn(async move {
            if asked.elapsed() >= LATE_START {
                let _ = tx.send(Message {
                    id,
                    generation,
                    word: Word::Started,
                });
            }
            let began = Instant::now();
            let outcome = prober.run(&spec).await;
            if let Some(live) = &timed {
                let up = matches!(outcome, ProbeOutcome::Up | ProbeOutcome::Exited(0));
                live.probe(spec.kind.keyword(), up, began.elapsed());
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
        };
        if let Some(old) = self.running.insert(id, running) {
            old.task.abort();
        }
    }

    /// The next start or result of a probe that is still the current one. Cancel-safe.
    pub async fn next(&mut self) -> CheckInput {
        loop {
            // `self` holds a sender, so the channel never closes.
            let Some(m) = self.rx.recv().await else {
                return std::future::pending().await;
            };
            if self
                .running
                .get(&m.id)
                .is_none_or(|r| r.generation != m.generation)
            {
                continue;
            }
            return match m.word {
                Word::Started => CheckInput::ProbeStarted { id: m.id },
                Word::Done(outcome) => {
                    self.running.remove(&m.id);
                    CheckInput::ProbeDone { id: m.id, outcome }
                }
            };
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

    #[test]
    fn a_superseded_probes_result_never_reaches_the_engine() {
        runtime().block_on(async {
            let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let open_port = open.local_addr().unwrap().port();
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
}
