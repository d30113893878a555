//! What a monitor holds: the set of prefixes received and not withdrawn, kept so that the
//! harness measures the daemon and not its own bookkeeping.
//!
//! Every prefix a run can deliver is known before the clock starts (the injectors' streams
//! are pre-encoded), so the run numbers them once in a [`PrefixIndex`] shared read-only by
//! all monitors, and each monitor keeps a bitmap over those numbers ([`Held`]). With a hash
//! set per monitor, W3's 50 monitors wrote 50 sets of 100,000 keys (1.2 MB each, 60 MB in
//! all) at once whenever a daemon interleaved its writes to them, and every insert missed the
//! cache: the monitors' inserts took four times as long as in the floor run, which writes to
//! one monitor after another. The bitmap is 12.5 KB per monitor; the shared index stays
//! cached. A prefix outside the index (a daemon sending something nobody announced) is still
//! counted, in a small set of its own.

use super::wire::{self, Scan};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A hash for prefix keys ([`wire::prefix_key`]): the monitors must not be the bottleneck.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u64(&mut self, v: u64) {
        // MurmurHash3's 64-bit finaliser: every input bit reaches the low bits (which pick
        // the bucket) and the top seven (hashbrown's control byte). A single multiply left
        // the low bits of /24 keys (address << 8 | 24) nearly constant, and the monitors'
        // inserts collided: 27 % of a W3 run's CPU was the harness's own hash set.
        let mut k = v ^ (v >> 33);
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        self.0 = k ^ (k >> 33);
    }
}

/// A map keyed by prefix key.
pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;
/// A set of prefix keys.
pub type KeySet = HashSet<u64, BuildHasherDefault<KeyHasher>>;

/// Every prefix the injectors announce, numbered from 0.
#[derive(Debug, Default)]
pub struct PrefixIndex {
    numbers: KeyMap<u32>,
}

impl PrefixIndex {
    /// Numbers the prefixes announced in `streams` (each a run of BGP messages as an
    /// injector writes them). Messages other than UPDATE and undecodable bodies are skipped:
    /// a prefix missing here is still counted by [`Held`], only more slowly.
    pub fn from_streams<'a>(streams: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut numbers = KeyMap::default();
        let mut scan = Scan::default();
        for stream in streams {
            for (kind, body) in wire::frames(stream) {
                if kind != 2 || wire::scan_update(body, false, &mut scan).is_err() {
                    continue;
                }
                for k in &scan.announced {
                    let next = numbers.len() as u32;
                    numbers.entry(*k).or_insert(next);
                }
            }
        }
        PrefixIndex { numbers }
    }

    /// How many prefixes are numbered.
    pub fn len(&self) -> usize {
        self.numbers.len()
    }

    /// Whether no prefix is numbered.
    pub fn is_empty(&self) -> bool {
        self.numbers.is_empty()
    }

    /// The number of a prefix key, if an injector announces it.
    pub fn number(&self, key: u64) -> Option<usize> {
        self.numbers.get(&key).map(|n| *n as usize)
    }
}

/// The prefixes one monitor holds: a bit per numbered prefix, and a set for any other.
#[derive(Debug)]
pub struct Held {
    bits: Vec<u64>,
    set_bits: usize,
    others: KeySet,
}

impl Held {
    /// Nothing held, for prefixes numbered by `index`.
    pub fn new(index: &PrefixIndex) -> Self {
        Held {
            bits: vec![0; index.len().div_ceil(64)],
            set_bits: 0,
            others: KeySet::default(),
        }
    }

    /// Adds a prefix (announced), with its number in the run's index
    /// ([`PrefixIndex::number`], looked up once by the caller for everything it does with
    /// the prefix). Returns whether it was new.
    pub fn insert(&mut self, number: Option<usize>, key: u64) -> bool {
        match number {
            Some(n) => match self.bits.get_mut(n / 64) {
                Some(word) => {
                    let bit = 1u64 << (n % 64);
                    let new = *word & bit == 0;
                    *word |= bit;
                    self.set_bits += usize::from(new);
                    new
                }
                None => self.others.insert(key),
            },
            None => self.others.insert(key),
        }
    }

    /// Removes a prefix (withdrawn), with its number as for [`Held::insert`]. Returns
    /// whether it was held.
    pub fn remove(&mut self, number: Option<usize>, key: u64) -> bool {
        match number.and_then(|n| Some((self.bits.get_mut(n / 64)?, n))) {
            Some((word, n)) => {
                let bit = 1u64 << (n % 64);
                let was = *word & bit != 0;
                *word &= !bit;
                self.set_bits -= usize::from(was);
                was
            }
            None => self.others.remove(&key),
        }
    }

    /// How many prefixes are held.
    pub fn len(&self) -> usize {
        self.set_bits + self.others.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// An UPDATE message announcing `announce` and withdrawing `withdraw` (/24s of 10/8).
    fn update(withdraw: &[u8], announce: &[u8]) -> Vec<u8> {
        let w: Vec<u8> = withdraw.iter().flat_map(|b| [24, 10, 0, *b]).collect();
        let n: Vec<u8> = announce.iter().flat_map(|b| [24, 10, 0, *b]).collect();
        let mut body = (w.len() as u16).to_be_bytes().to_vec();
        body.extend(&w);
        body.extend([0, 0]);
        body.extend(&n);
        let mut m = vec![0xff; 16];
        m.extend(((19 + body.len()) as u16).to_be_bytes());
        m.push(2);
        m.extend(body);
        m
    }

    fn key(b: u8) -> u64 {
        wire::prefix_key(u32::from_be_bytes([10, 0, b, 0]), 24)
    }

    #[test]
    fn numbers_each_announced_prefix_once_across_streams() {
        let a = [update(&[], &[1, 2]), update(&[9], &[2, 3])].concat();
        let b = update(&[], &[3, 4]);
        let index = PrefixIndex::from_streams([a.as_slice(), b.as_slice()]);
        assert_eq!(index.len(), 4);
        let numbers: KeySet = [1, 2, 3, 4]
            .iter()
            .map(|b| index.number(key(*b)).unwrap() as u64)
            .collect();
        assert_eq!(numbers, (0..4).collect());
        assert_eq!(index.number(key(9)), None);
    }

    #[test]
    fn holds_counts_and_forgets_numbered_and_other_prefixes() {
        let s = update(&[], &(0..100).collect::<Vec<u8>>());
        let index = PrefixIndex::from_streams([s.as_slice()]);
        let mut held = Held::new(&index);
        assert!(held.is_empty());
        assert!(held.insert(index.number(key(5)), key(5)));
        assert!(
            !held.insert(index.number(key(5)), key(5)),
            "a repeat is not new"
        );
        assert!(held.insert(index.number(key(99)), key(99)));
        assert!(
            held.insert(index.number(key(200)), key(200)),
            "outside the index"
        );
        assert!(!held.insert(index.number(key(200)), key(200)));
        assert_eq!(held.len(), 3);
        assert!(held.remove(index.number(key(5)), key(5)));
        assert!(
            !held.remove(index.number(key(5)), key(5)),
            "already withdrawn"
        );
        assert!(held.remove(index.number(key(200)), key(200)));
        assert!(!held.remove(index.number(key(7)), key(7)), "never held");
        assert_eq!(held.len(), 1);
    }
}
