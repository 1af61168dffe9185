//! Reloads that change which child processes run, and the `global_defs` keywords that
//! shape a reload, in network namespaces, beside keepalived 2.2.7 where it can show the
//! same thing on this host:
//! - a reload that adds the first `vrrp_instance` starts the VRRP child, which takes its
//!   VIP; one that removes it stops the child, and the VIP goes (keepalived's VRRP child
//!   stays, idle, but its VIP goes too);
//! - a reload that adds the first `virtual_server` starts the checker child, whose checks
//!   reach the real server; one that removes it stops the child for good (keepalived
//!   starts its checker child on the same reload; without IPVS in this kernel it cannot
//!   go further);
//! - `reload_check_config`: a configuration the check refuses is never applied, and the
//!   check's report is in its log file, for keepalived as for keepalived-rs;
//! - `reload_time_file`: the reload happens at the time the file names, not before, and
//!   the file is removed then;
//! - `reload_file`: the file is there while the parent reads the configuration, and gone
//!   after.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use keepalived_tests::host::{can_run, in_netns, tmp_dir, wait_for, Daemon, Netns, Pair, SlowOpen};

/// A `vrrp_instance` on `iface` for `vrid`, master at once, holding 10.`vrid`.0.100.
fn instance(iface: &str, vrid: u8) -> String {
    format!(
        "vrrp_instance VI_{vrid} {{\n  state MASTER\n  interface {iface}\n  virtual_router_id {vrid}\n  \
         priority 200\n  advert_int 1\n  virtual_ipaddress {{\n    10.{vrid}.0.100/24\n  }}\n}}\n"
    )
}

fn vip(vrid: u8) -> String {
    format!("10.{vrid}.0.100")
}

/// A `virtual_server` whose one real server, `port` on loopback, is checked every second
/// by TCP_CHECK.
fn virtual_server(port: u16) -> String {
    format!(
        "virtual_server 10.9.9.9 80 {{\n  delay_loop 1\n  real_server 127.0.0.1 {port} {{\n    \
         TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n}}\n"
    )
}

/// keepalived 2.2.7 in `ns`, in the foreground with detailed console logs, its pidfiles
/// `<tag>.kp`, `<tag>.kr`, `<tag>.kc` and log `<tag>.log` in `dir`.
fn theirs(ns: &Netns, conf: &Path, dir: &Path, tag: &str) -> Daemon {
    let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
    let (conf, p, r, c) = (
        conf.display().to_string(),
        file("kp"),
        file("kr"),
        file("kc"),
    );
    let args = ["-n", "-l", "-D", "-f", &conf, "-p", &p, "-r", &r, "-c", &c];
    Daemon::start(
        ns,
        Path::new("keepalived"),
        &args,
        dir.join(format!("{tag}.log")),
    )
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|st| st != "Z"))
        })
        .unwrap_or(false)
}

fn count(log: &str, what: &str) -> usize {
    log.lines().filter(|l| l.contains(what)).count()
}

/// Writes `text` to `conf` and sends SIGHUP to `d`.
fn reload(d: &Daemon, conf: &Path, text: &str) {
    std::fs::write(conf, text).unwrap();
    d.signal(libc::SIGHUP);
}

/// keepalived-rs (`i` 0) or keepalived (`i` 1) in namespace `i` of `pair`, on `conf`
/// (`<tag>.conf` in `dir`): `global` then an instance for `vrid`; returned once it holds
/// the instance's VIP.
fn master(
    pair: &Pair,
    i: usize,
    vrid: u8,
    dir: &Path,
    tag: &str,
    global: &str,
) -> (Daemon, PathBuf) {
    let conf = dir.join(format!("{tag}.conf"));
    std::fs::write(&conf, format!("{global}{}", instance(&pair.ifs[i], vrid))).unwrap();
    let d = if i == 0 {
        Daemon::ours(&pair.ns[0], &conf, dir, tag, &[])
    } else {
        theirs(&pair.ns[1], &conf, dir, tag)
    };
    assert!(
        wait_for(Duration::from_secs(10), || pair.holds(i, &vip(vrid))).is_some(),
        "{tag} takes its VIP: {}",
        d.log_text()
    );
    (d, conf)
}

