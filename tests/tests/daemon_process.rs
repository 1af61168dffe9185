//! keepalived-rs's process model on a real host: a parent and a VRRP child it
//! re-executed, each with its pidfile; a child that dies is respawned (and its VIP,
//! left behind, is cleaned up) unless `-R`; a parent that dies takes the child with it;
//! `-g` gives each process its own log file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{can_run, keepalived_rs, tmp_dir, wait_for, Daemon, Pair};

const VIP: &str = "10.62.0.100";

fn setup(tag: &str, net: u8) -> (PathBuf, Pair, PathBuf) {
    let dir = tmp_dir(tag);
    let pair = Pair::new(tag, net);
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "vrrp_instance VI_1 {{\n  interface {}\n  virtual_router_id 62\n  priority 100\n  \
             advert_int 1\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
            pair.ifs[0]
        ),
    )
    .unwrap();
    (dir, pair, conf)
}

fn start(pair: &Pair, dir: &Path, conf: &Path, extra: &[&str]) -> Daemon {
    let (p, r) = (dir.join("parent.pid"), dir.join("vrrp.pid"));
    let mut args = vec![
        "-n",
        "-l",
        "-G",
        "-f",
        conf.to_str().unwrap(),
        "-p",
        p.to_str().unwrap(),
        "-r",
        r.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Daemon::start(&pair.ns[0], &keepalived_rs(), &args, dir.join("daemon.log"))
}

fn pid_in(file: &Path) -> Option<i32> {
    std::fs::read_to_string(file).ok()?.trim().parse().ok()
}

fn alive(pid: i32) -> bool {
    // Zombies count as gone: a reaped or exiting process no longer runs.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

fn ppid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The VRRP child's pid once it has written its pidfile and differs from `not`.
fn child_pid(dir: &Path, not: Option<i32>) -> i32 {
    let file = dir.join("vrrp.pid");
    let mut pid = None;
    wait_for(Duration::from_secs(5), || {
        pid = pid_in(&file).filter(|p| Some(*p) != not && alive(*p));
        pid.is_some()
    });
    pid.unwrap_or_else(|| panic!("no VRRP child pid in {}", file.display()))
}

#[test]
fn parent_respawns_a_killed_vrrp_child_and_cleans_its_vip() {
    if !can_run(
        "parent_respawns_a_killed_vrrp_child_and_cleans_its_vip",
        &["ip"],
    ) {
        return;
    }
    let (dir, pair, conf) = setup("kpa", 62);
    let d = start(&pair, &dir, &conf, &[]);
    let parent = d.child.id() as i32;
    let child = child_pid(&dir, None);
    assert_eq!(pid_in(&dir.join("parent.pid")), Some(parent));
    assert_eq!(ppid(child), Some(parent), "the VRRP child is the parent's");
    assert!(
        wait_for(Duration::from_secs(6), || pair.holds(0, VIP)).is_some(),
        "a lone router becomes master"
    );

    // SAFETY: signalling the VRRP child the test started.
    unsafe { libc::kill(child, libc::SIGKILL) };
    let respawned = child_pid(&dir, Some(child));
    assert_eq!(ppid(respawned), Some(parent));
    // The parent takes the VIP the killed child left off at once; it comes back when the
    // new child is master again.
    assert!(
        wait_for(Duration::from_secs(2), || !pair.holds(0, VIP)).is_some(),
        "VIP left by the killed child removed"
    );
    assert!(
        wait_for(Duration::from_secs(6), || pair.holds(0, VIP)).is_some(),
        "respawned child becomes master"
    );
    let log = d.log_text();
    assert!(log.contains("killed by signal 9: respawning"), "{log}");
    assert!(log.contains(&format!("removed {VIP}/")), "{log}");

    d.stop();
    assert!(!alive(respawned), "SIGTERM to the parent stops the child");
    assert!(!pair.holds(0, VIP), "VIP released on stop");
    assert!(!dir.join("parent.pid").exists() && !dir.join("vrrp.pid").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dont_respawn_ends_the_parent_with_its_child() {
    if !can_run("dont_respawn_ends_the_parent_with_its_child", &["ip"]) {
        return;
    }
    let (dir, pair, conf) = setup("kpb", 63);
    let mut d = start(&pair, &dir, &conf, &["-R"]);
    let child = child_pid(&dir, None);
    // SAFETY: signalling the VRRP child the test started.
    unsafe { libc::kill(child, libc::SIGKILL) };
    let ended = wait_for(Duration::from_secs(5), || {
        matches!(d.child.try_wait(), Ok(Some(_)))
    });
    assert!(ended.is_some(), "-R: the parent exits when its child dies");
    assert!(d.log_text().contains("exiting (-R)"), "{}", d.log_text());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_parent_takes_its_child_with_it() {
    if !can_run("a_killed_parent_takes_its_child_with_it", &["ip"]) {
        return;
    }
    let (dir, pair, conf) = setup("kpc", 64);
    let mut d = start(&pair, &dir, &conf, &[]);
    let child = child_pid(&dir, None);
    assert!(wait_for(Duration::from_secs(6), || pair.holds(0, VIP)).is_some());
    // Only the parent: the child hears of it through PR_SET_PDEATHSIG and stops as on
    // SIGTERM, releasing its VIP.
    d.signal(libc::SIGKILL);
    let _ = d.child.wait();
    assert!(
        wait_for(Duration::from_secs(3), || !alive(child)).is_some(),
        "the child stops when its parent dies"
    );
    assert!(!pair.holds(0, VIP), "VIP released by the stopping child");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn signals_reach_the_child_and_each_process_logs_to_its_file() {
    if !can_run(
        "signals_reach_the_child_and_each_process_logs_to_its_file",
        &["ip"],
    ) {
        return;
    }
    let (dir, pair, conf) = setup("kpd", 65);
    let log = dir.join("ka.log");
    let log_arg = format!("--log-file={}", log.display());
    let d = Daemon::start_with_env(
        &pair.ns[0],
        &keepalived_rs(),
        &[
            "-n",
            "-G",
            &log_arg,
            "-f",
            conf.to_str().unwrap(),
            "-p",
            dir.join("parent.pid").to_str().unwrap(),
            "-r",
            dir.join("vrrp.pid").to_str().unwrap(),
        ],
        &[("TMPDIR", &dir)],
        dir.join("daemon.log"),
    );
    child_pid(&dir, None);
    assert!(wait_for(Duration::from_secs(6), || pair.holds(0, VIP)).is_some());
    // SIGUSR1 to the parent: the VRRP child writes the data dump.
    d.signal(libc::SIGUSR1);
    let data = dir.join("keepalived.data");
    assert!(
        wait_for(Duration::from_secs(3), || data.exists()).is_some(),
        "SIGUSR1 forwarded to the VRRP child"
    );
    let vrrp_log = dir.join("ka_vrrp.log");
    let text = std::fs::read_to_string(&vrrp_log).unwrap_or_default();
    assert!(text.contains("Entering MASTER STATE"), "{text}");
    assert!(text.contains("vrid=62"), "log lines carry the VRID: {text}");
    d.stop();
    let parent_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        parent_text.contains("stopping the child processes"),
        "{parent_text}"
    );
    assert!(!parent_text.contains("Entering MASTER STATE"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn vrrp_child_runs_with_the_global_defs_tuning() {
    if !can_run("vrrp_child_runs_with_the_global_defs_tuning", &["ip"]) {
        return;
    }
    let (dir, pair, conf) = setup("kpe", 66);
    let body = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  vrrp_priority -7\n  vrrp_no_swap\n  vrrp_rt_priority 10\n  \
             vrrp_cpu_affinity 0\n}}\n{body}"
        ),
    )
    .unwrap();
    let d = start(&pair, &dir, &conf, &[]);
    let child = child_pid(&dir, None);
    assert!(wait_for(Duration::from_secs(6), || pair.holds(0, VIP)).is_some());
    let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // Fields after the name: state is 0, so nice (field 19) is at 16, rt_priority (40)
    // at 37 and policy (41) at 38.
    assert_eq!(fields[16], "-7", "nice from vrrp_priority");
    assert_eq!(fields[37], "10", "rt priority from vrrp_rt_priority");
    assert_eq!(fields[38], libc::SCHED_RR.to_string(), "SCHED_RR");
    let status = std::fs::read_to_string(format!("/proc/{child}/status")).unwrap();
    let line = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        !line("VmLck:").ends_with(" 0 kB"),
        "vrrp_no_swap locks memory: {}",
        line("VmLck:")
    );
    assert!(
        line("Cpus_allowed_list:").ends_with("\t0"),
        "{}",
        line("Cpus_allowed_list:")
    );
    // The parent itself is not tuned: keepalived tunes each child for its own work.
    let parent = d.child.id();
    let pstat = std::fs::read_to_string(format!("/proc/{parent}/stat")).unwrap();
    let pfields: Vec<&str> = pstat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(pfields[16], "0");
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn net_namespace_and_instance_place_the_daemon_and_its_pidfiles() {
    if !can_run(
        "net_namespace_and_instance_place_the_daemon_and_its_pidfiles",
        &["ip"],
    ) {
        return;
    }
    let (dir, pair, conf) = setup("kpf", 67);
    let body = std::fs::read_to_string(&conf).unwrap();
    let instance = format!("kars{}", std::process::id());
    std::fs::write(
        &conf,
        format!(
            "net_namespace {}\ninstance {instance}\n{body}",
            pair.ns[0].name
        ),
    )
    .unwrap();
    // Started in the other namespace: `net_namespace` moves it to the first.
    let d = Daemon::start(
        &pair.ns[1],
        &keepalived_rs(),
        &["-n", "-l", "-G", "-f", conf.to_str().unwrap()],
        dir.join("daemon.log"),
    );
    assert!(
        wait_for(Duration::from_secs(6), || pair.holds(0, VIP)).is_some(),
        "the VIP appears in the configured namespace: {}",
        d.log_text()
    );
    assert!(!pair.holds(1, VIP));
    let parent = Path::new("/run/keepalived").join(format!("keepalived_{instance}.pid"));
    let vrrp = Path::new("/run/keepalived").join(format!("vrrp_{instance}.pid"));
    assert_eq!(pid_in(&parent), Some(d.child.id() as i32));
    let child = pid_in(&vrrp).expect("VRRP child pidfile under /run/keepalived");
    assert_eq!(ppid(child), Some(d.child.id() as i32));
    d.stop();
    assert!(
        !parent.exists() && !vrrp.exists(),
        "pidfiles removed on stop"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
