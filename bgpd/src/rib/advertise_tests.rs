//! Tests of the Update-Send process ([`super::advertise`]): results shared by alike peers
//! with per-peer split horizon and AS-loop checks, prefix-dependent export policies, nothing
//! sent for a change that is not a best-path change, and the computed Adj-RIB-Out.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::table::Rib;
use super::table_tests::{rib_from, sent, session};
use bgp_proto::{
    AsPath, AttributeValue, Family, Nlri, Origin, PathAttribute, PathAttributes, SessionContext,
    Update,
};
use std::net::Ipv4Addr;

const V4: Family = Family::IPV4_UNICAST;

// Peers 0–2: route-server clients with the same export policy (one export group);
// peer 3: a route-server client whose export policy looks at the prefix.
const CONF: &str = r#"
[global]
asn = 64512
router_id = "198.51.100.2"

[[policies]]
name = "all"
[[policies.statements]]
action = "accept"

[[policies]]
name = "no-default"
[[policies.statements]]
match = { prefix_set = "default" }
action = "reject"
[[policies.statements]]
action = "accept"

[[prefix_sets]]
name = "default"
prefixes = ["0.0.0.0/0"]

[[neighbors]]
address = "198.51.100.31"
peer_as = 64601
role = "route-server-client"
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.32"
peer_as = 64602
role = "route-server-client"
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.33"
peer_as = 64603
role = "route-server-client"
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.34"
peer_as = 64604
role = "route-server-client"
import_policy = ["all"]
export_policy = ["no-default"]
"#;

fn rib() -> Rib {
    let (mut rib, cfg) = rib_from(CONF);
    for i in 0..cfg.neighbors.len() {
        rib.peer_up(i as u32, session(31 + i as u8, false, false));
    }
    rib
}

fn announce(prefixes: &[&str], path: &[u32], med: Option<u32>, nh: u8) -> Update {
    let mut attrs = vec![
        PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
        PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(path.to_vec()))),
        PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(198, 51, 100, nh))),
    ];
    if let Some(m) = med {
        attrs.push(PathAttribute::new(AttributeValue::Med(m)));
    }
    Update {
        attributes: PathAttributes(attrs),
        nlri: prefixes
            .iter()
            .map(|p| Nlri::new(p.parse().unwrap()))
            .collect(),
        ..Update::default()
    }
}

fn withdraw(prefixes: &[&str]) -> Update {
    Update {
        withdrawn: prefixes
            .iter()
            .map(|p| Nlri::new(p.parse().unwrap()))
            .collect(),
        ..Update::default()
    }
}

