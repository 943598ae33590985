#![allow(clippy::unwrap_used)]
//! The viewer's robots: the embedded visual meshes of every bundled robot, the real meshes of
//! `../shared/robot-data` read and decimated at view time, and the link tree the page poses the
//! robot from, checked against cella's forward kinematics.

use cella_collision::{MeshSource, RobotGeometry};
use cella_view::meshcode;
use cella_view::scene::{Pose, SceneBuilder};
use cella_view::visuals::{self, VisualOptions};
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion, Vector3};
use std::path::PathBuf;

fn robot_data() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/robot-data");
    assert!(dir.is_dir(), "../shared/robot-data is absent");
    dir
}

fn iso(p: &Pose) -> Isometry3<f64> {
    Isometry3::from_parts(
        Translation3::new(p.p[0], p.p[1], p.p[2]),
        UnitQuaternion::from_quaternion(Quaternion::new(p.q[3], p.q[0], p.q[1], p.q[2])),
    )
}

#[test]
fn every_bundled_robot_has_decimated_visual_meshes_on_its_links() {
    for name in cella_kinematics::library::names() {
        let v =
            visuals::bundled(name).unwrap_or_else(|| panic!("{name}: no robots/{name}/visual.bin"));
        let robot = cella_kinematics::library::load(name).unwrap();
        assert!(v.parts.len() >= 6, "{name}: {} parts", v.parts.len());
        let mut triangles = 0;
        for p in &v.parts {
            robot.model().link_index(&p.link).unwrap();
            let mesh = meshcode::decode(&p.mesh).unwrap();
            assert!(!mesh.triangles.is_empty());
            triangles += mesh.triangles.len();
        }
        // the budget, give or take the parts' minimum
        assert!(
            (3_000..=14_000).contains(&triangles),
            "{name}: {triangles} triangles"
        );
    }
}

#[test]
fn a_urdf_s_real_meshes_are_read_and_decimated_when_the_page_is_written() {
    // the FANUC's visuals are STL; the Panda's COLLADA with colours
    for (dir, urdf, name) in [
        (
            "fanuc_lrmate200id",
            "fanuc_lrmate200id.urdf",
            "fanuc_lrmate200id",
        ),
        ("franka_panda", "panda_hand.urdf", "panda"),
    ] {
        let dir = robot_data().join(dir);
        let text = std::fs::read_to_string(dir.join(urdf)).unwrap();
        let target = cella_kinematics::library::load(name).unwrap();
        let meshes = MeshSource {
            urdf_dir: Some(dir.clone()),
            package_path: vec![dir.clone()],
        };
        let options = VisualOptions {
            triangle_budget: 3000,
            ..VisualOptions::default()
        };
        let v = visuals::from_urdf(&text, &meshes, target.model(), &options).unwrap();
        assert!(v.notes.is_empty(), "{name}: {:?}", v.notes);
        let t = v.triangles();
        assert!(
            (1000..=3000 + 60 * v.parts.len()).contains(&t),
            "{name}: {t}"
        );
        if name == "panda" {
            let colours: std::collections::HashSet<[u8; 3]> =
                v.parts.iter().map(|p| p.rgb).collect();
            assert!(
                colours.len() >= 2,
                "the Panda's white and black parts: {colours:?}"
            );
        }
    }
    // a mesh that cannot be read is drawn with the link's collision mesh, and said
    let dir = robot_data().join("ur5e");
    let text = std::fs::read_to_string(dir.join("ur5e.urdf")).unwrap();
    let target = cella_kinematics::library::load("ur5e").unwrap();
    let meshes = MeshSource {
        urdf_dir: Some(dir.clone()),
        package_path: vec![dir],
    };
    let v = visuals::from_urdf(&text, &meshes, target.model(), &VisualOptions::default()).unwrap();
    assert_eq!(v.notes.len(), 1, "{:?}", v.notes);
    assert!(v.notes[0].contains("upper_arm_link") && v.notes[0].contains("collision mesh"));
    assert!(v.parts.iter().any(|p| p.link == "upper_arm_link"));
}

#[test]
fn colladas_keep_every_triangle_of_the_file() {
    let path = robot_data().join("franka_panda/franka_description/meshes/visual/link1.dae");
    let text = std::fs::read_to_string(path).unwrap();
    let parts = cella_view::collada::parse_collada(&text, "link1.dae").unwrap();
    let n: usize = parts.iter().map(|p| p.triangles.len()).sum();
    assert_eq!(n, 12516, "the file's <triangles count>");
}

/// The page poses a robot from its joints (origin, axis, value = mult × q[var] + offset, or a
/// held value) and reads the TCP as a link pose times an offset: done here the same way, it is
/// cella's FK.
#[test]
fn the_link_tree_the_page_poses_gives_cella_s_tcp() {
    let mut rng = cella_kinematics::rng::Rng::new(7);
    for name in cella_kinematics::library::names() {
        let geometry = RobotGeometry::library(name).unwrap();
        let robot = geometry.robot().clone();
        let chain = robot.chain();
        let base = Isometry3::from_parts(
            Translation3::new(0.3, -0.2, 0.75),
            UnitQuaternion::from_euler_angles(0.1, -0.2, 2.0),
        );
        let mut q0 = vec![0.0; chain.dof()];
        chain.random_configuration(&mut rng, &mut q0);
        let mut b = SceneBuilder::new();
        b.add_robot(
            name,
            name,
            &geometry,
            &base,
            &q0,
            &visuals::RobotVisuals::default(),
        )
        .unwrap();
        let scene = b.finish(&cella_collision::World::new());
        let r = &scene.robots[0];
        for _ in 0..20 {
            let mut q = vec![0.0; chain.dof()];
            chain.random_configuration(&mut rng, &mut q);
            let mut link = vec![Isometry3::identity(); r.links.len()];
            link[r.root] = iso(&r.base);
            // parents before children: repeat until every link is placed
            let mut placed = vec![false; r.links.len()];
            placed[r.root] = true;
            while placed.iter().any(|p| !p) {
                for j in &r.joints {
                    if placed[j.parent] && !placed[j.child] {
                        let v = match j.var {
                            Some(k) => j.mult * q[k] + j.offset,
                            None => j.value,
                        };
                        let axis = Vector3::from(j.axis);
                        let motion = match j.kind {
                            "revolute" => Isometry3::from_parts(
                                Translation3::identity(),
                                UnitQuaternion::from_scaled_axis(axis * v),
                            ),
                            "prismatic" => Translation3::from(axis * v).into(),
                            _ => Isometry3::identity(),
                        };
                        link[j.child] = link[j.parent] * iso(&j.origin) * motion;
                        placed[j.child] = true;
                    }
                }
            }
            let page = (link[r.tcp.link] * iso(&r.tcp.offset)).translation.vector;
            let cella = (base * robot.fk(&q).unwrap()).translation.vector;
            assert!((page - cella).norm() < 1e-9, "{name}: {page} vs {cella}");
        }
    }
}
