//! Fuzz target: a planning problem (peer-bench-problem/v1 JSON) (body: `cella::fuzz_targets::problem_json`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cella::fuzz_targets::problem_json(data));
