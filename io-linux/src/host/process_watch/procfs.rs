//! Looking at processes in /proc (`read_procs()`, `check_process()`). Every read is
//! bounded and every failure is the process's: one that exits while it is read, hides
//! its files or writes a command line of any length costs a skipped entry, never more.

use std::io::{self, Read};
use std::path::Path;

use super::counters::Found;
use super::matcher::{Matcher, Stat};

/// How much of /proc/PID/stat is read: its fields up to the start time (the 22nd) fit
/// with room to spare, whatever the name, which the kernel keeps to 64 bytes at most.
const STAT_MAX: u64 = 1024;

/// What the trackers need read of each process.
#[derive(Debug, Clone)]
pub(crate) struct Looker {
    matchers: Vec<Matcher>,
    /// How much of /proc/PID/cmdline to read; 0 when no tracker matches command lines,
    /// so a swapped-out process is not paged in to be read (keepalived's reason too).
    cmdline_max: usize,
}

impl Looker {
    pub(crate) fn new(matchers: Vec<Matcher>) -> Looker {
        let cmdline_max = matchers
            .iter()
            .map(Matcher::cmdline_needed)
            .max()
            .unwrap_or(0);
        Looker {
            matchers,
            cmdline_max,
        }
    }

    /// Every live process under `proc` (a procfs mount) and the trackers it matches.
    /// Zombies are left out, as keepalived's scan does. Fails only when `proc` itself
    /// cannot be listed.
    pub(crate) fn scan(&self, proc: &Path) -> io::Result<Vec<Found>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(proc)? {
            let Ok(entry) = entry else { continue };
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
                .filter(|&p| p > 0)
            else {
                continue;
            };
            if let Some(f) = self.examine(proc, pid) {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// One process: `None` if it is gone, a zombie, or its files cannot be read.
    pub(crate) fn examine(&self, proc: &Path, pid: i32) -> Option<Found> {
        let dir = proc.join(pid.to_string());
        let stat = Stat::parse(&read_bounded(&dir.join("stat"), STAT_MAX).ok()?)?;
        if stat.zombie() {
            return None;
        }
        let cmdline = if self.cmdline_max > 0 {
            Some(read_bounded(&dir.join("cmdline"), self.cmdline_max as u64).ok()?)
        } else {
            None
        };
        Some(Found {
            pid,
            ppid: stat.ppid,
            start: stat.start,
            matches: self.matching(&stat.comm, cmdline.as_deref(), false),
        })
    }

    /// A process under a new name (PROC_EVENT_COMM), as the event gives it: only the
    /// trackers that match names are asked.
    pub(crate) fn renamed(&self, pid: i32, comm: &[u8]) -> Found {
        Found {
            pid,
            ppid: 0,
            start: None,
            matches: self.matching(comm, None, true),
        }
    }

    fn matching(&self, comm: &[u8], cmdline: Option<&[u8]>, only_names: bool) -> Vec<usize> {
        self.matchers
            .iter()
            .enumerate()
            .filter(|(_, m)| !(only_names && m.full_command()) && m.matches(comm, cmdline))
            .map(|(i, _)| i)
            .collect()
    }
}

/// At most `limit` bytes of a file.
fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::process_watch::matcher::test_tracker;

    fn matcher(process: &str, full_command: bool) -> Matcher {
        matching(process, "", full_command)
    }

    fn matching(process: &str, param_match: &str, full_command: bool) -> Matcher {
        Matcher::new(&test_tracker(process, param_match, full_command))
    }

    /// A procfs look-alike: one directory per pid with `stat` and `cmdline`.
    fn fake_proc(entries: &[(&str, &[u8], &[u8])]) -> tempdir::Dir {
        let d = tempdir::Dir::new();
        for (pid, stat, cmdline) in entries {
            let p = d.0.join(pid);
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("stat"), stat).unwrap();
            std::fs::write(p.join("cmdline"), cmdline).unwrap();
        }
        d
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let p =
                    std::env::temp_dir().join(format!("kars-procfs-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn a_scan_skips_zombies_junk_and_unreadable_entries() {
        let huge = [b'x'; 1 << 20];
        let d = fake_proc(&[
            ("10", b"10 (daemon) S 1 10", b"/usr/bin/daemon\0-f\0"),
            ("11", b"11 (daemon) Z 1 11", b""),
            ("12", b"12 (other) S 10 12", &huge),
            ("13", b"not a stat line", b""),
            ("self", b"1 (daemon) S 0 1", b""),
            ("-4", b"-4 (daemon) S 0 1", b""),
        ]);
        std::fs::create_dir_all(d.0.join("14")).unwrap();
        let looker = Looker::new(vec![
            matcher("daemon", false),
            matcher("/usr/bin/daemon -f", false),
        ]);
        let mut found = looker.scan(&d.0).unwrap();
        found.sort_by_key(|f| f.pid);
        assert_eq!(
            found,
            vec![
                Found {
                    pid: 10,
                    ppid: 1,
                    start: None,
                    matches: vec![0, 1]
                },
                Found {
                    pid: 12,
                    ppid: 10,
                    start: None,
                    matches: vec![]
                },
            ]
        );
        assert!(looker.scan(&d.0.join("missing")).is_err());
    }

    #[test]
    fn command_lines_are_read_only_as_far_as_a_match_needs() {
        let looker = Looker::new(vec![matching("/bin/x 1000", "exact", false)]);
        assert_eq!(looker.cmdline_max, b"/bin/x\x001000\0".len() + 1);
        assert_eq!(Looker::new(vec![matcher("x", false)]).cmdline_max, 0);
        let mut long = b"/bin/x\x001000\0".to_vec();
        long.extend(std::iter::repeat_n(b'y', 1 << 20));
        let d = fake_proc(&[
            ("5", b"5 (x) S 1 5", &long),
            ("6", b"6 (x) S 1 6", b"/bin/x\x001000\0"),
        ]);
        // Exact: the byte past the parameters, read, says there is more.
        assert_eq!(
            looker.examine(&d.0, 5).unwrap().matches,
            Vec::<usize>::new()
        );
        assert_eq!(looker.examine(&d.0, 6).unwrap().matches, vec![0]);
        assert_eq!(looker.examine(&d.0, 7), None, "gone");
    }

    #[test]
    fn a_new_name_asks_only_the_name_trackers() {
        let looker = Looker::new(vec![matcher("daemon", false), matcher("daemon", true)]);
        assert_eq!(looker.renamed(3, b"daemon").matches, vec![0]);
        assert_eq!(looker.renamed(3, b"other").matches, Vec::<usize>::new());
    }

    #[test]
    fn this_process_is_found_in_the_real_proc() {
        let me = std::fs::read_to_string("/proc/self/comm").unwrap();
        let looker = Looker::new(vec![matcher(me.trim_end_matches('\n'), false)]);
        let pid = std::process::id() as i32;
        let found = looker.scan(Path::new("/proc")).unwrap();
        let mine = found.iter().find(|f| f.pid == pid).expect("this process");
        assert_eq!(mine.matches, vec![0]);
        assert!(mine.start.is_some());
    }
}
