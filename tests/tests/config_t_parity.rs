//! `keepalived-rs -t` judges a configuration as `keepalived -t` (2.2.7) does: the same
//! exit status (0 OK, 4 fatal, 5 configuration errors, 6 script security) for
//! keepalived's own sample configurations, the project's corpus and the cases below,
//! each run by both binaries in the same network namespace: once with interfaces
//! `eth0` and `eth1` (what most samples name) and once with loopback alone.
//!
//! The samples are keepalived's (GPL) and are not copied here: they are read from the
//! keepalived package installed on the machine (Debian's ships them in
//! /usr/share/doc/keepalived/samples). Where the two disagree on purpose, [`EXCEPTIONS`]
//! says so and why, and holds both statuses, so a change on either side shows.

use std::path::{Path, PathBuf};

use keepalived_tests::host::{have, is_root, keepalived_rs, tmp_dir, Netns};
use keepalived_tests::{conf_files, crate_dir};

const KEEPALIVED: &str = "/usr/sbin/keepalived";
const SAMPLES: &str = "/usr/share/doc/keepalived/samples";

/// The interfaces a namespace has besides loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    /// `eth0` and `eth1`, up (a veth pair).
    Eth,
    /// Loopback only.
    Bare,
}

/// A file on which the two exit statuses differ, and why that is right.
struct Exception {
    file: &'static str,
    /// The environments it differs in.
    envs: &'static [Env],
    keepalived: i32,
    ours: i32,
    why: &'static str,
}

const EXCEPTIONS: &[Exception] = &[
    Exception {
        file: "keepalived.conf.vrrp.localcheck",
        envs: &[Env::Eth, Env::Bare],
        keepalived: 5,
        ours: 6,
        why: "it tracks eth2/eth3, which do not exist: keepalived's VRRP validation stops at \
              'Non-existent interface' (start_vrrp() returns before vrrp_complete_init()) and \
              never reaches its script-security check; keepalived-rs reports the missing \
              interfaces and also that the vrrp_scripts run as root without \
              enable_script_security, which is exit 6",
    },
    Exception {
        file: "02-vrrp-full.conf",
        envs: &[Env::Eth, Env::Bare],
        keepalived: 5,
        ours: 6,
        why: "as localcheck: a missing interface (eth2, and without eth0/eth1 many more) ends \
              keepalived's VRRP validation before the script-security check, which \
              keepalived-rs still makes",
    },
    Exception {
        file: "04-language.conf",
        envs: &[Env::Bare],
        keepalived: 5,
        ours: 6,
        why: "as localcheck, without eth0: keepalived never judges the scripts",
    },
    Exception {
        file: "03-lvs-full.conf",
        envs: &[Env::Eth, Env::Bare],
        keepalived: 5,
        ours: 6,
        why: "keepalived 2.2.7 never reports the checker scripts run as root without \
              enable_script_security here (a variant without the virtual_server_group gets \
              itself killed by SIGTERM during the check); keepalived-rs reports them",
    },
    Exception {
        file: "06-errors-structure.conf",
        envs: &[Env::Eth, Env::Bare],
        keepalived: 139,
        ours: 5,
        why: "keepalived 2.2.7 crashes (SIGSEGV) on these structure errors; keepalived-rs \
              reports each with its line",
    },
    Exception {
        file: "08-include-cycle.conf",
        envs: &[Env::Eth, Env::Bare],
        keepalived: 0,
        ours: 4,
        why: "keepalived follows the include cycle until it runs out of file descriptors, \
              then skips the include ('Too many open files') and passes; keepalived-rs \
              refuses the cycle as fatal",
    },
];

