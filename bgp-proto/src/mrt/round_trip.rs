//! Write-then-read tests: every fixture decodes and re-encodes to the same bytes, and what the
//! writer produces reads back to the same records.

use super::bgp4mp::tests::{MESSAGE_KEEPALIVE_V6, STATE_CHANGE_AS4_ET};
use super::table_dump_v2::tests::{PEER_INDEX_RECORD, RIB_IPV6_ADDPATH_RECORD};
use super::*;
use crate::attribute::{AsPath, AttributeValue, MpNextHop, MpReach, Origin, PathAttribute};
use crate::family::Family;
use crate::message::Message;
use crate::prefix::Nlri;
use crate::update::Update;
use bytes::Bytes;
use std::net::{IpAddr, Ipv4Addr};

fn decode(bytes: &[u8]) -> MrtRecord {
    MrtRecord::decode(&Bytes::copy_from_slice(bytes)).expect("fixture decodes")
}

#[test]
fn fixtures_re_encode_byte_exact() {
    for fixture in [
        &PEER_INDEX_RECORD[..],
        &RIB_IPV6_ADDPATH_RECORD[..],
        &STATE_CHANGE_AS4_ET[..],
        &MESSAGE_KEEPALIVE_V6[..],
        &super::table_dump::tests::IPV4_RECORD[..],
        &super::table_dump::tests::IPV6_RECORD[..],
        &super::table_dump_v2::tests::RIB_GENERIC_RECORD[..],
        &super::bgp4mp::tests::MESSAGE_AS4_ADDPATH_UPDATE[..],
    ] {
        let record = decode(fixture);
        let again = record.to_bytes().expect("encodes");
        assert_eq!(&again[..], fixture, "{record:?}");
    }
}

fn peer(asn: u32) -> PeerEntry {
    PeerEntry {
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        asn,
        four_octet_as: asn > 65535,
    }
}

fn update_as4() -> Message {
    let attributes = crate::PathAttributes(vec![
        PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
        PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![
            4_200_000_000,
            64496,
        ]))),
        PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(192, 0, 2, 1))),
        PathAttribute::new(AttributeValue::LocalPref(100)),
    ]);
    Message::Update(Update {
        attributes,
        nlri: vec![Nlri::new("10.1.0.0/16".parse().expect("prefix"))],
        ..Update::default()
    })
}

