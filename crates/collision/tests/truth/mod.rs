//! The independent collision truth of the bundled robots, shared by the truth tests
//! (`crates/collision/tests/self_collision_truth.rs`, `crates/planning/tests/planned_truth.rs`,
//! which includes this file by `#[path]`).
//!
//! It is rebuilt at test time from the manufacturer descriptions in `../shared/robot-data`
//! (never from the checker's precomputed `robots/*/hulls.txt`):
//!
//! - geometry: one convex hull (parry3d) per `<mesh>` or `<box>` collision element of each
//!   link of the manufacturer URDF, placed by the element's `<origin>` (the convention of
//!   pybullet and MoveIt/FCL); primitive self-collision links (`panda_linkN_sc`) are ignored;
//!   world obstacles are boxes, each the hull of its 8 corners;
//! - placement: forward kinematics of the `k` crate on the manufacturer URDF, not cella's model
//!   (`self_collision_truth` checks that both agree, so a frame mismatch cannot hide); the
//!   robot base is placed in the world by [`Truth::set_base`];
//! - contact: an exact separating-axis test in `f64` (face normals of both hulls, and the cross
//!   products of the edge pairs that form faces of the Minkowski difference, found on the Gauss
//!   maps). It needs no GJK: every "separated" verdict is confirmed by projecting all vertices
//!   of both hulls on the axis. Bounding spheres and parry's `query::contact` (f32 GJK/EPA) only
//!   pre-filter pairs farther apart than [`PREFILTER`] and give the depth for the messages.
//!
//! Self pairs ([`self_pairs`]): links that both have hulls and have at least two movable joints
//! between them on the tree (pairs with fewer legitimately touch at their joint). Pairs the
//! checker's allowed-collision matrix skips are verified before they are excluded: `default`
//! pairs must touch at the `home` pose, `always` pairs in at least 90 % of 1000 random states.
//!
//! Everything panics (the tests fail, never skip) when `../shared/robot-data` is missing.
// Each including test crate uses a part of the truth (only the planning test has obstacles).
#![allow(dead_code)]

use cella_collision::RobotGeometry;
use cella_collision::mesh::{load_mesh, resolve_mesh_uri};
use cella_kinematics::{Rng, Robot};
use nalgebra::{Isometry3, Matrix3, Point3, Quaternion, Translation3, UnitQuaternion, Vector3};
use parry3d::shape::ConvexPolyhedron;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub type V3 = Vector3<f64>;

/// Bundled robot -> manufacturer directory and URDF in `../shared/robot-data`.
pub const ROBOTS: &[(&str, &str, &str)] = &[
    ("ur5e", "ur5e", "ur5e.urdf"),
    (
        "kuka_kr6_r700",
        "kuka_kr6_r700_sixx",
        "kuka_kr6r700sixx.urdf",
    ),
    ("abb_irb2400", "abb_irb2400", "abb_irb2400.urdf"),
    (
        "fanuc_lrmate200id",
        "fanuc_lrmate200id",
        "fanuc_lrmate200id.urdf",
    ),
    ("staubli_tx2_60", "staubli_tx2_60", "staubli_tx2_60.urdf"),
    ("panda", "franka_panda", "panda_hand.urdf"),
];

/// Hull pairs farther apart than this (m, by bounding spheres or parry's f32 query) are free;
/// nearer ones are decided by the exact separating-axis test.
pub const PREFILTER: f32 = 1e-3;
/// Gauss-map arcs longer than this (chord, unit sphere) skip the direction grid.
pub const BIG_ARC: f64 = 0.3;
/// Cells per axis of the direction grid over [-1.25, 1.25]^3.
pub const GRID: usize = 16;

pub fn robot_data() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/robot-data");
    assert!(
        dir.join("README.md").is_file(),
        "{} is missing: the self-collision truth is computed from the manufacturer meshes \
         there (CI provides them); this test fails rather than skips without them",
        dir.display()
    );
    dir
}

