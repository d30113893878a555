//! One peer's Adj-RIB-In: the routes as received, before import policy, with a count per
//! family kept up to date (max-prefix checks must not scan the table).

use super::route::SharedAttrs;
use super::FastMap;
use bgp_proto::Family;
use ipnet::IpNet;

/// (family, prefix, path id).
pub type RouteKey = (Family, IpNet, u32);

/// The routes a peer sent, before policy.
#[derive(Debug, Default)]
pub struct AdjRibIn {
    routes: FastMap<RouteKey, SharedAttrs>,
    counts: FastMap<Family, usize>,
}

impl AdjRibIn {
    /// Stores a route, replacing the previous one with the same key.
    pub fn insert(&mut self, key: RouteKey, attrs: SharedAttrs) {
        if self.routes.insert(key, attrs).is_none() {
            *self.counts.entry(key.0).or_default() += 1;
        }
    }

    /// Removes a route.
    pub fn remove(&mut self, key: &RouteKey) {
        if self.routes.remove(key).is_some() {
            if let Some(c) = self.counts.get_mut(&key.0) {
                *c = c.saturating_sub(1);
            }
        }
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.routes.clear();
        self.counts.clear();
    }

    /// Routes of `family`.
    pub fn count(&self, family: Family) -> usize {
        self.counts.get(&family).copied().unwrap_or(0)
    }

    /// All routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Every route.
    pub fn iter(&self) -> impl Iterator<Item = (&RouteKey, &SharedAttrs)> {
        self.routes.iter()
    }

    /// Route counts per family.
    pub fn counts(&self) -> impl Iterator<Item = (Family, usize)> + '_ {
        self.counts.iter().map(|(f, n)| (*f, *n))
    }
}
