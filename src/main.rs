//! `cella`: robot-cell motion planning and control. Command-line entry point.
//!
//! # Exit codes
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | the answer is no: no plan or IK solution (or none within the time budget), start or goal in collision or outside the joint limits, `check` finds the state invalid, `robot check` finds problems, a retimed trajectory fails validation; with `--server`, the server's `FAILED_PRECONDITION`, `DEADLINE_EXCEEDED` or `ABORTED` |
//! | 2 | bad usage or input: clap's usage errors, unreadable or malformed files, bad values, an unknown robot; with `--server`, the server's `INVALID_ARGUMENT`, `NOT_FOUND`, `OUT_OF_RANGE`, `RESOURCE_EXHAUSTED` or `ALREADY_EXISTS` |
//! | 3 | server or connection failure: the server cannot be reached or answers `UNAVAILABLE`, `INTERNAL`, `UNKNOWN` and the like, its state stream ends, `exec`'s motion ends in a fault; `serve` cannot bind its address or fails while serving |
//!
//! `bench` reports unsolved problems in its table and exits 0; `exec` exits 0 when the motion
//! completed or was stopped. The failure's message is written on stderr.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}
