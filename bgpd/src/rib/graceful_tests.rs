//! RIB tests of long-lived graceful restart as helper (RFC 9494) and of the selection
//! deferral of a restarting speaker (RFC 4724 §4.1): UPDATEs in, encoded UPDATEs out.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::llgr::LlgrSession;
use super::table_tests::{pod_update, rib, rib_from, sent, session, withdrawn_v4, CONF};
use bgp_proto::{AttributeValue, Community, Family, SessionContext, Update};

const V4: Family = Family::IPV4_UNICAST;
// Peers of table_tests::CONF: 0 = Calico node (route-server client), 1 = iBGP
// route-reflector client, 3 = MetalLB speaker (route-server client).

fn llgr(secs: u32) -> Option<LlgrSession> {
    Some(LlgrSession::new([(V4, secs)], secs))
}

fn announced(updates: &[Update]) -> Vec<(String, Vec<Community>)> {
    updates
        .iter()
        .flat_map(|u| {
            let c = u.attributes.communities().to_vec();
            u.nlri
                .iter()
                .map(move |n| (n.prefix.to_string(), c.clone()))
        })
        .collect()
}

fn ibgp() -> SessionContext {
    SessionContext {
        ibgp: true,
        ..SessionContext::default()
    }
}

/// RFC 9494 §4.2, §4.3: GR period first (nothing changes for anyone), then LLGR-stale:
/// LLGR_STALE attached and re-sent to the LLGR peer, withdrawn from the peer without LLGR,
/// NO_LLGR routes removed; flushed when the stale time expires.
#[test]
fn llgr_after_gr_marks_sends_to_llgr_peers_only_and_drops_no_llgr() {
    let (mut rib, _) = rib();
    rib.set_llgr(0, llgr(60));
    rib.set_llgr(3, llgr(60));
    rib.peer_up(0, session(11, false, false));
    rib.peer_up(1, session(1, true, false));
    rib.peer_up(3, session(21, false, false));
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    let mut no_llgr = pod_update(&["10.244.1.64/26"], [198, 51, 100, 11]);
    no_llgr
        .attributes
        .set(AttributeValue::Communities(vec![Community::NO_LLGR].into()));
    rib.apply_update(0, &no_llgr);

    let plan = rib.stale_plan(0, true);
    assert_eq!(plan.llgr_after_gr.len(), 1, "{plan:?}");
    let out = rib.peer_down(0, true);
    assert!(sent(&out, 3, &SessionContext::default()).is_empty());
    assert!(
        sent(&out, 1, &ibgp()).is_empty(),
        "GR period: kept everywhere"
    );

    let out = rib.enter_llgr(0, plan.kept());
    let to_llgr = sent(&out, 3, &SessionContext::default());
    assert_eq!(
        announced(&to_llgr),
        vec![(
            "10.244.1.0/26".to_string(),
            vec![Community::new(64513, 100), Community::LLGR_STALE]
        )]
    );
    assert_eq!(withdrawn_v4(&to_llgr), vec!["10.244.1.64/26"], "NO_LLGR");
    let mut to_plain = withdrawn_v4(&sent(&out, 1, &ibgp()));
    to_plain.sort();
    assert_eq!(to_plain, vec!["10.244.1.0/26", "10.244.1.64/26"]);
    let key = (V4, "10.244.1.0/26".parse().unwrap());
    let p = &rib.loc[&key].paths[0];
    assert!(p.stale && p.llgr_stale);

    let out = rib.flush_stale(0, Some(V4));
    assert_eq!(
        withdrawn_v4(&sent(&out, 3, &SessionContext::default())),
        vec!["10.244.1.0/26"]
    );
    assert!(sent(&out, 1, &ibgp()).is_empty(), "already withdrawn there");
    assert!(rib.loc.is_empty());
}

/// RFC 9494 §4.2: without a GR period the routes are LLGR-stale at once; a fresh path from
/// another peer wins over them whatever its attributes, and a refresh clears the mark.
#[test]
fn llgr_without_gr_is_immediate_least_preferred_and_refreshed() {
    let (mut rib, _) = rib();
    let mut s = session(11, false, false);
    s.graceful_restart = None;
    rib.set_llgr(0, llgr(60));
    rib.set_llgr(3, llgr(60));
    rib.peer_up(0, s.clone());
    rib.peer_up(3, session(21, false, false));
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    let out = rib.peer_down(0, true);
    let got = announced(&sent(&out, 3, &SessionContext::default()));
    assert!(got[0].1.contains(&Community::LLGR_STALE), "{got:?}");

    // The MetalLB speaker announces the same prefix with a longer path: it wins.
    let mut other = pod_update(&["10.244.1.0/26"], [198, 51, 100, 21]);
    other
        .attributes
        .set(AttributeValue::AsPath(bgp_proto::AsPath::sequence(vec![
            64514, 64514, 64513,
        ])));
    rib.apply_update(3, &other);
    let key = (V4, "10.244.1.0/26".parse().unwrap());
    let d = &rib.loc[&key];
    assert_eq!(d.paths[d.best().unwrap()].peer, 3);

    // The node returns and re-announces: no longer stale, best again.
    rib.peer_up(0, s);
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    let d = &rib.loc[&key];
    let p = d.paths.iter().find(|p| p.peer == 0).unwrap();
    assert!(!p.stale && !p.llgr_stale);
    assert!(!p.attrs.communities().contains(&Community::LLGR_STALE));
    assert_eq!(d.paths[d.best().unwrap()].peer, 0);
}

