//! Byte fixtures in both directions, one per message type: each static array, written from the
//! RFCs' field layouts, decodes to the expected struct; encoding that struct gives the same
//! bytes; `wire_len` equals the byte count.
//!
//! The same fixtures seed the fuzz corpora: `BGP_PROTO_WRITE_FUZZ_SEEDS=1 cargo test -p
//! bgp-proto --test fixtures write_fuzz_seeds` writes them to `fuzz/seeds/<target>/`, each
//! prefixed with the context byte of `fuzz/src/lib.rs`.

use bgp_proto::{
    AddPathMode, AsPath, AttributeValue, Capability, Community, ExtendedCommunity, Family,
    FamilySet, GracefulRestartFamily, LargeCommunity, LongLivedFamily, Message, MpNextHop, MpReach,
    MpUnreach, Nlri, Notification, Open, OptionalParameter, Origin, PathAttribute, PathAttributes,
    RouteRefresh, SessionContext, Update,
};
use bytes::Bytes;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Decodes `bytes`, compares with `expected`, encodes `expected` back to `bytes`.
#[track_caller]
fn both_directions(bytes: &[u8], ctx: &SessionContext, expected: &Message) {
    let length = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    assert_eq!(length, bytes.len(), "the fixture's length field");
    let decoded = Message::decode(bytes, ctx).unwrap();
    assert_eq!(&decoded, expected, "decode");
    assert_eq!(expected.wire_len(ctx), bytes.len(), "wire_len");
    let encoded = expected.to_bytes(ctx).unwrap();
    assert_eq!(&encoded[..], bytes, "encode");
}

fn nlri(prefix: &str) -> Nlri {
    Nlri::new(prefix.parse().unwrap())
}

fn nlri_with_path(prefix: &str, path_id: u32) -> Nlri {
    Nlri {
        prefix: prefix.parse().unwrap(),
        path_id: Some(path_id),
    }
}

fn attribute(value: AttributeValue) -> PathAttribute {
    PathAttribute::new(value)
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn add_path_context() -> SessionContext {
    SessionContext {
        add_path: FamilySet::of(&[Family::IPV4_UNICAST, Family::IPV6_UNICAST]),
        ..SessionContext::default()
    }
}

// ---------------------------------------------------------------------------------------------
// OPEN (RFC 4271 §4.2, RFC 5492, RFC 9072)
// ---------------------------------------------------------------------------------------------

/// OPEN from AS 4200000001 (AS_TRANS in My AS), hold time 90, identifier 192.0.2.1, with
/// fourteen capabilities in one parameter, in the RFC 9072 extended-length form.
#[rustfmt::skip]
const OPEN_EXTENDED: [u8; 127] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x7f,                                     // length 127
    0x01,                                           // OPEN
    0x04,                                           // version 4
    0x5b, 0xa0,                                     // My AS 23456 (AS_TRANS)
    0x00, 0x5a,                                     // hold time 90
    0xc0, 0x00, 0x02, 0x01,                         // BGP identifier 192.0.2.1
    0xff,                                           // RFC 9072: non-ext. length 255 ...
    0xff,                                           // ... and non-ext. type 255
    0x00, 0x5f,                                     // extended optional parameters length 95
    0x02, 0x00, 0x5c,                               // capabilities, extended length 92
    0x01, 0x04, 0x00, 0x01, 0x00, 0x01,             // multiprotocol IPv4 unicast
    0x01, 0x04, 0x00, 0x02, 0x00, 0x01,             // multiprotocol IPv6 unicast
    0x02, 0x00,                                     // route refresh
    0x46, 0x00,                                     // enhanced route refresh (70)
    0x06, 0x00,                                     // extended message
    0x05, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0x02, // extended next hop: IPv4 unicast over IPv6
    0x09, 0x01, 0x03,                               // role: customer
    0x40, 0x06, 0x80, 0x78,                         // graceful restart: R, 120 s
    0x00, 0x01, 0x01, 0x80,                         //   IPv4 unicast, forwarding preserved
    0x41, 0x04, 0xfa, 0x56, 0xea, 0x01,             // 4-octet AS 4200000001
    0x45, 0x08,                                     // ADD-PATH
    0x00, 0x01, 0x01, 0x03,                         //   IPv4 unicast send/receive
    0x00, 0x02, 0x01, 0x01,                         //   IPv6 unicast receive
    0x47, 0x07,                                     // long-lived graceful restart
    0x00, 0x01, 0x01, 0x80, 0x00, 0x0e, 0x10,       //   IPv4 unicast, F, 3600 s
    0x49, 0x0b,                                     // FQDN (73)
    0x04, b'e', b'd', b'g', b'e',                   //   host name "edge"
    0x05, b'l', b'a', b'b', b'.', b'x',             //   domain "lab.x"
    0x4b, 0x0b,                                     // software version (75)
    0x0a, b'b', b'g', b'p', b'd', b' ',             //   "bgpd 0.1.0"
    b'0', b'.', b'1', b'.', b'0',
    0xc8, 0x02, 0xab, 0xcd,                         // unknown capability 200
];

