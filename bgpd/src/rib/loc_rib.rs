//! The Loc-RIB's table: every destination, found by (family, prefix).
//!
//! A full table is a million destinations, so the layout is chosen for memory first:
//! - The destinations (with their keys) live in a slab of chunks of 65,536 slots, each
//!   reserved at once and filled in order. Growing never moves or copies them, and there is no
//!   doubling overshoot: only the slots used so far are touched, so resident memory follows
//!   the number of destinations (and a small RIB's unused reservation costs nothing).
//! - IPv4 keys (AFI 1: nearly every key of a full table) sit in their own slab, packed into
//!   one 8-byte word (SAFI, length, address); other keys take 22 bytes in a second slab. An
//!   IPv4 slot is 56 bytes: the key and a [`Destination`] of 48.
//! - The IPv4 slab's index keeps the keys in address order, grouped by /16
//!   (`V4Index`): a table arrives roughly in address order, so the
//!   group being filled stays in cache, where a hash index made nearly every lookup a cache
//!   miss. 8 bytes per key.
//! - The other slab's hash index holds only 4-byte slot numbers (plus hashbrown's control
//!   byte): 5 bytes per bucket, and doubling it zeroes little. Lookups compare the key stored
//!   in the slot.
//! - Freed slots are reused; when a slab empties, every chunk is released.
//!
//! Iteration order is slot order (IPv4 first), not prefix order; callers that show routes
//! sort them. Keys are handed out by value, since IPv4 ones are stored packed.

use super::table::Destination;
use super::v4_index::V4Index;
use bgp_proto::Family;
use hashbrown::HashTable;
use ipnet::{IpNet, Ipv4Net};
use std::hash::BuildHasher;

/// A Loc-RIB key: the family and the prefix.
pub type Key = (Family, IpNet);

const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The AFI whose keys are stored packed.
const AFI_IPV4: u16 = 1;

/// An IPv4 key in one word: SAFI in bits 40–47, prefix length in 32–39, address below.
type PackedV4 = u64;

fn pack_v4(key: &Key) -> Option<PackedV4> {
    pack_v4_parts(key.0, &key.1)
}

/// [`pack_v4`] from the key's two parts, so that a caller holding them apart never assembles
/// the key in memory (see [`LocRib::entry_slot`]).
#[inline]
fn pack_v4_parts(family: Family, prefix: &IpNet) -> Option<PackedV4> {
    match prefix {
        IpNet::V4(n) if family.afi == AFI_IPV4 => Some(
            (u64::from(family.safi) << 40)
                | (u64::from(n.prefix_len()) << 32)
                | u64::from(u32::from(n.addr())),
        ),
        _ => None,
    }
}

fn unpack_v4(k: PackedV4) -> Key {
    let safi = (k >> 40) as u8;
    let len = (k >> 32) as u8;
    let addr = std::net::Ipv4Addr::from(k as u32);
    let net = Ipv4Net::new(addr, len).expect("a packed key holds a valid prefix length");
    (Family::new(AFI_IPV4, safi), IpNet::V4(net))
}

/// One occupied slot: the key is kept beside the destination so the index can compare it.
#[derive(Debug)]
struct Slot<K> {
    key: K,
    dest: Destination,
}

/// A slab's slots, in chunks of `CHUNK` capacity; only the last one is not full.
type Chunk<K> = Vec<Option<Slot<K>>>;

type Hasher = foldhash::fast::RandomState;

/// How a slab finds the slot of a key.
trait SlabIndex<K>: Default {
    /// Where a key that is not in the index would go.
    type Vacant;
    /// The slot holding `key`, or where it would go.
    fn entry(&self, chunks: &[Chunk<K>], hasher: &Hasher, key: &K) -> Result<u32, Self::Vacant>;
    /// Adds `key`, which [`SlabIndex::entry`] did not find, just placed in slot `i`.
    fn insert(&mut self, chunks: &[Chunk<K>], hasher: &Hasher, key: &K, at: Self::Vacant, i: u32);
    /// Takes `key` out (its slot still holds it); returns the slot.
    fn remove(&mut self, chunks: &[Chunk<K>], hasher: &Hasher, key: &K) -> Option<u32>;
    /// Bytes allocated.
    fn bytes(&self) -> usize;
}

