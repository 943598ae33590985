//! `cella retime`: time a joint path (trajectory-format JSON, `t` ignored) under a robot's
//! limits and write the sampled trajectory with `t`, `q`, `qd`, `qdd`.

use super::args::load_robot;
use super::error::{CliError, CliResult};
use super::output::line;
use cella::trajectory_file::TrajectoryFile;
use cella_trajectory::segmented::SegmentOptions;
use cella_trajectory::{
    Limits, SegmentedTrajectory, TimeOptimalOptions, TimeOptimalTrajectory, validate,
};
use serde_json::Value;
use std::path::PathBuf;

/// Arguments of `cella retime`.
#[derive(Debug, clap::Args)]
pub struct RetimeArgs {
    /// Bundled robot name, a robot.toml, or a URDF file.
    #[arg(long)]
    pub robot: String,
    /// Path file: `{"joint_names": [...], "points": [{"q": [...]}, ...]}` (`t`, `qd`, `qdd` ignored).
    #[arg(long)]
    pub path: PathBuf,
    /// Velocity scaling in (0, 1].
    #[arg(long, default_value_t = 1.0)]
    pub velocity_scale: f64,
    /// Acceleration (and jerk) scaling in (0, 1].
    #[arg(long, default_value_t = 1.0)]
    pub acceleration_scale: f64,
    /// Jerk-limited (double-S) profiles; needs jerk limits in robot.toml. A robot with jerk
    /// limits always gets them unless --time-optimal is given.
    #[arg(long)]
    pub jerk_limited: bool,
    /// Time-optimal under velocity and acceleration limits only (circular blends, TOTG /
    /// TOPP-RA class), ignoring the robot's jerk limits: for drives that do their own jerk
    /// limiting.
    #[arg(long, conflicts_with = "jerk_limited")]
    pub time_optimal: bool,
    /// How far the motion may pass from an intermediate waypoint when blending through it,
    /// rad (joint space); 0 stops at every waypoint.
    #[arg(long, default_value_t = 0.05)]
    pub max_deviation: f64,
    /// Sampling period, seconds.
    #[arg(long, default_value_t = cella_trajectory::DEFAULT_PERIOD)]
    pub period: f64,
    /// Output trajectory file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `cella retime`.
pub fn run(a: &RetimeArgs) -> CliResult {
    let robot = load_robot(&a.robot, None, None)?;
    let text = std::fs::read_to_string(&a.path)
        .map_err(|e| format!("--path {}: {e}", a.path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("--path: {e}"))?;
    let names: Vec<&str> = robot.chain().joint_names().collect();
    let given: Vec<&str> = v["joint_names"]
        .as_array()
        .ok_or("--path: joint_names missing")?
        .iter()
        .map(|n| n.as_str().unwrap_or(""))
        .collect();
    if given != names {
        return Err(
            format!("--path: joint_names {given:?} do not match the robot's {names:?}").into(),
        );
    }
    let points = v["points"].as_array().ok_or("--path: points missing")?;
    let mut path = Vec::with_capacity(points.len());
    for (k, p) in points.iter().enumerate() {
        let q: Vec<f64> = p["q"]
            .as_array()
            .ok_or(format!("--path: points[{k}].q missing"))?
            .iter()
            .map(|x| {
                x.as_f64()
                    .ok_or(format!("--path: points[{k}].q has a non-number"))
            })
            .collect::<Result<_, _>>()?;
        path.push(q);
    }
    if path.len() < 2 {
        return Err(format!("--path: {} point(s); a path needs at least 2", path.len()).into());
    }
    let mut limits = Limits::of_robot(&robot)
        .and_then(|l| l.scaled(a.velocity_scale, a.acceleration_scale))
        .map_err(|e| e.to_string())?;
    if !(a.max_deviation.is_finite() && a.max_deviation >= 0.0) {
        return Err(format!(
            "--max-deviation: {} rad is not a finite non-negative deviation",
            a.max_deviation
        )
        .into());
    }
    // a robot with jerk limits gets jerk-limited profiles (overlap-blended): no trajectory
    // may break a limit that is set, unless --time-optimal says the drive limits jerk itself
    let (s, method) = if a.time_optimal || (limits.jerk.is_none() && !a.jerk_limited) {
        limits.jerk = None;
        let options = TimeOptimalOptions {
            max_deviation: a.max_deviation,
            ..TimeOptimalOptions::default()
        };
        let traj =
            TimeOptimalTrajectory::new(&path, &limits, &options).map_err(|e| e.to_string())?;
        (
            traj.sample(a.period).map_err(|e| e.to_string())?,
            "time-optimal",
        )
    } else {
        let options = SegmentOptions {
            jerk_limited: true,
            max_deviation: a.max_deviation,
        };
        let traj = SegmentedTrajectory::new(&path, &limits, &options).map_err(|e| e.to_string())?;
        (
            traj.sample(a.period).map_err(|e| e.to_string())?,
            "jerk-limited",
        )
    };
    // the retimed trajectory breaks a limit: the answer is no (nothing is written)
    validate(&s, &limits, 1e-6).map_err(|e| CliError::Refused(format!("validation: {e}")))?;
    let names = names.iter().map(|n| (*n).to_owned()).collect();
    std::fs::write(&a.out, TrajectoryFile::from_samples(names, &s).to_json())
        .map_err(|e| format!("--out {}: {e}", a.out.display()))?;
    line(format!(
        "{method}: {} samples, duration {:.4} s -> {}",
        s.len(),
        s.duration(),
        a.out.display()
    ));
    Ok(())
}
