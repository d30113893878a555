//! Packing many prefixes that share one attribute set into as few UPDATEs as the session's
//! maximum message size allows (RFC 4271 §4.3, RFC 4760 for non-IPv4-unicast families).
//!
//! The attribute block is encoded once; each message then gets as many NLRI as fit. Messages
//! are appended to one buffer, ready to be written to the socket.

use crate::attribute::{flags, type_code, MpNextHop, PathAttributes};
use crate::context::SessionContext;
use crate::error::EncodeError;
use crate::family::Family;
use crate::header::{MessageType, HEADER_LEN, MARKER};
use crate::prefix::Nlri;
use bytes::{BufMut, BytesMut};

/// Packs announcements and withdrawals for one session direction.
#[derive(Debug, Clone, Copy)]
pub struct UpdatePacker {
    ctx: SessionContext,
}

fn begin(out: &mut BytesMut) -> usize {
    let start = out.len();
    out.put_slice(&MARKER);
    out.put_u16(0);
    out.put_u8(MessageType::Update.code());
    start
}

fn finish(out: &mut BytesMut, start: usize) {
    let len = (out.len() - start) as u16;
    if let Some(b) = out.get_mut(start + 16..start + 18) {
        b.copy_from_slice(&len.to_be_bytes());
    }
}

impl UpdatePacker {
    /// A packer for a session with this (send-direction) context.
    pub fn new(ctx: SessionContext) -> Self {
        UpdatePacker { ctx }
    }

    /// Appends UPDATEs announcing `nlri` of `family` with `attributes` to `out`; returns how
    /// many messages were written.
    ///
    /// IPv4 unicast with a NEXT_HOP attribute uses the NLRI field; every other case (IPv6, or
    /// IPv4 over an IPv6 next hop, RFC 8950) uses MP_REACH_NLRI with `mp_next_hop`.
    /// `attributes` must not contain MP_REACH_NLRI or MP_UNREACH_NLRI.
    pub fn announce(
        &self,
        attributes: &PathAttributes,
        family: Family,
        mp_next_hop: Option<&MpNextHop>,
        nlri: &[Nlri],
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        if attributes.get(type_code::MP_REACH_NLRI).is_some()
            || attributes.get(type_code::MP_UNREACH_NLRI).is_some()
        {
            return Err(EncodeError::WrongFamily {
                what: "attributes for packing must not carry MP_REACH_NLRI/MP_UNREACH_NLRI",
            });
        }
        let mut attrs = BytesMut::with_capacity(attributes.wire_len(&self.ctx));
        attributes.encode(&self.ctx, &mut attrs)?;
        let classic = family == Family::IPV4_UNICAST && attributes.next_hop().is_some();
        let mp_next_hop = if classic { None } else { mp_next_hop };
        if !classic && mp_next_hop.is_none() {
            return Err(EncodeError::WrongFamily {
                what: "MP_REACH_NLRI needs a next hop",
            });
        }
        self.announce_encoded(&attrs, family, mp_next_hop, nlri, out)
    }

    /// [`UpdatePacker::announce`] with the attribute block already encoded for this session
    /// (no MP_REACH_NLRI or MP_UNREACH_NLRI in it): a caller that holds attributes in another
    /// form encodes them once, without building a [`PathAttributes`].
    ///
    /// Without `mp_next_hop` the routes go in the NLRI field (IPv4 unicast only, and `attrs`
    /// must carry NEXT_HOP); with it, in MP_REACH_NLRI (RFC 4760 §3).
    pub fn announce_encoded(
        &self,
        attrs: &[u8],
        family: Family,
        mp_next_hop: Option<&MpNextHop>,
        nlri: &[Nlri],
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let ap = self.ctx.add_path.contains(family);
        let max = self.ctx.max_message_len();
        if attrs.len() > 65535 {
            return Err(EncodeError::ValueTooLarge {
                what: "total path attribute length",
                value: attrs.len(),
                max: 65535,
            });
        }
        let mut messages = 0;
        let mut rest = nlri;
        if mp_next_hop.is_none() {
            if family != Family::IPV4_UNICAST {
                return Err(EncodeError::WrongFamily {
                    what: "only IPv4 unicast goes in the NLRI field",
                });
            }
            let fixed = HEADER_LEN + 2 + 2 + attrs.len();
            while !rest.is_empty() {
                let n = fit(rest, ap, max.saturating_sub(fixed))?;
                let start = begin(out);
                out.put_u16(0);
                out.put_u16(attrs.len() as u16);
                out.put_slice(attrs);
                for p in rest.iter().take(n) {
                    p.encode(ap, out);
                }
                finish(out, start);
                rest = rest.get(n..).unwrap_or(&[]);
                messages += 1;
            }
            return Ok(messages);
        }
        let Some(nh) = mp_next_hop else {
            return Err(EncodeError::WrongFamily {
                what: "MP_REACH_NLRI needs a next hop",
            });
        };
        if nh.wire_len() > 255 {
            return Err(EncodeError::ValueTooLarge {
                what: "MP_REACH_NLRI next-hop length",
                value: nh.wire_len(),
                max: 255,
            });
        }
        // MP_REACH_NLRI always with a 2-octet length: flags, type, length(2), AFI, SAFI,
        // next-hop length, next hop, reserved.
        let mp_fixed = 4 + 3 + 1 + nh.wire_len() + 1;
        let fixed = HEADER_LEN + 2 + 2 + attrs.len() + mp_fixed;
        while !rest.is_empty() {
            let room = max.saturating_sub(fixed).min(65535 - (mp_fixed - 4));
            let n = fit(rest, ap, room)?;
            let nlri_len: usize = rest.iter().take(n).map(|p| p.wire_len(ap)).sum();
            let start = begin(out);
            out.put_u16(0);
            out.put_u16((attrs.len() + mp_fixed + nlri_len) as u16);
            out.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
            out.put_u8(type_code::MP_REACH_NLRI);
            out.put_u16((mp_fixed - 4 + nlri_len) as u16);
            out.put_u16(family.afi);
            out.put_u8(family.safi);
            out.put_u8(nh.wire_len() as u8);
            nh.encode(out);
            out.put_u8(0);
            for p in rest.iter().take(n) {
                p.encode(ap, out);
            }
            out.put_slice(attrs);
            finish(out, start);
            rest = rest.get(n..).unwrap_or(&[]);
            messages += 1;
        }
        Ok(messages)
    }

