//! Reading a route's encoded attribute set without decoding it.
//!
//! A route's set is kept as the attribute block it arrived in (RFC 4271 §4.3), minus
//! NEXT_HOP, with 4-octet AS numbers ([`super::route::RouteAttrs`]). What the RIB reads per
//! route while a table loads — the values best-path selection compares, the loop checks, the
//! well-known communities an export obeys — is read here from those octets, so a set that
//! nothing shows or rewrites is never decoded.
//!
//! Every block read here was checked before ([`bgp_proto::CheckedUpdate`]) or encoded by
//! the daemon itself; an attribute cut short simply ends the reading.

use bgp_proto::{
    attribute_type as tc, carried_opaque, Community, LargeCommunity, Origin, RawAttributes,
};

/// The value of the first attribute of type `code`, with its flags.
pub fn find(block: &[u8], code: u8) -> Option<(u8, &[u8])> {
    RawAttributes::new(block)
        .find(|(_, c, _)| *c == code)
        .map(|(f, _, v)| (f, v))
}

/// A 4-octet value (MULTI_EXIT_DISC, LOCAL_PREF, ORIGINATOR_ID) as a number.
pub fn four_octets(block: &[u8], code: u8) -> Option<u32> {
    find(block, code).and_then(|(_, v)| v.first_chunk::<4>().map(|b| u32::from_be_bytes(*b)))
}

/// ORIGIN (RFC 4271 §5.1.1); INCOMPLETE when absent.
pub fn origin(block: &[u8]) -> Origin {
    match find(block, tc::ORIGIN).map(|(_, v)| v) {
        Some([0]) => Origin::Igp,
        Some([1]) => Origin::Egp,
        _ => Origin::Incomplete,
    }
}

/// The segments of a 4-octet AS_PATH value as (segment type, AS numbers).
fn segments(mut value: &[u8]) -> impl Iterator<Item = (u8, &[[u8; 4]])> {
    std::iter::from_fn(move || {
        let [kind, count, after @ ..] = value else {
            return None;
        };
        let (asns, rest) = after.split_at_checked(usize::from(*count) * 4)?;
        value = rest;
        Some((*kind, asns.as_chunks::<4>().0))
    })
}

/// The AS_PATH value (empty when absent).
pub fn as_path(block: &[u8]) -> &[u8] {
    find(block, tc::AS_PATH).map_or(&[], |(_, v)| v)
}

/// RFC 4271 §9.1.2.2 a): the path length, an AS_SET counting one, confederation segments
/// none (RFC 5065 §5.3) — as [`bgp_proto::AsPath::path_len`].
pub fn path_len(as_path: &[u8]) -> usize {
    segments(as_path)
        .map(|(kind, asns)| match kind {
            2 => asns.len(),
            1 => 1,
            _ => 0,
        })
        .sum()
}

/// The leftmost AS of a first AS_SEQUENCE (the neighbor AS MEDs are compared within,
/// RFC 4271 §9.1.2.2 c) — as [`bgp_proto::AsPath::first_as`].
pub fn first_as(as_path: &[u8]) -> Option<u32> {
    match segments(as_path).next() {
        Some((2, [first, ..])) => Some(u32::from_be_bytes(*first)),
        _ => None,
    }
}

/// The rightmost AS of a final AS_SEQUENCE — as [`bgp_proto::AsPath::origin_as`].
pub fn origin_as(as_path: &[u8]) -> Option<u32> {
    match segments(as_path).last() {
        Some((2, [.., last])) => Some(u32::from_be_bytes(*last)),
        _ => None,
    }
}

/// Whether `asn` is anywhere in the path (RFC 4271 §9.1.2 loop detection).
pub fn contains_as(as_path: &[u8], asn: u32) -> bool {
    let wanted = asn.to_be_bytes();
    segments(as_path).any(|(_, asns)| asns.contains(&wanted))
}

/// Whether the 4-octet items of a list value (COMMUNITIES, CLUSTER_LIST) include `item`.
pub fn list_contains(block: &[u8], code: u8, item: u32) -> bool {
    find(block, code).is_some_and(|(_, v)| v.as_chunks::<4>().0.contains(&item.to_be_bytes()))
}

/// COMMUNITIES, in order (none when absent).
pub fn communities(block: &[u8]) -> impl Iterator<Item = Community> + '_ {
    let value = find(block, tc::COMMUNITIES).map_or(&[][..], |(_, v)| v);
    value
        .as_chunks::<4>()
        .0
        .iter()
        .map(|c| Community(u32::from_be_bytes(*c)))
}

