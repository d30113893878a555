//! Property test of the Update-Send pass's repeated decisions
//! ([`super::advertise`]'s `RepeatDecision`): a run of UPDATEs applied in one pass, where new
//! destinations sharing an attribute set repeat the first one's decision, leaves every peer
//! holding exactly what it holds when each prefix is applied alone (one destination per
//! pass: nothing to repeat, every destination decided group by group).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::table::Rib;
use super::table_tests::{rib_from, sent, session};
use bgp_proto::{
    AsPath, AttributeValue, Community, Nlri, Origin, PathAttribute, PathAttributes, SessionContext,
    Update,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

// Peers 0–2: route-server clients with one export policy (an update group); peers 3–4:
// plain eBGP peers with another (a second group). Every receiver is in a group and shares
// export results: the pass may repeat decisions.
fn conf() -> String {
    let mut conf = String::from(
        "[global]\nasn = 64512\nrouter_id = \"198.51.100.2\"\n\n[[policies]]\nname = \"all\"\n\
         [[policies.statements]]\naction = \"accept\"\n",
    );
    for (i, asn) in PEER_AS.iter().enumerate() {
        let role = if i < 3 {
            "role = \"route-server-client\"\n"
        } else {
            ""
        };
        conf.push_str(&format!(
            "\n[[neighbors]]\naddress = \"198.51.100.{}\"\npeer_as = {asn}\n{role}\
             import_policy = [\"all\"]\nexport_policy = [\"all\"]\n",
            31 + i
        ));
    }
    conf
}

const PEERS: u32 = 5;
const PEER_AS: [u32; 5] = [64601, 64602, 64603, 64604, 64605];

fn rib() -> Rib {
    let (mut rib, _) = rib_from(&conf());
    for i in 0..PEERS {
        rib.peer_up(i, session(31 + i as u8, false, false));
    }
    rib
}

/// One UPDATE: the sending peer, its prefixes (indices into a pool of /24s), and the
/// attribute variant (`None`: a withdrawal). Few variants, so that UPDATEs share sets.
type Op = (u32, Vec<u8>, Option<u8>);

fn prefix(i: u8) -> ipnet::IpNet {
    format!("10.{}.{}.0/24", i / 16, i % 16).parse().unwrap()
}

fn update((peer, prefixes, variant): &Op) -> Update {
    let nlri: Vec<Nlri> = prefixes.iter().map(|i| Nlri::new(prefix(*i))).collect();
    let Some(v) = *variant else {
        return Update {
            withdrawn: nlri,
            ..Update::default()
        };
    };
    // The variant decides the AS path's length and whether it goes through another peer's
    // AS (that peer may not have it: RFC 4271 §9.1.2), the MED, and NO_EXPORT (nothing to
    // the plain eBGP peers, RFC 1997).
    let me = PEER_AS[*peer as usize];
    let mut path = vec![me];
    path.extend(std::iter::repeat_n(65000, usize::from(v % 3)));
    if v & 8 != 0 {
        path.push(PEER_AS[usize::from(v / 16) % PEER_AS.len()]);
    }
    let mut attrs = vec![
        PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
        PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(path))),
        PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(
            198,
            51,
            100,
            31 + *peer as u8,
        ))),
        PathAttribute::new(AttributeValue::Med(u32::from(v & 4))),
    ];
    if v % 7 == 6 {
        attrs.push(PathAttribute::new(AttributeValue::Communities(
            vec![Community::NO_EXPORT].into(),
        )));
    }
    Update {
        attributes: PathAttributes(attrs),
        nlri,
        ..Update::default()
    }
}

/// What each peer holds after the UPDATEs it was sent: prefix → attributes.
type Held = BTreeMap<u32, BTreeMap<String, String>>;

fn receive(held: &mut Held, outbox: &super::table::Outbox) {
    for peer in 0..PEERS {
        let table = held.entry(peer).or_default();
        for u in sent(outbox, peer, &SessionContext::default()) {
            for n in &u.withdrawn {
                table.remove(&n.prefix.to_string());
            }
            for n in &u.nlri {
                table.insert(n.prefix.to_string(), format!("{:?}", u.attributes));
            }
        }
    }
}

/// What every peer holds, and what the RIB counts as advertised to it.
fn outcome(rib: &Rib, held: Held) -> (Held, Vec<usize>) {
    let counts = (0..PEERS)
        .map(|p| rib.peers[&p].advertised_total())
        .collect();
    (held, counts)
}

fn in_one_pass(ops: &[Op]) -> (Held, Vec<usize>) {
    let mut rib = rib();
    let mut held = Held::new();
    let out = rib.apply_updates(ops.iter().map(|o| (o.0, update(o))).collect());
    receive(&mut held, &out);
    outcome(&rib, held)
}

fn prefix_by_prefix(ops: &[Op]) -> (Held, Vec<usize>) {
    let mut rib = rib();
    let mut held = Held::new();
    for (peer, prefixes, variant) in ops {
        for p in prefixes {
            let out = rib.apply_update(*peer, &update(&(*peer, vec![*p], *variant)));
            receive(&mut held, &out);
        }
    }
    outcome(&rib, held)
}

fn op() -> impl Strategy<Value = Op> {
    (
        0..PEERS,
        proptest::collection::vec(0u8..48, 1..8),
        prop_oneof![1 => Just(None), 4 => (0u8..64).prop_map(Some)],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every peer holds the same routes (and the RIB counts the same advertised) whether a
    /// run of UPDATEs goes through one pass or prefix by prefix. The run's prefixes repeat
    /// within and across UPDATEs, several peers announce the same prefixes, some withdraw.
    #[test]
    fn repeated_decisions_send_what_deciding_each_destination_sends(
        ops in proptest::collection::vec(op(), 1..24),
    ) {
        prop_assert_eq!(in_one_pass(&ops), prefix_by_prefix(&ops));
    }
}

/// A table's worth of new destinations in one pass, in UPDATEs of several prefixes that
/// share sets (the case the repeats are for), against prefix by prefix.
#[test]
fn a_loaded_table_is_sent_as_deciding_each_destination_sends_it() {
    let ops: Vec<Op> = (0u8..48)
        .collect::<Vec<_>>()
        .chunks(6)
        .enumerate()
        .map(|(i, c)| (i as u32 % PEERS, c.to_vec(), Some((i as u8 * 5) % 64)))
        .collect();
    let (held, counts) = in_one_pass(&ops);
    assert_eq!((held.clone(), counts.clone()), prefix_by_prefix(&ops));
    // Not vacuous: every peer got routes, other than those a path's AS or NO_EXPORT kept.
    assert!(held.values().all(|t| !t.is_empty()), "{held:?}");
    assert!(counts.iter().sum::<usize>() > 48);
}
