//! `cella plan` and `cella bench`: plan benchmark problems (the `peer-bench-problem/v1`
//! format) and report times, path lengths and durations.

use crate::cli::error::{CliError, CliResult};
use crate::cli::output::{line, print_json};
use cella::problem::Problem;
use cella::trajectory_file::TrajectoryFile;
use cella_collision::Checker;
use cella_planning::{JointSpace, PlanOptions, PlanningError, plan_joint};
use cella_trajectory::Limits;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Arguments of `cella plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Problem file (`peer-bench-problem/v1` JSON).
    #[arg(long, required_unless_present = "server")]
    pub problem: Option<PathBuf>,
    /// Plan on a running `cella serve` instead, for --robot (its cell id) from its current
    /// state to --goal or --named.
    #[arg(long, requires = "robot")]
    pub server: Option<String>,
    #[command(flatten)]
    pub connect: crate::cli::client::ConnectArgs,
    /// Robot id in the server's cell.
    #[arg(long)]
    pub robot: Option<String>,
    /// Joint goal, comma-separated (rad), with --server.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "named")]
    pub goal: Option<String>,
    /// Named pose goal, with --server.
    #[arg(long)]
    pub named: Option<String>,
    /// With --server: free (collision-free search, default), ptp (straight in joint space),
    /// lin (straight TCP line to the goal's TCP pose) or circ (TCP arc to it through
    /// --circ-via or about --circ-centre).
    #[arg(long, default_value = "free")]
    pub motion: String,
    /// With --server and --motion circ: a point the TCP passes on its arc, x,y,z (m, cell
    /// frame).
    #[arg(
        long,
        allow_hyphen_values = true,
        requires = "server",
        conflicts_with = "circ_centre"
    )]
    pub circ_via: Option<String>,
    /// With --server and --motion circ: the centre of the arc instead, x,y,z (m, cell frame).
    #[arg(long, allow_hyphen_values = true, requires = "server")]
    pub circ_centre: Option<String>,
    /// Write the trajectory (joint_names, points with t, q, qd, qdd) to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
    /// Planning time budget, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub time_budget: f64,
    /// Random seed (same seed, same result).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Velocity scaling (0, 1].
    #[arg(long, default_value_t = 1.0)]
    pub velocity_scale: f64,
    /// Acceleration scaling (0, 1].
    #[arg(long, default_value_t = 1.0)]
    pub acceleration_scale: f64,
    /// Sampling period of the written trajectory, seconds.
    #[arg(long, default_value_t = cella_trajectory::DEFAULT_PERIOD)]
    pub period: f64,
    /// Write the viewer page of the plan (one self-contained HTML file), or of its refusal:
    /// the offending state with its colliding pair.
    #[arg(long, conflicts_with = "server")]
    pub html: Option<PathBuf>,
}

/// Arguments of `cella bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Directory searched recursively for problem files.
    pub dir: PathBuf,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write per-problem results and per-scene statistics to this JSON file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Planning time budget per problem, seconds.
    #[arg(long, default_value_t = 1.0)]
    pub time_budget: f64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write the report as one self-contained HTML page: per-scene tables and the
    /// distributions of planning time, path length and duration.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// The outcome of planning one problem.
struct Outcome {
    name: String,
    scene: String,
    solved: bool,
    invalid: bool,
    /// Not solved because the request itself is malformed (not because the answer is no).
    bad_input: bool,
    reason: String,
    planning_time_us: f64,
    path_length: f64,
    duration_s: f64,
    trajectory: Option<TrajectoryFile>,
    search_us: f64,
    simplify_us: f64,
    iterations: usize,
    /// Why it was not solved.
    error: Option<PlanningError>,
}

fn options(
    time_budget: f64,
    seed: u64,
    vs: f64,
    acc: f64,
    period: f64,
) -> Result<PlanOptions, String> {
    if !(time_budget.is_finite() && time_budget > 0.0 && time_budget <= 3600.0) {
        return Err(format!(
            "--time-budget: {time_budget} s is not in (0, 3600]"
        ));
    }
    Ok(PlanOptions {
        time_budget: Duration::from_secs_f64(time_budget),
        seed,
        velocity_scale: vs,
        acceleration_scale: acc,
        period,
        ..PlanOptions::default()
    })
}

