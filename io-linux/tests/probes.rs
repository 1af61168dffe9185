//! The probers against real servers on loopback, started here with tokio: every checker's
//! success, its failures, and hostile servers that must end in `Down` within the timeout.
//! No root needed, except the parts that say they skip without it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keepalived_engine::check::probe::{Endpoint, ProbeId, ProbeKind, ProbeOutcome, ProbeSpec};
use keepalived_engine::config::model::{Command, SslConfig, Url};
use keepalived_linux::checker::probe::{Prober, TlsSetup};
use keepalived_linux::host::script_user::ScriptUser;
use md5::{Digest, Md5};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

const BODY: &[u8] = b"<html><body>keepalived-rs probe test page, status OK</body></html>\n";

fn md5_hex(b: &[u8]) -> String {
    Md5::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn endpoint(target: SocketAddr) -> Endpoint {
    Endpoint {
        target,
        bind: None,
        bind_port: None,
        bind_if: None,
        fwmark: None,
    }
}

fn spec(kind: ProbeKind, target: Option<SocketAddr>, timeout: Duration) -> ProbeSpec {
    ProbeSpec {
        id: ProbeId(1),
        kind,
        endpoint: target.map(endpoint),
        timeout_us: timeout.as_micros() as u64,
    }
}

fn url(path: &str) -> Url {
    Url {
        path: path.into(),
        digest: None,
        status_codes: vec![],
        virtualhost: None,
        regex: None,
        regex_no_match: false,
        regex_options: vec![],
        regex_stack: None,
        regex_min_offset: None,
        regex_max_offset: None,
        tls_compliant: false,
    }
}

fn http(url: Url) -> ProbeKind {
    ProbeKind::Http {
        tls: false,
        http_protocol: "1.0".into(),
        virtualhost: None,
        sni: None,
        url,
    }
}

fn prober() -> Prober {
    Prober::new(TlsSetup::default(), ScriptUser::default())
}

fn is_down(o: &ProbeOutcome) -> bool {
    matches!(o, ProbeOutcome::Down { .. })
}

/// Runs `spec` and checks it ended within its timeout (plus scheduling slack).
async fn run_bounded(p: &Prober, spec: &ProbeSpec) -> ProbeOutcome {
    let t = Instant::now();
    let o = p.run(spec).await;
    let limit = Duration::from_micros(spec.timeout_us) + Duration::from_millis(800);
    assert!(
        t.elapsed() <= limit,
        "{:?} took {:?}, over its {:?} timeout",
        spec.kind,
        t.elapsed(),
        Duration::from_micros(spec.timeout_us)
    );
    o
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kars-probes-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ---------------------------------------------------------------------------------------
// The HTTP server: routes by path, records each request.

type Requests = Arc<Mutex<Vec<String>>>;

async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 8192 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(buf).ok()
}

/// Serves one request on `s` as its path says. Returns whether to close with
/// close_notify (for TLS).
async fn respond<S: AsyncWrite + Unpin>(s: &mut S, req: &str) {
    let path = req.split(' ').nth(1).unwrap_or("");
    let ok = |status: &str, body: &[u8]| {
        let mut r = format!(
            "HTTP/1.0 {status}\r\nServer: test\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    match path {
        "/ok" | "/noclose" => {
            let _ = s.write_all(&ok("200 OK", BODY)).await;
        }
        "/notfound" => {
            let _ = s.write_all(&ok("404 Not Found", b"nope")).await;
        }
        "/unavailable" => {
            let _ = s.write_all(&ok("503 Service Unavailable", b"busy")).await;
        }
        // Body longer than its Content-Length: only Content-Length bytes count.
        "/extra" => {
            let mut r = ok("200 OK", BODY);
            r.extend_from_slice(b"TRAILING GARBAGE");
            let _ = s.write_all(&r).await;
        }
        // No Content-Length: the body runs to the close.
        "/nocl" => {
            let mut r = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            r.extend_from_slice(BODY);
            let _ = s.write_all(&r).await;
        }
        "/endless-header" => {
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n").await;
            while s
                .write_all(b"X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
                .await
                .is_ok()
            {}
        }
        "/huge" => {
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
            let chunk = vec![b'x'; 64 * 1024];
            while s.write_all(&chunk).await.is_ok() {}
        }
        "/huge-cl" => {
            let _ = s
                .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 99999999999999\r\n\r\n")
                .await;
            let chunk = vec![b'x'; 64 * 1024];
            while s.write_all(&chunk).await.is_ok() {}
        }
        "/garbage" => {
            let mut g = b"HTTP/1.1 99999999999999999999999999999 \xff\xfe\x00%n%n%s\r\n".to_vec();
            g.extend_from_slice(b"Content-Length: -5\r\n\r\n");
            g.extend_from_slice(&[0xffu8; 300]);
            let _ = s.write_all(&g).await;
        }
        "/binary" => {
            let g: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
            let _ = s.write_all(&g).await;
        }
        "/slow" => {
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\n").await;
            loop {
                if s.write_all(b"x").await.is_err() {
                    break;
                }
                let _ = s.flush().await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        "/silent" => tokio::time::sleep(Duration::from_secs(3600)).await,
        _ => {
            let _ = s.write_all(&ok("404 Not Found", b"")).await;
        }
    }
}

struct HttpServer {
    addr: SocketAddr,
    requests: Requests,
    task: JoinHandle<()>,
}

impl HttpServer {
    async fn start(port: u16) -> HttpServer {
        let l = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let addr = l.local_addr().unwrap();
        let requests: Requests = Arc::default();
        let reqs = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut s, _)) = l.accept().await else {
                    break;
                };
                let reqs = reqs.clone();
                tokio::spawn(async move {
                    if let Some(req) = read_request(&mut s).await {
                        reqs.lock().unwrap().push(req.clone());
                        respond(&mut s, &req).await;
                    }
                });
            }
        });
        HttpServer {
            addr,
            requests,
            task,
        }
    }

    /// Closes the listening socket: new connections are refused.
    async fn stop(self) -> u16 {
        self.task.abort();
        let _ = self.task.await;
        self.addr.port()
    }

    fn last_request(&self) -> String {
        self.requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn http_get_status_digest_regex_and_host() {
    let srv = HttpServer::start(0).await;
    let p = prober();
    let t = Duration::from_secs(2);
    let run = |u: Url| spec(http(u), Some(srv.addr), t);

    // Default status range 200-299, and keepalived's exact request.
    assert_eq!(run_bounded(&p, &run(url("/ok"))).await, ProbeOutcome::Up);
    assert_eq!(
        srv.last_request(),
        format!(
            "GET /ok HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n",
            srv.addr.port()
        )
    );
    // Host from the virtualhost, Connection: close for 1.1.
    let s = spec(
        ProbeKind::Http {
            tls: false,
            http_protocol: "1.1".into(),
            virtualhost: Some("www.example.com".into()),
            sni: None,
            url: url("/ok"),
        },
        Some(srv.addr),
        t,
    );
    assert_eq!(p.run(&s).await, ProbeOutcome::Up);
    assert_eq!(
        srv.last_request(),
        "GET /ok HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n"
    );

    // Status codes.
    let o = p.run(&run(url("/notfound"))).await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason.contains("404")),
        "{o:?}"
    );
    let mut u = url("/notfound");
    u.status_codes = vec![(200, 200), (400, 404)];
    assert_eq!(p.run(&run(u)).await, ProbeOutcome::Up);
    let mut u = url("/ok");
    u.status_codes = vec![(500, 599)];
    assert!(is_down(&p.run(&run(u)).await));
    assert!(is_down(&p.run(&run(url("/unavailable"))).await));

    // Digest of the body only; capped at Content-Length; any case of hex.
    let mut u = url("/ok");
    u.digest = Some(md5_hex(BODY).to_uppercase());
    assert_eq!(p.run(&run(u.clone())).await, ProbeOutcome::Up);
    u.path = "/extra".into();
    assert_eq!(p.run(&run(u.clone())).await, ProbeOutcome::Up);
    u.path = "/nocl".into();
    assert_eq!(p.run(&run(u.clone())).await, ProbeOutcome::Up);
    u.digest = Some(md5_hex(b"something else"));
    let o = p.run(&run(u)).await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason.contains("digest")),
        "{o:?}"
    );

    // Regex, its negation, options and offsets.
    let mut u = url("/ok");
    u.regex = Some("status (OK|GOOD)".into());
    assert_eq!(p.run(&run(u.clone())).await, ProbeOutcome::Up);
    u.regex_no_match = true;
    assert!(is_down(&p.run(&run(u.clone())).await));
    u.regex = Some("STATUS ok".into());
    assert_eq!(p.run(&run(u.clone())).await, ProbeOutcome::Up);
    u.regex_no_match = false;
    assert!(is_down(&p.run(&run(u.clone())).await));
    u.regex_options = vec!["caseless".into()];
    assert_eq!(p.run(&run(u.clone())).await, ProbeOutcome::Up);
    // The header is not searched.
    let mut h = url("/ok");
    h.regex = Some("Server: test".into());
    assert!(is_down(&p.run(&run(h)).await));
    // "status OK" is at offset 49 of BODY.
    let at = BODY.windows(9).position(|w| w == b"status OK").unwrap() as u32;
    let mut o = url("/ok");
    o.regex = Some("status OK".into());
    o.regex_max_offset = Some(at);
    assert_eq!(p.run(&run(o.clone())).await, ProbeOutcome::Up);
    o.regex_max_offset = Some(at - 1);
    assert!(is_down(&p.run(&run(o.clone())).await));
    o.regex_max_offset = None;
    o.regex_min_offset = Some(at + 1);
    assert!(is_down(&p.run(&run(o)).await));
    // A PCRE-only pattern is a Down with the reason, not a panic.
    let mut bad = url("/ok");
    bad.regex = Some("(?<=status )OK".into());
    let o = p.run(&run(bad)).await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason.contains("regex")),
        "{o:?}"
    );

    // Taken down: refused. Brought back on the same port: up again.
    let port = srv.stop().await;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let o = run_bounded(&p, &spec(http(url("/ok")), Some(addr), t)).await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason.contains("refused")),
        "{o:?}"
    );
    let srv = HttpServer::start(port).await;
    assert_eq!(
        p.run(&spec(http(url("/ok")), Some(srv.addr), t)).await,
        ProbeOutcome::Up
    );
}

