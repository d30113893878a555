//! Property test: the Loc-RIB after any permutation of the same announcements and
//! withdrawals is the same, as long as the last operation for each (peer, prefix) — the final
//! intent — is the same. Drives `bgpd::rib::table::Rib` directly, as rib/table_tests.rs does:
//! three eBGP peers (two in the same AS, so MED is compared between them, one in another
//! AS) and one iBGP peer, IPv4 and IPv6 prefixes, paths that differ in AS_PATH length, MED,
//! ORIGIN and next hop.

use bgp_proto::{
    AsPath, AttributeValue, Family, FamilySet, MpNextHop, MpReach, MpUnreach, Nlri, Origin,
    PathAttribute, PathAttributes, SessionContext, Update,
};
use bgpd::config::load_str;
use bgpd::rib::table::{Rib, SessionInfo};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const CONF: &str = r#"
[global]
asn = 64512
router_id = "198.51.100.2"

[[policies]]
name = "all"
[[policies.statements]]
action = "accept"

[[neighbors]]
address = "198.51.100.11"
peer_as = 64513
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.12"
peer_as = 64513
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.21"
peer_as = 64514
import_policy = ["all"]
export_policy = ["all"]

[[neighbors]]
address = "198.51.100.3"
peer_as = 64512
"#;

const PEERS: [(u32, u8, bool); 4] = [
    (64513, 11, false),
    (64513, 12, false),
    (64514, 21, false),
    (64512, 3, true),
];
const PREFIXES: [&str; 6] = [
    "10.244.1.0/26",
    "10.244.2.0/26",
    "10.244.0.0/16",
    "203.0.113.0/24",
    "fd00:10:244::/122",
    "2001:db8:1::/48",
];

fn rib() -> Rib {
    let cfg = load_str(CONF, "t.toml").unwrap();
    let mut rib = Rib::for_config(&cfg);
    for (i, n) in cfg.neighbors.iter().enumerate() {
        rib.configure_peer(i as u32, n.clone());
    }
    for (i, (_, id, ibgp)) in PEERS.iter().enumerate() {
        rib.peer_up(
            i as u32,
            SessionInfo {
                bgp_id: Ipv4Addr::new(10, 0, 0, *id),
                local_address: Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2))),
                families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
                add_path_send: FamilySet::EMPTY,
                send_context: SessionContext {
                    ibgp: *ibgp,
                    ..SessionContext::default()
                },
                four_octet_as: true,
                graceful_restart: None,
                graceful_restart_families: FamilySet::EMPTY,
            },
        );
    }
    rib
}

/// One operation: peer, prefix, and the path variant to announce (None: withdraw).
type Op = (usize, usize, Option<u8>);

fn update(op: &Op) -> Update {
    let (peer, prefix, variant) = *op;
    let net: ipnet::IpNet = PREFIXES[prefix].parse().unwrap();
    let v6 = matches!(net, ipnet::IpNet::V6(_));
    let family = if v6 {
        Family::IPV6_UNICAST
    } else {
        Family::IPV4_UNICAST
    };
    let Some(v) = variant else {
        return if v6 {
            Update {
                attributes: PathAttributes(vec![PathAttribute::new(AttributeValue::from(
                    MpUnreach {
                        family,
                        withdrawn: vec![Nlri::new(net)],
                        opaque_nlri: bytes::Bytes::new(),
                    },
                ))]),
                ..Update::default()
            }
        } else {
            Update {
                withdrawn: vec![Nlri::new(net)],
                ..Update::default()
            }
        };
    };
    let (asn, id, ibgp) = PEERS[peer];
    // The variant decides AS_PATH length, MED, ORIGIN and next hop.
    let mut path = if ibgp { vec![] } else { vec![asn] };
    path.extend(std::iter::repeat_n(65000, usize::from(v % 3)));
    let mut attrs = vec![
        PathAttribute::new(AttributeValue::Origin(if v & 4 == 0 {
            Origin::Igp
        } else {
            Origin::Incomplete
        })),
        PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(path))),
        PathAttribute::new(AttributeValue::Med(u32::from(v / 8))),
    ];
    if ibgp {
        attrs.push(PathAttribute::new(AttributeValue::LocalPref(100)));
    }
    if v6 {
        attrs.push(PathAttribute::new(AttributeValue::from(MpReach {
            family,
            next_hop: MpNextHop::Ipv6 {
                global: Ipv6Addr::new(0x2001, 0xdb8, 0x51, 0, 0, 0, 0, u16::from(id)),
                link_local: None,
            },
            nlri: vec![Nlri::new(net)],
            opaque_nlri: bytes::Bytes::new(),
        })));
        Update {
            attributes: PathAttributes(attrs),
            ..Update::default()
        }
    } else {
        attrs.push(PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(
            198, 51, 100, id,
        ))));
        Update {
            attributes: PathAttributes(attrs),
            nlri: vec![Nlri::new(net)],
            ..Update::default()
        }
    }
}