#[test]
fn writer_output_reads_back_byte_exact() {
    let table = PeerIndexTable {
        collector_id: Ipv4Addr::new(192, 0, 2, 254),
        view_name: String::new(),
        peers: vec![peer(64496), peer(4_200_000_000)],
    };
    let rib = RibRecord {
        family: Family::IPV4_UNICAST,
        generic: false,
        add_path: false,
        sequence: 0,
        prefix: "10.1.0.0/16".parse().expect("prefix"),
        entries: vec![RibEntry {
            peer_index: 1,
            originated: 1_700_000_000,
            path_id: None,
            attributes: crate::PathAttributes(vec![
                PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
                PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![
                    4_200_000_000,
                ]))),
                PathAttribute::new(AttributeValue::from(MpReach {
                    family: Family::IPV4_UNICAST,
                    next_hop: MpNextHop::Ipv6 {
                        global: "2001:db8::1".parse().expect("address"),
                        link_local: None,
                    },
                    nlri: Vec::new(),
                    opaque_nlri: Bytes::new(),
                })),
            ]),
            issues: Vec::new(),
        }],
    };
    let bgp_peer = Bgp4mpPeer {
        peer_as: 4_200_000_000,
        local_as: 64496,
        interface_index: 0,
        peer_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        local_address: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)),
    };
    let message = update_as4();
    let ctx = Bgp4mpMessage::context(true, false);
    let msg = Bgp4mpMessage {
        peer: bgp_peer,
        four_octet_as: true,
        local: false,
        add_path: false,
        raw: message.to_bytes(&ctx).expect("encodes"),
        message,
    };
    let change = StateChange {
        peer: bgp_peer,
        four_octet_as: true,
        old_state: 5,
        new_state: 6,
    };

    let mut w = MrtWriter::new(Vec::new());
    w.write_peer_index_table(1_700_000_000, &table)
        .expect("writes");
    w.write_rib(1_700_000_000, &rib).expect("writes");
    w.write_state_change_et(1_700_000_001, 5, &change)
        .expect("writes");
    w.write_message_et(1_700_000_001, 123_456, &msg)
        .expect("writes");
    let written = w.into_inner();

    let records: Vec<MrtRecord> = MrtReader::new(&written[..])
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("all records decode");
    let [t, r, s, m] = records.as_slice() else {
        panic!("four records expected: {records:?}");
    };
    assert_eq!(t.body, MrtBody::PeerIndexTable(table));
    assert_eq!(r.body, MrtBody::Rib(rib));
    assert_eq!(s.body, MrtBody::StateChange(change));
    assert_eq!(s.header.subtype, bgp4mp_subtype::STATE_CHANGE_AS4);
    assert_eq!(m.header.mrt_type, mrt_type::BGP4MP_ET);
    assert_eq!(m.header.subtype, bgp4mp_subtype::MESSAGE_AS4);
    assert_eq!(m.header.microseconds, Some(123_456));
    assert_eq!(m.body, MrtBody::Message(msg));

    // Re-encoding what was read gives the same bytes.
    let mut again = bytes::BytesMut::new();
    for rec in &records {
        encode_record(rec, &mut again).expect("encodes");
    }
    assert_eq!(&again[..], &written[..]);
}

#[test]
fn unencodable_values_are_errors_and_leave_nothing() {
    let change = StateChange {
        peer: Bgp4mpPeer {
            peer_as: 4_200_000_000,
            local_as: 1,
            interface_index: 0,
            peer_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            local_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        },
        four_octet_as: false,
        old_state: 1,
        new_state: 2,
    };
    let mut w = MrtWriter::new(Vec::new());
    assert!(w.write_state_change_et(0, 0, &change).is_err());
    let mixed = StateChange {
        peer: Bgp4mpPeer {
            peer_address: IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            ..change.peer
        },
        four_octet_as: true,
        ..change
    };
    assert!(w.write_state_change_et(0, 0, &mixed).is_err());
    assert!(w.into_inner().is_empty());
}

/// Every fixture, cut at every length and with every octet replaced by a few values, decodes
/// to a record or an error: never a panic.
#[test]
fn no_panic_on_truncated_or_mutated_records() {
    let fixtures: [&[u8]; 8] = [
        &PEER_INDEX_RECORD,
        &RIB_IPV6_ADDPATH_RECORD,
        &STATE_CHANGE_AS4_ET,
        &MESSAGE_KEEPALIVE_V6,
        &super::table_dump::tests::IPV4_RECORD,
        &super::table_dump::tests::IPV6_RECORD,
        &super::table_dump_v2::tests::RIB_GENERIC_RECORD,
        &super::bgp4mp::tests::MESSAGE_AS4_ADDPATH_UPDATE,
    ];
    for fixture in fixtures {
        for cut in 0..fixture.len() {
            let part = fixture.get(..cut).unwrap_or(&[]);
            let _ = MrtRecord::decode(&Bytes::copy_from_slice(part));
            let _ = MrtReader::new(part).map(|r| r.count());
        }
        for at in 0..fixture.len() {
            for value in [0u8, 1, 2, 3, 4, 16, 32, 33, 128, 129, 0xfe, 0xff] {
                let mut mutated = fixture.to_vec();
                if let Some(b) = mutated.get_mut(at) {
                    *b = value;
                }
                let _ = MrtRecord::decode(&Bytes::from(mutated.clone()));
                let _ = MrtReader::new(&mutated[..]).map(|r| r.count());
            }
        }
    }
}
