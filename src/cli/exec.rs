//! `cella exec`: plan on a running `cella serve` and execute, showing progress and the live
//! state; Ctrl-C sends a stop (a second Ctrl-C an immediate stop).

use crate::cli::client::{connect, runtime, status};
use crate::cli::error::{CliError, CliResult};
use crate::cli::output::{line, print_json};
use cella::trajectory_file::TrajectoryFile;
use cella_proto::v1 as pb;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use tokio_stream::StreamExt;

/// Lease of the executions `cella exec` starts, s: the robot stops this long after the
/// command dies (it renews the lease four times per period while it watches).
const LEASE_S: f64 = 1.0;

/// Arguments of `cella exec`.
#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// Address of the running `cella serve`.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub server: String,
    #[command(flatten)]
    pub connect: crate::cli::client::ConnectArgs,
    /// Robot id in the server's cell.
    #[arg(long)]
    pub robot: String,
    /// Joint goal, comma-separated (rad): planned from the robot's current state.
    #[arg(long, allow_hyphen_values = true, conflicts_with_all = ["named", "trajectory"])]
    pub goal: Option<String>,
    /// Named pose goal.
    #[arg(long, conflicts_with = "trajectory")]
    pub named: Option<String>,
    /// TCP pose goal in the cell frame: x,y,z,qx,qy,qz,qw (m, unit quaternion).
    #[arg(long, allow_hyphen_values = true, conflicts_with_all = ["goal", "named", "trajectory"])]
    pub pose: Option<String>,
    /// How to move: free (collision-free search), ptp (straight in joint space), lin
    /// (straight TCP line) or circ (TCP arc through --circ-via or about --circ-centre).
    #[arg(long, default_value = "free")]
    pub motion: String,
    /// With --motion circ: a point the TCP passes on its arc, x,y,z (m, cell frame).
    #[arg(long, allow_hyphen_values = true, conflicts_with_all = ["circ_centre", "trajectory"])]
    pub circ_via: Option<String>,
    /// With --motion circ: the centre of the arc instead, x,y,z (m, cell frame).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "trajectory")]
    pub circ_centre: Option<String>,
    /// Execute this trajectory file (as `cella plan --out` writes it) instead of planning.
    #[arg(long)]
    pub trajectory: Option<PathBuf>,
    /// Velocity scaling of the plan (0, 1].
    #[arg(long, default_value_t = 1.0)]
    pub velocity_scale: f64,
    /// Speed override set before the motion starts, [0, 1].
    #[arg(long)]
    pub speed_override: Option<f64>,
    /// Live state updates per second.
    #[arg(long, default_value_t = 20.0)]
    pub rate_hz: f64,
    /// Print a JSON summary at the end instead of the progress line.
    #[arg(long)]
    pub json: bool,
}

fn read_trajectory(path: &PathBuf) -> Result<pb::Trajectory, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--trajectory {}: {e}", path.display()))?;
    let file = TrajectoryFile::from_json(&text)
        .map_err(|e| format!("--trajectory {}: {e}", path.display()))?;
    // with its joint names: the server refuses the trajectory of another robot's joints
    file.to_msg()
        .map_err(|e| format!("--trajectory {}: {e}", path.display()))
}

fn progress_line(s: &pb::RobotState) -> String {
    const WIDTH: usize = 30;
    let filled = ((s.progress * WIDTH as f64).round() as usize).min(WIDTH);
    let status = pb::RobotStatus::try_from(s.status)
        .map(|x| {
            x.as_str_name()
                .trim_start_matches("ROBOT_STATUS_")
                .to_lowercase()
        })
        .unwrap_or_default();
    let tcp = s
        .tcp_pose
        .as_ref()
        .map(|p| {
            format!(
                "[{:.3}, {:.3}, {:.3}]",
                p.position[0], p.position[1], p.position[2]
            )
        })
        .unwrap_or_default();
    format!(
        "[{}{}] {:>3.0}%  {:.2}/{:.2} s  {status:<8} override {:>3.0}%  TCP {tcp} m",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        s.progress * 100.0,
        s.trajectory_time,
        s.trajectory_duration,
        s.speed_override * 100.0,
    )
}

/// What `cella exec` runs: a trajectory file, or a goal to plan to on the server.
enum Motion {
    Trajectory(pb::Trajectory),
    Plan(pb::goal::Kind, crate::cli::args::Motion),
}

/// The motion the arguments ask for, checked before the server is contacted (a bad argument
/// is bad input whether or not the server is up).
fn motion_of(a: &ExecArgs) -> Result<Motion, CliError> {
    if let Some(path) = &a.trajectory {
        return Ok(Motion::Trajectory(read_trajectory(path)?));
    }
    let goal = match (&a.goal, &a.named, &a.pose) {
        (Some(g), _, _) => pb::goal::Kind::Joints(pb::JointValues {
            values: crate::cli::args::parse_list("--goal", g)?,
        }),
        (None, Some(n), _) => pb::goal::Kind::NamedPose(n.clone()),
        (None, None, Some(p)) => {
            let v = crate::cli::args::parse_list("--pose", p)?;
            if v.len() != 7 {
                return Err("--pose: 7 values x,y,z,qx,qy,qz,qw".into());
            }
            pb::goal::Kind::Pose(pb::Pose {
                position: v[..3].to_vec(),
                quaternion_xyzw: v[3..].to_vec(),
            })
        }
        (None, None, None) => {
            return Err("give --goal, --named, --pose or --trajectory".into());
        }
    };
    let motion =
        crate::cli::args::motion(&a.motion, a.circ_via.as_deref(), a.circ_centre.as_deref())?;
    Ok(Motion::Plan(goal, motion))
}

