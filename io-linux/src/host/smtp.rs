//! E-mail alerts as keepalived sends them (`keepalived/core/smtp.c`): one SMTP session
//! per alert to `smtp_server`, HELO `smtp_helo_name` (or "localhost"), MAIL FROM
//! `notification_email_from`, one RCPT TO per `notification_email`, and a message whose
//! subject starts with `[router_id]`. Nothing is sent without a server and a recipient.
//! Used by both the VRRP and the checker side.

use std::time::Duration;

use keepalived_engine::config::model::GlobalDefs;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::smtp_reply::Lines;

/// Where and how alerts go, from global_defs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailer {
    pub server: (String, u16),
    pub helo: String,
    pub from: String,
    pub to: Vec<String>,
    pub router_id: String,
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("after {stage}: expected {expected}, the server said {said:?}")]
    Refused {
        stage: &'static str,
        expected: u16,
        said: String,
    },
}

/// keepalived's default `router_id`: the host name.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl Mailer {
    /// `None` unless `smtp_server` and at least one `notification_email` are set.
    pub fn from_global(g: &GlobalDefs) -> Option<Mailer> {
        let server = g.smtp_server.as_ref()?;
        if g.notification_email.is_empty() {
            return None;
        }
        let router_id = g.router_id.clone().unwrap_or_else(host_name);
        Some(Mailer {
            server: (server.host.clone(), server.port),
            helo: g
                .smtp_helo_name
                .clone()
                .unwrap_or_else(|| "localhost".into()),
            from: g
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("keepalived@{}", host_name())),
            to: g.notification_email.clone(),
            router_id,
            timeout: Duration::from_micros(g.smtp_connect_timeout_us.max(1)),
        })
    }

    /// Sends one alert, the whole session bounded by the connect timeout.
    pub async fn send(&self, subject: &str, body: &str) -> Result<(), SmtpError> {
        let message = self.message(subject, body);
        tokio::time::timeout(self.timeout, self.session(&message))
            .await
            .map_err(|_| SmtpError::Timeout(self.timeout))?
    }

    /// The DATA part: keepalived's headers, the body, the terminating dot. Lines of the
    /// body that start with a dot are doubled (RFC 5321 §4.5.2), which keepalived omits.
    pub fn message(&self, subject: &str, body: &str) -> String {
        let date = rfc822_now();
        let to = self.to.join(",\r\n ");
        let body: String = body
            .lines()
            .map(|l| {
                if l.starts_with('.') {
                    format!(".{l}\r\n")
                } else {
                    format!("{l}\r\n")
                }
            })
            .collect();
        format!(
            "Date: {date}\r\nFrom: {}\r\nSubject: [{}] {subject}\r\nX-Mailer: Keepalived\r\nTo: {to}\r\n\r\n{body}\r\n.\r\n",
            self.from, self.router_id
        )
    }

    async fn session(&self, message: &str) -> Result<(), SmtpError> {
        let mut s = TcpStream::connect((self.server.0.as_str(), self.server.1)).await?;
        let mut r = Lines::default();
        expect(&mut r, &mut s, "connect", 220).await?;
        s.write_all(format!("HELO {}\r\n", self.helo).as_bytes())
            .await?;
        expect(&mut r, &mut s, "HELO", 250).await?;
        s.write_all(format!("MAIL FROM:{}\r\n", angle(&self.from)).as_bytes())
            .await?;
        expect(&mut r, &mut s, "MAIL FROM", 250).await?;
        for to in &self.to {
            s.write_all(format!("RCPT TO:{}\r\n", angle(to)).as_bytes())
                .await?;
            expect(&mut r, &mut s, "RCPT TO", 250).await?;
        }
        s.write_all(b"DATA\r\n").await?;
        expect(&mut r, &mut s, "DATA", 354).await?;
        s.write_all(message.as_bytes()).await?;
        expect(&mut r, &mut s, "the message", 250).await?;
        s.write_all(b"QUIT\r\n").await?;
        Ok(())
    }
}

/// `<addr>`, or the `<…>` part of `Name <addr>` (`mail_cmd()`, `rcpt_cmd()`).
fn angle(addr: &str) -> String {
    match addr.rfind('<') {
        Some(i) if addr.ends_with('>') => addr[i..].to_string(),
        _ => format!("<{addr}>"),
    }
}

