//! Scripts run as keepalived runs them: as global `script_user USER GROUP` unless the
//! script names its own user, with that user's uid, gid and supplementary groups.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use keepalived_tests::host::{can_run, keepalived_rs, wait_for, Daemon, Pair};

const VIP: &str = "10.75.0.100";

#[test]
fn scripts_run_as_script_user_unless_they_name_their_own() {
    if !can_run(
        "scripts_run_as_script_user_unless_they_name_their_own",
        &["ip", "getent"],
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("kars-scripts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
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
    let d = Daemon::start(
        &pair.ns[0],
        &keepalived_rs(),
        &[
            "-n",
            "-l",
            "-G",
            "-f",
            conf.to_str().unwrap(),
            "-p",
            dir.join("p").to_str().unwrap(),
            "-r",
            dir.join("r").to_str().unwrap(),
        ],
        dir.join("daemon.log"),
    );
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
