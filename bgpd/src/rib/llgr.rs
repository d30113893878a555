//! Long-lived graceful restart as helper (RFC 9494): what a session negotiated, which
//! families of a dropped peer are kept how long, and the LLGR_STALE marking of a route.
//!
//! Sans-IO: the daemon owns the timers and calls `Rib::enter_llgr` / `Rib::flush_stale*`.

use super::route::RouteAttrs;
use bgp_proto::{AttributeValue, Community, Family, FamilySet};
use std::time::Duration;

/// Long-lived graceful restart on one session: both sides announced capability 71 (RFC 9494
/// §3). Its presence also says the peer understands LLGR_STALE routes (§4.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LlgrSession {
    /// The families the peer listed, each with the stale time we apply: the smaller of the
    /// peer's long-lived stale time and ours (RFC 9494 §4.2 lets the helper shorten it).
    pub families: Vec<(Family, Duration)>,
}

impl LlgrSession {
    /// From the peer's capability families `(family, stale time)` and our configured stale
    /// time. Families with a zero effective stale time are left out (RFC 9494 §4.2: no LLGR).
    pub fn new(peer: impl IntoIterator<Item = (Family, u32)>, ours: u32) -> Self {
        LlgrSession {
            families: peer
                .into_iter()
                .map(|(f, t)| (f, t.min(ours)))
                .filter(|(_, t)| *t > 0)
                .map(|(f, t)| (f, Duration::from_secs(u64::from(t))))
                .collect(),
        }
    }

    /// The families as a set.
    pub fn family_set(&self) -> FamilySet {
        let mut s = FamilySet::EMPTY;
        for (f, _) in &self.families {
            s.insert(*f);
        }
        s
    }
}

/// What happens to a dropped peer's routes, family by family (RFC 4724 §4.2, RFC 9494 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StalePlan {
    /// Graceful restart: these families stay stale for this long.
    pub gr: Option<(Duration, FamilySet)>,
    /// Families that become LLGR-stale at once (no GR for them, or a restart time of 0).
    pub llgr_now: Vec<(Family, Duration)>,
    /// Families that become LLGR-stale when the GR restart timer expires.
    pub llgr_after_gr: Vec<(Family, Duration)>,
}

impl StalePlan {
    /// The plan for a session that ended. `graceful`: it ended without a NOTIFICATION (the
    /// RFC 4724 trigger, used for LLGR as well). `gr_time`: the peer's restart time when
    /// graceful restart was negotiated; `gr_families`: the families its capability listed.
    pub fn new(
        graceful: bool,
        gr_time: Option<Duration>,
        gr_families: FamilySet,
        llgr: Option<&LlgrSession>,
    ) -> Self {
        if !graceful {
            return StalePlan::default();
        }
        let gr = gr_time
            .filter(|t| !t.is_zero() && gr_families != FamilySet::EMPTY)
            .map(|t| (t, gr_families));
        let mut plan = StalePlan {
            gr,
            ..StalePlan::default()
        };
        for (f, t) in llgr.map(|l| l.families.as_slice()).unwrap_or_default() {
            // RFC 9494 §4.2: the GR period comes first where it applies.
            if plan.gr.is_some_and(|(_, s)| s.contains(*f)) {
                plan.llgr_after_gr.push((*f, *t));
            } else {
                plan.llgr_now.push((*f, *t));
            }
        }
        plan
    }

    /// Every family whose routes are kept (as stale or LLGR-stale).
    pub fn kept(&self) -> FamilySet {
        let mut s = self.gr.map(|(_, s)| s).unwrap_or(FamilySet::EMPTY);
        for (f, _) in self.llgr_now.iter().chain(&self.llgr_after_gr) {
            s.insert(*f);
        }
        s
    }

    /// The families of `llgr_now`.
    pub fn llgr_now_set(&self) -> FamilySet {
        let mut s = FamilySet::EMPTY;
        for (f, _) in &self.llgr_now {
            s.insert(*f);
        }
        s
    }
}

