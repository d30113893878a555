//! TABLE_DUMP_V2 (type 13, RFC 6396 §4.3; ADD-PATH subtypes RFC 8050 §4): the
//! PEER_INDEX_TABLE and the RIB records that index it.
//!
//! Validated here: every fixed field is present, prefix lengths fit the family, attribute
//! lengths fit the record. RIB entry attributes go through the UPDATE attribute decoder with
//! 4-octet AS numbers and the RFC 6396 §4.3.4 abbreviated MP_REACH_NLRI; RFC 7606 problems
//! are kept in [`RibEntry::issues`]. Peer indexes are not checked against the table (the
//! reader does not keep state between records; see [`PeerIndexTable::peer`]).

use super::fields::Fields;
use super::record::{table_dump_v2_subtype as st, MrtBody, PeerEntry, PeerIndexTable};
use super::record::{RibEntry, RibRecord};
use super::recovery::restore_as_zero;
use crate::attribute::{parse_attributes, MpReachForm};
use crate::error::DecodeError;
use crate::family::Family;
use crate::prefix::take_prefix;
use std::net::IpAddr;

/// Peer Type bit 0 (RFC 6396 §4.3.1): the peer address is IPv6.
pub(crate) const PEER_TYPE_IPV6: u8 = 0x01;
/// Peer Type bit 1 (RFC 6396 §4.3.1): the peer AS is four octets.
pub(crate) const PEER_TYPE_AS4: u8 = 0x02;

/// Decodes a TABLE_DUMP_V2 body; `None` for subtypes (or RIB_GENERIC families) this crate
/// does not decode.
pub(crate) fn parse_table_dump_v2(
    subtype: u16,
    record: &[u8],
    body: &[u8],
) -> Result<Option<MrtBody>, DecodeError> {
    let (family, generic) = match subtype {
        st::PEER_INDEX_TABLE => {
            return parse_peer_index_table(record, body).map(|t| Some(MrtBody::PeerIndexTable(t)))
        }
        st::RIB_IPV4_UNICAST | st::RIB_IPV4_UNICAST_ADDPATH => (Family::IPV4_UNICAST, false),
        st::RIB_IPV4_MULTICAST | st::RIB_IPV4_MULTICAST_ADDPATH => (Family::IPV4_MULTICAST, false),
        st::RIB_IPV6_UNICAST | st::RIB_IPV6_UNICAST_ADDPATH => (Family::IPV6_UNICAST, false),
        st::RIB_IPV6_MULTICAST | st::RIB_IPV6_MULTICAST_ADDPATH => (Family::IPV6_MULTICAST, false),
        st::RIB_GENERIC | st::RIB_GENERIC_ADDPATH => (Family::IPV4_UNICAST, true),
        _ => return Ok(None),
    };
    let add_path = subtype >= st::RIB_IPV4_UNICAST_ADDPATH;
    parse_rib(family, generic, add_path, record, body).map(|r| r.map(MrtBody::Rib))
}

/// PEER_INDEX_TABLE (RFC 6396 §4.3.1).
fn parse_peer_index_table(record: &[u8], body: &[u8]) -> Result<PeerIndexTable, DecodeError> {
    let mut f = Fields::new(record, body);
    let collector_id = f.ipv4("truncated collector BGP ID")?;
    let name_len = f.u16("truncated view name length")?;
    let name = f.take(usize::from(name_len), "view name overruns the record")?;
    let view_name = String::from_utf8_lossy(name).into_owned();
    let count = f.u16("truncated peer count")?;
    // Each entry takes at least 11 octets: do not trust the count for the allocation.
    let mut peers = Vec::with_capacity(usize::from(count).min(f.rest().len() / 11));
    for _ in 0..count {
        let peer_type = f.u8("truncated peer type")?;
        let bgp_id = f.ipv4("truncated peer BGP ID")?;
        let address = f.ip(peer_type & PEER_TYPE_IPV6 != 0, "truncated peer address")?;
        let four_octet_as = peer_type & PEER_TYPE_AS4 != 0;
        let asn = f.asn(four_octet_as, "truncated peer AS")?;
        peers.push(PeerEntry {
            bgp_id,
            address,
            asn,
            four_octet_as,
        });
    }
    Ok(PeerIndexTable {
        collector_id,
        view_name,
        peers,
    })
}

