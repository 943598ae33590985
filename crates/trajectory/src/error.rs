//! Typed trajectory errors naming the field, the joint and the reason.

/// Errors of trajectory generation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrajectoryError {
    /// An input is malformed: dimensions, non-finite values, non-positive limits, scaling
    /// outside (0, 1], too few points.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Offending field.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl TrajectoryError {
    /// Shorthand constructor.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias.
pub type Result<T> = std::result::Result<T, TrajectoryError>;
