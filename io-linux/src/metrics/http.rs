//! The parent's HTTP endpoint (`--metrics ADDR:PORT`): `GET /metrics`, `/healthz` and
//! `/status`, one connection at a time on a thread of its own, far from any event loop.
//!
//! It speaks only as much HTTP/1.1 as a scraper and a probe need: a request head of at
//! most [`MAX_HEAD`] bytes, read within [`CLIENT_TIMEOUT`], answered with
//! `Connection: close`. Whatever else a client sends is refused without being read
//! further, so no client can hold more of the parent than one socket for a few seconds.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::channel::{Ask, Children};
use super::render;
use crate::host::process::Process;

/// The most of a request head read: a request line and a few headers.
const MAX_HEAD: usize = 8 << 10;

/// How long a client has, in all, to send its request and to take the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections served at once; one more is told 503 and closed.
const MAX_CLIENTS: usize = 8;

/// `/metrics`' content type: the Prometheus text format, as the exporter serves it.
const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Serves `listener` until the process exits.
pub fn spawn(listener: TcpListener, children: Arc<Children>) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics-http".into())
        .stack_size(256 << 10)
        .spawn(move || {
            info!("Serving /metrics, /healthz and /status on http://{addr}");
            let busy = Arc::new(AtomicUsize::new(0));
            let mut warned = false;
            for conn in listener.incoming() {
                let stream = match conn {
                    Ok(s) => s,
                    Err(e) => {
                        // EMFILE and the like: said once, and the host given a moment.
                        if !std::mem::replace(&mut warned, true) {
                            warn!("metrics endpoint: accept: {e}");
                        }
                        std::thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                };
                if busy.fetch_add(1, Ordering::AcqRel) >= MAX_CLIENTS {
                    busy.fetch_sub(1, Ordering::AcqRel);
                    let mut s = stream;
                    let _ = s.set_write_timeout(Some(Duration::from_millis(100)));
                    let _ = write_response(
                        &mut s,
                        &Response::text(503, "busy\n"),
                        false,
                        Instant::now() + Duration::from_millis(100),
                    );
                    continue;
                }
                let (children, done) = (children.clone(), busy.clone());
                let spawned = std::thread::Builder::new()
                    .name("metrics-client".into())
                    .stack_size(128 << 10)
                    .spawn(move || {
                        if let Err(e) = handle(stream, &children) {
                            debug!("metrics client: {e}");
                        }
                        done.fetch_sub(1, Ordering::AcqRel);
                    });
                if spawned.is_err() {
                    busy.fetch_sub(1, Ordering::AcqRel);
                }
            }
        })
        .map(|_| ())
}

/// A response: status, content type, body.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Response {
    fn text(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

/// The time left before `deadline`, or a timeout error once it has passed: socket
/// timeouts restart with each call, so a client that sends or reads a byte at a time
/// is held to the connection's deadline by setting them anew before each.
fn left(deadline: Instant) -> std::io::Result<Duration> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d.is_zero() {
        Err(std::io::ErrorKind::TimedOut.into())
    } else {
        Ok(d)
    }
}

fn handle(mut stream: TcpStream, children: &Children) -> std::io::Result<()> {
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let head = read_head(&mut stream, deadline)?;
    let (method, response) = match parse_request(&head) {
        Ok((method, path)) => (method, route(path, children)),
        Err(r) => ("GET", r),
    };
    write_response(&mut stream, &response, method == "HEAD", deadline)?;
    // What the client sent beyond the head is read (a little, briefly) before closing,
    // so the close is not a reset that could destroy the answer on its way.
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    Ok(())
}

/// Reads up to the blank line that ends a request head, or [`MAX_HEAD`] bytes.
fn read_head(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while head.len() < MAX_HEAD {
        stream.set_read_timeout(Some(left(deadline)?))?;
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        // Only the bytes just read (and the three before them) can complete the end.
        let from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        let new = &head[from..];
        if new.windows(4).any(|w| w == b"\r\n\r\n") || new.windows(2).any(|w| w == b"\n\n") {
            break;
        }
    }
    head.truncate(MAX_HEAD);
    Ok(head)
}

/// The method and path of a request head, or the response that refuses it.
pub fn parse_request(head: &[u8]) -> Result<(&str, &str), Response> {
    let line_end = head
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| Response::text(400, "incomplete request line\n"))?;
    let line = std::str::from_utf8(&head[..line_end])
        .map_err(|_| Response::text(400, "request line is not UTF-8\n"))?
        .trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Response::text(400, "malformed request line\n"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Response::text(505, "HTTP/1.x only\n"));
    }
    if method != "GET" && method != "HEAD" {
        return Err(Response::text(405, "GET or HEAD only\n"));
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Ok((method, path))
}

