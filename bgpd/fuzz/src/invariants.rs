//! What must hold after every step of the `session_rib` target; a broken rule panics with
//! the step number, which is the fuzzer's finding.

use crate::lab::{Lab, WireKey};
use bgp_proto::{frame_len, Community, Family, Message, MAX_EXTENDED_MESSAGE_LEN};
use bgpd::rib::best_path::{self, Candidate};
use bgpd::rib::route::PeerId;
use bgpd::session::fsm::{State, Timer};
use std::collections::{HashMap, HashSet};

/// Checks the FSMs, the Loc-RIB against the Adj-RIBs-In, and each Adj-RIB-Out against what
/// the peer was actually sent.
pub fn check(lab: &Lab) {
    let step = lab.step;
    for (i, p) in lab.peers.iter().enumerate() {
        let id = i as PeerId;
        let entry = &lab.rib.peers[&id];
        let up = p.fsm.state() == State::Established;
        assert_eq!(
            up,
            p.established,
            "step {step}: peer {i} FSM {} but the driver says established={}",
            p.fsm.state(),
            p.established
        );
        assert_eq!(
            up,
            entry.session.is_some(),
            "step {step}: peer {i} FSM {} but the RIB has session={}",
            p.fsm.state(),
            entry.session.is_some()
        );
        assert!(
            !up || p.fsm.negotiated().is_some(),
            "step {step}: peer {i} Established without negotiated parameters"
        );
        // RFC 4271 §8.2.2: Idle runs neither the hold nor the keepalive timer.
        if p.fsm.state() == State::Idle {
            for t in [Timer::Keepalive, Timer::Hold] {
                assert!(
                    !p.fsm.timer_running(t),
                    "step {step}: peer {i} in Idle with the {t} timer running"
                );
            }
        }
        // The received counts (max-prefix, RFC 4486) match the Adj-RIB-In.
        let mut received: HashMap<Family, usize> = HashMap::new();
        for ((f, _, _), _) in lab.rib.adj_rib_in(id) {
            *received.entry(f).or_default() += 1;
        }
        for f in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            assert_eq!(
                entry.adj_in.count(f),
                received.get(&f).copied().unwrap_or(0),
                "step {step}: peer {i}: received count for {f} differs from its Adj-RIB-In"
            );
        }
        let sent = lab.rib.advertised_keys(id);
        if !up {
            assert!(
                sent.is_empty(),
                "step {step}: peer {i} is down but its Adj-RIB-Out holds {} prefixes",
                sent.len()
            );
        }
        // The Adj-RIB-Out is exactly what the peer was sent and not withdrawn since.
        let adj_out: HashSet<WireKey> = sent.iter().copied().collect();
        let holds: HashSet<WireKey> = p.holds.keys().copied().collect();
        if adj_out != holds {
            let only_rib: Vec<_> = adj_out.difference(&holds).collect();
            let only_sent: Vec<_> = holds.difference(&adj_out).collect();
            panic!(
                "step {step}: peer {i}: Adj-RIB-Out and what was sent differ; \
                 only in the Adj-RIB-Out: {only_rib:?}; only sent: {only_sent:?}"
            );
        }
        // Nothing goes back to the peer it came from, and nothing stays advertised that the
        // Loc-RIB no longer has from another peer.
        for (f, n, _) in &sent {
            let others = lab
                .rib
                .loc
                .get(&(*f, *n))
                .is_some_and(|d| d.paths.iter().any(|x| x.peer != id));
            assert!(
                others,
                "step {step}: {n} advertised to peer {i} but no other peer has it in the Loc-RIB"
            );
        }
    }

    for ((family, prefix), d) in &lab.rib.loc {
        assert!(
            !d.paths.is_empty(),
            "step {step}: empty destination {prefix} left in the Loc-RIB"
        );
        let Some(best) = d.best() else {
            panic!(
                "step {step}: {prefix} has {} paths and no best",
                d.paths.len()
            );
        };
        assert!(best < d.paths.len(), "step {step}: best index out of range");
        // RFC 4271 §9.1.2.2: the marked best path is what selection picks now.
        let candidates: Vec<Candidate<'_>> = d
            .paths
            .iter()
            .filter_map(|x| {
                let e = lab.rib.peers.get(&x.peer)?;
                Some(Candidate {
                    attrs: &x.attrs,
                    ebgp: !e.neighbor.ibgp,
                    peer_id: e.last_bgp_id,
                    peer_address: e.neighbor.address,
                    // RFC 9494 §4.2: long-lived stale paths lose against all others.
                    llgr_stale: x.llgr_stale
                        || x.attrs.communities().contains(&Community::LLGR_STALE),
                })
            })
            .collect();
        assert_eq!(
            candidates.len(),
            d.paths.len(),
            "step {step}: {prefix} has a path from an unknown peer"
        );
        let now = best_path::select(candidates);
        assert_eq!(
            now,
            Some(best),
            "step {step}: {prefix}: best path marked {best} but selection picks {now:?}"
        );
        let mut seen = HashSet::new();
        for x in &d.paths {
            assert!(
                seen.insert((x.peer, x.received_path_id)),
                "step {step}: {prefix}: two paths from peer {} with path id {}",
                x.peer,
                x.received_path_id
            );
            let e = &lab.rib.peers[&x.peer];
            let p = &lab.peers[x.peer as usize];
            if e.session.is_none() {
                // RFC 4724 §4.2: a down peer's routes are gone unless kept as stale.
                assert!(
                    x.stale,
                    "step {step}: {prefix} from peer {} which is down, not stale",
                    x.peer
                );
            }
            // Stale paths come from a graceful restart (RFC 4724 §4.2) or from an enhanced
            // route refresh still open (RFC 7313 §4: BoRR received, EoRR not yet).
            if x.stale {
                assert!(
                    p.had_graceful_restart || e.refreshing.contains(family),
                    "step {step}: {prefix} stale from peer {} which never had graceful \
                     restart and has no enhanced route refresh open",
                    x.peer
                );
            }
        }
    }
}

