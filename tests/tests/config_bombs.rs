//! Issue 20: each configuration expansion bomb makes `keepalived-rs -t` exit 5 within 2 s
//! and under 64 MiB of peak RSS, as the issue demands of the daemon; and a 50 MB line is
//! quoted as an excerpt, not echoed whole. Each bomb is written to a temporary directory
//! and run under an address-space limit, so a regression fails the test rather than the
//! machine. The time bound is the 2 s for a release build (`cargo build --release
//! -p keepalived-linux && cargo test --release -p keepalived-tests --test config_bombs`);
//! unoptimised code is up to forty times slower, and a debug build is given 60 s.

use keepalived_tests::host::keepalived_rs;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MAX_RSS_KIB: i64 = 64 * 1024;
const TIME_BOUND: Duration = if cfg!(debug_assertions) {
    Duration::from_secs(60)
} else {
    Duration::from_secs(2)
};
/// Far past either bound: a run still going then is killed.
const HARD_STOP: Duration = Duration::from_secs(120);
/// The address space a run may map: a runaway allocation fails at once instead of
/// swapping (the binary and its libraries map far less than this).
const ADDRESS_SPACE: libc::rlim_t = 1 << 30;

struct Run {
    code: Option<i32>,
    wall: Duration,
    max_rss_kib: i64,
    stderr: String,
}

/// A directory of its own under the system temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("config-bombs-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `keepalived-rs TEST -f conf`, TEST being `-t` or `--config-test=LOG`: its exit code,
/// wall time and peak RSS (from wait4's rusage).
fn config_test(conf: &Path, test: &str) -> Run {
    let mut cmd = Command::new(keepalived_rs());
    cmd.arg(test)
        .arg("-f")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    // Reaped by wait4 below, for its rusage; std's wait() would not return that.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.spawn().expect("keepalived-rs runs");
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = pipe.read_to_end(&mut s);
        s
    });
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, filled in by wait4.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let wall = loop {
        // SAFETY: waits for our own child, which std has not reaped (no wait() called).
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break start.elapsed();
        }
        assert_eq!(r, 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > HARD_STOP {
            let _ = child.kill();
            // SAFETY: as above, once the kill has landed.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            break start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    Run {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        wall,
        max_rss_kib: usage.ru_maxrss,
        stderr,
    }
}

/// Runs `-t` on the bomb and checks the bounds, and that the one error that
/// stopped the load names `construct`.
fn defused(conf: &Path, construct: &str) -> Run {
    let run = config_test(conf, "-t");
    let tail: String = run
        .stderr
        .lines()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!(
        "{}: exit {:?} in {:?}, peak RSS {} KiB\n{tail}",
        conf.display(),
        run.code,
        run.wall,
        run.max_rss_kib
    );
    assert_eq!(run.code, Some(5), "{tail}");
    assert!(run.wall < TIME_BOUND, "took {:?}", run.wall);
    assert!(
        run.max_rss_kib < MAX_RSS_KIB,
        "peak RSS {} KiB",
        run.max_rss_kib
    );
    let stop = run
        .stderr
        .lines()
        .find(|l| l.contains("reading stops here"))
        .unwrap_or_else(|| panic!("no stop in:\n{tail}"));
    assert!(stop.contains(construct), "{stop}");
    run
}

#[test]
fn twelve_nested_sequences() {
    let dir = TempDir::new("seq");
    let mut text = String::new();
    for v in "abcdefghijkl".chars() {
        let _ = write!(text, "~SEQ({v},1,1000) ");
    }
    text.push_str("bomb_line $a $l\n");
    let run = defused(&dir.write("seq.conf", &text), ": error: '~SEQ'");
    assert!(run.stderr.contains("lines produced by expansion"));
}

