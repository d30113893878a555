//! Tests of the Update-Send process ([`super::advertise`]): results shared by alike peers
//! with per-peer split horizon and AS-loop checks, prefix-dependent export policies, nothing
//! sent for a change that is not a best-path change, and the computed Adj-RIB-Out.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::outbox::{Outgoing, SharedBatch};
use super::table::Rib;
use super::table_tests::{rib_from, sent, session};
use bgp_proto::{
    AsPath, AttributeValue, Family, Nlri, Origin, PathAttribute, PathAttributes, SessionContext,
    Update,
};
use std::net::Ipv4Addr;
use std::sync::Arc;

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
    // A worse path (longer AS_PATH) from peer 1: the best path is unchanged, and only peer
    // 0, whose own path is the best, is sent the new one (RFC 7947 §2.3.2.1).
    let out = rib.apply_update(1, &announce(&[p], &[64602, 64602, 64602], None, 32));
    assert_eq!(got(&out, 0), (strs(&[p]), vec![]));
    for id in 1..4 {
        assert_eq!(got(&out, id), (vec![], vec![]), "peer {id}");
    }
    // The best path's attributes change (MED): re-sent to those that hold it.
    let out = rib.apply_update(0, &announce(&[p], &[64601], Some(5), 31));
    assert_eq!(got(&out, 2), (strs(&[p]), vec![]));
    assert_eq!(got(&out, 1), (strs(&[p]), vec![]));
    assert_eq!(got(&out, 0), (vec![], vec![]));
    let u = &sent(&out, 2, &SessionContext::default())[0];
    assert_eq!(u.attributes.med(), Some(&5));
    // The best path goes: peer 1's path replaces it everywhere but at peer 0, which holds
    // it already, and peer 1 (its source) loses the route.
    let out = rib.apply_update(0, &withdraw(&[p]));
    assert_eq!(got(&out, 0), (vec![], vec![]));
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

/// RFC 7947 §2.3.2.1: a route-server client whose own path is the best is sent the best of
/// the other clients' paths, kept up to date as they change, and withdrawn when they go;
/// the other clients see nothing of it.
#[test]
fn a_client_whose_path_wins_gets_the_next_best_path() {
    let mut rib = rib();
    let p = "203.0.113.0/24";
    let as_path = |out: &super::table::Outbox, peer: u32| {
        let u = &sent(out, peer, &SessionContext::default())[0];
        u.attributes.as_path().unwrap().to_string()
    };
    let out = rib.apply_update(0, &announce(&[p], &[64601], None, 31));
    assert_eq!(got(&out, 0), (vec![], vec![]), "nothing else to send yet");
    let out = rib.apply_update(1, &announce(&[p], &[64602, 65000], None, 32));
    assert_eq!(got(&out, 0), (strs(&[p]), vec![]));
    assert_eq!(as_path(&out, 0), "64602 65000");
    for id in 1..4 {
        assert_eq!(
            got(&out, id),
            (vec![], vec![]),
            "peer {id} holds the best already"
        );
    }
    let held = rib.adj_rib_out(0);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].3.as_path().to_string(), "64602 65000");
    assert_eq!(rib.peers[&0].advertised(V4), 1);

    // The second path changes: only peer 0 hears of it.
    let out = rib.apply_update(1, &announce(&[p], &[64602, 65001], None, 32));
    assert_eq!(as_path(&out, 0), "64602 65001");
    for id in 1..4 {
        assert_eq!(got(&out, id), (vec![], vec![]), "peer {id}");
    }
    // A third, worse path changes nothing.
    let out = rib.apply_update(2, &announce(&[p], &[64603, 65000, 65000], None, 33));
    for id in 0..4 {
        assert_eq!(got(&out, id), (vec![], vec![]), "peer {id}");
    }
    // The second path goes: peer 0 is sent the third.
    let out = rib.apply_update(1, &withdraw(&[p]));
    assert_eq!(as_path(&out, 0), "64603 65000 65000");
    // Peer 1 gets the best back
    assert_eq!(
        got(&out, 1),
        (vec![], vec![]),
        "peer 1 holds the best already"
    );
    // The third goes too: peer 0 is left with nothing.
    let out = rib.apply_update(2, &withdraw(&[p]));
    assert_eq!(got(&out, 0), (vec![], strs(&[p])));
    assert_eq!(rib.peers[&0].advertised(V4), 0);
    assert!(rib.adj_rib_out(0).is_empty());
    assert!(rib.peers[&0].alternates.is_empty());
}