// keepalived-rs and keepalived, each in a namespace of its own, start on a configuration
// with nothing to run. A reload adding an instance starts the VRRP child, which takes the
// VIP; a reload taking the instance out removes the VIP, and keepalived-rs's VRRP child
// stops and is not restarted.
#[test]
fn a_reload_starts_the_vrrp_child_with_the_first_instance_and_stops_it_with_the_last() {
    if !can_run(
        "a_reload_starts_the_vrrp_child_with_the_first_instance_and_stops_it_with_the_last",
        &["ip", "keepalived"],
    ) {
        return;
    }
    // VRIDs: 85 for keepalived-rs on namespace 0, 86 for keepalived on namespace 1.
    let dir = tmp_dir("krc85");
    let pair = Pair::new("krc85", 85);
    let confs: Vec<PathBuf> = (0..2).map(|i| dir.join(format!("c{i}.conf"))).collect();
    for c in &confs {
        std::fs::write(c, "global_defs {\n  router_id test\n}\n").unwrap();
    }
    let ours = Daemon::ours(&pair.ns[0], &confs[0], &dir, "ours", &[]);
    let keepalived = theirs(&pair.ns[1], &confs[1], &dir, "ka");
    let started = |d: &Daemon, what: &str| count(&d.log_text(), what);
    assert!(
        wait_for(Duration::from_secs(5), || ours
            .log_text()
            .contains("no configuration to run"))
        .is_some(),
        "{}",
        ours.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(5), || keepalived
            .log_text()
            .contains("no configuration to run"))
        .is_some(),
        "{}",
        keepalived.log_text()
    );
    assert_eq!(Daemon::pid_of(&dir, "ours", "r"), None, "no VRRP child yet");

    reload(&ours, &confs[0], &instance(&pair.ifs[0], 85));
    reload(&keepalived, &confs[1], &instance(&pair.ifs[1], 86));
    for (i, vrid, d) in [(0, 85, &ours), (1, 86, &keepalived)] {
        assert!(
            wait_for(Duration::from_secs(10), || pair.holds(i, &vip(vrid))).is_some(),
            "the VRRP child started by the reload takes the VIP: {}",
            d.log_text()
        );
    }
    assert_eq!(started(&ours, "Starting the VRRP child process"), 1);
    assert_eq!(started(&keepalived, "Starting VRRP child process"), 1);
    let child = Daemon::pid_of(&dir, "ours", "r").expect("VRRP child pidfile");
    assert!(alive(child));

    reload(&ours, &confs[0], "global_defs {\n  router_id test\n}\n");
    reload(
        &keepalived,
        &confs[1],
        "global_defs {\n  router_id test\n}\n",
    );
    for (i, vrid, d) in [(0, 85, &ours), (1, 86, &keepalived)] {
        assert!(
            wait_for(Duration::from_secs(10), || !pair.holds(i, &vip(vrid))).is_some(),
            "the VIP goes with the instance: {}",
            d.log_text()
        );
    }
    assert!(
        wait_for(Duration::from_secs(5), || !alive(child)).is_some(),
        "the VRRP child stops: {}",
        ours.log_text()
    );
    // Time for a respawn, which must not come.
    std::thread::sleep(Duration::from_secs(3));
    let log = ours.log_text();
    assert_eq!(
        started(&ours, "Starting the VRRP child process"),
        1,
        "{log}"
    );
    assert_eq!(count(&log, "respawning"), 0, "{log}");
    assert!(
        log.contains("stopped, the configuration gives it no work"),
        "{log}"
    );
    assert_eq!(
        Daemon::pid_of(&dir, "ours", "r"),
        None,
        "its pidfile went: {log}"
    );
    assert!(!pair.holds(0, &vip(85)));
    // keepalived keeps its VRRP child, idle; the VIP is gone all the same.
    let ka_child = Daemon::pid_of(&dir, "ka", "kr");
    eprintln!(
        "keepalived's VRRP child after the reload: {:?}, alive: {}",
        ka_child,
        ka_child.is_some_and(alive)
    );
    ours.stop();
    keepalived.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP listener on loopback in `ns`, counting the connections made to it.
fn counting_listener(ns: &Netns) -> (u16, Arc<AtomicUsize>) {
    let l = in_netns(&ns.name, || TcpListener::bind("127.0.0.1:0").unwrap());
    let port = l.local_addr().unwrap().port();
    let n = Arc::new(AtomicUsize::new(0));
    let seen = n.clone();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(c);
        }
    });
    (port, n)
}

