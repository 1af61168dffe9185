//! SMTP_CHECK (`keepalived/check/check_smtp.c`): a `220` greeting, `HELO <helo_name>`, a
//! `250`, then `QUIT`.
//!
//! Replies are read with the alerts' reader ([`crate::host::smtp_reply`]), which caps each
//! line and the lines of one reply; the caller bounds the exchange in time. Differences from
//! keepalived: a multi-line reply (`220-…` continuation lines, RFC 5321 §4.2.1) is read to
//! its last line, where keepalived judges the first line alone and so fails a server with
//! a multi-line banner; and the answer to QUIT is read but not required (a server may
//! close at once), where keepalived needs one more line.

use keepalived_engine::check::probe::Endpoint;
use tokio::io::AsyncWriteExt;

use super::net::{connect_tcp, describe};
use crate::host::smtp_reply::Lines;

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
