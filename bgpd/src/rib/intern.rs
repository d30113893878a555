//! Interned attribute sets: equal sets share one allocation, found by one hash.
//!
//! The hash of a set is computed once per lookup-or-insert (a std `HashSet` hashes twice for
//! "get, else insert"), and every set hashes alike ([`hash`]): the export pass looks an
//! exported set up in the RIB's table and then in its own with one hash, and a session task
//! hashes the attributes of a received UPDATE before the RIB looks them up.
//!
//! Each entry keeps its hash: growing the table then moves entries without hashing a whole
//! attribute set again (left to hashbrown, a rehash cost 4 % of a full-table load).

use super::route::{RouteAttrs, SharedAttrs};
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock};

/// The hasher of every attribute set: foldhash, seeded once per process (not predictable by
/// a peer). One for the process, so a session task can hash the attributes of a received
/// UPDATE before the RIB looks them up ([`super::received`]).
static HASHER: LazyLock<foldhash::fast::RandomState> = LazyLock::new(Default::default);

/// The hash of `attrs` in every [`AttrSet`].
pub fn hash(attrs: &RouteAttrs) -> u64 {
    HASHER.hash_one(attrs)
}

/// A set of shared attribute sets.
#[derive(Debug, Default)]
pub struct AttrSet {
    table: HashTable<(u64, SharedAttrs)>,
}

impl AttrSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The held set equal to `attrs`, if any (`hash` from [`hash`]).
    pub fn get(&self, hash: u64, attrs: &RouteAttrs) -> Option<&SharedAttrs> {
        self.table
            .find(hash, |(h, a)| *h == hash && **a == *attrs)
            .map(|(_, a)| a)
    }

    /// The shared copy of `attrs`, added if new.
    pub fn intern(&mut self, attrs: RouteAttrs) -> SharedAttrs {
        self.intern_hashed(hash(&attrs), attrs)
    }

    /// As [`AttrSet::intern`], with the hash known.
    pub fn intern_hashed(&mut self, hash: u64, attrs: RouteAttrs) -> SharedAttrs {
        if let Some(a) = self.get(hash, &attrs) {
            return a.clone();
        }
        let a = Arc::new(attrs);
        self.insert_new(hash, a.clone());
        a
    }

    /// The held set equal to `shared`, else `shared` itself, added.
    pub fn share(&mut self, shared: SharedAttrs) -> SharedAttrs {
        let h = hash(&shared);
        if let Some(a) = self.get(h, &shared) {
            return a.clone();
        }
        self.insert_new(h, shared.clone());
        shared
    }

    fn insert_new(&mut self, hash: u64, a: SharedAttrs) {
        self.table.insert_unique(hash, (hash, a), |(h, _)| *h);
    }

    /// Number of sets.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// No set at all.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Drops the sets nothing else refers to.
    pub fn collect_garbage(&mut self) {
        self.table.retain(|(_, a)| Arc::strong_count(a) > 1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::rib::route::NextHop;
    use std::net::Ipv4Addr;

    fn attrs(n: u8) -> RouteAttrs {
        RouteAttrs::new(NextHop::V4(Ipv4Addr::new(192, 0, 2, n)), Default::default())
    }

    #[test]
    fn equal_sets_share_and_garbage_goes() {
        let mut s = AttrSet::new();
        let a = s.intern(attrs(1));
        let b = s.intern(attrs(1));
        assert!(Arc::ptr_eq(&a, &b));
        let c = s.share(Arc::new(attrs(2)));
        assert!(Arc::ptr_eq(&s.share(Arc::new(attrs(2))), &c));
        assert_eq!(s.len(), 2);
        let mut pass = AttrSet::new();
        let h = hash(&attrs(1));
        assert!(
            Arc::ptr_eq(s.get(h, &attrs(1)).unwrap(), &a),
            "siblings hash alike"
        );
        assert!(pass.get(h, &attrs(1)).is_none());
        let d = pass.intern_hashed(h, attrs(1));
        assert!(!Arc::ptr_eq(&d, &a), "a sibling holds its own sets");
        drop((a, b, d));
        s.collect_garbage();
        assert_eq!(s.len(), 1, "only the set still referred to stays");
        drop(c);
        s.collect_garbage();
        assert!(s.is_empty());
    }
}
