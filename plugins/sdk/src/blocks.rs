//! The views' memory allocator: small blocks recycled through a free list
//! per size class, everything else from the system allocator.
//!
//! A view call allocates and frees a few dozen small blocks (JSON values,
//! map nodes, strings, the texts that cross the component boundary), and
//! wasi-libc's dlmalloc, which std uses on wasm, spent about a third of a
//! view's instructions on them. Popping and pushing a free list costs a
//! tenth of that. General-purpose allocators were measured too (talc,
//! rlsf): no faster than dlmalloc here.
//!
//! Blocks of up to [`LARGEST`] bytes come in classes [`GRAIN`] bytes apart.
//! A freed block goes onto its class's list for the next allocation of
//! that class, and is never given back: what a view holds at its peak of
//! small blocks stays with the instance, within the sandbox's memory limit
//! like the rest. The lists are plain cells: a wasm32 component without the
//! `atomics` feature has one thread.

#![allow(unsafe_code, reason = "a global allocator is unsafe by contract")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Distance between size classes, and the alignment every class gives.
const GRAIN: usize = 16;
/// Largest block served from the lists.
const LARGEST: usize = 512;
const CLASSES: usize = LARGEST / GRAIN;

/// The allocator; `lib.rs` installs it as the global one on wasm.
pub struct Blocks {
    /// Head of each class's list of free blocks; a free block's first word
    /// points to the next.
    free: UnsafeCell<[*mut u8; CLASSES]>,
}

// SAFETY: installed only on wasm32 without atomics, where there is one
// thread; elsewhere it is not `Sync`, so it cannot be a global.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl Sync for Blocks {}

impl Blocks {
    /// An allocator with every list empty.
    pub const fn new() -> Self {
        Self {
            free: UnsafeCell::new([ptr::null_mut(); CLASSES]),
        }
    }
}

impl Default for Blocks {
    fn default() -> Self {
        Self::new()
    }
}

/// The class of `layout`, if the lists serve it.
#[inline]
fn class(layout: Layout) -> Option<usize> {
    let size = layout.size();
    (size != 0 && size <= LARGEST && layout.align() <= GRAIN).then(|| (size - 1) / GRAIN)
}

/// The layout every block of class `class` is allocated with.
#[inline]
fn block(class: usize) -> Layout {
    // SAFETY: a multiple of GRAIN up to LARGEST, aligned to GRAIN (a power
    // of two): always a valid layout.
    unsafe { Layout::from_size_align_unchecked((class + 1) * GRAIN, GRAIN) }
}

