//! Rust errors as the Python exceptions of `cella.errors`, with the field names the CLI and
//! the gRPC service give (`goals[0]`, `velocity_scale`, `start`, ...). The classes follow the
//! gRPC status codes (`convert.rs` of the server): `InvalidInput` (INVALID_ARGUMENT),
//! `NotFound`, `TooLarge` (RESOURCE_EXHAUSTED), `Refused` and its kinds (FAILED_PRECONDITION,
//! DEADLINE_EXCEEDED: the CLI's exit code 1), `Internal`.

use cella_cell::CellError;
use cella_kinematics::KinematicsError;
use cella_planning::PlanningError;
use cella_study::StudyError;
use cella_trajectory::TrajectoryError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A detail an exception carries besides its field and reason.
#[derive(Debug, Clone)]
pub enum Detail {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
    /// Numbers.
    Numbers(Vec<f64>),
    /// Named pairs (colliding links and objects).
    Pairs(Vec<(String, String)>),
}

/// An error on its way to Python: the `cella.errors` class, the message, the field at fault
/// and details.
#[derive(Debug, Clone)]
pub struct Error {
    class: &'static str,
    message: String,
    field: Option<String>,
    reason: Option<String>,
    details: Vec<(&'static str, Detail)>,
}

/// Result of the bindings.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    fn new(class: &'static str, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
            field: None,
            reason: None,
            details: Vec::new(),
        }
    }

    /// `cella.InvalidInput` naming `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let (field, reason) = (field.into(), reason.into());
        Self {
            field: Some(field.clone()),
            reason: Some(reason.clone()),
            ..Self::new("InvalidInput", format!("{field}: {reason}"))
        }
    }

    /// `cella.NotFound` of a `kind` ("robot", "object", "named pose") called `name`.
    pub fn not_found(field: Option<&str>, kind: &str, name: &str, message: String) -> Self {
        Self {
            field: field.map(str::to_owned),
            details: vec![
                ("kind", Detail::Text(kind.to_owned())),
                ("name", Detail::Text(name.to_owned())),
            ],
            ..Self::new("NotFound", message)
        }
    }

    /// An answer that is no: `class` is `Refused` or one of its kinds.
    pub fn refused(class: &'static str, field: Option<&str>, message: String) -> Self {
        Self {
            field: field.map(str::to_owned),
            ..Self::new(class, message)
        }
    }

    fn with(mut self, key: &'static str, detail: Detail) -> Self {
        self.details.push((key, detail));
        self
    }

    fn into_pyerr(self, py: Python<'_>) -> PyErr {
        let make = || -> PyResult<PyErr> {
            let class = py.import("cella.errors")?.getattr(self.class)?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("field", self.field.clone())?;
            kwargs.set_item("reason", self.reason.clone())?;
            for (key, detail) in &self.details {
                match detail {
                    Detail::Text(t) => kwargs.set_item(key, t)?,
                    Detail::Number(x) => kwargs.set_item(key, x)?,
                    Detail::Numbers(v) => kwargs.set_item(key, v.clone())?,
                    Detail::Pairs(p) => kwargs.set_item(key, p.clone())?,
                }
            }
            let instance = class.call((self.message.clone(),), Some(&kwargs))?;
            Ok(PyErr::from_value(instance))
        };
        make().unwrap_or_else(|_| PyRuntimeError::new_err(self.message))
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> Self {
        Python::attach(|py| e.into_pyerr(py))
    }
}

impl From<KinematicsError> for Error {
    fn from(e: KinematicsError) -> Self {
        let text = e.to_string();
        match e {
            KinematicsError::UnknownRobot { name, .. } => {
                Error::not_found(Some("robot"), "robot", &name, text)
            }
            KinematicsError::UnknownNamedPose(name) => {
                Error::not_found(None, "named pose", &name, text)
            }
            KinematicsError::UnknownLink(name) => Error::not_found(None, "link", &name, text),
            KinematicsError::UnknownJoint(name) => Error::not_found(None, "joint", &name, text),
            KinematicsError::JointCountMismatch { what, .. } => Error::invalid(what, text),
            KinematicsError::NonFinite { what, index, value } => {
                Error::invalid(format!("{what}[{index}]"), format!("{value} is not finite"))
            }
            KinematicsError::Unreachable { .. } => {
                Error::refused("Unreachable", Some("pose"), text)
            }
            KinematicsError::InvalidPose(_) => Error::invalid("pose", text),
            KinematicsError::OutOfLimits { .. } => Error::invalid("joints", text),
            KinematicsError::MalformedUrdf(_)
            | KinematicsError::InvalidUrdf { .. }
            | KinematicsError::NoChain { .. }
            | KinematicsError::InvalidConfig { .. }
            | KinematicsError::ConfigSyntax { .. }
            | KinematicsError::Io { .. }
            | KinematicsError::SolverMismatch { .. } => Error::invalid("robot", text),
        }
    }
}

