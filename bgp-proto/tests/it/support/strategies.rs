//! proptest strategies for every message type, path attribute and capability.
//!
//! The values are canonical for the [`Profile`]'s session context, so that
//! `decode(encode(x)) == x` holds exactly: prefixes have no host bits, AS numbers are never 0
//! and fit the session's AS width, lists that may not be empty are not, attributes appear
//! once, LOCAL_PREF only on iBGP, the mandatory attributes come with reachable NLRI, the
//! extended-length and RFC 9072 flags are set where the encoder would set them, and every
//! message fits the session's maximum size.
//!
//! With `tshark` set, the values also stay inside what Wireshark 4.0 dissects without
//! guessing wrong: ADD-PATH path identifiers below 2^24 and no /0 prefixes (its ADD-PATH
//! detection is a heuristic), only prefix families, well-formed extended communities,
//! attribute and capability codes it leaves undissected for the unknown ones, link-local
//! addresses in fe80::/64, text in printable ASCII, no RFC 9072 OPEN, no ORF entries.

use bgp_proto::{
    attribute_flags as flags, attribute_type as tc, AddPathMode, Aggregator, AsPath, AsSegment,
    AttributeValue, Capability, Community, ExtendedCommunity, Family, FamilySet,
    GracefulRestartFamily, LargeCommunity, LongLivedFamily, Message, MpNextHop, MpReach, MpUnreach,
    Nlri, Notification, Open, OptionalParameter, Origin, PathAttribute, PathAttributes,
    RouteRefresh, SegmentType, SessionContext, Update,
};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use proptest::collection::vec;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// What the generated values must suit.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// The session the values are encoded in.
    pub ctx: SessionContext,
    /// Keep to what Wireshark 4.0 dissects unambiguously.
    pub tshark: bool,
}

impl Profile {
    /// Values for round trips in `ctx`.
    pub fn round_trip(ctx: SessionContext) -> Self {
        Profile { ctx, tshark: false }
    }

    /// Values that tshark will read as this crate does, in `ctx`.
    pub fn tshark(ctx: SessionContext) -> Self {
        Profile { ctx, tshark: true }
    }
}

/// The four families with prefix NLRI.
pub const PREFIX_FAMILIES: [Family; 4] = [
    Family::IPV4_UNICAST,
    Family::IPV6_UNICAST,
    Family::IPV4_MULTICAST,
    Family::IPV6_MULTICAST,
];

