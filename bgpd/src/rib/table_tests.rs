//! Tests of the RIB as a whole: UPDATEs in, encoded UPDATEs out.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::table::{Outbox, Rib, SessionInfo};
use crate::config::{load_str, Config};
use bgp_proto::{
    AsPath, AttributeValue, Community, Family, FamilySet, Message, MpNextHop, MpReach, Nlri,
    Origin, PathAttribute, PathAttributes, SessionContext, Update,
};
use std::net::{IpAddr, Ipv4Addr};

pub(super) const CONF: &str = r#"
[global]
asn = 64512
router_id = "198.51.100.2"

[[classes]]
name = "pod"
prefixes = ["10.244.0.0/16 le 26", "fd00:10:244::/56 le 122"]
origin_as = [64513]

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
address = "198.51.100.11"
peer_as = 64513
role = "route-server-client"
import_policy = ["no-default"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.1"
peer_as = 64512
role = "route-reflector-client"

[[neighbors]]
address = "198.51.100.3"
peer_as = 64512

[[neighbors]]
address = "198.51.100.21"
peer_as = 64514
role = "route-server-client"
import_policy = ["all"]
export_policy = ["all"]
"#;

pub(super) fn rib() -> (Rib, Config) {
    rib_from(CONF)
}

/// A RIB for a configuration, every neighbor configured (peer ids in configuration order).
pub(super) fn rib_from(text: &str) -> (Rib, Config) {
    let cfg = load_str(text, "t.toml").unwrap();
    let mut rib = Rib::for_config(&cfg);
    for (i, n) in cfg.neighbors.iter().enumerate() {
        rib.configure_peer(i as u32, n.clone());
    }
    (rib, cfg)
}

pub(super) fn session(id: u8, ibgp: bool, add_path: bool) -> SessionInfo {
    SessionInfo {
        bgp_id: Ipv4Addr::new(10, 0, 0, id),
        local_address: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2))),
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        add_path_send: if add_path {
            FamilySet::ALL
        } else {
            FamilySet::EMPTY
        },
        send_context: SessionContext {
            ibgp,
            add_path: if add_path {
                FamilySet::ALL
            } else {
                FamilySet::EMPTY
            },
            ..SessionContext::default()
        },
        four_octet_as: true,
        graceful_restart: Some(std::time::Duration::from_secs(120)),
        graceful_restart_families: FamilySet::ALL,
    }
}

/// Brings up the Calico node (peer 0, 198.51.100.11) and the MetalLB speaker (peer 3,
/// 198.51.100.21), both eBGP route-server clients without ADD-PATH.
pub(super) fn calico_and_metallb_up(rib: &mut Rib) {
    rib.peer_up(0, session(11, false, false));
    rib.peer_up(3, session(21, false, false));
}

pub(super) fn pod_update(prefixes: &[&str], nh: [u8; 4]) -> Update {
    Update {
        attributes: PathAttributes(vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![64513]))),
            PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::from(nh))),
            PathAttribute::new(AttributeValue::Communities(
                vec![Community::new(64513, 100)].into(),
            )),
        ]),
        nlri: prefixes
            .iter()
            .map(|p| Nlri::new(p.parse().unwrap()))
            .collect(),
        ..Update::default()
    }
}

/// Decodes every UPDATE a peer was sent.
pub(super) fn sent(outbox: &Outbox, peer: u32, ctx: &SessionContext) -> Vec<Update> {
    let Some(out) = outbox.get(&peer) else {
        return vec![];
    };
    let bytes = out.bytes();
    let mut buf = &bytes[..];
    let mut v = Vec::new();
    while !buf.is_empty() {
        let len = bgp_proto::frame_len(buf, 65535).unwrap().unwrap();
        let (m, rest) = buf.split_at(len);
        if let Message::Update(u) = Message::decode(m, ctx).unwrap() {
            v.push(u);
        }
        buf = rest;
    }
    v
}

