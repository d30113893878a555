//! Routes waiting for a peer that reads slower than the RIB decides, kept one entry per route.
//!
//! The RIB hands each peer task what to send ([`Outgoing`]); the task packs it and queues the
//! octets for its writer ([`super::writer`]). While the peer keeps up, that is all. A peer
//! that reads slowly but steadily (so the send hold timer, RFC 9687, never ends the session)
//! while routes keep changing would otherwise make the writer's queue grow with every
//! change: ten changes of one route are ten UPDATEs waiting, and the queue has no bound.
//!
//! So once the writer holds [`HIGH_WATER`] octets, further routes wait here, **coalesced**:
//! one entry per (family, prefix, path id) holding the latest decision, an announcement with
//! its attribute set or a withdrawal. RFC 4271 §9.2 asks only that the peer ends up with the
//! routes the Decision Process selected, not with every intermediate state: a route
//! announced and changed while waiting goes out once, with its latest attributes; announced
//! then withdrawn, it goes out as the withdrawal. (FRR's adj-out and BIRD's export buckets
//! keep one pending change per prefix in the same way.) What waits is therefore bounded by
//! the routes the peer is sent, not by how often they change.
//!
//! Messages the RIB encoded itself (End-of-RIB, the BoRR/EoRR of an enhanced route refresh)
//! must keep their place among the routes: each starts a new group, and routes are only
//! coalesced with those queued after the last such message. When the writer's queue falls
//! to [`LOW_WATER`] the task takes groups from the front, [`CHUNK_ROUTES`] routes at a time,
//! packs them (announcements regrouped by attribute set) and queues them for the writer.

use crate::rib::outbox::{Outgoing, RouteBatch};
use crate::rib::route::{RouteAttrs, SharedAttrs};
use bgp_proto::{Family, Message, Nlri, SessionContext};
use bytes::BytesMut;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Octets queued in the writer above which routes wait here, coalesced.
pub const HIGH_WATER: u64 = 4 << 20;

/// Octets queued in the writer at or below which waiting routes are packed and queued again.
pub const LOW_WATER: u64 = 1 << 20;

/// Routes packed per step when the queue has room (about 200 KiB of UPDATEs for a table
/// whose routes do not share attributes).
pub const CHUNK_ROUTES: usize = 4096;

/// Routes and RIB-encoded messages waiting for the peer's window, in sending order.
#[derive(Debug, Default)]
pub struct Waiting {
    groups: VecDeque<Group>,
    routes: usize,
    /// `routes`, for `show neighbor` and the API (zero again when the connection goes).
    shown: Arc<AtomicU64>,
}

/// One run of waiting output.
#[derive(Debug)]
enum Group {
    /// Messages the RIB encoded (End-of-RIB, BoRR/EoRR), written as they are.
    Encoded(BytesMut),
    /// Routes, the latest decision per route.
    Routes(Coalesced),
}

/// Coalesced routes: per (family, NLRI) the attributes to announce, or `None` to withdraw.
#[derive(Debug)]
struct Coalesced {
    /// The session's encoding and the peer's address, from the first batch.
    template: RouteBatch,
    routes: HashMap<(Family, Nlri), Option<SharedAttrs>>,
}

