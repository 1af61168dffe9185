//! HTTP_GET / SSL_GET (`keepalived/check/check_http.c`, `lib/html.c`): one GET, the
//! response read to the end with hard caps, then status → MD5 → regex in keepalived's
//! order (`http_handle_response()`).
//!
//! Hostile responses: the header must end (CRLFCRLF) within [`MAX_HEADER`] bytes, the body
//! may not exceed [`MAX_BODY`] bytes (it is hashed as it streams, never stored whole; only
//! a bounded window is kept for the regex), and the caller bounds the whole exchange in
//! time. The status line and Content-Length are parsed by hand with explicit digit checks,
//! so no overlong number, missing field or binary garbage can overflow or panic
//! (CVE-2018-19115 was a buffer overflow in keepalived's status-line parsing).
//!
//! Differences from keepalived, each deliberate:
//! - keepalived fails a header longer than its 4 KiB read buffer; we allow 16 KiB.
//! - A status line without a reason phrase (`HTTP/1.1 200\r\n`) is accepted; keepalived
//!   requires the space after the code.
//! - Content-Length is found among the header fields, case-insensitively; keepalived
//!   searches the whole buffer (body included) for the case-sensitive `Content-Length:`.
//! - Reading stops once Content-Length body bytes are in, instead of waiting for the
//!   server to close, so a server that keeps the connection open after a complete
//!   response does not time the check out.
//! - The regex sees the body only (keepalived's first match attempt also covers the
//!   header), up to [`REGEX_WINDOW`] bytes, or a little past `regex_max_offset` when
//!   that is larger, never more than [`MAX_REGEX_WINDOW`]; keepalived streams the whole
//!   body through PCRE2's partial matching instead. Patterns use the `regex` crate's syntax, matched on bytes
//!   without Unicode (as PCRE2 without its `utf` option): no backreferences, lookaround,
//!   possessive quantifiers or `\K`; `$` without `multiline` matches only at the very
//!   end (PCRE2 also before a final newline). `regex_options`: `caseless`, `multiline`,
//!   `dotall`, `extended`, `ungreedy` and `dollar_endonly` have their PCRE2 meaning;
//!   the others (`utf`, `ucp`, `firstline`, …) have no effect. `regex_stack` (a PCRE2 JIT
//!   setting) has none either.
//! - Chunked transfer encoding is not decoded: like keepalived and genhash, the digest is
//!   of the bytes after the header, chunk framing included, so digests stay comparable
//!   with keepalived's.

use std::net::SocketAddr;

use keepalived_engine::check::probe::Endpoint;
use keepalived_engine::config::model::Url;
use md5::{Digest, Md5};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::net::{connect_tcp, describe};
use super::tls::TlsSetup;

/// Longest response header accepted, status line included.
pub const MAX_HEADER: usize = 16 * 1024;
/// Most body bytes read before the check fails.
pub const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Body bytes kept for the regex.
pub const REGEX_WINDOW: usize = 1024 * 1024;
/// The most kept for the regex whatever `regex_max_offset` says.
pub const MAX_REGEX_WINDOW: usize = 8 * 1024 * 1024;
/// Compiled-regex size limit, so a pathological pattern cannot eat memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// `http_protocol`: the request's version and whether `Connection: close` is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http10,
    Http10Close,
    Http11,
}

impl Protocol {
    /// `1.0`, `1.0C`/`1.0c` or `1.1`; anything else is keepalived's default, 1.0.
    pub fn parse(s: &str) -> Protocol {
        match s {
            "1.1" => Protocol::Http11,
            "1.0C" | "1.0c" => Protocol::Http10Close,
            _ => Protocol::Http10,
        }
    }
}

/// What goes into the GET.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub path: &'a str,
    pub protocol: Protocol,
    /// The Host header's name; None means the target's `ip:port` (`[ip6]:port`).
    pub virtualhost: Option<&'a str>,
    pub target: SocketAddr,
}

