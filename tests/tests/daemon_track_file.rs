//! `track_file` and FILE_CHECK against the real thing: keepalived 2.2.7 and keepalived-rs
//! run the same configuration in twin namespaces, the test writes the same values into
//! their tracked files, and a peer namespace's capture shows what each puts on the wire:
//! the advert priority is the base plus value × weight, clamped to 1..=254; below −253,
//! or with weight 0 any non-zero value, the instance goes to FAULT (an advert of
//! priority 0, then silence) and comes back when the value allows.
//!
//! FILE_CHECK needs IPVS, which keepalived's checker cannot start without and this
//! kernel lacks, so it is watched on keepalived-rs alone, through the real server's
//! notify scripts and the SIGUSR1 dump.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keepalived_tests::host::{
    adverts, have, is_root, keepalived_rs, tmp_dir, wait_for, Capture, Daemon, Pair,
};

const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Whether `test` can run; under CI a missing piece fails it rather than skipping.
fn available(test: &str, cmds: &[&str]) -> bool {
    let why = if !is_root() {
        Some("it needs root (network namespaces)".to_string())
    } else {
        cmds.iter()
            .find(|c| !have(c))
            .map(|c| format!("`{c}` is not installed (.ci/run installs it)"))
    };
    let Some(why) = why else { return true };
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} must run in CI, but {why}"
    );
    eprintln!("SKIP {test}: {why}");
    false
}

/// One daemon under test, with its tracked files and the peer's capture.
struct Side {
    name: &'static str,
    iface: String,
    dir: PathBuf,
    daemon: Daemon,
    capture: Capture,
    _pair: Pair,
}

/// Base priority of both instances.
const BASE: u8 = 100;
/// The weighted instance (track_file `w`, weight 1 by default) and the weight-0 one
/// (track_file `z`).
const VRID_W: u8 = 91;
const VRID_Z: u8 = 92;

fn config(dir: &Path, iface: &str, w_file: &str) -> String {
    let (w, z) = (dir.join(w_file), dir.join("z.val"));
    format!(
        "global_defs {{\n  router_id TF\n}}\n\
         track_file w {{\n  file {}\n  init_file {}\n}}\n\
         vrrp_track_file z {{\n  file {}\n  weight 3\n}}\n\
         vrrp_instance W {{\n  interface {iface}\n  virtual_router_id {VRID_W}\n  priority {BASE}\n  \
           advert_int 1\n  track_file {{\n    w\n  }}\n  virtual_ipaddress {{\n    10.91.0.100/24\n  }}\n}}\n\
         vrrp_instance Z {{\n  interface {iface}\n  virtual_router_id {VRID_Z}\n  priority {BASE}\n  \
           advert_int 1\n  track_file {{\n    z weight 0\n  }}\n  virtual_ipaddress {{\n    10.92.0.100/24\n  }}\n}}\n",
        w.display(),
        if w_file == "w.val" { 5 } else { 20 },
        z.display()
    )
}

impl Side {
    fn start(name: &'static str, prefix: &str, net: u8, keepalived: bool) -> Side {
        let dir = tmp_dir(&format!("track-file-{name}"));
        let _ = std::fs::remove_file(dir.join("w.val"));
        let _ = std::fs::remove_file(dir.join("z.val"));
        let _ = std::fs::remove_file(dir.join("w2.val"));
        let pair = Pair::new(prefix, net);
        let conf = dir.join("k.conf");
        std::fs::write(&conf, config(&dir, &pair.ifs[0], "w.val")).unwrap();
        let capture = Capture::start(&pair.ns[1], &pair.ifs[1], "ip proto 112", &dir.join("vrrp"));
        let daemon = if keepalived {
            let file = |ext: &str| dir.join(format!("ka.{ext}")).display().to_string();
            let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
            let args = [
                "-n", "-l", "-D", "-P", "-f", &conf, "-p", &p, "-r", &r, "-c", &c,
            ];
            Daemon::start(
                &pair.ns[0],
                Path::new(KEEPALIVED),
                &args,
                dir.join("ka.log"),
            )
        } else {
            Daemon::ours(&pair.ns[0], &conf, &dir, "ours", &["-P"])
        };
        Side {
            name,
            iface: pair.ifs[0].clone(),
            dir,
            daemon,
            capture,
            _pair: pair,
        }
    }