/// The slot of an occupied slot number.
fn occupied<K>(chunks: &[Chunk<K>], i: u32) -> Option<&Slot<K>> {
    let i = i as usize;
    chunks
        .get(i >> CHUNK_BITS)
        .and_then(|c| c.get(i & (CHUNK - 1)))
        .and_then(Option::as_ref)
}

/// The IPv4 slab's index: by address, grouped by /16 (see [`V4Index`]).
impl SlabIndex<PackedV4> for V4Index {
    type Vacant = super::v4_index::Vacant;

    fn entry(
        &self,
        _: &[Chunk<PackedV4>],
        _: &Hasher,
        key: &PackedV4,
    ) -> Result<u32, Self::Vacant> {
        V4Index::entry(self, *key)
    }

    fn insert(
        &mut self,
        _: &[Chunk<PackedV4>],
        _: &Hasher,
        _: &PackedV4,
        at: Self::Vacant,
        i: u32,
    ) {
        V4Index::insert_at(self, at, i);
    }

    fn remove(&mut self, _: &[Chunk<PackedV4>], _: &Hasher, key: &PackedV4) -> Option<u32> {
        V4Index::remove(self, *key)
    }

    fn bytes(&self) -> usize {
        V4Index::bytes(self)
    }
}

/// The other keys' index: a hash table of 4-byte slot numbers (plus hashbrown's control
/// byte), comparing the key stored in the slot. Seeded per process, so a peer cannot choose
/// colliding prefixes.
#[derive(Debug, Default)]
struct HashIndex(HashTable<u32>);

fn hash_key(hasher: &Hasher, (family, prefix): &Key) -> u64 {
    hasher.hash_one((family.afi, family.safi, prefix))
}

fn key_at(chunks: &[Chunk<Key>], i: u32) -> Option<&Key> {
    occupied(chunks, i).map(|s| &s.key)
}

impl SlabIndex<Key> for HashIndex {
    /// The key's hash.
    type Vacant = u64;

    fn entry(&self, chunks: &[Chunk<Key>], hasher: &Hasher, key: &Key) -> Result<u32, u64> {
        let hash = hash_key(hasher, key);
        self.0
            .find(hash, |&i| key_at(chunks, i) == Some(key))
            .copied()
            .ok_or(hash)
    }

    fn insert(&mut self, chunks: &[Chunk<Key>], hasher: &Hasher, _: &Key, hash: u64, i: u32) {
        if self.0.len() == self.0.capacity() {
            // Doubled by walking the slab in order (which indexes slot `i` too). Left to
            // hashbrown, growing would rehash every entry through its slot, one cache miss
            // each in slot-number order scattered by the old table; in slab order the keys
            // are read as one stream.
            let mut index = HashTable::with_capacity((self.0.capacity() + 1).max(1024));
            for (j, slot) in chunks.iter().flat_map(|c| c.iter()).enumerate() {
                if let (Some(slot), Ok(j)) = (slot, u32::try_from(j)) {
                    index.insert_unique(hash_key(hasher, &slot.key), j, |&k| {
                        key_at(chunks, k).map_or(0, |k| hash_key(hasher, k))
                    });
                }
            }
            self.0 = index;
            return;
        }
        self.0.insert_unique(hash, i, |&k| {
            key_at(chunks, k).map_or(0, |k| hash_key(hasher, k))
        });
    }

    fn remove(&mut self, chunks: &[Chunk<Key>], hasher: &Hasher, key: &Key) -> Option<u32> {
        let entry = self
            .0
            .find_entry(hash_key(hasher, key), |&i| key_at(chunks, i) == Some(key))
            .ok()?;
        Some(entry.remove().0)
    }

    fn bytes(&self) -> usize {
        self.0.allocation_size()
    }
}

/// Destinations of one key type. See the module documentation for the layout.
#[derive(Debug)]
struct Slab<K, I> {
    index: I,
    /// Chunks of `CHUNK` capacity; only the last one is not full.
    chunks: Vec<Chunk<K>>,
    free: Vec<u32>,
    /// Slots below this were used at some time (occupied now, or in `free`).
    used: usize,
    len: usize,
}

impl<K, I: Default> Default for Slab<K, I> {
    fn default() -> Self {
        Slab {
            index: I::default(),
            chunks: Vec::new(),
            free: Vec::new(),
            used: 0,
            len: 0,
        }
    }
}

