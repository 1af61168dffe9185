//! keepalived's command line (`parse_cmdline()`, `keepalived/core/main.c`). Every option
//! keepalived 2.2.7 registers, in any of its builds, is taken with its argument, and long
//! options may be cut to a unique prefix as getopt_long() allows. An option that cannot
//! mean anything here is accepted and named in [`Options::warnings`], so an existing
//! `DAEMON_ARGS` line never stops the daemon from starting; only what keepalived itself
//! refuses (an unknown option, a missing argument) is refused, with its exit code 1.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

pub(crate) const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

/// `-M` without a pattern: keepalived's `core_dump_pattern` default.
pub const DEFAULT_CORE_PATTERN: &str = "core";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub config_file: Option<PathBuf>,
    /// `-C` took the VRRP process out (keepalived's `DAEMON_VRRP` bit cleared); a later
    /// `--all` puts it back.
    pub no_vrrp: bool,
    /// `-P` took the checker process out (`DAEMON_CHECKERS` cleared); a later `--all`
    /// puts it back.
    pub no_checker: bool,
    /// `-B` took the BFD process out (`DAEMON_BFD` cleared); a later `--all` puts it
    /// back. `-P` and `-C` leave it alone, as keepalived's do.
    pub no_bfd: bool,
    /// `--all`: a child runs even when the configuration gives it nothing to do
    /// (`RUN_ALL_CHILDREN`).
    pub run_all: bool,
    pub log_console: bool,
    pub log_detail: bool,
    /// `-S`: a facility number 0-7 (LOG_LOCAL0-7), `user` or `daemon`.
    pub log_facility: Option<String>,
    pub log_file: Option<Option<PathBuf>>,
    pub no_syslog: bool,
    pub dont_release_vrrp: bool,
    pub dont_release_ipvs: bool,
    pub release_vips: bool,
    pub dont_respawn: bool,
    pub dont_fork: bool,
    pub dump_conf: bool,
    pub pid_file: Option<PathBuf>,
    pub vrrp_pid_file: Option<PathBuf>,
    pub checkers_pid_file: Option<PathBuf>,
    /// `-b`: the BFD child's pidfile.
    pub bfd_pid_file: Option<PathBuf>,
    /// `-u`: the file creation mask, set before anything is created.
    pub umask: Option<u32>,
    /// `-s`: the network namespace to run in, overriding the configuration's
    /// `net_namespace`.
    pub namespace: Option<String>,
    /// `-m` (and `-M`): core files of any size, and the process dumpable.
    pub core_dump: bool,
    /// `-M[PATN]`: the kernel's core_pattern while the daemon runs.
    pub core_pattern: Option<OsString>,
    /// `-a`: every address the kernel adds or removes is logged.
    pub address_monitoring: bool,
    pub config_id: Option<String>,
    /// `-e`: every include check from the start of the configuration
    /// (`include_check_set(NULL)`), so a missing or unreadable include stops the start.
    pub all_config: bool,
    /// `--ignore-sigint`: SIGINT does not stop any of the processes.
    pub ignore_sigint: bool,
    pub signum: Option<String>,
    pub config_test: Option<Option<PathBuf>>,
    pub json: bool,
    /// `--log-format`: the console's and the log file's lines as text or JSON.
    pub log_format: LogFormat,
    /// `--metrics=ADDR:PORT`: where the parent serves `/metrics`, `/healthz` and
    /// `/status` ([`crate::metrics`]).
    pub metrics: Option<std::net::SocketAddr>,
    /// `-x` and `-A`: the SNMP sub-agent ([`crate::snmp`]).
    pub snmp: crate::snmp::SnmpOptions,
    pub decode_pcap: Option<PathBuf>,
    pub version: bool,
    pub help: bool,
    /// Internal: this process is a child the parent re-executed, as keepalived's children
    /// are started with their role: the parent's command line and `--child=vrrp` last.
    pub child: Option<crate::host::process::Process>,
    /// What the parent warns about at start: options accepted that do nothing here, values
    /// keepalived would not take either (it goes on without them too), and arguments that
    /// are not options. Each names the option.
    pub warnings: Vec<String>,
}

impl Options {
    pub fn config_path(&self) -> PathBuf {
        self.config_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }

    /// Whether the parent starts the VRRP child: unless `-C`. keepalived's
    /// `running_vrrp()` also leaves it out when the configuration has no VRRP part; here
    /// it always runs (it then only holds its pidfile), which is what `--all` asks for.
    pub fn runs_vrrp(&self) -> bool {
        !self.no_vrrp
    }

    /// Whether the parent starts the checker child (`running_checker()`): unless `-P`,
    /// and only when there are virtual servers to check, or with `--all`, or with `-C`
    /// (which runs nothing else).
    pub fn runs_checker(&self, has_virtual_servers: bool) -> bool {
        !self.no_checker && (has_virtual_servers || self.run_all || self.no_vrrp)
    }
}