impl Request<'_> {
    /// keepalived's request, byte for byte (`request_template`, `http_request()`):
    /// `Connection: close` for 1.0C and 1.1, and the Host header last.
    pub fn to_bytes(&self) -> Vec<u8> {
        let minor = match self.protocol {
            Protocol::Http11 => 1,
            _ => 0,
        };
        let close = match self.protocol {
            Protocol::Http10 => "",
            _ => "Connection: close\r\n",
        };
        let host = match self.virtualhost {
            Some(v) => v.to_string(),
            // `SocketAddr`'s Display is `ip:port` and `[ip6]:port`, as RFC 2732 wants.
            None => self.target.to_string(),
        };
        format!(
            "GET {} HTTP/1.{minor}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n",
            self.path
        )
        .into_bytes()
    }
}

/// TLS for SSL_GET.
#[derive(Clone, Copy)]
pub struct TlsParams<'a> {
    pub setup: &'a TlsSetup,
    /// The SNI name; None sends none.
    pub sni: Option<&'a str>,
    /// `tls_compliant`: end with close_notify rather than just closing.
    pub close_notify: bool,
}

/// A response as far as the checks need it.
#[derive(Debug, Clone)]
pub struct Response {
    /// The header, status line to the blank line included.
    pub header: Vec<u8>,
    /// None when the status line has no valid three-digit code.
    pub status: Option<u16>,
    pub content_length: Option<u64>,
    /// Body bytes received (past Content-Length too, as keepalived counts them).
    pub body_len: u64,
    /// MD5 of the body, capped at Content-Length.
    pub digest: [u8; 16],
    /// The start of the body, for the regex.
    pub window: Vec<u8>,
}

impl Response {
    pub fn digest_hex(&self) -> String {
        hex(&self.digest)
    }
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// How many body bytes to keep for `url`'s regex.
pub fn regex_window(url: &Url) -> usize {
    match (&url.regex, url.regex_max_offset) {
        (None, _) => 0,
        (Some(_), None) => REGEX_WINDOW,
        (Some(_), Some(max)) => REGEX_WINDOW
            .max((max as usize).saturating_add(256))
            .min(MAX_REGEX_WINDOW),
    }
}

/// Connects, sends `req` (over TLS when `tls` is given) and reads the response. Errors are
/// the reason for a `Down`. The caller bounds this in time.
pub async fn fetch(
    ep: &Endpoint,
    req: &Request<'_>,
    tls: Option<TlsParams<'_>>,
    window: usize,
) -> Result<Response, String> {
    let tcp = connect_tcp(ep).await?;
    let bytes = req.to_bytes();
    match tls {
        None => exchange(tcp, &bytes, window, false).await,
        Some(t) => {
            let name = match t.sni {
                Some(n) => ServerName::try_from(n.to_string())
                    .map_err(|_| format!("invalid SNI name {n:?}"))?,
                None => ServerName::IpAddress(ep.target.ip().into()),
            };
            let stream = t
                .setup
                .connector()
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake: {}", describe(&e)))?;
            exchange(stream, &bytes, window, t.close_notify).await
        }
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    req: &[u8],
    window: usize,
    close_notify: bool,
) -> Result<Response, String> {
    s.write_all(req)
        .await
        .map_err(|e| format!("send request: {}", describe(&e)))?;
    s.flush()
        .await
        .map_err(|e| format!("send request: {}", describe(&e)))?;
    let mut parser = Parser::new(window);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => {
                if parser.feed(&buf[..n])? == Feed::Complete {
                    break;
                }
            }
            // A TLS server that closes without close_notify: keepalived takes what it
            // has (SSL_ERROR_SYSCALL), so do we.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(format!("read: {}", describe(&e))),
        }
    }
    if close_notify {
        let _ = s.shutdown().await;
    }
    parser.finish()
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Feed {
    More,
    /// Content-Length body bytes are in.
    Complete,
}

/// The response reader, fed with whatever the socket gives.
pub(crate) struct Parser {
    header: Vec<u8>,
    head: Option<(Option<u16>, Option<u64>)>,
    md5: Md5,
    body_len: u64,
    hashed: u64,
    window: Vec<u8>,
    window_cap: usize,
}

impl Parser {
    pub(crate) fn new(window_cap: usize) -> Parser {
        Parser {
            header: Vec::new(),
            head: None,
            md5: Md5::new(),
            body_len: 0,
            hashed: 0,
            window: Vec::new(),
            window_cap,
        }
    }

