//! The simulator itself: runs are reproducible, invariants catch a real split brain,
//! bad scenario files say where, and the command line reports failures with the command
//! that reproduces them.

use std::path::PathBuf;
use std::process::Command;

use keepalived_sim::run::run;
use keepalived_sim::scenario::Scenario;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn load(name: &str) -> Scenario {
    Scenario::load(&scenarios_dir().join(name)).expect("scenario loads")
}

fn trace_json(sc: &Scenario, seed: u64) -> String {
    serde_json::to_string(&run(sc, seed).trace).unwrap()
}

#[test]
fn same_scenario_and_seed_give_a_byte_identical_trace() {
    for name in [
        "loss_20_percent.toml",
        "crash_recover_60s.toml",
        "pause_split_brain.toml",
    ] {
        let sc = load(name);
        assert_eq!(trace_json(&sc, 7), trace_json(&sc, 7), "{name}");
    }
    // Loss is drawn from the seed: different seeds lose different adverts.
    let sc = load("loss_20_percent.toml");
    let a = run(&sc, 1);
    let b = run(&sc, 2);
    assert!(a.ok() && b.ok());
}

#[test]
fn every_scenario_passes_on_a_few_seeds() {
    // CI sweeps every scenario over 50 seeds with the release binary (scripts/test-all.sh);
    // this keeps `cargo test` honest on its own.
    let mut n = 0;
    for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let sc = Scenario::load(&path).unwrap();
            for seed in 1..=2 {
                let o = run(&sc, seed);
                assert!(
                    o.ok(),
                    "{} seed {seed}: {:?} {:?}",
                    path.display(),
                    o.violations,
                    o.failed
                );
            }
            n += 1;
        }
    }
    assert!(n >= 16, "the catalogue has {n} scenarios");
}

const SPLIT: &str = r#"
name = "misconfigured intervals"
duration = 10.0

