//! Random probe outcomes (and a reload in the middle) against random pools: the IPVS
//! table built from the emitted operations always equals the engine's desired state, no
//! real server is both in and out of it, the sorry server never serves beside live real
//! servers, and the quorum stays inside its hysteresis band.

use std::collections::BTreeMap;
use std::net::IpAddr;

use keepalived_engine::check::probe::{ProbeKind, ProbeOutcome, ProbeSpec};
use keepalived_engine::check::{CheckEngine, CheckInput, CheckOutput, IpvsState, VsStatus};
use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::time::Instant;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Rs {
    weight: u8,
    inhibit: bool,
    alpha: bool,
    retry: u8,
    /// A second checker: MISC_CHECK with misc_dynamic.
    misc: bool,
}

#[derive(Debug, Clone)]
struct Pool {
    rss: Vec<Rs>,
    quorum: u8,
    hysteresis: u8,
    sorry: bool,
    sorry_inhibit: bool,
}

const SORRY: &str = "10.9.9.9";

fn rs_strategy() -> impl Strategy<Value = Rs> {
    (
        1u8..=3,
        any::<bool>(),
        any::<bool>(),
        0u8..=2,
        any::<bool>(),
    )
        .prop_map(|(weight, inhibit, alpha, retry, misc)| Rs {
            weight,
            inhibit,
            alpha,
            retry,
            misc,
        })
}

fn pool_strategy() -> impl Strategy<Value = Pool> {
    (
        prop::collection::vec(rs_strategy(), 1..=5),
        1u8..=8,
        0u8..=3,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(rss, quorum, hysteresis, sorry, sorry_inhibit)| Pool {
            rss,
            quorum,
            hysteresis,
            sorry,
            sorry_inhibit,
        })
}

/// The config text for `pool`, leaving out the real servers in `skip`.
fn conf(pool: &Pool, skip: Option<usize>) -> String {
    let mut t = String::from("global_defs {\n lvs_notify_fifo /run/lvs.fifo\n}\n");
    t.push_str("virtual_server 192.168.201.15 80 {\n delay_loop 5\n lb_kind NAT\n warmup 3\n");
    t.push_str(&format!(
        " quorum {}\n hysteresis {}\n",
        pool.quorum, pool.hysteresis
    ));
    if pool.sorry {
        t.push_str(&format!(" sorry_server {SORRY} 80\n"));
        if pool.sorry_inhibit {
            t.push_str(" sorry_server_inhibit\n");
        }
    }
    for (i, r) in pool.rss.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        t.push_str(&format!(
            " real_server 10.0.0.{} 80 {{\n  weight {}\n",
            i + 1,
            r.weight
        ));
        if r.inhibit {
            t.push_str("  inhibit_on_failure\n");
        }
        let alpha = if r.alpha { "alpha\n" } else { "" };
        t.push_str(&format!(
            "  TCP_CHECK {{\n   retry {}\n   delay_before_retry 1\n   {alpha}  }}\n",
            r.retry
        ));
        if r.misc {
            t.push_str(&format!(
                "  MISC_CHECK {{\n   misc_path /bin/m{}\n   misc_dynamic\n   retry {}\n   {alpha}  }}\n",
                i + 1,
                r.retry
            ));
        }
        t.push_str(" }\n");
    }
    t.push_str("}\n");
    t
}

fn parse(text: &str) -> keepalived_engine::config::Config {
    let l = parse_str(text, &ParseOptions::default());
    assert!(
        l.diagnostics.iter().all(|d| !d.counts_as_error()),
        "{text}\n{:?}",
        l.diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
    );
    l.config
}

struct World {
    e: CheckEngine,
    table: IpvsState,
    pending: Vec<ProbeSpec>,
    /// Real servers' state as the FIFO told it, by label.
    fifo_rs: BTreeMap<String, bool>,
    /// Quorum as the FIFO told it.
    fifo_vs: Option<bool>,
    outcomes: Vec<u8>,
    next_outcome: usize,
}

