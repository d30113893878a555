//! The deprecated BGP type (5, RFC 6396 Appendix B.2.3), found in archives written before
//! BGP4MP (RIPE RIS until 2001): UPDATE and STATE_CHANGE records of one IPv4 peering with
//! 2-octet AS numbers.
//!
//! They are read into the BGP4MP bodies: an UPDATE (whose record carries the message body
//! without the 19-octet header) becomes a [`Bgp4mpMessage`] whose `raw` is the message with
//! a header put in front; a STATE_CHANGE becomes a [`StateChange`] whose local AS and
//! address are zero. Other subtypes come back raw. The writer writes these bodies as
//! BGP4MP.

use super::fields::Fields;
use super::record::{legacy_bgp_subtype as st, Bgp4mpMessage, Bgp4mpPeer, MrtBody, StateChange};
use super::recovery::decode_recorded_message;
use crate::error::DecodeError;
use crate::header::{HEADER_LEN, MARKER};
use bytes::{BufMut, BytesMut};
use std::net::{IpAddr, Ipv4Addr};

/// Decodes a type 5 body; `None` for subtypes other than UPDATE and STATE_CHANGE.
pub(crate) fn parse_legacy_bgp(
    subtype: u16,
    record: &[u8],
    body: &[u8],
) -> Result<Option<MrtBody>, DecodeError> {
    let mut f = Fields::new(record, body);
    match subtype {
        st::UPDATE => {
            let peer_as = f.asn(false, "truncated peer AS")?;
            let peer_address = IpAddr::V4(f.ipv4("truncated peer address")?);
            let local_as = f.asn(false, "truncated local AS")?;
            let local_address = IpAddr::V4(f.ipv4("truncated local address")?);
            let update = f.rest();
            let at = f.offset();
            let length = HEADER_LEN + update.len();
            let Ok(length16) = u16::try_from(length) else {
                return Err(f.error("UPDATE longer than a BGP message"));
            };
            let mut raw = BytesMut::with_capacity(length);
            raw.put_slice(&MARKER);
            raw.put_u16(length16);
            raw.put_u8(2);
            raw.put_slice(update);
            let raw = raw.freeze();
            let ctx = Bgp4mpMessage::context(false, false);
            let message = decode_recorded_message(&raw, &ctx).map_err(|mut e| {
                // Offsets in the header that was put in front count as the body's start.
                e.offset = at + e.offset.saturating_sub(HEADER_LEN);
                e
            })?;
            Ok(Some(MrtBody::Message(Bgp4mpMessage {
                peer: Bgp4mpPeer {
                    peer_as,
                    local_as,
                    interface_index: 0,
                    peer_address,
                    local_address,
                },
                four_octet_as: false,
                local: false,
                add_path: false,
                message,
                raw,
            })))
        }
        st::STATE_CHANGE => {
            let peer_as = f.asn(false, "truncated peer AS")?;
            let peer_address = IpAddr::V4(f.ipv4("truncated peer address")?);
            let old_state = f.u16("truncated old state")?;
            let new_state = f.u16("truncated new state")?;
            Ok(Some(MrtBody::StateChange(StateChange {
                peer: Bgp4mpPeer {
                    peer_as,
                    local_as: 0,
                    interface_index: 0,
                    peer_address,
                    local_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                },
                four_octet_as: false,
                old_state,
                new_state,
            })))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    /// Type 5 UPDATE from 193.0.0.56 AS 3333: ORIGIN IGP, AS_PATH 3333, NEXT_HOP, NLRI
    /// 10.0.0.0/8.
    const UPDATE: [u8; 48] = [
        0x37, 0xcf, 0x0e, 0xc3, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x24, // header
        0x0d, 0x05, 193, 0, 0, 56, 0x31, 0x6e, 193, 0, 4, 28, // peering
        0x00, 0x00, 0x00, 0x12, // no withdrawals, 18 octets of attributes
        0x40, 0x01, 0x01, 0x00, 0x40, 0x02, 0x04, 0x02, 0x01, 0x0d, 0x05, // ORIGIN, AS_PATH
        0x40, 0x03, 0x04, 193, 0, 0, 56, // NEXT_HOP
        0x08, 10, // NLRI
    ];

    #[test]
    fn update() {
        let body = UPDATE.get(12..).unwrap_or(&[]);
        let Ok(Some(MrtBody::Message(m))) = parse_legacy_bgp(1, &UPDATE, body) else {
            panic!("does not parse");
        };
        assert_eq!(m.peer.peer_as, 3333);
        assert_eq!(m.peer.peer_address.to_string(), "193.0.0.56");
        let Message::Update(u) = &m.message else {
            panic!("not an UPDATE");
        };
        assert_eq!(
            u.nlri.first().map(|n| n.to_string()).as_deref(),
            Some("10.0.0.0/8")
        );
        assert_eq!(m.raw.len(), 19 + 24);
    }

    #[test]
    fn state_change_and_errors() {
        let rec = [
            0x37, 0xcf, 0x0e, 0xc3, 0x00, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00, 0x0a, // header
            0x0d, 0x05, 193, 0, 0, 56, 0x00, 0x01, 0x00, 0x02,
        ];
        let body = rec.get(12..).unwrap_or(&[]);
        let Ok(Some(MrtBody::StateChange(s))) = parse_legacy_bgp(3, &rec, body) else {
            panic!("does not parse");
        };
        assert_eq!((s.peer.peer_as, s.old_state, s.new_state), (3333, 1, 2));
        let short = rec.get(..20).unwrap_or(&[]);
        let e = parse_legacy_bgp(3, short, short.get(12..).unwrap_or(&[]));
        assert_eq!(e.map_err(|e| e.offset), Err(20));
        assert_eq!(parse_legacy_bgp(7, &rec, body), Ok(None));
        // An UPDATE error points into the record.
        let mut bad = UPDATE;
        if let Some(b) = bad.get_mut(27) {
            *b = 0xff; // attribute length overruns the message
        }
        let e = parse_legacy_bgp(1, &bad, bad.get(12..).unwrap_or(&[]));
        assert!(e.is_err_and(|e| (24..48).contains(&e.offset)));
    }
}
