//! A robot's collision model for the fast path: every link's geometry as capsules (a sphere is
//! a capsule of zero length) in the link frame, plus the allowed-collision matrix and the
//! per-joint lever arms that bound how far any point of the robot moves per radian.

use crate::acm::AllowedCollisions;
use crate::error::{CollisionError, Result};
use crate::mesh;
use cella_kinematics::Robot;
use nalgebra::{Isometry3, Matrix3, Point3, SymmetricEigen, Translation3, UnitQuaternion};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest extent of a robot's geometry, m: every capsule's end points and radius, and the
/// reach of its kinematic tree (its joint offsets and prismatic travel added up), lie within
/// it. Far beyond any robot, and far inside where the f32 geometry of the exact layer and its
/// contact queries stay sound (a URDF box of 1e110 m made parry's EPA panic: found by fuzzing).
pub const MAX_EXTENT: f64 = 1e3;

/// A capsule fixed to a link: the segment `a → b` (link frame, metres) swept by `radius`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkCapsule {
    /// Index of the link in the robot model.
    pub link: usize,
    /// Segment start, link frame, m.
    pub a: Point3<f64>,
    /// Segment end, link frame, m.
    pub b: Point3<f64>,
    /// Radius, m.
    pub radius: f64,
}

/// Where meshes referenced by a URDF are looked up.
#[derive(Debug, Clone, Default)]
pub struct MeshSource {
    /// Directory of the URDF file (relative mesh paths and sibling packages).
    pub urdf_dir: Option<PathBuf>,
    /// Package search path (`--package-path`, `CELLA_PACKAGE_PATH`, `ROS_PACKAGE_PATH`).
    pub package_path: Vec<PathBuf>,
}

/// Collision model of one robot (fast path). Immutable; share it with `Arc`.
#[derive(Debug, Clone)]
pub struct RobotGeometry {
    robot: Arc<Robot>,
    capsules: Vec<LinkCapsule>,
    acm: AllowedCollisions,
    /// Capsule index pairs checked for self-collision.
    self_pairs: Vec<(u16, u16)>,
    /// Per group joint: bound on the displacement (m) of any robot point per unit of motion.
    lever: Vec<f64>,
    /// Exact geometry (convex hulls of the real meshes), when available.
    exact: Option<Arc<crate::exact::ExactLinks>>,
    robot_capsule_count: usize,
}

impl RobotGeometry {
    /// The collision model of a robot from its URDF text: each `<collision>` element of each
    /// link becomes one capsule (spheres and capsules exactly; boxes, cylinders and meshes by a
    /// capsule that contains them), and the exact layer is the convex hull of every mesh and
    /// box (a link with another primitive, or none, is judged on its capsules alone). The
    /// allowed-collision matrix is the robot config's, else computed on that exact geometry
    /// ([`AllowedCollisions::compute`]).
    pub fn from_urdf(robot: Arc<Robot>, urdf_text: &str, meshes: &MeshSource) -> Result<Self> {
        let (capsules, hull_sets) = urdf_geometry(&robot, urdf_text, meshes)?;
        let exact = if hull_sets.is_empty() {
            None
        } else {
            let links = robot.model().links().len();
            Some(Arc::new(crate::exact::ExactLinks::from_point_sets(
                links, &hull_sets,
            )))
        };
        Self::build(robot, capsules, exact, None)
    }

    /// A bundled robot of the library, with its embedded URDF and its exact hulls.
    pub fn library(name: &str) -> Result<Self> {
        let robot = Arc::new(cella_kinematics::library::load(name)?);
        let urdf = cella_kinematics::library::urdf_text(name)?;
        let (capsules, _) = urdf_geometry(&robot, urdf, &MeshSource::default())?;
        let exact = match crate::exact::library_hulls(name) {
            Some(text) => Some(Arc::new(crate::exact::ExactLinks::parse(
                text,
                robot.model(),
            )?)),
            None => None,
        };
        Self::build(robot, capsules, exact, None)
    }

    /// The exact geometry, when the robot has it.
    pub fn exact(&self) -> Option<&Arc<crate::exact::ExactLinks>> {
        self.exact.as_ref()
    }