/// The Loc-RIB as comparable text: per prefix, every path (peer, path id, attributes,
/// stale) in peer order, and which one is best.
fn loc_rib(rib: &Rib) -> BTreeMap<String, (Vec<String>, Option<String>)> {
    rib.loc
        .iter()
        .filter(|(_, d)| !d.paths.is_empty())
        .map(|((f, p), d)| {
            let mut paths: Vec<String> = d
                .paths
                .iter()
                .map(|x| {
                    format!(
                        "peer {} id {} {:?} stale {}",
                        x.peer, x.received_path_id, x.attrs, x.stale
                    )
                })
                .collect();
            let best = d.best().map(|b| paths[b].clone());
            paths.sort();
            (format!("{f:?} {p}"), (paths, best))
        })
        .collect()
}

fn apply(ops: &[Op]) -> BTreeMap<String, (Vec<String>, Option<String>)> {
    let mut r = rib();
    for op in ops {
        r.apply_update(op.0 as u32, &update(op));
    }
    loc_rib(&r)
}

fn op() -> impl Strategy<Value = Op> {
    (
        0..PEERS.len(),
        0..PREFIXES.len(),
        prop_oneof![1 => Just(None), 3 => (0u8..24).prop_map(Some)],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A random history in two orders (a permutation), then one final operation for every
    /// (peer, prefix) the history or the finals touch, in two orders: the Loc-RIB is the
    /// same both ways, and the same as applying only the final operations.
    #[test]
    fn loc_rib_is_independent_of_the_order(
        (history, permuted) in proptest::collection::vec(op(), 0..40)
            .prop_flat_map(|h| (Just(h.clone()), Just(h).prop_shuffle())),
        generated_finals in proptest::collection::vec(op(), 0..24),
        salt in any::<u64>(),
        reuse_last in any::<bool>(),
    ) {
        // The final intent per key: a generated final operation, else (for keys only the
        // history touched) the key's last history operation or a withdrawal.
        let mut finals = BTreeMap::new();
        for o in &history {
            let last = if reuse_last { *o } else { (o.0, o.1, None) };
            finals.insert((o.0, o.1), last);
        }
        for o in generated_finals {
            finals.insert((o.0, o.1), o);
        }
        let finals: Vec<Op> = finals.into_values().collect();
        let mut finals_permuted = finals.clone();
        finals_permuted.sort_by_key(|o| {
            use std::hash::{Hash as _, Hasher as _};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (salt, o.0, o.1).hash(&mut h);
            h.finish()
        });
        let a: Vec<Op> = history.iter().chain(&finals).copied().collect();
        let b: Vec<Op> = permuted.iter().chain(&finals_permuted).copied().collect();
        let ra = apply(&a);
        prop_assert_eq!(&ra, &apply(&b));
        prop_assert_eq!(&ra, &apply(&finals));
    }
}