impl Waiting {
    /// An empty queue whose route count is kept in `shown`.
    pub fn new(shown: Arc<AtomicU64>) -> Self {
        shown.store(0, Ordering::Relaxed);
        Waiting {
            groups: VecDeque::new(),
            routes: 0,
            shown,
        }
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Routes waiting (announcements and withdrawals).
    pub fn routes(&self) -> usize {
        self.routes
    }

    /// Whether a BoRR for `family` (RFC 7313 §4) waits here, not yet sent: the answer to an
    /// earlier ROUTE-REFRESH request has not started to leave.
    pub fn holds_refresh_start(&self, family: Family) -> bool {
        self.groups.iter().any(|g| match g {
            Group::Encoded(bytes) => refresh_starts(bytes).any(|f| f == family),
            Group::Routes(_) => false,
        })
    }

    /// Adds the RIB's output for `peer` behind what waits, replacing the waiting decision for
    /// any route it decides again.
    pub fn push(&mut self, peer: IpAddr, parts: Vec<Outgoing>) {
        for part in parts {
            match part {
                Outgoing::Encoded(bytes) => match self.groups.back_mut() {
                    Some(Group::Encoded(last)) => last.extend_from_slice(&bytes),
                    _ if bytes.is_empty() => {}
                    _ => self.groups.push_back(Group::Encoded(bytes)),
                },
                Outgoing::Routes(batch) => self.push_routes(peer, &batch),
                // Waiting is per peer: the shared routes join this peer's coalesced ones.
                Outgoing::Shared(shared) => self.push_routes(peer, &shared.batch),
            }
        }
        self.shown.store(self.routes as u64, Ordering::Relaxed);
    }

    fn push_routes(&mut self, peer: IpAddr, batch: &RouteBatch) {
        if !matches!(self.groups.back(), Some(Group::Routes(_))) {
            self.groups.push_back(Group::Routes(Coalesced {
                template: RouteBatch {
                    peer,
                    ctx: batch.ctx,
                    withdraw: Vec::new(),
                    announce: Vec::new(),
                },
                routes: HashMap::new(),
            }));
        }
        let Some(Group::Routes(pending)) = self.groups.back_mut() else {
            return;
        };
        let before = pending.routes.len();
        // A batch's withdrawals are written before its announcements: a route in both ends
        // up announced.
        for (family, nlri) in &batch.withdraw {
            for n in nlri {
                pending.routes.insert((*family, *n), None);
            }
        }
        for (family, attrs, nlri) in &batch.announce {
            for n in nlri {
                pending.routes.insert((*family, *n), Some(attrs.clone()));
            }
        }
        self.routes += pending.routes.len() - before;
    }

    /// Takes the next piece to send: the front group's encoded messages whole, or up to
    /// `max_routes` of its routes as one batch (announcements regrouped by attribute set).
    pub fn next(&mut self, max_routes: usize) -> Option<Outgoing> {
        let front = self.groups.front_mut()?;
        let out = match front {
            Group::Encoded(bytes) => Outgoing::Encoded(std::mem::take(bytes)),
            Group::Routes(pending) => {
                let taken: Vec<_> = pending
                    .routes
                    .extract_if(|_, _| true)
                    .take(max_routes)
                    .collect();
                self.routes = self.routes.saturating_sub(taken.len());
                Outgoing::Routes(batch_of(&pending.template, taken))
            }
        };
        let done = match front {
            Group::Encoded(bytes) => bytes.is_empty(),
            Group::Routes(pending) => pending.routes.is_empty(),
        };
        if done {
            self.groups.pop_front();
        }
        self.shown.store(self.routes as u64, Ordering::Relaxed);
        Some(out)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.shown.store(0, Ordering::Relaxed);
    }
}

/// The families of the BoRR messages among the whole messages in `bytes`.
fn refresh_starts(bytes: &[u8]) -> impl Iterator<Item = Family> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || loop {
        let len = match bgp_proto::frame_len(rest, bgp_proto::MAX_EXTENDED_MESSAGE_LEN) {
            Ok(Some(len)) if len <= rest.len() => len,
            _ => return None,
        };
        let (frame, after) = rest.split_at(len);
        rest = after;
        if let Ok(Message::RouteRefresh(rr)) = Message::decode(frame, &SessionContext::default()) {
            if rr.subtype == bgp_proto::SUBTYPE_BORR {
                return Some(rr.family);
            }
        }
    })
}