fn open_extended() -> Message {
    Message::Open(Open {
        version: 4,
        my_as: 23456,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        params: vec![OptionalParameter::Capabilities(vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedMessage,
            Capability::ExtendedNextHop(vec![(1, 1, 2)]),
            Capability::Role(3),
            Capability::GracefulRestart {
                flags: 0x8,
                restart_time: 120,
                families: vec![GracefulRestartFamily {
                    family: Family::IPV4_UNICAST,
                    flags: 0x80,
                }],
            },
            Capability::FourOctetAs(4_200_000_001),
            Capability::AddPath(vec![
                (Family::IPV4_UNICAST, AddPathMode::Both),
                (Family::IPV6_UNICAST, AddPathMode::Receive),
            ]),
            Capability::LongLivedGracefulRestart(vec![LongLivedFamily {
                family: Family::IPV4_UNICAST,
                flags: 0x80,
                stale_time: 3600,
            }]),
            Capability::Fqdn {
                hostname: Bytes::from_static(b"edge"),
                domain: Bytes::from_static(b"lab.x"),
            },
            Capability::SoftwareVersion(Bytes::from_static(b"bgpd 0.1.0")),
            Capability::Unknown {
                code: 200,
                data: Bytes::from_static(&[0xab, 0xcd]),
            },
        ])],
        extended_params: true,
    })
}

#[test]
fn open_with_many_capabilities_extended_parameters() {
    let expected = open_extended();
    both_directions(&OPEN_EXTENDED, &SessionContext::default(), &expected);
    if let Message::Open(o) = &expected {
        assert_eq!(o.asn(), 4_200_000_001);
    }
}

/// OPEN from AS 65001, hold time 180, identifier 192.0.2.2, in the ordinary RFC 5492 form.
#[rustfmt::skip]
const OPEN_CLASSIC: [u8; 43] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x2b,                                     // length 43
    0x01,                                           // OPEN
    0x04,                                           // version 4
    0xfd, 0xe9,                                     // My AS 65001
    0x00, 0xb4,                                     // hold time 180
    0xc0, 0x00, 0x02, 0x02,                         // BGP identifier 192.0.2.2
    0x0e,                                           // optional parameters length 14
    0x02, 0x0c,                                     // capabilities, length 12
    0x01, 0x04, 0x00, 0x01, 0x00, 0x01,             // multiprotocol IPv4 unicast
    0x41, 0x04, 0x00, 0x00, 0xfd, 0xe9,             // 4-octet AS 65001
];

#[test]
fn open_classic_parameters() {
    let expected = Message::Open(Open::new(
        65001,
        180,
        Ipv4Addr::new(192, 0, 2, 2),
        vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::FourOctetAs(65001),
        ],
    ));
    both_directions(&OPEN_CLASSIC, &SessionContext::default(), &expected);
}

// ---------------------------------------------------------------------------------------------
// UPDATE (RFC 4271 §4.3, RFC 4760, RFC 2545, RFC 7911, RFC 4724)
// ---------------------------------------------------------------------------------------------

/// IPv4 UPDATE: one withdrawal, seven attributes, three prefixes.
#[rustfmt::skip]
const UPDATE_IPV4: [u8; 106] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x6a,                                     // length 106
    0x02,                                           // UPDATE
    0x00, 0x03,                                     // withdrawn routes length 3
    0x10, 0x0a, 0x01,                               //   10.1.0.0/16
    0x00, 0x48,                                     // total path attribute length 72
    0x40, 0x01, 0x01, 0x00,                         // ORIGIN IGP
    0x40, 0x02, 0x0e,                               // AS_PATH, 14 octets
    0x02, 0x03,                                     //   AS_SEQUENCE of 3
    0x00, 0x00, 0xfd, 0xe9,                         //   65001
    0x00, 0x00, 0xfd, 0xea,                         //   65002
    0x00, 0x00, 0xfd, 0xeb,                         //   65003
    0x40, 0x03, 0x04, 0xc0, 0x00, 0x02, 0x01,       // NEXT_HOP 192.0.2.1
    0x80, 0x04, 0x04, 0x00, 0x00, 0x00, 0x64,       // MULTI_EXIT_DISC 100
    0xc0, 0x08, 0x08,                               // COMMUNITIES
    0xfd, 0xe9, 0x00, 0x64,                         //   65001:100
    0xff, 0xff, 0xff, 0x01,                         //   NO_EXPORT
    0xc0, 0x20, 0x0c,                               // LARGE_COMMUNITY
    0x00, 0x00, 0xfd, 0xe9, 0x00, 0x00, 0x00, 0x01, //   65001:1:2
    0x00, 0x00, 0x00, 0x02,
    0xc0, 0x10, 0x08,                               // EXTENDED_COMMUNITIES
    0x00, 0x02, 0xfd, 0xe9, 0x00, 0x00, 0x00, 0x64, //   rt:65001:100
    0x18, 0xc6, 0x33, 0x64,                         // 198.51.100.0/24
    0x10, 0xac, 0x10,                               // 172.16.0.0/16
    0x00,                                           // 0.0.0.0/0
];

