//! `cella.Trajectory` (times, positions, velocities, accelerations as numpy arrays, the
//! trajectory file format of `cella plan --out`) and `cella.Validation`.

use crate::arrays::{array, to_numpy};
use crate::errors::Error;
use cella_trajectory::{Limits, SampledTrajectory};
use pyo3::prelude::*;

/// A sampled trajectory: `times` (m,), `q`, `qd`, `qdd` (m, n), with the joint names.
#[pyclass(module = "cella", name = "Trajectory", frozen)]
#[derive(Debug, Clone)]
pub struct PyTrajectory {
    /// Joint names, in the order of the columns.
    pub names: Vec<String>,
    /// The samples.
    pub samples: SampledTrajectory,
}

impl PyTrajectory {
    /// The samples of a planned or timed motion with the robot's joint names.
    pub fn new(names: Vec<String>, samples: SampledTrajectory) -> Self {
        Self { names, samples }
    }
}

fn column_block(
    field: &str,
    obj: Option<&Bound<'_, PyAny>>,
    m: usize,
    n: usize,
) -> Result<Vec<f64>, Error> {
    match obj {
        None => Ok(vec![0.0; m * n]),
        Some(o) => {
            let a = array(field, o)?;
            if a.shape != [m, n] {
                return Err(Error::invalid(
                    field,
                    format!("shape {:?}: ({m}, {n}) expected", a.shape),
                ));
            }
            Ok(a.data)
        }
    }
}

#[pymethods]
impl PyTrajectory {
    /// A trajectory from arrays: `times` (m,) s, strictly increasing; `q` (m, n); `qd` and
    /// `qdd` (m, n), zeros when not given (a purely geometric path).
    #[new]
    #[pyo3(signature = (times, q, qd=None, qdd=None, joint_names=None))]
    fn py_new(
        times: &Bound<'_, PyAny>,
        q: &Bound<'_, PyAny>,
        qd: Option<&Bound<'_, PyAny>>,
        qdd: Option<&Bound<'_, PyAny>>,
        joint_names: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let t = array("times", times)?;
        if t.shape.len() != 1 {
            return Err(Error::invalid("times", "one vector expected").into());
        }
        let m = t.data.len();
        let qa = array("q", q)?;
        let n = match qa.shape.as_slice() {
            [rows, n] if *rows == m => *n,
            other => {
                return Err(Error::invalid(
                    "q",
                    format!("shape {other:?}: ({m}, n) expected for {m} times"),
                )
                .into());
            }
        };
        let names = joint_names.unwrap_or_else(|| (0..n).map(|j| format!("joint_{j}")).collect());
        if names.len() != n {
            return Err(Error::invalid(
                "joint_names",
                format!("{} names for {n} joints", names.len()),
            )
            .into());
        }
        Ok(Self {
            names,
            samples: SampledTrajectory {
                dof: n,
                times: t.data,
                q: qa.data,
                qd: column_block("qd", qd, m, n)?,
                qdd: column_block("qdd", qdd, m, n)?,
            },
        })
    }

    /// Sample times, s (m,).
    #[getter]
    fn times<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(py, self.samples.times.clone(), &[self.samples.len()])
    }

    /// Positions (m, n), rad (m for prismatic joints).
    #[getter]
    fn q<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(
            py,
            self.samples.q.clone(),
            &[self.samples.len(), self.samples.dof],
        )
    }

    /// Velocities (m, n).
    #[getter]
    fn qd<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(
            py,
            self.samples.qd.clone(),
            &[self.samples.len(), self.samples.dof],
        )
    }

    /// Accelerations (m, n).
    #[getter]
    fn qdd<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(
            py,
            self.samples.qdd.clone(),
            &[self.samples.len(), self.samples.dof],
        )
    }

    /// Joint names, in the order of the columns.
    #[getter]
    fn joint_names(&self) -> Vec<String> {
        self.names.clone()
    }

    /// Duration, s.
    #[getter]
    fn duration(&self) -> f64 {
        self.samples.duration()
    }

    /// Number of joints.
    #[getter]
    fn dof(&self) -> usize {
        self.samples.dof
    }

    fn __len__(&self) -> usize {
        self.samples.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Trajectory({} samples of {} joints, {:.3} s)",
            self.samples.len(),
            self.samples.dof,
            self.samples.duration()
        )
    }

    /// The trajectory file text (`{"joint_names": [...], "points": [{"t", "q", "qd",
    /// "qdd"}]}`, as `cella plan --out` writes and `cella exec --trajectory` reads).
    fn to_json(&self) -> String {
        let s = &self.samples;
        let points: Vec<serde_json::Value> = (0..s.len())
            .map(|k| {
                serde_json::json!({"t": s.times[k], "q": s.q_at(k), "qd": s.qd_at(k), "qdd": s.qdd_at(k)})
            })
            .collect();
        serde_json::json!({"joint_names": self.names, "points": points}).to_string()
    }

    /// Writes the trajectory file.
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        std::fs::write(&path, self.to_json())
            .map_err(|e| Error::invalid(path.display().to_string(), e.to_string()).into())
    }

    /// Reads a trajectory file (missing `qd`, `qdd` are zeros).
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Self> {
        let field = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::invalid(&field, e.to_string()))?;
        Self::from_json_text(&field, &text).map_err(Into::into)
    }
}

