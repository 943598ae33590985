//! The library's collision primitives conservatively cover the real link meshes: every vertex of
//! every manufacturer collision mesh (in the link frame) lies inside the union of our primitives
//! for the same link. Prints the tightest slack per link (how close the nearest vertex comes to
//! the primitive surface).
#![allow(clippy::unwrap_used)] // a panic in a test is a failure with a message

use cella_collision::mesh::{load_mesh, resolve_mesh_uri};
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};

// the manufacturer description of each bundled robot, and `../shared/robot-data` itself (its
// absence fails the test)
mod truth;

fn pose(p: &urdf_rs::Pose) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::new(p.xyz.0[0], p.xyz.0[1], p.xyz.0[2]),
        UnitQuaternion::from_euler_angles(p.rpy.0[0], p.rpy.0[1], p.rpy.0[2]),
    )
}

/// Signed distance from `p` (link frame) to a primitive (negative inside).
fn signed_distance(
    geom: &urdf_rs::Geometry,
    origin: &Isometry3<f64>,
    p: &Point3<f64>,
) -> Option<f64> {
    let local = origin.inverse_transform_point(p);
    Some(match geom {
        urdf_rs::Geometry::Sphere { radius } => local.coords.norm() - radius,
        urdf_rs::Geometry::Capsule { radius, length } => {
            let z = local.z.clamp(-length / 2.0, length / 2.0);
            (local.coords - Vector3::new(0.0, 0.0, z)).norm() - radius
        }
        urdf_rs::Geometry::Cylinder { radius, length } => {
            let radial = local.x.hypot(local.y) - radius;
            let axial = local.z.abs() - length / 2.0;
            radial.max(axial)
        }
        urdf_rs::Geometry::Box { size } => {
            let h = Vector3::new(size.0[0], size.0[1], size.0[2]) / 2.0;
            let q = local.coords.abs() - h;
            q.map(|v| v.max(0.0)).norm() + q.max().min(0.0)
        }
        urdf_rs::Geometry::Mesh { .. } => return None,
    })
}

#[test]
fn signed_distance_known_answers() {
    let o = Isometry3::identity();
    let cap = urdf_rs::Geometry::Capsule {
        radius: 0.1,
        length: 0.4,
    };
    // On the cap pole, 1 mm outside, 1 mm inside the cylinder wall.
    assert!((signed_distance(&cap, &o, &Point3::new(0.0, 0.0, 0.3)).unwrap()).abs() < 1e-15);
    assert!(
        (signed_distance(&cap, &o, &Point3::new(0.101, 0.0, 0.1)).unwrap() - 0.001).abs() < 1e-12
    );
    assert!(
        (signed_distance(&cap, &o, &Point3::new(0.0, 0.099, -0.2)).unwrap() + 0.001).abs() < 1e-12
    );
    let b = urdf_rs::Geometry::Box {
        size: urdf_rs::Vec3([0.2, 0.2, 0.2]),
    };
    assert!(
        (signed_distance(&b, &o, &Point3::new(0.101, 0.0, 0.0)).unwrap() - 0.001).abs() < 1e-12
    );
    assert!(
        (signed_distance(&b, &o, &Point3::new(0.099, 0.0, 0.0)).unwrap() + 0.001).abs() < 1e-12
    );
}

/// Grid spacing on every real triangle; every surface point is within this of a sample.
const SPACING: f64 = 0.0005;

/// Points on triangle `t`: a barycentric grid whose nodes are at most `SPACING` apart along
/// each edge, so every point of the triangle is within `SPACING` of a node.
fn triangle_samples(t: [Point3<f64>; 3], out: &mut Vec<Point3<f64>>) {
    let edge = (t[1] - t[0])
        .norm()
        .max((t[2] - t[1]).norm())
        .max((t[0] - t[2]).norm());
    let n = ((edge / SPACING).ceil() as usize).max(1);
    for i in 0..=n {
        for j in 0..=(n - i) {
            let (u, v) = (i as f64 / n as f64, j as f64 / n as f64);
            out.push(Point3::from(
                t[0].coords * (1.0 - u - v) + t[1].coords * u + t[2].coords * v,
            ));
        }
    }
}