fn solve(problem: &Problem, options: &PlanOptions, keep_trajectory: bool) -> Outcome {
    // wall time from the problem in memory to the validated trajectory
    let began = Instant::now();
    let mut outcome = Outcome {
        name: problem.name.clone(),
        scene: problem.scene.clone(),
        solved: false,
        invalid: false,
        bad_input: false,
        reason: String::new(),
        planning_time_us: 0.0,
        path_length: 0.0,
        duration_s: 0.0,
        trajectory: None,
        search_us: 0.0,
        simplify_us: 0.0,
        iterations: 0,
        error: None,
    };
    let result = (|| -> Result<_, PlanningError> {
        let robot = problem.geometry.robot();
        let checker = Checker::new(problem.geometry.clone(), problem.base, &problem.world, &[])
            .map_err(|e| PlanningError::invalid("problem", e.to_string()))?;
        let space = JointSpace::of_chain(robot.chain())?;
        let limits =
            Limits::of_robot(robot).map_err(|e| PlanningError::invalid("limits", e.to_string()))?;
        plan_joint(
            &checker,
            &space,
            &limits,
            &problem.start,
            &problem.goals,
            options,
            None,
        )
    })();
    outcome.planning_time_us = began.elapsed().as_secs_f64() * 1e6;
    match result {
        Ok(m) => {
            outcome.solved = true;
            outcome.search_us = m.search_time.as_secs_f64() * 1e6;
            outcome.simplify_us = m.simplify_time.as_secs_f64() * 1e6;
            outcome.iterations = m.iterations;
            outcome.path_length = cella_planning::space::path_length(&m.path);
            outcome.duration_s = m.samples.duration();
            if keep_trajectory {
                outcome.trajectory = Some(TrajectoryFile::from_samples(
                    problem.joint_names.clone(),
                    &m.samples,
                ));
            }
        }
        Err(e) => {
            outcome.invalid = matches!(
                e,
                PlanningError::StartInCollision { .. }
                    | PlanningError::GoalInCollision { .. }
                    | PlanningError::OutOfLimits { .. }
            );
            outcome.bad_input = matches!(
                e,
                PlanningError::InvalidInput { .. }
                    | PlanningError::InvalidLimits { .. }
                    | PlanningError::TooLong { .. }
                    | PlanningError::TooLarge { .. }
                    | PlanningError::Kinematics(_)
            );
            outcome.reason = e.to_string();
            outcome.error = Some(e);
        }
    }
    outcome
}

fn outcome_json(o: &Outcome) -> serde_json::Value {
    json!({
        "name": o.name, "scene": o.scene, "solved": o.solved, "invalid": o.invalid,
        "reason": o.reason, "planning_time_us": o.planning_time_us,
        "path_length": o.path_length, "duration_s": o.duration_s,
        "search_us": o.search_us, "simplify_us": o.simplify_us, "iterations": o.iterations,
    })
}

/// Runs `cella plan`.
pub fn run_plan(a: &PlanArgs) -> CliResult {
    if let Some(url) = &a.server {
        let robot = a.robot.as_deref().unwrap_or_default();
        let goal = match (&a.goal, &a.named) {
            (Some(g), _) => cella_proto::v1::goal::Kind::Joints(cella_proto::v1::JointValues {
                values: crate::cli::args::parse_list("--goal", g)?,
            }),
            (None, Some(n)) => cella_proto::v1::goal::Kind::NamedPose(n.clone()),
            (None, None) => return Err("--server needs --goal or --named".into()),
        };
        let motion =
            crate::cli::args::motion(&a.motion, a.circ_via.as_deref(), a.circ_centre.as_deref())?;
        // every tuning flag is sent; the server checks them against its own bounds
        let request = cella_proto::v1::PlanRequest {
            robot_id: robot.to_owned(),
            goals: vec![cella_proto::v1::Goal { kind: Some(goal) }],
            velocity_scale: a.velocity_scale,
            acceleration_scale: a.acceleration_scale,
            seed: a.seed,
            time_budget: a.time_budget,
            period: a.period,
            motion: motion.motion as i32,
            circ_via: motion.circ_via,
            circ_centre: motion.circ_centre,
            ..Default::default()
        };
        return crate::cli::client::plan(
            crate::cli::client::Target {
                url,
                conn: &a.connect,
            },
            request,
            a.out.as_deref(),
            a.json,
        );
    }
    let Some(problem_path) = &a.problem else {
        return Err("--problem is required without --server".into());
    };
    let problem = Problem::from_file(problem_path).map_err(|e| e.to_string())?;
    let opts = options(
        a.time_budget,
        a.seed,
        a.velocity_scale,
        a.acceleration_scale,
        a.period,
    )?;
    let o = solve(&problem, &opts, a.out.is_some() || a.html.is_some());
    if let (Some(path), Some(traj)) = (&a.out, &o.trajectory) {
        std::fs::write(path, traj.to_json())
            .map_err(|e| format!("--out {}: {e}", path.display()))?;
    }
    if let Some(html) = &a.html {
        crate::cli::view::plan_page(
            problem_path,
            &problem,
            o.trajectory.as_ref(),
            o.error.as_ref(),
            html,
        )?;
    }
    if a.json {
        print_json(&outcome_json(&o));
    } else if o.solved {
        line(format!(
            "{}: solved in {:.0} µs, path length {:.3} rad, duration {:.3} s",
            o.name, o.planning_time_us, o.path_length, o.duration_s
        ));
    }
    let message = format!("{}: {}", o.name, o.reason);
    match (o.solved, o.bad_input) {
        (true, _) => Ok(()),
        (false, true) => Err(CliError::Input(message)),
        // no path, start or goal in collision or outside the limits: the planner's answer
        (false, false) => Err(CliError::Refused(message)),
    }
}

