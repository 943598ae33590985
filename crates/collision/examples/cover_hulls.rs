//! Grows the capsule radii of the bundled robots' URDFs until they contain the convex hull of
//! every real collision mesh (not only its surface: a union of several capsules around a
//! concave mesh can leave parts of the hull outside, and mesh checkers use hulls). Every hull
//! surface point ends at least 0.6 mm inside. Run after `tools/fit_collision_primitives.py`
//! and `make_hulls`: `cargo run -p cella-collision --example cover_hulls`.
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use cella_collision::shape::point_segment_distance;
use nalgebra::{Isometry3, Point3, Translation3, UnitQuaternion, Vector3};
use std::path::PathBuf;

const SPACING: f64 = 0.0005;
const MARGIN: f64 = 0.0006;
const ROBOTS: &[&str] = &[
    "ur5e",
    "kuka_kr6_r700",
    "abb_irb2400",
    "fanuc_lrmate200id",
    "staubli_tx2_60",
    "panda",
];

fn hull_triangles(points: &[parry3d::math::Vector]) -> Vec<[Point3<f64>; 3]> {
    let hull = parry3d::shape::ConvexPolyhedron::from_convex_hull(points).unwrap();
    let (v, idx) = hull.to_trimesh();
    idx.iter()
        .map(|t| {
            t.map(|i| {
                let p = v[i as usize];
                Point3::new(f64::from(p.x), f64::from(p.y), f64::from(p.z))
            })
        })
        .collect()
}

fn samples(t: &[Point3<f64>; 3], mut f: impl FnMut(Point3<f64>)) {
    let edge = (t[1] - t[0])
        .norm()
        .max((t[2] - t[1]).norm())
        .max((t[0] - t[2]).norm());
    let n = ((edge / SPACING).ceil() as usize).max(1);
    for i in 0..=n {
        for j in 0..=(n - i) {
            let (u, v) = (i as f64 / n as f64, j as f64 / n as f64);
            f(Point3::from(
                t[0].coords * (1.0 - u - v) + t[1].coords * u + t[2].coords * v,
            ));
        }
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../robots");
    for name in ROBOTS {
        let urdf_path = root.join(name).join(format!("{name}.urdf"));
        let mut text = std::fs::read_to_string(&urdf_path).unwrap();
        let urdf = urdf_rs::read_from_string(&text).unwrap();
        // hulls per link from hulls.txt
        let hull_text = std::fs::read_to_string(root.join(name).join("hulls.txt")).unwrap();
        let mut hulls: Vec<(String, Vec<parry3d::math::Vector>)> = Vec::new();
        for line in hull_text.lines() {
            if let Some(l) = line.strip_prefix("hull ") {
                hulls.push((l.trim().to_owned(), Vec::new()));
            } else if let Some(v) = line.strip_prefix("v ") {
                let c: Vec<f32> = v.split_whitespace().map(|x| x.parse().unwrap()).collect();
                hulls
                    .last_mut()
                    .unwrap()
                    .1
                    .push(parry3d::math::Vector::new(c[0], c[1], c[2]));
            }
        }
        for link in &urdf.links {
            let caps: Vec<(Point3<f64>, Point3<f64>, f64)> = link
                .collision
                .iter()
                .map(|c| {
                    let o = &c.origin;
                    let iso = Isometry3::from_parts(
                        Translation3::new(o.xyz[0], o.xyz[1], o.xyz[2]),
                        UnitQuaternion::from_euler_angles(o.rpy[0], o.rpy[1], o.rpy[2]),
                    );
                    match &c.geometry {
                        urdf_rs::Geometry::Sphere { radius } => {
                            (iso * Point3::origin(), iso * Point3::origin(), *radius)
                        }
                        urdf_rs::Geometry::Capsule { radius, length } => (
                            iso * Point3::from(Vector3::z() * (-length / 2.0)),
                            iso * Point3::from(Vector3::z() * (length / 2.0)),
                            *radius,
                        ),
                        other => panic!("{name}/{}: unexpected {other:?}", link.name),
                    }
                })
                .collect();
            let mut need = f64::NEG_INFINITY;
            for (l, pts) in &hulls {
                if *l != link.name {
                    continue;
                }
                for t in hull_triangles(pts) {
                    samples(&t, |p| {
                        let d = caps
                            .iter()
                            .map(|(a, b, r)| point_segment_distance(&p, a, b) - r)
                            .fold(f64::INFINITY, f64::min);
                        need = need.max(d);
                    });
                }
            }
            if need == f64::NEG_INFINITY || need <= -MARGIN {
                continue;
            }
            let grow = ((need + MARGIN) * 1e6).ceil() / 1e6;
            // rewrite every radius inside this link's element
            let start = text
                .find(&format!("<link name=\"{}\">", link.name))
                .unwrap();
            let end = start + text[start..].find("</link>").unwrap();
            let mut block = text[start..end].to_owned();
            let mut out = String::new();
            while let Some(i) = block.find("radius=\"") {
                let j = i + 8 + block[i + 8..].find('"').unwrap();
                let r: f64 = block[i + 8..j].parse().unwrap();
                out.push_str(&block[..i + 8]);
                out.push_str(&format!("{:.6}", r + grow));
                block = block[j..].to_owned();
            }
            out.push_str(&block);
            text.replace_range(start..end, &out);
            println!(
                "{name:<18} {:<18} radii +{:.3} mm to contain the hulls",
                link.name,
                grow * 1e3
            );
        }
        std::fs::write(&urdf_path, text).unwrap();
    }
}