/// Small configurations for the rules this parity rests on, written to the test's
/// directory: keepalived 2.2.7's status for each is in the comment.
const CASES: &[(&str, &str)] = &[
    // 5 without the interface: "Non-existent interface specified in configuration".
    (
        "missing-instance-interface.conf",
        "vrrp_instance A {\n interface kdi9none\n virtual_router_id 5\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
    (
        "missing-vip-dev.conf",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  10.0.0.1/24 dev kdi9none\n }\n}\n",
    ),
    (
        "missing-route-dev.conf",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  10.0.0.1\n }\n virtual_routes {\n  10.9.0.0/16 via 10.0.0.254 dev kdi9none\n }\n}\n",
    ),
    (
        "missing-track-interface.conf",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n track_interface {\n  kdi9none\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
    // 0: with dynamic_interfaces the instance waits for its interface.
    (
        "dynamic-interfaces.conf",
        "global_defs {\n dynamic_interfaces\n}\nvrrp_instance A {\n interface kdi9none\n virtual_router_id 5\n track_interface {\n  kdi9none2\n }\n virtual_ipaddress {\n  10.0.0.1/24 dev kdi9none\n }\n}\n",
    ),
    // 5: "Unknown dynamic_interfaces option".
    (
        "dynamic-interfaces-option.conf",
        "global_defs {\n dynamic_interfaces allow_if_change\n}\nvrrp_instance A {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
    // 4: an unknown linkbeat interface is fatal.
    ("missing-linkbeat.conf", "linkbeat_interfaces {\n kdi9none\n}\n"),
    // 5: keepalived's status is its least serious report's, here the instance's.
    (
        "missing-linkbeat-and-instance.conf",
        "linkbeat_interfaces {\n kdi9none\n}\nvrrp_instance A {\n interface kdi9none2\n virtual_router_id 5\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
    // 0: dynamic_interfaces lets linkbeat and delays name interfaces yet to come.
    (
        "dynamic-linkbeat.conf",
        "global_defs {\n dynamic_interfaces\n}\nlinkbeat_interfaces {\n kdi9none\n}\ninterface_up_down_delays {\n kdi9none 1 1\n}\n",
    ),
    // 4: a static address needs its default interface.
    (
        "static-default-interface.conf",
        "global_defs {\n default_interface kdi9none\n}\nstatic_ipaddress {\n 10.1.0.1/24\n}\n",
    ),
    // 5: "Initial state master is incompatible with AH authentication - clearing".
    (
        "ah-master.conf",
        "vrrp_instance A {\n interface eth0\n state MASTER\n priority 100\n virtual_router_id 5\n authentication {\n  auth_type AH\n  auth_pass secret\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
    // 0: the address owner may start as master with AH.
    (
        "ah-owner.conf",
        "vrrp_instance A {\n interface eth0\n state MASTER\n priority 255\n virtual_router_id 5\n authentication {\n  auth_type AH\n  auth_pass secret\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
    // 5: "protocol specified for fwmark - protocol will be ignored".
    (
        "fwmark-protocol.conf",
        "virtual_server fwmark 3 {\n lvs_method NAT\n protocol UDP\n real_server 10.0.0.2 53 {\n  TCP_CHECK {\n  }\n }\n}\n",
    ),
    // 5: "A unicast keyword has been specified without any unicast peers".
    (
        "empty-unicast-peer.conf",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n unicast_peer {\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
    // 5: "Cannot use unicast_ttl without unicast peers - resetting".
    (
        "unicast-ttl-without-peers.conf",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n unicast_ttl 5\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
    // 0: with unicast_fault_no_peer, no peers means FAULT at run time, not a bad config.
    (
        "empty-unicast-peer-fault.conf",
        "vrrp_instance A {\n interface eth0\n virtual_router_id 5\n unicast_fault_no_peer\n unicast_peer {\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
    ),
];

/// Whether the test can run here; if not, why (a failure under CI, else a skip).
fn unavailable() -> Option<String> {
    if !is_root() {
        return Some("it needs root (network namespaces)".into());
    }
    if !have("ip") {
        return Some("`ip` is not installed".into());
    }
    if !Path::new(KEEPALIVED).exists() {
        return Some(format!(
            "{KEEPALIVED} is not installed (apt-get install keepalived)"
        ));
    }
    if !Path::new(SAMPLES).is_dir() {
        return Some(format!(
            "{SAMPLES} is missing (Debian's keepalived package ships it)"
        ));
    }
    None
}

/// keepalived's exit status for `-t` on `file` in `ns`, and what it reported.
fn keepalived_t(ns: &Netns, file: &Path, log: &Path) -> (i32, String) {
    let _ = std::fs::remove_file(log);
    let mut config_test = std::ffi::OsString::from("--config-test=");
    config_test.push(log);
    let st = ns
        .command(KEEPALIVED)
        .arg(config_test)
        .arg("-f")
        .arg(file)
        .current_dir(file.parent().expect("a file in a directory"))
        .output()
        .expect("run keepalived");
    (
        status(&st.status),
        std::fs::read_to_string(log).unwrap_or_default(),
    )
}

fn ours_t(ns: &Netns, file: &Path) -> (i32, String) {
    let out = ns
        .command(&keepalived_rs().display().to_string())
        .arg("-t")
        .arg("-f")
        .arg(file)
        .current_dir(file.parent().expect("a file in a directory"))
        .output()
        .expect("run keepalived-rs");
    (
        status(&out.status),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The exit code, or 128 + the signal, as a shell shows it.
fn status(s: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
}

fn namespace(name: &str, env: Env) -> Netns {
    let ns = Netns::new(name);
    if env == Env::Eth {
        ns.ip(&[
            "link", "add", "eth0", "type", "veth", "peer", "name", "eth1",
        ]);
        ns.ip(&["link", "set", "eth0", "up"]);
        ns.ip(&["link", "set", "eth1", "up"]);
    }
    ns
}

#[test]
fn t_exit_codes_agree_with_keepalived() {
    if let Some(why) = unavailable() {
        assert!(
            std::env::var_os("CI").is_none(),
            "t_exit_codes_agree_with_keepalived must run in CI, but {why}"
        );
        eprintln!("SKIP t_exit_codes_agree_with_keepalived: {why}");
        return;
    }
    let dir = tmp_dir("t-parity");
    let mut files: Vec<PathBuf> = std::fs::read_dir(SAMPLES)
        .expect("samples")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("keepalived.conf."))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 20, "samples went missing: {files:?}");
    files.extend(conf_files(&crate_dir().join("configs")));
    for (name, text) in CASES {
        let f = dir.join(name);
        std::fs::write(&f, text).expect("write case");
        files.push(f);
    }

    let mut table = String::new();
    let mut wrong = Vec::new();
    for (env, ns_name) in [(Env::Eth, "kdi92"), (Env::Bare, "kdi93")] {
        let ns = namespace(ns_name, env);
        for f in &files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let (k, k_said) = keepalived_t(&ns, f, &dir.join("keepalived-t.log"));
            let (o, o_said) = ours_t(&ns, f);
            table.push_str(&format!(
                "{env:?}\t{name}\tkeepalived {k}\tkeepalived-rs {o}\n"
            ));
            let excused = EXCEPTIONS
                .iter()
                .find(|x| x.file == name && x.envs.contains(&env));
            let ok = match excused {
                Some(x) => (x.keepalived, x.ours) == (k, o),
                None => k == o,
            };
            if !ok {
                wrong.push(format!(
                    "{env:?} {name}: keepalived {k}, keepalived-rs {o}{}\n--- keepalived said:\n{k_said}\n--- keepalived-rs said:\n{o_said}",
                    match excused {
                        Some(x) => format!(" (listed as {} vs {}: {})", x.keepalived, x.ours, x.why),
                        None => String::new(),
                    }
                ));
            }
        }
    }
    eprintln!("{table}");
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    let _ = std::fs::remove_dir_all(&dir);
}
