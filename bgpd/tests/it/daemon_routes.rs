//! In-process integration tests: real bgpd daemons on 127.0.0.x, talking TCP to scripted lab
//! peers and to each other.
use crate::support::{
    connect_peer, free_port, group_neighbors, route_server_group, ACCEPT_ALL, LAB_CLASSES,
    ONLY_BLOCKS,
};

use bgp_proto::{Community, Family, Notification};
use bgpd::daemon::{Control, Daemon};
use bgpd::lab_peer::{LabPeer, LabPeerConfig, LabRoute};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

struct Running {
    control: mpsc::UnboundedSender<Control>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn stop(self) {
        let _ = self.control.send(Control::Shutdown("test over".into()));
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

fn start(config: &str) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bgpd.toml");
    std::fs::write(&path, config).unwrap();
    let cfg = bgpd::config::load(&path).unwrap();
    let daemon = Daemon::new(cfg, path.clone());
    let (control, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(daemon.run(rx));
    Running {
        control,
        task,
        path,
        _dir: dir,
    }
}

fn peer(asn: u32, addr: [u8; 4]) -> LabPeerConfig {
    let mut c = LabPeerConfig::new(asn, Ipv4Addr::from(addr));
    c.local_address = Some(IpAddr::V4(Ipv4Addr::from(addr)));
    c
}

async fn connect(port: u16, cfg: LabPeerConfig) -> LabPeer {
    connect_peer(SocketAddr::from(([127, 0, 0, 2], port)), cfg, 50).await
}

fn route_server_config(port: u16) -> String {
    format!(
        "[global]\nasn = 64515\nrouter_id = \"127.0.0.2\"\nlisten = [\"127.0.0.2:{port}\"]\n\
         {LAB_CLASSES}{ACCEPT_ALL}{}{}",
        route_server_group("clients"),
        group_neighbors(
            "clients",
            &[
                ("127.0.0.11", 64513),
                ("127.0.0.21", 64514),
                ("127.0.0.22", 64514)
            ]
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_server_reflects_pods_and_follows_a_moving_service_ip() {
    let port = free_port();
    let bgpd = start(&route_server_config(port));
    let calico = connect(port, peer(64513, [127, 0, 0, 11])).await;
    let lb1 = connect(port, peer(64514, [127, 0, 0, 21])).await;
    let lb2 = connect(port, peer(64514, [127, 0, 0, 22])).await;
    assert!(
        lb1.wait_for(WAIT, |r| r.end_of_rib.contains(&Family::IPV4_UNICAST))
            .await,
        "End-of-RIB after the initial table"
    );

    let mut pods = LabRoute::new(vec![64513], "127.0.0.11".parse().unwrap());
    pods.communities = vec![Community::new(64513, 100)];
    calico.announce(&pods, &["10.244.1.0/26", "10.244.2.0/26"]);
    let mut pods6 = LabRoute::new(vec![64513], "fd00::11".parse().unwrap());
    pods6.link_local = Some("fe80::11".parse().unwrap());
    calico.announce(&pods6, &["fd00:10:244::40/122"]);
    assert!(
        lb1.wait_for(WAIT, |r| r.has("10.244.1.0/26")
            && r.has("10.244.2.0/26")
            && r.has("fd00:10:244::40/122"))
            .await
    );
    let got = lb1.received();
    let (attrs, nh) = got.paths(&"10.244.1.0/26".parse().unwrap())[0];
    assert_eq!(
        attrs.as_path().unwrap().to_string(),
        "64513",
        "route server adds no AS (RFC 7947)"
    );
    assert_eq!(
        nh,
        "127.0.0.11".parse::<IpAddr>().unwrap(),
        "next hop unchanged"
    );
    assert_eq!(attrs.communities(), &[Community::new(64513, 100)]);
    let (_, nh6) = got.paths(&"fd00:10:244::40/122".parse().unwrap())[0];
    assert_eq!(nh6, "fd00::11".parse::<IpAddr>().unwrap());

    // A service IP announced by speaker 1, then moved to speaker 2.
    let svc = LabRoute::new(vec![64514], "127.0.0.21".parse().unwrap());
    lb1.announce(&svc, &["203.0.113.10/32"]);
    assert!(calico.wait_for(WAIT, |r| r.has("203.0.113.10/32")).await);
    let svc2 = LabRoute::new(vec![64514], "127.0.0.22".parse().unwrap());
    lb2.announce(&svc2, &["203.0.113.10/32"]);
    lb1.withdraw(&["203.0.113.10/32"], None);
    let moved = calico
        .wait_for(WAIT, |r| {
            r.paths(&"203.0.113.10/32".parse().unwrap())
                .iter()
                .any(|(_, nh)| *nh == "127.0.0.22".parse::<IpAddr>().unwrap())
        })
        .await;
    assert!(
        moved,
        "service IP followed to speaker 2: {:?}",
        calico.received().paths(&"203.0.113.10/32".parse().unwrap())
    );

    // Withdrawals propagate.
    calico.withdraw(&["10.244.2.0/26", "fd00:10:244::40/122"], None);
    assert!(
        lb2.wait_for(WAIT, |r| !r.has("10.244.2.0/26")
            && !r.has("fd00:10:244::40/122")
            && r.has("10.244.1.0/26"))
            .await
    );

    // The Calico node's session dies (no graceful restart): its routes go everywhere.
    calico.kill();
    assert!(
        lb1.wait_for(Duration::from_secs(15), |r| !r.has("10.244.1.0/26"))
            .await,
        "routes of a dead session withdrawn"
    );
    bgpd.stop().await;
    assert!(lb1.wait_for(WAIT, |r| r.closed).await);
    let n: Notification = lb1.received().notification.unwrap();
    assert_eq!((n.code, n.subcode), (6, 2), "Cease 6/2 on shutdown");
    assert_eq!(
        n.shutdown_message(),
        Some(Ok("test over".to_string())),
        "RFC 9003 message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_keeps_sessions_and_reapplies_policy() {
    let port = free_port();
    let config = route_server_config(port);
    let bgpd = start(&config);
    let calico = connect(port, peer(64513, [127, 0, 0, 11])).await;
    let lb1 = connect(port, peer(64514, [127, 0, 0, 21])).await;
    let pods = LabRoute::new(vec![64513], "127.0.0.11".parse().unwrap());
    calico.announce(&pods, &["10.244.1.0/26", "10.244.9.0/24"]);
    assert!(lb1.wait_for(WAIT, |r| r.has("10.244.9.0/24")).await);

    // New import policy for Calico: only /26 pod blocks.
    let stricter = config
        .replace(
            "[[peer_groups]]",
            &format!("{ONLY_BLOCKS}\n[[peer_groups]]"),
        )
        .replace(
            "peer_as = 64513\npeer_group = \"clients\"",
            "peer_as = 64513\npeer_group = \"clients\"\nimport_policy = [\"only-blocks\"]",
        );
    std::fs::write(&bgpd.path, stricter).unwrap();
    bgpd.control.send(Control::Reload).unwrap();
    assert!(
        lb1.wait_for(WAIT, |r| !r.has("10.244.9.0/24") && r.has("10.244.1.0/26"))
            .await,
        "the /24 is withdrawn by the new policy"
    );
    assert!(
        !lb1.received().closed && !calico.received().closed,
        "sessions stayed up across the reload"
    );

    // Removing a neighbor stops it with Cease 6/3.
    let without = std::fs::read_to_string(&bgpd.path)
        .unwrap()
        .replace("address = \"127.0.0.21\"", "address = \"127.0.0.99\"");
    std::fs::write(&bgpd.path, without).unwrap();
    bgpd.control.send(Control::Reload).unwrap();
    assert!(lb1.wait_for(WAIT, |r| r.closed).await);
    assert_eq!(
        lb1.received().notification.map(|n| (n.code, n.subcode)),
        Some((6, 3))
    );
    bgpd.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bgpd_instances_reflect_between_each_other() {
    // bgpd A (127.0.0.2) is the route reflector; bgpd B (127.0.0.3) is its iBGP client and
    // has an eBGP lab peer. A lab client of A announces; the eBGP peer of B receives it.
    let (pa, pb) = (free_port(), free_port());
    let a = start(&format!(
        r#"
[global]
asn = 64512
router_id = "127.0.0.2"
cluster_id = "10.10.10.10"
listen = ["127.0.0.2:{pa}"]

[[neighbors]]
address = "127.0.0.31"
peer_as = 64512
role = "route-reflector-client"
passive = true

[[neighbors]]
address = "127.0.0.3"
peer_as = 64512
role = "route-reflector-client"
port = {pb}
local_address = "127.0.0.2"
"#
    ));
    let b = start(&format!(
        r#"
[global]
asn = 64512
router_id = "127.0.0.3"
listen = ["127.0.0.3:{pb}"]

[[policies]]
name = "all"
[[policies.statements]]
action = "accept"

[[neighbors]]
address = "127.0.0.2"
peer_as = 64512
passive = true

[[neighbors]]
address = "127.0.0.41"
peer_as = 64999
passive = true
import_policy = ["all"]
export_policy = ["all"]
"#
    ));
    let client = connect(pa, peer(64512, [127, 0, 0, 31])).await;
    let ext = {
        let target = SocketAddr::from(([127, 0, 0, 3], pb));
        let mut got = None;
        for _ in 0..50 {
            if let Ok(p) = LabPeer::connect(target, peer(64999, [127, 0, 0, 41])).await {
                got = Some(p);
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        got.expect("eBGP peer of B connects")
    };
    let mut r = LabRoute::new(vec![], "127.0.0.31".parse().unwrap());
    r.local_pref = Some(200);
    r.med = Some(5);
    client.announce(&r, &["192.0.2.0/24"]);
    assert!(
        ext.wait_for(Duration::from_secs(20), |r| r.has("192.0.2.0/24"))
            .await,
        "reflected by A to B, then sent by B over eBGP"
    );
    let got = ext.received();
    let (attrs, nh) = got.paths(&"192.0.2.0/24".parse().unwrap())[0];
    assert_eq!(
        attrs.as_path().unwrap().to_string(),
        "64512",
        "B prepends its AS toward eBGP"
    );
    assert_eq!(
        nh,
        "127.0.0.3".parse::<IpAddr>().unwrap(),
        "B is the next hop toward eBGP"
    );
    assert!(
        attrs.originator_id().is_none() && attrs.cluster_list().is_none(),
        "RR attributes stay inside the AS"
    );
    a.stop().await;
    b.stop().await;
}

/// Enhanced route refresh from a peer (RFC 7313 §4): what it does not send again between
/// its BoRR and its EoRR is withdrawn, from bgpd and from the peers bgpd sent it to. With
/// graceful restart announced, a BoRR before the peer's End-of-RIB is ignored (its EoRR then
/// has no BoRR and is ignored too), an EoRR alone changes nothing, and BoRR/EoRR pairs sent
/// in a burst right after a refresh do not reach the RIB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_the_peer_does_not_send_again_between_borr_and_eorr_is_withdrawn() {
    use bgp_proto::{Message, RouteRefresh, SUBTYPE_BORR, SUBTYPE_EORR};
    let v4 = Family::IPV4_UNICAST;
    let marker = |subtype| {
        Message::RouteRefresh(RouteRefresh {
            subtype,
            ..RouteRefresh::request(v4)
        })
    };
    let port = free_port();
    let bgpd = start(&route_server_config(port));
    let mut node = peer(64513, [127, 0, 0, 11]);
    node.graceful_restart = Some(120);
    let calico = connect(port, node).await;
    let lb1 = connect(port, peer(64514, [127, 0, 0, 21])).await;
    let pods = LabRoute::new(vec![64513], "127.0.0.11".parse().unwrap());
    calico.announce(&pods, &["10.244.1.0/26", "10.244.2.0/26"]);
    let both =
        |r: &bgpd::lab_peer::ReceivedRoutes| r.has("10.244.1.0/26") && r.has("10.244.2.0/26");
    assert!(lb1.wait_for(WAIT, both).await, "the node's blocks");

    // Before the node's End-of-RIB: BoRR and EoRR with nothing between are ignored.
    calico.send(marker(SUBTYPE_BORR));
    calico.send(marker(SUBTYPE_EORR));
    calico.end_of_rib(v4);
    calico.send(marker(SUBTYPE_EORR));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        both(&lb1.received()),
        "a BoRR before End-of-RIB was acted on"
    );

    // A refresh that sends one block again (a second after the last one ended, see
    // session/refresh_gate.rs): the other is withdrawn.
    tokio::time::sleep(Duration::from_millis(600)).await;
    calico.send(marker(SUBTYPE_BORR));
    calico.announce(&pods, &["10.244.1.0/26"]);
    calico.send(marker(SUBTYPE_EORR));
    assert!(
        lb1.wait_for(WAIT, |r| r.has("10.244.1.0/26") && !r.has("10.244.2.0/26"))
            .await,
        "the block not sent again between BoRR and EoRR is still announced"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        lb1.received().has("10.244.1.0/26"),
        "the block sent again was withdrawn"
    );

    // 200 empty refreshes at once, right after: passed on, the first would withdraw the
    // block; the RIB sees none of them (less than a second after the last refresh ended).
    for _ in 0..200 {
        calico.send(marker(SUBTYPE_BORR));
        calico.send(marker(SUBTYPE_EORR));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        lb1.received().has("10.244.1.0/26"),
        "a burst of BoRR/EoRR right after a refresh reached the RIB"
    );
    bgpd.stop().await;
}

/// The route server with its Calico node (127.0.0.11) and first MetalLB speaker
/// (127.0.0.21) connected.
async fn route_server_with_calico_and_a_speaker() -> (Running, LabPeer, LabPeer) {
    let port = free_port();
    let bgpd = start(&route_server_config(port));
    let calico = connect(port, peer(64513, [127, 0, 0, 11])).await;
    let lb1 = connect(port, peer(64514, [127, 0, 0, 21])).await;
    (bgpd, calico, lb1)
}

/// RFC 4271 §5 at the receiving peer, through the route server: an unknown optional
/// transitive attribute is passed on with the Partial bit set and its value unchanged; an
/// unknown optional non-transitive one is not passed on; a TUNNEL_ENCAPSULATION whose TLV
/// overruns it (BAD-INPUTS item 23) is discarded on receipt and never reaches another peer,
/// while the route does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_attributes_reach_other_peers_as_rfc_4271_says() {
    use bgp_proto::{AttributeValue, Message, Nlri, PathAttribute};
    let (bgpd, calico, lb1) = route_server_with_calico_and_a_speaker().await;
    let opaque = |type_code: u8, flags: u8, data: &[u8]| {
        let mut a = PathAttribute::new(AttributeValue::Unknown {
            type_code,
            data: data.into(),
        });
        a.flags = flags;
        a
    };
    let route = LabRoute::new(vec![64513], "127.0.0.11".parse().unwrap());
    let mut u = route.update(vec![Nlri::new("10.244.7.0/26".parse().unwrap())]);
    u.attributes.0.extend([
        opaque(250, 0xc0, &[0xab, 0xcd]),
        opaque(251, 0x80, &[0xab, 0xcd]),
        opaque(23, 0xc0, &[0, 8, 0xff, 0xff, 1]),
    ]);
    calico.send(Message::Update(u));
    assert!(
        lb1.wait_for(WAIT, |r| r.has("10.244.7.0/26")).await,
        "the route never reached the other peer"
    );
    let got = lb1.received();
    let (attrs, _) = got.paths(&"10.244.7.0/26".parse().unwrap())[0];
    let passed = attrs
        .get(250)
        .expect("the optional transitive attribute is passed on");
    assert_eq!(passed.flags, 0xe0, "passed on with the Partial bit");
    assert!(
        matches!(&passed.value, AttributeValue::Unknown { data, .. } if data[..] == [0xab, 0xcd]),
        "value unchanged: {passed:?}"
    );
    assert!(
        attrs.get(251).is_none(),
        "non-transitive passed on: {attrs:?}"
    );
    assert!(
        attrs.get(23).is_none(),
        "corrupt tunnel encapsulation passed on: {attrs:?}"
    );
    bgpd.stop().await;
}

/// RFC 4271 §6.3's semantic next-hop check at the receiving peer (BAD-INPUTS item 15): routes
/// whose next hop is in 0.0.0.0/8, multicast, the broadcast address or bgpd's own address are
/// ignored, never passed on, and the session stays up; a route with a usable next hop sent
/// after them arrives (so they had their chance to).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_with_unusable_next_hops_never_reach_other_peers() {
    let (bgpd, calico, lb1) = route_server_with_calico_and_a_speaker().await;
    let unusable = [
        ("0.0.0.5", "10.244.11.0/26"),
        ("224.0.0.5", "10.244.12.0/26"),
        ("255.255.255.255", "10.244.13.0/26"),
        ("127.0.0.2", "10.244.14.0/26"), // bgpd's own address
    ];
    for (next_hop, prefix) in unusable {
        calico.announce(
            &LabRoute::new(vec![64513], next_hop.parse().unwrap()),
            &[prefix],
        );
    }
    let usable = LabRoute::new(vec![64513], "127.0.0.11".parse().unwrap());
    calico.announce(&usable, &["10.244.15.0/26"]);
    assert!(
        lb1.wait_for(WAIT, |r| r.has("10.244.15.0/26")).await,
        "the route with a usable next hop never arrived"
    );
    // A moment more for anything that would have followed it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = lb1.received();
    for (next_hop, prefix) in unusable {
        assert!(!got.has(prefix), "{prefix} via {next_hop} was passed on");
    }
    assert!(
        !calico.received().closed,
        "the announcing session was closed"
    );
    bgpd.stop().await;
}
