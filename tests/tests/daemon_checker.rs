//! The checker side as a process of the real daemon: real servers on loopback probed by
//! TCP_CHECK, HTTP_GET and MISC_CHECK, taken down and brought back, with the notify
//! scripts, quorum scripts and LVS FIFO lines that follow; IPVS being unavailable is
//! said once; SIGUSR1 dumps the checker state. And a checker child that crashes is
//! respawned without disturbing the VRRP child beside it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keepalived_tests::host::{as_nobody, can_run, keepalived_rs, tmp_dir, wait_for, Daemon, Pair};

/// A real server on loopback that can be stopped and restarted on the same port. With
/// `http`, it answers every request `200 OK` with a small body.
struct RealServer {
    addr: SocketAddr,
    http: bool,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RealServer {
    fn start(http: bool) -> RealServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = RealServer {
            addr: l.local_addr().unwrap(),
            http,
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        s.serve(l);
        s
    }

    fn serve(&mut self, l: TcpListener) {
        l.set_nonblocking(true).unwrap();
        let (stop, http) = (self.stop.clone(), self.http);
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((c, _)) if http => {
                        std::thread::spawn(move || answer(c));
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
    }

    fn down(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn up(&mut self) {
        self.stop = Arc::new(AtomicBool::new(false));
        let l = TcpListener::bind(self.addr).expect("rebind the same port");
        self.serve(l);
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.down();
    }
}

fn answer(c: TcpStream) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut line = String::new();
    while r.read_line(&mut line).unwrap_or(0) > 0 {
        if line == "\r\n" {
            break;
        }
        line.clear();
    }
    let mut c = c;
    let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest);
}

/// The daemon as the checker alone (`-C`), with `conf`, in the foreground, its pidfiles,
/// dumps (TMPDIR) and log (`daemon.log`) in `dir`.
fn checker_only(conf: &Path, dir: &Path) -> Daemon {
    let out = std::fs::File::create(dir.join("daemon.log")).unwrap();
    let err = out.try_clone().unwrap();
    let child = std::process::Command::new(keepalived_rs())
        .args(["-n", "-l", "-G", "-C", "-f"])
        .arg(conf)
        .arg("-p")
        .arg(dir.join("p"))
        .arg("-c")
        .arg(dir.join("c"))
        .env("TMPDIR", dir)
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    Daemon {
        child,
        log: dir.join("daemon.log"),
    }
}

fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

#[test]
fn checker_follows_real_servers_with_notifies_quorum_and_fifo_lines() {
    if !can_run(
        "checker_follows_real_servers_with_notifies_quorum_and_fifo_lines",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("checker");
    let mut tcp = RealServer::start(false);
    let mut web = RealServer::start(true);
    let events = dir.join("events");
    let note = |what: &str| {
        script(
            &dir,
            what,
            &format!("echo \"{what} $*\" >> {}", events.display()),
        )
    };
    let (up, down, qup, qdown) = (note("up"), note("down"), note("qup"), note("qdown"));
    let misc_flag = dir.join("misc-ok");
    std::fs::write(&misc_flag, "").unwrap();
    let misc = script(&dir, "misc", &format!("test -e {}", misc_flag.display()));
    let fifo_out = dir.join("fifo.txt");
    let reader = script(
        &dir,
        "reader",
        &format!(
            "while read -r line; do echo \"$line\" >> {}; done < \"$1\"",
            fifo_out.display()
        ),
    );
    let conf = dir.join("ck.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  lvs_notify_fifo {fifo}\n  lvs_notify_fifo_script {reader}\n}}\n\
             virtual_server 10.80.0.1 80 {{\n  delay_loop 1\n  lb_algo wrr\n  lb_kind NAT\n  \
             protocol TCP\n  quorum 2\n  quorum_up {qup}\n  quorum_down {qdown}\n\
             real_server 127.0.0.1 {tport} {{\n    weight 1\n    notify_up {up}\n    notify_down {down}\n    \
             TCP_CHECK {{\n      connect_timeout 1\n      retry 1\n      delay_before_retry 1\n    }}\n  }}\n\
             real_server 127.0.0.1 {wport} {{\n    weight 1\n    notify_up {up}\n    notify_down {down}\n    \
             HTTP_GET {{\n      url {{\n        path /\n        status_code 200\n      }}\n      \
             connect_timeout 1\n      retry 0\n    }}\n    MISC_CHECK {{\n      misc_path {misc}\n    }}\n  }}\n}}\n",
            fifo = dir.join("lvs.fifo").display(),
            tport = tcp.addr.port(),
            wport = web.addr.port(),
        ),
    )
    .unwrap();
    // Checker only (-C): it needs no network namespace, the servers are on loopback.
    let d = checker_only(&conf, &dir);
    let events_text = || std::fs::read_to_string(&events).unwrap_or_default();
    let fifo_text = || std::fs::read_to_string(&fifo_out).unwrap_or_default();
    let tcp_rs = format!("RS [127.0.0.1]:tcp:{} [10.80.0.1]:tcp:80", tcp.addr.port());
    let web_rs = format!("RS [127.0.0.1]:tcp:{} [10.80.0.1]:tcp:80", web.addr.port());
    // Both start alive (no alpha): nothing is notified until something changes.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(events_text(), "", "no notify while all is well");

    // TCP server down: DOWN within delay_loop + retry × delay_before_retry +
    // connect_timeout (1 + 1 + 1 s), plus the first run's warmup (≤ 1 s) and margin.
    tcp.down();
    assert!(
        wait_for(Duration::from_secs(5), || fifo_text()
            .contains(&format!("{tcp_rs} DOWN")))
        .is_some(),
        "FIFO: {:?} log: {}",
        fifo_text(),
        d.log_text()
    );
    // Quorum 2 of weight 2 is lost: quorum_down, and the VS line.
    assert!(
        wait_for(Duration::from_secs(2), || events_text().contains("qdown")).is_some(),
        "{}",
        events_text()
    );
    assert!(events_text().contains("down"), "{}", events_text());
    assert!(
        fifo_text().contains("VS [10.80.0.1]:tcp:80 DOWN"),
        "{}",
        fifo_text()
    );

    // MISC failing takes the second real server down too, even with HTTP fine.
    std::fs::remove_file(&misc_flag).unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || fifo_text()
            .contains(&format!("{web_rs} DOWN")))
        .is_some(),
        "{}",
        fifo_text()
    );
    std::fs::write(&misc_flag, "").unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || fifo_text()
            .contains(&format!("{web_rs} UP")))
        .is_some(),
        "{}",
        fifo_text()
    );
    // HTTP server down: the same real server goes down on its HTTP check alone.
    web.down();
    let ups = fifo_text().matches(&format!("{web_rs} DOWN")).count();
    assert!(
        wait_for(Duration::from_secs(5), || fifo_text()
            .matches(&format!("{web_rs} DOWN"))
            .count()
            > ups)
        .is_some(),
        "{}",
        fifo_text()
    );
    // Both back: both up, quorum regained.
    tcp.up();
    web.up();
    assert!(
        wait_for(Duration::from_secs(6), || fifo_text()
            .contains(&format!("{tcp_rs} UP"))
            && fifo_text().contains("VS [10.80.0.1]:tcp:80 UP"))
        .is_some(),
        "{}",
        fifo_text()
    );
    assert!(
        wait_for(Duration::from_secs(2), || events_text().contains("qup")).is_some(),
        "{}",
        events_text()
    );
    // SIGUSR1: the checker state.
    d.signal(libc::SIGUSR1);
    let data = dir.join("keepalived_check.data");
    assert!(
        wait_for(Duration::from_secs(3), || std::fs::read_to_string(&data)
            .is_ok_and(|t| t.contains(" VS VIP = 10.80.0.1, VPORT = 80\n")))
        .is_some()
    );
    let log = d.log_text();
    assert_eq!(
        log.matches("nothing is programmed").count()
            + log
                .matches("IPVS programming is not part of this build")
                .count(),
        1,
        "the IPVS notice, once: {log}"
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crashed_checker_is_respawned_and_vrrp_never_notices() {
    if !can_run(
        "a_crashed_checker_is_respawned_and_vrrp_never_notices",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("ckcrash");
    let pair = Pair::new("kck", 81);
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "vrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 81\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{\n    10.81.0.100/24\n  }}\n}}\n\
             virtual_server 10.81.0.100 80 {{\n  delay_loop 1\n  real_server 127.0.0.1 9 {{\n    \
             TCP_CHECK {{\n      connect_timeout 1\n    }}\n  }}\n}}\n",
            pair.ifs[0]
        ),
    )
    .unwrap();
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "d", &[]);
    assert!(wait_for(Duration::from_secs(6), || pair.holds(0, "10.81.0.100")).is_some());
    let (vrrp, checker) = (
        Daemon::pid_of(&dir, "d", "r").unwrap(),
        Daemon::pid_of(&dir, "d", "c").expect("checker pidfile"),
    );
    let changes = d.log_text().matches("Entering").count();
    // SAFETY: signalling the checker child the test started.
    unsafe { libc::kill(checker, libc::SIGKILL) };
    let mut respawned = None;
    wait_for(Duration::from_secs(5), || {
        respawned = Daemon::pid_of(&dir, "d", "c").filter(|p| *p != checker);
        respawned.is_some()
    });
    assert!(respawned.is_some(), "checker respawned: {}", d.log_text());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        Daemon::pid_of(&dir, "d", "r"),
        Some(vrrp),
        "the VRRP child is the same process"
    );
    assert!(pair.holds(0, "10.81.0.100"), "the VIP never moved");
    assert_eq!(
        d.log_text().matches("Entering").count(),
        changes,
        "no VRRP state change: {}",
        d.log_text()
    );
    assert!(
        d.log_text().contains("Healthcheck child process(") && d.log_text().contains("respawning")
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The checker's scripts under `enable_script_security`, against the attack it exists
/// for: a MISC_CHECK and a `notify_down` reached through root's links into a directory an
/// unprivileged user owns, which that user (`nobody`, through `setpriv`) swaps for one
/// holding their own scripts while the checker runs. Both are refused when the
/// configuration is loaded, naming the directory at fault, so the user's scripts never
/// run as root; the MISC_CHECK goes with its script, and a `quorum_down` on a safe path
/// still runs when the TCP_CHECK takes the real server down.
#[test]
fn checker_scripts_behind_a_user_directory_never_run_as_root() {
    if !can_run(
        "checker_scripts_behind_a_user_directory_never_run_as_root",
        &["setpriv"],
    ) {
        return;
    }
    use std::os::unix::fs::{chown, symlink};
    let dir = tmp_dir("checker-swap");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let user = dir.join("user");
    std::fs::create_dir_all(user.join("scripts")).unwrap();
    chown(&user, Some(65534), Some(65534)).unwrap();
    let marker = |name: &str| format!("id -u >> {}/{name}", out.display());
    script(&user.join("scripts"), "misc.sh", &marker("misc"));
    script(&user.join("scripts"), "down.sh", &marker("down"));
    let etc = dir.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    for name in ["misc.sh", "down.sh"] {
        symlink(user.join("scripts").join(name), etc.join(name)).unwrap();
    }
    let qdown = script(&etc, "qdown.sh", &marker("qdown"));
    let mut tcp = RealServer::start(false);
    let conf = dir.join("ck.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
             virtual_server 10.81.0.1 80 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  \
             protocol TCP\n  quorum_down {qdown}\n\
             real_server 127.0.0.1 {port} {{\n    notify_down {down}\n    \
             TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n    \
             MISC_CHECK {{\n      misc_path {misc}\n    }}\n  }}\n}}\n",
            port = tcp.addr.port(),
            down = etc.join("down.sh").display(),
            misc = etc.join("misc.sh").display(),
        ),
    )
    .unwrap();
    let d = checker_only(&conf, &dir);
    let disabled = |name: &str| {
        d.log_text().lines().any(|l| {
            l.contains(&format!("disabling script '{}'", etc.join(name).display()))
                && l.contains(&format!("{} is owned by uid 65534", user.display()))
        })
    };
    assert!(
        wait_for(Duration::from_secs(5), || disabled("misc.sh")
            && disabled("down.sh"))
        .is_some(),
        "both are refused, naming the user's directory: {}",
        d.log_text()
    );
    // The user swaps their directory while the checker runs.
    let swap = format!(
        "mv {u}/scripts {u}/old && mkdir {u}/scripts && \
         printf '#!/bin/sh\\nid -u >> {o}/pwned\\n' > {u}/scripts/misc.sh && \
         cp {u}/scripts/misc.sh {u}/scripts/down.sh && chmod 755 {u}/scripts/*.sh",
        u = user.display(),
        o = out.display()
    );
    assert!(as_nobody(&swap), "the user could swap their directory");
    // Real server down: the safe quorum_down runs; the refused notify_down does not.
    tcp.down();
    assert!(
        wait_for(Duration::from_secs(8), || out.join("qdown").exists()).is_some(),
        "the safe checker script runs: {}",
        d.log_text()
    );
    // Two more delay_loops in which a MISC_CHECK would have run.
    std::thread::sleep(Duration::from_secs(2));
    let log = d.log_text();
    for name in ["pwned", "misc", "down"] {
        assert!(!out.join(name).exists(), "{name} ran: {log}");
    }
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
