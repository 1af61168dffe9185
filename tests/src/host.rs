//! What a test needs from the host: root, commands, and network namespaces that clean up
//! after themselves.

use std::os::unix::process::CommandExt;
use std::process::{Command, Output};

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

pub fn have(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether a test that needs root and `cmds` can run; if not, says why on stderr so the
/// skip is visible in the test output.
pub fn can_run(test: &str, cmds: &[&str]) -> bool {
    if !is_root() {
        eprintln!("SKIP {test}: needs root (network namespaces)");
        return false;
    }
    if let Some(missing) = cmds.iter().find(|c| !have(c)) {
        eprintln!("SKIP {test}: `{missing}` is not installed (scripts/test-all.sh installs it)");
        return false;
    }
    true
}

/// As [`can_run`], but under CI (env `CI` set) a test that cannot run fails instead of
/// skipping: CI installs everything the tests need.
pub fn runnable(test: &str, cmds: &[&str]) -> bool {
    let why = if !is_root() {
        Some("it needs root (network namespaces)".to_string())
    } else {
        cmds.iter()
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

pub fn run(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace, deleted (with everything in it) when dropped.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// A fresh namespace with loopback up; a leftover of the same name is replaced.
    pub fn new(name: &str) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        run("ip", &["netns", "add", name]);
        let ns = Netns {
            name: name.to_string(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// A namespace holding a bridge of its own name, up: no STP and no forwarding delay,
    /// so ports forward as soon as they are up; no multicast snooping, so adverts reach
    /// every port whatever the querier state.
    pub fn bridge(name: &str) -> Netns {
        let ns = Netns::new(name);
        ns.ip(&[
            "link",
            "add",
            name,
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
            "mcast_snooping",
            "0",
        ]);
        ns.ip(&["link", "set", name, "up"]);
        ns
    }

    /// `ip -n NS …`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> Output {
        let mut a = vec!["-n", self.name.as_str()];
        a.extend_from_slice(args);
        run("ip", &a)
    }

    /// No duplicate address detection in the namespace, so link-local sources and IPv6
    /// VIPs are usable at once.
    pub fn without_dad(&self) {
        let _ = self
            .command("sysctl")
            .args([
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ])
            .output();
    }

    /// Whether `dev` holds `addr` now (any prefix length); false if there is no `dev`.
    pub fn holds(&self, dev: &str, addr: &str) -> bool {
        let Ok(out) = self
            .command("ip")
            .args(["-br", "addr", "show", "dev", dev])
            .output()
        else {
            return false;
        };
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .any(|w| w.split('/').next() == Some(addr))
    }

    /// The flags `ip -j addr` shows on `addr` on `dev` (`nodad`, `tentative`, `dadfailed`,
    /// `deprecated`…), sorted; empty when the address is not there.
    pub fn address_flags(&self, dev: &str, addr: &str) -> Vec<String> {
        let Ok(out) = self
            .command("ip")
            .args(["-j", "addr", "show", "dev", dev])
            .output()
        else {
            return Vec::new();
        };
        let links: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let infos = links
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["addr_info"].as_array())
            .flatten();
        let mut flags: Vec<String> = infos
            .filter(|a| a["local"].as_str() == Some(addr))
            .flat_map(|a| a.as_object().into_iter().flatten())
            .filter(|(_, v)| v.as_bool() == Some(true))
            .map(|(k, _)| k.clone())
            .collect();
        flags.sort();
        flags
    }

    /// Removes `addr`/24 from `dev`, if it is there.
    pub fn drop_address(&self, dev: &str, addr: &str) {
        let _ = Command::new("ip")
            .args([
                "-n",
                &self.name,
                "addr",
                "del",
                &format!("{addr}/24"),
                "dev",
                dev,
            ])
            .output();
    }

    /// A command inside the namespace.
    pub fn command(&self, cmd: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, cmd]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// The `keepalived-rs` binary cargo built beside this test.
pub fn keepalived_rs() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target directory");
    let bin = dir.join("keepalived-rs");
    assert!(
        bin.exists(),
        "{} not built: run the tests with `cargo test --workspace`",
        bin.display()
    );
    bin
}

/// Two namespaces joined by a veth pair, `<prefix>1`/`<prefix>2`, addresses
/// 192.168.`net`.1 and .2 on interfaces `<prefix>a1` / `<prefix>a2`.
pub struct Pair {
    pub ns: [Netns; 2],
    pub ifs: [String; 2],
}

impl Pair {
    pub fn new(prefix: &str, net: u8) -> Pair {
        let ns = [
            Netns::new(&format!("{prefix}1")),
            Netns::new(&format!("{prefix}2")),
        ];
        let ifs = [format!("{prefix}a1"), format!("{prefix}a2")];
        // No duplicate address detection: link-local sources and IPv6 VIPs are usable at once.
        for n in &ns {
            n.without_dad();
        }
        run(
            "ip",
            &[
                "link",
                "add",
                &ifs[0],
                "netns",
                &ns[0].name,
                "type",
                "veth",
                "peer",
                "name",
                &ifs[1],
                "netns",
                &ns[1].name,
            ],
        );
        for i in 0..2 {
            ns[i].ip(&[
                "addr",
                "add",
                &format!("192.168.{net}.{}/24", i + 1),
                "dev",
                &ifs[i],
            ]);
            ns[i].ip(&["link", "set", &ifs[i], "up"]);
        }
        Pair { ns, ifs }
    }

    /// Removes `addr` from namespace `i`, as a dead host takes its addresses with it.
    pub fn drop_address(&self, i: usize, addr: &str) {
        self.ns[i].drop_address(&self.ifs[i], addr);
    }

    /// Whether namespace `i` holds `addr` on its interface now.
    pub fn holds(&self, i: usize, addr: &str) -> bool {
        self.ns[i].holds(&self.ifs[i], addr)
    }
}

/// `n` namespaces `<prefix>1..n` on one Ethernet segment: each has interface `<prefix>aI`
/// with 192.168.`net`.I/24, a veth whose peer `<prefix>pI` is a port of the bridge
/// `<prefix>br`, which lives in its own namespace of that name. Indexes are 0-based
/// (index 0 is `<prefix>1`). Everything goes when the namespaces are dropped.
pub struct Lan {
    pub ns: Vec<Netns>,
    pub ifs: Vec<String>,
    pub bridge: Netns,
}

impl Lan {
    pub fn new(prefix: &str, net: u8, n: usize) -> Lan {
        let br = format!("{prefix}br");
        let bridge = Netns::bridge(&br);
        let mut ns = Vec::with_capacity(n);
        let mut ifs = Vec::with_capacity(n);
        for i in 1..=n {
            let host = Netns::new(&format!("{prefix}{i}"));
            // No duplicate address detection, as in `Pair::new`.
            host.without_dad();
            let (inner, port) = (format!("{prefix}a{i}"), format!("{prefix}p{i}"));
            run(
                "ip",
                &[
                    "link",
                    "add",
                    &inner,
                    "netns",
                    &host.name,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &port,
                    "netns",
                    &bridge.name,
                ],
            );
            bridge.ip(&["link", "set", &port, "master", &br]);
            bridge.ip(&["link", "set", &port, "up"]);
            host.ip(&[
                "addr",
                "add",
                &format!("192.168.{net}.{i}/24"),
                "dev",
                &inner,
            ]);
            host.ip(&["link", "set", &inner, "up"]);
            ns.push(host);
            ifs.push(inner);
        }
        Lan { ns, ifs, bridge }
    }

    /// Removes `addr` from namespace `i`, as a dead host takes its addresses with it.
    pub fn drop_address(&self, i: usize, addr: &str) {
        self.ns[i].drop_address(&self.ifs[i], addr);
    }

    /// Whether namespace `i` holds `addr` on its interface now.
    pub fn holds(&self, i: usize, addr: &str) -> bool {
        self.ns[i].holds(&self.ifs[i], addr)
    }

    /// The indexes of the namespaces that hold `addr` now.
    pub fn holders(&self, addr: &str) -> Vec<usize> {
        (0..self.ns.len())
            .filter(|&i| self.holds(i, addr))
            .collect()
    }

    /// The MAC address of namespace `i`'s interface, as `ip` prints it (lower-case hex).
    pub fn mac(&self, i: usize) -> String {
        let out = self.ns[i].ip(&["-br", "link", "show", "dev", &self.ifs[i]]);
        // `NAME@ifN STATE MAC <FLAGS>`
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(2)
            .expect("a MAC in `ip -br link`")
            .to_string()
    }
}

/// A daemon process in a namespace, killed when dropped.
pub struct Daemon {
    pub child: std::process::Child,
    pub log: std::path::PathBuf,
}

impl Daemon {
    /// `cmd` with `args`, in `ns`, output to `log`.
    pub fn start(
        ns: &Netns,
        cmd: &std::path::Path,
        args: &[&str],
        log: std::path::PathBuf,
    ) -> Daemon {
        Daemon::start_with_env(ns, cmd, args, &[], log)
    }

    /// As [`Daemon::start`], with extra environment variables.
    pub fn start_with_env(
        ns: &Netns,
        cmd: &std::path::Path,
        args: &[&str],
        env: &[(&str, &std::path::Path)],
        log: std::path::PathBuf,
    ) -> Daemon {
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        // Its own process group, so `crash` reaches the daemon's children too.
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name])
            .arg(cmd)
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, *v)))
            .process_group(0)
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start daemon");
        Daemon { child, log }
    }

    /// `keepalived-rs` in `ns` as the tests run it: in the foreground, logging to the
    /// console only, with `conf`, its pidfiles `<tag>.p`, `<tag>.r` and `<tag>.c` in `dir`
    /// and its output in `<tag>.log`, plus `extra` arguments.
    pub fn ours(
        ns: &Netns,
        conf: &std::path::Path,
        dir: &std::path::Path,
        tag: &str,
        extra: &[&str],
    ) -> Daemon {
        let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
        let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
        let mut args = vec!["-n", "-l", "-G", "-f", &conf, "-p", &p, "-r", &r, "-c", &c];
        args.extend_from_slice(extra);
        Daemon::start(ns, &keepalived_rs(), &args, dir.join(format!("{tag}.log")))
    }

    /// keepalived 2.2.7 in `ns` as [`Daemon::ours`] runs ours: in the foreground, logging
    /// to the console with detail, pidfiles and output `<tag>.*` in `dir`.
    pub fn keepalived(
        ns: &Netns,
        conf: &std::path::Path,
        dir: &std::path::Path,
        tag: &str,
    ) -> Daemon {
        let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
        let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
        let args = ["-n", "-l", "-D", "-f", &conf, "-p", &p, "-r", &r, "-c", &c];
        let log = dir.join(format!("{tag}.log"));
        Daemon::start(ns, std::path::Path::new("keepalived"), &args, log)
    }

    /// The pid a daemon started by [`Daemon::ours`] wrote to its pidfile `<tag>.<kind>`
    /// (`p` parent, `r` VRRP child, `c` checker child).
    pub fn pid_of(dir: &std::path::Path, tag: &str, kind: &str) -> Option<i32> {
        std::fs::read_to_string(dir.join(format!("{tag}.{kind}")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn signal(&self, sig: i32) {
        // `ip netns exec` execs the daemon, so the child's pid is the daemon's.
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    /// SIGKILL to the daemon and every process of its group (a parent and its VRRP and
    /// checker children), as a host that dies takes them all at once.
    pub fn crash(&self) {
        // SAFETY: signalling the process group our child leads.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
    }

    /// SIGTERM, then waits up to 5 s for a graceful exit (SIGKILL after that).
    pub fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(5) {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.crash();
        let _ = self.child.wait();
    }
}

/// Runs `sh -c script` as the unprivileged user `nobody` (uid and gid 65534, no
/// supplementary groups), through `setpriv`; whether it succeeded.
pub fn as_nobody(script: &str) -> bool {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
            script,
        ])
        .status()
        .is_ok_and(|s| s.success())
}

/// A fresh directory for one test's files: configs, logs, pidfiles, captures.
pub fn tmp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("kars-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("test directory");
    d
}

/// VRRP skew time at priority `p` with advert_int 1 s (RFC 3768 §6.1): (256 − p)/256 s.
pub fn skew(p: u8) -> std::time::Duration {
    std::time::Duration::from_micros((256 - u64::from(p)) * 1_000_000 / 256)
}

/// Master-down interval at priority `p` with advert_int 1 s (RFC 3768 §6.1).
pub fn ms_down(p: u8) -> std::time::Duration {
    std::time::Duration::from_secs(3) + skew(p)
}

/// What the takeover tests allow beyond the protocol's bound.
pub const MARGIN: std::time::Duration = std::time::Duration::from_millis(200);

/// Polls `f` every 20 ms until it holds or `limit` passes; returns how long it took.
pub fn wait_for(
    limit: std::time::Duration,
    mut f: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    None
}

/// Runs `f` on a thread that has entered network namespace `ns`.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("namespace file");
            // SAFETY: setns on this thread only, with a valid namespace descriptor.
            let r =
                unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&file), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns {ns}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("namespace thread")
    })
}