#[tokio::test]
async fn http_hostile_servers_end_down_within_the_timeout() {
    let srv = HttpServer::start(0).await;
    let p = prober();
    let t = Duration::from_millis(1500);
    for (path, why) in [
        ("/endless-header", "header"),
        // 64 MiB may or may not stream through before the timeout in a debug build:
        // either way it is Down in time (the cap itself is a unit test).
        ("/huge", "|"),
        ("/huge-cl", "|"),
        ("/garbage", "status"),
        ("/binary", "header"),
        ("/silent", "timeout"),
        ("/slow", "timeout"),
    ] {
        let o = run_bounded(&p, &spec(http(url(path)), Some(srv.addr), t)).await;
        match &o {
            ProbeOutcome::Down { reason } => {
                let ok = match why {
                    "|" => reason.contains("body") || reason == "timeout",
                    _ => reason.contains(why),
                };
                assert!(ok, "{path}: {reason}")
            }
            other => panic!("{path}: {other:?}"),
        }
    }
    // Not even a server: an address nobody answers (TEST-NET-1; dropped or unroutable).
    let o = run_bounded(
        &p,
        &spec(http(url("/")), Some("192.0.2.1:80".parse().unwrap()), t),
    )
    .await;
    assert!(is_down(&o));
    // The server still serves after all that.
    assert_eq!(
        p.run(&spec(http(url("/ok")), Some(srv.addr), t)).await,
        ProbeOutcome::Up
    );
}

