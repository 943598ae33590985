//! Fuzz target: URDF text: model, chain, FK, collision geometry (body: `cella::fuzz_targets::urdf`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cella::fuzz_targets::urdf(data));
