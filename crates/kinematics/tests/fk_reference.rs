//! Forward kinematics against Pinocchio's reference samples (`../shared/robot-data`), for the
//! real manufacturer URDFs and for the robots of our library.
#![allow(clippy::unwrap_used)] // a panic in a test is a failure with a message

mod support;

use cella_kinematics::{Chain, RobotModel, library};
use support::*;

const TOL: f64 = 1e-9;

#[test]
fn manufacturer_urdfs_match_pinocchio_reference() {
    let data = robot_data();
    let refs = all_references(&data);
    assert!(
        refs.len() >= 9,
        "expected at least 9 reference files, found {}",
        refs.len()
    );
    for (dir, file) in refs {
        let r = read_fk_reference(&file);
        let model = RobotModel::from_urdf_file(&dir.join(&r.urdf)).unwrap();
        let chain = Chain::new(&model, &r.base, &r.tip).unwrap();
        let names: Vec<&str> = chain.joint_names().collect();
        assert_eq!(names, r.joint_names, "{}: joint order", file.display());
        for (i, s) in r.samples.iter().enumerate() {
            let pose = chain.fk(&s.q).unwrap();
            let (dp, dr) = pose_diff(&pose, &s.pose);
            assert!(
                dp <= TOL && dr <= TOL,
                "{} sample {i}: position error {dp:e} m, rotation error {dr:e} rad",
                file.display()
            );
        }
    }
}

#[test]
fn library_robots_match_pinocchio_reference() {
    let data = robot_data();
    for name in library::names() {
        let (dir, file) = library_reference(name);
        let robot = library::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let r = read_fk_reference(&data.join(dir).join(file));
        let model = robot.model();
        // The library group's TCP is the reference tip (tool0 / panda_hand_tcp) ...
        assert_eq!(
            robot.tool_frame(),
            Some(r.tip.as_str()),
            "{name}: tool frame"
        );
        // ... and an explicit chain base→tip of our URDF agrees too.
        let chain = Chain::new(model, &r.base, &r.tip).unwrap();
        for (i, s) in r.samples.iter().enumerate() {
            for (what, pose) in [
                ("group TCP", robot.fk(&s.q).unwrap()),
                ("chain", chain.fk(&s.q).unwrap()),
            ] {
                let (dp, dr) = pose_diff(&pose, &s.pose);
                assert!(
                    dp <= TOL && dr <= TOL,
                    "{name} {what} sample {i}: {dp:e} m, {dr:e} rad"
                );
            }
        }
    }
}

#[test]
fn all_link_poses_agree_with_chain_fk() {
    let data = robot_data();
    for (dir, file) in all_references(&data) {
        let r = read_fk_reference(&file);
        let model = RobotModel::from_urdf_file(&dir.join(&r.urdf)).unwrap();
        let chain = Chain::new(&model, &r.base, &r.tip).unwrap();
        let base = model.link_index(&r.base).unwrap();
        let tip = model.link_index(&r.tip).unwrap();
        let mut full = vec![0.0; model.variables().len()];
        let mut poses = vec![nalgebra::Isometry3::identity(); model.links().len()];
        for s in &r.samples {
            for (v, x) in chain.variables().iter().zip(&s.q) {
                full[v.model_variable] = *x;
            }
            model.link_poses(&full, &mut poses).unwrap();
            let rel = poses[base].inverse() * poses[tip];
            let (dp, dr) = pose_diff(&rel, &s.pose);
            assert!(
                dp <= TOL && dr <= TOL,
                "{}: all-links FK differs by {dp:e} m {dr:e} rad",
                file.display()
            );
        }
    }
}
