//! The library part of the `cella` program: the benchmark file formats that the command line
//! (`cella plan --problem`, `cella bench`, `cella check`, `cella retime`, `cella exec`), the
//! benchmarks, the examples and the end-to-end tests share. The formats are those of
//! `../shared/problems/README.md`: [`problem`] reads `peer-bench-problem/v1` planning problems
//! (MotionBenchMaker), [`trajectory_file`] writes and reads the trajectory output format.
//!
//! The robotics itself lives in the `crates/` libraries; this crate only turns files into their
//! values. It never prints and never panics on input.

pub mod fuzz_targets;
pub mod problem;
pub mod trajectory_file;
