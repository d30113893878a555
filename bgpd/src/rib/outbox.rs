//! What a RIB operation hands to the sessions: per peer, messages in the order they must be
//! written, and possibly a reset.
//!
//! The Update-Send pass (RFC 4271 §9.2) decides *what* each peer is sent; packing those routes
//! into UPDATE messages is left to the peer's own session task ([`RouteBatch::encode`]), so
//! that with a busy RIB the encoding runs on another core, in parallel with the RIB's next
//! pass. Messages the RIB must place exactly (End-of-RIB after the table, RFC 4724 §2) are
//! handed over encoded, in sequence with the batches around them.
//!
//! Peers that would be sent the same routes with the same encoding (an update group: alike
//! peers, same session options) share one [`SharedBatch`]: the first of their session tasks
//! to reach it packs it, the others copy its octets.

use super::route::{PeerId, SharedAttrs};
use super::wire::encode_wire_attributes;
use bgp_proto::{Family, Nlri, Notification, SessionContext, UpdatePacker};
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

/// Routes for one peer that the Update-Send pass decided on, not yet encoded.
#[derive(Debug, Clone)]
pub struct RouteBatch {
    /// The peer (for log lines).
    pub peer: IpAddr,
    /// How to encode toward the peer (4-octet AS, ADD-PATH, extended messages).
    pub ctx: SessionContext,
    /// Withdrawals, per family: written first.
    pub withdraw: Vec<(Family, Vec<Nlri>)>,
    /// Announcements: routes of one family sharing one exported attribute set.
    pub announce: Vec<(Family, SharedAttrs, Vec<Nlri>)>,
}

impl RouteBatch {
    /// Appends the batch's UPDATEs to `out`: withdrawals, then each attribute set's routes
    /// packed into as few messages as the session's maximum size allows. A group that cannot
    /// be encoded is logged with the peer and left out; the others still go. Returns how
    /// many groups (of withdrawals or of announcements) were left out.
    pub fn encode(&self, out: &mut BytesMut) -> usize {
        let packer = UpdatePacker::new(self.ctx);
        let mut left_out = 0;
        for (family, nlri) in &self.withdraw {
            if let Err(e) = packer.withdraw(*family, nlri, out) {
                tracing::error!(peer = %self.peer, %family, error = %e, "cannot encode withdrawals");
                left_out += 1;
            }
        }
        let mut attrs = BytesMut::new();
        for (family, a, nlri) in &self.announce {
            attrs.clear();
            let packed =
                encode_wire_attributes(a, *family, &self.ctx, &mut attrs).and_then(|mp_next_hop| {
                    packer.announce_encoded(&attrs, *family, mp_next_hop.as_ref(), nlri, out)
                });
            if let Err(e) = packed {
                tracing::error!(peer = %self.peer, %family, next_hop = %a.next_hop, error = %e, "cannot encode announcements");
                left_out += 1;
            }
        }
        left_out
    }

    /// Prefixes in the batch (announced and withdrawn).
    pub fn prefixes(&self) -> usize {
        let w: usize = self.withdraw.iter().map(|(_, n)| n.len()).sum();
        let a: usize = self.announce.iter().map(|(_, _, n)| n.len()).sum();
        w + a
    }
}

/// Routes that several peers are sent alike, packed once for all of them.
#[derive(Debug)]
pub struct SharedBatch {
    /// The routes; `peer` is the first of the peers sharing them (for log lines).
    pub batch: RouteBatch,
    /// Peers sharing the batch (for log lines).
    pub peers: usize,
    /// The packed UPDATEs, and how many groups of routes could not be encoded.
    encoded: OnceLock<(Bytes, usize)>,
}

impl SharedBatch {
    /// A batch that `peers` peers, all encoding with `batch.ctx`, are sent.
    pub fn new(batch: RouteBatch, peers: usize) -> Arc<Self> {
        Arc::new(SharedBatch {
            batch,
            peers,
            encoded: OnceLock::new(),
        })
    }

    /// The batch's UPDATEs: packed by the first caller, shared by the others.
    pub fn encoded(&self) -> &Bytes {
        &self.packed().0
    }

