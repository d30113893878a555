//! A received UPDATE made ready for the RIB by the session task that decoded it.
//!
//! The RIB runs on one thread and is the daemon's critical path while a table loads; the
//! session tasks run beside it on the other cores. So everything about an UPDATE that needs
//! neither the RIB's tables nor its configuration happens in the session task, before the
//! UPDATE is queued: its routes are split into withdrawals and announcements per family, the
//! RFC 7606 treat-as-withdraw outcome is applied, the attributes each family's routes share
//! are built ([`route_attrs`]) and hashed for interning ([`super::intern::hash`]). The RIB then
//! only checks, interns and stores.

use super::intern;
use super::route::{NextHop, RouteAttrs};
use super::wire::route_attrs;
use bgp_proto::{attribute_type, AttributeAction, CheckedUpdate, Family, Nlri, Update};
use smallvec::SmallVec;

/// The routes of one family announced by an UPDATE, with the attributes they share.
#[derive(Debug, PartialEq)]
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
#[derive(Debug, PartialEq)]
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
            let last = by_family.len().saturating_sub(1);
            for (i, (family, nlri)) in by_family.into_iter().enumerate() {
                let attrs = route_attrs(
                    &mut update.attributes,
                    family,
                    four_octet_session,
                    i == last,
                )
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

    /// Prepares an UPDATE checked in place ([`CheckedUpdate`]): the same result as
    /// [`ReceivedUpdate::new`] on the decoded message, without building the message first.
    /// A checked UPDATE has no issues, IPv4 unicast routes only, and no AS4_PATH or
    /// AS4_AGGREGATOR to merge (RFC 6793 §4.2.3), so its attributes are the set as received
    /// minus NEXT_HOP, which becomes the route's next hop.
    pub fn from_checked(update: &CheckedUpdate<'_>) -> Self {
        let family = Family::IPV4_UNICAST;
        let mut announced = SmallVec::new();
        if update.nlri_count() > 0 {
            let attrs = update.next_hop().map(|nh| {
                let a = RouteAttrs {
                    next_hop: NextHop::V4(nh),
                    attributes: update.path_attributes(|code| code != attribute_type::NEXT_HOP),
                };
                (intern::hash(&a), a)
            });
            let mut nlri = Vec::with_capacity(update.nlri_count());
            nlri.extend(update.nlri());
            announced.push(Announced {
                family,
                attrs,
                nlri,
            });
        }
        let mut withdrawn = Vec::with_capacity(update.withdrawn_count());
        withdrawn.extend(update.withdrawn().map(|n| (family, n)));
        ReceivedUpdate {
            end_of_rib: update.is_end_of_rib().then_some(family),
            withdraw_reason: None,
            withdrawn,
            announced,
        }
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
            attrs.attributes.next_hop().is_none(),
            "the next hop is the route's own field, not an attribute"
        );
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
        for (ctx, u) in [
            (
                SessionContext::default(),
                pod_update(&["10.244.1.0/26", "10.244.2.0/26"], [198, 51, 100, 11]),
            ),
            (SessionContext::two_octet_as(), with_withdrawals),
            (SessionContext::default(), only_withdrawals),
            (SessionContext::default(), Update::default()),
        ] {
            let bytes = Message::Update(u.clone()).to_bytes(&ctx).unwrap();
            let checked = CheckedUpdate::check(&bytes, &ctx).unwrap();
            assert_eq!(
                ReceivedUpdate::from_checked(&checked),
                ReceivedUpdate::new(u, ctx.four_octet_as)
            );
        }
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
