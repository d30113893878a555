//! One peer's Adj-RIB-In (RFC 4271 §3.2): the routes as received, before import policy.
//!
//! Accepted routes are not stored twice: their Loc-RIB path's attributes are the received
//! ones unless the import policy (or long-lived graceful restart's LLGR_STALE) changed them,
//! and only those changed routes keep their received attributes here. So this table holds
//! - the received attributes of accepted routes whose attributes were changed (kept beside
//!   the Loc-RIB rather than in every path: without import policy the table is empty, and a
//!   path is 8 bytes smaller);
//! - what the import policy *rejected* (kept so that a policy change can accept it later);
//! - the count of received routes per family, kept up to date for the max-prefix check
//!   (RFC 4486) without a scan;
//! - during the peer's enhanced route refresh (RFC 7313 §4), the rejected routes it has not
//!   sent again since its BoRR, set aside: its EoRR drops those still there.
//!
//! [`crate::rib::table::Rib::adj_rib_in`] lists everything.

use super::route::SharedAttrs;
use super::FastMap;
use bgp_proto::Family;
use ipnet::IpNet;
use smallvec::SmallVec;

/// (family, prefix, path id).
pub type RouteKey = (Family, IpNet, u32);

/// The rejected routes of a peer and its received-route counts.
#[derive(Debug, Default)]
pub struct AdjRibIn {
    /// Received attributes of accepted routes whose Loc-RIB attributes differ.
    changed: FastMap<RouteKey, SharedAttrs>,
    rejected: FastMap<RouteKey, SharedAttrs>,
    /// Rejected routes of families being refreshed, not received again since the BoRR
    /// (still received, and counted, until the EoRR).
    set_aside: FastMap<RouteKey, SharedAttrs>,
    /// Received routes per family: a peer has one or two families, and the count changes
    /// per received route, so a short list beats a hash.
    counts: SmallVec<[(Family, usize); 2]>,
}

impl AdjRibIn {
    /// Stores a route the import policy rejected; returns whether it was already there.
    /// `aside`: the peer's family is being refreshed and it has not sent the route again
    /// since its BoRR (a re-import rejected it), so it stays set aside for the EoRR.
    pub fn reject(&mut self, key: RouteKey, attrs: SharedAttrs, aside: bool) -> bool {
        let was_aside = !self.set_aside.is_empty() && self.set_aside.remove(&key).is_some();
        let was_rejected = !self.rejected.is_empty() && self.rejected.remove(&key).is_some();
        let table = if aside {
            &mut self.set_aside
        } else {
            &mut self.rejected
        };
        table.insert(key, attrs);
        was_aside || was_rejected
    }

    /// Records a route the import policy accepted: it is no longer rejected, and its
    /// received attributes are kept when they differ from its Loc-RIB ones (`received` is
    /// `Some`, see [`AdjRibIn::set_received`]). Returns whether it had been rejected.
    ///
    /// The route comes in its parts and its key is built only when there is something to
    /// record or forget: for a peer without rejected or changed routes, the common case,
    /// nothing is done. Built for every accepted route, the 24-octet key was assembled on
    /// the stack from pieces of other widths and read back whole, a load that waited on
    /// store forwarding (`perf`: an eighth of `Rib::store_imported`'s samples).
    #[inline]
    pub fn accept(
        &mut self,
        family: Family,
        prefix: &IpNet,
        path_id: u32,
        received: Option<SharedAttrs>,
    ) -> bool {
        if received.is_none()
            && self.rejected.is_empty()
            && self.changed.is_empty()
            && self.set_aside.is_empty()
        {
            return false;
        }
        let key = (family, *prefix, path_id);
        let was_rejected = self.unreject(&key);
        self.set_received(key, received);
        was_rejected
    }

    /// Forgets a rejected route (or one set aside: received again, or withdrawn); returns
    /// whether it was there.
    pub fn unreject(&mut self, key: &RouteKey) -> bool {
        let aside = !self.set_aside.is_empty() && self.set_aside.remove(key).is_some();
        // Called for every accepted route: without rejected routes, no hashing at all.
        (!self.rejected.is_empty() && self.rejected.remove(key).is_some()) || aside
    }

