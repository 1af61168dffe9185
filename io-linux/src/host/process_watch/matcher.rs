//! Which processes a `vrrp_track_process` counts: keepalived's name and parameter tests
//! (`read_procs()`, `check_process()` and `check_params()` in
//! `keepalived/core/track_process.c`), over the bytes /proc gives, which are the
//! process's to choose and so are never trusted to be well formed.

use keepalived_engine::config::model::{ParamMatch, TrackProcess};

/// The longest name the kernel keeps for a process (`TASK_COMM_LEN` − 1): /proc/PID/stat
/// and PROC_EVENT_COMM carry at most this many bytes of it.
pub(crate) const COMM_MAX: usize = 15;

/// One tracker's test of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matcher {
    /// `process`'s first word: the process name, or with `full_command` the command
    /// line's first element (argv[0]).
    path: Vec<u8>,
    /// The configured parameters, each followed by a NUL, as /proc/PID/cmdline holds
    /// them (`process_params`).
    params: Vec<u8>,
    /// `None`: no parameter test (`PARAM_MATCH_NONE`).
    param_match: Option<ParamMatch>,
    /// Matched against the command line rather than the process name.
    full_command: bool,
}

impl Matcher {
    /// The test `vrrp_tprocess_process_handler()` and its siblings build: parameters
    /// after the name are matched exactly unless `param_match` says otherwise, and
    /// parameters or `param_match` imply `full_command`. Without either, no parameter
    /// test is made and the name is matched as `full_command` says.
    pub(crate) fn new(t: &TrackProcess) -> Matcher {
        let path = t.process.clone().unwrap_or_default().into_bytes();
        let mut params = Vec::new();
        for p in &t.parameters {
            params.extend_from_slice(p.as_bytes());
            params.push(0);
        }
        let param_match = t
            .param_match
            .or((!t.parameters.is_empty()).then_some(ParamMatch::Exact));
        Matcher {
            path,
            params,
            param_match,
            full_command: t.full_command || param_match.is_some(),
        }
    }

    /// Whether the command line is needed to decide (`vrrp_use_process_cmdline`).
    pub(crate) fn full_command(&self) -> bool {
        self.full_command
    }

    /// A name matched against the process name that the kernel's 15 bytes can never
    /// hold: keepalived compares the whole name with the truncated one, which never
    /// matches, and so does this.
    pub(crate) fn name_too_long(&self) -> bool {
        !self.full_command && self.path.len() > COMM_MAX
    }

    /// How much of /proc/PID/cmdline decides a match: the configured name, its NUL and
    /// the parameters, and one byte more, so that a command line longer than an exact
    /// match allows is seen to be longer (`vrrp_max_process_name_len` + 1).
    pub(crate) fn cmdline_needed(&self) -> usize {
        if self.full_command {
            self.path.len() + 1 + self.params.len() + 1
        } else {
            0
        }
    }

    /// Whether a process with this name (`comm`) and command line matches. `cmdline` is
    /// at most [`Matcher::cmdline_needed`] bytes of /proc/PID/cmdline, `None` when it was
    /// not read.
    pub(crate) fn matches(&self, comm: &[u8], cmdline: Option<&[u8]>) -> bool {
        if !self.full_command {
            return comm == self.path.as_slice();
        }
        let Some(cmdline) = cmdline else {
            return false;
        };
        // argv[0] ends at the first NUL. A process that rewrote its command line into one
        // string (nginx's workers) has no NUL at all, and is all argv[0].
        match cmdline.iter().position(|&b| b == 0) {
            Some(n) => {
                &cmdline[..n] == self.path.as_slice() && self.params_match(&cmdline[n + 1..])
            }
            None => cmdline == self.path.as_slice() && self.params_match_without_nul(),
        }
    }

