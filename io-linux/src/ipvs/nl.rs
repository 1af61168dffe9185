//! Netlink and generic-netlink framing, in the smoltcp idiom: [`Message`] is a checked
//! view over one message in a receive buffer, [`Attrs`] walks a run of attributes, and
//! [`Builder`] writes a request. Nothing here makes a system call; layouts follow
//! `<linux/netlink.h>` and `<linux/genetlink.h>` (host byte order, 4-byte alignment).

use std::net::IpAddr;

/// `struct nlmsghdr`.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// `struct genlmsghdr`.
pub(crate) const GENL_HDRLEN: usize = 4;
/// `struct nlattr`.
pub(crate) const NLA_HDRLEN: usize = 4;

pub(crate) const NLMSG_ERROR: u16 = 2;
pub(crate) const NLMSG_DONE: u16 = 3;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_DUMP: u16 = 0x300;
/// On an error message: extended-ack attributes follow the echoed header.
pub(crate) const NLM_F_ACK_TLVS: u16 = 0x200;
/// On an error message: the request's payload is not echoed (`NETLINK_CAP_ACK`).
pub(crate) const NLM_F_CAPPED: u16 = 0x100;

/// `NLMSGERR_ATTR_MSG`: the kernel's text for an extended ack.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// The type bits of `nla_type`, without `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER`.
const NLA_TYPE_MASK: u16 = 0x3fff;
const NLA_F_NESTED: u16 = 0x8000;

/// The generic-netlink controller (`GENL_ID_CTRL`) and what we ask of it.
pub(crate) const GENL_ID_CTRL: u16 = 0x10;
pub(crate) const CTRL_CMD_GETFAMILY: u8 = 3;
pub(crate) const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub(crate) const CTRL_ATTR_FAMILY_NAME: u16 = 2;

pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// What is wrong with bytes the kernel sent; the field says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("netlink message truncated: {0}")]
    Truncated(&'static str),
    #[error("netlink attribute {kind} has {len} bytes, expected {expected}")]
    AttrLength {
        kind: u16,
        len: usize,
        expected: &'static str,
    },
    #[error("netlink attribute {0} is missing")]
    Missing(&'static str),
    #[error("netlink attribute {0} is not valid UTF-8")]
    Text(&'static str),
}

/// A checked view of one netlink message.
#[derive(Debug, Clone, Copy)]
pub struct Message<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Message<T> {
    /// The header fits and `nlmsg_len` stays inside `buffer`.
    pub(crate) fn new_checked(buffer: T) -> Result<Self, WireError> {
        let b = buffer.as_ref();
        if b.len() < NLMSG_HDRLEN {
            return Err(WireError::Truncated("nlmsghdr"));
        }
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if len < NLMSG_HDRLEN || len > b.len() {
            return Err(WireError::Truncated("nlmsg_len"));
        }
        Ok(Message { buffer })
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    pub fn length(&self) -> usize {
        u32::from_ne_bytes([self.b()[0], self.b()[1], self.b()[2], self.b()[3]]) as usize
    }
    pub fn msg_type(&self) -> u16 {
        u16::from_ne_bytes([self.b()[4], self.b()[5]])
    }
    pub fn flags(&self) -> u16 {
        u16::from_ne_bytes([self.b()[6], self.b()[7]])
    }
    pub fn seq(&self) -> u32 {
        u32::from_ne_bytes([self.b()[8], self.b()[9], self.b()[10], self.b()[11]])
    }
    pub fn payload(&self) -> &[u8] {
        &self.b()[NLMSG_HDRLEN..self.length()]
    }
    /// The generic-netlink command and the attributes after its header.
    pub fn genl(&self) -> Result<(u8, Attrs<'_>), WireError> {
        let p = self.payload();
        if p.len() < GENL_HDRLEN {
            return Err(WireError::Truncated("genlmsghdr"));
        }
        Ok((p[0], Attrs::new(&p[GENL_HDRLEN..])))
    }
    /// For `NLMSG_ERROR`: 0 for an ack, else the positive errno, with the kernel's
    /// extended-ack text when it gave one.
    pub fn error(&self) -> Result<(i32, Option<String>), WireError> {
        let p = self.payload();
        if p.len() < 4 + NLMSG_HDRLEN {
            return Err(WireError::Truncated("nlmsgerr"));
        }
        let errno = -i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
        let mut text = None;
        if self.flags() & NLM_F_ACK_TLVS != 0 {
            // The echoed request: its header only when capped, else the whole message.
            let echoed = if self.flags() & NLM_F_CAPPED != 0 {
                NLMSG_HDRLEN
            } else {
                Message::new_checked(&p[4..]).map(|m| m.length())?
            };
            if let Some(tlvs) = p.get(4 + align4(echoed)..) {
                for a in Attrs::new(tlvs) {
                    let (kind, v) = a?;
                    if kind == NLMSGERR_ATTR_MSG {
                        text = Some(attr_str(v, "NLMSGERR_ATTR_MSG")?);
                    }
                }
            }
        }
        Ok((errno, text))
    }
}

/// Splits a receive buffer into messages, each checked.
pub fn messages(buf: &[u8]) -> impl Iterator<Item = Result<Message<&[u8]>, WireError>> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match Message::new_checked(rest) {
            Ok(m) => {
                let n = align4(m.length()).min(rest.len());
                let msg = Message::new_checked(&rest[..m.length()]);
                rest = &rest[n..];
                Some(msg)
            }
            Err(e) => {
                rest = &[];
                Some(Err(e))
            }
        }
    })
}