// ---------------------------------------------------------------------------------------
// TLS

struct Pki {
    dir: PathBuf,
    ca: PathBuf,
    other_ca: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let dir = tmpdir("pki");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .unwrap();
    let other_key = KeyPair::generate().unwrap();
    let mut other_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    other_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let other = other_params.self_signed(&other_key).unwrap();

    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    let other_ca = dir.join("other-ca.pem");
    std::fs::write(&other_ca, other.pem()).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    Pki {
        dir,
        ca,
        other_ca,
        server: Arc::new(server),
    }
}

async fn start_tls(
    config: Arc<rustls::ServerConfig>,
    sni_seen: Arc<Mutex<Vec<Option<String>>>>,
) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { break };
            let acceptor = acceptor.clone();
            let sni_seen = sni_seen.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                sni_seen
                    .lock()
                    .unwrap()
                    .push(tls.get_ref().1.server_name().map(str::to_string));
                if let Some(req) = read_request(&mut tls).await {
                    respond(&mut tls, &req).await;
                    if !req.starts_with("GET /noclose ") {
                        let _ = tls.shutdown().await;
                    }
                }
            });
        }
    });
    addr
}

fn ssl(ca: Option<&PathBuf>) -> TlsSetup {
    TlsSetup::new(Some(&SslConfig {
        password: None,
        ca: ca.map(|c| c.to_string_lossy().into_owned()),
        certificate: None,
        key: None,
    }))
    .unwrap()
}

