//! SMTP replies read off a socket (RFC 5321 §4.2), for the e-mail alerts
//! ([`super::smtp`]) and SMTP_CHECK: line by line with a cap on each line ([`MAX_LINE`])
//! and on the lines of one reply ([`MAX_LINES`]); the caller bounds the exchange in time.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::io_error::describe;

/// RFC 5321's reply line limit is 512 octets; be generous, but finite.
const MAX_LINE: usize = 2048;
const MAX_LINES: usize = 64;

/// Buffered reader of SMTP replies over a socket.
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
    pub(crate) async fn reply<S: AsyncRead + Unpin>(&mut self, s: &mut S) -> Result<u16, String> {
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
