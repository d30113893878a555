//! BGP4MP and BGP4MP_ET (types 16 and 17, RFC 6396 §4.4; ADD-PATH subtypes RFC 8050 §3):
//! state changes and whole BGP messages of one peering.
//!
//! Validated here: the peering fields (AS numbers of the subtype's width, a known Address
//! Family and its addresses). The BGP message is decoded with [`crate::Message::decode`] in
//! the context [`Bgp4mpMessage::context`] gives, keeping what the archive recorded where a
//! session would refuse it (see `recovery`); its errors are returned with their offset moved
//! to count from the start of the record.

use super::fields::{offset_in, Fields};
use super::record::{bgp4mp_subtype as st, Bgp4mpMessage, Bgp4mpPeer, MrtBody, StateChange};
use super::recovery::decode_recorded_message;
use crate::error::DecodeError;
use crate::family::{AFI_IPV4, AFI_IPV6};
use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr};

/// Decodes a BGP4MP / BGP4MP_ET body (the microsecond field already removed). `record` is
/// the whole record as one buffer, so the message keeps a zero-copy slice of it. `None` for
/// subtypes this crate does not decode.
#[inline]
pub(crate) fn parse_bgp4mp(
    subtype: u16,
    record: &Bytes,
    body: &[u8],
) -> Result<Option<MrtBody>, DecodeError> {
    let (four_octet_as, local, add_path) = match subtype {
        st::STATE_CHANGE | st::STATE_CHANGE_AS4 => {
            let four = subtype == st::STATE_CHANGE_AS4;
            return parse_state_change(four, record, body).map(|s| Some(MrtBody::StateChange(s)));
        }
        st::MESSAGE => (false, false, false),
        st::MESSAGE_AS4 => (true, false, false),
        st::MESSAGE_LOCAL => (false, true, false),
        st::MESSAGE_AS4_LOCAL => (true, true, false),
        st::MESSAGE_ADDPATH => (false, false, true),
        st::MESSAGE_AS4_ADDPATH => (true, false, true),
        st::MESSAGE_LOCAL_ADDPATH => (false, true, true),
        st::MESSAGE_AS4_LOCAL_ADDPATH => (true, true, true),
        _ => return Ok(None),
    };
    let mut f = Fields::new(record, body);
    let peer = parse_peer(&mut f, four_octet_as)?;
    let bgp = f.rest();
    let at = offset_in(record, bgp);
    let ctx = Bgp4mpMessage::context(four_octet_as, add_path);
    let message = decode_recorded_message(bgp, &ctx).map_err(|mut e| {
        e.offset += at;
        e
    })?;
    Ok(Some(MrtBody::Message(Bgp4mpMessage {
        peer,
        four_octet_as,
        local,
        add_path,
        message,
        raw: record.slice_ref(bgp),
    })))
}

/// The peering fields shared by every BGP4MP subtype (RFC 6396 §4.4.1).
fn parse_peer(f: &mut Fields<'_>, four_octet_as: bool) -> Result<Bgp4mpPeer, DecodeError> {
    // The usual case in one step: 4-octet AS numbers and IPv4 addresses (AFI 1).
    let fields = f.rest();
    if let (
        true,
        &[p0, p1, p2, p3, l0, l1, l2, l3, i0, i1, 0, 1, a0, a1, a2, a3, b0, b1, b2, b3, ref rest @ ..],
    ) = (four_octet_as, fields)
    {
        f.advance_to(rest);
        return Ok(Bgp4mpPeer {
            peer_as: u32::from_be_bytes([p0, p1, p2, p3]),
            local_as: u32::from_be_bytes([l0, l1, l2, l3]),
            interface_index: u16::from_be_bytes([i0, i1]),
            peer_address: IpAddr::V4(Ipv4Addr::new(a0, a1, a2, a3)),
            local_address: IpAddr::V4(Ipv4Addr::new(b0, b1, b2, b3)),
        });
    }
    let peer_as = f.asn(four_octet_as, "truncated peer AS")?;
    let local_as = f.asn(four_octet_as, "truncated local AS")?;
    let interface_index = f.u16("truncated interface index")?;
    let afi_at = f.offset();
    let ipv6 = match f.u16("truncated address family")? {
        AFI_IPV4 => false,
        AFI_IPV6 => true,
        _ => {
            return Err(DecodeError::new(
                crate::ErrorKind::Mrt {
                    reason: "unknown address family (only 1 and 2 are defined)",
                },
                afi_at,
            ))
        }
    };
    let peer_address = f.ip(ipv6, "truncated peer address")?;
    let local_address = f.ip(ipv6, "truncated local address")?;
    Ok(Bgp4mpPeer {
        peer_as,
        local_as,
        interface_index,
        peer_address,
        local_address,
    })
}