fn ssl_get(sni: Option<&str>, path: &str) -> ProbeKind {
    let mut u = url(path);
    u.digest = Some(md5_hex(BODY));
    ProbeKind::Http {
        tls: true,
        http_protocol: "1.1".into(),
        virtualhost: sni.map(str::to_string),
        sni: sni.map(str::to_string),
        url: u,
    }
}

#[tokio::test]
async fn ssl_get_with_and_without_ca_verification() {
    let pki = pki();
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let addr = start_tls(pki.server.clone(), seen.clone()).await;
    let t = Duration::from_secs(3);
    let with = |tls: TlsSetup| Prober::new(tls, ScriptUser::default());

    // No SSL block / no CA: keepalived does not verify; the server's CA is unknown here.
    let p = with(TlsSetup::default());
    assert!(!p.tls.verifies());
    assert_eq!(
        run_bounded(&p, &spec(ssl_get(None, "/ok"), Some(addr), t)).await,
        ProbeOutcome::Up
    );
    assert_eq!(seen.lock().unwrap().last().unwrap(), &None);
    let o = p
        .run(&spec(ssl_get(Some("localhost"), "/ok"), Some(addr), t))
        .await;
    assert_eq!(o, ProbeOutcome::Up);
    assert_eq!(
        seen.lock().unwrap().last().unwrap().as_deref(),
        Some("localhost")
    );
    // Without close_notify from the server: still the response keepalived would take.
    let o = p.run(&spec(ssl_get(None, "/noclose"), Some(addr), t)).await;
    assert_eq!(o, ProbeOutcome::Up);
    let o = p
        .run(&spec(ssl_get(Some("wrong.example"), "/ok"), Some(addr), t))
        .await;
    assert_eq!(o, ProbeOutcome::Up, "no CA: names are not checked either");
    // And the digest and status still matter over TLS.
    let o = p
        .run(&spec(ssl_get(None, "/notfound"), Some(addr), t))
        .await;
    assert!(is_down(&o));

    // With the right CA: verified; by name when SNI is sent.
    let p = with(ssl(Some(&pki.ca)));
    assert!(p.tls.verifies());
    assert_eq!(
        p.run(&spec(ssl_get(Some("localhost"), "/ok"), Some(addr), t))
            .await,
        ProbeOutcome::Up
    );
    assert_eq!(
        p.run(&spec(ssl_get(None, "/ok"), Some(addr), t)).await,
        ProbeOutcome::Up
    );
    let o = p
        .run(&spec(ssl_get(Some("wrong.example"), "/ok"), Some(addr), t))
        .await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason.contains("TLS")),
        "{o:?}"
    );

    // With a CA that did not sign the server's certificate: down.
    let p = with(ssl(Some(&pki.other_ca)));
    let o = run_bounded(&p, &spec(ssl_get(Some("localhost"), "/ok"), Some(addr), t)).await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason.contains("TLS")),
        "{o:?}"
    );

    // SSL_GET against a plain HTTP server: a handshake failure, not a hang.
    let plain = HttpServer::start(0).await;
    let o = run_bounded(&prober(), &spec(ssl_get(None, "/ok"), Some(plain.addr), t)).await;
    assert!(is_down(&o));

    // Unreadable CA file: a config error, not a probe.
    let missing = pki.dir.join("missing.pem");
    assert!(TlsSetup::new(Some(&SslConfig {
        password: None,
        ca: Some(missing.to_string_lossy().into_owned()),
        certificate: None,
        key: None,
    }))
    .is_err());
}

// ---------------------------------------------------------------------------------------
// SMTP

#[derive(Clone, Copy)]
enum Smtp {
    Good,
    BadBanner,
    BadHelo,
    EndlessBanner,
}

