//! `StudyError`: why a study could not be read, run or reported. A variant that fails (a
//! target out of reach, a collision, no path) is not an error: its result says so.

/// Result alias of the study crate.
pub type Result<T> = std::result::Result<T, StudyError>;

/// Why a study could not be read, run or reported; every message names the file or field.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// A file could not be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("{file}: {source}")]
    Write {
        /// The file.
        file: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The study text is not TOML.
    #[error("study: {0}")]
    Syntax(#[source] toml::de::Error),
    /// A field of the study is malformed.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field, e.g. `parameters.x.range` or `cell.robots[0].base.xyz[1]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The cell of the study's first variant cannot be built (a robot model, an object).
    #[error("cell of variant {variant}: {source}")]
    Cell {
        /// The variant.
        variant: usize,
        /// The cell crate's error, naming the field.
        #[source]
        source: cella_cell::CellError,
    },
    /// The 3D view of the best variant's motion could not be made.
    #[error("view of robot '{robot}': {source}")]
    View {
        /// The robot whose motion it shows.
        robot: String,
        /// The viewer's error.
        #[source]
        source: cella_view::CellPageError,
    },
    /// Results handed back (by remote workers) do not belong to this study.
    #[error("invalid results: {reason}")]
    Results {
        /// What does not fit.
        reason: String,
    },
}

impl StudyError {
    /// Shorthand for [`StudyError::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
