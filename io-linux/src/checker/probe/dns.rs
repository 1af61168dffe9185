//! DNS_CHECK (`keepalived/check/check_dns.c`): one query over UDP with RD set; success is
//! a reply with our id, QR set and RCODE 0. Replies too short, with another id or without
//! QR are ignored and the wait goes on (as keepalived), so a flood of junk can only run
//! the check into its timeout; nothing past the 12-byte header is read.

use keepalived_engine::check::probe::Endpoint;

use super::net::{connect_udp, describe};

/// The query types keepalived accepts for `type`.
fn qtype(name: &str) -> Option<u16> {
    Some(match name.to_ascii_uppercase().as_str() {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        _ => return None,
    })
}

/// The query message: header (id, RD, QDCOUNT 1), QNAME, QTYPE, QCLASS IN.
pub(crate) fn query(id: u16, qtype_name: &str, name: &str) -> Result<Vec<u8>, String> {
    let qt = qtype(qtype_name).ok_or_else(|| format!("unknown DNS query type {qtype_name}"))?;
    let mut m = Vec::with_capacity(32 + name.len());
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QD=1, AN=NS=AR=0
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(format!("invalid DNS name {name:?}"));
            }
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
    }
    m.push(0);
    if m.len() - 12 > 255 {
        return Err(format!("DNS name too long: {name:?}"));
    }
    m.extend_from_slice(&qt.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes()); // IN
    Ok(m)
}

/// What a datagram says about our query: None to keep waiting.
pub(crate) fn judge(id: u16, reply: &[u8]) -> Option<Result<(), String>> {
    if reply.len() < 12 || u16::from_be_bytes([reply[0], reply[1]]) != id {
        return None;
    }
    let flags = u16::from_be_bytes([reply[2], reply[3]]);
    if flags & 0x8000 == 0 {
        return None;
    }
    Some(match flags & 0x000f {
        0 => Ok(()),
        rcode => Err(format!("DNS reply rcode {rcode}")),
    })
}

pub(crate) async fn run(ep: &Endpoint, qtype_name: &str, name: &str) -> Result<(), String> {
    let id = random_u16();
    let q = query(id, qtype_name, name)?;
    let sock = connect_udp(ep).await?;
    sock.send(&q)
        .await
        .map_err(|e| format!("send: {}", describe(&e)))?;
    let mut buf = [0u8; 512];
    loop {
        let n = sock
            .recv(&mut buf)
            .await
            .map_err(|e| format!("receive: {}", describe(&e)))?;
        if let Some(r) = judge(id, &buf[..n]) {
            return r;
        }
    }
}

/// A query id nobody can predict (getrandom), so an off-path reply cannot fake success.
fn random_u16() -> u16 {
    let mut b = [0u8; 2];
    // SAFETY: writes at most 2 bytes into b.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), 2, 0) };
    if n != 2 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        return (t ^ (t >> 16)) as u16 ^ std::process::id() as u16;
    }
    u16::from_ne_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_encoding() {
        let q = query(0x1234, "A", "www.example.com").unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..29], b"\x03www\x07example\x03com\x00");
        assert_eq!(&q[29..], &[0, 1, 0, 1]);
        let root = query(1, "soa", ".").unwrap();
        assert_eq!(&root[12..], &[0, 0, 6, 0, 1]);
        assert!(query(1, "PTR", ".").is_err());
        assert!(query(1, "A", "a..b").is_err());
        assert!(query(1, "A", &"x".repeat(64)).is_err());
    }

    #[test]
    fn replies() {
        let ok = [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(judge(0x1234, &ok), Some(Ok(())));
        assert_eq!(judge(0x1235, &ok), None);
        assert_eq!(judge(0x1234, &ok[..11]), None);
        let mut q = ok;
        q[2] = 0x01; // no QR
        assert_eq!(judge(0x1234, &q), None);
        let mut servfail = ok;
        servfail[3] = 0x82;
        assert!(judge(0x1234, &servfail).unwrap().is_err());
    }
}