fn route(path: &str, children: &Children) -> Response {
    match path {
        "/metrics" => metrics(children),
        "/healthz" => health(children),
        "/status" => status(children),
        "/" => Response::text(
            200,
            "keepalived-rs: /metrics (Prometheus), /healthz, /status (keepalived.json)\n",
        ),
        _ => Response::text(404, "not found: /metrics, /healthz or /status\n"),
    }
}

/// Each running child's part, after the parent's own (`keepalived_up`: every child
/// answered).
fn metrics(children: &Children) -> Response {
    let mut parts = Vec::new();
    let mut answered = Vec::new();
    for role in children.roles() {
        match children.ask(role, Ask::Metrics) {
            Ok(a) if a.ok => {
                answered.push((role, true));
                parts.push(a.body);
            }
            Ok(a) => {
                debug!("{} metrics: {}", role.title(), a.body);
                answered.push((role, false));
            }
            Err(e) => {
                debug!("{e}");
                answered.push((role, false));
            }
        }
    }
    let mut body = render::parent(&answered);
    for p in parts {
        body.push_str(&p);
    }
    Response {
        status: 200,
        content_type: PROMETHEUS_TEXT,
        body,
    }
}

/// 200 once every child has settled; 503 with what has not.
fn health(children: &Children) -> Response {
    let roles = children.roles();
    if roles.is_empty() {
        return Response::text(200, "ok: the configuration runs no child process\n");
    }
    let mut waiting = String::new();
    for role in roles {
        match children.ask(role, Ask::Health) {
            Ok(a) if a.ok => {}
            Ok(a) => waiting.push_str(&format!("{}: {}\n", role.title(), a.body)),
            Err(e) => waiting.push_str(&format!("{e}\n")),
        }
    }
    if waiting.is_empty() {
        Response::text(200, "ok\n")
    } else {
        Response::text(503, waiting)
    }
}

/// The VRRP child's JSON state dump, as SIGRTMIN+2 writes it.
fn status(children: &Children) -> Response {
    match children.ask(Process::Vrrp, Ask::Status) {
        Ok(a) if a.ok => Response {
            status: 200,
            content_type: "application/json",
            body: a.body,
        },
        Ok(a) => Response::text(503, format!("{}\n", a.body)),
        Err(e @ super::channel::QueryError::NotRunning(_)) => Response::text(404, format!("{e}\n")),
        Err(e) => Response::text(503, format!("{e}\n")),
    }
}

fn write_response(
    stream: &mut TcpStream,
    r: &Response,
    head_only: bool,
    deadline: Instant,
) -> std::io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    };
    let mut out = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        r.status,
        r.content_type,
        r.body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(r.body.as_bytes());
    }
    let mut rest = &out[..];
    while !rest.is_empty() {
        stream.set_write_timeout(Some(left(deadline)?))?;
        match stream.write(rest)? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => rest = &rest[n..],
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_as_scrapers_and_probes_send_them() {
        fn ok(head: &str) -> Result<(&str, &str), u16> {
            parse_request(head.as_bytes()).map_err(|r| r.status)
        }
        assert_eq!(
            ok("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Ok(("GET", "/metrics"))
        );
        assert_eq!(
            ok("HEAD /healthz?x=1 HTTP/1.0\n\n"),
            Ok(("HEAD", "/healthz"))
        );
        assert_eq!(ok("POST /metrics HTTP/1.1\r\n\r\n"), Err(405));
        assert_eq!(ok("GET /metrics\r\n\r\n"), Err(400));
        assert_eq!(ok("GET /metrics HTTP/2\r\n\r\n"), Err(505));
        assert_eq!(ok("GET  /metrics HTTP/1.1\r\n\r\n"), Err(400));
        assert_eq!(ok("GET /metrics HTTP/1.1"), Err(400));
        assert_eq!(ok("\u{ff}\u{fe} / HTTP/1.1\n"), Err(405));
    }

    #[test]
    fn unknown_paths_are_not_found_and_no_child_is_unhealthy() {
        let children = Children::default();
        assert_eq!(route("/nope", &children).status, 404);
        assert_eq!(route("/healthz", &children).status, 200);
        assert_eq!(route("/status", &children).status, 404);
        let m = route("/metrics", &children);
        assert_eq!(m.status, 200);
        assert!(m.body.contains("keepalived_up 0\n"), "{}", m.body);
    }
}