/// RFC 4724 §4.1: while deferring nothing is sent, not even End-of-RIB; at the end every
/// established peer gets the table and End-of-RIB per family.
#[test]
fn deferral_holds_everything_back_then_sends_table_and_end_of_rib() {
    let (mut rib, _) = rib();
    rib.deferring = true;
    assert!(rib.peer_up(0, session(11, false, false)).is_empty());
    assert!(rib.peer_up(3, session(21, false, false)).is_empty());
    let out = rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    assert!(
        out.values().all(|o| o.is_empty()),
        "nothing while deferring"
    );
    let key = (V4, "10.244.1.0/26".parse().unwrap());
    assert_eq!(rib.loc[&key].best(), Some(0));

    let out = rib.end_deferral();
    let to_spk = sent(&out, 3, &SessionContext::default());
    assert_eq!(announced(&to_spk)[0].0, "10.244.1.0/26");
    let eors: Vec<Family> = to_spk.iter().filter_map(Update::end_of_rib).collect();
    assert_eq!(eors, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    let to_node = sent(&out, 0, &SessionContext::default());
    assert_eq!(
        to_node.iter().filter_map(Update::end_of_rib).count(),
        2,
        "the node gets End-of-RIB too (its own route is not sent back)"
    );
    assert!(!rib.deferring);
}

/// The Calico node (peer 0, with LLGR) announces two pod blocks, restarts, its routes go
/// long-lived stale, and it comes back and sends one of them again (no End-of-RIB yet).
fn back_after_llgr(rib: &mut super::table::Rib) {
    rib.set_llgr(0, llgr(60));
    rib.set_llgr(3, llgr(60));
    rib.peer_up(0, session(11, false, false));
    rib.peer_up(3, session(21, false, false));
    let node = [198, 51, 100, 11];
    rib.apply_update(0, &pod_update(&["10.244.1.0/26", "10.244.1.64/26"], node));
    let plan = rib.stale_plan(0, true);
    rib.peer_down(0, true);
    rib.enter_llgr(0, plan.kept());
    rib.peer_up(0, session(11, false, false));
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], node));
}

/// A re-import (a policy change) after a restarted peer is back and before its End-of-RIB
/// keeps its stale routes stale (RFC 4724 §4.2): the End-of-RIB still removes the one it did
/// not send again, which keeps LLGR_STALE until then (RFC 9494 §4.2).
#[test]
fn a_reimport_before_the_end_of_rib_keeps_stale_routes_stale() {
    let (mut rib, _) = rib();
    back_after_llgr(&mut rib);
    rib.reimport(0);

    let path =
        |rib: &super::table::Rib, p: &str| rib.loc[&(V4, p.parse().unwrap())].paths[0].clone();
    let fresh = path(&rib, "10.244.1.0/26");
    assert!(!fresh.stale && !fresh.llgr_stale, "sent again");
    let kept = path(&rib, "10.244.1.64/26");
    assert!(kept.stale && kept.llgr_stale, "not sent again");
    assert!(kept.attrs.communities().contains(&Community::LLGR_STALE));
    let received: Vec<_> = rib
        .adj_rib_in(0)
        .into_iter()
        .filter(|(k, _)| k.1.to_string() == "10.244.1.64/26")
        .collect();
    assert!(
        !received[0].1.communities().contains(&Community::LLGR_STALE),
        "the Adj-RIB-In keeps the route as received"
    );

    let out = rib.flush_stale(0, Some(V4));
    let to_metallb = sent(&out, 3, &SessionContext::default());
    assert_eq!(withdrawn_v4(&to_metallb), vec!["10.244.1.64/26"]);
}

/// A re-import whose new import policy adds NO_LLGR to a long-lived stale route the peer
/// has not sent again removes it (RFC 9494 §4.2: such a route is not kept as LLGR-stale);
/// the route it did send again stays, fresh.
#[test]
fn a_reimport_that_adds_no_llgr_removes_the_long_lived_stale_route() {
    let text = format!(
        "{CONF}\n[[policies]]\nname = \"no-llgr\"\n[[policies.statements]]\n\
         set = {{ add_communities = [\"65535:7\"] }}\naction = \"accept\"\n"
    );
    let (mut rib, cfg) = rib_from(&text);
    back_after_llgr(&mut rib);

    let mut n = cfg.neighbors[0].clone();
    n.import_policy = vec!["no-llgr".into()];
    rib.configure_peer(0, n);
    let out = rib.reimport(0);
    let to_metallb = sent(&out, 3, &SessionContext::default());
    assert_eq!(withdrawn_v4(&to_metallb), vec!["10.244.1.64/26"]);
    assert!(!rib
        .loc
        .contains_key(&(V4, "10.244.1.64/26".parse().unwrap())));
    let kept = &rib.loc[&(V4, "10.244.1.0/26".parse().unwrap())].paths[0];
    assert!(!kept.stale && kept.attrs.communities().contains(&Community::NO_LLGR));
    assert_eq!(
        rib.peers[&0].received(V4),
        1,
        "the removed route is no longer counted"
    );
    assert_eq!(rib.adj_rib_in(0).len(), 1);
}
