//! Messages produced by this crate's encoder, dissected by Wireshark.
//!
//! A fixed set covering every message type, capability and attribute the crate supports, and
//! a batch of proptest-generated messages, are written into synthetic captures (one TCP
//! session on 127.0.0.1:179 per session context, with handshake, correct sequence numbers and
//! checksums). `tshark` must dissect them without malformed-packet or error-level expert
//! entries and show the same fields as this crate's decoder; the pcap reader of
//! tests/it/support must find the same octets again. A missing `tshark` fails the test.

use crate::support;

use bgp_proto::{
    attribute_flags as flags, cease_subcode, AddPathMode, Aggregator, AsPath, AsSegment,
    AttributeValue, Capability, Community, ExtendedCommunity, Family, FamilySet,
    GracefulRestartFamily, LargeCommunity, LongLivedFamily, Message, MpNextHop, MpReach, MpUnreach,
    Nlri, Notification, Open, OptionalParameter, Origin, PathAttribute, PathAttributes,
    RouteRefresh, SegmentType, SessionContext, Update, UpdatePacker, AS_TRANS, SUBTYPE_BORR,
    SUBTYPE_EORR,
};
use bytes::{Bytes, BytesMut};
use ipnet::IpNet;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::net::{Ipv4Addr, Ipv6Addr};
use support::strategies::{self, Profile};
use support::{facts, pcap, pcap_write::SessionWriter, session, tshark};

/// One direction's message: `true` when the client (port 50179) sends it.
type Sent = (bool, Message);

const V4: Family = Family::IPV4_UNICAST;
const V6: Family = Family::IPV6_UNICAST;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn nlri(s: &str, path_id: Option<u32>) -> Nlri {
    Nlri {
        prefix: net(s),
        path_id,
    }
}

fn attr(value: AttributeValue) -> PathAttribute {
    PathAttribute::new(value)
}

fn update(withdrawn: Vec<Nlri>, attrs: Vec<PathAttribute>, nlri: Vec<Nlri>) -> Message {
    Message::Update(Update {
        withdrawn,
        attributes: PathAttributes(attrs),
        nlri,
        issues: Vec::new(),
    })
}

