//! numpy arrays in and out: any array-like of numbers (an array of any numeric dtype, a list,
//! a tuple) is read as `f64` values with its shape; a malformed one is `cella.InvalidInput`
//! naming the argument (and the item, for a value that is not finite).

use crate::errors::{Error, Result};
use nalgebra::{Isometry3, Matrix3, Quaternion, Rotation3, Translation3, UnitQuaternion};
use numpy::{AllowTypeChange, PyArray1, PyArrayLikeDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// An array read from Python: its shape and its values in row-major order.
pub struct Array {
    /// The shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<f64>,
}

/// Reads `obj` as an array of finite numbers (`field` names it in errors).
pub fn array(field: &str, obj: &Bound<'_, PyAny>) -> Result<Array> {
    let a: PyArrayLikeDyn<'_, f64, AllowTypeChange> = obj
        .extract()
        .map_err(|_| Error::invalid(field, "not an array of numbers"))?;
    let shape = a.shape().to_vec();
    let data: Vec<f64> = a.as_array().iter().copied().collect();
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(Error::invalid(
            format!("{field}[{i}]"),
            format!("{} is not finite", data[i]),
        ));
    }
    Ok(Array { shape, data })
}

/// Reads `obj` as one vector, of `len` values when given.
pub fn vector(field: &str, obj: &Bound<'_, PyAny>, len: Option<usize>) -> Result<Vec<f64>> {
    let a = array(field, obj)?;
    if a.shape.len() != 1 {
        return Err(Error::invalid(
            field,
            format!("shape {:?}: one vector expected", a.shape),
        ));
    }
    if let Some(n) = len
        && a.data.len() != n
    {
        return Err(Error::invalid(
            field,
            format!("{} values for {n} joints", a.data.len()),
        ));
    }
    Ok(a.data)
}

/// Reads `obj` as one state of `n` values (shape `(n,)`) or a batch of states (shape
/// `(m, n)`): the values row by row, the number of states, and whether it was a batch.
pub fn states(field: &str, obj: &Bound<'_, PyAny>, n: usize) -> Result<(Vec<f64>, usize, bool)> {
    let a = array(field, obj)?;
    match a.shape.as_slice() {
        [k] if *k == n => Ok((a.data, 1, false)),
        [m, k] if *k == n => Ok((a.data, *m, true)),
        other => Err(Error::invalid(
            field,
            format!("shape {other:?}: ({n},) or (m, {n}) expected for {n} joints"),
        )),
    }
}

/// Reads a pose: a 4×4 homogeneous matrix (its rotation orthonormal within 1e-6), or 7 values
/// `x, y, z, qx, qy, qz, qw` (the quaternion of unit norm within 1e-6, as gRPC requires).
pub fn pose(field: &str, obj: &Bound<'_, PyAny>) -> Result<Isometry3<f64>> {
    let a = array(field, obj)?;
    let d = &a.data;
    match a.shape.as_slice() {
        [7] => {
            let q = Quaternion::new(d[6], d[3], d[4], d[5]);
            if (q.norm() - 1.0).abs() > 1e-6 {
                return Err(Error::invalid(
                    field,
                    format!("quaternion norm {} is not 1", q.norm()),
                ));
            }
            Ok(Isometry3::from_parts(
                Translation3::new(d[0], d[1], d[2]),
                UnitQuaternion::from_quaternion(q),
            ))
        }
        [4, 4] => {
            let m = Matrix3::new(d[0], d[1], d[2], d[4], d[5], d[6], d[8], d[9], d[10]);
            let error = (m.transpose() * m - Matrix3::identity()).abs().max();
            if error > 1e-6
                || m.determinant() < 0.0
                || (d[12], d[13], d[14], d[15]) != (0.0, 0.0, 0.0, 1.0)
            {
                return Err(Error::invalid(
                    field,
                    "not a homogeneous transform (rotation not orthonormal, or last row not 0 0 0 1)",
                ));
            }
            let rotation =
                UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(m));
            Ok(Isometry3::from_parts(
                Translation3::new(d[3], d[7], d[11]),
                rotation,
            ))
        }
        other => Err(Error::invalid(
            field,
            format!("shape {other:?}: a 4x4 matrix or 7 values x, y, z, qx, qy, qz, qw expected"),
        )),
    }
}

/// A pose as the 16 values of its 4×4 homogeneous matrix, row-major.
pub fn matrix(p: &Isometry3<f64>) -> [f64; 16] {
    let h = p.to_homogeneous();
    let mut out = [0.0; 16];
    for r in 0..4 {
        for c in 0..4 {
            out[4 * r + c] = h[(r, c)];
        }
    }
    out
}

/// `data` as a numpy array of `shape`.
pub fn to_numpy<'py>(
    py: Python<'py>,
    data: Vec<f64>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let flat = PyArray1::from_vec(py, data);
    Ok(flat.reshape(shape.to_vec())?.into_any())
}
