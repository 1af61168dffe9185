//! The checker's SIGUSR1 dump next to keepalived 2.2.7's: both daemons, checker only
//! (`-C`), each in a namespace of its own set up alike, on the same configuration: a
//! `virtual_server_group` whose virtual server has lost its quorum to a down real server
//! and stands its sorry server in, and a plain virtual server with an HTTP_GET real
//! server (two urls, one with a digest, one with a status code list) and a MISC_CHECK
//! one that fails. Once every checker of both has run, each is sent SIGUSR1, and every
//! line of keepalived's `keepalived_check.data` must be in ours, in the same order,
//! under the same section, virtual server group, virtual server, real server or
//! checker, but for [`exempt`]'s lines.
//!
//! keepalived's checker process needs IPVS, which these hosts' kernels lack, so this
//! is a case of the IPVS suite, run in its VM boot.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keepalived_tests::host::{in_netns, keepalived_rs, wait_for, Daemon, Netns};

/// The page the HTTP real server serves, and its MD5 (`genhash`'s digest).
const PAGE: &str = "hello";
const PAGE_MD5: &str = "5d41402abc4b2a76b9719d911017c592";

fn config() -> String {
    format!(
        r#"
global_defs {{
  router_id kcd1
  enable_script_security
  script_user root
}}
virtual_server_group kcdg {{
  10.71.0.10-11 80
  10.71.0.12 80
}}
virtual_server group kcdg {{
  delay_loop 2
  lvs_sched rr
  lvs_method NAT
  protocol TCP
  quorum 2
  sorry_server 127.0.0.1 8099
  real_server 127.0.0.1 8101 {{
    weight 1
    TCP_CHECK {{
      connect_timeout 1
    }}
  }}
  real_server 127.0.0.1 8102 {{
    TCP_CHECK {{
      connect_timeout 1
      retry 2
    }}
  }}
}}
virtual_server 10.71.0.20 80 {{
  delay_loop 2
  lvs_sched wrr
  lvs_method NAT
  protocol TCP
  retry 3
  real_server 127.0.0.1 8103 {{
    weight 2
    inhibit_on_failure
    HTTP_GET {{
      url {{
        path /index.html
        digest {PAGE_MD5}
      }}
      url {{
        path /x
        status_code 200-204 404
      }}
      connect_timeout 1
    }}
  }}
  real_server 127.0.0.1 8104 {{
    MISC_CHECK {{
      misc_path "/usr/bin/false"
      misc_timeout 3
    }}
  }}
}}
"#
    )
}