impl<K: Copy + Eq, I: SlabIndex<K>> Slab<K, I> {
    fn place(chunks: &mut [Chunk<K>], i: u32) -> Option<&mut Option<Slot<K>>> {
        let i = i as usize;
        chunks.get_mut(i >> CHUNK_BITS)?.get_mut(i & (CHUNK - 1))
    }

    fn slot_mut(chunks: &mut [Chunk<K>], i: u32) -> &mut Slot<K> {
        Self::place(chunks, i)
            .and_then(Option::as_mut)
            .expect("the index refers only to occupied slots")
    }

    fn find(&self, hasher: &Hasher, key: &K) -> Option<u32> {
        self.index.entry(&self.chunks, hasher, key).ok()
    }

    fn at(&self, i: u32) -> Option<&Destination> {
        occupied(&self.chunks, i).map(|s| &s.dest)
    }

    fn at_mut(&mut self, i: u32) -> Option<&mut Destination> {
        Self::place(&mut self.chunks, i)
            .and_then(Option::as_mut)
            .map(|s| &mut s.dest)
    }

    fn get(&self, hasher: &Hasher, key: &K) -> Option<&Destination> {
        self.find(hasher, key).and_then(|i| self.at(i))
    }

    fn get_mut(&mut self, hasher: &Hasher, key: &K) -> Option<&mut Destination> {
        let i = self.find(hasher, key)?;
        self.at_mut(i)
    }

    fn entry_or_default(&mut self, hasher: &Hasher, key: K) -> (u32, &mut Destination) {
        let i = match self.index.entry(&self.chunks, hasher, &key) {
            Ok(i) => i,
            Err(at) => {
                let i = self.allocate(Slot {
                    key,
                    dest: Destination::default(),
                });
                self.index.insert(&self.chunks, hasher, &key, at, i);
                self.len += 1;
                i
            }
        };
        (i, &mut Self::slot_mut(&mut self.chunks, i).dest)
    }

    /// Puts a slot in a free place: a freed one, else the next never used one (in a new
    /// chunk when the last one is full).
    fn allocate(&mut self, slot: Slot<K>) -> u32 {
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

    fn remove(&mut self, hasher: &Hasher, key: &K) -> Option<Destination> {
        let i = self.index.remove(&self.chunks, hasher, key)?;
        let slot = Self::place(&mut self.chunks, i)?.take()?;
        self.len -= 1;
        if self.len == 0 {
            // An emptied slab (every session down) gives its memory back.
            *self = Slab::default();
        } else {
            self.free.push(i);
        }
        Some(slot.dest)
    }

    fn memory(&self) -> (usize, usize) {
        let slab = self.used * std::mem::size_of::<Option<Slot<K>>>()
            + self.free.capacity() * std::mem::size_of::<u32>();
        (slab, self.index.bytes())
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &Destination)> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .filter_map(|s| s.as_ref().map(|s| (&s.key, &s.dest)))
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut Destination)> {
        self.chunks
            .iter_mut()
            .flat_map(|c| c.iter_mut())
            .filter_map(|s| s.as_mut().map(|s| (&s.key, &mut s.dest)))
    }
}

/// Where a destination sits, found once by [`LocRib::locate`] so that a pass over a batch of
/// destinations (best-path selection, then Update-Send, then cleanup) hashes each key once.
/// Valid until that destination is removed: a pass removes destinations only at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRef(u32);

/// [`SlotRef`]'s bit for the slab of keys other than AFI 1.
const OTHER_SLAB: u32 = 1 << 31;

/// Every destination by (family, prefix). See the module documentation for the layout.
#[derive(Debug, Default)]
pub struct LocRib {
    v4: Slab<PackedV4, V4Index>,
    other: Slab<Key, HashIndex>,
    /// The other keys' hash seed, per process, so a peer cannot choose colliding prefixes.
    hasher: Hasher,
    /// One bit per slot, set only during a pass: see [`LocRib::mark`].
    marks: SlotMarks,
}

/// A bit per slot of both slabs, all clear between passes.
#[derive(Debug, Default)]
struct SlotMarks {
    v4: Vec<u64>,
    other: Vec<u64>,
}