    pub(crate) fn feed(&mut self, data: &[u8]) -> Result<Feed, String> {
        if self.head.is_some() {
            return self.body(data);
        }
        // Look for the blank line from a little before the new data, in case its CRLFCRLF
        // straddles two reads.
        let from = self.header.len().saturating_sub(3);
        self.header.extend_from_slice(data);
        match find(&self.header[from..], b"\r\n\r\n") {
            Some(i) => {
                let end = from + i + 4;
                if end > MAX_HEADER {
                    return Err(format!("response header longer than {MAX_HEADER} bytes"));
                }
                let body = self.header.split_off(end);
                self.head = Some((status_code(&self.header), content_length(&self.header)));
                self.body(&body)
            }
            None if self.header.len() > MAX_HEADER => {
                Err(format!("response header longer than {MAX_HEADER} bytes"))
            }
            None => Ok(Feed::More),
        }
    }

    fn body(&mut self, data: &[u8]) -> Result<Feed, String> {
        let cl = self.head.and_then(|h| h.1);
        let take = match cl {
            Some(cl) => (cl.saturating_sub(self.hashed)).min(data.len() as u64) as usize,
            None => data.len(),
        };
        self.md5.update(&data[..take]);
        self.hashed += take as u64;
        let room = self.window_cap.saturating_sub(self.window.len()).min(take);
        self.window.extend_from_slice(&data[..room]);
        self.body_len += data.len() as u64;
        if self.body_len > MAX_BODY {
            return Err(format!("response body larger than {MAX_BODY} bytes"));
        }
        Ok(match cl {
            Some(cl) if self.body_len >= cl => Feed::Complete,
            _ => Feed::More,
        })
    }

    pub(crate) fn finish(self) -> Result<Response, String> {
        let Some((status, content_length)) = self.head else {
            return Err(if self.header.is_empty() {
                "no data received".into()
            } else {
                "connection closed inside the response header".into()
            });
        };
        Ok(Response {
            header: self.header,
            status,
            content_length,
            body_len: self.body_len,
            digest: self.md5.finalize().into(),
            window: self.window,
        })
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The code of `HTTP/x.y NNN reason` (`extract_status_code()`): the three digits after the
/// first space, followed by a space or the end of the line.
pub(crate) fn status_code(header: &[u8]) -> Option<u16> {
    let line = header.split(|&b| b == b'\r' || b == b'\n').next()?;
    let sp = line.iter().position(|&b| b == b' ')?;
    let rest = &line[sp + 1..];
    let digits = rest.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(|&b| b != b' ') {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0')),
    )
}

/// The value of the first Content-Length field, if it is a plain decimal number.
pub(crate) fn content_length(header: &[u8]) -> Option<u64> {
    header.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        if !line[..colon].eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        let v = line[colon + 1..].trim_ascii();
        if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
            return Some(None);
        }
        Some(std::str::from_utf8(v).ok()?.parse().ok())
    })?
}

/// keepalived's order: data received, status code, digest, regex.
pub fn evaluate(url: &Url, r: &Response) -> Result<(), String> {
    let Some(code) = r.status else {
        return Err("malformed HTTP status line".into());
    };
    let ok = if url.status_codes.is_empty() {
        (200..=299).contains(&code)
    } else {
        url.status_codes
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&code))
    };
    if !ok {
        return Err(format!("HTTP status code {code}"));
    }
    if let Some(cl) = r.content_length {
        if cl != r.body_len {
            tracing::info!(
                url = %url.path,
                "content_length ({cl}) does not match received bytes ({})",
                r.body_len
            );
        }
    }
    if let Some(want) = &url.digest {
        let got = r.digest_hex();
        if !want.eq_ignore_ascii_case(&got) {
            return Err(format!("MD5 digest mismatch (got {got})"));
        }
    }
    if let Some(pattern) = &url.regex {
        let re = compile(pattern, &url.regex_options)?;
        let min = url.regex_min_offset.unwrap_or(0) as usize;
        let matched = min <= r.window.len()
            && re
                .find_at(&r.window, min)
                .is_some_and(|m| match url.regex_max_offset {
                    Some(max) => m.start() <= max as usize,
                    None => true,
                });
        if matched == url.regex_no_match {
            return Err(if matched {
                "regex matched (regex_no_match)".into()
            } else {
                "regex did not match".into()
            });
        }
    }
    Ok(())
}