unsafe impl GlobalAlloc for Blocks {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class(layout) else {
            // SAFETY: the caller's layout, passed on.
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: one thread (see `Sync`), and no call into the lists
        // re-enters them.
        let head = unsafe { &mut (*self.free.get())[class] };
        if head.is_null() {
            // SAFETY: a valid, non-zero layout.
            return unsafe { System.alloc(block(class)) };
        }
        let taken = *head;
        // SAFETY: a free block's first word holds the next free block (or
        // null), written by `dealloc`; blocks are at least GRAIN bytes and
        // aligned to it.
        *head = unsafe { taken.cast::<*mut u8>().read() };
        taken
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class(layout) else {
            // SAFETY: allocated by `System` with this layout (see `alloc`).
            return unsafe { System.dealloc(ptr, layout) };
        };
        // SAFETY: as in `alloc`; `ptr` is a block of this class that the
        // caller no longer uses, so its first word is free to hold the link.
        unsafe {
            let head = &mut (*self.free.get())[class];
            ptr.cast::<*mut u8>().write(*head);
            *head = ptr;
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with this alignment is a
        // valid layout.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(layout), class(new)) {
            // The block already has room: strings and vectors that grow
            // or shrink a little stay where they are.
            (Some(old), Some(next)) if old == next => ptr,
            // SAFETY: both from `System`, with the caller's layout.
            (None, None) => unsafe { System.realloc(ptr, layout, new_size) },
            _ => {
                // SAFETY: as `alloc` and `dealloc`; the copy covers what
                // both blocks hold.
                unsafe {
                    let moved = self.alloc(new);
                    if !moved.is_null() {
                        ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).expect("layout")
    }

    /// Fills `len` bytes at `ptr` with `byte`.
    unsafe fn fill(ptr: *mut u8, len: usize, byte: u8) {
        unsafe { ptr::write_bytes(ptr, byte, len) }
    }

    #[test]
    fn a_freed_small_block_serves_the_next_allocation_of_its_class() {
        let blocks = Blocks::new();
        unsafe {
            let a = blocks.alloc(layout(20, 1));
            assert!(!a.is_null());
            assert_eq!(a as usize % GRAIN, 0, "every class is aligned to the grain");
            fill(a, 20, 0xAA);
            blocks.dealloc(a, layout(20, 1));
            // 17 to 32 bytes share a class: the block comes back.
            let b = blocks.alloc(layout(32, 8));
            assert_eq!(b, a);
            // Another class gets a block of its own.
            let c = blocks.alloc(layout(33, 1));
            assert_ne!(c, a);
            fill(c, 33, 0xBB);
            blocks.dealloc(b, layout(32, 8));
            blocks.dealloc(c, layout(33, 1));
        }
    }

    #[test]
    fn blocks_in_use_never_overlap() {
        let blocks = Blocks::new();
        let sizes = [1, 7, 16, 17, 100, 255, 256, 257, 511, 512, 513, 4096];
        unsafe {
            let mut live: Vec<(*mut u8, Layout)> = Vec::new();
            for round in 0..3u8 {
                for (i, &size) in sizes.iter().enumerate() {
                    let l = layout(size, 1);
                    let p = blocks.alloc(l);
                    assert!(!p.is_null());
                    fill(p, size, round * 16 + i as u8);
                    live.push((p, l));
                }
                // Free every other one, so the next round reuses them.
                let mut kept = Vec::new();
                for (n, (p, l)) in live.drain(..).enumerate() {
                    if n % 2 == 0 {
                        blocks.dealloc(p, l);
                    } else {
                        kept.push((p, l));
                    }
                }
                live = kept;
            }
            // Each live block still holds what was written to it, so none was
            // handed out twice.
            for (p, l) in &live {
                let first = **p;
                assert!((0..l.size()).all(|k| *p.add(k) == first));
            }
            for (p, l) in live {
                blocks.dealloc(p, l);
            }
        }
    }

    #[test]
    fn realloc_keeps_the_contents_and_the_block_while_the_class_fits() {
        let blocks = Blocks::new();
        unsafe {
            let p = blocks.alloc(layout(10, 1));
            for k in 0..10 {
                *p.add(k) = k as u8;
            }
            // 10 -> 16 bytes: the same class, the same block.
            assert_eq!(blocks.realloc(p, layout(10, 1), 16), p);
            // 16 -> 300: another class; the contents move with it.
            let q = blocks.realloc(p, layout(16, 1), 300);
            assert!((0..10).all(|k| *q.add(k) == k as u8));
            // 300 -> 5,000: from the lists to the system allocator.
            let r = blocks.realloc(q, layout(300, 1), 5_000);
            assert!((0..10).all(|k| *r.add(k) == k as u8));
            // And back down to a small class.
            let s = blocks.realloc(r, layout(5_000, 1), 3);
            assert!((0..3).all(|k| *s.add(k) == k as u8));
            blocks.dealloc(s, layout(3, 1));
        }
    }

    #[test]
    fn large_or_strictly_aligned_layouts_go_to_the_system_allocator() {
        assert_eq!(class(layout(LARGEST, 1)), Some(CLASSES - 1));
        assert_eq!(class(layout(LARGEST + 1, 1)), None);
        assert_eq!(class(layout(8, 64)), None);
        assert_eq!(class(layout(0, 1)), None);
        let blocks = Blocks::new();
        unsafe {
            let l = layout(64, 64);
            let p = blocks.alloc(l);
            assert_eq!(p as usize % 64, 0);
            blocks.dealloc(p, l);
        }
    }
}
