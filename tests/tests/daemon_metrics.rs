//! `--metrics`: `/metrics`, `/healthz` and `/status` over HTTP from a daemon in a
//! namespace, as Prometheus and a Kubernetes probe would ask.
//!
//! - Every metric of the keepalived exporter (the saved list
//!   `tests/data/keepalived-exporter-metrics.txt`) is served with exactly its label
//!   names, and the values are the instances' (state by VIP with its prefix, an
//!   instance without VIPs under an empty address, counters by `{iname, intf, vrid}`).
//! - keepalived-rs's own: transitions, time in state, takeover time, probe times by
//!   checker and outcome, each real server's state.
//! - `/healthz` answers 200 once every instance has left INIT and every real server has
//!   been checked; `/status` is the JSON dump (`keepalived.json`).
//! - A VRRP child killed and respawned answers again; bad requests are refused and the
//!   endpoint goes on serving.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use keepalived_tests::host::{can_run, in_netns, tmp_dir, wait_for, Daemon, Netns};

const ADDR: &str = "127.0.0.1:9650";

fn netns(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    ns.ip(&["link", "set", "d0", "up"]);
    ns.ip(&["link", "set", "d1", "up"]);
    ns.ip(&["addr", "add", "10.96.0.1/24", "dev", "d0"]);
    ns
}

const CONFIG: &str = "global_defs {\n  router_id kmx\n  enable_script_security\n  script_user root\n}\n\
vrrp_script chk {\n  script \"/usr/bin/true\"\n  interval 1\n}\n\
vrrp_instance VI_1 {\n  interface d0\n  state MASTER\n  virtual_router_id 61\n  priority 150\n  \
advert_int 1\n  virtual_ipaddress {\n    10.96.0.100/24\n    10.96.0.101/24 dev d0\n  }\n  \
virtual_ipaddress_excluded {\n    10.96.0.200/24\n  }\n  track_script {\n    chk\n  }\n}\n\
vrrp_instance VI_2 {\n  interface d0\n  state BACKUP\n  virtual_router_id 62\n  priority 100\n  advert_int 1\n}\n\
virtual_server 10.96.0.100 8080 {\n  delay_loop 1\n  lb_kind NAT\n  protocol TCP\n  \
real_server 10.96.0.1 8081 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n  \
real_server 10.96.0.1 8082 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n";

/// One HTTP exchange inside the namespace: the status and the body (`raw` is sent as is).
fn exchange(ns: &str, raw: &[u8]) -> Option<(u16, String)> {
    in_netns(ns, || {
        let mut s =
            TcpStream::connect_timeout(&ADDR.parse().unwrap(), Duration::from_secs(1)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(raw).ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).ok()?;
        let text = String::from_utf8_lossy(&out).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split(' ').nth(1)?.parse().ok()?;
        Some((status, body.to_string()))
    })
}

fn get(ns: &str, path: &str) -> Option<(u16, String)> {
    exchange(
        ns,
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
    )
}

/// A sample: its name, its labels, its value.
type Sample = (String, BTreeMap<String, String>, f64);

/// The samples of a Prometheus text exposition.
fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("sample line");
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once("=\"").expect("label");
                    (k.to_string(), v.trim_end_matches('"').to_string())
                })
                .collect();
            (name.to_string(), labels, value.parse().expect("value"))
        })
        .collect()
}