/// Session contexts: 2- or 4-octet AS, ADD-PATH off, on for all or for some families,
/// extended messages or not, iBGP or eBGP.
pub fn context() -> impl Strategy<Value = SessionContext> {
    let add_path = prop_oneof![
        Just(FamilySet::EMPTY),
        Just(FamilySet::ALL),
        proptest::sample::subsequence(PREFIX_FAMILIES.to_vec(), 0..=4)
            .prop_map(|f| FamilySet::of(&f)),
    ];
    (any::<bool>(), add_path, any::<bool>(), any::<bool>()).prop_map(
        |(four_octet_as, add_path, extended_message, ibgp)| SessionContext {
            four_octet_as,
            add_path,
            extended_message,
            ibgp,
            enforce_first_as: None,
        },
    )
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn ipv6() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn octets(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

/// Printable ASCII of at most `max` characters.
fn text(max: usize) -> impl Strategy<Value = Bytes> {
    vec(0x20u8..0x7f, 0..=max).prop_map(Bytes::from)
}

/// A prefix of `family` without host bits.
pub fn prefix(family: Family, p: Profile) -> BoxedStrategy<IpNet> {
    let shortest = u8::from(p.tshark);
    if family.afi == bgp_proto::AFI_IPV6 {
        (any::<u128>(), shortest..=128)
            .prop_map(|(a, len)| IpNet::V6(Ipv6Net::new(a.into(), len).unwrap().trunc()))
            .boxed()
    } else {
        (any::<u32>(), shortest..=32)
            .prop_map(|(a, len)| IpNet::V4(Ipv4Net::new(a.into(), len).unwrap().trunc()))
            .boxed()
    }
}

/// An NLRI entry of `family`, with a path identifier when ADD-PATH is on for it.
pub fn nlri(family: Family, p: Profile) -> BoxedStrategy<Nlri> {
    let path_id = if !p.ctx.add_path.contains(family) {
        Just(None).boxed()
    } else if p.tshark {
        (0u32..1 << 24).prop_map(Some).boxed()
    } else {
        any::<u32>().prop_map(Some).boxed()
    };
    (prefix(family, p), path_id)
        .prop_map(|(prefix, path_id)| Nlri { prefix, path_id })
        .boxed()
}

fn asn(four_octet: bool) -> BoxedStrategy<u32> {
    if four_octet {
        prop_oneof![1u32..=65535, 65536u32..=u32::MAX].boxed()
    } else {
        (1u32..=65535).boxed()
    }
}

/// An AS_PATH (or AS4_PATH) of every segment type, at most 255 ASNs per segment; with
/// `confed` false, without confederation segments (an external peer's AS_PATH may not hold
/// them, RFC 5065 §5).
pub fn as_path(four_octet: bool, confed: bool) -> BoxedStrategy<AsPath> {
    let kind = if confed {
        prop_oneof![
            Just(SegmentType::Sequence),
            Just(SegmentType::Set),
            Just(SegmentType::ConfedSequence),
            Just(SegmentType::ConfedSet),
        ]
        .boxed()
    } else {
        prop_oneof![Just(SegmentType::Sequence), Just(SegmentType::Set)].boxed()
    };
    vec((kind, vec(asn(four_octet), 1..8)), 0..4)
        .prop_map(|segments| {
            AsPath::from_segments(
                segments
                    .iter()
                    .map(|(kind, asns)| AsSegment { kind: *kind, asns }),
            )
        })
        .boxed()
}

fn aggregator(four_octet: bool) -> impl Strategy<Value = Aggregator> {
    (asn(four_octet), ipv4()).prop_map(|(asn, address)| Aggregator { asn, address })
}

fn extended_community(p: Profile) -> BoxedStrategy<ExtendedCommunity> {
    if p.tshark {
        // Route target and route origin of the 2-octet-AS, IPv4 and 4-octet-AS types.
        (
            prop::sample::select(vec![0x00u8, 0x01, 0x02]),
            prop::sample::select(vec![0x02u8, 0x03]),
            any::<[u8; 6]>(),
        )
            .prop_map(|(t, s, v)| ExtendedCommunity([t, s, v[0], v[1], v[2], v[3], v[4], v[5]]))
            .boxed()
    } else {
        any::<[u8; 8]>().prop_map(ExtendedCommunity).boxed()
    }
}

/// A next hop of the form MP_REACH_NLRI carries for `family`.
pub fn mp_next_hop(family: Family, p: Profile) -> BoxedStrategy<MpNextHop> {
    let link_local = if p.tshark {
        any::<u64>()
            .prop_map(|iid| Ipv6Addr::from((0xfe80u128 << 112) | u128::from(iid)))
            .boxed()
    } else {
        ipv6().boxed()
    };
    let v6 = (ipv6(), proptest::option::of(link_local))
        .prop_map(|(global, link_local)| MpNextHop::Ipv6 { global, link_local });
    match family.afi {
        _ if !family.has_prefix_nlri() => octets(24).prop_map(MpNextHop::Opaque).boxed(),
        bgp_proto::AFI_IPV6 => v6.boxed(),
        _ => prop_oneof![ipv4().prop_map(MpNextHop::Ipv4), v6].boxed(),
    }
}

/// The family of an MP attribute: a prefix family, or (not for tshark) one whose NLRI this
/// crate keeps as octets.
fn mp_family(p: Profile) -> BoxedStrategy<Family> {
    let prefix = prop::sample::select(PREFIX_FAMILIES.to_vec());
    if p.tshark {
        prefix.boxed()
    } else {
        let opaque = (
            prop_oneof![Just(1u16), Just(2), Just(25), 3u16..=u16::MAX],
            3u8..=255,
        )
            .prop_map(|(afi, safi)| Family::new(afi, safi));
        prop_oneof![3 => prefix, 1 => opaque].boxed()
    }
}

/// MP_REACH_NLRI with up to `max` prefixes.
pub fn mp_reach(p: Profile, max: usize) -> BoxedStrategy<MpReach> {
    mp_family(p)
        .prop_flat_map(move |family| {
            let (nlri, opaque) = if family.has_prefix_nlri() {
                (
                    vec(nlri(family, p), 0..=max).boxed(),
                    Just(Bytes::new()).boxed(),
                )
            } else {
                (Just(Vec::new()).boxed(), octets(40).boxed())
            };
            (Just(family), mp_next_hop(family, p), nlri, opaque)
        })
        .prop_map(|(family, next_hop, nlri, opaque_nlri)| MpReach {
            family,
            next_hop,
            nlri,
            opaque_nlri,
        })
        .boxed()
}

/// MP_UNREACH_NLRI with up to `max` prefixes.
pub fn mp_unreach(p: Profile, max: usize) -> BoxedStrategy<MpUnreach> {
    mp_family(p)
        .prop_flat_map(move |family| {
            let (withdrawn, opaque) = if family.has_prefix_nlri() {
                (
                    vec(nlri(family, p), 0..=max).boxed(),
                    Just(Bytes::new()).boxed(),
                )
            } else {
                (Just(Vec::new()).boxed(), octets(40).boxed())
            };
            (Just(family), withdrawn, opaque)
        })
        .prop_map(|(family, withdrawn, opaque_nlri)| MpUnreach {
            family,
            withdrawn,
            opaque_nlri,
        })
        .boxed()
}

/// Type codes this crate does not interpret (and, for tshark, Wireshark 4.0 does not either).
fn unknown_attribute_code(p: Profile) -> BoxedStrategy<u8> {
    if p.tshark {
        prop_oneof![100u8..=127, 130u8..=240].boxed()
    } else {
        any::<u8>()
            .prop_filter(
                "a code this crate interprets or checks the TLVs of",
                |c| !matches!(c, 1..=10 | 14..=18 | 23 | 32 | 35 | 40),
            )
            .boxed()
    }
}

/// Every attribute value except MP_REACH/MP_UNREACH, by type code; LOCAL_PREF, ORIGINATOR_ID
/// and CLUSTER_LIST only on iBGP (the decoder discards them from eBGP peers).
pub fn attribute_values(p: Profile) -> Vec<BoxedStrategy<AttributeValue>> {
    use AttributeValue as V;
    let four = p.ctx.four_octet_as;
    let mut out = vec![
        prop_oneof![
            Just(Origin::Igp),
            Just(Origin::Egp),
            Just(Origin::Incomplete)
        ]
        .prop_map(V::Origin)
        .boxed(),
        as_path(four, p.ctx.ibgp).prop_map(V::AsPath).boxed(),
        ipv4().prop_map(V::NextHop).boxed(),
        any::<u32>().prop_map(V::Med).boxed(),
        Just(V::AtomicAggregate).boxed(),
        aggregator(four).prop_map(V::Aggregator).boxed(),
        vec(any::<u32>().prop_map(Community), 1..6)
            .prop_map(|v| V::Communities(v.into()))
            .boxed(),
        vec(extended_community(p), 1..4)
            .prop_map(|v| V::ExtendedCommunities(v.into()))
            .boxed(),
        as_path(true, true).prop_map(V::As4Path).boxed(),
        aggregator(true).prop_map(V::As4Aggregator).boxed(),
        vec(any::<(u32, u32, u32)>(), 1..4)
            .prop_map(|v| {
                V::LargeCommunities(
                    v.into_iter()
                        .map(|(g, a, b)| LargeCommunity {
                            global_admin: g,
                            local_data_1: a,
                            local_data_2: b,
                        })
                        .collect(),
                )
            })
            .boxed(),
        any::<u32>().prop_map(V::OnlyToCustomer).boxed(),
        (unknown_attribute_code(p), octets(40))
            .prop_map(|(type_code, data)| V::Unknown {
                type_code,
                data: data.to_vec().into(),
            })
            .boxed(),
    ];
    if p.ctx.ibgp {
        out.push(any::<u32>().prop_map(V::LocalPref).boxed());
        out.push(ipv4().prop_map(V::OriginatorId).boxed());
        out.push(
            vec(ipv4(), 1..4)
                .prop_map(|v| V::ClusterList(v.into()))
                .boxed(),
        );
    }
    out
}

/// An attribute with its type's flags, sometimes with the extended-length bit (and, for
/// optional transitive ones, the partial bit); set where the length needs it.
pub fn with_flags(
    value: BoxedStrategy<AttributeValue>,
    p: Profile,
) -> BoxedStrategy<PathAttribute> {
    (value, any::<bool>(), any::<bool>(), any::<bool>())
        .prop_map(move |(value, extended, partial, transitive)| {
            let mut a = PathAttribute::new(value);
            if let AttributeValue::Unknown { .. } = a.value {
                a.flags = flags::OPTIONAL | if transitive { flags::TRANSITIVE } else { 0 };
            }
            if partial
                && a.flags & (flags::OPTIONAL | flags::TRANSITIVE)
                    == flags::OPTIONAL | flags::TRANSITIVE
            {
                a.flags |= flags::PARTIAL;
            }
            // Wireshark 4.0 reads CLUSTER_LIST one octet late when the extended-length bit
            // is set (packet-bgp.c adds the header length twice), so tshark never gets one.
            let wireshark_bug = p.tshark && a.type_code() == tc::CLUSTER_LIST;
            if (extended && !wireshark_bug) || a.value.wire_len(&p.ctx) > 255 {
                a.flags |= flags::EXTENDED_LENGTH;
            }
            a
        })
        .boxed()
}

/// An UPDATE: withdrawals, any subset of the attributes in any order, NLRI, and the mandatory
/// attributes whenever something is announced. On extended-message sessions some are large.
pub fn update(p: Profile) -> BoxedStrategy<Update> {
    let v4 = Family::IPV4_UNICAST;
    let many: usize = if p.ctx.extended_message { 1200 } else { 6 };
    let count = prop_oneof![4 => 0..6usize, 1 => 0..many];
    let optional: Vec<BoxedStrategy<Option<PathAttribute>>> = attribute_values(p)
        .into_iter()
        .chain([
            mp_reach(p, 6).prop_map(AttributeValue::from).boxed(),
            mp_unreach(p, 6).prop_map(AttributeValue::from).boxed(),
        ])
        .map(|v| proptest::option::of(with_flags(v, p)).boxed())
        .collect();
    let mandatory: Vec<BoxedStrategy<PathAttribute>> = attribute_values(p)
        .into_iter()
        .take(3) // ORIGIN, AS_PATH, NEXT_HOP
        .map(|v| with_flags(v, p))
        .collect();
    (
        vec(nlri(v4, p), 0..4),
        count.prop_flat_map(move |n| vec(nlri(v4, p), n)),
        optional,
        mandatory,
    )
        .prop_flat_map(|(withdrawn, nlri, optional, mandatory)| {
            let mut attrs: Vec<PathAttribute> = optional.into_iter().flatten().collect();
            let mp_nlri = attrs
                .iter()
                .any(|a| matches!(&a.value, AttributeValue::MpReach(m) if !m.nlri.is_empty()));
            let needed = if !nlri.is_empty() {
                3
            } else if mp_nlri {
                2
            } else {
                0
            };
            for m in mandatory.into_iter().take(needed) {
                if !attrs.iter().any(|a| a.type_code() == m.type_code()) {
                    attrs.push(m);
                }
            }
            (Just(withdrawn), Just(nlri), Just(attrs).prop_shuffle())
        })
        .prop_map(|(withdrawn, nlri, attrs)| Update {
            withdrawn,
            attributes: PathAttributes(attrs),
            nlri,
            issues: Vec::new(),
        })
        .boxed()
}

/// Capability codes this crate does not interpret (and, for tshark, Wireshark 4.0 does not
/// either).
fn unknown_capability_code(p: Profile) -> BoxedStrategy<u8> {
    if p.tshark {
        prop_oneof![10u8..=63, 76u8..=127, 132u8..=239].boxed()
    } else {
        any::<u8>()
            .prop_filter("a code this crate interprets", |c| {
                !matches!(c, 1 | 2 | 5 | 6 | 9 | 64 | 65 | 69 | 70 | 71 | 73 | 75)
            })
            .boxed()
    }
}

fn family() -> impl Strategy<Value = Family> {
    (any::<u16>(), any::<u8>()).prop_map(|(afi, safi)| Family::new(afi, safi))
}

/// Every capability this crate knows, and unknown ones.
pub fn capability(p: Profile) -> BoxedStrategy<Capability> {
    use Capability as C;
    let name = move |max: usize| {
        if p.tshark {
            text(max / 3).boxed()
        } else {
            octets(max).boxed()
        }
    };
    prop_oneof![
        family().prop_map(C::Multiprotocol),
        Just(C::RouteRefresh),
        vec(any::<(u16, u16, u16)>(), 1..4).prop_map(C::ExtendedNextHop),
        Just(C::ExtendedMessage),
        any::<u8>().prop_map(C::Role),
        (0u8..16, 0u16..4096, vec((family(), any::<u8>()), 0..4)).prop_map(
            |(flags, restart_time, f)| C::GracefulRestart {
                flags,
                restart_time,
                families: f
                    .into_iter()
                    .map(|(family, flags)| GracefulRestartFamily { family, flags })
                    .collect(),
            }
        ),
        asn(true).prop_map(C::FourOctetAs),
        vec(
            (family(), any::<u8>().prop_map(AddPathMode::from_code)),
            1..4
        )
        .prop_map(C::AddPath),
        Just(C::EnhancedRouteRefresh),
        vec((family(), any::<u8>(), 0u32..1 << 24), 0..4).prop_map(|v| {
            C::LongLivedGracefulRestart(
                v.into_iter()
                    .map(|(family, flags, stale_time)| LongLivedFamily {
                        family,
                        flags,
                        stale_time,
                    })
                    .collect(),
            )
        }),
        (name(60), name(60)).prop_map(|(hostname, domain)| C::Fqdn { hostname, domain }),
        name(80).prop_map(C::SoftwareVersion),
        (unknown_capability_code(p), octets(20)).prop_map(|(code, data)| C::Unknown { code, data }),
    ]
    .boxed()
}

/// An OPEN with up to three capability parameters; the RFC 9072 extended form where the
/// parameters need it (and sometimes where they do not, except for tshark, which does not
/// know the form).
pub fn open(p: Profile) -> BoxedStrategy<Open> {
    let hold_time = prop_oneof![Just(0u16), 3u16..=u16::MAX];
    let bgp_id = (1u32..=u32::MAX).prop_map(Ipv4Addr::from);
    let per_param = if p.tshark { 0..4 } else { 0..6 };
    let params = vec(
        vec(capability(p), per_param).prop_map(OptionalParameter::Capabilities),
        0..4,
    );
    (1u16..=u16::MAX, hold_time, bgp_id, params, any::<bool>())
        .prop_map(move |(my_as, hold_time, bgp_id, params, extended)| {
            let needs_extended = params.iter().map(param_len).sum::<usize>() > 255
                || params.iter().any(|p| param_len(p) > 257);
            Open {
                version: 4,
                my_as,
                hold_time,
                bgp_id,
                params,
                extended_params: needs_extended || (extended && !p.tshark),
            }
        })
        .prop_filter("tshark reads only the RFC 4271 form", move |o| {
            !(p.tshark && o.extended_params)
        })
        .boxed()
}

/// Octets of a parameter in the RFC 4271 form.
fn param_len(p: &OptionalParameter) -> usize {
    2 + match p {
        OptionalParameter::Capabilities(c) => c.iter().map(Capability::wire_len).sum::<usize>(),
        OptionalParameter::Unknown { data, .. } => data.len(),
    }
}

/// A NOTIFICATION with any code and data; an RFC 9003 shutdown communication for Cease 2/4.
/// For tshark, data Wireshark would read differently is left out (capability lists of 2/7,
/// Bad Peer AS longer than 4 octets, Cease 2/4 data that is not a communication).
pub fn notification(p: Profile) -> BoxedStrategy<Notification> {
    let shutdown = (prop_oneof![Just(2u8), Just(4)], text(100)).prop_map(|(subcode, t)| {
        Notification::cease_with_message(subcode, std::str::from_utf8(&t).unwrap())
    });
    let any_data =
        (any::<u8>(), any::<u8>(), octets(64)).prop_map(|(code, subcode, data)| Notification {
            code,
            subcode,
            data,
        });
    prop_oneof![3 => any_data, 1 => shutdown]
        .prop_filter("data Wireshark reads differently", move |n| {
            !p.tshark
                || match (n.code, n.subcode) {
                    (2, 7) => n.data.is_empty(),
                    (2, 2) => n.data.len() <= 4,
                    (6, 2 | 4) => {
                        n.data.is_empty()
                            || matches!(n.shutdown_message(), Some(Ok(m))
                                if n.data.len() == m.len() + 1
                                    && m.bytes().all(|b| (0x20..0x7f).contains(&b)))
                    }
                    _ => true,
                }
        })
        .boxed()
}

/// A ROUTE-REFRESH of any family and subtype; ORF octets (not for tshark) on plain requests.
pub fn route_refresh(p: Profile) -> BoxedStrategy<RouteRefresh> {
    let orf = if p.tshark {
        Just(Bytes::new()).boxed()
    } else {
        octets(40).boxed()
    };
    (family(), any::<u8>(), orf)
        .prop_map(|(family, subtype, orf)| RouteRefresh {
            family,
            subtype,
            orf: if matches!(subtype, 1 | 2) {
                Bytes::new()
            } else {
                orf
            },
        })
        .boxed()
}

/// Any message that fits the session.
pub fn message(p: Profile) -> BoxedStrategy<Message> {
    prop_oneof![
        1 => open(p).prop_map(Message::Open),
        3 => update(p).prop_map(Message::Update),
        1 => notification(p).prop_map(Message::Notification),
        1 => Just(Message::Keepalive),
        1 => route_refresh(p).prop_map(Message::RouteRefresh),
    ]
    .prop_filter("fits the session", move |m| {
        fits(m, &p.ctx) && !(p.tshark && m.wire_len(&p.ctx) > WIRESHARK_MAX_MESSAGE_LEN)
    })
    .boxed()
}

/// Wireshark 4.0 knows no RFC 8654 extended messages and rejects longer ones as malformed.
pub const WIRESHARK_MAX_MESSAGE_LEN: usize = 4096;

/// Whether `m` is within the size limit of its type in `ctx`.
pub fn fits(m: &Message, ctx: &SessionContext) -> bool {
    let max = match m {
        Message::Open(_) => 4096,
        _ => ctx.max_message_len(),
    };
    m.wire_len(ctx) <= max
}
