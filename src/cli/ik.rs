//! `cella ik`: joint values reaching a TCP pose.

use super::args::{load_robot, parse_list};
use super::error::{CliError, CliResult};
use super::output::{line, print_json};
use cella_kinematics::chain::finite_range;
use cella_kinematics::ik::{IkOptions, IkSolutions};
use cella_kinematics::pose_from_xyz_quat;
use clap::Args;

/// Arguments of `cella ik`.
#[derive(Debug, Args)]
pub struct IkArgs {
    /// Bundled robot name, a robot.toml, or a URDF file.
    #[arg(long)]
    robot: String,
    /// Target TCP pose in the base frame: x,y,z (m), qx,qy,qz,qw.
    #[arg(long, allow_hyphen_values = true)]
    pose: String,
    /// Base link of the chain (default: the robot's group base).
    #[arg(long)]
    base: Option<String>,
    /// Tip link (default: the robot's TCP frame).
    #[arg(long)]
    tip: Option<String>,
    /// Seed joint values: solutions are ordered nearest to it (default: the `home` pose, else
    /// mid-range).
    #[arg(long, allow_hyphen_values = true)]
    seed: Option<String>,
    /// Print every solution (all arm configurations and multi-turn variants), not only the
    /// nearest.
    #[arg(long)]
    all: bool,
    /// Print `{"solutions": [[q1,...], ...]}`, nearest to the seed first.
    #[arg(long)]
    json: bool,
    /// Ask a running `cella serve` instead (then --robot is the robot's id in its cell and
    /// the pose is in the cell frame).
    #[arg(long)]
    server: Option<String>,
    #[command(flatten)]
    connect: super::client::ConnectArgs,
}

/// Runs `cella ik`.
pub fn run(a: IkArgs) -> CliResult {
    if let Some(url) = &a.server {
        let pose = super::args::parse_list("--pose", &a.pose)?;
        if pose.len() != 7 {
            return Err(format!("--pose: {} values, need x,y,z,qx,qy,qz,qw", pose.len()).into());
        }
        let seed = match &a.seed {
            Some(s) => super::args::parse_list("--seed", s)?,
            None => Vec::new(),
        };
        return super::client::ik(
            super::client::Target {
                url,
                conn: &a.connect,
            },
            &a.robot,
            &pose,
            seed,
            a.all,
            a.json,
        );
    }
    let robot = load_robot(&a.robot, a.base.as_deref(), a.tip.as_deref())?;
    let v = parse_list("--pose", &a.pose)?;
    if v.len() != 7 {
        return Err(format!(
            "--pose: expected 7 numbers x,y,z,qx,qy,qz,qw, got {}",
            v.len()
        )
        .into());
    }
    let target = pose_from_xyz_quat([v[0], v[1], v[2]], [v[3], v[4], v[5], v[6]])
        .map_err(|e| format!("--pose: {e}"))?;
    let chain = robot.chain();
    let seed = match &a.seed {
        Some(s) => {
            let q = parse_list("--seed", s)?;
            chain
                .check_joints("--seed", &q)
                .map_err(|e| e.to_string())?;
            q
        }
        None => match robot.named_pose("home") {
            Ok(h) => h.to_vec(),
            Err(_) => chain
                .variables()
                .iter()
                .map(|v| {
                    let (lo, hi) = finite_range(&v.limits);
                    0.5 * (lo + hi)
                })
                .collect(),
        },
    };
    let options = IkOptions {
        max_solutions: if a.all { 8 } else { 1 },
        all_turns: a.all,
        ..IkOptions::default()
    };
    let mut out = IkSolutions::new();
    robot
        .ik(&target, Some(&seed), &options, &mut out)
        .map_err(|e| match e {
            // no joint values reach the pose: the answer, not a bad request
            cella_kinematics::KinematicsError::Unreachable { .. } => {
                CliError::Refused(format!("--pose: {e}"))
            }
            other => CliError::Input(format!("--pose: {other}")),
        })?;
    let keep = if a.all { out.len() } else { 1 };
    let sols = &out.as_slice()[..keep];
    if a.json {
        let list: Vec<&[f64]> = sols.iter().map(|s| s.joints()).collect();
        print_json(&serde_json::json!({ "solutions": list }));
    } else {
        let names: Vec<&str> = chain.joint_names().collect();
        line(format!(
            "{} solution(s) [{}], solver {}:",
            sols.len(),
            names.join(", "),
            robot.solver().name()
        ));
        for s in sols {
            let q: Vec<String> = s.joints().iter().map(|x| format!("{x:.6}")).collect();
            let cfg = s
                .configuration
                .map(|c| format!("  ({})", c.label()))
                .unwrap_or_default();
            line(format!("  {}{cfg}", q.join(", ")));
        }
    }
    Ok(())
}