fn problem_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries {
        let path = e.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            problem_files(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx]
}

/// Runs `cella bench`.
pub fn run_bench(a: &BenchArgs) -> CliResult {
    let mut files = Vec::new();
    problem_files(&a.dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no problem file (*.json) found", a.dir.display()).into());
    }
    let opts = options(
        a.time_budget,
        a.seed,
        1.0,
        1.0,
        cella_trajectory::DEFAULT_PERIOD,
    )?;
    let mut outcomes = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        progress(i + 1, files.len());
        let problem = Problem::from_file(f).map_err(|e| e.to_string())?;
        outcomes.push(solve(&problem, &opts, false));
    }
    eprintln!();
    let mut scenes = serde_json::Map::new();
    let mut names: Vec<String> = outcomes.iter().map(|o| o.scene.clone()).collect();
    names.sort();
    names.dedup();
    names.push("all".into());
    let mut table = vec![format!(
        "{:<18} {:>6} {:>7} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "scene",
        "solved",
        "invalid",
        "failed",
        "median µs",
        "mean µs",
        "p95 µs",
        "p99 µs",
        "max µs",
        "length",
        "dur s"
    )];
    for scene in &names {
        let set: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| scene == "all" || &o.scene == scene)
            .collect();
        let solved: Vec<&&Outcome> = set.iter().filter(|o| o.solved).collect();
        let mut times: Vec<f64> = solved.iter().map(|o| o.planning_time_us).collect();
        times.sort_by(f64::total_cmp);
        let invalid = set.iter().filter(|o| o.invalid).count();
        let failed = set.len() - solved.len() - invalid;
        let mean = |v: Vec<f64>| {
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let stats = json!({
            "problems": set.len(), "solved": solved.len(), "invalid": invalid, "failed": failed,
            "median_us": percentile(&times, 0.5), "mean_us": mean(times.clone()),
            "p95_us": percentile(&times, 0.95), "p99_us": percentile(&times, 0.99),
            "max_us": times.last().copied().unwrap_or(f64::NAN),
            "mean_path_length": mean(solved.iter().map(|o| o.path_length).collect()),
            "mean_duration_s": mean(solved.iter().map(|o| o.duration_s).collect()),
        });
        table.push(format!(
            "{:<18} {:>6} {:>7} {:>8} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>8.3} {:>8.3}",
            scene,
            solved.len(),
            invalid,
            failed,
            stats["median_us"].as_f64().unwrap_or(f64::NAN),
            stats["mean_us"].as_f64().unwrap_or(f64::NAN),
            stats["p95_us"].as_f64().unwrap_or(f64::NAN),
            stats["p99_us"].as_f64().unwrap_or(f64::NAN),
            stats["max_us"].as_f64().unwrap_or(f64::NAN),
            stats["mean_path_length"].as_f64().unwrap_or(f64::NAN),
            stats["mean_duration_s"].as_f64().unwrap_or(f64::NAN),
        ));
        scenes.insert(scene.clone(), stats);
    }
    let report = json!({
        "problems": outcomes.iter().map(outcome_json).collect::<Vec<_>>(),
        "scenes": scenes,
    });
    if let Some(path) = &a.out {
        std::fs::write(path, report.to_string())
            .map_err(|e| format!("--out {}: {e}", path.display()))?;
    }
    if let Some(path) = &a.html {
        crate::cli::view::bench_page(&a.dir, &report, path)?;
    }
    if a.json {
        print_json(&report);
    } else {
        for row in table {
            line(row);
        }
    }
    Ok(())
}

fn progress(done: usize, total: usize) {
    const WIDTH: usize = 40;
    let filled = done * WIDTH / total.max(1);
    eprint!(
        "\r[{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled)
    );
}
