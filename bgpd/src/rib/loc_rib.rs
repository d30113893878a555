//! The Loc-RIB's table: every destination, found by (family, prefix).
//!
//! A full table is a million destinations, so the layout is chosen for memory first:
//! - The destinations (with their keys) live in a slab of chunks of 65,536 slots, each
//!   reserved at once and filled in order. Growing never moves or copies them, and there is no
//!   doubling overshoot: only the slots used so far are touched, so resident memory follows
//!   the number of destinations (and a small RIB's unused reservation costs nothing).
//! - The hash index holds only 4-byte slot numbers (plus hashbrown's control byte): 5 bytes
//!   per bucket, so the index of a million destinations is about 10 MB and doubling it zeroes
//!   little. Lookups compare the key stored in the slot.
//! - Freed slots are reused; when the table empties, every chunk is released.
//!
//! Iteration order is slot order, not prefix order; callers that show routes sort them.

use super::table::Destination;
use bgp_proto::Family;
use hashbrown::HashTable;
use ipnet::IpNet;
use std::hash::BuildHasher;

/// A Loc-RIB key: the family and the prefix.
pub type Key = (Family, IpNet);

const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;

/// One occupied slot: the key is kept beside the destination so the index can compare it.
#[derive(Debug)]
struct Slot {
    key: Key,
    dest: Destination,
}

/// Every destination by (family, prefix). See the module documentation for the layout.
#[derive(Debug, Default)]
pub struct LocRib {
    index: HashTable<u32>,
    /// Chunks of `CHUNK` capacity; only the last one is not full.
    chunks: Vec<Vec<Option<Slot>>>,
    free: Vec<u32>,
    /// Slots below this were used at some time (occupied now, or in `free`).
    used: usize,
    len: usize,
    hasher: foldhash::fast::RandomState,
}

/// The hash of a key. IPv4 prefixes (nearly every key in a full table) are folded into one
/// word first; the hasher is seeded per process, so a peer cannot choose colliding prefixes.
fn hash_key(hasher: &foldhash::fast::RandomState, key: &Key) -> u64 {
    let (family, prefix) = key;
    let f = (u64::from(family.afi) << 8) | u64::from(family.safi);
    match prefix {
        IpNet::V4(n) => hasher.hash_one(
            (f << 40) | (u64::from(n.prefix_len()) << 32) | u64::from(u32::from(n.addr())),
        ),
        IpNet::V6(n) => hasher.hash_one((f, u128::from(n.addr()), n.prefix_len())),
    }
}

impl LocRib {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn place(chunks: &mut [Vec<Option<Slot>>], i: u32) -> Option<&mut Option<Slot>> {
        let i = i as usize;
        chunks.get_mut(i >> CHUNK_BITS)?.get_mut(i & (CHUNK - 1))
    }

    fn slot(chunks: &[Vec<Option<Slot>>], i: u32) -> &Slot {
        let i = i as usize;
        chunks
            .get(i >> CHUNK_BITS)
            .and_then(|c| c.get(i & (CHUNK - 1)))
            .and_then(Option::as_ref)
            .expect("the index refers only to occupied slots")
    }

    fn slot_mut(chunks: &mut [Vec<Option<Slot>>], i: u32) -> &mut Slot {
        Self::place(chunks, i)
            .and_then(Option::as_mut)
            .expect("the index refers only to occupied slots")
    }

    fn find(&self, key: &Key) -> Option<u32> {
        let chunks = &self.chunks;
        self.index
            .find(hash_key(&self.hasher, key), |&i| {
                Self::slot(chunks, i).key == *key
            })
            .copied()
    }

    /// Number of destinations.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No destination at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The destination of a key.
    pub fn get(&self, key: &Key) -> Option<&Destination> {
        self.find(key).map(|i| &Self::slot(&self.chunks, i).dest)
    }

    /// The destination of a key, to change it.
    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Destination> {
        let i = self.find(key)?;
        Some(&mut Self::slot_mut(&mut self.chunks, i).dest)
    }

    /// Whether the key has a destination.
    pub fn contains_key(&self, key: &Key) -> bool {
        self.find(key).is_some()
    }

    /// The destination of a key, created empty if there is none.
    pub fn entry_or_default(&mut self, key: Key) -> &mut Destination {
        let hash = hash_key(&self.hasher, &key);
        let chunks = &self.chunks;
        let found = self
            .index
            .find(hash, |&i| Self::slot(chunks, i).key == key)
            .copied();
        let i = match found {
            Some(i) => i,
            None => {
                if self.index.len() == self.index.capacity() {
                    self.grow_index();
                }
                let i = self.allocate(Slot {
                    key,
                    dest: Destination::default(),
                });
                let (chunks, hasher) = (&self.chunks, &self.hasher);
                self.index
                    .insert_unique(hash, i, |&j| hash_key(hasher, &Self::slot(chunks, j).key));
                self.len += 1;
                i
            }
        };
        &mut Self::slot_mut(&mut self.chunks, i).dest
    }

    /// Doubles the index by walking the slab in order. Left to hashbrown, growing would
    /// rehash every entry through its slot, one cache miss each in slot-number order
    /// scattered by the old table; in slab order the keys are read as one stream.
    fn grow_index(&mut self) {
        let mut index = HashTable::with_capacity((self.index.capacity() + 1).max(1024));
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        for (i, slot) in chunks.iter().flat_map(|c| c.iter()).enumerate() {
            if let Some(slot) = slot {
                let i = u32::try_from(i).expect("fewer than 2^32 destinations");
                index.insert_unique(hash_key(hasher, &slot.key), i, |&j| {
                    hash_key(hasher, &Self::slot(chunks, j).key)
                });
            }
        }
        self.index = index;
    }

