//! The notify FIFO of keepalived-rs beside keepalived 2.2.7's: the same configuration,
//! run by each in turn in a network namespace, through the same steps, must write the
//! same lines. Priority changes (`vrrp_notify_priority_changes`, a sync group's weights
//! counted through `global_tracking`), FAULT, reloads with
//! `fifo_write_vrrp_states_on_reload` in FAULT and in MASTER, and the STOP lines at
//! shutdown; and `unicast_fault_no_peer`, on the FIFO and on the wire.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use keepalived_tests::fifo::FifoLines;
use keepalived_tests::host::{adverts, can_run, tmp_dir, wait_for, Capture, Daemon, Pair};

/// Whether the test can run here; in CI (`CI` set) it must.
fn runnable(test: &str) -> bool {
    if can_run(test, &["ip", "keepalived", "tcpdump"]) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} must run in CI: root, ip, keepalived and tcpdump are needed"
    );
    false
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Keepalived,
    Ours,
}

fn start(who: Who, pair: &Pair, conf: &Path, dir: &Path) -> Daemon {
    match who {
        Who::Ours => Daemon::ours(&pair.ns[0], conf, dir, "ours", &[]),
        Who::Keepalived => {
            let file = |ext: &str| dir.join(format!("keepalived.{ext}")).display().to_string();
            let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
            let args = ["-n", "-l", "-D", "-f", &conf, "-p", &p, "-r", &r, "-c", &c];
            Daemon::start(
                &pair.ns[0],
                Path::new("keepalived"),
                &args,
                dir.join("keepalived.log"),
            )
        }
    }
}

fn script(dir: &Path, name: &str, flag: &str) -> String {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!("#!/bin/sh\n[ ! -e {} ]\n", dir.join(flag).display()),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

/// What the FIFO heard in each step of [`priority_steps`].
#[derive(Debug)]
struct Steps {
    start: Vec<String>,
    weight_down: Vec<String>,
    fault: Vec<String>,
    reload_in_fault: Vec<String>,
    fault_cleared: Vec<String>,
    reload_in_master: Vec<String>,
    shutdown: Vec<String>,
}

/// One daemon through the steps: start, a weighted script failing (priority 200 → 150,
/// and VI_2's 100 → 50 through its group's `global_tracking`), a weight-0 script failing
/// (FAULT), a reload in FAULT, the fault cleared (back to MASTER), a reload in MASTER, and
/// SIGTERM.
fn priority_steps(who: Who, pair: &Pair, root: &Path) -> Steps {
    let dir = root.join(format!("{who:?}"));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = FifoLines::new(dir.join("notify.fifo"));
    let (chk, chk0) = (
        script(&dir, "chk.sh", "fail"),
        script(&dir, "chk0.sh", "fault"),
    );
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  notify_fifo {fifo}\n  vrrp_notify_priority_changes\n  \
             fifo_write_vrrp_states_on_reload\n}}\n\
             vrrp_script chk {{\n  script {chk}\n  interval 1\n  weight -50\n}}\n\
             vrrp_script chk0 {{\n  script {chk0}\n  interval 1\n}}\n\
             vrrp_instance VI_1 {{\n  interface {i}\n  virtual_router_id 93\n  priority 200\n  \
             advert_int 1\n  track_script {{\n    chk\n    chk0\n  }}\n  \
             virtual_ipaddress {{\n    10.93.0.100/24\n  }}\n}}\n\
             vrrp_instance VI_2 {{\n  interface {i}\n  virtual_router_id 94\n  priority 100\n  \
             advert_int 1\n  track_script {{\n    chk\n  }}\n  \
             virtual_ipaddress {{\n    10.94.0.100/24\n  }}\n}}\n\
             vrrp_sync_group G1 {{\n  group {{\n    VI_2\n  }}\n  global_tracking\n}}\n",
            fifo = fifo.path.display(),
            i = pair.ifs[0],
        ),
    )
    .unwrap();
    let d = start(who, pair, &conf, &dir);
    let step = |d: &Daemon, from: &mut usize, want: Option<&str>, limit: Duration| {
        if let Some(line) = want {
            assert!(
                fifo.wait_line(*from, line, limit),
                "{who:?}: no {line:?} in {:?}; log: {}",
                &fifo.lines()[*from..],
                d.log_text()
            );
        }
        // Whatever else the step writes comes within a second of it.
        std::thread::sleep(Duration::from_millis(1500));
        let lines = fifo.lines()[*from..].to_vec();
        *from = fifo.count();
        lines
    };
    let mut at = 0;
    let start = step(
        &d,
        &mut at,
        Some("GROUP \"G1\" MASTER 0"),
        Duration::from_secs(10),
    );
    std::fs::write(dir.join("fail"), "").unwrap();
    let weight_down = step(
        &d,
        &mut at,
        Some("INSTANCE \"VI_2\" MASTER_PRIORITY 50"),
        Duration::from_secs(5),
    );
    std::fs::write(dir.join("fault"), "").unwrap();
    let fault = step(
        &d,
        &mut at,
        Some("INSTANCE \"VI_1\" FAULT 150"),
        Duration::from_secs(5),
    );
    d.signal(libc::SIGHUP);
    let reload_in_fault = step(&d, &mut at, None, Duration::ZERO);
    std::fs::remove_file(dir.join("fault")).unwrap();
    let fault_cleared = step(
        &d,
        &mut at,
        Some("INSTANCE \"VI_1\" MASTER 150"),
        Duration::from_secs(10),
    );
    d.signal(libc::SIGHUP);
    let reload_in_master = step(&d, &mut at, None, Duration::ZERO);
    // SIGTERM, and the wait for the daemon to be gone: its STOP lines are written.
    d.stop();
    std::thread::sleep(Duration::from_millis(500));
    let shutdown = fifo.lines()[at..].to_vec();
    Steps {
        start,
        weight_down,
        fault,
        reload_in_fault,
        fault_cleared,
        reload_in_master,
        shutdown,
    }
}

