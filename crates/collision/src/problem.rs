//! Benchmark problem files (`peer-bench-problem/v1`, the MotionBenchMaker format of
//! `../shared/problems/README.md`): a robot, obstacles, a start and goal states.

use crate::error::{CollisionError, Result};
use crate::robot_geometry::{MeshSource, RobotGeometry};
use crate::shape::Shape;
use crate::world::{World, WorldObject};
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
struct RawPose {
    position: [f64; 3],
    orientation_quat_xyzw: [f64; 4],
}

#[derive(Debug, Deserialize)]
struct RawObstacle {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    position: [f64; 3],
    orientation_quat_xyzw: Option<[f64; 4]>,
    half_extents: Option<[f64; 3]>,
    radius: Option<f64>,
    length: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct RawMeta {
    scene: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawProblem {
    name: Option<String>,
    robot: Option<String>,
    urdf: Option<String>,
    tip_link: Option<String>,
    joint_names: Vec<String>,
    base_pose: Option<RawPose>,
    obstacles: Vec<RawObstacle>,
    start: Vec<f64>,
    goals: Vec<Vec<f64>>,
    meta: Option<RawMeta>,
}

/// A parsed, validated planning problem.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Problem name (file stem when absent).
    pub name: String,
    /// Scene name (`meta.scene`, else the parent directory name).
    pub scene: String,
    /// Robot collision geometry (library robot, or the problem's URDF).
    pub geometry: Arc<RobotGeometry>,
    /// Robot base pose in the world frame.
    pub base: Isometry3<f64>,
    /// Obstacles.
    pub world: World,
    /// Group joint names, in the order of `start` and `goals`.
    pub joint_names: Vec<String>,
    /// Start state (rad).
    pub start: Vec<f64>,
    /// Goal states (rad); reaching any solves the problem.
    pub goals: Vec<Vec<f64>>,
}

fn err(file: &str, reason: impl Into<String>) -> CollisionError {
    CollisionError::Problem {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

fn quaternion(file: &str, field: &str, q: [f64; 4]) -> Result<UnitQuaternion<f64>> {
    let raw = Quaternion::new(q[3], q[0], q[1], q[2]);
    let n = raw.norm();
    if !n.is_finite() || (n - 1.0).abs() > 1e-3 {
        return Err(err(
            file,
            format!("{field}: {q:?} is not a unit quaternion"),
        ));
    }
    Ok(UnitQuaternion::from_quaternion(raw))
}

impl Problem {
    /// Reads a problem file. A `"urdf"` path is resolved relative to the file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| err(&label, e.to_string()))?;
        let scene_dir = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned());
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_json(&text, &label, path.parent(), &stem, scene_dir.as_deref())
    }

    /// Parses problem JSON. `dir` resolves a relative `"urdf"`.
    pub fn from_json(
        text: &str,
        label: &str,
        dir: Option<&Path>,
        default_name: &str,
        default_scene: Option<&str>,
    ) -> Result<Self> {
        let raw: RawProblem = serde_json::from_str(text).map_err(|e| err(label, e.to_string()))?;
        let geometry = match (&raw.urdf, &raw.robot) {
            (Some(urdf), _) => {
                let path = dir.map_or_else(|| Path::new(urdf).to_path_buf(), |d| d.join(urdf));
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| err(label, format!("urdf '{}': {e}", path.display())))?;
                let robot =
                    cella_kinematics::Robot::from_urdf_str(&text, None, raw.tip_link.as_deref())?;
                let meshes = MeshSource {
                    urdf_dir: path.parent().map(Path::to_path_buf),
                    package_path: Vec::new(),
                };
                RobotGeometry::from_urdf(Arc::new(robot), &text, &meshes)?
            }
            (None, Some(name)) => RobotGeometry::library(name)?,
            (None, None) => return Err(err(label, "neither \"robot\" nor \"urdf\" is given")),
        };
        let chain = geometry.robot().chain();
        let names: Vec<&str> = chain.joint_names().collect();
        if raw.joint_names != names {
            return Err(err(
                label,
                format!(
                    "joint_names {:?} do not match the robot's group joints {:?}",
                    raw.joint_names, names
                ),
            ));
        }
        let check_q = |field: &str, q: &[f64]| -> Result<()> {
            if q.len() != names.len() || q.iter().any(|v| !v.is_finite()) {
                return Err(err(
                    label,
                    format!("{field}: need {} finite values, got {q:?}", names.len()),
                ));
            }
            Ok(())
        };
        check_q("start", &raw.start)?;
        if raw.goals.is_empty() {
            return Err(err(label, "goals: empty"));
        }
        for (i, g) in raw.goals.iter().enumerate() {
            check_q(&format!("goals[{i}]"), g)?;
        }
        let base = match &raw.base_pose {
            Some(p) => Isometry3::from_parts(
                Translation3::from(nalgebra::Vector3::from(p.position)),
                quaternion(
                    label,
                    "base_pose.orientation_quat_xyzw",
                    p.orientation_quat_xyzw,
                )?,
            ),
            None => Isometry3::identity(),
        };
        let mut world = World::new();
        for (i, o) in raw.obstacles.iter().enumerate() {
            let field = |f: &str| format!("obstacles[{i}] ('{}').{f}", o.name);
            let shape = Shape::from_fields(&o.kind, o.half_extents, o.radius, o.length)
                .map_err(|reason| err(label, field(&reason)))?;
            let rotation = match o.orientation_quat_xyzw {
                Some(q) => quaternion(label, &field("orientation_quat_xyzw"), q)?,
                None => UnitQuaternion::identity(),
            };
            let pose = Isometry3::from_parts(
                Translation3::from(nalgebra::Vector3::from(o.position)),
                rotation,
            );
            world
                .add(WorldObject {
                    name: o.name.clone(),
                    shape,
                    pose,
                })
                .map_err(|e| err(label, format!("{}: {e}", field("shape"))))?;
        }
        Ok(Self {
            name: raw.name.unwrap_or_else(|| default_name.to_owned()),
            scene: raw
                .meta
                .and_then(|m| m.scene)
                .or(default_scene.map(str::to_owned))
                .unwrap_or_default(),
            geometry: Arc::new(geometry),
            base,
            world,
            joint_names: raw.joint_names,
            start: raw.start,
            goals: raw.goals,
        })
    }
}