#[test]
fn route_server_passes_routes_unchanged_and_withdraws() {
    let (mut rib, _) = rib();
    rib.peer_up(0, session(11, false, false));
    let up = rib.peer_up(3, session(21, false, false));
    // The MetalLB peer gets End-of-RIB for both families on an empty table.
    assert_eq!(
        sent(&up, 3, &SessionContext::default())
            .iter()
            .filter(|u| u.end_of_rib().is_some())
            .count(),
        2
    );

    let out = rib.apply_update(
        0,
        &pod_update(&["10.244.1.0/26", "10.244.2.0/26"], [198, 51, 100, 11]),
    );
    let got = sent(&out, 3, &SessionContext::default());
    assert_eq!(got.len(), 1);
    let u = &got[0];
    assert_eq!(u.nlri.len(), 2);
    assert_eq!(
        u.attributes.as_path().unwrap().to_string(),
        "64513",
        "no AS prepend (RFC 7947)"
    );
    assert_eq!(
        u.attributes.next_hop(),
        Some(&Ipv4Addr::new(198, 51, 100, 11)),
        "next hop unchanged"
    );
    assert_eq!(u.attributes.communities(), &[Community::new(64513, 100)]);
    assert!(
        out.get(&0).is_none_or(|o| o.is_empty()),
        "nothing back to the sender"
    );

    let withdraw = Update {
        withdrawn: vec![Nlri::new("10.244.1.0/26".parse().unwrap())],
        ..Update::default()
    };
    let out = rib.apply_update(0, &withdraw);
    let got = sent(&out, 3, &SessionContext::default());
    assert_eq!(
        got[0].withdrawn,
        vec![Nlri::new("10.244.1.0/26".parse().unwrap())]
    );
    assert_eq!(rib.loc.len(), 1);
}

/// RFC 4271 §6.3 (BAD-INPUTS item 15): a route whose next hop can never be one (0.0.0.0/8,
/// 127.0.0.0/8 while the session is not on loopback, multicast, broadcast, the session's own
/// local address, our router id) is ignored: kept out of the Loc-RIB and not sent on. A
/// usable next hop for the prefix is then taken, and an unusable one replacing it removes it.
#[test]
fn routes_with_unusable_next_hops_are_ignored() {
    let (mut rib, cfg) = rib();
    calico_and_metallb_up(&mut rib);
    let ctx = SessionContext::default();
    let local = [198, 51, 100, 2]; // `session`'s local address
    let router_id = cfg.global.router_id.octets();
    for nh in [
        [0, 0, 0, 1],
        [127, 0, 0, 1],
        [224, 0, 0, 5],
        [255, 255, 255, 255],
        local,
        router_id,
    ] {
        let out = rib.apply_update(0, &pod_update(&["10.244.1.0/26"], nh));
        assert!(sent(&out, 3, &ctx).is_empty(), "next hop {nh:?} sent on");
        assert!(rib.loc.is_empty(), "next hop {nh:?} in the Loc-RIB");
    }
    let out = rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    assert_eq!(sent(&out, 3, &ctx)[0].nlri.len(), 1);
    assert_eq!(rib.loc.len(), 1);
    let out = rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [224, 0, 0, 5]));
    assert_eq!(withdrawn_v4(&sent(&out, 3, &ctx)), vec!["10.244.1.0/26"]);
    assert!(rib.loc.is_empty());
}

#[test]
fn import_policy_rejects_and_treat_as_withdraw_removes() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    let out = rib.apply_update(0, &pod_update(&["0.0.0.0/0"], [198, 51, 100, 11]));
    assert!(
        sent(&out, 3, &SessionContext::default()).is_empty(),
        "default route rejected by policy"
    );
    assert_eq!(
        rib.peers[&0].received(Family::IPV4_UNICAST),
        1,
        "kept in Adj-RIB-In"
    );
    assert!(rib.loc.is_empty());

    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    let mut bad = pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]);
    bad.issues.push(bgp_proto::UpdateIssue {
        kind: bgp_proto::ErrorKind::InvalidOrigin { value: 9 },
        offset: 30,
        action: bgp_proto::AttributeAction::TreatAsWithdraw,
    });
    let out = rib.apply_update(0, &bad);
    assert_eq!(
        sent(&out, 3, &SessionContext::default())[0].withdrawn.len(),
        1
    );
    assert!(rib.loc.is_empty());
}

