//! A robot ready to use: the URDF model, its planning group chain (with the TCP), the IK solver
//! bound to that chain, acceleration/jerk limits and named poses from `robot.toml`.

use crate::config::{IkSolverKind, RobotConfig};
use crate::error::{KinematicsError, Result};
use crate::ik::{IkOptions, IkSolutions, numerical, opw::OpwSolver, ur::UrSolver};
use crate::{Chain, RobotModel};
use nalgebra::Isometry3;
use std::collections::BTreeMap;
use std::path::Path;

/// The IK solver bound to the group chain.
#[derive(Debug, Clone)]
pub enum IkSolver {
    /// Analytic OPW solver.
    Opw(OpwSolver),
    /// Analytic UR solver.
    Ur(UrSolver),
    /// Numerical solver.
    Numerical,
}

impl IkSolver {
    /// Solver name as in `robot.toml`.
    pub fn name(&self) -> &'static str {
        match self {
            IkSolver::Opw(_) => "opw",
            IkSolver::Ur(_) => "ur",
            IkSolver::Numerical => "numerical",
        }
    }
}

/// Acceleration and jerk limits of one group joint (URDF cannot express them).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DynamicLimits {
    /// Maximum acceleration (rad/s² or m/s²), where known.
    pub acceleration: Option<f64>,
    /// Maximum jerk (rad/s³ or m/s³), where known.
    pub jerk: Option<f64>,
}

/// A robot: immutable after construction, `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Robot {
    name: String,
    description: String,
    model: RobotModel,
    chain: Chain,
    solver: IkSolver,
    dynamic_limits: Vec<DynamicLimits>,
    named_poses: BTreeMap<String, Vec<f64>>,
    /// The stored allowed-collision matrix (empty: to be computed).
    allowed_collisions: Vec<crate::config::AllowedCollision>,
    /// Model-variable values used for joints outside the group.
    default_state: Vec<f64>,
    tool_frame: Option<String>,
}

impl Robot {
    /// A robot from a bare URDF: group from `base` (default: the root link) to `tip` (default:
    /// the deepest leaf, the first in URDF order among equals), numerical IK, no named poses.
    pub fn from_urdf_str(urdf: &str, base: Option<&str>, tip: Option<&str>) -> Result<Self> {
        let model = RobotModel::from_urdf_str(urdf)?;
        let base = match base {
            Some(b) => b.to_owned(),
            None => model.links()[model.root()].name.clone(),
        };
        let tip = match tip {
            Some(t) => t.to_owned(),
            None => deepest_leaf(&model),
        };
        let chain = Chain::new(&model, &base, &tip)?;
        let n = chain.dof();
        Ok(Self {
            name: model.name().to_owned(),
            description: String::new(),
            default_state: vec![0.0; model.variables().len()],
            model,
            chain,
            solver: IkSolver::Numerical,
            dynamic_limits: vec![DynamicLimits::default(); n],
            named_poses: BTreeMap::new(),
            allowed_collisions: Vec::new(),
            tool_frame: None,
        })
    }

    /// A robot from a URDF file (see [`Robot::from_urdf_str`]).
    pub fn from_urdf_file(path: &Path, base: Option<&str>, tip: Option<&str>) -> Result<Self> {
        Self::from_urdf_str(&read(path)?, base, tip)
    }

    /// A robot from a `robot.toml` file; its URDF path is relative to the file.
    pub fn from_config_file(path: &Path) -> Result<Self> {
        let text = read(path)?;
        let file = path.display().to_string();
        let config = RobotConfig::from_toml_str(&text, Some(&file))?;
        let urdf_path = path.parent().unwrap_or(Path::new(".")).join(&config.urdf);
        Self::from_config(config, &read(&urdf_path)?, Some(&file))
    }

