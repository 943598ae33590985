//! Command-line interface: argument definitions and dispatch. Each command lives in its own
//! module and returns a [`CliError`] instead of exiting, so `main` owns the exit code (the
//! table is in the crate documentation of `main.rs`).

mod acm;
mod args;
mod audit;
mod check;
mod client;
mod error;
mod exec;
mod fk;
mod ik;
mod live;
mod live_access;
mod output;
mod plan;
mod retime;
mod robot;
mod serve;
mod serve_limits;
mod study;
mod view;

use clap::{Parser, Subcommand};
pub use error::CliResult;

/// Robot-cell motion planning and control.
#[derive(Debug, Parser)]
#[command(
    name = "cella",
    version,
    about,
    after_help = "Exit status: 0 success; 1 the answer is no (no plan or IK solution, in \
                  collision, outside the limits, invalid); 2 bad usage or input; 3 server or \
                  connection failure."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Robot library: list bundled robots, check a robot description.
    #[command(subcommand)]
    Robot(robot::RobotCommand),
    /// Forward kinematics: TCP pose for joint values (metres, quaternion x,y,z,w).
    Fk(fk::FkArgs),
    /// Inverse kinematics: joint values for a TCP pose, nearest to the seed first.
    Ik(ik::IkArgs),
    /// Plan a benchmark problem (peer-bench-problem/v1 JSON); write the trajectory.
    Plan(plan::PlanArgs),
    /// Plan every problem below a directory and report statistics per scene.
    Bench(plan::BenchArgs),
    /// Time a joint path under a robot's limits and write the sampled trajectory.
    Retime(retime::RetimeArgs),
    /// Check a joint state of a problem's robot against its scene (collisions, clearance).
    Check(check::CheckArgs),
    /// Serve the cella.v1 gRPC API on a cell (default: the embedded demo cell).
    Serve(serve::ServeArgs),
    /// Plan and execute on a running server, with a progress bar; Ctrl-C stops the robot.
    Exec(exec::ExecArgs),
    /// Print the audit trail of `cella serve --audit FILE`, filtered (one row per command).
    Audit(audit::AuditArgs),
    /// Write the viewer page of a problem or cell with a trajectory: one HTML file that opens
    /// offline (robot, obstacles, animation, clearance, joint plots against the limits).
    View(view::ViewArgs),
    /// Run a cell study: sample variants of a cell template, evaluate the task on every core,
    /// rank them; write the results (JSON) and a report (HTML).
    Study(study::StudyArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    match cli.command {
        Command::Robot(c) => robot::run(c),
        Command::Fk(a) => fk::run(a),
        Command::Ik(a) => ik::run(a),
        Command::Plan(a) => plan::run_plan(&a),
        Command::Bench(a) => plan::run_bench(&a),
        Command::Serve(a) => serve::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Retime(a) => retime::run(&a),
        Command::Exec(a) => exec::run(&a),
        Command::View(a) => view::run(&a),
        Command::Audit(a) => audit::run(&a),
        Command::Study(a) => study::run(&a),
    }
}