    /// How many groups of the batch's routes could not be encoded (packing the batch if no
    /// peer has yet). The packer logs each with the first peer only ([`RouteBatch::encode`]);
    /// every other peer of the group logs its own line from this.
    pub fn left_out(&self) -> usize {
        self.packed().1
    }

    fn packed(&self) -> &(Bytes, usize) {
        self.encoded.get_or_init(|| {
            let mut out = BytesMut::new();
            let left_out = self.batch.encode(&mut out);
            (out.freeze(), left_out)
        })
    }
}

/// One piece of a peer's output, in sending order.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// Messages already encoded by the RIB (End-of-RIB markers).
    Encoded(BytesMut),
    /// Routes for the session task to pack.
    Routes(RouteBatch),
    /// Routes this peer shares with other peers of its update group, packed once.
    Shared(Arc<SharedBatch>),
}

impl Outgoing {
    /// Prefixes in this piece (announced and withdrawn; none for encoded messages).
    pub fn prefixes(&self) -> usize {
        match self {
            Outgoing::Encoded(_) => 0,
            Outgoing::Routes(b) => b.prefixes(),
            Outgoing::Shared(s) => s.batch.prefixes(),
        }
    }
}

/// What to do with one peer's session after an operation.
#[derive(Debug, Default)]
pub struct PeerOutput {
    /// What to send, in order.
    pub parts: Vec<Outgoing>,
    /// Reset the session with this NOTIFICATION (e.g. max-prefix, RFC 4486 6/1).
    pub reset: Option<Notification>,
}

impl PeerOutput {
    /// Queues messages the RIB encoded itself, after everything queued so far.
    pub fn push_encoded(&mut self, bytes: BytesMut) {
        if let Some(Outgoing::Encoded(last)) = self.parts.last_mut() {
            last.extend_from_slice(&bytes);
        } else if !bytes.is_empty() {
            self.parts.push(Outgoing::Encoded(bytes));
        }
    }

    /// Queues routes for the session task to pack.
    pub fn push_routes(&mut self, batch: RouteBatch) {
        if !batch.withdraw.is_empty() || !batch.announce.is_empty() {
            self.parts.push(Outgoing::Routes(batch));
        }
    }

    /// Queues routes shared with other peers.
    pub fn push_shared(&mut self, shared: Arc<SharedBatch>) {
        self.parts.push(Outgoing::Shared(shared));
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.parts.iter().all(|p| match p {
            Outgoing::Encoded(b) => b.is_empty(),
            Outgoing::Routes(r) => r.withdraw.is_empty() && r.announce.is_empty(),
            Outgoing::Shared(s) => s.batch.withdraw.is_empty() && s.batch.announce.is_empty(),
        })
    }

    /// Everything to send, encoded, in order: [`PeerOutput::encode_chunks`] joined.
    pub fn encode(parts: &[Outgoing]) -> BytesMut {
        let mut out = BytesMut::new();
        for chunk in Self::encode_chunks(parts) {
            out.extend_from_slice(&chunk);
        }
        out
    }

    /// Everything to send, in order, as chunks of octets: each run of the peer's own parts
    /// packed into one chunk, each shared batch as the octets packed once for all its peers
    /// (not copied).
    pub fn encode_chunks(parts: &[Outgoing]) -> Vec<Bytes> {
        let mut chunks = Vec::new();
        let mut own = BytesMut::new();
        for p in parts {
            match p {
                Outgoing::Encoded(b) => own.extend_from_slice(b),
                Outgoing::Routes(r) => {
                    r.encode(&mut own);
                }
                Outgoing::Shared(s) => {
                    if !own.is_empty() {
                        chunks.push(std::mem::take(&mut own).freeze());
                    }
                    chunks.push(s.encoded().clone());
                }
            }
        }
        if !own.is_empty() {
            chunks.push(own.freeze());
        }
        chunks.retain(|c| !c.is_empty());
        chunks
    }

    /// [`PeerOutput::encode`] of this output's parts.
    pub fn bytes(&self) -> BytesMut {
        Self::encode(&self.parts)
    }
}

/// Output of a RIB operation, per peer.
pub type Outbox = HashMap<PeerId, PeerOutput>;