    /// Stops the daemon; on success its files go, on failure they stay to be looked at.
    fn finish(self, r: Result<(), String>) -> Result<(), String> {
        let dir = self.dir.clone();
        self.daemon.stop();
        if r.is_ok() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        r
    }

    fn write(&self, file: &str, text: &str) {
        // As `echo N > f`: opened, truncated, written, closed.
        std::fs::write(self.dir.join(file), text).unwrap();
    }

    fn remove(&self, file: &str) {
        std::fs::remove_file(self.dir.join(file)).unwrap();
    }

    /// Adverts of `vrid` captured after `since` (epoch seconds).
    fn adverts_since(&self, vrid: u8, since: f64) -> Vec<u8> {
        adverts(&self.capture.text(), vrid)
            .into_iter()
            .filter(|(t, _)| *t > since)
            .map(|(_, p)| p)
            .collect()
    }

    /// Waits until an advert of `vrid` sent after `since` has priority `prio`; returns
    /// the priority of the last advert seen when it never comes.
    fn await_prio(&self, vrid: u8, since: f64, prio: u8, limit: Duration) -> Result<(), String> {
        if wait_for(limit, || self.adverts_since(vrid, since).contains(&prio)).is_some() {
            return Ok(());
        }
        Err(format!(
            "{}: vrid {vrid}: no advert of priority {prio}; after the change: {:?}\n{}",
            self.name,
            self.adverts_since(vrid, since),
            self.daemon.log_text()
        ))
    }

    /// Adverts of `vrid` at `prio` only, for 2.5 s after `since`.
    fn await_stays(&self, vrid: u8, since: f64, prio: u8) -> Result<(), String> {
        std::thread::sleep(Duration::from_millis(2500));
        let seen = self.adverts_since(vrid, since);
        if seen.is_empty() || seen.iter().any(|s| *s != prio) {
            return Err(format!(
                "{}: vrid {vrid}: {seen:?}, not {prio} throughout",
                self.name
            ));
        }
        Ok(())
    }

    /// FAULT: an advert of priority 0 after `since`, then none for 2.5 s.
    fn await_fault(&self, vrid: u8, since: f64) -> Result<(), String> {
        self.await_prio(vrid, since, 0, Duration::from_secs(4))?;
        let quiet_from = epoch();
        std::thread::sleep(Duration::from_millis(2500));
        let later = self.adverts_since(vrid, quiet_from);
        if later.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}: vrid {vrid}: adverts in FAULT: {later:?}",
                self.name
            ))
        }
    }
}

fn epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// What the test does to the files, and what the wire must show after it.
enum Expect {
    /// An advert of this priority.
    Prio(u8),
    /// Priority 0, then silence.
    Fault,
    /// Adverts go on at this priority: the change is not one.
    Stays(u8),
}

/// One step: which file, what is done to it (`None` removes it), the instance watched,
/// and what it must show.
type Step = (&'static str, Option<&'static str>, u8, Expect);

