//! Reading the fixed fields of an MRT record body: a cursor over the record's bytes whose
//! errors carry [`ErrorKind::Mrt`] and the byte offset from the first octet of the record.

use crate::error::{DecodeError, ErrorKind};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A cursor over part of one MRT record. `record` is the whole record (header included), so
/// offsets count from its first octet.
pub(crate) struct Fields<'a> {
    record: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// A cursor over `part`, which must lie inside `record`.
    pub(crate) fn new(record: &'a [u8], part: &'a [u8]) -> Self {
        Fields { record, rest: part }
    }

    /// Offset of the next unread octet from the start of the record.
    pub(crate) fn offset(&self) -> usize {
        offset_in(self.record, self.rest)
    }

    /// An [`ErrorKind::Mrt`] error at the next unread octet.
    pub(crate) fn error(&self, reason: &'static str) -> DecodeError {
        DecodeError::new(ErrorKind::Mrt { reason }, self.offset())
    }

    /// The unread octets.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Takes `n` octets, or fails with `reason`.
    pub(crate) fn take(&mut self, n: usize, reason: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(self.error(reason));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    /// Skips to `rest`, which must be a suffix of the unread octets.
    pub(crate) fn advance_to(&mut self, rest: &'a [u8]) {
        self.rest = rest;
    }

    /// One octet.
    pub(crate) fn u8(&mut self, reason: &'static str) -> Result<u8, DecodeError> {
        let [first, tail @ ..] = self.rest else {
            return Err(self.error(reason));
        };
        self.rest = tail;
        Ok(*first)
    }

    /// Two octets, network order.
    pub(crate) fn u16(&mut self, reason: &'static str) -> Result<u16, DecodeError> {
        let Some((b, tail)) = self.rest.split_first_chunk::<2>() else {
            return Err(self.error(reason));
        };
        self.rest = tail;
        Ok(u16::from_be_bytes(*b))
    }

    /// Four octets, network order.
    pub(crate) fn u32(&mut self, reason: &'static str) -> Result<u32, DecodeError> {
        let Some((b, tail)) = self.rest.split_first_chunk::<4>() else {
            return Err(self.error(reason));
        };
        self.rest = tail;
        Ok(u32::from_be_bytes(*b))
    }

    /// An AS number of two or four octets.
    pub(crate) fn asn(
        &mut self,
        four_octet: bool,
        reason: &'static str,
    ) -> Result<u32, DecodeError> {
        if four_octet {
            self.u32(reason)
        } else {
            self.u16(reason).map(u32::from)
        }
    }

    /// An IPv4 address.
    pub(crate) fn ipv4(&mut self, reason: &'static str) -> Result<Ipv4Addr, DecodeError> {
        self.u32(reason).map(Ipv4Addr::from)
    }

    /// An IPv6 address.
    pub(crate) fn ipv6(&mut self, reason: &'static str) -> Result<Ipv6Addr, DecodeError> {
        let Some((b, tail)) = self.rest.split_first_chunk::<16>() else {
            return Err(self.error(reason));
        };
        self.rest = tail;
        Ok(Ipv6Addr::from(*b))
    }

    /// An address of the family `ipv6` selects.
    pub(crate) fn ip(&mut self, ipv6: bool, reason: &'static str) -> Result<IpAddr, DecodeError> {
        if ipv6 {
            self.ipv6(reason).map(IpAddr::V6)
        } else {
            self.ipv4(reason).map(IpAddr::V4)
        }
    }
}

/// Offset of `part` from the start of `record` (0 if `part` does not lie inside it).
pub(crate) fn offset_in(record: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(record.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_offset_within_the_record() {
        let record = [0u8, 1, 2, 3, 4, 5];
        let mut f = Fields::new(&record, record.get(2..).unwrap_or(&[]));
        assert_eq!(f.u16("a").ok(), Some(0x0203));
        let e = f
            .u32("truncated peer AS")
            .expect_err("only two octets left");
        assert_eq!(e.offset, 4);
        assert_eq!(
            e.kind,
            ErrorKind::Mrt {
                reason: "truncated peer AS"
            }
        );
        assert_eq!(f.u8("b").ok(), Some(4));
        assert_eq!(f.take(1, "c").ok(), Some(&[5u8][..]));
        assert!(f.rest().is_empty());
    }
}
