//! The CLI as a client of a running `cella serve` (`--server URL`): fk, ik and plan go over
//! gRPC to the cell the server holds (poses in the cell frame, robots by their cell id).

use super::error::{CliError, CliResult};
use super::output::line;
use super::output::print_json;
use cella::trajectory_file::{TrajectoryFile, TrajectoryPoint};
use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_client::CellServiceClient;
use serde_json::json;

/// The runtime the client calls run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Server(format!("runtime: {e}")))
}

/// A client of the server at `url`: a malformed address is bad input, one that cannot be
/// reached a connection failure.
pub async fn connect(url: &str) -> Result<CellServiceClient<tonic::transport::Channel>, CliError> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|e| CliError::Input(format!("--server {url}: {e}")))?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| CliError::Server(format!("--server {url}: {e}")))?;
    Ok(CellServiceClient::new(channel))
}

/// A failed call, classified by its status code ([`CliError::from_status`]).
pub fn status(e: tonic::Status) -> CliError {
    CliError::from_status(&e)
}

/// `cella fk --server URL --robot ID --joints ...`: TCP pose in the cell frame.
pub fn fk(url: &str, robot: &str, joints: Vec<f64>, json_out: bool) -> CliResult {
    runtime()?.block_on(async {
        let mut c = connect(url).await?;
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
    url: &str,
    robot: &str,
    pose: &[f64],
    seed: Vec<f64>,
    all: bool,
    json_out: bool,
) -> CliResult {
    runtime()?.block_on(async {
        let mut c = connect(url).await?;
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

/// `cella plan --server URL --robot ID (--goal q | --named NAME) [--motion free|ptp|lin]`:
/// plan on the server's cell
/// from the robot's current state; optional trajectory output file.
pub fn plan(
    url: &str,
    robot: &str,
    goal: pb::goal::Kind,
    motion: pb::MotionType,
    velocity_scale: f64,
    out: Option<&std::path::Path>,
    json_out: bool,
) -> CliResult {
    runtime()?.block_on(async {
        let mut c = connect(url).await?;
        let r = c
            .plan(pb::PlanRequest {
                robot_id: robot.into(),
                goals: vec![pb::Goal { kind: Some(goal) }],
                velocity_scale,
                motion: motion as i32,
                ..Default::default()
            })
            .await
            .map_err(status)?
            .into_inner();
        let traj = r.trajectory.unwrap_or_default();
        let duration = traj.points.last().map_or(0.0, |p| p.t);
        if let Some(path) = out {
            let file = TrajectoryFile {
                joint_names: traj.joint_names.clone(),
                points: traj
                    .points
                    .iter()
                    .map(|p| TrajectoryPoint {
                        t: p.t,
                        q: p.q.clone(),
                        qd: Some(p.qd.clone()),
                        qdd: Some(p.qdd.clone()),
                    })
                    .collect(),
            };
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