/// When the best path goes, the client that held the next one as its own view is not sent
/// it again; and a client that cannot have the best for an AS loop (RFC 4271 §9.1.2) gets
/// the next one too.
#[test]
fn per_client_views_follow_the_best_path_and_the_as_loop_rule() {
    let mut rib = rib();
    let p = "203.0.113.0/24";
    // Peer 0's path is best, and carries AS 64603: peer 2 may not have it.
    rib.apply_update(0, &announce(&[p], &[64601, 64603], None, 31));
    let out = rib.apply_update(1, &announce(&[p], &[64602, 65000, 65001], None, 32));
    assert_eq!(got(&out, 0), (strs(&[p]), vec![]));
    assert_eq!(
        got(&out, 2),
        (strs(&[p]), vec![]),
        "AS loop: peer 1's path instead"
    );
    assert_eq!(got(&out, 1), (vec![], vec![]));
    assert_eq!(got(&out, 3), (vec![], vec![]));
    // Peer 0's path goes: peer 1's is now best, which peers 0 and 2 hold already.
    let out = rib.apply_update(0, &withdraw(&[p]));
    assert_eq!(got(&out, 0), (vec![], vec![]));
    assert_eq!(got(&out, 2), (vec![], vec![]));
    assert_eq!(got(&out, 1), (vec![], strs(&[p])));
    assert_eq!(got(&out, 3), (strs(&[p]), vec![]));
    for id in 0..4 {
        assert!(rib.peers[&id].alternates.is_empty(), "peer {id}");
    }
    // A session that ends forgets its view.
    rib.apply_update(0, &announce(&[p], &[64601], None, 31));
    assert_eq!(rib.peers[&0].alternates.len(), 1);
    rib.peer_down(0, false);
    assert!(rib.peers[&0].alternates.is_empty());
}

