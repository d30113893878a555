//! [`CheckedUpdate`] against the full decoder ([`Message::decode`]), which it must agree with
//! exactly:
//! - sound: every UPDATE it accepts decodes without an RFC 7606 issue, to the same
//!   withdrawals, attributes and NLRI, with the same ORIGIN, NEXT_HOP, MED, LOCAL_PREF and
//!   COMMUNITIES in its index;
//! - complete: every UPDATE the full decoder takes without an issue and that is in its subset
//!   (no ADD-PATH for IPv4 unicast, no attribute it leaves to the full decoder) is accepted.
//!
//! Checked on generated UPDATEs (also with octets changed), in every session context the
//! strategies make plus an enforced first AS, and on every UPDATE of the real full table.

use crate::roundtrip_props::{mutated, mutation};
use crate::support::strategies::{self, Profile};
use bgp_proto::mrt::{Bgp4mpMessage, MrtBody, MrtReader};
use bgp_proto::{
    attribute_type as tc, AttributeValue, CheckedUpdate, Family, Message, PathAttribute,
    SessionContext, Update,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError};
use std::io::Read;

/// The attribute types [`CheckedUpdate::check`] leaves to the full decoder.
const LEFT_TO_FULL_DECODER: [u8; 7] = [
    tc::MP_REACH_NLRI,
    tc::MP_UNREACH_NLRI,
    tc::AS4_PATH,
    tc::AS4_AGGREGATOR,
    tc::TUNNEL_ENCAPSULATION,
    tc::ONLY_TO_CUSTOMER,
    tc::PREFIX_SID,
];

/// Whether `u` (decoded in `ctx`) is in the subset the check handles.
fn in_subset(u: &Update, ctx: &SessionContext) -> bool {
    !ctx.add_path.contains(Family::IPV4_UNICAST)
        && u.attributes
            .0
            .iter()
            .all(|a| !LEFT_TO_FULL_DECODER.contains(&a.type_code()))
}

/// Holds `CheckedUpdate::check(bytes)` to `Message::decode(bytes)`; says whether it accepted.
fn agrees(bytes: &[u8], ctx: &SessionContext) -> Result<bool, TestCaseError> {
    let full = Message::decode(bytes, ctx);
    // The one-pass form reads the announced prefixes as it checks, and decides alike.
    let mut read = Vec::new();
    let one_pass = CheckedUpdate::check_into(bytes, ctx, &mut read);
    prop_assert_eq!(one_pass, CheckedUpdate::check(bytes, ctx));
    if let Some(c) = one_pass {
        prop_assert_eq!(&read, &c.nlri().collect::<Vec<_>>());
    }
    let Some(checked) = CheckedUpdate::check(bytes, ctx) else {
        if let Ok(Message::Update(u)) = &full {
            prop_assert!(
                !(u.issues.is_empty() && in_subset(u, ctx)),
                "refused an UPDATE the full decoder takes cleanly, in {ctx:?}: {u:?}"
            );
        }
        return Ok(false);
    };
    let u = match full {
        Ok(Message::Update(u)) => u,
        other => {
            return Err(TestCaseError::fail(format!(
                "accepted what the full decoder gives as {other:?}, in {ctx:?}"
            )))
        }
    };
    prop_assert!(
        u.issues.is_empty(),
        "accepted an UPDATE with issues {:?}",
        u.issues
    );
    prop_assert_eq!(&checked.to_update(), &u);
    prop_assert_eq!(checked.nlri_count(), u.nlri.len());
    prop_assert_eq!(checked.withdrawn_count(), u.withdrawn.len());
    prop_assert_eq!(checked.origin(), u.attributes.origin().copied());
    prop_assert_eq!(checked.next_hop(), u.attributes.next_hop().copied());
    prop_assert_eq!(checked.med(), u.attributes.med().copied());
    prop_assert_eq!(checked.local_pref(), u.attributes.local_pref().copied());
    prop_assert_eq!(
        checked.communities().collect::<Vec<_>>(),
        u.attributes.communities().to_vec()
    );
    prop_assert_eq!(
        checked.is_end_of_rib(),
        u.end_of_rib() == Some(Family::IPV4_UNICAST)
    );
    let as_path = u.attributes.get(tc::AS_PATH).map(|a| a.value.clone());
    let from_index = checked
        .attributes()
        .find(|(_, code, _)| *code == tc::AS_PATH)
        .map(|(_, _, value)| value);
    prop_assert_eq!(from_index.unwrap_or(&[]), checked.as_path_value());
    prop_assert_eq!(as_path.is_some(), from_index.is_some());
    let codes: Vec<u8> = u.attributes.0.iter().map(|a| a.type_code()).collect();
    prop_assert_eq!(
        checked.in_type_order(),
        codes.windows(2).all(|w| matches!(w, [a, b] if a < b))
    );
    // Around NEXT_HOP: the other attributes, as received.
    let (head, tail) = checked.attribute_block_around_next_hop();
    let mut around = head.to_vec();
    around.extend_from_slice(tail);
    let others: Vec<(u8, u8, Vec<u8>)> = checked
        .attributes()
        .filter(|(_, code, _)| *code != tc::NEXT_HOP)
        .map(|(f, code, v)| (f, code, v.to_vec()))
        .collect();
    let read_back: Vec<(u8, u8, Vec<u8>)> = bgp_proto::RawAttributes::new(&around)
        .map(|(f, code, v)| (f, code, v.to_vec()))
        .collect();
    let whole: usize = others
        .iter()
        .map(|(f, _, v)| if f & 0x10 != 0 { 4 } else { 3 } + v.len())
        .sum();
    prop_assert_eq!(whole, around.len(), "nothing but the other attributes");
    prop_assert_eq!(read_back, others);
    Ok(true)
}

