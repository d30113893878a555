//! Property tests of the codec (strategies in tests/it/support/strategies.rs).
//!
//! - `decode(encode(x)) == x` for every message type, every path attribute and every
//!   capability, in session contexts with 2- and 4-octet AS numbers, ADD-PATH off, on for all
//!   and for some families, iBGP and eBGP, with and without extended messages.
//! - The documented normalisations: host bits are masked (and reported), LOCAL_PREF from an
//!   eBGP peer is discarded (and reported).
//! - `Message::decode` never panics: on arbitrary octets, on arbitrary bodies behind a valid
//!   header, and on valid messages with octets flipped, inserted, removed or cut off. Whatever
//!   it accepts re-encodes, and decodes again to the same message; what it accepts without
//!   RFC 7606 issues re-encodes to the same octets, except reserved octets (written as 0).
//! - The encoder never writes other than `wire_len` octets, also for values that are not
//!   canonical (empty AS_PATH segments, segments of more than 255 ASNs, empty lists, path
//!   identifiers without ADD-PATH): it fails, or writes a message the decoder accepts.
//! - [`UpdatePacker`] output: messages within the session's limit that decode to exactly the
//!   routes and attributes packed.

use crate::support;

use bgp_proto::{
    frame_len, AsPath, AsSegment, AttributeAction, AttributeValue, Capability, EncodeError,
    ErrorKind, Family, FamilySet, Message, MpNextHop, MpReach, Nlri, Open, Origin, PathAttribute,
    PathAttributes, SegmentType, SessionContext, Update, UpdatePacker, HEADER_LEN,
    MAX_EXTENDED_MESSAGE_LEN,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::net::Ipv4Addr;
use support::strategies::{self, Profile};

/// Encodes `m` in `ctx`, decodes it again and checks both ways.
fn round_trip(m: &Message, ctx: &SessionContext) -> Result<(), TestCaseError> {
    let bytes = m
        .to_bytes(ctx)
        .map_err(|e| TestCaseError::fail(format!("encode: {e}")))?;
    prop_assert_eq!(bytes.len(), m.wire_len(ctx));
    let decoded = Message::decode(&bytes, ctx)
        .map_err(|e| TestCaseError::fail(format!("decode: {e} in {ctx:?}")))?;
    if &decoded != m {
        let issues = match &decoded {
            Message::Update(u) => format!("{:?}", u.issues),
            _ => String::new(),
        };
        return Err(TestCaseError::fail(format!(
            "decoded differently in {ctx:?} (issues {issues}):\n{decoded:?}"
        )));
    }
    Ok(())
}

/// A context and a value from `make(profile of that context)`.
fn in_context<S: Strategy + 'static>(
    make: fn(Profile) -> S,
) -> impl Strategy<Value = (SessionContext, S::Value)> {
    strategies::context().prop_flat_map(move |ctx| (Just(ctx), make(Profile::round_trip(ctx))))
}

fn fitting(
    make: fn(Profile) -> BoxedStrategy<Message>,
) -> impl Strategy<Value = (SessionContext, Message)> {
    in_context(make).prop_filter("fits the session", |(ctx, m)| strategies::fits(m, ctx))
}

fn open_message(p: Profile) -> BoxedStrategy<Message> {
    strategies::open(p).prop_map(Message::Open).boxed()
}

fn update_message(p: Profile) -> BoxedStrategy<Message> {
    strategies::update(p).prop_map(Message::Update).boxed()
}

fn notification_message(p: Profile) -> BoxedStrategy<Message> {
    strategies::notification(p)
        .prop_map(Message::Notification)
        .boxed()
}

fn route_refresh_message(p: Profile) -> BoxedStrategy<Message> {
    strategies::route_refresh(p)
        .prop_map(Message::RouteRefresh)
        .boxed()
}

