//! ARCHITECTURE.md is the map of the tree, and this test keeps it true: it fails, naming the
//! file, when a crate under `crates/` or a module file under `crates/*/src` or `src/` is not
//! named in the map, when the map names a file that is gone, when the dependency table differs
//! from the `[dependencies]` of a Cargo.toml, or when a file holding `unsafe` code is missing
//! from the inventory of `unsafe`.
//!
//! Files are named by their path from the workspace root in inline code, e.g.
//! `crates/collision/src/acm.rs`; the dependency table has one row per crate, starting with
//! the crate's folder in inline code (`cella` for the root package).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn map() -> String {
    read(&workspace().join("ARCHITECTURE.md"))
}

/// The inline code spans of `text` (outside fenced code blocks), in order.
fn code_spans(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        spans.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    spans
}

/// The text of the `## ` section whose heading contains `word`.
fn section<'a>(text: &'a str, word: &str) -> &'a str {
    let start = text
        .match_indices("\n## ")
        .map(|(i, _)| i + 1)
        .find(|&i| text[i..].lines().next().is_some_and(|h| h.contains(word)))
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no `## ` section about {word}"));
    let end = text[start + 3..]
        .find("\n## ")
        .map_or(text.len(), |i| start + 3 + i);
    &text[start..end]
}

/// Every `.rs` file below `dir` (relative to the workspace), as `/`-separated paths.
fn rust_files(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(workspace().join(dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let rel = dir.join(entry.file_name());
        if entry.path().is_dir() {
            rust_files(&rel, out);
        } else if rel.extension().is_some_and(|e| e == "rs") {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The crates of the workspace: folders under `crates/` with a Cargo.toml.
fn crates() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(workspace().join("crates"))
        .expect("crates/")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The module files: every `.rs` file under `crates/*/src` and `src/`.
fn module_files() -> Vec<String> {
    let mut files = Vec::new();
    for name in crates() {
        rust_files(&Path::new("crates").join(name).join("src"), &mut files);
    }
    rust_files(Path::new("src"), &mut files);
    files.sort();
    files
}

/// The workspace crates a Cargo.toml lists under `[dependencies]` (not dev or build).
fn cargo_dependencies(manifest: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_dependencies = false;
    for line in read(manifest).lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
            continue;
        }
        if in_dependencies && line.starts_with("cella-") {
            let end = line.find(['.', '=', ' ']).unwrap_or(line.len());
            out.insert(line[..end].to_owned());
        }
    }
    out
}

fn fail_on(problems: &[String], what: &str) {
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md {what}:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_crate_is_in_the_map() {
    let spans: BTreeSet<String> = code_spans(&map()).into_iter().collect();
    let missing: Vec<String> = crates()
        .into_iter()
        .map(|name| format!("crates/{name}"))
        .filter(|c| !spans.contains(c))
        .map(|c| format!("`{c}` is not named: give the crate a paragraph in the code map"))
        .collect();
    fail_on(&missing, "misses a crate");
}

#[test]
fn every_module_file_is_in_the_map() {
    let spans: BTreeSet<String> = code_spans(&map()).into_iter().collect();
    let files = module_files();
    assert!(
        files.iter().any(|f| f == "src/main.rs"),
        "the walk found no src/main.rs: {files:?}"
    );
    let missing: Vec<String> = files
        .into_iter()
        .filter(|f| !spans.contains(f))
        .map(|f| format!("`{f}` is not named: add it to the code map of its crate"))
        .collect();
    fail_on(&missing, "misses a module file");
}

#[test]
fn every_file_the_map_names_exists() {
    let stale: Vec<String> = code_spans(&map())
        .into_iter()
        .filter(|s| {
            (s.starts_with("crates/") || s.starts_with("src/") || s.starts_with("tests/"))
                && s.ends_with(".rs")
        })
        .filter(|s| !workspace().join(s).is_file())
        .map(|s| format!("names `{s}`, which does not exist: update the map"))
        .collect();
    fail_on(&stale, "is stale");
}

#[test]
fn the_dependency_table_is_the_cargo_dependencies() {
    let text = map();
    let table = section(&text, "Dependencies");
    let mut rows: Vec<(String, PathBuf)> = crates()
        .into_iter()
        .map(|name| {
            let manifest = workspace().join("crates").join(&name).join("Cargo.toml");
            (format!("crates/{name}"), manifest)
        })
        .collect();
    rows.push(("cella".to_owned(), workspace().join("Cargo.toml")));
    let mut wrong = Vec::new();
    for (label, manifest) in rows {
        let prefix = format!("| `{label}` |");
        let Some(row) = table.lines().find(|l| l.starts_with(&prefix)) else {
            wrong.push(format!("has no row `{prefix}` in its dependency table"));
            continue;
        };
        let listed: BTreeSet<String> = code_spans(row)
            .into_iter()
            .filter(|s| s.starts_with("cella-"))
            .collect();
        let actual = cargo_dependencies(&manifest);
        if listed != actual {
            wrong.push(format!(
                "says `{label}` depends on {listed:?}, its Cargo.toml says {actual:?}"
            ));
        }
    }
    fail_on(&wrong, "disagrees with Cargo.toml");
}

#[test]
fn every_file_using_unsafe_is_in_the_inventory() {
    // spelled in two pieces so that this file does not hold the word itself
    let keyword = concat!("uns", "afe");
    let marks = [
        format!("{keyword} {{"),
        format!("{keyword} fn "),
        format!("{keyword} impl "),
        format!("{keyword} extern "),
        format!("allow({keyword}_code"),
    ];
    let mut files = Vec::new();
    for dir in ["src", "crates", "tests", "benches", "examples"] {
        rust_files(Path::new(dir), &mut files);
    }
    files.sort();
    let text = map();
    let inventory: BTreeSet<String> = code_spans(section(&text, keyword)).into_iter().collect();
    let missing: Vec<String> = files
        .into_iter()
        .filter(|f| !f.contains("/target/"))
        .filter(|f| {
            read(&workspace().join(f)).lines().any(|l| {
                let l = l.trim_start();
                !l.starts_with("//") && marks.iter().any(|m| l.contains(m.as_str()))
            })
        })
        .filter(|f| !inventory.contains(f))
        .map(|f| format!("`{f}` holds {keyword} code but is not in the inventory"))
        .collect();
    fail_on(&missing, "misses a file in its inventory");
}
