//! The checker's KEEPALIVED-MIB next to keepalived 2.2.7's: both daemons, checker only
//! (`-C -x`), each in a namespace of its own set up as `tests/data/snmp/capture-checker.sh`
//! sets up the reference run (`checker.conf`: a virtual server with a sorry server,
//! quorum and hysteresis, a virtual_server_group with a range and a fwmark), each an
//! AgentX sub-agent of its own snmpd, which forwards traps to its own snmptrapd. The
//! walks of `keepalived.1` and `keepalived.3` must be the same once the checkers settle
//! and again after a real server stops listening, but for the version line and the IPVS
//! counters and rates (which depend on the TCP exchange and the kernel's estimator);
//! the traps at start, on the real server's failure and at the stop must be the same.
//!
//! keepalived's checker process needs IPVS, which these hosts' kernels lack, so this is
//! a case of the IPVS suite, run in its VM boot.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use keepalived_tests::host::{in_netns, keepalived_rs, wait_for, Daemon, Netns};

const MIB: &str = ".1.3.6.1.4.1.9586.100.5";

/// One daemon's host: the namespace, its snmpd and snmptrapd, and the real servers'
/// listeners.
struct Host {
    ns: Netns,
    sock: PathBuf,
    traps: PathBuf,
    daemons: Vec<Child>,
    rs1: Option<TcpListener>,
    _rs2: TcpListener,
}