/// How the console and the log file write a line (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `2026-12-05T17:11:24.853850Z  INFO (VI_1) Entering MASTER STATE instance=VI_1 vrid=51`
    #[default]
    Text,
    /// One JSON object a line, the fields as keys, for log pipelines.
    Json,
}

/// A command line keepalived-rs does not run with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CliError {
    /// What keepalived refuses too (its `bad_option`): each unknown option and each
    /// missing argument, named.
    #[error("{}", .0.join("\n"))]
    Refused(Vec<String>),
    /// keepalived runs genhash on the options after a late `-T` and ignores those before
    /// it; refusing says so instead of acting on half the line.
    #[error("-T/--genhash must be the first option")]
    GenhashNotFirst,
}

impl CliError {
    /// keepalived exits 1 on a bad option.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Refused(_) => 1,
            CliError::GenhashNotFirst => 2,
        }
    }
}

pub const USAGE: &str = "Usage: keepalived-rs [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
                               default '/etc/keepalived/keepalived.conf'
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -B, --no_bfd                 Don't run BFD subsystem
      --all                    Force all child processes to run, even if have no
                               configuration
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=([0-7]|local[0-7]|user|daemon)
                               Set syslog facility to LOG_LOCAL[0-7], user or daemon
                               (default)
  -g, --log-file=FILE          Also log to FILE (default /tmp/keepalived.log)
      --flush-log-file         Flush log file on write (always done: each line is
                               written as it is logged)
  -G, --no-syslog              Don't log via syslog
  -u, --umask=MASK             umask for file creation (in numeric form: 022, 0x12
                               or 18)
  -X, --release-vips           Drop VIPs on transition from signal (always done:
                               a VRRP child starting as backup removes any VIP
                               it finds, and leaving master removes them all)
  -V, --dont-release-vrrp      Don't remove VRRP VIPs and VROUTEs on daemon stop
  -I, --dont-release-ipvs      Don't remove IPVS topology on daemon stop
  -R, --dont-respawn           Don't respawn child processes
  -n, --dont-fork              Don't fork the daemon process
  -d, --dump-conf              Dump the configuration data
  -p, --pid=FILE               Use specified pidfile for parent process
  -r, --vrrp_pid=FILE          Use specified pidfile for VRRP child process
  -T, --genhash                Enter genhash mode: print the MD5 of a URL's body
                               (must be the first option; -T -h for its options)
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -a, --address-monitoring     Report all address additions/deletions notified via
                               netlink
  -b, --bfd_pid=FILE           Use specified pidfile for BFD child process
  -x, --snmp                   Enable SNMP subsystem (an AgentX sub-agent serving
                               the KEEPALIVED-MIB, RFC 2787 and RFC 6527 MIBs)
  -A, --snmp-agent-socket=FILE Use the specified socket for master agent
  -s, --namespace=NAME         Run in network namespace NAME (overrides config)
  -m, --core-dump              Produce core dump if terminate abnormally
  -M, --core-dump-pattern=PATN Also set /proc/sys/kernel/core_pattern to PATN (default
                               'core'); the old pattern is put back on exit
  -e, --all-config             Error if any configuration file missing (all the checks
                               of include_check)
  -i, --config-id id           Skip any configuration lines beginning '@' that don't
                               match id or any lines beginning @^ that do match.
                               The config-id defaults to the node name
      --ignore-sigint          Ignore SIGINT (default means terminate)
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS,
                               STATS_CLEAR, JSON
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors, output to
                               stderr by default
      --json                   With -t: print the resolved configuration as JSON;
                               with --decode-pcap: print the decode as JSON
      --decode-pcap=FILE       Decode the VRRP adverts, GARPs and NAs of a pcap/pcapng
                               capture; with -f, show each receive check of each instance
      --log-format=FORMAT      text (the default) or json: how -l and -g write each
                               line (syslog and the journal take it as keepalived's)
      --metrics=ADDR:PORT      Serve /metrics (Prometheus text, the keepalived
                               exporter's names), /healthz and /status over HTTP
  -v, --version                Display the version number
  -h, --help                   Display this help message
Options of keepalived's debugging builds, accepted with a warning that they do nothing:
  -L, --mem-check-log, --no-mem-check, --perf[=PERF_TYPE], --debug[=...];
  and keepalived's internal --config-fd=FD.
A long option may be shortened to any prefix that names only it, as with keepalived.
";

/// genhash mode: `-T`/`--genhash` as the first option (keepalived's rule: options before
/// it would be ignored, so we refuse them in [`parse`] instead), or the program run under
/// the name `genhash`. The arguments for genhash, without the program name and `-T`.
pub fn genhash_args(args: &[OsString]) -> Option<Vec<OsString>> {
    let prog = args.first()?;
    let called_genhash = std::path::Path::new(prog)
        .file_name()
        .is_some_and(|n| n == "genhash");
    if called_genhash {
        return Some(args[1..].to_vec());
    }
    match args.get(1)?.to_str()? {
        "-T" | "--genhash" => Some(args[2..].to_vec()),
        _ => None,
    }
}

/// keepalived's long options: 2.2.7's `long_options[]` with every build option on, and
/// 2.3's `--ignore-sigint`. A unique prefix of one of these stands for it.
const KEEPALIVED_LONG: &[&str] = &[
    "use-file",
    "vrrp",
    "check",
    "no_bfd",
    "all",
    "log-console",
    "log-detail",
    "log-facility",
    "log-file",
    "all-config",
    "flush-log-file",
    "no-syslog",
    "umask",
    "release-vips",
    "dont-release-vrrp",
    "dont-release-ipvs",
    "dont-respawn",
    "dont-fork",
    "dump-conf",
    "pid",
    "vrrp_pid",
    "genhash",
    "checkers_pid",
    "address-monitoring",
    "bfd_pid",
    "snmp",
    "snmp-agent-socket",
    "core-dump",
    "core-dump-pattern",
    "no-mem-check",
    "mem-check-log",
    "namespace",
    "config-id",
    "signum",
    "config-test",
    "config-fd",
    "ignore-sigint",
    "perf",
    "debug",
    "version",
    "help",
];

/// keepalived-rs's own long options: only their full names, so that they never make a
/// prefix keepalived takes ambiguous.
const OWN_LONG: &[&str] = &["json", "decode-pcap", "log-format", "metrics"];

/// An option as parsed: its short letter or its full long name.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Key {
    Short(char),
    Long(&'static str),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Short(c) => write!(f, "-{c}"),
            Key::Long(name) => write!(f, "--{name}"),
        }
    }
}

