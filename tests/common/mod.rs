//! Helpers shared by the end-to-end tests of the `cella` binary.
#![allow(dead_code, clippy::unwrap_used)]

use cella_proto::v1::cell_service_client::CellServiceClient;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use tonic::transport::Channel;

/// Runs the `cella` binary with `args`.
pub fn cella(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cella"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the `cella` binary with `args`, asserts that it succeeded (printing its stderr
/// otherwise) and parses its standard output as JSON.
pub fn cella_json(args: &[&str]) -> Value {
    let out = cella(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `../shared/<sub>`. Its absence fails the test (CI provides it).
pub fn shared(sub: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(sub);
    assert!(dir.is_dir(), "../shared/{sub} is absent");
    dir
}

/// Joint values as a `--joints` list, full precision.
pub fn csv(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.17}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A JSON array of numbers.
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A `cella.v1` server on the demo cell at 127.0.0.1:0, stopped when dropped.
pub struct Server {
    /// Its address.
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub mod monitor;

/// Starts a server on the demo cell.
pub async fn start() -> Server {
    start_cell(cella_cell::DEMO_CELL).await
}

/// Starts a server on the cell described by `toml` (a cell file).
pub async fn start_cell(toml: &str) -> Server {
    let cell = cella_cell::CellFile::parse(toml)
        .unwrap()
        .build(None)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        cella_server::serve_on(
            listener,
            cell,
            cella_control::ControlOptions::default(),
            async {
                let _ = rx.await;
            },
        )
        .await
        .unwrap();
    });
    Server {
        url,
        stop: Some(tx),
    }
}

/// A client of `s`.
pub async fn client(s: &Server) -> CellServiceClient<Channel> {
    CellServiceClient::connect(s.url.clone()).await.unwrap()
}

/// The cell as the server reports it now.
pub async fn cell_info(c: &mut CellServiceClient<Channel>) -> cella_proto::v1::CellInfo {
    c.get_cell_info(cella_proto::v1::GetCellInfoRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// A sphere of `radius` m named `name` at `pose` (world frame), as an object to add.
pub fn sphere(
    name: &str,
    radius: f64,
    pose: cella_proto::v1::Pose,
) -> cella_proto::v1::WorldObject {
    use cella_proto::v1 as pb;
    pb::WorldObject {
        name: name.into(),
        shape: Some(pb::Shape {
            kind: Some(pb::shape::Kind::Sphere(pb::Sphere { radius })),
        }),
        pose: Some(pose),
        ..Default::default()
    }
}

/// Starts `cella serve ARGS` (stdout read here, stderr to nowhere) and returns the process
/// and the URL it says it listens on (its first `listening on ...` line).
pub fn spawn_serve<S: AsRef<std::ffi::OsStr>>(
    args: impl IntoIterator<Item = S>,
) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cella"))
        .arg("serve")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut said = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut said)
        .unwrap();
    let url = said
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("`cella serve` said '{said}'"))
        .to_owned();
    (child, url)
}
