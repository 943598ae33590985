//! What the page draws, as the JSON it reads: robots (their link tree with joint origins and
//! axes, so the page poses them itself; visual meshes; the collision capsules and hulls cella
//! checks), the world's objects and attached parts, and the mesh table they share.

use crate::meshcode;
use crate::visuals::RobotVisuals;
use cella_cell::CellSnapshot;
use cella_collision::{MeshSource, RobotGeometry, Shape, World};
use cella_kinematics::JointKind;
use nalgebra::Isometry3;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// Why a scene could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    /// The robot's model cannot be posed (its state does not fit it).
    #[error("robot '{robot}': {source}")]
    Kinematics {
        /// The robot id.
        robot: String,
        /// The kinematics error.
        #[source]
        source: cella_kinematics::KinematicsError,
    },
}

/// A pose: position (m) and unit quaternion `[x, y, z, w]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pose {
    /// Position, m.
    pub p: [f64; 3],
    /// Rotation, `[x, y, z, w]`.
    pub q: [f64; 4],
}

impl From<&Isometry3<f64>> for Pose {
    fn from(iso: &Isometry3<f64>) -> Self {
        let t = iso.translation.vector;
        let q = iso.rotation.quaternion();
        Self {
            p: [t.x, t.y, t.z],
            q: [q.i, q.j, q.k, q.w],
        }
    }
}

/// A joint of the link tree. Its value is `mult × q[var] + offset` when it follows a group
/// joint `var` (itself, or the joint it mimics), else the constant `value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JointData {
    /// URDF name.
    pub name: String,
    /// Parent link index.
    pub parent: usize,
    /// Child link index.
    pub child: usize,
    /// Joint frame in the parent link frame.
    pub origin: Pose,
    /// Unit axis in the joint frame.
    pub axis: [f64; 3],
    /// `fixed`, `revolute` (and continuous) or `prismatic`.
    pub kind: &'static str,
    /// The group joint it follows.
    pub var: Option<usize>,
    /// Multiplier of the group joint value.
    pub mult: f64,
    /// Offset added, rad or m.
    pub offset: f64,
    /// The held value when it follows no group joint.
    pub value: f64,
}

/// The planning group: joint names and limits (non-finite limits are `null`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupData {
    /// Group joint names.
    pub names: Vec<String>,
    /// Lower position limits, rad or m.
    pub lower: Vec<Option<f64>>,
    /// Upper position limits.
    pub upper: Vec<Option<f64>>,
    /// Velocity limits, per s.
    pub velocity: Vec<Option<f64>>,
    /// Acceleration limits, per s².
    pub acceleration: Vec<Option<f64>>,
    /// Jerk limits, per s³.
    pub jerk: Vec<Option<f64>>,
}

/// A visual mesh part: a link's mesh of one colour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartData {
    /// Link index.
    pub link: usize,
    /// `#rrggbb` (sRGB).
    pub color: String,
    /// Index into [`Scene::meshes`].
    pub mesh: usize,
}

/// A collision capsule in its link frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapsuleData {
    /// Link index.
    pub link: usize,
    /// Segment start, link frame, m.
    pub a: [f64; 3],
    /// Segment end.
    pub b: [f64; 3],
    /// Radius, m.
    pub r: f64,
}

/// A convex hull of the exact layer, in its link frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HullData {
    /// Link index.
    pub link: usize,
    /// Index into [`Scene::meshes`].
    pub mesh: usize,
}

/// The TCP: a link and the pose in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpData {
    /// Link index.
    pub link: usize,
    /// TCP pose in that link's frame.
    pub offset: Pose,
    /// The TCP frame's name.
    pub name: String,
}

/// A robot of the scene.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RobotData {
    /// Id in the cell (or the problem's robot name).
    pub id: String,
    /// Model (library name or description).
    pub model: String,
    /// Root link pose in the world frame.
    pub base: Pose,
    /// Link names.
    pub links: Vec<String>,
    /// Root link index.
    pub root: usize,
    /// Joints.
    pub joints: Vec<JointData>,
    /// The planning group.
    pub group: GroupData,
    /// The TCP.
    pub tcp: TcpData,
    /// Visual mesh parts (empty: the page draws the hulls or capsules instead).
    pub visuals: Vec<PartData>,
    /// Collision capsules (the fast layer).
    pub capsules: Vec<CapsuleData>,
    /// Convex hulls (the exact layer).
    pub hulls: Vec<HullData>,
    /// Group joint values the robot is shown at without a motion.
    pub q: Vec<f64>,
    /// What of its visual meshes could not be shown.
    pub notes: Vec<String>,
}