/// The parts a peer was handed that it shares with other peers of its update group.
fn shared(outbox: &super::table::Outbox, peer: u32) -> Vec<Arc<SharedBatch>> {
    outbox
        .get(&peer)
        .map(|o| {
            o.parts
                .iter()
                .filter_map(|p| match p {
                    Outgoing::Shared(s) => Some(s.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Peers 0–2 are alike (one update group): what peers 1 and 2 are sent alike is queued and
/// packed once for both, the source (split horizon) is left out of it, and peer 3 (another
/// export policy) gets its own batch. Withdrawals are shared the same way.
#[test]
fn an_update_group_is_queued_and_packed_once_for_the_members_sent_alike() {
    let mut rib = rib();
    let ps = ["203.0.113.0/24", "198.18.0.0/15"];
    let out = rib.apply_update(0, &announce(&ps, &[64601], None, 31));
    let (s1, s2) = (shared(&out, 1), shared(&out, 2));
    assert_eq!(s1.len(), 1);
    assert!(Arc::ptr_eq(&s1[0], &s2[0]), "one batch for peers 1 and 2");
    assert_eq!(s1[0].peers, 2);
    assert_eq!(s1[0].batch.prefixes(), 2);
    assert_eq!(out[&1].bytes(), out[&2].bytes());
    assert_eq!(
        got(&out, 1),
        (strs(&["198.18.0.0/15", "203.0.113.0/24"]), vec![])
    );
    assert_eq!(got(&out, 0), (vec![], vec![]), "split horizon");
    assert!(shared(&out, 3).is_empty(), "peer 3 is in no group");
    assert_eq!(
        got(&out, 3),
        (strs(&["198.18.0.0/15", "203.0.113.0/24"]), vec![])
    );
    for id in 1..4 {
        assert_eq!(rib.peers[&id].advertised(V4), 2, "peer {id}");
    }
    assert_eq!(rib.peers[&0].advertised(V4), 0);

    let out = rib.apply_update(0, &withdraw(&ps));
    let (s1, s2) = (shared(&out, 1), shared(&out, 2));
    assert!(Arc::ptr_eq(&s1[0], &s2[0]));
    assert_eq!(
        got(&out, 2),
        (vec![], strs(&["198.18.0.0/15", "203.0.113.0/24"]))
    );
    assert_eq!(got(&out, 0), (vec![], vec![]));
    for id in 0..4 {
        assert_eq!(rib.peers[&id].advertised_total(), 0, "peer {id}");
    }
}

/// In one pass, a destination with one path is decided for the group a word at a time and
/// one with a choice (route-server clients' own views, RFC 7947 §2.3.2.1) member by member;
/// members sent alike still share, the client whose own path lost gets the winner, and the
/// client whose path won keeps the other one as its own view. Then the losing path changes:
/// only the winner's client is sent it, on its own.
#[test]
fn a_pass_mixes_group_decisions_and_per_client_views() {
    let mut rib = rib();
    let (p, q) = ("203.0.113.0/24", "198.18.0.0/15");
    rib.apply_update(1, &announce(&[p], &[64602, 65000], None, 32));
    let out = rib.apply_update(0, &announce(&[p, q], &[64601], None, 31));
    // Peer 0's shorter path wins p: peers 1 and 2 get it and q alike.
    assert_eq!(got(&out, 1), (strs(&[q, p]), vec![]));
    assert_eq!(got(&out, 2), (strs(&[q, p]), vec![]));
    let (s1, s2) = (shared(&out, 1), shared(&out, 2));
    assert_eq!(s1.len(), 1);
    assert!(Arc::ptr_eq(&s1[0], &s2[0]));
    assert_eq!(s1[0].batch.prefixes(), 2);
    // Peer 0 keeps peer 1's path for p, which it was sent when that was the best (now its
    // own view), and is not sent its own q.
    assert_eq!(got(&out, 0), (vec![], vec![]));
    let held = rib.adj_rib_out(0);
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].3.as_path().to_string(), "64602 65000");
    assert_eq!(rib.peers[&0].alternates.len(), 1);
    assert_eq!(rib.peers[&0].advertised(V4), 1);
    assert_eq!(rib.peers[&1].advertised(V4), 2);
    assert_eq!(rib.peers[&2].advertised(V4), 2);
    let out = rib.apply_update(1, &announce(&[p], &[64602, 65001], None, 32));
    assert_eq!(got(&out, 0), (strs(&[p]), vec![]));
    assert!(shared(&out, 0).is_empty());
    for id in 1..4 {
        assert_eq!(got(&out, id), (vec![], vec![]), "peer {id}");
    }
}

/// A group with peers 63 and up (their advertised bits live beside the Loc-RIB) is decided
/// member by member and still shares: seventy alike route-server clients, one the source,
/// one whose AS is in the path (RFC 4271 §9.1.2).
#[test]
fn update_groups_beyond_63_peers_share_and_keep_split_horizon_and_as_loop() {
    let mut conf = String::from(
        "[global]\nasn = 64512\nrouter_id = \"198.51.100.2\"\n\n[[policies]]\nname = \"all\"\n\
         [[policies.statements]]\naction = \"accept\"\n",
    );
    for i in 0..70 {
        conf.push_str(&format!(
            "\n[[neighbors]]\naddress = \"10.1.0.{}\"\npeer_as = {}\nrole = \"route-server-client\"\n\
             import_policy = [\"all\"]\nexport_policy = [\"all\"]\n",
            i + 1,
            65000 + i
        ));
    }
    let (mut rib, _) = rib_from(&conf);
    for i in 0..70u32 {
        rib.peer_up(i, session(i as u8 + 1, false, false));
    }
    let ps = ["203.0.113.0/24", "198.18.0.0/15"];
    let both = strs(&["198.18.0.0/15", "203.0.113.0/24"]);
    let expect = |id: u32| {
        if id == 5 || id == 66 {
            vec![]
        } else {
            both.clone()
        }
    };
    // From peer 5 (AS 65005), through AS 65066: peer 66 may not have it.
    let out = rib.apply_update(5, &announce(&ps, &[65005, 65066], None, 31));
    let first = shared(&out, 0);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].peers, 68);
    for id in 0..70u32 {
        assert_eq!(got(&out, id), (expect(id), vec![]), "peer {id}");
        assert_eq!(rib.peers[&id].advertised(V4), expect(id).len(), "peer {id}");
        if !expect(id).is_empty() {
            assert!(Arc::ptr_eq(&shared(&out, id)[0], &first[0]), "peer {id}");
        }
    }
    let out = rib.apply_update(5, &withdraw(&ps));
    for id in 0..70u32 {
        assert_eq!(got(&out, id), (vec![], expect(id)), "peer {id}");
        assert_eq!(rib.peers[&id].advertised_total(), 0, "peer {id}");
    }
    assert_eq!(rib.high_peers.len(), 0);
}
