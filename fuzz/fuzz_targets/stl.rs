//! Fuzz target: STL bytes, binary or ASCII (body: `cella::fuzz_targets::stl`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cella::fuzz_targets::stl(data));
