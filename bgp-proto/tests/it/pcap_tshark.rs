//! Real captures (tests/data/pcap, see its README) against Wireshark.
//!
//! For every BGP message in every capture: it decodes without error and without RFC 7606
//! issues in the context its receiver negotiated (from the two OPENs of the connection), it
//! re-encodes to the same octets, and its fields are the ones `tshark` shows for the same
//! message (matched by order in the capture, and by frame number). A missing `tshark` fails
//! the test.

use crate::support;

use bgp_proto::{Message, SessionContext};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use support::{facts, pcap, pcap_write::SessionWriter, session, tshark};

/// The captures, and the context for connections whose capture lacks one or both OPENs.
fn captures() -> Vec<(&'static str, SessionContext)> {
    // Connections without both OPENs: these Cisco IOS routers of 2008–2010 (see the OPENs of
    // EBGP_adjacency.cap, between the same addresses and ASes 65100/65200) announce no 4-octet
    // AS capability, and the sessions are eBGP.
    let old_ebgp = SessionContext::two_octet_as();
    vec![
        ("BGP_MD5.cap", old_ebgp),
        ("BGP_MP_NLRI.cap", old_ebgp),
        ("BGP_notification.cap", old_ebgp),
        ("BGP_soft_reset.cap", old_ebgp),
        ("EBGP_adjacency.cap", old_ebgp),
        ("bgp-add-path.cap", old_ebgp),
    ]
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pcap")
}

/// The connection a message belongs to, the same for both directions.
fn connection(m: &pcap::CapturedMessage) -> (SocketAddr, SocketAddr) {
    if m.src < m.dst {
        (m.src, m.dst)
    } else {
        (m.dst, m.src)
    }
}

/// The receive context of every message, from its connection's two OPENs when the capture
/// has them.
fn negotiated(messages: &[pcap::CapturedMessage]) -> Vec<Option<SessionContext>> {
    let mut opens: HashMap<SocketAddr, bgp_proto::Open> = HashMap::new();
    for m in messages {
        if let Ok(Message::Open(o)) = Message::decode(&m.bytes, &SessionContext::default()) {
            opens.entry(m.src).or_insert(o);
        }
    }
    messages
        .iter()
        .map(|m| match (opens.get(&m.dst), opens.get(&m.src)) {
            (Some(receiver), Some(sender)) => Some(session::receive_context(receiver, sender)),
            _ => None,
        })
        .collect()
}

#[test]
fn every_captured_message_matches_tshark() {
    let mut report = Vec::new();
    for (name, fallback) in captures() {
        let path = data_dir().join(name);
        let file = std::fs::read(&path).unwrap();
        let messages = pcap::bgp_messages(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        let negotiated = negotiated(&messages);
        let from_opens = negotiated.iter().flatten().count();
        let contexts: Vec<SessionContext> =
            negotiated.iter().map(|c| c.unwrap_or(fallback)).collect();
        let root = tshark::dissect(&path, &[]);
        let theirs = tshark::bgp_messages(&root);
        assert_eq!(
            messages.len(),
            theirs.len(),
            "{name}: this reader found {} BGP messages, tshark {}",
            messages.len(),
            theirs.len()
        );
        let problems = tshark::problems(&root, tshark::SEVERITY_ERROR);
        assert!(problems.is_empty(), "{name}: tshark reports {problems:#?}");

        let mut fields = 0;
        let mut connections = std::collections::HashSet::new();
        for (i, ((m, ctx), (frame, bgp))) in messages.iter().zip(&contexts).zip(&theirs).enumerate()
        {
            let at = format!("{name} message {} (frame {})", i + 1, m.frame);
            connections.insert(connection(m));
            assert_eq!(m.frame, *frame, "{at}: tshark shows it in frame {frame}");
            let decoded = Message::decode(&m.bytes, ctx)
                .unwrap_or_else(|e| panic!("{at}: decode error {e} in {ctx:?}"));
            if let Message::Update(u) = &decoded {
                assert!(u.issues.is_empty(), "{at}: RFC 7606 issues {:?}", u.issues);
            }
            let again = decoded.to_bytes(ctx).unwrap();
            assert_eq!(&again[..], &m.bytes[..], "{at}: re-encoding differs");
            let ours = facts::from_message(&decoded, ctx);
            let wireshark = facts::from_tshark(bgp, &m.bytes);
            facts::assert_same(&ours, &wireshark, &at);
            fields += ours.len();
        }
        report.push(format!(
            "{name}: {} messages on {} connections ({from_opens} in the context negotiated \
             by the OPENs, the others in the fallback), {fields} fields equal",
            messages.len(),
            connections.len()
        ));
    }
    println!("{}", report.join("\n"));
}

/// The messages of a capture whose segments were lost, reordered, repeated and overlapping.
#[test]
fn reader_reassembles_by_sequence_number() {
    let keepalive = Message::Keepalive
        .to_bytes(&SessionContext::default())
        .unwrap();
    let refresh = Message::RouteRefresh(bgp_proto::RouteRefresh::request(
        bgp_proto::Family::IPV6_UNICAST,
    ))
    .to_bytes(&SessionContext::default())
    .unwrap();
    let notification = Message::Notification(bgp_proto::Notification::cease_with_message(
        2,
        "maintenance",
    ))
    .to_bytes(&SessionContext::default())
    .unwrap();
    let stream: Vec<u8> = [&keepalive[..], &refresh, &notification, &keepalive].concat();
    let n = stream.len() as i64;
    let part = |from: i64, to: i64| &stream[from as usize..to as usize];

    let mut w = SessionWriter::new();
    w.segment_at(true, 0, part(0, 30));
    w.segment_at(true, 50, part(50, n)); // arrives before the gap is filled
    w.segment_at(true, 0, part(0, 30)); // retransmission
    w.segment_at(true, 0, part(0, 30)); // and again
    w.segment_at(true, 20, part(20, 55)); // overlaps both sides of the gap
    w.segment_at(true, 40, part(40, 45)); // old data again
    let file = w.finish();
    let messages = pcap::bgp_messages(&file).unwrap();
    let got: Vec<&[u8]> = messages.iter().map(|m| &m.bytes[..]).collect();
    assert_eq!(got, [&keepalive[..], &refresh, &notification, &keepalive]);
    // The first message is complete with the first segment (frame 4, after the handshake);
    // the rest with the overlapping segment (frame 8).
    let frames: Vec<usize> = messages.iter().map(|m| m.frame).collect();
    assert_eq!(frames, [4, 8, 8, 8]);
    assert!(messages.iter().all(|m| m.dst.port() == pcap::BGP_PORT));
}

/// A pcapng file is refused with a clear message, not misread.
#[test]
fn reader_refuses_pcapng() {
    let err = pcap::bgp_messages(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0]).unwrap_err();
    assert!(err.contains("pcapng"), "{err}");
}

