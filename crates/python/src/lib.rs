//! `cella._cella`, the extension module of the `cella` Python package (`crates/python/python/
//! cella`): robots, cells, planning, trajectories and studies on numpy arrays, built by maturin
//! (`maturin build -m crates/python/Cargo.toml`). Errors are the exceptions of `cella.errors`,
//! with the field names of the CLI and the gRPC service; planning, checking and studies
//! release the GIL.
//!
//! **Architecture Invariant:** a binding converts and delegates; the robotics lives in the
//! workspace crates, and the study engine in `cella-study`, shared with `cella study`.

mod arrays;
mod cell;
mod errors;
mod robot;
mod study;
mod trajectory;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _cella(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<robot::PyRobot>()?;
    m.add_class::<cell::PyCell>()?;
    m.add_class::<trajectory::PyTrajectory>()?;
    m.add_class::<trajectory::Validation>()?;
    m.add_class::<study::PyStudy>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
