//! `cella.Cell`: a cell from a cell file or built in code (robots at base poses, boxes,
//! spheres, cylinders); batches of states checked (validity and clearance as arrays), motions
//! planned (free, PTP, LIN) and trajectories validated, the GIL released while they run.

use crate::arrays::{pose, states, to_numpy, vector};
use crate::errors::Error;
use crate::robot::PyRobot;
use crate::trajectory::{PyTrajectory, Validation, validate_limits};
use cella_cell::{CellFile, CellSnapshot};
use cella_planning::{
    CartesianOptions, CartesianPath, Goal, JointSpace, PlanOptions, nearest_goal, plan_cartesian,
    plan_joint, plan_ptp, resolve_goals,
};
use cella_trajectory::Limits;
use numpy::PyArray1;
use pyo3::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A robot cell: robots placed by base poses, objects, the padding kept between them.
#[pyclass(module = "cella", name = "Cell")]
#[derive(Debug)]
pub struct PyCell {
    /// The cell file as a TOML table (what `to_toml` writes).
    table: toml::Table,
    /// Directory relative robot models resolve against.
    dir: Option<PathBuf>,
    /// The cell built from the table (rebuilt after each change).
    built: Option<Arc<CellSnapshot>>,
}

fn floats(v: &[f64]) -> toml::Value {
    toml::Value::Array(v.iter().map(|x| toml::Value::Float(*x)).collect())
}

fn pose_table(xyz: &[f64], rpy: &[f64]) -> toml::Value {
    let mut t = toml::Table::new();
    t.insert("xyz".into(), floats(xyz));
    t.insert("rpy".into(), floats(rpy));
    toml::Value::Table(t)
}

impl PyCell {
    fn from_table(table: toml::Table, dir: Option<PathBuf>) -> Result<Self, Error> {
        let mut cell = Self {
            table,
            dir,
            built: None,
        };
        cell.rebuild()?;
        Ok(cell)
    }

    /// Builds the cell from the table; on an error the table is left as it was before the
    /// change (the caller restores it) and the error names the field.
    fn rebuild(&mut self) -> Result<(), Error> {
        let has_robots = self
            .table
            .get("robots")
            .and_then(toml::Value::as_array)
            .is_some_and(|r| !r.is_empty());
        if !has_robots {
            // an empty cell is being built: nothing to check against yet
            self.built = None;
            return Ok(());
        }
        let file: CellFile = toml::Value::Table(self.table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| Error::invalid("cell", e.message().to_owned()))?;
        self.built = Some(file.build(self.dir.as_deref())?);
        Ok(())
    }

    /// Appends `entry` to the table's array `key` and rebuilds; undone when the cell refuses
    /// it.
    fn push(&mut self, key: &str, entry: toml::Table) -> Result<(), Error> {
        let before = self.table.clone();
        match self
            .table
            .entry(key)
            .or_insert_with(|| toml::Value::Array(Vec::new()))
        {
            toml::Value::Array(a) => a.push(toml::Value::Table(entry)),
            _ => return Err(Error::invalid(key, "not a list in this cell")),
        }
        if let Err(e) = self.rebuild() {
            self.table = before;
            self.built = None;
            let _ = self.rebuild();
            return Err(e);
        }
        Ok(())
    }

    fn cell(&self) -> Result<Arc<CellSnapshot>, Error> {
        self.built
            .clone()
            .ok_or_else(|| Error::invalid("robots", "the cell has no robot yet (add_robot)"))
    }
}

/// What a goal argument is.
enum GoalArg {
    Joints(Vec<f64>),
    Named(String),
    Pose(nalgebra::Isometry3<f64>),
}

fn goal_arg(obj: &Bound<'_, PyAny>, n: usize) -> Result<GoalArg, Error> {
    if let Ok(name) = obj.extract::<String>() {
        return Ok(GoalArg::Named(name));
    }
    let a = crate::arrays::array("goals[0]", obj)?;
    match a.shape.as_slice() {
        [k] if *k == n => Ok(GoalArg::Joints(a.data)),
        [7] | [4, 4] => Ok(GoalArg::Pose(pose("goals[0].pose", obj)?)),
        other => Err(Error::invalid(
            "goals[0]",
            format!(
                "shape {other:?}: {n} joint values, a 4x4 pose, 7 values x, y, z, qx, qy, qz, \
                 qw, or a named pose"
            ),
        )),
    }
}

fn unit_scale(field: &str, v: f64) -> Result<f64, Error> {
    if v.is_finite() && v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(Error::invalid(field, format!("{v} is not in (0, 1]")))
    }
}