/// RIB_* and RIB_GENERIC records (RFC 6396 §4.3.2, §4.3.3; RFC 8050 §4). `None` for a
/// RIB_GENERIC family whose NLRI this crate cannot delimit (RFC 6396 §4.3.3: such records
/// are to be skipped).
fn parse_rib(
    family: Family,
    generic: bool,
    add_path: bool,
    record: &[u8],
    body: &[u8],
) -> Result<Option<RibRecord>, DecodeError> {
    let mut f = Fields::new(record, body);
    let sequence = f.u32("truncated sequence number")?;
    let family = if generic {
        let afi = f.u16("truncated AFI")?;
        let safi = f.u8("truncated SAFI")?;
        let family = Family::new(afi, safi);
        if !family.has_prefix_nlri() {
            return Ok(None);
        }
        family
    } else {
        family
    };
    let prefix_at = f.offset();
    let (rest, prefix) = take_prefix(f.rest(), family).map_err(|_| {
        DecodeError::new(
            crate::ErrorKind::Mrt {
                reason: "bad prefix (length too long or overrunning the record)",
            },
            prefix_at,
        )
    })?;
    f.advance_to(rest);
    let count = f.u16("truncated entry count")?;
    // Each entry takes at least 8 octets: do not trust the count for the allocation.
    let mut entries = Vec::with_capacity(usize::from(count).min(f.rest().len() / 8));
    let ctx = crate::SessionContext {
        four_octet_as: true,
        ibgp: true,
        ..crate::SessionContext::default()
    };
    for _ in 0..count {
        let peer_index = f.u16("truncated peer index")?;
        let originated = f.u32("truncated originated time")?;
        let path_id = if add_path {
            Some(f.u32("truncated path identifier")?)
        } else {
            None
        };
        let attr_len = f.u16("truncated attribute length")?;
        let attrs = f.take(
            usize::from(attr_len),
            "attribute length overruns the record",
        )?;
        let mut issues = Vec::new();
        let mut attributes = parse_attributes(
            attrs,
            &ctx,
            MpReachForm::Abbreviated(family),
            record,
            &mut issues,
        )?;
        restore_as_zero(attrs, true, &mut attributes, &issues);
        entries.push(RibEntry {
            peer_index,
            originated,
            path_id,
            attributes,
            issues,
        });
    }
    Ok(Some(RibRecord {
        family,
        generic,
        add_path,
        sequence,
        prefix,
        entries,
    }))
}

