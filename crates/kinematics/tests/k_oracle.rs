//! Cross-check against an independent implementation: the `k` crate (openrr). FK of the tip and
//! the geometric Jacobian of every URDF in `../shared/robot-data` and of every library robot
//! agree with `k` to 1e-12 on seeded random configurations.
#![allow(clippy::unwrap_used)] // a panic in a test is a failure with a message

mod support;

use cella_kinematics::{Chain, Rng, RobotModel, library};
use support::*;

const TOL: f64 = 1e-12;

fn compare(label: &str, urdf_text: &str, base: &str, tip: &str) {
    let model = RobotModel::from_urdf_str(urdf_text).unwrap();
    let root = model.links()[model.root()].name.clone();
    // k works from the URDF root: compare in the root frame, chain root → tip.
    let chain = Chain::new(&model, &root, tip).unwrap();
    let _ = base;
    // k pins its own urdf-rs version: hand it the text through a file.
    let path = std::env::temp_dir().join(format!(
        "cella_k_oracle_{}_{}.urdf",
        std::process::id(),
        label.replace(['/', '.'], "_")
    ));
    std::fs::write(&path, urdf_text).unwrap();
    let kchain = k::Chain::<f64>::from_urdf_file(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let end = kchain
        .find_link(tip)
        .unwrap_or_else(|| panic!("{label}: k has no link {tip}"));
    let serial = k::SerialChain::from_end(end);
    let knames: Vec<String> = serial.iter_joints().map(|j| j.name.clone()).collect();
    let ours: Vec<&str> = chain.joint_names().collect();
    assert_eq!(knames, ours, "{label}: joint order differs from k");

    let mut rng = Rng::new(42);
    let mut q = vec![0.0; chain.dof()];
    let mut jac = vec![[0.0; 6]; chain.dof()];
    for i in 0..200 {
        chain.random_configuration(&mut rng, &mut q);
        serial.set_joint_positions_unchecked(&q);
        serial.update_transforms();
        let kpose = end.world_transform().unwrap();
        let pose = chain.jacobian(&q, &mut jac).unwrap();
        let dp = (pose.translation.vector
            - nalgebra::Vector3::new(
                kpose.translation.x,
                kpose.translation.y,
                kpose.translation.z,
            ))
        .norm();
        let kr = kpose.rotation.to_rotation_matrix();
        let r = pose.rotation.to_rotation_matrix();
        let dr = (0..3)
            .flat_map(|a| (0..3).map(move |b| (a, b)))
            .map(|(a, b)| (r[(a, b)] - kr[(a, b)]).abs())
            .fold(0.0, f64::max);
        assert!(
            dp < TOL && dr < TOL,
            "{label} sample {i}: FK differs from k by {dp:e} m, {dr:e}"
        );
        let kj = k::jacobian(&serial);
        for (c, col) in jac.iter().enumerate() {
            for (row, v) in col.iter().enumerate() {
                assert!(
                    (v - kj[(row, c)]).abs() < TOL,
                    "{label} sample {i}: J[{row},{c}] = {v} vs k {}",
                    kj[(row, c)]
                );
            }
        }
    }
}

#[test]
fn manufacturer_urdfs_agree_with_k() {
    let data = robot_data();
    for (dir, file) in all_references(&data) {
        let r = read_fk_reference(&file);
        let text = std::fs::read_to_string(dir.join(&r.urdf)).unwrap();
        compare(&file.display().to_string(), &text, &r.base, &r.tip);
    }
}

#[test]
fn library_robots_agree_with_k() {
    for name in library::names() {
        let robot = library::load(name).unwrap();
        let tip = robot.tool_frame().unwrap_or(robot.chain().tip()).to_owned();
        compare(
            name,
            library::urdf_text(name).unwrap(),
            robot.chain().base(),
            &tip,
        );
    }
}