#[pymethods]
impl PyCell {
    /// An empty cell to build in code: `add_robot`, `add_box`, `add_sphere`, `add_cylinder`.
    /// `padding` (m) is kept between robots and objects.
    #[new]
    #[pyo3(signature = (name="cell", padding=0.0))]
    fn py_new(name: &str, padding: f64) -> PyResult<Self> {
        if !(padding.is_finite() && padding >= 0.0) {
            return Err(Error::invalid("padding", format!("{padding} m is not a distance")).into());
        }
        let mut table = toml::Table::new();
        table.insert("name".into(), toml::Value::String(name.to_owned()));
        table.insert("padding".into(), toml::Value::Float(padding));
        Ok(Self::from_table(table, None)?)
    }

    /// A cell file (the format of `cells/demo.toml`); robot models given as paths resolve
    /// against its directory.
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<Self> {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::invalid(path.display().to_string(), e.to_string()))?;
        Self::from_toml(&text, path.parent().map(Path::to_path_buf))
    }

    /// Cell file text; `base_dir` resolves robot models given as paths.
    #[staticmethod]
    #[pyo3(signature = (text, base_dir=None))]
    fn from_toml(text: &str, base_dir: Option<PathBuf>) -> PyResult<Self> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| Error::invalid("cell", e.message().to_owned()))?;
        Ok(Self::from_table(table, base_dir)?)
    }

    /// The demo cell `cella serve` serves: a UR5e and a KUKA KR 6 R700 sharing a table.
    #[staticmethod]
    fn demo() -> PyResult<Self> {
        Self::from_toml(cella_cell::DEMO_CELL, None)
    }

    /// Places robot `id`: `model` is a bundled robot's name or a path to a `robot.toml`; its
    /// base at `xyz` (m) turned by `rpy` (rad, fixed axes) in the cell frame; at `joints`
    /// (default: its `home` pose); `mounted_on` names the object its base may touch.
    #[pyo3(signature = (id, model, xyz=(0.0, 0.0, 0.0), rpy=(0.0, 0.0, 0.0), joints=None, mounted_on=None))]
    fn add_robot(
        &mut self,
        id: &str,
        model: &str,
        xyz: (f64, f64, f64),
        rpy: (f64, f64, f64),
        joints: Option<&Bound<'_, PyAny>>,
        mounted_on: Option<&str>,
    ) -> PyResult<()> {
        let mut t = toml::Table::new();
        t.insert("id".into(), toml::Value::String(id.to_owned()));
        t.insert("model".into(), toml::Value::String(model.to_owned()));
        t.insert(
            "base".into(),
            pose_table(&[xyz.0, xyz.1, xyz.2], &[rpy.0, rpy.1, rpy.2]),
        );
        if let Some(q) = joints {
            t.insert("joints".into(), floats(&vector("joints", q, None)?));
        }
        if let Some(m) = mounted_on {
            t.insert("mounted_on".into(), toml::Value::String(m.to_owned()));
        }
        Ok(self.push("robots", t)?)
    }

    /// Adds a box of `half_extents` (m) centred at `xyz`, turned by `rpy`; `padding` (m): the
    /// clearance robots keep from it when more than the cell's (0: the cell's).
    #[pyo3(signature = (name, half_extents, xyz, rpy=(0.0, 0.0, 0.0), padding=0.0))]
    fn add_box(
        &mut self,
        name: &str,
        half_extents: (f64, f64, f64),
        xyz: (f64, f64, f64),
        rpy: (f64, f64, f64),
        padding: f64,
    ) -> PyResult<()> {
        self.check_dimensions(
            name,
            &[
                ("half_extents[0]", half_extents.0),
                ("half_extents[1]", half_extents.1),
                ("half_extents[2]", half_extents.2),
            ],
        )?;
        self.check_padding(name, padding)?;
        let mut t = self.object(name, "box", xyz, rpy, padding);
        t.insert(
            "half_extents".into(),
            floats(&[half_extents.0, half_extents.1, half_extents.2]),
        );
        Ok(self.push("objects", t)?)
    }

    /// Adds a sphere of `radius` (m) centred at `xyz`; `padding` as for [`add_box`].
    #[pyo3(signature = (name, radius, xyz, padding=0.0))]
    fn add_sphere(
        &mut self,
        name: &str,
        radius: f64,
        xyz: (f64, f64, f64),
        padding: f64,
    ) -> PyResult<()> {
        self.check_dimensions(name, &[("radius", radius)])?;
        self.check_padding(name, padding)?;
        let mut t = self.object(name, "sphere", xyz, (0.0, 0.0, 0.0), padding);
        t.insert("radius".into(), toml::Value::Float(radius));
        Ok(self.push("objects", t)?)
    }

    /// Adds a cylinder of `radius` and `length` (m, along its local z) centred at `xyz`,
    /// turned by `rpy`; `padding` as for [`add_box`].
    #[pyo3(signature = (name, radius, length, xyz, rpy=(0.0, 0.0, 0.0), padding=0.0))]
    #[allow(clippy::too_many_arguments)]
    fn add_cylinder(
        &mut self,
        name: &str,
        radius: f64,
        length: f64,
        xyz: (f64, f64, f64),
        rpy: (f64, f64, f64),
        padding: f64,
    ) -> PyResult<()> {
        self.check_dimensions(name, &[("radius", radius), ("length", length)])?;
        self.check_padding(name, padding)?;
        let mut t = self.object(name, "cylinder", xyz, rpy, padding);
        t.insert("radius".into(), toml::Value::Float(radius));
        t.insert("length".into(), toml::Value::Float(length));
        Ok(self.push("objects", t)?)
    }

    /// The robots' ids.
    #[getter]
    fn robots(&self) -> Vec<String> {
        self.built
            .as_ref()
            .map(|c| c.robots.iter().map(|r| r.id.clone()).collect())
            .unwrap_or_default()
    }

    /// The objects' names.
    #[getter]
    fn objects(&self) -> Vec<String> {
        self.built
            .as_ref()
            .map(|c| c.world.objects().iter().map(|o| o.name.clone()).collect())
            .unwrap_or_default()
    }

    /// Robot `id`'s kinematics.
    fn robot(&self, id: &str) -> PyResult<PyRobot> {
        let cell = self.cell()?;
        let r = cell.robot(id).map_err(Error::from)?;
        Ok(PyRobot {
            robot: r.geometry.robot().clone(),
        })
    }

    /// Robot `id`'s base pose in the cell frame (4, 4).
    fn base<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        let cell = self.cell()?;
        let r = cell.robot(id).map_err(Error::from)?;
        to_numpy(py, crate::arrays::matrix(&r.base).to_vec(), &[4, 4])
    }

    /// Robot `id`'s joint values (n,).
    fn joints<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        let cell = self.cell()?;
        let r = cell.robot(id).map_err(Error::from)?;
        to_numpy(py, r.joints.clone(), &[r.joints.len()])
    }

    /// Sets robot `id`'s joint values (where the other robots see it).
    fn set_joints(&mut self, id: &str, q: &Bound<'_, PyAny>) -> PyResult<()> {
        let q = vector("joints", q, None)?;
        let before = self.table.clone();
        let robots = self
            .table
            .get_mut("robots")
            .and_then(toml::Value::as_array_mut)
            .ok_or_else(|| Error::invalid("robots", "the cell has no robot"))?;
        let entry = robots
            .iter_mut()
            .filter_map(toml::Value::as_table_mut)
            .find(|t| t.get("id").and_then(toml::Value::as_str) == Some(id))
            .ok_or_else(|| {
                Error::not_found(
                    Some("robot_id"),
                    "robot",
                    id,
                    format!("unknown robot '{id}'"),
                )
            })?;
        entry.insert("joints".into(), floats(&q));
        if let Err(e) = self.rebuild() {
            self.table = before;
            let _ = self.rebuild();
            return Err(e.into());
        }
        Ok(())
    }

    /// Checks states of robot `robot_id` (n,) or (m, n) against the cell (objects, the other
    /// robots where they stand, itself): `(valid, distance)`, a boolean and a float array
    /// (m,) (scalars for one state). `distance` is the smallest clearance beyond what each
    /// pair must keep (m), negative exactly when the state collides (as `cella check`); a
    /// state outside the joint limits is not valid.
    fn check<'py>(
        &self,
        py: Python<'py>,
        robot_id: &str,
        states_: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let cell = self.cell()?;
        let r = cell.robot(robot_id).map_err(Error::from)?;
        let n = r.geometry.robot().chain().dof();
        let (data, m, batch) = states("states", states_, n)?;
        let id = robot_id.to_owned();
        let (valid, distance) = py.detach(move || -> Result<(Vec<bool>, Vec<f64>), Error> {
            let checker = cell.checker(&id)?;
            let chain = cell.robot(&id)?.geometry.robot().chain().clone();
            let mut s = checker.scratch();
            let mut valid = Vec::with_capacity(m);
            let mut distance = Vec::with_capacity(m);
            for q in data.chunks_exact(n) {
                valid.push(chain.within_limits(q) && checker.is_valid(&mut s, q));
                distance.push(checker.clearance(&mut s, q).unwrap_or(f64::INFINITY));
            }
            Ok((valid, distance))
        })?;
        if batch {
            Ok((
                PyArray1::from_vec(py, valid).into_any(),
                to_numpy(py, distance, &[m])?,
            ))
        } else {
            Ok((
                valid[0].into_pyobject(py)?.to_owned().into_any(),
                distance[0].into_pyobject(py)?.into_any(),
            ))
        }
    }

    /// Plans a motion of robot `robot_id` from `start` (default: where it stands) to `goal`:
    /// joint values (n,), a named pose, or a TCP pose in the cell frame (4×4 or `x, y, z,
    /// qx, qy, qz, qw`). `motion`: `free` (collision-free search), `ptp` (straight in joint
    /// space; a pose goes to its IK solution nearest the start) or `lin` (the TCP on a
    /// straight line). The trajectory is validated against every limit and checked for
    /// collision along its whole length; the GIL is released while planning.
    #[pyo3(signature = (robot_id, goal, start=None, motion="free", velocity_scale=1.0, acceleration_scale=1.0, time_budget=1.0, seed=1, period=0.004))]
    // each argument is a Python keyword argument with its default
    #[allow(clippy::too_many_arguments)]
    fn plan(
        &self,
        py: Python<'_>,
        robot_id: &str,
        goal: &Bound<'_, PyAny>,
        start: Option<&Bound<'_, PyAny>>,
        motion: &str,
        velocity_scale: f64,
        acceleration_scale: f64,
        time_budget: f64,
        seed: u64,
        period: f64,
    ) -> PyResult<PyTrajectory> {
        let cell = self.cell()?;
        let r = cell.robot(robot_id).map_err(Error::from)?;
        let robot = r.geometry.robot().clone();
        let n = robot.chain().dof();
        let start = match start {
            Some(s) => vector("start", s, Some(n))?,
            None => r.joints.clone(),
        };
        let goal = goal_arg(goal, n)?;
        if let GoalArg::Named(name) = &goal {
            robot.named_pose(name).map_err(|e| {
                Error::not_found(
                    Some("goals[0]"),
                    "named pose",
                    name,
                    format!("goals[0]: {e}"),
                )
            })?;
        }
        let budget = cella_planning::time_budget(time_budget, None).map_err(Error::from)?;
        if !(period.is_finite() && (0.0005..=1.0).contains(&period)) {
            return Err(
                Error::invalid("period", format!("{period} s is not in [0.0005, 1]")).into(),
            );
        }
        let options = PlanOptions {
            time_budget: budget,
            seed,
            velocity_scale: unit_scale("velocity_scale", velocity_scale)?,
            acceleration_scale: unit_scale("acceleration_scale", acceleration_scale)?,
            period,
            ..PlanOptions::default()
        };
        let motion = motion.to_owned();
        let id = robot_id.to_owned();
        let base = r.base;
        let names = robot.chain().joint_names().map(str::to_owned).collect();
        let cell = cell.clone();
        let samples = py.detach(move || -> Result<_, Error> {
            let checker = cell.checker(&id)?;
            let space = JointSpace::of_chain(robot.chain())?;
            let limits = Limits::of_robot(&robot)?;
            let goals = match &goal {
                GoalArg::Joints(q) => vec![q.clone()],
                GoalArg::Named(name) => {
                    resolve_goals(&robot, &base, &[Goal::Named(name.clone())], &start)?
                }
                GoalArg::Pose(p) => resolve_goals(&robot, &base, &[Goal::Pose(*p)], &start)?,
            };
            let samples = match motion.as_str() {
                "free" => {
                    plan_joint(&checker, &space, &limits, &start, &goals, &options, None)?.samples
                }
                "ptp" => {
                    let g = nearest_goal(&start, &goals)
                        .ok_or_else(|| Error::invalid("goals", "no goal given"))?;
                    plan_ptp(&checker, &space, &limits, &start, g, &options)?.samples
                }
                "lin" => {
                    let target = match &goal {
                        GoalArg::Pose(p) => base.inverse() * p,
                        _ => robot.fk(&goals[0])?,
                    };
                    let c = CartesianOptions {
                        velocity_scale: options.velocity_scale,
                        acceleration_scale: options.acceleration_scale,
                        period,
                        ..CartesianOptions::default()
                    };
                    plan_cartesian(
                        &checker,
                        &robot,
                        &limits,
                        &start,
                        &CartesianPath::Line { goal: target },
                        &c,
                    )?
                    .samples
                }
                other => {
                    return Err(Error::invalid(
                        "motion",
                        format!("'{other}': free, ptp or lin"),
                    ));
                }
            };
            Ok(samples)
        })?;
        Ok(PyTrajectory::new(names, samples))
    }

    /// Validates a trajectory of robot `robot_id` in the cell: every limit (positions,
    /// velocities, accelerations, jerk where set, continuity) and no collision along it
    /// (between samples too), as the service's ValidateTrajectory does.
    fn validate(
        &self,
        py: Python<'_>,
        robot_id: &str,
        trajectory: &PyTrajectory,
    ) -> PyResult<Validation> {
        let cell = self.cell()?;
        let r = cell.robot(robot_id).map_err(Error::from)?;
        let limits = Limits::of_robot(r.geometry.robot()).map_err(Error::from)?;
        let verdict = validate_limits(trajectory, &limits)?;
        if !verdict.valid {
            return Ok(verdict);
        }
        let t = trajectory.clone();
        let id = robot_id.to_owned();
        Ok(py.detach(move || -> Result<Validation, Error> {
            let checker = cell.checker(&id)?;
            let mut s = checker.scratch();
            Ok(match checker.path_first_collision(&mut s, &t.samples.q) {
                None => Validation::ok(),
                Some(k) => {
                    let pairs = checker.contacts(&mut s, t.samples.q_at(k));
                    let pairs: Vec<String> =
                        pairs.iter().map(|(a, b)| format!("{a} - {b}")).collect();
                    Validation::failed(
                        format!(
                            "collision between samples {} and {k} (t = {:.4} s): {}",
                            k.saturating_sub(1),
                            t.samples.times[k],
                            pairs.join(", ")
                        ),
                        k,
                        t.samples.times[k],
                    )
                }
            })
        })?)
    }

    /// The cell file text (TOML), as `cella serve --cell` reads it.
    fn to_toml(&self) -> PyResult<String> {
        toml::to_string(&self.table).map_err(|e| Error::invalid("cell", e.to_string()).into())
    }

    /// Writes the cell file.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        let text = self.to_toml()?;
        std::fs::write(&path, text)
            .map_err(|e| Error::invalid(path.display().to_string(), e.to_string()).into())
    }

    fn __repr__(&self) -> String {
        format!(
            "Cell(robots={:?}, objects={:?})",
            self.robots(),
            self.objects()
        )
    }
}

