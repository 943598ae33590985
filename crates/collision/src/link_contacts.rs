//! What a robot's real collision geometry says about each pair of its links: the signed
//! distance at the default pose and how often (and how deeply) the pair is in contact over
//! random states. The allowed-collision matrix is decided on this survey
//! ([`crate::AllowedCollisions::compute`]), and `cella robot check` reports it.
//!
//! The geometry is the exact layer's: the convex hulls of the real collision meshes (and
//! boxes) of a link, the convention of mesh checkers (pybullet, MoveIt/FCL). A link without
//! hulls (collision primitives only) is judged on its capsules, which are exact for spheres
//! and capsules. The capsules of the fast path are never used for a link that has hulls:
//! they are conservative covers, and a cover that touches where the meshes do not must not
//! be the reason a pair goes unchecked.

use crate::exact::{EXACT_MARGIN, parry_capsule, pose_of};
use crate::robot_geometry::RobotGeometry;
use cella_kinematics::{Rng, RobotModel};
use nalgebra::{Isometry3, Point3};
use parry3d::shape::SharedShape;

/// Contact evidence for one link pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairContact {
    /// Model index of the first link (the smaller index).
    pub a: usize,
    /// Model index of the second link.
    pub b: usize,
    /// Movable joints on the tree path between the two links (0 or 1: adjacent).
    pub movable_joints: usize,
    /// Signed distance (m) between the pair's geometry at the default pose; negative: the
    /// penetration depth.
    pub default_distance: f64,
    /// Random states in which the pair is in contact (closer than [`EXACT_MARGIN`]).
    pub contacts: usize,
    /// Largest penetration depth (m, positive) seen in those states; 0 when none penetrated.
    pub deepest: f64,
    /// True when both links are judged on their mesh hulls (false: on capsules).
    pub exact: bool,
}

impl PairContact {
    /// True when the pair is in contact at the default pose (closer than the exact layer's
    /// certification margin, [`EXACT_MARGIN`]).
    pub fn touches_at_default(&self) -> bool {
        self.default_distance < EXACT_MARGIN
    }

    /// Fraction of the sampled states in which the pair is in contact.
    pub fn contact_fraction(&self, samples: usize) -> f64 {
        if samples == 0 {
            0.0
        } else {
            self.contacts as f64 / samples as f64
        }
    }
}

/// The survey of every link pair of a robot (links with collision geometry only).
#[derive(Debug, Clone, PartialEq)]
pub struct ContactSurvey {
    /// One entry per unordered pair of distinct links with geometry, in index order.
    pub pairs: Vec<PairContact>,
    /// Number of random states sampled.
    pub samples: usize,
    /// The default pose (group joint order, rad or m): the `home` named pose, else every
    /// joint at the middle of its range (a robot's zero pose can be folded into itself: the
    /// Panda's lies against its joint-6 limit with the hand in link 5).
    pub default_pose: Vec<f64>,
    /// `"home"` or `"mid-range"`: where the default pose came from.
    pub default_pose_name: &'static str,
}

/// A link's geometry for the survey: shapes in the link frame and a bounding sphere.
struct LinkShapes {
    link: usize,
    shapes: Vec<(SharedShape, Isometry3<f64>)>,
    center: Point3<f64>,
    radius: f64,
    exact: bool,
}

fn link_shapes(geometry: &RobotGeometry) -> Vec<LinkShapes> {
    let caps = &geometry.capsules()[..geometry.robot_capsules()];
    let mut links: Vec<usize> = caps.iter().map(|c| c.link).collect();
    links.sort_unstable();
    links.dedup();
    links
        .into_iter()
        .map(|link| {
            let hulls = geometry.exact().map_or(&[][..], |e| e.of(link));
            let (shapes, points): (Vec<_>, Vec<Point3<f64>>) = if hulls.is_empty() {
                let mut points = Vec::new();
                let shapes = caps
                    .iter()
                    .filter(|c| c.link == link)
                    .map(|c| {
                        // the capsule's reach in every axis direction bounds it
                        for p in [c.a, c.b] {
                            for d in [-1.0, 1.0] {
                                for axis in 0..3 {
                                    let mut q = p;
                                    q[axis] += d * c.radius;
                                    points.push(q);
                                }
                            }
                        }
                        (parry_capsule(&c.a, &c.b, c.radius), Isometry3::identity())
                    })
                    .collect();
                (shapes, points)
            } else {
                let mut points = Vec::new();
                let shapes = hulls
                    .iter()
                    .map(|h| {
                        if let Some(poly) = h.shape().as_convex_polyhedron() {
                            points.extend(poly.points().iter().map(|v| {
                                Point3::new(f64::from(v.x), f64::from(v.y), f64::from(v.z))
                            }));
                        }
                        (h.shape().clone(), Isometry3::identity())
                    })
                    .collect();
                (shapes, points)
            };
            let (center, radius) = bounding_sphere(&points);
            LinkShapes {
                link,
                shapes,
                center,
                radius,
                exact: !hulls.is_empty(),
            }
        })
        .collect()
}

