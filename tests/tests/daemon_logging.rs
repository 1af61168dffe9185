//! What syslog receives, on a test `/dev/log` (a private mount namespace with its own
//! `/dev`, whose `log` is a socket this test reads): keepalived's line shape with no
//! timestamp or level inside the message, each level at its own severity, and the lines
//! operators grep worded as keepalived 2.2.7 words them on the same configuration.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use keepalived_tests::host::{keepalived_rs, runnable, tmp_dir, wait_for, Netns};

const VIP: &str = "10.96.0.100";

/// One syslog datagram: its priority, the identity before `[pid]:` and the message.
#[derive(Debug, Clone)]
struct Line {
    priority: i32,
    ident: String,
    message: String,
}

/// `<PRI>Mmm dd hh:mm:ss IDENT[PID]: MESSAGE`, as glibc's syslog() sends it.
fn parse(datagram: &str) -> Option<Line> {
    let rest = datagram.strip_prefix('<')?;
    let (pri, rest) = rest.split_once('>')?;
    // The timestamp is 15 characters and a space.
    let rest = rest.get(16..)?;
    let (ident, message) = rest.split_once("]: ")?;
    let (ident, _pid) = ident.split_once('[')?;
    Some(Line {
        priority: pri.parse().ok()?,
        ident: ident.to_string(),
        message: message.to_string(),
    })
}

/// `bin` with `args` in network namespace `ns`, in a private mount namespace whose
/// `/dev` is a tmpfs with `null`, `zero`, `urandom` and `log`, a link to `socket`; `then`
/// is more shell run before the daemon's `exec`, and `env` goes before its command.
fn start(
    ns: &str,
    bin: &Path,
    args: &[&str],
    socket: &Path,
    out: &Path,
    (then, env): (&str, &str),
) -> Child {
    let line = format!(
        "mount -t tmpfs -o mode=755 tmpfs /dev && mknod -m 666 /dev/null c 1 3 && \
         mknod -m 666 /dev/zero c 1 5 && mknod -m 666 /dev/urandom c 1 9 && \
         ln -s {} /dev/log {then} && exec env {env} ip netns exec {ns} {} {}",
        socket.display(),
        bin.display(),
        args.join(" ")
    );
    let log = std::fs::File::create(out).unwrap();
    Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &line])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("unshare")
}