/// Runs `cella exec`.
pub fn run(a: &ExecArgs) -> CliResult {
    if !(a.rate_hz.is_finite() && a.rate_hz > 0.0 && a.rate_hz <= 1000.0) {
        return Err(format!("--rate-hz {}: must be in (0, 1000]", a.rate_hz).into());
    }
    let what = motion_of(a)?;
    runtime()?.block_on(async {
        let mut c = connect(&a.server, &a.connect).await?;
        let (trajectory, world_version, planning_time) = match what {
            Motion::Trajectory(t) => (t, 0, None),
            Motion::Plan(goal, motion) => {
                let plan = c
                    .plan(pb::PlanRequest {
                        robot_id: a.robot.clone(),
                        goals: vec![pb::Goal { kind: Some(goal) }],
                        velocity_scale: a.velocity_scale,
                        motion: motion.motion as i32,
                        circ_via: motion.circ_via,
                        circ_centre: motion.circ_centre,
                        ..Default::default()
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                (
                    plan.trajectory.unwrap_or_default(),
                    plan.world_version,
                    Some(plan.planning_time),
                )
            }
        };
        if let Some(v) = a.speed_override {
            c.set_speed_override(pb::SpeedOverrideRequest {
                robot_id: a.robot.clone(),
                speed_override: v,
            })
            .await
            .map_err(status)?;
        }
        let mut states = c
            .stream_state(pb::StreamStateRequest {
                robot_ids: vec![a.robot.clone()],
                rate_hz: a.rate_hz,
            })
            .await
            .map_err(status)?
            .into_inner();
        let started = c
            .execute(pb::ExecuteRequest {
                robot_id: a.robot.clone(),
                trajectory: Some(trajectory),
                world_version,
                request_id: String::new(),
                // bound to this process: if it dies, the robot stops within the lease
                lease: LEASE_S,
            })
            .await
            .map_err(status)?
            .into_inner();
        let id = started.execution_id;
        if !a.json {
            line(format!(
                "{}: execution {id}, {:.3} s at full speed{}",
                a.robot,
                started.duration,
                planning_time.map_or(String::new(), |t| format!(
                    " (planned in {:.0} µs)",
                    t * 1e6
                ))
            ));
        }
        let mut stops = 0;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        let mut heartbeat = tokio::time::interval(std::time::Duration::from_secs_f64(LEASE_S / 4.0));
        let s = loop {
            tokio::select! {
                _ = heartbeat.tick() => {
                    // a refused heartbeat means the motion ended: its state says how
                    let _ = c
                        .heartbeat(pb::HeartbeatRequest { robot_id: a.robot.clone(), execution_id: id })
                        .await;
                }
                _ = &mut ctrl_c => {
                    stops += 1;
                    c.stop(pb::StopRequest {
                        robot_id: a.robot.clone(),
                        immediate: stops > 1,
                        reason: "Ctrl-C in `cella exec`".into(),
                    })
                        .await
                        .map_err(status)?;
                    eprintln!("\nstop sent{}", if stops > 1 { " (immediate)" } else { "" });
                    ctrl_c.set(tokio::signal::ctrl_c());
                }
                next = states.next() => {
                    let Some(s) = next else {
                        return Err(CliError::Server("the server closed the state stream".into()));
                    };
                    let s = s.map_err(status)?;
                    if s.execution_id != id {
                        continue;
                    }
                    if !a.json {
                        eprint!("\r{}", progress_line(&s));
                        let _ = std::io::stderr().flush();
                    }
                    if s.outcome != pb::ExecutionOutcome::Running as i32 {
                        break s;
                    }
                }
            }
        };
        let outcome = pb::ExecutionOutcome::try_from(s.outcome)
            .map(|o| {
                o.as_str_name()
                    .trim_start_matches("EXECUTION_OUTCOME_")
                    .to_lowercase()
            })
            .unwrap_or_default();
        if a.json {
            print_json(&json!({
                "execution_id": id,
                "outcome": outcome,
                "trajectory_time": s.trajectory_time,
                "duration": s.trajectory_duration,
                "positions": s.positions,
                "stop_reason": s.stop_reason,
            }));
        } else {
            eprintln!();
            line(format!(
                "{}: execution {id} {outcome} at {:.3} of {:.3} s, joints {:?}{}",
                a.robot,
                s.trajectory_time,
                s.trajectory_duration,
                s.positions,
                if s.stop_reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", s.stop_reason)
                }
            ));
        }
        if outcome == "faulted" {
            // the controller or its driver failed the motion: not an answer to the request
            return Err(CliError::Server("the execution ended in a fault".into()));
        }
        Ok(())
    })
}