    /// A robot from a parsed config and its URDF text; `file` names the config in errors.
    pub fn from_config(config: RobotConfig, urdf: &str, file: Option<&str>) -> Result<Self> {
        let bad = |what: String| KinematicsError::InvalidConfig {
            file: file.map(str::to_owned),
            what,
        };
        let model = RobotModel::from_urdf_str(urdf)?;
        let g = &config.group;
        let mut chain = Chain::new(&model, &g.base, &g.tip)?;
        let base_idx = model.link_index(&g.base)?;
        let tip_idx = model.link_index(&g.tip)?;
        if let Some(tool) = &g.tool {
            let tool_idx = model.link_index(tool)?;
            let t = model.fixed_transform(tip_idx, tool_idx).ok_or_else(|| {
                bad(format!(
                    "group.tool '{tool}' is not rigidly attached to group.tip '{}'",
                    g.tip
                ))
            })?;
            chain.set_tool(t);
        }

        // Joints outside the group, held at fixed values.
        let mut default_state = vec![0.0; model.variables().len()];
        for (name, &value) in &config.fixed_joints {
            let ji = model
                .joint_index(name)
                .map_err(|_| bad(format!("fixed_joints: unknown joint '{name}'")))?;
            let j = &model.joints()[ji];
            let Some(var) = j.variable else {
                return Err(bad(format!(
                    "fixed_joints: joint '{name}' is fixed or a mimic"
                )));
            };
            if chain.variables().iter().any(|v| v.joint == ji) {
                return Err(bad(format!(
                    "fixed_joints: joint '{name}' belongs to the group"
                )));
            }
            if !value.is_finite() || !j.limits.contains(value) {
                return Err(bad(format!(
                    "fixed_joints: {name} = {value} is outside [{}, {}]",
                    j.limits.lower, j.limits.upper
                )));
            }
            default_state[var] = value;
        }

        let mut dynamic_limits = vec![DynamicLimits::default(); chain.dof()];
        for l in &config.joint_limits {
            let i = chain
                .variables()
                .iter()
                .position(|v| v.name == l.joint)
                .ok_or_else(|| {
                    bad(format!(
                        "joint_limits: joint '{}' is not in the group",
                        l.joint
                    ))
                })?;
            if !(l.max_acceleration.is_finite() && l.max_acceleration > 0.0) {
                return Err(bad(format!(
                    "joint_limits: {} max_acceleration must be positive",
                    l.joint
                )));
            }
            if l.max_jerk.is_some_and(|j| !(j.is_finite() && j > 0.0)) {
                return Err(bad(format!(
                    "joint_limits: {} max_jerk must be positive",
                    l.joint
                )));
            }
            dynamic_limits[i] = DynamicLimits {
                acceleration: Some(l.max_acceleration),
                jerk: l.max_jerk,
            };
        }

        for (name, q) in &config.named_poses {
            chain
                .check_limits(q)
                .map_err(|e| bad(format!("named_poses.{name}: {e}")))?;
        }

        let solver_end = |frame: &Option<String>| -> Result<Isometry3<f64>> {
            match frame {
                None => Ok(*chain.tool()),
                Some(f) => {
                    let fi = model.link_index(f)?;
                    model.fixed_transform(tip_idx, fi).ok_or_else(|| {
                        bad(format!(
                            "ik.frame '{f}' is not rigidly attached to '{}'",
                            g.tip
                        ))
                    })
                }
            }
        };
        let solver_base = |frame: &Option<String>| -> Result<Isometry3<f64>> {
            match frame {
                None => Ok(Isometry3::identity()),
                Some(f) => {
                    let fi = model.link_index(f)?;
                    model.fixed_transform(base_idx, fi).ok_or_else(|| {
                        bad(format!(
                            "ik.base_frame '{f}' is not rigidly attached to '{}'",
                            g.base
                        ))
                    })
                }
            }
        };
        let ik = &config.ik;
        let solver = match ik.solver {
            IkSolverKind::Opw => {
                let p = ik
                    .opw
                    .ok_or_else(|| bad("ik.solver = \"opw\" needs an [ik.opw] table".into()))?;
                IkSolver::Opw(OpwSolver::new(
                    p,
                    &chain,
                    solver_base(&ik.base_frame)?,
                    solver_end(&ik.frame)?,
                )?)
            }
            IkSolverKind::Ur => {
                let p = ik
                    .ur
                    .ok_or_else(|| bad("ik.solver = \"ur\" needs an [ik.ur] table".into()))?;
                IkSolver::Ur(UrSolver::new(
                    p,
                    &chain,
                    solver_base(&ik.base_frame)?,
                    solver_end(&ik.frame)?,
                )?)
            }
            IkSolverKind::Numerical => IkSolver::Numerical,
        };

        Ok(Self {
            name: config.name.clone(),
            description: config.description.clone(),
            model,
            chain,
            solver,
            dynamic_limits,
            named_poses: config.named_poses.clone(),
            allowed_collisions: config.allowed_collisions.clone(),
            default_state,
            tool_frame: g.tool.clone(),
        })
    }

    /// Library name (or the URDF's robot name for a bare URDF).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Human-readable model description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The whole URDF model.
    pub fn model(&self) -> &RobotModel {
        &self.model
    }

