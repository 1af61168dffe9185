//! Where the signal dumps go, on a real host next to keepalived 2.2.7: the state dump
//! (SIGUSR1), the statistics (SIGUSR2) and the JSON (SIGRTMIN+2) under $TMPDIR, with the
//! namespace and instance names `data_use_instance` puts in the state dump's name; and
//! `state_dump_file`, `stats_dump_file` and `json_dump_file`, which keepalived 2.2.7 does
//! not know, on keepalived-rs alone, with the checker's state dump.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keepalived_tests::host::{can_run, have, keepalived_rs, tmp_dir, wait_for, Daemon, Netns};

/// Whether the test can run; in CI it must.
fn runs(test: &str, cmds: &[&str]) -> bool {
    let ok = can_run(test, cmds);
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "{test} must run in CI"
    );
    ok
}

/// A namespace with a veth pair `d0`/`d1` up, `d0` holding 10.92.0.1/24.
fn netns(name: &str) -> Netns {
    let ns = Netns::new(name);
    ns.ip(&["link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
    ns.ip(&["link", "set", "d0", "up"]);
    ns.ip(&["link", "set", "d1", "up"]);
    ns.ip(&["addr", "add", "10.92.0.1/24", "dev", "d0"]);
    ns
}

/// `root` lines at the top, `global` lines in global_defs, one backup instance on `d0`,
/// and `tail` after it.
fn config(path: &Path, root: &str, global: &str, tail: &str) {
    std::fs::write(
        path,
        format!(
            "{root}\nglobal_defs {{\n  router_id kdf9\n{global}\n}}\n\
             vrrp_instance V {{\n  interface d0\n  state BACKUP\n  virtual_router_id 92\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    10.92.0.100/24\n  }}\n}}\n\
             {tail}\n"
        ),
    )
    .unwrap();
}

/// A daemon as these tests run it: `<tag>.conf`, pidfiles and log in `dir`, $TMPDIR a
/// fresh `<tag>.tmp` there, and `<tag>.out` a fresh directory for dumps placed by name.
struct Run {
    dir: PathBuf,
    tag: String,
    daemon: Daemon,
}

impl Run {
    /// `bin` in `ns` with the configuration `(root, global, tail)` and `extra` arguments,
    /// once its parent's and VRRP child's pidfiles are there.
    fn start(
        ns: &Netns,
        bin: &Path,
        dir: &Path,
        tag: &str,
        conf: (&str, &str, &str),
        extra: &[&str],
    ) -> Run {
        let tmp = dir.join(format!("{tag}.tmp"));
        for d in [&tmp, &dir.join(format!("{tag}.out"))] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d).unwrap();
        }
        let path = dir.join(format!("{tag}.conf"));
        config(&path, conf.0, conf.1, conf.2);
        let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
        let mut args = vec!["-n", "-l", "-f"];
        let (path, p, r, c) = (path.display().to_string(), file("p"), file("r"), file("c"));
        args.extend_from_slice(&[&path, "-p", &p, "-r", &r, "-c", &c]);
        args.extend_from_slice(extra);
        let daemon = Daemon::start_with_env(
            ns,
            bin,
            &args,
            &[("TMPDIR", &tmp)],
            dir.join(format!("{tag}.log")),
        );
        let up = wait_for(Duration::from_secs(20), || {
            Daemon::pid_of(dir, tag, "p").is_some() && Daemon::pid_of(dir, tag, "r").is_some()
        });
        assert!(up.is_some(), "{tag}: no pidfiles\n{}", daemon.log_text());
        Run {
            dir: dir.to_path_buf(),
            tag: tag.to_string(),
            daemon,
        }
    }

    fn parent(&self) -> i32 {
        Daemon::pid_of(&self.dir, &self.tag, "p").expect("parent's pidfile")
    }

    /// The dump signals to the parent until every file of `want` (relative to the test's
    /// directory) is there, or 20 s pass. Returns the files then in $TMPDIR and in
    /// `<tag>.out`, less the parent's dump (`keepalived_parent.data`, whose contents
    /// daemon_dump_parity compares).
    fn dumps(&self, want: &BTreeSet<String>) -> BTreeSet<String> {
        // The children may still be setting up, or reloading, when the signals first
        // go: each round clears the dumps and signals again, every 2 s, until the
        // dumps are all there.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            self.files(true);
            for sig in signals() {
                // SAFETY: a signal to the daemon's parent, which passes it to its children.
                unsafe { libc::kill(self.parent(), sig) };
            }
            if wait_for(Duration::from_secs(2), || {
                want.iter().all(|f| self.dir.join(f).exists())
            })
            .is_some()
            {
                break;
            }
        }
        // Time for a file that should not be there to appear.
        std::thread::sleep(Duration::from_millis(500));
        self.files(false)
    }

    /// The files in $TMPDIR and in `<tag>.out`, relative to the test's directory, less
    /// keepalived's parent dump; removed if `clear`.
    fn files(&self, clear: bool) -> BTreeSet<String> {
        let mut got = BTreeSet::new();
        for kind in ["tmp", "out"] {
            let sub = format!("{}.{kind}", self.tag);
            for e in std::fs::read_dir(self.dir.join(&sub)).unwrap().flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if clear {
                    let _ = std::fs::remove_file(e.path());
                } else if !name.starts_with("keepalived_parent") {
                    got.insert(format!("{sub}/{name}"));
                }
            }
        }
        got
    }

    /// A new configuration, then SIGHUP: a reload.
    fn reload(&self, conf: (&str, &str, &str)) {
        config(
            &self.dir.join(format!("{}.conf", self.tag)),
            conf.0,
            conf.1,
            conf.2,
        );
        // SAFETY: SIGHUP to the daemon's parent.
        unsafe { libc::kill(self.parent(), libc::SIGHUP) };
    }
}

