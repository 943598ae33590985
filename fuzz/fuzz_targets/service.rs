//! Fuzz target: one cella.v1 RPC and its protobuf request, called in process (body: `cella::fuzz_targets::service`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cella::fuzz_targets::service(data));