    /// Number of capsules of the robot itself (attached objects come after).
    pub fn robot_capsules(&self) -> usize {
        self.robot_capsule_count
    }

    /// Builds the model from explicit capsules, without exact geometry; `acm = None` takes
    /// the robot config's matrix, else computes it by sampling (on the capsules: with no
    /// exact layer they are the only geometry there is).
    pub fn from_capsules(
        robot: Arc<Robot>,
        capsules: Vec<LinkCapsule>,
        acm: Option<AllowedCollisions>,
    ) -> Result<Self> {
        Self::build(robot, capsules, None, acm)
    }

    /// Builds the model; `acm = None` takes the robot config's matrix, else computes it on
    /// the exact geometry (capsules for links without it).
    fn build(
        robot: Arc<Robot>,
        capsules: Vec<LinkCapsule>,
        exact: Option<Arc<crate::exact::ExactLinks>>,
        acm: Option<AllowedCollisions>,
    ) -> Result<Self> {
        if capsules.len() > u16::MAX as usize {
            return Err(CollisionError::BadGeometry {
                what: robot.name().to_owned(),
                reason: format!("{} capsules is too many", capsules.len()),
            });
        }
        check_extent(&robot, &capsules)?;
        let lever = lever_arms(&robot, &capsules);
        let mut geometry = Self {
            robot,
            capsules,
            acm: AllowedCollisions::default(),
            self_pairs: Vec::new(),
            lever,
            exact,
            robot_capsule_count: 0,
        };
        geometry.robot_capsule_count = geometry.capsules.len();
        let stored = geometry.robot.allowed_collisions();
        let acm = match acm {
            Some(a) => a,
            None if !stored.is_empty() => {
                let mut a = AllowedCollisions::default();
                for pair in stored {
                    let evidence = match (pair.default_distance, pair.contact_fraction) {
                        (Some(default_distance), Some(contact_fraction)) => {
                            Some(crate::acm::Evidence {
                                default_distance,
                                contact_fraction,
                            })
                        }
                        _ => None,
                    };
                    a.allow_with(&pair.links[0], &pair.links[1], &pair.reason, evidence);
                }
                a
            }
            None => AllowedCollisions::compute(&geometry, 1000, 1),
        };
        geometry.set_acm(acm)?;
        Ok(geometry)
    }

    /// Replaces the allowed-collision matrix (validated: every link must exist).
    pub fn set_acm(&mut self, acm: AllowedCollisions) -> Result<()> {
        let model = self.robot.model();
        for (a, b, _) in acm.pairs() {
            model.link_index(a)?;
            model.link_index(b)?;
        }
        let names: Vec<&str> = self
            .capsules
            .iter()
            .map(|c| model.links()[c.link].name.as_str())
            .collect();
        let mut pairs = Vec::new();
        for i in 0..self.capsules.len() {
            for j in i + 1..self.capsules.len() {
                if self.capsules[i].link != self.capsules[j].link
                    && !acm.allowed(names[i], names[j])
                {
                    pairs.push((i as u16, j as u16));
                }
            }
        }
        self.acm = acm;
        self.self_pairs = pairs;
        Ok(())
    }

    /// The kinematic robot.
    pub fn robot(&self) -> &Arc<Robot> {
        &self.robot
    }

    /// Capsules in link frames.
    pub fn capsules(&self) -> &[LinkCapsule] {
        &self.capsules
    }

    /// The allowed-collision matrix.
    pub fn acm(&self) -> &AllowedCollisions {
        &self.acm
    }

    /// Capsule pairs checked for self-collision.
    pub fn self_pairs(&self) -> &[(u16, u16)] {
        &self.self_pairs
    }

    /// Name of the link of capsule `i`.
    pub fn capsule_link_name(&self, i: usize) -> &str {
        &self.robot.model().links()[self.capsules[i].link].name
    }

    /// Per group joint, a bound on how far (m) any point of the robot geometry moves per
    /// radian (or metre) of that joint, whatever the other joints do.
    pub fn lever_arms(&self) -> &[f64] {
        &self.lever
    }

