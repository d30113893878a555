//! Which peers a destination was advertised to (the Adj-RIB-Out of peers without ADD-PATH),
//! as a bitmap of one word per destination: peers 0–62 sit in the word itself; peers 63 and
//! up, for the destinations that have any, sit in one [`HighPeers`] table beside the Loc-RIB,
//! and the word's top bit says the destination has an entry there. A million destinations
//! thus pay 8 bytes each, and only a route server with more than 63 peers pays for the rest.

use super::loc_rib::Key;
use super::route::PeerId;
use super::FastMap;

/// Peers below this live in the word itself.
const INLINE: PeerId = 63;
/// The destination has peers in [`HighPeers`].
const SPILLED: u64 = 1 << 63;

/// One destination's set of [`PeerId`]s. Peers from 63 up need the [`HighPeers`] table the
/// destination's set belongs to, and the destination's key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerSet(u64);

/// Peers 63 and up of every destination that has any: (destination → words, peer 63 first).
#[derive(Debug, Default)]
pub struct HighPeers {
    words: FastMap<Key, Vec<u64>>,
}

fn split(n: PeerId) -> (usize, u64) {
    ((n / 64) as usize, 1u64 << (n % 64))
}

impl PeerSet {
    /// Adds `id`; returns whether it was absent.
    pub fn insert(&mut self, id: PeerId, key: &Key, high: &mut HighPeers) -> bool {
        if id < INLINE {
            let bit = 1u64 << id;
            let absent = self.0 & bit == 0;
            self.0 |= bit;
            return absent;
        }
        self.0 |= SPILLED;
        let (word, bit) = split(id - INLINE);
        let words = high.words.entry(*key).or_default();
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        match words.get_mut(word) {
            Some(w) => {
                let absent = *w & bit == 0;
                *w |= bit;
                absent
            }
            None => false,
        }
    }

    /// Removes `id`; returns whether it was present.
    pub fn remove(&mut self, id: PeerId, key: &Key, high: &mut HighPeers) -> bool {
        if id < INLINE {
            let bit = 1u64 << id;
            let present = self.0 & bit != 0;
            self.0 &= !bit;
            return present;
        }
        if self.0 & SPILLED == 0 {
            return false;
        }
        let (word, bit) = split(id - INLINE);
        let Some(words) = high.words.get_mut(key) else {
            return false;
        };
        let present = words.get_mut(word).is_some_and(|w| {
            let present = *w & bit != 0;
            *w &= !bit;
            present
        });
        if words.iter().all(|w| *w == 0) {
            high.words.remove(key);
            self.0 &= !SPILLED;
        }
        present
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: PeerId, key: &Key, high: &HighPeers) -> bool {
        if id < INLINE {
            return self.0 & (1u64 << id) != 0;
        }
        if self.0 & SPILLED == 0 {
            return false;
        }
        let (word, bit) = split(id - INLINE);
        high.words
            .get(key)
            .and_then(|w| w.get(word))
            .is_some_and(|w| w & bit != 0)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// The peers below 63, as bits (peer `n` is bit `n`).
    pub fn inline_bits(&self) -> u64 {
        self.0 & !SPILLED
    }

    /// Adds the peers of `on` and removes those of `off` (bits of peers below 63).
    pub fn apply_inline(&mut self, on: u64, off: u64) {
        self.0 = (self.0 | (on & !SPILLED)) & !(off & !SPILLED);
    }

    /// The bit of `id` in [`PeerSet::inline_bits`], if it sits in the word.
    pub fn inline_bit(id: PeerId) -> Option<u64> {
        (id < INLINE).then(|| 1u64 << id)
    }

    /// Whether the destination has an entry in [`HighPeers`] (to drop with it).
    pub fn spilled(&self) -> bool {
        self.0 & SPILLED != 0
    }
}

impl HighPeers {
    /// Drops a destination's entry (the destination is gone).
    pub fn forget(&mut self, key: &Key) {
        self.words.remove(key);
    }

    /// Removes `id` (63 or more) from every destination; returns the destinations left
    /// without high peers, whose [`PeerSet`] must be told with [`PeerSet::clear_spilled`].
    pub fn remove_everywhere(&mut self, id: PeerId) -> Vec<Key> {
        let Some(n) = id.checked_sub(INLINE) else {
            return Vec::new();
        };
        let (word, bit) = split(n);
        let mut emptied = Vec::new();
        self.words.retain(|key, words| {
            if let Some(w) = words.get_mut(word) {
                *w &= !bit;
            }
            let keep = words.iter().any(|w| *w != 0);
            if !keep {
                emptied.push(*key);
            }
            keep
        });
        emptied
    }

    /// Destinations with peers 63 and up.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// No destination has peers 63 and up.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

impl PeerSet {
    /// Removes `id`, which must be below 63, without the [`HighPeers`] table (a peer's
    /// session ended: every destination is walked).
    pub fn remove_inline(&mut self, id: PeerId) {
        if id < INLINE {
            self.0 &= !(1u64 << id);
        }
    }

    /// The destination no longer has high peers (see [`HighPeers::remove_everywhere`]).
    pub fn clear_spilled(&mut self) {
        self.0 &= !SPILLED;
    }
}

/// Whether a peer's id is kept in the destinations' own word.
pub fn is_inline(id: PeerId) -> bool {
    id < INLINE
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::Family;

    fn key(s: &str) -> Key {
        (Family::IPV4_UNICAST, s.parse().expect("prefix"))
    }

    #[test]
    fn insert_remove_contains_across_words() {
        let mut high = HighPeers::default();
        let (k, other) = (key("10.0.0.0/8"), key("10.0.0.0/9"));
        let mut s = PeerSet::default();
        let mut t = PeerSet::default();
        assert!(s.is_empty());
        assert_eq!(std::mem::size_of::<PeerSet>(), 8);
        for id in [0, 5, 62, 63, 64, 130, 1000] {
            assert!(!s.contains(id, &k, &high));
            assert!(s.insert(id, &k, &mut high), "{id} was absent");
            assert!(!s.insert(id, &k, &mut high), "{id} already present");
            assert!(s.contains(id, &k, &high));
        }
        assert!(t.insert(64, &other, &mut high));
        assert!(!s.contains(129, &k, &high) && !s.contains(2000, &k, &high));
        assert!(
            !t.contains(130, &other, &high),
            "sets of other destinations are apart"
        );
        assert_eq!(high.len(), 2);
        for id in [0, 5, 62, 63, 64, 130, 1000] {
            assert!(s.remove(id, &k, &mut high));
            assert!(!s.remove(id, &k, &mut high));
        }
        assert!(s.is_empty());
        assert_eq!(high.len(), 1, "an emptied entry is dropped");
        assert!(
            !s.remove(5000, &k, &mut high),
            "removing an absent high peer is a no-op"
        );

        // A peer leaving every destination.
        assert!(s.insert(64, &k, &mut high));
        let mut emptied = high.remove_everywhere(64);
        emptied.sort();
        assert_eq!(emptied, vec![k, other]);
        s.clear_spilled();
        t.clear_spilled();
        assert!(s.is_empty() && t.is_empty() && high.is_empty());
        s.insert(3, &k, &mut high);
        s.remove_inline(3);
        assert!(s.is_empty());
    }
}
