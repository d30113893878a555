//! A set of peers as a bitmap: which peers a destination is advertised to. One word covers
//! peers 0–63 without a heap allocation; larger ids spill into a boxed slice.

use super::route::PeerId;

/// A set of [`PeerId`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerSet {
    low: u64,
    /// Words for peers 64 and up. A boxed `Vec` on purpose: its pointer is thin, so the set
    /// stays two words wide in every Loc-RIB destination (a boxed slice would make it three).
    #[allow(clippy::box_collection)]
    high: Option<Box<Vec<u64>>>,
}

fn split(id: PeerId) -> (usize, u64) {
    ((id / 64) as usize, 1u64 << (id % 64))
}

impl PeerSet {
    /// Adds `id`; returns whether it was absent.
    pub fn insert(&mut self, id: PeerId) -> bool {
        let (word, bit) = split(id);
        let w = if word == 0 {
            &mut self.low
        } else {
            let high = self.high.get_or_insert_with(Box::default);
            if high.len() < word {
                high.resize(word, 0);
            }
            match high.get_mut(word - 1) {
                Some(w) => w,
                None => return false,
            }
        };
        let absent = *w & bit == 0;
        *w |= bit;
        absent
    }

    /// Removes `id`; returns whether it was present.
    pub fn remove(&mut self, id: PeerId) -> bool {
        let (word, bit) = split(id);
        let w = if word == 0 {
            &mut self.low
        } else {
            match self.high.as_mut().and_then(|h| h.get_mut(word - 1)) {
                Some(w) => w,
                None => return false,
            }
        };
        let present = *w & bit != 0;
        *w &= !bit;
        present
    }

    /// Whether `id` is in the set.
    pub fn contains(&self, id: PeerId) -> bool {
        let (word, bit) = split(id);
        let w = if word == 0 {
            self.low
        } else {
            self.high
                .as_ref()
                .and_then(|h| h.get(word - 1))
                .copied()
                .unwrap_or(0)
        };
        w & bit != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.low == 0 && self.high.as_ref().is_none_or(|h| h.iter().all(|w| *w == 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_contains_across_words() {
        let mut s = PeerSet::default();
        assert!(s.is_empty());
        for id in [0, 5, 63, 64, 130, 1000] {
            assert!(!s.contains(id));
            assert!(s.insert(id), "{id} was absent");
            assert!(!s.insert(id), "{id} already present");
            assert!(s.contains(id));
        }
        assert!(!s.contains(129) && !s.contains(2000));
        for id in [0, 5, 63, 64, 130, 1000] {
            assert!(s.remove(id));
            assert!(!s.remove(id));
        }
        assert!(s.is_empty());
        assert!(
            !s.remove(5000),
            "removing beyond the allocated words is a no-op"
        );
    }
}
