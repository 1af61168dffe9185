//! A harness for the checker engine: real servers whose health the test sets, probes
//! answered at once, the IPVS table rebuilt from the emitted operations (each checked
//! as the kernel would: no add of what exists, no edit or delete of what does not).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use keepalived_engine::check::probe::{ProbeId, ProbeKind, ProbeOutcome, ProbeSpec};
use keepalived_engine::check::{CheckEngine, CheckInput, CheckOutput, IpvsOp, IpvsState};
use keepalived_engine::config::{parse_str, Config, ParseOptions};
use keepalived_engine::time::Instant;

pub const S: u64 = 1_000_000;

pub fn at(secs: f64) -> Instant {
    Instant::from_secs_f64(secs)
}

pub fn config(text: &str) -> Config {
    let loaded = parse_str(text, &ParseOptions::default());
    assert!(
        loaded.diagnostics.iter().all(|d| !d.counts_as_error()),
        "config errors: {:?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    loaded.config
}

pub struct Harness {
    pub e: CheckEngine,
    pub now: Instant,
    /// Every output with the time it came out.
    pub outs: Vec<(Instant, CheckOutput)>,
    /// The kernel's table as the emitted operations made it.
    pub table: IpvsState,
    /// Health by probe target address (absent = up).
    pub health: BTreeMap<IpAddr, bool>,
    /// MISC_CHECK exit status by the command's first word (absent = 0).
    pub exit: BTreeMap<String, i32>,
    /// Probes the harness leaves unanswered.
    pub silent: bool,
    /// Probes started and not yet answered (only when `silent`).
    pub pending: Vec<ProbeSpec>,
}

impl Harness {
    pub fn new(text: &str) -> Harness {
        Harness::with_seed(text, 1)
    }

    pub fn with_seed(text: &str, seed: u64) -> Harness {
        let e = CheckEngine::new(config(text), Instant::ZERO, seed);
        let mut h = Harness {
            e,
            now: Instant::ZERO,
            outs: Vec::new(),
            table: IpvsState::default(),
            health: BTreeMap::new(),
            exit: BTreeMap::new(),
            silent: false,
            pending: Vec::new(),
        };
        h.drain();
        h
    }

    pub fn outcome(&self, spec: &ProbeSpec) -> ProbeOutcome {
        match (&spec.kind, &spec.endpoint) {
            (ProbeKind::Misc { command }, _) => ProbeOutcome::Exited(
                *self
                    .exit
                    .get(command.argv.first().map(String::as_str).unwrap_or(""))
                    .unwrap_or(&0),
            ),
            (_, Some(ep)) => {
                if *self.health.get(&ep.target.ip()).unwrap_or(&true) {
                    ProbeOutcome::Up
                } else {
                    ProbeOutcome::Down {
                        reason: "connection refused".into(),
                    }
                }
            }
            (_, None) => ProbeOutcome::Up,
        }
    }

    /// Drains outputs, applying IPVS operations to `table` and answering probes.
    pub fn drain(&mut self) {
        // An engine that starts a probe for every answer would keep this loop going.
        for _ in 0..100_000 {
            let mut started = Vec::new();
            while let Some(o) = self.e.poll_output() {
                if let CheckOutput::Ipvs(op) = &o {
                    if let Err(err) = self.table.apply(op) {
                        panic!("at {}: {op:?} refused: {err}", self.now);
                    }
                }
                if let CheckOutput::StartProbe(spec) = &o {
                    started.push(spec.clone());
                }
                self.outs.push((self.now, o));
            }
            if started.is_empty() {
                return;
            }
            for spec in started {
                if self.silent {
                    self.pending.push(spec);
                    continue;
                }
                let outcome = self.outcome(&spec);
                self.e.handle_input(
                    self.now,
                    CheckInput::ProbeDone {
                        id: spec.id,
                        outcome,
                    },
                );
            }
        }
        panic!("at {}: probes keep starting as others end", self.now);
    }

    pub fn input(&mut self, input: CheckInput) {
        self.e.handle_input(self.now, input);
        self.drain();
    }

    /// Runs the engine's timers up to `end` (inclusive), answering probes.
    pub fn run_until(&mut self, end: Instant) {
        // Calls in a row at one instant: a timer that never moves on would spin here.
        let mut stuck = 0;
        while let Some(t) = self.e.poll_timeout() {
            if t > end {
                break;
            }
            stuck = if t <= self.now { stuck + 1 } else { 0 };
            assert!(stuck < 10_000, "the engine's timer stays at {t}");
            self.now = t.max(self.now);
            self.e.handle_timeout(self.now);
            self.drain();
        }
        self.now = end.max(self.now);
    }

    pub fn run_secs(&mut self, secs: f64) {
        self.run_until(at(secs));
    }

    pub fn set_health(&mut self, ip: &str, up: bool) {
        self.health.insert(ip.parse().unwrap(), up);
    }

    /// When probes of `id` started.
    pub fn probe_times(&self, id: ProbeId) -> Vec<Instant> {
        self.outs
            .iter()
            .filter_map(|(t, o)| match o {
                CheckOutput::StartProbe(s) if s.id == id => Some(*t),
                _ => None,
            })
            .collect()
    }

    pub fn probes(&self) -> Vec<(Instant, ProbeSpec)> {
        self.outs
            .iter()
            .filter_map(|(t, o)| match o {
                CheckOutput::StartProbe(s) => Some((*t, s.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn fifo(&self) -> Vec<(Instant, String)> {
        self.outs
            .iter()
            .filter_map(|(t, o)| match o {
                CheckOutput::Fifo { line } => Some((*t, line.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn ipvs_ops(&self) -> Vec<(Instant, IpvsOp)> {
        self.outs
            .iter()
            .filter_map(|(t, o)| match o {
                CheckOutput::Ipvs(op) => Some((*t, op.clone())),
                _ => None,
            })
            .collect()
    }

    /// Notify commands run, as (time, first argv word).
    pub fn notifies(&self) -> Vec<(Instant, String)> {
        self.outs
            .iter()
            .filter_map(|(t, o)| match o {
                CheckOutput::Notify { command, .. } => Some((*t, command.argv.join(" "))),
                _ => None,
            })
            .collect()
    }

    pub fn clear(&mut self) {
        self.outs.clear();
    }

    /// The first checker id of the real server at `ip`.
    pub fn checker_id(&self, ip: &str) -> ProbeId {
        let ip: IpAddr = ip.parse().unwrap();
        self.e
            .real_servers()
            .into_iter()
            .find(|r| r.address == ip)
            .and_then(|r| r.checkers.first().map(|c| c.id))
            .expect("no such real server")
    }

    pub fn alive(&self, ip: &str) -> bool {
        let ip: IpAddr = ip.parse().unwrap();
        self.e
            .real_servers()
            .into_iter()
            .find(|r| r.address == ip)
            .expect("no such real server")
            .alive
    }

    /// Weight of the destination at `ip` in the (only) service, None when absent.
    pub fn dest_weight(&self, ip: &str) -> Option<u32> {
        let ip: IpAddr = ip.parse().unwrap();
        let svc = self.table.services.values().next()?;
        svc.dests
            .iter()
            .find(|(k, _)| k.addr == ip)
            .map(|(_, p)| p.weight)
    }
}
