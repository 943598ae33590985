//! Variants evaluated on every local core: one thread per core takes the next variant until
//! none is left; the caller hears of each result as it arrives (a progress bar), and gets the
//! results in variant order, the same whatever the number of threads.

use crate::evaluate::{VariantResult, evaluate};
use crate::sample::Variant;
use crate::spec::Study;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// How far a run has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Variants evaluated.
    pub done: usize,
    /// Variants in the run.
    pub total: usize,
    /// Of the evaluated ones: feasible.
    pub feasible: usize,
}

/// The number of threads a run uses for `threads` (0: one per core).
pub fn thread_count(threads: usize) -> usize {
    if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, usize::from)
    }
}

/// Evaluates `variants` on `threads` threads (0: one per core), calling `progress` on the
/// calling thread after each result. Results come back in the order of `variants`.
pub fn evaluate_all(
    study: &Study,
    variants: &[Variant],
    threads: usize,
    mut progress: impl FnMut(Progress),
) -> Vec<VariantResult> {
    let total = variants.len();
    let threads = thread_count(threads).min(total.max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<VariantResult>> = vec![None; total];
    let mut feasible = 0;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, VariantResult)>();
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(v) = variants.get(i) else { break };
                    if tx.send((i, evaluate(study, v))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (done, (i, r)) in rx.into_iter().enumerate() {
            feasible += usize::from(r.feasible);
            results[i] = Some(r);
            progress(Progress {
                done: done + 1,
                total,
                feasible,
            });
        }
    });
    results.into_iter().flatten().collect()
}
