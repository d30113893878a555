//! Which BoRR and EoRR messages of a peer's enhanced route refresh (RFC 7313 §4) go on to the
//! RIB task.
//!
//! At a BoRR the RIB marks the peer's routes of the family stale, and at the EoRR it removes
//! those still stale: each is a walk over the Loc-RIB. Both messages are 23 octets, so a
//! peer sending them in a loop could keep the RIB task walking and queue an event per
//! message. The peer task therefore passes on
//! - a BoRR only when no refresh of the family is open, and at least [`MIN_INTERVAL`] after
//!   the last one ended (a BoRR during a refresh is the same refresh going on: routes sent
//!   since the first BoRR stay fresh; RFC 7313 does not say what a second BoRR means);
//! - an EoRR only when it closes an open refresh (RFC 7313 §4: an EoRR without a BoRR may be
//!   ignored).
//!
//! So each family costs the RIB at most two walks a [`MIN_INTERVAL`], and the log at most
//! two lines. A refresh left open for [`STALE_TIME`] (the RIB's timer has removed what was
//! stale by then) no longer holds the next BoRR back.

use bgp_proto::Family;
use std::time::Duration;
use tokio::time::Instant;

/// How long routes marked stale by a BoRR wait for the EoRR before the RIB removes those
/// not sent again (RFC 7313 §4 leaves the time to the implementation; FRR's default
/// stale-path time is the same 360 s).
pub const STALE_TIME: Duration = Duration::from_secs(360);

/// The least time from the end of one refresh of a family to the next BoRR passed on.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// What becomes of one BoRR or EoRR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Passed on to the RIB.
    Pass,
    /// A BoRR while a refresh of the family is open: the refresh goes on.
    DuringRefresh,
    /// A BoRR less than [`MIN_INTERVAL`] after the last refresh of the family ended.
    TooSoon,
    /// An EoRR without an open refresh.
    WithoutBorr,
}

/// The refreshes of one connection's peer: open ones with their BoRR's time, ended ones
/// with their end.
#[derive(Debug, Default)]
pub struct RefreshGate {
    open: Vec<(Family, Instant)>,
    ended: Vec<(Family, Instant)>,
}

impl RefreshGate {
    /// A BoRR for `family` at `now`.
    pub fn borr(&mut self, family: Family, now: Instant) -> Verdict {
        if let Some(i) = self.open.iter().position(|(f, _)| *f == family) {
            let since = self.open.get(i).map(|(_, t)| *t);
            if since.is_some_and(|t| now.duration_since(t) < STALE_TIME) {
                return Verdict::DuringRefresh;
            }
            // Left open past the stale time: the RIB has ended it.
            self.open.swap_remove(i);
        }
        let last_end = self.ended.iter().find(|(f, _)| *f == family).map(|e| e.1);
        if last_end.is_some_and(|t| now.duration_since(t) < MIN_INTERVAL) {
            return Verdict::TooSoon;
        }
        self.open.push((family, now));
        Verdict::Pass
    }

    /// An EoRR for `family` at `now`.
    pub fn eorr(&mut self, family: Family, now: Instant) -> Verdict {
        let Some(i) = self.open.iter().position(|(f, _)| *f == family) else {
            return Verdict::WithoutBorr;
        };
        self.open.swap_remove(i);
        self.ended.retain(|(f, _)| *f != family);
        self.ended.push((family, now));
        Verdict::Pass
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const V4: Family = Family::IPV4_UNICAST;
    const V6: Family = Family::IPV6_UNICAST;

    #[test]
    fn one_borr_and_one_eorr_per_refresh_and_families_apart() {
        let mut g = RefreshGate::default();
        let t = Instant::now();
        assert_eq!(g.eorr(V4, t), Verdict::WithoutBorr);
        assert_eq!(g.borr(V4, t), Verdict::Pass);
        assert_eq!(g.borr(V4, t), Verdict::DuringRefresh);
        // IPv6 right after IPv4 (FRR refreshes its families one after the other).
        assert_eq!(g.borr(V6, t), Verdict::Pass);
        assert_eq!(g.eorr(V4, t), Verdict::Pass);
        assert_eq!(g.eorr(V4, t), Verdict::WithoutBorr);
        assert_eq!(g.eorr(V6, t), Verdict::Pass);
    }

    #[test]
    fn the_next_refresh_waits_the_min_interval() {
        let mut g = RefreshGate::default();
        let t = Instant::now();
        g.borr(V4, t);
        g.eorr(V4, t);
        assert_eq!(g.borr(V4, t + MIN_INTERVAL / 2), Verdict::TooSoon);
        // Its EoRR has no open refresh to close.
        assert_eq!(g.eorr(V4, t + MIN_INTERVAL / 2), Verdict::WithoutBorr);
        assert_eq!(g.borr(V4, t + MIN_INTERVAL), Verdict::Pass);
    }

    #[test]
    fn a_refresh_left_open_past_the_stale_time_no_longer_holds_the_next_back() {
        let mut g = RefreshGate::default();
        let t = Instant::now();
        g.borr(V4, t);
        assert_eq!(g.borr(V4, t + STALE_TIME / 2), Verdict::DuringRefresh);
        assert_eq!(g.borr(V4, t + STALE_TIME), Verdict::Pass);
        assert_eq!(g.eorr(V4, t + STALE_TIME), Verdict::Pass);
    }
}