/// A context from the strategies, sometimes enforcing the first AS: `first`, or the first AS
/// number of the path's leftmost segment, whatever that segment's type (so that the rule
/// passes for an AS_SEQUENCE and a wrong type is what fails it).
fn enforce(mut ctx: SessionContext, u: &Update, how: u8, first: u32) -> SessionContext {
    let leftmost = || match &u.attributes.get(tc::AS_PATH)?.value {
        AttributeValue::AsPath(p) => p.segments().next()?.asns.first().copied(),
        AttributeValue::Unknown { data, .. } => match (ctx.four_octet_as, &data[..]) {
            (true, [_, _, a, b, c, d, ..]) => Some(u32::from_be_bytes([*a, *b, *c, *d])),
            (false, [_, _, a, b, ..]) => Some(u32::from(u16::from_be_bytes([*a, *b]))),
            _ => None,
        },
        _ => None,
    };
    ctx.enforce_first_as = match how {
        0 => None,
        1 => Some(first),
        _ => Some(leftmost().unwrap_or(first)),
    };
    ctx
}

/// AS_PATH values built from segments of any type code (0 to 5), count (0 to 3) and AS
/// numbers (0 sometimes), in either width, with sometimes a cut-off tail: well-formed and
/// malformed in the ways the check looks for.
fn as_path_value(session_four: bool) -> impl Strategy<Value = Vec<u8>> {
    let asn = prop_oneof![1 => Just(0u32), 6 => 1u32..=0xffff, 3 => any::<u32>()];
    let segment = (
        prop_oneof![6 => 1u8..=2, 2 => 3u8..=4, 1 => Just(0u8), 1 => Just(5u8)],
        vec(asn, 0..4),
    );
    let four = prop_oneof![4 => Just(session_four), 1 => Just(!session_four)];
    let cut = prop_oneof![4 => Just(0usize), 1 => 1usize..3];
    (vec(segment, 0..4), four, cut).prop_map(|(segments, four, cut)| {
        let mut out = Vec::new();
        for (kind, asns) in segments {
            out.extend([kind, asns.len() as u8]);
            for a in asns {
                if four {
                    out.extend(a.to_be_bytes());
                } else {
                    out.extend((a as u16).to_be_bytes());
                }
            }
        }
        out.truncate(out.len().saturating_sub(cut));
        out
    })
}

