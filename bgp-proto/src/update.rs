//! UPDATE (RFC 4271 §4.3) with RFC 7606 error handling, ADD-PATH (RFC 7911) and End-of-RIB
//! (RFC 4724 §2).
//!
//! Fatal problems (lengths that overrun the message, NLRI that cannot be parsed, a repeated or
//! broken MP attribute, an unknown well-known attribute) are returned as [`DecodeError`];
//! everything RFC 7606 lets a session survive is recorded in [`Update::issues`].

use crate::attribute::{
    parse_attributes_present, type_code as tc, AttributeValue, MpReachForm, MpUnreach,
    PathAttribute, PathAttributes,
};
use crate::context::SessionContext;
use crate::error::{AttributeAction, DecodeError, EncodeError, ErrorKind, UpdateIssue};
use crate::family::Family;
use crate::prefix::{parse_nlri_field, Nlri};
use bytes::{BufMut, Bytes, BytesMut};

/// An UPDATE message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// Withdrawn IPv4 unicast routes (the Withdrawn Routes field).
    pub withdrawn: Vec<Nlri>,
    /// Path attributes in received order (MP_REACH/MP_UNREACH included).
    pub attributes: PathAttributes,
    /// Announced IPv4 unicast routes (the NLRI field).
    pub nlri: Vec<Nlri>,
    /// RFC 7606 outcomes found while decoding (empty for a clean message). Not encoded.
    pub issues: Vec<UpdateIssue>,
}

impl Update {
    /// Decodes an UPDATE body (`body` follows the 19-octet header; `base` is the message's
    /// first octet, for offsets).
    #[inline]
    pub(crate) fn parse(
        body: &[u8],
        ctx: &SessionContext,
        base: &[u8],
    ) -> Result<Update, DecodeError> {
        let offset = |s: &[u8]| (s.as_ptr() as usize).saturating_sub(base.as_ptr() as usize);
        let list_error = |s: &[u8], reason| {
            DecodeError::new(ErrorKind::MalformedAttributeList { reason }, offset(s))
        };
        let nlri_error = |e: crate::parser::ParseError| {
            e.into_decode(
                base,
                Some(ErrorKind::MalformedAttributeList {
                    reason: "truncated NLRI",
                }),
            )
        };
        let Some((wlen, rest)) = body.split_first_chunk::<2>() else {
            return Err(list_error(body, "missing withdrawn routes length"));
        };
        let wlen = usize::from(u16::from_be_bytes(*wlen));
        if rest.len() < wlen + 2 {
            return Err(list_error(
                body,
                "withdrawn routes length overruns the message",
            ));
        }
        let (wfield, rest) = rest.split_at(wlen);
        let Some((alen_bytes, rest)) = rest.split_first_chunk::<2>() else {
            return Err(list_error(rest, "missing total path attribute length"));
        };
        let alen = usize::from(u16::from_be_bytes(*alen_bytes));
        if rest.len() < alen {
            return Err(list_error(
                alen_bytes,
                "total path attribute length overruns the message",
            ));
        }
        let (afield, nfield) = rest.split_at(alen);

        // Sized for prefixes of up to /24 (four octets each), the bulk of a table.
        let mut update = Update {
            withdrawn: Vec::with_capacity(wfield.len().div_ceil(4)),
            nlri: Vec::with_capacity(nfield.len().div_ceil(4)),
            ..Update::default()
        };
        let v4_add_path = ctx.add_path.contains(Family::IPV4_UNICAST);
        parse_nlri_field(
            wfield,
            Family::IPV4_UNICAST,
            v4_add_path,
            base,
            &mut update.withdrawn,
            &mut update.issues,
        )
        .map_err(nlri_error)?;
        let (attributes, present) =
            parse_attributes_present(afield, ctx, MpReachForm::Full, base, &mut update.issues)?;
        update.attributes = attributes;
        parse_nlri_field(
            nfield,
            Family::IPV4_UNICAST,
            v4_add_path,
            base,
            &mut update.nlri,
            &mut update.issues,
        )
        .map_err(nlri_error)?;

        // RFC 7606 §3(d): mandatory attributes missing while NLRI are present.
        if !update.treat_as_withdraw() {
            // MP_REACH_NLRI is looked for only when it is in the block and matters.
            let mp_nlri = || {
                present & (1u64 << tc::MP_REACH_NLRI) != 0
                    && update
                        .attributes
                        .mp_reach()
                        .is_some_and(|m| !m.nlri.is_empty())
            };
            let mut required: &[u8] = &[];
            if !update.nlri.is_empty() {
                required = &[tc::ORIGIN, tc::AS_PATH, tc::NEXT_HOP];
            } else if mp_nlri() {
                required = &[tc::ORIGIN, tc::AS_PATH];
            }
            if let Some(missing) = required.iter().find(|c| present & (1u64 << **c) == 0) {
                update.issues.push(UpdateIssue {
                    kind: ErrorKind::MissingWellKnownAttribute {
                        type_code: *missing,
                    },
                    offset: offset(alen_bytes),
                    action: AttributeAction::TreatAsWithdraw,
                });
            }
        }
        Ok(update)
    }

