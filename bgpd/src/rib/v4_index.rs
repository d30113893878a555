//! The index of the Loc-RIB's IPv4 slab: slot numbers found by packed key, kept in address
//! order so that neighbouring prefixes sit in neighbouring memory.
//!
//! A full table arrives roughly in address order: in the real table of the race's W1, 72 % of
//! the prefixes share their /16 with the prefix just before, and 83 % with one of the last
//! 256 /16s seen; a route server's peers each send their table in the same way. A hash index
//! scatters those keys over its whole table (10 MB for a million keys), so nearly every
//! lookup was a cache miss (the probe was a fifth of the RIB task's time loading W1b). Here
//! the keys are grouped by the address's top 16 bits, and each group is a sorted vector of
//! `(rest of the key, slot)` words: the group a table walk is in stays in cache, and a key
//! that follows its group's last one is appended.
//!
//! A group holding more than [`SPLIT`] keys is split by the address's third octet into 256
//! sorted vectors, so no vector grows past the few hundred keys one /24 can hold per SAFI
//! (lengths 24–32, plus the shorter prefixes whose third octet it is) and an insert in the
//! middle moves at most a few kilobytes, whatever order a peer sends its prefixes in.
//!
//! Memory: 8 bytes per key (plus the vectors' spare capacity) and 1.5 MB for the 65,536 group
//! headers, allocated with the first IPv4 key; a hash index of 4-byte slot numbers takes
//! about 10 bytes per key at a million keys.

/// A group is split by the third octet once it holds more keys than this.
pub const SPLIT: usize = 1024;

/// Groups: one per value of the address's top 16 bits.
const GROUPS: usize = 1 << 16;

/// The keys of one /16, as `(sub-key << 32) | slot` words sorted by sub-key.
#[derive(Debug)]
enum Group {
    /// One sorted vector.
    Flat(Vec<u64>),
    /// 256 sorted vectors, by the address's third octet.
    Split(Box<[Vec<u64>]>),
}

impl Default for Group {
    fn default() -> Self {
        Group::Flat(Vec::new())
    }
}

/// Slot numbers by packed IPv4 key (SAFI in bits 40–47, prefix length in 32–39, address
/// below), in address order within each /16. See the module documentation.
#[derive(Debug, Default)]
pub struct V4Index {
    /// Empty, or [`GROUPS`] groups.
    groups: Vec<Group>,
    len: usize,
}

/// Where [`V4Index::entry`] would put a key it did not find.
#[derive(Debug, Clone, Copy)]
pub struct Vacant {
    key: u64,
    /// The position in the key's vector.
    at: usize,
}

/// The group of a packed key, and the key's rest: the address's low 16 bits, the SAFI and
/// the length, in an order that sorts by address first.
fn split_key(key: u64) -> (usize, u32) {
    let addr = key as u32;
    let safi = ((key >> 40) & 0xff) as u32;
    let len = ((key >> 32) & 0xff) as u32;
    (
        (addr >> 16) as usize,
        ((addr & 0xffff) << 16) | (safi << 8) | len,
    )
}

/// The third octet of the address a sub-key holds: its vector in a split group.
fn third_octet(sub: u32) -> usize {
    (sub >> 24) as usize
}

fn sub_of(entry: u64) -> u32 {
    (entry >> 32) as u32
}

/// Where `sub` is in a sorted vector (`Ok`), or where it would go (`Err`). A key past the
/// last one, the common case for a table sent in order, is answered without a search.
fn search(v: &[u64], sub: u32) -> Result<usize, usize> {
    match v.last() {
        None => Err(0),
        Some(&last) if sub_of(last) < sub => Err(v.len()),
        Some(&last) if sub_of(last) == sub => Ok(v.len() - 1),
        Some(_) => v.binary_search_by_key(&sub, |&e| sub_of(e)),
    }
}

impl Group {
    fn vector(&self, sub: u32) -> Option<&Vec<u64>> {
        match self {
            Group::Flat(v) => Some(v),
            Group::Split(parts) => parts.get(third_octet(sub)),
        }
    }

    fn vector_mut(&mut self, sub: u32) -> Option<&mut Vec<u64>> {
        match self {
            Group::Flat(v) => Some(v),
            Group::Split(parts) => parts.get_mut(third_octet(sub)),
        }
    }

    /// Splits a flat group by third octet (each part stays sorted: the octet is the sub-key's
    /// top byte).
    fn split(&mut self) {
        if let Group::Flat(v) = self {
            let mut parts: Box<[Vec<u64>]> = (0..256).map(|_| Vec::new()).collect();
            for &e in v.iter() {
                if let Some(p) = parts.get_mut(third_octet(sub_of(e))) {
                    p.push(e);
                }
            }
            *self = Group::Split(parts);
        }
    }

    fn bytes(&self) -> usize {
        let entry = std::mem::size_of::<u64>();
        match self {
            Group::Flat(v) => v.capacity() * entry,
            Group::Split(parts) => parts
                .iter()
                .map(|p| std::mem::size_of::<Vec<u64>>() + p.capacity() * entry)
                .sum(),
        }
    }
}

impl V4Index {
    /// The slot of `key`, or where it would go (for [`V4Index::insert_at`]).
    pub fn entry(&self, key: u64) -> Result<u32, Vacant> {
        let (g, sub) = split_key(key);
        let found = self
            .groups
            .get(g)
            .and_then(|group| group.vector(sub))
            .map(|v| search(v, sub).map(|i| v.get(i).map_or(0, |&e| e as u32)));
        match found {
            Some(Ok(slot)) => Ok(slot),
            Some(Err(at)) => Err(Vacant { key, at }),
            None => Err(Vacant { key, at: 0 }),
        }
    }