/// A primitive shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ShapeData {
    /// A box.
    Box {
        /// Half extents, m.
        half_extents: [f64; 3],
    },
    /// A sphere.
    Sphere {
        /// Radius, m.
        radius: f64,
    },
    /// A cylinder along z.
    Cylinder {
        /// Radius, m.
        radius: f64,
        /// Full length, m.
        length: f64,
    },
    /// A capsule along z.
    Capsule {
        /// Radius, m.
        radius: f64,
        /// Segment length, m.
        length: f64,
    },
}

impl From<&Shape> for ShapeData {
    fn from(s: &Shape) -> Self {
        match *s {
            Shape::Box { half_extents } => Self::Box { half_extents },
            Shape::Sphere { radius } => Self::Sphere { radius },
            Shape::Cylinder {
                radius,
                half_length,
            } => Self::Cylinder {
                radius,
                length: 2.0 * half_length,
            },
            Shape::Capsule {
                radius,
                half_length,
            } => Self::Capsule {
                radius,
                length: 2.0 * half_length,
            },
        }
    }
}

/// A world object, or a part attached to a robot link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectData {
    /// Name.
    pub name: String,
    /// Shape in the object frame.
    pub shape: ShapeData,
    /// Pose in the world frame, or in the link frame when attached.
    pub pose: Pose,
    /// The robot id carrying it (empty: the only robot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robot: Option<String>,
    /// The link carrying it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The world's objects and attached parts, and its padding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorldData {
    /// Objects and attached parts.
    pub objects: Vec<ObjectData>,
    /// Clearance kept from objects and other robots, m.
    pub padding: f64,
}

impl From<&World> for WorldData {
    fn from(world: &World) -> Self {
        let mut objects: Vec<ObjectData> = world
            .objects()
            .iter()
            .map(|o| ObjectData {
                name: o.name.clone(),
                shape: (&o.shape).into(),
                pose: (&o.pose).into(),
                robot: None,
                link: None,
            })
            .collect();
        objects.extend(world.attached().iter().map(|a| ObjectData {
            name: a.name.clone(),
            shape: (&a.shape).into(),
            pose: (&a.pose_in_link).into(),
            robot: Some(a.robot.clone()),
            link: Some(a.link.clone()),
        }));
        Self {
            objects,
            padding: world.padding(),
        }
    }
}

/// A scene: robots, world and the meshes they use (encoded, base64).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scene {
    /// Robots.
    pub robots: Vec<RobotData>,
    /// The world.
    pub world: WorldData,
    /// Encoded meshes ([`crate::meshcode`]), base64.
    pub meshes: Vec<String>,
}

/// Builds a scene; robots of the same model share their meshes.
#[derive(Debug, Default)]
pub struct SceneBuilder {
    robots: Vec<RobotData>,
    meshes: Vec<String>,
    /// Per model: (visual parts, hulls) already in the mesh table.
    shared: HashMap<String, (Vec<PartData>, Vec<HullData>)>,
}

/// Most triangles a hull is drawn with.
const HULL_TRIANGLES: usize = 300;
/// Largest deviation of a drawn hull from the hull cella checks, m.
pub const HULL_TOLERANCE: f64 = 0.0005;

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