    /// Adds a capsule fixed to `link` (an attached tool or part), allowed to touch that link
    /// and the links adjacent to it.
    pub fn with_attached(
        &self,
        link: &str,
        capsule_in_link: (Point3<f64>, Point3<f64>, f64),
        allowed_links: &[String],
    ) -> Result<(Self, usize)> {
        let model = self.robot.model();
        let index = model.link_index(link)?;
        let (a, b, r) = capsule_in_link;
        if !(r.is_finite()
            && r > 0.0
            && a.coords
                .iter()
                .chain(b.coords.iter())
                .all(|v| v.is_finite()))
        {
            return Err(CollisionError::BadGeometry {
                what: format!("object attached to '{link}'"),
                reason: "non-finite or non-positive dimensions".into(),
            });
        }
        let mut capsules = self.capsules.clone();
        capsules.push(LinkCapsule {
            link: index,
            a,
            b,
            radius: r,
        });
        let mut acm = self.acm.clone();
        for other in allowed_links {
            model.link_index(other)?;
            acm.allow(link, other, "attached object");
        }
        let new_index = capsules.len() - 1;
        let mut geometry =
            Self::build(self.robot.clone(), capsules, self.exact.clone(), Some(acm))?;
        geometry.robot_capsule_count = self.robot_capsule_count;
        Ok((geometry, new_index))
    }
}

/// Refuses geometry larger than [`MAX_EXTENT`]: a capsule (end points, radius) or the reach
/// of the kinematic tree (joint offsets and prismatic travel, added up).
fn check_extent(robot: &Robot, capsules: &[LinkCapsule]) -> Result<()> {
    let model = robot.model();
    for c in capsules {
        let within =
            c.a.coords
                .iter()
                .chain(c.b.coords.iter())
                .chain(std::iter::once(&c.radius))
                .all(|v| v.abs() <= MAX_EXTENT);
        if !within {
            let link = model.links().get(c.link).map_or("?", |l| l.name.as_str());
            return Err(CollisionError::BadGeometry {
                what: format!("link '{link}' collision"),
                reason: format!("larger than {MAX_EXTENT} m"),
            });
        }
    }
    let reach: f64 = model
        .joints()
        .iter()
        .map(|j| {
            let travel = if matches!(j.kind, cella_kinematics::JointKind::Prismatic) {
                let (lo, hi) = cella_kinematics::chain::finite_range(&j.limits);
                lo.abs().max(hi.abs())
            } else {
                0.0
            };
            j.origin.translation.vector.norm() + travel
        })
        .sum();
    if reach.is_nan() || reach > MAX_EXTENT {
        return Err(CollisionError::BadGeometry {
            what: robot.name().to_owned(),
            reason: format!("its joints reach {reach} m from the root: larger than {MAX_EXTENT} m"),
        });
    }
    Ok(())
}

fn isometry_of(pose: &urdf_rs::Pose) -> Isometry3<f64> {
    let [x, y, z] = pose.xyz.0;
    let [r, p, yw] = pose.rpy.0;
    Isometry3::from_parts(
        Translation3::new(x, y, z),
        UnitQuaternion::from_euler_angles(r, p, yw),
    )
}

/// Capsule (segment in the element's frame + radius) containing a primitive.
fn capsule_of(
    geometry: &urdf_rs::Geometry,
) -> std::result::Result<(Point3<f64>, Point3<f64>, f64), String> {
    match geometry {
        urdf_rs::Geometry::Sphere { radius } => Ok((Point3::origin(), Point3::origin(), *radius)),
        urdf_rs::Geometry::Capsule { radius, length }
        | urdf_rs::Geometry::Cylinder { radius, length } => {
            let h = length / 2.0;
            if !(h.is_finite() && h >= 0.0) {
                return Err(format!("length {length} is not finite and non-negative"));
            }
            Ok((Point3::new(0.0, 0.0, -h), Point3::new(0.0, 0.0, h), *radius))
        }
        urdf_rs::Geometry::Box { size } => {
            let h = [size[0] / 2.0, size[1] / 2.0, size[2] / 2.0];
            if !h.iter().all(|v| v.is_finite() && *v > 0.0) {
                return Err(format!("box size {:?} is not finite and positive", size.0));
            }
            // segment along the longest axis, radius covering the cross-section corners
            let long = (0..3).fold(0, |m, i| if h[i] > h[m] { i } else { m });
            let (o1, o2) = ((long + 1) % 3, (long + 2) % 3);
            let r = (h[o1] * h[o1] + h[o2] * h[o2]).sqrt();
            let half = h[long];
            let mut a = Point3::origin();
            let mut b = Point3::origin();
            a[long] = -half;
            b[long] = half;
            Ok((a, b, r))
        }
        urdf_rs::Geometry::Mesh { filename, .. } => {
            Err(format!("mesh '{filename}' is not a primitive"))
        }
    }
}

