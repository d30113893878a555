//! TABLE_DUMP (type 12, RFC 6396 §4.2): the deprecated one-route-per-record RIB format.
//!
//! Validated here: every fixed field is present, the prefix length fits the family, the
//! attribute length fits the record. Attributes go through the UPDATE attribute decoder with
//! 2-octet AS numbers; RFC 7606 problems are kept in [`TableDumpEntry::issues`].

use super::fields::Fields;
use super::record::{table_dump_subtype, MrtBody, TableDumpEntry};
use super::recovery::restore_as_zero;
use crate::attribute::{parse_attributes, MpReachForm};
use crate::error::DecodeError;
use crate::family::Family;
use ipnet::IpNet;
use std::net::IpAddr;

/// Decodes a TABLE_DUMP body. `record` is the whole record, `body` the part after the header.
/// Unknown subtypes (address families) come back as [`MrtBody::Raw`].
pub(crate) fn parse_table_dump(
    subtype: u16,
    record: &[u8],
    body: &[u8],
) -> Result<Option<MrtBody>, DecodeError> {
    let (ipv6, family) = match subtype {
        table_dump_subtype::AFI_IPV4 => (false, Family::IPV4_UNICAST),
        table_dump_subtype::AFI_IPV6 => (true, Family::IPV6_UNICAST),
        _ => return Ok(None),
    };
    let mut f = Fields::new(record, body);
    let view_number = f.u16("truncated view number")?;
    let sequence = f.u16("truncated sequence number")?;
    let address = f.ip(ipv6, "truncated prefix")?;
    let len_at = f.offset();
    let prefix_len = f.u8("truncated prefix length")?;
    let prefix = IpNet::new(address, prefix_len)
        .map_err(|_| {
            DecodeError::new(
                crate::ErrorKind::Mrt {
                    reason: "prefix length too long for the address family",
                },
                len_at,
            )
        })?
        .trunc();
    let status = f.u8("truncated status")?;
    let originated = f.u32("truncated originated time")?;
    let peer_address: IpAddr = f.ip(ipv6, "truncated peer address")?;
    let peer_as = f.u16("truncated peer AS")?;
    let attr_len = f.u16("truncated attribute length")?;
    let attrs = f.take(
        usize::from(attr_len),
        "attribute length overruns the record",
    )?;
    let ctx = crate::SessionContext {
        four_octet_as: false,
        ibgp: true,
        ..crate::SessionContext::default()
    };
    let mut issues = Vec::new();
    let mut attributes = parse_attributes(
        attrs,
        &ctx,
        MpReachForm::Abbreviated(family),
        record,
        &mut issues,
    )?;
    restore_as_zero(attrs, false, &mut attributes, &issues);
    Ok(Some(MrtBody::TableDump(TableDumpEntry {
        view_number,
        sequence,
        prefix,
        status,
        originated,
        peer_address,
        peer_as,
        attributes,
        issues,
    })))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attribute::Origin;

    /// A TABLE_DUMP AFI_IPv4 record: 10.0.0.0/8 from 192.0.2.1 AS 64496, ORIGIN IGP,
    /// AS_PATH 64496 64497, NEXT_HOP 192.0.2.1.
    pub(crate) const IPV4_RECORD: [u8; 54] = [
        0x5e, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2a, // header
        0x00, 0x00, 0x00, 0x07, // view, sequence
        10, 0, 0, 0, 8, 1, // prefix, length, status
        0x5e, 0x00, 0x00, 0x00, // originated
        192, 0, 2, 1, 0xfb, 0xf0, // peer address, peer AS
        0x00, 0x14, // attribute length
        0x40, 0x01, 0x01, 0x00, // ORIGIN IGP
        0x40, 0x02, 0x06, 0x02, 0x02, 0xfb, 0xf0, 0xfb, 0xf1, // AS_PATH
        0x40, 0x03, 0x04, 192, 0, 2, 1, // NEXT_HOP
    ];

    /// A TABLE_DUMP AFI_IPv6 record: 2001:db8::/32 from 2001:db8::1 AS 64496, ORIGIN IGP
    /// and an abbreviated MP_REACH_NLRI with next hop 2001:db8::1.
    pub(crate) const IPV6_RECORD: [u8; 82] = [
        0x5e, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x02, 0x00, 0x00, 0x00, 0x46, // header
        0x00, 0x00, 0x00, 0x01, // view, sequence
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 1, // prefix, status
        0x5e, 0x00, 0x00, 0x00, // originated
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xfb, 0xf0, // peer
        0x00, 0x18, 0x40, 0x01, 0x01, 0x00, // attribute length, ORIGIN
        0x80, 0x0e, 0x11, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x01, // MP_REACH_NLRI, abbreviated
    ];

    #[test]
    fn ipv6_entry() {
        let body = IPV6_RECORD.get(12..).unwrap_or(&[]);
        let Ok(Some(MrtBody::TableDump(e))) = parse_table_dump(2, &IPV6_RECORD, body) else {
            panic!("does not parse");
        };
        assert_eq!(e.prefix.to_string(), "2001:db8::/32");
        assert_eq!(e.peer_address.to_string(), "2001:db8::1");
        assert_eq!(
            e.attributes.mp_reach().map(|m| m.next_hop.to_string()),
            Some("2001:db8::1".to_string())
        );
        assert!(e.issues.is_empty(), "{:?}", e.issues);
    }

    #[test]
    fn ipv4_entry() {
        let body = IPV4_RECORD.get(12..).unwrap_or(&[]);
        let parsed = parse_table_dump(1, &IPV4_RECORD, body).expect("parses");
        let Some(MrtBody::TableDump(e)) = parsed else {
            panic!("not a table dump entry: {parsed:?}");
        };
        assert_eq!(e.sequence, 7);
        assert_eq!(e.prefix.to_string(), "10.0.0.0/8");
        assert_eq!(e.peer_address.to_string(), "192.0.2.1");
        assert_eq!(e.peer_as, 64496);
        assert_eq!(e.attributes.origin(), Some(&Origin::Igp));
        assert_eq!(
            e.attributes.as_path().map(|p| p.to_string()),
            Some("64496 64497".to_string())
        );
        assert!(e.issues.is_empty());
    }

    #[test]
    fn truncation_reports_the_offset() {
        let short = IPV4_RECORD.get(..28).unwrap_or(&[]);
        let body = short.get(12..).unwrap_or(&[]);
        let e = parse_table_dump(1, short, body).expect_err("truncated");
        assert_eq!(e.offset, 26);
        assert!(e.to_string().contains("truncated peer address"), "{e}");
    }

    #[test]
    fn unknown_subtype_is_not_an_error() {
        assert_eq!(parse_table_dump(9, &IPV4_RECORD, &[]), Ok(None));
    }
}