impl SlotMarks {
    /// Sets (or clears) the slot's bit; returns whether it was clear before.
    fn set(&mut self, r: SlotRef, on: bool) -> bool {
        let (words, i) = if r.0 & OTHER_SLAB == 0 {
            (&mut self.v4, r.0)
        } else {
            (&mut self.other, r.0 & !OTHER_SLAB)
        };
        let w = (i / 64) as usize;
        if words.len() <= w {
            words.resize(w + 1, 0);
        }
        let bit = 1u64 << (i % 64);
        let Some(word) = words.get_mut(w) else {
            return true; // not reached: resized just above
        };
        let was_clear = *word & bit == 0;
        if on {
            *word |= bit;
        } else {
            *word &= !bit;
        }
        was_clear
    }
}

impl LocRib {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of destinations.
    pub fn len(&self) -> usize {
        self.v4.len + self.other.len
    }

    /// No destination at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The destination of a key.
    pub fn get(&self, key: &Key) -> Option<&Destination> {
        match pack_v4(key) {
            Some(k) => self.v4.get(&self.hasher, &k),
            None => self.other.get(&self.hasher, key),
        }
    }

    /// The destination of a key, to change it.
    pub fn get_mut(&mut self, key: &Key) -> Option<&mut Destination> {
        match pack_v4(key) {
            Some(k) => self.v4.get_mut(&self.hasher, &k),
            None => self.other.get_mut(&self.hasher, key),
        }
    }

    /// Where the key's destination sits, if it has one.
    pub fn locate(&self, key: &Key) -> Option<SlotRef> {
        let (i, bit) = match pack_v4(key) {
            Some(k) => (self.v4.find(&self.hasher, &k)?, 0),
            None => (self.other.find(&self.hasher, key)?, OTHER_SLAB),
        };
        (i < OTHER_SLAB).then_some(SlotRef(i | bit))
    }

    /// The destination at `r` (`None` once removed).
    pub fn at(&self, r: SlotRef) -> Option<&Destination> {
        if r.0 & OTHER_SLAB == 0 {
            self.v4.at(r.0)
        } else {
            self.other.at(r.0 & !OTHER_SLAB)
        }
    }

    /// The destination at `r`, to change it (`None` once removed).
    pub fn at_mut(&mut self, r: SlotRef) -> Option<&mut Destination> {
        if r.0 & OTHER_SLAB == 0 {
            self.v4.at_mut(r.0)
        } else {
            self.other.at_mut(r.0 & !OTHER_SLAB)
        }
    }

    /// Marks the slot for the current pass; false if it was already marked. A pass that
    /// marks slots (to visit each destination once) clears them with [`LocRib::unmark`]
    /// before it ends. A bit per slot: cheaper than hashing the keys a second time.
    pub fn mark(&mut self, r: SlotRef) -> bool {
        self.marks.set(r, true)
    }

    /// Clears a mark set by [`LocRib::mark`].
    pub fn unmark(&mut self, r: SlotRef) {
        self.marks.set(r, false);
    }

    /// Whether the key has a destination.
    pub fn contains_key(&self, key: &Key) -> bool {
        self.get(key).is_some()
    }

    /// The destination of a key, created empty if there is none.
    pub fn entry_or_default(&mut self, key: Key) -> &mut Destination {
        self.entry_slot(key.0, &key.1).1
    }

    /// The destination of `key`, created empty if absent, with where it sits (valid until
    /// the destination is removed).
    ///
    /// The key comes in its two parts and an IPv4 one is packed straight from them. Passed
    /// whole, the 21-octet key (alignment 2, its prefix alignment 1) was assembled on the
    /// stack from pieces of other widths and read back whole: a load that waited on store
    /// forwarding, a tenth of `store_imported`'s samples in `perf`.
    #[inline]
    pub fn entry_slot(
        &mut self,
        family: Family,
        prefix: &IpNet,
    ) -> (Option<SlotRef>, &mut Destination) {
        let (i, bit, d) = match pack_v4_parts(family, prefix) {
            Some(k) => {
                let (i, d) = self.v4.entry_or_default(&self.hasher, k);
                (i, 0, d)
            }
            None => {
                let (i, d) = self.other.entry_or_default(&self.hasher, (family, *prefix));
                (i, OTHER_SLAB, d)
            }
        };
        ((i < OTHER_SLAB).then_some(SlotRef(i | bit)), d)
    }

    /// Takes a destination out of the table.
    pub fn remove(&mut self, key: &Key) -> Option<Destination> {
        match pack_v4(key) {
            Some(k) => self.v4.remove(&self.hasher, &k),
            None => self.other.remove(&self.hasher, key),
        }
    }

