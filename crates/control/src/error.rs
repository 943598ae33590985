//! Errors of execution commands.

/// Why an execution command was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ControlError {
    /// An argument is malformed (the message names the field).
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Offending field.
        field: String,
        /// Why.
        reason: String,
    },
    /// No robot with this id.
    #[error("unknown robot '{0}'")]
    UnknownRobot(String),
    /// The robot cannot take the command in its present state (busy, faulted, not executing).
    #[error("robot '{robot}' {reason}")]
    NotReady {
        /// Robot id.
        robot: String,
        /// Why, e.g. "is moving (execution 3)".
        reason: String,
    },
    /// The trajectory does not begin where the robot is.
    #[error("trajectory does not start at the robot's current state: {0}")]
    StartMismatch(String),
    /// The trajectory collides with the current world or another robot's motion.
    #[error("trajectory collides: {0}")]
    Collision(String),
    /// The trajectory breaks a joint limit.
    #[error("trajectory breaks a limit: {0}")]
    Limits(#[source] Box<cella_trajectory::ValidationError>),
    /// A robot's joint limits cannot be used (from its description).
    #[error("invalid limits: {0}")]
    RobotLimits(#[source] cella_trajectory::TrajectoryError),
    /// The cell's geometry cannot be checked (a robot, an object or a part it carries).
    #[error("invalid cell: {0}")]
    Geometry(#[source] Box<cella_collision::CollisionError>),
    /// The executor thread is gone or did not answer.
    #[error("executor: {0}")]
    Executor(String),
    /// The driver failed.
    #[error("driver: {0}")]
    Driver(#[source] crate::driver::DriverError),
    /// A cell edit or lookup failed (unknown object or link, invalid value).
    #[error(transparent)]
    Cell(#[from] cella_cell::CellError),
}

impl ControlError {
    /// An [`ControlError::Invalid`] naming `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, ControlError>;
