//! Random input sequences against one engine: adverts from random peers with random
//! priorities, link flaps, script results, tracked files, BFD sessions, reloads and time
//! jumps.
//! Whatever happens: no panic, no address added twice or removed when not held, a master
//! sends an advert at least every advert interval, and the same inputs give the same
//! outputs.

mod support;

use std::collections::BTreeSet;

use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::time::Instant;
use keepalived_engine::vrrp::{Engine, Input, InterfaceInfo, Output, Owned, ScriptStatus, State};
use proptest::prelude::*;
use support::*;

#[derive(Debug, Clone)]
enum Ev {
    Wait(u64),
    Advert {
        from: u8,
        prio: u8,
        version: u8,
    },
    Link(bool),
    Script(bool),
    File(i64),
    /// A BFD session event: b1 (weighted), b2 (weight 0 reverse), or one nobody tracks.
    Bfd(u8, bool),
    Reload {
        prio: u8,
        vip: u8,
        nopreempt: bool,
    },
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        4 => (0u64..3_000_000).prop_map(Ev::Wait),
        4 => (2u8..6, any::<u8>(), 2u8..=3).prop_map(|(from, prio, version)| Ev::Advert { from, prio, version }),
        1 => any::<bool>().prop_map(Ev::Link),
        2 => any::<bool>().prop_map(Ev::Script),
        1 => (-3i64..3).prop_map(Ev::File),
        1 => (1u8..=3, any::<bool>()).prop_map(|(n, up)| Ev::Bfd(n, up)),
        1 => (1u8..=255, 100u8..103, any::<bool>()).prop_map(|(prio, vip, nopreempt)| Ev::Reload { prio, vip, nopreempt }),
    ]
}

fn config_text(prio: u8, vip: u8, nopreempt: bool) -> String {
    let state = if prio == 255 { "state MASTER" } else { "" };
    let np = if nopreempt && prio != 255 {
        "nopreempt"
    } else {
        ""
    };
    format!(
        "vrrp_script chk {{\n script /bin/true\n interval 2\n weight -20\n}}\n\
         vrrp_track_file f {{\n file /tmp/f\n weight 5\n}}\n\
         bfd_instance b1 {{\n neighbor_ip 10.9.0.1\n weight -10\n}}\n\
         bfd_instance b2 {{\n neighbor_ip 10.9.0.2\n}}\n\
         vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n priority {prio}\n advert_int 1\n {state}\n {np}\n \
         track_script {{\n chk\n }}\n track_file {{\n f\n }}\n \
         track_bfd {{\n b1\n b2 weight 0 reverse\n }}\n \
         virtual_ipaddress {{\n 10.0.0.{vip}/24\n 10.0.1.{vip}/24\n }}\n}}\n"
    )
}

/// Runs `evs`, checking the invariants as outputs come; returns every output as JSON.
fn run(evs: &[Ev]) -> Result<Vec<String>, TestCaseError> {
    let mut now = Instant::ZERO;
    let cfg = parse_str(&config_text(100, 100, false), &ParseOptions::default()).config;
    let mut e = Engine::new(cfg, now, vec![iface(1, true)]);
    let mut held: BTreeSet<String> = BTreeSet::new();
    let mut master_since: Option<Instant> = None;
    let mut last_tx: Option<Instant> = None;
    let mut log = Vec::new();
    let mut drain =
        |e: &mut Engine, now: Instant, log: &mut Vec<String>| -> Result<(), TestCaseError> {
            while let Some(o) = e.poll_output() {
                match &o {
                    Output::Add {
                        what: Owned::Address { addr, .. },
                        ..
                    } => {
                        prop_assert!(
                            held.insert(addr.address.to_string()),
                            "{} added twice",
                            addr.address
                        );
                    }
                    Output::Del {
                        what: Owned::Address { addr, .. },
                        ..
                    } => {
                        prop_assert!(
                            held.remove(&addr.address.to_string()),
                            "{} removed but not held",
                            addr.address
                        );
                    }
                    Output::Transmit { .. } => last_tx = Some(now),
                    Output::StateChange { to, .. } => {
                        master_since = (*to == State::Master).then_some(now);
                    }
                    _ => {}
                }
                log.push(serde_json::to_string(&o).unwrap());
            }
            if let Some(since) = master_since {
                let last = last_tx.unwrap_or(since).max(since);
                prop_assert!(
                    now.as_micros() - last.as_micros() <= 1_000_000,
                    "master silent since {last} at {now}"
                );
            }
            Ok(())
        };
    drain(&mut e, now, &mut log)?;
    for ev in evs {
        let input = match ev {
            Ev::Wait(us) => {
                let until = Instant::from_micros(now.as_micros() + us);
                let mut stuck = 0;
                while let Some(t) = e.poll_timeout().filter(|t| *t <= until) {
                    // A timer that never moves on would spin the daemon's loop.
                    stuck = if t <= now { stuck + 1 } else { 0 };
                    prop_assert!(stuck < 10_000, "the engine's timer stays at {}", t);
                    now = now.max(t);
                    e.handle_timeout(now);
                    drain(&mut e, now, &mut log)?;
                }
                now = until;
                continue;
            }
            Ev::Advert {
                from,
                prio,
                version,
            } => advert_input(*from, 1, *prio, *version, 100),
            Ev::Link(up) => Input::Interface(InterfaceInfo {
                up: *up,
                ..iface(1, *up)
            }),
            Ev::Script(ok) => Input::ScriptExited {
                script: "chk".into(),
                status: if *ok {
                    ScriptStatus::Exited(0)
                } else {
                    ScriptStatus::Exited(1)
                },
            },
            Ev::File(v) => Input::TrackFile {
                name: "f".into(),
                value: *v,
            },
            Ev::Bfd(n, up) => Input::Bfd {
                name: format!("b{n}"),
                up: *up,
            },
            Ev::Reload {
                prio,
                vip,
                nopreempt,
            } => Input::Reload(Box::new(
                parse_str(
                    &config_text(*prio, *vip, *nopreempt),
                    &ParseOptions::default(),
                )
                .config,
            )),
        };
        e.handle_input(now, input);
        drain(&mut e, now, &mut log)?;
    }
    Ok(log)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_inputs_keep_the_invariants_and_are_deterministic(evs in prop::collection::vec(ev(), 1..120)) {
        let a = run(&evs)?;
        let b = run(&evs)?;
        prop_assert_eq!(a, b);
    }
}