impl SceneBuilder {
    /// An empty scene.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a robot at `base` (world pose of its root link) shown at group joints `q`, with
    /// its visual meshes; returns its index.
    pub fn add_robot(
        &mut self,
        id: &str,
        model: &str,
        geometry: &RobotGeometry,
        base: &Isometry3<f64>,
        q: &[f64],
        visuals: &RobotVisuals,
    ) -> Result<usize, SceneError> {
        let robot = geometry.robot();
        let m = robot.model();
        let chain = robot.chain();
        let kin = |source| SceneError::Kinematics {
            robot: id.to_owned(),
            source,
        };
        let mut full = vec![0.0; m.variables().len()];
        robot.model_state(q, &mut full).map_err(kin)?;
        // model variable -> group joint
        let mut group_of = vec![None; m.variables().len()];
        for (k, v) in chain.variables().iter().enumerate() {
            if let Some(slot) = group_of.get_mut(v.model_variable) {
                *slot = Some(k);
            }
        }
        let joints = m
            .joints()
            .iter()
            .enumerate()
            .map(|(ji, j)| {
                let (var, mult, offset) = match (j.variable, j.mimic) {
                    (Some(v), _) => match group_of.get(v).copied().flatten() {
                        Some(k) => (Some(k), 1.0, 0.0),
                        None => (None, 1.0, 0.0),
                    },
                    (None, Some(mimic)) => {
                        let src = m.joints()[mimic.source].variable;
                        match src.and_then(|v| group_of.get(v).copied().flatten()) {
                            Some(k) => (Some(k), mimic.multiplier, mimic.offset),
                            None => (None, 1.0, 0.0),
                        }
                    }
                    _ => (None, 1.0, 0.0),
                };
                JointData {
                    name: j.name.clone(),
                    parent: j.parent,
                    child: j.child,
                    origin: (&j.origin).into(),
                    axis: [j.axis.x, j.axis.y, j.axis.z],
                    kind: match j.kind {
                        JointKind::Fixed => "fixed",
                        JointKind::Revolute | JointKind::Continuous => "revolute",
                        JointKind::Prismatic => "prismatic",
                    },
                    var,
                    mult,
                    offset,
                    value: if var.is_some() {
                        0.0
                    } else {
                        m.joint_value(ji, &full)
                    },
                }
            })
            .collect();
        let limits = cella_trajectory::Limits::of_robot(robot).ok();
        let n = chain.dof();
        let group = GroupData {
            names: chain.joint_names().map(str::to_owned).collect(),
            lower: chain
                .variables()
                .iter()
                .map(|v| finite(v.limits.lower))
                .collect(),
            upper: chain
                .variables()
                .iter()
                .map(|v| finite(v.limits.upper))
                .collect(),
            velocity: (0..n)
                .map(|i| limits.as_ref().and_then(|l| finite(l.velocity[i])))
                .collect(),
            acceleration: (0..n)
                .map(|i| limits.as_ref().and_then(|l| finite(l.acceleration[i])))
                .collect(),
            jerk: (0..n)
                .map(|i| {
                    robot
                        .dynamic_limits()
                        .get(i)
                        .and_then(|d| d.jerk)
                        .and_then(finite)
                })
                .collect(),
        };
        // the TCP: the configured tool frame (a link), else the chain's tip, with the offset
        // that makes the link pose agree with the chain's FK
        let tcp_name = robot.tool_frame().unwrap_or(chain.tip()).to_owned();
        let tcp_link = m
            .link_index(&tcp_name)
            .or_else(|_| m.link_index(chain.tip()))
            .map_err(kin)?;
        let base_link = m.link_index(chain.base()).map_err(kin)?;
        let mut poses = vec![Isometry3::identity(); m.links().len()];
        m.link_poses(&full, &mut poses).map_err(kin)?;
        let fk = robot.fk(q).map_err(kin)?;
        let offset = poses[tcp_link].inverse() * poses[base_link] * chain.mount().inverse() * fk;
        let tcp = TcpData {
            link: tcp_link,
            offset: (&offset).into(),
            name: tcp_name,
        };
        let capsules = geometry.capsules()[..geometry.robot_capsules()]
            .iter()
            .map(|c| CapsuleData {
                link: c.link,
                a: [c.a.x, c.a.y, c.a.z],
                b: [c.b.x, c.b.y, c.b.z],
                r: c.radius,
            })
            .collect();
        let (parts, hulls) = self.meshes_of(model, geometry, visuals);
        self.robots.push(RobotData {
            id: id.to_owned(),
            model: model.to_owned(),
            base: base.into(),
            links: m.links().iter().map(|l| l.name.clone()).collect(),
            root: m.root(),
            joints,
            group,
            tcp,
            visuals: parts,
            capsules,
            hulls,
            q: q.to_vec(),
            notes: visuals.notes.clone(),
        });
        Ok(self.robots.len() - 1)
    }

