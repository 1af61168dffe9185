//! IPVS against a real kernel: what `ipvsadm` shows after our daemon applies a config,
//! real servers leaving and coming back, quorum and sorry servers, reloads that touch only
//! what changed (watched on an nlmon netlink monitor), adoption of a table made by
//! ipvsadm, the stop modes, a scheduler the kernel lacks, the sync daemon following
//! VRRP, and the checker's SIGUSR1 dump and SNMP MIB next to keepalived 2.2.7's (whose
//! checker needs IPVS).
//!
//! The kernel on these machines has no IPVS, so the suite boots Debian's kernel once under
//! qemu (virtme-ng, no KVM) and runs every case inside it, each in its own network
//! namespace and so with its own IPVS table. Where the running kernel has IPVS the cases
//! run in place. `ip_vs_twos` is kept from loading in the VM, so "a scheduler the kernel
//! lacks" is the same on every kernel.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_engine::snmp::checker::{Counters, Dest, IpvsStats};
use keepalived_linux::ipvs::nl::{messages, Attrs, NLM_F_REQUEST};
use keepalived_linux::ipvs::stats;
use keepalived_linux::ipvs::wire::{cmd, cmd_attr, DestRepr, ServiceRepr, Target, AF_INET};
use keepalived_tests::host::{
    debian_kernel, have, host_has_ipvs, in_netns, is_root, run_in_vm, tmp_dir, wait_for, Daemon,
    Netns,
};

#[path = "ipvs_kernel/check_dump_parity.rs"]
mod check_dump_parity;
#[path = "ipvs_kernel/snmp_checker.rs"]
mod snmp_checker;

/// Set inside the VM, so the test there runs the cases instead of booting another.
const IN_VM: &str = "KARS_IPVS_IN_VM";
/// The line the VM run ends with when every case passed.
const ALL_PASSED: &str = "IPVS suite: every case passed";
/// How long anything in the emulated VM may take to show.
const LIMIT: Duration = Duration::from_secs(40);

#[test]
fn ipvs_against_the_kernel() {
    let ci = std::env::var_os("CI").is_some();
    let skip = |why: &str| {
        assert!(!ci, "ipvs_against_the_kernel must run in CI, but {why}");
        eprintln!("SKIP ipvs_against_the_kernel: {why}");
    };
    if !is_root() {
        return skip("it needs root");
    }
    if !have("snmpd") || !have("snmptrapd") || !have("snmpwalk") {
        return skip("net-snmp's snmpd, snmptrapd or snmpwalk is missing (scripts/test-all.sh installs snmpd and snmp)");
    }
    if !have("ipvsadm") {
        return skip("`ipvsadm` is not installed (scripts/test-all.sh installs it)");
    }
    if std::env::var_os(IN_VM).is_some() || host_has_ipvs() {
        return run_cases();
    }
    let Some(kernel) = debian_kernel() else {
        return skip("no Debian kernel in /boot (apt-get install linux-image-amd64)");
    };
    if !have("vng") {
        return skip("`vng` is not installed (pip install virtme-ng)");
    }
    let start = Instant::now();
    let text = run_in_vm(
        &kernel,
        IN_VM,
        "ipvs_against_the_kernel",
        "module_blacklist=ip_vs_twos",
    );
    println!("{text}");
    println!("VM run took {:.0?}", start.elapsed());
    assert!(
        text.contains(ALL_PASSED),
        "the IPVS suite in the VM did not pass (output above)"
    );
}

type Case = fn(&Netns, &Path);

/// Runs every case. The first starts the daemon before anything else has touched IPVS,
/// so it also shows that the daemon loads `ip_vs` itself.
fn run_cases() {
    let cases: &[(&str, Case)] = &[
        ("listing_matches_config", listing_matches_config),
        ("checkers_move_real_servers", checkers_move_real_servers),
        (
            "quorum_swaps_in_the_sorry_server",
            quorum_swaps_in_the_sorry_server,
        ),
        (
            "reload_touches_only_what_changed",
            reload_touches_only_what_changed,
        ),
        (
            "adopts_a_table_made_by_ipvsadm",
            adopts_a_table_made_by_ipvsadm,
        ),
        ("stop_modes", stop_modes),
        (
            "missing_scheduler_fails_alone",
            missing_scheduler_fails_alone,
        ),
        ("sync_daemon_follows_vrrp", sync_daemon_follows_vrrp),
        ("stats_count_connections", stats_count_connections),
        (
            "checker_dump_matches_keepalived",
            check_dump_parity::checker_dump_matches_keepalived,
        ),
        (
            "checker_mib_matches_keepalived",
            snmp_checker::checker_mib_matches_keepalived,
        ),
    ];
    let mut failed = Vec::new();
    for (i, (name, case)) in cases.iter().enumerate() {
        let start = Instant::now();
        let ns = Netns::new(&format!("kaipvs{i}"));
        let dir = tmp_dir(&format!("ipvs-{name}"));
        let r = catch_unwind(AssertUnwindSafe(|| case(&ns, &dir)));
        match r {
            Ok(()) => println!("case {name} ... ok ({:.1?})", start.elapsed()),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("case {name} ... FAILED ({:.1?}): {msg}", start.elapsed());
                for log in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    if log.path().extension().is_some_and(|e| e == "log") {
                        println!("--- {}", log.path().display());
                        println!(
                            "{}",
                            std::fs::read_to_string(log.path()).unwrap_or_default()
                        );
                    }
                }
                failed.push(*name);
            }
        }
    }
    if failed.is_empty() {
        println!("{ALL_PASSED} ({} cases)", cases.len());
    } else {
        panic!("IPVS cases failed: {failed:?}");
    }
}

// ---- helpers ----------------------------------------------------------------------------