#[test]
fn reflector_sets_originator_and_cluster_and_drops_loops() {
    let (mut rib, _) = rib();
    let ibgp = SessionContext {
        ibgp: true,
        ..SessionContext::default()
    };
    rib.peer_up(1, session(1, true, false));
    rib.peer_up(2, session(3, true, false));
    let mut u = pod_update(&["192.0.2.0/24"], [198, 51, 100, 1]);
    u.attributes.0[1] = PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![65000])));
    u.attributes
        .0
        .push(PathAttribute::new(AttributeValue::LocalPref(150)));
    let out = rib.apply_update(1, &u);
    let got = sent(&out, 2, &ibgp);
    assert_eq!(got.len(), 1, "client route reflected to the non-client");
    let a = &got[0].attributes;
    assert_eq!(a.originator_id(), Some(&Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(
        a.cluster_list(),
        Some(&vec![Ipv4Addr::new(198, 51, 100, 2)].into())
    );
    assert_eq!(a.local_pref(), Some(&150));
    assert_eq!(a.next_hop(), Some(&Ipv4Addr::new(198, 51, 100, 1)));

    // A route carrying our cluster id is a loop and is dropped.
    let mut looped = pod_update(&["192.0.2.128/25"], [198, 51, 100, 1]);
    looped
        .attributes
        .0
        .push(PathAttribute::new(AttributeValue::ClusterList(
            vec![Ipv4Addr::new(198, 51, 100, 2)].into(),
        )));
    let out = rib.apply_update(1, &looped);
    assert!(sent(&out, 2, &ibgp).is_empty());
    assert!(!rib
        .loc
        .contains_key(&(Family::IPV4_UNICAST, "192.0.2.128/25".parse().unwrap())));

    // Non-client to non-client is not reflected... but the client gets it.
    let out = rib.apply_update(2, &pod_update(&["192.0.2.64/26"], [198, 51, 100, 3]));
    assert!(!sent(&out, 1, &ibgp).is_empty());
}

#[test]
fn add_path_sends_every_path_and_best_only_otherwise() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    let ap_ctx = SessionContext {
        add_path: FamilySet::ALL,
        ibgp: true,
        ..SessionContext::default()
    };
    rib.peer_up(1, session(1, true, true));
    rib.apply_update(0, &pod_update(&["203.0.113.10/32"], [198, 51, 100, 11]));
    let mut other = pod_update(&["203.0.113.10/32"], [198, 51, 100, 21]);
    other.attributes.0[1] =
        PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![64514])));
    let out = rib.apply_update(3, &other);
    let got = sent(&out, 1, &ap_ctx);
    assert_eq!(
        got.len(),
        1,
        "the second path is sent to the ADD-PATH client"
    );
    assert!(got[0].nlri[0].path_id.is_some());
    assert_eq!(rib.peers[&1].advertised(Family::IPV4_UNICAST), 2);
    // Without ADD-PATH one path goes out: the Calico peer's own path wins on router id, so
    // the MetalLB peer gets it, and the Calico peer gets the MetalLB path, the best it may
    // have (its own view, RFC 7947 §2.3.2.1: no hidden path).
    assert_eq!(rib.peers[&3].advertised(Family::IPV4_UNICAST), 1);
    let to_calico = sent(&out, 0, &SessionContext::default());
    assert_eq!(to_calico.len(), 1);
    assert_eq!(
        to_calico[0].attributes.as_path().unwrap().to_string(),
        "64514"
    );
    assert_eq!(rib.peers[&0].advertised(Family::IPV4_UNICAST), 1);
}