/// Appends `from` to `into`, peer by peer (parts in order; a reset is kept).
pub fn merge(into: &mut Outbox, from: Outbox) {
    for (peer, out) in from {
        let e = into.entry(peer).or_default();
        e.parts.extend(out.parts);
        if out.reset.is_some() {
            e.reset = out.reset;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::rib::route::{NextHop, RouteAttrs};
    use crate::rib::table_tests::sent;
    use crate::rib::wire::wire_attributes;
    use bgp_proto::{
        AsPath, AttributeValue, Community, Message, Origin, PathAttribute, PathAttributes, Update,
    };
    use std::net::Ipv6Addr;
    use std::sync::Arc;

    fn attrs(next_hop: NextHop, path: &[u32]) -> SharedAttrs {
        Arc::new(RouteAttrs::new(
            next_hop,
            PathAttributes(vec![
                PathAttribute::new(AttributeValue::Origin(Origin::Igp)),
                PathAttribute::new(AttributeValue::AsPath(AsPath::sequence(path.to_vec()))),
                PathAttribute::new(AttributeValue::Communities(
                    vec![Community::new(64513, 100)].into(),
                )),
            ]),
        ))
    }

    fn ctx(four_octet_as: bool) -> SessionContext {
        SessionContext {
            four_octet_as,
            ..SessionContext::default()
        }
    }

    fn nlri(p: &str) -> Nlri {
        Nlri {
            prefix: p.parse().unwrap(),
            path_id: None,
        }
    }

    /// The attribute block written by reference is the one the copying path builds, for
    /// 4-octet and 2-octet sessions (AS4_PATH added, RFC 6793 §4.2.2) and both next hops.
    #[test]
    fn attributes_encoded_in_place_match_the_copying_path() {
        let v6 = NextHop::V6 {
            global: "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
            link_local: None,
        };
        for (a, family) in [
            (
                attrs(NextHop::V4([192, 0, 2, 1].into()), &[64513]),
                Family::IPV4_UNICAST,
            ),
            (
                attrs(NextHop::V4([192, 0, 2, 1].into()), &[4_200_000_000, 64513]),
                Family::IPV4_UNICAST,
            ),
            (attrs(v6, &[64514]), Family::IPV6_UNICAST),
        ] {
            for four in [true, false] {
                let c = ctx(four);
                let (wire, mp) = wire_attributes(&a, family, &c);
                let mut expected = BytesMut::new();
                wire.encode(&c, &mut expected).unwrap();
                let mut got = BytesMut::new();
                let got_mp = encode_wire_attributes(&a, family, &c, &mut got).unwrap();
                assert_eq!(got, expected, "{family} four_octet_as={four}");
                assert_eq!(got_mp, mp);
            }
        }
    }

    /// A batch packed by the session decodes to what the RIB decided; End-of-RIB queued after
    /// it is written after it, and merging keeps the order.
    #[test]
    fn batches_encode_in_order_with_end_of_rib_last() {
        let c = ctx(true);
        let a = attrs(NextHop::V4([192, 0, 2, 1].into()), &[64513]);
        let mut out = PeerOutput::default();
        assert!(out.is_empty());
        out.push_routes(RouteBatch {
            peer: "192.0.2.9".parse().unwrap(),
            ctx: c,
            withdraw: vec![(Family::IPV4_UNICAST, vec![nlri("10.0.9.0/24")])],
            announce: vec![(
                Family::IPV4_UNICAST,
                a,
                vec![nlri("10.0.1.0/24"), nlri("10.0.2.0/24")],
            )],
        });
        let mut eor = BytesMut::new();
        Message::Update(Update::end_of_rib_marker(Family::IPV4_UNICAST))
            .encode(&c, &mut eor)
            .unwrap();
        out.push_encoded(eor);
        assert!(!out.is_empty());
        let mut outbox = Outbox::new();
        merge(&mut outbox, Outbox::from([(1, out)]));
        let got = sent(&outbox, 1, &c);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].withdrawn, vec![nlri("10.0.9.0/24")]);
        assert_eq!(got[1].nlri, vec![nlri("10.0.1.0/24"), nlri("10.0.2.0/24")]);
        assert_eq!(got[1].attributes.next_hop(), Some(&[192, 0, 2, 1].into()));
        assert_eq!(got[2].end_of_rib(), Some(Family::IPV4_UNICAST));
    }

    /// An empty batch queues nothing.
    #[test]
    fn empty_batches_are_not_queued() {
        let mut out = PeerOutput::default();
        out.push_routes(RouteBatch {
            peer: "192.0.2.9".parse().unwrap(),
            ctx: ctx(true),
            withdraw: vec![],
            announce: vec![],
        });
        out.push_encoded(BytesMut::new());
        assert!(out.parts.is_empty());
    }

    /// A shared batch is packed once: every peer's output holding it writes the same octets,
    /// the ones the batch packs to on its own.
    #[test]
    fn a_shared_batch_is_packed_once_for_every_peer() {
        let c = ctx(true);
        let a = attrs(NextHop::V4([192, 0, 2, 1].into()), &[64513]);
        let batch = RouteBatch {
            peer: "192.0.2.9".parse().unwrap(),
            ctx: c,
            withdraw: vec![(Family::IPV4_UNICAST, vec![nlri("10.0.9.0/24")])],
            announce: vec![(Family::IPV4_UNICAST, a, vec![nlri("10.0.1.0/24")])],
        };
        let mut alone = BytesMut::new();
        batch.encode(&mut alone);
        let shared = SharedBatch::new(batch, 2);
        let mut outbox = Outbox::new();
        for peer in [1, 2] {
            outbox.entry(peer).or_default().push_shared(shared.clone());
        }
        assert!(!outbox[&1].is_empty());
        assert_eq!(outbox[&1].parts[0].prefixes(), 2);
        assert_eq!(outbox[&1].bytes(), alone);
        assert_eq!(outbox[&2].bytes(), alone);
        assert_eq!(shared.encoded().as_ptr(), shared.encoded().as_ptr());
        // Written as the shared octets themselves, between the peer's own parts.
        let mut eor = BytesMut::new();
        Message::Update(Update::end_of_rib_marker(Family::IPV4_UNICAST))
            .encode(&c, &mut eor)
            .unwrap();
        outbox.get_mut(&1).unwrap().push_encoded(eor.clone());
        let chunks = PeerOutput::encode_chunks(&outbox[&1].parts);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].as_ptr(), shared.encoded().as_ptr());
        assert_eq!(chunks[1], eor);
        let got = sent(&outbox, 2, &c);
        assert_eq!(got[0].withdrawn, vec![nlri("10.0.9.0/24")]);
        assert_eq!(got[1].nlri, vec![nlri("10.0.1.0/24")]);
        assert_eq!(shared.left_out(), 0);
    }

    /// A group of routes that cannot be encoded is counted, so that every peer sharing the
    /// batch (not only the first, whose address the packer logs) can say its routes were
    /// left out; the batch's other groups still go.
    #[test]
    fn a_shared_batch_counts_the_groups_it_could_not_encode() {
        let c = ctx(true);
        let good = attrs(NextHop::V4([192, 0, 2, 1].into()), &[64513]);
        let mut bad = (*good).clone();
        bad.edit(|a| {
            a.0.push(PathAttribute::new(AttributeValue::MpUnreach(Box::new(
                bgp_proto::MpUnreach {
                    family: Family::IPV6_UNICAST,
                    withdrawn: vec![],
                    opaque_nlri: bytes::Bytes::new(),
                },
            ))))
        });
        let shared = SharedBatch::new(
            RouteBatch {
                peer: "192.0.2.9".parse().unwrap(),
                ctx: c,
                withdraw: vec![],
                announce: vec![
                    (
                        Family::IPV4_UNICAST,
                        Arc::new(bad),
                        vec![nlri("10.0.1.0/24")],
                    ),
                    (Family::IPV4_UNICAST, good, vec![nlri("10.0.2.0/24")]),
                ],
            },
            2,
        );
        assert_eq!(shared.left_out(), 1);
        let mut outbox = Outbox::new();
        outbox.entry(2).or_default().push_shared(shared);
        let got = sent(&outbox, 2, &c);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].nlri, vec![nlri("10.0.2.0/24")]);
    }
}