#[test]
fn update_ipv4() {
    let expected = Message::Update(Update {
        withdrawn: vec![nlri("10.1.0.0/16")],
        attributes: PathAttributes(vec![
            attribute(AttributeValue::Origin(Origin::Igp)),
            attribute(AttributeValue::AsPath(AsPath::sequence(vec![
                65001, 65002, 65003,
            ]))),
            attribute(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
            attribute(AttributeValue::Med(100)),
            attribute(AttributeValue::Communities(
                vec![Community::new(65001, 100), Community::NO_EXPORT].into(),
            )),
            attribute(AttributeValue::LargeCommunities(
                vec![LargeCommunity {
                    global_admin: 65001,
                    local_data_1: 1,
                    local_data_2: 2,
                }]
                .into(),
            )),
            attribute(AttributeValue::ExtendedCommunities(
                vec![ExtendedCommunity([0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 100])].into(),
            )),
        ]),
        nlri: vec![
            nlri("198.51.100.0/24"),
            nlri("172.16.0.0/16"),
            nlri("0.0.0.0/0"),
        ],
        issues: Vec::new(),
    });
    both_directions(&UPDATE_IPV4, &SessionContext::default(), &expected);
}

/// IPv6 UPDATE: MP_REACH_NLRI with a global and a link-local next hop (RFC 2545 §3).
#[rustfmt::skip]
const UPDATE_IPV6: [u8; 100] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x64,                                     // length 100
    0x02,                                           // UPDATE
    0x00, 0x00,                                     // withdrawn routes length 0
    0x00, 0x4d,                                     // total path attribute length 77
    0x40, 0x01, 0x01, 0x00,                         // ORIGIN IGP
    0x40, 0x02, 0x06, 0x02, 0x01,                   // AS_PATH: AS_SEQUENCE of 1
    0x00, 0x00, 0xfd, 0xe9,                         //   65001
    0x80, 0x0e, 0x3d,                               // MP_REACH_NLRI, 61 octets
    0x00, 0x02, 0x01,                               //   IPv6 unicast
    0x20,                                           //   next-hop length 32
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, //   2001:db8::1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //   fe80::1
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00,                                           //   reserved
    0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01,       //   2001:db8:1::/48
    0x80, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, //   2001:db8::ff/128
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff,
];

#[test]
fn update_ipv6_mp_reach_link_local() {
    let expected = Message::Update(Update {
        attributes: PathAttributes(vec![
            attribute(AttributeValue::Origin(Origin::Igp)),
            attribute(AttributeValue::AsPath(AsPath::sequence(vec![65001]))),
            attribute(AttributeValue::from(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: MpNextHop::Ipv6 {
                    global: v6("2001:db8::1"),
                    link_local: Some(v6("fe80::1")),
                },
                nlri: vec![nlri("2001:db8:1::/48"), nlri("2001:db8::ff/128")],
                opaque_nlri: Bytes::new(),
            })),
        ]),
        ..Update::default()
    });
    both_directions(&UPDATE_IPV6, &SessionContext::default(), &expected);
}