impl PyCell {
    /// The field of the next object's `key` (as the cell file names it).
    fn next_object_field(&self, name: &str, key: &str) -> String {
        let i = self
            .table
            .get("objects")
            .and_then(toml::Value::as_array)
            .map_or(0, Vec::len);
        format!("objects[{i}] ('{name}').{key}")
    }

    /// Refuses a shape with a dimension that is not finite and positive, naming it.
    fn check_dimensions(&self, name: &str, dimensions: &[(&str, f64)]) -> Result<(), Error> {
        for (key, v) in dimensions {
            if !(v.is_finite() && *v > 0.0) {
                return Err(Error::invalid(
                    self.next_object_field(name, key),
                    format!("{v} m is not a finite positive dimension"),
                ));
            }
        }
        Ok(())
    }

    fn check_padding(&self, name: &str, padding: f64) -> Result<(), Error> {
        let max = cella_collision::MAX_OBJECT_PADDING;
        if padding.is_finite() && (0.0..=max).contains(&padding) {
            Ok(())
        } else {
            Err(Error::invalid(
                self.next_object_field(name, "padding"),
                format!("{padding} m is not in [0, {max}]"),
            ))
        }
    }

    fn object(
        &self,
        name: &str,
        kind: &str,
        xyz: (f64, f64, f64),
        rpy: (f64, f64, f64),
        padding: f64,
    ) -> toml::Table {
        let mut t = toml::Table::new();
        if padding != 0.0 {
            t.insert("padding".into(), toml::Value::Float(padding));
        }
        t.insert("name".into(), toml::Value::String(name.to_owned()));
        t.insert("type".into(), toml::Value::String(kind.to_owned()));
        t.insert(
            "pose".into(),
            pose_table(&[xyz.0, xyz.1, xyz.2], &[rpy.0, rpy.1, rpy.2]),
        );
        t
    }
}
