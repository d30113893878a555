//! The paths of one destination: one inline, several on the heap.
//!
//! Nearly every destination of a full table has one path, so the list is as large as one
//! path (40 bytes; the enum's tag lives in a niche of [`Path`]) instead of a small-vector's
//! 48. It reads as a slice of paths.

use super::table::Path;
use std::ops::{Deref, DerefMut};

/// The paths of one destination, in arrival order.
#[derive(Debug, Clone)]
pub enum PathList {
    /// Exactly one path.
    One(Path),
    /// None, or two and more.
    Many(Vec<Path>),
}

impl Default for PathList {
    fn default() -> Self {
        PathList::Many(Vec::new())
    }
}

impl Deref for PathList {
    type Target = [Path];

    fn deref(&self) -> &[Path] {
        match self {
            PathList::One(p) => std::slice::from_ref(p),
            PathList::Many(v) => v,
        }
    }
}

impl DerefMut for PathList {
    fn deref_mut(&mut self) -> &mut [Path] {
        match self {
            PathList::One(p) => std::slice::from_mut(p),
            PathList::Many(v) => v,
        }
    }
}

impl<'a> IntoIterator for &'a PathList {
    type Item = &'a Path;
    type IntoIter = std::slice::Iter<'a, Path>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PathList {
    /// Adds a path at the end.
    ///
    /// Called for every route received: changed in place, without taking the list out and
    /// putting it back (which moved it twice and dropped an empty vector each time).
    #[inline]
    pub fn push(&mut self, path: Path) {
        match self {
            PathList::Many(v) if v.is_empty() => *self = PathList::One(path),
            PathList::Many(v) => v.push(path),
            PathList::One(_) => {
                let many = PathList::Many(Vec::with_capacity(2));
                if let (PathList::One(first), PathList::Many(v)) =
                    (std::mem::replace(self, many), &mut *self)
                {
                    v.push(first);
                    v.push(path);
                }
            }
        }
    }

    /// Takes out the path at `i` (the later ones move up).
    ///
    /// # Panics
    /// When `i` is out of bounds, as `Vec::remove`.
    pub fn remove(&mut self, i: usize) -> Path {
        match std::mem::take(self) {
            PathList::One(p) if i == 0 => p,
            PathList::One(p) => {
                *self = PathList::One(p);
                panic!("path index {i} out of bounds (one path)");
            }
            PathList::Many(mut v) => {
                let p = v.remove(i);
                *self = Self::from_vec(v);
                p
            }
        }
    }

    /// Keeps the paths for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        match self {
            // The common case (a session going down walks every destination): no vector.
            PathList::One(p) => {
                if !keep(p) {
                    *self = PathList::default();
                }
            }
            PathList::Many(v) => {
                v.retain(keep);
                if v.len() == 1 {
                    *self = Self::from_vec(std::mem::take(v));
                }
            }
        }
    }

    fn from_vec(mut v: Vec<Path>) -> Self {
        match (v.len(), v.pop()) {
            (1, Some(p)) => PathList::One(p),
            (_, Some(p)) => {
                v.push(p);
                PathList::Many(v)
            }
            (_, None) => PathList::Many(v),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::rib::route::{NextHop, RouteAttrs};
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn path(peer: u32) -> Path {
        Path {
            peer,
            received_path_id: 0,
            local_id: peer,
            attrs: Arc::new(RouteAttrs::new(
                NextHop::V4(Ipv4Addr::LOCALHOST),
                Default::default(),
            )),
            class: None,
            since: 0,
            stale: false,
            llgr_stale: false,
        }
    }

    fn peers(l: &PathList) -> Vec<u32> {
        l.iter().map(|p| p.peer).collect()
    }

    #[test]
    fn one_inline_more_on_the_heap() {
        assert_eq!(std::mem::size_of::<PathList>(), std::mem::size_of::<Path>());
        let mut l = PathList::default();
        assert!(l.is_empty());
        l.push(path(1));
        assert!(matches!(l, PathList::One(_)));
        l.push(path(2));
        l.push(path(3));
        assert_eq!(peers(&l), [1, 2, 3]);
        l[1].stale = true;
        assert!(l.get(1).unwrap().stale);
        assert_eq!(l.remove(1).peer, 2);
        assert_eq!(l.remove(0).peer, 1);
        assert!(matches!(l, PathList::One(_)), "back to inline");
        l.push(path(4));
        l.retain(|p| p.peer == 4);
        assert!(matches!(l, PathList::One(_)));
        assert_eq!(peers(&l), [4]);
        l.retain(|_| false);
        assert!(l.is_empty());
        assert_eq!((&l).into_iter().count(), 0);
    }
}