    /// The slot of `key`.
    #[cfg(test)]
    pub fn find(&self, key: u64) -> Option<u32> {
        self.entry(key).ok()
    }

    /// Adds `key` at `slot` unless it is there already.
    #[cfg(test)]
    pub fn insert(&mut self, key: u64, slot: u32) {
        if let Err(vacant) = self.entry(key) {
            self.insert_at(vacant, slot);
        }
    }

    /// Adds the key that [`V4Index::entry`] did not find, at `slot`; nothing may have been
    /// inserted or removed since.
    pub fn insert_at(&mut self, vacant: Vacant, slot: u32) {
        if self.groups.is_empty() {
            self.groups = (0..GROUPS).map(|_| Group::default()).collect();
        }
        let (g, sub) = split_key(vacant.key);
        let Some(group) = self.groups.get_mut(g) else {
            return; // not reached: `g` is 16 bits
        };
        // A split moves the keys: the position found in the flat vector no longer applies.
        let found_at = if matches!(group, Group::Flat(v) if v.len() >= SPLIT) {
            group.split();
            None
        } else {
            Some(vacant.at)
        };
        let Some(v) = group.vector_mut(sub) else {
            return; // not reached: a third octet is below 256
        };
        let at = match found_at.map_or_else(|| search(v, sub), Err) {
            Ok(_) => return, // already there: not added twice
            Err(at) => at.min(v.len()),
        };
        v.insert(at, (u64::from(sub) << 32) | u64::from(slot));
        self.len += 1;
    }

    /// Takes `key` out; returns its slot.
    pub fn remove(&mut self, key: u64) -> Option<u32> {
        let (g, sub) = split_key(key);
        let group = self.groups.get_mut(g)?;
        let v = group.vector_mut(sub)?;
        let at = search(v, sub).ok()?;
        let slot = v.remove(at) as u32;
        if v.is_empty() {
            *v = Vec::new();
        }
        self.len -= 1;
        if self.len == 0 {
            // The last key gone: the group headers go too.
            self.groups = Vec::new();
        }
        Some(slot)
    }

    /// Bytes allocated: the group headers and every vector's capacity.
    pub fn bytes(&self) -> usize {
        self.groups.capacity() * std::mem::size_of::<Group>()
            + self.groups.iter().map(Group::bytes).sum::<usize>()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn packed(safi: u8, len: u8, addr: u32) -> u64 {
        (u64::from(safi) << 40) | (u64::from(len) << 32) | u64::from(addr)
    }

    #[test]
    fn finds_what_was_inserted_in_any_order() {
        let mut ix = V4Index::default();
        assert_eq!(ix.find(packed(1, 24, 0x0a00_0000)), None);
        // Out of order, and keys that differ only in length or SAFI.
        let keys = [
            packed(1, 24, 0x0a00_0100),
            packed(1, 24, 0x0a00_0000),
            packed(1, 23, 0x0a00_0000),
            packed(2, 24, 0x0a00_0000),
            packed(1, 8, 0x0a00_0000),
            packed(1, 0, 0),
            packed(1, 32, 0xffff_ffff),
        ];
        for (i, &k) in keys.iter().enumerate() {
            ix.insert(k, i as u32);
        }
        ix.insert(keys[0], 99); // already there: not added twice
        assert_eq!(ix.len, keys.len());
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(ix.find(k), Some(i as u32), "{k:#x}");
        }
        assert_eq!(ix.find(packed(1, 25, 0x0a00_0000)), None);
        assert_eq!(ix.remove(keys[1]), Some(1));
        assert_eq!(ix.remove(keys[1]), None);
        assert_eq!(ix.find(keys[1]), None);
        assert_eq!(ix.find(keys[2]), Some(2));
        for &k in &keys {
            ix.remove(k);
        }
        assert_eq!(ix.len, 0);
        assert_eq!(ix.bytes(), 0, "an emptied index gives its memory back");
    }

    #[test]
    fn a_crowded_group_splits_and_stays_sorted() {
        // Every /32 of one /16 in a scattered order (a multiplicative permutation), then
        // every /24 and /16 of it: far more than SPLIT keys in one group.
        let mut ix = V4Index::default();
        let mut keys = Vec::new();
        for i in 0..65_536u32 {
            let low = i.wrapping_mul(40_503) & 0xffff;
            keys.push(packed(1, 32, 0xc0a8_0000 | low));
        }
        for o in 0..256u32 {
            keys.push(packed(1, 24, 0xc0a8_0000 | (o << 8)));
        }
        keys.push(packed(1, 16, 0xc0a8_0000));
        for (i, &k) in keys.iter().enumerate() {
            ix.insert(k, i as u32);
        }
        assert_eq!(ix.len, keys.len());
        assert!(matches!(ix.groups[0xc0a8], Group::Split(_)));
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(ix.find(k), Some(i as u32));
        }
        if let Group::Split(parts) = &ix.groups[0xc0a8] {
            for p in parts.iter() {
                assert!(p.windows(2).all(|w| sub_of(w[0]) < sub_of(w[1])));
                assert!(p.len() <= 258);
            }
        }
        for (i, &k) in keys.iter().enumerate().rev() {
            assert_eq!(ix.remove(k), Some(i as u32));
        }
        assert_eq!(ix.len, 0);
    }
}
