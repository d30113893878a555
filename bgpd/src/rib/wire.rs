//! Between the wire and the RIB: turning a received UPDATE's attributes into [`RouteAttrs`]
//! (next hop from NEXT_HOP or MP_REACH_NLRI, the 4-octet AS path reconstructed, RFC 6793
//! §4.2.3) and back into attributes for one peer (RFC 6793 §4.2.2 toward 2-octet peers).

use super::route::{NextHop, RouteAttrs};
use bgp_proto::{
    attribute_type as tc, AttributeValue, EncodeError, Family, MpNextHop, PathAttribute,
    PathAttributes, SessionContext,
};
use bytes::BytesMut;
use smallvec::SmallVec;
use std::borrow::Cow;

/// The attribute set shared by the routes of one received UPDATE for `family`, kept encoded
/// as a checked UPDATE's is ([`RouteAttrs::from_encoded`]), or `None` when the family has no
/// usable next hop.
///
/// Every attribute but NEXT_HOP, the MP ones and AS4_PATH/AS4_AGGREGATOR, in rising type-code
/// order, with AS_PATH and AGGREGATOR completed from AS4_PATH and AS4_AGGREGATOR on a 2-octet
/// session (RFC 6793 §4.2.3). Encoded straight from the decoded UPDATE: the attributes are not
/// first copied into a list of their own, nor kept decoded.
pub fn received_set(
    attributes: &PathAttributes,
    family: Family,
    four_octet_session: bool,
) -> Option<RouteAttrs> {
    // One pass: the next hops, and the attributes the set keeps.
    let (mut next_hop, mut mp_reach) = (None, None);
    let mut kept: SmallVec<[&PathAttribute; 16]> = SmallVec::new();
    for a in &attributes.0 {
        match (a.type_code(), &a.value) {
            (tc::NEXT_HOP, AttributeValue::NextHop(nh)) => next_hop = next_hop.or(Some(*nh)),
            (tc::MP_REACH_NLRI, AttributeValue::MpReach(m)) => mp_reach = mp_reach.or(Some(m)),
            (
                tc::NEXT_HOP
                | tc::MP_REACH_NLRI
                | tc::MP_UNREACH_NLRI
                | tc::AS4_PATH
                | tc::AS4_AGGREGATOR,
                _,
            ) => {}
            _ => kept.push(a),
        }
    }
    let mp_reach = mp_reach.filter(|m| m.family == family);
    let next_hop = match (mp_reach, next_hop) {
        (Some(m), _) => mp_next_hop(&m.next_hop)?,
        (None, Some(nh)) if family == Family::IPV4_UNICAST => NextHop::V4(nh),
        _ => return None,
    };
    // RFC 6793 §4.2.3: from a 2-octet session, AS4_PATH and AS4_AGGREGATOR complete the
    // AS_PATH and AGGREGATOR; only then do they differ from what was received.
    let (merged_path, full_aggregator) = if four_octet_session {
        (None, None)
    } else {
        (
            attributes
                .as4_path_to_merge()
                .and_then(|p4| Some(attributes.as_path()?.merge_as4(p4))),
            attributes.full_aggregator(false),
        )
    };
    if !kept.is_sorted_by_key(|a| a.type_code()) {
        kept.sort_by_key(|a| a.type_code());
    }
    let completed = |a: &'_ PathAttribute| -> Option<PathAttribute> {
        let value = match &a.value {
            AttributeValue::AsPath(_) => AttributeValue::AsPath(merged_path.clone()?),
            AttributeValue::Aggregator(_) => AttributeValue::Aggregator(full_aggregator?),
            _ => return None,
        };
        Some(PathAttribute {
            flags: a.flags,
            value,
        })
    };
    let block = super::route::encode_each(
        kept.iter()
            .map(|a| completed(a).map_or(Cow::Borrowed(*a), Cow::Owned)),
    );
    Some(RouteAttrs::from_encoded(next_hop, block))
}

fn mp_next_hop(nh: &MpNextHop) -> Option<NextHop> {
    match nh {
        MpNextHop::Ipv4(a) => Some(NextHop::V4(*a)),
        MpNextHop::Ipv6 { global, link_local } => Some(NextHop::V6 {
            global: *global,
            link_local: *link_local,
        }),
        MpNextHop::Opaque(_) => None,
    }
}