/// ADD-PATH UPDATE (RFC 7911 §3): path identifiers in the withdrawn routes, the NLRI and
/// MP_UNREACH_NLRI; two paths for the same prefix.
#[rustfmt::skip]
const UPDATE_ADD_PATH: [u8; 83] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x53,                                     // length 83
    0x02,                                           // UPDATE
    0x00, 0x07,                                     // withdrawn routes length 7
    0x00, 0x00, 0x00, 0x01, 0x10, 0x0a, 0x02,       //   path 1: 10.2.0.0/16
    0x00, 0x25,                                     // total path attribute length 37
    0x40, 0x01, 0x01, 0x00,                         // ORIGIN IGP
    0x40, 0x02, 0x06, 0x02, 0x01,                   // AS_PATH: AS_SEQUENCE of 1
    0x00, 0x00, 0xfd, 0xe9,                         //   65001
    0x40, 0x03, 0x04, 0xc0, 0x00, 0x02, 0x01,       // NEXT_HOP 192.0.2.1
    0x80, 0x0f, 0x0e,                               // MP_UNREACH_NLRI, 14 octets
    0x00, 0x02, 0x01,                               //   IPv6 unicast
    0x00, 0x00, 0x00, 0x07,                         //   path 7:
    0x30, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x09,       //   2001:db8:9::/48
    0x00, 0x00, 0x00, 0x01, 0x18, 0xc6, 0x33, 0x64, // path 1: 198.51.100.0/24
    0x00, 0x00, 0x00, 0x02, 0x18, 0xc6, 0x33, 0x64, // path 2: 198.51.100.0/24
];

#[test]
fn update_add_path() {
    let expected = Message::Update(Update {
        withdrawn: vec![nlri_with_path("10.2.0.0/16", 1)],
        attributes: PathAttributes(vec![
            attribute(AttributeValue::Origin(Origin::Igp)),
            attribute(AttributeValue::AsPath(AsPath::sequence(vec![65001]))),
            attribute(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
            attribute(AttributeValue::from(MpUnreach {
                family: Family::IPV6_UNICAST,
                withdrawn: vec![nlri_with_path("2001:db8:9::/48", 7)],
                opaque_nlri: Bytes::new(),
            })),
        ]),
        nlri: vec![
            nlri_with_path("198.51.100.0/24", 1),
            nlri_with_path("198.51.100.0/24", 2),
        ],
        issues: Vec::new(),
    });
    both_directions(&UPDATE_ADD_PATH, &add_path_context(), &expected);
}

/// End-of-RIB for IPv4 unicast: the empty UPDATE (RFC 4724 §2).
#[rustfmt::skip]
const END_OF_RIB_IPV4: [u8; 23] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x17,                                     // length 23
    0x02,                                           // UPDATE
    0x00, 0x00,                                     // withdrawn routes length 0
    0x00, 0x00,                                     // total path attribute length 0
];

#[test]
fn end_of_rib_ipv4() {
    let expected = Message::Update(Update::end_of_rib_marker(Family::IPV4_UNICAST));
    both_directions(&END_OF_RIB_IPV4, &SessionContext::default(), &expected);
    if let Message::Update(u) = expected {
        assert_eq!(u.end_of_rib(), Some(Family::IPV4_UNICAST));
    }
}

/// End-of-RIB for IPv6 unicast: an UPDATE with only an empty MP_UNREACH_NLRI.
#[rustfmt::skip]
const END_OF_RIB_IPV6: [u8; 29] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x1d,                                     // length 29
    0x02,                                           // UPDATE
    0x00, 0x00,                                     // withdrawn routes length 0
    0x00, 0x06,                                     // total path attribute length 6
    0x80, 0x0f, 0x03, 0x00, 0x02, 0x01,             // MP_UNREACH_NLRI IPv6 unicast, empty
];

#[test]
fn end_of_rib_ipv6() {
    let expected = Message::Update(Update::end_of_rib_marker(Family::IPV6_UNICAST));
    both_directions(&END_OF_RIB_IPV6, &SessionContext::default(), &expected);
    if let Message::Update(u) = expected {
        assert_eq!(u.end_of_rib(), Some(Family::IPV6_UNICAST));
    }
}

// ---------------------------------------------------------------------------------------------
// NOTIFICATION, KEEPALIVE, ROUTE-REFRESH
// ---------------------------------------------------------------------------------------------

/// Cease / Administrative Shutdown with an RFC 9003 shutdown communication.
#[rustfmt::skip]
const NOTIFICATION_SHUTDOWN: [u8; 52] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x34,                                     // length 52
    0x03,                                           // NOTIFICATION
    0x06, 0x02,                                     // Cease / Administrative Shutdown
    0x1e,                                           // shutdown communication length 30
    b'm', b'a', b'i', b'n', b't', b'e', b'n', b'a', b'n', b'c', b'e', b':', b' ',
    b'b', b'a', b'c', b'k', b' ', b'a', b't', b' ',
    b'1', b'4', b':', b'0', b'0', b' ', b'U', b'T', b'C',
];

