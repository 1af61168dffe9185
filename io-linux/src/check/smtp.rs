//! SMTP_CHECK (`keepalived/check/check_smtp.c`): a `220` greeting, `HELO <helo_name>`, a
//! `250`, then `QUIT`.
//!
//! Replies are read line by line with a cap on each line ([`MAX_LINE`]) and on the lines
//! of one reply ([`MAX_LINES`]); the caller bounds the exchange in time. Differences from
//! keepalived: a multi-line reply (`220-…` continuation lines, RFC 5321 §4.2.1) is read to
//! its last line, where keepalived judges the first line alone and so fails a server with
//! a multi-line banner; and the answer to QUIT is read but not required (a server may
//! close at once), where keepalived needs one more line.

use keepalived_engine::check::probe::Endpoint;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::net::{connect_tcp, describe};

/// RFC 5321's reply line limit is 512 octets; be generous, but finite.
const MAX_LINE: usize = 2048;
const MAX_LINES: usize = 64;

pub(crate) async fn run(ep: &Endpoint, helo_name: &str) -> Result<(), String> {
    let mut s = connect_tcp(ep).await?;
    let mut r = Lines::default();
    let code = r.reply(&mut s).await?;
    if code != 220 {
        return Err(format!("bad greeting banner (code {code})"));
    }
    s.write_all(format!("HELO {helo_name}\r\n").as_bytes())
        .await
        .map_err(|e| format!("send HELO: {}", describe(&e)))?;
    let code = r.reply(&mut s).await?;
    if code != 250 {
        return Err(format!("bad HELO response (code {code})"));
    }
    s.write_all(b"QUIT\r\n")
        .await
        .map_err(|e| format!("send QUIT: {}", describe(&e)))?;
    let _ = r.reply(&mut s).await;
    Ok(())
}

/// Buffered reader of SMTP replies over a socket, shared with the e-mail alerts
/// (`crate::smtp`).
#[derive(Default)]
pub(crate) struct Lines {
    buf: Vec<u8>,
}

impl Lines {
    async fn line<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Result<Vec<u8>, String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > MAX_LINE {
                return Err(format!("reply line longer than {MAX_LINE} bytes"));
            }
            let mut chunk = [0u8; 1024];
            match s.read(&mut chunk).await {
                Ok(0) => return Err("connection closed by server".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("read: {}", describe(&e))),
            }
        }
    }

    /// One reply, multi-line or not: its code.
    async fn reply<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Result<u16, String> {
        self.reply_text(s).await.map(|(code, _)| code)
    }

    /// One reply, multi-line or not: its code and its last line.
    pub(crate) async fn reply_text<S: AsyncRead + Unpin>(
        &mut self,
        s: &mut S,
    ) -> Result<(u16, String), String> {
        let mut first = None;
        for _ in 0..MAX_LINES {
            let line = self.line(s).await?;
            let (code, last) = parse_line(&line)
                .ok_or_else(|| format!("malformed reply {:?}", String::from_utf8_lossy(&line)))?;
            if *first.get_or_insert(code) != code {
                return Err("reply code changed inside a multi-line reply".into());
            }
            if last {
                return Ok((code, String::from_utf8_lossy(&line).into_owned()));
            }
        }
        Err(format!("reply longer than {MAX_LINES} lines"))
    }
}

/// `NNN text` (last line) or `NNN-text` (more follow).
fn parse_line(line: &[u8]) -> Option<(u16, bool)> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match line.get(3) {
        None | Some(b' ') => Some((code, true)),
        Some(b'-') => Some((code, false)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn reply_lines() {
        assert_eq!(parse_line(b"220 mx ESMTP"), Some((220, true)));
        assert_eq!(parse_line(b"220-mx"), Some((220, false)));
        assert_eq!(parse_line(b"250"), Some((250, true)));
        assert_eq!(parse_line(b"25"), None);
        assert_eq!(parse_line(b"2200 x"), None);
        assert_eq!(parse_line(b"\xff\xff\xff"), None);
    }
}
