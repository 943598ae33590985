//! Embeds the decimated visual meshes of the bundled robots: every `robots/<name>/visual.bin`
//! at the workspace root (made by `cargo run -p cella-view --example make_visuals`).

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let robots = manifest.join("../../robots");
    println!("cargo:rerun-if-changed={}", robots.display());
    let mut entries = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(&robots) {
        for dir in dirs.flatten() {
            let file = dir.path().join("visual.bin");
            println!("cargo:rerun-if-changed={}", file.display());
            if file.is_file() {
                let path = file.canonicalize().unwrap_or(file);
                entries.push((dir.file_name().to_string_lossy().into_owned(), path));
            }
        }
    }
    entries.sort();
    let mut code = String::from(
        "/// Bundled robots' visual meshes: (name, bundle bytes).\nstatic BUNDLED_VISUALS: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &entries {
        let _ = writeln!(
            code,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("bundled_visuals.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
