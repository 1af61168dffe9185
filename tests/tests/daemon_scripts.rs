//! Scripts run as keepalived runs them: as global `script_user USER GROUP` unless the
//! script names its own user, with that user's uid, gid and supplementary groups.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use keepalived_tests::host::{as_nobody, can_run, tmp_dir, wait_for, Daemon, Pair};

const VIP: &str = "10.75.0.100";

#[test]
fn scripts_run_as_script_user_unless_they_name_their_own() {
    if !can_run(
        "scripts_run_as_script_user_unless_they_name_their_own",
        &["ip", "getent"],
    ) {
        return;
    }
    let dir = tmp_dir("scripts");
    // Writable by the unprivileged script user, the scripts readable and executable.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let script = |name: &str| {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho \"$(id -u) $(id -g)\" > {}/{name}.out\nexit 0\n",
                dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    };
    let (track, master, backup) = (script("track"), script("master"), script("backup"));
    let pair = Pair::new("ksu", 75);
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  script_user nobody nogroup\n}}\n\
             vrrp_script chk {{\n  script {track}\n  interval 1\n}}\n\
             vrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 75\n  priority 100\n  \
             advert_int 1\n  track_script {{\n    chk\n  }}\n  notify_master {master}\n  \
             notify_backup \"{backup}\" root\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            pair.ifs[0]
        ),
    )
    .unwrap();
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "daemon", &[]);
    let read = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.out"))).ok();
    assert!(
        wait_for(Duration::from_secs(8), || read("master").is_some()
            && read("backup").is_some()
            && read("track").is_some())
        .is_some(),
        "all three scripts ran: {}",
        d.log_text()
    );
    let id = |what: &str, name: &str| {
        let out = std::process::Command::new("getent")
            .args([what, name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split(':')
            .nth(2)
            .unwrap_or("")
            .to_string()
    };
    let nobody = format!("{} {}\n", id("passwd", "nobody"), id("group", "nogroup"));
    assert_eq!(
        read("track").unwrap(),
        nobody,
        "track script as script_user"
    );
    assert_eq!(read("master").unwrap(), nobody, "notify as script_user");
    assert_eq!(read("backup").unwrap(), "0 0\n", "a script's own user wins");
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A one-message SMTP server: answers keepalived's session and returns what it was sent.
fn smtp_server(listener: std::net::TcpListener) -> std::thread::JoinHandle<String> {
    use std::io::{BufRead, BufReader, Write};
    std::thread::spawn(move || {
        listener.set_nonblocking(false).expect("blocking listener");
        let (s, _) = listener.accept().expect("the daemon connects");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        let mut log = String::new();
        w.write_all(b"220 test ready\r\n").unwrap();
        let mut in_data = false;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            log.push_str(&line);
            let reply: &[u8] = if in_data {
                if line != ".\r\n" {
                    continue;
                }
                in_data = false;
                b"250 queued\r\n"
            } else if line.starts_with("DATA") {
                in_data = true;
                b"354 go on\r\n"
            } else if line.starts_with("QUIT") {
                break;
            } else {
                b"250 ok\r\n"
            };
            w.write_all(reply).unwrap();
        }
        log
    })
}

#[test]
fn smtp_alert_mails_the_new_master() {
    if !can_run("smtp_alert_mails_the_new_master", &["ip"]) {
        return;
    }
    let dir = tmp_dir("smtp");
    let pair = Pair::new("ksm", 78);
    let listener = keepalived_tests::host::in_netns(&pair.ns[0].name, || {
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind in the namespace")
    });
    let port = listener.local_addr().unwrap().port();
    let server = smtp_server(listener);
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  router_id LB_TEST\n  notification_email {{\n    ops@example.org\n  }}\n  \
             notification_email_from ka@example.org\n  smtp_server 127.0.0.1 {port}\n}}\n\
             vrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 78\n  priority 100\n  \
             advert_int 1\n  smtp_alert\n  virtual_ipaddress {{\n    10.78.0.100/24\n  }}\n}}\n",
            pair.ifs[0]
        ),
    )
    .unwrap();
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "daemon", &[]);
    // The first state entered is BACKUP: that is the first mail.
    let mail = server.join().expect("SMTP server thread");
    assert!(
        mail.contains("MAIL FROM:<ka@example.org>\r\nRCPT TO:<ops@example.org>\r\n"),
        "{mail}"
    );
    assert!(
        mail.contains("Subject: [LB_TEST] VRRP Instance VI_1 - Entering BACKUP state\r\n"),
        "{mail}"
    );
    assert!(mail.contains("=> VRRP Instance is no longer owning VRRP VIPs <="));
    assert!(
        wait_for(Duration::from_secs(3), || d
            .log_text()
            .contains("SMTP alert sent"))
        .is_some(),
        "{}",
        d.log_text()
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn notify_fifo_is_made_fed_and_removed_and_its_script_reads_it() {
    if !can_run(
        "notify_fifo_is_made_fed_and_removed_and_its_script_reads_it",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("fifo");
    let (fifo, out, planted) = (
        dir.join("notify.fifo"),
        dir.join("lines.txt"),
        dir.join("planted"),
    );
    std::fs::write(&planted, "not a fifo").unwrap();
    let reader = dir.join("reader.sh");
    std::fs::write(
        &reader,
        format!(
            "#!/bin/sh\nwhile read -r line; do echo \"$line\" >> {}; done < \"$1\"\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pair = Pair::new("kfi", 79);
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  notify_fifo {}\n  notify_fifo_script {}\n  vrrp_notify_fifo {}\n}}\n\
             vrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 79\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{\n    10.79.0.100/24\n  }}\n}}\n",
            fifo.display(),
            reader.display(),
            planted.display(),
            pair.ifs[0]
        ),
    )
    .unwrap();
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "daemon", &[]);
    let lines = || std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        wait_for(Duration::from_secs(8), || lines()
            .contains("INSTANCE \"VI_1\" MASTER 100"))
        .is_some(),
        "the FIFO script read: {:?}; log: {}",
        lines(),
        d.log_text()
    );
    assert!(
        lines().starts_with("INSTANCE \"VI_1\" BACKUP 100\n"),
        "{}",
        lines()
    );
    assert!(
        std::fs::metadata(&fifo)
            .map(|m| std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()))
            .unwrap_or(false),
        "the daemon made the FIFO"
    );
    assert!(
        d.log_text().contains("is not a FIFO we own"),
        "{}",
        d.log_text()
    );
    assert_eq!(std::fs::read_to_string(&planted).unwrap(), "not a fifo");
    d.stop();
    assert!(!fifo.exists(), "the FIFO we made is removed on stop");
    assert!(planted.exists(), "a file we did not make is left alone");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The attack script security exists for: root's notify script is reached through a
