//! Typed errors of the kinematics crate. Every error names the item it is about.

use std::fmt;
use std::sync::Arc;
use thiserror::Error;

/// The error of another library (I/O, TOML, the URDF parser) kept as the source of a cella
/// error: shared, so the cella error stays `Clone`; two are equal when their messages are.
/// Displays as the error it holds; [`Shared::get`] gives it back typed.
#[derive(Debug)]
pub struct Shared<E>(Arc<E>);

impl<E> Shared<E> {
    /// Keeps `error`.
    pub fn new(error: E) -> Self {
        Self(Arc::new(error))
    }

    /// The error kept.
    pub fn get(&self) -> &E {
        &self.0
    }
}

impl<E> Clone for Shared<E> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<E> From<E> for Shared<E> {
    fn from(error: E) -> Self {
        Self::new(error)
    }
}

impl<E: fmt::Display> fmt::Display for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::error::Error> std::error::Error for Shared<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl<E: fmt::Display> PartialEq for Shared<E> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

/// Everything that can go wrong while loading a robot description or computing kinematics.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum KinematicsError {
    /// The URDF text could not be parsed as XML/URDF.
    #[error("malformed URDF: {0}")]
    MalformedUrdf(#[source] Shared<urdf_rs::UrdfError>),
    /// The URDF is well-formed XML but describes an invalid robot.
    #[error("invalid URDF: {what}")]
    InvalidUrdf {
        /// What is wrong, naming the link or joint.
        what: String,
    },
    /// A link name that the robot does not have.
    #[error("unknown link '{0}'")]
    UnknownLink(String),
    /// A joint name that the robot does not have.
    #[error("unknown joint '{0}'")]
    UnknownJoint(String),
    /// A named pose that the robot config does not define.
    #[error("unknown named pose '{0}'")]
    UnknownNamedPose(String),
    /// A robot name that is not in the library.
    #[error("unknown robot '{name}' (known: {known})")]
    UnknownRobot {
        /// The requested name.
        name: String,
        /// Comma-separated names that exist.
        known: String,
    },
    /// No kinematic chain leads from `base` down to `tip`.
    #[error("no kinematic chain from '{base}' to '{tip}': {reason}")]
    NoChain {
        /// Requested base link.
        base: String,
        /// Requested tip link.
        tip: String,
        /// Why the chain cannot be built.
        reason: String,
    },
    /// A joint vector of the wrong length.
    #[error("{what}: expected {expected} joint values, got {got}")]
    JointCountMismatch {
        /// Which input (e.g. "joints", "seed").
        what: String,
        /// Number of joints the chain has.
        expected: usize,
        /// Number of values given.
        got: usize,
    },
    /// A NaN or infinite number in an input.
    #[error("{what} is not finite (index {index}: {value})")]
    NonFinite {
        /// Which input (e.g. "joints", "pose.position").
        what: String,
        /// Index of the offending value.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A joint value outside its position limits.
    #[error("joint '{joint}' = {value} rad is outside its limits [{lower}, {upper}]")]
    OutOfLimits {
        /// Joint name.
        joint: String,
        /// Given value (rad or m).
        value: f64,
        /// Lower limit (rad or m).
        lower: f64,
        /// Upper limit (rad or m).
        upper: f64,
    },
    /// A pose whose quaternion is not a rotation (zero norm).
    #[error("invalid pose: {0}")]
    InvalidPose(String),
    /// The robot config (TOML) is invalid.
    #[error("invalid robot config{}: {what}", file.as_deref().map(|f| format!(" '{f}'")).unwrap_or_default())]
    InvalidConfig {
        /// The config file, when known.
        file: Option<String>,
        /// What is wrong, naming the key.
        what: String,
    },
    /// The robot config is not TOML of the robot config format.
    #[error("invalid robot config{}: {source}", file.as_deref().map(|f| format!(" '{f}'")).unwrap_or_default())]
    ConfigSyntax {
        /// The config file, when known.
        file: Option<String>,
        /// The TOML parser's error (line, column, key).
        #[source]
        source: Shared<toml::de::Error>,
    },
    /// A file could not be read.
    #[error("cannot read '{path}': {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating-system error.
        #[source]
        source: Shared<std::io::Error>,
    },
    /// The IK solver cannot be used for this chain.
    #[error("IK solver '{solver}' does not apply: {reason}")]
    SolverMismatch {
        /// Solver name.
        solver: String,
        /// Why.
        reason: String,
    },
    /// No joint configuration reaches the pose.
    #[error("pose unreachable: {reason}")]
    Unreachable {
        /// Why (e.g. outside the workspace, all solutions outside limits, no convergence).
        reason: String,
    },
}

/// Result alias of the kinematics crate.
pub type Result<T, E = KinematicsError> = std::result::Result<T, E>;

/// Checks that every value is finite, naming the input on failure.
pub fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(KinematicsError::NonFinite {
            what: what.to_owned(),
            index,
            value: values[index],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn foreign_errors_are_kept_as_sources_with_the_same_message() {
        let e = crate::Robot::from_config_file(std::path::Path::new("/nonexistent/robot.toml"))
            .unwrap_err();
        let KinematicsError::Io { source, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(source.get().kind(), std::io::ErrorKind::NotFound);
        assert!(e.to_string().ends_with(&source.get().to_string()), "{e}");
        assert!(e.source().is_some());

        let e = crate::RobotConfig::from_toml_str("urdf = ", Some("r.toml")).unwrap_err();
        assert!(matches!(e, KinematicsError::ConfigSyntax { .. }), "{e:?}");
        assert!(
            e.to_string().starts_with("invalid robot config 'r.toml': "),
            "{e}"
        );
        assert!(e.source().is_some());
        assert_eq!(e.clone(), e, "clones are equal");

        let e = crate::RobotModel::from_urdf_str("<robot").unwrap_err();
        assert!(e.to_string().starts_with("malformed URDF: "), "{e}");
        assert!(e.source().is_some());
    }
}
