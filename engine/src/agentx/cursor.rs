//! Bounds-checked reading and writing in either byte order, shared by the AgentX
//! encodings (which send in network byte order only). Every read checks the bytes left before it touches them.

use super::{ByteOrder, Error};

/// Reads a PDU payload front to back.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    order: ByteOrder,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], order: ByteOrder) -> Self {
        Reader { buf, pos: 0, order }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn order(&self) -> ByteOrder {
        self.order
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes, or `Truncated` naming `what` if fewer are left.
    pub(crate) fn take(&mut self, what: &'static str, n: usize) -> Result<&'a [u8], Error> {
        let have = self.remaining();
        if n > have {
            return Err(Error::Truncated {
                what,
                need: n,
                have,
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Error> {
        Ok(self.take(what, 1)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, Error> {
        let b: [u8; 2] = self.array(what)?;
        Ok(match self.order {
            ByteOrder::Network => u16::from_be_bytes(b),
            ByteOrder::Little => u16::from_le_bytes(b),
        })
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Error> {
        let b: [u8; 4] = self.array(what)?;
        Ok(match self.order {
            ByteOrder::Network => u32::from_be_bytes(b),
            ByteOrder::Little => u32::from_le_bytes(b),
        })
    }

    /// A 64-bit integer: most significant half first in network byte order, least
    /// significant first otherwise (RFC 2741 §5.4, Counter64).
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, Error> {
        let b: [u8; 8] = self.array(what)?;
        Ok(match self.order {
            ByteOrder::Network => u64::from_be_bytes(b),
            ByteOrder::Little => u64::from_le_bytes(b),
        })
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(what, N)?);
        Ok(out)
    }
}

/// Writes an encoding into a buffer the caller sized with the matching `buffer_len`.
/// Like smoltcp's `emit`, it panics if the buffer is too short: that is a bug in the
/// caller, not bad input.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    order: ByteOrder,
}

impl<'a> Writer<'a> {
    /// A writer in network byte order, the only order the codec sends.
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            pos: 0,
            order: ByteOrder::Network,
        }
    }

    /// A writer in either order: tests produce with it what a little-endian peer sends.
    pub(crate) fn with_order(buf: &'a mut [u8], order: ByteOrder) -> Self {
        Writer { buf, pos: 0, order }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }

    pub(crate) fn zeros(&mut self, n: usize) {
        self.buf[self.pos..self.pos + n].fill(0);
        self.pos += n;
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        match self.order {
            ByteOrder::Network => self.bytes(&v.to_be_bytes()),
            ByteOrder::Little => self.bytes(&v.to_le_bytes()),
        }
    }

    pub(crate) fn u32(&mut self, v: u32) {
        match self.order {
            ByteOrder::Network => self.bytes(&v.to_be_bytes()),
            ByteOrder::Little => self.bytes(&v.to_le_bytes()),
        }
    }

    pub(crate) fn u64(&mut self, v: u64) {
        match self.order {
            ByteOrder::Network => self.bytes(&v.to_be_bytes()),
            ByteOrder::Little => self.bytes(&v.to_le_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_byte_orders() {
        let b = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            Reader::new(&b, ByteOrder::Network).u32("x"),
            Ok(0x0102_0304)
        );
        assert_eq!(Reader::new(&b, ByteOrder::Little).u32("x"), Ok(0x0403_0201));
        assert_eq!(Reader::new(&b, ByteOrder::Network).u16("x"), Ok(0x0102));
        assert_eq!(Reader::new(&b, ByteOrder::Little).u16("x"), Ok(0x0201));
        assert_eq!(
            Reader::new(&b, ByteOrder::Network).u64("x"),
            Ok(0x0102_0304_0506_0708)
        );
        assert_eq!(
            Reader::new(&b, ByteOrder::Little).u64("x"),
            Ok(0x0807_0605_0403_0201)
        );
    }

    #[test]
    fn short_read_is_truncated_and_consumes_nothing() {
        let b = [1, 2, 3];
        let mut r = Reader::new(&b, ByteOrder::Network);
        assert_eq!(
            r.u32("field"),
            Err(Error::Truncated {
                what: "field",
                need: 4,
                have: 3
            })
        );
        assert_eq!(r.pos(), 0);
        assert_eq!(
            r.take("huge", usize::MAX).unwrap_err().to_string(),
            format!("AgentX huge: 3 bytes left, need {}", usize::MAX)
        );
    }
}