impl Drop for Host {
    fn drop(&mut self) {
        for c in &mut self.daemons {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn host(dir: &Path, tag: &str) -> Host {
    let ns = Netns::new(&format!("kaisnmp{tag}"));
    ns.ip(&["link", "add", "eth0", "type", "dummy"]);
    for a in [
        "192.0.2.2/24",
        "192.0.2.11/24",
        "192.0.2.12/24",
        "192.0.2.13/24",
        "10.0.0.100/32",
    ] {
        ns.ip(&["addr", "add", a, "dev", "eth0"]);
    }
    ns.ip(&["link", "set", "eth0", "up"]);
    let listen = |addr: &'static str| {
        in_netns(&ns.name, move || {
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"))
        })
    };
    let (rs1, rs2) = (listen("192.0.2.11:80"), listen("192.0.2.12:80"));
    let sock = dir.join(format!("{tag}-agentx.sock"));
    let traps = dir.join(format!("{tag}-traps.log"));
    let persist = dir.join(format!("{tag}-persist"));
    std::fs::create_dir_all(&persist).unwrap();
    let snmpd_conf = dir.join(format!("{tag}-snmpd.conf"));
    std::fs::write(
        &snmpd_conf,
        format!(
            "master agentx\nagentXSocket unix:{}\nagentaddress udp:127.0.0.1:1161\n\
             rocommunity public 127.0.0.1\ntrap2sink 127.0.0.1:1162 public\n",
            sock.display()
        ),
    )
    .unwrap();
    let trapd_conf = dir.join(format!("{tag}-snmptrapd.conf"));
    std::fs::write(&trapd_conf, keepalived_tests::snmp::SNMPTRAPD_CONF).unwrap();
    let spawn = |args: &[&str], conf: &Path, extra: &[&str]| {
        Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .args(args)
            .arg(conf)
            .args(extra)
            .env("SNMP_PERSISTENT_DIR", &persist)
            .env("MIBS", "")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("net-snmp")
    };
    let trapd = spawn(
        &["snmptrapd", "-f", "-C", "-c"],
        &trapd_conf,
        &[
            "-Lf",
            &traps.display().to_string(),
            "-On",
            "-Ob",
            "--disableAuthorization=yes",
            "udp:127.0.0.1:1162",
        ],
    );
    let snmpd = spawn(&["snmpd", "-f", "-Lo", "-C", "-c"], &snmpd_conf, &[]);
    assert!(
        wait_for(Duration::from_secs(20), || sock.exists()).is_some(),
        "snmpd did not start in {}",
        ns.name
    );
    Host {
        ns,
        sock,
        traps,
        daemons: vec![trapd, snmpd],
        rs1: Some(rs1),
        _rs2: rs2,
    }
}

/// The walk of the MIB in `ns`, the version line and IPVS's counters and rates
/// (`virtualServerTable` columns 27-50, `realServerTable` 14-39) reduced to their type.
fn walk(ns: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args([
            "netns", "exec", ns, "snmpwalk", "-v2c", "-c", "public", "-On", "-Ob",
        ])
        .args(["-t", "2", "-r", "1", "127.0.0.1:1161", MIB])
        .stderr(Stdio::null())
        .output()
        .expect("snmpwalk");
    let counters = |name: &str| {
        let col = |table: &str| {
            name.strip_prefix(&format!("{MIB}.3.{table}.1."))
                .and_then(|r| r.split('.').next())
                .and_then(|c| c.parse::<u32>().ok())
        };
        matches!(col("3"), Some(27..=50)) || matches!(col("4"), Some(14..=39))
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(MIB))
        .map(|l| {
            let (name, value) = l.split_once(" = ").unwrap_or((l, ""));
            if name == format!("{MIB}.1.1.0") || counters(name) {
                format!("{name} = {}", value.split(':').next().unwrap_or(""))
            } else {
                l.trim_end().to_string()
            }
        })
        .collect()
}

fn same(when: &str, theirs: &[String], ours: &[String]) {
    let diff: Vec<String> = theirs
        .iter()
        .zip(ours.iter().chain(std::iter::repeat(&String::new())))
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("keepalived: {a}\n      ours: {b}"))
        .collect();
    assert!(
        diff.is_empty() && theirs.len() == ours.len(),
        "{when}: {} lines differ ({} vs {} lines):\n{}",
        diff.len(),
        theirs.len(),
        ours.len(),
        diff.join("\n")
    );
}

pub fn checker_mib_matches_keepalived(_ns: &Netns, dir: &Path) {
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/snmp/checker.conf");
    let (mut k, mut r) = (host(dir, "k"), host(dir, "r"));
    let start = |h: &Host, bin: &Path, tag: &str| {
        let file = |e: &str| dir.join(format!("{tag}.{e}")).display().to_string();
        let agentx = format!("unix:{}", h.sock.display());
        Daemon::start(
            &h.ns,
            bin,
            &[
                "-C",
                "-x",
                "-n",
                "-l",
                "-D",
                "-f",
                &conf.display().to_string(),
                "-A",
                &agentx,
                "-p",
                &file("p"),
                "-c",
                &file("c"),
            ],
            dir.join(format!("{tag}.log")),
        )
    };
    let keepalived = start(&k, Path::new("keepalived"), "k");
    let ours = start(&r, &keepalived_rs(), "r");
    // Every checker has run (delay_loop 2 and 3) and the walks hold both virtual servers.
    std::thread::sleep(Duration::from_secs(8));
    let full = |ns: &str| walk(ns).len() > 100;
    assert!(
        wait_for(Duration::from_secs(20), || full(&k.ns.name)
            && full(&r.ns.name))
        .is_some(),
        "no full walk:\n{}\n{}",
        keepalived.log_text(),
        ours.log_text()
    );
    same("settled", &walk(&k.ns.name), &walk(&r.ns.name));
    // 192.0.2.11:80 stops listening: its TCP_CHECK fails (retry 1, 1 s apart), the
    // quorum of 3 is lost and the sorry server stands in.
    k.rs1.take();
    r.rs1.take();
    std::thread::sleep(Duration::from_secs(10));
    same("a real server down", &walk(&k.ns.name), &walk(&r.ns.name));
    keepalived.stop();
    ours.stop();
    std::thread::sleep(Duration::from_secs(2));
    let (theirs, mine) = (
        keepalived_tests::snmp::traps(&k.traps),
        keepalived_tests::snmp::traps(&r.traps),
    );
    assert!(theirs.len() >= 4, "keepalived's traps: {theirs:#?}");
    same("traps", &theirs, &mine);
}