/// keepalived 2.2.7 writes no line for an instance a reload leaves master (it takes
/// another path in `vrrp_init_state()`); keepalived-rs writes every state, as the option
/// promises. Those lines aside, a reload's lines are keepalived's.
fn without_master_instances(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| !(l.starts_with("INSTANCE ") && l.contains("\" MASTER ")))
        .cloned()
        .collect()
}

#[test]
fn priority_fault_reload_and_stop_lines_match_keepalived() {
    let test = "priority_fault_reload_and_stop_lines_match_keepalived";
    if !runnable(test) {
        return;
    }
    let root = tmp_dir("notify-priority");
    let pair = Pair::new("knp9p", 93);
    let theirs = priority_steps(Who::Keepalived, &pair, &root);
    let ours = priority_steps(Who::Ours, &pair, &root);
    let s = |v: &[&str]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    // What keepalived 2.2.7 was seen to write, so a change of either side shows.
    assert_eq!(
        theirs.start,
        s(&[
            "GROUP \"G1\" BACKUP 0",
            "INSTANCE \"VI_2\" BACKUP 100",
            "INSTANCE \"VI_1\" BACKUP 200",
            "INSTANCE \"VI_1\" MASTER 200",
            "INSTANCE \"VI_2\" MASTER 100",
            "GROUP \"G1\" MASTER 0",
        ]),
        "{theirs:#?}"
    );
    assert_eq!(
        theirs.weight_down,
        s(&[
            "INSTANCE \"VI_1\" MASTER_PRIORITY 150",
            "INSTANCE \"VI_2\" MASTER_PRIORITY 50",
        ]),
        "{theirs:#?}"
    );
    assert_eq!(
        theirs.shutdown.last().map(String::as_str),
        Some("GROUP \"G1\" STOP 0")
    );
    assert_eq!(ours.start, theirs.start, "start: {ours:#?}");
    assert_eq!(ours.weight_down, theirs.weight_down, "weight: {ours:#?}");
    assert_eq!(ours.fault, theirs.fault, "fault: {ours:#?}");
    assert_eq!(
        without_master_instances(&ours.reload_in_fault),
        theirs.reload_in_fault,
        "reload in FAULT: {ours:#?}\n{theirs:#?}"
    );
    assert!(ours
        .reload_in_fault
        .contains(&"INSTANCE \"VI_2\" MASTER 50".to_string()));
    assert_eq!(
        ours.fault_cleared, theirs.fault_cleared,
        "cleared: {ours:#?}"
    );
    assert_eq!(
        without_master_instances(&ours.reload_in_master),
        theirs.reload_in_master,
        "reload in MASTER: {ours:#?}\n{theirs:#?}"
    );
    assert_eq!(ours.shutdown, theirs.shutdown, "shutdown: {ours:#?}");
    eprintln!("keepalived 2.2.7: {theirs:#?}\nkeepalived-rs: {ours:#?}");
    let _ = std::fs::remove_dir_all(&root);
}

/// `unicast_fault_no_peer` with no peer: FAULT, and not an advert; an empty
/// `unicast_peer` alone: multicast adverts, as keepalived 2.2.7 falls back to them.
fn unicast_run(who: Who, pair: &Pair, root: &Path) -> (Vec<String>, String) {
    let dir = root.join(format!("{who:?}"));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = FifoLines::new(dir.join("notify.fifo"));
    let conf = dir.join("r.conf");
    let instance = |name: &str, vrid: u8, extra: &str| {
        format!(
            "vrrp_instance {name} {{\n  interface {}\n  virtual_router_id {vrid}\n  priority 100\n  \
             advert_int 1\n  unicast_peer {{\n  }}\n  {extra}\n  virtual_ipaddress {{\n    \
             10.{vrid}.0.100/24\n  }}\n}}\n",
            pair.ifs[0]
        )
    };
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  notify_fifo {}\n}}\n{}{}",
            fifo.path.display(),
            instance("VI_1", 95, "unicast_fault_no_peer"),
            instance("VI_2", 96, ""),
        ),
    )
    .unwrap();
    let cap = Capture::start(
        &pair.ns[1],
        &pair.ifs[1],
        "ip proto 112",
        &dir.join("adverts"),
    );
    let d = start(who, pair, &conf, &dir);
    assert!(
        fifo.wait_line(0, "INSTANCE \"VI_2\" MASTER 100", Duration::from_secs(10)),
        "{who:?}: {:?}; log: {}",
        fifo.lines(),
        d.log_text()
    );
    std::thread::sleep(Duration::from_secs(2));
    d.stop();
    std::thread::sleep(Duration::from_millis(500));
    (fifo.lines(), cap.text())
}