#[test]
fn a_sequence_past_the_ends_of_i64() {
    let dir = TempDir::new("overflow");
    let conf = dir.write("overflow.conf", "~SEQ(i,1,-9223372036854775807) x $i\n");
    let run = defused(
        &conf,
        "overflow.conf:1:1: error: '~SEQ' of 9223372036854775809 values",
    );
    assert!(run.stderr.contains("lines produced by expansion"));
}

#[test]
fn definitions_each_the_previous_a_hundred_times() {
    let dir = TempDir::new("defs");
    // Expanding to nothing: all work, no text.
    let mut text = String::from("$D0=\n");
    for i in 1..=30 {
        let _ = write!(text, "$D{i}=");
        for _ in 0..100 {
            let _ = write!(text, "${{D{}}}", i - 1);
        }
        text.push('\n');
    }
    text.push_str("global_defs {\n  router_id ${D30}\n}\n");
    defused(
        &dir.write("empty.conf", &text),
        "empty.conf:33:13: error: '${D30}'",
    );
    // Expanding to text: every line too long, until the work runs out.
    let mut text = String::from("$E0=x\n");
    for i in 1..=30 {
        let _ = write!(text, "$E{i}=");
        for _ in 0..100 {
            let _ = write!(text, "$E{} ", i - 1);
        }
        text.push('\n');
    }
    for _ in 0..10_000 {
        text.push_str("router_id $E30\n");
    }
    defused(&dir.write("text.conf", &text), ": error: '$E30'");
}

#[test]
fn an_include_of_thirty_brace_lists() {
    let dir = TempDir::new("braces");
    let conf = dir.write(
        "braces.conf",
        &format!("include {}\n", "/x{a,b}".repeat(30)),
    );
    let run = defused(&conf, "braces.conf:1:9: error: 'include /x{a,b}/x{a,b}");
    assert!(run.stderr.contains("the limit of 20000 included files"));
}

#[test]
fn forty_files_each_including_the_next_twice() {
    let dir = TempDir::new("chain");
    for i in 0..40 {
        dir.write(
            &format!("f{i}.conf"),
            &format!("include f{0}.conf\ninclude f{0}.conf\n", i + 1),
        );
    }
    dir.write("f40.conf", "global_defs {\n  router_id chain\n}\n");
    let run = defused(&dir.0.join("f0.conf"), ": error: 'include f");
    assert!(run.stderr.contains("the limit of 20000 included files"));
}

/// A 50 MB line is not read whole (lines stop at 1 MiB), and nothing of it is echoed
/// beyond an excerpt.
#[test]
fn a_fifty_megabyte_line_is_quoted_as_an_excerpt() {
    let dir = TempDir::new("long");
    // Written a MiB at a time: a test process holding 100 MB would be counted in the peak
    // RSS of every daemon the other tests fork meanwhile (a fork's RSS before exec is
    // its parent's, and wait4 reports the highest).
    let conf = dir.0.join("long.conf");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&conf).unwrap());
        let mib = "w".repeat(1 << 20);
        let word = |f: &mut std::io::BufWriter<std::fs::File>| {
            for _ in 0..50 {
                f.write_all(mib.as_bytes()).unwrap();
            }
        };
        f.write_all(b"global_defs {\n  router_id ").unwrap();
        word(&mut f);
        f.write_all(b"\n}\n").unwrap();
        word(&mut f);
        f.write_all(b"\n").unwrap();
    }
    let log = dir.0.join("report.log");
    for test in ["-t".to_string(), format!("--config-test={}", log.display())] {
        let run = config_test(&conf, &test);
        assert_eq!(run.code, Some(5), "{:.4000}", run.stderr);
        let report = if test == "-t" {
            run.stderr
        } else {
            std::fs::read_to_string(&log).unwrap()
        };
        assert!(
            report.contains("long.conf:2:1: error: this line is longer than 1 MiB"),
            "{report:.2000}"
        );
        assert!(
            report.len() < 16 << 10,
            "{} bytes of report: {:.2000}",
            report.len(),
            report
        );
    }
}
