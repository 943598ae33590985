//! Benchmark problem files (`peer-bench-problem/v1`, the MotionBenchMaker format of
//! `../shared/problems/README.md`): a robot, obstacles, a start and goal states.
//!
//! ```
//! use cella::problem::Problem;
//!
//! let json = r#"{
//!     "robot": "panda",
//!     "joint_names": ["panda_joint1", "panda_joint2", "panda_joint3", "panda_joint4",
//!                     "panda_joint5", "panda_joint6", "panda_joint7"],
//!     "obstacles": [{"name": "table", "type": "box", "position": [0.6, 0.0, -0.05],
//!                    "half_extents": [0.3, 0.5, 0.05]}],
//!     "start": [0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785],
//!     "goals": [[0.5, -0.5, 0.0, -2.0, 0.0, 1.571, 0.785]]
//! }"#;
//! let p = Problem::from_json(json, "example", None, "example", None)?;
//! assert_eq!(p.world.objects().len(), 1);
//! assert_eq!(p.goals.len(), 1);
//! # Ok::<(), cella::problem::ProblemError>(())
//! ```

use cella_collision::{CollisionError, MeshSource, RobotGeometry, Shape, World, WorldObject};
use cella_kinematics::KinematicsError;
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

/// Why a problem file could not be read. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    /// The problem file could not be read.
    #[error("problem {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON of the problem format.
    #[error("problem {file}: {source}")]
    Json {
        /// The file or problem label.
        file: String,
        /// The parser's error (line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The robot description named by `"urdf"` could not be read.
    #[error("problem {file}: urdf '{urdf}': {source}")]
    ReadUrdf {
        /// The problem file or label.
        file: String,
        /// The URDF path, resolved against the problem's directory.
        urdf: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The robot description is invalid (URDF, chain, tip link).
    #[error(transparent)]
    Kinematics(#[from] KinematicsError),
    /// The robot's collision geometry could not be built (unknown library robot, meshes).
    #[error(transparent)]
    Robot(#[from] CollisionError),
    /// An obstacle is rejected by the world (duplicate name, bad dimensions).
    #[error("problem {file}: {field}: {source}")]
    Obstacle {
        /// The problem file or label.
        file: String,
        /// The obstacle's field, e.g. `obstacles[3] ('Can1').shape`.
        field: String,
        /// The world's error (boxed: it is large).
        #[source]
        source: Box<CollisionError>,
    },
    /// A field is malformed or inconsistent with the robot.
    #[error("problem {file}: {reason}")]
    Invalid {
        /// The problem file or label.
        file: String,
        /// What is wrong, naming the field.
        reason: String,
    },
}

/// Result alias of problem reading.
pub type Result<T> = std::result::Result<T, ProblemError>;

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

fn invalid(file: &str, reason: impl Into<String>) -> ProblemError {
    ProblemError::Invalid {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

fn quaternion(file: &str, field: &str, q: [f64; 4]) -> Result<UnitQuaternion<f64>> {
    let raw = Quaternion::new(q[3], q[0], q[1], q[2]);
    let n = raw.norm();
    if !n.is_finite() || (n - 1.0).abs() > 1e-3 {
        return Err(invalid(
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
        let text = std::fs::read_to_string(path).map_err(|source| ProblemError::Read {
            file: label.clone(),
            source,
        })?;
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

    /// Parses problem JSON. `label` names the problem in errors, `dir` resolves a relative
    /// `"urdf"`; `default_name` and `default_scene` apply when the problem has no `"name"` or
    /// `"meta.scene"`.
    pub fn from_json(
        text: &str,
        label: &str,
        dir: Option<&Path>,
        default_name: &str,
        default_scene: Option<&str>,
    ) -> Result<Self> {
        let raw: RawProblem = serde_json::from_str(text).map_err(|source| ProblemError::Json {
            file: label.to_owned(),
            source,
        })?;
        let geometry = match (&raw.urdf, &raw.robot) {
            (Some(urdf), _) => {
                let path = dir.map_or_else(|| Path::new(urdf).to_path_buf(), |d| d.join(urdf));
                let text =
                    std::fs::read_to_string(&path).map_err(|source| ProblemError::ReadUrdf {
                        file: label.to_owned(),
                        urdf: path.display().to_string(),
                        source,
                    })?;
                let robot =
                    cella_kinematics::Robot::from_urdf_str(&text, None, raw.tip_link.as_deref())?;
                let meshes = MeshSource {
                    urdf_dir: path.parent().map(Path::to_path_buf),
                    package_path: Vec::new(),
                };
                RobotGeometry::from_urdf(Arc::new(robot), &text, &meshes)?
            }
            (None, Some(name)) => RobotGeometry::library(name)?,
            (None, None) => {
                return Err(invalid(label, "neither \"robot\" nor \"urdf\" is given"));
            }
        };
        let chain = geometry.robot().chain();
        let names: Vec<&str> = chain.joint_names().collect();
        if raw.joint_names != names {
            return Err(invalid(
                label,
                format!(
                    "joint_names {:?} do not match the robot's group joints {:?}",
                    raw.joint_names, names
                ),
            ));
        }
        let check_q = |field: &str, q: &[f64]| -> Result<()> {
            if q.len() != names.len() || q.iter().any(|v| !v.is_finite()) {
                return Err(invalid(
                    label,
                    format!("{field}: need {} finite values, got {q:?}", names.len()),
                ));
            }
            Ok(())
        };
        check_q("start", &raw.start)?;
        if raw.goals.is_empty() {
            return Err(invalid(label, "goals: empty"));
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
                .map_err(|reason| invalid(label, field(&reason)))?;
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
                    padding: 0.0,
                })
                .map_err(|source| ProblemError::Obstacle {
                    file: label.to_owned(),
                    field: field("shape"),
                    source: Box::new(source),
                })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    const PANDA_JOINTS: &str = r#"["panda_joint1", "panda_joint2", "panda_joint3",
        "panda_joint4", "panda_joint5", "panda_joint6", "panda_joint7"]"#;

    fn problem(obstacles: &str, goals: &str) -> String {
        format!(
            r#"{{"robot": "panda", "joint_names": {PANDA_JOINTS}, "obstacles": {obstacles},
                "start": [0, 0, 0, -1.5, 0, 1.5, 0], "goals": {goals}}}"#
        )
    }

    #[test]
    fn errors_name_the_file_and_field_and_keep_their_source() {
        let e = Problem::from_json("{", "p.json", None, "p", None).unwrap_err();
        assert!(matches!(e, ProblemError::Json { .. }), "{e}");
        assert!(e.to_string().starts_with("problem p.json: "), "{e}");
        assert!(e.source().is_some_and(|s| s.is::<serde_json::Error>()));

        let e = Problem::from_json(&problem("[]", "[]"), "p.json", None, "p", None).unwrap_err();
        assert_eq!(e.to_string(), "problem p.json: goals: empty");

        let box_ = r#"{"name": "b", "type": "box", "position": [1, 0, 0], "half_extents": [0.1, 0.1, 0.1]}"#;
        let goal = "[[0, 0, 0, -1.5, 0, 1.5, 0]]";
        let e = Problem::from_json(
            &problem(&format!("[{box_}, {box_}]"), goal),
            "p",
            None,
            "p",
            None,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("problem p: obstacles[1] ('b').shape: "),
            "{e}"
        );
        assert!(e.source().is_some_and(|s| s.is::<Box<CollisionError>>()));

        let e = Problem::from_file(Path::new("/nonexistent/p.json")).unwrap_err();
        assert!(e.source().is_some_and(|s| s.is::<std::io::Error>()));
    }

    #[test]
    fn defaults_fill_the_name_scene_and_base() {
        let goal = "[[0, 0, 0, -1.5, 0, 1.5, 0]]";
        let p = Problem::from_json(&problem("[]", goal), "p", None, "stem", Some("dir")).unwrap();
        assert_eq!((p.name.as_str(), p.scene.as_str()), ("stem", "dir"));
        assert_eq!(p.base, Isometry3::identity());
        assert_eq!(p.joint_names.len(), 7);
    }
}
