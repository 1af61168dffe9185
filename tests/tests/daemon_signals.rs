//! Signals, as an operator sends them: every function `--signum` names, and every other
//! signal a process might be sent by mistake, to the parent and to each child. None may
//! end a process or cost the master its VIP; STATS_CLEAR writes the statistics and then
//! zeroes them, as keepalived 2.2.7 does (shown on both daemons); and a script the
//! daemon starts has the default action for every signal, not the daemon's ignores.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use keepalived_tests::host::{keepalived_rs, runnable, tmp_dir, wait_for, Daemon, Netns};

const VIP: &str = "10.94.0.100";

/// A namespace with a veth pair `s0`/`s1` up, `s0` holding 10.94.0.1/24.
fn netns(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.ip(&["link", "add", "s0", "type", "veth", "peer", "name", "s1"]);
    ns.ip(&["link", "set", "s0", "up"]);
    ns.ip(&["link", "set", "s1", "up"]);
    ns.ip(&["addr", "add", "10.94.0.1/24", "dev", "s0"]);
    ns
}

/// One master instance with `VIP`, a notify_master script that records the signals it
/// ignores (`SigIgn` of /proc/self/status) in `sigign`, and with `checker` a virtual
/// server, so that keepalived-rs has a checker child too (keepalived 2.2.7 stops on a
/// kernel without IPVS, as this one, so it is given none).
fn config(dir: &Path, sigign: &Path, checker: bool) -> PathBuf {
    let script = dir.join("master.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ngrep SigIgn /proc/$$/status > {0}.tmp && mv {0}.tmp {0}\n",
            sigign.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .args(["755"])
        .arg(&script)
        .status()
        .unwrap();
    let conf = dir.join(format!("signals-{checker}.conf"));
    let server = if checker {
        "virtual_server 10.94.0.100 80 {\n  protocol TCP\n  \
         real_server 10.94.0.1 80 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n}\n"
    } else {
        ""
    };
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  router_id ksg\n  script_user root\n}}\n\
             vrrp_instance V {{\n  interface s0\n  state MASTER\n  virtual_router_id 94\n  \
             priority 200\n  advert_int 1\n  notify_master {}\n  \
             virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n{server}",
            script.display()
        ),
    )
    .unwrap();
    conf
}

