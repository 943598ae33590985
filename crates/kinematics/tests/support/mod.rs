//! Shared test helpers: locating `../shared/robot-data` and reading its reference files.
#![allow(dead_code, clippy::unwrap_used, clippy::print_stderr)]

use cella_kinematics::ik::opw::OpwParameters;
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion};
use std::path::PathBuf;

/// `../shared/robot-data` next to the workspace. Its absence fails the test (CI provides it).
pub fn robot_data() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/robot-data");
    assert!(
        dir.is_dir(),
        "{} is absent: the reference data is needed",
        dir.display()
    );
    dir
}

/// One FK reference sample.
pub struct FkSample {
    pub q: Vec<f64>,
    pub pose: Isometry3<f64>,
}

/// A reference file: URDF name, base, tip, joint names and samples.
pub struct FkReference {
    pub urdf: String,
    pub base: String,
    pub tip: String,
    pub joint_names: Vec<String>,
    pub samples: Vec<FkSample>,
}

pub fn read_fk_reference(path: &std::path::Path) -> FkReference {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let f = |x: &serde_json::Value| x.as_f64().unwrap();
    let samples = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let q: Vec<f64> = s["q"].as_array().unwrap().iter().map(f).collect();
            let p: Vec<f64> = s["position"].as_array().unwrap().iter().map(f).collect();
            let r: Vec<f64> = s["quaternion_xyzw"]
                .as_array()
                .unwrap()
                .iter()
                .map(f)
                .collect();
            FkSample {
                q,
                pose: Isometry3::from_parts(
                    Translation3::new(p[0], p[1], p[2]),
                    UnitQuaternion::from_quaternion(Quaternion::new(r[3], r[0], r[1], r[2])),
                ),
            }
        })
        .collect();
    FkReference {
        urdf: v["urdf"].as_str().unwrap().to_owned(),
        base: v["base_link"].as_str().unwrap().to_owned(),
        tip: v["tip_link"].as_str().unwrap().to_owned(),
        joint_names: v["joint_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect(),
        samples,
    }
}

/// Parses "pi", "-pi/2", numbers, as used in `kinematics.json`.
fn angle(v: &serde_json::Value) -> f64 {
    if let Some(x) = v.as_f64() {
        return x;
    }
    let s = v.as_str().unwrap().replace(' ', "");
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => (-1.0, r.to_owned()),
        None => (1.0, s.clone()),
    };
    let val = match rest.as_str() {
        "pi" => std::f64::consts::PI,
        "pi/2" => std::f64::consts::FRAC_PI_2,
        other => other.parse().unwrap(),
    };
    sign * val
}

/// The published OPW parameters of a robot directory, if it has them.
pub fn published_opw(robot_dir: &std::path::Path) -> Option<OpwParameters> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(robot_dir.join("kinematics.json")).ok()?)
            .ok()?;
    let pk = &v["published_kinematics"];
    if !pk["type"].as_str()?.starts_with("OPW") {
        return None;
    }
    let p = &pk["parameters"];
    let arr = |k: &str| -> [f64; 6] {
        let a = p[k].as_array().unwrap();
        std::array::from_fn(|i| angle(&a[i]))
    };
    Some(OpwParameters {
        a1: p["a1"].as_f64()?,
        a2: p["a2"].as_f64()?,
        b: p["b"].as_f64()?,
        c1: p["c1"].as_f64()?,
        c2: p["c2"].as_f64()?,
        c3: p["c3"].as_f64()?,
        c4: p["c4"].as_f64()?,
        offsets: arr("offsets"),
        sign_corrections: arr("sign_corrections"),
    })
}

/// Position error (m) and rotation angle error (rad) between two poses.
pub fn pose_diff(a: &Isometry3<f64>, b: &Isometry3<f64>) -> (f64, f64) {
    (
        (a.translation.vector - b.translation.vector).norm(),
        a.rotation.angle_to(&b.rotation),
    )
}

/// Every (robot dir, reference file) pair in robot-data.
pub fn all_references(data: &std::path::Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(data)
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("fk_reference")
            })
            .collect();
        files.sort();
        for f in files {
            out.push((d.clone(), f));
        }
    }
    out
}

/// The robot-data directory and reference file a bundled robot is checked against; panics
/// naming a bundled robot that has none (so a new robot cannot go unchecked).
pub fn library_reference(name: &str) -> (&'static str, &'static str) {
    LIBRARY_REFERENCES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, dir, file)| (*dir, *file))
        .unwrap_or_else(|| {
            panic!("bundled robot '{name}' has no reference in ../shared/robot-data mapped here")
        })
}

/// Library robot name → (robot-data dir, reference file) used to check it.
const LIBRARY_REFERENCES: &[(&str, &str, &str)] = &[
    ("ur5e", "ur5e", "fk_reference.json"),
    ("kuka_kr6_r700", "kuka_kr6_r700_sixx", "fk_reference.json"),
    ("abb_irb2400", "abb_irb2400", "fk_reference.json"),
    (
        "fanuc_lrmate200id",
        "fanuc_lrmate200id",
        "fk_reference.json",
    ),
    ("staubli_tx2_60", "staubli_tx2_60", "fk_reference.json"),
    ("panda", "franka_panda", "fk_reference_hand_tcp.json"),
];
