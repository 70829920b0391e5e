//! The process's allocator: mimalloc, asked for an alignment only when a
//! value needs more than any block of its size already has.
//!
//! The `mimalloc` crate's allocator passes every request through mimalloc's
//! aligned entry points, which check the alignment again and, whenever the
//! block's size class is not a power of two up to 4 KiB and the exact class
//! has no free block at hand (every block over a kilobyte, often smaller
//! ones), ask for `alignment - 1` bytes more, which can take a larger size
//! class; a request makes about a hundred allocations, nearly all of them
//! aligned to 16 bytes or less. Like Rust's
//! own allocator over the C library's `malloc`, this one calls the plain
//! entry points when the alignment is one `malloc` guarantees: at most 16
//! bytes (`max_align_t` on 64-bit targets, which mimalloc honours as a
//! `malloc` replacement) and no more than the size. (mimalloc's guarded
//! debug mode, not built here, gives up that alignment.)

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment every `malloc` block of at least that size has.
const MALLOC_ALIGN: usize = 16;

/// mimalloc, through its plain entry points where they give the alignment.
pub struct Allocator;

/// Whether a plain `malloc` block of `size` bytes is aligned for `align`.
fn plain(size: usize, align: usize) -> bool {
    align <= MALLOC_ALIGN && align <= size
}

// SAFETY: every block comes from mimalloc and goes back to it: `mi_free`
// takes blocks from the plain and the aligned entry points alike, and the
// aligned ones are used whenever `plain` does not vouch for the alignment.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions accept any size and a
        // power-of-two alignment, which `Layout` guarantees.
        unsafe {
            if plain(layout.size(), layout.align()) {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        unsafe {
            if plain(layout.size(), layout.align()) {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; the new
        // block keeps the alignment, through the aligned entry point when
        // a plain block of the new size would not.
        unsafe {
            if plain(new_size, layout.align()) {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allocates many blocks of `layout` at once (so they come from all
    /// over their pages, not only a page's first block) and checks each
    /// one's alignment, and that it keeps what is written to it through a
    /// growth and a shrink, and comes zeroed from `alloc_zeroed`.
    fn round_trip(layout: Layout) {
        // Enough small blocks to fill several pages; fewer large ones.
        let live = if layout.size() > 2048 { 16 } else { 300 };
        let a = Allocator;
        let grown =
            Layout::from_size_align(layout.size() * 3, layout.align()).expect("a valid layout");
        // SAFETY: the layouts are non-zero in size; every block is freed
        // with the layout it has at the time.
        unsafe {
            let mut blocks = Vec::with_capacity(live);
            for n in 0..live {
                let p = a.alloc(layout);
                assert!(!p.is_null(), "no block for {layout:?}");
                assert_eq!(p as usize % layout.align(), 0, "{layout:?}, block {n}");
                for i in 0..layout.size() {
                    p.add(i).write((i + n) as u8);
                }
                blocks.push(p);
            }
            for (n, p) in blocks.iter_mut().enumerate() {
                let q = a.realloc(*p, layout, grown.size());
                assert_eq!(
                    q as usize % layout.align(),
                    0,
                    "{layout:?} grown, block {n}"
                );
                let r = a.realloc(q, grown, layout.size());
                assert_eq!(
                    r as usize % layout.align(),
                    0,
                    "{layout:?} shrunk, block {n}"
                );
                for i in 0..layout.size() {
                    assert_eq!(
                        r.add(i).read(),
                        (i + n) as u8,
                        "{layout:?} block {n} byte {i}"
                    );
                }
                *p = r;
            }
            for p in blocks {
                a.dealloc(p, layout);
            }
            for n in 0..live / 10 {
                let z = a.alloc_zeroed(layout);
                assert_eq!(
                    z as usize % layout.align(),
                    0,
                    "{layout:?} zeroed, block {n}"
                );
                assert!((0..layout.size()).all(|i| z.add(i).read() == 0));
                a.dealloc(z, layout);
            }
        }
    }

    #[test]
    fn blocks_are_aligned_and_keep_their_bytes() {
        for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
            // Sizes that are not multiples of the alignment too: a Layout
            // allows them, and they land in size classes of their own.
            for size in [1, 3, 8, 17, 24, 40, 48, 100, 1000, 1500, 5000, 8192, 70_000] {
                round_trip(Layout::from_size_align(size, align).expect("a valid layout"));
            }
        }
    }

    #[test]
    fn plain_entry_points_only_where_malloc_aligns() {
        assert!(plain(8, 8));
        assert!(plain(48, 16));
        assert!(!plain(8, 16), "a block smaller than the alignment");
        assert!(!plain(128, 32), "more than malloc's alignment");
        assert!(!plain(256, 128));
    }
}