/// Reads one reply (with its `NNN-` continuation lines, by SMTP_CHECK's capped reader)
/// and checks its code.
async fn expect(
    r: &mut Lines,
    s: &mut TcpStream,
    stage: &'static str,
    code: u16,
) -> Result<(), SmtpError> {
    match r.reply_text(s).await {
        Ok((got, _)) if got == code => Ok(()),
        Ok((_, said)) => Err(SmtpError::Refused {
            stage,
            expected: code,
            said,
        }),
        Err(said) => Err(SmtpError::Refused {
            stage,
            expected: code,
            said,
        }),
    }
}

fn rfc822_now() -> String {
    let mut t: libc::time_t = 0;
    // SAFETY: libc::tm is plain data; all-zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let mut buf = [0u8; 64];
    // SAFETY: time/localtime_r/strftime with valid pointers into our own buffers.
    let n = unsafe {
        libc::time(&mut t);
        libc::localtime_r(&t, &mut tm);
        libc::strftime(
            buf.as_mut_ptr().cast(),
            buf.len(),
            c"%a, %d %b %Y %H:%M:%S %z".as_ptr(),
            &tm,
        )
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, BufReader};
    use tokio::net::TcpListener;

    fn mailer(port: u16) -> Mailer {
        Mailer {
            server: ("127.0.0.1".into(), port),
            helo: "lb1".into(),
            from: "Keepalived <ka@example.org>".into(),
            to: vec!["ops@example.org".into(), "oncall@example.org".into()],
            router_id: "LVS_1".into(),
            timeout: Duration::from_secs(5),
        }
    }

    /// A minimal SMTP server that records the session and answers `codes` in turn.
    async fn server(codes: Vec<&'static str>) -> (u16, tokio::task::JoinHandle<String>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let h = tokio::spawn(async move {
            let (s, _) = l.accept().await.unwrap();
            let (r, mut w) = s.into_split();
            let mut r = BufReader::new(r);
            let mut log = String::new();
            w.write_all(b"220-smtp.example.org\r\n220 ready\r\n")
                .await
                .unwrap();
            let mut codes = codes.into_iter();
            let mut in_data = false;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                    break;
                }
                log.push_str(&line);
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    }
                    continue;
                }
                if line.starts_with("DATA") {
                    in_data = true;
                }
                if line.starts_with("QUIT") {
                    break;
                }
                let code = codes.next().unwrap_or("250 ok");
                w.write_all(format!("{code}\r\n").as_bytes()).await.unwrap();
            }
            log
        });
        (port, h)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_alert_goes_through_keepalived_s_session() {
        let (port, h) = server(vec!["250 hi", "250 ok", "250 ok", "250 ok", "354 go"]).await;
        mailer(port)
            .send(
                "VRRP Instance VI_1 - Entering MASTER state",
                "=> VRRP Instance is now owning VRRP VIPs <=\n.dot line",
            )
            .await
            .unwrap();
        let log = h.await.unwrap();
        assert!(log.starts_with("HELO lb1\r\nMAIL FROM:<ka@example.org>\r\nRCPT TO:<ops@example.org>\r\nRCPT TO:<oncall@example.org>\r\nDATA\r\n"), "{log}");
        assert!(log.contains("Subject: [LVS_1] VRRP Instance VI_1 - Entering MASTER state\r\n"));
        assert!(log.contains(
            "X-Mailer: Keepalived\r\nTo: ops@example.org,\r\n oncall@example.org\r\n\r\n"
        ));
        assert!(
            log.contains("\r\n..dot line\r\n\r\n.\r\n"),
            "dot-stuffed: {log}"
        );
        assert!(log.ends_with("QUIT\r\n"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_refusal_says_where() {
        let (port, _h) = server(vec!["250 hi", "550 no such sender"]).await;
        let e = mailer(port).send("s", "b").await.unwrap_err();
        assert!(
            e.to_string().contains("after MAIL FROM: expected 250")
                && e.to_string().contains("550 no such sender"),
            "{e}"
        );
    }

    #[test]
    fn addresses_keep_their_angle_brackets() {
        assert_eq!(angle("a@b"), "<a@b>");
        assert_eq!(angle("Ops <a@b>"), "<a@b>");
    }
}
