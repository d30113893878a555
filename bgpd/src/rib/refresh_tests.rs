//! RIB tests of enhanced route refresh as receiver (RFC 7313 §4): the peer's routes are
//! stale from its BoRR, and those it did not send again are withdrawn at its EoRR.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::table_tests::{calico_and_metallb_up, pod_update, rib, sent, session, withdrawn_v4};
use bgp_proto::{Family, SessionContext};

const V4: Family = Family::IPV4_UNICAST;
// Peers of table_tests::CONF: 0 = Calico node (route-server client, its import policy
// rejects the default route), 3 = MetalLB speaker.

/// The prefixes of a peer's Adj-RIB-In.
fn adj_rib_in_prefixes(rib: &super::table::Rib, id: u32) -> Vec<String> {
    rib.adj_rib_in(id)
        .iter()
        .map(|(k, _)| k.1.to_string())
        .collect()
}

/// RFC 7313 §4: BoRR marks the node's routes stale; the one it sends again is fresh (and,
/// unchanged, not sent on to anyone); at EoRR the one it did not send again is withdrawn
/// from the other peers. A second EoRR has no BoRR before it and is ignored.
#[test]
fn a_route_not_sent_again_between_borr_and_eorr_is_withdrawn() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    let node = [198, 51, 100, 11];
    let out = rib.apply_update(0, &pod_update(&["10.244.1.0/26", "10.244.1.64/26"], node));
    assert_eq!(sent(&out, 3, &SessionContext::default()).len(), 1);

    assert_eq!(rib.begin_refresh(0, V4), 2);
    assert_eq!(rib.begin_refresh(0, Family::IPV6_UNICAST), 0);
    let out = rib.apply_update(0, &pod_update(&["10.244.1.0/26"], node));
    assert!(
        sent(&out, 3, &SessionContext::default()).is_empty(),
        "a route sent again unchanged is not news to anyone"
    );

    let (removed, out) = rib.end_refresh(0, V4).unwrap();
    assert_eq!(removed, 1);
    let updates = sent(&out, 3, &SessionContext::default());
    assert_eq!(withdrawn_v4(&updates), vec!["10.244.1.64/26".to_string()]);
    let kept = &rib.loc[&(V4, "10.244.1.0/26".parse().unwrap())];
    assert!(kept.paths.iter().all(|p| !p.stale));
    assert!(rib.end_refresh(0, V4).is_none(), "EoRR without BoRR");
    // The IPv6 refresh held nothing of the node: its EoRR removes nothing.
    assert_eq!(rib.end_refresh(0, Family::IPV6_UNICAST).unwrap().0, 0);
}

/// RFC 7313 §4: from a peer that sent the graceful restart capability, a BoRR before its
/// End-of-RIB for the family is ignored; a new session waits for a new End-of-RIB.
#[test]
fn a_borr_from_a_graceful_restart_peer_waits_for_its_end_of_rib() {
    let (mut rib, _) = rib();
    rib.peer_up(0, session(11, false, false));
    assert!(rib.borr_too_early(0, V4));
    rib.end_of_rib_received(0, V4);
    assert!(!rib.borr_too_early(0, V4));
    assert!(rib.borr_too_early(0, Family::IPV6_UNICAST));
    rib.peer_down(0, false);
    rib.peer_up(0, session(11, false, false));
    assert!(rib.borr_too_early(0, V4));
    // Without graceful restart there is no End-of-RIB to wait for.
    let mut s = session(11, false, false);
    s.graceful_restart = None;
    rib.peer_up(0, s);
    assert!(!rib.borr_too_early(0, V4));
}

/// A session that ends during a refresh takes the refresh with it: the next EoRR has no BoRR.
#[test]
fn a_refresh_ends_with_its_session() {
    let (mut rib, _) = rib();
    rib.peer_up(0, session(11, false, false));
    rib.begin_refresh(0, V4);
    rib.peer_down(0, true);
    rib.peer_up(0, session(11, false, false));
    assert!(rib.end_refresh(0, V4).is_none());
}

