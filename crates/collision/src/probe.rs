//! Temporary counters (never committed).
#![allow(missing_docs)]

    use std::sync::atomic::{AtomicU64, Ordering};
    pub const N: usize = 16;
    pub static C: [AtomicU64; N] = [const { AtomicU64::new(0) }; N];
    pub fn add(i: usize, v: u64) { C[i].fetch_add(v, Ordering::Relaxed); }
    pub fn flag(i: u32) -> bool {
        static F: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        *F.get_or_init(|| std::env::var("PROBE_FLAGS").ok().and_then(|v| v.parse().ok()).unwrap_or(0)) & (1 << i) != 0
    }
    pub fn get(i: usize) -> u64 { C[i].load(Ordering::Relaxed) }
    pub static M: [[AtomicU64; N]; 4] = [const { [const { AtomicU64::new(0) }; N] }; 4];
    pub fn mark(k: usize) { for i in 0..N { M[k][i].store(get(i), Ordering::Relaxed); } }
    pub fn marked(k: usize, i: usize) -> u64 { M[k][i].load(Ordering::Relaxed) }

    pub struct Timer(pub usize, pub std::time::Instant);
    impl Drop for Timer {
        fn drop(&mut self) { add(self.0, self.1.elapsed().as_nanos() as u64); }
    }

pub fn phases() -> String {
    let v: Vec<Vec<i64>> = (1..4).map(|k| (0..N).map(|i| marked(k, i) as i64 - marked(k - 1, i) as i64).collect()).collect();
    format!("{:?}", v)
}
pub fn repeat() -> usize {
    std::env::var("PROBE_REPEAT").ok().and_then(|v| v.parse().ok()).unwrap_or(1)
}
