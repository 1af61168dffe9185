//! keepalived 2.2.7's command line, run against the binary: every option it takes is
//! taken (an existing `DAEMON_ARGS` line never stops the daemon), what it refuses is
//! refused with its exit code, and the options that act do what they say: `-u`, `-s`,
//! `-M` under `-t`; and, in a network namespace of its own, a running daemon's umask,
//! core limit and pattern, namespace, `--all` and `-a`.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// The tests that may write the host's core pattern take turns.
static CORE_PATTERN_LOCK: Mutex<()> = Mutex::new(());

/// A directory of this test's own, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(tag: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("kars-cli-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A small valid configuration: one VRRP instance on an interface every host has
    /// (only its existence is checked), and a `net_namespace` for `-s` to override.
    fn config(&self) -> PathBuf {
        let conf = self.path("keepalived.conf");
        std::fs::write(
            &conf,
            format!(
                "net_namespace kars-from-config\n\
                 global_defs {{\n router_id kars_cli\n}}\n\
                 vrrp_instance VI_1 {{\n interface {}\n virtual_router_id 51\n \
                 priority 100\n virtual_ipaddress {{\n  192.0.2.200/32\n }}\n}}\n",
                some_interface()
            ),
        )
        .unwrap();
        conf
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An interface of this host other than the loopback, on which VRRP cannot run.
fn some_interface() -> String {
    std::fs::read_dir("/sys/class/net")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|n| n != "lo")
        .unwrap_or_else(|| "eth0".into())
}