#[test]
fn unicast_fault_no_peer_faults_where_an_empty_peer_list_falls_back_to_multicast() {
    let test = "unicast_fault_no_peer_faults_where_an_empty_peer_list_falls_back_to_multicast";
    if !runnable(test) {
        return;
    }
    let root = tmp_dir("notify-unicast");
    let pair = Pair::new("knp9u", 94);
    let theirs = unicast_run(Who::Keepalived, &pair, &root);
    let ours = unicast_run(Who::Ours, &pair, &root);
    let s = |v: &[&str]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert_eq!(
        theirs.0,
        s(&[
            "INSTANCE \"VI_1\" FAULT 100",
            "INSTANCE \"VI_2\" BACKUP 100",
            "INSTANCE \"VI_2\" MASTER 100",
            "INSTANCE \"VI_1\" STOP 100",
            "INSTANCE \"VI_2\" STOP 100",
        ]),
        "keepalived 2.2.7"
    );
    assert_eq!(ours.0, theirs.0, "keepalived-rs");
    for (who, text) in [("keepalived", &theirs.1), ("keepalived-rs", &ours.1)] {
        assert!(
            adverts(text, 95).is_empty(),
            "{who} advertised VRID 95:\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.contains("> 224.0.0.18: VRRPv2, Advertisement, vrid 96,")),
            "{who} sent no multicast advert for VRID 96:\n{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// `log_unknown_vrids`: an advert for a VRID no instance on the interface has is logged,
/// by keepalived 2.2.7 and by keepalived-rs alike, every time.
#[test]
fn adverts_for_unknown_vrids_are_logged_with_log_unknown_vrids() {
    let test = "adverts_for_unknown_vrids_are_logged_with_log_unknown_vrids";
    if !runnable(test) {
        return;
    }
    let root = tmp_dir("notify-unknown");
    let pair = Pair::new("knp9l", 95);
    let instance = |i: usize, vrid: u8, global: &str| {
        format!(
            "global_defs {{\n  {global}\n}}\nvrrp_instance VI_1 {{\n  interface {}\n  \
             virtual_router_id {vrid}\n  priority 100\n  advert_int 1\n  \
             virtual_ipaddress {{\n    10.95.{vrid}.100/24\n  }}\n}}\n",
            pair.ifs[i]
        )
    };
    // The sender: keepalived 2.2.7 as master of VRID 97 on the other side.
    let sender_dir = root.join("sender");
    std::fs::create_dir_all(&sender_dir).unwrap();
    let sender_conf = sender_dir.join("r.conf");
    std::fs::write(&sender_conf, instance(1, 97, "")).unwrap();
    let file = |ext: &str| sender_dir.join(format!("k.{ext}")).display().to_string();
    let (c, p, r, k) = (
        sender_conf.display().to_string(),
        file("p"),
        file("r"),
        file("c"),
    );
    let _sender = Daemon::start(
        &pair.ns[1],
        Path::new("keepalived"),
        &["-n", "-l", "-f", &c, "-p", &p, "-r", &r, "-c", &k],
        sender_dir.join("k.log"),
    );
    let unknown = format!(
        "Unknown VRID(97) received on interface({}). ignoring...",
        pair.ifs[0]
    );
    for who in [Who::Keepalived, Who::Ours] {
        let dir = root.join(format!("{who:?}"));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("r.conf");
        std::fs::write(&conf, instance(0, 98, "log_unknown_vrids")).unwrap();
        let d = start(who, &pair, &conf, &dir);
        // The sender is master within 4 s of its start and advertises every second.
        let logged = wait_for(Duration::from_secs(10), || {
            d.log_text().matches(&unknown).count() >= 2
        });
        assert!(
            logged.is_some(),
            "{who:?} did not log {unknown:?}: {}",
            d.log_text()
        );
        d.stop();
        // Without the option, nothing.
        std::fs::write(&conf, instance(0, 98, "")).unwrap();
        let d = start(who, &pair, &conf, &dir);
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            !d.log_text().contains("Unknown VRID"),
            "{who:?} logged without log_unknown_vrids: {}",
            d.log_text()
        );
        d.stop();
    }
    let _ = std::fs::remove_dir_all(&root);
}
