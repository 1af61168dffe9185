//! The simulator on users' own configurations: config files with includes, several
//! interfaces on named segments, segment faults, `keepalived-sim check`'s campaign, what
//! it refuses, HTTP_GET and MISC_CHECK against simulated servers, and the CI outputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use keepalived_sim::run::run;
use keepalived_sim::scenario::Scenario;
use keepalived_sim::world::Kind;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_keepalived-sim"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kars-cluster-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn err(file: &str, text: &str) -> String {
    Scenario::parse(file, text).unwrap_err().to_string()
}

/// The director pair's scenario: the master's internal link fails and both VIPs move
/// together, then come back; its files include a shared file with `$` definitions.
#[test]
fn director_pair_moves_both_vips_together() {
    let sc = Scenario::load(&examples().join("director-pair/internal-link-fails.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.segments, ["ext", "int"]);
    // The shared include was read: both instances with their own priorities.
    let prio = |h: usize, i: &str| {
        sc.hosts[h]
            .config
            .instances
            .iter()
            .find(|vi| vi.name == i)
            .unwrap()
            .priority
    };
    assert_eq!((prio(0, "VI_INT"), prio(1, "VI_INT")), (150, 100));
    for seed in [1, 2, 3] {
        let o = run(&sc, seed);
        assert!(o.ok(), "seed {seed}: {:?} {:?}", o.violations, o.failed);
        // Both instances left lvs1 within a moment of each other.
        let left: Vec<f64> = o
            .trace
            .iter()
            .filter(|l| {
                l.kind == Kind::State && l.host == "lvs1" && l.from.as_deref() == Some("MASTER")
            })
            .map(|l| l.t)
            .collect();
        assert_eq!(left.len(), 2, "seed {seed}: {left:?}");
        assert!(
            (left[0] - left[1]).abs() < 0.1 && left[0] >= 12.0,
            "{left:?}"
        );
        // lvs2 took both.
        for inst in ["VI_EXT", "VI_INT"] {
            assert!(o.trace.iter().any(|l| l.kind == Kind::State
                && l.host == "lvs2"
                && l.instance.as_deref() == Some(inst)
                && l.to.as_deref() == Some("MASTER")));
        }
    }
}

#[test]
fn an_include_that_matches_nothing_is_refused() {
    let d = tmp("include");
    std::fs::write(d.join("a.conf"), "include missing/*.conf\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1/24\n }\n}\n").unwrap();
    std::fs::write(
        d.join("s.toml"),
        "name = \"x\"\nduration = 5.0\n[[host]]\nname = \"a\"\nconfig_file = \"a.conf\"\n",
    )
    .unwrap();
    let e = Scenario::load(&d.join("s.toml")).unwrap_err().to_string();
    assert!(e.contains("missing/*.conf") && e.contains("host a"), "{e}");
}

const TWO_LANS: &str = r#"
name = "two lans"
duration = 20.0

[[host]]
name = "a"
interfaces = { eth0 = "ext", eth1 = "int" }
config = """
vrrp_instance VI_E {
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.1.0.1/24
    }
}
vrrp_instance VI_I {
    interface eth1
    virtual_router_id 51
    priority 200
    advert_int 1
    virtual_ipaddress {
        10.2.0.1/24
    }
}
"""

[[host]]
name = "b"
interfaces = { eth0 = "ext", eth1 = "int" }
config = """
vrrp_instance VI_E {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.1.0.1/24
    }
}
vrrp_instance VI_I {
    interface eth1
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.2.0.1/24
    }
}
"""
"#;

/// The same VRID on two segments is two virtual routers: a partition of one segment
/// splits only that one, and the invariants count them apart.
#[test]
fn segment_faults_touch_only_their_segment() {
    let text = format!(
        "{TWO_LANS}\n[[event]]\nat = 5.0\naction = \"partition\"\nhosts = [\"a\", \"b\"]\nsegment = \"int\"\n\n\
         [[expect]]\nat = 12.0\ninstance = \"VI_E\"\nmaster = \"a\"\n"
    );
    let o = run(&Scenario::parse("lans.toml", &text).unwrap(), 1);
    // On int both become master, and nobody hears the other there: no violation.
    assert!(o.ok(), "{:?} {:?}", o.violations, o.failed);
    assert!(o.trace.iter().any(|l| l.host == "b"
        && l.instance.as_deref() == Some("VI_I")
        && l.to.as_deref() == Some("MASTER")));
    assert!(!o.trace.iter().any(|l| l.host == "b"
        && l.instance.as_deref() == Some("VI_E")
        && l.to.as_deref() == Some("MASTER")));
    // A one-way cut on ext: b stops hearing a there and becomes master while a still
    // hears b: a split brain among hosts that hear each other one way is not flagged,
    // but loss at 100% on ext for both is a partition.
    let lossy = format!(
        "{TWO_LANS}\n[[event]]\nat = 5.0\naction = \"loss\"\nsegment = \"ext\"\nrate = 1.0\n"
    );
    let o = run(&Scenario::parse("lans.toml", &lossy).unwrap(), 1);
    assert!(o.trace.iter().any(|l| l.host == "b"
        && l.instance.as_deref() == Some("VI_E")
        && l.to.as_deref() == Some("MASTER")));
}

#[test]
fn link_faults_name_the_interface() {
    let text =
        format!("{TWO_LANS}\n[[event]]\nat = 5.0\naction = \"link_down\"\nhosts = [\"a\"]\n");
    let e = err("lans.toml", &text);
    assert!(
        e.contains("name the `interface`") && e.contains("eth1 = int"),
        "{e}"
    );
    let text = format!(
        "{TWO_LANS}\n[[event]]\nat = 5.0\naction = \"link_down\"\nhosts = [\"a\"]\ninterface = \"eth1\"\n\
         [[expect]]\nat = 12.0\ninstance = \"VI_I\"\nmaster = \"b\"\n\
         [[expect]]\nat = 12.0\ninstance = \"VI_E\"\nmaster = \"a\"\n"
    );
    let o = run(&Scenario::parse("lans.toml", &text).unwrap(), 1);
    assert!(o.ok(), "{:?} {:?}", o.violations, o.failed);
}

#[test]
fn what_cannot_be_simulated_is_refused_by_name() {
    // An interface the wiring does not carry.
    let e = err(
        "x.toml",
        &TWO_LANS.replacen("interface eth1", "interface eth2", 1),
    );
    assert!(
        e.contains("interface eth2") && e.contains("does not wire"),
        "{e}"
    );
    let e = err(
        "x.toml",
        &TWO_LANS.replacen("    virtual_router_id 51\n    priority 200", "    track_interface {\n        bond0\n    }\n    virtual_router_id 51\n    priority 200", 1),
    );
    assert!(
        e.contains("bond0") && e.contains("track_interface of VI_E"),
        "{e}"
    );
    // A config with no instances.
    let e = err(
        "x.toml",
        "name = \"x\"\nduration = 5.0\n[[host]]\nname = \"a\"\nconfig = \"global_defs {\\n router_id a\\n}\\n\"\n",
    );
    assert!(e.contains("no vrrp_instance"), "{e}");
    // Trackers the simulator does not model, by keyword.
    let e = err(
        "x.toml",
        &TWO_LANS.replacen(
            "vrrp_instance VI_E {",
            "vrrp_track_file tf {\n    file /run/x\n}\nvrrp_instance VI_E {\n    track_file {\n        tf\n    }",
            1,
        ),
    );
    assert!(
        e.contains("vrrp_track_file tf") && e.contains("not simulated"),
        "{e}"
    );
    // A unicast peer no host holds.
    let e = err(
        "x.toml",
        &TWO_LANS.replacen(
            "    virtual_router_id 51\n    priority 200",
            "    unicast_peer {\n        10.9.9.9\n    }\n    virtual_router_id 51\n    priority 200",
            1,
        ),
    );
    assert!(
        e.contains("unicast_peer 10.9.9.9") && e.contains("no host holds"),
        "{e}"
    );
}

/// A checker host probing a real server by HTTP_GET (status and digest) and MISC_CHECK.
const HTTP: &str = r#"
name = "http and misc checks"
duration = 30.0
tick_ms = 5

[[host]]
name = "lb"
role = "checker"
config = """
virtual_server 10.0.0.100 80 {
    delay_loop 1
    protocol TCP
    real_server 192.168.0.2 80 {
        HTTP_GET {
            url {
                path /health
                digest 444bcb3a3fcf8389296c49467f27e1d6
            }
            connect_timeout 1
            retry 0
        }
    }
    real_server 192.168.0.3 80 {
        MISC_CHECK {
            misc_path "/usr/local/bin/check web2"
            misc_timeout 2
        }
    }
}
"""

[[host]]
name = "web1"
role = "real_server"
listen = [80]
http = [{ path = "/health", status = 200, body = "ok" }]

[[host]]
name = "web2"
role = "real_server"
listen = [80]
"#;

#[test]
fn http_get_and_misc_check_run_against_simulated_servers() {
    // md5("ok") = 444bcb3a3fcf8389296c49467f27e1d6: both servers stay up.
    let sc = Scenario::parse(
        "http.toml",
        &format!("{HTTP}\n[[expect]]\nmax_rs_down = 0\n"),
    )
    .unwrap();
    let o = run(&sc, 1);
    assert!(o.ok(), "{:?} {:?}", o.violations, o.failed);
    // A 503, then the right status with another body (digest mismatch), then healthy;
    // the MISC_CHECK command fails then succeeds: three downs, each within its bound.
    let faults = "
[[event]]
at = 5.0
action = \"http\"
hosts = [\"web1\"]
path = \"/health\"
status = 503

[[event]]
at = 10.0
action = \"http\"
hosts = [\"web1\"]
path = \"/health\"
status = 200
body = \"changed\"

[[event]]
at = 15.0
action = \"http\"
hosts = [\"web1\"]
path = \"/health\"
status = 200
body = \"ok\"

[[event]]
at = 8.0
action = \"script\"
hosts = [\"lb\"]
script = \"/usr/local/bin/check web2\"
ok = false

[[event]]
at = 20.0
action = \"script\"
hosts = [\"lb\"]
script = \"/usr/local/bin/check web2\"
ok = true

[[expect]]
min_rs_down = 2
";
    let sc = Scenario::parse("http.toml", &format!("{HTTP}\n{faults}")).unwrap();
    for seed in [1, 2] {
        let o = run(&sc, seed);
        assert!(o.ok(), "seed {seed}: {:?} {:?}", o.violations, o.failed);
        let downs: Vec<&str> = o
            .trace
            .iter()
            .filter(|l| l.kind == Kind::Checker && l.detail.starts_with("Removing service"))
            .map(|l| l.detail.as_str())
            .collect();
        assert!(downs.iter().any(|d| d.contains("192.168.0.2")), "{downs:?}");
        assert!(downs.iter().any(|d| d.contains("192.168.0.3")), "{downs:?}");
    }
    // The invariants see a wrong answer as a failing server: a prober that declares the
    // healthy HTTP server down is caught.
    let sabotaged = HTTP.replacen(
        "role = \"checker\"",
        "role = \"checker\"\ninject = \"false_down\"",
        1,
    );
    let o = run(&Scenario::parse("http.toml", &sabotaged).unwrap(), 1);
    assert!(o
        .violations
        .iter()
        .any(|v| v.invariant.starts_with("a real server answering within")));
}

#[test]
fn ipv6_instances_elect_over_segments() {
    let text = TWO_LANS
        .replace("10.1.0.1/24", "2001:db8:1::1/64")
        .replace("10.2.0.1/24", "2001:db8:2::1/64")
        .replace("    advert_int 1\n", "    advert_int 1\n    version 3\n")
        + "\n[[expect]]\nat = 10.0\ninstance = \"VI_I\"\nmaster = \"a\"\n\
           [[expect]]\ninstance = \"VI_I\"\nmax_transitions = 2\n";
    let o = run(&Scenario::parse("v6.toml", &text).unwrap(), 1);
    assert!(o.ok(), "{:?} {:?}", o.violations, o.failed);
    assert!(o
        .trace
        .iter()
        .any(|l| l.detail.contains("NA 2001:db8:2::1")));
}

fn check(args: &[&Path], extra: &[&str]) -> (i32, String) {
    let out = sim().arg("check").args(args).args(extra).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn check_passes_the_director_pair_and_writes_junit() {
    let d = examples().join("director-pair");
    let junit = tmp("junit").join("check.xml");
    let (code, out) = check(
        &[&d.join("lvs1.conf"), &d.join("lvs2.conf")],
        &["--seeds", "1", "--junit", junit.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
    for row in [
        "baseline",
        "crash lvs1 and restart",
        "partition segment eth1 and heal",
        "one-way partition lvs1 -> lvs2 on eth0",
        "link eth1 down on lvs1",
        "reload lvs2 with its own config",
        "5% advert loss on eth0",
    ] {
        assert!(out.contains(row), "{row} missing:\n{out}");
    }
    // The real servers became simulated hosts on the internal segment.
    assert!(
        out.contains("rs-192.168.100.11 (eth0=eth1 192.168.100.11)"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuites")
            && xml.contains("crash lvs1 and restart")
            && !xml.contains("<failure"),
        "{xml}"
    );
}

#[test]
fn check_fails_a_split_brain_with_its_reproduction() {
    let d = examples().join("director-pair-broken");
    let (a, b) = (d.join("lvs1.conf"), d.join("lvs2.conf"));
    let junit = tmp("broken").join("check.xml");
    let (code, out) = check(
        &[&a, &b],
        &["--seeds", "1", "--junit", junit.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("split brain") && out.contains("[lvs1, lvs2]"),
        "{out}"
    );
    let repro = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("reproduce: "))
        .expect("a reproduction command")
        .to_string();
    assert!(
        repro.starts_with("keepalived-sim check ") && repro.contains("--only baseline --seed 1"),
        "{repro}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure") && xml.contains("split brain") && xml.contains("--only"),
        "{xml}"
    );
    // The reproduction command runs that one scenario and seed, and fails the same way.
    let trace = tmp("broken-trace").join("t.jsonl");
    let svg = trace.with_extension("svg");
    let (code, out) = check(
        &[&a, &b],
        &[
            "--only",
            "baseline",
            "--seed",
            "1",
            "--trace",
            trace.to_str().unwrap(),
            "--timeline",
            svg.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("split brain"), "{out}");
    assert!(
        std::fs::read_to_string(&svg).unwrap().starts_with("<svg")
            || std::fs::read_to_string(&svg).unwrap().starts_with("<?xml")
    );
    assert!(std::fs::read_to_string(&trace)
        .unwrap()
        .contains("\"kind\":\"state\""));
}

#[test]
fn check_warns_of_a_likely_topology_mistake_and_refuses_what_it_cannot_run() {
    let d = tmp("topology");
    let conf = |iface: &str, prio: u8| {
        format!("vrrp_instance VI_1 {{\n interface {iface}\n virtual_router_id 7\n priority {prio}\n advert_int 1\n virtual_ipaddress {{\n 10.7.0.1/24\n }}\n}}\n")
    };
    std::fs::write(d.join("a.conf"), conf("eth0", 200)).unwrap();
    std::fs::write(d.join("b.conf"), conf("ens3", 100)).unwrap();
    // Refused: every run would pass without the two instances ever meeting.
    let (code, out) = check(
        &[&d.join("a.conf"), &d.join("b.conf")],
        &["--seeds", "1", "--only", "baseline"],
    );
    assert!(
        out.contains("likely topology mistake") && out.contains("VRID 7"),
        "{out}"
    );
    assert_eq!(code, 2, "{out}");
    // Told they share a LAN, they elect one master.
    let (code, out) = check(
        &[&d.join("a.conf"), &d.join("b.conf")],
        &[
            "--segments",
            "b:ens3=eth0",
            "--seeds",
            "1",
            "--only",
            "baseline",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("likely topology mistake"), "{out}");
    // Something the simulator does not model is refused with the keyword, exit 2.
    std::fs::write(
        d.join("c.conf"),
        conf("eth0", 100).replace(
            " virtual_router_id 7",
            " track_process {\n  p\n }\n virtual_router_id 7",
        ) + "vrrp_track_process p {\n process sshd\n}\n",
    )
    .unwrap();
    let (code, out) = check(&[&d.join("a.conf"), &d.join("c.conf")], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("vrrp_track_process p") && out.contains("not simulated"),
        "{out}"
    );
}

#[test]
fn every_command_has_help_and_there_is_a_version() {
    for cmd in [
        &["--help"][..],
        &["run", "--help"],
        &["sweep", "--help"],
        &["check", "--help"],
        &["help", "check"],
    ] {
        let out = sim().args(cmd).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("usage"),
            "{cmd:?}: {text}"
        );
    }
    let out = sim().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("keepalived-sim "));
}

#[test]
fn run_writes_junit_trace_and_timeline() {
    let d = tmp("outputs");
    let scenario = examples().join("director-pair/internal-link-fails.toml");
    let (j, t, s) = (d.join("r.xml"), d.join("r.jsonl"), d.join("r.svg"));
    let out = sim()
        .arg("run")
        .arg(&scenario)
        .args([
            "--junit",
            j.to_str().unwrap(),
            "--trace",
            t.to_str().unwrap(),
            "--timeline",
            s.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let svg = std::fs::read_to_string(&s).unwrap();
    assert!(
        svg.contains("lvs1") && svg.contains("VI_INT") && svg.contains("LINK eth1 DOWN"),
        "{svg}"
    );
    let trace = std::fs::read_to_string(&t).unwrap();
    let fault = trace
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["kind"] == "fault")
        .unwrap();
    assert_eq!(fault["reason"], "link_down");
    assert!(std::fs::read_to_string(&j).unwrap().contains("testcase"));
}

/// `use_vmac`: the VMAC the daemon creates on the instance's interface is there and
/// follows its carrier, so the instance runs and fails over.
#[test]
fn vmac_instances_run_and_follow_their_interface() {
    let text = TWO_LANS.replace("    interface eth1\n", "    interface eth1\n    use_vmac\n")
        + "\n[[event]]\nat = 8.0\naction = \"link_down\"\nhosts = [\"a\"]\ninterface = \"eth1\"\n\
           [[expect]]\nat = 6.0\ninstance = \"VI_I\"\nmaster = \"a\"\n\
           [[expect]]\nat = 13.0\ninstance = \"VI_I\"\nmaster = \"b\"\n";
    let o = run(&Scenario::parse("vmac.toml", &text).unwrap(), 1);
    assert!(o.ok(), "{:?} {:?}", o.violations, o.failed);
}

/// What the review found must not pass: a multicast group mismatch is a split brain, and
/// hostile scenario values are refused rather than run.
#[test]
fn a_multicast_group_mismatch_is_a_split_brain() {
    let text = TWO_LANS.replacen(
        "    virtual_router_id 51\n    priority 100",
        "    mcast_dst_ip 224.0.0.20\n    virtual_router_id 51\n    priority 100",
        1,
    );
    let o = run(&Scenario::parse("mcast.toml", &text).unwrap(), 1);
    assert!(
        o.violations
            .iter()
            .any(|v| v.invariant.contains("split brain")),
        "{:?}",
        o.violations
    );
}

#[test]
fn hostile_scenario_values_are_refused() {
    let solo = "name = \"x\"\nduration = 5.0\n[[host]]\nname = \"a\"\ninterfaces = { eth0 = \"lan\", eth1 = \"solo\" }\n\
        config = \"vrrp_instance V {\\n interface eth0\\n virtual_router_id 1\\n virtual_ipaddress {\\n 10.0.0.1/24\\n }\\n}\\n\"\n";
    let e = err(
        "x.toml",
        &format!("{solo}[[event]]\nat = 1.0\naction = \"partition\"\nsegment = \"solo\"\n"),
    );
    assert!(e.contains("covers no pair"), "{e}");
    let e = err("x.toml", &format!("{solo}[[event]]\nat = 1.0\naction = \"clock\"\nhosts = [\"a\"]\ndrift_ppm = -1000000\n"));
    assert!(e.contains("drift_ppm"), "{e}");
    let e = err(
        "x.toml",
        &solo.replace("duration = 5.0", "duration = 5.0\nmax_latency_ms = 400"),
    );
    assert!(e.contains("max_latency_ms 400 is too large"), "{e}");
    let dup = TWO_LANS.replacen(
        "interfaces = { eth0 = \"ext\", eth1 = \"int\" }",
        "interfaces = { eth0 = \"ext\", eth1 = \"int\" }\naddresses = { eth0 = \"192.168.0.2\" }",
        1,
    );
    let e = err("x.toml", &dup);
    assert!(e.contains("both hold 192.168.0.2"), "{e}");
}

#[test]
fn check_refuses_unicast_peers_on_other_segments() {
    let d = tmp("unicast");
    let conf = |iface: &str, me: &str, peer: &str, prio: u8| {
        format!("vrrp_instance VI_1 {{\n interface {iface}\n unicast_src_ip {me}\n unicast_peer {{\n  {peer}\n }}\n virtual_router_id 8\n priority {prio}\n advert_int 1\n virtual_ipaddress {{\n 10.8.0.1/24\n }}\n}}\n")
    };
    std::fs::write(
        d.join("ua.conf"),
        conf("eth0", "10.0.0.11", "10.0.0.12", 200),
    )
    .unwrap();
    std::fs::write(
        d.join("ub.conf"),
        conf("ens3", "10.0.0.12", "10.0.0.11", 100),
    )
    .unwrap();
    let (code, out) = check(&[&d.join("ua.conf"), &d.join("ub.conf")], &["--seeds", "1"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("unicast_peer 10.0.0.12") && out.contains("--segments"),
        "{out}"
    );
    // Placed on one segment, they elect one master and pass.
    let (code, out) = check(
        &[&d.join("ua.conf"), &d.join("ub.conf")],
        &[
            "--segments",
            "ub:ens3=eth0",
            "--seeds",
            "1",
            "--only",
            "baseline",
        ],
    );
    assert_eq!(code, 0, "{out}");
}