    /// `check_params()`: `params` is the command line after argv[0] and its NUL.
    fn params_match(&self, params: &[u8]) -> bool {
        let want = self.params.as_slice();
        match self.param_match {
            None => true,
            // With no configured parameters, the command line must have none either.
            Some(ParamMatch::Exact) => params == want,
            Some(ParamMatch::Partial) => params.starts_with(want),
            // The last configured parameter's NUL is left out, so the command line's
            // last compared parameter may run on.
            Some(ParamMatch::Initial) => params.starts_with(&want[..want.len().saturating_sub(1)]),
        }
    }

    /// `check_params()` on a command line without a NUL: its parameters' length is -1,
    /// which as a size is larger than any configured, so `exact` fails and the others
    /// pass only when there are no parameters to compare (those with parameters would
    /// compare bytes past the command line: never a match here).
    fn params_match_without_nul(&self) -> bool {
        match self.param_match {
            None => true,
            Some(ParamMatch::Exact) => false,
            Some(ParamMatch::Initial | ParamMatch::Partial) => self.params.is_empty(),
        }
    }
}

/// What /proc/PID/stat says of a process: its name, state, parent and start time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    pub comm: Vec<u8>,
    pub state: u8,
    pub ppid: i32,
    /// Clock ticks after boot that the process started (field 22); tells a reused pid
    /// from the process that had it.
    pub start: Option<u64>,
}

impl Stat {
    /// Parses `PID (COMM) S PPID … STARTTIME …`. The name is what lies between the
    /// first `(` and the last `)`: a name may itself hold parentheses and spaces, and
    /// every field after it is a number. `None` if the line is not of that shape.
    pub(crate) fn parse(line: &[u8]) -> Option<Stat> {
        let open = line.iter().position(|&b| b == b'(')?;
        let close = line.iter().rposition(|&b| b == b')')?;
        if close < open {
            return None;
        }
        let comm = line[open + 1..close].to_vec();
        let rest = std::str::from_utf8(line.get(close + 1..)?).ok()?;
        let mut fields = rest.split_ascii_whitespace();
        let state = *fields.next()?.as_bytes().first()?;
        let ppid = fields.next()?.parse().ok()?;
        // STARTTIME is field 22; the state is field 3 and the parent field 4.
        let start = fields.nth(17).and_then(|s| s.parse().ok());
        Some(Stat {
            comm,
            state,
            ppid,
            start,
        })
    }

    /// A zombie has exited and is waiting for its parent: keepalived's scan skips it.
    pub(crate) fn zombie(&self) -> bool {
        self.state == b'Z'
    }
}

/// The name a PROC_EVENT_COMM carries: up to its first NUL.
pub(crate) fn event_comm(raw: &[u8]) -> &[u8] {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    &raw[..end]
}

/// A tracker "p" for `process` (its words after the first are parameters) and
/// `param_match` as a config writes it ("" for none, "exact" for the bare keyword), with
/// the model's defaults otherwise: what the tests of this module's siblings start from.
#[cfg(test)]
pub(crate) fn test_tracker(process: &str, param_match: &str, full_command: bool) -> TrackProcess {
    let mut words = process.split(' ');
    TrackProcess {
        name: "p".into(),
        process: words.next().map(str::to_string),
        parameters: words.map(str::to_string).collect(),
        param_match: match param_match {
            "" => None,
            "exact" => Some(ParamMatch::Exact),
            "initial" => Some(ParamMatch::Initial),
            "partial" => Some(ParamMatch::Partial),
            other => panic!("no param_match {other}"),
        },
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: None,
        fork_delay_us: None,
        terminate_delay_us: None,
        full_command,
    }
}

#[cfg(test)]
mod tests {
    use super::test_tracker as tracker;
    use super::*;

    const NGINX: &[u8] = b"/usr/sbin/nginx\0-g\0daemon off;\0";