/// LARGE_COMMUNITY, in order (none when absent).
pub fn large_communities(block: &[u8]) -> impl Iterator<Item = LargeCommunity> + '_ {
    let value = find(block, tc::LARGE_COMMUNITY).map_or(&[][..], |(_, v)| v);
    value.as_chunks::<12>().0.iter().map(|c| {
        let word = |i: usize| {
            c.get(i..i + 4)
                .and_then(|w| w.first_chunk::<4>())
                .map_or(0, |w| u32::from_be_bytes(*w))
        };
        LargeCommunity {
            global_admin: word(0),
            local_data_1: word(4),
            local_data_2: word(8),
        }
    })
}

/// How many 4-octet items a list value holds (0 when absent).
pub fn list_len(block: &[u8], code: u8) -> usize {
    find(block, code).map_or(0, |(_, v)| v.len() / 4)
}

/// Whether an attribute the decoder carries opaque is in the block (RFC 4271 §5: an
/// export then drops or marks it).
pub fn has_opaque(block: &[u8]) -> bool {
    RawAttributes::new(block).any(|(_, code, _)| carried_opaque(code))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use bgp_proto::{
        AsPath, AttributeValue, Community, PathAttribute, PathAttributes, SessionContext,
    };
    use bytes::BytesMut;

    /// Whether the block holds attributes in strictly rising type-code order: the order the
    /// daemon keeps sets in, so equal sets have equal octets (the sessions check it on the
    /// UPDATE, `CheckedUpdate::in_type_order`).
    fn in_type_order(block: &[u8]) -> bool {
        let mut last = None;
        RawAttributes::new(block).all(|(_, code, _)| {
            let rising = last.is_none_or(|l| code > l);
            last = Some(code);
            rising
        })
    }

    fn block(values: Vec<AttributeValue>) -> Vec<u8> {
        let mut out = BytesMut::new();
        PathAttributes(values.into_iter().map(PathAttribute::new).collect())
            .encode(&SessionContext::default(), &mut out)
            .unwrap();
        out.to_vec()
    }

    #[test]
    fn values_read_from_octets_match_the_decoded_ones() {
        use bgp_proto::{AsSegment, SegmentType::*};
        let seg = |kind, asns: &'static [u32]| AsSegment { kind, asns };
        let paths = [
            vec![seg(Sequence, &[64513, 64514])],
            vec![
                seg(Sequence, &[64513]),
                seg(Set, &[64600, 64601]),
                seg(Sequence, &[64514]),
            ],
            vec![],
            vec![seg(Set, &[1, 2])],
            vec![seg(ConfedSequence, &[7, 8]), seg(Sequence, &[9, 10])],
        ];
        for segments in paths {
            let p = AsPath::from_segments(segments);
            let path = p.to_string();
            let b = block(vec![
                AttributeValue::Origin(Origin::Egp),
                AttributeValue::AsPath(p.clone()),
                AttributeValue::Med(7),
                AttributeValue::Communities(vec![Community::NO_EXPORT].into()),
            ]);
            let v = as_path(&b);
            assert_eq!(path_len(v), p.path_len(), "{path}");
            assert_eq!(first_as(v), p.first_as(), "{path}");
            assert_eq!(origin_as(v), p.origin_as(), "{path}");
            for asn in [1, 2, 64513, 64601, 99] {
                assert_eq!(contains_as(v, asn), p.contains(asn), "{path} {asn}");
            }
            assert_eq!(origin(&b), Origin::Egp);
            assert_eq!(four_octets(&b, tc::MULTI_EXIT_DISC), Some(7));
            assert_eq!(four_octets(&b, tc::LOCAL_PREF), None);
            assert!(list_contains(&b, tc::COMMUNITIES, Community::NO_EXPORT.0));
            assert!(!list_contains(
                &b,
                tc::COMMUNITIES,
                Community::NO_ADVERTISE.0
            ));
            assert_eq!(list_len(&b, tc::COMMUNITIES), 1);
            assert!(!has_opaque(&b) && in_type_order(&b));
            assert_eq!(communities(&b).collect::<Vec<_>>(), [Community::NO_EXPORT]);
            assert_eq!(large_communities(&b).count(), 0);
        }
        assert_eq!(origin(&[]), Origin::Incomplete);
        let unknown = block(vec![
            AttributeValue::Med(1),
            AttributeValue::Unknown {
                type_code: 99,
                data: vec![1].into(),
            },
            AttributeValue::Origin(Origin::Igp),
        ]);
        assert!(has_opaque(&unknown));
        let large = LargeCommunity {
            global_admin: 64512,
            local_data_1: 1,
            local_data_2: 2,
        };
        let b = block(vec![AttributeValue::LargeCommunities(
            vec![large; 2].into(),
        )]);
        assert_eq!(large_communities(&b).collect::<Vec<_>>(), [large, large]);
        assert!(!in_type_order(&unknown), "99 before ORIGIN");
    }
}