/// `regex` with the PCRE2 options that have an equivalent (see the module doc).
pub fn compile(pattern: &str, options: &[String]) -> Result<regex::bytes::Regex, String> {
    let mut b = regex::bytes::RegexBuilder::new(pattern);
    b.unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT);
    for o in options {
        match o.as_str() {
            "caseless" => b.case_insensitive(true),
            "multiline" => b.multi_line(true),
            "dotall" => b.dot_matches_new_line(true),
            "extended" => b.ignore_whitespace(true),
            "ungreedy" => b.swap_greed(true),
            _ => &mut b,
        };
    }
    b.build()
        .map_err(|e| format!("invalid regex {pattern:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bytes_match_keepalived() {
        let t: SocketAddr = "10.0.0.1:8080".parse().unwrap();
        let r = Request {
            path: "/x",
            protocol: Protocol::Http10,
            virtualhost: None,
            target: t,
        };
        assert_eq!(
            r.to_bytes(),
            b"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:8080\r\n\r\n"
        );
        let r = Request {
            protocol: Protocol::Http11,
            virtualhost: Some("www.example.com"),
            ..r
        };
        assert_eq!(
            r.to_bytes(),
            b"GET /x HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www.example.com\r\n\r\n"
        );
        let r = Request {
            protocol: Protocol::parse("1.0C"),
            virtualhost: None,
            target: "[2001:db8::1]:80".parse().unwrap(),
            ..r
        };
        assert_eq!(
            r.to_bytes(),
            b"GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [2001:db8::1]:80\r\n\r\n"
        );
    }

    #[test]
    fn status_line_parsing_rejects_garbage() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_code(b"HTTP/1.1 503\r\n"), Some(503));
        assert_eq!(status_code(b"HTTP/1.1 20\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.1 2000 OK\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.1 -20 OK\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.1 99999999999999999999\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.1\r\n"), None);
        assert_eq!(status_code(b"\xff\xfe \xff\xff\xff"), None);
        assert_eq!(status_code(b""), None);
    }

    #[test]
    fn content_length_parsing() {
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\ncontent-LENGTH: 12\r\n\r\n"),
            Some(12)
        );
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n"),
            None
        );
        assert_eq!(
            content_length(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            None
        );
        assert_eq!(content_length(b"HTTP/1.1 200 OK\r\n\r\n"), None);
    }

    #[test]
    fn parser_caps_and_digest() {
        // Header split across feeds, CRLFCRLF straddling them; body capped at C-L.
        let mut p = Parser::new(0);
        assert_eq!(
            p.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r").unwrap(),
            Feed::More
        );
        assert_eq!(p.feed(b"\n\r").unwrap(), Feed::More);
        assert_eq!(p.feed(b"\nabcdef").unwrap(), Feed::Complete);
        let r = p.finish().unwrap();
        assert_eq!(r.digest, <[u8; 16]>::from(Md5::digest(b"abc")));
        assert_eq!(r.body_len, 6);
        // Endless header.
        let mut p = Parser::new(0);
        let line = [b'a'; 1000];
        let mut err = None;
        for _ in 0..100 {
            if let Err(e) = p.feed(&line) {
                err = Some(e);
                break;
            }
        }
        assert!(err.unwrap().contains("header"));
        assert_eq!(
            Parser::new(0).finish().unwrap_err(),
            "no data received".to_string()
        );
    }

    #[test]
    fn body_cap() {
        let mut p = Parser::new(REGEX_WINDOW);
        p.feed(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        let chunk = vec![b'x'; 1 << 20];
        let mut fed = 0u64;
        let err = loop {
            match p.feed(&chunk) {
                Ok(Feed::More) => fed += chunk.len() as u64,
                Ok(Feed::Complete) => panic!("no Content-Length: never complete"),
                Err(e) => break e,
            }
        };
        assert!(err.contains("body"), "{err}");
        assert_eq!(fed, MAX_BODY);
        assert_eq!(p.window.len(), REGEX_WINDOW);
    }

    #[test]
    fn regex_options() {
        let re = compile("hello.world", &["caseless".into(), "dotall".into()]).unwrap();
        assert!(re.is_match(b"HELLO\nWORLD"));
        assert!(compile("(?<=a)b", &[]).is_err());
        // Bytes that are not UTF-8 are matched, not rejected.
        assert!(compile("a.b", &[]).unwrap().is_match(b"a\xffb"));
    }
}
