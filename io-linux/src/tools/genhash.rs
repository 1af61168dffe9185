//! `keepalived-rs -T` / `--genhash` (`keepalived/check/check_genhash.c`): fetches one URL
//! as HTTP_GET/SSL_GET would and prints the MD5 of its body, the value for `digest`.
//!
//! Output as keepalived 2.x: the digest in lower-case hex on a line of its own (genhash
//! 1.x printed `MD5SUM = …`; 2.x does not). With `-v`, the response header and the
//! response time are shown too (keepalived also hex-dumps header, body and digest; we do
//! not). One difference: keepalived's genhash exits 0 even when nothing was fetched; we
//! exit 1 then, so scripts can tell.

use std::ffi::OsString;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use keepalived_engine::check::probe::Endpoint;

use crate::checker::probe::http::{self, Protocol, Request, Response, TlsParams};
use crate::checker::probe::tls::TlsSetup;

pub const USAGE: &str = "Usage: keepalived-rs --genhash COMMAND [OPTIONS]
Commands:
   -s server-address -p port -u url
   -S -s server-address -p port -u url
   -h

Options:
Either long or short options are allowed.
   --use-ssl         -S       Use SSL connection to remote server.
   --use-sni         -I       Use SNI during SSL handshake (uses virtualhost setting; see -V).
   --server          -s       Use the specified remote server address.
   --port            -p       Use the specified remote server port.
   --url             -u       Use the specified remote server url.
   --use-virtualhost -V       Use the specified virtualhost in GET query.
   --verbose         -v       Use verbose mode output.
   --help            -h       Display this short inlined help screen.
   --fwmark          -m       Use the specified FW mark.
   --protocol        -P       Use the specified HTTP protocol - '1.0', 1.0c', '1.1'.
                                1.0c means 1.0 with 'Connection: close'
   --timeout         -t       Timeout in seconds
";

/// genhash's command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub server: IpAddr,
    pub port: u16,
    pub url: String,
    pub ssl: bool,
    pub sni: bool,
    pub virtualhost: Option<String>,
    pub verbose: bool,
    pub fwmark: Option<u32>,
    pub protocol: Protocol,
    /// None: wait as long as it takes (keepalived's default).
    pub timeout: Option<Duration>,
}

/// Parses the arguments after `-T` (`check_genhash_parse_cmdline()`). `Err` carries the
/// message to print before the usage; `-h` is an `Err` with an empty message.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Options, String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_args(args);
    let (mut server, mut port, mut url) = (None, None, None);
    let mut o = Options {
        server: IpAddr::from([0, 0, 0, 0]),
        port: 0,
        url: String::new(),
        ssl: false,
        sni: false,
        virtualhost: None,
        verbose: false,
        fwmark: None,
        protocol: Protocol::Http10,
        timeout: None,
    };
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        match arg {
            Short('h') | Long("help") => return Err(String::new()),
            Short('v') | Long("verbose") => o.verbose = true,
            Short('S') | Long("use-ssl") => o.ssl = true,
            Short('I') | Long("use-sni") => o.sni = true,
            Short('s') | Long("server") => {
                let v = value(&mut p)?;
                server = Some(
                    v.parse::<IpAddr>()
                        .map_err(|_| format!("server should be an IP, not {v}"))?,
                );
            }
            Short('V') | Long("use-virtualhost") => o.virtualhost = Some(value(&mut p)?),
            Short('p') | Long("port") => {
                let v = value(&mut p)?;
                port = Some(
                    v.parse::<u16>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("invalid port number '{v}'"))?,
                );
            }
            Short('u') | Long("url") => url = Some(value(&mut p)?),
            Short('m') | Long("fwmark") => {
                let v = value(&mut p)?;
                o.fwmark = Some(
                    v.trim_start()
                        .parse::<u32>()
                        .map_err(|_| format!("invalid fwmark '{v}'"))?,
                );
            }
            Short('P') | Long("protocol") => {
                let v = value(&mut p)?;
                o.protocol = match v.as_str() {
                    "1.0" => Protocol::Http10,
                    "1.0c" | "1.0C" => Protocol::Http10Close,
                    "1.1" => Protocol::Http11,
                    _ => return Err(format!("invalid HTTP protocol version '{v}'")),
                };
            }
            Short('t') | Long("timeout") => {
                let v = value(&mut p)?;
                let secs = v
                    .trim_start()
                    .parse::<u32>()
                    .map_err(|_| format!("invalid timeout '{v}'"))?;
                o.timeout = Some(Duration::from_secs(secs.into()));
            }
            Value(v) => return Err(format!("Unexpected argument(s): {}", v.to_string_lossy())),
            other => return Err(other.unexpected().to_string()),
        }
    }
    match (server, port, url) {
        (Some(s), Some(p), Some(u)) => {
            o.server = s;
            o.port = p;
            o.url = u;
            Ok(o)
        }
        _ => Err("server (-s), port (-p) and url (-u) are required".into()),
    }
}

