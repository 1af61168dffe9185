//! The global_defs and options that shape the processes themselves, on a real host next to
//! keepalived 2.2.7 where it has them: the umask and the modes of the files the daemon
//! makes (`umask`, `-u`), the processes' names (`process_names`, `process_name`,
//! `vrrp_process_name`, `checker_process_name`), `--ignore-sigint`, a script's
//! supplementary groups (`set_supplementary_groups`) and `vrrp_delay_after_boot`.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use keepalived_tests::host::{can_run, have, keepalived_rs, tmp_dir, wait_for, Daemon, Netns};

const VIP: &str = "10.91.0.100";

/// Whether the test can run; in CI it must.
fn runs(test: &str, cmds: &[&str]) -> bool {
    let ok = can_run(test, cmds);
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "{test} must run in CI"
    );
    ok
}

/// A namespace with a veth pair `g0`/`g1` up, `g0` holding 10.91.0.1/24.
fn netns(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.ip(&["link", "add", "g0", "type", "veth", "peer", "name", "g1"]);
    ns.ip(&["link", "set", "g0", "up"]);
    ns.ip(&["link", "set", "g1", "up"]);
    ns.ip(&["addr", "add", "10.91.0.1/24", "dev", "g0"]);
    ns
}

/// A configuration: `global` lines in global_defs, a notify FIFO at `dir`/notify.fifo,
/// and one backup instance on `g0`.
fn config(dir: &Path, name: &str, global: &str) -> PathBuf {
    let conf = dir.join(name);
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  router_id kcl9\n  notify_fifo {}/notify.fifo\n{global}\n}}\n\
             vrrp_instance V {{\n  interface g0\n  state BACKUP\n  virtual_router_id 91\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            dir.display()
        ),
    )
    .unwrap();
    conf
}

/// keepalived 2.2.7 or keepalived-rs (`bin`) in `ns` with `conf`, its pidfiles
/// `<tag>.p`/`.r`/`.c` in `dir`, with `extra` arguments and $TMPDIR `dir`; started from
/// a shell whose umask is 022, so that nothing of the test's own umask shows.
fn start(ns: &Netns, bin: &Path, conf: &Path, dir: &Path, tag: &str, extra: &[&str]) -> Daemon {
    let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
    let line = format!(
        "umask 022; exec {} -n -l -f {} -p {} -r {} -c {} {}",
        bin.display(),
        conf.display(),
        file("p"),
        file("r"),
        file("c"),
        extra.join(" ")
    );
    Daemon::start_with_env(
        ns,
        Path::new("/bin/sh"),
        &["-c", &line],
        &[("TMPDIR", dir)],
        dir.join(format!("{tag}.log")),
    )
}

fn pid(dir: &Path, tag: &str, kind: &str) -> Option<i32> {
    Daemon::pid_of(dir, tag, kind)
}

/// `start`, then waits for the parent's and the VRRP child's pidfiles: the daemon and
/// their pids. A start that writes neither within 20 s has its log printed and is tried
/// once more (CI once saw keepalived 2.2.7 write none, and the log was not kept); a
/// second such start fails the test with its log.
fn started(
    ns: &Netns,
    bin: &Path,
    conf: &Path,
    dir: &Path,
    tag: &str,
    extra: &[&str],
) -> (Daemon, i32, i32) {
    let both = || pid(dir, tag, "p").zip(pid(dir, tag, "r"));
    for attempt in 1..=2 {
        let mut d = start(ns, bin, conf, dir, tag, extra);
        if wait_for(Duration::from_secs(20), || both().is_some()).is_some() {
            let (p, r) = both().unwrap();
            return (d, p, r);
        }
        let exited = d.child.try_wait();
        let log = d.log_text();
        d.stop();
        assert!(
            attempt < 2,
            "{tag}: no pidfiles within 20 s, twice (exited: {exited:?}); its log:\n{log}"
        );
        eprintln!(
            "{tag}: no pidfiles within 20 s (exited: {exited:?}), starting again; its log:\n{log}"
        );
    }
    unreachable!("the second attempt returns or fails")
}