impl From<CellError> for Error {
    fn from(e: CellError) -> Self {
        let text = e.to_string();
        match e {
            // the argument naming a robot is `robot_id`, as in the gRPC requests
            CellError::NotFound { kind, name } => {
                let field = (kind == "robot").then_some("robot_id");
                Error::not_found(field, kind, &name, text)
            }
            CellError::Invalid { field, reason } => Error::invalid(field, reason),
            CellError::Rejected { field, source } => Error::invalid(field, source.to_string()),
            CellError::Kinematics { field, source } => Error::invalid(field, source.to_string()),
            CellError::File(message) => Error::invalid("cell", message),
            CellError::FileSyntax(source) => Error::invalid("cell", source.to_string()),
            CellError::FileRead { field, .. }
            | CellError::FileRobot { field, .. }
            | CellError::FileGeometry { field, .. } => Error::invalid(field, text),
            CellError::WorldFull { .. } => Error {
                field: Some("objects".into()),
                ..Error::new("TooLarge", text)
            },
        }
    }
}

impl From<PlanningError> for Error {
    fn from(e: PlanningError) -> Self {
        let text = e.to_string();
        match e {
            PlanningError::InvalidInput { field, reason } => Error::invalid(field, reason),
            PlanningError::InvalidLimits { field, source } => {
                Error::invalid(field, source.to_string())
            }
            PlanningError::OutOfLimits { field, .. } => Error::invalid(field, text),
            PlanningError::StartInCollision { pairs } => {
                Error::refused("InCollision", Some("start"), text)
                    .with("pairs", Detail::Pairs(pairs))
            }
            PlanningError::GoalInCollision { pairs } => {
                Error::refused("InCollision", Some("goals"), text)
                    .with("pairs", Detail::Pairs(pairs))
            }
            PlanningError::MotionInCollision {
                fraction,
                pairs,
                step,
            } => Error::refused(
                "InCollision",
                step.map(|s| format!("steps[{s}]")).as_deref(),
                text,
            )
            .with("pairs", Detail::Pairs(pairs))
            .with("fraction", Detail::Number(fraction)),
            PlanningError::GoalUnreachable { .. } => {
                Error::refused("Unreachable", Some("goals"), text)
            }
            PlanningError::CartesianPathFailed {
                fraction, position, ..
            } => Error::refused("PathFailed", None, text)
                .with("fraction", Detail::Number(fraction))
                .with("position", Detail::Numbers(position.to_vec())),
            PlanningError::Timeout { .. } | PlanningError::NoPath { .. } => {
                Error::refused("NoPath", None, text)
            }
            PlanningError::Cancelled => Error::refused("Refused", None, text),
            PlanningError::TooLong { field, reason } => Error::invalid(field, reason),
            PlanningError::TooLarge { field, reason } => Error {
                field: Some(field),
                reason: Some(reason),
                ..Error::new("TooLarge", text)
            },
            PlanningError::Trajectory { .. } => Error::new("Internal", text),
            PlanningError::Kinematics(k) => k.into(),
        }
    }
}

impl From<TrajectoryError> for Error {
    fn from(e: TrajectoryError) -> Self {
        match e {
            TrajectoryError::Invalid { field, reason } => Error::invalid(field, reason),
            other => Error::invalid("trajectory", other.to_string()),
        }
    }
}

impl From<StudyError> for Error {
    fn from(e: StudyError) -> Self {
        let text = e.to_string();
        match e {
            StudyError::Invalid { field, reason } => Error::invalid(field, reason),
            StudyError::Read { file, .. } | StudyError::Write { file, .. } => {
                Error::invalid(file, text)
            }
            StudyError::Syntax(_) => Error::invalid("study", text),
            StudyError::Cell { source, .. } => source.into(),
            StudyError::Results { reason } => Error::invalid("results", reason),
            // the report's 3D page of a robot: its meshes or its motion cannot be drawn
            StudyError::View { .. } => Error::invalid("html", text),
        }
    }
}
