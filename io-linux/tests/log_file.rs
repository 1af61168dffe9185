//! `-g FILE`: the daemon writes its log as root, by default to /tmp/keepalived.log. A
//! file another user planted at that name (their own file, a link, a hard link to a file
//! of root's) is refused, named, and left as it was.

use std::os::unix::fs::PermissionsExt;

/// Starts the daemon with `-g log` and a configuration that does not exist, so that it
/// opens its log and stops at once; returns what it printed.
fn start_with_log(log: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .args(["-n", "-l"])
        .arg(format!("-g{}", log.display()))
        .args(["-f", "/nonexistent/keepalived.conf"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_planted_log_file_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipping: files of another user can only be made as root");
        return;
    }
    let dir = std::env::temp_dir().join(format!("kars-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    // The user's own file, which they could read.
    let theirs = dir.join("theirs.log");
    std::fs::write(&theirs, "").unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let text = start_with_log(&theirs);
    assert!(
        text.contains("is owned by uid 65534, not by us: not writing to it"),
        "{text}"
    );
    assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "");
    // A hard link to a file of root's.
    let secret = dir.join("secret");
    std::fs::write(&secret, "root's\n").unwrap();
    std::fs::hard_link(&secret, dir.join("hard.log")).unwrap();
    let text = start_with_log(&dir.join("hard.log"));
    assert!(text.contains("has 2 hard links"), "{text}");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "root's\n");
    // A file of our own is written.
    let ours = dir.join("ours.log");
    start_with_log(&ours);
    assert!(
        std::fs::read_to_string(&ours)
            .unwrap()
            .contains("nonexistent"),
        "the log has the daemon's lines"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
