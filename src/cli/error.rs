//! Why a command failed, and the exit code each kind of failure gives (the table is in the
//! crate documentation of `main.rs`).

use std::fmt;

/// A failed command: what went wrong, classified by who can act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CliError {
    /// The command ran and its answer is no: no plan or IK solution, a start or goal in
    /// collision or outside the joint limits, `check` finding the state invalid, `robot check`
    /// finding problems, a trajectory failing validation. Exit code 1.
    Refused(String),
    /// Bad usage or input: malformed or unreadable files, bad values, unknown robots, a
    /// request the server rejects as invalid. Exit code 2 (clap's own usage errors exit 2 too).
    Input(String),
    /// The server could not be reached, failed, or ended a motion in a fault; `cella serve`
    /// could not bind or serve. Exit code 3.
    Server(String),
}

impl CliError {
    /// The process exit code of this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused(_) => 1,
            Self::Input(_) => 2,
            Self::Server(_) => 3,
        }
    }

    /// A gRPC error status of the server, classified by its code: the server's "no"
    /// (`FAILED_PRECONDITION`: in collision, unreachable, robot busy; `DEADLINE_EXCEEDED`: no
    /// path within the budget; `ABORTED`) is [`CliError::Refused`], its verdict on the request
    /// (`INVALID_ARGUMENT`, `NOT_FOUND`, `OUT_OF_RANGE`, `RESOURCE_EXHAUSTED` for an answer too
    /// large, `ALREADY_EXISTS`) and on the caller's credentials (`UNAUTHENTICATED`: none or
    /// unknown; `PERMISSION_DENIED`: a role too small) is [`CliError::Input`], and everything
    /// else (`UNAVAILABLE`, `INTERNAL`, `UNKNOWN`, transport failures) is [`CliError::Server`].
    pub fn from_status(status: &tonic::Status) -> Self {
        use tonic::Code;
        let text = format!("server: {:?}: {}", status.code(), status.message());
        match status.code() {
            Code::FailedPrecondition | Code::DeadlineExceeded | Code::Aborted => {
                Self::Refused(text)
            }
            Code::InvalidArgument
            | Code::NotFound
            | Code::OutOfRange
            | Code::ResourceExhausted
            | Code::AlreadyExists
            | Code::Unauthenticated
            | Code::PermissionDenied => Self::Input(text),
            _ => Self::Server(text),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(m) | Self::Input(m) | Self::Server(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {}

/// Messages without a class are about the input: argument parsing, files, values.
impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self::Input(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> Self {
        Self::Input(message.to_owned())
    }
}

/// The result of a command.
pub type CliResult = Result<(), CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_code_and_statuses_are_classified() {
        assert_eq!(CliError::Refused("x".into()).exit_code(), 1);
        assert_eq!(CliError::from("x").exit_code(), 2);
        assert_eq!(CliError::Server("x".into()).exit_code(), 3);
        for (status, code) in [
            (tonic::Status::failed_precondition("goal in collision"), 1),
            (tonic::Status::deadline_exceeded("no path"), 1),
            (tonic::Status::invalid_argument("goal: 3 values"), 2),
            (tonic::Status::not_found("unknown robot 'r2d2'"), 2),
            (
                tonic::Status::resource_exhausted("period: too many samples"),
                2,
            ),
            (tonic::Status::unauthenticated("unknown token"), 2),
            (
                tonic::Status::permission_denied("Jog needs the operator role"),
                2,
            ),
            (tonic::Status::unavailable("driver down"), 3),
            (tonic::Status::internal("worker failed"), 3),
            (tonic::Status::unknown("transport error"), 3),
        ] {
            let e = CliError::from_status(&status);
            assert_eq!(e.exit_code(), code, "{status:?}");
            assert!(e.to_string().contains(status.message()), "{e}");
        }
    }
}
