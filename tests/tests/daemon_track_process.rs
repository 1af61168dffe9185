//! `vrrp_track_process` in network namespaces: a tracked process coming and going moves
//! the instance into and out of FAULT (weight 0), or moves its priority as seen in its
//! adverts (weight, reverse), by quorum and quorum_max, by command line, after
//! terminate_delay, and across a reload.
//!
//! keepalived 2.2.7 cannot do this when it is started inside a network namespace: the
//! kernel refuses its process events subscription there ("Failed to set/clear process
//! event listen - errno 111"), it never reads /proc, and a weight-0 tracker holds its
//! instance in FAULT with the process running. It does track processes when it is
//! started in the initial namespace with `net_namespace`, having opened its events socket
//! before entering the namespace. keepalived-rs reads /proc every second where the
//! events are not to be had, so it tracks processes either way.
//!
//! The tracked processes are copies of `sleep` under names of their own (the process
//! name is the executable's), started and killed by pid; /proc is shared by every
//! network namespace, so the daemons see them wherever they run.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use keepalived_tests::host::{adverts, can_run, tmp_dir, wait_for, Capture, Daemon, Pair};

/// How long a change of process may take to show: a /proc read every second, then the
/// engine acts at once (FAULT) or the next advert carries the priority.
const NOTICE: Duration = Duration::from_secs(5);
/// Leaving FAULT, a backup waits a master-down interval (3.6 s at priority 100) before
/// it takes the VIP.
const TAKEOVER: Duration = Duration::from_secs(10);

/// Whether the test may run; in CI (CI set) it must.
fn may_run(test: &str, cmds: &[&str]) -> bool {
    let ok = can_run(test, cmds);
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "{test} must run in CI (root, ip, keepalived)"
    );
    ok
}

/// A copy of `sleep` named `name` in `dir`: processes of it have `name` as their name.
fn program(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy("/bin/sleep", &p).expect("copy sleep");
    p
}

/// A running process of `program`, killed (by its pid) when dropped.
struct Proc(Child);