/// What the wire needs beside a set's own attributes, for `family` toward a peer with send
/// context `ctx`: NEXT_HOP for IPv4 over an IPv4 next hop (else the next hop for
/// MP_REACH_NLRI, returned), and AS4_PATH / AS4_AGGREGATOR toward 2-octet peers when an AS does
/// not fit (RFC 6793 §4.2.2).
fn added_attributes(
    attrs: &RouteAttrs,
    family: Family,
    ctx: &SessionContext,
) -> (SmallVec<[PathAttribute; 3]>, Option<MpNextHop>) {
    let mut added = SmallVec::new();
    let mp = match (family == Family::IPV4_UNICAST, attrs.next_hop) {
        (true, NextHop::V4(a)) => {
            added.push(PathAttribute::new(AttributeValue::NextHop(a)));
            None
        }
        (_, NextHop::V4(a)) => Some(MpNextHop::Ipv4(a)),
        (_, NextHop::V6 { global, link_local }) => Some(MpNextHop::Ipv6 { global, link_local }),
    };
    if !ctx.four_octet_as {
        if let Some(p) = attrs.attributes().as_path().filter(|p| p.needs_as4_path()) {
            added.push(PathAttribute::new(AttributeValue::As4Path(p.clone())));
        }
        if let Some(g) = attrs.attributes().aggregator().filter(|g| g.asn > 0xffff) {
            added.push(PathAttribute::new(AttributeValue::As4Aggregator(*g)));
        }
    }
    (added, mp)
}

/// The attributes to send for `family` to a peer with send context `ctx`, as a copy of the
/// set with `added_attributes` in type-code order (for snapshots; packing uses
/// [`encode_wire_attributes`], which copies nothing).
pub fn wire_attributes(
    attrs: &RouteAttrs,
    family: Family,
    ctx: &SessionContext,
) -> (PathAttributes, Option<MpNextHop>) {
    let (added, mp) = added_attributes(attrs, family, ctx);
    let mut out = attrs.attributes().clone();
    out.0.extend(added);
    out.0.sort_by_key(PathAttribute::type_code);
    (out, mp)
}

/// [`wire_attributes`] encoded straight into `out` (the attribute block of an UPDATE), without
/// copying the set: the attributes are written by reference, in type-code order, with the
/// added ones in their place. Returns the next hop for MP_REACH_NLRI, `None` when the routes
/// go in the NLRI field with NEXT_HOP.
pub fn encode_wire_attributes(
    attrs: &RouteAttrs,
    family: Family,
    ctx: &SessionContext,
    out: &mut BytesMut,
) -> Result<Option<MpNextHop>, EncodeError> {
    if ctx.four_octet_as {
        if let Some(mp) = copy_encoded(attrs, family, out) {
            return Ok(mp);
        }
    }
    if attrs
        .attributes()
        .0
        .iter()
        .any(|a| matches!(a.type_code(), tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI))
    {
        return Err(EncodeError::WrongFamily {
            what: "attributes for packing must not carry MP_REACH_NLRI/MP_UNREACH_NLRI",
        });
    }
    let (added, mp) = added_attributes(attrs, family, ctx);
    let mut all: SmallVec<[&PathAttribute; 16]> = attrs.attributes().0.iter().collect();
    all.extend(added.iter());
    // Stable: attributes of one type keep their order, as in `wire_attributes`.
    all.sort_by_key(|a| a.type_code());
    for a in all {
        a.encode(ctx, out)?;
    }
    Ok(mp)
}

/// [`encode_wire_attributes`] toward a 4-octet peer (RFC 6793: no AS4_PATH to add): the
/// set's encoded octets ([`RouteAttrs::encoded`]) go as they are, with NEXT_HOP written in
/// its place for IPv4 routes over an IPv4 next hop. `None` when the set is not in rising
/// type-code order or carries NEXT_HOP or an MP attribute; the caller then encodes it
/// attribute by attribute.
fn copy_encoded(
    attrs: &RouteAttrs,
    family: Family,
    out: &mut BytesMut,
) -> Option<Option<MpNextHop>> {
    let block = attrs.encoded();
    let mut before_next_hop = 0;
    let mut last = None;
    let mut end = 0;
    for (_, code, value) in bgp_proto::RawAttributes::new(block) {
        end = value.as_ptr() as usize - block.as_ptr() as usize + value.len();
        if last.is_some_and(|l| code <= l)
            || matches!(code, tc::NEXT_HOP | tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI)
        {
            return None;
        }
        last = Some(code);
        if code < tc::NEXT_HOP {
            before_next_hop = value.as_ptr() as usize - block.as_ptr() as usize + value.len();
        }
    }
    if end != block.len() {
        // Not a whole attribute block: a set `RouteAttrs` could not encode (a value over
        // 65,535 octets), which the caller then fails to encode as before.
        return None;
    }
    let (head, tail) = block.split_at_checked(before_next_hop)?;
    let mp = match (family == Family::IPV4_UNICAST, attrs.next_hop) {
        (true, NextHop::V4(a)) => {
            out.extend_from_slice(head);
            // RFC 4271 §5.1.3: well-known mandatory, transitive; 4 octets.
            out.extend_from_slice(&[bgp_proto::attribute_flags::TRANSITIVE, tc::NEXT_HOP, 4]);
            out.extend_from_slice(&a.octets());
            out.extend_from_slice(tail);
            return Some(None);
        }
        (_, NextHop::V4(a)) => MpNextHop::Ipv4(a),
        (_, NextHop::V6 { global, link_local }) => MpNextHop::Ipv6 { global, link_local },
    };
    out.extend_from_slice(block);
    Some(Some(mp))
}