/// Hull point sets of a URDF's links: `(link index, points in the link frame)`.
type HullSets = Vec<(usize, Vec<Point3<f64>>)>;

/// The capsules of every `<collision>` element of a URDF, and the point sets whose convex
/// hulls are the exact geometry: one per mesh or box, for links made only of meshes and boxes.
fn urdf_geometry(
    robot: &Robot,
    urdf_text: &str,
    meshes: &MeshSource,
) -> Result<(Vec<LinkCapsule>, HullSets)> {
    let urdf = urdf_rs::read_from_string(urdf_text).map_err(|e| CollisionError::Urdf(e.into()))?;
    let model = robot.model();
    let mut capsules = Vec::new();
    let mut hull_sets = Vec::new();
    for link in &urdf.links {
        let index = model.link_index(&link.name)?;
        let mut link_sets = Vec::new();
        let mut hulls_cover_link = true;
        for c in &link.collision {
            let origin = isometry_of(&c.origin);
            let what = || format!("link '{}' collision", link.name);
            let (a, b, radius) = match &c.geometry {
                urdf_rs::Geometry::Mesh { filename, .. } => {
                    let points = mesh_points(&c.geometry, &link.name, meshes)?;
                    let capsule =
                        bounding_capsule(&points).ok_or_else(|| CollisionError::BadGeometry {
                            what: format!("link '{}' mesh '{filename}'", link.name),
                            reason: "no finite vertex".into(),
                        })?;
                    link_sets.push((index, points.iter().map(|p| origin * p).collect()));
                    capsule
                }
                other => {
                    let capsule =
                        capsule_of(other).map_err(|reason| CollisionError::BadGeometry {
                            what: what(),
                            reason,
                        })?;
                    match other {
                        urdf_rs::Geometry::Box { size } => link_sets.push((
                            index,
                            box_corners(&size.0).iter().map(|p| origin * p).collect(),
                        )),
                        _ => hulls_cover_link = false,
                    }
                    capsule
                }
            };
            if !(radius.is_finite() && radius > 0.0) {
                return Err(CollisionError::BadGeometry {
                    what: what(),
                    reason: format!("radius {radius} is not positive and finite"),
                });
            }
            capsules.push(LinkCapsule {
                link: index,
                a: origin * a,
                b: origin * b,
                radius,
            });
        }
        if hulls_cover_link {
            hull_sets.extend(link_sets);
        }
    }
    if capsules.is_empty() {
        return Err(CollisionError::BadGeometry {
            what: robot.name().to_owned(),
            reason: "no link has collision geometry".into(),
        });
    }
    Ok((capsules, hull_sets))
}

/// The eight corners of a box of full `size` (m), centred at the origin.
fn box_corners(size: &[f64; 3]) -> [Point3<f64>; 8] {
    let h = [size[0] / 2.0, size[1] / 2.0, size[2] / 2.0];
    std::array::from_fn(|k| {
        Point3::new(
            if k & 4 != 0 { h[0] } else { -h[0] },
            if k & 2 != 0 { h[1] } else { -h[1] },
            if k & 1 != 0 { h[2] } else { -h[2] },
        )
    })
}

