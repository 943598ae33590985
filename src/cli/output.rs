//! Printing results for people and, with `--json`, for scripts.

use nalgebra::Isometry3;

/// Quaternion `[x, y, z, w]` with `w ≥ 0`.
pub fn quat_xyzw(pose: &Isometry3<f64>) -> [f64; 4] {
    let q = pose.rotation.quaternion();
    let s = if q.w < 0.0 { -1.0 } else { 1.0 };
    [s * q.i, s * q.j, s * q.k, s * q.w]
}

/// Writes a JSON value on stdout.
pub fn print_json(value: &serde_json::Value) {
    line(value);
}

/// Writes a line on stdout. A closed stdout (`cella ... | head`) is not an error worth a
/// panic: the rest of the output is dropped.
pub fn line(text: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}