#[test]
fn ipv6_over_mp_reach_with_link_local() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    let nh = MpNextHop::Ipv6 {
        global: "2001:db8:51::11".parse().unwrap(),
        link_local: Some("fe80::11".parse().unwrap()),
    };
    let u = Update {
        attributes: PathAttributes(vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![64513]))),
            PathAttribute::new(AttributeValue::from(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: nh.clone(),
                nlri: vec![Nlri::new("fd00:10:244::40/122".parse().unwrap())],
                opaque_nlri: bytes::Bytes::new(),
            })),
        ]),
        ..Update::default()
    };
    let out = rib.apply_update(0, &u);
    let got = sent(&out, 3, &SessionContext::default());
    let mp = got[0].attributes.mp_reach().unwrap();
    assert_eq!(mp.next_hop, nh);
    assert_eq!(mp.nlri[0].prefix.to_string(), "fd00:10:244::40/122");
    let key = (Family::IPV6_UNICAST, "fd00:10:244::40/122".parse().unwrap());
    assert_eq!(rib.classes.name(rib.loc[&key].paths[0].class), Some("pod"));
}

#[test]
fn graceful_restart_keeps_stale_until_flush() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    let out = rib.peer_down(0, true);
    assert!(
        sent(&out, 3, &SessionContext::default()).is_empty(),
        "stale routes kept"
    );
    assert!(rib.loc.values().all(|d| d.paths.iter().all(|p| p.stale)));
    rib.peer_up(0, session(11, false, false));
    rib.apply_update(0, &pod_update(&["10.244.2.0/26"], [198, 51, 100, 11]));
    let out = rib.flush_stale(0, None);
    let got = sent(&out, 3, &SessionContext::default());
    assert_eq!(
        got[0].withdrawn,
        vec![Nlri::new("10.244.1.0/26".parse().unwrap())]
    );
    assert_eq!(rib.loc.len(), 1);
    // RFC 4724 §4.2: the flushed route is gone from the Adj-RIB-In too (it would count
    // towards max-prefix and come back at the next reload).
    assert_eq!(
        rib.peers[&0].adj_in.count(Family::IPV4_UNICAST),
        1,
        "only the refreshed route is left in the Adj-RIB-In"
    );
}

pub(super) fn pod6_update(prefix: &str, nh: &str) -> Update {
    Update {
        attributes: PathAttributes(vec![
            PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
            PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(vec![64513]))),
            PathAttribute::new(AttributeValue::from(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: MpNextHop::Ipv6 {
                    global: nh.parse().unwrap(),
                    link_local: None,
                },
                nlri: vec![Nlri::new(prefix.parse().unwrap())],
                opaque_nlri: bytes::Bytes::new(),
            })),
        ]),
        ..Update::default()
    }
}

pub(super) fn withdrawn_v4(updates: &[Update]) -> Vec<String> {
    updates
        .iter()
        .flat_map(|u| u.withdrawn.iter().map(|n| n.prefix.to_string()))
        .collect()
}

pub(super) fn withdrawn_v6(updates: &[Update]) -> Vec<String> {
    updates
        .iter()
        .filter_map(|u| u.attributes.mp_unreach())
        .flat_map(|m| m.withdrawn.iter().map(|n| n.prefix.to_string()))
        .collect()
}

/// Found in the namespace lab: an End-of-RIB for one family flushed the stale paths of
/// every family (and told nobody about the others).
#[test]
fn end_of_rib_flushes_only_its_own_family() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    rib.apply_update(0, &pod6_update("fd00:10:244:1::/122", "2001:db8:51::11"));
    rib.peer_down(0, true);
    rib.peer_up(0, session(11, false, false));
    let out = rib.flush_stale(0, Some(Family::IPV4_UNICAST));
    let got = sent(&out, 3, &SessionContext::default());
    assert_eq!(withdrawn_v4(&got), vec!["10.244.1.0/26"]);
    assert!(
        withdrawn_v6(&got).is_empty(),
        "IPv6 has not sent End-of-RIB yet"
    );
    let v6 = (Family::IPV6_UNICAST, "fd00:10:244:1::/122".parse().unwrap());
    assert!(rib.loc[&v6].paths[0].stale, "IPv6 path still kept as stale");
    let out = rib.flush_stale(0, Some(Family::IPV6_UNICAST));
    let got = sent(&out, 3, &SessionContext::default());
    assert_eq!(withdrawn_v6(&got), vec!["fd00:10:244:1::/122"]);
    assert!(rib.loc.is_empty());
}