    /// Appends UPDATEs withdrawing `nlri` of `family`; returns how many messages were written.
    pub fn withdraw(
        &self,
        family: Family,
        nlri: &[Nlri],
        out: &mut BytesMut,
    ) -> Result<usize, EncodeError> {
        let ap = self.ctx.add_path.contains(family);
        let max = self.ctx.max_message_len();
        let mut messages = 0;
        let mut rest = nlri;
        while !rest.is_empty() {
            if family == Family::IPV4_UNICAST {
                let n = fit(rest, ap, max - HEADER_LEN - 4)?;
                let wlen: usize = rest.iter().take(n).map(|p| p.wire_len(ap)).sum();
                let start = begin(out);
                out.put_u16(wlen as u16);
                for p in rest.iter().take(n) {
                    p.encode(ap, out);
                }
                out.put_u16(0);
                finish(out, start);
                rest = rest.get(n..).unwrap_or(&[]);
            } else {
                let fixed = HEADER_LEN + 4 + 4 + 3;
                let n = fit(rest, ap, max - fixed)?;
                let wlen: usize = rest.iter().take(n).map(|p| p.wire_len(ap)).sum();
                let start = begin(out);
                out.put_u16(0);
                out.put_u16((4 + 3 + wlen) as u16);
                out.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
                out.put_u8(type_code::MP_UNREACH_NLRI);
                out.put_u16((3 + wlen) as u16);
                out.put_u16(family.afi);
                out.put_u8(family.safi);
                for p in rest.iter().take(n) {
                    p.encode(ap, out);
                }
                finish(out, start);
                rest = rest.get(n..).unwrap_or(&[]);
            }
            messages += 1;
        }
        Ok(messages)
    }
}

/// How many of `nlri` fit in `room` octets (at least one, else the attributes are too large).
fn fit(nlri: &[Nlri], add_path: bool, room: usize) -> Result<usize, EncodeError> {
    let mut used = 0;
    let mut n = 0;
    for p in nlri {
        let l = p.wire_len(add_path);
        if used + l > room {
            break;
        }
        used += l;
        n += 1;
    }
    if n == 0 {
        return Err(EncodeError::MessageTooLong {
            length: HEADER_LEN + used,
            max: room,
        });
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{AsPath, AttributeValue, Origin, PathAttribute};
    use crate::message::Message;
    use std::net::Ipv4Addr;

    fn attrs() -> PathAttributes {
        PathAttributes(vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![64513]))),
            PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(198, 51, 100, 11))),
        ])
    }

    #[test]
    fn packs_many_ipv4_prefixes_into_few_messages() {
        let ctx = SessionContext::default();
        let nlri: Vec<Nlri> = (0..2000u32)
            .map(|i| {
                Nlri::new(
                    format!("10.{}.{}.0/24", i / 256, i % 256)
                        .parse()
                        .expect("prefix"),
                )
            })
            .collect();
        let mut out = BytesMut::new();
        let n = UpdatePacker::new(ctx)
            .announce(&attrs(), Family::IPV4_UNICAST, None, &nlri, &mut out)
            .expect("packs");
        assert_eq!(
            n, 2,
            "2000 /24s at 4 octets each need two 4096-octet messages"
        );
        let mut got = Vec::new();
        let mut buf = &out[..];
        while !buf.is_empty() {
            let len = crate::frame_len(buf, 4096).expect("frame").expect("whole");
            assert!(len <= 4096);
            let (m, rest) = buf.split_at(len);
            let Message::Update(u) = Message::decode(m, &ctx).expect("decodes") else {
                panic!("not an update")
            };
            assert!(u.issues.is_empty());
            got.extend(u.nlri);
            buf = rest;
        }
        assert_eq!(got, nlri);
    }
}