[[host]]
name = "a"
config = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 9
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.9.0.1/24
    }
}
"""

[[host]]
name = "b"
config = """
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 9
    priority 100
    advert_int 2
    virtual_ipaddress {
        10.9.0.1/24
    }
}
"""
"#;

// VRRPv2 drops adverts whose interval differs (RFC 3768 §7.1), so two routers with
// different advert_int both become master while hearing each other: a real split brain
// the invariant must catch.
#[test]
fn split_brain_is_caught_with_time_and_hosts() {
    let sc = Scenario::parse("split.toml", SPLIT).unwrap();
    let o = run(&sc, 1);
    let v = o
        .violations
        .iter()
        .find(|v| v.invariant.starts_with("at most one MASTER"))
        .expect("split brain caught");
    assert_eq!(v.hosts, ["a", "b"]);
    assert!(v.t > 5.0 && v.t < 10.0, "caught at {}", v.t);
}

#[test]
fn bad_scenario_files_say_where() {
    let err = |text: &str| Scenario::parse("bad.toml", text).unwrap_err().to_string();
    assert!(
        err("name = \"x\"\nduration = 5.0\nbogus = 1\n").starts_with("bad.toml:3:"),
        "{}",
        err("name = \"x\"\nduration = 5.0\nbogus = 1\n")
    );
    let unknown_host =
        SPLIT.to_string() + "\n[[event]]\nat = 1.0\naction = \"crash\"\nhosts = [\"zz\"]\n";
    let e = err(&unknown_host);
    assert!(
        e.contains("unknown host \"zz\"") && e.starts_with("bad.toml:"),
        "{e}"
    );
    let bad_config = SPLIT.replace("priority 100", "priority 100\n    bogus_block {");
    let e = err(&bad_config);
    let line: usize = e.split(':').nth(1).unwrap().parse().unwrap();
    let want = bad_config
        .lines()
        .position(|l| l.contains("bogus_block"))
        .unwrap()
        + 1;
    assert!(e.contains("host b"), "{e}");
    assert!(line >= want, "{e} (bogus_block is on line {want})");
    let bad_action =
        SPLIT.to_string() + "\n[[event]]\nat = 1.0\naction = \"explode\"\nhosts = [\"a\"]\n";
    assert!(err(&bad_action).contains("unknown action \"explode\""));
}

#[test]
fn run_command_exits_non_zero_with_the_reproduction_command() {
    let dir = std::env::temp_dir().join(format!("kars-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("split.toml");
    std::fs::write(&file, SPLIT).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-sim"))
        .arg("run")
        .arg(&file)
        .args(["--seed", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "reproduce: keepalived-sim run {} --seed 3",
            file.display()
        )),
        "{stdout}"
    );

    let trace = dir.join("t.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-sim"))
        .arg("run")
        .arg(scenarios_dir().join("election.toml"))
        .arg("--trace")
        .arg(&trace)
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = std::fs::read_to_string(&trace).unwrap();
    assert!(lines.lines().all(|l| l.starts_with("{\"t\":")), "{lines}");
    // Structured: a state change carries its instance, old and new state, and reason.
    let change = lines
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["kind"] == "state" && v["to"] == "MASTER")
        .expect("a state change to MASTER");
    assert_eq!(change["from"], "BACKUP");
    assert!(
        change["instance"].is_string()
            && change["reason"].is_string()
            && change["host"].is_string()
    );
}

#[test]
fn demo_runs_and_summarises_failover() {
    let out = Command::new(env!("CARGO_BIN_EXE_keepalived-sim"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("CRASH") && stdout.contains("failover to r2"),
        "{stdout}"
    );
    assert!(stdout.contains("all invariants held"), "{stdout}");
}

const CHECKER_SCENARIOS: [&str; 5] = [
    "rs_crash_recover.toml",
    "rs_hang_recover.toml",
    "rs_latency_hold.toml",
    "rs_quorum.toml",
    "rs_refused.toml",
];

#[test]
fn checker_scenarios_pass_on_a_few_seeds_and_reproduce() {
    for name in CHECKER_SCENARIOS {
        let sc = load(name);
        for seed in [3, 11, 42] {
            let o = run(&sc, seed);
            assert!(
                o.ok(),
                "{name} seed {seed}: {:?} {:?}",
                o.violations,
                o.failed
            );
            // The faults were seen: every one of these scenarios takes a server down.
            assert!(
                o.trace
                    .iter()
                    .any(|l| l.detail.starts_with("Removing service")),
                "{name} seed {seed}: no real server went down"
            );
        }
        assert_eq!(trace_json(&sc, 5), trace_json(&sc, 5), "{name}");
    }
}

/// The crash scenario with a broken prober on the checker host.
fn sabotaged(inject: &str) -> Scenario {
    let text = std::fs::read_to_string(scenarios_dir().join("rs_crash_recover.toml")).unwrap();
    let text = text.replacen(
        "role = \"checker\"",
        &format!("role = \"checker\"\ninject = \"{inject}\""),
        1,
    );
    Scenario::parse("sabotaged.toml", &text).unwrap()
}

// A prober that fails probes of servers that answer: the false down is caught, with the
// checker and the real server named.
#[test]
fn a_false_down_is_caught() {
    let o = run(&sabotaged("false_down"), 1);
    let v = o
        .violations
        .iter()
        .find(|v| v.invariant.starts_with("a real server answering within"))
        .unwrap_or_else(|| panic!("false down not caught: {:?}", o.violations));
    assert_eq!(v.hosts[0], "lb");
    assert!(v.t < 5.0, "caught at {}", v.t);
}

// A prober that loses its results: the engine counts a probe failed only after the
// timeout plus its 5 s grace, so a dead server outlives delay_loop + retry ×
// (delay_before_retry + connect_timeout) + connect_timeout and the bound catches it.
#[test]
fn a_late_down_is_caught() {
    let o = run(&sabotaged("lose_results"), 1);
    assert!(
        o.violations.iter().any(|v| v
            .invariant
            .starts_with("an unreachable real server is declared down")),
        "late down not caught: {:?}",
        o.violations
    );
}

#[test]
fn checker_scenarios_refuse_what_is_not_simulated() {
    let base = std::fs::read_to_string(scenarios_dir().join("rs_hang_recover.toml")).unwrap();
    let err = |text: &str| Scenario::parse("bad.toml", text).unwrap_err().to_string();
    let ssl = base.replacen(
        "TCP_CHECK {\n            connect_timeout 1\n            retry 3",
        "SSL_GET {\n            url {\n                path /\n            }\n            connect_timeout 1\n            retry 3",
        1,
    );
    assert_ne!(ssl, base);
    let e = err(&ssl);
    assert!(e.contains("SSL_GET") && e.contains("not simulated"), "{e}");
    let stranger = base.replacen("192.168.0.4 80", "192.168.0.9 80", 1);
    let e = err(&stranger);
    assert!(e.contains("aims at no real_server host"), "{e}");
    let lossy = base.clone()
        + "\n[[event]]\nat = 1.0\naction = \"loss\"\nhosts = [\"lb\", \"web1\"]\nrate = 0.1\n";
    let e = err(&lossy);
    assert!(e.contains("never retransmits"), "{e}");
    let hang_lb = base.clone() + "\n[[event]]\nat = 1.0\naction = \"hang\"\nhosts = [\"lb\"]\n";
    assert!(err(&hang_lb).contains("needs a real_server host"));
    let refuse_lb = base + "\n[[event]]\nat = 1.0\naction = \"refuse\"\nhosts = [\"lb\"]\n";
    assert!(err(&refuse_lb).contains("needs a real_server host"));
}
