//! Property test of the Update-Send pass's repeated decisions
//! ([`super::advertise`]'s `RepeatDecision`): a run of UPDATEs applied in one pass, where new
//! destinations sharing an attribute set repeat the first one's decision, leaves every peer
//! holding exactly what it holds when each prefix is applied alone (one destination per
//! pass: nothing to repeat, every destination decided group by group), on a fresh RIB or on
//! one loaded before; the RIB's record of what it sent names exactly what each peer holds,
//! and withdrawing everything leaves the peers holding nothing.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::table::Rib;
use super::table_tests::{rib_from, sent, session};
use bgp_proto::{
    AsPath, AttributeValue, Community, Family, MpNextHop, MpReach, MpUnreach, Nlri, Origin,
    PathAttribute, PathAttributes, SessionContext, Update,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

const V6: Family = Family::IPV6_UNICAST;

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

/// Prefix `i` of the pool: IPv4 /24s, and IPv6 /48s from 40 up.
fn prefix(i: u8) -> ipnet::IpNet {
    if i < 40 {
        format!("10.{}.{}.0/24", i / 16, i % 16).parse().unwrap()
    } else {
        format!("2001:db8:{i}::/48").parse().unwrap()
    }
}

fn update((peer, prefixes, variant): &Op) -> Update {
    let (v4, v6): (Vec<Nlri>, Vec<Nlri>) = prefixes
        .iter()
        .map(|i| Nlri::new(prefix(*i)))
        .partition(|n| n.prefix.addr().is_ipv4());
    let Some(v) = *variant else {
        let mut u = Update {
            withdrawn: v4,
            ..Update::default()
        };
        if !v6.is_empty() {
            u.attributes
                .0
                .push(PathAttribute::new(AttributeValue::from(MpUnreach {
                    family: V6,
                    withdrawn: v6,
                    opaque_nlri: bytes::Bytes::new(),
                })));
        }
        return u;
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
    let id = 31 + *peer as u8;
    let mut attrs = vec![
        PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
        PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(path))),
        PathAttribute::new(AttributeValue::Med(u32::from(v & 4))),
    ];
    if !v4.is_empty() {
        attrs.push(PathAttribute::new(AttributeValue::NextHop(Ipv4Addr::new(
            198, 51, 100, id,
        ))));
    }
    if v % 7 == 6 {
        attrs.push(PathAttribute::new(AttributeValue::Communities(
            vec![Community::NO_EXPORT].into(),
        )));
    }
    if !v6.is_empty() {
        attrs.push(PathAttribute::new(AttributeValue::from(MpReach {
            family: V6,
            next_hop: MpNextHop::Ipv6 {
                global: Ipv6Addr::new(0x2001, 0xdb8, 0x51, 0, 0, 0, 0, u16::from(id)),
                link_local: None,
            },
            nlri: v6,
            opaque_nlri: bytes::Bytes::new(),
        })));
    }
    Update {
        attributes: PathAttributes(attrs),
        nlri: v4,
        ..Update::default()
    }
}

/// What each peer holds after the UPDATEs it was sent: prefix → attributes.
type Held = BTreeMap<u32, BTreeMap<String, String>>;