    #[test]
    fn a_name_alone_is_matched_against_the_process_name_only() {
        let m = Matcher::new(&tracker("nginx", "", false));
        assert!(!m.full_command());
        assert_eq!(m.cmdline_needed(), 0);
        assert!(m.matches(b"nginx", None));
        assert!(m.matches(b"nginx", Some(b"something else\0")));
        assert!(!m.matches(b"nginx2", None));
        assert!(!m.matches(b"ngin", None));
    }

    #[test]
    fn full_command_matches_argv0_and_ignores_parameters() {
        let m = Matcher::new(&tracker("/usr/sbin/nginx", "", true));
        assert!(m.matches(b"whatever", Some(NGINX)));
        assert!(m.matches(b"nginx", Some(b"/usr/sbin/nginx\0")));
        assert!(!m.matches(b"nginx", Some(b"nginx\0-g\0")));
        assert!(!m.matches(b"nginx", None), "no command line read, no match");
        assert!(
            !m.matches(b"nginx", Some(b"")),
            "a kernel thread's is empty"
        );
    }

    #[test]
    fn parameters_imply_full_command_and_are_matched_exactly_by_default() {
        let m = Matcher::new(&tracker("/usr/sbin/nginx -g", "", false));
        assert!(m.full_command());
        assert!(m.matches(b"", Some(b"/usr/sbin/nginx\0-g\0")));
        assert!(
            !m.matches(b"", Some(NGINX)),
            "more parameters than configured"
        );
        assert!(!m.matches(b"", Some(b"/usr/sbin/nginx\0")));
    }

    #[test]
    fn param_match_implies_full_command_even_without_parameters() {
        // Bare: the command line must have no parameters at all.
        let m = Matcher::new(&tracker("/usr/sbin/nginx", "exact", false));
        assert!(m.full_command());
        assert!(m.matches(b"", Some(b"/usr/sbin/nginx\0")));
        assert!(!m.matches(b"", Some(NGINX)));
        assert!(
            !m.matches(b"nginx", Some(b"nginx\0")),
            "argv[0], not the process name"
        );
        // initial and partial with nothing to compare take any parameters.
        for kind in ["initial", "partial"] {
            let m = Matcher::new(&tracker("/usr/sbin/nginx", kind, false));
            assert!(m.full_command(), "{kind}");
            assert!(m.matches(b"", Some(NGINX)), "{kind}");
            assert!(m.matches(b"", Some(b"/usr/sbin/nginx\0")), "{kind}");
            assert!(!m.matches(b"nginx", Some(b"nginx\0")), "{kind}");
        }
    }

    #[test]
    fn initial_lets_the_last_parameter_run_on() {
        let m = Matcher::new(&tracker("/usr/sbin/nginx -g", "initial", false));
        assert!(m.full_command());
        assert!(m.matches(b"", Some(NGINX)));
        // `initial`: the last configured parameter may be cut short.
        let m = Matcher::new(&tracker("/usr/sbin/nginx -g daemon", "initial", false));
        assert!(m.matches(b"", Some(NGINX)));
        assert!(!m.matches(b"", Some(b"/usr/sbin/nginx\0-g\0\0")));
        assert!(!m.matches(b"", Some(b"/usr/sbin/nginx\0-c\0daemon off;\0")));
    }

    #[test]
    fn partial_wants_whole_parameters_and_allows_more() {
        let m = Matcher::new(&tracker("/usr/sbin/nginx -g daemon", "partial", false));
        assert!(
            !m.matches(b"", Some(NGINX)),
            "'daemon off;' is not 'daemon'"
        );
        let m = Matcher::new(&tracker("/usr/sbin/nginx -g", "partial", false));
        assert!(m.matches(b"", Some(NGINX)));
        assert!(m.matches(b"", Some(b"/usr/sbin/nginx\0-g\0")));
        assert!(!m.matches(b"", Some(b"/usr/sbin/nginx\0-gx\0")));
        assert!(!m.matches(b"", Some(b"/usr/sbin/nginx\0")));
    }

