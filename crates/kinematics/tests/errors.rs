//! Bad input gets a typed error naming the item, never a panic: a corpus of broken URDFs,
//! bad chains, bad joint vectors and poses, and property tests with random input.
#![allow(clippy::unwrap_used)] // a panic in a test is a failure with a message

use cella_kinematics::ik::{IkOptions, IkSolutions};
use cella_kinematics::{Chain, KinematicsError, Robot, RobotModel, pose_from_xyz_quat};
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/broken")
        .join(name);
    std::fs::read_to_string(path).expect("fixture")
}

/// Each broken URDF fails with an error whose message names the offending item.
#[test]
fn broken_urdf_corpus_gives_named_errors() {
    let cases: &[(&str, &str)] = &[
        ("not_xml.urdf", "malformed URDF"),
        ("no_links.urdf", "no links"),
        ("unknown_child_link.urdf", "unknown child link 'nope'"),
        ("duplicate_link.urdf", "link 'a' is defined twice"),
        ("duplicate_joint.urdf", "joint 'j1' is defined twice"),
        ("cycle.urdf", "cycle"),
        ("two_roots.urdf", "several root links: a, b"),
        ("zero_axis.urdf", "joint 'j' has a zero or non-finite axis"),
        ("nan_origin.urdf", "joint 'j' has a non-finite origin"),
        (
            "inverted_limits.urdf",
            "joint 'j' has lower limit 1 above upper limit -1",
        ),
        ("mimic_unknown.urdf", "mimics unknown joint 'ghost'"),
        ("floating_joint.urdf", "joint 'j' has type"),
        (
            "negative_velocity.urdf",
            "joint 'j' has an invalid velocity limit -3",
        ),
        ("two_parents.urdf", "link 'b' is the child of two joints"),
        ("self_joint.urdf", "connects link 'a' to itself"),
        ("mimic_self.urdf", "'j'"),
    ];
    let files = std::fs::read_dir(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken"),
    )
    .unwrap()
    .count();
    assert_eq!(files, cases.len(), "every fixture has an expected error");
    for (file, expected) in cases {
        match RobotModel::from_urdf_str(&fixture(file)) {
            Ok(_) => panic!("{file}: accepted"),
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(expected),
                    "{file}: error '{msg}' does not mention '{expected}'"
                );
            }
        }
    }
}

const ARM: &str = r#"<robot name="arm">
  <link name="base"/><link name="l1"/><link name="l2"/><link name="tool"/>
  <joint name="j1" type="revolute"><parent link="base"/><child link="l1"/><origin xyz="0 0 0.3"/>
    <axis xyz="0 0 1"/><limit lower="-3" upper="3" velocity="2" effort="1"/></joint>
  <joint name="j2" type="revolute"><parent link="l1"/><child link="l2"/><origin xyz="0.4 0 0"/>
    <axis xyz="0 1 0"/><limit lower="-2" upper="2" velocity="2" effort="1"/></joint>
  <joint name="t" type="fixed"><parent link="l2"/><child link="tool"/><origin xyz="0.3 0 0"/></joint>
</robot>"#;

#[test]
fn bad_chain_and_joint_inputs_are_named() {
    let model = RobotModel::from_urdf_str(ARM).unwrap();
    assert_eq!(
        Chain::new(&model, "base", "nope").unwrap_err(),
        KinematicsError::UnknownLink("nope".into())
    );
    let e = Chain::new(&model, "tool", "base").unwrap_err();
    assert!(matches!(e, KinematicsError::NoChain { .. }), "{e}");
    let chain = Chain::new(&model, "base", "tool").unwrap();
    let e = chain.fk(&[0.1]).unwrap_err();
    assert_eq!(
        e,
        KinematicsError::JointCountMismatch {
            what: "joints".into(),
            expected: 2,
            got: 1
        }
    );
    let e = chain.fk(&[0.1, f64::NAN]).unwrap_err();
    assert!(
        matches!(e, KinematicsError::NonFinite { index: 1, .. }),
        "{e}"
    );
    let e = chain.check_limits(&[0.0, 2.5]).unwrap_err();
    assert!(e.to_string().contains("joint 'j2' = 2.5"), "{e}");
    assert!(pose_from_xyz_quat([0.0, 0.0, f64::INFINITY], [0.0, 0.0, 0.0, 1.0]).is_err());
    assert!(
        pose_from_xyz_quat([0.0; 3], [0.0; 4])
            .unwrap_err()
            .to_string()
            .contains("zero norm")
    );
}