/// An UPDATE holding one attribute, chosen by index among all of them.
fn single_attribute(p: Profile) -> BoxedStrategy<Message> {
    let mut values = strategies::attribute_values(p);
    values.push(
        strategies::mp_reach(p, 4)
            .prop_map(AttributeValue::from)
            .boxed(),
    );
    values.push(
        strategies::mp_unreach(p, 4)
            .prop_map(AttributeValue::from)
            .boxed(),
    );
    let all: Vec<BoxedStrategy<PathAttribute>> = values
        .into_iter()
        .map(|v| strategies::with_flags(v, p))
        .collect();
    proptest::sample::select((0..all.len()).collect::<Vec<_>>())
        .prop_flat_map(move |i| all[i].clone())
        .prop_map(|a| {
            let mut attrs = vec![a];
            // Announced prefixes need ORIGIN and AS_PATH (RFC 4760 §4, RFC 7606 §3(d)).
            if matches!(&attrs[0].value, AttributeValue::MpReach(m) if !m.nlri.is_empty()) {
                attrs.push(PathAttribute::new(AttributeValue::Origin(Origin::Igp)));
                attrs.push(PathAttribute::new(
                    AttributeValue::AsPath(AsPath::default()),
                ));
            }
            Message::Update(Update {
                attributes: PathAttributes(attrs),
                ..Update::default()
            })
        })
        .boxed()
}

/// An OPEN holding one capability.
fn single_capability(p: Profile) -> BoxedStrategy<Message> {
    strategies::capability(p)
        .prop_map(|c| {
            Message::Open(Open::new(
                65001,
                90,
                std::net::Ipv4Addr::new(192, 0, 2, 1),
                vec![c],
            ))
        })
        .boxed()
}

proptest! {
    #![proptest_config(Config::with_cases(512))]

    #[test]
    fn open_round_trips((ctx, m) in fitting(open_message)) {
        round_trip(&m, &ctx)?;
    }

    #[test]
    fn update_round_trips((ctx, m) in fitting(update_message)) {
        round_trip(&m, &ctx)?;
    }

    #[test]
    fn notification_round_trips((ctx, m) in fitting(notification_message)) {
        round_trip(&m, &ctx)?;
    }

    #[test]
    fn route_refresh_round_trips((ctx, m) in fitting(route_refresh_message)) {
        round_trip(&m, &ctx)?;
    }

    #[test]
    fn keepalive_round_trips(ctx in strategies::context()) {
        round_trip(&Message::Keepalive, &ctx)?;
    }

    #[test]
    fn every_attribute_round_trips((ctx, m) in fitting(single_attribute)) {
        round_trip(&m, &ctx)?;
    }

    #[test]
    fn every_capability_round_trips((ctx, m) in fitting(single_capability)) {
        round_trip(&m, &ctx)?;
    }
}

/// Every combination of AS width, ADD-PATH (off, all families, IPv6 unicast only), extended
/// messages and iBGP/eBGP, each with its own run of generated messages.
#[test]
fn every_message_round_trips_in_every_context() {
    for four_octet_as in [false, true] {
        for add_path in [
            FamilySet::EMPTY,
            FamilySet::ALL,
            FamilySet::of(&[Family::IPV6_UNICAST]),
        ] {
            for extended_message in [false, true] {
                for ibgp in [false, true] {
                    let ctx = SessionContext {
                        four_octet_as,
                        add_path,
                        extended_message,
                        ibgp,
                        enforce_first_as: None,
                    };
                    let mut runner = TestRunner::new(Config::with_cases(48));
                    runner
                        .run(&strategies::message(Profile::round_trip(ctx)), |m| {
                            round_trip(&m, &ctx)
                        })
                        .unwrap_or_else(|e| panic!("{ctx:?}: {e}"));
                }
            }
        }
    }
}