fn value(p: &mut lexopt::Parser) -> Result<String, String> {
    p.value()
        .map_err(|e| e.to_string())?
        .into_string()
        .map_err(|_| "argument is not valid UTF-8".to_string())
}

/// Fetches the URL as the checker would; the response, or why there is none.
pub(crate) async fn fetch(o: &Options) -> Result<Response, String> {
    let target = SocketAddr::new(o.server, o.port);
    let ep = Endpoint {
        target,
        bind: None,
        bind_port: None,
        bind_if: None,
        fwmark: o.fwmark,
    };
    let req = Request {
        path: &o.url,
        protocol: o.protocol,
        virtualhost: o.virtualhost.as_deref(),
        target,
    };
    let setup = TlsSetup::default();
    let tls = o.ssl.then_some(TlsParams {
        setup: &setup,
        sni: if o.sni {
            o.virtualhost.as_deref()
        } else {
            None
        },
        close_notify: false,
    });
    let fut = http::fetch(&ep, &req, tls, 0);
    match o.timeout {
        Some(t) => tokio::time::timeout(t, fut)
            .await
            .unwrap_or_else(|_| Err("timeout".into())),
        None => fut.await,
    }
}

/// Runs genhash with the arguments after `-T`; what `main` returns.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            eprint!("{USAGE}");
            return ExitCode::from(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    let start = std::time::Instant::now();
    let r = rt.block_on(fetch(&o));
    let mut out = std::io::stdout().lock();
    let code = match r {
        Ok(resp) => {
            if o.verbose {
                let _ = writeln!(
                    out,
                    "-----------------------[ HTTP Header Ascii Buffer ]-----------------------\n{}",
                    String::from_utf8_lossy(&resp.header)
                );
                let _ = writeln!(
                    out,
                    "-----------------------[    HTML hash resulting    ]-----------------------"
                );
            }
            let _ = writeln!(out, "{}", resp.digest_hex());
            ExitCode::SUCCESS
        }
        Err(e) if e == "no data received" => {
            eprintln!("no data received from remote webserver");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("genhash: {e}");
            ExitCode::from(1)
        }
    };
    if o.verbose {
        let _ = writeln!(
            out,
            "\nGlobal response time for [{}] = {} usecs",
            o.url,
            start.elapsed().as_micros()
        );
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn genhash_options() {
        let o = parse(args(
            "-s 10.0.0.1 -p 80 -u /index.html -S -I -V www -P 1.1 -t 3 -m 7 -v",
        ))
        .unwrap();
        assert_eq!(o.server, IpAddr::from([10, 0, 0, 1]));
        assert_eq!((o.port, o.url.as_str()), (80, "/index.html"));
        assert!(o.ssl && o.sni && o.verbose);
        assert_eq!(o.virtualhost.as_deref(), Some("www"));
        assert_eq!(o.protocol, Protocol::Http11);
        assert_eq!(o.timeout, Some(Duration::from_secs(3)));
        assert_eq!(o.fwmark, Some(7));
        let o = parse(args("--server ::1 --port=8080 --url /")).unwrap();
        assert_eq!(o.server, "::1".parse::<IpAddr>().unwrap());
        assert!(parse(args("-s host.example -p 80 -u /")).is_err());
        assert!(parse(args("-s 10.0.0.1 -p 0 -u /")).is_err());
        assert!(parse(args("-s 10.0.0.1 -p 80")).is_err());
        assert!(parse(args("-s 10.0.0.1 -p 80 -u / -P 2.0")).is_err());
        assert!(parse(args("-s 10.0.0.1 -p 80 -u / extra")).is_err());
        assert_eq!(parse(args("-h")), Err(String::new()));
    }
}
