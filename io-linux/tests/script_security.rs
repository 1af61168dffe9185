//! Script security at start-up, as keepalived's check_vrrp_script_security(): with
//! enable_script_security and root running them, scripts a non-root user could change are
//! not run, and missing track scripts are dropped with their tracking.

use std::os::unix::fs::PermissionsExt;

use keepalived_engine::config::{parse_str, ParseOptions};
use keepalived_linux::security::disable_insecure;

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
    let msgs = disable_insecure(&mut cfg, true);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("Disabling track script bad due to insecure")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m == "Disabling track script gone since not found/accessible"),
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
    // Without enable_script_security nothing is inhibited; only missing scripts go.
    let mut cfg = parse_str(
        &text.replace(" enable_script_security\n", ""),
        &ParseOptions::default(),
    )
    .config;
    let msgs = disable_insecure(&mut cfg, true);
    assert_eq!(
        msgs,
        ["Disabling track script gone since not found/accessible"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