async fn start_smtp(mode: Smtp, helos: Requests) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                break;
            };
            let helos = helos.clone();
            tokio::spawn(async move {
                let banner: Vec<u8> = match mode {
                    Smtp::BadBanner => b"554 go away\r\n".to_vec(),
                    Smtp::EndlessBanner => {
                        let _ = s.write_all(b"220 ").await;
                        while s.write_all(&[b'a'; 4096]).await.is_ok() {}
                        return;
                    }
                    _ => b"220-mx.test ESMTP\r\n220-second line\r\n220 ready\r\n".to_vec(),
                };
                let _ = s.write_all(&banner).await;
                let mut buf = [0u8; 512];
                let n = s.read(&mut buf).await.unwrap_or(0);
                helos
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let reply: &[u8] = match mode {
                    Smtp::BadHelo => b"501 bad\r\n",
                    _ => b"250 mx.test\r\n",
                };
                let _ = s.write_all(reply).await;
                let n = s.read(&mut buf).await.unwrap_or(0);
                if &buf[..n] == b"QUIT\r\n" {
                    let _ = s.write_all(b"221 bye\r\n").await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn smtp_check() {
    let p = prober();
    let t = Duration::from_secs(2);
    let kind = || ProbeKind::Smtp {
        helo_name: "checker.example".into(),
    };
    let helos: Requests = Arc::default();
    let good = start_smtp(Smtp::Good, helos.clone()).await;
    assert_eq!(
        run_bounded(&p, &spec(kind(), Some(good), t)).await,
        ProbeOutcome::Up
    );
    assert_eq!(
        helos.lock().unwrap().last().unwrap(),
        "HELO checker.example\r\n"
    );
    for mode in [Smtp::BadBanner, Smtp::BadHelo, Smtp::EndlessBanner] {
        let addr = start_smtp(mode, Arc::default()).await;
        assert!(is_down(
            &run_bounded(&p, &spec(kind(), Some(addr), t)).await
        ));
    }
    // An HTTP server that never speaks first: timeout.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let o = run_bounded(
        &p,
        &spec(
            kind(),
            Some(silent.local_addr().unwrap()),
            Duration::from_millis(500),
        ),
    )
    .await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason == "timeout"),
        "{o:?}"
    );
}

// ---------------------------------------------------------------------------------------
// DNS

#[derive(Clone, Copy)]
enum Dns {
    Good,
    WrongId,
    Rcode(u8),
    NotAReply,
}

async fn start_dns(mode: Dns, queries: Arc<Mutex<Vec<Vec<u8>>>>) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = s.recv_from(&mut buf).await {
            let q = buf[..n].to_vec();
            queries.lock().unwrap().push(q.clone());
            let mut r = q.clone();
            r[2] |= 0x80; // QR
            match mode {
                Dns::Good => {}
                Dns::WrongId => r[1] = r[1].wrapping_add(1),
                Dns::Rcode(c) => r[3] = (r[3] & 0xf0) | c,
                Dns::NotAReply => r[2] &= 0x7f,
            }
            let _ = s.send_to(&r, from).await;
        }
    });
    addr
}

#[tokio::test]
async fn dns_check() {
    let p = prober();
    let t = Duration::from_millis(800);
    let kind = || ProbeKind::Dns {
        query_type: "AAAA".into(),
        name: "www.example.org.".into(),
    };
    let queries: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let good = start_dns(Dns::Good, queries.clone()).await;
    assert_eq!(
        run_bounded(&p, &spec(kind(), Some(good), t)).await,
        ProbeOutcome::Up
    );
    let q = queries.lock().unwrap().last().unwrap().clone();
    assert_eq!(&q[2..6], &[0x01, 0x00, 0x00, 0x01], "RD, QDCOUNT 1");
    assert_eq!(&q[12..], b"\x03www\x07example\x03org\x00\x00\x1c\x00\x01");

    for mode in [Dns::WrongId, Dns::NotAReply] {
        let addr = start_dns(mode, Arc::default()).await;
        let o = run_bounded(&p, &spec(kind(), Some(addr), t)).await;
        assert!(
            matches!(&o, ProbeOutcome::Down { reason } if reason == "timeout"),
            "{o:?}"
        );
    }
    let servfail = start_dns(Dns::Rcode(2), Arc::default()).await;
    let o = run_bounded(&p, &spec(kind(), Some(servfail), t)).await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason.contains("rcode 2")),
        "{o:?}"
    );
    // Nobody listening: ICMP port unreachable, down before the timeout.
    let closed = closed_udp_port().await;
    assert!(is_down(
        &run_bounded(&p, &spec(kind(), Some(closed), t)).await
    ));
    // An unknown type is refused without sending anything.
    let o = p
        .run(&spec(
            ProbeKind::Dns {
                query_type: "PTR".into(),
                name: ".".into(),
            },
            Some(good),
            t,
        ))
        .await;
    assert!(is_down(&o));
}