/// The long option `typed` names: itself, or the one keepalived option it is a prefix of
/// (getopt_long()'s abbreviations; exact names win, so `--all` is not `--all-config`).
fn long_name(typed: &str) -> Result<&'static str, String> {
    if let Some(name) = KEEPALIVED_LONG
        .iter()
        .chain(OWN_LONG)
        .find(|n| **n == typed)
    {
        return Ok(name);
    }
    let mut candidates = KEEPALIVED_LONG
        .iter()
        .filter(|n| !typed.is_empty() && n.starts_with(typed));
    match (candidates.next(), candidates.next()) {
        (Some(name), None) => Ok(name),
        (Some(_), Some(_)) => Err(format!("ambiguous option --{typed}")),
        _ => Err(format!("unknown option --{typed}")),
    }
}

/// What the parser does after an option.
enum Flow {
    Next,
    /// `-v`, `-h` and `--signum` act at once in keepalived, whatever follows.
    Stop,
}

/// The command line (program name first) as keepalived reads it: every bad option is
/// named before the line is refused, and arguments that are not options are a warning.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Options, CliError> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let mut o = Options::default();
    // The parent appends `--child=ROLE` to its own command line, which may end in `--`
    // and arguments that are not options; taken from the end first, it is never one of
    // those.
    if args.len() > 1 {
        let role = args
            .last()
            .and_then(|a| a.to_str())
            .and_then(|a| a.strip_prefix("--child="))
            .map(str::to_string);
        if let Some(role) = role {
            let child = crate::host::process::Process::from_arg(&role).ok_or_else(|| {
                CliError::Refused(vec![format!("unknown child process '{role}'")])
            })?;
            o.child = Some(child);
            args.pop();
        }
    }
    let mut refused = Vec::new();
    let mut stray = Vec::new();
    let mut p = lexopt::Parser::from_iter(args);
    loop {
        let key = match p.next() {
            Ok(None) => break,
            Ok(Some(lexopt::Arg::Short(c))) => Key::Short(c),
            Ok(Some(lexopt::Arg::Long(typed))) => match long_name(typed) {
                Ok(name) => Key::Long(name),
                Err(why) => {
                    refused.push(why);
                    // `--unknown=value`: one refusal, not a second for the value.
                    let _ = p.optional_value();
                    continue;
                }
            },
            // keepalived prints "Unexpected argument(s)" and goes on.
            Ok(Some(lexopt::Arg::Value(v))) => {
                stray.push(v.to_string_lossy().into_owned());
                continue;
            }
            Err(e) => {
                refused.push(refusal(&e));
                continue;
            }
        };
        if matches!(key, Key::Short('T') | Key::Long("genhash")) {
            return Err(CliError::GenhashNotFirst);
        }
        match option(&mut o, &mut p, key) {
            Ok(Flow::Next) => {}
            Ok(Flow::Stop) => return Ok(o),
            Err(why) => refused.push(why),
        }
    }
    if !stray.is_empty() {
        o.warnings.push(format!(
            "unexpected argument(s) ignored: {}",
            stray.join(" ")
        ));
    }
    if refused.is_empty() {
        Ok(o)
    } else {
        Err(CliError::Refused(refused))
    }
}

