//! The library's collision primitives conservatively cover the real link meshes: every vertex of
//! every manufacturer collision mesh (in the link frame) lies inside the union of our primitives
//! for the same link. Prints the tightest slack per link (how close the nearest vertex comes to
//! the primitive surface).
#![allow(clippy::unwrap_used)] // a panic in a test is a failure with a message

use cella_collision::mesh::{load_mesh, resolve_mesh_uri};
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use std::path::PathBuf;

const ROBOTS: &[(&str, &str, &str)] = &[
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

fn data() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/robot-data");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!(
            "SKIP: {} absent: cannot compare against the real meshes",
            d.display()
        );
        None
    }
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

#[test]
fn primitives_cover_every_real_mesh_vertex() {
    let Some(data) = data() else { return };
    let robots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../robots");
    for (name, dir, file) in ROBOTS {
        let real = urdf_rs::read_file(data.join(dir).join(file)).unwrap();
        let ours = urdf_rs::read_file(robots.join(name).join(format!("{name}.urdf"))).unwrap();
        let mut links_checked = 0;
        for link in &real.links {
            let meshes: Vec<_> = link
                .collision
                .iter()
                .filter_map(|c| match &c.geometry {
                    urdf_rs::Geometry::Mesh { filename, .. } => {
                        Some((filename.clone(), pose(&c.origin)))
                    }
                    _ => None,
                })
                .collect();
            if meshes.is_empty() {
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
                "{name}: link '{}' has real collision meshes but no primitives",
                link.name
            );
            let (mut tightest, mut count) = (f64::INFINITY, 0usize);
            for (uri, origin) in meshes {
                let path = resolve_mesh_uri(&uri, &data.join(dir), &[data.join(dir)]).unwrap();
                let mesh = load_mesh(&path).unwrap();
                for v in &mesh.vertices {
                    let p = origin * v;
                    let d = prims
                        .iter()
                        .filter_map(|(g, o)| signed_distance(g, o, &p))
                        .fold(f64::INFINITY, f64::min);
                    assert!(
                        d <= 1e-9,
                        "{name}: vertex {p:?} of link '{}' ({uri}) is {d:e} m outside",
                        link.name
                    );
                    tightest = tightest.min(-d);
                    count += 1;
                }
            }
            links_checked += 1;
            eprintln!(
                "{name:<18} {:<18} {count:>6} vertices inside, tightest slack {:.3} mm",
                link.name,
                tightest * 1e3
            );
        }
        assert!(
            links_checked >= 7,
            "{name}: only {links_checked} links with meshes checked"
        );
    }
}
