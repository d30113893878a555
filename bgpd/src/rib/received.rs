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
use super::route::RouteAttrs;
use super::wire::route_attrs;
use bgp_proto::{AttributeAction, Family, Nlri, Update};
use smallvec::SmallVec;

/// The routes of one family announced by an UPDATE, with the attributes they share.
#[derive(Debug)]
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
#[derive(Debug)]
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