fn refusal(e: &lexopt::Error) -> String {
    match e {
        lexopt::Error::MissingValue {
            option: Some(option),
        } => format!("missing parameter for option {option}"),
        lexopt::Error::UnexpectedValue { option, value } => format!(
            "option {option} takes no argument (given '{}')",
            value.to_string_lossy()
        ),
        other => other.to_string(),
    }
}

/// The argument of an option that must have one. keepalived counts `--opt=` as missing
/// but takes `-o ''`.
fn required(p: &mut lexopt::Parser, key: Key) -> Result<OsString, String> {
    match p.value() {
        Ok(v) if !(v.is_empty() && matches!(key, Key::Long(_))) => Ok(v),
        _ => Err(format!("missing parameter for option {key}")),
    }
}

/// The argument of an option that may have one: only attached (`-tFILE`,
/// `--config-test=FILE`), as getopt has it; an empty one is none.
fn optional(p: &mut lexopt::Parser) -> Option<OsString> {
    p.optional_value().filter(|v| !v.is_empty())
}

fn text(v: OsString, key: Key) -> Result<String, String> {
    v.into_string()
        .map_err(|_| format!("the argument of {key} is not valid UTF-8"))
}

/// One option and its argument, applied to `o`.
fn option(o: &mut Options, p: &mut lexopt::Parser, key: Key) -> Result<Flow, String> {
    use Key::{Long as L, Short as S};
    let path = PathBuf::from;
    match key {
        S('f') | L("use-file") => o.config_file = Some(path(required(p, key)?)),
        S('P') | L("vrrp") => o.no_checker = true,
        S('C') | L("check") => o.no_vrrp = true,
        L("all") => {
            o.run_all = true;
            o.no_vrrp = false;
            o.no_checker = false;
            o.no_bfd = false;
        }
        S('B') | L("no_bfd") => o.no_bfd = true,
        S('l') | L("log-console") => o.log_console = true,
        // A second -D is keepalived's extra detail; there is one level of detail here.
        S('D') | L("log-detail") => o.log_detail = true,
        S('S') | L("log-facility") => {
            let v = text(required(p, key)?, key)?;
            match log_facility(&v) {
                Some(f) => o.log_facility = Some(f),
                None => o.warnings.push(format!(
                    "{key}: invalid log facility '{v}' (expected 0-7, local0-local7, user or daemon): ignored"
                )),
            }
        }
        S('g') | L("log-file") => o.log_file = Some(optional(p).map(path)),
        // Each log line reaches the file in a write(2) of its own: it is always flushed.
        L("flush-log-file") => {}
        S('G') | L("no-syslog") => o.no_syslog = true,
        S('u') | L("umask") => {
            let v = text(required(p, key)?, key)?;
            match umask(&v) {
                Some(m) => o.umask = Some(m),
                None => o.warnings.push(format!(
                    "{key}: invalid umask '{v}' (expected a number up to 0777: octal with a leading 0, hex with 0x, or decimal): ignored"
                )),
            }
        }
        S('X') | L("release-vips") => o.release_vips = true,
        S('V') | L("dont-release-vrrp") => o.dont_release_vrrp = true,
        S('I') | L("dont-release-ipvs") => o.dont_release_ipvs = true,
        S('R') | L("dont-respawn") => o.dont_respawn = true,
        S('n') | L("dont-fork") => o.dont_fork = true,
        S('d') | L("dump-conf") => o.dump_conf = true,
        S('p') | L("pid") => o.pid_file = Some(path(required(p, key)?)),
        S('r') | L("vrrp_pid") => o.vrrp_pid_file = Some(path(required(p, key)?)),
        S('c') | L("checkers_pid") => o.checkers_pid_file = Some(path(required(p, key)?)),
        S('b') | L("bfd_pid") => o.bfd_pid_file = Some(path(required(p, key)?)),
        S('a') | L("address-monitoring") => o.address_monitoring = true,
        S('x') | L("snmp") => o.snmp.all = true,
        S('A') | L("snmp-agent-socket") => o.snmp.socket = Some(text(required(p, key)?, key)?),
        S('s') | L("namespace") => o.namespace = Some(text(required(p, key)?, key)?),
        S('m') | L("core-dump") => o.core_dump = true,
        S('M') | L("core-dump-pattern") => {
            o.core_dump = true;
            o.core_pattern = Some(optional(p).unwrap_or_else(|| DEFAULT_CORE_PATTERN.into()));
        }
        S('i') | L("config-id") => o.config_id = Some(text(required(p, key)?, key)?),
        S('e') | L("all-config") => o.all_config = true,
        L("ignore-sigint") => o.ignore_sigint = true,
        L("signum") => {
            o.signum = Some(text(required(p, key)?, key)?);
            return Ok(Flow::Stop);
        }
        S('t') | L("config-test") => o.config_test = Some(optional(p).map(path)),
        L("json") => o.json = true,
        L("log-format") => {
            o.log_format = match text(required(p, key)?, key)?.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => return Err(format!("--log-format takes text or json, not '{other}'")),
            }
        }
        L("metrics") => {
            let v = text(required(p, key)?, key)?;
            o.metrics = Some(v.parse().map_err(|_| {
                format!(
                    "--metrics takes an address and port (127.0.0.1:9650, [::1]:9650), not '{v}'"
                )
            })?);
        }
        L("decode-pcap") => o.decode_pcap = Some(path(required(p, key)?)),
        S('v') | L("version") => {
            o.version = true;
            return Ok(Flow::Stop);
        }
        S('h') | L("help") => {
            o.help = true;
            return Ok(Flow::Stop);
        }
        _ => return ignored(o, p, key),
    }
    Ok(Flow::Next)
}