/// The same capture re-framed as Linux cooked (SLL and SLL2) and as VLAN-tagged Ethernet gives
/// the same messages, and tshark still agrees on them.
#[test]
fn reader_reads_linux_cooked_and_vlan_tagged_frames() {
    let path = data_dir().join("BGP_MP_NLRI.cap");
    let file = std::fs::read(&path).unwrap();
    let expected = pcap::bgp_messages(&file).unwrap();
    let (linktype, frames) = pcap::read_frames(&file).unwrap();
    assert_eq!(linktype, 1, "an Ethernet capture");
    // Each Ethernet frame as `before`, its EtherType, `after`, its payload.
    let reframe = |before: &[u8], after: &[u8]| -> Vec<Vec<u8>> {
        frames
            .iter()
            .map(|f| [before, &f[12..14], after, &f[14..]].concat())
            .collect()
    };
    // SLL: packet type, ARPHRD_ETHER, address length, address (8 octets), protocol.
    let sll = reframe(
        &[0, 0, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0],
        &[],
    );
    // SLL2: protocol, reserved, interface index, ARPHRD, packet type, address length, address.
    let sll2 = reframe(
        &[],
        &[
            0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0,
        ],
    );
    // Ethernet with an 802.1Q tag (VLAN 100).
    let vlan = reframe(
        &[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0x00, 0x64],
        &[],
    );
    for (name, linktype, frames) in [("sll", 113, sll), ("sll2", 276, sll2), ("vlan", 1, vlan)] {
        let file = support::pcap_write::pcap_file(linktype, &frames);
        let got = pcap::bgp_messages(&file).unwrap();
        assert_eq!(got, expected, "{name}");
        let path = tshark::scratch_capture(&format!("BGP_MP_NLRI-{name}"));
        std::fs::write(&path, &file).unwrap();
        let root = tshark::dissect(&path, &[]);
        let theirs = tshark::bgp_messages(&root);
        assert_eq!(theirs.len(), got.len(), "{name}: tshark");
        let contexts: Vec<SessionContext> = negotiated(&got)
            .into_iter()
            .map(|c| c.unwrap_or(SessionContext::two_octet_as()))
            .collect();
        for ((m, ctx), (_, bgp)) in got.iter().zip(&contexts).zip(&theirs) {
            let decoded = Message::decode(&m.bytes, ctx).unwrap();
            facts::assert_same(
                &facts::from_message(&decoded, ctx),
                &facts::from_tshark(bgp, &m.bytes),
                name,
            );
        }
        std::fs::remove_file(&path).unwrap();
    }
}
