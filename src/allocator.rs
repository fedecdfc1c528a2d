//! The process allocator: mimalloc below 256 KiB, the system allocator
//! (glibc) from there up.
//!
//! Why mimalloc: token requests make many small, short-lived allocations
//! across worker threads (claims, JSON, sled nodes), where glibc's arenas
//! cost a tenth of a refresh grant. Why not for large blocks: mimalloc
//! keeps them resident where glibc maps them afresh, and sled alone makes
//! 21 MiB of them at start-up (its metrics histograms): with mimalloc for
//! everything the idle RSS doubles (README "Benchmark").
//!
//! A block is freed by the allocator that made it: the choice depends only
//! on the size, which `dealloc` and `realloc` are given unchanged.

use std::alloc::{GlobalAlloc, Layout, System};

use mimalloc::MiMalloc;

/// Where allocations stop being small.
const LARGE: usize = 256 * 1024;

pub struct Allocator;

fn large(size: usize) -> bool {
    size >= LARGE
}

// SAFETY: every call is forwarded to one of two allocators that each uphold
// the `GlobalAlloc` contract, and a block always goes back to the one that
// made it (chosen by its size, which the caller passes unchanged).
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if large(layout.size()) {
            System.alloc(layout)
        } else {
            MiMalloc.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if large(layout.size()) {
            System.alloc_zeroed(layout)
        } else {
            MiMalloc.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if large(layout.size()) {
            System.dealloc(ptr, layout)
        } else {
            MiMalloc.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match (large(layout.size()), large(new_size)) {
            (false, false) => MiMalloc.realloc(ptr, layout, new_size),
            (true, true) => System.realloc(ptr, layout, new_size),
            // Crossing the line: the block moves to the other allocator.
            _ => {
                let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
                let moved = self.alloc(new_layout);
                if !moved.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks growing and shrinking across the line keep their bytes and
    /// go back to the allocator that made them.
    #[test]
    fn realloc_across_the_line_keeps_the_bytes() {
        let small = Layout::from_size_align(1024, 64).expect("layout");
        // SAFETY: each block is used within its size and freed once, with its layout.
        unsafe {
            let p = Allocator.alloc(small);
            assert!(!p.is_null());
            p.write_bytes(7, small.size());
            let grown = Allocator.realloc(p, small, 2 * LARGE);
            assert!(!grown.is_null());
            assert!((0..small.size()).all(|i| *grown.add(i) == 7));
            grown.add(small.size()).write_bytes(9, 2 * LARGE - small.size());
            let large_layout = Layout::from_size_align(2 * LARGE, 64).expect("layout");
            let shrunk = Allocator.realloc(grown, large_layout, 512);
            assert!(!shrunk.is_null());
            assert!((0..512).all(|i| *shrunk.add(i) == 7));
            Allocator.dealloc(shrunk, Layout::from_size_align(512, 64).expect("layout"));
            let zeroed = Allocator.alloc_zeroed(large_layout);
            assert!((0..large_layout.size()).step_by(4096).all(|i| *zeroed.add(i) == 0));
            Allocator.dealloc(zeroed, large_layout);
        }
    }
}