/// The attributes in a payload, each `(type, value)` with the flag bits cleared.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    pub fn new(rest: &'a [u8]) -> Self {
        Attrs { rest }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), WireError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let r = self.rest;
        if r.len() < NLA_HDRLEN {
            self.rest = &[];
            return Some(Err(WireError::Truncated("nlattr")));
        }
        let len = u16::from_ne_bytes([r[0], r[1]]) as usize;
        let kind = u16::from_ne_bytes([r[2], r[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > r.len() {
            self.rest = &[];
            return Some(Err(WireError::Truncated("nla_len")));
        }
        self.rest = &r[align4(len).min(r.len())..];
        Some(Ok((kind, &r[NLA_HDRLEN..len])))
    }
}

fn fixed<const N: usize>(
    v: &[u8],
    kind: u16,
    expected: &'static str,
) -> Result<[u8; N], WireError> {
    v.get(..N)
        .and_then(|s| s.try_into().ok())
        .ok_or(WireError::AttrLength {
            kind,
            len: v.len(),
            expected,
        })
}

pub(crate) fn attr_u8(v: &[u8], kind: u16) -> Result<u8, WireError> {
    Ok(fixed::<1>(v, kind, "1 (u8)")?[0])
}
pub(crate) fn attr_u16(v: &[u8], kind: u16) -> Result<u16, WireError> {
    Ok(u16::from_ne_bytes(fixed(v, kind, "2 (u16)")?))
}
pub(crate) fn attr_be16(v: &[u8], kind: u16) -> Result<u16, WireError> {
    Ok(u16::from_be_bytes(fixed(v, kind, "2 (be16)")?))
}
pub(crate) fn attr_u32(v: &[u8], kind: u16) -> Result<u32, WireError> {
    Ok(u32::from_ne_bytes(fixed(v, kind, "4 (u32)")?))
}
/// A NUL-terminated (or unterminated) string.
pub(crate) fn attr_str(v: &[u8], what: &'static str) -> Result<String, WireError> {
    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end])
        .map(str::to_owned)
        .map_err(|_| WireError::Text(what))
}
/// `union nf_inet_addr` (16 bytes; an IPv4 address in the first 4) read for `v6`.
pub(crate) fn attr_inet(v: &[u8], kind: u16, v6: bool) -> Result<IpAddr, WireError> {
    if v6 {
        Ok(IpAddr::from(fixed::<16>(v, kind, "16 (in6_addr)")?))
    } else {
        Ok(IpAddr::from(fixed::<4>(v, kind, "4 (in_addr)")?))
    }
}

/// Writes one netlink request: header, generic-netlink header, attributes.
#[derive(Debug)]
pub struct Builder {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Builder {
    pub fn new(family: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> Self {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&family.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&[cmd, version, 0, 0]);
        Builder {
            buf,
            nests: Vec::new(),
        }
    }