/// RFC 4724 §4.2: only the families the peer listed in its capability are kept.
#[test]
fn graceful_restart_keeps_only_the_listed_families() {
    let (mut rib, _) = rib();
    let mut v4_only = session(11, false, false);
    v4_only.graceful_restart_families = FamilySet::of(&[Family::IPV4_UNICAST]);
    rib.peer_up(0, v4_only);
    rib.peer_up(3, session(21, false, false));
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    rib.apply_update(0, &pod6_update("fd00:10:244:1::/122", "2001:db8:51::11"));
    let out = rib.peer_down(0, true);
    let got = sent(&out, 3, &SessionContext::default());
    assert!(withdrawn_v4(&got).is_empty(), "IPv4 kept as stale");
    assert_eq!(withdrawn_v6(&got), vec!["fd00:10:244:1::/122"]);
    let v4 = (Family::IPV4_UNICAST, "10.244.1.0/26".parse().unwrap());
    assert!(rib.loc[&v4].paths[0].stale);
}

/// A session that ends with a hold timer expiry (not graceful) withdraws everything.
#[test]
fn not_graceful_down_withdraws_every_family() {
    let (mut rib, _) = rib();
    calico_and_metallb_up(&mut rib);
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    rib.apply_update(0, &pod6_update("fd00:10:244:1::/122", "2001:db8:51::11"));
    let out = rib.peer_down(0, false);
    let got = sent(&out, 3, &SessionContext::default());
    assert_eq!(withdrawn_v4(&got), vec!["10.244.1.0/26"]);
    assert_eq!(withdrawn_v6(&got), vec!["fd00:10:244:1::/122"]);
    assert!(rib.loc.is_empty());
}

#[test]
fn max_prefixes_asks_for_cease_6_1() {
    let text = CONF.replace(
        "role = \"route-server-client\"\nimport_policy = [\"no-default\"]",
        "role = \"route-server-client\"\nmax_prefixes = 1\nimport_policy = [\"no-default\"]",
    );
    let cfg = load_str(&text, "t.toml").unwrap();
    let mut rib = Rib::for_config(&cfg);
    rib.configure_peer(0, cfg.neighbors[0].clone());
    rib.peer_up(0, session(11, false, false));
    let out = rib.apply_update(
        0,
        &pod_update(&["10.244.1.0/26", "10.244.2.0/26"], [198, 51, 100, 11]),
    );
    let n = out[&0].reset.clone().unwrap();
    assert_eq!((n.code, n.subcode), (6, 1));
    assert_eq!(&n.data[..], &[0, 1, 1, 0, 0, 0, 1]);
}