fn segment(kind: SegmentType, asns: &[u32]) -> AsSegment<'_> {
    AsSegment { kind, asns }
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// A 4-octet-AS iBGP session with ADD-PATH for IPv4 and IPv6 unicast and extended messages,
/// and every capability in its OPENs.
fn modern_session() -> (SessionContext, Vec<Sent>) {
    let asn = 4_200_000_001;
    let ctx = SessionContext {
        four_octet_as: true,
        add_path: FamilySet::of(&[V4, V6]),
        extended_message: true,
        ibgp: true,
        enforce_first_as: None,
    };
    let client = Open::new(
        asn,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![
            Capability::Multiprotocol(V4),
            Capability::Multiprotocol(V6),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedMessage,
            Capability::FourOctetAs(asn),
            Capability::AddPath(vec![(V4, AddPathMode::Both), (V6, AddPathMode::Both)]),
            Capability::ExtendedNextHop(vec![(1, 1, 2), (1, 2, 2)]),
            Capability::GracefulRestart {
                flags: 0x8 | 0x4,
                restart_time: 120,
                families: vec![
                    GracefulRestartFamily {
                        family: V4,
                        flags: 0x80,
                    },
                    GracefulRestartFamily {
                        family: V6,
                        flags: 0,
                    },
                ],
            },
            Capability::LongLivedGracefulRestart(vec![LongLivedFamily {
                family: V6,
                flags: 0x80,
                stale_time: 86_400,
            }]),
            Capability::Role(4),
            Capability::Fqdn {
                hostname: Bytes::from_static(b"edge1"),
                domain: Bytes::from_static(b"example.net"),
            },
            Capability::SoftwareVersion(Bytes::from_static(b"bgpd/0.1.0")),
            Capability::Unknown {
                code: 100,
                data: Bytes::from_static(&[1, 2, 3]),
            },
        ],
    );
    // The other side puts one capability in each parameter, as some implementations do.
    let server = Open {
        params: [
            Capability::Multiprotocol(V4),
            Capability::Multiprotocol(V6),
            Capability::RouteRefresh,
            Capability::ExtendedMessage,
            Capability::FourOctetAs(asn),
            Capability::AddPath(vec![(V4, AddPathMode::Both), (V6, AddPathMode::Receive)]),
            Capability::AddPath(vec![(V6, AddPathMode::Send)]),
            Capability::GracefulRestart {
                flags: 0,
                restart_time: 0,
                families: Vec::new(),
            },
        ]
        .into_iter()
        .map(|c| OptionalParameter::Capabilities(vec![c]))
        .collect(),
        ..Open::new(asn, 180, Ipv4Addr::new(192, 0, 2, 2), Vec::new())
    };
    assert_eq!(session::receive_context(&server, &client), ctx);
    assert_eq!(session::receive_context(&client, &server), ctx);

    let path = AsPath::from_segments([
        segment(SegmentType::Sequence, &[65001, 4_200_000_002]),
        segment(SegmentType::Set, &[64512, 64513, 4_200_000_003]),
    ]);
    let mut unknown = attr(AttributeValue::Unknown {
        type_code: 200,
        data: b"opaque".as_slice().into(),
    });
    unknown.flags = flags::OPTIONAL | flags::TRANSITIVE | flags::PARTIAL;
    let mut long_form_med = attr(AttributeValue::Med(7));
    long_form_med.flags |= flags::EXTENDED_LENGTH;
    let every_attribute = update(
        vec![nlri("10.0.0.0/8", Some(1)), nlri("10.1.0.0/16", Some(2))],
        vec![
            attr(AttributeValue::Origin(Origin::Igp)),
            attr(AttributeValue::AsPath(path.clone())),
            attr(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
            long_form_med,
            attr(AttributeValue::LocalPref(200)),
            attr(AttributeValue::AtomicAggregate),
            attr(AttributeValue::Aggregator(Aggregator {
                asn: 4_200_000_002,
                address: Ipv4Addr::new(192, 0, 2, 2),
            })),
            attr(AttributeValue::Communities(
                vec![
                    Community::new(65001, 100),
                    Community::NO_EXPORT,
                    Community::BLACKHOLE,
                    Community::GRACEFUL_SHUTDOWN,
                    Community(0x0000_0001),
                ]
                .into(),
            )),
            attr(AttributeValue::OriginatorId(Ipv4Addr::new(192, 0, 2, 9))),
            attr(AttributeValue::ClusterList(
                vec![Ipv4Addr::new(192, 0, 2, 10), Ipv4Addr::new(192, 0, 2, 11)].into(),
            )),
            attr(AttributeValue::ExtendedCommunities(
                vec![
                    ExtendedCommunity([0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 100]),
                    ExtendedCommunity([0x01, 0x02, 192, 0, 2, 1, 0, 7]),
                    ExtendedCommunity([0x02, 0x02, 0xfa, 0x56, 0xea, 0x01, 0, 9]),
                    ExtendedCommunity([0x00, 0x03, 0xfd, 0xe9, 0, 0, 0, 1]),
                ]
                .into(),
            )),
            attr(AttributeValue::LargeCommunities(
                vec![
                    LargeCommunity {
                        global_admin: asn,
                        local_data_1: 1,
                        local_data_2: 2,
                    },
                    LargeCommunity {
                        global_admin: 65001,
                        local_data_1: u32::MAX,
                        local_data_2: 0,
                    },
                ]
                .into(),
            )),
            attr(AttributeValue::OnlyToCustomer(asn)),
            unknown,
        ],
        vec![
            nlri("203.0.113.0/24", Some(1)),
            nlri("203.0.113.0/24", Some(2)),
            nlri("198.51.100.128/25", Some(7)),
            nlri("192.0.2.1/32", Some(0xff_ffff)),
        ],
    );
    let ipv6_reach = update(
        Vec::new(),
        vec![
            attr(AttributeValue::from(MpReach {
                family: V6,
                next_hop: MpNextHop::Ipv6 {
                    global: v6("2001:db8::1"),
                    link_local: Some(v6("fe80::1:2ff:fe03:405")),
                },
                nlri: vec![
                    nlri("2001:db8:1::/48", Some(1)),
                    nlri("2001:db8:2::/64", Some(2)),
                    nlri("2001:db8:2:0:8000::/65", Some(3)),
                    nlri("2001:db8::1/128", Some(4)),
                ],
                opaque_nlri: Bytes::new(),
            })),
            attr(AttributeValue::Origin(Origin::Incomplete)),
            attr(AttributeValue::AsPath(AsPath::default())),
            attr(AttributeValue::LocalPref(100)),
        ],
        Vec::new(),
    );
    let ipv4_over_ipv6 = update(
        Vec::new(),
        vec![
            attr(AttributeValue::Origin(Origin::Egp)),
            attr(AttributeValue::AsPath(AsPath::sequence(vec![65001]))),
            attr(AttributeValue::from(MpReach {
                family: V4,
                next_hop: MpNextHop::Ipv6 {
                    global: v6("2001:db8::1"),
                    link_local: None,
                },
                nlri: vec![
                    nlri("100.64.0.0/10", Some(1)),
                    nlri("100.64.1.0/24", Some(9)),
                ],
                opaque_nlri: Bytes::new(),
            })),
        ],
        Vec::new(),
    );
    let ipv6_unreach = update(
        Vec::new(),
        vec![attr(AttributeValue::from(MpUnreach {
            family: V6,
            withdrawn: vec![
                nlri("2001:db8:3::/48", Some(3)),
                nlri("2001:db8:4::/47", Some(1)),
            ],
            opaque_nlri: Bytes::new(),
        }))],
        Vec::new(),
    );
    // Exactly 4096 octets, the most Wireshark 4.0 accepts (it does not know RFC 8654
    // extended messages, so larger ones are left to tests/roundtrip_props.rs).
    let largest = largest_update(&ctx);
    let sent = vec![
        (true, Message::Open(client)),
        (false, Message::Open(server)),
        (true, Message::Keepalive),
        (false, Message::Keepalive),
        (true, every_attribute),
        (true, ipv6_reach),
        (true, ipv4_over_ipv6),
        (true, ipv6_unreach),
        (true, largest),
        (true, Message::Update(Update::end_of_rib_marker(V4))),
        (true, Message::Update(Update::end_of_rib_marker(V6))),
        (false, Message::RouteRefresh(RouteRefresh::request(V4))),
        (
            true,
            Message::RouteRefresh(RouteRefresh {
                subtype: SUBTYPE_BORR,
                ..RouteRefresh::request(V6)
            }),
        ),
        (
            true,
            Message::RouteRefresh(RouteRefresh {
                subtype: SUBTYPE_EORR,
                ..RouteRefresh::request(V6)
            }),
        ),
        (
            false,
            Message::Notification(Notification::cease_with_message(
                cease_subcode::ADMINISTRATIVE_SHUTDOWN,
                "Wartung bis 14:00 – zurück gleich",
            )),
        ),
    ];
    (ctx, sent)
}

/// An UPDATE of exactly 4096 octets in `ctx`: ADD-PATH /24 prefixes filled up with an
/// unknown attribute.
fn largest_update(ctx: &SessionContext) -> Message {
    let mut nlri: Vec<Nlri> = (0..450u32)
        .map(|i| Nlri {
            prefix: IpNet::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)).into(), 24).unwrap(),
            path_id: Some(i % 4),
        })
        .collect();
    let attrs = vec![
        attr(AttributeValue::Origin(Origin::Igp)),
        attr(AttributeValue::AsPath(AsPath::sequence(vec![65001, 65002]))),
        attr(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
    ];
    loop {
        let without = update(Vec::new(), attrs.clone(), nlri.clone()).wire_len(ctx);
        // The filler's header is 3 octets, or 4 with a value over 255 octets.
        let filler = [3, 4]
            .into_iter()
            .filter_map(|header| 4096usize.checked_sub(without + header))
            .find(|len| *len > 0 && (*len > 255) == (4096 - without - len == 4));
        if let Some(filler) = filler {
            let mut attrs = attrs;
            let extended = if filler > 255 {
                flags::EXTENDED_LENGTH
            } else {
                0
            };
            attrs.push(PathAttribute {
                flags: flags::OPTIONAL | extended,
                value: AttributeValue::Unknown {
                    type_code: 201,
                    data: vec![0x5a; filler].into(),
                },
            });
            let m = update(Vec::new(), attrs, nlri);
            assert_eq!(m.wire_len(ctx), 4096);
            return m;
        }
        nlri.pop();
    }
}