// keepalived-rs starts on a configuration with an instance and no virtual server: no
// checker child. A reload adding a virtual server starts it, and its TCP checks reach the
// real server; a reload taking the virtual server out stops the checker for good, and
// the checks stop. keepalived, given the same reloads, starts its checker child on the
// first as well.
#[test]
fn a_reload_starts_the_checker_with_the_first_virtual_server_and_stops_it_with_the_last() {
    if !can_run(
        "a_reload_starts_the_checker_with_the_first_virtual_server_and_stops_it_with_the_last",
        &["ip", "keepalived"],
    ) {
        return;
    }
    let dir = tmp_dir("krc86");
    let pair = Pair::new("krc86", 87);
    let (port, checks) = counting_listener(&pair.ns[0]);
    let conf = dir.join("ours.conf");
    let base = instance(&pair.ifs[0], 87);
    std::fs::write(&conf, &base).unwrap();
    let ours = Daemon::ours(&pair.ns[0], &conf, &dir, "ours", &[]);
    assert!(
        wait_for(Duration::from_secs(10), || pair.holds(0, &vip(87))).is_some(),
        "{}",
        ours.log_text()
    );
    assert_eq!(Daemon::pid_of(&dir, "ours", "c"), None, "no checker yet");
    assert_eq!(checks.load(Ordering::SeqCst), 0);

    reload(&ours, &conf, &format!("{base}{}", virtual_server(port)));
    assert!(
        wait_for(Duration::from_secs(10), || checks.load(Ordering::SeqCst)
            >= 2)
        .is_some(),
        "the checker started by the reload checks the real server: {}",
        ours.log_text()
    );
    let checker = Daemon::pid_of(&dir, "ours", "c").expect("checker pidfile");
    assert!(alive(checker));
    let vrrp = Daemon::pid_of(&dir, "ours", "r").expect("VRRP pidfile");

    reload(&ours, &conf, &base);
    assert!(
        wait_for(Duration::from_secs(5), || !alive(checker)).is_some(),
        "the checker stops: {}",
        ours.log_text()
    );
    let after = checks.load(Ordering::SeqCst);
    // Time for several checks and for a respawn, neither of which must come.
    std::thread::sleep(Duration::from_secs(3));
    let log = ours.log_text();
    assert_eq!(
        checks.load(Ordering::SeqCst),
        after,
        "no check after the stop"
    );
    assert_eq!(
        count(&log, "Starting the Healthcheck child process"),
        1,
        "{log}"
    );
    assert_eq!(count(&log, "respawning"), 0, "{log}");
    assert_eq!(Daemon::pid_of(&dir, "ours", "c"), None, "{log}");
    assert_eq!(
        Daemon::pid_of(&dir, "ours", "r"),
        Some(vrrp),
        "the VRRP child went on: {log}"
    );
    assert!(pair.holds(0, &vip(87)));
    ours.stop();

    // keepalived on the same reload in the other namespace.
    let ka_conf = dir.join("ka.conf");
    let ka_base = instance(&pair.ifs[1], 88);
    std::fs::write(&ka_conf, &ka_base).unwrap();
    let keepalived = theirs(&pair.ns[1], &ka_conf, &dir, "ka");
    assert!(
        wait_for(Duration::from_secs(10), || pair.holds(1, &vip(88))).is_some(),
        "{}",
        keepalived.log_text()
    );
    assert_eq!(
        count(&keepalived.log_text(), "Starting Healthcheck child process"),
        0
    );
    reload(
        &keepalived,
        &ka_conf,
        &format!("{ka_base}{}", virtual_server(port)),
    );
    assert!(
        wait_for(Duration::from_secs(10), || count(
            &keepalived.log_text(),
            "Starting Healthcheck child process"
        ) == 1)
        .is_some(),
        "keepalived starts its checker on the reload: {}",
        keepalived.log_text()
    );
    keepalived.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

// `reload_check_config LOG`: a new configuration with an unknown keyword fails the check
// (`-t` in a process of its own), so the reload is refused before the parent reads the
// file itself, and the VIP stays; the check's report, in LOG, names the keyword.
// keepalived refuses the same reload the same way.
#[test]
fn reload_check_config_refuses_what_the_check_fails_and_writes_its_report() {
    if !can_run(
        "reload_check_config_refuses_what_the_check_fails_and_writes_its_report",
        &["ip", "keepalived"],
    ) {
        return;
    }
    let dir = tmp_dir("krc87");
    let pair = Pair::new("krc87", 89);
    for (i, vrid, tag) in [(0usize, 89u8, "ours"), (1, 90, "ka")] {
        let log = dir.join(format!("{tag}-check.log"));
        let global = format!(
            "global_defs {{\n  reload_check_config {}\n}}\n",
            log.display()
        );
        let (d, conf) = master(&pair, i, vrid, &dir, tag, &global);
        let bad = instance(&pair.ifs[i], vrid)
            .replace("priority 200", "priority 150\n  no_such_keyword 1");
        reload(&d, &conf, &format!("{global}{bad}"));
        let refused = |l: &str| l.contains("failed validation");
        assert!(
            wait_for(Duration::from_secs(10), || refused(&d.log_text())).is_some(),
            "{tag}: the reload is refused: {}",
            d.log_text()
        );
        let report = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(
            report.contains("no_such_keyword"),
            "{tag}: the report names the error: {report}"
        );
        std::thread::sleep(Duration::from_secs(2));
        assert!(
            pair.holds(i, &vip(vrid)),
            "{tag}: the VIP stays: {}",
            d.log_text()
        );
        if i == 0 {
            assert_eq!(count(&d.log_text(), "Reload: configuration loaded"), 0);
        }
        d.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `t` as `YYYY-MM-DD HH:MM:SSZ`.
fn utc_text(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// `reload_time_file`: the configuration on disk gains a second VIP, but no SIGHUP comes;
// the time file names a moment 6 s ahead. The second VIP is absent until then and present
// after, and the time file is gone. keepalived does the same.
#[test]
fn reload_time_file_reloads_at_the_time_it_names_and_removes_it() {
    if !can_run(
        "reload_time_file_reloads_at_the_time_it_names_and_removes_it",
        &["ip", "keepalived"],
    ) {
        return;
    }
    let dir = tmp_dir("krc88");
    let pair = Pair::new("krc88", 91);
    for (i, vrid, tag) in [(0usize, 91u8, "ours"), (1, 92, "ka")] {
        let time_file = dir.join(format!("{tag}.time"));
        let global = format!(
            "global_defs {{\n  reload_time_file {}\n}}\n",
            time_file.display()
        );
        let (d, conf) = master(&pair, i, vrid, &dir, tag, &global);
        let one = instance(&pair.ifs[i], vrid);
        let second = format!("10.{vrid}.1.100");
        let two = one.replace("    10.", &format!("    {second}/24\n    10."));
        std::fs::write(&conf, format!("{global}{two}")).unwrap();
        let at = epoch_now() + 6;
        std::fs::write(&time_file, format!("{}\n", utc_text(at))).unwrap();
        assert!(
            wait_for(Duration::from_secs(3), || d
                .log_text()
                .contains("Scheduling reload for"))
            .is_some(),
            "{tag}: the reload is scheduled: {}",
            d.log_text()
        );
        // Until the time named, the configuration on disk is not applied.
        while epoch_now() + 1 < at {
            assert!(
                !pair.holds(i, &second),
                "{tag}: reloaded before the time: {}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        assert!(
            wait_for(Duration::from_secs(10), || pair.holds(i, &second)).is_some(),
            "{tag}: reloaded at the time: {}",
            d.log_text()
        );
        assert!(epoch_now() >= at);
        assert!(!time_file.exists(), "{tag}: the time file is removed");
        d.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// `reload_file FILE`: while the parent waits for the configuration (its file takes as
// long to open as the test holds a lease on it), FILE exists; once the load is done, it
// is gone.
#[test]
fn reload_file_exists_while_the_configuration_is_read() {
    if !can_run(
        "reload_file_exists_while_the_configuration_is_read",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("krc89");
    let pair = Pair::new("krc89", 93);
    let marker = dir.join("k.reload");
    let global = format!("global_defs {{\n  reload_file {}\n}}\n", marker.display());
    std::fs::write(&marker, "left over").unwrap();
    let (d, conf) = master(&pair, 0, 93, &dir, "ours", &global);
    assert!(
        !marker.exists(),
        "a reload file left over is removed at start"
    );
    let lease = SlowOpen::hold(&conf);
    d.signal(libc::SIGHUP);
    assert!(
        wait_for(Duration::from_secs(3), || lease.waited_on()).is_some(),
        "{}",
        d.log_text()
    );
    let mut text = String::new();
    std::fs::File::open(&marker)
        .expect("the reload file is there while the configuration is read")
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.is_empty());
    drop(lease);
    assert!(
        wait_for(Duration::from_secs(5), || !marker.exists()).is_some(),
        "the reload file goes once the load is done: {}",
        d.log_text()
    );
    assert_eq!(count(&d.log_text(), "Reload: configuration loaded"), 1);
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