/// `keepalived-rs -t -f CONF ARGS...`: the exit code and what it printed on stderr.
fn config_test(conf: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("-t")
        .arg("-f")
        .arg(conf)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The host's core pattern, put back when this drops whatever the test did.
struct SavedCorePattern(Vec<u8>);

impl SavedCorePattern {
    /// None (with a message) unless this run may write the host's core pattern.
    fn take() -> Option<SavedCorePattern> {
        if !root() {
            eprintln!("skipping the core pattern checks: not root");
            return None;
        }
        let saved = std::fs::read(CORE_PATTERN).ok()?;
        if std::fs::write(CORE_PATTERN, &saved).is_err() {
            eprintln!("skipping the core pattern checks: {CORE_PATTERN} is not writable");
            return None;
        }
        Some(SavedCorePattern(saved))
    }

    /// The pattern now, and the saved one, as text.
    fn now() -> String {
        String::from_utf8_lossy(&std::fs::read(CORE_PATTERN).unwrap()).into_owned()
    }

    fn saved(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl Drop for SavedCorePattern {
    fn drop(&mut self) {
        let _ = std::fs::write(CORE_PATTERN, &self.0);
    }
}

/// Every option of keepalived 2.2.7's `parse_cmdline()` (every build's, `--help` shows
/// only some), each as a `DAEMON_ARGS` line might have it, and then all at once: `-t`
/// exits 0 with each. The options that do nothing here say so.
#[test]
fn every_keepalived_option_is_accepted() {
    let _lock = CORE_PATTERN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    // -M writes the host's pattern when it may: put it back whatever happens.
    let before = std::fs::read(CORE_PATTERN).ok();
    let _restore = before.clone().map(SavedCorePattern);
    let dir = Dir::new("all");
    let conf = dir.config();
    let each: &[&[&str]] = &[
        &["-P"],
        &["--vrrp"],
        &["-C"],
        &["--check"],
        &["-B"],
        &["--no_bfd"],
        &["--all"],
        &["-l"],
        &["--log-console"],
        &["-D"],
        &["-D", "-D"],
        &["--log-detail"],
        &["-S", "3"],
        &["-Slocal5"],
        &["--log-facility=daemon"],
        &["--log-facility", "user"],
        &["-g"],
        &["-g/tmp/kars-cli.log"],
        &["--log-file=/tmp/kars-cli.log"],
        &["--flush-log-file"],
        &["-G"],
        &["--no-syslog"],
        &["-u", "022"],
        &["--umask=0x12"],
        &["-X"],
        &["--release-vips"],
        &["-V"],
        &["--dont-release-vrrp"],
        &["-I"],
        &["--dont-release-ipvs"],
        &["-R"],
        &["--dont-respawn"],
        &["-n"],
        &["--dont-fork"],
        &["-d"],
        &["--dump-conf"],
        &["-p", "/run/kars-cli.pid"],
        &["--pid=/run/kars-cli.pid"],
        &["-r", "/run/kars-cli-vrrp.pid"],
        &["--vrrp_pid=/run/kars-cli-vrrp.pid"],
        &["-c", "/run/kars-cli-check.pid"],
        &["--checkers_pid=/run/kars-cli-check.pid"],
        &["-a"],
        &["--address-monitoring"],
        &["-b", "/run/kars-cli-bfd.pid"],
        &["--bfd_pid=/run/kars-cli-bfd.pid"],
        &["-x"],
        &["--snmp"],
        &["-A", "/run/agentx/master"],
        &["--snmp-agent-socket=/run/agentx/master"],
        &["-s", "blue"],
        &["--namespace=blue"],
        &["-m"],
        &["--core-dump"],
        &["-M"],
        &["-M/tmp/kars-cli-core.%p"],
        &["--core-dump-pattern"],
        &["--core-dump-pattern=/tmp/kars-cli-core.%p"],
        &["--no-mem-check"],
        &["-L"],
        &["--mem-check-log"],
        &["-e"],
        &["--all-config"],
        &["-i", "kars"],
        &["--config-id=kars"],
        &["--config-test"],
        &["--config-fd=9"],
        &["--config-fd", "9"],
        &["--perf"],
        &["--perf=all"],
        &["--debug"],
        &["--debug=TpMEvcp"],
        &["--ignore-sigint"],
        // Abbreviated, as getopt_long() allows.
        &["--dont-f", "--log-con", "--names=blue"],
    ];
    for args in each {
        let (code, text) = config_test(&conf, args);
        assert_eq!(code, 0, "-t {args:?}: {text}");
        assert!(text.contains("configuration OK"), "-t {args:?}: {text}");
        assert!(!text.contains("unexpected argument"), "-t {args:?}: {text}");
    }
    // A DAEMON_ARGS line with all of them.
    let all: Vec<&str> = each.iter().flat_map(|a| a.iter().copied()).collect();
    let (code, text) = config_test(&conf, &all);
    assert_eq!(code, 0, "{text}");
    // Those that cannot act here name themselves.
    for named in [
        "-L/--mem-check-log ignored",
        "--no-mem-check ignored",
        "--perf ignored",
        "--debug ignored",
        "--config-fd ignored",
    ] {
        assert!(text.contains(named), "'{named}' missing: {text}");
    }
    // The commands that stop at once: exit 0 too.
    for args in [
        &["-v"][..],
        &["--version"],
        &["-h"],
        &["--help"],
        &["--signum=RELOAD"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    }
    // -v on stderr, as keepalived's, naming the keepalived release it stands in for.
    let v = Command::new(BIN).arg("-v").output().unwrap();
    let first = String::from_utf8_lossy(&v.stderr)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    assert!(
        first.starts_with("keepalived-rs v") && first.ends_with("Keepalived v2.2.7 (01/16,2022)"),
        "-v: {first}"
    );
    if let Some(before) = before {
        assert_eq!(
            SavedCorePattern::now(),
            String::from_utf8_lossy(&before),
            "-M left the core pattern changed"
        );
    }
}

/// What keepalived refuses, keepalived-rs refuses, with keepalived's exit code 1: an
/// unknown option, a missing or empty argument, an ambiguous abbreviation.
#[test]
fn what_keepalived_refuses_is_refused_with_exit_1() {
    let dir = Dir::new("refused");
    let conf = dir.config();
    for (args, said) in [
        (&["--bogus"][..], "unknown option --bogus"),
        (&["-q"], "unknown option -q"),
        (&["--use-file="], "missing parameter for option --use-file"),
        (&["-i"], "missing parameter for option -i"),
        (&["--log-f"], "ambiguous option --log-f"),
        (&["--vrrp=1"], "takes no argument"),
    ] {
        let (code, text) = config_test(&conf, args);
        assert_eq!(code, 1, "{args:?}: {text}");
        assert!(text.contains(said), "{args:?}: {text}");
    }
    // Not an option: keepalived says so and goes on.
    let (code, text) = config_test(&conf, &["stray"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("unexpected argument(s) ignored: stray"),
        "{text}"
    );
}

/// `-u`: the umask the process creates files with. `-t LOG` creates LOG as 0640 less
/// the umask, so the mask shows in its mode; the test's own umask (inherited otherwise)
/// is set apart from the ones asked for.
#[test]
fn dash_u_sets_the_umask() {
    let dir = Dir::new("umask");
    let conf = dir.config();
    for (mask, mode) in [
        ("077", 0o600),
        ("0x3f", 0o600),
        ("63", 0o600),
        ("0", 0o640),
        ("027", 0o640),
    ] {
        let log = dir.path(&format!("t-{mask}.log"));
        let (code, text) = config_test(
            &conf,
            &["-u", mask, &format!("--config-test={}", log.display())],
        );
        assert_eq!(code, 0, "-u {mask}: {text}");
        let got = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "-u {mask}: {got:o}");
    }
    // A mask keepalived would not take either: said, and the inherited one kept.
    let log = dir.path("t-bad.log");
    let (code, text) = config_test(
        &conf,
        &["-u", "0999", &format!("--config-test={}", log.display())],
    );
    assert_eq!(code, 0, "{text}");
    let report = std::fs::read_to_string(&log).unwrap();
    assert!(report.contains("-u: invalid umask '0999'"), "{report}");
}

/// keepalived 2.2.7 at `path`, if installed: what `keepalived -t` exits with there.
fn keepalived_t(conf: &Path, args: &[&str]) -> Option<i32> {
    let k = Path::new("/usr/sbin/keepalived");
    if !k.exists() {
        return None;
    }
    let out = Command::new(k)
        .arg("-t")
        .arg("-f")
        .arg(conf)
        .args(args)
        .output()
        .ok()?;
    out.status.code()
}

/// `-e` is `include_check` with every check from the first line: an include that
/// matches nothing is then an error, and `-t` exits 6 as keepalived's
/// `had_config_file_error()` makes it; `include_check` and the `includer`… variants do
/// the same per include. Each case is run by keepalived 2.2.7 too where it is installed.
#[test]
fn all_config_and_include_check_make_include_problems_errors() {
    let dir = Dir::new("include");
    std::fs::create_dir_all(dir.path("empty")).unwrap();
    std::fs::write(dir.path("a.conf"), "global_defs {\n router_id a\n}\n").unwrap();
    let missing = dir.path("missing.conf").display().to_string();
    let empty = format!("{}/*.conf", dir.path("empty").display());
    let brace = format!("{}/{{a,missing}}.conf", dir.0.display());
    let cases: [(&str, String, &[&str], i32); 10] = [
        ("", format!("include {missing}"), &[], 0),
        ("", format!("include {missing}"), &["-e"], 6),
        ("", format!("include {empty}"), &[], 0),
        ("", format!("include {empty}"), &["--all-config"], 6),
        ("", format!("includem {missing}"), &[], 6),
        ("", format!("includeb {brace}"), &[], 6),
        ("", format!("includer {brace}"), &[], 0),
        ("include_check match", format!("include {missing}"), &[], 6),
        (
            "include_check +wildcard_match",
            format!("include {empty}"),
            &[],
            6,
        ),
        (
            "include_check -match -brace_match",
            format!("include {missing}"),
            &["-e"],
            0,
        ),
    ];
    for (i, (check, include, args, want)) in cases.iter().enumerate() {
        let conf = dir.path(&format!("k{i}.conf"));
        std::fs::write(&conf, format!("global_defs {{\n {check}\n}}\n{include}\n")).unwrap();
        let (code, text) = config_test(&conf, args);
        assert_eq!(code, *want, "[{check}] {include} {args:?}: {text}");
        if let Some(theirs) = keepalived_t(&conf, args) {
            assert_eq!(theirs, *want, "keepalived: [{check}] {include} {args:?}");
        }
    }
    // The words keepalived refuses: an error each (exit 5), the others still taken.
    let conf = dir.path("bad.conf");
    std::fs::write(&conf, "global_defs {\n include_check read bogus\n}\n").unwrap();
    let (code, text) = config_test(&conf, &[]);
    assert_eq!(code, 5, "{text}");
    assert!(
        text.contains("Duplicate include_check 'bogus' specified - ignoring"),
        "{text}"
    );
    if let Some(theirs) = keepalived_t(&conf, &[]) {
        assert_eq!(theirs, 5);
    }
    // The daemon does not start on a configuration with a failed check.
    let conf = dir.path("start.conf");
    std::fs::write(&conf, format!("include {missing}\n")).unwrap();
    let out = Command::new(BIN)
        .args(["-n", "-l", "-G", "-e", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.path("start.pid"))
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("not starting") && said.contains("Config files missing"),
        "{said}"
    );
    assert!(!dir.path("start.pid").exists());
}

/// `${_RANDOM}`: different from one read to the next (keepalived seeds it with the
/// time), but the same each time after `random_seed N` (what keepalived's manual says
/// it is for; keepalived 2.2.7 seeds before the line is read and so never uses it).
#[test]
fn random_seed_makes_random_repeatable() {
    let dir = Dir::new("random");
    let said = |conf: &Path| {
        let (_, text) = config_test(conf, &[]);
        text.lines()
            .filter(|l| l.contains("Unknown keyword") || l.contains("unknown"))
            .filter_map(|l| l.split("r_").nth(1))
            .map(|w| {
                w.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    let seeded = dir.path("seeded.conf");
    std::fs::write(
        &seeded,
        "global_defs {\n random_seed 42\n r_${_RANDOM}\n r_${_RANDOM}\n r_${_RANDOM}\n}\n",
    )
    .unwrap();
    let first = said(&seeded);
    assert_eq!(first.len(), 3, "{first:?}");
    let plain = dir.path("plain.conf");
    std::fs::write(
        &plain,
        "global_defs {\n r_${_RANDOM}\n r_${_RANDOM}\n r_${_RANDOM}\n}\n",
    )
    .unwrap();
    let before = said(&plain);
    // The time seed changes each second.
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(said(&seeded), first);
    let after = said(&plain);
    assert_eq!(after.len(), 3, "{after:?}");
    assert_ne!(before, after, "${{_RANDOM}} repeated without random_seed");
}

/// `-s NAME` wins over the configuration's `net_namespace`, and says so.
#[test]
fn dash_s_overrides_the_configured_namespace() {
    let dir = Dir::new("ns");
    let conf = dir.config();
    let json = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["-t", "--json", "-f"])
            .arg(&conf)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["root"]["net_namespace"].as_str().map(str::to_string),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(json(&[]).0.as_deref(), Some("kars-from-config"));
    let (ns, text) = json(&["-s", "blue"]);
    assert_eq!(ns.as_deref(), Some("blue"));
    assert!(
        text.contains(
            "Overriding config net_namespace 'kars-from-config' with command line namespace 'blue'"
        ),
        "{text}"
    );
}

/// `-t -M PATN` sets the host's core pattern (its report says so) and, unlike
/// keepalived 2.2.7, puts the old one back before it exits.
#[test]
fn t_with_dash_m_puts_the_core_pattern_back() {
    let _lock = CORE_PATTERN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(saved) = SavedCorePattern::take() else {
        return;
    };
    let dir = Dir::new("core");
    let conf = dir.config();
    let pattern = format!("/tmp/kars-cli-core-{}.%p", std::process::id());
    let (code, text) = config_test(&conf, &[&format!("--core-dump-pattern={pattern}")]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("core_pattern set to '{pattern}'")),
        "{text}"
    );
    assert!(text.contains("core_pattern put back to"), "{text}");
    assert_eq!(
        SavedCorePattern::now(),
        saved.saved(),
        "the core pattern was left changed"
    );
    // -M alone sets keepalived's default, "core".
    let (code, text) = config_test(&conf, &["-M"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("core_pattern set to 'core'"), "{text}");
    assert_eq!(SavedCorePattern::now(), saved.saved());
}

/// A network namespace for the daemon test, deleted at the end.
struct Netns(String);

impl Netns {
    fn new() -> Option<Netns> {
        let name = format!("kars-cli-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipping: cannot create network namespace {name}");
            return None;
        }
        Some(Netns(name))
    }

    fn ip(&self, args: &[&str]) {
        let ok = Command::new("ip")
            .args(["netns", "exec", &self.0, "ip"])
            .args(args)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip {args:?} in {}", self.0);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// The daemon's stderr, line by line, and a wait for a line that says something.
struct Lines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    /// Waits (at most `within`: only so that a daemon which never says it cannot hang
    /// the test) for a line containing `text`.
    fn wait_for(&mut self, text: &str, within: Duration) -> bool {
        if self.seen.iter().any(|l| l.contains(text)) {
            return true;
        }
        let end = Instant::now() + within;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(text);
                    self.seen.push(line);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }
}

fn wait_until(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// The running daemon, in a namespace of its own, with the options that act on a
/// running process: `-u` is its umask, `-m` its core limit, `-M` the host's pattern while
/// it runs (the old one back once it stops), `-s` the namespace it runs in (the
/// configuration's does not exist), `--all` a checker without virtual servers, `-a` a
/// line for each address added or removed; and the options that do nothing here do not
/// stop it.
#[test]
fn a_running_daemon_acts_on_its_options() {
    let _lock = CORE_PATTERN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if !root() {
        eprintln!("skipping: the daemon needs root");
        return;
    }
    let Some(saved) = SavedCorePattern::take() else {
        return;
    };
    let Some(ns) = Netns::new() else {
        return;
    };
    let dir = Dir::new("daemon");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.path("keepalived.conf");
    std::fs::write(
        &conf,
        "net_namespace kars-cli-no-such-namespace\nglobal_defs {\n router_id kars_cli\n}\n",
    )
    .unwrap();
    let pattern = format!("/tmp/kars-cli-daemon-{}.%p", std::process::id());
    let checker_pid = dir.path("checkers.pid");
    let bfd_pid = dir.path("bfd.pid");
    let mut child = Command::new(BIN)
        .args(["-n", "-l", "-G", "-f"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.path("keepalived.pid"))
        .arg("-r")
        .arg(dir.path("vrrp.pid"))
        .arg("-c")
        .arg(&checker_pid)
        .arg("-b")
        .arg(&bfd_pid)
        .args(["-s", &ns.0, "--all", "-a", "-u", "027", "-m"])
        .arg(format!("-M{pattern}"))
        .args([
            "-B",
            "-x",
            "-e",
            "--perf",
            "--ignore-sigint",
            "--config-fd=3",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Lines {
        rx,
        seen: Vec::new(),
    };
    let stop = |child: &mut std::process::Child| {
        // SAFETY: kill on the pid of a child we started and have not reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap()
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // --all: the checker runs though there is no virtual server.
        assert!(
            wait_until(Duration::from_secs(30), || checker_pid.exists()),
            "no checker child: {:?}",
            lines.seen
        );
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        assert!(status.contains("Umask:\t0027"), "{status}");
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap();
        assert!(
            core.split_whitespace()
                .filter(|w| *w == "unlimited")
                .count()
                == 2,
            "{core}"
        );
        assert_eq!(SavedCorePattern::now(), format!("{pattern}\n"));
        // -s: the daemon runs in the namespace named on the command line.
        let theirs = std::fs::metadata(format!("/proc/{pid}/ns/net")).unwrap();
        let named = std::fs::metadata(format!("/run/netns/{}", ns.0)).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!((theirs.dev(), theirs.ino()), (named.dev(), named.ino()));
        // -a: an address added and removed in that namespace.
        ns.ip(&["link", "set", "lo", "up"]);
        ns.ip(&["addr", "add", "192.0.2.77/32", "dev", "lo"]);
        assert!(
            lines.wait_for(
                "Netlink reflector reports IP 192.0.2.77 added to lo",
                Duration::from_secs(30)
            ),
            "{:?}",
            lines.seen
        );
        ns.ip(&["addr", "del", "192.0.2.77/32", "dev", "lo"]);
        assert!(
            lines.wait_for(
                "Netlink reflector reports IP 192.0.2.77 removed from lo",
                Duration::from_secs(30)
            ),
            "{:?}",
            lines.seen
        );
        // -B after --all: every child but the BFD one (keepalived's DAEMON_BFD bit).
        assert!(
            !bfd_pid.exists(),
            "a BFD child ran with -B: {:?}",
            lines.seen
        );
        assert!(
            !lines
                .seen
                .iter()
                .any(|l| l.contains("Starting the BFD child")),
            "{:?}",
            lines.seen
        );
    }));
    let status = stop(&mut child);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert!(status.success(), "{status:?}: {:?}", lines.seen);
    // Stopped: the host's pattern is the one it had.
    assert_eq!(
        SavedCorePattern::now(),
        saved.saved(),
        "the core pattern was not put back"
    );
}
