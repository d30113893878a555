//! The global allocator of `bgpd` and of the decode benchmarks: mimalloc, called the way
//! the C library is meant to be called.
//!
//! The `mimalloc` crate's `GlobalAlloc` passes every request to `mi_malloc_aligned`, even
//! the 8- and 16-octet alignments that every mimalloc block has anyway. That path checks the
//! alignment, looks for a block that happens to be aligned and falls back to a generic
//! routine: in `perf` of the UPDATE decoder it was 8.8 % of the time (`mi_malloc_aligned`,
//! `mi_heap_malloc_aligned_at` and `mi_heap_malloc_zero_aligned_at_generic`), where the
//! plain `mi_malloc` fast path is a free-list pop (BENCHMARKS.md, session 11).
//!
//! [`Allocator`] calls `mi_malloc`, `mi_zalloc` and `mi_realloc` when the alignment is
//! natural, and the aligned functions otherwise. "Natural" is the rule mimalloc itself uses
//! to skip its alignment work (`mi_malloc_is_naturally_aligned` in `alloc-aligned.c`): the
//! alignment is at most `MI_MAX_ALIGN_SIZE` (16 octets) and at most the size. It is also
//! the rule of the standard library's `System` allocator on Unix.
//!
//! Like `bgpd/src/session/socket_options.rs` (the `setsockopt` calls), this crate allows
//! `unsafe` code, which the workspace otherwise denies: a `GlobalAlloc` cannot be written
//! without it. Each call below states why it is sound.
#![allow(unsafe_code)]

use core::ffi::c_void;
use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};

/// mimalloc's guaranteed alignment for any block (`MI_MAX_ALIGN_SIZE`, `sizeof(max_align_t)`
/// on 64-bit targets).
const MAX_NATURAL_ALIGN: usize = 16;

/// Whether a block of `size` octets from plain `mi_malloc` is aligned for `align`.
#[inline(always)]
fn natural(align: usize, size: usize) -> bool {
    align <= MAX_NATURAL_ALIGN && align <= size
}

/// The global allocator: `#[global_allocator] static ALLOC: bgpd_alloc::Allocator =
/// bgpd_alloc::Allocator;`
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocator;

// SAFETY (for every method): mimalloc's functions are thread-safe and return either null or
// a block of at least the requested size. When `natural` holds, mimalloc aligns the block to
// the layout's alignment (a power of two no larger than 16 and no larger than the size);
// otherwise the `_aligned` function is given the alignment explicitly. Blocks from either
// family are released by `mi_free` and resized by `mi_realloc`/`mi_realloc_aligned`.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see above; the size comes from a valid `Layout`.
        unsafe {
            if natural(layout.align(), layout.size()) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`; the `zalloc` functions clear the block.
        unsafe {
            if natural(layout.align(), layout.size()) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller passes a block this allocator returned; mimalloc finds its size
        // and page from the pointer.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` is a block of this allocator with `layout`; the new block keeps the
        // layout's alignment by the same rule as `alloc`.
        unsafe {
            if natural(layout.align(), new_size) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Every size and alignment a program asks for comes back aligned, zeroed when asked,
    /// and keeps its contents through `realloc`, whether it takes the plain or the aligned path.
    #[test]
    fn blocks_are_aligned_and_keep_their_contents() {
        let a = Allocator;
        for align in [1usize, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1usize, 3, 8, 12, 16, 24, 48, 100, 1000, 5000, 70_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a valid non-zero layout; the block is written within its size,
                // then resized and freed with the same layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    p.write_bytes(0xa5, size);
                    let q = a.realloc(p, layout, size * 3);
                    assert!(!q.is_null());
                    assert_eq!(q as usize % align, 0, "realloc size {size} align {align}");
                    assert!(std::slice::from_raw_parts(q, size)
                        .iter()
                        .all(|b| *b == 0xa5));
                    a.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0);
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|b| *b == 0));
                    a.dealloc(z, layout);
                }
            }
        }
    }

    #[test]
    fn the_natural_rule_is_mimallocs() {
        assert!(natural(8, 8));
        assert!(natural(16, 48));
        assert!(!natural(16, 8));
        assert!(!natural(32, 64));
        assert!(!natural(1, 0));
    }
}