    /// The planning group chain; its TCP is the configured tool frame.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// Name of the TCP frame, when the config names one.
    pub fn tool_frame(&self) -> Option<&str> {
        self.tool_frame.as_deref()
    }

    /// The IK solver bound to the group.
    pub fn solver(&self) -> &IkSolver {
        &self.solver
    }

    /// Acceleration/jerk limits per group joint.
    pub fn dynamic_limits(&self) -> &[DynamicLimits] {
        &self.dynamic_limits
    }

    /// Named poses (group joint order).
    pub fn named_poses(&self) -> &BTreeMap<String, Vec<f64>> {
        &self.named_poses
    }

    /// The joint vector of a named pose.
    pub fn named_pose(&self, name: &str) -> Result<&[f64]> {
        self.named_poses
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| KinematicsError::UnknownNamedPose(name.to_owned()))
    }

    /// Values of every model variable for group joints `q` (others at their held values).
    pub fn model_state(&self, q: &[f64], out: &mut [f64]) -> Result<()> {
        self.chain.check_joints("joints", q)?;
        if out.len() != self.default_state.len() {
            return Err(KinematicsError::JointCountMismatch {
                what: "model state buffer".into(),
                expected: self.default_state.len(),
                got: out.len(),
            });
        }
        out.copy_from_slice(&self.default_state);
        for (v, &x) in self.chain.variables().iter().zip(q) {
            out[v.model_variable] = x;
        }
        Ok(())
    }

    /// Sets the mount (base link pose in the cell frame); FK and IK then use the cell frame.
    pub fn set_mount(&mut self, mount: Isometry3<f64>) {
        self.chain.set_mount(mount);
    }

    /// The allowed-collision matrix stored in robot.toml (empty when none is stored).
    pub fn allowed_collisions(&self) -> &[crate::config::AllowedCollision] {
        &self.allowed_collisions
    }

    /// Forward kinematics of the TCP in the reference frame (see [`Chain::fk`]).
    pub fn fk(&self, q: &[f64]) -> Result<Isometry3<f64>> {
        self.chain.fk(q)
    }

    /// Inverse kinematics of the TCP pose `target` (reference frame) with the robot's solver.
    ///
    /// Analytic solvers return every solution within limits; the numerical solver returns up
    /// to `options.max_solutions`. With a seed, solutions are ordered nearest to it first.
    /// An empty list is an error ([`KinematicsError::Unreachable`]) saying why.
    pub fn ik(
        &self,
        target: &Isometry3<f64>,
        seed: Option<&[f64]>,
        options: &IkOptions,
        out: &mut IkSolutions,
    ) -> Result<()> {
        check_target(target)?;
        if let Some(s) = seed {
            self.chain.check_joints("seed", s)?;
        }
        match &self.solver {
            IkSolver::Opw(s) => s.solve(&self.chain, target, options, out)?,
            IkSolver::Ur(s) => s.solve(&self.chain, target, seed, options, out)?,
            IkSolver::Numerical => numerical::solve(&self.chain, target, seed, options, out)?,
        }
        if let Some(s) = seed {
            out.sort_by_distance(s);
        }
        if out.is_empty() {
            return Err(KinematicsError::Unreachable {
                reason: match self.solver {
                    IkSolver::Numerical => format!(
                        "no solution within limits found by the numerical solver ({} restarts)",
                        options.max_restarts
                    ),
                    _ => "no solution within joint limits (outside the workspace, or every arm configuration breaks a limit)".into(),
                },
            });
        }
        Ok(())
    }
}

/// Rejects poses with non-finite components.
pub fn check_target(target: &Isometry3<f64>) -> Result<()> {
    crate::error::check_finite("pose.position", target.translation.vector.as_slice())?;
    crate::error::check_finite("pose.quaternion", target.rotation.coords.as_slice())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| KinematicsError::Io {
        path: path.display().to_string(),
        source: e.into(),
    })
}

/// The leaf link with the most joints above it (first in URDF order among equals).
fn deepest_leaf(model: &RobotModel) -> String {
    let links = model.links();
    let mut has_child = vec![false; links.len()];
    for j in model.joints() {
        has_child[j.parent] = true;
    }
    let mut best = (0usize, model.root());
    for (i, _) in links.iter().enumerate().filter(|(i, _)| !has_child[*i]) {
        let depth = model.ancestors(i).len();
        if depth > best.0 {
            best = (depth, i);
        }
    }
    links[best.1].name.clone()
}
