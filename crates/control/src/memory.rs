//! Keeping the heap resident while control loops run.
//!
//! A control loop that never allocates can still be held off the CPU by memory the *rest* of
//! the process hands back to the kernel: when the allocator trims a heap or unmaps a large
//! block, the kernel frees and later re-faults those pages, and on a non-real-time kernel
//! (measured here on the 2-core CI machine class, a VM) that work delayed even an independent
//! SCHED_FIFO thread (`cyclictest`) by up to 2.6 ms while the service answered plan requests.
//! With the heap kept resident the same load gave at most 0.5 ms (the measurement is stated
//! here; `docs/execution.md`, "The executor", says what `cella serve` does about it).
//!
//! The remedy is the one of the Linux real-time HOWTO: tell glibc's allocator never to trim
//! its heaps and to serve blocks up to 32 MiB from the heap instead of fresh mappings. Memory
//! the process once used stays mapped (its peak, not its current use, is what it holds).
//!
//! That is a policy of the whole process, so the library never sets it by itself: the program
//! decides, once at start-up (`cella serve` calls [`keep_heap_resident`] before it starts the
//! executors), and a program embedding the library may leave the allocator alone.
//!
//! This module's one `unsafe` use is the `mallopt` call (the other files allowed `unsafe` are
//! listed in ARCHITECTURE.md, "Inventory of `unsafe`"). It changes allocator parameters only
//! (no pointer is involved) and glibc documents it as thread-safe.
#![allow(unsafe_code)]

use std::sync::OnceLock;

/// The largest block (bytes) served from the heap rather than by its own mapping: glibc's
/// ceiling for `M_MMAP_THRESHOLD` on 64-bit (half of its 64 MiB per-thread heap).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const HEAP_BLOCK_LIMIT: libc::c_int = 32 * 1024 * 1024;

/// The answer of the first [`keep_heap_resident`] call, unset until then.
static APPLIED: OnceLock<bool> = OnceLock::new();

/// Tells the allocator of the whole process to keep its memory mapped from now on (glibc on
/// Linux; elsewhere a no-op). For the program to call at start-up, before the control loops
/// run; the library never calls it. Idempotent: later calls return the first call's answer.
/// True when the allocator accepted the settings.
pub fn keep_heap_resident() -> bool {
    *APPLIED.get_or_init(apply)
}

/// Whether [`keep_heap_resident`] was called and the allocator accepted the settings. Changes
/// nothing.
pub fn heap_kept_resident() -> bool {
    APPLIED.get().copied().unwrap_or(false)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: mallopt only sets allocator parameters (two integers); glibc serializes it
    // against concurrent allocation with its arena locks. M_TRIM_THRESHOLD = -1 is the
    // documented "never trim"; M_MMAP_THRESHOLD at its documented maximum.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1
            && libc::mallopt(libc::M_MMAP_THRESHOLD, HEAP_BLOCK_LIMIT) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allocator_accepts_the_settings_and_keeps_working() {
        let accepted = keep_heap_resident();
        assert_eq!(
            accepted,
            cfg!(all(target_os = "linux", target_env = "gnu")),
            "glibc accepts both settings; other platforms report false"
        );
        assert_eq!(keep_heap_resident(), accepted, "idempotent");
        assert_eq!(heap_kept_resident(), accepted);
        // large and small blocks still allocate, fill and free after the change
        let big = vec![7u8; 40 * 1024 * 1024];
        let small: Vec<u64> = (0..1000).collect();
        assert_eq!(big[big.len() - 1], 7);
        assert_eq!(small.iter().sum::<u64>(), 499_500);
    }
}