fn ipvsadm(ns: &Netns, args: &[&str]) -> String {
    let out = ns.command("ipvsadm").args(args).output().expect("ipvsadm");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An ipvsadm listing as lines of words, without its version line and column headings,
/// so column widths do not matter.
fn table(ns: &Netns, args: &[&str]) -> Vec<String> {
    ipvsadm(ns, args)
        .lines()
        .filter(|l| !l.starts_with("IP Virtual Server") && !l.starts_with("Prot "))
        .filter(|l| !l.trim_start().starts_with("-> RemoteAddress"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// `ipvsadm -Ln` in words.
fn listing(ns: &Netns) -> Vec<String> {
    table(ns, &["-Ln"])
}

fn lines(expected: &str) -> Vec<String> {
    expected
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// Waits until `ipvsadm -Ln` shows `expected`; panics with both listings if it never does.
fn await_listing(ns: &Netns, expected: &str, what: &str) {
    let want = lines(expected);
    let mut last = Vec::new();
    let ok = wait_for(LIMIT, || {
        last = listing(ns);
        last == want
    });
    assert!(
        ok.is_some(),
        "{what}: ipvsadm -Ln never showed\n{}\nlast seen:\n{}",
        want.join("\n"),
        last.join("\n")
    );
}

fn write_conf(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write config");
    p
}

/// A TCP listener inside `ns`: a real server that is up while it lives.
fn listen(ns: &Netns, addr: &str) -> TcpListener {
    let addr = addr.to_string();
    in_netns(&ns.name, move || {
        TcpListener::bind(&addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"))
    })
}

/// A notify script that appends its arguments to `events`.
fn notify_script(dir: &Path) -> (PathBuf, PathBuf) {
    let events = dir.join("events");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", events.display()),
    )
    .expect("notify script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .expect("chmod notify script");
    (script, events)
}

fn events(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// An nlmon device in `ns` and tcpdump on it: every netlink message in the namespace.
struct NetlinkMonitor {
    child: Child,
    file: PathBuf,
}

impl NetlinkMonitor {
    fn start(ns: &Netns, file: PathBuf) -> NetlinkMonitor {
        let _ = ns.command("ip").args(["link", "del", "nlmon0"]).output();
        ns.ip(&["link", "add", "nlmon0", "type", "nlmon"]);
        ns.ip(&["link", "set", "nlmon0", "up"]);
        let child = ns
            .command("tcpdump")
            .args(["-i", "nlmon0", "-U", "-w", &file.display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump");
        let mon = NetlinkMonitor { child, file };
        // The file header alone does not prove the capture is live: wait until a request
        // of ipvsadm's own (a GET, which `changes` leaves out) is in the file.
        const PCAP_HEADER: u64 = 24;
        assert!(
            wait_for(LIMIT, || {
                let _ = ipvsadm(ns, &["-Ln"]);
                std::fs::metadata(&mon.file).is_ok_and(|m| m.len() > PCAP_HEADER)
            })
            .is_some(),
            "tcpdump on nlmon0 did not start capturing"
        );
        mon
    }

    /// Stops the capture and returns the IPVS commands that change the table, each as
    /// `CMD service [-> dest]`, in the order they were sent.
    fn changes(mut self, ns: &Netns) -> Vec<String> {
        // tcpdump may lag behind the kernel (it does in the emulated VM under load): send
        // a marker request after everything we want, and wait until the file holds it,
        // so every earlier message is in the file too.
        let family = ipvs_family(ns);
        let gets = |mon: &NetlinkMonitor| {
            mon.requests(family)
                .iter()
                .filter(|(c, _)| *c == cmd::GET_SERVICE)
                .count()
        };
        let before = gets(&self);
        let _ = ipvsadm(ns, &["-Ln"]);
        assert!(
            wait_for(LIMIT, || gets(&self) > before).is_some(),
            "the capture never caught up with the marker request"
        );
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
        self.requests(family)
            .into_iter()
            .filter(|(c, _)| {
                !matches!(
                    *c,
                    cmd::GET_SERVICE
                        | cmd::GET_DEST
                        | cmd::GET_DAEMON
                        | cmd::GET_CONFIG
                        | cmd::GET_INFO
                )
            })
            .map(|(_, d)| d)
            .collect()
    }

    /// The IPVS requests in the file so far, each as its command and description; a
    /// packet tcpdump is still writing ends the list.
    fn requests(&self, family: u16) -> Vec<(u8, String)> {
        let data = std::fs::read(&self.file).unwrap_or_default();
        let Ok(mut reader) = pcap_file::pcap::PcapReader::new(&data[..]) else {
            return Vec::new();
        };
        // LINKTYPE_NETLINK (and SLL) frames start with a 16-byte cooked header, SLL2
        // with a 20-byte one; the netlink message follows.
        let skip = match u32::from(reader.header().datalink) {
            276 => 20,
            _ => 16,
        };
        let mut out = Vec::new();
        while let Some(Ok(pkt)) = reader.next_packet() {
            for m in messages(pkt.data.get(skip..).unwrap_or_default()).flatten() {
                if m.msg_type() != family || m.flags() & NLM_F_REQUEST == 0 {
                    continue;
                }
                let Ok((c, attrs)) = m.genl() else { continue };
                out.push((c, describe(c, attrs)));
            }
        }
        out
    }
}

/// The IPVS family's number in this kernel (`genl ctrl get name IPVS`).
fn ipvs_family(ns: &Netns) -> u16 {
    let out = ns
        .command("genl")
        .args(["ctrl", "get", "name", "IPVS"])
        .output()
        .expect("genl");
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text
        .split_whitespace()
        .skip_while(|w| *w != "ID:")
        .nth(1)
        .unwrap_or_else(|| panic!("no IPVS family id in: {text}"));
    u16::from_str_radix(id.trim_start_matches("0x"), 16).expect("family id")
}

/// `NEW_DEST 10.0.0.1:80 -> 10.0.1.1:80`, from a captured request (read with the
/// daemon's own parsers; `ipvsadm -Ln` is the independent view of the result).
fn describe(c: u8, attrs: Attrs<'_>) -> String {
    let mut s = cmd::name(c).to_string();
    for (k, v) in attrs.flatten() {
        match k {
            cmd_attr::SERVICE => match ServiceRepr::parse(v).map(|r| r.id.target) {
                Ok(Target::Fwmark(m)) => s.push_str(&format!(" FWM {m}")),
                Ok(Target::Addr { addr, port, .. }) => s.push_str(&format!(" {addr}:{port}")),
                Err(e) => s.push_str(&format!(" <{e}>")),
            },
            cmd_attr::DEST => match DestRepr::parse(v, AF_INET) {
                Ok(d) => s.push_str(&format!(" -> {}:{}", d.id.addr, d.id.port)),
                Err(e) => s.push_str(&format!(" -> <{e}>")),
            },
            _ => {}
        }
    }
    s
}

// ---- cases ------------------------------------------------------------------------------

/// Every scheduler the kernel has, with its flags; NAT, DR and TUN (ipip, gue, gre, with
/// the checksum options); TCP, UDP, SCTP; IPv4 and IPv6; fwmark services of both
/// families; persistence with granularity and engine; thresholds; one-packet scheduling;
/// a virtual_server_group; an inhibited sorry server; lvs_timeouts; a sync daemon.
fn listing_matches_config(ns: &Netns, dir: &Path) {
    ns.ip(&["link", "add", "dummy0", "type", "dummy"]);
    ns.ip(&["link", "set", "dummy0", "up"]);
    let conf = write_conf(dir, "all.conf", ALL_CONF);
    let d = Daemon::ours(ns, &conf, dir, "all", &[]);
    await_listing(ns, ALL_LISTING, "the configured table");
    assert_eq!(
        table(ns, &["-Ln", "--persistent-conn"]),
        lines(ALL_PERSISTENT),
        "ipvsadm -Ln --persistent-conn"
    );
    let tun: Vec<String> = table(ns, &["-Ln", "--tun-info"])
        .into_iter()
        .filter(|l| l.contains("Tunnel"))
        .collect();
    assert_eq!(
        tun,
        lines(ALL_TUN_INFO),
        "ipvsadm -Ln --tun-info, tunnel rows"
    );
    assert_eq!(
        lines(&ipvsadm(ns, &["-L", "--timeout"])),
        lines("Timeout (tcp tcpfin udp): 7200 60 120"),
        "ipvsadm -L --timeout"
    );
    assert_eq!(
        lines(&ipvsadm(ns, &["-l", "--daemon"])),
        lines(
            "master sync daemon (mcast=dummy0, syncid=5, maxlen=1400, group=224.0.0.90, port=8850, ttl=2)
             backup sync daemon (mcast=dummy0, syncid=5, maxlen=1400, group=224.0.0.90, port=8850, ttl=2)"
        ),
        "ipvsadm -l --daemon"
    );
    d.stop();
    assert!(listing(ns).is_empty(), "SIGTERM removes what we created");
    assert_eq!(
        ipvsadm(ns, &["-l", "--daemon"]).trim(),
        "",
        "sync daemons stop"
    );
}

const ALL_CONF: &str = r#"
global_defs {
  router_id ipvs-suite
  lvs_timeouts tcp 7200 tcpfin 60 udp 120
  lvs_sync_daemon dummy0 id 5 maxlen 1400 port 8850 ttl 2 group 224.0.0.90
}
virtual_server_group G1 {
  10.30.0.1-3 80
  fwmark 9
}
virtual_server 10.10.0.1 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 127.0.0.1 8001 { weight 1 }
  real_server 127.0.0.2 8002 {
    weight 2
    uthreshold 100
    lthreshold 10
  }
}
virtual_server 10.10.0.2 80 {
  lvs_sched wrr
  lvs_method DR
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  real_server 10.20.0.1 80 { weight 3 }
}
virtual_server 10.10.0.3 53 {
  lvs_sched lc
  protocol UDP
  lvs_method TUN
  ops
  real_server 10.20.0.2 53 { weight 1 }
}
virtual_server 10.10.0.4 5060 {
  lvs_sched wlc
  protocol SCTP
  lvs_method NAT
  real_server 10.20.0.3 5061 { weight 4 }
}
virtual_server 10.10.0.5 80 {
  lvs_sched lblc
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.6 80 {
  lvs_sched lblcr
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.7 80 {
  lvs_sched dh
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.8 80 {
  lvs_sched sh
  sh-port
  sh-fallback
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.9 80 {
  lvs_sched sed
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.10 80 {
  lvs_sched nq
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.11 80 {
  lvs_sched mh
  mh-port
  mh-fallback
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.12 80 {
  lvs_sched fo
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.13 80 {
  lvs_sched ovf
  lvs_method DR
  real_server 10.20.0.4 80 { weight 1 }
}
virtual_server 10.10.0.14 80 {
  lvs_sched rr
  flag-3
  lvs_method TUN type gue port 6080 csum
  real_server 10.20.0.5 80 { weight 1 }
}
virtual_server 10.10.0.15 80 {
  lvs_sched rr
  lvs_method TUN type gre remcsum
  real_server 10.20.0.6 80 { weight 1 }
}
virtual_server 10.10.0.16 5060 {
  lvs_sched rr
  protocol UDP
  persistence_timeout 120
  persistence_engine sip
  lvs_method DR
  real_server 10.20.0.7 5060 { weight 1 }
}
virtual_server 10.10.0.17 80 {
  lvs_sched rr
  lvs_method NAT
  sorry_server 10.20.0.99 8080
  sorry_server_inhibit
  real_server 10.20.0.8 80 { weight 1 }
}
virtual_server fwmark 7 {
  lvs_sched sh
  lvs_method DR
  real_server 10.20.0.9 80 { weight 2 }
}
virtual_server fwmark 8 {
  ip_family inet6
  lvs_sched rr
  lvs_method DR
  real_server 2001:db8::10 80 { weight 1 }
}
virtual_server 2001:db8::1 443 {
  lvs_sched wrr
  lvs_method NAT
  persistence_timeout 60
  persistence_granularity 64
  real_server 2001:db8::20 8443 { weight 2 }
}
virtual_server group G1 {
  lvs_sched rr
  lvs_method DR
  real_server 10.20.0.10 80 { weight 1 }
}
"#;

/// What the config above says, in ipvsadm's words (its own sort order).
const ALL_LISTING: &str = "
TCP 10.10.0.1:80 rr
-> 127.0.0.1:8001 Masq 1 0 0
-> 127.0.0.2:8002 Masq 2 0 0
TCP 10.10.0.2:80 wrr persistent 300 mask 255.255.255.0
-> 10.20.0.1:80 Route 3 0 0
TCP 10.10.0.5:80 lblc
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.6:80 lblcr
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.7:80 dh
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.8:80 sh (sh-fallback,sh-port)
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.9:80 sed
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.10:80 nq
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.11:80 mh (mh-fallback,mh-port)
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.12:80 fo
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.13:80 ovf
-> 10.20.0.4:80 Route 1 0 0
TCP 10.10.0.14:80 rr (flag-3)
-> 10.20.0.5:80 Tunnel 1 0 0
TCP 10.10.0.15:80 rr
-> 10.20.0.6:80 Tunnel 1 0 0
TCP 10.10.0.17:80 rr
-> 10.20.0.8:80 Masq 1 0 0
-> 10.20.0.99:8080 Masq 0 0 0
TCP 10.30.0.1:80 rr
-> 10.20.0.10:80 Route 1 0 0
TCP 10.30.0.2:80 rr
-> 10.20.0.10:80 Route 1 0 0
TCP 10.30.0.3:80 rr
-> 10.20.0.10:80 Route 1 0 0
UDP 10.10.0.3:53 lc ops
-> 10.20.0.2:53 Tunnel 1 0 0
UDP 10.10.0.16:5060 rr persistent 120 pe sip
-> 10.20.0.7:5060 Route 1 0 0
SCTP 10.10.0.4:5060 wlc
-> 10.20.0.3:5061 Masq 4 0 0
TCP [2001:db8::1]:443 wrr persistent 60 mask 64
-> [2001:db8::20]:8443 Masq 2 0 0
FWM 7 sh
-> 10.20.0.9:0 Route 2 0 0
FWM 8 IPv6 rr
-> [2001:db8::10]:0 Route 1 0 0
FWM 9 rr
-> 10.20.0.10:0 Route 1 0 0
";

const ALL_PERSISTENT: &str = "
TCP 10.10.0.1:80 rr
-> 127.0.0.1:8001 1 0 0 0
-> 127.0.0.2:8002 2 0 0 0
TCP 10.10.0.2:80 wrr persistent 300 mask 255.255.255.0
-> 10.20.0.1:80 3 0 0 0
TCP 10.10.0.5:80 lblc
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.6:80 lblcr
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.7:80 dh
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.8:80 sh (sh-fallback,sh-port)
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.9:80 sed
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.10:80 nq
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.11:80 mh (mh-fallback,mh-port)
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.12:80 fo
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.13:80 ovf
-> 10.20.0.4:80 1 0 0 0
TCP 10.10.0.14:80 rr (flag-3)
-> 10.20.0.5:80 1 0 0 0
TCP 10.10.0.15:80 rr
-> 10.20.0.6:80 1 0 0 0
TCP 10.10.0.17:80 rr
-> 10.20.0.8:80 1 0 0 0
-> 10.20.0.99:8080 0 0 0 0
TCP 10.30.0.1:80 rr
-> 10.20.0.10:80 1 0 0 0
TCP 10.30.0.2:80 rr
-> 10.20.0.10:80 1 0 0 0
TCP 10.30.0.3:80 rr
-> 10.20.0.10:80 1 0 0 0
UDP 10.10.0.3:53 lc ops
-> 10.20.0.2:53 1 0 0 0
UDP 10.10.0.16:5060 rr persistent 120 pe sip
-> 10.20.0.7:5060 1 0 0 0
SCTP 10.10.0.4:5060 wlc
-> 10.20.0.3:5061 4 0 0 0
TCP [2001:db8::1]:443 wrr persistent 60 mask 64
-> [2001:db8::20]:8443 2 0 0 0
FWM 7 sh
-> 10.20.0.9:0 2 0 0 0
FWM 8 IPv6 rr
-> [2001:db8::10]:0 1 0 0 0
FWM 9 rr
-> 10.20.0.10:0 1 0 0 0
";

/// The tunnel rows of `ipvsadm -Ln --tun-info`: type, port and checksum option.
const ALL_TUN_INFO: &str = "
-> 10.20.0.5:80 Tunnel gue:6080:+c 1 0 0
-> 10.20.0.6:80 Tunnel gre:r+c 1 0 0
-> 10.20.0.2:53 Tunnel ipip 1 0 0
";

/// TCP_CHECK taking real servers out and back: a plain one leaves the table, an
/// `inhibit_on_failure` one stays at weight 0; the notify scripts fire each way.
fn checkers_move_real_servers(ns: &Netns, dir: &Path) {
    let (script, events_file) = notify_script(dir);
    let s = script.display();
    let conf = write_conf(
        dir,
        "check.conf",
        &format!(
            r#"
virtual_server 10.40.0.1 80 {{
  lvs_sched rr
  lvs_method NAT
  delay_loop 1
  real_server 127.0.0.1 9001 {{
    weight 1
    notify_up "{s} up-1"
    notify_down "{s} down-1"
    TCP_CHECK {{ connect_timeout 2 retry 0 delay_before_retry 1 }}
  }}
  real_server 127.0.0.2 9002 {{
    weight 2
    inhibit_on_failure
    notify_up "{s} up-2"
    notify_down "{s} down-2"
    TCP_CHECK {{ connect_timeout 2 retry 0 delay_before_retry 1 }}
  }}
  real_server 127.0.0.3 9003 {{
    weight 3
    TCP_CHECK {{ connect_timeout 2 retry 0 delay_before_retry 1 }}
  }}
}}
"#
        ),
    );
    let l1 = listen(ns, "127.0.0.1:9001");
    let l2 = listen(ns, "127.0.0.2:9002");
    let _l3 = listen(ns, "127.0.0.3:9003");
    let d = Daemon::ours(ns, &conf, dir, "check", &[]);
    let all_up = "
        TCP 10.40.0.1:80 rr
        -> 127.0.0.1:9001 Masq 1 0 0
        -> 127.0.0.2:9002 Masq 2 0 0
        -> 127.0.0.3:9003 Masq 3 0 0";
    await_listing(ns, all_up, "all three up");
    drop(l1);
    await_listing(
        ns,
        "TCP 10.40.0.1:80 rr
         -> 127.0.0.2:9002 Masq 2 0 0
         -> 127.0.0.3:9003 Masq 3 0 0",
        "the first real server out",
    );
    drop(l2);
    await_listing(
        ns,
        "TCP 10.40.0.1:80 rr
         -> 127.0.0.2:9002 Masq 0 0 0
         -> 127.0.0.3:9003 Masq 3 0 0",
        "the inhibited real server at weight 0",
    );
    let _l1 = listen(ns, "127.0.0.1:9001");
    let _l2 = listen(ns, "127.0.0.2:9002");
    await_listing(ns, all_up, "both back");
    assert!(
        wait_for(LIMIT, || events(&events_file).len() >= 4).is_some(),
        "notify scripts: {:?}",
        events(&events_file)
    );
    let ev = events(&events_file);
    for want in ["down-1", "down-2", "up-1", "up-2"] {
        assert!(ev.iter().any(|e| e == want), "no {want} in {ev:?}");
    }
    let pos = |w: &str| ev.iter().position(|e| e == w).unwrap();
    assert!(
        pos("down-1") < pos("up-1") && pos("down-2") < pos("up-2"),
        "{ev:?}"
    );
    d.stop();
}

/// Quorum 2 of two weight-1 servers: one down loses it, so the sorry server goes in and
/// the alive one out; back up, the reverse. `quorum_down`/`quorum_up` fire.
fn quorum_swaps_in_the_sorry_server(ns: &Netns, dir: &Path) {
    let (script, events_file) = notify_script(dir);
    let s = script.display();
    let conf = write_conf(
        dir,
        "quorum.conf",
        &format!(
            r#"
virtual_server 10.41.0.1 80 {{
  lvs_sched wrr
  lvs_method NAT
  delay_loop 1
  quorum 2
  quorum_up "{s} quorum-up"
  quorum_down "{s} quorum-down"
  sorry_server 127.0.0.9 9009
  real_server 127.0.0.4 9004 {{
    weight 1
    TCP_CHECK {{ connect_timeout 2 retry 0 delay_before_retry 1 }}
  }}
  real_server 127.0.0.5 9005 {{
    weight 1
    TCP_CHECK {{ connect_timeout 2 retry 0 delay_before_retry 1 }}
  }}
}}
"#
        ),
    );
    let l4 = listen(ns, "127.0.0.4:9004");
    let _l5 = listen(ns, "127.0.0.5:9005");
    let d = Daemon::ours(ns, &conf, dir, "quorum", &[]);
    let pool = "
        TCP 10.41.0.1:80 wrr
        -> 127.0.0.4:9004 Masq 1 0 0
        -> 127.0.0.5:9005 Masq 1 0 0";
    await_listing(ns, pool, "quorum up");
    drop(l4);
    await_listing(
        ns,
        "TCP 10.41.0.1:80 wrr
         -> 127.0.0.9:9009 Masq 1 0 0",
        "quorum lost: the sorry server alone",
    );
    assert!(
        wait_for(LIMIT, || events(&events_file)
            .contains(&"quorum-down".to_string()))
        .is_some(),
        "quorum_down did not run: {:?}",
        events(&events_file)
    );
    let _l4 = listen(ns, "127.0.0.4:9004");
    await_listing(ns, pool, "quorum back: the pool, no sorry server");
    assert!(
        wait_for(LIMIT, || events(&events_file)
            .ends_with(&["quorum-up".to_string()]))
        .is_some(),
        "quorum_up did not run last: {:?}",
        events(&events_file)
    );
    d.stop();
}

/// A reload that changes one weight, adds and removes a real server, removes a virtual
/// server and adds one: the netlink monitor sees exactly those commands and nothing for
/// the virtual server that did not change.
fn reload_touches_only_what_changed(ns: &Netns, dir: &Path) {
    let a = "
virtual_server 10.50.0.1 80 {
  lvs_sched rr
  lvs_method DR
  real_server 10.51.0.1 80 { weight 1 }
  real_server 10.51.0.2 80 { weight 1 }
  real_server 10.51.0.3 80 { weight 1 }
}
virtual_server 10.50.0.2 80 {
  lvs_sched rr
  lvs_method DR
  real_server 10.52.0.2 80 { weight 1 }
  real_server 10.52.0.3 80 { weight 1 }
}
virtual_server 10.50.0.3 80 {
  lvs_sched rr
  lvs_method DR
  real_server 10.53.0.1 80 { weight 1 }
}
";
    let b = "
virtual_server 10.50.0.1 80 {
  lvs_sched rr
  lvs_method DR
  real_server 10.51.0.1 80 { weight 1 }
  real_server 10.51.0.2 80 { weight 1 }
  real_server 10.51.0.3 80 { weight 1 }
}
virtual_server 10.50.0.2 80 {
  lvs_sched rr
  lvs_method DR
  real_server 10.52.0.2 80 { weight 5 }
  real_server 10.52.0.4 80 { weight 1 }
}
virtual_server 10.50.0.4 80 {
  lvs_sched wlc
  lvs_method DR
  real_server 10.54.0.1 80 { weight 2 }
}
";
    let conf = write_conf(dir, "reload.conf", a);
    let d = Daemon::ours(ns, &conf, dir, "reload", &[]);
    await_listing(
        ns,
        "TCP 10.50.0.1:80 rr
         -> 10.51.0.1:80 Route 1 0 0
         -> 10.51.0.2:80 Route 1 0 0
         -> 10.51.0.3:80 Route 1 0 0
         TCP 10.50.0.2:80 rr
         -> 10.52.0.2:80 Route 1 0 0
         -> 10.52.0.3:80 Route 1 0 0
         TCP 10.50.0.3:80 rr
         -> 10.53.0.1:80 Route 1 0 0",
        "before the reload",
    );
    let mon = NetlinkMonitor::start(ns, dir.join("reload.pcap"));
    std::fs::write(&conf, b).expect("rewrite config");
    d.signal(libc::SIGHUP);
    await_listing(
        ns,
        "TCP 10.50.0.1:80 rr
         -> 10.51.0.1:80 Route 1 0 0
         -> 10.51.0.2:80 Route 1 0 0
         -> 10.51.0.3:80 Route 1 0 0
         TCP 10.50.0.2:80 rr
         -> 10.52.0.2:80 Route 5 0 0
         -> 10.52.0.4:80 Route 1 0 0
         TCP 10.50.0.4:80 wlc
         -> 10.54.0.1:80 Route 2 0 0",
        "after the reload",
    );
    let mut seen = mon.changes(ns);
    seen.sort();
    let mut want = vec![
        "DEL_DEST 10.50.0.2:80 -> 10.52.0.3:80",
        "SET_DEST 10.50.0.2:80 -> 10.52.0.2:80",
        "NEW_DEST 10.50.0.2:80 -> 10.52.0.4:80",
        "DEL_SERVICE 10.50.0.3:80",
        "NEW_SERVICE 10.50.0.4:80",
        "NEW_DEST 10.50.0.4:80 -> 10.54.0.1:80",
    ];
    want.sort();
    assert_eq!(seen, want, "IPVS commands the reload sent");
    d.stop();
}

/// A table made by ipvsadm before the daemon starts: the service the config also wants
/// is adopted (its scheduler changed in place, its destinations brought to the config's
/// without touching the one that already matches), a foreign service is left alone, and
/// nothing is flushed. On stop, only the config's service goes.
fn adopts_a_table_made_by_ipvsadm(ns: &Netns, dir: &Path) {
    ipvsadm(ns, &["-A", "-t", "10.60.0.1:80", "-s", "rr"]);
    ipvsadm(
        ns,
        &[
            "-a",
            "-t",
            "10.60.0.1:80",
            "-r",
            "10.61.0.1:80",
            "-g",
            "-w",
            "1",
        ],
    );
    ipvsadm(
        ns,
        &[
            "-a",
            "-t",
            "10.60.0.1:80",
            "-r",
            "10.61.0.2:80",
            "-g",
            "-w",
            "1",
        ],
    );
    ipvsadm(ns, &["-A", "-t", "10.60.0.9:80", "-s", "rr"]);
    ipvsadm(
        ns,
        &[
            "-a",
            "-t",
            "10.60.0.9:80",
            "-r",
            "10.69.0.1:80",
            "-g",
            "-w",
            "1",
        ],
    );
    let conf = write_conf(
        dir,
        "adopt.conf",
        "
virtual_server 10.60.0.1 80 {
  lvs_sched wrr
  lvs_method DR
  real_server 10.61.0.1 80 { weight 1 }
  real_server 10.61.0.3 80 { weight 2 }
}
",
    );
    let mon = NetlinkMonitor::start(ns, dir.join("adopt.pcap"));
    let d = Daemon::ours(ns, &conf, dir, "adopt", &[]);
    await_listing(
        ns,
        "TCP 10.60.0.1:80 wrr
         -> 10.61.0.1:80 Route 1 0 0
         -> 10.61.0.3:80 Route 2 0 0
         TCP 10.60.0.9:80 rr
         -> 10.69.0.1:80 Route 1 0 0",
        "the adopted table",
    );
    let mut seen = mon.changes(ns);
    seen.sort();
    let mut want = vec![
        "SET_SERVICE 10.60.0.1:80",
        "DEL_DEST 10.60.0.1:80 -> 10.61.0.2:80",
        "NEW_DEST 10.60.0.1:80 -> 10.61.0.3:80",
    ];
    want.sort();
    assert_eq!(seen, want, "IPVS commands at start");
    d.stop();
    await_listing(
        ns,
        "TCP 10.60.0.9:80 rr
         -> 10.69.0.1:80 Route 1 0 0",
        "after stop: the foreign service only",
    );
}

/// `-I` leaves the table; `lvs_flush_on_stop` flushes all of it; `lvs_flush` flushes at
/// start.
fn stop_modes(ns: &Netns, dir: &Path) {
    let vs = "
virtual_server 10.80.0.1 80 {
  lvs_sched rr
  lvs_method DR
  real_server 10.81.0.1 80 { weight 1 }
}
";
    let ours = "TCP 10.80.0.1:80 rr
                -> 10.81.0.1:80 Route 1 0 0";
    let foreign = "TCP 10.89.0.1:80 rr";

    let conf = write_conf(dir, "leave.conf", vs);
    let d = Daemon::ours(ns, &conf, dir, "leave", &["-I"]);
    await_listing(ns, ours, "-I: started");
    d.stop();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(listing(ns), lines(ours), "-I leaves the table on stop");
    ipvsadm(ns, &["-C"]);

    ipvsadm(ns, &["-A", "-t", "10.89.0.1:80", "-s", "rr"]);
    let conf = write_conf(
        dir,
        "flushstop.conf",
        &format!("global_defs {{\n  lvs_flush_on_stop\n}}\n{vs}"),
    );
    let d = Daemon::ours(ns, &conf, dir, "flushstop", &[]);
    await_listing(
        ns,
        &format!("{ours}\n{foreign}"),
        "lvs_flush_on_stop: started",
    );
    d.stop();
    assert!(
        wait_for(LIMIT, || listing(ns).is_empty()).is_some(),
        "lvs_flush_on_stop empties the table: {:?}",
        listing(ns)
    );

    ipvsadm(ns, &["-A", "-t", "10.89.0.1:80", "-s", "rr"]);
    let conf = write_conf(
        dir,
        "flushstart.conf",
        &format!("global_defs {{\n  lvs_flush\n}}\n{vs}"),
    );
    let d = Daemon::ours(ns, &conf, dir, "flushstart", &[]);
    await_listing(ns, ours, "lvs_flush: the foreign service is gone at start");
    d.stop();
    assert!(wait_for(LIMIT, || listing(ns).is_empty()).is_some());
}

/// A scheduler the kernel lacks: that service's error names it and says what to check;
/// every other service applies; a reload that picks an available scheduler brings it in.
fn missing_scheduler_fails_alone(ns: &Netns, dir: &Path) {
    let conf_text = |sched: &str| {
        format!(
            "
virtual_server 10.70.0.1 80 {{
  lvs_sched {sched}
  lvs_method DR
  real_server 10.71.0.1 80 {{ weight 1 }}
}}
virtual_server 10.70.0.2 80 {{
  lvs_sched rr
  lvs_method DR
  real_server 10.72.0.1 80 {{ weight 1 }}
}}
"
        )
    };
    let conf = write_conf(dir, "sched.conf", &conf_text("twos"));
    let d = Daemon::ours(ns, &conf, dir, "sched", &[]);
    await_listing(
        ns,
        "TCP 10.70.0.2:80 rr
         -> 10.72.0.1:80 Route 1 0 0",
        "the service with an available scheduler",
    );
    let said = |what: &str| wait_for(LIMIT, || d.log_text().contains(what)).is_some();
    assert!(
        said("cannot add service [10.70.0.1]:tcp:80 (scheduler twos)"),
        "no error for the twos service:\n{}",
        d.log_text()
    );
    assert!(said("scheduler or persistence engine not found"));
    std::fs::write(&conf, conf_text("wlc")).expect("rewrite config");
    d.signal(libc::SIGHUP);
    await_listing(
        ns,
        "TCP 10.70.0.1:80 wlc
         -> 10.71.0.1:80 Route 1 0 0
         TCP 10.70.0.2:80 rr
         -> 10.72.0.1:80 Route 1 0 0",
        "after a reload to wlc",
    );
    assert!(said("service [10.70.0.1]:tcp:80 is now as configured"));
    d.stop();
}

/// `lvs_sync_daemon dummy0 VI_1`: the backup thread while VI_1 is BACKUP, the master
/// thread once it is MASTER, with VI_1's VRID as the sync ID; none after stop.
fn sync_daemon_follows_vrrp(ns: &Netns, dir: &Path) {
    ns.ip(&["link", "add", "dummy0", "type", "dummy"]);
    ns.ip(&["link", "set", "dummy0", "up"]);
    ns.ip(&["addr", "add", "192.168.60.1/24", "dev", "dummy0"]);
    let conf = write_conf(
        dir,
        "syncd.conf",
        "
global_defs {
  lvs_sync_daemon dummy0 VI_1
}
vrrp_instance VI_1 {
  state BACKUP
  interface dummy0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.168.60.100/24
  }
}
",
    );
    let d = Daemon::ours(ns, &conf, dir, "syncd", &[]);
    let daemons = || lines(&ipvsadm(ns, &["-l", "--daemon"]));
    let backup = lines(
        "backup sync daemon (mcast=dummy0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)",
    );
    let master = lines(
        "master sync daemon (mcast=dummy0, syncid=51, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)",
    );
    let mut seen = Vec::new();
    let mut saw_backup = false;
    let ok = wait_for(LIMIT, || {
        seen = daemons();
        saw_backup |= seen == backup;
        seen == master
    });
    assert!(ok.is_some(), "never the master thread alone: last {seen:?}");
    assert!(saw_backup, "the backup thread did not run before MASTER");
    d.stop();
    assert!(
        daemons().is_empty(),
        "threads left after stop: {:?}",
        daemons()
    );
}

const STATS_CONF: &str = "
virtual_server_group GS {
  10.50.0.2-3 80
}
virtual_server 10.50.0.1 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  delay_loop 1
  sorry_server 192.0.2.99 80
  sorry_server_inhibit
  real_server 192.0.2.11 80 {
    weight 1
  }
  real_server 192.0.2.13 80 {
    weight 1
    inhibit_on_failure
    TCP_CHECK { connect_timeout 2 retry 0 delay_before_retry 1 }
  }
}
virtual_server group GS {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 192.0.2.12 80 {
    weight 1
  }
}
virtual_server 10.50.0.9 80 {
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  real_server 192.0.2.11 80 {
    weight 1
  }
}
";

/// `ipvsadm -Ln --stats --exact` as connections by `service` and `service -> dest`.
fn ipvsadm_conns(ns: &Netns) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut service = String::new();
    for l in table(ns, &["-Ln", "--stats", "--exact"]) {
        let w: Vec<&str> = l.split_whitespace().collect();
        let conns = |i: usize| w.get(i).and_then(|c| c.parse().ok()).unwrap_or(u64::MAX);
        match w.first() {
            Some(&"->") => {
                out.insert(format!("{service} -> {}", w[1]), conns(2));
            }
            Some(_) if w.len() > 2 => {
                service = w[1].to_string();
                out.insert(service.clone(), conns(2));
            }
            _ => {}
        }
    }
    out
}

fn busy(c: &Counters) -> bool {
    c.conns > 0 && c.inpkts > 0 && c.outpkts > 0 && c.inbytes > 0 && c.outbytes > 0
}

/// The IPVS counters `stats::read` gives the SNMP tables: TCP connections through an
/// address service and a group's two services count on the virtual server (the group's
/// summed) and on the real server that took them, nothing on the others (an inhibited
/// real server, an inhibited sorry server, a virtual server no one used, the same real
/// server under another virtual server), and the connection counts agree with ipvsadm.
fn stats_count_connections(ns: &Netns, dir: &Path) {
    ns.ip(&["link", "add", "dummy0", "type", "dummy"]);
    ns.ip(&["link", "set", "dummy0", "up"]);
    for a in [
        "10.50.0.1/32",
        "10.50.0.2/32",
        "10.50.0.3/32",
        "10.50.0.9/32",
        "192.0.2.11/24",
        "192.0.2.12/24",
    ] {
        ns.ip(&["addr", "add", a, "dev", "dummy0"]);
    }
    let _l11 = listen(ns, "192.0.2.11:80");
    let _l12 = listen(ns, "192.0.2.12:80");
    let conf = write_conf(dir, "stats.conf", STATS_CONF);
    let loaded = parse_str(STATS_CONF, &ParseOptions::default());
    assert!(!loaded.diagnostics.has_errors(), "{:?}", loaded.diagnostics);
    let config = loaded.config;
    let d = Daemon::ours(ns, &conf, dir, "stats", &[]);
    // Traffic only once the unreachable real server is inhibited, so none goes to it.
    let ok = wait_for(LIMIT, || {
        let l = listing(ns);
        l.iter().any(|l| l == "-> 192.0.2.13:80 Masq 0 0 0")
            && l.iter().any(|l| l == "-> 192.0.2.99:80 Masq 0 0 0")
            && l.iter().any(|l| l.starts_with("TCP 10.50.0.9:80"))
    });
    assert!(ok.is_some(), "table never settled: {:?}", listing(ns));
    let before = in_netns(&ns.name, || stats::read(&config)).expect("stats::read");
    assert!(
        before.virtual_servers.values().all(|c| c.conns == 0),
        "connections before any were made: {before:?}"
    );
    in_netns(&ns.name, || {
        for vip in [
            "10.50.0.1:80",
            "10.50.0.1:80",
            "10.50.0.1:80",
            "10.50.0.2:80",
            "10.50.0.2:80",
            "10.50.0.3:80",
        ] {
            let mut s = TcpStream::connect_timeout(&vip.parse().unwrap(), Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("connect {vip}: {e}"));
            s.write_all(b"hello through IPVS\n").expect("write");
        }
    });
    // The kernel folds its per-CPU counters into what it reports every 2 s.
    let mut s = IpvsStats::default();
    let settled = wait_for(LIMIT, || {
        s = in_netns(&ns.name, || stats::read(&config)).expect("stats::read");
        let c = |vi| s.virtual_servers.get(&vi).copied().unwrap_or_default();
        let r = |vi, d| {
            s.servers
                .get(&(vi, d))
                .map(|x| x.counters)
                .unwrap_or_default()
        };
        c(0).conns == 3
            && c(1).conns == 3
            && busy(&c(0))
            && busy(&c(1))
            && busy(&r(0, Dest::Real(0)))
            && busy(&r(1, Dest::Real(0)))
    });
    assert!(
        settled.is_some(),
        "counters never showed the connections: {s:#?}"
    );
    let rs = |vi, d| s.servers.get(&(vi, d)).copied().unwrap_or_default();
    assert_eq!(rs(0, Dest::Real(0)).counters.conns, 3);
    assert_eq!(
        rs(1, Dest::Real(0)).counters.conns,
        3,
        "summed over the group"
    );
    assert!(
        s.servers.contains_key(&(0, Dest::Real(1))) && s.servers.contains_key(&(0, Dest::Sorry)),
        "the inhibited servers are in IPVS and so in the counters: {s:#?}"
    );
    for (what, c) in [
        ("inhibited real server", rs(0, Dest::Real(1)).counters),
        ("inhibited sorry server", rs(0, Dest::Sorry).counters),
        ("idle real server", rs(2, Dest::Real(0)).counters),
        (
            "idle virtual server",
            s.virtual_servers.get(&2).copied().unwrap_or_default(),
        ),
    ] {
        assert_eq!(c, Counters::default(), "{what}: {s:#?}");
    }
    assert!(
        s.virtual_servers.contains_key(&2),
        "the idle virtual server's service is in IPVS: {s:#?}"
    );
    assert_eq!(
        rs(0, Dest::Real(0)).inact_conns + rs(0, Dest::Real(0)).active_conns,
        3
    );
    let adm = ipvsadm_conns(ns);
    let adm = |k: &str| {
        *adm.get(k)
            .unwrap_or_else(|| panic!("no {k} in ipvsadm --stats: {adm:?}"))
    };
    assert_eq!(s.virtual_servers[&0].conns, adm("10.50.0.1:80"));
    assert_eq!(
        s.virtual_servers[&1].conns,
        adm("10.50.0.2:80") + adm("10.50.0.3:80")
    );
    assert_eq!(s.virtual_servers[&2].conns, adm("10.50.0.9:80"));
    assert_eq!(
        rs(0, Dest::Real(0)).counters.conns,
        adm("10.50.0.1:80 -> 192.0.2.11:80")
    );
    assert_eq!(
        rs(0, Dest::Real(1)).counters.conns,
        adm("10.50.0.1:80 -> 192.0.2.13:80")
    );
    assert_eq!(
        rs(1, Dest::Real(0)).counters.conns,
        adm("10.50.0.2:80 -> 192.0.2.12:80") + adm("10.50.0.3:80 -> 192.0.2.12:80")
    );
    d.stop();
}