/// `keepalived-rs --signum=NAME`, through the binary, as an operator gets the number.
fn signum(name: &str) -> i32 {
    let out = Command::new(keepalived_rs())
        .arg(format!("--signum={name}"))
        .output()
        .expect("keepalived-rs --signum");
    assert!(out.status.success(), "--signum={name} refused");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a number")
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn send(pid: i32, sig: i32) {
    // SAFETY: a signal to a process of the daemon under test.
    unsafe { libc::kill(pid, sig) };
}

/// The "Became master" count of the statistics file, once it has been written afresh.
fn became_master(stats: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(stats).ok()?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Became master:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Sends `sig` to `pid` and returns the "Became master" count of the statistics file it
/// makes the VRRP child write (the file is removed first).
fn stats_after(stats: &Path, pid: i32, sig: i32) -> u64 {
    let _ = std::fs::remove_file(stats);
    send(pid, sig);
    wait_for(Duration::from_secs(10), || became_master(stats).is_some())
        .and_then(|_| became_master(stats))
        .unwrap_or_else(|| panic!("no statistics at {} after signal {sig}", stats.display()))
}

/// STATS_CLEAR to the parent of a daemon that became master once: the file it writes
/// still says so, and a SIGUSR2 after it finds the counter zeroed.
fn stats_clear_sequence(stats: &Path, parent: i32) -> (u64, u64, u64) {
    let before = stats_after(stats, parent, libc::SIGUSR2);
    let cleared = stats_after(stats, parent, signum("STATS_CLEAR"));
    let after = stats_after(stats, parent, libc::SIGUSR2);
    (before, cleared, after)
}

/// The signals whose default action ends or stops a process, less those that report a
/// fault of the process itself and SIGKILL/SIGSTOP: every one a daemon could be sent by
/// mistake. The real-time ones include JSON and STATS_CLEAR, which act.
fn stray() -> Vec<i32> {
    let mut stray = vec![
        libc::SIGQUIT,
        libc::SIGTRAP,
        libc::SIGPIPE,
        libc::SIGALRM,
        libc::SIGSTKFLT,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
        libc::SIGXCPU,
        libc::SIGXFSZ,
        libc::SIGVTALRM,
        libc::SIGPROF,
        libc::SIGIO,
        libc::SIGPWR,
    ];
    stray.extend(libc::SIGRTMIN()..=libc::SIGRTMAX());
    stray
}

#[test]
fn no_signal_ends_the_daemon_and_stats_clear_zeroes_the_counters() {
    let test = "no_signal_ends_the_daemon_and_stats_clear_zeroes_the_counters";
    if !runnable(test, &["ip", "keepalived"]) {
        return;
    }
    let dir = tmp_dir("signals");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let sigign = dir.join("sigign");
    let conf = config(&dir, &sigign, true);
    let ns = netns("ksgr");
    let file = |ext: &str| dir.join(format!("rs.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let mut daemon = Daemon::start_with_env(
        &ns,
        &keepalived_rs(),
        &["-n", "-l", "-f", &c, "-p", &p, "-r", &r, "-c", &k],
        &[("TMPDIR", &tmp)],
        dir.join("rs.log"),
    );
    let pids = || {
        ["p", "r", "c"]
            .map(|kind| Daemon::pid_of(&dir, "rs", kind))
            .into_iter()
            .collect::<Option<Vec<i32>>>()
    };
    let master = wait_for(Duration::from_secs(20), || {
        pids().is_some() && ns.holds("s0", VIP) && sigign.exists()
    });
    assert!(master.is_some(), "not master\n{}", daemon.log_text());
    let pids = pids().unwrap();

    // The script has the default action for every signal the daemon ignores (what the
    // daemon itself inherited from whoever started it is not the daemon's to change).
    let ign = std::fs::read_to_string(&sigign).unwrap();
    let mask = ign
        .split_whitespace()
        .nth(1)
        .and_then(|m| u64::from_str_radix(m, 16).ok())
        .unwrap_or_else(|| panic!("no SigIgn in {ign}"));
    let ignored: Vec<i32> = stray()
        .into_iter()
        .filter(|s| mask & (1 << (s - 1)) != 0)
        .collect();
    assert!(
        ignored.is_empty(),
        "the notify script inherited the daemon's ignored signals {ignored:?}"
    );

    // STATS_CLEAR writes, then clears: the instance became master once.
    let stats = tmp.join("keepalived.stats");
    let ours = stats_clear_sequence(&stats, pids[0]);

    // Every function --signum names but STOP, to the parent.
    for name in ["RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"] {
        send(pids[0], signum(name));
        std::thread::sleep(Duration::from_millis(300));
    }
    // TDUMP is not a function of this build, as of Debian's keepalived.
    let tdump = Command::new(keepalived_rs())
        .arg("--signum=TDUMP")
        .output()
        .unwrap();
    assert_eq!(tdump.status.code(), Some(1), "--signum=TDUMP");

    // Every signal with a default action that ends or stops a process, to each process.
    let stray = stray();
    for &pid in &pids {
        for &sig in &stray {
            // Each child's own functions (JSON, STATS_CLEAR) act; a parent's reaches the
            // VRRP child.
            send(pid, sig);
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    for (pid, what) in pids.iter().zip(["parent", "VRRP child", "checker child"]) {
        assert!(
            alive(*pid),
            "the {what} ({pid}) died\n{}",
            daemon.log_text()
        );
    }
    assert!(ns.holds("s0", VIP), "the VIP went\n{}", daemon.log_text());
    assert_eq!(
        pids,
        ["p", "r", "c"].map(|kind| Daemon::pid_of(&dir, "rs", kind).unwrap()),
        "a process was restarted\n{}",
        daemon.log_text()
    );

    assert!(
        daemon
            .log_text()
            .contains("Printing and clearing VRRP stats for process("),
        "no STATS_CLEAR line\n{}",
        daemon.log_text()
    );

    send(pids[0], signum("STOP"));
    // The parent is this test's child: it is gone once it can be reaped.
    let gone = wait_for(Duration::from_secs(10), || {
        matches!(daemon.child.try_wait(), Ok(Some(_)))
    });
    assert!(gone.is_some(), "STOP did not stop the daemon");
    assert!(!ns.holds("s0", VIP), "the VIP stayed after STOP");
    drop(daemon);

    // keepalived 2.2.7 on the same instance: the same three counts.
    let kns = netns("ksgk");
    let kconf = config(&dir, &dir.join("ka.sigign"), false)
        .display()
        .to_string();
    let ktmp = dir.join("ktmp");
    std::fs::create_dir_all(&ktmp).unwrap();
    let kfile = |ext: &str| dir.join(format!("ka.{ext}")).display().to_string();
    let (kp, kr, kc) = (kfile("p"), kfile("r"), kfile("c"));
    let keepalived = Daemon::start_with_env(
        &kns,
        Path::new("keepalived"),
        &[
            "-n", "-l", "-D", "-f", &kconf, "-p", &kp, "-r", &kr, "-c", &kc,
        ],
        &[("TMPDIR", &ktmp)],
        dir.join("ka.log"),
    );
    let up = wait_for(Duration::from_secs(20), || {
        Daemon::pid_of(&dir, "ka", "p").is_some() && kns.holds("s0", VIP)
    });
    assert!(
        up.is_some(),
        "keepalived not master\n{}",
        keepalived.log_text()
    );
    let kparent = Daemon::pid_of(&dir, "ka", "p").unwrap();
    let theirs = stats_clear_sequence(&ktmp.join("keepalived.stats"), kparent);
    assert_eq!(
        ours, theirs,
        "(before, STATS_CLEAR, after): ours against keepalived's"
    );
    assert_eq!(ours, (1, 1, 0));
}
