//! Script security at start-up, as keepalived's check_vrrp_script_security(): with
//! enable_script_security and root running them, scripts a non-root user could change are
//! not run, and missing track scripts are dropped with their tracking.

use std::os::unix::fs::PermissionsExt;

use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_linux::host::process::Process;
use keepalived_linux::host::security::disable_insecure;

#[test]
fn unsafe_and_missing_scripts_are_disabled() {
    let dir = std::env::temp_dir().join(format!("kars-secure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let writable = dir.join("writable.sh");
    let fine = dir.join("fine.sh");
    for (p, mode) in [(&writable, 0o777), (&fine, 0o755)] {
        std::fs::write(p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let text = format!(
        "global_defs {{\n enable_script_security\n script_user root\n}}\n\
         vrrp_script bad {{\n script {w}\n}}\nvrrp_script gone {{\n script {d}/missing.sh\n}}\nvrrp_script ok {{\n script {f}\n}}\n\
         vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n priority 100\n virtual_ipaddress {{\n 10.0.0.1/24\n }}\n \
         track_script {{\n bad\n gone\n ok\n }}\n notify_master {w}\n notify_backup {f}\n}}\n",
        w = writable.display(),
        f = fine.display(),
        d = dir.display()
    );
    let mut cfg = parse_str(&text, &ParseOptions::default()).config;
    let msgs = disable_insecure(&mut cfg, true, Process::Vrrp);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("vrrp_script bad: disabling script") && m.contains("unsafe")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("vrrp_script gone: disabling script")
                && m.contains("cannot be accessed")),
        "{msgs:?}"
    );
    let names: Vec<&str> = cfg.vrrp_scripts.iter().map(|s| s.name.as_str()).collect();
    let tracked: Vec<&str> = cfg.instances[0]
        .trackers
        .scripts
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert!(
        cfg.instances[0].notifies.notify_master.is_none(),
        "unsafe notify script not run"
    );
    // Ownership by root is part of "safe": only a root test run can see the safe ones kept.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert_eq!(names, ["ok"]);
        assert_eq!(tracked, ["ok"]);
        assert!(cfg.instances[0].notifies.notify_backup.is_some());
    } else {
        eprintln!("not root: the kept-script half of this test needs root-owned files");
    }
    // Without enable_script_security nothing is inhibited, but it is said; only missing
    // scripts go.
    let mut cfg = parse_str(
        &text.replace(" enable_script_security\n", ""),
        &ParseOptions::default(),
    )
    .config;
    let msgs = disable_insecure(&mut cfg, true, Process::Vrrp);
    let disabled: Vec<&String> = msgs.iter().filter(|m| m.contains("disabling")).collect();
    assert_eq!(disabled.len(), 1, "{msgs:?}");
    assert!(disabled[0].starts_with("vrrp_script gone:"), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("vrrp_script bad: Unsafe permissions found")),
        "{msgs:?}"
    );
    assert!(
        msgs.last().unwrap().starts_with("SECURITY VIOLATION"),
        "{msgs:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `keepalived-rs -t` on `conf`: exit code and what it printed.
fn config_test(conf: &std::path::Path) -> (i32, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .arg("-t")
        .arg("-f")
        .arg(conf)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `-t` judges a script by where its path leads, so it gives the same verdict whether
/// the configuration names the real path or a link to it, and names the component at
/// fault; and, as keepalived 2.2.7, it fails with exit 6 when scripts of any kind run
/// without `enable_script_security`.
#[test]
fn t_gives_one_verdict_by_either_name_and_flags_scripts_without_security() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: script security needs root-owned files (not root)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("kars-t-verdict-{}", std::process::id()));
    let user = dir.join("user");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&user, Some(65534), Some(65534)).unwrap();
    let real = user.join("notify.sh");
    std::fs::write(&real, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = dir.join("notify.sh");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let conf = dir.join("k.conf");
    let write = |globals: &str, body: &str| {
        std::fs::write(
            &conf,
            format!(
                "global_defs {{\n{globals}\n}}\nvrrp_instance VI_1 {{\n interface eth0\n \
                 virtual_router_id 1\n priority 100\n virtual_ipaddress {{\n 10.0.0.1/24\n }}\n{body}\n}}\n"
            ),
        )
        .unwrap();
    };
    for named in [&real, &link] {
        write(
            " enable_script_security\n script_user root",
            &format!(" notify_master {}", named.display()),
        );
        let (code, text) = config_test(&conf);
        assert_eq!(code, 6, "{named:?}: {text}");
        assert!(
            text.contains(&format!(
                "script '{}': {} is owned by uid 65534, not root",
                named.display(),
                user.display()
            )),
            "{text}"
        );
    }
    // A safe script, checker-side and start-up scripts without enable_script_security.
    let safe = dir.join("safe.sh");
    std::fs::write(&safe, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = safe.display();
    for (globals, vs) in [
        (format!(" startup_script {s}"), String::new()),
        (
            String::new(),
            format!(
                "virtual_server 10.0.0.1 80 {{\n real_server 10.0.0.2 80 {{\n \
                 MISC_CHECK {{\n misc_path {s}\n }}\n }}\n}}\n"
            ),
        ),
    ] {
        write(&globals, "");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&vs);
        std::fs::write(&conf, text).unwrap();
        let (code, out) = config_test(&conf);
        assert_eq!(code, 6, "{out}");
        assert!(
            out.contains(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled"
            ),
            "{out}"
        );
        // The same with enable_script_security passes.
        let text = std::fs::read_to_string(&conf).unwrap().replacen(
            "global_defs {\n",
            "global_defs {\n enable_script_security\n",
            1,
        );
        std::fs::write(&conf, text).unwrap();
        let (code, out) = config_test(&conf);
        assert_eq!(code, 0, "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
