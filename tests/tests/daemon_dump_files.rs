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

/// One run: `bin` in `ns` with `root`/`global`/`tail`, $TMPDIR a fresh `<tag>.tmp` in
/// `dir`, and `extra` arguments; `signals` sent to the parent until every file of
/// `want` (relative to `dir`) is there, or 20 s pass. Returns the files then in
/// $TMPDIR and in `<tag>.out`, relative to `dir`, less keepalived's parent dump
/// (`keepalived_parent.data`, which keepalived-rs does not write).
#[allow(clippy::too_many_arguments)]
fn dumps(
    ns: &Netns,
    bin: &Path,
    dir: &Path,
    tag: &str,
    (root, global, tail): (&str, &str, &str),
    extra: &[&str],
    signals: &[i32],
    want: &BTreeSet<String>,
) -> BTreeSet<String> {
    let tmp = dir.join(format!("{tag}.tmp"));
    let out = dir.join(format!("{tag}.out"));
    for d in [&tmp, &out] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).unwrap();
    }
    let conf = dir.join(format!("{tag}.conf"));
    config(&conf, root, global, tail);
    let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
    let mut args = vec!["-n", "-l", "-f"];
    let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    args.extend_from_slice(&[&conf, "-p", &p, "-r", &r, "-c", &c]);
    args.extend_from_slice(extra);
    let d = Daemon::start_with_env(
        ns,
        bin,
        &args,
        &[("TMPDIR", &tmp)],
        dir.join(format!("{tag}.log")),
    );
    let up = wait_for(Duration::from_secs(20), || {
        Daemon::pid_of(dir, tag, "p").is_some() && Daemon::pid_of(dir, tag, "r").is_some()
    });
    assert!(up.is_some(), "{tag}: no pidfiles\n{}", d.log_text());
    let parent = Daemon::pid_of(dir, tag, "p").unwrap();
    // The children may still be setting up when their pidfiles appear: the signals go
    // again every 2 s until the dumps are all there.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        for &sig in signals {
            // SAFETY: a signal to the daemon's parent, which passes it to its children.
            unsafe { libc::kill(parent, sig) };
        }
        if wait_for(Duration::from_secs(2), || {
            want.iter().all(|f| dir.join(f).exists())
        })
        .is_some()
        {
            break;
        }
    }
    // Time for a file that should not be there to appear.
    std::thread::sleep(Duration::from_millis(500));
    let mut got = BTreeSet::new();
    for d in [&tmp, &out] {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("keepalived_parent") {
                got.insert(format!(
                    "{}/{name}",
                    d.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    d.stop();
    got
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
    let signals = [libc::SIGUSR1, libc::SIGUSR2, libc::SIGRTMIN() + 2];
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
            &signals,
            &want,
        );
        assert_eq!(
            ours, want,
            "keepalived-rs with [{root}] [{global}] {extra:?}"
        );
        if let Some(k) = &keepalived {
            let tag = format!("ka{i}");
            let want = set(&tag, &files);
            let theirs = dumps(
                &ns,
                k,
                &dir,
                &tag,
                (root, global, ""),
                extra,
                &signals,
                &want,
            );
            assert_eq!(
                theirs, want,
                "keepalived with [{root}] [{global}] {extra:?}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `state_dump_file` as keepalived 2.3.3 and later take it: a template, to which the
/// checker's dump adds `_check` and `data_use_instance` the instance before the
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
    // A virtual server, so that the checker process runs (without IPVS in the kernel
    // its checks still run).
    let tail = "virtual_server 10.92.0.50 80 {\n  lb_kind NAT\n  protocol TCP\n  \
                real_server 10.92.0.1 9 {\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  \
                }\n}\n";
    let want: BTreeSet<String> = [
        "rs.out/state.kdfi.txt",
        "rs.out/state_check.kdfi.txt",
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
        ("instance kdfi", &global, tail),
        &[],
        &[libc::SIGUSR1, libc::SIGUSR2, libc::SIGRTMIN() + 2],
        &want,
    );
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}
