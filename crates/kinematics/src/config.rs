//! The robot config file (`robot.toml`): planning group, IK solver, extra joint limits and
//! named poses. See `robots/*/robot.toml` for annotated examples.

use crate::error::{KinematicsError, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Parsed `robot.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobotConfig {
    /// Library name (e.g. `ur5e`).
    pub name: String,
    /// Human-readable model name.
    #[serde(default)]
    pub description: String,
    /// URDF file, relative to the config file.
    pub urdf: String,
    /// Where the data comes from.
    #[serde(default)]
    pub source: String,
    /// The planning group.
    pub group: GroupConfig,
    /// Inverse kinematics solver.
    #[serde(default)]
    pub ik: IkConfig,
    /// Limits URDF cannot express (acceleration, jerk), per joint.
    #[serde(default)]
    pub joint_limits: Vec<ExtraJointLimits>,
    /// Named joint vectors in group joint order (radians or metres).
    #[serde(default)]
    pub named_poses: BTreeMap<String, Vec<f64>>,
    /// Joints outside the group and the values they are held at (e.g. gripper fingers).
    #[serde(default)]
    pub fixed_joints: BTreeMap<String, f64>,
    /// The allowed-collision matrix: link pairs the collision checker skips. Empty: computed
    /// by sampling when the robot is loaded (`cella robot acm` prints it for pasting here).
    #[serde(default)]
    pub allowed_collisions: Vec<AllowedCollision>,
}

/// One allowed link pair of the allowed-collision matrix.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AllowedCollision {
    /// The two links.
    pub links: [String; 2],
    /// Why they may touch (adjacent, default, always, or a note).
    #[serde(default)]
    pub reason: String,
    /// Evidence written by `cella robot acm`: the signed distance (m) of the pair's real
    /// collision geometry (convex hulls of the meshes) at the default pose, negative when
    /// they penetrate.
    #[serde(default)]
    pub default_distance: Option<f64>,
    /// Evidence written by `cella robot acm`: the fraction of sampled random states in which
    /// the pair's real collision geometry is in contact.
    #[serde(default)]
    pub contact_fraction: Option<f64>,
}

/// The planning group: a chain from `base` to `tip` and the default TCP frame `tool`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Base link of the chain.
    pub base: String,
    /// Tip link of the chain (usually the flange).
    pub tip: String,
    /// Default TCP frame: a link rigidly attached to the tip (e.g. `tool0`).
    pub tool: Option<String>,
}

/// IK solver selection and parameters.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IkConfig {
    /// `"opw"`, `"ur"` or `"numerical"` (default).
    #[serde(default)]
    pub solver: IkSolverKind,
    /// Frame the analytic solver's end pose refers to (rigidly attached to the tip).
    pub frame: Option<String>,
    /// Frame the analytic solver's base refers to (rigidly attached to the group base).
    pub base_frame: Option<String>,
    /// OPW parameters (solver = "opw").
    pub opw: Option<crate::ik::opw::OpwParameters>,
    /// UR DH parameters (solver = "ur").
    pub ur: Option<crate::ik::ur::UrParameters>,
}

/// Which IK solver a robot uses.
#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum IkSolverKind {
    /// Ortho-parallel basis with spherical wrist (KUKA, ABB, FANUC, Stäubli, ...).
    Opw,
    /// Universal Robots style (three parallel axes).
    Ur,
    /// Damped least squares with restarts, for any chain.
    #[default]
    Numerical,
}

/// Acceleration and jerk limits of one joint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraJointLimits {
    /// Joint name.
    pub joint: String,
    /// Maximum acceleration (rad/s² or m/s²).
    pub max_acceleration: f64,
    /// Maximum jerk (rad/s³ or m/s³), where set.
    pub max_jerk: Option<f64>,
    /// Where the numbers come from.
    #[serde(default)]
    pub source: String,
}

impl RobotConfig {
    /// Parses TOML text; `file` names the source in errors.
    pub fn from_toml_str(text: &str, file: Option<&str>) -> Result<Self> {
        toml::from_str(text).map_err(|e| KinematicsError::ConfigSyntax {
            file: file.map(str::to_owned),
            source: e.into(),
        })
    }
}