    /// The visual parts and hulls of a model, added to the mesh table once.
    fn meshes_of(
        &mut self,
        model: &str,
        geometry: &RobotGeometry,
        visuals: &RobotVisuals,
    ) -> (Vec<PartData>, Vec<HullData>) {
        if let Some(done) = self.shared.get(model) {
            return done.clone();
        }
        let m = geometry.robot().model();
        let mut parts = Vec::new();
        for p in &visuals.parts {
            let Ok(link) = m.link_index(&p.link) else {
                continue;
            };
            self.meshes.push(meshcode::base64(&p.mesh));
            parts.push(PartData {
                link,
                color: format!("#{:02x}{:02x}{:02x}", p.rgb[0], p.rgb[1], p.rgb[2]),
                mesh: self.meshes.len() - 1,
            });
        }
        let mut hulls = Vec::new();
        if let Some(exact) = geometry.exact() {
            for link in 0..m.links().len() {
                for hull in exact.of(link) {
                    let Some(poly) = hull.shape().as_convex_polyhedron() else {
                        continue;
                    };
                    let (points, triangles) = poly.to_trimesh();
                    let vertices: Vec<[f64; 3]> = points
                        .iter()
                        .map(|p| [f64::from(p.x), f64::from(p.y), f64::from(p.z)])
                        .collect();
                    // drawn within half a millimetre of the hull cella checks
                    let welded = crate::decimate::weld(&vertices, &triangles, 1e-7);
                    let mesh = crate::decimate::decimate(&welded, HULL_TRIANGLES, HULL_TOLERANCE);
                    self.meshes.push(meshcode::base64(&meshcode::encode(&mesh)));
                    hulls.push(HullData {
                        link,
                        mesh: self.meshes.len() - 1,
                    });
                }
            }
        }
        self.shared
            .insert(model.to_owned(), (parts.clone(), hulls.clone()));
        (parts, hulls)
    }

    /// The scene with `world`.
    pub fn finish(self, world: &World) -> Scene {
        Scene {
            robots: self.robots,
            world: world.into(),
            meshes: self.meshes,
        }
    }
}

/// The visual meshes of a robot: those of its URDF when it has one (`urdf`: the description's
/// text and where its meshes are), else the embedded ones of the bundled robot `model`, else
/// none (the page then draws the collision hulls). Reading failures are notes, never errors:
/// the page still shows the robot.
pub fn visuals_of(
    model: &str,
    geometry: &RobotGeometry,
    urdf: Option<(&str, &MeshSource)>,
) -> RobotVisuals {
    let none = |why: String| RobotVisuals {
        parts: Vec::new(),
        notes: vec![format!("{why}: the collision hulls are drawn instead")],
    };
    match urdf {
        Some((text, meshes)) => crate::visuals::from_urdf(
            text,
            meshes,
            geometry.robot().model(),
            &crate::visuals::VisualOptions::default(),
        )
        .unwrap_or_else(|e| none(format!("visual meshes: {e}"))),
        None => crate::visuals::bundled(model).unwrap_or_else(|| none("no visual meshes".into())),
    }
}

/// The URDF of a cell robot's model that is a `robot.toml` path (relative to `dir`), with the
/// directory its meshes resolve from; `None` for a bundled robot or an unreadable file.
pub fn cell_robot_urdf(model: &str, dir: Option<&Path>) -> Option<(String, MeshSource)> {
    if cella_kinematics::library::names().any(|n| n == model) {
        return None;
    }
    let path = dir.map_or_else(|| Path::new(model).to_path_buf(), |d| d.join(model));
    let text = std::fs::read_to_string(&path).ok()?;
    let config = cella_kinematics::RobotConfig::from_toml_str(&text, None).ok()?;
    let urdf_path = path
        .parent()
        .map_or_else(|| config.urdf.clone().into(), |p| p.join(&config.urdf));
    let urdf = std::fs::read_to_string(&urdf_path).ok()?;
    Some((
        urdf,
        MeshSource {
            urdf_dir: urdf_path.parent().map(Path::to_path_buf),
            package_path: Vec::new(),
        },
    ))
}

/// The scene of a cell: every robot at its joints with its visual meshes (`dir` resolves
/// robot files as the cell file does), and the world.
pub fn cell_scene(cell: &CellSnapshot, dir: Option<&Path>) -> Result<Scene, SceneError> {
    let mut builder = SceneBuilder::new();
    let mut visuals: HashMap<String, RobotVisuals> = HashMap::new();
    for r in &cell.robots {
        let v = visuals.entry(r.model.clone()).or_insert_with(|| {
            let urdf = cell_robot_urdf(&r.model, dir);
            visuals_of(
                &r.model,
                &r.geometry,
                urdf.as_ref().map(|(t, m)| (t.as_str(), m)),
            )
        });
        builder.add_robot(&r.id, &r.model, &r.geometry, &r.base, &r.joints, v)?;
    }
    Ok(builder.finish(&cell.world))
}