    /// Bytes in use: the slabs' slots used so far (with their free lists) and the indexes.
    pub fn memory(&self) -> (usize, usize) {
        let (a, b) = self.v4.memory();
        let (c, d) = self.other.memory();
        (a + c, b + d)
    }

    /// Every destination with its key.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &Destination)> {
        self.v4
            .iter()
            .map(|(k, d)| (unpack_v4(*k), d))
            .chain(self.other.iter().map(|(k, d)| (*k, d)))
    }

    /// Every destination with its key, to change them.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (Key, &mut Destination)> {
        self.v4
            .iter_mut()
            .map(|(k, d)| (unpack_v4(*k), d))
            .chain(self.other.iter_mut().map(|(k, d)| (*k, d)))
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Every destination.
    pub fn values(&self) -> impl Iterator<Item = &Destination> {
        self.v4
            .iter()
            .map(|(_, d)| d)
            .chain(self.other.iter().map(|(_, d)| d))
    }

    /// Every destination, to change them.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Destination> {
        self.v4
            .iter_mut()
            .map(|(_, d)| d)
            .chain(self.other.iter_mut().map(|(_, d)| d))
    }
}

impl<'a> IntoIterator for &'a LocRib {
    type Item = (Key, &'a Destination);
    type IntoIter = Box<dyn Iterator<Item = (Key, &'a Destination)> + 'a>;

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
        let chunks = t.v4.chunks.len();
        t.entry_or_default(key("192.0.2.0/24")).exported_best = 99;
        assert_eq!(t.v4.chunks.len(), chunks, "a freed slot is reused");
        assert_eq!(t.get(&key("192.0.2.0/24")).unwrap().exported_best, 99);
        let r = t.locate(&key("192.0.2.0/24")).unwrap();
        assert_eq!(t.at(r).unwrap().exported_best, 99);
        t.at_mut(r).unwrap().exported_best = 98;
        assert_eq!(t[&key("192.0.2.0/24")].exported_best, 98);
        t.at_mut(r).unwrap().exported_best = 99;
        let r6 = t.locate(&key("2001:db8::/32")).unwrap();
        assert_eq!(t.at(r6).unwrap().exported_best, 7);
        assert!(t.locate(&key("2001:db8::/33")).is_none());
        for d in t.values_mut() {
            d.exported_best += 1;
        }
        assert_eq!(t[&key("192.0.2.0/24")].exported_best, 100);

        let keys: Vec<Key> = t.keys().collect();
        for k in &keys {
            assert!(t.remove(k).is_some());
        }
        assert!(t.is_empty());
        assert!(
            t.v4.chunks.is_empty() && t.other.chunks.is_empty(),
            "an emptied table releases its chunks"
        );
        t.entry_or_default(key("10.0.0.0/8"));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn packed_keys_round_trip() {
        for k in [
            key("0.0.0.0/0"),
            key("255.255.255.255/32"),
            key("10.1.2.0/23"),
            (Family::IPV4_MULTICAST, "192.0.2.0/24".parse().unwrap()),
        ] {
            assert_eq!(unpack_v4(pack_v4(&k).unwrap()), k);
        }
        assert!(pack_v4(&key("2001:db8::/32")).is_none());
        // An IPv4 prefix under another AFI is kept whole, not packed.
        assert!(pack_v4(&(Family::new(2, 1), "10.0.0.0/8".parse().unwrap())).is_none());
        let mut t = LocRib::new();
        t.entry_or_default(key("10.0.0.0/8")).exported_best = 1;
        t.entry_or_default((Family::new(2, 1), "10.0.0.0/8".parse().unwrap()))
            .exported_best = 2;
        let mut all: Vec<(Key, u32)> = t.iter().map(|(k, d)| (k, d.exported_best)).collect();
        all.sort_by_key(|(_, v)| *v);
        assert_eq!(
            all,
            vec![
                (key("10.0.0.0/8"), 1),
                ((Family::new(2, 1), "10.0.0.0/8".parse().unwrap()), 2)
            ]
        );
    }

    #[test]
    fn ipv4_slot_is_56_bytes() {
        // The figure BENCHMARKS.md and the module documentation give; a bigger slot costs
        // a million routes a megabyte per byte.
        assert_eq!(std::mem::size_of::<Option<Slot<PackedV4>>>(), 56);
    }
}