/// dnsmasq from Debian on a loopback port, answering `kars.test` itself and nothing
/// else (no upstream): a real DNS server for DNS_CHECK.
fn start_dnsmasq(port: u16) -> std::process::Child {
    std::process::Command::new("dnsmasq")
        .args([
            "--keep-in-foreground",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--pid-file=",
            "--address=/kars.test/192.0.2.7",
            &format!("--port={port}"),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start dnsmasq")
}

#[tokio::test]
async fn dns_check_against_dnsmasq() {
    let have = std::process::Command::new("sh")
        .args(["-c", "command -v dnsmasq"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("SKIP dns_check_against_dnsmasq: dnsmasq is not installed (scripts/test-all.sh installs dnsmasq-base)");
        return;
    }
    let port = closed_udp_port().await.port();
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let p = prober();
    let t = Duration::from_millis(800);
    let kind = |name: &str| ProbeKind::Dns {
        query_type: "A".into(),
        name: name.into(),
    };
    let answered = spec(kind("kars.test"), Some(target), t);
    // Up within 5 s of dnsmasq starting (it needs a moment to listen).
    let comes_up = || async {
        for _ in 0..50 {
            if run_bounded(&p, &answered).await == ProbeOutcome::Up {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    let mut d = start_dnsmasq(port);
    assert!(
        comes_up().await,
        "DNS_CHECK of a name dnsmasq answers is up"
    );
    // A name it cannot resolve (no upstream): an error RCODE, so down.
    assert!(is_down(
        &run_bounded(&p, &spec(kind("nowhere.invalid"), Some(target), t)).await
    ));
    // dnsmasq taken down: down; brought back: up again.
    let _ = d.kill();
    let _ = d.wait();
    assert!(is_down(&run_bounded(&p, &answered).await));
    let mut d = start_dnsmasq(port);
    let back = comes_up().await;
    let _ = d.kill();
    let _ = d.wait();
    assert!(back, "up again once dnsmasq is back");
}

// ---------------------------------------------------------------------------------------
// UDP

async fn closed_udp_port() -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.local_addr().unwrap()
}

async fn start_udp_echo() -> (SocketAddr, JoinHandle<()>) {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = s.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = s.recv_from(&mut buf).await {
            let _ = s.send_to(&buf[..n], from).await;
        }
    });
    (addr, task)
}

fn udp(require: Option<Vec<Option<u8>>>, min: u32, max: u32) -> ProbeKind {
    ProbeKind::Udp {
        payload: b"PING\x00\x01".to_vec(),
        require_reply: require,
        min_reply_length: min,
        max_reply_length: max,
    }
}

#[tokio::test]
async fn udp_check() {
    let p = prober();
    let t = Duration::from_millis(700);
    let (echo, task) = start_udp_echo().await;
    assert_eq!(
        run_bounded(&p, &spec(udp(None, 0, 255), Some(echo), t)).await,
        ProbeOutcome::Up
    );
    let mask = vec![Some(b'P'), None, Some(b'N'), Some(b'G')];
    assert_eq!(
        p.run(&spec(udp(Some(mask.clone()), 0, 255), Some(echo), t))
            .await,
        ProbeOutcome::Up
    );
    let wrong = vec![Some(b'P'), Some(b'O')];
    assert!(is_down(
        &p.run(&spec(udp(Some(wrong), 0, 255), Some(echo), t)).await
    ));
    assert!(is_down(
        &p.run(&spec(udp(Some(mask.clone()), 0, 5), Some(echo), t))
            .await
    ));
    assert!(is_down(
        &p.run(&spec(udp(Some(mask.clone()), 7, 255), Some(echo), t))
            .await
    ));

    // Closed port: ICMP port unreachable, with or without require_reply.
    task.abort();
    let _ = task.await;
    for kind in [udp(None, 0, 255), udp(Some(mask.clone()), 0, 255)] {
        let o = run_bounded(&p, &spec(kind, Some(echo), t)).await;
        assert!(
            matches!(&o, ProbeOutcome::Down { reason } if reason.contains("unreachable")),
            "{o:?}"
        );
    }

    // A socket that never answers: success unless a reply is required (keepalived).
    let mute = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let at = mute.local_addr().unwrap();
    assert_eq!(
        run_bounded(&p, &spec(udp(None, 0, 255), Some(at), t)).await,
        ProbeOutcome::Up
    );
    assert!(is_down(
        &run_bounded(&p, &spec(udp(Some(mask), 0, 255), Some(at), t)).await
    ));
}

// ---------------------------------------------------------------------------------------
// TCP and ping

#[tokio::test]
async fn tcp_check_open_closed_and_back() {
    let p = prober();
    let t = Duration::from_secs(1);
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    assert_eq!(
        run_bounded(&p, &spec(ProbeKind::Tcp, Some(addr), t)).await,
        ProbeOutcome::Up
    );
    drop(l);
    let o = run_bounded(&p, &spec(ProbeKind::Tcp, Some(addr), t)).await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason.contains("refused")),
        "{o:?}"
    );
    let _l = TcpListener::bind(addr).await.unwrap();
    assert_eq!(
        p.run(&spec(ProbeKind::Tcp, Some(addr), t)).await,
        ProbeOutcome::Up
    );

    // bindto/bind_port: the connection comes from there.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let free = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let mut s = spec(ProbeKind::Tcp, Some(l.local_addr().unwrap()), t);
    let ep = s.endpoint.as_mut().unwrap();
    ep.bind = Some("127.0.0.1".parse().unwrap());
    ep.bind_port = Some(free.port());
    let (o, accepted) = tokio::join!(p.run(&s), l.accept());
    assert_eq!(o, ProbeOutcome::Up);
    assert_eq!(accepted.unwrap().1, free);
    // A bind address of the other family is a Down, not a panic.
    s.endpoint.as_mut().unwrap().bind = Some("::1".parse().unwrap());
    assert!(is_down(&p.run(&s).await));
    // No endpoint at all.
    assert!(is_down(&p.run(&spec(ProbeKind::Tcp, None, t)).await));
}

#[tokio::test]
async fn ping_loopback() {
    let p = prober();
    let t = Duration::from_secs(2);
    let o = run_bounded(
        &p,
        &spec(ProbeKind::Ping, Some("127.0.0.1:0".parse().unwrap()), t),
    )
    .await;
    if let ProbeOutcome::Down { reason } = &o {
        if reason.contains("permission") || reason.contains("not permitted") {
            eprintln!(
                "skipping ping_loopback: neither ping sockets nor raw sockets allowed ({reason})"
            );
            return;
        }
    }
    assert_eq!(o, ProbeOutcome::Up);
    if std::path::Path::new("/proc/sys/net/ipv6/conf/lo").exists() {
        let o = run_bounded(
            &p,
            &spec(ProbeKind::Ping, Some("[::1]:0".parse().unwrap()), t),
        )
        .await;
        assert_eq!(o, ProbeOutcome::Up);
    }
}

// ---------------------------------------------------------------------------------------
// MISC

fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

fn misc(argv: &[&str], user: Option<&str>) -> ProbeKind {
    ProbeKind::Misc {
        command: Command {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            user: user.map(str::to_string),
            group: None,
        },
    }
}

fn alive(pid: i32) -> bool {
    // A zombie is as good as dead: it runs nothing.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

#[tokio::test]
async fn misc_check_exit_codes_timeout_and_group_kill() {
    let dir = tmpdir("misc");
    let p = prober();
    let t = Duration::from_secs(5);
    for code in [0, 1, 5] {
        let s = script(&dir, &format!("exit{code}"), &format!("exit {code}"));
        let o = p.run(&spec(misc(&[&s], None), None, t)).await;
        assert_eq!(o, ProbeOutcome::Exited(code));
    }
    // Arguments reach the script; a command that is not an executable file goes through
    // /bin/sh -c.
    let s = script(&dir, "args", "exit $(($1 + $2))");
    assert_eq!(
        p.run(&spec(misc(&[&s, "3", "4"], None), None, t)).await,
        ProbeOutcome::Exited(7)
    );
    assert_eq!(
        p.run(&spec(misc(&["exit", "3"], None), None, t)).await,
        ProbeOutcome::Exited(3)
    );

    // Past its timeout: SIGTERM to the whole process group, children included.
    let pidfile = dir.join("child.pid");
    let s = script(
        &dir,
        "sleeper",
        &format!("sleep 300 &\necho $! > {}\nwait", pidfile.display()),
    );
    let start = Instant::now();
    let o = p
        .run(&spec(misc(&[&s], None), None, Duration::from_millis(500)))
        .await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason == "timeout"),
        "{o:?}"
    );
    assert!(
        start.elapsed() < Duration::from_millis(2000),
        "{:?}",
        start.elapsed()
    );
    let child: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !alive(child),
        "the script's background child {child} survived"
    );

    // A script that ignores SIGTERM gets SIGKILL 2 s later.
    let pidfile = dir.join("stubborn.pid");
    let s = script(
        &dir,
        "stubborn",
        &format!(
            "trap '' TERM\nsleep 300 &\necho $! > {}\nwait",
            pidfile.display()
        ),
    );
    let start = Instant::now();
    let o = p
        .run(&spec(misc(&[&s], None), None, Duration::from_millis(300)))
        .await;
    assert!(
        matches!(&o, ProbeOutcome::Down { reason } if reason == "timeout"),
        "{o:?}"
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(2200) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let child: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!alive(child), "the stubborn child {child} survived SIGKILL");

    // Dropping the probe (the engine abandons it) kills the group too.
    let pidfile = dir.join("dropped.pid");
    let s = script(
        &dir,
        "dropped",
        &format!("sleep 300 &\necho $! > {}\nwait", pidfile.display()),
    );
    let sp = spec(misc(&[&s], None), None, Duration::from_secs(60));
    let _ = tokio::time::timeout(Duration::from_millis(400), p.run(&sp)).await;
    let child: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !alive(child),
        "the abandoned probe's child {child} survived"
    );

    // A missing program and an unknown user are Down, not a panic.
    let o = p
        .run(&spec(misc(&["/nonexistent/check"], None), None, t))
        .await;
    assert_eq!(
        o,
        ProbeOutcome::Exited(127),
        "/bin/sh -c reports command not found"
    );
    assert!(is_down(
        &p.run(&spec(misc(&[&s], Some("no-such-user-kars")), None, t))
            .await
    ));

    // As another user (needs root to switch).
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } == 0 {
        let s = script(&dir, "whoami", "[ \"$(id -u)\" = 65534 ]");
        assert_eq!(
            p.run(&spec(misc(&[&s], Some("nobody")), None, t)).await,
            ProbeOutcome::Exited(0)
        );
        assert_eq!(
            p.run(&spec(misc(&[&s], None), None, t)).await,
            ProbeOutcome::Exited(1)
        );
    } else {
        eprintln!("skipping the misc user part: not root");
    }
}

