//! Running the batch lanes with the widest vector instructions the CPU has.
//!
//! The batch path ([`crate::batch`]) is written as `[f32; 8]` arithmetic that LLVM
//! vectorises. Built for the baseline x86-64 target, one lane array takes two 128-bit SSE
//! registers; with AVX2 it fits one 256-bit register. The CI machine's CPU flags are not
//! guaranteed, so the binary cannot be built for AVX2 outright: instead [`run`] checks
//! (cached by the standard library) whether the CPU has AVX2 and, if so, runs the [`Kernel`]
//! inside a function compiled with AVX2 enabled, into which the batch code is inlined
//! (`#[inline(always)]`).
//!
//! The two builds compute the same values bit for bit: only `avx`/`avx2` are enabled, not
//! `fma`, and Rust never fuses a multiply and an add on its own, so every operation rounds as
//! in the baseline build. The unit test `wide_lanes_compute_what_the_baseline_computes`
//! (`checker/exact_check.rs`) checks the dispatched and the baseline results against each
//! other.
//!
//! This module holds the collision crate's only `unsafe` code: calling a function compiled
//! for AVX2, after checking that the CPU supports it.
#![allow(unsafe_code)]

/// A piece of lane code for [`run`]. Its `run_lanes` must be `#[inline(always)]`, and so must
/// everything it calls in the hot path, for the AVX2 build to reach it (a closure would not
/// do: closures cannot be marked `#[inline(always)]` on stable Rust, and LLVM keeps a large
/// one out of line, compiled for the baseline).
pub(crate) trait Kernel {
    /// What the kernel returns.
    type Output;
    /// Runs the kernel (`#[inline(always)]`).
    fn run_lanes(self) -> Self::Output;
}

/// Runs `kernel`, compiled for AVX2 when the CPU supports it (x86-64), else as built.
#[inline(always)]
pub(crate) fn run<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if wide_lanes() {
            // SAFETY: the CPU supports AVX2 (checked just above), the only requirement of a
            // function compiled with `target_feature(enable = "avx,avx2")`.
            return unsafe { run_avx2(kernel) };
        }
    }
    kernel.run_lanes()
}

/// True when [`run`] takes the AVX2 build on this CPU.
#[inline(always)]
pub fn wide_lanes() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,avx2")]
fn run_avx2<K: Kernel>(kernel: K) -> K::Output {
    kernel.run_lanes()
}
