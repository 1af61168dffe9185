//! Adverts captured from the real keepalived (2.2.7, run in a network namespace) parse
//! and validate with our codec: v2 PASS, v2 AH, v3 over IPv4 and v3 over IPv6. With the
//! right password every advert is accepted, AH sequence numbers included; with a wrong
//! one every advert fails authentication.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::vrrp::receive::{Check, Reason, Verdict};
use keepalived_linux::tools::pcap_decode::{decode, read_frames, Decoded, Report};
use keepalived_tests::host::{can_run, Netns};

const ADVERTS: usize = 3;

struct Variant {
    tag: &'static str,
    body: &'static str,
    ipv6: bool,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        tag: "v2pass",
        body: "authentication {\n auth_type PASS\n auth_pass PASSWORD\n }\n virtual_ipaddress { 192.168.77.100/24 }",
        ipv6: false,
    },
    Variant {
        tag: "v2ah",
        body: "authentication {\n auth_type AH\n auth_pass PASSWORD\n }\n virtual_ipaddress { 192.168.77.100/24 }",
        ipv6: false,
    },
    Variant { tag: "v3ipv4", body: "version 3\n virtual_ipaddress { 192.168.77.100/24 192.168.77.101/24 }", ipv6: false },
    Variant {
        tag: "v3ipv6",
        body: "version 3\n virtual_ipaddress { fe80::100/64 2001:db8:77::100/64 }",
        ipv6: true,
    },
];

fn config(v: &Variant, password: &str) -> String {
    format!(
        "global_defs {{\n router_id kars_{tag}\n}}\nvrrp_instance VI_1 {{\n state MASTER\n interface va\n \
         virtual_router_id 51\n priority 255\n advert_int 1\n {body}\n}}\n",
        tag = v.tag,
        body = v.body.replace("PASSWORD", password)
    )
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs keepalived in its own namespace and captures its first adverts.
fn capture(v: &Variant, dir: &Path) -> PathBuf {
    let ns = Netns::new(&format!("kars-wire-{}", v.tag));
    // No duplicate address detection, so the link-local source exists at once.
    let mut sysctl = ns.command("sysctl");
    sysctl.args([
        "-qw",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
    ]);
    assert!(sysctl.status().expect("sysctl").success());
    ns.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
    ns.ip(&["link", "set", "va", "up"]);
    ns.ip(&["link", "set", "vb", "up"]);
    ns.ip(&["addr", "add", "192.168.77.1/24", "dev", "va"]);
    if v.ipv6 {
        ns.ip(&["addr", "add", "fe80::1/64", "dev", "va", "nodad"]);
    }
    let conf = dir.join(format!("{}.conf", v.tag));
    std::fs::write(&conf, config(v, "secret1")).expect("write config");
    let pcap = dir.join(format!("{}.pcap", v.tag));

    let mut tcpdump = ns.command("tcpdump");
    tcpdump
        .args(["-i", "va", "-U", "-c", &ADVERTS.to_string(), "-w"])
        .arg(&pcap)
        .arg("ip proto 112 or ip proto 51 or ip6 proto 112")
        .stderr(Stdio::piped())
        .stdout(Stdio::null());
    let mut tcpdump = Killed(tcpdump.spawn().expect("start tcpdump"));
    // tcpdump says "listening on" once its filter is attached.
    let mut line = String::new();
    BufReader::new(tcpdump.0.stderr.take().expect("stderr"))
        .read_line(&mut line)
        .expect("tcpdump output");
    assert!(line.contains("listening"), "tcpdump: {line}");

    let mut keepalived = ns.command("keepalived");
    keepalived
        .args(["-n", "-l", "-D", "-P", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join(format!("{}.pid", v.tag)))
        .arg("-r")
        .arg(dir.join(format!("{}.vrrp.pid", v.tag)))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _keepalived = Killed(keepalived.spawn().expect("start keepalived"));

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = tcpdump.0.try_wait().expect("wait tcpdump") {
            assert!(status.success(), "tcpdump exited with {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: keepalived sent fewer than {ADVERTS} adverts in 20 s",
            v.tag
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    pcap
}

fn verdicts(reports: &[Report]) -> Vec<Verdict> {
    reports
        .iter()
        .filter_map(|r| match &r.decoded {
            Decoded::Advert {
                instances,
                advert,
                error,
                ..
            } => {
                assert!(
                    advert.is_some(),
                    "frame {} did not decode: {error:?}",
                    r.frame
                );
                assert_eq!(
                    instances.len(),
                    1,
                    "frame {}: one instance should match",
                    r.frame
                );
                Some(instances[0].verdict.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn keepalived_adverts_validate_with_our_codec() {
    if !can_run(
        "keepalived_adverts_validate_with_our_codec",
        &["keepalived", "tcpdump", "ip"],
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("kars-wire-keepalived-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let captures: Vec<(&Variant, PathBuf)> = std::thread::scope(|s| {
        let handles: Vec<_> = VARIANTS
            .iter()
            .map(|v| (v, s.spawn(|| capture(v, &dir))))
            .collect();
        handles
            .into_iter()
            .map(|(v, h)| (v, h.join().expect("capture thread")))
            .collect()
    });

    for (v, pcap) in &captures {
        let frames = read_frames(pcap).expect("read capture");
        let load = |pw| parse_str(&config(v, pw), &ParseOptions::default());
        let good = load("secret1");
        assert_eq!(
            good.diagnostics.exit_code(),
            0,
            "{}: {:?}",
            v.tag,
            good.diagnostics
        );

        let accepted = verdicts(&decode(&frames, Some(&good.config)));
        assert_eq!(accepted.len(), ADVERTS, "{}", v.tag);
        for verdict in &accepted {
            assert_eq!(verdict, &Verdict::Accept { notes: vec![] }, "{}", v.tag);
        }

        if v.body.contains("auth_type") {
            let wrong = load("wrong");
            for verdict in verdicts(&decode(&frames, Some(&wrong.config))) {
                let Verdict::Reject { check, reason, .. } = verdict else {
                    panic!("{}: accepted with the wrong password", v.tag);
                };
                match v.tag {
                    "v2pass" => assert_eq!((check, reason), (Check::Password, Reason::Password)),
                    _ => assert_eq!((check, reason), (Check::AhIcv, Reason::AhIcv)),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