/// A 2-octet-AS session without ADD-PATH between members of one confederation (so its
/// confederation segments are accepted, RFC 5065 §5): AS_TRANS with AS4_PATH and
/// AS4_AGGREGATOR, confederation segments, multicast families, and NOTIFICATIONs of every kind.
fn legacy_session() -> (SessionContext, Vec<Sent>) {
    let ctx = SessionContext {
        ibgp: true,
        ..SessionContext::two_octet_as()
    };
    let client = Open::new(
        65010,
        180,
        Ipv4Addr::new(198, 51, 100, 1),
        vec![
            Capability::Multiprotocol(V4),
            Capability::Multiprotocol(Family::IPV4_MULTICAST),
            Capability::Multiprotocol(Family::IPV6_MULTICAST),
            Capability::RouteRefresh,
        ],
    );
    // A 4-octet AS speaker talking to one that is not (RFC 6793 §4.2.1).
    let server = Open::new(
        4_200_000_009,
        0,
        Ipv4Addr::new(198, 51, 100, 2),
        vec![
            Capability::FourOctetAs(4_200_000_009),
            Capability::Multiprotocol(V4),
        ],
    );
    assert_eq!(server.my_as, AS_TRANS as u16);
    // The OPENs negotiate the rest; membership of one confederation is configuration.
    let negotiated = session::receive_context(&client, &server);
    assert_eq!(
        SessionContext {
            ibgp: true,
            ..negotiated
        },
        ctx
    );

    let as_path = AsPath::from_segments([
        segment(SegmentType::ConfedSequence, &[65100, 65101]),
        segment(SegmentType::ConfedSet, &[65102]),
        segment(SegmentType::Sequence, &[AS_TRANS, 65020, AS_TRANS]),
        segment(SegmentType::Set, &[65030, 65031]),
    ]);
    let as4_path = AsPath::from_segments([
        segment(
            SegmentType::Sequence,
            &[4_200_000_009, 65020, 4_200_000_010],
        ),
        segment(SegmentType::Set, &[65030, 65031]),
    ]);
    let as4 = update(
        vec![nlri("172.16.0.0/12", None), nlri("172.31.255.0/24", None)],
        vec![
            attr(AttributeValue::Origin(Origin::Igp)),
            attr(AttributeValue::AsPath(as_path)),
            attr(AttributeValue::NextHop(Ipv4Addr::new(198, 51, 100, 2))),
            attr(AttributeValue::Med(0)),
            attr(AttributeValue::Aggregator(Aggregator {
                asn: AS_TRANS,
                address: Ipv4Addr::new(198, 51, 100, 2),
            })),
            attr(AttributeValue::As4Path(as4_path)),
            attr(AttributeValue::As4Aggregator(Aggregator {
                asn: 4_200_000_009,
                address: Ipv4Addr::new(198, 51, 100, 2),
            })),
            attr(AttributeValue::Communities(
                vec![Community::new(65010, 1)].into(),
            )),
        ],
        vec![nlri("192.0.2.0/24", None), nlri("198.51.100.0/22", None)],
    );
    // Wireshark guesses ADD-PATH from the octets; a default route is read right only alone.
    let default_route = update(
        Vec::new(),
        vec![
            attr(AttributeValue::Origin(Origin::Incomplete)),
            attr(AttributeValue::AsPath(AsPath::sequence(vec![65020]))),
            attr(AttributeValue::NextHop(Ipv4Addr::new(198, 51, 100, 2))),
        ],
        vec![nlri("0.0.0.0/0", None)],
    );
    let multicast = update(
        Vec::new(),
        vec![
            attr(AttributeValue::from(MpReach {
                family: Family::IPV4_MULTICAST,
                next_hop: MpNextHop::Ipv4(Ipv4Addr::new(198, 51, 100, 2)),
                nlri: vec![nlri("232.0.0.0/8", None), nlri("233.252.0.0/24", None)],
                opaque_nlri: Bytes::new(),
            })),
            attr(AttributeValue::Origin(Origin::Igp)),
            attr(AttributeValue::AsPath(AsPath::sequence(vec![65020]))),
            attr(AttributeValue::from(MpUnreach {
                family: Family::IPV6_MULTICAST,
                withdrawn: vec![nlri("ff3e::/16", None)],
                opaque_nlri: Bytes::new(),
            })),
        ],
        Vec::new(),
    );
    let ipv6_multicast = update(
        Vec::new(),
        vec![
            attr(AttributeValue::Origin(Origin::Igp)),
            attr(AttributeValue::AsPath(AsPath::sequence(vec![65020]))),
            attr(AttributeValue::from(MpReach {
                family: Family::IPV6_MULTICAST,
                next_hop: MpNextHop::Ipv6 {
                    global: v6("2001:db8:ffff::2"),
                    link_local: None,
                },
                nlri: vec![nlri("ff3e:0:0:1::/64", None)],
                opaque_nlri: Bytes::new(),
            })),
        ],
        Vec::new(),
    );
    let notification = |code, subcode, data: &'static [u8]| {
        Message::Notification(Notification {
            code,
            subcode,
            data: Bytes::from_static(data),
        })
    };
    let sent = vec![
        (true, Message::Open(client)),
        (false, Message::Open(server)),
        (false, Message::Keepalive),
        (true, Message::Keepalive),
        (false, as4),
        (false, default_route),
        (false, multicast),
        (false, ipv6_multicast),
        (
            false,
            update(vec![nlri("192.0.2.0/24", None)], Vec::new(), Vec::new()),
        ),
        (
            true,
            Message::RouteRefresh(RouteRefresh::request(Family::IPV4_MULTICAST)),
        ),
        (true, notification(1, 2, &[0x00, 0x05])),
        (false, notification(2, 2, &[0xfe, 0xb0])),
        (true, notification(2, 7, &[])),
        (false, notification(3, 1, &[])),
        (true, notification(3, 10, &[0x21, 10, 0, 0, 0, 1])),
        (false, notification(4, 0, &[])),
        (true, notification(5, 3, &[])),
        (false, notification(6, 3, &[])),
        (
            true,
            Message::Notification(Notification::cease_with_message(
                cease_subcode::ADMINISTRATIVE_RESET,
                "configuration change",
            )),
        ),
        (false, notification(6, 2, &[])),
        (true, notification(7, 1, &[0xde, 0xad])),
        (false, notification(8, 0, &[])),
    ];
    (ctx, sent)
}