/// The value of `name` whose labels include every one of `want`.
fn value(s: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    s.iter()
        .find(|(n, l, _)| {
            n == name
                && want
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
}

#[test]
fn metrics_healthz_and_status_are_served_with_the_exporters_names() {
    if !can_run(
        "metrics_healthz_and_status_are_served_with_the_exporters_names",
        &["ip"],
    ) {
        return;
    }
    let ns = netns("kmx-a");
    let dir = tmp_dir("metrics");
    let conf = dir.join("kmx.conf");
    std::fs::write(&conf, CONFIG).unwrap();
    // The real server on 8081 answers; nothing listens on 8082.
    let _server = in_netns(&ns.name, || TcpListener::bind("10.96.0.1:8081").unwrap());
    let daemon = Daemon::ours(&ns, &conf, &dir, "kmx", &["--metrics", ADDR]);

    // Settled: both instances out of INIT, both real servers checked.
    let healthy = wait_for(Duration::from_secs(20), || {
        get(&ns.name, "/healthz").is_some_and(|(s, _)| s == 200)
    });
    assert!(
        healthy.is_some(),
        "/healthz never 200: {:?}\n{}",
        get(&ns.name, "/healthz"),
        daemon.log_text()
    );
    // VI_2 has no peer: it takes over after its master-down interval.
    let scrape = || samples(&get(&ns.name, "/metrics").expect("/metrics").1);
    let vi2_master = wait_for(Duration::from_secs(10), || {
        value(&scrape(), "keepalived_vrrp_state", &[("iname", "VI_2")]) == Some(2.0)
    });
    assert!(
        vi2_master.is_some(),
        "VI_2 never MASTER\n{}",
        daemon.log_text()
    );
    // Probes of both outcomes have been timed, and VI_1 has sent adverts as master.
    wait_for(Duration::from_secs(10), || {
        let s = scrape();
        value(
            &s,
            "keepalived_advertisements_sent_total",
            &[("iname", "VI_1")],
        )
        .is_some_and(|n| n >= 2.0)
            && ["up", "down"].iter().all(|r| {
                value(
                    &s,
                    "keepalived_rs_check_probe_duration_seconds_count",
                    &[("checker", "TCP_CHECK"), ("result", r)],
                )
                .is_some_and(|n| n >= 1.0)
            })
    });

    let (status, text) = get(&ns.name, "/metrics").unwrap();
    assert_eq!(status, 200);
    let s = samples(&text);

    // Every name of the exporter, with its label names exactly.
    let saved = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("data/keepalived-exporter-metrics.txt"),
    )
    .unwrap();
    for line in saved
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut parts = line.split_whitespace();
        let name = parts.next().unwrap();
        let labels: BTreeSet<&str> = parts
            .next()
            .map(|l| l.split(',').collect())
            .unwrap_or_default();
        let found: Vec<_> = s.iter().filter(|(n, _, _)| n == name).collect();
        assert!(!found.is_empty(), "{name} is not served:\n{text}");
        for (_, l, _) in found {
            let got: BTreeSet<&str> = l.keys().map(String::as_str).collect();
            assert_eq!(got, labels, "{name}'s labels");
        }
    }

    // The values, as the exporter would have read them from keepalived's dumps.
    let v = |name: &str, want: &[(&str, &str)]| {
        value(&s, name, want).unwrap_or_else(|| panic!("no {name} {want:?}\n{text}"))
    };
    assert_eq!(v("keepalived_up", &[]), 1.0);
    for vip in ["10.96.0.100/24", "10.96.0.101/24"] {
        assert_eq!(
            v(
                "keepalived_vrrp_state",
                &[
                    ("iname", "VI_1"),
                    ("intf", "d0"),
                    ("vrid", "61"),
                    ("ip_address", vip)
                ]
            ),
            2.0
        );
    }
    assert_eq!(
        v(
            "keepalived_vrrp_state",
            &[
                ("iname", "VI_2"),
                ("intf", "d0"),
                ("vrid", "62"),
                ("ip_address", "")
            ]
        ),
        2.0
    );
    assert_eq!(
        v(
            "keepalived_vrrp_excluded_state",
            &[("iname", "VI_1"), ("ip_address", "10.96.0.200/24")]
        ),
        2.0
    );
    assert_eq!(
        v(
            "keepalived_become_master_total",
            &[("iname", "VI_1"), ("intf", "d0"), ("vrid", "61")]
        ),
        1.0
    );
    assert!(
        v("keepalived_advertisements_sent_total", &[("iname", "VI_1")]) >= 2.0,
        "{text}"
    );
    assert_eq!(v("keepalived_script_status", &[("name", "chk")]), 1.0);
    assert_eq!(
        v(
            "keepalived_advertisements_interval_errors_total",
            &[("iname", "VI_2")]
        ),
        0.0
    );

    // Ours.
    assert_eq!(
        v(
            "keepalived_rs_vrrp_transitions_total",
            &[("iname", "VI_2"), ("state", "BACKUP")]
        ),
        1.0
    );
    assert_eq!(
        v(
            "keepalived_rs_vrrp_transitions_total",
            &[("iname", "VI_2"), ("state", "MASTER")]
        ),
        1.0
    );
    assert!(
        v(
            "keepalived_rs_vrrp_state_seconds_total",
            &[("iname", "VI_2"), ("state", "BACKUP")]
        ) >= 2.0
    );
    assert!(v("keepalived_rs_vrrp_takeover_seconds_count", &[]) >= 1.0);
    assert_eq!(
        v(
            "keepalived_rs_vrrp_effective_priority",
            &[("iname", "VI_1")]
        ),
        150.0
    );
    assert_eq!(v("keepalived_rs_child_up", &[("process", "vrrp")]), 1.0);
    assert_eq!(v("keepalived_rs_child_up", &[("process", "checker")]), 1.0);
    let rs = |port: &str| {
        s.iter()
            .find(|(n, l, _)| {
                n == "keepalived_rs_check_real_server_up" && l["real_server"].contains(port)
            })
            .map(|(_, _, v)| *v)
            .unwrap_or_else(|| panic!("no real server {port}\n{text}"))
    };
    assert_eq!((rs("8081"), rs("8082")), (1.0, 0.0));

    // /status is keepalived.json.
    let (status, json) = get(&ns.name, "/status").unwrap();
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["data"]["iname"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["VI_1", "VI_2"]);
    assert_eq!(json[0]["data"]["state"], 2);

    // Refused without stopping the endpoint.
    assert_eq!(
        exchange(&ns.name, b"POST /metrics HTTP/1.1\r\n\r\n").map(|r| r.0),
        Some(405)
    );
    assert_eq!(get(&ns.name, "/nope").map(|r| r.0), Some(404));
    // A head of the most the endpoint reads (8 KiB) without an end of line.
    assert_eq!(exchange(&ns.name, &[b'x'; 8192]).map(|r| r.0), Some(400));
    let head = exchange(&ns.name, b"HEAD /metrics HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(head, (200, String::new()));

    // Clients that connect and send nothing hold none of the others up: each waits on
    // its own deadline (one thread for all made the last wait 7 × 2 s, past the 5 s
    // this client waits).
    let idle: Vec<TcpStream> = in_netns(&ns.name, || {
        (0..7).map(|_| TcpStream::connect(ADDR).unwrap()).collect()
    });
    assert_eq!(get(&ns.name, "/healthz").map(|r| r.0), Some(200));
    drop(idle);

    // A VRRP child killed is restarted, and answers again.
    let old = Daemon::pid_of(&dir, "kmx", "r").expect("VRRP pidfile");
    // SAFETY: killing the daemon's VRRP child.
    unsafe { libc::kill(old, libc::SIGKILL) };
    let back = wait_for(Duration::from_secs(20), || {
        Daemon::pid_of(&dir, "kmx", "r").is_some_and(|p| p != old)
            && get(&ns.name, "/metrics").is_some_and(|(_, t)| {
                let s = samples(&t);
                value(&s, "keepalived_up", &[]) == Some(1.0)
                    && value(&s, "keepalived_rs_child_up", &[("process", "vrrp")]) == Some(1.0)
            })
    });
    assert!(
        back.is_some(),
        "the respawned VRRP child never answered\n{}",
        daemon.log_text()
    );
    daemon.stop();
}

/// The exporter's counters and the keepalived.json statistic each is read from
/// (mehdy/keepalived-exporter's `VRRPStats` and `Collect()`).
const EXPORTER_STATS: [(&str, &str); 14] = [
    ("keepalived_advertisements_received_total", "advert_rcvd"),
    ("keepalived_advertisements_sent_total", "advert_sent"),
    ("keepalived_become_master_total", "become_master"),
    ("keepalived_release_master_total", "release_master"),
    ("keepalived_packet_length_errors_total", "packet_len_err"),
    (
        "keepalived_advertisements_interval_errors_total",
        "advert_interval_err",
    ),
    ("keepalived_ip_ttl_errors_total", "ip_ttl_err"),
    (
        "keepalived_invalid_type_received_total",
        "invalid_type_rcvd",
    ),
    ("keepalived_address_list_errors_total", "addr_list_err"),
    (
        "keepalived_authentication_invalid_total",
        "invalid_authtype",
    ),
    (
        "keepalived_authentication_mismatch_total",
        "authtype_mismatch",
    ),
    ("keepalived_authentication_failure_total", "auth_failure"),
    ("keepalived_priority_zero_received_total", "pri_zero_rcvd"),
    ("keepalived_priority_zero_sent_total", "pri_zero_sent"),
];

/// What the exporter serves for keepalived's `keepalived.json`, by its rules: the
/// counters by `{iname, intf, vrid}`, the state by VIP (the VIP string's first and third
/// words), or under the instance's interface and an empty address without VIPs.
fn exporter_view(json: &serde_json::Value) -> Vec<Sample> {
    let mut out = Vec::new();
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    for i in json.as_array().expect("keepalived.json is an array") {
        let (d, st) = (&i["data"], &i["stats"]);
        let iname = d["iname"].as_str().unwrap();
        let intf = d["ifp_ifname"].as_str().unwrap();
        let vrid = d["vrid"].to_string();
        let common = labels(&[("iname", iname), ("intf", intf), ("vrid", &vrid)]);
        for (name, key) in EXPORTER_STATS {
            out.push((
                name.to_string(),
                common.clone(),
                st[key].as_f64().unwrap_or(0.0),
            ));
        }
        out.push((
            "keepalived_gratuitous_arp_delay_total".into(),
            common.clone(),
            d["garp_delay"].as_f64().unwrap(),
        ));
        let state = d["state"].as_f64().unwrap();
        for (key, name) in [
            ("vips", "keepalived_vrrp_state"),
            ("evips", "keepalived_vrrp_excluded_state"),
        ] {
            let vips: Vec<&str> = d[key]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            for vip in &vips {
                let w: Vec<&str> = vip.split(' ').collect();
                let l = labels(&[
                    ("iname", iname),
                    ("intf", w[2]),
                    ("vrid", &vrid),
                    ("ip_address", w[0]),
                ]);
                out.push((name.to_string(), l, state));
            }
            if vips.is_empty() && key == "vips" {
                let l = labels(&[
                    ("iname", iname),
                    ("intf", intf),
                    ("vrid", &vrid),
                    ("ip_address", ""),
                ]);
                out.push((name.to_string(), l, state));
            }
        }
    }
    out
}

/// keepalived.data's script section as the exporter reads it: `Status` GOOD/BAD → 1/0,
/// `State` idle/running → 0/1, by script name.
fn exporter_scripts(data: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut name = None;
    for line in data.lines() {
        if let Some(n) = line.strip_prefix(" VRRP Script = ") {
            name = Some(n.trim().to_string());
            continue;
        }
        let Some(n) = &name else { continue };
        let l: BTreeMap<String, String> = [("name".to_string(), n.clone())].into();
        if let Some(v) = line.strip_prefix("   Status = ") {
            out.push((
                "keepalived_script_status".into(),
                l.clone(),
                f64::from(u8::from(v.trim() == "GOOD")),
            ));
        } else if let Some(v) = line.strip_prefix("   State = ") {
            let n = [
                "idle",
                "running",
                "requested termination",
                "forcing termination",
            ]
            .iter()
            .position(|s| *s == v.trim())
            .unwrap();
            out.push(("keepalived_script_state".into(), l, n as f64));
            name = None;
        }
    }
    out
}

#[test]
fn the_exporter_reads_the_same_from_us_as_from_keepalived() {
    const KEEPALIVED: &str = "/usr/sbin/keepalived";
    let test = "the_exporter_reads_the_same_from_us_as_from_keepalived";
    let ok = can_run(test, &["ip"]) && Path::new(KEEPALIVED).exists();
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "{test} must run in CI"
    );
    if !ok {
        return;
    }
    let dir = tmp_dir("metrics-parity");
    // VRRP only: keepalived 2.2.7's checker exits on a kernel without IPVS.
    let vrrp_only = CONFIG.split("virtual_server").next().unwrap();
    let conf = dir.join("both.conf");
    std::fs::write(&conf, vrrp_only).unwrap();
    let (ours_ns, theirs_ns) = (netns("kmx-o"), netns("kmx-k"));
    let ours = Daemon::ours(&ours_ns, &conf, &dir, "o", &["-P", "--metrics", ADDR]);
    let tmp = dir.join("k.tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let file = |ext: &str| dir.join(format!("k.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let theirs = Daemon::start_with_env(
        &theirs_ns,
        Path::new(KEEPALIVED),
        &[
            "-n", "-l", "-D", "-P", "-f", &c, "-p", &p, "-r", &r, "-c", &k,
        ],
        &[("TMPDIR", &tmp)],
        dir.join("k.log"),
    );
    // Both instances master on both (VI_2 after its master-down interval), and a few
    // adverts out.
    let ready = wait_for(Duration::from_secs(20), || {
        get(&ours_ns.name, "/metrics").is_some_and(|(_, t)| {
            let s = samples(&t);
            ["VI_1", "VI_2"]
                .iter()
                .all(|i| value(&s, "keepalived_vrrp_state", &[("iname", i)]) == Some(2.0))
        })
    });
    assert!(ready.is_some(), "ours never settled\n{}", ours.log_text());
    std::thread::sleep(Duration::from_secs(3));
    let pid = Daemon::pid_of(&dir, "k", "p").expect("keepalived's pidfile");
    // SAFETY: signals to keepalived's parent, which passes them to its VRRP child.
    unsafe {
        libc::kill(pid, libc::SIGRTMIN() + 2);
        libc::kill(pid, libc::SIGUSR1);
    }
    let (ours_text, json, data) = {
        let read = |name: &str| {
            let path = tmp.join(name);
            wait_for(Duration::from_secs(5), || {
                std::fs::metadata(&path).is_ok_and(|m| m.len() > 0)
            });
            std::thread::sleep(Duration::from_millis(200));
            std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("keepalived wrote no {name}\n{}", theirs.log_text()))
        };
        let (json, data) = (read("keepalived.json"), read("keepalived.data"));
        (get(&ours_ns.name, "/metrics").unwrap().1, json, data)
    };
    let json: serde_json::Value = serde_json::from_str(&json).expect("keepalived.json");
    let mut want = exporter_view(&json);
    want.extend(exporter_scripts(&data));
    assert!(want.len() > 30, "too little read from keepalived: {want:?}");
    let got = samples(&ours_text);
    for (name, labels, v) in &want {
        let mine = got
            .iter()
            .find(|(n, l, _)| n == name && l == labels)
            .map(|(_, _, v)| *v)
            .unwrap_or_else(|| {
                panic!("keepalived gives {name}{labels:?}; ours has no such series\n{ours_text}")
            });
        // Adverts go out once a second on each: the two daemons started apart and were
        // read apart, so those may differ by a few.
        let slack = if name.starts_with("keepalived_advertisements_sent") {
            2.0
        } else {
            0.0
        };
        assert!(
            (mine - v).abs() <= slack,
            "{name}{labels:?}: keepalived {v}, ours {mine}"
        );
    }
    ours.stop();
    theirs.stop();
}