/// (announced prefixes, withdrawn prefixes) a peer was sent.
fn got(outbox: &super::table::Outbox, peer: u32) -> (Vec<String>, Vec<String>) {
    let mut a = Vec::new();
    let mut w = Vec::new();
    for u in sent(outbox, peer, &SessionContext::default()) {
        a.extend(u.nlri.iter().map(|n| n.prefix.to_string()));
        w.extend(u.withdrawn.iter().map(|n| n.prefix.to_string()));
    }
    a.sort();
    w.sort();
    (a, w)
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn alike_peers_share_exports_but_split_horizon_and_as_loop_are_per_peer() {
    let mut rib = rib();
    // AS 64603 is in the path: peer 2 would drop it (RFC 4271 §9.1.2).
    let out = rib.apply_update(
        0,
        &announce(&["203.0.113.0/24", "0.0.0.0/0"], &[64601, 64603], None, 31),
    );
    assert_eq!(got(&out, 0), (vec![], vec![]), "split horizon");
    assert_eq!(
        got(&out, 1),
        (strs(&["0.0.0.0/0", "203.0.113.0/24"]), vec![])
    );
    assert_eq!(got(&out, 2), (vec![], vec![]), "AS loop for peer 2 only");
    assert_eq!(
        got(&out, 3),
        (strs(&["203.0.113.0/24"]), vec![]),
        "peer 3's prefix-dependent policy rejects the default route"
    );
    let u = &sent(&out, 1, &SessionContext::default())[0];
    assert_eq!(u.attributes.as_path().unwrap().to_string(), "64601 64603");

    // The computed Adj-RIB-Out and the counts agree with what was sent.
    assert_eq!(rib.peers[&1].advertised(V4), 2);
    assert_eq!(rib.peers[&2].advertised(V4), 0);
    assert_eq!(rib.peers[&3].advertised(V4), 1);
    let out1 = rib.adj_rib_out(1);
    assert_eq!(out1.len(), 2);
    assert!(out1
        .iter()
        .all(|(_, _, _, a)| a.as_path().to_string() == "64601 64603"));
    let mut keys: Vec<String> = rib
        .advertised_keys(3)
        .iter()
        .map(|(_, p, _)| p.to_string())
        .collect();
    keys.sort();
    assert_eq!(keys, strs(&["203.0.113.0/24"]));

    // Withdrawn only where it had been sent.
    let out = rib.apply_update(0, &withdraw(&["203.0.113.0/24", "0.0.0.0/0"]));
    assert_eq!(
        got(&out, 1),
        (vec![], strs(&["0.0.0.0/0", "203.0.113.0/24"]))
    );
    assert_eq!(got(&out, 2), (vec![], vec![]));
    assert_eq!(got(&out, 3), (vec![], strs(&["203.0.113.0/24"])));
    assert!(rib.loc.is_empty());
    for id in 0..4 {
        assert_eq!(rib.peers[&id].advertised_total(), 0, "peer {id}");
        assert!(rib.advertised_keys(id).is_empty());
    }
}

#[test]
fn only_best_path_changes_are_sent() {
    let mut rib = rib();
    let p = "203.0.113.0/24";
    rib.apply_update(0, &announce(&[p], &[64601], None, 31));
    // A worse path (longer AS_PATH) from peer 1: the best path is unchanged, nobody is sent
    // anything.
    let out = rib.apply_update(1, &announce(&[p], &[64602, 64602, 64602], None, 32));
    for id in 0..4 {
        assert_eq!(got(&out, id), (vec![], vec![]), "peer {id}");
    }
    // The best path's attributes change (MED): re-sent to those that hold it.
    let out = rib.apply_update(0, &announce(&[p], &[64601], Some(5), 31));
    assert_eq!(got(&out, 2), (strs(&[p]), vec![]));
    assert_eq!(got(&out, 1), (strs(&[p]), vec![]));
    assert_eq!(got(&out, 0), (vec![], vec![]));
    let u = &sent(&out, 2, &SessionContext::default())[0];
    assert_eq!(u.attributes.med(), Some(&5));
    // The best path goes: peer 1's path replaces it everywhere, including at peer 0, and
    // peer 1 (its source) loses the route.
    let out = rib.apply_update(0, &withdraw(&[p]));
    assert_eq!(got(&out, 0), (strs(&[p]), vec![]));
    assert_eq!(got(&out, 1), (vec![], strs(&[p])));
    assert_eq!(got(&out, 2), (strs(&[p]), vec![]));
    let u = &sent(&out, 2, &SessionContext::default())[0];
    assert_eq!(
        u.attributes.as_path().unwrap().to_string(),
        "64602 64602 64602"
    );
    assert_eq!(rib.peers[&1].advertised(V4), 0);
    assert_eq!(rib.peers[&0].advertised(V4), 1);
}

#[test]
fn a_session_that_ends_forgets_what_it_was_sent_and_gets_everything_again() {
    let mut rib = rib();
    rib.apply_update(0, &announce(&["203.0.113.0/24"], &[64601], None, 31));
    assert_eq!(rib.peers[&2].advertised(V4), 1);
    rib.peer_down(2, false);
    assert_eq!(rib.peers[&2].advertised(V4), 0);
    assert!(rib.advertised_keys(2).is_empty());
    let up = rib.peer_up(2, session(33, false, false));
    let (a, w) = got(&up, 2);
    assert_eq!((a, w), (strs(&["203.0.113.0/24"]), vec![]));
    assert_eq!(rib.peers[&2].advertised(V4), 1);
    // A route refresh re-sends it without changing what is recorded.
    let out = rib.refresh_out(2, V4);
    assert_eq!(got(&out, 2), (strs(&["203.0.113.0/24"]), vec![]));
    assert_eq!(rib.peers[&2].advertised(V4), 1);
}

/// A batch of UPDATEs is exported in one pass: a destination changed twice is sent once, as
/// it ends (its last attributes), one announced and withdrawn within the batch is not sent
/// at all, and the others go in arrival order.
#[test]
fn a_batch_sends_each_destination_once_as_it_ends() {
    let mut rib = rib();
    let out = rib.apply_updates(vec![
        (
            0,
            announce(&["10.1.0.0/24", "10.2.0.0/24"], &[64601], None, 31),
        ),
        (
            0,
            announce(&["10.1.0.0/24", "10.3.0.0/24"], &[64601], Some(5), 31),
        ),
        (0, announce(&["10.4.0.0/24"], &[64601], None, 31)),
        (0, withdraw(&["10.4.0.0/24"])),
    ]);
    let updates = sent(&out, 1, &SessionContext::default());
    let mut order = Vec::new();
    for u in &updates {
        assert!(u.withdrawn.is_empty(), "nothing to withdraw: {u:?}");
        for n in &u.nlri {
            order.push((n.prefix.to_string(), u.attributes.med().copied()));
        }
    }
    order.sort();
    assert_eq!(
        order,
        vec![
            ("10.1.0.0/24".to_string(), Some(5)),
            ("10.2.0.0/24".to_string(), None),
            ("10.3.0.0/24".to_string(), Some(5)),
        ],
        "each destination once, with its last attributes; 10.4.0.0/24 never"
    );
    // The next pass starts with no destination marked: 10.1.0.0/24 changes again and goes.
    let out = rib.apply_updates(vec![(0, announce(&["10.1.0.0/24"], &[64601], None, 31))]);
    let (a, w) = got(&out, 1);
    assert_eq!((a, w), (strs(&["10.1.0.0/24"]), vec![]));
}
