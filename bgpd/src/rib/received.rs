//! A received UPDATE made ready for the RIB by the session task that decoded it.
//!
//! The RIB runs on one thread and is the daemon's critical path while a table loads; the
//! session tasks run beside it on the other cores. So everything about an UPDATE that needs
//! neither the RIB's tables nor its configuration happens in the session task, before the
//! UPDATE is queued: its routes are split into withdrawals and announcements per family, the
//! RFC 7606 treat-as-withdraw outcome is applied, the attributes each family's routes share
//! are built ([`received_set`]) and hashed for interning ([`super::intern::hash`]). The RIB then
//! only checks, interns and stores.

use super::intern;
use super::route::{NextHop, RouteAttrs};
use super::wire::received_set;
use bgp_proto::{AttributeAction, CheckedUpdate, Family, Nlri, Update};
use smallvec::SmallVec;

/// The routes of one family announced by an UPDATE, with the attributes they share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// The family (the NLRI field's IPv4 unicast, or an MP_REACH_NLRI's).
    pub family: Family,
    /// The shared attributes and their hash ([`intern::hash`]), or `None` when the UPDATE
    /// gives no usable next hop for the family.
    pub attrs: Option<(u64, RouteAttrs)>,
    /// The routes.
    pub nlri: Vec<Nlri>,
}

/// A received UPDATE as the RIB takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedUpdate {
    /// RFC 4724 §2: the family this UPDATE marks End-of-RIB for, if it is such a marker.
    pub end_of_rib: Option<Family>,
    /// RFC 7606 §2: why the whole UPDATE is treated as a withdrawal, if it is; its announced
    /// routes are then in `withdrawn` and `announced` is empty.
    pub withdraw_reason: Option<String>,
    /// Withdrawn routes: the Withdrawn Routes field, then MP_UNREACH_NLRI (then, with a
    /// `withdraw_reason`, the announced routes).
    pub withdrawn: Vec<(Family, Nlri)>,
    /// Announced routes by family, in the order [`Update::announced`] gives them.
    pub announced: SmallVec<[Announced; 1]>,
}

impl ReceivedUpdate {
    /// Prepares `update`, received on a session with (`four_octet_session`) or without
    /// 4-octet AS numbers (RFC 6793: AS4_PATH then completes AS_PATH).
    pub fn new(mut update: Update, four_octet_session: bool) -> Self {
        let end_of_rib = update.end_of_rib();
        let withdraw_reason = update
            .issues
            .iter()
            .find(|i| i.action == AttributeAction::TreatAsWithdraw)
            .map(|i| format!("RFC 7606 treat-as-withdraw: {i}"));
        let mut withdrawn: Vec<(Family, Nlri)> =
            update.withdrawals().map(|(f, n)| (f, *n)).collect();
        let by_family = take_announced(&mut update);
        let mut announced = SmallVec::new();
        if withdraw_reason.is_some() {
            for (family, nlri) in by_family {
                withdrawn.extend(nlri.into_iter().map(|n| (family, n)));
            }
        } else {
            for (family, nlri) in by_family {
                // Kept encoded, as a checked UPDATE's set is (`prepare_checked`).
                let attrs = received_set(&update.attributes, family, four_octet_session)
                    .map(|a| (intern::hash(&a), a));
                announced.push(Announced {
                    family,
                    attrs,
                    nlri,
                });
            }
        }
        ReceivedUpdate {
            end_of_rib,
            withdraw_reason,
            withdrawn,
            announced,
        }
    }

    /// Prepares a received message (`frame`, header included) without decoding it, when it
    /// is a clean UPDATE [`CheckedUpdate::check`] takes on a session (`ctx`) with 4-octet AS
    /// numbers, whose attributes are in rising type-code order (`prepare_checked`).
    /// `None` for every other message: the session decodes it ([`bgp_proto::Message::decode`])
    /// and prepares it with [`ReceivedUpdate::new`].
    pub fn from_frame(frame: &[u8], ctx: &bgp_proto::SessionContext) -> Option<Self> {
        if !ctx.four_octet_as {
            return None;
        }
        let mut nlri = Vec::new();
        let update = CheckedUpdate::check_into(frame, ctx, &mut nlri)?;
        Self::prepare_checked(&update, nlri)
    }

