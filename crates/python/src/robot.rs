//! `cella.Robot`: a bundled robot or one from a URDF / `robot.toml`; forward kinematics,
//! inverse kinematics and Jacobians on numpy arrays (one state or a batch), retiming a path
//! under its limits, validating a trajectory against them.

use crate::arrays::{matrix, states, to_numpy, vector};
use crate::errors::Error;
use crate::trajectory::{PyTrajectory, Validation, validate_limits};
use cella_kinematics::{IkOptions, IkSolutions, KinematicsError, Robot, library};
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{Limits, SegmentedTrajectory, TimeOptimalOptions, TimeOptimalTrajectory};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::Path;
use std::sync::Arc;

/// A robot: its kinematic chain (base to TCP), limits, IK solver and named poses.
#[pyclass(module = "cella", name = "Robot", frozen)]
#[derive(Debug, Clone)]
pub struct PyRobot {
    /// The robot, shared with every cell and plan that uses it.
    pub robot: Arc<Robot>,
}

/// Loads `spec`: a `.urdf` file, a `robot.toml` (or a directory holding one), or a bundled
/// robot's name.
pub fn load(spec: &str) -> Result<Robot, Error> {
    let path = Path::new(spec);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("urdf"))
    {
        return Ok(Robot::from_urdf_file(path, None, None)?);
    }
    if path.is_dir() && path.join("robot.toml").is_file() {
        return Ok(Robot::from_config_file(&path.join("robot.toml"))?);
    }
    if path.extension().is_some_and(|e| e == "toml") {
        return Ok(Robot::from_config_file(path)?);
    }
    Ok(library::load(spec)?)
}

#[pymethods]
impl PyRobot {
    /// A bundled robot by name (`cella.Robot.bundled()` lists them), or a `.urdf` file, a
    /// `robot.toml` or a directory holding one.
    #[new]
    fn py_new(name: &str) -> PyResult<Self> {
        Ok(Self {
            robot: Arc::new(load(name)?),
        })
    }

    /// A robot from a URDF file; `base` and `tip` pick the chain (default: the URDF's root
    /// and its deepest leaf). IK is numerical.
    #[staticmethod]
    #[pyo3(signature = (path, base=None, tip=None))]
    fn from_urdf(
        path: std::path::PathBuf,
        base: Option<&str>,
        tip: Option<&str>,
    ) -> PyResult<Self> {
        Ok(Self {
            robot: Arc::new(Robot::from_urdf_file(&path, base, tip).map_err(Error::from)?),
        })
    }