impl PyTrajectory {
    fn from_json_text(field: &str, text: &str) -> Result<Self, Error> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::invalid(field, e.to_string()))?;
        let names: Vec<String> = v["joint_names"]
            .as_array()
            .ok_or_else(|| Error::invalid(format!("{field}: joint_names"), "missing"))?
            .iter()
            .map(|n| n.as_str().unwrap_or_default().to_owned())
            .collect();
        let n = names.len();
        let points = v["points"]
            .as_array()
            .ok_or_else(|| Error::invalid(format!("{field}: points"), "missing"))?;
        let mut s = SampledTrajectory {
            dof: n,
            ..Default::default()
        };
        for (k, p) in points.iter().enumerate() {
            let row = |key: &str, required: bool| -> Result<Vec<f64>, Error> {
                match p.get(key).and_then(|x| x.as_array()) {
                    None if !required => Ok(vec![0.0; n]),
                    None => Err(Error::invalid(format!("points[{k}].{key}"), "missing")),
                    Some(a) => {
                        let v: Option<Vec<f64>> = a.iter().map(serde_json::Value::as_f64).collect();
                        match v {
                            Some(v) if v.len() == n => Ok(v),
                            _ => Err(Error::invalid(
                                format!("points[{k}].{key}"),
                                format!("{n} numbers expected"),
                            )),
                        }
                    }
                }
            };
            let t = p["t"]
                .as_f64()
                .ok_or_else(|| Error::invalid(format!("points[{k}].t"), "missing"))?;
            s.times.push(t);
            s.q.extend(row("q", true)?);
            s.qd.extend(row("qd", false)?);
            s.qdd.extend(row("qdd", false)?);
        }
        Ok(Self { names, samples: s })
    }
}

/// The verdict on a trajectory: `valid`, and why not (`reason`, the `sample` and `time`
/// where it fails). True in a boolean context when valid.
#[pyclass(module = "cella", name = "Validation", frozen, get_all)]
#[derive(Debug, Clone)]
pub struct Validation {
    /// Whether the trajectory keeps every limit (and, for a cell, is collision-free).
    pub valid: bool,
    /// Why not (empty when valid).
    pub reason: String,
    /// The first failing sample, if any.
    pub sample: Option<usize>,
    /// Its time, s.
    pub time: Option<f64>,
}

#[pymethods]
impl Validation {
    fn __bool__(&self) -> bool {
        self.valid
    }

    fn __repr__(&self) -> String {
        if self.valid {
            "Validation(valid)".to_owned()
        } else {
            format!("Validation(invalid: {})", self.reason)
        }
    }
}

impl Validation {
    /// A valid trajectory.
    pub fn ok() -> Self {
        Self {
            valid: true,
            reason: String::new(),
            sample: None,
            time: None,
        }
    }

    /// Invalid at `sample` (time `time`).
    pub fn failed(reason: String, sample: usize, time: f64) -> Self {
        Self {
            valid: false,
            reason,
            sample: Some(sample),
            time: Some(time),
        }
    }
}

/// The trajectory checked against `limits` (positions, velocities, accelerations, jerk where
/// set; continuity), relative tolerance 1e-6 as the service uses. The joint count is checked
/// first (`cella.InvalidInput`).
pub fn validate_limits(t: &PyTrajectory, limits: &Limits) -> Result<Validation, Error> {
    if t.samples.dof != limits.dof() {
        return Err(Error::invalid(
            "trajectory",
            format!("{} joints for the robot's {}", t.samples.dof, limits.dof()),
        ));
    }
    Ok(match cella_trajectory::validate(&t.samples, limits, 1e-6) {
        Ok(()) => Validation::ok(),
        Err(e) => Validation::failed(e.to_string(), e.sample, e.time),
    })
}