/// The rejected routes of the Adj-RIB-In follow the refresh too: one the peer sends again
/// stays (and is counted once), one it does not is dropped at the EoRR.
#[test]
fn rejected_routes_not_sent_again_leave_the_adj_rib_in() {
    let (mut rib, _) = rib();
    rib.peer_up(0, session(11, false, false));
    let node = [198, 51, 100, 11];
    let received = |rib: &super::table::Rib| rib.peers[&0].received(V4);
    rib.apply_update(0, &pod_update(&["0.0.0.0/0", "10.244.1.0/26"], node));
    assert_eq!(received(&rib), 2);

    // Both sent again: nothing goes.
    assert_eq!(rib.begin_refresh(0, V4), 2);
    assert_eq!(rib.adj_rib_in(0).len(), 2, "set aside, still listed");
    rib.apply_update(0, &pod_update(&["0.0.0.0/0", "10.244.1.0/26"], node));
    assert_eq!(rib.end_refresh(0, V4).unwrap().0, 0);
    assert_eq!(received(&rib), 2);
    assert_eq!(rib.adj_rib_in(0).len(), 2);

    // Only the accepted one sent again: the rejected one goes.
    rib.begin_refresh(0, V4);
    assert_eq!(
        received(&rib),
        2,
        "the rejected route is still received until the EoRR"
    );
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], node));
    assert_eq!(rib.end_refresh(0, V4).unwrap().0, 1);
    assert_eq!(received(&rib), 1);
    assert_eq!(
        adj_rib_in_prefixes(&rib, 0),
        vec!["10.244.1.0/26".to_string()]
    );

    // A session that ends during a refresh keeps its rejected routes as they were.
    rib.apply_update(0, &pod_update(&["0.0.0.0/0"], node));
    rib.begin_refresh(0, V4);
    rib.peer_down(0, true);
    assert_eq!(received(&rib), 2);
}

/// While we defer selection after our own restart, a refresh request is answered by the
/// table and End-of-RIB that end the deferral (RFC 4724 §4.1), not before them.
#[test]
fn nothing_is_sent_again_while_deferring() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    rib.deferring = true;
    assert!(sent(&rib.refresh_out(3, V4), 3, &SessionContext::default()).is_empty());
    rib.deferring = false;
    assert_eq!(
        sent(&rib.refresh_out(3, V4), 3, &SessionContext::default()).len(),
        1
    );
}

/// A re-import (a policy change) during a refresh applies the new policy to what was
/// received; it receives nothing. What the peer has not sent again since its BoRR still goes
/// at its EoRR: the stale path, and the rejected route set aside.
#[test]
fn a_reimport_during_a_refresh_keeps_what_was_not_sent_again() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    let node = [198, 51, 100, 11];
    let all = ["0.0.0.0/0", "10.244.1.0/26", "10.244.1.64/26"];
    rib.apply_update(0, &pod_update(&all, node));
    assert_eq!(rib.begin_refresh(0, V4), 3);
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], node));
    rib.reimport(0);
    let stale = |rib: &super::table::Rib, p: &str| {
        rib.loc[&(V4, p.parse().unwrap())]
            .paths
            .iter()
            .any(|p| p.stale)
    };
    assert!(!stale(&rib, "10.244.1.0/26"), "sent again");
    assert!(stale(&rib, "10.244.1.64/26"), "not sent again: still stale");

    let (removed, out) = rib.end_refresh(0, V4).unwrap();
    assert_eq!(
        removed, 2,
        "the stale path and the rejected route set aside"
    );
    let updates = sent(&out, 3, &SessionContext::default());
    assert_eq!(withdrawn_v4(&updates), vec!["10.244.1.64/26".to_string()]);
    assert_eq!(
        adj_rib_in_prefixes(&rib, 0),
        vec!["10.244.1.0/26".to_string()]
    );
}