    /// Names of the bundled robots.
    #[staticmethod]
    fn bundled() -> Vec<&'static str> {
        library::names().collect()
    }

    /// The robot's name.
    #[getter]
    fn name(&self) -> String {
        self.robot.name().to_owned()
    }

    /// Number of joints of the chain.
    #[getter]
    fn dof(&self) -> usize {
        self.robot.chain().dof()
    }

    /// Joint names, chain order.
    #[getter]
    fn joint_names(&self) -> Vec<String> {
        self.robot
            .chain()
            .joint_names()
            .map(str::to_owned)
            .collect()
    }

    /// Lower position limits (n,).
    #[getter]
    fn lower<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<f64> = self
            .robot
            .chain()
            .variables()
            .iter()
            .map(|v| v.limits.lower)
            .collect();
        let n = v.len();
        to_numpy(py, v, &[n])
    }

    /// Upper position limits (n,).
    #[getter]
    fn upper<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<f64> = self
            .robot
            .chain()
            .variables()
            .iter()
            .map(|v| v.limits.upper)
            .collect();
        let n = v.len();
        to_numpy(py, v, &[n])
    }

    /// The base link of the chain.
    #[getter]
    fn base_link(&self) -> String {
        self.robot.chain().base().to_owned()
    }

    /// The TCP frame (the tool frame when the robot has one, else the chain's tip link).
    #[getter]
    fn tcp_frame(&self) -> String {
        self.robot
            .tool_frame()
            .unwrap_or(self.robot.chain().tip())
            .to_owned()
    }

    /// The IK solver: `ur`, `opw` (closed form) or `numerical`.
    #[getter]
    fn solver(&self) -> &'static str {
        self.robot.solver().name()
    }

    /// The named poses, name → joint values.
    #[getter]
    fn named_poses<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, q) in self.robot.named_poses() {
            d.set_item(name, to_numpy(py, q.clone(), &[q.len()])?)?;
        }
        Ok(d)
    }

    /// TCP pose (4, 4) in the base frame for joint values `q` (n,); for a batch (m, n), the
    /// poses (m, 4, 4).
    fn fk<'py>(&self, py: Python<'py>, q: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let n = self.robot.chain().dof();
        let (data, m, batch) = states("q", q, n)?;
        let robot = self.robot.clone();
        let out = py.detach(move || -> Result<Vec<f64>, Error> {
            let mut out = Vec::with_capacity(16 * m);
            for row in data.chunks_exact(n) {
                out.extend_from_slice(&matrix(&robot.fk(row)?));
            }
            Ok(out)
        })?;
        if batch {
            to_numpy(py, out, &[m, 4, 4])
        } else {
            to_numpy(py, out, &[4, 4])
        }
    }

    /// Geometric Jacobian (6, n) of the TCP in the base frame at `q` (n,): rows vx, vy, vz
    /// (m/s), wx, wy, wz (rad/s) per unit joint speed; for a batch (m, n), (m, 6, n).
    fn jacobian<'py>(&self, py: Python<'py>, q: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let n = self.robot.chain().dof();
        let (data, m, batch) = states("q", q, n)?;
        let robot = self.robot.clone();
        let out = py.detach(move || -> Result<Vec<f64>, Error> {
            let mut out = Vec::with_capacity(6 * n * m);
            let mut cols = vec![[0.0; 6]; n];
            for row in data.chunks_exact(n) {
                robot.chain().jacobian(row, &mut cols)?;
                for r in 0..6 {
                    out.extend(cols.iter().map(|c| c[r]));
                }
            }
            Ok(out)
        })?;
        if batch {
            to_numpy(py, out, &[m, 6, n])
        } else {
            to_numpy(py, out, &[6, n])
        }
    }

    /// Every IK solution (k, n) of the TCP `pose` (a 4×4 matrix or `x, y, z, qx, qy, qz, qw`,
    /// base frame) within the joint limits, nearest to `seed` first; (0, n) when none reaches
    /// it. Each solution is verified by FK.
    #[pyo3(signature = (pose, seed=None))]
    fn ik<'py>(
        &self,
        py: Python<'py>,
        pose: &Bound<'py, PyAny>,
        seed: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let n = self.robot.chain().dof();
        let target = crate::arrays::pose("pose", pose)?;
        let seed = seed.map(|s| vector("seed", s, Some(n))).transpose()?;
        let robot = self.robot.clone();
        let out = py.detach(move || -> Result<Vec<f64>, Error> {
            let mut sols = IkSolutions::new();
            let options = IkOptions {
                max_solutions: cella_planning::goals::MAX_SOLUTIONS_PER_POSE,
                ..IkOptions::default()
            };
            match robot.ik(&target, seed.as_deref(), &options, &mut sols) {
                Ok(()) => {}
                Err(KinematicsError::Unreachable { .. }) => return Ok(Vec::new()),
                Err(e) => return Err(e.into()),
            }
            Ok(sols
                .as_slice()
                .iter()
                .flat_map(|s| s.joints().to_vec())
                .collect())
        })?;
        let k = out.len() / n.max(1);
        to_numpy(py, out, &[k, n])
    }

    /// Times a joint path (k, n) under the robot's limits: jerk-limited when the robot has
    /// jerk limits (`method="auto"`, or `"jerk_limited"`), else time-optimal under velocity
    /// and acceleration limits (`"time_optimal"`), blending through intermediate waypoints
    /// within `max_deviation` rad; sampled every `period` s and validated (`cella.Refused`
    /// when the result breaks a limit), as `cella retime` does.
    #[pyo3(signature = (path, velocity_scale=1.0, acceleration_scale=1.0, max_deviation=0.05, period=0.004, method="auto"))]
    // each argument is a Python keyword argument with its default
    #[allow(clippy::too_many_arguments)]
    fn retime(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        velocity_scale: f64,
        acceleration_scale: f64,
        max_deviation: f64,
        period: f64,
        method: &str,
    ) -> PyResult<PyTrajectory> {
        let n = self.robot.chain().dof();
        let (data, k, batch) = states("path", path, n)?;
        if !batch || k < 2 {
            return Err(Error::invalid("path", "a path needs at least 2 points (k, n)").into());
        }
        for (field, v) in [
            ("velocity_scale", velocity_scale),
            ("acceleration_scale", acceleration_scale),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 1.0) {
                return Err(Error::invalid(field, format!("{v} is not in (0, 1]")).into());
            }
        }
        if !(max_deviation.is_finite() && max_deviation >= 0.0) {
            return Err(Error::invalid(
                "max_deviation",
                format!("{max_deviation} rad is not a finite non-negative deviation"),
            )
            .into());
        }
        if !(period.is_finite() && (0.0005..=1.0).contains(&period)) {
            return Err(
                Error::invalid("period", format!("{period} s is not in [0.0005, 1]")).into(),
            );
        }
        let robot = self.robot.clone();
        let method = method.to_owned();
        let samples = py.detach(move || -> Result<_, Error> {
            let path: Vec<Vec<f64>> = data.chunks_exact(n).map(<[f64]>::to_vec).collect();
            let mut limits =
                Limits::of_robot(&robot)?.scaled(velocity_scale, acceleration_scale)?;
            let jerk_limited = match method.as_str() {
                "auto" => limits.jerk.is_some(),
                "jerk_limited" => true,
                "time_optimal" => false,
                other => {
                    return Err(Error::invalid(
                        "method",
                        format!("'{other}': auto, jerk_limited or time_optimal"),
                    ));
                }
            };
            let s = if jerk_limited {
                let options = SegmentOptions {
                    jerk_limited: true,
                    max_deviation,
                };
                SegmentedTrajectory::new(&path, &limits, &options)?.sample(period)?
            } else {
                limits.jerk = None;
                let options = TimeOptimalOptions {
                    max_deviation,
                    ..TimeOptimalOptions::default()
                };
                TimeOptimalTrajectory::new(&path, &limits, &options)?.sample(period)?
            };
            if let Err(e) = cella_trajectory::validate(&s, &limits, 1e-6) {
                return Err(Error::refused(
                    "Refused",
                    Some("path"),
                    format!("validation: {e}"),
                ));
            }
            Ok(s)
        })?;
        Ok(PyTrajectory::new(self.joint_names(), samples))
    }

    /// Checks `trajectory` against the robot's limits (positions, velocities, accelerations,
    /// jerk where set, continuity): a `Validation` (true when valid).
    fn validate(&self, trajectory: &PyTrajectory) -> PyResult<Validation> {
        let limits = Limits::of_robot(&self.robot).map_err(Error::from)?;
        Ok(validate_limits(trajectory, &limits)?)
    }

    fn __repr__(&self) -> String {
        format!(
            "Robot('{}', {} joints, IK {})",
            self.robot.name(),
            self.robot.chain().dof(),
            self.robot.solver().name()
        )
    }
}