/// A batch of `routes` for the peer of `template`: withdrawals per family, announcements per
/// (family, attribute set), so that routes sharing a set are packed into shared UPDATEs.
fn batch_of(
    template: &RouteBatch,
    routes: Vec<((Family, Nlri), Option<SharedAttrs>)>,
) -> RouteBatch {
    let mut withdraw: Vec<(Family, Vec<Nlri>)> = Vec::new();
    let mut announce: Vec<(Family, SharedAttrs, Vec<Nlri>)> = Vec::new();
    let mut sets: HashMap<(Family, *const RouteAttrs), usize> = HashMap::new();
    for ((family, nlri), attrs) in routes {
        match attrs {
            None => match withdraw.iter_mut().find(|(f, _)| *f == family) {
                Some((_, v)) => v.push(nlri),
                None => withdraw.push((family, vec![nlri])),
            },
            Some(attrs) => {
                let i = *sets
                    .entry((family, Arc::as_ptr(&attrs)))
                    .or_insert_with(|| {
                        announce.push((family, attrs.clone(), Vec::new()));
                        announce.len() - 1
                    });
                if let Some((_, _, v)) = announce.get_mut(i) {
                    v.push(nlri);
                }
            }
        }
    }
    RouteBatch {
        peer: template.peer,
        ctx: template.ctx,
        withdraw,
        announce,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::rib::route::NextHop;
    use bgp_proto::{AttributeValue, PathAttribute, PathAttributes, RouteRefresh};
    use std::net::Ipv4Addr;

    fn attrs(med: u32) -> SharedAttrs {
        Arc::new(RouteAttrs::new(
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            PathAttributes(vec![PathAttribute::new(AttributeValue::Med(med))]),
        ))
    }

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 21));

    fn nlri(i: u32) -> Nlri {
        Nlri::new(format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap())
    }

    fn batch(withdraw: &[u32], announce: &[(u32, &SharedAttrs)]) -> Outgoing {
        let v4 = Family::IPV4_UNICAST;
        Outgoing::Routes(RouteBatch {
            peer: "127.0.0.21".parse().unwrap(),
            ctx: SessionContext::default(),
            withdraw: if withdraw.is_empty() {
                vec![]
            } else {
                vec![(v4, withdraw.iter().map(|i| nlri(*i)).collect())]
            },
            announce: announce
                .iter()
                .map(|(i, a)| (v4, (*a).clone(), vec![nlri(*i)]))
                .collect(),
        })
    }

    /// Every route of the pieces `next` gives, in order, with its latest decision.
    fn drain(out: &mut Waiting, chunk: usize) -> (Vec<Vec<u8>>, HashMap<Nlri, Option<u32>>) {
        let mut encoded = Vec::new();
        let mut routes = HashMap::new();
        while let Some(piece) = out.next(chunk) {
            match piece {
                Outgoing::Encoded(b) => encoded.push(b.to_vec()),
                Outgoing::Routes(b) => {
                    assert!(b.prefixes() <= chunk);
                    for (_, n) in &b.withdraw {
                        for n in n {
                            assert!(routes.insert(*n, None).is_none(), "a route twice");
                        }
                    }
                    for (_, a, n) in &b.announce {
                        for n in n {
                            let med = a.med();
                            assert!(routes.insert(*n, med).is_none(), "a route twice");
                        }
                    }
                }
                Outgoing::Shared(_) => panic!("waiting routes are the peer's own batches"),
            }
        }
        assert_eq!(out.routes(), 0);
        assert!(out.is_empty());
        (encoded, routes)
    }

    #[test]
    fn a_route_decided_again_while_waiting_goes_out_once_with_the_latest_decision() {
        let (a1, a2) = (attrs(1), attrs(2));
        let mut out = Waiting::default();
        for round in 0..10u32 {
            let a = if round % 2 == 0 { &a1 } else { &a2 };
            let announced: Vec<(u32, &SharedAttrs)> = (0..100).map(|i| (i, a)).collect();
            out.push(PEER, vec![batch(&[], &announced)]);
        }
        // Route 5 is withdrawn, route 6 withdrawn then announced again in one batch.
        out.push(PEER, vec![batch(&[5, 6], &[(6, &a1)])]);
        assert_eq!(out.routes(), 100);
        let (encoded, routes) = drain(&mut out, 30);
        assert!(encoded.is_empty());
        assert_eq!(routes.len(), 100);
        assert_eq!(routes[&nlri(5)], None);
        assert_eq!(routes[&nlri(6)], Some(1));
        assert_eq!(routes[&nlri(7)], Some(2), "the last round's set");
    }

    #[test]
    fn rib_encoded_messages_keep_their_place_and_are_not_coalesced_across() {
        let (a1, a2) = (attrs(1), attrs(2));
        let mut out = Waiting::default();
        out.push(PEER, vec![batch(&[], &[(1, &a1), (2, &a1)])]);
        out.push(PEER, vec![Outgoing::Encoded(BytesMut::from(&b"EOR"[..]))]);
        out.push(PEER, vec![batch(&[], &[(1, &a2)])]);
        assert_eq!(out.routes(), 3);
        let first = out.next(10).unwrap();
        let Outgoing::Routes(b) = first else {
            panic!("routes first")
        };
        assert_eq!(b.announce.len(), 1, "one attribute set, one group");
        assert_eq!(b.announce[0].2.len(), 2);
        assert!(matches!(out.next(10), Some(Outgoing::Encoded(e)) if &e[..] == b"EOR"));
        let Some(Outgoing::Routes(b)) = out.next(10) else {
            panic!("routes after the marker")
        };
        assert_eq!(b.announce[0].1.med(), Some(2));
        assert!(out.next(10).is_none());
        assert!(out.is_empty());
    }

    #[test]
    fn what_waits_is_bounded_by_the_routes_not_the_changes() {
        let sets: Vec<SharedAttrs> = (0..50).map(attrs).collect();
        let mut out = Waiting::default();
        for set in &sets {
            let announced: Vec<(u32, &SharedAttrs)> = (0..1000).map(|i| (i, set)).collect();
            out.push(PEER, vec![batch(&[], &announced)]);
            assert_eq!(out.routes(), 1000);
        }
        let (_, routes) = drain(&mut out, 4096);
        assert!(routes.values().all(|m| *m == Some(49)));
    }

    /// A BoRR is found among the waiting markers until it is taken, for its family only.
    #[test]
    fn a_waiting_borr_is_found_until_it_is_taken() {
        let marker = |subtype, family| {
            let m = Message::RouteRefresh(RouteRefresh {
                subtype,
                ..RouteRefresh::request(family)
            });
            Outgoing::Encoded(m.to_bytes(&SessionContext::default()).unwrap().into())
        };
        let v4 = Family::IPV4_UNICAST;
        let a = attrs(1);
        let mut out = Waiting::default();
        out.push(PEER, vec![batch(&[], &[(1, &a)])]);
        assert!(!out.holds_refresh_start(v4));
        // An EoRR of an earlier refresh and the next BoRR share one group.
        out.push(PEER, vec![marker(bgp_proto::SUBTYPE_EORR, v4)]);
        assert!(!out.holds_refresh_start(v4));
        out.push(
            PEER,
            vec![
                marker(bgp_proto::SUBTYPE_BORR, v4),
                batch(&[], &[(2, &a)]),
                marker(bgp_proto::SUBTYPE_EORR, v4),
            ],
        );
        assert!(out.holds_refresh_start(v4));
        assert!(!out.holds_refresh_start(Family::IPV6_UNICAST));
        // The routes before it, then the markers: the BoRR has left.
        assert!(matches!(out.next(10), Some(Outgoing::Routes(_))));
        assert!(matches!(out.next(10), Some(Outgoing::Encoded(_))));
        assert!(!out.holds_refresh_start(v4));
    }

    /// Routes an update group shares wait like the peer's own, coalesced under this peer's
    /// address (not the group's first member's).
    #[test]
    fn shared_batches_wait_as_the_peers_own_routes() {
        let a = attrs(1);
        let Outgoing::Routes(mut b) = batch(&[3], &[(1, &a), (2, &a)]) else {
            panic!("a batch")
        };
        b.peer = "127.0.0.99".parse().unwrap();
        let mut out = Waiting::default();
        out.push(
            PEER,
            vec![Outgoing::Shared(crate::rib::outbox::SharedBatch::new(b, 3))],
        );
        assert_eq!(out.routes(), 3);
        let Some(Outgoing::Routes(got)) = out.next(10) else {
            panic!("the waiting routes")
        };
        assert_eq!(got.peer, PEER);
        assert_eq!(got.prefixes(), 3);
        assert!(out.is_empty());
    }
}