/// One attribute of a type the check interprets (or of an unknown one), written octet by
/// octet: the type's flags or others, and a value of the right length or not, so that each
/// of the check's rules is met and broken.
fn raw_attribute(four: bool) -> impl Strategy<Value = PathAttribute> {
    let code = prop_oneof![
        10 => 1u8..=10,
        3 => Just(tc::EXTENDED_COMMUNITIES),
        3 => Just(tc::LARGE_COMMUNITY),
        2 => Just(tc::AS4_PATH),
        3 => any::<u8>(),
    ];
    let value = prop_oneof![
        3 => proptest::sample::select(vec![0usize, 1, 4, 6, 8, 12]).prop_flat_map(|n| vec(
            prop_oneof![Just(0u8), Just(1), Just(2), Just(3), any::<u8>()],
            n
        )),
        1 => vec(any::<u8>(), 0..26),
        2 => as_path_value(four),
    ];
    let flags = prop_oneof![
        4 => Just(None),
        1 => prop_oneof![Just(0x40u8), Just(0x80), Just(0xc0), Just(0x00), Just(0xe0)].prop_map(Some),
    ];
    let code_and_value = prop_oneof![
        1 => (Just(tc::AS_PATH), as_path_value(four)),
        4 => (code, value),
    ];
    (code_and_value, flags).prop_map(|((type_code, data), flags)| {
        let mut a = PathAttribute::new(AttributeValue::Unknown {
            type_code,
            data: data.into(),
        });
        a.flags = flags.unwrap_or(match type_code {
            1..=3 | 5 | 6 => 0x40,
            4 | 9 | 10 | 14 | 15 => 0x80,
            _ => 0xc0,
        });
        a
    })
}

/// An UPDATE, mostly without the attributes left to the full decoder (so that the check has
/// something to accept), often with one attribute written octet by octet
/// ([`raw_attribute`], sometimes beside one of its type), in a context that mostly has no
/// ADD-PATH for IPv4 unicast.
fn case() -> impl Strategy<Value = (SessionContext, Update)> {
    strategies::context()
        .prop_flat_map(|ctx| {
            (
                Just(ctx),
                strategies::update(Profile::round_trip(ctx)),
                prop_oneof![3 => Just(true), 1 => Just(false)],
                prop_oneof![3 => Just(true), 1 => Just(false)],
                proptest::option::weighted(0.75, raw_attribute(ctx.four_octet_as)),
                prop_oneof![7 => Just(false), 1 => Just(true)],
            )
        })
        .prop_map(|(mut ctx, mut u, narrow, drop_add_path, raw, repeat)| {
            if narrow {
                u.attributes
                    .0
                    .retain(|a| !LEFT_TO_FULL_DECODER.contains(&a.type_code()));
            }
            if drop_add_path {
                ctx.add_path.remove(Family::IPV4_UNICAST);
            }
            if let Some(raw) = raw {
                let code = raw.type_code();
                u.attributes.0.retain(|a| a.type_code() != code);
                if repeat {
                    u.attributes.0.push(raw.clone());
                }
                u.attributes.0.push(raw);
            }
            (ctx, u)
        })
}

proptest! {
    #![proptest_config(Config::with_cases(16384))]

    #[test]
    fn the_check_agrees_with_the_full_decoder(
        (ctx, u) in case(),
        how in prop_oneof![2 => Just(0u8), 1 => Just(1), 2 => Just(2)],
        first in any::<u32>(),
    ) {
        let ctx = enforce(ctx, &u, how, first);
        if let Ok(bytes) = Message::Update(u).to_bytes(&ctx) {
            agrees(&bytes, &ctx)?;
        }
    }

    #[test]
    fn the_check_agrees_on_changed_octets(
        (ctx, u) in case(),
        how in 0u8..3,
        first in any::<u32>(),
        mutations in vec(mutation(), 1..4),
        fix_length in prop_oneof![4 => Just(true), 1 => Just(false)],
    ) {
        let ctx = enforce(ctx, &u, how, first);
        let Ok(bytes) = Message::Update(u).to_bytes(&ctx) else {
            return Ok(());
        };
        agrees(&mutated(&bytes, &mutations, fix_length), &ctx)?;
    }
}

/// Every UPDATE of the real full table (`updates.et-header.2015.gz`, 89,679 UPDATEs): the
/// check agrees with the full decoder on each, and accepts nearly all of them.
#[test]
fn the_check_agrees_on_a_real_full_table() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../bgpd/tests/data/mrt/updates.et-header.2015.gz"
    );
    let mut data = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut data)
        .unwrap();
    let (mut updates, mut accepted) = (0, 0);
    for record in MrtReader::new(&data[..]).unwrap() {
        let MrtBody::Message(m) = record.unwrap().body else {
            continue;
        };
        if !matches!(m.message, Message::Update(_)) {
            continue;
        }
        let ctx = Bgp4mpMessage::context(m.four_octet_as, m.add_path);
        updates += 1;
        accepted += usize::from(agrees(&m.raw, &ctx).unwrap());
    }
    assert_eq!(updates, 89_679);
    assert!(
        accepted >= updates - 10,
        "only {accepted} of {updates} UPDATEs checked"
    );
}