/// STATE_CHANGE and STATE_CHANGE_AS4 (RFC 6396 §4.4.1, §4.4.4).
fn parse_state_change(
    four_octet_as: bool,
    record: &[u8],
    body: &[u8],
) -> Result<StateChange, DecodeError> {
    let mut f = Fields::new(record, body);
    let peer = if !four_octet_as && body.len() == 8 {
        // Old Zebra versions wrote 8-octet state changes: the two AS numbers and the states,
        // without interface, address family and addresses (found in RIPE RIS archives of
        // 2000). The addresses read as 0.0.0.0.
        Bgp4mpPeer {
            peer_as: f.asn(false, "truncated peer AS")?,
            local_as: f.asn(false, "truncated local AS")?,
            interface_index: 0,
            peer_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            local_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    } else {
        parse_peer(&mut f, four_octet_as)?
    };
    let old_state = f.u16("truncated old state")?;
    let new_state = f.u16("truncated new state")?;
    Ok(StateChange {
        peer,
        four_octet_as,
        old_state,
        new_state,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::message::Message;

    /// BGP4MP_ET STATE_CHANGE_AS4: 192.0.2.1 AS 4200000000 → collector 192.0.2.254 AS 64496,
    /// OpenConfirm (5) → Established (6), at 1445565686.357655.
    pub(crate) const STATE_CHANGE_AS4_ET: [u8; 40] = [
        0x56, 0x29, 0xa8, 0xf6, 0x00, 0x11, 0x00, 0x05, 0x00, 0x00, 0x00, 0x1c, // header
        0x00, 0x05, 0x75, 0x17, // microseconds 357655
        0xfa, 0x56, 0xea, 0x00, 0x00, 0x00, 0xfb, 0xf0, // peer AS, local AS
        0x00, 0x00, 0x00, 0x01, // interface, AFI
        192, 0, 2, 1, 192, 0, 2, 254, // addresses
        0x00, 0x05, 0x00, 0x06, // states
    ];

    /// BGP4MP MESSAGE (2-octet AS) over IPv6: a KEEPALIVE from 2001:db8::2 AS 65531.
    pub(crate) const MESSAGE_KEEPALIVE_V6: [u8; 71] = [
        0x5e, 0x0b, 0x33, 0x97, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3b, // header
        0xff, 0xfb, 0xff, 0xfa, 0x00, 0x00, 0x00, 0x02, // ASes, interface, AFI
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // peer
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // local
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x00, 0x13, 0x04, // KEEPALIVE
    ];

    /// BGP4MP MESSAGE_AS4_ADDPATH (RFC 8050 §3): an UPDATE from 192.0.2.1 AS 4200000000
    /// withdrawing 10.1.2.0/24 path 1 and announcing 10.2.0.0/16 path 2.
    pub(crate) const MESSAGE_AS4_ADDPATH_UPDATE: [u8; 90] = [
        0x5e, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x09, 0x00, 0x00, 0x00, 0x4e, // header
        0xfa, 0x56, 0xea, 0x00, 0x00, 0x00, 0xfb, 0xf0, 0x00, 0x00, 0x00, 0x01, // ASes, AFI
        192, 0, 2, 1, 192, 0, 2, 254, // addresses
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x00, 0x3a, 0x02, // UPDATE header
        0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 24, 10, 1, 2, // withdrawn, path id 1
        0x00, 0x14, 0x40, 0x01, 0x01, 0x00, // ORIGIN
        0x40, 0x02, 0x06, 0x02, 0x01, 0xfa, 0x56, 0xea, 0x00, // AS_PATH
        0x40, 0x03, 0x04, 192, 0, 2, 1, // NEXT_HOP
        0x00, 0x00, 0x00, 0x02, 16, 10, 2, // NLRI, path id 2
    ];

    #[test]
    fn message_as4_addpath_update() {
        let (all, body) = split(&MESSAGE_AS4_ADDPATH_UPDATE, 12);
        let Ok(Some(MrtBody::Message(m))) = parse_bgp4mp(9, &all, &body) else {
            panic!("does not parse");
        };
        assert!(m.four_octet_as && m.add_path && !m.local);
        assert_eq!(m.subtype(), 9);
        let Message::Update(u) = &m.message else {
            panic!("not an UPDATE");
        };
        let w: Vec<String> = u.withdrawn.iter().map(|n| n.to_string()).collect();
        let a: Vec<String> = u.nlri.iter().map(|n| n.to_string()).collect();
        assert_eq!(w, vec!["10.1.2.0/24 path-id 1"]);
        assert_eq!(a, vec!["10.2.0.0/16 path-id 2"]);
        assert_eq!(
            u.attributes.as_path().map(|p| p.to_string()).as_deref(),
            Some("4200000000")
        );
        assert!(u.issues.is_empty(), "{:?}", u.issues);
    }

    #[test]
    fn local_subtype_keeps_the_peer_first() {
        let mut local = MESSAGE_AS4_ADDPATH_UPDATE;
        if let Some(b) = local.get_mut(7) {
            *b = 7; // MESSAGE_AS4_LOCAL
        }
        let (all, body) = split(&local, 12);
        let Ok(Some(MrtBody::Message(m))) = parse_bgp4mp(7, &all, &body) else {
            panic!("does not parse");
        };
        // Without ADD-PATH the path identifiers read as prefixes; what matters here is
        // which AS and address are the peer's.
        assert!(m.local && !m.add_path);
        assert_eq!(m.peer.peer_as, 4_200_000_000);
    }

    fn split(record: &[u8], header: usize) -> (Bytes, Bytes) {
        let all = Bytes::copy_from_slice(record);
        let body = all.slice(header..);
        (all, body)
    }

    #[test]
    fn state_change_as4() {
        let (all, body) = split(&STATE_CHANGE_AS4_ET, 16);
        let Ok(Some(MrtBody::StateChange(s))) = parse_bgp4mp(5, &all, &body) else {
            panic!("does not parse");
        };
        assert!(s.four_octet_as);
        assert_eq!(s.peer.peer_as, 4_200_000_000);
        assert_eq!(s.peer.local_as, 64496);
        assert_eq!(s.peer.peer_address.to_string(), "192.0.2.1");
        assert_eq!((s.old_state, s.new_state), (5, 6));
    }

    #[test]
    fn message_keepalive_ipv6() {
        let (all, body) = split(&MESSAGE_KEEPALIVE_V6, 12);
        let Ok(Some(MrtBody::Message(m))) = parse_bgp4mp(1, &all, &body) else {
            panic!("does not parse");
        };
        assert_eq!(m.peer.peer_as, 65531);
        assert_eq!(m.peer.peer_address.to_string(), "2001:db8::2");
        assert_eq!(m.message, Message::Keepalive);
        assert_eq!(m.raw.len(), 19);
        assert_eq!(m.subtype(), 1);
    }

    #[test]
    fn message_error_offset_counts_from_the_record() {
        let mut bad = MESSAGE_KEEPALIVE_V6;
        if let Some(b) = bad.get_mut(60) {
            *b = 0; // break the marker
        }
        let (all, body) = split(&bad, 12);
        let e = parse_bgp4mp(1, &all, &body).expect_err("bad marker");
        assert_eq!(e.offset, 52);
    }

    #[test]
    fn zebra_eight_octet_state_change() {
        let rec = [
            0x3a, 0x03, 0x4b, 0x46, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, // header
            0x00, 0x00, 0x0d, 0x1c, 0x00, 0x03, 0x00, 0x04, // ASes, states
        ];
        let (all, body) = split(&rec, 12);
        let Ok(Some(MrtBody::StateChange(s))) = parse_bgp4mp(0, &all, &body) else {
            panic!("does not parse");
        };
        assert_eq!((s.peer.peer_as, s.peer.local_as), (0, 3356));
        assert_eq!(s.peer.peer_address.to_string(), "0.0.0.0");
        assert_eq!((s.old_state, s.new_state), (3, 4));
    }

    #[test]
    fn unknown_address_family() {
        let mut bad = STATE_CHANGE_AS4_ET;
        if let Some(b) = bad.get_mut(27) {
            *b = 3;
        }
        let (all, body) = split(&bad, 16);
        let e = parse_bgp4mp(5, &all, &body).expect_err("AFI 3");
        assert_eq!(e.offset, 26);
    }
}