    /// Prepares an UPDATE checked in place ([`CheckedUpdate::check_into`], which read its
    /// announced prefixes into `nlri`) on a session with 4-octet AS
    /// numbers: the same routes as [`ReceivedUpdate::new`] on the decoded message, with the
    /// attribute set kept encoded ([`RouteAttrs::from_encoded`]): the attribute block as
    /// received, minus NEXT_HOP (the route's next hop), copied once. A checked UPDATE has no
    /// issues, IPv4 unicast routes only, and no AS4_PATH or AS4_AGGREGATOR to merge (RFC 6793
    /// §4.2.3). `None` when it was checked on a 2-octet session (sets are kept with 4-octet
    /// AS numbers, and a 2-octet AS_PATH would need AS4_PATH merged in first), or when its
    /// attributes are not in rising type-code order (the order sets are kept in, so that
    /// equal sets have equal octets): the caller then decodes it.
    fn prepare_checked(update: &CheckedUpdate<'_>, nlri: Vec<Nlri>) -> Option<Self> {
        if !update.four_octet_as() {
            return None;
        }
        let family = Family::IPV4_UNICAST;
        let mut announced = SmallVec::new();
        if update.nlri_count() > 0 {
            if !update.in_type_order() {
                return None;
            }
            let attrs = update.next_hop().map(|nh| {
                let (head, tail) = update.attribute_block_around_next_hop();
                let mut block = Vec::with_capacity(head.len() + tail.len());
                block.extend_from_slice(head);
                block.extend_from_slice(tail);
                let a = RouteAttrs::from_encoded(NextHop::V4(nh), block.into_boxed_slice());
                (intern::hash(&a), a)
            });
            announced.push(Announced {
                family,
                attrs,
                nlri,
            });
        }
        let mut withdrawn = Vec::with_capacity(update.withdrawn_count());
        withdrawn.extend(update.withdrawn().map(|n| (family, n)));
        Some(ReceivedUpdate {
            end_of_rib: update.is_end_of_rib().then_some(family),
            withdraw_reason: None,
            withdrawn,
            announced,
        })
    }

    /// How many routes it withdraws and announces.
    pub fn prefixes(&self) -> usize {
        self.withdrawn.len() + self.announced.iter().map(|a| a.nlri.len()).sum::<usize>()
    }
}

