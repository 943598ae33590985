//! The cell description file (TOML): robots with base poses, objects with poses, padding.
//! See `cells/demo.toml` for an annotated example.

use crate::{
    CONTROL_PERIODS_MS, CellError, CellRobot, CellSnapshot, DEFAULT_CONTROL_PERIOD_MS, MAX_OBJECTS,
    Result,
};
use cella_collision::{RobotGeometry, Shape, World, WorldObject};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

/// The demo cell served by `cella serve` without `--cell`: a UR5e and a KUKA KR 6 R700 sharing
/// a table and a conveyor.
pub const DEMO_CELL: &str = include_str!("../../../cells/demo.toml");

/// A pose in a cell file: position (m) and fixed-axis roll-pitch-yaw (rad, URDF convention).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePose {
    /// Position, m.
    pub xyz: [f64; 3],
    /// Roll, pitch, yaw, rad.
    #[serde(default)]
    pub rpy: [f64; 3],
}

impl FilePose {
    fn isometry(&self, field: &str) -> Result<Isometry3<f64>> {
        if !self.xyz.iter().chain(&self.rpy).all(|v| v.is_finite()) {
            return Err(CellError::File(format!(
                "{field}: pose values must be finite"
            )));
        }
        Ok(Isometry3::from_parts(
            Translation3::new(self.xyz[0], self.xyz[1], self.xyz[2]),
            UnitQuaternion::from_euler_angles(self.rpy[0], self.rpy[1], self.rpy[2]),
        ))
    }
}

/// A robot entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRobot {
    /// Unique id.
    pub id: String,
    /// Library robot name, or a path to a robot.toml (relative to the cell file).
    pub model: String,
    /// Base pose in the world frame.
    pub base: FilePose,
    /// Initial joint values (default: the `home` named pose, else zeros clamped to limits).
    pub joints: Option<Vec<f64>>,
    /// The object the robot stands on: its links that no joint moves may touch it.
    pub mounted_on: Option<String>,
    /// Control loop period of the robot's executor, ms: 1, 2, 4 or 8 (default 4).
    pub control_period_ms: Option<u32>,
}

/// An object entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileObject {
    /// Unique name.
    pub name: String,
    /// `box`, `sphere`, `cylinder` or `capsule`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Box half extents, m.
    pub half_extents: Option<[f64; 3]>,
    /// Sphere, cylinder, capsule radius, m.
    pub radius: Option<f64>,
    /// Cylinder, capsule full length along local z, m.
    pub length: Option<f64>,
    /// Pose of the object centre in the world frame.
    pub pose: FilePose,
    /// Robot links allowed to touch it (a fixture a robot's tool rests on).
    #[serde(default)]
    pub allowed_contacts: Vec<FileContact>,
    /// Clearance robots keep from it, m, when more than the cell's `padding` (0: the cell's).
    #[serde(default)]
    pub padding: f64,
}

/// A robot link allowed to touch an object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileContact {
    /// Robot id.
    pub robot: String,
    /// Link name of that robot.
    pub link: String,
}

/// A parsed cell file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellFile {
    /// Cell name.
    pub name: String,
    /// Safety padding kept between robots and objects, m.
    #[serde(default)]
    pub padding: f64,
    /// Robots.
    #[serde(default)]
    pub robots: Vec<FileRobot>,
    /// Static objects.
    #[serde(default)]
    pub objects: Vec<FileObject>,
}