    /// RFC 7606 §2: whether the whole UPDATE must be treated as a withdrawal of all its NLRI.
    pub fn treat_as_withdraw(&self) -> bool {
        self.issues
            .iter()
            .any(|i| i.action == AttributeAction::TreatAsWithdraw)
    }

    /// Every announced route with its family: the NLRI field (IPv4 unicast) and MP_REACH_NLRI.
    pub fn announced(&self) -> impl Iterator<Item = (Family, &Nlri)> {
        let v4 = self.nlri.iter().map(|n| (Family::IPV4_UNICAST, n));
        let mp = self
            .attributes
            .mp_reach()
            .into_iter()
            .flat_map(|m| m.nlri.iter().map(move |n| (m.family, n)));
        v4.chain(mp)
    }

    /// Every withdrawn route with its family: the Withdrawn Routes field and MP_UNREACH_NLRI.
    pub fn withdrawals(&self) -> impl Iterator<Item = (Family, &Nlri)> {
        let v4 = self.withdrawn.iter().map(|n| (Family::IPV4_UNICAST, n));
        let mp = self
            .attributes
            .mp_unreach()
            .into_iter()
            .flat_map(|m| m.withdrawn.iter().map(move |n| (m.family, n)));
        v4.chain(mp)
    }

    /// RFC 4724 §2: the family this UPDATE marks End-of-RIB for, if it is such a marker
    /// (empty UPDATE for IPv4 unicast; an MP_UNREACH_NLRI with no NLRI and nothing else for
    /// other families).
    pub fn end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.0.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [PathAttribute {
                value: AttributeValue::MpUnreach(m),
                ..
            }] if m.withdrawn.is_empty() && m.opaque_nlri.is_empty() => Some(m.family),
            _ => None,
        }
    }

    /// The End-of-RIB marker for `family`.
    pub fn end_of_rib_marker(family: Family) -> Update {
        if family == Family::IPV4_UNICAST {
            return Update::default();
        }
        Update {
            attributes: PathAttributes(vec![PathAttribute::new(AttributeValue::from(MpUnreach {
                family,
                withdrawn: Vec::new(),
                opaque_nlri: Bytes::new(),
            }))]),
            ..Update::default()
        }
    }

    /// Octets of the body on the wire (without the 19-octet header).
    pub fn body_len(&self, ctx: &SessionContext) -> usize {
        let ap = ctx.add_path.contains(Family::IPV4_UNICAST);
        4 + self.withdrawn.iter().map(|n| n.wire_len(ap)).sum::<usize>()
            + self.attributes.wire_len(ctx)
            + self.nlri.iter().map(|n| n.wire_len(ap)).sum::<usize>()
    }

    /// Writes the body. Fails when a length field would overflow.
    pub fn encode_body(&self, ctx: &SessionContext, buf: &mut BytesMut) -> Result<(), EncodeError> {
        let ap = ctx.add_path.contains(Family::IPV4_UNICAST);
        for n in self.withdrawn.iter().chain(&self.nlri) {
            if n.prefix.addr().is_ipv6() {
                return Err(EncodeError::WrongFamily {
                    what: "IPv6 prefix in the IPv4 Withdrawn Routes or NLRI field",
                });
            }
        }
        let wlen: usize = self.withdrawn.iter().map(|n| n.wire_len(ap)).sum();
        let alen = self.attributes.wire_len(ctx);
        let too_large = |what, value| EncodeError::ValueTooLarge {
            what,
            value,
            max: 65535,
        };
        buf.put_u16(u16::try_from(wlen).map_err(|_| too_large("withdrawn routes length", wlen))?);
        for n in &self.withdrawn {
            n.encode(ap, buf);
        }
        buf.put_u16(
            u16::try_from(alen).map_err(|_| too_large("total path attribute length", alen))?,
        );
        self.attributes.encode(ctx, buf)?;
        for n in &self.nlri {
            n.encode(ap, buf);
        }
        Ok(())
    }
}