// ---------------------------------------------------------------------------------------
// genhash

async fn genhash(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_keepalived-rs"))
        .args(args)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn genhash_prints_the_body_md5() {
    let srv = HttpServer::start(0).await;
    let port = srv.addr.port().to_string();
    let out = genhash(&["-T", "-s", "127.0.0.1", "-p", &port, "-u", "/ok"]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", md5_hex(BODY))
    );
    assert!(srv.last_request().starts_with("GET /ok HTTP/1.0\r\n"));

    // Long options, the virtualhost and 1.1.
    let out = genhash(&[
        "--genhash",
        "--server",
        "127.0.0.1",
        "--port",
        &port,
        "--url",
        "/nocl",
        "--use-virtualhost",
        "www.example.com",
        "--protocol",
        "1.1",
        "--timeout",
        "2",
    ])
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", md5_hex(BODY))
    );
    assert!(srv.last_request().contains("Host: www.example.com\r\n"));
    // Verbose shows the header too.
    let out = genhash(&["-T", "-s", "127.0.0.1", "-p", &port, "-u", "/ok", "-v"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("HTTP/1.0 200 OK") && text.contains(&md5_hex(BODY)),
        "{text}"
    );

    // Errors: silent server with a timeout, -T not first, missing options.
    let out = genhash(&[
        "-T",
        "-s",
        "127.0.0.1",
        "-p",
        &port,
        "-u",
        "/silent",
        "-t",
        "1",
    ])
    .await;
    assert!(!out.status.success());
    let out = genhash(&["-l", "-T", "-s", "127.0.0.1", "-p", &port, "-u", "/ok"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("first option"));
    let out = genhash(&["-T", "-s", "127.0.0.1"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));

    // Over TLS, with SNI from the virtualhost.
    let pki = pki();
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let addr = start_tls(pki.server.clone(), seen.clone()).await;
    let tport = addr.port().to_string();
    let out = genhash(&[
        "-T",
        "-S",
        "-I",
        "-V",
        "localhost",
        "-s",
        "127.0.0.1",
        "-p",
        &tport,
        "-u",
        "/ok",
    ])
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", md5_hex(BODY))
    );
    assert_eq!(
        seen.lock().unwrap().last().unwrap().as_deref(),
        Some("localhost")
    );
}