/// An UPDATE's attributes as text, MP_REACH_NLRI reduced to its next hop (its NLRI are the
/// routes, listed apart) and MP_UNREACH_NLRI left out.
fn attributes_text(u: &Update) -> String {
    u.attributes
        .0
        .iter()
        .filter_map(|a| match &a.value {
            AttributeValue::MpReach(m) => Some(format!("next hop {:?}", m.next_hop)),
            AttributeValue::MpUnreach(_) => None,
            v => Some(format!("{v:?}")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn receive(held: &mut Held, outbox: &super::table::Outbox) {
    for peer in 0..PEERS {
        let table = held.entry(peer).or_default();
        for u in sent(outbox, peer, &SessionContext::default()) {
            for (_, n) in u.withdrawals() {
                table.remove(&n.prefix.to_string());
            }
            let text = attributes_text(&u);
            for (_, n) in u.announced() {
                table.insert(n.prefix.to_string(), text.clone());
            }
        }
    }
}

/// What every peer holds; which destinations the RIB records as advertised to it (its
/// bitmap); and its advertised count.
type Outcome = (Held, Vec<Vec<String>>, Vec<usize>);

fn outcome(rib: &Rib, held: Held) -> Outcome {
    let bits = (0..PEERS)
        .map(|p| {
            let mut keys: Vec<String> = rib
                .advertised_keys(p)
                .iter()
                .map(|(_, n, _)| n.to_string())
                .collect();
            keys.sort();
            keys
        })
        .collect();
    let counts = (0..PEERS)
        .map(|p| rib.peers[&p].advertised_total())
        .collect();
    (held, bits, counts)
}

/// A RIB loaded with `history` in one pass (what the peers were sent, kept), then `run`
/// either in one pass or prefix by prefix; then every peer withdraws every prefix of the
/// pool. The outcome after the run, and what the peers hold at the end (nothing, when the
/// RIB's records of what it sent are right).
fn play(history: &[Op], run: &[Op], one_pass: bool) -> (Outcome, Held) {
    let mut rib = rib();
    let mut held = Held::new();
    let out = rib.apply_updates(history.iter().map(|o| (o.0, update(o))).collect());
    receive(&mut held, &out);
    if one_pass {
        let out = rib.apply_updates(run.iter().map(|o| (o.0, update(o))).collect());
        receive(&mut held, &out);
    } else {
        for (peer, prefixes, variant) in run {
            for p in prefixes {
                let out = rib.apply_update(*peer, &update(&(*peer, vec![*p], *variant)));
                receive(&mut held, &out);
            }
        }
    }
    let after = outcome(&rib, held.clone());
    let all: Vec<u8> = (0..POOL).collect();
    let out = rib.apply_updates(
        (0..PEERS)
            .map(|p| (p, update(&(p, all.clone(), None))))
            .collect(),
    );
    receive(&mut held, &out);
    (after, held)
}

const POOL: u8 = 48;

fn op() -> impl Strategy<Value = Op> {
    (
        0..PEERS,
        proptest::collection::vec(0u8..POOL, 1..8),
        prop_oneof![1 => Just(None), 4 => (0u8..64).prop_map(Some)],
    )
}

/// Checks one case: the same outcome both ways, the bitmap naming exactly what each peer
/// holds, and nothing held once everything is withdrawn.
fn check(history: &[Op], run: &[Op]) -> Result<(), TestCaseError> {
    let (one, end_one) = play(history, run, true);
    let (each, end_each) = play(history, run, false);
    prop_assert_eq!(&one, &each);
    let (held, bits, counts) = &one;
    for p in 0..PEERS {
        let holds: Vec<String> = held
            .get(&p)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        let mut holds = holds;
        holds.sort();
        prop_assert_eq!(&holds, &bits[p as usize], "peer {}", p);
        prop_assert_eq!(holds.len(), counts[p as usize], "peer {}", p);
    }
    for end in [end_one, end_each] {
        prop_assert!(end.values().all(BTreeMap::is_empty), "{:?}", end);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every peer holds the same routes, the RIB records the same as advertised to it, and
    /// counts the same, whether a run of UPDATEs goes through one pass or prefix by prefix,
    /// on a fresh RIB or on one loaded with a history. The run's prefixes (IPv4 and IPv6)
    /// repeat within and across UPDATEs, several peers announce the same prefixes, some
    /// withdraw.
    #[test]
    fn repeated_decisions_send_what_deciding_each_destination_sends(
        history in proptest::collection::vec(op(), 0..16),
        run in proptest::collection::vec(op(), 1..24),
    ) {
        check(&history, &run)?;
    }
}

/// A table's worth of new destinations in one pass, in UPDATEs of several prefixes that
/// share sets (the case the repeats are for), against prefix by prefix.
#[test]
fn a_loaded_table_is_sent_as_deciding_each_destination_sends_it() {
    let ops: Vec<Op> = (0u8..POOL)
        .collect::<Vec<_>>()
        .chunks(6)
        .enumerate()
        .map(|(i, c)| (i as u32 % PEERS, c.to_vec(), Some((i as u8 * 5) % 64)))
        .collect();
    check(&[], &ops).unwrap();
    let ((held, _, counts), _) = play(&[], &ops, true);
    // Not vacuous: every peer got routes, other than those a path's AS or NO_EXPORT kept.
    assert!(held.values().all(|t| !t.is_empty()), "{held:?}");
    assert!(counts.iter().sum::<usize>() > usize::from(POOL));
}
