//! HTTP_GET / SSL_GET without the socket (`keepalived/check/check_http.c`, `lib/html.c`):
//! the request keepalived sends, a response reader fed whatever the connection gives,
//! and the status and digest checks in keepalived's order (`http_handle_response()`).
//! The Linux prober and the simulator both run their exchanges through it; each brings
//! its own connection (and TLS), and the regex check stays with the prober.
//!
//! ```text
//! send Request::to_bytes();
//! let mut p = Parser::new(regex_window(url));
//! while p.feed(bytes_read)? == Feed::More { read more, or stop at EOF }
//! let r = p.finish()?;
//! check_status(url, &r)?; check_digest(url, &r)?;   // or evaluate_status_and_digest
//! ```
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
//! - [`Feed::Complete`] comes once Content-Length body bytes are in, so the caller can stop
//!   reading instead of waiting for the server to close, and a server that keeps the
//!   connection open after a complete response does not time the check out.
//! - The regex sees the body only (keepalived's first match attempt also covers the
//!   header), up to [`REGEX_WINDOW`] bytes, or a little past `regex_max_offset` when that
//!   is larger, never more than [`MAX_REGEX_WINDOW`] ([`regex_window`]); keepalived streams
//!   the whole body through PCRE2's partial matching instead.
//! - Chunked transfer encoding is not decoded: like keepalived and genhash, the digest is
//!   of the bytes after the header, chunk framing included, so digests stay comparable
//!   with keepalived's.

use std::net::SocketAddr;

use md5::{Digest, Md5};

use crate::config::model::Url;

/// Longest response header accepted, status line included.
pub const MAX_HEADER: usize = 16 * 1024;
/// Most body bytes read before the check fails.
pub const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Body bytes kept for the regex.
pub const REGEX_WINDOW: usize = 1024 * 1024;
/// The most kept for the regex whatever `regex_max_offset` says.
pub const MAX_REGEX_WINDOW: usize = 8 * 1024 * 1024;

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
    /// The digest in lower-case hex, as `digest` is written and genhash prints it.
    pub fn digest_hex(&self) -> String {
        hex(&self.digest)
    }

    /// `(Content-Length, body bytes received)` when they differ: keepalived notes it
    /// (`http_handle_response()`'s "content_length (…) does not match received bytes
    /// (…)") and goes on.
    pub fn length_mismatch(&self) -> Option<(u64, u64)> {
        self.content_length
            .filter(|&cl| cl != self.body_len)
            .map(|cl| (cl, self.body_len))
    }
}

/// `b` in lower-case hex.
pub fn hex(b: &[u8]) -> String {
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

/// What [`Parser::feed`] makes of the bytes so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    More,
    /// Content-Length body bytes are in.
    Complete,
}

/// The response reader, fed with whatever the connection gives.
#[derive(Debug, Clone)]
pub struct Parser {
    header: Vec<u8>,
    /// Status code and Content-Length, once the header is in.
    head: Option<(Option<u16>, Option<u64>)>,
    md5: Md5,
    body_len: u64,
    hashed: u64,
    window: Vec<u8>,
    window_cap: usize,
}

impl Parser {
    /// A reader that keeps the first `window_cap` body bytes (see [`regex_window`]).
    pub fn new(window_cap: usize) -> Parser {
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

    /// Takes the next bytes read. An error (header or body over its cap) fails the check.
    pub fn feed(&mut self, data: &[u8]) -> Result<Feed, String> {
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

    /// The response, once the connection is done (closed, or [`Feed::Complete`]). Fails
    /// when nothing came (keepalived's "Read, no data received") or the header never ended.
    pub fn finish(self) -> Result<Response, String> {
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
pub fn status_code(header: &[u8]) -> Option<u16> {
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
pub fn content_length(header: &[u8]) -> Option<u64> {
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

/// The status code against `status_code` (200-299 when none is given;
/// `check_http_status()`). A status line without a valid code fails.
pub fn check_status(url: &Url, r: &Response) -> Result<(), String> {
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
    if ok {
        Ok(())
    } else {
        Err(format!("HTTP status code {code}"))
    }
}

/// The body's MD5 against `digest`, when one is given (case-insensitive hex).
pub fn check_digest(url: &Url, r: &Response) -> Result<(), String> {
    match &url.digest {
        Some(want) => {
            let got = r.digest_hex();
            if want.eq_ignore_ascii_case(&got) {
                Ok(())
            } else {
                Err(format!("MD5 digest mismatch (got {got})"))
            }
        }
        None => Ok(()),
    }
}

/// keepalived's order (`http_handle_response()`) without the regex: status code, then
/// digest. keepalived notes a [`Response::length_mismatch`] between the two; a caller
/// that logs it runs [`check_status`] and [`check_digest`] itself.
pub fn evaluate_status_and_digest(url: &Url, r: &Response) -> Result<(), String> {
    check_status(url, r)?;
    check_digest(url, r)
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
        assert_eq!(r.length_mismatch(), Some((3, 6)));
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

    /// The `url` block `body` of an HTTP_GET, as the configuration parser makes it.
    fn url(body: &str) -> Url {
        use crate::config::model::CheckerKind;
        use crate::config::{parse_str, ParseOptions};
        let text = format!(
            "virtual_server 10.0.0.1 80 {{\n protocol TCP\n\
              real_server 10.0.0.2 80 {{\n  HTTP_GET {{\n   url {{\n    path /\n    {body}\n\
              }}\n  }}\n }}\n}}\n"
        );
        let loaded = parse_str(&text, &ParseOptions::default());
        assert!(
            !loaded.diagnostics.iter().any(|d| d.counts_as_error()),
            "{:?}",
            loaded.diagnostics
        );
        let checker = &loaded.config.virtual_servers[0].real_servers[0].checkers[0];
        match &checker.kind {
            CheckerKind::HttpGet(h) => h.urls[0].clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn status_then_digest() {
        let response = |head: &[u8]| {
            let mut p = Parser::new(0);
            p.feed(head).unwrap();
            p.feed(b"abc").unwrap();
            p.finish().unwrap()
        };
        let ok = response(b"HTTP/1.1 200 OK\r\n\r\n");
        let moved = response(b"HTTP/1.1 301 Moved\r\n\r\n");
        let any = url("");
        assert_eq!(evaluate_status_and_digest(&any, &ok), Ok(()));
        assert_eq!(
            evaluate_status_and_digest(&any, &moved).unwrap_err(),
            "HTTP status code 301"
        );
        assert_eq!(
            evaluate_status_and_digest(&any, &response(b"HTTP/1.1 OK\r\n\r\n")).unwrap_err(),
            "malformed HTTP status line"
        );
        let redirect = url("status_code 300-399");
        assert_eq!(evaluate_status_and_digest(&redirect, &moved), Ok(()));
        assert!(evaluate_status_and_digest(&redirect, &ok).is_err());
        // The status code is checked first: a wrong digest on a wrong code reports the code.
        let wrong = url("status_code 300-399\n    digest 00112233445566778899aabbccddeeff");
        assert_eq!(
            evaluate_status_and_digest(&wrong, &ok).unwrap_err(),
            "HTTP status code 200"
        );
        assert!(evaluate_status_and_digest(&wrong, &moved)
            .unwrap_err()
            .starts_with("MD5 digest mismatch"));
        let abc = hex(&Md5::digest(b"abc")).to_uppercase();
        let right = url(&format!("status_code 300-399\n    digest {abc}"));
        assert_eq!(evaluate_status_and_digest(&right, &moved), Ok(()));
        assert_eq!(moved.length_mismatch(), None);
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
}