/// One run: the dumps the signals make, as [`Run::dumps`] finds them.
fn dumps(
    ns: &Netns,
    bin: &Path,
    dir: &Path,
    tag: &str,
    conf: (&str, &str, &str),
    extra: &[&str],
    want: &BTreeSet<String>,
) -> BTreeSet<String> {
    let run = Run::start(ns, bin, dir, tag, conf, extra);
    let got = run.dumps(want);
    run.daemon.stop();
    got
}

/// A virtual server, so that the checker process runs (without IPVS in the kernel its
/// checks still run; keepalived 2.2.7's checker does not).
const CHECKER: &str = "virtual_server 10.92.0.50 80 {\n  lb_kind NAT\n  protocol TCP\n  \
                       real_server 10.92.0.1 9 {\n    TCP_CHECK {\n      connect_timeout 1\n    \
                       }\n  }\n}\n";

/// The signals for the state dump, the statistics and the JSON (keepalived's SIGJSON).
fn signals() -> [i32; 3] {
    [libc::SIGUSR1, libc::SIGUSR2, libc::SIGRTMIN() + 2]
}

fn set(tag: &str, names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| format!("{tag}.tmp/{n}")).collect()
}

/// keepalived's names: keepalived.data, keepalived.stats and keepalived.json in
/// $TMPDIR; `data_use_instance` adds `.NS_INSTANCE`, `.NS` or `.INSTANCE` (the namespace
/// of `net_namespace` or `-s`, the instance of the root `instance`) to the state dump
/// only, and nothing without either name (`open_dump_file()`). keepalived 2.2.7 is run
/// beside, where it is installed, and must name the same files.
#[test]
fn dumps_are_named_as_keepalived_names_them() {
    if !runs("dumps_are_named_as_keepalived_names_them", &["ip"]) {
        return;
    }
    let ns = netns("kdf90");
    let dir = tmp_dir("kdf9-names");
    type Case<'a> = (&'a str, &'a str, &'a [&'a str], &'a str);
    let cases: [Case; 5] = [
        ("", "", &[], "keepalived.data"),
        ("", "  data_use_instance", &[], "keepalived.data"),
        (
            "net_namespace kdf90\ninstance kdfi",
            "  data_use_instance",
            &[],
            "keepalived.kdf90_kdfi.data",
        ),
        (
            "instance kdfi",
            "  data_use_instance",
            &[],
            "keepalived.kdfi.data",
        ),
        (
            "",
            "  data_use_instance",
            &["-s", "kdf90"],
            "keepalived.kdf90.data",
        ),
    ];
    let keepalived = have("keepalived").then(|| PathBuf::from("keepalived"));
    for (i, (root, global, extra, data)) in cases.iter().enumerate() {
        let files = [*data, "keepalived.stats", "keepalived.json"];
        let tag = format!("rs{i}");
        let want = set(&tag, &files);
        let ours = dumps(
            &ns,
            &keepalived_rs(),
            &dir,
            &tag,
            (root, global, ""),
            extra,
            &want,
        );
        assert_eq!(
            ours, want,
            "keepalived-rs with [{root}] [{global}] {extra:?}"
        );
        if let Some(k) = &keepalived {
            let tag = format!("ka{i}");
            let want = set(&tag, &files);
            let theirs = dumps(&ns, k, &dir, &tag, (root, global, ""), extra, &want);
            assert_eq!(
                theirs, want,
                "keepalived with [{root}] [{global}] {extra:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `state_dump_file` as keepalived 2.3.3 and later take it: a template, to which the
/// checker's dump adds `_check`, the parent's `_parent`, and `data_use_instance` the instance before the
/// extension; `stats_dump_file` and `json_dump_file` place those files whole, relative
/// to $TMPDIR or in a directory when they end in `/`. keepalived 2.2.7 has none of the
/// three keywords, so keepalived-rs runs alone.
#[test]
fn dump_file_keywords_place_every_dump() {
    if !runs("dump_file_keywords_place_every_dump", &["ip"]) {
        return;
    }
    let ns = netns("kdf91");
    let dir = tmp_dir("kdf9-keywords");
    let out = dir.join("rs.out");
    let global = format!(
        "  data_use_instance\n  state_dump_file {}/state.txt\n  stats_dump_file st.out\n  \
         json_dump_file {}/\n",
        out.display(),
        out.display()
    );
    let want: BTreeSet<String> = [
        "rs.out/state.kdfi.txt",
        "rs.out/state_check.kdfi.txt",
        "rs.out/state_parent.kdfi.txt",
        "rs.out/keepalived.json",
        "rs.tmp/st.out",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let got = dumps(
        &ns,
        &keepalived_rs(),
        &dir,
        "rs",
        ("instance kdfi", &global, CHECKER),
        &[],
        &want,
    );
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A reload moves the dumps: `data_use_instance` turned on names the state dumps after
/// the instance from then on, in keepalived 2.2.7 as here; and here, with a checker, a
/// second reload's `state_dump_file` directory takes the VRRP and checker dumps both.
#[test]
fn a_reload_moves_the_dumps() {
    if !runs("a_reload_moves_the_dumps", &["ip"]) {
        return;
    }
    let ns = netns("kdf92");
    let dir = tmp_dir("kdf9-reload");
    let out = dir.join("rs.out");
    let keepalived = have("keepalived").then(|| PathBuf::from("keepalived"));
    let daemons =
        std::iter::once(("rs", keepalived_rs(), CHECKER)).chain(keepalived.map(|k| ("ka", k, "")));
    for (tag, bin, tail) in daemons {
        let named = |names: &[&str]| set(tag, names);
        let first = ("instance kdfi", "", tail);
        let run = Run::start(&ns, &bin, &dir, tag, first, &[]);
        let mut want = named(&["keepalived.data", "keepalived.stats", "keepalived.json"]);
        if !tail.is_empty() {
            want.extend(named(&["keepalived_check.data"]));
        }
        assert_eq!(run.dumps(&want), want, "{tag} before the reload");
        run.reload(("instance kdfi", "  data_use_instance", tail));
        let mut want = named(&[
            "keepalived.kdfi.data",
            "keepalived.stats",
            "keepalived.json",
        ]);
        if !tail.is_empty() {
            want.extend(named(&["keepalived_check.kdfi.data"]));
        }
        assert_eq!(run.dumps(&want), want, "{tag} after the reload");
        if tag == "rs" {
            let global = format!("  data_use_instance\n  state_dump_file {}/", out.display());
            run.reload(("instance kdfi", &global, tail));
            let mut want = named(&["keepalived.stats", "keepalived.json"]);
            want.insert("rs.out/keepalived.kdfi.data".to_string());
            want.insert("rs.out/keepalived_check.kdfi.data".to_string());
            assert_eq!(run.dumps(&want), want, "rs after the second reload");
        }
        run.daemon.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