/// A withdrawn or announced IPv4 prefix with host bits set is masked and reported as
/// repaired; re-encoding gives the canonical octets (RFC 7606 §5.3 leaves it to the
/// implementation; this crate repairs).
#[test]
fn host_bits_are_masked_and_reported() {
    let ctx = SessionContext::default();
    let canonical = Message::Update(Update {
        withdrawn: vec![Nlri::new("10.1.0.0/16".parse().unwrap())],
        ..Update::default()
    });
    let mut bytes = canonical.to_bytes(&ctx).unwrap().to_vec();
    // Withdrawn routes: length octet 16 at offset 21, then 10.1; make it 10.1 -> 10.1 with a
    // /15 length so that the low bit of the second octet is a host bit.
    assert_eq!(&bytes[HEADER_LEN + 2..HEADER_LEN + 5], &[16, 10, 1]);
    bytes[HEADER_LEN + 2] = 15;
    let Message::Update(u) = Message::decode(&bytes, &ctx).unwrap() else {
        panic!("not an UPDATE");
    };
    assert_eq!(u.withdrawn, vec![Nlri::new("10.0.0.0/15".parse().unwrap())]);
    assert_eq!(u.issues.len(), 1);
    assert_eq!(u.issues[0].action, AttributeAction::Repaired);
    assert!(matches!(
        u.issues[0].kind,
        ErrorKind::InvalidNetworkField { prefix_length: 15 }
    ));
    let again = Message::Update(Update {
        issues: Vec::new(),
        ..u
    })
    .to_bytes(&ctx)
    .unwrap();
    assert_eq!(again[HEADER_LEN + 3..HEADER_LEN + 5], [10, 0]);
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    /// An UPDATE with LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST from an eBGP peer decodes as
    /// the same UPDATE without them, with one discard reported per attribute (RFC 7606 §7.5;
    /// RFC 4456 §8: route reflection attributes belong inside one AS).
    #[test]
    fn ibgp_only_attributes_from_ebgp_are_discarded(
        (ctx, u) in strategies::context().prop_flat_map(|ctx| {
            let ibgp = SessionContext { ibgp: true, ..ctx };
            (Just(ctx), strategies::update(Profile::round_trip(ibgp)))
        }),
        local_pref in any::<u32>(),
        originator in any::<u32>(),
        clusters in proptest::collection::vec(any::<u32>(), 1..4),
    ) {
        use bgp_proto::attribute_type as code;
        let ebgp = SessionContext { ibgp: false, ..ctx };
        let mut with = u.clone();
        for c in [code::LOCAL_PREF, code::ORIGINATOR_ID, code::CLUSTER_LIST] {
            with.attributes.remove(c);
        }
        let without = with.clone();
        let clusters = clusters.into_iter().map(std::net::Ipv4Addr::from).collect();
        with.attributes.0.insert(0, PathAttribute::new(AttributeValue::ClusterList(clusters)));
        with.attributes.0.insert(0, PathAttribute::new(AttributeValue::OriginatorId(originator.into())));
        with.attributes.0.insert(0, PathAttribute::new(AttributeValue::LocalPref(local_pref)));
        // Confederation segments are an external peer's to not send (RFC 5065 §5): another
        // test's matter.
        prop_assume!(!with.attributes.as_path().is_some_and(|p| p.has_confed_segment()));
        let m = Message::Update(with);
        prop_assume!(strategies::fits(&m, &ebgp));
        let bytes = m.to_bytes(&ebgp).unwrap();
        let Message::Update(decoded) = Message::decode(&bytes, &ebgp).unwrap() else {
            return Err(TestCaseError::fail("not an UPDATE"));
        };
        let kinds: Vec<&ErrorKind> = decoded.issues.iter().map(|i| &i.kind).collect();
        prop_assert_eq!(kinds, vec![
            &ErrorKind::LocalPrefFromEbgp,
            &ErrorKind::ReflectionAttributeFromEbgp { type_code: code::ORIGINATOR_ID },
            &ErrorKind::ReflectionAttributeFromEbgp { type_code: code::CLUSTER_LIST },
        ]);
        prop_assert!(decoded.issues.iter().all(|i| i.action == AttributeAction::Discard));
        prop_assert_eq!(Update { issues: Vec::new(), ..decoded }, without);
    }
}