/// What [`UpdatePacker`] writes for many routes in a session without extended messages:
/// 2000 IPv4 unicast prefixes in the NLRI field and 700 IPv6 unicast ones in MP_REACH_NLRI,
/// then their withdrawal; every message close to 4096 octets.
fn packed_session() -> (SessionContext, Vec<Sent>) {
    let ctx = SessionContext {
        add_path: FamilySet::of(&[V6]),
        ..SessionContext::default()
    };
    let ipv4_routes: Vec<Nlri> = (0..2000u32)
        .map(|i| Nlri::new(IpNet::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)).into(), 24).unwrap()))
        .collect();
    let ipv6_routes: Vec<Nlri> = (0..700u32)
        .map(|i| Nlri {
            prefix: IpNet::new(
                Ipv6Addr::from((0x2001_0db8u128 << 96) | (u128::from(i) << 80)).into(),
                48,
            )
            .unwrap(),
            path_id: Some(i % 3 + 1),
        })
        .collect();
    let attrs = |next_hop: bool| {
        let mut a = vec![
            attr(AttributeValue::Origin(Origin::Igp)),
            attr(AttributeValue::AsPath(AsPath::sequence(vec![
                65001,
                4_200_000_001,
            ]))),
            attr(AttributeValue::Communities(
                vec![Community::new(65001, 1)].into(),
            )),
        ];
        if next_hop {
            a.push(attr(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))));
        }
        PathAttributes(a)
    };
    let next_hop = MpNextHop::Ipv6 {
        global: v6("2001:db8::1"),
        link_local: Some(v6("fe80::1")),
    };
    let packer = UpdatePacker::new(ctx);
    let mut out = BytesMut::new();
    packer
        .announce(&attrs(true), V4, None, &ipv4_routes, &mut out)
        .unwrap();
    packer
        .announce(&attrs(false), V6, Some(&next_hop), &ipv6_routes, &mut out)
        .unwrap();
    packer.withdraw(V4, &ipv4_routes, &mut out).unwrap();
    packer.withdraw(V6, &ipv6_routes, &mut out).unwrap();
    let mut sent = Vec::new();
    let mut buf = &out[..];
    while !buf.is_empty() {
        let len = bgp_proto::frame_len(buf, 4096).unwrap().unwrap();
        let (m, rest) = buf.split_at(len);
        let message = Message::decode(m, &ctx).unwrap();
        // The capture holds the packer's own octets.
        assert_eq!(&message.to_bytes(&ctx).unwrap()[..], m);
        sent.push((false, message));
        buf = rest;
    }
    assert!(sent.len() >= 8, "{} messages", sent.len());
    (ctx, sent)
}