/// The UPDATE's announced routes by family, in the order [`Update::announced`] gives them
/// (the NLRI field, then MP_REACH_NLRI), moved out of it: the common UPDATE has one family
/// and its vector is taken whole, not copied.
fn take_announced(update: &mut Update) -> SmallVec<[(Family, Vec<Nlri>); 1]> {
    let mut out: SmallVec<[(Family, Vec<Nlri>); 1]> = SmallVec::new();
    if !update.nlri.is_empty() {
        out.push((Family::IPV4_UNICAST, std::mem::take(&mut update.nlri)));
    }
    for a in &mut update.attributes.0 {
        if let bgp_proto::AttributeValue::MpReach(m) = &mut a.value {
            if m.nlri.is_empty() {
                continue;
            }
            let nlri = std::mem::take(&mut m.nlri);
            match out.iter_mut().find(|(f, _)| *f == m.family) {
                Some((_, v)) => v.extend(nlri),
                None => out.push((m.family, nlri)),
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::rib::table_tests::pod_update;
    use bgp_proto::{ErrorKind, UpdateIssue};

    #[test]
    fn announcements_carry_their_attributes_and_hash() {
        let u = ReceivedUpdate::new(
            pod_update(&["10.244.1.0/26", "10.244.2.0/26"], [198, 51, 100, 11]),
            true,
        );
        assert_eq!(u.end_of_rib, None);
        assert!(u.withdraw_reason.is_none() && u.withdrawn.is_empty());
        assert_eq!(u.prefixes(), 2);
        let a = &u.announced[0];
        assert_eq!(a.family, Family::IPV4_UNICAST);
        let (hash, attrs) = a.attrs.as_ref().unwrap();
        assert_eq!(*hash, intern::hash(attrs), "hashed as the RIB's sets hash");
        assert!(
            attrs.attributes().next_hop().is_none(),
            "the next hop is the route's own field, not an attribute"
        );
    }

    /// RFC 6793 §4.2.3 on receipt from a 2-octet session: AS4_PATH and AS4_AGGREGATOR
    /// complete AS_PATH and AGGREGATOR and are not kept; the set is in type-code order
    /// whatever the order received; NEXT_HOP is the route's own field. From a 4-octet
    /// session, a stray AS4_PATH is not merged, only left out.
    #[test]
    fn a_two_octet_peers_set_is_completed_from_as4_path_and_ordered() {
        use bgp_proto::{Aggregator, AsPath, AttributeValue as V, PathAttribute};
        use std::net::Ipv4Addr;
        let trans = 23456;
        let update = |four_octet: bool| {
            let asn = |a: u32| if four_octet { a } else { trans };
            let mut u = pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]);
            // Received out of order: AS4_AGGREGATOR and AGGREGATOR first, AS4_PATH before
            // ORIGIN.
            u.attributes.0.insert(
                0,
                PathAttribute::new(V::As4Path(AsPath::sequence(vec![4_200_000_001, 64513]))),
            );
            u.attributes.0.insert(
                0,
                PathAttribute::new(V::Aggregator(Aggregator {
                    asn: asn(4_200_000_001),
                    address: Ipv4Addr::new(192, 0, 2, 1),
                })),
            );
            u.attributes.0.insert(
                0,
                PathAttribute::new(V::As4Aggregator(Aggregator {
                    asn: 4_200_000_001,
                    address: Ipv4Addr::new(192, 0, 2, 1),
                })),
            );
            for a in &mut u.attributes.0 {
                if let V::AsPath(p) = &mut a.value {
                    *p = AsPath::sequence(vec![asn(4_200_000_001), 64513]);
                }
            }
            u
        };
        for four_octet in [false, true] {
            let got = ReceivedUpdate::new(update(four_octet), four_octet);
            let (_, set) = got.announced[0].attrs.as_ref().unwrap();
            let codes: Vec<u8> = set.decoded().0.iter().map(|a| a.type_code()).collect();
            // ORIGIN, AS_PATH, AGGREGATOR, COMMUNITIES: nothing else, in this order.
            assert_eq!(codes, [1, 2, 7, 8], "4-octet session: {four_octet}");
            assert_eq!(set.first_as(), Some(4_200_000_001));
            assert_eq!(set.origin_as(), Some(64513));
            assert_eq!(
                set.decoded().aggregator().map(|g| g.asn),
                Some(4_200_000_001)
            );
            assert_eq!(set.next_hop, NextHop::V4(Ipv4Addr::new(198, 51, 100, 11)));
        }
    }

    /// RFC 6793 §4.2.3: an AGGREGATOR of another AS than AS_TRANS beside AS4_AGGREGATOR
    /// (aggregated by a 2-octet speaker after the AS4 attributes were made) has AS4_PATH and
    /// AS4_AGGREGATOR ignored: AS_PATH and AGGREGATOR are taken as received.
    #[test]
    fn as4_path_is_ignored_after_a_two_octet_aggregator() {
        use bgp_proto::{Aggregator, AsPath, AttributeValue as V, PathAttribute};
        use std::net::Ipv4Addr;
        let mut u = pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]);
        for a in &mut u.attributes.0 {
            if let V::AsPath(p) = &mut a.value {
                *p = AsPath::sequence(vec![64500, 23456, 64513]);
            }
        }
        let aggregator = |asn| Aggregator {
            asn,
            address: Ipv4Addr::new(192, 0, 2, 1),
        };
        u.attributes.0.extend([
            PathAttribute::new(V::Aggregator(aggregator(64500))),
            PathAttribute::new(V::As4Path(AsPath::sequence(vec![4_200_000_001, 64513]))),
            PathAttribute::new(V::As4Aggregator(aggregator(4_200_000_001))),
        ]);
        let got = ReceivedUpdate::new(u, false);
        let (_, set) = got.announced[0].attrs.as_ref().unwrap();
        assert_eq!(set.as_path_string(), "64500 23456 64513");
        assert_eq!(set.decoded().aggregator().map(|g| g.asn), Some(64500));
        assert!(!set.has(bgp_proto::attribute_type::AS4_PATH));
    }

    /// An UPDATE announcing IPv4 routes (NLRI field) and IPv6 ones (MP_REACH_NLRI): one set
    /// per family, each with its own next hop and the same attributes.
    #[test]
    fn each_family_gets_its_next_hop_and_the_shared_attributes() {
        use bgp_proto::{AttributeValue as V, MpNextHop, MpReach, PathAttribute};
        use std::net::Ipv6Addr;
        let global: Ipv6Addr = "2001:db8::11".parse().unwrap();
        let mut u = pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]);
        u.attributes
            .0
            .push(PathAttribute::new(V::MpReach(Box::new(MpReach {
                family: Family::IPV6_UNICAST,
                next_hop: MpNextHop::Ipv6 {
                    global,
                    link_local: None,
                },
                nlri: vec![Nlri::new("2001:db8:244::/64".parse().unwrap())],
                opaque_nlri: Default::default(),
            }))));
        let got = ReceivedUpdate::new(u, true);
        assert_eq!(got.announced.len(), 2);
        let (v4, v6) = (&got.announced[0], &got.announced[1]);
        assert_eq!(
            (v4.family, v6.family),
            (Family::IPV4_UNICAST, Family::IPV6_UNICAST)
        );
        let (a4, a6) = (&v4.attrs.as_ref().unwrap().1, &v6.attrs.as_ref().unwrap().1);
        assert_eq!(
            a4.encoded(),
            a6.encoded(),
            "the same attributes, no MP_REACH_NLRI"
        );
        assert!(!a6.has(bgp_proto::attribute_type::MP_REACH_NLRI));
        assert_eq!(
            a6.next_hop,
            NextHop::V6 {
                global,
                link_local: None
            }
        );
        assert_eq!(v6.nlri.len(), 1);
    }

    #[test]
    fn a_checked_update_is_prepared_as_its_decoded_message() {
        use bgp_proto::{Message, SessionContext};
        let mut with_withdrawals = pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]);
        with_withdrawals
            .withdrawn
            .push(Nlri::new("10.244.9.0/26".parse().unwrap()));
        let only_withdrawals = Update {
            withdrawn: vec![Nlri::new("10.244.9.0/26".parse().unwrap())],
            ..Update::default()
        };
        let ctx = SessionContext::default();
        for u in [
            pod_update(&["10.244.1.0/26", "10.244.2.0/26"], [198, 51, 100, 11]),
            with_withdrawals.clone(),
            only_withdrawals,
            Update::default(),
        ] {
            let bytes = Message::Update(u.clone()).to_bytes(&ctx).unwrap();
            let prepared = ReceivedUpdate::from_frame(&bytes, &ctx).unwrap();
            let decoded = ReceivedUpdate::new(u, true);
            assert_eq!(prepared, decoded, "same routes, equal sets, equal hashes");
            for (p, d) in prepared.announced.iter().zip(&decoded.announced) {
                let ((_, p), (_, d)) = (p.attrs.as_ref().unwrap(), d.attrs.as_ref().unwrap());
                assert_eq!(
                    p.encoded(),
                    d.encoded(),
                    "kept as the block, minus NEXT_HOP"
                );
                assert_eq!(p.attributes(), d.attributes());
            }
        }
        // Left to the decoder: a 2-octet session (its AS_PATH is not in the kept width), and
        // attributes out of type-code order.
        let two = SessionContext::two_octet_as();
        let bytes = Message::Update(with_withdrawals.clone())
            .to_bytes(&two)
            .unwrap();
        assert!(CheckedUpdate::check(&bytes, &two).is_some());
        assert!(ReceivedUpdate::from_frame(&bytes, &two).is_none());
        let mut unordered = with_withdrawals;
        unordered.attributes.0.reverse();
        let bytes = Message::Update(unordered).to_bytes(&ctx).unwrap();
        assert!(CheckedUpdate::check(&bytes, &ctx).is_some());
        assert!(ReceivedUpdate::from_frame(&bytes, &ctx).is_none());
    }

    /// The UPDATEs of the real full table (`updates.et-header.2015.gz`) with their contexts.
    fn real_updates() -> Vec<(Vec<u8>, bgp_proto::SessionContext)> {
        use bgp_proto::mrt::{Bgp4mpMessage, MrtBody, MrtReader};
        use std::io::Read;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/mrt/updates.et-header.2015.gz"
        );
        let mut data = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_end(&mut data)
            .unwrap();
        MrtReader::new(&data[..])
            .unwrap()
            .flatten()
            .filter_map(|r| match r.body {
                MrtBody::Message(m) if matches!(m.message, bgp_proto::Message::Update(_)) => {
                    Some((
                        m.raw.to_vec(),
                        Bgp4mpMessage::context(m.four_octet_as, m.add_path),
                    ))
                }
                _ => None,
            })
            .collect()
    }

    /// The session's way in (`from_frame`) held to decoding and preparing: every UPDATE it
    /// takes gives the same routes, the same sets and the same hashes; also with octets
    /// changed, where whatever it takes must decode without any issue.
    #[test]
    fn a_real_full_table_is_prepared_as_its_decoded_messages_also_with_octets_changed() {
        use bgp_proto::Message;
        let updates = real_updates();
        let prepared = |raw: &[u8], ctx| match Message::decode(raw, ctx) {
            Ok(Message::Update(u)) => Some((u.issues.is_empty(), ReceivedUpdate::new(u, true))),
            _ => None,
        };
        let mut taken = 0;
        for (raw, ctx) in &updates {
            if let Some(p) = ReceivedUpdate::from_frame(raw, ctx) {
                assert_eq!(Some((true, p)), prepared(raw, ctx));
                taken += 1;
            }
        }
        assert_eq!(updates.len(), 89_679);
        assert!(taken >= 89_000, "the check takes {taken}");
        // A fixed sequence of changes (xorshift), bounded: 300,000 messages, 1-3 octets each.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut changed_taken, mut changed_refused) = (0, 0);
        for _ in 0..300_000 {
            let (raw, ctx) = &updates[next() as usize % updates.len()];
            let mut raw = raw.clone();
            for _ in 0..1 + next() % 3 {
                let at = next() as usize % raw.len();
                raw[at] ^= 1 << (next() % 8);
            }
            match ReceivedUpdate::from_frame(&raw, ctx) {
                Some(p) => {
                    assert_eq!(Some((true, p)), prepared(&raw, ctx), "{raw:02x?}");
                    changed_taken += 1;
                }
                None => changed_refused += 1,
            }
        }
        assert!(changed_taken > 10_000 && changed_refused > 10_000);
    }

    #[test]
    fn treat_as_withdraw_turns_announcements_into_withdrawals() {
        let mut bad = pod_update(&["10.244.1.0/26"], [198, 51, 100, 11]);
        bad.withdrawn
            .push(Nlri::new("10.244.9.0/26".parse().unwrap()));
        bad.issues.push(UpdateIssue {
            kind: ErrorKind::InvalidOrigin { value: 9 },
            offset: 30,
            action: AttributeAction::TreatAsWithdraw,
        });
        let u = ReceivedUpdate::new(bad, true);
        assert!(u.announced.is_empty());
        assert!(u.withdraw_reason.unwrap().contains("treat-as-withdraw"));
        let withdrawn: Vec<String> = u.withdrawn.iter().map(|(_, n)| n.to_string()).collect();
        assert_eq!(
            withdrawn,
            ["10.244.9.0/26", "10.244.1.0/26"],
            "withdrawals first"
        );
    }

    #[test]
    fn end_of_rib_is_recognised_per_family() {
        assert_eq!(
            ReceivedUpdate::new(Update::default(), true).end_of_rib,
            Some(Family::IPV4_UNICAST)
        );
        let v6 = Update::end_of_rib_marker(Family::IPV6_UNICAST);
        let u = ReceivedUpdate::new(v6, true);
        assert_eq!(u.end_of_rib, Some(Family::IPV6_UNICAST));
        assert_eq!(u.prefixes(), 0);
    }
}