/// Runs the steps on one side; the first disagreement, if any.
fn run_steps(side: &Side, steps: &[Step]) -> Result<(), String> {
    // Both instances become master on their own (no peer): weighted at 100 + 5 (init_file
    // creates w.val holding 5), the weight-0 one at its base (z.val missing reads 0).
    let start = epoch() - 1.0;
    side.await_prio(VRID_W, start, BASE + 5, Duration::from_secs(10))?;
    side.await_prio(VRID_Z, start, BASE, Duration::from_secs(10))?;
    let made = std::fs::read_to_string(side.dir.join("w.val")).map_err(|e| e.to_string())?;
    if made != "5\n" {
        return Err(format!("{}: init_file wrote {made:?}", side.name));
    }
    let mode = std::fs::metadata(side.dir.join("w.val"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    if mode != 0o600 {
        return Err(format!("{}: init_file mode {mode:o}", side.name));
    }
    for (file, action, vrid, expect) in steps {
        let since = epoch();
        match action {
            Some(text) => side.write(file, text),
            None => side.remove(file),
        }
        match expect {
            // Leaving FAULT takes a master-down interval (3 s + skew) as a backup.
            Expect::Prio(p) => side.await_prio(*vrid, since, *p, Duration::from_secs(7))?,
            Expect::Fault => side.await_fault(*vrid, since)?,
            Expect::Stays(p) => side.await_stays(*vrid, since, *p)?,
        }
    }
    reload(side)
}

/// A reload that points `w` at another file: its `init_file` is written (missing, so
/// even on a reload), the new file is watched and read, the old one no longer counts.
fn reload(side: &Side) -> Result<(), String> {
    let conf = side.dir.join("k.conf");
    std::fs::write(&conf, config(&side.dir, &side.iface, "w2.val")).unwrap();
    let since = epoch();
    side.daemon.signal(libc::SIGHUP);
    side.await_prio(VRID_W, since, BASE + 20, Duration::from_secs(7))?;
    let steps: Vec<Step> = vec![
        ("w.val", Some("1\n"), VRID_W, Expect::Stays(BASE + 20)),
        ("w2.val", Some("30\n"), VRID_W, Expect::Prio(BASE + 30)),
    ];
    for (file, action, vrid, expect) in &steps {
        let since = epoch();
        side.write(file, action.unwrap_or_default());
        match expect {
            Expect::Prio(p) => side.await_prio(*vrid, since, *p, Duration::from_secs(7))?,
            Expect::Stays(p) => side.await_stays(*vrid, since, *p)?,
            Expect::Fault => side.await_fault(*vrid, since)?,
        }
    }
    Ok(())
}

#[test]
fn track_file_sets_the_advert_priority_as_keepalived_does() {
    let test = "track_file_sets_the_advert_priority_as_keepalived_does";
    if !available(test, &["ip", "tcpdump", KEEPALIVED]) {
        return;
    }
    let _ = keepalived_rs();
    use Expect::*;
    let steps: Vec<Step> = vec![
        ("w.val", Some("10\n"), VRID_W, Prio(BASE + 10)),
        // strtol(): leading blanks, a sign, trailing junk.
        ("w.val", Some("  -20 apples\n"), VRID_W, Prio(BASE - 20)),
        // Base 0: hex and octal.
        ("w.val", Some("0x10\n"), VRID_W, Prio(BASE + 16)),
        ("w.val", Some("010\n"), VRID_W, Prio(BASE + 8)),
        // Clamped to 254 (owner 255 is never reached) and to 1.
        ("w.val", Some("200\n"), VRID_W, Prio(254)),
        ("w.val", Some("-150\n"), VRID_W, Prio(1)),
        // −253 still counts; −254 and below is FAULT.
        ("w.val", Some("-253\n"), VRID_W, Stays(1)),
        ("w.val", Some("-300\n"), VRID_W, Fault),
        ("w.val", Some("-50\n"), VRID_W, Prio(BASE - 50)),
        // A value out of int range is refused: the last one stands...
        ("w.val", Some("99999999999\n"), VRID_W, Stays(BASE - 50)),
        // ...and a removed file counts as 0.
        ("w.val", None, VRID_W, Prio(BASE)),
        ("w.val", Some("not a number\n"), VRID_W, Stays(BASE)),
        ("w.val", Some("7\n"), VRID_W, Prio(BASE + 7)),
        // Weight 0: any non-zero value is FAULT, 0 is fine.
        ("z.val", Some("-1\n"), VRID_Z, Fault),
        ("z.val", Some("0\n"), VRID_Z, Prio(BASE)),
        ("z.val", Some("3\n"), VRID_Z, Fault),
        ("z.val", None, VRID_Z, Prio(BASE)),
    ];
    let results: Vec<(&str, Result<(), String>)> = std::thread::scope(|s| {
        let theirs = s.spawn(|| {
            let side = Side::start("keepalived", "ktf90", 91, true);
            let r = run_steps(&side, &steps);
            side.finish(r)
        });
        let ours = s.spawn(|| {
            let side = Side::start("keepalived-rs", "ktf91", 92, false);
            let r = run_steps(&side, &steps);
            side.finish(r)
        });
        vec![
            ("keepalived", theirs.join().expect("keepalived side")),
            ("keepalived-rs", ours.join().expect("keepalived-rs side")),
        ]
    });
    for (name, r) in &results {
        if let Err(e) = r {
            panic!("{name} did not show what was expected: {e}");
        }
    }
}

/// The real server's notify scripts append `up` / `down` to `events`.
fn notify_script(dir: &Path, name: &str, word: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\necho {word} >> {}\n",
            dir.join("events").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn file_check_takes_the_real_server_down_and_weighs_it() {
    let test = "file_check_takes_the_real_server_down_and_weighs_it";
    if !available(test, &["ip"]) {
        return;
    }
    let dir = tmp_dir("file-check");
    let pair = Pair::new("ktf92", 93);
    let (up, down) = (
        notify_script(&dir, "up.sh", "up"),
        notify_script(&dir, "down.sh", "down"),
    );
    let (gate, wt) = (dir.join("gate.val"), dir.join("weight.val"));
    let _ = std::fs::remove_file(&gate);
    std::fs::write(&wt, "4\n").unwrap();
    let conf = dir.join("c.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n  router_id FC\n}}\n\
             track_file gate {{\n  file {}\n  weight 0\n}}\n\
             track_file wt {{\n  file {}\n}}\n\
             virtual_server 10.93.0.100 80 {{\n  protocol TCP\n  lb_kind DR\n\
               real_server 192.168.93.2 80 {{\n    weight 10\n    notify_up {}\n    notify_down {}\n\
                 FILE_CHECK {{\n      track_file gate\n    }}\n\
                 FILE_CHECK {{\n      track_file wt\n      weight 5\n    }}\n  }}\n}}\n",
            gate.display(),
            wt.display(),
            up.display(),
            down.display()
        ),
    )
    .unwrap();
    // The dump goes to $TMPDIR: this test's directory.
    let file = |ext: &str| dir.join(format!("fc.{ext}")).display().to_string();
    let (c, p, r, k) = (conf.display().to_string(), file("p"), file("r"), file("c"));
    let args = [
        "-n", "-l", "-G", "-C", "-f", &c, "-p", &p, "-r", &r, "-c", &k,
    ];
    let d = Daemon::start_with_env(
        &pair.ns[0],
        &keepalived_rs(),
        &args,
        &[("TMPDIR", &dir)],
        dir.join("daemon.log"),
    );
    let events = || std::fs::read_to_string(dir.join("events")).unwrap_or_default();
    let dump = || {
        let _ = std::fs::remove_file(dir.join("keepalived_check.data"));
        if let Some(pid) = Daemon::pid_of(&dir, "fc", "c") {
            // SAFETY: signalling the checker child we started.
            unsafe { libc::kill(pid, libc::SIGUSR1) };
        }
        wait_for(Duration::from_secs(3), || {
            dir.join("keepalived_check.data").exists()
        });
        std::fs::read_to_string(dir.join("keepalived_check.data")).unwrap_or_default()
    };
    // The real server's block (`dump_rs()`): its weights, and alive with no checker down.
    let up_at = |text: String, w: i64| {
        text.contains(&format!(
            "   RIP = 192.168.93.2, RPORT = 80, WEIGHT = {} EFF WEIGHT = {w}\n",
            w.max(0)
        )) && text.contains("   alive = 1\n   num failed checkers = 0\n")
    };
    // Up from the start with 10 + 4 × 5 (the gate file is missing: 0).
    let started = Instant::now();
    assert!(
        wait_for(Duration::from_secs(10), || up_at(dump(), 30)).is_some(),
        "{}\n{}",
        dump(),
        d.log_text()
    );
    // Weight 0: a non-zero value takes the real server down.
    std::fs::write(&gate, "1\n").unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || events() == "down\n").is_some(),
        "events {:?}\n{}",
        events(),
        d.log_text()
    );
    assert!(dump().contains("   alive = 0\n   num failed checkers = 1\n"));
    std::fs::write(&gate, "0\n").unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || events() == "down\nup\n").is_some(),
        "events {:?}\n{}",
        events(),
        d.log_text()
    );
    // The weighted file moves the weight; below zero the server stays, at weight 0 in
    // IPVS.
    std::fs::write(&wt, "-3\n").unwrap();
    assert!(
        wait_for(Duration::from_secs(5), || up_at(dump(), -5)).is_some(),
        "{}\n{}",
        dump(),
        d.log_text()
    );
    assert!(
        d.log_text().contains("Changing weight from 30 to 0"),
        "{}",
        d.log_text()
    );
    assert_eq!(events(), "down\nup\n", "a weight change is no up or down");
    assert!(started.elapsed() < Duration::from_secs(40));
    d.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
