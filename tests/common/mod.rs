//! Helpers shared by the end-to-end tests of the `cella` binary.
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the `cella` binary with `args`.
pub fn cella(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cella"))
        .args(args)
        .output()
        .unwrap()
}

/// `../shared/<sub>` when present; otherwise prints why the test is skipped.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: ../shared/{sub} is absent (CI provides it)");
        None
    }
}

/// Joint values as a `--joints` list, full precision.
pub fn csv(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.17}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}