#[test]
fn adj_rib_in_keeps_received_attributes_that_import_policy_changed() {
    // CONF with the first route-server client's import policy raising LOCAL_PREF.
    let text = format!(
        "{CONF}\n[[policies]]\nname = \"prefer\"\n[[policies.statements]]\n\
         set = {{ local_pref = 200 }}\naction = \"accept\"\n"
    )
    .replacen(
        "import_policy = [\"no-default\"]",
        "import_policy = [\"prefer\"]",
        1,
    );
    let (mut rib, _) = rib_from(&text);
    calico_and_metallb_up(&mut rib);
    let prefix: ipnet::IpNet = "10.244.1.0/26".parse().unwrap();
    let route = (Family::IPV4_UNICAST, prefix, 0);
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    let d = &rib.loc[&(Family::IPV4_UNICAST, prefix)];
    assert_eq!(
        d.paths[0].attrs.local_pref(),
        Some(200),
        "Loc-RIB: after policy"
    );
    let received = rib.adj_rib_in(0);
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, route);
    assert_eq!(received[0].1.local_pref(), None, "Adj-RIB-In: as received");

    // Withdrawn: the received attributes go with the path.
    let mut w = Update::default();
    w.withdrawn.push(Nlri::new(prefix));
    rib.apply_update(0, &w);
    assert!(rib.adj_rib_in(0).is_empty());
    assert!(!rib.peers[&0].adj_in.has_received(&route));

    // A session end drops them too.
    rib.apply_update(0, &pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]));
    assert!(rib.peers[&0].adj_in.has_received(&route));
    rib.peer_down(0, false);
    assert!(!rib.peers[&0].adj_in.has_received(&route));
    assert!(rib.loc.is_empty());

    // The unchanged peer's routes are their own Adj-RIB-In: nothing kept aside.
    rib.apply_update(3, &pod_update(&["10.244.2.0/26"], [198, 51, 100, 21]));
    let route1 = (Family::IPV4_UNICAST, "10.244.2.0/26".parse().unwrap(), 0);
    assert!(!rib.peers[&3].adj_in.has_received(&route1));
    assert_eq!(rib.adj_rib_in(3)[0].1.local_pref(), None);
}

#[test]
fn advertised_sets_track_peers_above_63() {
    // 70 route-server clients: ids 63 and up live in the side table of the bitmap.
    let mut conf = String::from(
        "[global]\nasn = 64512\nrouter_id = \"198.51.100.2\"\n\n[[policies]]\nname = \"all\"\n\
         [[policies.statements]]\naction = \"accept\"\n",
    );
    for i in 0..70u32 {
        conf.push_str(&format!(
            "\n[[neighbors]]\naddress = \"10.1.0.{}\"\npeer_as = {}\nrole = \"route-server-client\"\n\
             import_policy = [\"all\"]\nexport_policy = [\"all\"]\n",
            i + 1,
            65001 + i
        ));
    }
    let (mut rib, _) = rib_from(&conf);
    for i in 0..70u8 {
        rib.peer_up(u32::from(i), session(i + 1, false, false));
    }
    let prefix: ipnet::IpNet = "10.244.1.0/26".parse().unwrap();
    let mut u = pod_update(&["10.244.1.0/26"], [10, 1, 0, 1]);
    u.attributes
        .set(AttributeValue::AsPath(AsPath::sequence(vec![65001])));
    let out = rib.apply_update(0, &u);
    let ctx = SessionContext::default();
    for peer in 1..70 {
        assert_eq!(sent(&out, peer, &ctx).len(), 1, "peer {peer} got the route");
        assert_eq!(
            rib.advertised_keys(peer),
            vec![(Family::IPV4_UNICAST, prefix, 0)]
        );
    }
    assert!(sent(&out, 0, &ctx).is_empty(), "not back to its source");
    assert_eq!(rib.high_peers.len(), 1);

    // Peer 66 goes down: only it leaves the set.
    rib.peer_down(66, false);
    assert!(rib.advertised_keys(66).is_empty());
    assert_eq!(rib.advertised_keys(67).len(), 1);
    assert_eq!(rib.high_peers.len(), 1);

    // Withdrawn: every peer still holding it is told, peers 63+ included, and nothing stays.
    let mut w = Update::default();
    w.withdrawn.push(Nlri::new(prefix));
    let out = rib.apply_update(0, &w);
    for peer in (1..70).filter(|p| *p != 66) {
        assert_eq!(
            withdrawn_v4(&sent(&out, peer, &ctx)),
            vec!["10.244.1.0/26".to_string()],
            "peer {peer}"
        );
    }
    assert!(sent(&out, 66, &ctx).is_empty());
    assert!(rib.loc.is_empty());
    assert!(rib.high_peers.is_empty());
}