/// The options keepalived-rs takes without acting on them: each with its argument, and a
/// warning that says why it does nothing.
fn ignored(o: &mut Options, p: &mut lexopt::Parser, key: Key) -> Result<Flow, String> {
    use Key::{Long as L, Short as S};
    const MEM_CHECK: &str =
        "it drives the malloc checker of keepalived's --enable-mem-check builds, which keepalived-rs does not have";
    let (name, why) = match key {
        S('L') | L("mem-check-log") => ("-L/--mem-check-log", MEM_CHECK),
        L("no-mem-check") => ("--no-mem-check", MEM_CHECK),
        L("perf") => {
            optional(p);
            (
                "--perf",
                "keepalived's --enable-perf builds run perf on themselves; keepalived-rs does not",
            )
        }
        L("debug") => {
            optional(p);
            (
                "--debug",
                "it sets the debug switches of keepalived's --enable-debug builds, which keepalived-rs does not have (-D gives detail)",
            )
        }
        L("config-fd") => {
            required(p, key)?;
            (
                "--config-fd",
                "keepalived passes it to the process that checks a reload's configuration; keepalived-rs's parent loads a reload itself",
            )
        }
        other => return Err(format!("unknown option {other}")),
    };
    o.warnings.push(format!("{name} ignored: {why}"));
    Ok(Flow::Next)
}

/// `-S`'s value as keepalived takes it: a decimal 0-7 (LOG_LOCAL0-7), `local0`-`local7`,
/// `user` or `daemon`. The facility as [`crate::logging`] reads it, or None.
fn log_facility(v: &str) -> Option<String> {
    if v == "user" || v == "daemon" {
        return Some(v.to_string());
    }
    // read_unsigned(): strtoul's leading blanks, decimal digits only.
    let n = v.strip_prefix("local").unwrap_or(v).trim_start();
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse::<u32>()
        .ok()
        .filter(|n| *n <= 7)
        .map(|n| n.to_string())
}

/// `-u`'s value as keepalived's `set_umask()` reads it: strtoll with base 0 (leading
/// blanks, a sign, `0x` hex, `0` octal, else decimal), the whole string a number, and no
/// bit outside 0777. An empty value, which strtoll would read as 0, is refused.
fn umask(v: &str) -> Option<u32> {
    let t = v.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (radix, digits) = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (16, hex)
    } else if t.len() > 1 && t.starts_with('0') {
        (8, &t[1..])
    } else {
        (10, t)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let n = u64::from_str_radix(digits, radix).ok()?;
    if negative && n != 0 {
        return None;
    }
    u32::try_from(n).ok().filter(|m| *m <= 0o777)
}

