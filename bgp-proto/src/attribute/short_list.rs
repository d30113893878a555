//! [`ShortList`]: the values of a list-valued path attribute, with a single value kept inline.
//!
//! COMMUNITIES (RFC 1997) and CLUSTER_LIST (RFC 4456 §8) most often carry one value: in the
//! full table of `updates.et-header.2015.gz` every UPDATE has exactly one community and a
//! CLUSTER_LIST of one cluster id. Kept in a `Box<[T]>`, each of them is a heap allocation per
//! UPDATE and per stored attribute set. A `ShortList` holds one value in place of the box's
//! pointer and length, so it is the box's size (16 octets for a 4- or 8-octet value: the null
//! pointer marks the inline case) and needs no allocation for one value.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The values of a list-valued attribute: one value inline, none or several in one boxed
/// slice. It reads as a slice (`Deref<Target = [T]>`); equality, order and hashing are the
/// slice's, so a list is equal to (and hashes as) the same values in a `Box<[T]>`.
#[derive(Clone)]
pub struct ShortList<T>(Repr<T>);

/// The two forms. One value is always `One` (the constructors see to it), so equal lists
/// have the same form.
#[derive(Clone)]
enum Repr<T> {
    One(T),
    Many(Box<[T]>),
}

impl<T> ShortList<T> {
    /// The values as a slice.
    #[inline]
    pub fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::One(v) => std::slice::from_ref(v),
            Repr::Many(b) => b,
        }
    }

    /// A list of one value (no allocation).
    #[inline]
    pub fn one(value: T) -> Self {
        ShortList(Repr::One(value))
    }
}

impl<T> Default for ShortList<T> {
    /// The empty list (an empty boxed slice does not allocate).
    fn default() -> Self {
        ShortList(Repr::Many(Box::default()))
    }
}

impl<T> Deref for ShortList<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> From<Vec<T>> for ShortList<T> {
    fn from(mut values: Vec<T>) -> Self {
        if values.len() == 1 {
            if let Some(v) = values.pop() {
                return ShortList(Repr::One(v));
            }
        }
        ShortList(Repr::Many(values.into_boxed_slice()))
    }
}

impl<T> From<Box<[T]>> for ShortList<T> {
    fn from(values: Box<[T]>) -> Self {
        if values.len() == 1 {
            return values.into_vec().into();
        }
        ShortList(Repr::Many(values))
    }
}

impl<T: Clone> From<&[T]> for ShortList<T> {
    fn from(values: &[T]) -> Self {
        match values {
            [v] => ShortList(Repr::One(v.clone())),
            _ => ShortList(Repr::Many(values.into())),
        }
    }
}

impl<T, const N: usize> From<[T; N]> for ShortList<T> {
    fn from(values: [T; N]) -> Self {
        values.into_iter().collect()
    }
}

impl<T> FromIterator<T> for ShortList<T> {
    /// Collects without allocating for zero or one value; several are collected into one
    /// allocation sized from the iterator's lower bound (exact for the decoder's chunks).
    #[inline]
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        let Some(first) = iter.next() else {
            return ShortList::default();
        };
        let Some(second) = iter.next() else {
            return ShortList(Repr::One(first));
        };
        let mut values = Vec::with_capacity(iter.size_hint().0.saturating_add(2));
        values.push(first);
        values.push(second);
        values.extend(iter);
        ShortList(Repr::Many(values.into_boxed_slice()))
    }
}

impl<'a, T> IntoIterator for &'a ShortList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for ShortList<T> {
    /// As the slice (`[a, b]`), the same as a `Box<[T]>` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(f)
    }
}

impl<T: PartialEq> PartialEq for ShortList<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for ShortList<T> {}

impl<T: PartialOrd> PartialOrd for ShortList<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.as_slice().partial_cmp(other.as_slice())
    }
}

impl<T: Ord> Ord for ShortList<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl<T: Hash> Hash for ShortList<T> {
    /// The slice's hash: the same as a `Box<[T]>` of the same values.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn it_is_the_size_of_a_boxed_slice_for_four_and_eight_octet_values() {
        assert_eq!(std::mem::size_of::<ShortList<u32>>(), 16);
        assert_eq!(std::mem::size_of::<ShortList<std::net::Ipv4Addr>>(), 16);
        assert_eq!(std::mem::size_of::<ShortList<[u8; 8]>>(), 16);
    }

    #[test]
    fn every_constructor_gives_the_same_list_for_the_same_values() {
        for values in [vec![], vec![7u32], vec![7, 8], vec![1, 2, 3, 4, 5]] {
            let forms: [ShortList<u32>; 5] = [
                values.clone().into(),
                values.clone().into_boxed_slice().into(),
                values.as_slice().into(),
                values.iter().copied().collect(),
                values.iter().copied().filter(|_| true).collect(),
            ];
            for f in &forms {
                assert_eq!(f.as_slice(), values.as_slice());
                assert_eq!(f, &forms[0]);
                assert_eq!(hash_of(f), hash_of(&values.clone().into_boxed_slice()));
                assert_eq!(format!("{f:?}"), format!("{values:?}"));
                assert_eq!(f.iter().count(), values.len());
                assert_eq!(f.is_empty(), values.is_empty());
            }
        }
    }

    #[test]
    fn one_value_is_inline_and_order_is_the_slices() {
        let one = ShortList::one(5u32);
        assert!(matches!(one.0, Repr::One(5)));
        assert!(matches!(ShortList::from(vec![5u32]).0, Repr::One(5)));
        assert!(matches!(ShortList::from([5u32]).0, Repr::One(5)));
        let a: ShortList<u32> = [1, 2].into();
        let b: ShortList<u32> = [1, 3].into();
        assert!(a < b);
        assert!(ShortList::one(1u32) < a);
        assert_eq!(ShortList::<u32>::default().len(), 0);
    }
}