/// An HTTP server answering every request with [`PAGE`], until dropped.
struct Web {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Web {
    fn start(ns: &Netns, addr: &str) -> Web {
        let addr = addr.to_string();
        let l = in_netns(&ns.name, move || {
            TcpListener::bind(&addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"))
        });
        l.set_nonblocking(true).expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut c, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let _ = c.set_nonblocking(false);
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = write!(
                    c,
                    "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{PAGE}",
                    PAGE.len()
                );
            }
        });
        Web {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One daemon on the configuration in its namespace, its $TMPDIR `<tag>.tmp` in `dir`.
struct Side {
    daemon: Daemon,
    dir: PathBuf,
    tag: String,
    _web: Web,
    _tcp: TcpListener,
    /// Last: the namespace goes once the daemon and the servers have.
    _ns: Netns,
}

impl Side {
    fn start(ns_name: &str, bin: &Path, dir: &Path, tag: &str) -> Side {
        let ns = Netns::new(ns_name);
        let tcp = in_netns(&ns.name, || {
            TcpListener::bind("127.0.0.1:8101").expect("bind 8101")
        });
        let web = Web::start(&ns, "127.0.0.1:8103");
        let tmp = dir.join(format!("{tag}.tmp"));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let conf = dir.join(format!("{tag}.conf"));
        std::fs::write(&conf, config()).unwrap();
        let file = |ext: &str| dir.join(format!("{tag}.{ext}")).display().to_string();
        let (conf, p, r, c) = (conf.display().to_string(), file("p"), file("r"), file("c"));
        let args = [
            "-n", "-l", "-D", "-C", "-f", &conf, "-p", &p, "-r", &r, "-c", &c,
        ];
        let daemon = Daemon::start_with_env(
            &ns,
            bin,
            &args,
            &[("TMPDIR", &tmp)],
            dir.join(format!("{tag}.log")),
        );
        Side {
            daemon,
            dir: dir.to_path_buf(),
            tag: tag.to_string(),
            _web: web,
            _tcp: tcp,
            _ns: ns,
        }
    }

    /// A fresh `keepalived_check.data`, once it is complete (its size steady for
    /// 100 ms), or empty if none comes.
    fn dump(&self) -> String {
        let path = self
            .dir
            .join(format!("{}.tmp", self.tag))
            .join("keepalived_check.data");
        let _ = std::fs::remove_file(&path);
        if let Some(pid) = Daemon::pid_of(&self.dir, &self.tag, "c") {
            // SAFETY: SIGUSR1 to the checker child of a daemon this test started.
            unsafe { libc::kill(pid, libc::SIGUSR1) };
        }
        let mut last = None;
        wait_for(Duration::from_secs(10), || {
            let now = std::fs::metadata(&path).ok().map(|m| m.len());
            let steady = now.is_some() && now == last;
            last = now;
            std::thread::sleep(Duration::from_millis(100));
            steady
        });
        std::fs::read_to_string(&path).unwrap_or_default()
    }
}

/// Whether every checker of a dump has run, and the MISC_CHECK's and the second TCP
/// check's failures have taken their servers down.
fn settled(dump: &str) -> bool {
    let runs = dump.matches("   Has run = ").count();
    runs == 4
        && dump.matches("   Has run = yes").count() == runs
        && dump.contains("   Last status = 1")
        && dump.contains("   quorum_state_up = 0")
}

/// Lines of keepalived's dump that legitimately differ, with the check each gets
/// instead; `None` for a line that must be in ours as it is. `ours` are the lines of
/// ours under the line's owner (as [`owners`] names it).
fn exempt(line: &str, ours: &[String]) -> Option<Result<(), String>> {
    let t = line.trim_start();
    let has = |prefix: &str| ours.iter().any(|o| o.trim_start().starts_with(prefix));
    if t.starts_with("nftables with") || t.starts_with("libnftnl version") {
        // keepalived's build: nftables through libnftnl, which keepalived-rs does not
        // link (it speaks nf_tables netlink itself).
        return Some(Ok(()));
    }
    if t.starts_with("Last errno = ") {
        // The errno of an unusual connect() failure; the prober keeps none.
        return Some(Ok(()));
    }
    if t.starts_with("Retries iterations = ") {
        // Where in its retry cycle a checker is at the instant of the dump: keepalived's
        // tcp_epilog() goes on cycling through the retries while the server is down.
        return Some(if has("Retries iterations = ") {
            Ok(())
        } else {
            Err("no `Retries iterations`".into())
        });
    }
    if let Some(stamp) = t.strip_prefix("Last ran = ") {
        // Each daemon's own clock reading: the line must be there, as a timeval with
        // the same local-time layout.
        let shape = |v: &str| {
            let (tv, local) = v.split_once(' ').unwrap_or_default();
            (tv.parse::<f64>().is_ok(), local.len())
        };
        let found = ours.iter().any(|o| {
            o.trim_start()
                .strip_prefix("Last ran = ")
                .is_some_and(|v| shape(v) == shape(stamp) && shape(v).0)
        });
        return Some(if found {
            Ok(())
        } else {
            Err(format!("no `Last ran` timeval shaped like `{stamp}`"))
        });
    }
    None
}

/// A dump's lines by owner: the section (`------< … >------`) and, within the sections
/// of servers, checkers and files, the virtual server group, virtual server, real
/// server, checker or tracked file the line belongs to (the line naming it included).
fn owners(text: &str) -> BTreeMap<String, Vec<String>> {
    const OWNED: [&str; 4] = [
        "LVS Topology",
        "Health checkers",
        "Checker track files",
        "Checker track BFDs",
    ];
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut section, mut owner, mut rs) = (String::new(), String::new(), String::new());
    for line in text.lines() {
        if let Some(s) = line
            .strip_prefix("------< ")
            .and_then(|l| l.strip_suffix(" >------"))
        {
            section = s.to_string();
            owner.clear();
            rs.clear();
            continue;
        }
        let t = line.trim_start();
        let indent = line.len() - t.len();
        if indent == 1
            && OWNED.contains(&section.as_str())
            && !t.starts_with("System is compiled")
            && !t.starts_with("------<")
        {
            // ` Virtual Server Group = …`, ` VS …`, ` [vs] -> [rs]`, ` Track file = …`.
            owner = t.split(", IPv4").next().unwrap_or(t).to_string();
            rs.clear();
        }
        if let Some(r) = t.strip_prefix("RIP = ") {
            rs = r.split(", WEIGHT").next().unwrap_or(r).to_string();
        }
        out.entry(format!("{section} | {owner} | {rs}"))
            .or_default()
            .push(line.to_string());
    }
    out
}

/// Every line of keepalived's dump in ours, in order, under the same owner: the
/// failures.
fn diff(theirs: &str, ours: &str) -> Vec<String> {
    let (t, o) = (owners(theirs), owners(ours));
    let mut bad = Vec::new();
    for (owner, lines) in &t {
        let Some(mine) = o.get(owner) else {
            bad.push(format!("{owner}: missing from ours"));
            continue;
        };
        let mut at = 0;
        for line in lines {
            match exempt(line, mine) {
                Some(Err(e)) => bad.push(format!("{owner}: {e}")),
                Some(Ok(())) => {}
                None => match mine[at..].iter().position(|m| m == line) {
                    Some(i) => at += i + 1,
                    None if mine.contains(line) => {
                        bad.push(format!("{owner}: `{line}` out of order"))
                    }
                    None => bad.push(format!("{owner}: `{line}` missing")),
                },
            }
        }
    }
    bad
}

/// The case: both daemons, the dumps once settled, the comparison.
pub fn checker_dump_matches_keepalived(_ns: &Netns, dir: &Path) {
    let theirs = Side::start(
        "kcd-theirs",
        Path::new("/usr/sbin/keepalived"),
        dir,
        "theirs",
    );
    let ours = Side::start("kcd-ours", &keepalived_rs(), dir, "ours");
    let (mut td, mut od) = (String::new(), String::new());
    let done = wait_for(Duration::from_secs(40), || {
        if !settled(&td) {
            td = theirs.dump();
        }
        if !settled(&od) {
            od = ours.dump();
        }
        settled(&td) && settled(&od)
    });
    assert!(
        done.is_some(),
        "the checkers did not settle\n--- keepalived:\n{td}\n{}\n--- ours:\n{od}\n{}",
        theirs.daemon.log_text(),
        ours.daemon.log_text()
    );
    // keepalived's dump is what this case is about: make sure it holds what it should.
    for want in [
        "------< LVS Topology >------",
        " Virtual Server Group = kcdg, IPv4 = yes, IPv6 = no",
        "   sorry server = [127.0.0.1]:tcp:8099",
        &format!("     digest = {PAGE_MD5}"),
        "   Keepalive method = MISC_CHECK",
        "------< Health checkers >------",
    ] {
        assert!(td.contains(want), "keepalived's dump lacks `{want}`:\n{td}");
    }
    let bad = diff(&td, &od);
    assert!(
        bad.is_empty(),
        "keepalived_check.data:\n{}\n--- keepalived:\n{td}\n--- ours:\n{od}",
        bad.join("\n")
    );
    theirs.daemon.stop();
    ours.daemon.stop();
}