    pub fn put(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let len = NLA_HDRLEN + value.len();
        // An attribute longer than u16 cannot be said; no IPVS attribute comes close.
        let len16 = u16::try_from(len).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }
    pub fn u8(&mut self, kind: u16, v: u8) -> &mut Self {
        self.put(kind, &[v])
    }
    pub fn u16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put(kind, &v.to_ne_bytes())
    }
    pub(crate) fn be16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.put(kind, &v.to_be_bytes())
    }
    pub fn u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.put(kind, &v.to_ne_bytes())
    }
    /// A string with its NUL, as `NLA_NUL_STRING` policies want.
    pub fn str(&mut self, kind: u16, v: &str) -> &mut Self {
        let mut b = Vec::with_capacity(v.len() + 1);
        b.extend_from_slice(v.as_bytes());
        b.push(0);
        self.put(kind, &b)
    }
    /// `union nf_inet_addr`: always 16 bytes, an IPv4 address in the first 4.
    pub(crate) fn inet(&mut self, kind: u16, addr: IpAddr) -> &mut Self {
        let mut b = [0u8; 16];
        match addr {
            IpAddr::V4(a) => b[..4].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => b = a.octets(),
        }
        self.put(kind, &b)
    }
    pub(crate) fn begin_nested(&mut self, kind: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }
    pub(crate) fn end_nested(&mut self) -> &mut Self {
        if let Some(start) = self.nests.pop() {
            let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }
    /// The finished message with its length filled in.
    pub fn finish(mut self) -> Vec<u8> {
        while !self.nests.is_empty() {
            self.end_nested();
        }
        let len = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_message_reads_back() {
        let mut b = Builder::new(0x20, NLM_F_REQUEST | NLM_F_ACK, 7, 1, 1);
        b.begin_nested(1)
            .u16(1, 2)
            .str(6, "wlc")
            .end_nested()
            .u32(4, 900);
        let buf = b.finish();
        assert_eq!(buf.len() % 4, 0);
        let m = Message::new_checked(&buf[..]).unwrap();
        assert_eq!((m.msg_type(), m.seq(), m.length()), (0x20, 7, buf.len()));
        let (cmd, attrs) = m.genl().unwrap();
        assert_eq!(cmd, 1);
        let attrs: Vec<_> = attrs.map(Result::unwrap).collect();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].0, 1, "the nested flag is masked off");
        let inner: Vec<_> = Attrs::new(attrs[0].1).map(Result::unwrap).collect();
        assert_eq!(attr_u16(inner[0].1, 1).unwrap(), 2);
        assert_eq!(attr_str(inner[1].1, "sched").unwrap(), "wlc");
        assert_eq!(attr_u32(attrs[1].1, 4).unwrap(), 900);
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let mut b = Builder::new(0x20, 0, 1, 1, 1);
        b.str(6, "wlc");
        let buf = b.finish();
        for cut in 0..buf.len() {
            let _ = messages(&buf[..cut]).map(|m| m.map(|m| m.genl().map(|(_, a)| a.count())));
        }
        assert!(Message::new_checked(&buf[..NLMSG_HDRLEN - 1]).is_err());
        let mut bad = buf.clone();
        bad[NLMSG_HDRLEN + GENL_HDRLEN] = 200; // nla_len past the end
        let m = Message::new_checked(&bad[..]).unwrap();
        assert!(m.genl().unwrap().1.any(|a| a.is_err()));
        assert!(attr_u32(&[1, 2], 3).is_err());
    }

    #[test]
    fn error_message_carries_errno_and_text() {
        // An NLMSG_ERROR for a capped ack with an extended-ack message.
        let req = Builder::new(0x20, NLM_F_REQUEST, 9, 1, 1).finish();
        let mut p = Vec::new();
        p.extend_from_slice(&(-2i32).to_ne_bytes());
        p.extend_from_slice(&req[..NLMSG_HDRLEN]);
        let mut tlv = Builder::new(0, 0, 0, 0, 0);
        tlv.str(NLMSGERR_ATTR_MSG, "no such scheduler");
        let tlv = tlv.finish();
        p.extend_from_slice(&tlv[NLMSG_HDRLEN + GENL_HDRLEN..]);
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + p.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_CAPPED | NLM_F_ACK_TLVS).to_ne_bytes());
        m.extend_from_slice(&9u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&p);
        let msg = Message::new_checked(&m[..]).unwrap();
        assert_eq!(
            msg.error().unwrap(),
            (2, Some("no such scheduler".to_string()))
        );
    }
}