/// proptest-generated messages for `ctx`, in both directions, as tshark reads them.
fn generated_session(ctx: SessionContext, count: usize) -> Vec<Sent> {
    let mut runner = TestRunner::deterministic();
    let strategy = (
        proptest::bool::ANY,
        strategies::message(Profile::tshark(ctx)),
    );
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// Writes `sent` as one session, dissects it, and compares. Returns (messages, fields).
fn check_session(name: &str, ctx: SessionContext, sent: &[Sent]) -> (usize, usize) {
    let encoded: Vec<(bool, Bytes)> = sent
        .iter()
        .map(|(client, m)| {
            let bytes = m
                .to_bytes(&ctx)
                .unwrap_or_else(|e| panic!("{name}: cannot encode {m:?}: {e}"));
            (*client, bytes)
        })
        .collect();
    let mut writer = SessionWriter::new();
    for run in encoded.chunk_by(|a, b| a.0 == b.0) {
        let messages: Vec<&[u8]> = run.iter().map(|(_, b)| &b[..]).collect();
        writer.send(run[0].0, &messages);
    }
    let file = writer.finish();
    let path = tshark::scratch_capture(name);
    std::fs::write(&path, &file).unwrap();
    let at = |i: usize| format!("{name} message {} (see {})", i + 1, path.display());

    // The pcap reader finds the same octets again.
    let read = pcap::bgp_messages(&file).unwrap();
    let read: Vec<&[u8]> = read.iter().map(|m| &m.bytes[..]).collect();
    let written: Vec<&[u8]> = encoded.iter().map(|(_, b)| &b[..]).collect();
    assert!(
        read == written,
        "{name}: the pcap reader disagrees with the writer"
    );

    let asn_len = if ctx.four_octet_as {
        "bgp.asn_len:4"
    } else {
        "bgp.asn_len:2"
    };
    let root = tshark::dissect(&path, &[asn_len]);
    let problems = tshark::problems(&root, tshark::SEVERITY_ERROR);
    assert!(
        problems.is_empty(),
        "{name}: tshark reports {problems:#?} (see {})",
        path.display()
    );
    let theirs = tshark::bgp_messages(&root);
    assert_eq!(
        theirs.len(),
        sent.len(),
        "{name}: tshark found another number of messages"
    );

    let mut fields = 0;
    for (i, (((_, message), (_, bytes)), (_, bgp))) in
        sent.iter().zip(&encoded).zip(&theirs).enumerate()
    {
        let decoded =
            Message::decode(bytes, &ctx).unwrap_or_else(|e| panic!("{}: decode error {e}", at(i)));
        assert!(&decoded == message, "{}: decode(encode(x)) != x", at(i));
        let ours = facts::from_message(message, &ctx);
        let wireshark = facts::from_tshark(bgp, bytes);
        facts::assert_same(&ours, &wireshark, &at(i));
        fields += ours.len();
    }
    std::fs::remove_file(&path).unwrap();
    (sent.len(), fields)
}

/// Capability codes and attribute type codes of every message in `sessions`.
fn codes(sessions: &[(SessionContext, Vec<Sent>)]) -> (Vec<u8>, Vec<u8>) {
    let (mut caps, mut attrs) = (Vec::new(), Vec::new());
    for (_, m) in sessions.iter().flat_map(|(_, sent)| sent) {
        match m {
            Message::Open(o) => caps.extend(o.capabilities().map(Capability::code)),
            Message::Update(u) => attrs.extend(u.attributes.0.iter().map(|a| a.type_code())),
            _ => {}
        }
    }
    (caps, attrs)
}

/// The fixed set holds every message type, every capability and every attribute this crate
/// interprets, and unknown ones.
#[test]
fn fixed_messages_cover_everything() {
    let sessions = [modern_session(), legacy_session()];
    let (caps, attrs) = codes(&sessions);
    for code in [1, 2, 5, 6, 9, 64, 65, 69, 70, 71, 73, 75, 100] {
        assert!(caps.contains(&code), "no capability {code}");
    }
    for code in [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32, 35, 200,
    ] {
        assert!(attrs.contains(&code), "no attribute {code}");
    }
    let types: Vec<u8> = sessions
        .iter()
        .flat_map(|(_, sent)| sent)
        .map(|(_, m)| m.message_type().code())
        .collect();
    for t in 1..=5 {
        assert!(types.contains(&t), "no message of type {t}");
    }
}

#[test]
fn fixed_messages_match_tshark() {
    let mut report = Vec::new();
    for (name, (ctx, sent)) in [
        ("encoder-modern", modern_session()),
        ("encoder-legacy", legacy_session()),
        ("encoder-packed", packed_session()),
    ] {
        let (messages, fields) = check_session(name, ctx, &sent);
        report.push(format!(
            "{name}: {messages} messages, {fields} fields equal"
        ));
    }
    println!("{}", report.join("\n"));
}

#[test]
fn generated_messages_match_tshark() {
    let contexts = [
        SessionContext {
            four_octet_as: true,
            add_path: FamilySet::ALL,
            extended_message: true,
            ibgp: true,
            enforce_first_as: None,
        },
        SessionContext::two_octet_as(),
        SessionContext {
            add_path: FamilySet::of(&[V6, Family::IPV4_MULTICAST]),
            ..SessionContext::default()
        },
        SessionContext {
            four_octet_as: false,
            add_path: FamilySet::of(&[V4]),
            extended_message: false,
            ibgp: true,
            enforce_first_as: None,
        },
    ];
    let mut report = Vec::new();
    for (i, ctx) in contexts.into_iter().enumerate() {
        let name = format!("encoder-generated-{}", i + 1);
        let sent = generated_session(ctx, 150);
        let (messages, fields) = check_session(&name, ctx, &sent);
        report.push(format!(
            "{name}: {messages} messages, {fields} fields equal ({ctx:?})"
        ));
    }
    println!("{}", report.join("\n"));
}
