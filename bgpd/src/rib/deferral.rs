//! Selection deferral of a restarting speaker (RFC 4724 §4.1): after a graceful restart,
//! bgpd selects and advertises routes only once every graceful-restart peer has sent
//! End-of-RIB for each family of its session, or when the deferral timer expires (the
//! daemon owns the timer). Sans-IO.

use super::route::PeerId;
use bgp_proto::{Family, FamilySet};
use std::collections::HashMap;

/// What is still awaited from one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaited {
    /// The session is not (yet, or no longer) Established.
    Session,
    /// End-of-RIB for these families.
    EndOfRib(FamilySet),
}

/// The peers the deferral waits for.
#[derive(Debug, Clone, Default)]
pub struct SelectionDeferral {
    awaited: HashMap<PeerId, Awaited>,
}

impl SelectionDeferral {
    /// Waits for every peer in `peers` (those we announce graceful restart to; RFC 4724 §4.1
    /// excludes the others).
    pub fn new(peers: impl IntoIterator<Item = PeerId>) -> Self {
        SelectionDeferral {
            awaited: peers.into_iter().map(|p| (p, Awaited::Session)).collect(),
        }
    }

    /// A session came up. `graceful_restart`: the peer announced the capability with a
    /// non-zero restart time; without it nothing is awaited from it (RFC 4724 §4.1).
    pub fn peer_up(&mut self, peer: PeerId, graceful_restart: bool, families: &[Family]) {
        if !self.awaited.contains_key(&peer) {
            return;
        }
        if graceful_restart && !families.is_empty() {
            self.awaited
                .insert(peer, Awaited::EndOfRib(FamilySet::of(families)));
        } else {
            self.awaited.remove(&peer);
        }
    }

    /// The peer sent End-of-RIB for `family`.
    pub fn end_of_rib(&mut self, peer: PeerId, family: Family) {
        if let Some(Awaited::EndOfRib(set)) = self.awaited.get(&peer).copied() {
            let rest = FamilySet::of(&set.families().filter(|f| *f != family).collect::<Vec<_>>());
            if rest == FamilySet::EMPTY {
                self.awaited.remove(&peer);
            } else {
                self.awaited.insert(peer, Awaited::EndOfRib(rest));
            }
        }
    }

    /// The session went down before its End-of-RIB: wait for it to come back.
    pub fn peer_down(&mut self, peer: PeerId) {
        if let Some(a) = self.awaited.get_mut(&peer) {
            *a = Awaited::Session;
        }
    }

    /// The neighbor was removed from the configuration.
    pub fn peer_removed(&mut self, peer: PeerId) {
        self.awaited.remove(&peer);
    }

    /// Nothing is awaited any more: select and advertise.
    pub fn done(&self) -> bool {
        self.awaited.is_empty()
    }

    /// How many peers are still awaited (for the log).
    pub fn awaited(&self) -> usize {
        self.awaited.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: Family = Family::IPV4_UNICAST;
    const V6: Family = Family::IPV6_UNICAST;

    #[test]
    fn done_after_every_end_of_rib_of_every_graceful_restart_peer() {
        let mut d = SelectionDeferral::new([1, 2, 3]);
        assert!(!d.done());
        d.peer_up(1, true, &[V4, V6]);
        d.peer_up(2, false, &[V4]); // no GR capability: not awaited (RFC 4724 §4.1)
        d.peer_up(3, true, &[V4]);
        assert_eq!(d.awaited(), 2);
        d.end_of_rib(1, V4);
        d.end_of_rib(3, V4);
        assert!(!d.done(), "peer 1 still owes IPv6");
        d.end_of_rib(1, V6);
        assert!(d.done());
    }

    #[test]
    fn a_peer_that_drops_is_awaited_again_and_unknown_peers_are_ignored() {
        let mut d = SelectionDeferral::new([1]);
        d.peer_up(9, true, &[V4]);
        d.end_of_rib(9, V4);
        d.peer_up(1, true, &[V4]);
        d.peer_down(1);
        d.end_of_rib(1, V4); // from no session: ignored
        assert!(!d.done());
        d.peer_up(1, true, &[V4]);
        d.end_of_rib(1, V4);
        assert!(d.done());
        let mut d = SelectionDeferral::new([1]);
        d.peer_removed(1);
        assert!(d.done());
    }
}