/// `--signum`: the signal number keepalived uses for each function (`get_signum()`).
pub fn signum(name: &str) -> Option<i32> {
    // Linux numbering; SIGRTMIN is 34 and SIGRTMAX 64 for glibc programs.
    Some(match name {
        "STOP" => 15,
        "RELOAD" => 1,
        "DATA" => 10,
        "STATS" => 12,
        "STATS_CLEAR" => 64 - 1,
        "JSON" => 34 + 2,
        // TDUMP is named only by builds with THREAD_DUMP, which Debian's 2.2.7 is not;
        // no process here would act on it.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        std::iter::once("keepalived-rs")
            .chain(s.split_whitespace())
            .map(OsString::from)
            .collect()
    }

    fn ok(s: &str) -> Options {
        parse(args(s)).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn refused(s: &str) -> Vec<String> {
        match parse(args(s)) {
            Err(CliError::Refused(why)) => why,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn keepalived_flags_parse() {
        let o = ok("-t -d -f /x.conf -i r1 -l -D -S 3 -n -p /p -r /r -c /c -R -V -I");
        assert_eq!(o.config_test, Some(None));
        assert!(o.dump_conf && o.log_console && o.log_detail && o.dont_fork && o.dont_respawn);
        assert_eq!(o.config_file, Some(PathBuf::from("/x.conf")));
        assert_eq!(o.config_id.as_deref(), Some("r1"));
        assert_eq!(o.log_facility.as_deref(), Some("3"));
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
        let o = ok("--config-test=/tmp/log -flocal.conf");
        assert_eq!(o.config_test, Some(Some(PathBuf::from("/tmp/log"))));
        assert_eq!(o.config_file, Some(PathBuf::from("local.conf")));
        // Clustered short options, the last taking the next argument.
        let o = ok("-nlDf /k.conf");
        assert!(o.dont_fork && o.log_console && o.log_detail);
        assert_eq!(o.config_file, Some(PathBuf::from("/k.conf")));
    }

    /// Every option of keepalived 2.2.7's `parse_cmdline()`, in every build, with an
    /// argument where it takes one: none is refused.
    #[test]
    fn every_keepalived_option_is_accepted() {
        let lines = [
            "-f /k.conf -P -C -B --all -l -D -S 0 -g -G -u 022 -X -V -I -R -n -d -p /p -r /r",
            "-c /c -a -b /b -x -A /s -s ns1 -m -M -L -e -i id -t",
            "--use-file=/k.conf --vrrp --check --no_bfd --all --log-console --log-detail",
            "--log-facility=local7 --log-file=/tmp/l --flush-log-file --no-syslog --umask=077",
            "--release-vips --dont-release-vrrp --dont-release-ipvs --dont-respawn --dont-fork",
            "--dump-conf --pid=/p --vrrp_pid=/r --checkers_pid=/c --address-monitoring",
            "--bfd_pid=/b --snmp --snmp-agent-socket=/s --core-dump --core-dump-pattern=/tmp/c",
            "--no-mem-check --mem-check-log --namespace=ns1 --all-config --config-id=id",
            "--config-test=/tmp/t --config-fd=5 --perf --perf=all --debug --debug=TpMEvcp",
            "--ignore-sigint -gFILE -Mcore.%p -t/tmp/t --log-file --config-test",
        ];
        for line in lines {
            ok(line);
        }
        assert!(ok("--signum=RELOAD").signum.is_some());
        assert!(ok("-v").version && ok("--version").version);
        assert!(ok("-h").help && ok("--help").help);
    }

    #[test]
    fn options_that_mean_nothing_here_are_named_in_a_warning() {
        for (line, named) in [
            ("-L", "-L/--mem-check-log"),
            ("--no-mem-check", "--no-mem-check"),
            ("--perf=end", "--perf"),
            ("--debug", "--debug"),
            ("--config-fd 7", "--config-fd"),
        ] {
            let o = ok(line);
            assert_eq!(o.warnings.len(), 1, "{line}: {:?}", o.warnings);
            assert!(
                o.warnings[0].starts_with(&format!("{named} ignored: ")),
                "{line}: {:?}",
                o.warnings
            );
            // The argument was taken with the option, not left as a stray.
            assert!(!o.warnings[0].contains("unexpected"), "{line}");
        }
    }

    #[test]
    fn bfd_options_are_carried_out() {
        let o = ok("-B -b /run/x/bfd.pid");
        assert!(o.no_bfd && o.warnings.is_empty(), "{:?}", o.warnings);
        assert_eq!(o.bfd_pid_file, Some(PathBuf::from("/run/x/bfd.pid")));
        assert_eq!(
            ok("--bfd_pid=/b.pid").bfd_pid_file,
            Some(PathBuf::from("/b.pid"))
        );
        assert!(ok("--no_bfd").no_bfd);
        // keepalived's DAEMON_BFD bit: only -B clears it, --all sets it back, and -P
        // and -C (the VRRP and checker bits) leave it alone.
        assert!(!ok("-B --all").no_bfd);
        assert!(ok("--all -B").no_bfd);
        assert!(!ok("-P").no_bfd && !ok("-C").no_bfd);
        assert_eq!(refused("-b"), ["missing parameter for option -b"]);
    }

    #[test]
    fn snmp_options_are_taken() {
        let o = ok("-x -A unix:/run/agentx");
        assert!(o.snmp.all && o.warnings.is_empty());
        assert_eq!(o.snmp.socket.as_deref(), Some("unix:/run/agentx"));
        assert_eq!(
            ok("--snmp-agent-socket=tcp:localhost:705")
                .snmp
                .socket
                .as_deref(),
            Some("tcp:localhost:705")
        );
    }

    #[test]
    fn long_options_may_be_cut_to_a_unique_prefix() {
        assert!(ok("--dont-f").dont_fork);
        assert_eq!(
            ok("--use /k.conf").config_file,
            Some(PathBuf::from("/k.conf"))
        );
        assert_eq!(ok("--names=ns").namespace.as_deref(), Some("ns"));
        // An exact name wins over the longer ones it begins.
        let o = ok("--all");
        assert!(o.run_all && o.warnings.is_empty());
        assert!(ok("--vrrp").no_checker && ok("--check").no_vrrp);
        assert!(ok("--core-dump").core_pattern.is_none());
        // Two candidates: refused, as keepalived does.
        assert_eq!(refused("--log-f"), ["ambiguous option --log-f"]);
        assert_eq!(refused("--dont"), ["ambiguous option --dont"]);
        // keepalived-rs's own options only in full.
        assert_eq!(refused("--js"), ["unknown option --js"]);
        assert!(ok("--json").json);
    }

    #[test]
    fn what_keepalived_refuses_is_refused_with_its_exit_code() {
        assert_eq!(refused("--bogus"), ["unknown option --bogus"]);
        assert_eq!(refused("--bogus=1"), ["unknown option --bogus"]);
        assert_eq!(refused("-q"), ["unknown option -q"]);
        assert_eq!(refused("-f"), ["missing parameter for option -f"]);
        assert_eq!(
            refused("--use-file="),
            ["missing parameter for option --use-file"]
        );
        assert_eq!(refused("-n --vrrp=x").len(), 1);
        // Every bad option is named, not only the first.
        assert_eq!(refused("-q --bogus -n").len(), 2);
        assert_eq!(parse(args("-q")).unwrap_err().exit_code(), 1);
        // `-o ''` is an argument for keepalived (only `--opt=` counts as missing).
        let a: Vec<OsString> = ["keepalived-rs", "-i", ""].map(OsString::from).to_vec();
        assert_eq!(parse(a).unwrap().config_id.as_deref(), Some(""));
        // -v and -h act at once, whatever else is on the line.
        assert!(ok("--bogus -v").version);
        assert!(ok("-h --bogus").help);
    }

    #[test]
    fn stray_arguments_are_a_warning() {
        let o = ok("-n extra -l -- -d");
        assert!(o.dont_fork && o.log_console && !o.dump_conf);
        assert_eq!(o.warnings, ["unexpected argument(s) ignored: extra -d"]);
        // An optional argument is only ever attached: `-M pattern` is -M and a stray.
        let o = ok("-M pattern");
        assert_eq!(
            o.core_pattern.as_deref(),
            Some(DEFAULT_CORE_PATTERN.as_ref())
        );
        assert_eq!(o.warnings, ["unexpected argument(s) ignored: pattern"]);
    }

    #[test]
    fn core_dump_options() {
        let o = ok("-m");
        assert!(o.core_dump && o.core_pattern.is_none());
        let o = ok("-M");
        assert!(o.core_dump);
        assert_eq!(o.core_pattern.as_deref(), Some("core".as_ref()));
        assert_eq!(
            ok("-M/tmp/core.%p").core_pattern.as_deref(),
            Some("/tmp/core.%p".as_ref())
        );
        assert_eq!(
            ok("--core-dump-pattern=|/bin/x").core_pattern.as_deref(),
            Some("|/bin/x".as_ref())
        );
        assert_eq!(
            ok("--core-dump-pattern=").core_pattern.as_deref(),
            Some("core".as_ref())
        );
    }

    #[test]
    fn umask_is_read_as_strtoll_with_base_0() {
        for (v, want) in [
            ("022", Some(0o22)),
            ("0x12", Some(0o22)),
            ("0X1ff", Some(0o777)),
            ("18", Some(0o22)),
            ("0", Some(0)),
            ("-0", Some(0)),
            ("+077", Some(0o77)),
            (" 027", Some(0o27)),
            ("0777", Some(0o777)),
            ("1000", None),
            ("01000", None),
            ("08", None),
            ("0x", None),
            ("-1", None),
            ("22a", None),
            ("027 ", None),
            ("", None),
            ("++1", None),
        ] {
            assert_eq!(umask(v), want, "'{v}'");
        }
        assert_eq!(ok("-u 0x3f").umask, Some(0o77));
        assert_eq!(ok("--umask=63").umask, Some(0o77));
        // A bad one leaves an earlier one, and says so.
        let o = ok("-u 027 -u 999");
        assert_eq!(o.umask, Some(0o27));
        assert!(
            o.warnings[0].starts_with("-u: invalid umask '999'"),
            "{:?}",
            o.warnings
        );
    }

    #[test]
    fn log_facility_as_keepalived_reads_it() {
        for (v, want) in [
            ("0", Some("0")),
            ("7", Some("7")),
            ("03", Some("3")),
            ("local0", Some("0")),
            ("local7", Some("7")),
            ("local 5", Some("5")),
            ("user", Some("user")),
            ("daemon", Some("daemon")),
            ("8", None),
            ("local8", None),
            ("local", None),
            ("LOCAL1", None),
            ("kern", None),
            ("-1", None),
            ("", None),
        ] {
            assert_eq!(log_facility(v).as_deref(), want, "'{v}'");
        }
        // keepalived says the facility is invalid and goes on with the one it had.
        let o = ok("-S local2 -S 9");
        assert_eq!(o.log_facility.as_deref(), Some("2"));
        assert_eq!(o.warnings.len(), 1);
        assert!(o.warnings[0].contains("invalid log facility '9'"));
    }

    #[test]
    fn which_children_run_follows_the_order_of_p_c_and_all() {
        let runs = |s: &str, vs: bool| {
            let o = ok(s);
            (o.runs_vrrp(), o.runs_checker(vs))
        };
        assert_eq!(runs("", false), (true, false));
        assert_eq!(runs("", true), (true, true));
        assert_eq!(runs("--all", false), (true, true));
        assert_eq!(runs("-P", true), (true, false));
        assert_eq!(runs("-C", false), (false, true));
        // keepalived's bits: --all sets both back, a later -P/-C clears one again.
        assert_eq!(runs("-P --all", false), (true, true));
        assert_eq!(runs("--all -P", false), (true, false));
        assert_eq!(runs("--all -C", false), (false, true));
        assert_eq!(runs("-P -C", true), (false, false));
    }

    /// A child has the parent's line with `--child=ROLE` last: read as its role even
    /// after `--` or a stray, and nowhere else.
    #[test]
    fn the_child_role_is_the_last_argument() {
        use crate::host::process::Process;
        let o = ok("-n -l -- stray --child=vrrp");
        assert_eq!(o.child, Some(Process::Vrrp));
        assert!(o.dont_fork && o.log_console);
        assert_eq!(o.warnings, ["unexpected argument(s) ignored: stray"]);
        assert_eq!(
            ok("-f /k.conf --child=checker").child,
            Some(Process::Checker)
        );
        assert_eq!(ok("-n").child, None);
        assert_eq!(refused("--child=vrrp -n"), ["unknown option --child"]);
        assert_eq!(
            refused("-n --child=parent"),
            ["unknown child process 'parent'"]
        );
    }

    #[test]
    fn all_config_and_ignore_sigint_are_carried_out() {
        let o = ok("-e --ignore-sigint");
        assert!(o.all_config && o.ignore_sigint);
        assert!(o.warnings.is_empty(), "{:?}", o.warnings);
        assert!(ok("--all-c").all_config && ok("--ign").ignore_sigint);
        let o = ok("-n");
        assert!(!o.all_config && !o.ignore_sigint);
    }

    #[test]
    fn namespace_address_monitoring_and_config_id() {
        let o = ok("-s blue -a -i r2");
        assert_eq!(o.namespace.as_deref(), Some("blue"));
        assert!(o.address_monitoring);
        assert!(o.warnings.is_empty());
    }

    #[test]
    fn genhash_must_come_first() {
        let a = args("-T -s 127.0.0.1 -p 80 -u /");
        assert_eq!(genhash_args(&a).unwrap(), a[2..].to_vec());
        assert_eq!(
            genhash_args(&args("--genhash -h")).unwrap(),
            args("-h")[1..].to_vec()
        );
        let b = args("-l -T -s 127.0.0.1");
        assert!(genhash_args(&b).is_none());
        let e = parse(b).unwrap_err();
        assert_eq!(e, CliError::GenhashNotFirst);
        assert!(e.to_string().contains("first option"));
        assert_eq!(e.exit_code(), 2);
        let c: Vec<OsString> = ["/usr/bin/genhash", "-s", "::1"]
            .map(OsString::from)
            .to_vec();
        assert_eq!(genhash_args(&c).unwrap(), c[1..].to_vec());
    }

    #[test]
    fn usage_lists_every_keepalived_option() {
        for name in KEEPALIVED_LONG.iter().chain(OWN_LONG) {
            assert!(
                USAGE.contains(&format!("--{name}")),
                "--{name} missing from USAGE"
            );
        }
        for c in "fPCBlDSgGuXVIRndprTcabxAsmMeitvhL".chars() {
            assert!(USAGE.contains(&format!("-{c},")), "-{c} missing from USAGE");
        }
    }

    #[test]
    fn signum_names() {
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("NOPE"), None);
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("TDUMP"), None);
    }
}
