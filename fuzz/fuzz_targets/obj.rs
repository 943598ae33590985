//! Fuzz target: Wavefront OBJ bytes (body: `cella::fuzz_targets::obj`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cella::fuzz_targets::obj(data));