impl CellFile {
    /// Parses cell TOML.
    pub fn parse(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| CellError::FileSyntax(e.into()))
    }

    /// Builds the first snapshot (version 1). `dir` resolves relative robot paths.
    pub fn build(&self, dir: Option<&Path>) -> Result<Arc<CellSnapshot>> {
        if self.robots.is_empty() {
            return Err(CellError::File(
                "robots: a cell needs at least one robot".into(),
            ));
        }
        if self.objects.len() > MAX_OBJECTS {
            return Err(CellError::WorldFull { max: MAX_OBJECTS });
        }
        let mut robots: Vec<CellRobot> = Vec::new();
        for (i, r) in self.robots.iter().enumerate() {
            let field = format!("robots[{i}] ('{}')", r.id);
            if r.id.trim().is_empty() || robots.iter().any(|x| x.id == r.id) {
                return Err(CellError::File(format!("{field}.id: empty or duplicate")));
            }
            let geometry = if cella_kinematics::library::names().any(|n| n == r.model) {
                RobotGeometry::library(&r.model)
            } else {
                let path =
                    dir.map_or_else(|| Path::new(&r.model).to_path_buf(), |d| d.join(&r.model));
                let model_error = |source| CellError::FileRobot {
                    field: format!("{field}.model"),
                    source,
                };
                let robot =
                    cella_kinematics::Robot::from_config_file(&path).map_err(model_error)?;
                let config_text =
                    std::fs::read_to_string(&path).map_err(|e| CellError::FileRead {
                        field: format!("{field}.model"),
                        source: e.into(),
                    })?;
                let config = cella_kinematics::RobotConfig::from_toml_str(&config_text, None)
                    .map_err(model_error)?;
                let urdf_path = path
                    .parent()
                    .map_or_else(|| config.urdf.clone().into(), |p| p.join(&config.urdf));
                let urdf =
                    std::fs::read_to_string(&urdf_path).map_err(|e| CellError::FileRead {
                        field: format!("{field}.model: {}", urdf_path.display()),
                        source: e.into(),
                    })?;
                RobotGeometry::from_urdf(
                    Arc::new(robot),
                    &urdf,
                    &cella_collision::MeshSource {
                        urdf_dir: urdf_path.parent().map(Path::to_path_buf),
                        package_path: Vec::new(),
                    },
                )
            }
            .map_err(|source| CellError::FileGeometry {
                field: format!("{field}.model"),
                source: Box::new(source),
            })?;
            let chain = geometry.robot().chain();
            let joints = match &r.joints {
                Some(q) => {
                    chain
                        .check_limits(q)
                        .map_err(|source| CellError::FileRobot {
                            field: format!("{field}.joints"),
                            source,
                        })?;
                    q.clone()
                }
                None => match geometry.robot().named_pose("home") {
                    Ok(q) => q.to_vec(),
                    Err(_) => chain
                        .variables()
                        .iter()
                        .map(|v| 0.0_f64.clamp(v.limits.lower, v.limits.upper))
                        .collect(),
                },
            };
            let control_period_ms = r.control_period_ms.unwrap_or(DEFAULT_CONTROL_PERIOD_MS);
            if !CONTROL_PERIODS_MS.contains(&control_period_ms) {
                return Err(CellError::File(format!(
                    "{field}.control_period_ms: {control_period_ms} ms is not one of {}",
                    crate::control_periods_text()
                )));
            }
            robots.push(CellRobot {
                id: r.id.clone(),
                control_period_ms,
                model: r.model.clone(),
                geometry: Arc::new(geometry),
                base: r.base.isometry(&format!("{field}.base"))?,
                joints,
                mounted_on: r.mounted_on.clone(),
            });
        }
        let mut world = World::new();
        world
            .set_padding(self.padding)
            .map_err(|source| CellError::FileGeometry {
                field: "padding".into(),
                source: Box::new(source),
            })?;
        for (i, o) in self.objects.iter().enumerate() {
            let field = format!("objects[{i}] ('{}')", o.name);
            let shape = object_shape(&field, o)?;
            world
                .add(WorldObject {
                    name: o.name.clone(),
                    shape,
                    pose: o.pose.isometry(&format!("{field}.pose"))?,
                    padding: o.padding,
                })
                .map_err(|source| CellError::FileGeometry {
                    field: field.clone(),
                    source: Box::new(source),
                })?;
        }
        for (i, o) in self.objects.iter().enumerate() {
            for (k, c) in o.allowed_contacts.iter().enumerate() {
                let field = format!("objects[{i}] ('{}').allowed_contacts[{k}]", o.name);
                let robot = robots.iter().find(|r| r.id == c.robot).ok_or_else(|| {
                    CellError::File(format!("{field}.robot: no robot '{}'", c.robot))
                })?;
                robot
                    .geometry
                    .robot()
                    .model()
                    .link_index(&c.link)
                    .map_err(|_| {
                        CellError::File(format!(
                            "{field}.link: robot '{}' has no link '{}'",
                            c.robot, c.link
                        ))
                    })?;
                world
                    .allow_contact_for(&o.name, &c.robot, &c.link)
                    .map_err(|source| CellError::FileGeometry {
                        field: field.clone(),
                        source: Box::new(source),
                    })?;
            }
        }
        for r in &robots {
            if let Some(object) = &r.mounted_on
                && !world.objects().iter().any(|o| &o.name == object)
            {
                return Err(CellError::File(format!(
                    "robots ('{}').mounted_on: no object '{object}' in the cell",
                    r.id
                )));
            }
        }
        Ok(Arc::new(CellSnapshot {
            version: 1,
            robots,
            world,
        }))
    }
}

/// Links with collision geometry that no group joint moves (the base).
pub(crate) fn static_links(geometry: &RobotGeometry) -> Vec<String> {
    let robot = geometry.robot();
    let model = robot.model();
    let group: Vec<usize> = robot
        .chain()
        .variables()
        .iter()
        .filter_map(|v| model.joint_index(&v.name).ok())
        .collect();
    let mut out: Vec<String> = Vec::new();
    for c in geometry.capsules() {
        let moved = model
            .ancestors(c.link)
            .iter()
            .filter_map(|&l| model.links()[l].parent_joint)
            .any(|j| group.contains(&j));
        let name = &model.links()[c.link].name;
        if !moved && !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

fn object_shape(field: &str, o: &FileObject) -> Result<Shape> {
    Shape::from_fields(&o.kind, o.half_extents, o.radius, o.length)
        .map_err(|reason| CellError::File(format!("{field}.{reason}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn errors_of_lower_layers_are_kept_as_sources_with_the_same_message() {
        let e = CellFile::parse("robots = 3").unwrap_err();
        assert!(matches!(e, CellError::FileSyntax(_)), "{e:?}");
        assert!(e.to_string().starts_with("cell file: "), "{e}");
        assert!(e.source().is_some());

        let file = CellFile::parse(
            r#"name = "c"
            [[robots]]
            id = "r"
            model = "ur5e"
            base = { xyz = [0.0, 0.0, 0.0] }
            joints = [9.0, 0.0, 0.0, 0.0, 0.0, 0.0]"#,
        )
        .unwrap();
        let e = file.build(None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cell file: robots[0] ('r').joints: "),
            "{e}"
        );
        assert!(
            e.source()
                .and_then(|s| s.downcast_ref::<cella_kinematics::KinematicsError>())
                .is_some_and(|s| matches!(
                    s,
                    cella_kinematics::KinematicsError::OutOfLimits { .. }
                ))
        );

        let file = CellFile::parse(
            r#"name = "c"
            [[robots]]
            id = "r"
            model = "missing/robot.toml"
            base = { xyz = [0.0, 0.0, 0.0] }"#,
        )
        .unwrap();
        let e = file.build(None).unwrap_err();
        assert!(matches!(e, CellError::FileRobot { .. }), "{e:?}");
        assert!(e.source().is_some());
    }
}