/// The real collision surface of a link, sampled: mesh triangles and box faces, link frame.
fn surface_of(link: &urdf_rs::Link, dir: &std::path::Path, out: &mut Vec<Point3<f64>>) -> usize {
    let mut shapes = 0;
    for c in &link.collision {
        let origin = pose(&c.origin);
        let mut triangles: Vec<[Point3<f64>; 3]> = Vec::new();
        match &c.geometry {
            urdf_rs::Geometry::Mesh { filename, .. } => {
                // the convex hull of the mesh (what mesh checkers test), which contains the
                // mesh surface: covering the hull's surface covers both
                let path = resolve_mesh_uri(filename, dir, &[dir.to_path_buf()]).unwrap();
                let mesh = load_mesh(&path).unwrap();
                let points: Vec<parry3d::math::Vector> = mesh
                    .vertices
                    .iter()
                    .map(|v| {
                        let p = origin * v;
                        parry3d::math::Vector::new(p.x as f32, p.y as f32, p.z as f32)
                    })
                    .collect();
                let hull = parry3d::shape::ConvexPolyhedron::from_convex_hull(&points).unwrap();
                let (hv, hi) = hull.to_trimesh();
                let at = |i: u32| {
                    let p = hv[i as usize];
                    Point3::new(f64::from(p.x), f64::from(p.y), f64::from(p.z))
                };
                for t in &hi {
                    triangles.push(t.map(at));
                }
                // and the mesh's own triangles
                for t in &mesh.triangles {
                    triangles.push(t.map(|i| origin * mesh.vertices[i as usize]));
                }
            }
            urdf_rs::Geometry::Box { size } => {
                let h = [size[0] / 2.0, size[1] / 2.0, size[2] / 2.0];
                let corner = |k: usize| {
                    origin
                        * Point3::new(
                            if k & 4 != 0 { h[0] } else { -h[0] },
                            if k & 2 != 0 { h[1] } else { -h[1] },
                            if k & 1 != 0 { h[2] } else { -h[2] },
                        )
                };
                for f in [
                    [0, 1, 3],
                    [0, 3, 2],
                    [4, 6, 7],
                    [4, 7, 5],
                    [0, 4, 5],
                    [0, 5, 1],
                    [2, 3, 7],
                    [2, 7, 6],
                    [0, 2, 6],
                    [0, 6, 4],
                    [1, 5, 7],
                    [1, 7, 3],
                ] {
                    triangles.push(f.map(corner));
                }
            }
            _ => continue,
        }
        shapes += 1;
        for t in triangles {
            triangle_samples(t, out);
        }
    }
    shapes
}

/// Every point of every real collision surface (mesh triangles, not only vertices) and of its
/// convex hull lies inside our primitives: every surface sample is at least `SPACING` deep
/// inside, and every surface point is within `SPACING` of a sample. (The hull's vertices are
/// rounded to f32 by parry: 1e-7 relative, far below `SPACING`.)
#[test]
fn primitives_cover_every_real_collision_surface() {
    // every bundled robot: a new one is covered, or the test names what it lacks
    for name in cella_kinematics::library::names() {
        let (dir, urdf) = truth::manufacturer(name);
        let real = urdf_rs::read_file(&urdf).unwrap();
        let ours =
            urdf_rs::read_from_string(cella_kinematics::library::urdf_text(name).unwrap()).unwrap();
        let mut links_checked = 0;
        let mut samples = Vec::new();
        for link in &real.links {
            samples.clear();
            if surface_of(link, &dir, &mut samples) == 0 {
                continue;
            }
            let our_link = ours.links.iter().find(|l| l.name == link.name);
            let prims: Vec<_> = our_link
                .map(|l| {
                    l.collision
                        .iter()
                        .map(|c| (c.geometry.clone(), pose(&c.origin)))
                        .collect()
                })
                .unwrap_or_default();
            assert!(
                !prims.is_empty(),
                "{name}: link '{}' has real collision geometry but no primitives",
                link.name
            );
            let mut tightest = f64::INFINITY;
            for p in &samples {
                let d = prims
                    .iter()
                    .filter_map(|(g, o)| signed_distance(g, o, p))
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    d <= -SPACING,
                    "{name}: surface point {p:?} of link '{}' is only {:.3} mm inside (need {:.1})",
                    link.name,
                    -d * 1e3,
                    SPACING * 1e3
                );
                tightest = tightest.min(-d);
            }
            links_checked += 1;
            eprintln!(
                "{name:<18} {:<18} {:>8} surface samples inside, tightest slack {:.3} mm",
                link.name,
                samples.len(),
                tightest * 1e3
            );
        }
        assert!(
            links_checked >= 7,
            "{name}: only {links_checked} links with geometry checked"
        );
    }
}