impl Proc {
    /// Starts `program` with `args`. Another test thread that forks while a copy is
    /// being written holds it open for writing until its child execs, and an exec
    /// meanwhile fails with ETXTBSY: that is waited out.
    fn start(program: &Path, args: &[&str]) -> Proc {
        for _ in 0..50 {
            match Command::new(program).args(args).spawn() {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                r => return Proc(r.expect("start process")),
            }
        }
        panic!("{} stays busy", program.display());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// keepalived 2.2.7 started in the initial network namespace, its configuration naming
/// the namespace to run in (`net_namespace`); its process group is killed when dropped.
struct Keepalived {
    child: Child,
    log: PathBuf,
}

impl Keepalived {
    fn start(dir: &Path, conf: &Path, tag: &str) -> Keepalived {
        let log = dir.join(format!("{tag}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let arg = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
        let child = Command::new("keepalived")
            .args(["-n", "-l", "-D", "-P", "-f"])
            .arg(conf)
            .args(["-p", &arg("p"), "-r", &arg("r")])
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("start keepalived");
        Keepalived { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Keepalived {
    fn drop(&mut self) {
        // SAFETY: signalling the process group our child leads.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// A configuration: `trackers` (vrrp_track_process blocks), then instance VI_1 on
/// `iface` for VRID `vrid` with the VIP 10.`vrid`.0.100, priority 100, tracking `refs`.
fn conf(
    dir: &Path,
    name: &str,
    head: &str,
    iface: &str,
    vrid: u8,
    trackers: &str,
    refs: &str,
) -> PathBuf {
    let p = dir.join(format!("{name}.conf"));
    std::fs::write(
        &p,
        format!(
            "{head}{trackers}\nvrrp_instance VI_1 {{\n  interface {iface}\n  virtual_router_id {vrid}\n  \
             priority 100\n  advert_int 1\n  track_process {{\n{refs}\n  }}\n  \
             virtual_ipaddress {{\n    10.{vrid}.0.100/24\n  }}\n}}\n"
        ),
    )
    .unwrap();
    p
}

fn vip(vrid: u8) -> String {
    format!("10.{vrid}.0.100")
}

/// The priority of the last advert for `vrid` in the capture.
fn last_priority(cap: &Capture, vrid: u8) -> Option<u8> {
    adverts(&cap.text(), vrid).last().map(|&(_, p)| p)
}

/// Waits until the adverts for `vrid` carry `prio`.
fn adverts_at(cap: &Capture, vrid: u8, prio: u8, what: &str, log: &dyn Fn() -> String) {
    assert!(
        wait_for(NOTICE, || last_priority(cap, vrid) == Some(prio)).is_some(),
        "{what}: adverts should carry priority {prio}, last was {:?}\n{}",
        last_priority(cap, vrid),
        log()
    );
}

#[test]
fn weight_zero_faults_while_the_process_is_gone_inside_a_namespace() {
    if !may_run(
        "weight_zero_faults_while_the_process_is_gone_inside_a_namespace",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("ktp9-zero");
    let pair = Pair::new("ktp90", 150);
    let prog = program(&dir, "ktp9zero");
    let c = conf(
        &dir,
        "r",
        "",
        &pair.ifs[0],
        150,
        "vrrp_track_process tp {\n  process ktp9zero\n}",
        "    tp",
    );
    let p = Proc::start(&prog, &["1000"]);
    let d = Daemon::ours(&pair.ns[0], &c, &dir, "ours", &["-P"]);
    assert!(
        wait_for(TAKEOVER, || pair.holds(0, &vip(150))).is_some(),
        "with its process running the instance becomes master: {}",
        d.log_text()
    );
    let log = d.log_text();
    assert!(
        !log.contains("FAULT"),
        "the first count is there before the instance starts, so it never faults: {log}"
    );
    assert!(
        log.contains("tracking processes by reading /proc every 1 s"),
        "inside a namespace the kernel's events are refused and /proc is read: {log}"
    );

    drop(p);
    assert!(
        wait_for(NOTICE, || !pair.holds(0, &vip(150))).is_some(),
        "the process gone, the instance faults and drops the VIP: {}",
        d.log_text()
    );
    assert!(
        d.log_text().contains("Entering FAULT STATE"),
        "{}",
        d.log_text()
    );

    let _p = Proc::start(&prog, &["1000"]);
    assert!(
        wait_for(TAKEOVER, || pair.holds(0, &vip(150))).is_some(),
        "the process back, the instance leaves FAULT and takes the VIP again: {}",
        d.log_text()
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keepalived_cannot_track_processes_inside_a_namespace_and_we_can() {
    if !may_run(
        "keepalived_cannot_track_processes_inside_a_namespace_and_we_can",
        &["ip", "keepalived"],
    ) {
        return;
    }
    let dir = tmp_dir("ktp9-ka");
    let pair = Pair::new("ktp91", 151);
    let prog = program(&dir, "ktp9ka");
    let trackers = "vrrp_track_process tp {\n  process ktp9ka\n  weight 0\n}";
    let p = Proc::start(&prog, &["1000"]);

    // Started inside the namespace, keepalived faults with the process running.
    let inside = conf(&dir, "inside", "", &pair.ifs[0], 151, trackers, "    tp");
    let k = Daemon::start(
        &pair.ns[0],
        Path::new("keepalived"),
        &[
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            inside.to_str().unwrap(),
            "-p",
            dir.join("k1.p").to_str().unwrap(),
            "-r",
            dir.join("k1.r").to_str().unwrap(),
        ],
        dir.join("k1.log"),
    );
    let refused = || {
        let t = k.log_text();
        t.contains("Failed to set/clear process event listen")
            && t.contains("(VI_1) entering FAULT state")
    };
    assert!(
        wait_for(NOTICE, refused).is_some(),
        "keepalived 2.2.7 inside a namespace: its subscription refused, FAULT: {}",
        k.log_text()
    );
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !pair.holds(0, &vip(151)),
        "keepalived 2.2.7 stays in FAULT with the process running: {}",
        k.log_text()
    );
    drop(k);

    // Ours, on the same configuration in the same place, tracks it.
    let d = Daemon::ours(&pair.ns[0], &inside, &dir, "ours", &["-P"]);
    assert!(
        wait_for(TAKEOVER, || pair.holds(0, &vip(151))).is_some(),
        "keepalived-rs inside the namespace becomes master: {}",
        d.log_text()
    );
    d.stop();
    pair.ns[0].drop_address(&pair.ifs[0], &vip(151));

    // keepalived started outside with net_namespace subscribes before entering it, and
    // tracks: master with the process, FAULT without it.
    let outside = conf(
        &dir,
        "outside",
        &format!("net_namespace {}\n", pair.ns[0].name),
        &pair.ifs[0],
        151,
        trackers,
        "    tp",
    );
    let k = Keepalived::start(&dir, &outside, "k2");
    assert!(
        wait_for(TAKEOVER, || pair.holds(0, &vip(151))).is_some(),
        "keepalived 2.2.7 with net_namespace tracks the process: {}",
        k.log_text()
    );
    drop(p);
    assert!(
        wait_for(NOTICE, || !pair.holds(0, &vip(151))).is_some(),
        "keepalived 2.2.7 faults when the process goes: {}",
        k.log_text()
    );
    assert!(
        k.log_text().contains("Quorum lost for tracked process tp"),
        "{}",
        k.log_text()
    );
    drop(k);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn weights_move_the_advertised_priority_and_reverse_turns_them_round() {
    if !may_run(
        "weights_move_the_advertised_priority_and_reverse_turns_them_round",
        &["ip", "tcpdump"],
    ) {
        return;
    }
    let dir = tmp_dir("ktp9-weight");
    let pair = Pair::new("ktp92", 152);
    let (up, rev) = (program(&dir, "ktp9up"), program(&dir, "ktp9rev"));
    let c = conf(
        &dir,
        "r",
        "",
        &pair.ifs[0],
        152,
        "vrrp_track_process up {\n  process ktp9up\n  weight 10\n}\n\
         vrrp_track_process rev {\n  process ktp9rev\n  weight 20 reverse\n}",
        "    up\n    rev",
    );
    let cap = Capture::start(&pair.ns[1], &pair.ifs[1], "vrrp", &dir.join("cap"));
    let d = Daemon::ours(&pair.ns[0], &c, &dir, "ours", &["-P"]);
    let log = || d.log_text();
    assert!(
        wait_for(TAKEOVER, || pair.holds(0, &vip(152))).is_some(),
        "master: {}",
        log()
    );
    // Neither running: `up` adds nothing, `rev` (reversed, down) adds nothing.
    adverts_at(&cap, 152, 100, "neither process", &log);
    let u = Proc::start(&up, &["1000"]);
    adverts_at(&cap, 152, 110, "weight 10 with its process up", &log);
    let r = Proc::start(&rev, &["1000"]);
    adverts_at(&cap, 152, 90, "weight 20 reverse with its process up", &log);
    drop(u);
    adverts_at(&cap, 152, 80, "weight 10 with its process gone", &log);
    drop(r);
    adverts_at(&cap, 152, 100, "both gone", &log);
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn quorum_and_quorum_max_bound_the_number_of_processes() {
    if !may_run(
        "quorum_and_quorum_max_bound_the_number_of_processes",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("ktp9-quorum");
    let pair = Pair::new("ktp93", 153);
    let prog = program(&dir, "ktp9q");
    let c = conf(
        &dir,
        "r",
        "",
        &pair.ifs[0],
        153,
        "vrrp_track_process tp {\n  process ktp9q\n  quorum 2\n  quorum_max 3\n}",
        "    tp",
    );
    let mut running = vec![Proc::start(&prog, &["1000"])];
    let d = Daemon::ours(&pair.ns[0], &c, &dir, "ours", &["-P"]);
    let held = || pair.holds(0, &vip(153));
    assert!(
        wait_for(NOTICE, || d.log_text().contains("Entering FAULT STATE")).is_some(),
        "one process is below quorum: {}",
        d.log_text()
    );
    running.push(Proc::start(&prog, &["1000"]));
    assert!(
        wait_for(TAKEOVER, held).is_some(),
        "two make the quorum: {}",
        d.log_text()
    );
    running.push(Proc::start(&prog, &["1000"]));
    std::thread::sleep(Duration::from_secs(2));
    assert!(held(), "three is within quorum_max: {}", d.log_text());
    running.push(Proc::start(&prog, &["1000"]));
    assert!(
        wait_for(NOTICE, || !held()).is_some(),
        "four is above quorum_max: {}",
        d.log_text()
    );
    running.pop();
    assert!(
        wait_for(TAKEOVER, held).is_some(),
        "back to three: {}",
        d.log_text()
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parameters_match_the_command_line_and_terminate_delay_holds_the_loss() {
    if !may_run(
        "parameters_match_the_command_line_and_terminate_delay_holds_the_loss",
        &["ip"],
    ) {
        return;
    }
    let dir = tmp_dir("ktp9-cmd");
    let pair = Pair::new("ktp94", 154);
    let prog = program(&dir, "ktp9cmd");
    let c = conf(
        &dir,
        "r",
        "",
        &pair.ifs[0],
        154,
        &format!(
            "vrrp_track_process tp {{\n  process {} 1000\n  param_match partial\n  terminate_delay 3\n}}",
            prog.display()
        ),
        "    tp",
    );
    // Right program, wrong parameter: no match.
    let _wrong = Proc::start(&prog, &["999"]);
    let d = Daemon::ours(&pair.ns[0], &c, &dir, "ours", &["-P"]);
    let held = || pair.holds(0, &vip(154));
    assert!(
        wait_for(NOTICE, || d.log_text().contains("Entering FAULT STATE")).is_some(),
        "'999' is not '1000': {}",
        d.log_text()
    );
    // partial: more parameters after the configured ones match.
    let right = Proc::start(&prog, &["1000", "5"]);
    assert!(
        wait_for(TAKEOVER, held).is_some(),
        "'1000 5' matches: {}",
        d.log_text()
    );

    // terminate_delay 3: the loss is acted on no sooner than 3 s after the exit.
    drop(right);
    let gone = std::time::Instant::now();
    assert!(
        wait_for(Duration::from_secs(10), || !held()).is_some(),
        "the loss is acted on after terminate_delay: {}",
        d.log_text()
    );
    assert!(
        gone.elapsed() >= Duration::from_secs(3),
        "not before terminate_delay: {:?}\n{}",
        gone.elapsed(),
        d.log_text()
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reload_tracks_the_new_configurations_processes() {
    if !may_run("a_reload_tracks_the_new_configurations_processes", &["ip"]) {
        return;
    }
    let dir = tmp_dir("ktp9-reload");
    let pair = Pair::new("ktp95", 155);
    let (a, b) = (program(&dir, "ktp9ra"), program(&dir, "ktp9rb"));
    let with = |process: &str| {
        conf(
            &dir,
            "r",
            "",
            &pair.ifs[0],
            155,
            &format!("vrrp_track_process tp {{\n  process {process}\n}}"),
            "    tp",
        )
    };
    let c = with("ktp9ra");
    let _a = Proc::start(&a, &["1000"]);
    let d = Daemon::ours(&pair.ns[0], &c, &dir, "ours", &["-P"]);
    let held = || pair.holds(0, &vip(155));
    assert!(
        wait_for(TAKEOVER, held).is_some(),
        "master on ktp9ra: {}",
        d.log_text()
    );

    // The tracker now follows ktp9rb, which is not running.
    let _ = with("ktp9rb");
    d.signal(libc::SIGHUP);
    assert!(
        wait_for(NOTICE, || !held()).is_some(),
        "after the reload ktp9rb's absence faults the instance: {}",
        d.log_text()
    );
    let _b = Proc::start(&b, &["1000"]);
    assert!(
        wait_for(TAKEOVER, held).is_some(),
        "ktp9rb started: {}",
        d.log_text()
    );
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parameters_match_exactly_by_default_and_quorum_max_0_faults_on_any_as_keepalived_does() {
    if !may_run(
        "parameters_match_exactly_by_default_and_quorum_max_0_faults_on_any_as_keepalived_does",
        &["ip", "keepalived"],
    ) {
        return;
    }
    let dir = tmp_dir("kpm9-exact");
    let pair = Pair::new("kpm90", 160);
    let (ex, none) = (program(&dir, "kpm9ex"), program(&dir, "kpm9none"));
    // `ex`: parameters without param_match are matched exactly (PARAM_MATCH_EXACT);
    // `none`: quorum_max 0 holds while no process runs. Both weight 0.
    let trackers = format!(
        "vrrp_track_process ex {{\n  process {} 1000\n}}\n\
         vrrp_track_process none {{\n  process kpm9none\n  quorum_max 0\n}}",
        ex.display()
    );
    // keepalived-rs in the first namespace (VRID 160); keepalived 2.2.7 started outside
    // with net_namespace into the second (VRID 161), so that it gets process events.
    let ours = conf(
        &dir,
        "ours",
        "",
        &pair.ifs[0],
        160,
        &trackers,
        "    ex\n    none",
    );
    let theirs = conf(
        &dir,
        "theirs",
        &format!("net_namespace {}\n", pair.ns[1].name),
        &pair.ifs[1],
        161,
        &trackers,
        "    ex\n    none",
    );
    // One more parameter than configured: no match for either.
    let _more = Proc::start(&ex, &["1000", "5"]);
    let d = Daemon::ours(&pair.ns[0], &ours, &dir, "ours", &["-P"]);
    let k = Keepalived::start(&dir, &theirs, "k");
    let logs = || format!("ours:\n{}\nkeepalived:\n{}", d.log_text(), k.log_text());
    let both = |held: bool| pair.holds(0, &vip(160)) == held && pair.holds(1, &vip(161)) == held;
    assert!(
        wait_for(NOTICE, || d.log_text().contains("Entering FAULT STATE")
            && k.log_text().contains("(VI_1) entering FAULT state"))
        .is_some(),
        "'1000 5' is not exactly '1000': both in FAULT\n{}",
        logs()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(both(false), "{}", logs());

    let exact = Proc::start(&ex, &["1000"]);
    assert!(
        wait_for(TAKEOVER, || both(true)).is_some(),
        "'1000' exactly, and no kpm9none: both masters\n{}",
        logs()
    );

    let running = Proc::start(&none, &["1000"]);
    assert!(
        wait_for(NOTICE, || both(false)).is_some(),
        "quorum_max 0 with kpm9none running: both in FAULT\n{}",
        logs()
    );
    drop(running);
    assert!(
        wait_for(TAKEOVER, || both(true)).is_some(),
        "kpm9none gone: both masters again\n{}",
        logs()
    );
    drop(exact);
    assert!(
        wait_for(NOTICE, || both(false)).is_some(),
        "'1000' gone, '1000 5' left: both in FAULT\n{}",
        logs()
    );
    d.stop();
    drop(k);
    let _ = std::fs::remove_dir_all(&dir);
}