/// Values the index reads, on a hand-made UPDATE.
#[test]
fn the_index_reads_the_best_path_values() {
    let mut u = Update::default();
    u.nlri
        .push(bgp_proto::Nlri::new("10.244.1.0/26".parse().unwrap()));
    for v in [
        AttributeValue::Origin(bgp_proto::Origin::Egp),
        AttributeValue::AsPath(bgp_proto::AsPath::sequence([64513, 65000])),
        AttributeValue::NextHop([198, 51, 100, 11].into()),
        AttributeValue::Med(7),
        AttributeValue::LocalPref(300),
        AttributeValue::Communities(vec![bgp_proto::Community(0xfde8_0001)].into()),
    ] {
        u.attributes.set(v);
    }
    let ctx = SessionContext {
        ibgp: true,
        ..SessionContext::default()
    };
    let bytes = Message::Update(u).to_bytes(&ctx).unwrap();
    let c = CheckedUpdate::check(&bytes, &ctx).unwrap();
    assert_eq!(c.origin(), Some(bgp_proto::Origin::Egp));
    assert_eq!(c.next_hop(), Some([198, 51, 100, 11].into()));
    assert_eq!((c.med(), c.local_pref()), (Some(7), Some(300)));
    assert_eq!(
        c.as_path_value(),
        [2, 2, 0, 0, 0xfc, 0x01, 0, 0, 0xfd, 0xe8]
    );
    assert_eq!(
        c.communities().map(|c| c.0).collect::<Vec<_>>(),
        [0xfde8_0001]
    );
    assert_eq!(
        c.nlri().map(|n| n.to_string()).collect::<Vec<_>>(),
        ["10.244.1.0/26"]
    );
    // The same from an external peer: LOCAL_PREF is discarded (an issue), so the full
    // decoder decides.
    assert!(CheckedUpdate::check(&bytes, &SessionContext::default()).is_none());
    // The End-of-RIB marker is accepted and recognised.
    let eor = Message::Update(Update::default()).to_bytes(&ctx).unwrap();
    assert!(CheckedUpdate::check(&eor, &ctx).unwrap().is_end_of_rib());
}

/// An UPDATE written octet by octet: header, withdrawn routes, attributes, NLRI.
fn raw_update(withdrawn: &[u8], attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    let len = 19 + 2 + withdrawn.len() + 2 + attributes.len() + nlri.len();
    m.extend((len as u16).to_be_bytes());
    m.push(2);
    m.extend((withdrawn.len() as u16).to_be_bytes());
    m.extend(withdrawn);
    m.extend((attributes.len() as u16).to_be_bytes());
    m.extend(attributes);
    m.extend(nlri);
    m
}

