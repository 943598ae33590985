//! Embeds the exact hulls of the robot library: the `hulls.txt` of every robot directory under
//! `robots/` at the workspace root that holds a `robot.toml` (what `crates/kinematics/build.rs`
//! bundles), so a robot added there gets its hulls with no code change. A library robot
//! without the file is found by `tests/checker.rs`, not silently left on its capsules.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let robots = manifest.join("../../robots");
    println!("cargo:rerun-if-changed={}", robots.display());
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(&robots) {
        for dir in dirs.flatten() {
            let (config, hulls) = (dir.path().join("robot.toml"), dir.path().join("hulls.txt"));
            println!("cargo:rerun-if-changed={}", hulls.display());
            if config.is_file() && hulls.is_file() {
                let name = dir.file_name().to_string_lossy().into_owned();
                entries.push((name, hulls.canonicalize().unwrap_or(hulls)));
            }
        }
    }
    entries.sort();
    let mut code = String::from(
        "/// Hull files of the bundled robots: (name, `hulls.txt` text).\n\
         static LIBRARY_HULLS: &[(&str, &str)] = &[\n",
    );
    for (name, hulls) in &entries {
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            hulls.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("library_hulls.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
