//! keepalived's command line (`parse_cmdline()`, `keepalived/core/main.c`).

use std::ffi::OsString;
use std::path::PathBuf;

pub(crate) const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    pub config_file: Option<PathBuf>,
    pub vrrp_only: bool,
    pub check_only: bool,
    pub log_console: bool,
    pub log_detail: bool,
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
    pub snmp: bool,
    pub config_id: Option<String>,
    pub signum: Option<String>,
    pub config_test: Option<Option<PathBuf>>,
    pub json: bool,
    pub decode_pcap: Option<PathBuf>,
    pub version: bool,
    pub help: bool,
    /// Internal: this process is a child the parent re-executed (`--child=vrrp`), as
    /// keepalived's children are started with their role.
    pub child: Option<crate::host::process::Process>,
}

impl Options {
    pub fn config_path(&self) -> PathBuf {
        self.config_file
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))
    }
}

pub const USAGE: &str = "Usage: keepalived-rs [OPTION...]
  -f, --use-file=FILE          Use the specified configuration file
  -P, --vrrp                   Only run with VRRP subsystem
  -C, --check                  Only run with Health-checker subsystem
  -l, --log-console            Log messages to local console
  -D, --log-detail             Detailed log messages
  -S, --log-facility=[0-7]     Set syslog facility to LOG_LOCAL[0-7]
  -g, --log-file=FILE          Also log to FILE (default /tmp/keepalived.log)
  -G, --no-syslog              Don't log via syslog
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
  -c, --checkers_pid=FILE      Use specified pidfile for checkers child process
  -x, --snmp                   Enable SNMP subsystem
  -i, --config-id ID           Skip any configuration lines beginning '@' that don't match ID
      --signum=SIGFUNC         Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON, TDUMP
  -t, --config-test[=LOG_FILE] Check the configuration for obvious errors
      --json                   With -t: print the resolved configuration as JSON;
                               with --decode-pcap: print the decode as JSON
      --decode-pcap=FILE       Decode the VRRP adverts, GARPs and NAs of a pcap/pcapng
                               capture; with -f, show each receive check of each instance
  -T, --genhash                Enter genhash mode: print the MD5 of a URL's body
                               (must be the first option; -T -h for its options)
  -v, --version                Display the version number
  -h, --help                   Display this help message
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

pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Options, String> {
    use lexopt::prelude::*;
    let mut o = Options::default();
    let mut p = lexopt::Parser::from_iter(args);
    let path = |v: OsString| PathBuf::from(v);
    let text = |v: OsString| {
        v.into_string()
            .map_err(|_| "argument is not valid UTF-8".to_string())
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Short('f') | Long("use-file") => {
                o.config_file = Some(path(p.value().map_err(|e| e.to_string())?))
            }
            Short('P') | Long("vrrp") => o.vrrp_only = true,
            Short('C') | Long("check") => o.check_only = true,
            Short('l') | Long("log-console") => o.log_console = true,
            Short('D') | Long("log-detail") => o.log_detail = true,
            Short('S') | Long("log-facility") => {
                o.log_facility = Some(text(p.value().map_err(|e| e.to_string())?)?)
            }
            Short('g') | Long("log-file") => o.log_file = Some(p.optional_value().map(path)),
            Short('G') | Long("no-syslog") => o.no_syslog = true,
            Short('X') | Long("release-vips") => o.release_vips = true,
            Short('V') | Long("dont-release-vrrp") => o.dont_release_vrrp = true,
            Short('I') | Long("dont-release-ipvs") => o.dont_release_ipvs = true,
            Short('R') | Long("dont-respawn") => o.dont_respawn = true,
            Short('n') | Long("dont-fork") => o.dont_fork = true,
            Short('d') | Long("dump-conf") => o.dump_conf = true,
            Short('p') | Long("pid") => {
                o.pid_file = Some(path(p.value().map_err(|e| e.to_string())?))
            }
            Short('r') | Long("vrrp_pid") => {
                o.vrrp_pid_file = Some(path(p.value().map_err(|e| e.to_string())?))
            }
            Short('c') | Long("checkers_pid") => {
                o.checkers_pid_file = Some(path(p.value().map_err(|e| e.to_string())?))
            }
            Short('x') | Long("snmp") => o.snmp = true,
            Short('i') | Long("config-id") => {
                o.config_id = Some(text(p.value().map_err(|e| e.to_string())?)?)
            }
            Long("signum") => o.signum = Some(text(p.value().map_err(|e| e.to_string())?)?),
            Short('t') | Long("config-test") => o.config_test = Some(p.optional_value().map(path)),
            Long("json") => o.json = true,
            Long("decode-pcap") => {
                o.decode_pcap = Some(path(p.value().map_err(|e| e.to_string())?))
            }
            Short('v') | Long("version") => o.version = true,
            Short('h') | Long("help") => o.help = true,
            Short('T') | Long("genhash") => {
                return Err("-T/--genhash must be the first option".into())
            }
            Long("child") => {
                let v = text(p.value().map_err(|e| e.to_string())?)?;
                o.child = Some(
                    crate::host::process::Process::from_arg(&v)
                        .ok_or_else(|| format!("unknown child process '{v}'"))?,
                )
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
    if let Some(f) = &o.log_facility {
        let ok = f.parse::<u8>().is_ok_and(|n| n <= 7)
            || matches!(f.as_str(), "user" | "daemon")
            || f.strip_prefix("local")
                .and_then(|n| n.parse::<u8>().ok())
                .is_some_and(|n| n <= 7);
        if !ok {
            return Err(format!(
                "invalid log facility '{f}': expected 0-7, local0-local7, user or daemon"
            ));
        }
    }
    Ok(o)
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
        "TDUMP" => 64,
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

    #[test]
    fn keepalived_flags_parse() {
        let o = parse(args(
            "-t -d -f /x.conf -i r1 -l -D -S 3 -n -p /p -r /r -c /c -R -V -I",
        ))
        .unwrap();
        assert_eq!(o.config_test, Some(None));
        assert!(o.dump_conf && o.log_console && o.log_detail && o.dont_fork && o.dont_respawn);
        assert_eq!(o.config_file, Some(PathBuf::from("/x.conf")));
        assert_eq!(o.config_id.as_deref(), Some("r1"));
        assert_eq!(o.log_facility.as_deref(), Some("3"));
        let o = parse(args("--config-test=/tmp/log -flocal.conf")).unwrap();
        assert_eq!(o.config_test, Some(Some(PathBuf::from("/tmp/log"))));
        assert_eq!(o.config_file, Some(PathBuf::from("local.conf")));
        assert!(parse(args("-S 9")).is_err());
        assert!(parse(args("--bogus")).is_err());
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
        assert!(parse(b).unwrap_err().contains("first option"));
        let c: Vec<OsString> = ["/usr/bin/genhash", "-s", "::1"]
            .map(OsString::from)
            .to_vec();
        assert_eq!(genhash_args(&c).unwrap(), c[1..].to_vec());
    }

    #[test]
    fn signum_names() {
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("NOPE"), None);
    }
}