/// Forms the generators do not write (found by a review of the check against the full
/// decoder), each with whether the check must accept it.
#[test]
fn the_check_agrees_on_forms_the_generators_do_not_write() {
    const ORIGIN: &[u8] = &[0x40, 1, 1, 0];
    const NEXT_HOP: &[u8] = &[0x40, 3, 4, 192, 0, 2, 1];
    const PATH_4: &[u8] = &[0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe8]; // AS_SEQUENCE 65000
    const PATH_2: &[u8] = &[0x40, 2, 4, 2, 1, 0xfd, 0xe8]; // the same, 2-octet
    const SET_2: &[u8] = &[0x40, 2, 4, 1, 1, 0xfd, 0xe8]; // AS_SET {65000}, 2-octet
    const EMPTY_PATH: &[u8] = &[0x40, 2, 0];
    const NLRI: &[u8] = &[24, 10, 244, 1];
    let ebgp = SessionContext::default();
    let two = SessionContext::two_octet_as();
    let enforce = |mut c: SessionContext| {
        c.enforce_first_as = Some(65000);
        c
    };
    let extended = SessionContext {
        extended_message: true,
        ..ebgp
    };
    let with = |parts: &[&[u8]]| parts.concat();
    let big_communities = {
        let mut a = vec![0xd0, 8, 0x13, 0x80]; // extended length: 4,992 octets
        a.extend(std::iter::repeat_n(1u8, 4992));
        a
    };
    let cases: Vec<(&str, SessionContext, Vec<u8>, bool)> = vec![
        (
            "extended-length ORIGIN and AS_PATH",
            ebgp,
            raw_update(
                &[],
                &with(&[
                    &[0x50, 1, 0, 1, 0],
                    &[0x50, 2, 0, 6, 2, 1, 0, 0, 0xfd, 0xe8],
                    NEXT_HOP,
                ]),
                NLRI,
            ),
            true,
        ),
        (
            "Partial and low flag bits on ORIGIN",
            ebgp,
            raw_update(&[], &with(&[&[0x6f, 1, 1, 2], PATH_4, NEXT_HOP]), NLRI),
            true,
        ),
        (
            "0.0.0.0/0 and a /32",
            ebgp,
            raw_update(
                &[0],
                &with(&[ORIGIN, PATH_4, NEXT_HOP]),
                &[0, 32, 10, 0, 0, 1],
            ),
            true,
        ),
        (
            "a host bit in the NLRI",
            ebgp,
            raw_update(&[], &with(&[ORIGIN, PATH_4, NEXT_HOP]), &[31, 10, 0, 0, 1]),
            false,
        ),
        (
            "a host bit in the withdrawn routes",
            ebgp,
            raw_update(&[31, 10, 0, 0, 1], &[], &[]),
            false,
        ),
        (
            "optional attributes of types 0, 64 and 255",
            ebgp,
            raw_update(
                &[],
                &with(&[
                    ORIGIN,
                    PATH_4,
                    NEXT_HOP,
                    &[0xc0, 0, 0],
                    &[0x80, 64, 1, 7],
                    &[0xc0, 255, 0],
                ]),
                NLRI,
            ),
            true,
        ),
        (
            "an unknown optional attribute twice",
            ebgp,
            raw_update(
                &[],
                &with(&[ORIGIN, PATH_4, NEXT_HOP, &[0xc0, 200, 0], &[0xc0, 200, 0]]),
                NLRI,
            ),
            false,
        ),
        (
            "AIGP (registered optional) sent well-known",
            ebgp,
            raw_update(
                &[],
                &with(&[ORIGIN, PATH_4, NEXT_HOP, &[0x40, 26, 0]]),
                NLRI,
            ),
            false,
        ),
        (
            "enforced first AS, empty path",
            enforce(ebgp),
            raw_update(&[], &with(&[ORIGIN, EMPTY_PATH, NEXT_HOP]), NLRI),
            false,
        ),
        (
            "enforced first AS, AS_SET first",
            enforce(two),
            raw_update(&[], &with(&[ORIGIN, SET_2, NEXT_HOP]), NLRI),
            false,
        ),
        (
            "enforced first AS, right on a 2-octet session",
            enforce(two),
            raw_update(&[], &with(&[ORIGIN, PATH_2, NEXT_HOP]), NLRI),
            true,
        ),
        (
            "enforced first AS, withdrawals only",
            enforce(ebgp),
            raw_update(&[24, 10, 244, 1], &[], &[]),
            true,
        ),
        (
            "5,000 octets with extended messages",
            extended,
            raw_update(
                &[],
                &with(&[ORIGIN, PATH_4, NEXT_HOP, &big_communities]),
                NLRI,
            ),
            true,
        ),
        (
            "5,000 octets without",
            ebgp,
            raw_update(
                &[],
                &with(&[ORIGIN, PATH_4, NEXT_HOP, &big_communities]),
                NLRI,
            ),
            false,
        ),
    ];
    for (name, ctx, bytes, accept) in cases {
        let accepted = agrees(&bytes, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(accepted, accept, "{name}");
    }
    // The header's length one off from the message's.
    let mut off = raw_update(&[], &with(&[ORIGIN, PATH_4, NEXT_HOP]), NLRI);
    off[17] += 1;
    assert!(CheckedUpdate::check(&off, &ebgp).is_none());
    off.push(0);
    assert!(CheckedUpdate::check(&off, &ebgp).is_some());
}
