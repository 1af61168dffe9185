//! keepalived's processes: the parent and the children it starts (`keepalived/core/main.c`).

/// Which of keepalived's processes this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Parent,
    Vrrp,
    Checker,
}

impl Process {
    /// The syslog identity keepalived gives the process.
    pub fn ident(self) -> &'static std::ffi::CStr {
        match self {
            Process::Parent => c"Keepalived",
            Process::Vrrp => c"Keepalived_vrrp",
            Process::Checker => c"Keepalived_healthcheckers",
        }
    }

    /// What `-g` appends to the log file's stem (`open_log_file()`).
    pub fn file_suffix(self) -> &'static str {
        match self {
            Process::Parent => "",
            Process::Vrrp => "_vrrp",
            Process::Checker => "_healthcheckers",
        }
    }

    /// The name in the parent's log lines ("VRRP child process(123) died").
    pub fn title(self) -> &'static str {
        match self {
            Process::Parent => "Parent",
            Process::Vrrp => "VRRP",
            Process::Checker => "Healthcheck",
        }
    }

    /// The value of the internal `--child=` option that makes a re-executed binary this
    /// child.
    pub fn arg(self) -> &'static str {
        match self {
            Process::Parent => "parent",
            Process::Vrrp => "vrrp",
            Process::Checker => "checker",
        }
    }

    pub fn from_arg(s: &str) -> Option<Process> {
        match s {
            "vrrp" => Some(Process::Vrrp),
            "checker" => Some(Process::Checker),
            _ => None,
        }
    }
}

/// Hands the heap pages freed since start-up (the parsed configuration, a burst's queue)
/// back to the kernel. glibc keeps freed memory for reuse and only trims the top of the
/// heap, so without this a daemon's RSS stays at its start-up peak.
pub fn release_freed_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks and madvises the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Unmaps the pages of the binary and its libraries that nothing is writing to: start-up
/// code (configuration parsing, socket and netlink set-up) that the running daemon does
/// not come back to. Each process is `exec`ed and touches all of that code once, and the
/// kernel maps the pages around each one touched; without this a child's RSS carries
/// MiBs of code it ran once. What the daemon runs afterwards is faulted back from the
/// page cache, where these pages stay. Returns the KiB unmapped.
///
/// Only mappings that are read-only, file-backed and provably hold no private copy of a
/// page are touched, so nothing is lost: what comes back is the file's content, which is
/// what was there. The cost: code unmapped and not run since (a backup's takeover) is
/// faulted back when it next runs, from the page cache, or from disk if memory pressure
/// has dropped it there meanwhile. A process that locked its memory (`vrrp_no_swap`)
/// keeps all of it, and the VRRP child given `vrrp_rt_priority` does not call this.
pub fn unmap_startup_pages() -> u64 {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    clean_file_mappings(&smaps)
        .into_iter()
        .filter(|m| {
            // SAFETY: the range is one of this process's own mappings, read-only, with no
            // private page: MADV_DONTNEED only drops page-table entries, and the next
            // access reads the same bytes back from the file.
            unsafe { libc::madvise(m.start as *mut libc::c_void, m.len, libc::MADV_DONTNEED) == 0 }
        })
        .map(|m| m.rss_kib)
        .sum()
}

/// A mapping [`unmap_startup_pages`] may drop.
#[derive(Debug, PartialEq, Eq)]
struct CleanMapping {
    start: usize,
    len: usize,
    rss_kib: u64,
}

