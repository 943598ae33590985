#![allow(clippy::unwrap_used)]
//! The README's quick start, run as a reader would run it: every `sh` block of the command
//! line and the service, command by command, in a fresh directory with this build's `cella`
//! first on the path. A command whose comment says "exit code N" must exit N, every other one
//! 0. Commands that build or test the project (`cargo`) and blocks that need tools the project
//! does not install (`grpcurl`) are left out; `cella serve` is started here on a free port and the
//! `cella exec` commands are pointed at it with `--server` (the README's default address may
//! be taken on a test machine).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The fenced `sh` blocks of `text`.
fn sh_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// The commands of a block: one a line, a here-document with the line that starts it.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = block.lines();
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        let mut command = line.to_owned();
        if let Some(tag) = line.split("<<'").nth(1).and_then(|t| t.split('\'').next()) {
            for body in lines.by_ref() {
                command.push('\n');
                command.push_str(body);
                if body.trim() == tag {
                    break;
                }
            }
        }
        out.push(command);
    }
    out
}

/// The exit code a command's comment promises (0 unless it says "exit code N").
fn expected_code(command: &str) -> i32 {
    command
        .split("exit code ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A `cella serve` on a free port, killed when dropped.
struct Server(std::process::Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve() -> Server {
    let (child, url) = common::spawn_serve(["--addr", "127.0.0.1:0"]);
    Server(child, url)
}

fn run(command: &str, dir: &Path, path: &str) -> (i32, String) {
    let out = Command::new("bash")
        .args(["-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), said)
}

#[test]
fn the_quick_start_runs_as_written() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("readme-quick-start");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_cella"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let server = serve();
    let mut ran = Vec::new();
    for block in sh_blocks(&readme) {
        if block.contains("grpcurl") {
            continue;
        }
        for command in commands(&block) {
            // building, testing and putting the build on the path: done by this test
            if command.starts_with("cargo ") || command.starts_with("export ") {
                continue;
            }
            if command.starts_with("cella serve") {
                continue;
            }
            let command = match command.strip_prefix("cella exec ") {
                Some(rest) => format!("cella exec --server {} {rest}", server.1),
                None => command,
            };
            let (code, said) = run(&command, &dir, &path);
            assert_eq!(
                code,
                expected_code(&command),
                "README command `{command}` exited {code}:\n{said}"
            );
            ran.push(command.lines().next().unwrap_or_default().to_owned());
        }
    }
    // what the quick start promises is there, and was run
    for needle in [
        "cella robot list",
        "cella fk",
        "cella ik",
        "cat > problem.json",
        "cella check",
        "cella plan --problem problem.json --out traj.json",
        "cella plan --problem problem.json --html plan.html",
        "cella exec --server",
    ] {
        assert!(
            ran.iter().any(|c| c.starts_with(needle)),
            "`{needle}` not run: {ran:#?}"
        );
    }
    // and made what it says
    let traj: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("traj.json")).unwrap()).unwrap();
    assert!(traj["points"].as_array().unwrap().len() > 2);
    let page = std::fs::read_to_string(dir.join("plan.html")).unwrap();
    assert!(page.contains("cella-data"));
}