#[test]
fn unreachable_pose_is_a_typed_error() {
    let robot = Robot::from_urdf_str(ARM, None, None).unwrap();
    assert_eq!(robot.chain().tip(), "tool");
    let far = pose_from_xyz_quat([5.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]).unwrap();
    let mut out = IkSolutions::new();
    let opts = IkOptions {
        max_restarts: 5,
        ..IkOptions::default()
    };
    let e = robot.ik(&far, None, &opts, &mut out).unwrap_err();
    assert!(matches!(e, KinematicsError::Unreachable { .. }), "{e}");
    let e = robot.ik(&far, Some(&[0.0]), &opts, &mut out).unwrap_err();
    assert!(
        matches!(e, KinematicsError::JointCountMismatch { .. }),
        "{e}"
    );
}

#[test]
fn bad_robot_configs_are_named() {
    let base = r#"name = "arm"
urdf = "arm.urdf"
[group]
base = "base"
tip = "tool"
"#;
    let load = |extra: &str| {
        let text = format!("{base}{extra}");
        let cfg = cella_kinematics::RobotConfig::from_toml_str(&text, Some("arm.toml"))?;
        Robot::from_config(cfg, ARM, Some("arm.toml"))
    };
    assert!(load("").is_ok());
    let cases = [
        ("[named_poses]\nhome = [0.0, 9.0]\n", "named_poses.home"),
        ("[named_poses]\nhome = [0.0]\n", "named_poses.home"),
        (
            "[[joint_limits]]\njoint = \"zz\"\nmax_acceleration = 1.0\n",
            "joint 'zz'",
        ),
        (
            "[[joint_limits]]\njoint = \"j1\"\nmax_acceleration = -1.0\n",
            "j1 max_acceleration",
        ),
        ("[fixed_joints]\nghost = 0.0\n", "unknown joint 'ghost'"),
        ("[ik]\nsolver = \"opw\"\n", "[ik.opw]"),
        ("[ik]\nsolver = \"magic\"\n", "solver"),
        ("bogus = 1\n", "bogus"),
    ];
    for (extra, expected) in cases {
        let e = load(extra).unwrap_err().to_string();
        assert!(
            e.contains(expected),
            "config {extra:?}: '{e}' lacks '{expected}'"
        );
        assert!(e.contains("arm.toml"), "error names the file: {e}");
    }
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -10.0f64..10.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(-1e300f64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// FK never panics: finite vectors of the right length succeed, others are typed errors.
    #[test]
    fn fk_never_panics(q in proptest::collection::vec(any_f64(), 0..4)) {
        let model = RobotModel::from_urdf_str(ARM).unwrap();
        let chain = Chain::new(&model, "base", "tool").unwrap();
        let r = chain.fk(&q);
        let ok = q.len() == 2 && q.iter().all(|v| v.is_finite());
        prop_assert_eq!(r.is_ok(), ok);
        if let Ok(p) = r {
            prop_assert!(p.translation.vector.iter().all(|v| v.is_finite()));
        }
    }

    /// IK on random (often unreachable or garbage) poses never panics and never returns a
    /// solution that FK does not confirm.
    #[test]
    fn ik_never_panics(x in any_f64(), y in any_f64(), z in any_f64(), qx in any_f64(), qw in any_f64()) {
        let robot = Robot::from_urdf_str(ARM, None, None).unwrap();
        let mut out = IkSolutions::new();
        let opts = IkOptions { max_restarts: 2, ..IkOptions::default() };
        if let Ok(target) = pose_from_xyz_quat([x, y, z], [qx, 0.0, 0.0, qw])
            && robot.ik(&target, None, &opts, &mut out).is_ok()
        {
            for s in out.as_slice() {
                let p = robot.fk(s.joints()).unwrap();
                prop_assert!((p.translation.vector - target.translation.vector).norm() < 1e-6);
            }
        }
    }

    /// Random garbage never panics the URDF parser.
    #[test]
    fn urdf_parser_never_panics(text in "\\PC{0,200}") {
        let _ = RobotModel::from_urdf_str(&text);
        let wrapped = format!("<robot name=\"x\">{text}</robot>");
        let _ = RobotModel::from_urdf_str(&wrapped);
    }
}
