#![allow(clippy::unwrap_used)]
//! End-to-end tests of the kinematics commands of the `cella` binary: the exact flags and
//! `--json` shapes scripts rely on, checked against Pinocchio reference poses and IK→FK round
//! trips, and the exit code of every bad input.

use serde_json::Value;
use std::process::{Command, Output};

mod common;
use common::{cella, csv, floats};

fn shared() -> std::path::PathBuf {
    common::shared("robot-data")
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "cella failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Same rotation up to the quaternion sign.
fn quat_close(a: &[f64], b: &[f64], tol: f64) -> bool {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    1.0 - dot.abs() < tol
}

#[test]
fn fk_json_matches_pinocchio_reference() {
    let data = shared();
    for (robot, dir) in [
        ("kuka_kr6_r700", "kuka_kr6_r700_sixx"),
        ("abb_irb2400", "abb_irb2400"),
        ("staubli_tx2_60", "staubli_tx2_60"),
    ] {
        let text = std::fs::read_to_string(data.join(dir).join("fk_reference.json")).unwrap();
        let reference: Value = serde_json::from_str(&text).unwrap();
        for sample in reference["samples"].as_array().unwrap() {
            let q = floats(&sample["q"]);
            let v = json_of(&cella(&[
                "fk",
                "--robot",
                robot,
                "--joints",
                &csv(&q),
                "--tip",
                reference["tip_link"].as_str().unwrap(),
                "--json",
            ]));
            let p = floats(&v["position"]);
            let p_ref = floats(&sample["position"]);
            for k in 0..3 {
                assert!(
                    (p[k] - p_ref[k]).abs() < 1e-9,
                    "{robot} {q:?}: {p:?} vs {p_ref:?}"
                );
            }
            let quat = floats(&v["quaternion_xyzw"]);
            assert!(quat_close(
                &quat,
                &floats(&sample["quaternion_xyzw"]),
                1e-12
            ));
        }
    }
}

#[test]
fn ik_json_solutions_reproduce_the_pose() {
    for (robot, pose) in [
        ("kuka_kr6_r700", "0.5,0.1,0.4,0,1,0,0"),
        ("ur5e", "0.3,-0.2,0.4,1,0,0,0"),
        ("panda", "0.4,0.1,0.5,1,0,0,0"),
    ] {
        let v = json_of(&cella(&[
            "ik", "--robot", robot, "--pose", pose, "--all", "--json",
        ]));
        let solutions = v["solutions"].as_array().unwrap();
        assert!(!solutions.is_empty(), "{robot}: no IK solution for {pose}");
        let target: Vec<f64> = pose.split(',').map(|s| s.parse().unwrap()).collect();
        for q in solutions {
            let fk = json_of(&cella(&[
                "fk",
                "--robot",
                robot,
                "--joints",
                &csv(&floats(q)),
                "--json",
            ]));
            let p = floats(&fk["position"]);
            for k in 0..3 {
                assert!(
                    (p[k] - target[k]).abs() < 1e-6,
                    "{robot}: {p:?} vs {target:?}"
                );
            }
            assert!(quat_close(
                &floats(&fk["quaternion_xyzw"]),
                &target[3..],
                1e-9
            ));
        }
    }
}

#[test]
fn bad_input_exits_2_naming_the_field() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["fk", "--robot", "panda", "--joints", "0,0,0,nan,0,0,0"],
            "--joints",
        ),
        (&["fk", "--robot", "panda", "--joints", "0,0,0"], "7"),
        (
            &["fk", "--robot", "panda", "--joints", "0,0,0,0,0,0,0"],
            "panda_joint4",
        ),
        (
            &["fk", "--robot", "no_such_robot", "--joints", "0"],
            "no_such_robot",
        ),
        (
            &["ik", "--robot", "ur5e", "--pose", "0.3,0,0.3,0,0,0,0"],
            "quaternion",
        ),
    ];
    for (args, needle) in cases {
        let out = cella(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.to_lowercase().contains(&needle.to_lowercase()),
            "{args:?}: '{stderr}' does not mention '{needle}'"
        );
    }
    // a pose no joint values reach is an answer, not bad input: exit 1, saying why
    let out = cella(&["ik", "--robot", "ur5e", "--pose", "5,5,5,0,0,0,1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no solution"), "{stderr}");
}

#[test]
fn robot_list_json_names_the_library() {
    let v = json_of(&cella(&["robot", "list", "--json"]));
    let listed: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let library: Vec<&str> = cella_kinematics::library::names().collect();
    assert_eq!(listed, library);
    for r in v.as_array().unwrap() {
        let robot = cella_kinematics::library::load(r["name"].as_str().unwrap()).unwrap();
        assert_eq!(r["dof"], robot.chain().dof(), "{r}");
        assert_eq!(r["solver"], robot.solver().name(), "{r}");
    }
}

#[test]
fn robot_check_resolves_package_meshes_through_the_search_path() {
    let data = shared();
    // A copy of the manufacturer URDF away from its package: meshes cannot resolve.
    let tmp = std::env::temp_dir().join(format!("cella-check-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let urdf = tmp.join("panda.urdf");
    std::fs::copy(data.join("franka_panda/panda.urdf"), &urdf).unwrap();
    let urdf = urdf.to_str().unwrap();

    let missing = Command::new(env!("CARGO_BIN_EXE_cella"))
        .args(["robot", "check", urdf, "--json"])
        .env_remove("CELLA_PACKAGE_PATH")
        .env_remove("ROS_PACKAGE_PATH")
        .output()
        .unwrap();
    // the description loads; the check's answer is that it cannot be used
    assert_eq!(missing.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&missing.stdout).unwrap();
    let problems = report["problems"].to_string();
    assert!(problems.contains("franka_description"), "{problems}");

    let package_root = data.join("franka_panda");
    let by_flag = cella(&[
        "robot",
        "check",
        urdf,
        "--package-path",
        package_root.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(json_of(&by_flag)["problems"], serde_json::json!([]));

    for var in ["CELLA_PACKAGE_PATH", "ROS_PACKAGE_PATH"] {
        let by_env = Command::new(env!("CARGO_BIN_EXE_cella"))
            .args(["robot", "check", urdf, "--json"])
            .env_remove("CELLA_PACKAGE_PATH")
            .env_remove("ROS_PACKAGE_PATH")
            .env(var, &package_root)
            .output()
            .unwrap();
        assert_eq!(json_of(&by_env)["problems"], serde_json::json!([]), "{var}");
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}