fn stop(mut child: Child) {
    // SAFETY: SIGTERM to the daemon we started (unshare and sh exec it).
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Namespace `name` with a veth pair `l0`/`l1` up, `l0` holding 10.96.0.1/24, and at
/// `conf` one MASTER instance `VI_1` on `l0` holding `VIP`.
fn master_in(name: &str, conf: &Path) -> (Netns, PathBuf) {
    let ns = Netns::new(name);
    ns.ip(&["link", "add", "l0", "type", "veth", "peer", "name", "l1"]);
    ns.ip(&["link", "set", "l0", "up"]);
    ns.ip(&["link", "set", "l1", "up"]);
    ns.ip(&["addr", "add", "10.96.0.1/24", "dev", "l0"]);
    std::fs::write(
        conf,
        format!(
            "vrrp_instance VI_1 {{\n  interface l0\n  state MASTER\n  virtual_router_id 96\n  \
             priority 200\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
    (ns, conf.to_path_buf())
}

/// The syslog lines a daemon sends from its start until it has been master for 2 s and
/// stopped.
fn syslog_of(which: &str, bin: &Path, extra: &[&str], dir: &Path) -> Vec<Line> {
    let (ns, conf) = master_in(&format!("klg{which}"), &dir.join("logging.conf"));
    let socket = dir.join(format!("{which}.log.sock"));
    let _ = std::fs::remove_file(&socket);
    let rx = UnixDatagram::bind(&socket).expect("the test's syslog socket");
    rx.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let file = |ext: &str| dir.join(format!("{which}.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let mut args = vec!["-n", "-f", &c, "-p", &p, "-r", &r, "-c", &k];
    args.extend_from_slice(extra);
    let out = dir.join(format!("{which}.out"));
    let child = start(&ns.name, bin, &args, &socket, &out, ("", ""));
    let mut lines = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut read = |lines: &mut Vec<Line>| {
        while let Ok(n) = rx.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            lines.push(parse(&text).unwrap_or_else(|| panic!("not a syslog line: {text}")));
        }
    };
    let master = wait_for(Duration::from_secs(20), || {
        read(&mut lines);
        ns.holds("l0", VIP)
    });
    assert!(
        master.is_some(),
        "{which}: not master\n{}",
        std::fs::read_to_string(&out).unwrap_or_default()
    );
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        read(&mut lines);
    }
    stop(child);
    read(&mut lines);
    lines
}

/// Whether some line of `lines` is `message` from `ident`.
fn said(lines: &[Line], ident: &str, message: &str) -> bool {
    lines
        .iter()
        .any(|l| l.ident == ident && l.message == message)
}

#[test]
fn syslog_lines_are_keepalived_lines_at_their_severity() {
    let test = "syslog_lines_are_keepalived_lines_at_their_severity";
    if !runnable(test, &["ip", "unshare", "mount", "mknod", "keepalived"]) {
        return;
    }
    let dir = tmp_dir("logging");
    let ours = syslog_of("r", &keepalived_rs(), &["-D"], &dir);
    let theirs = syslog_of("k", &PathBuf::from("/usr/sbin/keepalived"), &["-D"], &dir);
    let show = |lines: &[Line]| {
        lines
            .iter()
            .map(|l| format!("<{}> {}: {}", l.priority, l.ident, l.message))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let both = format!("ours:\n{}\n\nkeepalived's:\n{}", show(&ours), show(&theirs));

    // No timestamp or level inside a message.
    for l in &ours {
        let first = l.message.split_whitespace().next().unwrap_or("");
        assert!(
            !first.contains("T") || !first.ends_with('Z'),
            "a timestamp inside a syslog message: {}\n{both}",
            l.message
        );
        for level in ["ERROR ", "WARN ", "INFO ", "DEBUG ", "TRACE "] {
            assert!(
                !l.message.trim_start().starts_with(level),
                "a level inside a syslog message: {}",
                l.message
            );
        }
    }
    // Each level at its severity: with -D there are debug lines (7), and info lines (6).
    let severities: std::collections::BTreeSet<i32> = ours.iter().map(|l| l.priority & 7).collect();
    assert!(
        severities.contains(&libc::LOG_DEBUG) && severities.contains(&libc::LOG_INFO),
        "severities {severities:?}\n{both}"
    );
    assert!(
        ours.iter()
            .all(|l| l.priority >> 3 == libc::LOG_DAEMON >> 3),
        "{both}"
    );

    // The lines operators grep, as keepalived words them (the GARP lines are -D ones in
    // keepalived).
    for (ident, message) in [
        ("Keepalived", "Configuration file {conf}"),
        ("Keepalived", "Startup complete"),
        ("Keepalived_vrrp", "(VI_1) Entering BACKUP STATE (init)"),
        ("Keepalived_vrrp", "(VI_1) Receive advertisement timeout"),
        ("Keepalived_vrrp", "(VI_1) Entering MASTER STATE"),
        (
            "Keepalived_vrrp",
            "Sending gratuitous ARP on l0 for 10.96.0.100",
        ),
    ] {
        let message = message.replace("{conf}", &dir.join("logging.conf").display().to_string());
        assert!(
            said(&theirs, ident, &message),
            "keepalived did not say {message}\n{both}"
        );
        assert!(
            said(&ours, ident, &message),
            "we did not say {message}\n{both}"
        );
    }
    // The banner: ours names the keepalived release it stands in for.
    let banner = |lines: &[Line]| {
        lines
            .iter()
            .find(|l| l.ident == "Keepalived" && l.message.starts_with("Starting "))
            .map(|l| l.message.clone())
    };
    assert_eq!(
        banner(&theirs).as_deref(),
        Some("Starting Keepalived v2.2.7 (01/16,2022)")
    );
    let ours_banner = banner(&ours).unwrap_or_default();
    assert!(
        ours_banner.starts_with("Starting keepalived-rs v")
            && ours_banner.ends_with("compatible with Keepalived v2.2.7 (01/16,2022)"),
        "{both}"
    );
    assert!(
        ours.iter()
            .any(|l| l.ident == "Keepalived" && l.message.starts_with("Stopped keepalived-rs v")),
        "{both}"
    );
}

// Without -D keepalived words a takeover in one line: the timeout's own line is a
// LOG_DETAIL_BIT one (`vrrp_dispatcher_read_timeout()`), as are the GARP lines.
#[test]
fn without_detail_a_takeover_is_one_line() {
    let test = "without_detail_a_takeover_is_one_line";
    if !runnable(test, &["ip", "unshare", "mount", "mknod", "keepalived"]) {
        return;
    }
    let dir = tmp_dir("logging-plain");
    let ours = syslog_of("rp", &keepalived_rs(), &[], &dir);
    let theirs = syslog_of("kp", &PathBuf::from("/usr/sbin/keepalived"), &[], &dir);
    for (who, lines) in [("keepalived-rs", &ours), ("keepalived", &theirs)] {
        let text: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
        assert!(
            said(lines, "Keepalived_vrrp", "(VI_1) Entering MASTER STATE"),
            "{who} did not take over: {text:#?}"
        );
        assert!(
            !text
                .iter()
                .any(|m| m.contains("Receive advertisement timeout")
                    || m.contains("Sending gratuitous ARP")),
            "{who} worded a -D line without -D: {text:#?}"
        );
    }
}

/// `--log-format json` writes one JSON object a console line, with the fields; and when
/// stderr is the journal (`JOURNAL_STREAM` names it), the lines go to journald's native
/// socket (a socket of this test's in a private `/run/systemd`) with the fields as
/// journal fields, and neither to stderr nor to syslog.
#[test]
fn json_lines_and_native_journal_entries_keep_the_fields() {
    let test = "json_lines_and_native_journal_entries_keep_the_fields";
    if !runnable(test, &["ip", "unshare", "mount", "mknod", "stat"]) {
        return;
    }
    let dir = tmp_dir("logging-json");
    let (ns, conf) = master_in("klgj", &dir.join("json.conf"));
    let c = conf.display().to_string();
    let syslog = dir.join("syslog.sock");
    let journal = dir.join("journal.sock");
    let rx_syslog = UnixDatagram::bind(&syslog).unwrap();
    let rx_journal = UnixDatagram::bind(&journal).unwrap();
    for rx in [&rx_syslog, &rx_journal] {
        rx.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
    }
    let run = |tag: &str, setup: (&str, &str)| {
        let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
        let (p, r, k) = (file("p"), file("r"), file("c"));
        let args = [
            "-n",
            "-l",
            "--log-format",
            "json",
            "-f",
            &c,
            "-p",
            &p,
            "-r",
            &r,
            "-c",
            &k,
        ];
        let out = dir.join(format!("{tag}.out"));
        // Both sockets are read while the daemon runs, as syslog and journald would
        // read them: a full queue would send the daemon's lines elsewhere.
        let done = std::sync::atomic::AtomicBool::new(false);
        let read = |rx: &UnixDatagram| {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65536];
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = rx.recv(&mut buf) {
                    got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                }
            }
            got
        };
        let (syslogged, journaled) = std::thread::scope(|scope| {
            let (read, rs, rj) = (&read, &rx_syslog, &rx_journal);
            let a = scope.spawn(move || read(rs));
            let b = scope.spawn(move || read(rj));
            let child = start(&ns.name, &keepalived_rs(), &args, &syslog, &out, setup);
            let master = wait_for(Duration::from_secs(20), || ns.holds("l0", VIP));
            std::thread::sleep(Duration::from_millis(500));
            stop(child);
            std::thread::sleep(Duration::from_millis(300));
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            assert!(
                master.is_some(),
                "{tag}: not master\n{}",
                std::fs::read_to_string(&out).unwrap_or_default()
            );
            (a.join().unwrap(), b.join().unwrap())
        });
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        (text, syslogged, journaled)
    };

    // JSON on the console.
    let (text, _, _) = run("json", ("", ""));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let master = lines
        .iter()
        .find(|v| v["message"] == "(VI_1) Entering MASTER STATE")
        .unwrap_or_else(|| panic!("no MASTER line in {text}"));
    assert_eq!(master["instance"], "VI_1", "{master}");
    assert_eq!(master["vrid"], 96, "{master}");
    assert_eq!(master["level"], "INFO", "{master}");
    assert_eq!(master["process"], "Keepalived_vrrp", "{master}");

    // The journal: stderr is the file the daemon writes to, named by JOURNAL_STREAM.
    let out = dir.join("journal.out");
    std::fs::write(&out, "").unwrap();
    let _ = std::fs::create_dir_all("/run/systemd");
    let then = format!(
        "&& mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal && \
         ln -s {} /run/systemd/journal/socket",
        journal.display()
    );
    let env = format!("JOURNAL_STREAM=$(stat -c %d:%i {})", out.display());
    let (text, leaked, entries) = run("journal", (&then, &env));
    let master = entries
        .iter()
        .find(|e| {
            e.lines()
                .any(|l| l == "MESSAGE=(VI_1) Entering MASTER STATE")
        })
        .unwrap_or_else(|| panic!("no MASTER entry in {entries:?}\n{text}"));
    for field in [
        "INSTANCE=VI_1",
        "VRID=96",
        "PRIORITY=6",
        "SYSLOG_IDENTIFIER=Keepalived_vrrp",
    ] {
        assert!(
            master.lines().any(|l| l == field),
            "{field} missing: {master}"
        );
    }
    assert!(
        !text.contains("Entering MASTER STATE"),
        "the journal's lines also went to stderr: {text}"
    );
    assert!(
        leaked.is_empty(),
        "the journal's lines also went to syslog: {leaked:?}"
    );
}
