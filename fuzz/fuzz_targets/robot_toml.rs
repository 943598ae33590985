//! Fuzz target: a robot.toml on its bundled URDF: FK and IK (body: `cella::fuzz_targets::robot_toml`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cella::fuzz_targets::robot_toml(data));