    /// The peer's BoRR for `family` (RFC 7313 §4): its rejected routes there are set aside
    /// (still received and counted) until it sends them again; returns how many.
    pub fn set_aside_rejected(&mut self, family: Family) -> usize {
        let keys: Vec<RouteKey> = self
            .rejected
            .keys()
            .filter(|k| k.0 == family)
            .copied()
            .collect();
        for k in &keys {
            if let Some(a) = self.rejected.remove(k) {
                self.set_aside.insert(*k, a);
            }
        }
        keys.len()
    }

    /// Whether a rejected route is set aside (its family is being refreshed and the peer has
    /// not sent it again since the BoRR).
    pub fn is_set_aside(&self, key: &RouteKey) -> bool {
        !self.set_aside.is_empty() && self.set_aside.contains_key(key)
    }

    /// The peer's EoRR for `family`: the rejected routes it did not send again are dropped
    /// (and no longer counted); returns how many.
    pub fn drop_set_aside(&mut self, family: Family) -> usize {
        let before = self.set_aside.len();
        self.set_aside.retain(|k, _| k.0 != family);
        let dropped = before - self.set_aside.len();
        for _ in 0..dropped {
            self.count_out(family);
        }
        dropped
    }

    /// The session ended during a refresh: the routes set aside are rejected routes again.
    pub fn restore_set_aside(&mut self) {
        self.rejected.extend(self.set_aside.drain());
    }

    /// Records the received attributes of an accepted route: `Some` when its Loc-RIB
    /// attributes differ from them, `None` when they are the same.
    pub fn set_received(&mut self, key: RouteKey, received: Option<SharedAttrs>) {
        match received {
            Some(a) => {
                self.changed.insert(key, a);
            }
            None => {
                if !self.changed.is_empty() {
                    self.changed.remove(&key);
                }
            }
        }
    }

    /// The received attributes of an accepted route, when they differ from its Loc-RIB ones.
    pub fn received(&self, key: &RouteKey) -> Option<&SharedAttrs> {
        if self.changed.is_empty() {
            return None;
        }
        self.changed.get(key)
    }

    /// Whether an accepted route's received attributes are recorded (see
    /// [`AdjRibIn::set_received`]).
    pub fn has_received(&self, key: &RouteKey) -> bool {
        self.received(key).is_some()
    }

    /// One more received route in `family`.
    pub fn count_in(&mut self, family: Family) {
        match self.counts.iter_mut().find(|(f, _)| *f == family) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((family, 1)),
        }
    }

    /// One received route fewer in `family`.
    pub fn count_out(&mut self, family: Family) {
        if let Some((_, c)) = self.counts.iter_mut().find(|(f, _)| *f == family) {
            *c = c.saturating_sub(1);
        }
    }

    /// Sets the counts (after a bulk change such as a session end).
    pub fn set_counts(&mut self, counts: FastMap<Family, usize>) {
        self.counts = counts.into_iter().collect();
    }

    /// Drops the rejected routes (and received attributes) of the families `keep` refuses.
    pub fn retain_families(&mut self, keep: impl Fn(Family) -> bool) {
        self.rejected.retain(|k, _| keep(k.0));
        self.set_aside.retain(|k, _| keep(k.0));
        self.changed.retain(|k, _| keep(k.0));
    }

    /// Routes received in `family`.
    pub fn count(&self, family: Family) -> usize {
        self.counts
            .iter()
            .find(|(f, _)| *f == family)
            .map_or(0, |(_, n)| *n)
    }

    /// Routes received in every family.
    pub fn len(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// Whether nothing was received.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The routes the import policy rejected.
    pub fn rejected(&self) -> impl Iterator<Item = (&RouteKey, &SharedAttrs)> {
        self.rejected.iter()
    }

    /// Rejected routes set aside by a refresh in progress (see
    /// [`AdjRibIn::set_aside_rejected`]): still received until the EoRR.
    pub fn set_aside(&self) -> impl Iterator<Item = (&RouteKey, &SharedAttrs)> {
        self.set_aside.iter()
    }

    /// Route counts per family.
    pub fn counts(&self) -> impl Iterator<Item = (Family, usize)> + '_ {
        self.counts.iter().copied()
    }
}
