//! Decoding one whole MRT record held in memory: the common header (RFC 6396 §2, §3) and a
//! dispatch on type and subtype to the body decoders.

use super::bgp4mp::parse_bgp4mp;
use super::legacy_bgp::parse_legacy_bgp;
use super::record::{mrt_type, MrtBody, MrtHeader, MrtRecord, MRT_HEADER_LEN};
use super::table_dump::parse_table_dump;
use super::table_dump_v2::parse_table_dump_v2;
use crate::error::{DecodeError, ErrorKind};
use bytes::Bytes;

impl MrtHeader {
    /// Parses the common header at the start of `buf` (RFC 6396 §2), with the microsecond
    /// field of BGP4MP_ET (§3). `None` if `buf` is too short for it.
    pub fn parse(buf: &[u8]) -> Option<MrtHeader> {
        let (fixed, rest) = buf.split_first_chunk::<MRT_HEADER_LEN>()?;
        let [t0, t1, t2, t3, y0, y1, s0, s1, l0, l1, l2, l3] = *fixed;
        let mrt_type = u16::from_be_bytes([y0, y1]);
        let microseconds = if MrtHeader::type_has_microseconds(mrt_type) {
            Some(u32::from_be_bytes(*rest.first_chunk::<4>()?))
        } else {
            None
        };
        Some(MrtHeader {
            timestamp: u32::from_be_bytes([t0, t1, t2, t3]),
            microseconds,
            mrt_type,
            subtype: u16::from_be_bytes([s0, s1]),
            length: u32::from_be_bytes([l0, l1, l2, l3]),
        })
    }
}

impl MrtRecord {
    /// Decodes one whole record: `record` holds the header and exactly the body its length
    /// field announces. Types and subtypes this crate does not decode come back as
    /// [`MrtBody::Raw`]; errors carry [`ErrorKind::Mrt`] (or the BGP error of an embedded
    /// message) and the byte offset from the record's first octet. Never panics.
    #[inline]
    pub fn decode(record: &Bytes) -> Result<MrtRecord, DecodeError> {
        let truncated = |reason| DecodeError::new(ErrorKind::Mrt { reason }, 0);
        let header = MrtHeader::parse(record).ok_or_else(|| truncated("truncated header"))?;
        if header.microseconds.is_some() && header.length < 4 {
            return Err(DecodeError::new(
                ErrorKind::Mrt {
                    reason: "length too short for the microsecond timestamp",
                },
                8,
            ));
        }
        let start = header.wire_len();
        if record.len() != start.saturating_add(header.body_len()) {
            return Err(DecodeError::new(
                ErrorKind::Mrt {
                    reason: "record length does not match the length field",
                },
                8,
            ));
        }
        // The body as a plain slice: a `Bytes` view (a reference count taken and dropped) is
        // made only for a body kept raw.
        let body: &[u8] = record.get(start..).unwrap_or_default();
        let decoded = match header.mrt_type {
            mrt_type::TABLE_DUMP => parse_table_dump(header.subtype, record, body)?,
            mrt_type::TABLE_DUMP_V2 => parse_table_dump_v2(header.subtype, record, body)?,
            mrt_type::BGP4MP | mrt_type::BGP4MP_ET => parse_bgp4mp(header.subtype, record, body)?,
            mrt_type::BGP => parse_legacy_bgp(header.subtype, record, body)?,
            _ => None,
        };
        Ok(MrtRecord {
            header,
            body: match decoded {
                Some(body) => body,
                None => MrtBody::Raw(record.slice(start..)),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mrt::bgp4mp::tests::STATE_CHANGE_AS4_ET;

    #[test]
    fn header_with_microseconds() {
        let h = MrtHeader::parse(&STATE_CHANGE_AS4_ET).expect("parses");
        assert_eq!(h.mrt_type, mrt_type::BGP4MP_ET);
        assert_eq!(h.microseconds, Some(357_655));
        assert_eq!(h.wire_len(), 16);
        assert_eq!(h.body_len(), 24);
    }

    #[test]
    fn unknown_type_is_raw() {
        let rec = Bytes::from_static(&[0, 0, 0, 1, 0, 99, 0, 1, 0, 0, 0, 2, 0xab, 0xcd]);
        let r = MrtRecord::decode(&rec).expect("raw record");
        assert_eq!(r.header.mrt_type, 99);
        assert_eq!(r.body, MrtBody::Raw(Bytes::from_static(&[0xab, 0xcd])));
    }

    #[test]
    fn length_mismatch_and_short_et() {
        let rec = Bytes::from_static(&[0, 0, 0, 1, 0, 99, 0, 1, 0, 0, 0, 3, 0xab, 0xcd]);
        assert!(MrtRecord::decode(&rec).is_err());
        let et = Bytes::from_static(&[0, 0, 0, 1, 0, 17, 0, 4, 0, 0, 0, 2, 0, 0, 0, 0]);
        assert_eq!(MrtRecord::decode(&et).map_err(|e| e.offset), Err(8));
        assert!(MrtRecord::decode(&Bytes::from_static(&[1, 2, 3])).is_err());
    }
}