/// tcpdump in a namespace with link-level headers and epoch timestamps (`-e -tt`), one
/// line per frame, written to `<out>.txt`; killed when dropped, failure or not.
pub struct Capture {
    child: std::process::Child,
    out: std::path::PathBuf,
}

impl Capture {
    /// Starts tcpdump on `iface` with `filter` and waits until it is listening.
    pub fn start(ns: &Netns, iface: &str, filter: &str, out: &std::path::Path) -> Capture {
        let (txt, err) = (out.with_extension("txt"), out.with_extension("err"));
        let child = Command::new("ip")
            .args([
                "netns", "exec", &ns.name, "tcpdump", "-l", "-n", "-e", "-tt",
            ])
            .args(["-i", iface, filter])
            .stdout(std::fs::File::create(&txt).expect("capture file"))
            .stderr(std::fs::File::create(&err).expect("capture log"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("start tcpdump");
        let cap = Capture { child, out: txt };
        let listening = || std::fs::read_to_string(&err).is_ok_and(|t| t.contains("listening on"));
        assert!(
            wait_for(std::time::Duration::from_secs(5), listening).is_some(),
            "tcpdump did not start: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        cap
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Gratuitous ARPs for `vip` captured at or after `since` (epoch seconds), as (time,
    /// source MAC). A line reads `TIME SRC > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806),
    /// length N: Request who-has VIP tell VIP, length 28`.
    pub fn garps(&self, vip: &str, since: f64) -> Vec<(f64, String)> {
        self.text()
            .lines()
            .filter(|l| {
                l.contains(&format!("who-has {vip} ")) && l.contains(&format!("tell {vip},"))
            })
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                let t: f64 = w.next()?.parse().ok()?;
                let mac = w.next()?.to_string();
                (t >= since).then_some((t, mac))
            })
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this kernel has IPVS (after trying to load it).
pub fn host_has_ipvs() -> bool {
    let _ = std::process::Command::new("modprobe").arg("ip_vs").output();
    std::path::Path::new("/proc/net/ip_vs").exists()
}

/// The newest Debian kernel image in /boot.
pub fn debian_kernel() -> Option<std::path::PathBuf> {
    let mut found: Vec<std::path::PathBuf> = std::fs::read_dir("/boot")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("vmlinuz-"))
        })
        .collect();
    found.sort();
    found.pop()
}

/// Runs test `test` of the running test binary again inside a VM booted on `kernel`
/// with virtme-ng (no KVM, 1 GiB, 2 CPUs; the guest sees the host's files), with the
/// environment variable `env` set to 1 and `append` on the kernel command line, and
/// returns its output, stdout then stderr.
pub fn run_in_vm(kernel: &std::path::Path, env: &str, test: &str, append: &str) -> String {
    let exe = std::env::current_exe().expect("test binary");
    let inner = format!(
        "env {env}=1 RUST_BACKTRACE=1 {} --exact {test} --nocapture --test-threads=1",
        exe.display()
    );
    let mut cmd = Command::new("vng");
    cmd.args(["--run", &kernel.display().to_string()]).args([
        "--disable-kvm",
        "--memory",
        "1G",
        "--cpus",
        "2",
    ]);
    if !append.is_empty() {
        cmd.args(["--append", append]);
    }
    let out = cmd
        .args(["--exec", &inner])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("start vng");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// VRRP adverts for `vrid` in a [`Capture`]'s text, as (time, priority). tcpdump prints
/// one as `TIME SRC > DST, ethertype IPv4 (0x0800), length N: A > B: VRRPv2,
/// Advertisement, vrid V, prio P, …`.
pub fn adverts(text: &str, vrid: u8) -> Vec<(f64, u8)> {
    text.lines()
        .filter(|l| l.contains(&format!("vrid {vrid},")))
        .filter_map(|l| {
            let t: f64 = l.split_whitespace().next()?.parse().ok()?;
            let prio = l
                .split("prio ")
                .nth(1)?
                .split(',')
                .next()?
                .trim()
                .parse()
                .ok()?;
            Some((t, prio))
        })
        .collect()
}

/// The longest time between two consecutive adverts of `ads` from `since` on (epoch
/// seconds), and when it began.
pub fn longest_gap(ads: &[(f64, u8)], since: f64) -> (f64, f64) {
    let times: Vec<f64> = ads
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| *t >= since)
        .collect();
    times
        .windows(2)
        .map(|w| (w[1] - w[0], w[0]))
        .fold((0.0, since), |a, b| if b.0 > a.0 { b } else { a })
}

/// A write lease on a file: a process that opens it blocks until the lease is released
/// (or `/proc/sys/fs/lease-break-time`, 45 s by default, passes), as on a file system that
/// is slow to answer. Released when dropped.
pub struct SlowOpen {
    file: std::fs::File,
}

impl SlowOpen {
    /// Takes the lease on `path`, which no process may hold open meanwhile.
    pub fn hold(path: &std::path::Path) -> SlowOpen {
        // The kernel tells the holder that someone waits with SIGIO, whose default action
        // would end the test.
        // SAFETY: ignoring a signal nothing in the tests handles.
        unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
        let file = std::fs::File::open(path).expect("file to lease");
        // SAFETY: fcntl on a descriptor we own.
        let r = unsafe {
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&file),
                libc::F_SETLEASE,
                libc::F_WRLCK,
            )
        };
        assert_eq!(
            r,
            0,
            "lease on {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
        SlowOpen { file }
    }

    /// Whether another process is waiting to open the file now.
    pub fn waited_on(&self) -> bool {
        // SAFETY: fcntl on a descriptor we own. While an open waits, the lease reads as
        // what it is being broken to.
        let lease = unsafe {
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&self.file),
                libc::F_GETLEASE,
            )
        };
        lease != libc::F_WRLCK
    }
}

impl Drop for SlowOpen {
    fn drop(&mut self) {
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            libc::fcntl(
                std::os::fd::AsRawFd::as_raw_fd(&self.file),
                libc::F_SETLEASE,
                libc::F_UNLCK,
            )
        };
    }
}