/// The address family bit of a peer address, for writers.
pub(crate) fn peer_type(entry: &PeerEntry) -> u8 {
    let mut t = 0;
    if matches!(entry.address, IpAddr::V6(_)) {
        t |= PEER_TYPE_IPV6;
    }
    if entry.four_octet_as {
        t |= PEER_TYPE_AS4;
    }
    t
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attribute::MpNextHop;

    /// PEER_INDEX_TABLE: collector 192.0.2.254, view "rv", two peers: 192.0.2.1 AS 64496
    /// (2-octet) and 2001:db8::1 AS 4200000000 (4-octet).
    pub(crate) const PEER_INDEX_RECORD: [u8; 58] = [
        0x5e, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x2e, // header
        192, 0, 2, 254, 0x00, 0x02, b'r', b'v', 0x00, 0x02, // collector, view, count
        0x00, 10, 0, 0, 1, 192, 0, 2, 1, 0xfb, 0xf0, // peer 0
        0x03, 10, 0, 0, 2, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x01, // peer 1 address
        0xfa, 0x56, 0xea, 0x00, // peer 1 AS
    ];

    /// RIB_IPV6_UNICAST_ADDPATH: seq 1, 2001:db8::/32, one entry from peer 1, path id 7,
    /// ORIGIN IGP and an abbreviated MP_REACH_NLRI with next hop 2001:db8::1.
    pub(crate) const RIB_IPV6_ADDPATH_RECORD: [u8; 59] = [
        0x5e, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x2f, // header
        0x00, 0x00, 0x00, 0x01, 32, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, // seq, prefix, count
        0x00, 0x01, 0x5e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, // peer, time, path id
        0x00, 0x18, // attribute length
        0x40, 0x01, 0x01, 0x00, // ORIGIN
        0x80, 0x0e, 0x11, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x01, // MP_REACH_NLRI, abbreviated
    ];

    /// RIB_GENERIC (RFC 6396 §4.3.3) for IPv4 multicast: 10.2.0.0/16, one entry from peer 0
    /// with ORIGIN INCOMPLETE.
    pub(crate) const RIB_GENERIC_RECORD: [u8; 36] = [
        0x5e, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x06, 0x00, 0x00, 0x00, 0x18, // header
        0x00, 0x00, 0x00, 0x05, 0x00, 0x01, 0x02, 16, 10, 2, 0x00,
        0x01, // seq, AFI/SAFI, NLRI
        0x00, 0x00, 0x5e, 0x00, 0x00, 0x00, 0x00, 0x04, 0x40, 0x01, 0x01, 0x02, // entry
    ];

    #[test]
    fn rib_generic_prefix_family() {
        let r = &RIB_GENERIC_RECORD;
        let Ok(Some(MrtBody::Rib(rib))) = parse_table_dump_v2(6, r, body(r)) else {
            panic!("does not parse");
        };
        assert!(rib.generic && !rib.add_path);
        assert_eq!(rib.family, Family::IPV4_MULTICAST);
        assert_eq!(rib.subtype(), 6);
        assert_eq!(
            (rib.sequence, rib.prefix.to_string()),
            (5, "10.2.0.0/16".to_string())
        );
        assert_eq!(rib.entries.len(), 1);
    }

    fn body(record: &[u8]) -> &[u8] {
        record.get(12..).unwrap_or(&[])
    }

    #[test]
    fn peer_index_table() {
        let r = &PEER_INDEX_RECORD;
        let Ok(Some(MrtBody::PeerIndexTable(t))) = parse_table_dump_v2(1, r, body(r)) else {
            panic!("does not parse");
        };
        assert_eq!(t.collector_id.to_string(), "192.0.2.254");
        assert_eq!(t.view_name, "rv");
        assert_eq!(t.peers.len(), 2);
        assert_eq!(t.peer(0).map(|p| p.asn), Some(64496));
        assert_eq!(
            t.peer(1).map(|p| p.address.to_string()).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            t.peer(1).map(|p| (p.asn, p.four_octet_as)),
            Some((4_200_000_000, true))
        );
        assert_eq!(t.peer(2), None);
    }

    #[test]
    fn rib_ipv6_addpath() {
        let r = &RIB_IPV6_ADDPATH_RECORD;
        let Ok(Some(MrtBody::Rib(rib))) = parse_table_dump_v2(10, r, body(r)) else {
            panic!("does not parse");
        };
        assert_eq!(rib.family, Family::IPV6_UNICAST);
        assert!(rib.add_path && !rib.generic);
        assert_eq!(rib.subtype(), 10);
        assert_eq!(rib.prefix.to_string(), "2001:db8::/32");
        let [e] = rib.entries.as_slice() else {
            panic!("one entry expected");
        };
        assert_eq!((e.peer_index, e.path_id), (1, Some(7)));
        let nh = e.attributes.mp_reach().map(|m| m.next_hop.clone());
        assert_eq!(
            nh,
            Some(MpNextHop::Ipv6 {
                global: "2001:db8::1".parse().expect("address"),
                link_local: None
            })
        );
        assert!(e.issues.is_empty(), "{:?}", e.issues);
    }

    #[test]
    fn rib_truncated_entry() {
        let r = RIB_IPV6_ADDPATH_RECORD.get(..40).unwrap_or(&[]);
        let e = parse_table_dump_v2(10, r, body(r)).expect_err("truncated");
        assert_eq!(e.offset, 35);
    }

    #[test]
    fn rib_generic_of_unknown_family_is_raw() {
        // seq, AFI 25 (L2VPN), SAFI 70 (EVPN)
        let r = [0u8, 0, 0, 0, 0, 13, 0, 6, 0, 0, 0, 7, 0, 0, 0, 1, 0, 25, 70];
        assert_eq!(parse_table_dump_v2(6, &r, body(&r)), Ok(None));
    }
}
