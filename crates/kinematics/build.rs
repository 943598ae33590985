//! Embeds the robot library: every `robots/<name>/robot.toml` (and the URDF it names) at the
//! workspace root is compiled into the binary, so `cella` works from any directory.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let robots = manifest.join("../../robots");
    println!("cargo:rerun-if-changed={}", robots.display());
    let mut entries: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(&robots) {
        for dir in dirs.flatten() {
            let config = dir.path().join("robot.toml");
            if !config.is_file() {
                continue;
            }
            println!("cargo:rerun-if-changed={}", config.display());
            let text = std::fs::read_to_string(&config).unwrap_or_default();
            let urdf = text
                .lines()
                .find_map(|l| {
                    let l = l.trim();
                    l.strip_prefix("urdf")
                        .map(str::trim_start)
                        .and_then(|r| r.strip_prefix('='))
                        .map(|r| r.trim().trim_matches('"').to_owned())
                })
                .unwrap_or_default();
            let urdf_path = dir.path().join(&urdf);
            println!("cargo:rerun-if-changed={}", urdf_path.display());
            if urdf.is_empty() || !urdf_path.is_file() {
                continue;
            }
            let name = dir.file_name().to_string_lossy().into_owned();
            entries.push((name, canon(&config), canon(&urdf_path)));
        }
    }
    entries.sort();
    let mut code = String::from(
        "/// Bundled robots: (name, robot.toml text, URDF text).\npub static BUNDLED: &[(&str, &str, &str)] = &[\n",
    );
    for (name, config, urdf) in &entries {
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?}), include_str!({:?})),",
            config.display().to_string(),
            urdf.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("bundled_robots.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}

fn canon(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}
