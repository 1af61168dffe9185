//! VRRP instance and global_defs options run on keepalived-rs and on keepalived 2.2.7 in
//! namespaces of their own and held to the same result:
//! - `vrrp_rx_bufs_policy` (MTU, ADVERT or a size), `vrrp_rx_bufs_multiplier` and
//!   `kernel_rx_buf_size`: the receive buffer (SO_RCVBUF, read from the daemon's own
//!   socket) of the raw socket VRRP adverts arrive on;
//! - `interface_up_down_delays` (`IFNAME DOWN_DELAY [UP_DELAY]`): a master's interface
//!   going down reaches FAULT after the down delay, coming up reaches BACKUP after the up
//!   delay, a delay at least `down_timer_adverts - 1` adverts long is cut to just under
//!   that, and a change back within the delay cancels it;
//! - `garp_extra_if [all] DELAY`: a master repeats a gratuitous ARP on another interface
//!   holding one of its addresses, as an advert goes once DELAY has passed; without `all`
//!   only on VMACs the daemon created, so a plain interface gets none.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use keepalived_tests::host::{keepalived_rs, tmp_dir, wait_for, Capture, Daemon, Netns};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Keepalived,
}

/// Whether the test can run; if not, why (a failure under CI, else a skip).
fn runnable(test: &str) -> bool {
    keepalived_tests::host::runnable(test, &["ip", "ss", "keepalived"])
}

/// The daemon in the foreground, VRRP only, logging to the console with detail.
fn start(who: Who, ns: &Netns, conf: &Path, dir: &Path) -> Daemon {
    let file = |ext: &str| dir.join(format!("d.{ext}")).display().to_string();
    let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let args = [
        "-n", "-l", "-D", "-P", "-f", &conf, "-p", &p, "-r", &r, "-c", &c,
    ];
    let cmd = match who {
        Who::Ours => keepalived_rs(),
        Who::Keepalived => PathBuf::from("keepalived"),
    };
    Daemon::start(ns, &cmd, &args, dir.join("d.log"))
}

/// A namespace with a veth pair d0 (192.168.90.1/24, MTU 1500) and p0, both up.
fn host(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.without_dad();
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "p0"]);
    ns.ip(&["addr", "add", "192.168.90.1/24", "dev", "d0"]);
    ns.ip(&["link", "set", "p0", "up"]);
    ns.ip(&["link", "set", "d0", "up"]);
    ns
}

/// A descriptor of process `pid`, duplicated into ours (pidfd_getfd(2)).
fn borrow_fd(pid: i32, fd: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain syscalls; each descriptor returned is ours and wrapped at once.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        if pidfd < 0 {
            return None;
        }
        let pidfd = std::os::fd::OwnedFd::from_raw_fd(pidfd as i32);
        let theirs = libc::syscall(
            libc::SYS_pidfd_getfd,
            std::os::fd::AsRawFd::as_raw_fd(&pidfd),
            fd,
            0,
        );
        (theirs >= 0).then(|| std::os::fd::OwnedFd::from_raw_fd(theirs as i32))
    }
}

