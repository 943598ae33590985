//! `cella`: robot-cell motion planning and control. Command-line entry point.
//!
//! # Exit codes
//!
//! | code | meaning                                                                   |
//! |------|---------------------------------------------------------------------------|
//! | 0    | success                                                                   |
//! | 1    | the answer is no: no solution, in collision, outside the limits, invalid  |
//! | 2    | bad usage or input: arguments, files, values, unknown robot               |
//! | 3    | server or connection failure                                              |
//!
//! 1: no plan or IK solution (or none within the time budget), a start or goal in collision or
//! outside the joint limits, `check` finding the state invalid (in collision or outside the
//! limits), `robot check` finding problems, a retimed trajectory failing validation.
//!
//! 2: clap's usage errors, unreadable or malformed files, bad or non-finite values, wrong joint
//! counts, an unknown robot, a malformed `--server` address, an `https://` server without
//! `--ca` or TLS flags on an `http://` one; `serve` on a non-loopback address without TLS and
//! authentication (and without `--insecure`), or with unusable tokens, certificate or key
//! files.
//!
//! 3: the server cannot be reached or fails (or its certificate is not trusted), its state
//! stream ends, `exec`'s motion ends in a fault; `serve` cannot bind its address or fails while
//! serving.
//!
//! With `--server`, the server's status decides: `FAILED_PRECONDITION`, `DEADLINE_EXCEEDED`
//! and `ABORTED` give 1; `INVALID_ARGUMENT`, `NOT_FOUND`, `OUT_OF_RANGE`, `RESOURCE_EXHAUSTED`,
//! `ALREADY_EXISTS`, `UNAUTHENTICATED` and `PERMISSION_DENIED` give 2; every other code
//! (`UNAVAILABLE`, `INTERNAL`, `UNKNOWN`, ...) gives 3. `bench` reports unsolved problems in its table and exits 0; `exec` exits 0 when the
//! motion completed or was stopped. The message of a failure is written on stderr.

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