/// link into a directory an unprivileged user owns, and that user (`nobody`, through
/// `setpriv`) swaps the directory for one holding their own script while the daemon
/// runs. With `enable_script_security` the script is refused when the configuration is
/// loaded, naming the directory at fault, so the user's script never runs as root; a
/// script on a safe path runs as before.
#[test]
fn a_user_swapping_a_directory_behind_a_link_cannot_run_code_as_root() {
    if !can_run(
        "a_user_swapping_a_directory_behind_a_link_cannot_run_code_as_root",
        &["ip", "setpriv"],
    ) {
        return;
    }
    use std::os::unix::fs::{chown, symlink};
    let dir = tmp_dir("swap");
    let mode = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    mode(&dir, 0o755);
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let write_script = |p: &std::path::Path, marker: &str| {
        std::fs::write(
            p,
            format!("#!/bin/sh\nid -u > {}/{marker}\n", out.display()),
        )
        .unwrap();
        mode(p, 0o755);
    };
    // The user's directory, holding (for now) a root-owned, read-only script.
    let user = dir.join("user");
    std::fs::create_dir_all(user.join("scripts")).unwrap();
    mode(&user, 0o755);
    chown(&user, Some(65534), Some(65534)).unwrap();
    write_script(&user.join("scripts/notify.sh"), "master");
    // Root's configuration names a root-owned link to it from a root-owned directory.
    let etc = dir.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    mode(&etc, 0o755);
    symlink(user.join("scripts/notify.sh"), etc.join("master.sh")).unwrap();
    write_script(&etc.join("backup.sh"), "backup");

    let pair = Pair::new("ksw", 76);
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  enable_script_security\n  script_user root\n}}\n\
             vrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 76\n  priority 100\n  \
             advert_int 1\n  notify_backup {}\n  notify_master {}\n  \
             virtual_ipaddress {{\n    10.76.0.100/24\n  }}\n}}\n",
            pair.ifs[0],
            etc.join("backup.sh").display(),
            etc.join("master.sh").display()
        ),
    )
    .unwrap();
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "daemon", &[]);
    assert!(
        wait_for(Duration::from_secs(5), || out.join("backup").exists()).is_some(),
        "the safe script runs: {}",
        d.log_text()
    );
    // As the unprivileged user, while the daemon waits to become master.
    let swap = format!(
        "mv {u}/scripts {u}/old && mkdir {u}/scripts && \
         printf '#!/bin/sh\\nid -u > {o}/pwned\\n' > {u}/scripts/notify.sh && \
         chmod 755 {u}/scripts/notify.sh",
        u = user.display(),
        o = out.display()
    );
    assert!(as_nobody(&swap), "the user could swap their directory");
    assert!(
        wait_for(Duration::from_secs(8), || pair.holds(0, "10.76.0.100")).is_some(),
        "becomes master: {}",
        d.log_text()
    );
    // The notify scripts of the takeover have had time to run.
    std::thread::sleep(Duration::from_secs(1));
    let log = d.log_text();
    assert!(
        !out.join("pwned").exists(),
        "the user's script ran as root: {log}"
    );
    assert!(
        !out.join("master").exists(),
        "the unsafe script is disabled: {log}"
    );
    assert!(
        log.contains(&format!(
            "{} is owned by uid 65534, not root",
            user.display()
        )),
        "the log names the directory at fault: {log}"
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `startup_script` runs before the children start and `shutdown_script` after they have
/// stopped, each as a parent's script: with `enable_script_security` an unsafe one is
/// refused by name and never runs.
#[test]
fn startup_and_shutdown_scripts_bracket_the_children() {
    if !can_run("startup_and_shutdown_scripts_bracket_the_children", &["ip"]) {
        return;
    }
    let dir = tmp_dir("startstop");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pidfile = dir.join("daemon.r");
    // Each says whether the VRRP child's pidfile existed when it ran.
    let script = |name: &str| {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nif [ -e {pid} ]; then echo child >> {out}; else echo none >> {out}; fi\n",
                pid = pidfile.display(),
                out = dir.join(format!("{name}.out")).display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p.display().to_string()
    };
    let (start, stop) = (script("start"), script("stop"));
    let pair = Pair::new("kss", 83);
    let conf = dir.join("r.conf");
    let write_conf = |startup: &str| {
        std::fs::write(
            &conf,
            format!(
                "global_defs {{\n  enable_script_security\n  script_user root\n  \
                 startup_script {startup}\n  shutdown_script {stop}\n}}\n\
                 vrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 83\n  priority 100\n  \
                 advert_int 1\n  virtual_ipaddress {{\n    10.83.0.100/24\n  }}\n}}\n",
                pair.ifs[0]
            ),
        )
        .unwrap();
    };
    write_conf(&start);
    let read = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.out"))).ok();
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "daemon", &[]);
    assert!(
        wait_for(Duration::from_secs(5), || pidfile.exists()).is_some(),
        "the VRRP child starts: {}",
        d.log_text()
    );
    assert_eq!(read("start").as_deref(), Some("none\n"), "{}", d.log_text());
    assert_eq!(read("stop"), None);
    let log = d.log.clone();
    d.stop();
    assert!(
        wait_for(Duration::from_secs(5), || read("stop").is_some()).is_some(),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(
        read("stop").as_deref(),
        Some("none\n"),
        "after the children"
    );

    // An unsafe start-up script: a file anyone can write.
    std::fs::set_permissions(&start, std::fs::Permissions::from_mode(0o777)).unwrap();
    let _ = std::fs::remove_file(dir.join("start.out"));
    let d = Daemon::ours(&pair.ns[0], &conf, &dir, "daemon", &[]);
    assert!(
        wait_for(Duration::from_secs(5), || pidfile.exists()).is_some(),
        "{}",
        d.log_text()
    );
    let log = d.log_text();
    assert_eq!(read("start"), None, "the unsafe script ran: {log}");
    assert!(
        log.contains(&format!(
            "global_defs startup_script: disabling script '{start}': unsafe: {start} is writable by everyone"
        )),
        "{log}"
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