/// The vertices of a mesh element (element frame, scaled, m).
fn mesh_points(
    geometry: &urdf_rs::Geometry,
    link: &str,
    meshes: &MeshSource,
) -> Result<Vec<Point3<f64>>> {
    let urdf_rs::Geometry::Mesh { filename, scale } = geometry else {
        return Err(CollisionError::BadGeometry {
            what: link.to_owned(),
            reason: "not a mesh".into(),
        });
    };
    let dir = meshes
        .urdf_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let mut search = meshes.package_path.clone();
    search.extend(mesh::package_path_from_env());
    let mesh_err = |source| CollisionError::Mesh {
        link: link.to_owned(),
        source,
    };
    let path = mesh::resolve_mesh_uri(filename, Path::new(&dir), &search).map_err(mesh_err)?;
    let trimesh = mesh::load_mesh(&path).map_err(mesh_err)?;
    let s = scale.as_ref().map_or([1.0; 3], |v| v.0);
    Ok(trimesh
        .vertices
        .iter()
        .map(|v| Point3::new(v.x * s[0], v.y * s[1], v.z * s[2]))
        .collect())
}

/// A capsule containing all `points`: principal axis, extent from the projections, radius the
/// largest distance to the segment (exact containment by construction).
pub fn bounding_capsule(points: &[Point3<f64>]) -> Option<(Point3<f64>, Point3<f64>, f64)> {
    if points.is_empty()
        || points
            .iter()
            .any(|p| !p.coords.iter().all(|v| v.is_finite()))
    {
        return None;
    }
    let n = points.len() as f64;
    let mean = points
        .iter()
        .fold(nalgebra::Vector3::zeros(), |acc, p| acc + p.coords)
        / n;
    let mut cov = Matrix3::zeros();
    for p in points {
        let d = p.coords - mean;
        cov += d * d.transpose();
    }
    let eig = SymmetricEigen::new(cov / n);
    let k = eig.eigenvalues.imax();
    let axis = eig.eigenvectors.column(k).into_owned();
    let axis = if axis.norm() > 0.0 {
        axis.normalize()
    } else {
        nalgebra::Vector3::z()
    };
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut radial: f64 = 0.0;
    for p in points {
        let d = p.coords - mean;
        let t = d.dot(&axis);
        lo = lo.min(t);
        hi = hi.max(t);
        radial = radial.max((d - axis * t).norm());
    }
    // shrink the segment by the radial extent (caps are round), keeping containment exact:
    // the final radius is measured against the final segment
    let shrink = (radial.min((hi - lo) / 2.0)).max(0.0);
    let a = Point3::from(mean + axis * (lo + shrink));
    let b = Point3::from(mean + axis * (hi - shrink));
    let r = points
        .iter()
        .map(|p| crate::shape::point_segment_distance(p, &a, &b))
        .fold(0.0, f64::max);
    Some((a, b, r * (1.0 + 1e-9) + 1e-9))
}

/// Per group joint i: the largest distance from joint i's origin to any point of the geometry
/// it moves, bounded along the chain by the triangle inequality (valid for every
/// configuration). Prismatic joints move points by exactly their displacement: lever 1.
fn lever_arms(robot: &Robot, capsules: &[LinkCapsule]) -> Vec<f64> {
    let model = robot.model();
    let chain = robot.chain();
    let joints = model.joints();
    // extent of each link's geometry around its own frame origin
    let mut extent = vec![0.0_f64; model.links().len()];
    for c in capsules {
        let e = c.a.coords.norm().max(c.b.coords.norm()) + c.radius;
        extent[c.link] = extent[c.link].max(e);
    }
    // reach[l] = max distance from link l's frame origin to any geometry in its subtree,
    // for any joint values: children are computed before parents (reverse topological order
    // by repeated relaxation; trees are small)
    let mut reach = extent.clone();
    for _ in 0..model.links().len() {
        let mut changed = false;
        for j in joints {
            let r = j.origin.translation.vector.norm() + reach[j.child];
            // prismatic travel adds its largest magnitude
            let travel = if j.kind == cella_kinematics::JointKind::Prismatic {
                j.limits.lower.abs().max(j.limits.upper.abs())
            } else {
                0.0
            };
            if r + travel > reach[j.parent] + 1e-15 {
                reach[j.parent] = r + travel;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    chain
        .variables()
        .iter()
        .map(|v| {
            let joint = model.joint_index(&v.name).ok().map(|i| &joints[i]);
            match joint {
                Some(j) if j.kind == cella_kinematics::JointKind::Prismatic => 1.0,
                Some(j) => reach[j.child],
                None => 0.0,
            }
        })
        .collect()
}
