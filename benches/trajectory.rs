//! Placeholder: filled by the issue that builds this crate.
fn main() {}