impl World {
    fn drain(&mut self) -> Result<(), TestCaseError> {
        while let Some(o) = self.e.poll_output() {
            match o {
                CheckOutput::Ipvs(op) => {
                    if let Err(err) = self.table.apply(&op) {
                        return Err(TestCaseError::fail(format!("{op:?} refused: {err}")));
                    }
                }
                CheckOutput::StartProbe(spec) => self.pending.push(spec),
                CheckOutput::Fifo { line } => {
                    let words: Vec<&str> = line.trim_end().split(' ').collect();
                    match words[0] {
                        "RS" => {
                            self.fifo_rs.insert(words[1].to_string(), words[3] == "UP");
                        }
                        "VS" => self.fifo_vs = Some(words[2] == "UP"),
                        _ => return Err(TestCaseError::fail(format!("odd line {line:?}"))),
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn outcome(&mut self, spec: &ProbeSpec) -> ProbeOutcome {
        let b = self.outcomes[self.next_outcome % self.outcomes.len()];
        self.next_outcome += 1;
        match spec.kind {
            ProbeKind::Misc { .. } => {
                ProbeOutcome::Exited([0, 1, 2, 5, 12, 0, 0, 1][b as usize % 8])
            }
            _ if b.is_multiple_of(3) => ProbeOutcome::Down {
                reason: "refused".into(),
            },
            _ => ProbeOutcome::Up,
        }
    }

    fn track_new(&mut self) {
        for r in self.e.real_servers() {
            self.fifo_rs.entry(r.label).or_insert(r.alive);
        }
        if self.fifo_vs.is_none() {
            self.fifo_vs = self.e.virtual_servers().first().map(|v| v.quorum_up);
        }
    }

    /// Everything that must hold between any two inputs.
    fn check(&self, prev: &VsStatus) -> Result<VsStatus, TestCaseError> {
        prop_assert_eq!(&self.table, &self.e.desired());
        let vs = self.e.virtual_servers()[0].clone();
        let svc = self.table.services.values().next().expect("one service");
        let weight_of = |ip: IpAddr| {
            svc.dests
                .iter()
                .find(|(k, _)| k.addr == ip)
                .map(|(_, p)| p.weight)
        };
        let mut serving = 0;
        for r in self.e.real_servers() {
            let w = weight_of(r.address);
            let all_up = r.checkers.iter().all(|c| c.up);
            prop_assert_eq!(
                r.alive,
                all_up,
                "{} alive must mean all checkers up",
                &r.label
            );
            prop_assert_eq!(
                self.fifo_rs.get(&r.label).copied(),
                Some(r.alive),
                "FIFO disagrees on {}",
                &r.label
            );
            let should_be_in = (r.alive && !vs.sorry_active) || r.inhibit_on_failure;
            prop_assert_eq!(w.is_some(), should_be_in, "{} presence", &r.label);
            if let Some(w) = w {
                if r.alive && !vs.sorry_active {
                    prop_assert_eq!(
                        i64::from(w),
                        r.effective_weight.clamp(0, i64::from(i32::MAX))
                    );
                    if w > 0 {
                        serving += 1;
                    }
                } else {
                    prop_assert_eq!(w, 0, "{} dead or displaced but weighted", &r.label);
                }
            }
        }
        let sorry = weight_of(SORRY.parse().unwrap());
        prop_assert_eq!(sorry.is_some_and(|w| w > 0), vs.sorry_active);
        if vs.sorry_active {
            prop_assert_eq!(serving, 0, "sorry server beside live real servers");
        }
        // The hysteresis band (update_quorum_state()).
        let (q, h, sum) = (
            i64::from(vs.quorum),
            i64::from(vs.hysteresis),
            vs.alive_weight,
        );
        if vs.quorum_up {
            prop_assert!(sum > 0 && sum >= q - h, "up at {sum} (q {q} h {h})");
        } else {
            prop_assert!(sum < q + h, "down at {sum} (q {q} h {h})");
        }
        if vs.quorum_up && !prev.quorum_up {
            prop_assert!(sum >= q + h, "gained at {sum} (q {q} h {h})");
        }
        if !vs.quorum_up && prev.quorum_up && prev.quorum == vs.quorum {
            prop_assert!(sum == 0 || sum < q - h, "lost at {sum} (q {q} h {h})");
        }
        prop_assert_eq!(self.fifo_vs, Some(vs.quorum_up), "FIFO disagrees on quorum");
        Ok(vs)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn random_outcomes_keep_table_state_and_quorum_consistent(
        pool in pool_strategy(),
        outcomes in prop::collection::vec(any::<u8>(), 1..64),
        seed in any::<u64>(),
        reload_at in prop::option::of(5usize..60),
        skip in any::<prop::sample::Index>(),
    ) {
        let e = CheckEngine::new(parse(&conf(&pool, None)), Instant::ZERO, seed);
        let mut w = World {
            e,
            table: IpvsState::default(),
            pending: Vec::new(),
            fifo_rs: BTreeMap::new(),
            fifo_vs: None,
            outcomes,
            next_outcome: 0,
        };
        w.drain()?;
        w.track_new();
        let mut prev = w.check(&w.e.virtual_servers()[0].clone())?;
        for step in 0..80 {
            if Some(step) == reload_at {
                let now = w.e.poll_timeout().unwrap_or(Instant::ZERO);
                let before = w.e.real_servers();
                let skip = (pool.rss.len() > 1).then(|| skip.index(pool.rss.len()));
                w.e.handle_input(now, CheckInput::Reload(Box::new(parse(&conf(&pool, skip)))));
                w.drain()?;
                // Removed servers leave the FIFO record; new ones join it as they start.
                w.fifo_rs.clear();
                w.track_new();
                // Kept servers keep their verdicts and checker ids.
                for r in w.e.real_servers() {
                    let old = before.iter().find(|o| o.address == r.address).unwrap();
                    prop_assert_eq!(r.alive, old.alive);
                    prop_assert_eq!(
                        r.checkers.iter().map(|c| c.id).collect::<Vec<_>>(),
                        old.checkers.iter().map(|c| c.id).collect::<Vec<_>>()
                    );
                }
                prev = w.check(&prev)?;
            }
            let Some(now) = w.e.poll_timeout() else { break };
            w.e.handle_timeout(now);
            w.drain()?;
            prev = w.check(&prev)?;
            while let Some(spec) = w.pending.pop() {
                let outcome = w.outcome(&spec);
                w.e.handle_input(now, CheckInput::ProbeDone { id: spec.id, outcome });
                w.drain()?;
                prev = w.check(&prev)?;
            }
        }
    }
}
