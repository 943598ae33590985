//! The CLI as a client of a running `cella serve` (`--server URL`): fk, ik and plan go over
//! gRPC to the cell the server holds (poses in the cell frame, robots by their cell id).

use super::error::{CliError, CliResult};
use super::output::line;
use super::output::print_json;
use cella::trajectory_file::TrajectoryFile;
use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_client::CellServiceClient;
use serde_json::json;
use std::path::{Path, PathBuf};
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// How the CLI reaches a secured `cella serve`: TLS (an `https://` URL) and credentials.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// With --server: the CA certificate (PEM) the server's certificate must chain to; an
    /// https:// URL needs it.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// With --server: a client certificate (PEM) for a server that asks for one (mutual TLS),
    /// with --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// With --server: the private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// With --server: the bearer token the server's tokens file gives this caller (also read
    /// from the CELLA_TOKEN environment variable, which keeps it off the command line).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CELLA_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// Where a client command goes: the `--server` URL and how to reach it.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// `http://HOST:PORT` or `https://HOST:PORT`.
    pub url: &'a str,
    /// TLS files and token.
    pub conn: &'a ConnectArgs,
}

/// Sends the bearer token (if any) with every call.
#[derive(Debug, Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A client of a running `cella serve`.
pub type Client = CellServiceClient<InterceptedService<Channel, Bearer>>;

/// An error and its sources (tonic's transport errors say little alone: "transport error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        // an I/O error wrapping another says its message again: once is enough
        let said = s.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = s.source();
    }
    text
}

fn read_file(flag: &str, path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::Input(format!("{flag} {}: {e}", path.display())))
}

/// The runtime the client calls run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Server(format!("runtime: {e}")))
}

/// A client of the server at `url` over TLS when it is `https://` (trusting `conn.ca`,
/// presenting `conn.cert` when given), sending `conn.token` with every call. A malformed
/// address, an unreadable file or TLS flags on an `http://` URL are bad input; a server that
/// cannot be reached, or whose certificate is not trusted, a connection failure.
pub async fn connect(url: &str, conn: &ConnectArgs) -> Result<Client, CliError> {
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| CliError::Input(format!("--server {url}: {e}")))?;
    if endpoint.uri().scheme_str() == Some("https") {
        let Some(ca) = &conn.ca else {
            return Err(CliError::Input(format!(
                "--server {url}: an https:// server needs --ca FILE, the CA certificate its \
                 certificate chains to"
            )));
        };
        let mut tls =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read_file("--ca", ca)?));
        if let (Some(cert), Some(key)) = (&conn.cert, &conn.key) {
            tls = tls.identity(Identity::from_pem(
                read_file("--cert", cert)?,
                read_file("--key", key)?,
            ));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| CliError::Input(format!("--ca/--cert/--key: {}", error_chain(&e))))?;
    } else if conn.ca.is_some() || conn.cert.is_some() {
        return Err(CliError::Input(format!(
            "--server {url}: --ca, --cert and --key need an https:// URL"
        )));
    }
    let bearer = match &conn.token {
        Some(token) => {
            let mut value = MetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
                CliError::Input("--token: not a token (visible ASCII characters only)".into())
            })?;
            // kept out of debug output
            value.set_sensitive(true);
            Some(value)
        }
        None => None,
    };
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| CliError::Server(format!("--server {url}: {}", error_chain(&e))))?;
    Ok(CellServiceClient::with_interceptor(channel, Bearer(bearer)))
}

/// A failed call, classified by its status code ([`CliError::from_status`]).
pub fn status(e: tonic::Status) -> CliError {
    CliError::from_status(&e)
}

/// `cella fk --server URL --robot ID --joints ...`: TCP pose in the cell frame.
pub fn fk(server: Target<'_>, robot: &str, joints: Vec<f64>, json_out: bool) -> CliResult {
    runtime()?.block_on(async {
        let mut c = connect(server.url, server.conn).await?;
        let r = c
            .compute_fk(pb::FkRequest {
                robot_id: robot.into(),
                joints,
                frame: String::new(),
            })
            .await
            .map_err(status)?
            .into_inner();
        let p = r.pose.unwrap_or_default();
        if json_out {
            print_json(&json!({"position": p.position, "quaternion_xyzw": p.quaternion_xyzw}));
        } else {
            line(format!(
                "{robot} TCP in the cell frame: position {:?} m, quaternion (x y z w) {:?}",
                p.position, p.quaternion_xyzw
            ));
        }
        Ok(())
    })
}

/// `cella ik --server URL --robot ID --pose ...`: joint solutions for a TCP pose in the cell
/// frame, nearest to the seed first.
pub fn ik(
    server: Target<'_>,
    robot: &str,
    pose: &[f64],
    seed: Vec<f64>,
    all: bool,
    json_out: bool,
) -> CliResult {
    runtime()?.block_on(async {
        let mut c = connect(server.url, server.conn).await?;
        let r = c
            .compute_ik(pb::IkRequest {
                robot_id: robot.into(),
                pose: Some(pb::Pose {
                    position: pose[..3].to_vec(),
                    quaternion_xyzw: pose[3..].to_vec(),
                }),
                seed,
                all_solutions: all,
                collision_free: false,
            })
            .await
            .map_err(status)?
            .into_inner();
        let sols: Vec<Vec<f64>> = r.solutions.into_iter().map(|s| s.values).collect();
        if json_out {
            print_json(&json!({"solutions": sols}));
        } else {
            for s in &sols {
                line(format!("{s:?}"));
            }
        }
        Ok(())
    })
}

/// `cella plan --server URL --robot ID (--goal q | --named NAME) [--motion free|ptp|lin|circ]`:
/// plans `request` on the server's cell from the robot's current state; optional trajectory
/// output file.
pub fn plan(
    server: Target<'_>,
    request: pb::PlanRequest,
    out: Option<&std::path::Path>,
    json_out: bool,
) -> CliResult {
    let robot = request.robot_id.clone();
    runtime()?.block_on(async {
        let mut c = connect(server.url, server.conn).await?;
        let r = c.plan(request).await.map_err(status)?.into_inner();
        let traj = r.trajectory.unwrap_or_default();
        let duration = traj.points.last().map_or(0.0, |p| p.t);
        if let Some(path) = out {
            let file = TrajectoryFile::from_msg(&traj);
            std::fs::write(path, file.to_json())
                .map_err(|e| format!("--out {}: {e}", path.display()))?;
        }
        if json_out {
            print_json(&json!({
                "solved": true, "world_version": r.world_version,
                "planning_time_us": r.planning_time * 1e6, "duration_s": duration,
                "points": traj.points.len(),
            }));
        } else {
            line(format!(
                "{robot}: planned in {:.0} µs against world version {}, {} points, {duration:.3} s",
                r.planning_time * 1e6,
                r.world_version,
                traj.points.len()
            ));
        }
        Ok(())
    })
}