/// Whether a route carries LLGR_STALE (RFC 9494 §4.2; also when received so marked, §4.6).
pub fn carries_llgr_stale(attrs: &RouteAttrs) -> bool {
    attrs.has_community(Community::LLGR_STALE)
}

/// The attributes of a route entering the long-lived stale phase: LLGR_STALE added
/// (RFC 9494 §4.2). `None`: the route carries NO_LLGR and must be removed instead.
pub fn llgr_stale_attrs(attrs: &RouteAttrs) -> Option<RouteAttrs> {
    // Read from the shared set's octets; only the copy is decoded, to change it.
    if attrs.has_community(Community::NO_LLGR) {
        return None;
    }
    let mut out = attrs.clone();
    if !attrs.has_community(Community::LLGR_STALE) {
        out.edit(|a| {
            let mut c = a.communities().to_vec();
            c.push(Community::LLGR_STALE);
            a.set(AttributeValue::Communities(c.into()));
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::route::NextHop;
    use bgp_proto::PathAttributes;
    use std::net::Ipv4Addr;

    const V4: Family = Family::IPV4_UNICAST;
    const V6: Family = Family::IPV6_UNICAST;

    fn set(f: &[Family]) -> FamilySet {
        let mut s = FamilySet::EMPTY;
        f.iter().for_each(|x| s.insert(*x));
        s
    }

    #[test]
    fn stale_time_is_the_smaller_of_both_and_zero_means_none() {
        let l = LlgrSession::new([(V4, 3600), (V6, 0)], 30);
        assert_eq!(l.families, vec![(V4, Duration::from_secs(30))]);
        let l = LlgrSession::new([(V4, 10)], 30);
        assert_eq!(l.families, vec![(V4, Duration::from_secs(10))]);
    }

    #[test]
    fn gr_first_then_llgr_and_llgr_at_once_without_gr() {
        let llgr = LlgrSession::new([(V4, 60), (V6, 60)], 60);
        let s = Duration::from_secs(5);
        // GR for IPv4 only: IPv4 waits for the GR timer, IPv6 is LLGR-stale at once.
        let p = StalePlan::new(true, Some(s), set(&[V4]), Some(&llgr));
        assert_eq!(p.gr, Some((s, set(&[V4]))));
        assert_eq!(p.llgr_after_gr, vec![(V4, Duration::from_secs(60))]);
        assert_eq!(p.llgr_now, vec![(V6, Duration::from_secs(60))]);
        assert_eq!(p.kept(), set(&[V4, V6]));
        // Restart time 0: no GR period at all (RFC 9494 §4.2).
        let p = StalePlan::new(true, Some(Duration::ZERO), set(&[V4]), Some(&llgr));
        assert_eq!(p.gr, None);
        assert_eq!(p.llgr_now_set(), set(&[V4, V6]));
        // A NOTIFICATION or hold timer expiry keeps nothing.
        assert_eq!(
            StalePlan::new(false, Some(s), set(&[V4]), Some(&llgr)),
            StalePlan::default()
        );
        // No LLGR: plain RFC 4724.
        let p = StalePlan::new(true, Some(s), set(&[V4, V6]), None);
        assert_eq!(p.kept(), set(&[V4, V6]));
        assert!(p.llgr_now.is_empty() && p.llgr_after_gr.is_empty());
    }

    #[test]
    fn marking_adds_llgr_stale_once_and_no_llgr_drops() {
        let mut a = RouteAttrs::new(
            NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            PathAttributes(vec![]),
        );
        a.set(AttributeValue::Communities(
            vec![Community::new(64513, 100)].into(),
        ));
        let m = llgr_stale_attrs(&a).expect("kept");
        assert_eq!(
            m.communities(),
            &[Community::new(64513, 100), Community::LLGR_STALE]
        );
        assert!(carries_llgr_stale(&m) && !carries_llgr_stale(&a));
        assert_eq!(llgr_stale_attrs(&m).as_ref(), Some(&m));
        a.set(AttributeValue::Communities(vec![Community::NO_LLGR].into()));
        assert_eq!(llgr_stale_attrs(&a), None);
    }
}