    /// Puts a slot in a free place: a freed one, else the next never used one (in a new
    /// chunk when the last one is full).
    fn allocate(&mut self, slot: Slot) -> u32 {
        let n = match self.free.pop() {
            Some(i) => i as usize,
            None => {
                let n = self.used;
                if n == self.chunks.len() * CHUNK {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                self.used += 1;
                if let Some(last) = self.chunks.last_mut() {
                    last.push(Some(slot));
                }
                return u32::try_from(n).expect("fewer than 2^32 destinations");
            }
        };
        let i = u32::try_from(n).expect("fewer than 2^32 destinations");
        if let Some(place) = Self::place(&mut self.chunks, i) {
            *place = Some(slot);
        }
        i
    }

    /// Takes a destination out of the table.
    pub fn remove(&mut self, key: &Key) -> Option<Destination> {
        let chunks = &self.chunks;
        let entry = self
            .index
            .find_entry(hash_key(&self.hasher, key), |&i| {
                Self::slot(chunks, i).key == *key
            })
            .ok()?;
        let (i, _) = entry.remove();
        let slot = Self::place(&mut self.chunks, i)?.take()?;
        self.len -= 1;
        if self.len == 0 {
            // An emptied table (every session down) gives its memory back.
            self.chunks = Vec::new();
            self.free = Vec::new();
            self.used = 0;
            self.index = HashTable::new();
        } else {
            self.free.push(i);
        }
        Some(slot.dest)
    }

    /// Bytes in use: the slab's slots used so far (with its free list) and the index.
    pub fn memory(&self) -> (usize, usize) {
        let slab = self.used * std::mem::size_of::<Option<Slot>>()
            + self.free.capacity() * std::mem::size_of::<u32>();
        (slab, self.index.allocation_size())
    }

    /// Every destination with its key.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Destination)> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .filter_map(|s| s.as_ref().map(|s| (&s.key, &s.dest)))
    }

    /// Every destination with its key, to change them.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Key, &mut Destination)> {
        self.chunks
            .iter_mut()
            .flat_map(|c| c.iter_mut())
            .filter_map(|s| s.as_mut().map(|s| (&s.key, &mut s.dest)))
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.iter().map(|(k, _)| k)
    }

    /// Every destination.
    pub fn values(&self) -> impl Iterator<Item = &Destination> {
        self.iter().map(|(_, d)| d)
    }

    /// Every destination, to change them.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Destination> {
        self.iter_mut().map(|(_, d)| d)
    }
}

impl<'a> IntoIterator for &'a LocRib {
    type Item = (&'a Key, &'a Destination);
    type IntoIter = Box<dyn Iterator<Item = (&'a Key, &'a Destination)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl std::ops::Index<&Key> for LocRib {
    type Output = Destination;

    fn index(&self, key: &Key) -> &Destination {
        self.get(key).expect("no destination for this key")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        let n: IpNet = s.parse().unwrap();
        let f = if n.addr().is_ipv4() {
            Family::IPV4_UNICAST
        } else {
            Family::IPV6_UNICAST
        };
        (f, n)
    }

    #[test]
    fn insert_find_remove_reuse() {
        let mut t = LocRib::new();
        let n = CHUNK * 2 + 10;
        for k in 0..n {
            // 10.0.0.0/24, 10.0.1.0/24, ... (k < 65,536), then 11.0.0.0/24, ...
            let a = (u32::try_from(k).unwrap() << 8) + 0x0a00_0000;
            let p = format!("{}/24", std::net::Ipv4Addr::from(a));
            t.entry_or_default(key(&p)).exported_best = u32::try_from(k).unwrap();
        }
        t.entry_or_default(key("2001:db8::/32")).exported_best = 7;
        assert_eq!(t.len(), n + 1);
        assert_eq!(t.iter().count(), n + 1);
        assert_eq!(t.get(&key("10.0.1.0/24")).unwrap().exported_best, 1);
        assert_eq!(t[&key("2001:db8::/32")].exported_best, 7);
        assert!(!t.contains_key(&key("10.0.1.0/25")));
        // The same prefix in another family is another key.
        assert!(!t.contains_key(&(Family::IPV4_MULTICAST, "10.0.1.0/24".parse().unwrap())));
        // An existing entry is returned, not replaced.
        assert_eq!(t.entry_or_default(key("10.0.1.0/24")).exported_best, 1);
        assert_eq!(t.len(), n + 1);

        assert_eq!(t.remove(&key("10.0.1.0/24")).unwrap().exported_best, 1);
        assert!(t.remove(&key("10.0.1.0/24")).is_none());
        assert!(t.get(&key("10.0.1.0/24")).is_none());
        let chunks = t.chunks.len();
        t.entry_or_default(key("192.0.2.0/24")).exported_best = 99;
        assert_eq!(t.chunks.len(), chunks, "a freed slot is reused");
        assert_eq!(t.get(&key("192.0.2.0/24")).unwrap().exported_best, 99);
        for d in t.values_mut() {
            d.exported_best += 1;
        }
        assert_eq!(t[&key("192.0.2.0/24")].exported_best, 100);

        let keys: Vec<Key> = t.keys().copied().collect();
        for k in &keys {
            assert!(t.remove(k).is_some());
        }
        assert!(t.is_empty());
        assert!(t.chunks.is_empty(), "an emptied table releases its chunks");
        t.entry_or_default(key("10.0.0.0/8"));
        assert_eq!(t.len(), 1);
    }
}