    #[test]
    fn exact_wants_the_same_parameters_and_no_more() {
        let m = Matcher::new(&tracker("/bin/sleep 1000", "exact", false));
        assert_eq!(m.cmdline_needed(), b"/bin/sleep\x001000\0".len() + 1);
        assert!(m.matches(b"sleep", Some(b"/bin/sleep\x001000\0")));
        assert!(!m.matches(b"sleep", Some(b"/bin/sleep\x0010000\0")));
        assert!(!m.matches(b"sleep", Some(b"/bin/sleep\x001000\0x")));
        assert!(!m.matches(b"sleep", Some(b"/bin/sleep\x00100\0")));
    }

    #[test]
    fn a_command_line_without_nul_has_no_parameters() {
        // nginx workers rewrite theirs as "nginx: worker process".
        let m = Matcher::new(&tracker("nginx: worker process", "initial", true));
        assert!(!m.matches(b"nginx", Some(b"nginx: worker process")));
        let m = Matcher::new(&tracker("nginx:", "", true));
        assert!(!m.matches(b"nginx", Some(b"nginx: worker process")));
        // Quoted in the config, the whole string is the name: it matches unless exact
        // parameters (none) are asked for, since keepalived then sees a length of -1.
        for (kind, expected) in [
            ("", true),
            ("initial", true),
            ("partial", true),
            ("exact", false),
        ] {
            let t = TrackProcess {
                process: Some("nginx: worker process".into()),
                ..tracker("x", kind, true)
            };
            assert_eq!(
                Matcher::new(&t).matches(b"nginx", Some(b"nginx: worker process")),
                expected,
                "{kind:?}"
            );
        }
        let m = Matcher::new(&tracker("/x y", "partial", false));
        assert!(
            !m.matches(b"x", Some(b"/x")),
            "no parameters where one is wanted"
        );
    }

    #[test]
    fn names_longer_than_the_kernel_keeps_never_match_the_process_name() {
        let m = Matcher::new(&tracker("a-very-long-daemon", "", false));
        assert!(m.name_too_long());
        assert!(!m.matches(b"a-very-long-dae", None));
        let m = Matcher::new(&tracker("a-very-long-daemon", "", true));
        assert!(!m.name_too_long(), "argv[0] is not truncated");
        assert!(m.matches(b"a-very-long-dae", Some(b"a-very-long-daemon\0")));
        assert!(!Matcher::new(&tracker("fifteen-chars15", "", false)).name_too_long());
    }

    #[test]
    fn stat_lines_parse_whatever_the_name_holds() {
        let s = Stat::parse(
            b"1234 (sleep) S 1 1234 1234 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 98765 8192 100",
        )
        .unwrap();
        assert_eq!(
            s,
            Stat {
                comm: b"sleep".to_vec(),
                state: b'S',
                ppid: 1,
                start: Some(98765)
            }
        );
        let s = Stat::parse(b"77 (a) Z (b) R 5 77").unwrap();
        assert_eq!(
            (s.comm.as_slice(), s.state, s.ppid),
            (&b"a) Z (b"[..], b'R', 5)
        );
        assert_eq!(s.start, None, "a line cut short has no start time");
        assert!(Stat::parse(b"9 (x) Z 1 9").unwrap().zombie());
        let s = Stat::parse(b"12 (we\xffird \n) S 3 0").unwrap();
        assert_eq!(s.comm, b"we\xffird \n");
        for bad in [
            &b""[..],
            b"12 sleep S 1",
            b"12 (sleep",
            b"12 )sleep( S 1",
            b"12 (sleep) ",
            b"12 (sleep) S",
            b"12 (sleep) S x",
            b"12 (sleep) \xff 1",
        ] {
            assert_eq!(Stat::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn event_names_end_at_their_nul() {
        assert_eq!(event_comm(b"sleep\0\0\0\0\0\0\0\0\0\0\0"), b"sleep");
        assert_eq!(event_comm(b"0123456789abcdef"), b"0123456789abcdef");
    }
}
