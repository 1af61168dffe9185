//! HTTP_GET / SSL_GET over a real socket (`keepalived/check/check_http.c`): the
//! connection, TLS for SSL_GET, and the regex check. The request, the response reader
//! with its caps, and the status and digest checks are the engine's
//! ([`keepalived_engine::check::http`]), shared with the simulator; its module doc lists
//! the differences from keepalived there.
//!
//! The regex (`regex`, `regex_no_match`, `regex_options`, `regex_min_offset`,
//! `regex_max_offset`) is checked last, after status and digest, as in
//! `http_handle_response()`. Differences from keepalived's PCRE2, each deliberate: patterns
//! use the `regex` crate's syntax, matched on bytes without Unicode (as PCRE2 without its
//! `utf` option): no backreferences, lookaround, possessive quantifiers or `\K`; `$`
//! without `multiline` matches only at the very end (PCRE2 also before a final newline).
//! `regex_options`: `caseless`, `multiline`, `dotall`, `extended`, `ungreedy` and
//! `dollar_endonly` have their PCRE2 meaning; the others (`utf`, `ucp`, `firstline`, …)
//! have no effect. `regex_stack` (a PCRE2 JIT setting) has none either. The regex sees
//! the window the engine's [`Parser`] keeps ([`regex_window`]).

use keepalived_engine::check::http::{check_digest, check_status, Feed, Parser};
pub use keepalived_engine::check::http::{regex_window, Protocol, Request, Response};
use keepalived_engine::check::probe::Endpoint;
use keepalived_engine::config::model::Url;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::net::{connect_tcp, describe};
use super::tls::TlsSetup;

/// Compiled-regex size limit, so a pathological pattern cannot eat memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// TLS for SSL_GET.
#[derive(Clone, Copy)]
pub struct TlsParams<'a> {
    pub setup: &'a TlsSetup,
    /// The SNI name; None sends none.
    pub sni: Option<&'a str>,
    /// `tls_compliant`: end with close_notify rather than just closing.
    pub close_notify: bool,
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

/// keepalived's order (`http_handle_response()`): data received (the engine's
/// [`Parser::finish`]), status code, the Content-Length note, digest, regex.
pub fn evaluate(url: &Url, r: &Response) -> Result<(), String> {
    check_status(url, r)?;
    if let Some((cl, got)) = r.length_mismatch() {
        tracing::info!(
            url = %url.path,
            "content_length ({cl}) does not match received bytes ({got})"
        );
    }
    check_digest(url, r)?;
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
    fn regex_options() {
        let re = compile("hello.world", &["caseless".into(), "dotall".into()]).unwrap();
        assert!(re.is_match(b"HELLO\nWORLD"));
        assert!(compile("(?<=a)b", &[]).is_err());
        // Bytes that are not UTF-8 are matched, not rejected.
        assert!(compile("a.b", &[]).unwrap().is_match(b"a\xffb"));
    }
}