#[test]
fn notification_with_shutdown_communication() {
    let n = Notification::cease_with_message(2, "maintenance: back at 14:00 UTC");
    let expected = Message::Notification(n.clone());
    both_directions(
        &NOTIFICATION_SHUTDOWN,
        &SessionContext::default(),
        &expected,
    );
    assert_eq!(
        n.shutdown_message(),
        Some(Ok("maintenance: back at 14:00 UTC".to_string()))
    );
}

#[rustfmt::skip]
const KEEPALIVE: [u8; 19] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x13,                                     // length 19
    0x04,                                           // KEEPALIVE
];

#[test]
fn keepalive() {
    both_directions(&KEEPALIVE, &SessionContext::default(), &Message::Keepalive);
}

/// ROUTE-REFRESH request for IPv4 unicast (RFC 2918 §3).
#[rustfmt::skip]
const ROUTE_REFRESH: [u8; 23] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x17,                                     // length 23
    0x05,                                           // ROUTE-REFRESH
    0x00, 0x01,                                     // AFI IPv4
    0x00,                                           // subtype: request
    0x01,                                           // SAFI unicast
];

/// Beginning of Route Refresh for IPv6 unicast (RFC 7313 §3).
#[rustfmt::skip]
const BORR: [u8; 23] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x17,                                     // length 23
    0x05,                                           // ROUTE-REFRESH
    0x00, 0x02,                                     // AFI IPv6
    0x01,                                           // subtype: BoRR
    0x01,                                           // SAFI unicast
];

/// End of Route Refresh for IPv6 unicast (RFC 7313 §3).
#[rustfmt::skip]
const EORR: [u8; 23] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // marker
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x17,                                     // length 23
    0x05,                                           // ROUTE-REFRESH
    0x00, 0x02,                                     // AFI IPv6
    0x02,                                           // subtype: EoRR
    0x01,                                           // SAFI unicast
];

fn route_refresh(family: Family, subtype: u8) -> Message {
    Message::RouteRefresh(RouteRefresh {
        subtype,
        ..RouteRefresh::request(family)
    })
}

#[test]
fn route_refresh_request_borr_eorr() {
    let ctx = SessionContext::default();
    both_directions(
        &ROUTE_REFRESH,
        &ctx,
        &Message::RouteRefresh(RouteRefresh::request(Family::IPV4_UNICAST)),
    );
    both_directions(&BORR, &ctx, &route_refresh(Family::IPV6_UNICAST, 1));
    both_directions(&EORR, &ctx, &route_refresh(Family::IPV6_UNICAST, 2));
}

// ---------------------------------------------------------------------------------------------
// Fuzz seeds
// ---------------------------------------------------------------------------------------------

/// Every fixture with the fuzz context byte (see `fuzz/src/lib.rs`) it decodes in.
fn seeds() -> Vec<(&'static str, u8, &'static [u8])> {
    // 0x01: 4-octet AS, eBGP. 0x19: 4-octet AS with ADD-PATH for IPv4 and IPv6 unicast.
    vec![
        ("open_extended", 0x01, &OPEN_EXTENDED),
        ("open_classic", 0x01, &OPEN_CLASSIC),
        ("update_ipv4", 0x01, &UPDATE_IPV4),
        ("update_ipv6", 0x01, &UPDATE_IPV6),
        ("update_add_path", 0x19, &UPDATE_ADD_PATH),
        ("end_of_rib_ipv4", 0x01, &END_OF_RIB_IPV4),
        ("end_of_rib_ipv6", 0x01, &END_OF_RIB_IPV6),
        ("notification_shutdown", 0x01, &NOTIFICATION_SHUTDOWN),
        ("keepalive", 0x01, &KEEPALIVE),
        ("route_refresh", 0x01, &ROUTE_REFRESH),
        ("borr", 0x01, &BORR),
        ("eorr", 0x01, &EORR),
    ]
}

/// Writes the fuzz seeds when `BGP_PROTO_WRITE_FUZZ_SEEDS` is set; otherwise checks that the
/// committed seeds are up to date.
#[test]
fn write_fuzz_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let write = std::env::var_os("BGP_PROTO_WRITE_FUZZ_SEEDS").is_some();
    for target in ["decode_message", "roundtrip"] {
        let dir = root.join(target);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (name, selector, bytes) in seeds() {
            let seed = [&[selector][..], bytes].concat();
            let path = dir.join(name);
            if write {
                std::fs::write(&path, &seed).unwrap();
            } else if let Ok(committed) = std::fs::read(&path) {
                assert_eq!(committed, seed, "{} is stale", path.display());
            }
        }
    }
}
