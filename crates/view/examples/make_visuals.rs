//! Generates `robots/<name>/visual.bin` for every bundled robot: the manufacturer's visual
//! meshes (`../shared/robot-data`), placed in the library model's link frames, decimated and
//! encoded. Run from the workspace root after changing the decimation or a robot:
//!
//! ```text
//! cargo run --release -p cella-view --example make_visuals
//! ```
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use cella_collision::MeshSource;
use cella_view::visuals::{self, VisualOptions};
use std::path::PathBuf;

/// Library name, robot-data directory, manufacturer URDF.
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

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = root.join("../shared/robot-data");
    for (name, dir, urdf) in ROBOTS {
        let robot_dir = data.join(dir);
        let text = std::fs::read_to_string(robot_dir.join(urdf)).unwrap();
        let target = cella_kinematics::library::load(name).unwrap();
        let meshes = MeshSource {
            urdf_dir: Some(robot_dir.clone()),
            package_path: vec![robot_dir.clone()],
        };
        let v =
            visuals::from_urdf(&text, &meshes, target.model(), &VisualOptions::default()).unwrap();
        let bytes = cella_view::meshcode::write_bundle(&v.parts);
        let out = root.join("robots").join(name).join("visual.bin");
        std::fs::write(&out, &bytes).unwrap();
        println!(
            "{name}: {} parts, {} triangles, {} bytes -> {}",
            v.parts.len(),
            v.triangles(),
            bytes.len(),
            out.display()
        );
        for n in &v.notes {
            println!("  note: {n}");
        }
    }
}