/// The mappings in `/proc/self/smaps` text that are read-only, backed by a regular file
/// (not a device, not `[vdso]`), resident in part, and provably without a private page:
/// none in memory (`Anonymous`), none swapped out (`Swap`), never writable (no `ac` in
/// `VmFlags`, which RELRO keeps after its `mprotect`), and not locked.
fn clean_file_mappings(smaps: &str) -> Vec<CleanMapping> {
    struct Header {
        start: usize,
        len: usize,
        eligible: bool,
        rss_kib: u64,
        anon_kib: Option<u64>,
        swap_kib: Option<u64>,
        /// `VmFlags` seen and none of them says the mapping was writable or is locked.
        flags_clean: bool,
        locked: bool,
    }
    impl Header {
        fn droppable(&self) -> bool {
            self.eligible
                && self.rss_kib > 0
                && self.anon_kib == Some(0)
                && self.swap_kib == Some(0)
                && self.flags_clean
                && !self.locked
        }
    }
    let mut found = Vec::new();
    let mut cur: Option<Header> = None;
    let finish = |h: Option<Header>, found: &mut Vec<CleanMapping>| {
        if let Some(h) = h.filter(Header::droppable) {
            found.push(CleanMapping {
                start: h.start,
                len: h.len,
                rss_kib: h.rss_kib,
            });
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let first = fields.next().unwrap_or_default();
        if let Some((a, b)) = first.split_once('-') {
            // A mapping's header: "start-end perms offset dev inode [path]".
            if let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                finish(cur.take(), &mut found);
                let perms = fields.next().unwrap_or_default();
                let path = fields.nth(3).unwrap_or_default();
                cur = Some(Header {
                    start,
                    len: end.saturating_sub(start),
                    eligible: perms.starts_with('r')
                        && !perms.contains('w')
                        && path.starts_with('/')
                        && !path.starts_with("/dev/"),
                    rss_kib: 0,
                    anon_kib: None,
                    swap_kib: None,
                    flags_clean: false,
                    locked: false,
                });
                continue;
            }
        }
        let Some(h) = cur.as_mut() else { continue };
        let kib = || fields.clone().next().and_then(|v| v.parse::<u64>().ok());
        match first {
            "Rss:" => h.rss_kib = kib().unwrap_or(0),
            "Anonymous:" => h.anon_kib = kib(),
            // A private copy in swap is not in `Anonymous`, and MADV_DONTNEED frees it.
            "Swap:" => h.swap_kib = kib(),
            // mlockall (vrrp_no_swap, checker_no_swap) pins pages; leave them.
            "Locked:" => h.locked = kib().is_some_and(|v| v > 0),
            "VmFlags:" => h.flags_clean = !fields.any(|f| f == "lo" || f == "ac"),
            _ => {}
        }
    }
    finish(cur.take(), &mut found);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One smaps entry: a header, then the lines that decide whether it may be dropped.
    fn entry(start: u64, perms: &str, path: &str, kib: [u64; 4], flags: &str) -> String {
        let [rss, anon, swap, locked] = kib;
        format!(
            "{start:x}-{:x} {perms} 00000000 08:01 1234 {path}\n\
             Rss: {rss:>8} kB\nAnonymous: {anon:>8} kB\nSwap: {swap:>8} kB\n\
             Locked: {locked:>8} kB\nVmFlags: {flags}\n",
            start + 0x10_0000
        )
    }

    #[test]
    fn only_read_only_file_mappings_without_a_private_page_are_dropped() {
        let bin = "/usr/sbin/keepalived-rs";
        let smaps = [
            entry(0x1000_0000, "r--p", bin, [400, 0, 0, 0], "rd mr mw me"),
            // RELRO: relocated pages in memory, in swap, or none resident at the moment.
            entry(0x1010_0000, "r--p", bin, [396, 396, 0, 0], "rd mr mw me ac"),
            entry(0x1020_0000, "r--p", bin, [4, 0, 392, 0], "rd mr mw me"),
            entry(0x1030_0000, "r--p", bin, [4, 0, 0, 0], "rd mr mw me ac"),
            entry(0x1040_0000, "r-xp", bin, [1800, 0, 0, 0], "rd ex mr mw me"),
            entry(0x1050_0000, "rw-p", bin, [4, 0, 0, 0], "rd wr mr mw me ac"),
            entry(
                0x1060_0000,
                "r--p",
                "/dev/zero",
                [4, 0, 0, 0],
                "rd mr mw me",
            ),
            entry(
                0x1070_0000,
                "r-xp",
                "/usr/lib/libc.so.6",
                [0, 0, 0, 0],
                "rd ex mr mw me",
            ),
            // Locked, as counted and as flagged.
            entry(
                0x1080_0000,
                "r-xp",
                "/usr/lib/libm.so.6",
                [64, 0, 0, 64],
                "rd ex mr mw me",
            ),
            entry(
                0x1090_0000,
                "r-xp",
                "/usr/lib/libm.so.6",
                [64, 0, 0, 0],
                "rd ex mr mw me lo",
            ),
            entry(
                0x10a0_0000,
                "r-xp",
                "[vdso]",
                [8, 0, 0, 0],
                "rd ex mr mw me",
            ),
            entry(
                0x10b0_0000,
                "r--s",
                "/memfd:x (deleted)",
                [8, 0, 0, 0],
                "rd sh mr mw me",
            ),
        ]
        .concat();
        let dropped: Vec<_> = clean_file_mappings(&smaps)
            .into_iter()
            .map(|m| (m.start, m.len, m.rss_kib))
            .collect();
        assert_eq!(
            dropped,
            [
                (0x1000_0000, 0x10_0000, 400),
                (0x1040_0000, 0x10_0000, 1800),
                (0x10b0_0000, 0x10_0000, 8),
            ]
        );
    }

    #[test]
    fn a_mapping_whose_smaps_lacks_the_anonymous_line_is_left_alone() {
        let text = "7f0000000000-7f0000010000 r--p 00000000 08:01 5 /lib/x.so\nRss: 64 kB\n";
        assert_eq!(clean_file_mappings(text), []);
    }

    /// The Rss smaps gives for the mapping that starts at `start`.
    fn rss_of(start: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let header = format!("{start:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&header));
        lines
            .find_map(|l| l.strip_prefix("Rss:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    }

    #[test]
    fn unmapped_pages_read_back_the_file_and_leave_rss() {
        use std::os::fd::AsRawFd;
        struct Removed(std::path::PathBuf);
        impl Drop for Removed {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        let path = Removed(std::env::temp_dir().join(format!("unmap-test-{}", std::process::id())));
        let content: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path.0, &content).unwrap();
        let file = std::fs::File::open(&path.0).unwrap();
        // SAFETY: a fresh read-only private mapping of a file only this test writes.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                content.len(),
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED);
        // SAFETY: the mapping is content.len() bytes long and stays mapped until munmap.
        let view = unsafe { std::slice::from_raw_parts(map as *const u8, content.len()) };
        let sum = |v: &[u8]| v.iter().step_by(4096).map(|&b| u64::from(b)).sum::<u64>();
        assert_eq!(sum(view), sum(&content));
        assert_eq!(rss_of(map as usize), 256);

        let dropped = unmap_startup_pages();
        assert!(dropped >= 256, "only {dropped} KiB unmapped");
        assert_eq!(rss_of(map as usize), 0);
        assert_eq!(
            view,
            &content[..],
            "the pages read back differ from the file"
        );
        assert_eq!(rss_of(map as usize), 256);

        // SAFETY: unmapping the mapping made above, no longer borrowed.
        unsafe { libc::munmap(map, content.len()) };
    }
}
