//! `cella check`: is a joint state of a problem's robot valid in its scene?

use super::args::parse_list;
use super::error::{CliError, CliResult};
use super::output::{line, print_json};
use cella::problem::Problem;
use cella_collision::Checker;
use std::path::PathBuf;

/// Arguments of `cella check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Problem file (`peer-bench-problem/v1` JSON): the robot and the obstacles.
    #[arg(long)]
    pub problem: PathBuf,
    /// Joint values, comma-separated (rad).
    #[arg(long, allow_hyphen_values = true)]
    pub joints: String,
    /// Print `{"valid": bool, "collisions": [["link", "object"], ...], "min_distance": m,
    /// "closest": ["link", "object"]}`. `min_distance` is the smallest clearance over the
    /// checked pairs (the real meshes' convex hulls where a link has them, capsules for
    /// attached objects) minus what the pair must keep (the scene's padding for objects, and
    /// the exact layer's 0.1 mm certification margin): negative exactly when `valid` is false.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cella check`.
pub fn run(a: &CheckArgs) -> CliResult {
    let problem = Problem::from_file(&a.problem).map_err(|e| e.to_string())?;
    let q = parse_list("--joints", &a.joints)?;
    let robot = problem.geometry.robot();
    robot.chain().check_limits(&q).map_err(|e| match e {
        // a state outside the joint limits is invalid: the check's answer
        cella_kinematics::KinematicsError::OutOfLimits { .. } => {
            CliError::Refused(format!("--joints: {e}"))
        }
        other => CliError::Input(format!("--joints: {other}")),
    })?;
    let checker = Checker::new(problem.geometry.clone(), problem.base, &problem.world, &[])
        .map_err(|e| e.to_string())?;
    let mut s = checker.scratch();
    let valid = checker.is_valid(&mut s, &q);
    let collisions = checker.contacts(&mut s, &q);
    let closest = checker.distance(&mut s, &q);
    let min_distance = closest.as_ref().map_or(f64::INFINITY, |c| c.distance);
    if a.json {
        print_json(&serde_json::json!({
            "valid": valid,
            "collisions": collisions.iter().map(|(l, o)| [l, o]).collect::<Vec<_>>(),
            "min_distance": min_distance,
            "closest": closest.as_ref().map(|c| [&c.a, &c.b]),
        }));
    } else {
        line(format!(
            "{}: {}",
            problem.name,
            if valid { "valid" } else { "IN COLLISION" }
        ));
        for (l, o) in &collisions {
            line(format!("  {l} - {o}"));
        }
        if let Some(c) = closest {
            line(format!(
                "  clearance beyond the required {:.4} m ({} - {})",
                c.distance, c.a, c.b
            ));
        }
    }
    if valid {
        Ok(())
    } else {
        let pairs: Vec<String> = collisions
            .iter()
            .map(|(l, o)| format!("{l} - {o}"))
            .collect();
        Err(CliError::Refused(format!(
            "{}: the state is in collision ({})",
            problem.name,
            pairs.join(", ")
        )))
    }
}