/// Checks one peer's output of one RIB operation and applies it to the model of what the
/// peer holds: it decodes cleanly, goes only to an established session, never announces and
/// withdraws the same route in one batch, withdraws only what was announced, and never
/// carries ORIGINATOR_ID 0.0.0.0.
pub fn check_batch(lab: &mut Lab, q: PeerId, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let step = lab.step;
    let Some(session) = lab
        .rib
        .peers
        .get(&q)
        .and_then(|e| e.session.as_ref())
        .cloned()
    else {
        panic!(
            "step {step}: {} octets for peer {q} whose session is down",
            bytes.len()
        );
    };
    let ctx = session.send_context;
    let mut actions: HashMap<WireKey, (bool, bool)> = HashMap::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = match frame_len(rest, MAX_EXTENDED_MESSAGE_LEN) {
            Ok(Some(len)) if len <= rest.len() => len,
            other => panic!("step {step}: output to peer {q} does not frame: {other:?}"),
        };
        let (one, tail) = rest.split_at(len);
        rest = tail;
        let m = match Message::decode(one, &ctx) {
            Ok(m) => m,
            Err(e) => panic!("step {step}: output to peer {q} does not decode: {e}"),
        };
        let Message::Update(u) = m else {
            panic!(
                "step {step}: the RIB sent peer {q} a {:?}",
                m.message_type()
            );
        };
        assert!(
            u.issues.is_empty(),
            "step {step}: output to peer {q} has RFC 7606 issues: {:?}",
            u.issues
        );
        if u.end_of_rib().is_some() {
            continue;
        }
        if let Some(o) = u.attributes.originator_id() {
            assert!(
                !o.is_unspecified(),
                "step {step}: ORIGINATOR_ID 0.0.0.0 sent to peer {q} (RFC 4456 §8)"
            );
        }
        let holds = &mut lab.peers[q as usize].holds;
        for (f, n) in u.withdrawals() {
            let key = (f, n.prefix, n.path_id.unwrap_or(0));
            actions.entry(key).or_default().1 = true;
            assert!(
                holds.remove(&key).is_some(),
                "step {step}: peer {q} sent a withdrawal of {key:?} it was never announced"
            );
        }
        for (f, n) in u.announced() {
            let key = (f, n.prefix, n.path_id.unwrap_or(0));
            actions.entry(key).or_default().0 = true;
            holds.insert(key, ());
        }
    }
    for (key, (announced, withdrawn)) in actions {
        assert!(
            !(announced && withdrawn),
            "step {step}: one batch to peer {q} both announces and withdraws {key:?}"
        );
    }
}
