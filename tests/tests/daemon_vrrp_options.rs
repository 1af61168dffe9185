//! VRRP instance and global_defs options run on keepalived-rs and on keepalived 2.2.7 in
//! namespaces of their own and held to the same result:
//! - `vrrp_rx_bufs_policy` (MTU, ADVERT or a size), `vrrp_rx_bufs_multiplier` and
//!   `kernel_rx_buf_size`: the receive buffer (SO_RCVBUF, read from the daemon's own
//!   socket) of the raw socket VRRP adverts arrive on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keepalived_tests::host::{have, is_root, keepalived_rs, tmp_dir, wait_for, Daemon, Netns};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Keepalived,
}

/// Whether the test can run; if not, why (a failure under CI, else a skip).
fn runnable(test: &str) -> bool {
    let why = if !is_root() {
        Some("it needs root (network namespaces)".to_string())
    } else {
        ["ip", "ss", "keepalived"]
            .into_iter()
            .find(|c| !have(c))
            .map(|cmd| format!("`{cmd}` is not installed (scripts/test-all.sh installs it)"))
    };
    match why {
        None => true,
        Some(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test} must run in CI, but {why}"
            );
            eprintln!("SKIP {test}: {why}");
            false
        }
    }
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

/// The VRRP receive buffer `who` gives `conf`, once its sockets are open.
fn receive_buffer(who: Who, ns: &Netns, conf: &str, dir: &Path) -> Option<i32> {
    let path = dir.join("k.conf");
    std::fs::write(&path, conf).expect("config");
    let daemon = start(who, ns, &path, dir);
    let mut seen = None;
    wait_for(Duration::from_secs(5), || {
        seen = vrrp_rcvbuf(ns);
        seen.is_some()
    });
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
/// (`vrrp_create_sockpool()`), the same as keepalived 2.2.7's; the kernel doubles it.
#[test]
fn vrrp_receive_buffers_follow_the_rx_bufs_policy_as_keepalived_sizes_them() {
    if !runnable("vrrp_receive_buffers_follow_the_rx_bufs_policy_as_keepalived_sizes_them") {
        return;
    }
    let cases = [
        // A's advert: 8 VRRP header + 8 authentication + 2 x 4 VIPs + 20 IP header = 44.
        (
            "  vrrp_rx_bufs_policy ADVERT\n  vrrp_rx_bufs_multiplier 40\n",
            Some(2 * (40 * 44 + 5000)),
        ),
        (
            "  vrrp_rx_bufs_policy MTU\n  vrrp_rx_bufs_multiplier 40\n",
            Some(2 * (40 * 1500 + 5000)),
        ),
        ("  vrrp_rx_bufs_policy 7000\n", Some(2 * (7000 + 5000))),
        // No policy: instance B's kernel_rx_buf_size alone.
        ("", Some(2 * 5000)),
    ];
    let ns = host("kgx90");
    let dir = tmp_dir("kgx9-rxbufs");
    for (global, expected) in cases {
        let conf = rx_config(global);
        let ours = receive_buffer(Who::Ours, &ns, &conf, &dir);
        let theirs = receive_buffer(Who::Keepalived, &ns, &conf, &dir);
        assert_eq!(
            ours, theirs,
            "{global:?}: keepalived-rs {ours:?}, keepalived {theirs:?}"
        );
        assert_eq!(ours, expected, "{global:?}");
    }
}