/// SO_RCVBUF of a socket (what the kernel made of the size set: twice it, at least its
/// floor).
fn rcvbuf(fd: &std::os::fd::OwnedFd) -> Option<i32> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: an int option read into an int of its size.
    let r = unsafe {
        libc::getsockopt(
            std::os::fd::AsRawFd::as_raw_fd(fd),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// The largest receive buffer among the raw VRRP sockets of the namespace's processes
/// (`ss -w -a -p` names their pid and descriptor): the socket adverts are read from.
/// keepalived sends on a second socket with the kernel's buffer.
fn vrrp_rcvbuf(ns: &Netns) -> Option<i32> {
    let out = ns.command("ss").args(["-w", "-a", "-p"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.contains(":vrrp"))
        .flat_map(|l| {
            l.split("pid=")
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|p| {
            let (pid, rest) = p.split_once(",fd=")?;
            let fd: String = rest.chars().take_while(char::is_ascii_digit).collect();
            rcvbuf(&borrow_fd(pid.parse().ok()?, fd.parse().ok()?)?)
        })
        .max()
}

/// The VRRP receive buffer `who` gives `conf`, once its sockets are open and, with
/// `mtu`, d0's MTU has been set to it.
fn receive_buffer(who: Who, ns: &Netns, conf: &str, dir: &Path, mtu: Option<&str>) -> Option<i32> {
    ns.ip(&["link", "set", "d0", "mtu", "1500"]);
    let path = dir.join("k.conf");
    std::fs::write(&path, conf).expect("config");
    let daemon = start(who, ns, &path, dir);
    let mut seen = None;
    wait_for(Duration::from_secs(5), || {
        seen = vrrp_rcvbuf(ns);
        seen.is_some()
    });
    if let Some(mtu) = mtu {
        ns.ip(&["link", "set", "d0", "mtu", mtu]);
    }
    // Sockets opened: give a late setsockopt the time it would take.
    std::thread::sleep(Duration::from_millis(300));
    let seen = vrrp_rcvbuf(ns).or(seen);
    daemon.stop();
    seen
}

fn rx_config(global: &str) -> String {
    format!(
        "global_defs {{\n{global}}}\n\
         vrrp_instance A {{\n  interface d0\n  state BACKUP\n  virtual_router_id 51\n  \
         priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    10.9.0.1/24\n    \
         10.9.0.2/24\n  }}\n}}\n\
         vrrp_instance B {{\n  interface d0\n  state BACKUP\n  virtual_router_id 52\n  \
         priority 100\n  advert_int 1\n  kernel_rx_buf_size 5000\n  virtual_ipaddress {{\n    \
         10.9.1.1/24\n  }}\n}}\n"
    )
}

/// The receive buffer of the VRRP socket is the sum over its instances of their
/// `kernel_rx_buf_size` or of what `vrrp_rx_bufs_policy` gives them
/// (`vrrp_create_sockpool()`), and follows an MTU change under the MTU policy
/// (`update_mtu()`), the same as keepalived 2.2.7's; the kernel doubles it.
#[test]
fn vrrp_receive_buffers_follow_the_rx_bufs_policy_as_keepalived_sizes_them() {
    if !runnable("vrrp_receive_buffers_follow_the_rx_bufs_policy_as_keepalived_sizes_them") {
        return;
    }
    let cases = [
        // A's advert: 8 VRRP header + 8 authentication + 2 x 4 VIPs + 20 IP header = 44.
        (
            "  vrrp_rx_bufs_policy ADVERT\n  vrrp_rx_bufs_multiplier 40\n",
            None,
            Some(2 * (40 * 44 + 5000)),
        ),
        (
            "  vrrp_rx_bufs_policy MTU\n  vrrp_rx_bufs_multiplier 40\n",
            None,
            Some(2 * (40 * 1500 + 5000)),
        ),
        (
            "  vrrp_rx_bufs_policy MTU\n  vrrp_rx_bufs_multiplier 40\n",
            Some("1400"),
            Some(2 * (40 * 1400 + 5000)),
        ),
        (
            "  vrrp_rx_bufs_policy 7000\n",
            None,
            Some(2 * (7000 + 5000)),
        ),
        // No policy: instance B's kernel_rx_buf_size alone.
        ("", None, Some(2 * 5000)),
    ];
    let ns = host("kgx90");
    let dir = tmp_dir("kgx9-rxbufs");
    for (global, mtu, expected) in cases {
        let conf = rx_config(global);
        let ours = receive_buffer(Who::Ours, &ns, &conf, &dir, mtu);
        let theirs = receive_buffer(Who::Keepalived, &ns, &conf, &dir, mtu);
        assert_eq!(
            ours, theirs,
            "{global:?}, MTU {mtu:?}: keepalived-rs {ours:?}, keepalived {theirs:?}"
        );
        assert_eq!(ours, expected, "{global:?}, MTU {mtu:?}");
    }
}

/// How long after a change at `since` the notify script touched `file`, if it did.
fn touched_after(file: &Path, since: SystemTime) -> Option<f64> {
    let at = std::fs::metadata(file).ok()?.modified().ok()?;
    Some(at.duration_since(since).ok()?.as_secs_f64())
}

/// What `interface_up_down_delays` did to a master on d0: seconds from the link going
/// down to FAULT and from it coming up to BACKUP, and whether a down undone within the
/// delay still reached FAULT.
#[derive(Debug)]
struct Delays {
    down_to_fault: Option<f64>,
    up_to_backup: Option<f64>,
    fault_after_a_blip: bool,
}

fn measure_delays(who: Who, delays: &str, ns_name: &str) -> Delays {
    let ns = host(ns_name);
    let dir = tmp_dir(&format!("{ns_name}-{who:?}"));
    let touch = |s: &str| format!("\"/usr/bin/touch {}\"", dir.join(s).display());
    let conf = format!(
        "global_defs {{\n  script_user root\n}}\n\
         interface_up_down_delays {{\n  d0 {delays}\n}}\n\
         vrrp_instance A {{\n  interface d0\n  state MASTER\n  virtual_router_id 51\n  \
         priority 200\n  advert_int 1\n  notify_master {}\n  notify_backup {}\n  \
         notify_fault {}\n  virtual_ipaddress {{\n    10.9.0.1/24\n  }}\n}}\n",
        touch("master"),
        touch("backup"),
        touch("fault"),
    );
    let path = dir.join("k.conf");
    std::fs::write(&path, conf).expect("config");
    let daemon = start(who, &ns, &path, &dir);
    let up = |f: &str| dir.join(f).exists();
    assert!(
        wait_for(Duration::from_secs(8), || up("master")).is_some(),
        "{who:?} never became master:\n{}",
        daemon.log_text()
    );
    let since = SystemTime::now();
    ns.ip(&["link", "set", "d0", "down"]);
    wait_for(Duration::from_secs(5), || up("fault"));
    let down_to_fault = touched_after(&dir.join("fault"), since);
    // Touched already when the instance started as backup.
    let _ = std::fs::remove_file(dir.join("backup"));
    let since = SystemTime::now();
    ns.ip(&["link", "set", "d0", "up"]);
    wait_for(Duration::from_secs(5), || up("backup"));
    let up_to_backup = touched_after(&dir.join("backup"), since);
    // Master again, then down and back up well within the down delay.
    assert!(
        wait_for(Duration::from_secs(6), || {
            touched_after(&dir.join("master"), since).is_some()
        })
        .is_some(),
        "{who:?} never became master again:\n{}",
        daemon.log_text()
    );
    let _ = std::fs::remove_file(dir.join("fault"));
    ns.ip(&["link", "set", "d0", "down"]);
    std::thread::sleep(Duration::from_millis(400));
    ns.ip(&["link", "set", "d0", "up"]);
    std::thread::sleep(Duration::from_millis(2500));
    let fault_after_a_blip = up("fault");
    daemon.stop();
    Delays {
        down_to_fault,
        up_to_backup,
        fault_after_a_blip,
    }
}

/// keepalived acts on an interface going down or up only once it has stayed so for
/// its delay (`update_interface_flags()`), delays of at least two adverts cut to
/// 2 s − 1/256 s (`check_debounce_timers()`); keepalived-rs the same.
#[test]
fn interface_up_down_delays_hold_back_link_changes_as_keepalived_does() {
    if !runnable("interface_up_down_delays_hold_back_link_changes_as_keepalived_does") {
        return;
    }
    let cut = 2.0 - 1.0 / 256.0;
    // (delays, expected down→FAULT, expected up→BACKUP)
    let cases = [("1.5 1", 1.5, 1.0), ("3 2", cut, cut)];
    for (k, (delays, down, up)) in cases.into_iter().enumerate() {
        for who in [Who::Ours, Who::Keepalived] {
            let seen = measure_delays(who, delays, &format!("kgx9{}", 2 + k));
            let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 0.3);
            assert!(
                near(seen.down_to_fault, down) && near(seen.up_to_backup, up),
                "{who:?} with `d0 {delays}`: {seen:?}, expected {down} s and {up} s"
            );
            assert!(
                !seen.fault_after_a_blip,
                "{who:?} with `d0 {delays}`: a 0.4 s down reached FAULT"
            );
        }
    }
}

/// The times, seconds after the instance became master, of the gratuitous ARPs for an
/// address on d1 (a plain interface) that `who` sends in the 9.5 s after: short of the
/// 10 s captured, so that a GARP due on the tenth second is never half in the window.
fn extra_if_garps(who: Who, option: &str, ns_name: &str) -> Vec<f64> {
    let ns = host(ns_name);
    ns.ip(&["link", "add", "d1", "type", "veth", "peer", "name", "p1"]);
    ns.ip(&["addr", "add", "192.168.91.1/24", "dev", "d1"]);
    ns.ip(&["link", "set", "p1", "up"]);
    ns.ip(&["link", "set", "d1", "up"]);
    let dir = tmp_dir(&format!("{ns_name}-{who:?}"));
    let master = dir.join("master");
    let conf = format!(
        "global_defs {{\n  script_user root\n}}\n\
         vrrp_instance A {{\n  interface d0\n  state MASTER\n  virtual_router_id 51\n  \
         priority 200\n  advert_int 1\n  garp_master_delay 0\n  garp_master_repeat 1\n  \
         {option}\n  notify_master \"/usr/bin/touch {}\"\n  \
         virtual_ipaddress {{\n    10.9.0.1/24\n  }}\n  \
         virtual_ipaddress_excluded {{\n    10.9.1.1/24 dev d1\n  }}\n}}\n",
        master.display()
    );
    let path = dir.join("k.conf");
    std::fs::write(&path, conf).expect("config");
    let cap = Capture::start(&ns, "p1", "arp", &dir.join("cap"));
    let daemon = start(who, &ns, &path, &dir);
    assert!(
        wait_for(Duration::from_secs(8), || master.exists()).is_some(),
        "{who:?} never became master:\n{}",
        daemon.log_text()
    );
    std::thread::sleep(Duration::from_secs(10));
    daemon.stop();
    let became = std::fs::metadata(&master)
        .and_then(|m| m.modified())
        .expect("master notified")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs_f64();
    cap.garps("10.9.1.1", became - 0.5)
        .into_iter()
        .map(|(t, _)| t - became)
        .filter(|t| *t < 9.5)
        .collect()
}

/// keepalived's master sends one gratuitous ARP on its other interfaces at the first
/// advert after each `garp_extra_if` delay (`vrrp_send_vmac_update()` from
/// `vrrp_state_master_tx()`): with `all 2` every 2 to 3 s after the takeover's own (2 s
/// when the advert lands just after the delay runs out, 3 s when just before), on a
/// plain interface only with `all`; keepalived-rs the same.
#[test]
fn garp_extra_if_repeats_gratuitous_arps_on_other_interfaces_as_keepalived_does() {
    if !runnable("garp_extra_if_repeats_gratuitous_arps_on_other_interfaces_as_keepalived_does") {
        return;
    }
    for who in [Who::Ours, Who::Keepalived] {
        let all = extra_if_garps(who, "garp_extra_if all 2", "kgx94");
        let gaps: Vec<f64> = all.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            (4..=5).contains(&all.len()) && gaps.iter().all(|g| (1.7..3.3).contains(g)),
            "{who:?} with `all 2`: GARPs at {all:?}"
        );
        let vmacs_only = extra_if_garps(who, "garp_extra_if 2", "kgx95");
        assert_eq!(
            vmacs_only.len(),
            1,
            "{who:?} without `all`: only the takeover's GARP, got {vmacs_only:?}"
        );
    }
}
