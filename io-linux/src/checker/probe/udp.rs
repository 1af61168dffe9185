//! UDP_CHECK (`keepalived/check/check_udp.c`, `udp_socket_state()` in `layer4.c`): the
//! payload is sent on a connected socket; an ICMP unreachable (ECONNREFUSED on receive)
//! fails. Without `require_reply`, any reply, or none by the timeout, succeeds, as in
//! keepalived; with it, a reply must come, its length lie in
//! `min_reply_length..=max_reply_length`, and its first bytes match the mask
//! (`check_udp_reply()`: only as many bytes as both have are compared).

use keepalived_engine::check::probe::Endpoint;
use tokio::time::Instant;

use super::net::{connect_udp, describe};

pub(crate) struct ReplyRules<'a> {
    pub require_reply: Option<&'a [Option<u8>]>,
    pub min_len: u32,
    pub max_len: u32,
}

/// Whether `reply` passes `rules` (only consulted when a reply is required).
pub(crate) fn check_reply(rules: &ReplyRules<'_>, reply: &[u8]) -> Result<(), String> {
    let Some(mask) = rules.require_reply else {
        return Ok(());
    };
    let len = reply.len() as u64;
    if len < u64::from(rules.min_len) || len > u64::from(rules.max_len) {
        return Err(format!(
            "reply of {len} bytes outside {}..={}",
            rules.min_len, rules.max_len
        ));
    }
    for (i, (want, got)) in mask.iter().zip(reply).enumerate() {
        if let Some(w) = want {
            if w != got {
                return Err(format!("reply byte {i} is {got:#04x}, expected {w:#04x}"));
            }
        }
    }
    Ok(())
}

pub(crate) async fn run(
    ep: &Endpoint,
    payload: &[u8],
    rules: &ReplyRules<'_>,
    deadline: Instant,
) -> Result<(), String> {
    let exchange = async {
        let sock = connect_udp(ep).await?;
        sock.send(payload)
            .await
            .map_err(|e| format!("send: {}", describe(&e)))?;
        // Room for any datagram, so an oversized reply is seen as such, not truncated.
        let mut buf = vec![0u8; 65536];
        let n = sock.recv(&mut buf).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "port unreachable".to_string(),
            _ => format!("receive: {}", describe(&e)),
        })?;
        check_reply(rules, &buf[..n])
    };
    match tokio::time::timeout_at(deadline, exchange).await {
        Ok(r) => r,
        Err(_) if rules.require_reply.is_some() => Err("timeout waiting for a reply".into()),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_rules() {
        let mask = [Some(1u8), None, Some(3)];
        let rules = ReplyRules {
            require_reply: Some(&mask),
            min_len: 2,
            max_len: 4,
        };
        assert!(check_reply(&rules, &[1, 9, 3]).is_ok());
        assert!(check_reply(&rules, &[1, 9]).is_ok()); // only common bytes compared
        assert!(check_reply(&rules, &[2, 9, 3]).is_err());
        assert!(check_reply(&rules, &[1]).is_err()); // too short
        assert!(check_reply(&rules, &[1, 0, 3, 0, 0]).is_err()); // too long
        let any = ReplyRules {
            require_reply: None,
            min_len: 0,
            max_len: 0,
        };
        assert!(check_reply(&any, &[0; 100]).is_ok());
    }
}