/// Runs `check(index, robot)` for every bundled robot, on as many threads as there are cores,
/// and returns the results in the library's robot order. Every robot must have manufacturer
/// data (checked first), so a new robot cannot go unchecked.
pub fn for_every_robot<R: Send>(check: impl Fn(usize, &'static str) -> R + Sync) -> Vec<R> {
    let names: Vec<&'static str> = cella_kinematics::library::names().collect();
    for n in &names {
        manufacturer(n);
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(names.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    let result = check(i, name);
                    results.lock().unwrap().push((i, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    assert_eq!(results.len(), names.len(), "a robot's check panicked");
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

pub fn manufacturer(name: &str) -> (PathBuf, PathBuf) {
    let (_, dir, file) = ROBOTS
        .iter()
        .find(|(n, _, _)| *n == name)
        .unwrap_or_else(|| panic!("no manufacturer URDF mapped for bundled robot '{name}'"));
    let dir = robot_data().join(dir);
    let urdf = dir.join(file);
    (dir, urdf)
}

// ---------------------------------------------------------------------------------------------
// Truth geometry

/// An edge of a hull with its Gauss-map arc (the normals of its two faces).
pub struct Edge {
    /// A vertex of the edge.
    v: usize,
    /// Unit direction.
    dir: V3,
    /// Outward normals of the two adjacent faces, and `n1 × n0`.
    n0: V3,
    n1: V3,
    cross: V3,
    /// Centre (unit) and chord radius of a ball on the unit sphere containing the arc.
    mid: V3,
    r: f64,
    /// Degenerate arc (a zero-area face or opposite normals): always tested.
    wild: bool,
}

/// The convex hull of one collision element, in its link frame, with everything the exact
/// test needs precomputed in `f64`.
pub struct Hull {
    pub link: String,
    /// The parry shape (f32): pre-filter and depth for messages only.
    shape: ConvexPolyhedron,
    pub verts: Vec<V3>,
    /// Vertex adjacency (CSR) for support hill-climbing.
    adj_start: Vec<u32>,
    adj: Vec<u32>,
    /// Distinct outward unit face normals, each with one vertex of the face.
    faces: Vec<(V3, usize)>,
    edges: Vec<Edge>,
    centroid: V3,
    sphere: (V3, f64),
    /// Arcs of radius <= BIG_ARC by grid cell (CSR); the longer ones in `big`.
    grid_start: Vec<u32>,
    grid: Vec<u32>,
    big: Vec<u32>,
}

pub fn cells(c: f64, r: f64) -> std::ops::RangeInclusive<usize> {
    let f = |x: f64| (((x + 1.25) / 2.5 * GRID as f64).floor().max(0.0) as usize).min(GRID - 1);
    f(c - r)..=f(c + r)
}

pub fn cell_ids(c: &V3, r: f64) -> impl Iterator<Item = usize> {
    let (xs, ys, zs) = (cells(c.x, r), cells(c.y, r), cells(c.z, r));
    xs.flat_map(move |x| {
        let zs = zs.clone();
        ys.clone()
            .flat_map(move |y| zs.clone().map(move |z| (x * GRID + y) * GRID + z))
    })
}

impl Hull {
    /// The hull of `points` (link frame, m).
    pub fn new(link: &str, points: &[V3]) -> Self {
        let p32: Vec<parry3d::math::Vector> = points
            .iter()
            .map(|p| parry3d::math::Vector::new(p.x as f32, p.y as f32, p.z as f32))
            .collect();
        // the hull's vertices are input points: map them back to the mesh's f64 values
        let exact: HashMap<[u32; 3], V3> = p32
            .iter()
            .zip(points)
            .map(|(v, p)| ([v.x.to_bits(), v.y.to_bits(), v.z.to_bits()], *p))
            .collect();
        // what `ConvexPolyhedron::from_convex_hull` does, keeping the triangulation
        let (hv, tris) = parry3d::transformation::try_convex_hull(&p32)
            .unwrap_or_else(|e| panic!("convex hull of a '{link}' collision element: {e:?}"));
        let shape = ConvexPolyhedron::from_convex_mesh(hv.clone(), &tris)
            .unwrap_or_else(|| panic!("parry polyhedron of a '{link}' collision element"));
        let verts: Vec<V3> = hv
            .iter()
            .map(|v| exact[&[v.x.to_bits(), v.y.to_bits(), v.z.to_bits()]])
            .collect();
        let centroid = verts.iter().sum::<V3>() / verts.len() as f64;
        let (lo, hi) = verts
            .iter()
            .fold((verts[0], verts[0]), |(lo, hi), v| (lo.inf(v), hi.sup(v)));
        let centre = (lo + hi) / 2.0;
        let radius = verts
            .iter()
            .map(|v| (v - centre).norm())
            .fold(0.0, f64::max);

        // outward triangle normals (None: degenerate)
        let normals: Vec<Option<V3>> = tris
            .iter()
            .map(|t| {
                let [a, b, c] = t.map(|i| verts[i as usize]);
                let n = (b - a).cross(&(c - a));
                let len = n.norm();
                (len > 1e-14).then(|| {
                    let n = n / len;
                    if n.dot(&(a - centroid)) < 0.0 { -n } else { n }
                })
            })
            .collect();
        let mut faces = Vec::new();
        let mut seen = HashMap::new();
        for (t, n) in tris.iter().zip(&normals) {
            if let Some(n) = n {
                let key = [n.x, n.y, n.z].map(|x| (x * 1e10).round() as i64);
                if seen.insert(key, ()).is_none() {
                    faces.push((*n, t[0] as usize));
                }
            }
        }

        // edges: the two triangles of each
        let mut by_edge: HashMap<(u32, u32), Vec<usize>> = HashMap::new();
        for (ti, t) in tris.iter().enumerate() {
            for k in 0..3 {
                let (a, b) = (t[k], t[(k + 1) % 3]);
                by_edge.entry((a.min(b), a.max(b))).or_default().push(ti);
            }
        }
        let mut neighbours = vec![Vec::new(); verts.len()];
        let mut edges = Vec::new();
        for (&(a, b), ts) in &by_edge {
            assert_eq!(ts.len(), 2, "hull of '{link}' is not a closed manifold");
            neighbours[a as usize].push(b);
            neighbours[b as usize].push(a);
            let (a, b) = (a as usize, b as usize);
            let dir = (verts[b] - verts[a]).normalize();
            let edge = match (normals[ts[0]], normals[ts[1]]) {
                (Some(n0), Some(n1)) => {
                    let s = n0.cross(&n1).norm();
                    if s < 1e-10 && n0.dot(&n1) > 0.0 {
                        continue; // between coplanar triangles: not an edge of the polytope
                    }
                    let m = n0 + n1;
                    let theta = s.atan2(n0.dot(&n1));
                    Edge {
                        v: a,
                        dir,
                        n0,
                        n1,
                        cross: n1.cross(&n0),
                        mid: m / m.norm().max(1e-300),
                        r: 2.0 * (theta / 4.0).sin() + 1e-9,
                        wild: m.norm() < 1e-6,
                    }
                }
                _ => Edge {
                    v: a,
                    dir,
                    n0: V3::zeros(),
                    n1: V3::zeros(),
                    cross: V3::zeros(),
                    mid: V3::zeros(),
                    r: 2.0,
                    wild: true,
                },
            };
            edges.push(edge);
        }
        let mut adj_start = vec![0u32];
        let mut adj = Vec::new();
        for n in &neighbours {
            adj.extend_from_slice(n);
            adj_start.push(adj.len() as u32);
        }

        // direction grid of the short arcs
        let mut buckets = vec![Vec::new(); GRID * GRID * GRID];
        let mut big = Vec::new();
        for (i, e) in edges.iter().enumerate() {
            if e.wild || e.r > BIG_ARC {
                big.push(i as u32);
            } else {
                for c in cell_ids(&e.mid, e.r) {
                    buckets[c].push(i as u32);
                }
            }
        }
        let mut grid_start = vec![0u32];
        let mut grid = Vec::new();
        for b in &buckets {
            grid.extend_from_slice(b);
            grid_start.push(grid.len() as u32);
        }
        Self {
            link: link.to_owned(),
            shape,
            verts,
            adj_start,
            adj,
            faces,
            edges,
            centroid,
            sphere: (centre, radius),
            grid_start,
            grid,
            big,
        }
    }

    pub fn neighbours(&self, v: usize) -> &[u32] {
        &self.adj[self.adj_start[v] as usize..self.adj_start[v + 1] as usize]
    }

    /// A vertex minimising `u · v`, by hill-climbing from `start` (exact on a convex polytope
    /// up to rounding; callers only trust a "separated" outcome after a full projection).
    pub fn climb_min(&self, u: &V3, mut v: usize) -> (usize, f64) {
        let mut best = u.dot(&self.verts[v]);
        loop {
            let mut moved = false;
            for &w in self.neighbours(v) {
                let d = u.dot(&self.verts[w as usize]);
                if d < best {
                    (best, v, moved) = (d, w as usize, true);
                }
            }
            if !moved {
                return (v, best);
            }
        }
    }

    /// Projection interval of all vertices on `u`.
    pub fn extent(&self, u: &V3) -> (f64, f64) {
        self.verts
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                let x = u.dot(v);
                (lo.min(x), hi.max(x))
            })
    }
}

/// Exact separating-axis test in `f64`: do hulls `a` and `b` (pose of `b` in `a`'s frame:
/// `rel`) intersect? `seed` (a frame, any sign) is tried first. Candidate axes: face normals of
/// both, and the cross products of the edge pairs whose Gauss-map arcs cross (the edge-edge
/// faces of the Minkowski difference). Hill-climbed supports only bound the gap from above;
/// an axis is taken as separating after projecting every vertex of both hulls on it.
pub fn sat_intersects(
    a: &Hull,
    b: &Hull,
    rel: &Isometry3<f64>,
    seed: &V3,
    cand: &mut Vec<u32>,
) -> bool {
    let r: Matrix3<f64> = rel.rotation.to_rotation_matrix().into_inner();
    let rt = r.transpose();
    let t = rel.translation.vector;
    let separated = |u: &V3| {
        let (a0, a1) = a.extent(u);
        let (b0, b1) = b.extent(&(rt * u));
        let off = u.dot(&t);
        a1 < b0 + off || b1 + off < a0
    };
    let cb = r * b.centroid + t;
    for u in [*seed, cb - a.centroid] {
        if u.norm() > 1e-12 && separated(&u.normalize()) {
            return false;
        }
    }
    // faces of a: b entirely in front of the face plane?
    let mut wb = 0;
    for (n, v) in &a.faces {
        let (w, min_b) = b.climb_min(&(rt * n), wb);
        wb = w;
        if min_b + n.dot(&t) > n.dot(&a.verts[*v]) && separated(n) {
            return false;
        }
    }
    // faces of b: a entirely in front?
    let mut wa = 0;
    for (m, v) in &b.faces {
        let n = r * m;
        let (w, min_a) = a.climb_min(&n, wa);
        wa = w;
        if min_a > m.dot(&b.verts[*v]) + n.dot(&t) && separated(&n) {
            return false;
        }
    }
    // edge pairs forming faces of the Minkowski difference a - b (arcs of a and of -b cross)
    const TOL: f64 = 1e-14;
    for eb in &b.edges {
        let db = r * eb.dir;
        let pb = r * b.verts[eb.v] + t;
        let (c, d, dxc, mb) = (-(r * eb.n0), -(r * eb.n1), r * eb.cross, -(r * eb.mid));
        cand.clear();
        if eb.wild || eb.r > BIG_ARC {
            cand.extend(0..a.edges.len() as u32);
        } else {
            cand.extend_from_slice(&a.big);
            for cell in cell_ids(&mb, eb.r) {
                let (s, e) = (a.grid_start[cell], a.grid_start[cell + 1]);
                cand.extend_from_slice(&a.grid[s as usize..e as usize]);
            }
        }
        for &i in cand.iter() {
            let ea = &a.edges[i as usize];
            let u = ea.dir.cross(&db);
            let len = u.norm();
            if len < 1e-12 {
                continue; // parallel edges: covered by the face normals
            }
            let mut u = u / len;
            if ea.wild || eb.wild {
                if separated(&u) {
                    return false;
                }
                continue;
            }
            if (ea.mid - mb).norm() > ea.r + eb.r {
                continue;
            }
            let (cba, dba) = (c.dot(&ea.cross), d.dot(&ea.cross));
            let (adc, bdc) = (ea.n0.dot(&dxc), ea.n1.dot(&dxc));
            if !(cba * dba < TOL && adc * bdc < TOL && cba * bdc > -TOL) {
                continue;
            }
            let pa = a.verts[ea.v];
            if u.dot(&(pa - a.centroid)) < 0.0 {
                u = -u;
            }
            if u.dot(&(pb - pa)) > 0.0 && separated(&u) {
                return false;
            }
        }
    }
    true
}

pub fn pose32(iso: &Isometry3<f64>) -> parry3d::math::Pose {
    let t = iso.translation.vector;
    let q = iso.rotation.quaternion();
    parry3d::math::Pose::from_parts(
        parry3d::math::Vector::new(t.x as f32, t.y as f32, t.z as f32),
        parry3d::math::Rotation::from_xyzw(q.i as f32, q.j as f32, q.k as f32, q.w as f32),
    )
}

/// Counters of the truth computations (for the report).
#[derive(Default, Clone, Copy)]
pub struct Stats {
    pub parry_calls: usize,
    pub sat_calls: usize,
    /// SAT and parry disagree by more than 0.1 mm (information only).
    pub disagreements: usize,
}

/// Truth contact of two placed hulls: `Some(depth)` (parry's signed distance, m, negative when
/// penetrating) when the exact test finds them intersecting, `None` when they are apart.
pub fn hull_contact(
    a: &Hull,
    b: &Hull,
    xa: &Isometry3<f64>,
    xb: &Isometry3<f64>,
    stats: &mut Stats,
    cand: &mut Vec<u32>,
) -> Option<f64> {
    let (ca, cb) = (xa * Point3::from(a.sphere.0), xb * Point3::from(b.sphere.0));
    if (ca - cb).norm() > a.sphere.1 + b.sphere.1 + f64::from(PREFILTER) {
        return None;
    }
    let rel = xa.inv_mul(xb);
    stats.parry_calls += 1;
    let c = parry3d::query::contact(
        &parry3d::math::Pose::IDENTITY,
        &a.shape,
        &pose32(&rel),
        &b.shape,
        PREFILTER,
    )
    .unwrap()?;
    stats.sat_calls += 1;
    let seed = V3::new(c.normal1.x.into(), c.normal1.y.into(), c.normal1.z.into());
    let hit = sat_intersects(a, b, &rel, &seed, cand);
    if hit != (c.dist <= 0.0) && c.dist.abs() > 1e-4 {
        stats.disagreements += 1;
    }
    hit.then_some(f64::from(c.dist))
}

// ---------------------------------------------------------------------------------------------
// Truth model of one robot: hulls and k's forward kinematics on the manufacturer URDF

pub fn origin(o: &urdf_rs::Pose) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::new(o.xyz[0], o.xyz[1], o.xyz[2]),
        UnitQuaternion::from_euler_angles(o.rpy[0], o.rpy[1], o.rpy[2]),
    )
}

/// Names of the links with truth geometry (a `<mesh>` or `<box>` collision element).
pub fn hull_links(urdf: &urdf_rs::Robot) -> Vec<String> {
    urdf.links
        .iter()
        .filter(|l| {
            l.collision.iter().any(|c| {
                matches!(
                    c.geometry,
                    urdf_rs::Geometry::Mesh { .. } | urdf_rs::Geometry::Box { .. }
                )
            })
        })
        .map(|l| l.name.clone())
        .collect()
}

pub fn hulls_of(urdf: &urdf_rs::Robot, dir: &Path) -> Vec<Hull> {
    let mut hulls = Vec::new();
    for link in &urdf.links {
        for c in &link.collision {
            let points: Vec<Point3<f64>> = match &c.geometry {
                urdf_rs::Geometry::Mesh { filename, scale } => {
                    let path = resolve_mesh_uri(filename, dir, &[dir.to_path_buf()])
                        .unwrap_or_else(|e| panic!("{}: {e}", link.name));
                    let s = scale.as_ref().map_or([1.0; 3], |s| [s[0], s[1], s[2]]);
                    load_mesh(&path)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                        .vertices
                        .iter()
                        .map(|p| Point3::new(s[0] * p.x, s[1] * p.y, s[2] * p.z))
                        .collect()
                }
                urdf_rs::Geometry::Box { size } => (0..8)
                    .map(|k| {
                        let h = |i: usize, bit: usize| {
                            if k & bit != 0 {
                                size[i] / 2.0
                            } else {
                                -size[i] / 2.0
                            }
                        };
                        Point3::new(h(0, 4), h(1, 2), h(2, 1))
                    })
                    .collect(),
                _ => continue, // primitives (e.g. the Panda's `_sc` capsules): not truth
            };
            let o = origin(&c.origin);
            let in_link: Vec<V3> = points.iter().map(|p| (o * p).coords).collect();
            hulls.push(Hull::new(&link.name, &in_link));
        }
    }
    hulls
}

/// Number of movable joints on the tree path between two links of the URDF.
pub fn movable_between(urdf: &urdf_rs::Robot, a: &str, b: &str) -> usize {
    let parent: HashMap<&str, (&str, bool)> = urdf
        .joints
        .iter()
        .map(|j| {
            let movable = !matches!(j.joint_type, urdf_rs::JointType::Fixed);
            (j.child.link.as_str(), (j.parent.link.as_str(), movable))
        })
        .collect();
    let path = |start: &str| {
        let mut out = vec![(start.to_owned(), 0usize)];
        let mut n = 0;
        while let Some(&(p, m)) = parent.get(out[out.len() - 1].0.as_str()) {
            n += usize::from(m);
            out.push((p.to_owned(), n));
        }
        out
    };
    let (pa, pb) = (path(a), path(b));
    pa.iter()
        .find_map(|(l, na)| pb.iter().find(|(m, _)| m == l).map(|(_, nb)| na + nb))
        .unwrap_or_else(|| panic!("links '{a}' and '{b}' are not in one tree"))
}

/// `k`'s forward kinematics on the manufacturer URDF, with the group joints set by name.
pub struct KModel {
    chain: k::Chain<f64>,
    group: Vec<k::Node<f64>>,
}

pub fn k_iso(x: &k::Isometry3<f64>) -> Isometry3<f64> {
    let t = &x.translation.vector;
    let q = &x.rotation.quaternion().coords; // x, y, z, w
    Isometry3::from_parts(
        Translation3::new(t[0], t[1], t[2]),
        UnitQuaternion::new_normalize(Quaternion::new(q[3], q[0], q[1], q[2])),
    )
}

impl KModel {
    pub fn new(robot: &Robot, urdf_path: &Path, urdf: &urdf_rs::Robot) -> Self {
        let chain = k::Chain::<f64>::from_urdf_file(urdf_path)
            .unwrap_or_else(|e| panic!("k cannot read {}: {e:?}", urdf_path.display()));
        let group: Vec<k::Node<f64>> = robot
            .chain()
            .variables()
            .iter()
            .map(|v| {
                chain
                    .find(&v.name)
                    .unwrap_or_else(|| panic!("group joint '{}' not in the URDF", v.name))
                    .clone()
            })
            .collect();
        // joints outside the group: robot.toml's fixed_joints (Panda fingers 0.04 m), else 0
        let fixed = cella_kinematics::library::config(robot.name())
            .unwrap()
            .fixed_joints;
        for j in &urdf.joints {
            let in_group = robot.chain().variables().iter().any(|v| v.name == j.name);
            if in_group || j.mimic.is_some() || matches!(j.joint_type, urdf_rs::JointType::Fixed) {
                continue;
            }
            let value = fixed.get(&j.name).copied().unwrap_or(0.0);
            chain
                .find(&j.name)
                .unwrap()
                .set_joint_position(value)
                .unwrap_or_else(|e| panic!("{} = {value}: {e:?}", j.name));
        }
        Self { chain, group }
    }

    /// Sets the group joints and updates the link poses.
    pub fn set(&self, q: &[f64]) {
        for (node, &v) in self.group.iter().zip(q) {
            node.set_joint_position(v)
                .unwrap_or_else(|e| panic!("k refuses {v} for {}: {e:?}", node.joint().name));
        }
        self.chain.update_transforms();
    }

    pub fn link_pose(&self, link: &str) -> Isometry3<f64> {
        let node = self
            .chain
            .find_link(link)
            .unwrap_or_else(|| panic!("k has no link '{link}'"));
        k_iso(&node.world_transform().unwrap())
    }
}

pub struct Truth {
    pub name: String,
    pub urdf: urdf_rs::Robot,
    k: KModel,
    pub hulls: Vec<Hull>,
    /// Index of each hull's link in `links`.
    pub hull_link: Vec<usize>,
    pub links: Vec<String>,
    /// Pose of each link of `links` in the robot's base frame, at the placed state.
    pub link_poses: Vec<Isometry3<f64>>,
    /// Pose of the robot's base frame in the world (identity unless set).
    pub base: Isometry3<f64>,
    /// World obstacles (hulls in their own frame, named by `Hull::link`) and their world poses.
    pub obstacles: Vec<(Hull, Isometry3<f64>)>,
    pub stats: Stats,
    cand: Vec<u32>,
}

impl Truth {
    pub fn new(robot: &Robot) -> Self {
        let (dir, path) = manufacturer(robot.name());
        let urdf = urdf_rs::read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let hulls = hulls_of(&urdf, &dir);
        let links = hull_links(&urdf);
        let hull_link = hulls
            .iter()
            .map(|h| links.iter().position(|l| *l == h.link).unwrap())
            .collect();
        let k = KModel::new(robot, &path, &urdf);
        Self {
            name: robot.name().to_owned(),
            link_poses: vec![Isometry3::identity(); links.len()],
            urdf,
            k,
            hulls,
            hull_link,
            links,
            base: Isometry3::identity(),
            obstacles: Vec::new(),
            stats: Stats::default(),
            cand: Vec::new(),
        }
    }

    /// Places the robot's base frame in the world (obstacles are in the world frame).
    pub fn set_base(&mut self, base: Isometry3<f64>) {
        self.base = base;
    }

    /// Adds a box obstacle: `half_extents` (m) along the axes of its frame, centred at `pose`
    /// (world frame). Its hull is the convex hull of its 8 corners.
    pub fn add_box(&mut self, name: &str, half_extents: [f64; 3], pose: Isometry3<f64>) {
        let corners: Vec<V3> = (0..8)
            .map(|k| {
                let h = |i: usize, bit: usize| {
                    if k & bit != 0 {
                        half_extents[i]
                    } else {
                        -half_extents[i]
                    }
                };
                V3::new(h(0, 4), h(1, 2), h(2, 1))
            })
            .collect();
        self.obstacles.push((Hull::new(name, &corners), pose));
    }

    /// Removes every obstacle.
    pub fn clear_obstacles(&mut self) {
        self.obstacles.clear();
    }

    /// Sets the group joints to `q` and places every link with hulls (base frame).
    pub fn place(&mut self, q: &[f64]) {
        self.k.set(q);
        for (pose, link) in self.link_poses.iter_mut().zip(&self.links) {
            *pose = self.k.link_pose(link);
        }
    }

    /// Truth contact of hulls `i` and `j` at the placed state (see [`hull_contact`]).
    pub fn contact(&mut self, i: usize, j: usize) -> Option<f64> {
        let (a, b) = (&self.hulls[i], &self.hulls[j]);
        let (xa, xb) = (
            &self.link_poses[self.hull_link[i]],
            &self.link_poses[self.hull_link[j]],
        );
        // the hull with more edges holds the grid the other one queries
        if a.edges.len() >= b.edges.len() {
            hull_contact(a, b, xa, xb, &mut self.stats, &mut self.cand)
        } else {
            hull_contact(b, a, xb, xa, &mut self.stats, &mut self.cand)
        }
    }

    pub fn hulls_of_link(&self, link: &str) -> Vec<usize> {
        (0..self.hulls.len())
            .filter(|&h| self.hulls[h].link == link)
            .collect()
    }

    /// Deepest truth contact between any hull of `la` and any of `lb`.
    pub fn link_contact(&mut self, la: &str, lb: &str) -> Option<f64> {
        let (ha, hb) = (self.hulls_of_link(la), self.hulls_of_link(lb));
        let mut best: Option<f64> = None;
        for &i in &ha {
            for &j in &hb {
                if let Some(d) = self.contact(i, j) {
                    best = Some(best.map_or(d, |b| b.min(d)));
                }
            }
        }
        best
    }

    /// Truth contact of robot hull `i` (at the placed state, moved by the base pose) and
    /// obstacle `o` (see [`hull_contact`]).
    pub fn obstacle_contact(&mut self, i: usize, o: usize) -> Option<f64> {
        let xa = self.base * self.link_poses[self.hull_link[i]];
        let (b, xb) = (&self.obstacles[o].0, &self.obstacles[o].1);
        let a = &self.hulls[i];
        if a.edges.len() >= b.edges.len() {
            hull_contact(a, b, &xa, xb, &mut self.stats, &mut self.cand)
        } else {
            hull_contact(b, a, xb, &xa, &mut self.stats, &mut self.cand)
        }
    }

    /// Per group joint, a bound on how far (m) any truth hull vertex moves per radian (or
    /// metre) of that joint, for every configuration: the farthest vertex of the subtree
    /// below the joint from the joint's origin, bounded along the URDF tree by the triangle
    /// inequality (prismatic joints: 1, plus their travel in the reach of the links above).
    pub fn lever_arms(&self, robot: &Robot) -> Vec<f64> {
        let index: HashMap<&str, usize> = self
            .urdf
            .links
            .iter()
            .enumerate()
            .map(|(i, l)| (l.name.as_str(), i))
            .collect();
        let mut reach = vec![0.0_f64; self.urdf.links.len()];
        for h in &self.hulls {
            let far = h.verts.iter().map(|v| v.norm()).fold(0.0, f64::max);
            let l = index[h.link.as_str()];
            reach[l] = reach[l].max(far);
        }
        // relax until stable (trees are small): reach[parent] >= |origin| + travel + reach[child]
        for _ in 0..self.urdf.links.len() {
            let mut changed = false;
            for j in &self.urdf.joints {
                let travel = match j.joint_type {
                    urdf_rs::JointType::Prismatic => j.limit.lower.abs().max(j.limit.upper.abs()),
                    _ => 0.0,
                };
                let o = &j.origin.xyz;
                let r =
                    V3::new(o[0], o[1], o[2]).norm() + travel + reach[index[j.child.link.as_str()]];
                let p = index[j.parent.link.as_str()];
                if r > reach[p] + 1e-15 {
                    reach[p] = r;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        robot
            .chain()
            .variables()
            .iter()
            .map(|v| {
                let j = self
                    .urdf
                    .joints
                    .iter()
                    .find(|j| j.name == v.name)
                    .unwrap_or_else(|| panic!("group joint '{}' not in the URDF", v.name));
                match j.joint_type {
                    urdf_rs::JointType::Prismatic => 1.0,
                    _ => reach[index[j.child.link.as_str()]],
                }
            })
            .collect()
    }

    /// parry's distance between the nearest hulls of two links (m, 0 when touching).
    pub fn link_distance(&self, la: &str, lb: &str) -> f64 {
        let mut best = f64::INFINITY;
        for i in self.hulls_of_link(la) {
            for j in self.hulls_of_link(lb) {
                let (xa, xb) = (
                    &self.link_poses[self.hull_link[i]],
                    &self.link_poses[self.hull_link[j]],
                );
                let d = parry3d::query::distance(
                    &pose32(xa),
                    &self.hulls[i].shape,
                    &pose32(xb),
                    &self.hulls[j].shape,
                )
                .unwrap();
                best = best.min(f64::from(d.distance));
            }
        }
        best
    }
}

pub fn fmt_q(q: &[f64]) -> String {
    let v: Vec<String> = q.iter().map(|x| format!("{x:.6}")).collect();
    format!("[{}]", v.join(", "))
}

// ---------------------------------------------------------------------------------------------
// Self pairs

/// The self pairs the truth checks on one robot, and what choosing them found.
pub struct SelfPairs {
    /// Hull index pairs `(i, j)`, `i < j`, of checked link pairs.
    pub pairs: Vec<(usize, usize)>,
    /// Number of checked link pairs.
    pub link_pairs: usize,
    /// Allowances of the checker's ACM the truth confirmed (so excluded), as `a-b`.
    pub verified: Vec<String>,
    /// Allowances the truth does not confirm (their pairs stay checked).
    pub problems: Vec<String>,
}

/// The self pairs of `truth`'s robot: links that both have hulls, at least two movable joints
/// apart, except the non-adjacent pairs the checker's ACM (of `geometry`) allows and the truth
/// confirms (`default`: touching at `home`; `always`: touching in >= 90 % of 1000 random
/// states drawn with a seed derived from `index`).
pub fn self_pairs(
    truth: &mut Truth,
    robot: &Robot,
    geometry: &RobotGeometry,
    index: usize,
) -> SelfPairs {
    let name = robot.name();
    let mut problems = Vec::new();
    // candidate link pairs: both with hulls, >= 2 movable joints apart
    let nl = truth.links.len();
    let mut checked: Vec<Vec<bool>> = (0..nl)
        .map(|i| {
            (0..nl)
                .map(|j| {
                    i != j && movable_between(&truth.urdf, &truth.links[i], &truth.links[j]) >= 2
                })
                .collect()
        })
        .collect();

    // allowances of the checker's ACM for non-adjacent pairs: verify, then exclude
    let home = robot.named_pose("home").unwrap().to_vec();
    let mut verified = Vec::new();
    let acm: Vec<(String, String, String)> = geometry
        .acm()
        .pairs()
        .map(|(a, b, r)| (a.to_owned(), b.to_owned(), r.to_owned()))
        .collect();
    for (la, lb, reason) in &acm {
        let known = |l: &str| truth.urdf.links.iter().any(|x| x.name == l);
        if !known(la) || !known(lb) {
            problems.push(format!(
                "ACM pair {la}-{lb} ('{reason}') names a link absent from the manufacturer URDF"
            ));
            continue;
        }
        let joints = movable_between(&truth.urdf, la, lb);
        if joints < 2 {
            continue; // adjacent: not truth-checked anyway
        }
        let (ia, ib) = (
            truth.links.iter().position(|l| l == la),
            truth.links.iter().position(|l| l == lb),
        );
        let (Some(ia), Some(ib)) = (ia, ib) else {
            eprintln!(
                "{name}: ACM pair {la}-{lb} ('{reason}'): a link without truth hulls, \
                 not truth-checked"
            );
            continue;
        };
        let ok = match reason.as_str() {
            "default" => {
                truth.place(&home);
                match truth.link_contact(la, lb) {
                    Some(d) => {
                        eprintln!("{name}: {la}-{lb} 'default' verified (depth {d:.5} m at home)");
                        true
                    }
                    None => {
                        let d = truth.link_distance(la, lb);
                        problems.push(format!(
                            "ACM allows {la}-{lb} ({joints} movable joints apart) as 'default', \
                             but their mesh hulls are {d:.4} m apart at the home pose"
                        ));
                        false
                    }
                }
            }
            "always" => {
                let mut rng = Rng::new(0xA1_0000 + index as u64);
                let mut q = vec![0.0; robot.chain().dof()];
                let mut hits = 0;
                for _ in 0..1000 {
                    robot.chain().random_configuration(&mut rng, &mut q);
                    truth.place(&q);
                    hits += usize::from(truth.link_contact(la, lb).is_some());
                }
                let f = hits as f64 / 1000.0;
                if f >= 0.9 {
                    eprintln!(
                        "{name}: {la}-{lb} 'always' verified ({:.1} % of 1000 states)",
                        100.0 * f
                    );
                    true
                } else {
                    problems.push(format!(
                        "ACM allows {la}-{lb} ({joints} movable joints apart) as 'always', but \
                         their mesh hulls touch in only {:.1} % of 1000 random states (< 90 %)",
                        100.0 * f
                    ));
                    false
                }
            }
            other => {
                problems.push(format!(
                    "ACM allows {la}-{lb} ({joints} movable joints apart) with reason '{other}': \
                     only 'default' and 'always' may allow a non-adjacent pair"
                ));
                false
            }
        };
        if ok {
            checked[ia][ib] = false;
            checked[ib][ia] = false;
            verified.push(format!("{la}-{lb}"));
        }
    }
    let pairs: Vec<(usize, usize)> = (0..truth.hulls.len())
        .flat_map(|i| (i + 1..truth.hulls.len()).map(move |j| (i, j)))
        .filter(|&(i, j)| checked[truth.hull_link[i]][truth.hull_link[j]])
        .collect();
    let link_pairs = (0..nl)
        .map(|i| (i + 1..nl).filter(|&j| checked[i][j]).count())
        .sum::<usize>();
    SelfPairs {
        pairs,
        link_pairs,
        verified,
        problems,
    }
}
