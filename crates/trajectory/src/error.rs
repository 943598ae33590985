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
    /// The trajectory would last longer than [`MAX_DURATION`](crate::sampled::MAX_DURATION):
    /// the limits it was timed under are out of proportion (a speed scaled to nearly zero).
    #[error("a {duration:.3e} s trajectory is longer than the {max} s allowed")]
    TooLong {
        /// The duration it would have, s (infinite when a limit underflows).
        duration: f64,
        /// The longest allowed, s.
        max: f64,
    },
    /// Sampling the trajectory would take more samples than allowed (refused before any
    /// sample is allocated).
    #[error(
        "{duration:.4} s sampled every {period} s is {samples:.3e} samples, more than the {max} allowed"
    )]
    TooManySamples {
        /// Duration, s.
        duration: f64,
        /// Sampling period, s.
        period: f64,
        /// Samples it would take (both ends counted).
        samples: f64,
        /// The most allowed.
        max: usize,
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
