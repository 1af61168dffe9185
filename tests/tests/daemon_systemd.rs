//! systemd's notify protocol, with a test socket standing in for systemd (systemd is not
//! PID 1 here): what keepalived-rs sends to `NOTIFY_SOCKET` at start, at each reload,
//! with `WATCHDOG_USEC`, and at stop; and that its children and scripts are started
//! without the variables, so only the main process speaks for the service. And the unit
//! file shipped in `packaging/` passes `systemd-analyze verify`.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::{Duration, Instant};

use keepalived_tests::host::{keepalived_rs, runnable, tmp_dir, wait_for, Daemon, Netns};

const VIP: &str = "10.95.0.100";

/// The messages received until `until` returns true of one, or `limit` passes; each is
/// a datagram's text.
fn receive(sock: &UnixDatagram, limit: Duration, until: impl Fn(&str) -> bool) -> Vec<String> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        if let Ok(len) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..len]).into_owned();
            let done = until(&msg);
            got.push(msg);
            if done {
                break;
            }
        }
    }
    got
}

/// The value of `key` in a message, if it has the key.
fn field<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    msg.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

fn monotonic_usec() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000 + (ts.tv_nsec as u64) / 1_000
}

/// Whether process `pid`'s environment has `NOTIFY_SOCKET`.
fn has_notify_socket(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .any(|v| v.starts_with(b"NOTIFY_SOCKET="))
}

#[test]
fn notify_socket_hears_ready_reloading_watchdog_and_stopping() {
    let test = "notify_socket_hears_ready_reloading_watchdog_and_stopping";
    if !runnable(test, &["ip"]) {
        return;
    }
    let dir = tmp_dir("systemd");
    let ns = Netns::new("ksdn");
    ns.ip(&["link", "add", "n0", "type", "veth", "peer", "name", "n1"]);
    ns.ip(&["link", "set", "n0", "up"]);
    ns.ip(&["link", "set", "n1", "up"]);
    ns.ip(&["addr", "add", "10.95.0.1/24", "dev", "n0"]);
    let env_file = dir.join("script-env");
    let script = dir.join("master.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nenv > {}\n", env_file.display()),
    )
    .unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(&script)
        .status()
        .unwrap();
    let conf = dir.join("systemd.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  script_user root\n}}\n\
             vrrp_instance V {{\n  interface n0\n  state MASTER\n  virtual_router_id 95\n  \
             priority 200\n  advert_int 1\n  notify_master {}\n  \
             virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            script.display()
        ),
    )
    .unwrap();
    let path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&path);
    let sock = UnixDatagram::bind(&path).expect("the test's notify socket");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let file = |ext: &str| dir.join(format!("sd.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let daemon = Daemon::start_with_env(
        &ns,
        &keepalived_rs(),
        &["-n", "-l", "-f", &c, "-p", &p, "-r", &r, "-c", &k],
        &[
            ("NOTIFY_SOCKET", path.as_path()),
            ("WATCHDOG_USEC", Path::new("600000")),
        ],
        dir.join("sd.log"),
    );

    // READY=1 with our pid as MAINPID, and a status.
    let start = receive(&sock, Duration::from_secs(20), |m| m.contains("READY=1"));
    let ready = start.iter().find(|m| m.contains("READY=1"));
    let ready = ready.unwrap_or_else(|| panic!("no READY=1 in {start:?}\n{}", daemon.log_text()));
    let parent = Daemon::pid_of(&dir, "sd", "p").expect("the parent's pidfile");
    assert_eq!(
        field(ready, "MAINPID"),
        Some(parent.to_string().as_str()),
        "{ready}"
    );
    assert!(
        field(ready, "STATUS").is_some_and(|s| s.starts_with("Running")),
        "{ready}"
    );

    // WATCHDOG=1 at half of WATCHDOG_USEC: several in 2 s.
    let heard = receive(&sock, Duration::from_secs(2), |_| false);
    let pings = heard.iter().filter(|m| m.trim() == "WATCHDOG=1").count();
    assert!(pings >= 2, "WATCHDOG=1 {pings} times in 2 s: {heard:?}");

    // Neither the VRRP child nor the notify script has the variable.
    let master = wait_for(Duration::from_secs(10), || {
        env_file.exists() && ns.holds("n0", VIP)
    });
    assert!(master.is_some(), "not master\n{}", daemon.log_text());
    let child = Daemon::pid_of(&dir, "sd", "r").expect("the VRRP child's pidfile");
    assert!(has_notify_socket(parent), "the parent lost NOTIFY_SOCKET");
    assert!(
        !has_notify_socket(child),
        "the VRRP child has NOTIFY_SOCKET"
    );
    let script_env = std::fs::read_to_string(&env_file).unwrap();
    assert!(!script_env.contains("NOTIFY_SOCKET"), "{script_env}");

    // A reload: RELOADING=1 with the monotonic clock's time, then READY=1.
    let before = monotonic_usec();
    daemon.signal(libc::SIGHUP);
    let reload = receive(&sock, Duration::from_secs(20), |m| m.contains("READY=1"));
    let reloading = reload
        .iter()
        .position(|m| m.contains("RELOADING=1"))
        .unwrap_or_else(|| panic!("no RELOADING=1 in {reload:?}"));
    let usec: u64 = field(&reload[reloading], "MONOTONIC_USEC")
        .and_then(|u| u.parse().ok())
        .unwrap_or_else(|| panic!("no MONOTONIC_USEC in {}", reload[reloading]));
    assert!(
        usec >= before && usec <= monotonic_usec(),
        "MONOTONIC_USEC={usec}"
    );
    assert!(
        reload[reloading..].iter().any(|m| m.contains("READY=1")),
        "no READY=1 after RELOADING=1: {reload:?}"
    );

    // SIGTERM: STOPPING=1.
    daemon.signal(libc::SIGTERM);
    let stop = receive(&sock, Duration::from_secs(20), |m| m.contains("STOPPING=1"));
    assert!(
        stop.iter().any(|m| m.contains("STOPPING=1")),
        "no STOPPING=1 in {stop:?}\n{}",
        daemon.log_text()
    );
}

#[test]
fn the_shipped_unit_file_verifies() {
    let test = "the_shipped_unit_file_verifies";
    if !runnable(test, &["systemd-analyze"]) {
        return;
    }
    let unit = std::fs::read_to_string(
        keepalived_tests::crate_dir().join("../packaging/keepalived-rs.service"),
    )
    .expect("packaging/keepalived-rs.service");
    for line in [
        "Type=notify",
        "ExecStart=/usr/sbin/keepalived-rs --dont-fork $DAEMON_ARGS",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "EnvironmentFile=-/etc/default/keepalived-rs",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit has no `{line}`");
    }
    // Verified with the binary just built standing for the installed one (verify checks
    // that ExecStart's program exists); man pages are not looked for.
    let dir = tmp_dir("systemd-unit");
    let path = dir.join("keepalived-rs.service");
    let bin = keepalived_rs().display().to_string();
    std::fs::write(&path, unit.replace("/usr/sbin/keepalived-rs", &bin)).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
