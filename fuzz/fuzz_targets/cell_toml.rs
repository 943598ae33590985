//! Fuzz target: a cell file, built when its robots are library robots (body: `cella::fuzz_targets::cell_toml`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cella::fuzz_targets::cell_toml(data));