/// A sphere containing `points` (box centre, farthest point; 1 µm slack for the f32 hulls).
fn bounding_sphere(points: &[Point3<f64>]) -> (Point3<f64>, f64) {
    let mut lo = nalgebra::Vector3::repeat(f64::INFINITY);
    let mut hi = nalgebra::Vector3::repeat(f64::NEG_INFINITY);
    for p in points {
        lo = lo.inf(&p.coords);
        hi = hi.sup(&p.coords);
    }
    if points.is_empty() {
        return (Point3::origin(), 0.0);
    }
    let center = Point3::from((lo + hi) / 2.0);
    let radius = points
        .iter()
        .map(|p| (p - center).norm())
        .fold(0.0, f64::max);
    (center, radius + 1e-6)
}

/// Signed distance (m) between two placed links: the smallest over their shape pairs,
/// negative when they penetrate (the depth). `limit`: pairs whose bounding spheres are
/// farther apart than this are not measured (their distance is reported as the sphere gap).
fn signed_distance(
    x: &LinkShapes,
    px: &Isometry3<f64>,
    y: &LinkShapes,
    py: &Isometry3<f64>,
    limit: f64,
) -> f64 {
    let gap = ((px * x.center) - (py * y.center)).norm() - x.radius - y.radius;
    if gap > limit {
        return gap;
    }
    let mut best = f64::INFINITY;
    for (sx, ox) in &x.shapes {
        let pose_x = pose_of(&(px * ox));
        for (sy, oy) in &y.shapes {
            let pose_y = pose_of(&(py * oy));
            // a prediction far beyond any link: parry always answers with the signed distance
            if let Ok(Some(c)) =
                parry3d::query::contact(&pose_x, sx.as_ref(), &pose_y, sy.as_ref(), 1e3)
            {
                best = best.min(f64::from(c.dist));
            }
        }
    }
    best
}

/// Number of movable joints on the tree path between two links.
pub fn movable_joints_between(model: &RobotModel, a: usize, b: usize) -> usize {
    let chain_a = model.ancestors(a);
    let chain_b = model.ancestors(b);
    let common = chain_a
        .iter()
        .find(|l| chain_b.contains(l))
        .copied()
        .unwrap_or(model.root());
    let count = |chain: &[usize]| {
        chain
            .iter()
            .take_while(|&&l| l != common)
            .filter(|&&l| {
                model.links()[l]
                    .parent_joint
                    .is_some_and(|j| model.joints()[j].kind.is_movable())
            })
            .count()
    };
    count(&chain_a) + count(&chain_b)
}

/// Surveys every link pair of `geometry` (attached objects excluded): the signed distance at
/// the default pose, and contacts over `samples` random states (seeded, deterministic).
pub fn survey(geometry: &RobotGeometry, samples: usize, seed: u64) -> ContactSurvey {
    let robot = geometry.robot();
    let model = robot.model();
    let chain = robot.chain();
    let links = link_shapes(geometry);
    let mut pairs = Vec::new();
    for (i, x) in links.iter().enumerate() {
        for y in &links[i + 1..] {
            pairs.push(PairContact {
                a: x.link,
                b: y.link,
                movable_joints: movable_joints_between(model, x.link, y.link),
                default_distance: f64::INFINITY,
                contacts: 0,
                deepest: 0.0,
                exact: x.exact && y.exact,
            });
        }
    }
    let (default_pose, default_pose_name) = match robot.named_pose("home") {
        Ok(home) => (home.to_vec(), "home"),
        Err(_) => (
            chain
                .variables()
                .iter()
                .map(|v| {
                    let (lo, hi) = cella_kinematics::chain::finite_range(&v.limits);
                    0.5 * (lo + hi)
                })
                .collect(),
            "mid-range",
        ),
    };
    let mut full = vec![0.0; model.variables().len()];
    let mut poses = vec![Isometry3::identity(); model.links().len()];
    let mut place = |q: &[f64], poses: &mut [Isometry3<f64>]| {
        robot.model_state(q, &mut full).is_ok() && model.link_poses(&full, poses).is_ok()
    };
    let index_pairs: Vec<(usize, usize)> = (0..links.len())
        .flat_map(|i| (i + 1..links.len()).map(move |j| (i, j)))
        .collect();
    if place(&default_pose, &mut poses) {
        for (p, &(i, j)) in pairs.iter_mut().zip(&index_pairs) {
            let (x, y) = (&links[i], &links[j]);
            p.default_distance = signed_distance(x, &poses[x.link], y, &poses[y.link], 1e3);
        }
    }
    let mut rng = Rng::new(seed);
    let mut q = vec![0.0; chain.dof()];
    for _ in 0..samples {
        chain.random_configuration(&mut rng, &mut q);
        if !place(&q, &mut poses) {
            continue;
        }
        for (p, &(i, j)) in pairs.iter_mut().zip(&index_pairs) {
            let (x, y) = (&links[i], &links[j]);
            let d = signed_distance(x, &poses[x.link], y, &poses[y.link], EXACT_MARGIN);
            if d < EXACT_MARGIN {
                p.contacts += 1;
                p.deepest = p.deepest.max(-d);
            }
        }
    }
    ContactSurvey {
        pairs,
        samples,
        default_pose,
        default_pose_name,
    }
}