/// One change to a message's octets.
#[derive(Debug, Clone)]
pub(crate) enum Mutation {
    /// XOR the octet at (index modulo length) with a non-zero mask.
    Flip(usize, u8),
    /// Overwrite the octet.
    Set(usize, u8),
    /// Insert an octet.
    Insert(usize, u8),
    /// Remove the octet.
    Remove(usize),
    /// Cut the message there.
    Truncate(usize),
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// `message` with `mutations` applied; with `fix_length`, the header's length field is set
/// to the new size, so that the change reaches the body parsers.
pub(crate) fn mutated(message: &[u8], mutations: &[Mutation], fix_length: bool) -> Vec<u8> {
    let mut bytes = message.to_vec();
    for m in mutations {
        mutate(&mut bytes, m);
    }
    if fix_length && bytes.len() >= HEADER_LEN {
        let len = (bytes.len() as u16).to_be_bytes();
        bytes[16..18].copy_from_slice(&len);
    }
    bytes
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let n = bytes.len();
    match *m {
        Mutation::Flip(i, mask) => bytes[i % n] ^= mask,
        Mutation::Set(i, b) => bytes[i % n] = b,
        Mutation::Insert(i, b) => bytes.insert(i % (n + 1), b),
        Mutation::Remove(i) => {
            bytes.remove(i % n);
        }
        Mutation::Truncate(i) => bytes.truncate(i % n),
    }
}

/// Positions in `encoded` (this crate's encoding of `m`) of the octets the decoder ignores
/// and the encoder writes as 0: the reserved octet of MP_REACH_NLRI (RFC 4760 §3) and of the
/// multiprotocol capability (RFC 4760 §8).
fn reserved_octets(m: &Message, encoded: &[u8], ctx: &SessionContext) -> Vec<usize> {
    let mut out = Vec::new();
    match m {
        Message::Update(u) => {
            let v4_add_path = ctx.add_path.contains(Family::IPV4_UNICAST);
            let withdrawn: usize = u.withdrawn.iter().map(|n| n.wire_len(v4_add_path)).sum();
            let mut at = HEADER_LEN + 2 + withdrawn + 2;
            for a in &u.attributes.0 {
                let header = if encoded[at] & bgp_proto::attribute_flags::EXTENDED_LENGTH != 0 {
                    4
                } else {
                    3
                };
                if let AttributeValue::MpReach(r) = &a.value {
                    out.push(at + header + 4 + r.next_hop.wire_len());
                }
                at += header + a.value.wire_len(ctx);
            }
        }
        Message::Open(o) => {
            let extended = encoded[HEADER_LEN + 9] == 255 && encoded[HEADER_LEN + 10] == 255;
            let mut at = HEADER_LEN + if extended { 13 } else { 10 };
            for p in &o.params {
                at += if extended { 3 } else { 2 };
                if let bgp_proto::OptionalParameter::Capabilities(caps) = p {
                    for c in caps {
                        if let Capability::Multiprotocol(_) = c {
                            out.push(at + 4);
                        }
                        at += c.wire_len();
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// Decodes `bytes`; whatever is accepted must re-encode and decode again to the same message
/// (RFC 7606 issues aside: what was discarded or repaired the first time is gone or fixed).
/// What is accepted without issues re-encodes to the same octets, reserved octets aside.
fn decode_is_stable(bytes: &[u8], ctx: &SessionContext) -> Result<(), TestCaseError> {
    let Ok(first) = Message::decode(bytes, ctx) else {
        return Ok(());
    };
    let again = first
        .to_bytes(ctx)
        .map_err(|e| TestCaseError::fail(format!("decoded message does not encode: {e}")))?;
    let second = Message::decode(&again, ctx)
        .map_err(|e| TestCaseError::fail(format!("re-encoded message does not decode: {e}")))?;
    let clean = !matches!(&first, Message::Update(u) if !u.issues.is_empty());
    if clean {
        let reserved = reserved_octets(&first, &again, ctx);
        prop_assert_eq!(again.len(), bytes.len(), "{:?}", first);
        for (i, (a, b)) in again.iter().zip(bytes).enumerate() {
            prop_assert!(
                a == b || reserved.contains(&i),
                "octet {} re-encoded as {:#04x}, received {:#04x}: {:?}",
                i,
                a,
                b,
                first
            );
        }
    }
    let without_issues = |m: Message| match m {
        Message::Update(u) => Message::Update(Update {
            issues: Vec::new(),
            ..u
        }),
        other => other,
    };
    prop_assert_eq!(without_issues(first), without_issues(second));
    Ok(())
}

proptest! {
    #![proptest_config(Config::with_cases(2048))]

    #[test]
    fn decode_never_panics_on_arbitrary_octets(
        ctx in strategies::context(),
        bytes in vec(any::<u8>(), 0..600),
    ) {
        decode_is_stable(&bytes, &ctx)?;
    }

    /// A valid header (any type code, the right length) in front of arbitrary octets, so
    /// that the body parsers see them.
    #[test]
    fn decode_never_panics_on_arbitrary_bodies(
        ctx in strategies::context(),
        message_type in prop_oneof![9 => 1u8..=5, 1 => any::<u8>()],
        body in vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = bgp_proto::MARKER.to_vec();
        bytes.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
        bytes.push(message_type);
        bytes.extend_from_slice(&body);
        decode_is_stable(&bytes, &ctx)?;
    }

    /// Valid messages with a few octets changed; the header length is usually kept in step
    /// with the new size, so that the change reaches the body parsers.
    #[test]
    fn decode_never_panics_on_mutated_messages(
        (ctx, m) in strategies::context().prop_flat_map(|ctx| {
            (Just(ctx), strategies::message(Profile::round_trip(ctx)))
        }),
        mutations in vec(mutation(), 1..4),
        fix_length in prop_oneof![4 => Just(true), 1 => Just(false)],
    ) {
        let bytes = mutated(&m.to_bytes(&ctx).unwrap(), &mutations, fix_length);
        decode_is_stable(&bytes, &ctx)?;
    }
}

/// An OPEN with every capability this crate knows (one of each, and unknown ones) round-trips
/// in one message.
#[test]
fn open_with_every_capability_round_trips() {
    let mut runner = TestRunner::deterministic();
    let p = Profile::round_trip(SessionContext::default());
    let known = [1, 2, 5, 6, 9, 64, 65, 69, 70, 71, 73, 75];
    let mut caps: Vec<Capability> = Vec::new();
    for _ in 0..10_000 {
        let c = strategies::capability(p)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        if !caps.iter().any(|have| have.code() == c.code()) {
            caps.push(c);
        }
        if known.iter().all(|k| caps.iter().any(|c| c.code() == *k)) && caps.len() > 14 {
            break;
        }
    }
    for code in known {
        assert!(
            caps.iter().any(|c| c.code() == code),
            "capability {code} never generated"
        );
    }
    let m = Message::Open(Open {
        extended_params: true,
        ..Open::new(65001, 90, std::net::Ipv4Addr::new(192, 0, 2, 1), caps)
    });
    round_trip(&m, &SessionContext::default()).unwrap();
}

/// Changes that make a canonical UPDATE non-canonical without making it wrong to send.
#[derive(Debug, Clone)]
enum Loosen {
    /// An empty segment in AS_PATH or AS4_PATH (the encoder leaves it out).
    EmptySegment,
    /// A segment of this many ASNs (the encoder splits it at 255).
    LongSegment(usize),
    /// Empty COMMUNITIES, CLUSTER_LIST, EXTENDED_COMMUNITIES and LARGE_COMMUNITY lists.
    EmptyLists,
    /// Path identifiers where ADD-PATH is off, none where it is on.
    FlipPathIds,
    /// Toggle the extended-length bit of every attribute.
    ToggleExtendedLength,
}

fn loosen(u: &mut Update, how: &Loosen) {
    let paths = u
        .attributes
        .0
        .iter_mut()
        .filter_map(|a| match &mut a.value {
            AttributeValue::AsPath(p) | AttributeValue::As4Path(p) => Some(p),
            _ => None,
        });
    match how {
        Loosen::EmptySegment => paths.for_each(|p| {
            let empty = AsSegment {
                kind: SegmentType::Sequence,
                asns: &[],
            };
            *p = AsPath::from_segments(std::iter::once(empty).chain(p.segments()));
        }),
        Loosen::LongSegment(n) => paths.for_each(|p| {
            let asns: Vec<u32> = (1..=*n as u32).collect();
            let long = AsSegment {
                kind: SegmentType::Set,
                asns: &asns,
            };
            *p = AsPath::from_segments(p.segments().chain([long]));
        }),
        Loosen::EmptyLists => {
            for a in &mut u.attributes.0 {
                match &mut a.value {
                    AttributeValue::Communities(v) => *v = Default::default(),
                    AttributeValue::ClusterList(v) => *v = Default::default(),
                    AttributeValue::ExtendedCommunities(v) => *v = Box::default(),
                    AttributeValue::LargeCommunities(v) => *v = Box::default(),
                    _ => {}
                }
            }
        }
        Loosen::FlipPathIds => {
            for n in u.withdrawn.iter_mut().chain(&mut u.nlri) {
                n.path_id = match n.path_id {
                    Some(_) => None,
                    None => Some(7),
                };
            }
        }
        Loosen::ToggleExtendedLength => {
            for a in &mut u.attributes.0 {
                a.flags ^= bgp_proto::attribute_flags::EXTENDED_LENGTH;
            }
        }
    }
}

proptest! {
    #![proptest_config(Config::with_cases(512))]

    /// Whatever the encoder writes has the length it announced (`wire_len`, the header's
    /// length field) and is accepted by the decoder; or the encoder refuses.
    #[test]
    fn encoding_agrees_with_wire_len(
        (ctx, mut u) in in_context(strategies::update),
        changes in vec(prop_oneof![
            Just(Loosen::EmptySegment),
            (256usize..600).prop_map(Loosen::LongSegment),
            Just(Loosen::EmptyLists),
            Just(Loosen::FlipPathIds),
            Just(Loosen::ToggleExtendedLength),
        ], 1..4),
    ) {
        for c in &changes {
            loosen(&mut u, c);
        }
        let m = Message::Update(u);
        let Ok(bytes) = m.to_bytes(&ctx) else {
            return Ok(());
        };
        prop_assert_eq!(bytes.len(), m.wire_len(&ctx));
        prop_assert_eq!(usize::from(u16::from_be_bytes([bytes[16], bytes[17]])), bytes.len());
        let decoded = Message::decode(&bytes, &ctx);
        prop_assert!(decoded.is_ok(), "encoder output refused: {:?}", decoded);
    }
}

/// Regression: an AS_PATH with an empty segment made `wire_len` count two octets that
/// `encode` did not write (a debug assertion; in release, length fields two octets too long).
#[test]
fn empty_as_path_segment_is_left_out() {
    for ctx in [SessionContext::default(), SessionContext::two_octet_as()] {
        let path = AsPath::from_segments([
            AsSegment {
                kind: SegmentType::Sequence,
                asns: &[],
            },
            AsSegment {
                kind: SegmentType::Sequence,
                asns: &[65001, 65002],
            },
        ]);
        let m = Message::Update(Update {
            attributes: PathAttributes(vec![PathAttribute::new(AttributeValue::AsPath(path))]),
            ..Update::default()
        });
        let bytes = m.to_bytes(&ctx).unwrap();
        assert_eq!(bytes.len(), m.wire_len(&ctx));
        let Message::Update(u) = Message::decode(&bytes, &ctx).unwrap() else {
            panic!("not an UPDATE");
        };
        assert!(u.issues.is_empty(), "{:?}", u.issues);
        assert_eq!(
            u.attributes.as_path(),
            Some(&AsPath::sequence(vec![65001, 65002]))
        );
    }
}

/// Regression: an MP_REACH_NLRI next hop of more than 255 octets was written with its length
/// cut to one octet, making a message that decodes as something else. It is an error now,
/// also in [`UpdatePacker`].
#[test]
fn oversized_mp_next_hop_is_an_encode_error() {
    let ctx = SessionContext::default();
    let family = Family::new(25, 65);
    let next_hop = MpNextHop::Opaque(bytes::Bytes::from(vec![1u8; 300]));
    let m = Message::Update(Update {
        attributes: PathAttributes(vec![PathAttribute::new(AttributeValue::from(MpReach {
            family,
            next_hop: next_hop.clone(),
            nlri: Vec::new(),
            opaque_nlri: bytes::Bytes::new(),
        }))]),
        ..Update::default()
    });
    assert!(matches!(
        m.to_bytes(&ctx),
        Err(EncodeError::ValueTooLarge { value: 300, .. })
    ));
    let mut out = bytes::BytesMut::new();
    let packed = UpdatePacker::new(ctx).announce(
        &PathAttributes::default(),
        Family::IPV6_UNICAST,
        Some(&next_hop),
        &[Nlri::new("2001:db8::/32".parse().unwrap())],
        &mut out,
    );
    assert!(matches!(packed, Err(EncodeError::ValueTooLarge { .. })));
    assert!(out.is_empty());
}

/// Splits a buffer of messages.
fn frames(mut buf: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let len = frame_len(buf, MAX_EXTENDED_MESSAGE_LEN).unwrap().unwrap();
        let (m, rest) = buf.split_at(len);
        out.push(m);
        buf = rest;
    }
    out
}

proptest! {
    #![proptest_config(Config::with_cases(128))]

    /// UpdatePacker: every message within the session's limit; together they announce, then
    /// withdraw, exactly the routes given, each with the attributes given.
    #[test]
    fn packed_updates_carry_every_route(
        (ctx, family, next_hop, routes) in strategies::context().prop_flat_map(|ctx| {
            let p = Profile::round_trip(ctx);
            proptest::sample::select(strategies::PREFIX_FAMILIES.to_vec()).prop_flat_map(
                move |family| {
                    (
                        Just(ctx),
                        Just(family),
                        strategies::mp_next_hop(family, p),
                        vec(strategies::nlri(family, p), 1..3000),
                    )
                },
            )
        }),
        med in any::<u32>(),
    ) {
        let mut attrs = PathAttributes(vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![65001]))),
            PathAttribute::new(AttributeValue::Med(med)),
        ]);
        // IPv4 unicast with NEXT_HOP goes in the NLRI field, everything else in MP_REACH.
        let classic = family == Family::IPV4_UNICAST && med % 2 == 0;
        if classic {
            attrs.0.push(PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))));
        }
        let packer = UpdatePacker::new(ctx);
        let mut out = bytes::BytesMut::new();
        let n = packer.announce(&attrs, family, Some(&next_hop), &routes, &mut out).unwrap();
        let messages = frames(&out);
        prop_assert_eq!(messages.len(), n);
        let mut announced = Vec::new();
        for m in &messages {
            prop_assert!(m.len() <= ctx.max_message_len());
            let Message::Update(u) = Message::decode(m, &ctx).unwrap() else {
                return Err(TestCaseError::fail("not an UPDATE"));
            };
            prop_assert!(u.issues.is_empty(), "{:?}", u.issues);
            let mut rest = u.attributes.clone();
            rest.remove(bgp_proto::attribute_type::MP_REACH_NLRI);
            prop_assert_eq!(&rest.0, &attrs.0);
            if !classic {
                prop_assert_eq!(&u.attributes.mp_reach().unwrap().next_hop, &next_hop);
            }
            announced.extend(u.announced().map(|(f, n)| (f, *n)));
        }
        let expected: Vec<(Family, Nlri)> = routes.iter().map(|n| (family, *n)).collect();
        prop_assert_eq!(announced, expected.clone());

        let mut out = bytes::BytesMut::new();
        let n = packer.withdraw(family, &routes, &mut out).unwrap();
        let messages = frames(&out);
        prop_assert_eq!(messages.len(), n);
        let mut withdrawn = Vec::new();
        for m in &messages {
            prop_assert!(m.len() <= ctx.max_message_len());
            let Message::Update(u) = Message::decode(m, &ctx).unwrap() else {
                return Err(TestCaseError::fail("not an UPDATE"));
            };
            prop_assert!(u.issues.is_empty(), "{:?}", u.issues);
            withdrawn.extend(u.withdrawals().map(|(f, n)| (f, *n)));
        }
        prop_assert_eq!(withdrawn, expected);
    }
}