fn umask_of(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn mode(path: &Path) -> Option<u32> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

/// What a daemon's files look like: the parent's and the VRRP child's umask, and the
/// modes of the parent's pidfile, the VRRP child's, the notify FIFO and the state dump
/// (SIGUSR1).
#[derive(Debug, PartialEq)]
struct Modes {
    umask: (String, String),
    pidfiles: (Option<u32>, Option<u32>),
    fifo: Option<u32>,
    dump: Option<u32>,
}

fn modes(ns: &Netns, bin: &Path, dir: &Path, tag: &str, global: &str, extra: &[&str]) -> Modes {
    for f in ["notify.fifo", "keepalived.data"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let conf = config(dir, &format!("{tag}.conf"), global);
    let (d, p, r) = started(ns, bin, &conf, dir, tag, extra);
    let fifo = dir.join("notify.fifo");
    wait_for(Duration::from_secs(10), || {
        std::fs::symlink_metadata(&fifo).is_ok_and(|m| m.file_type().is_fifo())
    });
    // SAFETY: SIGUSR1 to the daemon's parent, which passes it to the VRRP child.
    unsafe { libc::kill(p, libc::SIGUSR1) };
    let dump = dir.join("keepalived.data");
    wait_for(Duration::from_secs(10), || dump.exists());
    std::thread::sleep(Duration::from_millis(200));
    let got = Modes {
        umask: (umask_of(p), umask_of(r)),
        pidfiles: (
            mode(&dir.join(format!("{tag}.p"))),
            mode(&dir.join(format!("{tag}.r"))),
        ),
        fifo: mode(&fifo),
        dump: mode(&dump),
    };
    d.stop();
    got
}

/// keepalived's umask: 0177 unless `umask` (a number or `I…` bits) or `-u` says, and `-u`
/// wins; pidfiles rw-r--r-- whatever it is, the FIFO 0644 and the dumps 0666 less it.
/// The table is what keepalived 2.2.7 does, and keepalived itself is run beside where
/// it is installed.
#[test]
fn umask_and_the_modes_of_the_files_made() {
    if !runs("umask_and_the_modes_of_the_files_made", &["ip"]) {
        return;
    }
    let ns = netns("kcl91");
    let dir = tmp_dir("kcl9-umask");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The `umask` lines, the options, then the umask and the modes of the FIFO and the
    // dump.
    type Case<'a> = (&'a str, &'a [&'a str], &'a str, Option<u32>, Option<u32>);
    let cases: [Case; 5] = [
        ("", &[], "0177", Some(0o600), Some(0o600)),
        ("  umask 022", &[], "0022", Some(0o644), Some(0o644)),
        ("  umask IWGRP|IWOTH", &[], "0022", Some(0o644), Some(0o644)),
        (
            "  umask 0",
            &["-u", "077"],
            "0077",
            Some(0o600),
            Some(0o600),
        ),
        ("", &["-u", "0"], "0000", Some(0o644), Some(0o666)),
    ];
    let keepalived = have("keepalived").then(|| PathBuf::from("keepalived"));
    for (i, (global, extra, umask, fifo, dump)) in cases.iter().enumerate() {
        let want = Modes {
            umask: (umask.to_string(), umask.to_string()),
            pidfiles: (Some(0o644), Some(0o644)),
            fifo: *fifo,
            dump: *dump,
        };
        let ours = modes(
            &ns,
            &keepalived_rs(),
            &dir,
            &format!("rs{i}"),
            global,
            extra,
        );
        assert_eq!(ours, want, "keepalived-rs with [{global}] {extra:?}");
        if let Some(k) = &keepalived {
            let theirs = modes(&ns, k, &dir, &format!("ka{i}"), global, extra);
            assert_eq!(theirs, want, "keepalived with [{global}] {extra:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The names /proc shows for a daemon started with `global` and `extra`: the parent's,
/// then its children's, sorted.
fn names(
    ns: &Netns,
    bin: &Path,
    dir: &Path,
    tag: &str,
    global: &str,
    extra: &[&str],
) -> (String, Vec<String>) {
    let conf = config(dir, &format!("{tag}.conf"), global);
    let (d, p, _) = started(ns, bin, &conf, dir, tag, extra);
    let checker = extra.contains(&"--all");
    if checker {
        wait_for(Duration::from_secs(20), || pid(dir, tag, "c").is_some());
    }
    let comm = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim_end()
            .to_string()
    };
    // The children rename themselves once they have their configuration.
    std::thread::sleep(Duration::from_millis(500));
    let mut children: Vec<String> = ["r", "c"]
        .iter()
        .filter_map(|k| pid(dir, tag, k))
        .map(comm)
        .collect();
    children.sort();
    let got = (comm(p), children);
    d.stop();
    for k in ["p", "r", "c"] {
        let _ = std::fs::remove_file(dir.join(format!("{tag}.{k}")));
    }
    got
}

/// `process_names` names the children keepalived_vrrp and keepalived_lvs (not the
/// parent); `process_name` the parent, and the children that have no name of their own,
/// as keepalived's forked children keep it; the kernel keeps 15 bytes.
#[test]
fn process_names_as_keepalived_gives_them() {
    if !runs("process_names_as_keepalived_gives_them", &["ip"]) {
        return;
    }
    let ns = netns("kcl92");
    let dir = tmp_dir("kcl9-names");
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // keepalived-rs's own name stands where keepalived's is "keepalived".
    let cases: [(&str, &[&str], &str, Vec<String>); 6] = [
        ("", &[], "PROG", s(&["PROG"])),
        ("  process_names", &[], "PROG", s(&["keepalived_vrrp"])),
        ("  process_name kpar", &[], "kpar", s(&["kpar"])),
        (
            "  process_name kpar\n  vrrp_process_name kv",
            &[],
            "kpar",
            s(&["kv"]),
        ),
        (
            "  process_names\n  process_name kpar",
            &["--all"],
            "kpar",
            s(&["keepalived_lvs", "keepalived_vrrp"]),
        ),
        (
            "  checker_process_name kc",
            &["--all"],
            "PROG",
            s(&["PROG", "kc"]),
        ),
    ];
    let keepalived = have("keepalived").then(|| PathBuf::from("keepalived"));
    for (i, (global, extra, parent, children)) in cases.iter().enumerate() {
        let expect = |prog: &str| {
            let mut c: Vec<String> = children.iter().map(|c| c.replace("PROG", prog)).collect();
            c.sort();
            (parent.replace("PROG", prog), c)
        };
        let ours = names(
            &ns,
            &keepalived_rs(),
            &dir,
            &format!("rs{i}"),
            global,
            extra,
        );
        assert_eq!(
            ours,
            expect("keepalived-rs"),
            "keepalived-rs with [{global}] {extra:?}"
        );
        if let Some(k) = &keepalived {
            let theirs = names(&ns, k, &dir, &format!("ka{i}"), global, extra);
            assert_eq!(
                theirs,
                expect("keepalived"),
                "keepalived with [{global}] {extra:?}"
            );
        }
    }
    let long = names(
        &ns,
        &keepalived_rs(),
        &dir,
        "rslong",
        "  process_name abcdefghijklmnopqrstu",
        &[],
    );
    assert_eq!(long, ("abcdefghijklmno".into(), s(&["abcdefghijklmno"])));
    let _ = std::fs::remove_dir_all(&dir);
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// `--ignore-sigint`: SIGINT stops neither the parent nor the VRRP child; without it,
/// SIGINT stops the daemon as SIGTERM does.
#[test]
fn ignore_sigint_holds_in_every_process() {
    if !runs("ignore_sigint_holds_in_every_process", &["ip"]) {
        return;
    }
    let ns = netns("kcl93");
    let dir = tmp_dir("kcl9-sigint");
    let conf = config(&dir, "k.conf", "");
    let (d, p, r) = started(
        &ns,
        &keepalived_rs(),
        &conf,
        &dir,
        "ign",
        &["--ignore-sigint"],
    );
    std::thread::sleep(Duration::from_millis(300));
    for pid in [r, p] {
        // SAFETY: SIGINT to the daemon's processes.
        unsafe { libc::kill(pid, libc::SIGINT) };
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(alive(p) && alive(r), "{}", d.log_text());
    assert_eq!(
        pid(&dir, "ign", "r"),
        Some(r),
        "the VRRP child was replaced"
    );
    assert!(d.log_text().contains("SIGINT ignored"), "{}", d.log_text());
    d.stop();

    let (d, p, _) = started(&ns, &keepalived_rs(), &conf, &dir, "int", &[]);
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: SIGINT to the daemon's parent.
    unsafe { libc::kill(p, libc::SIGINT) };
    assert!(
        wait_for(Duration::from_secs(10), || !alive(p)).is_some(),
        "SIGINT did not stop the daemon: {}",
        d.log_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// What `id -G` says in a notify script run as user `kcl9u`, whose group is kcl9g and
/// who is also in group kcl9s, with `global` in global_defs. The user and groups exist
/// only in a private mount namespace, where copies of /etc/passwd and /etc/group that
/// name them are mounted over the host's.
fn script_groups(bin: &Path, ns: &Netns, dir: &Path, tag: &str, global: &str) -> String {
    let passwd = dir.join("passwd");
    let group = dir.join("group");
    let mut p = std::fs::read_to_string("/etc/passwd").unwrap();
    p.push_str("kcl9u:x:64991:64991::/nonexistent:/usr/sbin/nologin\n");
    let mut g = std::fs::read_to_string("/etc/group").unwrap();
    g.push_str("kcl9g:x:64991:\nkcl9s:x:64992:kcl9u\n");
    std::fs::write(&passwd, p).unwrap();
    std::fs::write(&group, g).unwrap();
    let out = dir.join(format!("{tag}.groups"));
    let script = dir.join("groups.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nid -G > {}.tmp && mv {0}.tmp {0}\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = dir.join(format!("{tag}.conf"));
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  script_user kcl9u\n{global}\n}}\n\
             vrrp_instance V {{\n  interface g0\n  state BACKUP\n  virtual_router_id 91\n  \
             priority 100\n  advert_int 1\n  notify_backup {}\n  \
             virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            script.display()
        ),
    )
    .unwrap();
    let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
    let line = format!(
        "mount --bind {} /etc/passwd && mount --bind {} /etc/group && \
         exec ip netns exec {} {} -n -l -f {} -p {} -r {} -c {}",
        passwd.display(),
        group.display(),
        ns.name,
        bin.display(),
        conf.display(),
        file("p"),
        file("r"),
        file("c"),
    );
    let log = std::fs::File::create(dir.join(format!("{tag}.log"))).unwrap();
    let mut child = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &line])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let said = wait_for(Duration::from_secs(20), || out.exists());
    let got = std::fs::read_to_string(&out).unwrap_or_default();
    // SAFETY: SIGTERM to the daemon we started (unshare and sh exec it).
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        said.is_some(),
        "{tag}: the script did not run: {}",
        std::fs::read_to_string(dir.join(format!("{tag}.log"))).unwrap_or_default()
    );
    got.trim().to_string()
}

/// A script runs with its user's supplementary groups only with
/// `set_supplementary_groups` (keepalived 2.3), or with a group written `:GROUP`;
/// otherwise with its group alone, as keepalived 2.2.7 runs every script.
#[test]
fn supplementary_groups_only_when_asked_for() {
    if !runs(
        "supplementary_groups_only_when_asked_for",
        &["ip", "unshare", "mount", "id"],
    ) {
        return;
    }
    let ns = netns("kcl94");
    let dir = tmp_dir("kcl9-groups");
    assert_eq!(
        script_groups(&keepalived_rs(), &ns, &dir, "none", ""),
        "64991"
    );
    assert_eq!(
        script_groups(
            &keepalived_rs(),
            &ns,
            &dir,
            "set",
            "  set_supplementary_groups"
        ),
        "64991 64992"
    );
    if have("keepalived") {
        // 2.2.7 has no set_supplementary_groups: every script has its group alone.
        assert_eq!(
            script_groups(Path::new("/usr/sbin/keepalived"), &ns, &dir, "ka", ""),
            "64991"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `vrrp_delay_after_boot SECS`: the VRRP process holds its instances until the host
/// has been up SECS (here 6 s from now), then starts as it would have; a value the
/// uptime has passed delays nothing.
#[test]
fn vrrp_delay_after_boot_holds_the_start_until_the_uptime() {
    if !runs(
        "vrrp_delay_after_boot_holds_the_start_until_the_uptime",
        &["ip"],
    ) {
        return;
    }
    let ns = netns("kcl95");
    let dir = tmp_dir("kcl9-boot");
    let uptime = || -> f64 {
        std::fs::read_to_string("/proc/uptime")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let vip_after = |tag: &str, global: &str| -> Option<Duration> {
        let conf = config(&dir, &format!("{tag}.conf"), global);
        let d = start(&ns, &keepalived_rs(), &conf, &dir, tag, &[]);
        let took = wait_for(Duration::from_secs(20), || ns.holds("g0", VIP));
        d.stop();
        ns.drop_address("g0", VIP);
        took
    };
    // Master down interval at priority 100: 3 s and the skew, 0.61 s.
    let plain = vip_after("past", "  vrrp_delay_after_boot 1").expect("no master");
    assert!(plain < Duration::from_secs(5), "{plain:?}");
    let until = uptime() + 6.0;
    let held =
        vip_after("held", &format!("  vrrp_delay_after_boot {until:.2}")).expect("no master");
    assert!(held >= Duration::from_secs(9), "{held:?}");
    assert!(held < Duration::from_secs(13), "{held:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 22 §1: a keyword keepalived-rs accepts without acting on it is named in the
/// daemon's log when it starts, with the registry's reason, as `-t` names it; a keyword
/// it carries out is not.
#[test]
fn a_keyword_without_effect_is_named_in_the_start_up_log() {
    if !runs(
        "a_keyword_without_effect_is_named_in_the_start_up_log",
        &["ip"],
    ) {
        return;
    }
    let ns = netns("kcl96");
    let dir = tmp_dir("kcl9-noeffect");
    let conf = config(
        &dir,
        "noeffect.conf",
        "  enable_dbus\n  vrrp_garp_master_repeat 3",
    );
    let (d, _, _) = started(&ns, &keepalived_rs(), &conf, &dir, "noeffect", &[]);
    let line = "'enable_dbus' has no effect in keepalived-rs: DBus is not implemented";
    let logged = wait_for(Duration::from_secs(10), || d.log_text().contains(line));
    let log = d.log_text();
    d.stop();
    assert!(
        logged.is_some(),
        "the start-up log names enable_dbus:\n{log}"
    );
    assert!(
        !log.contains("'vrrp_garp_master_repeat'"),
        "a keyword that is carried out is not named:\n{log}"
    );
    let t = Command::new(keepalived_rs())
        .args(["-t", "-f"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&t.stdout).contains(line)
            || String::from_utf8_lossy(&t.stderr).contains(line),
        "-t gives the same words"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
