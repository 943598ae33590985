//! Typed collision errors naming the file, link or object at fault.

/// Errors of the collision crate.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CollisionError {
    /// A mesh could not be found, read or parsed.
    #[error("link '{link}': {source}")]
    Mesh {
        /// Link that references the mesh.
        link: String,
        /// The mesh error.
        source: crate::mesh::MeshError,
    },
    /// A shape has non-finite or non-positive dimensions, or a pose is not finite.
    #[error("{what}: {reason}")]
    BadGeometry {
        /// Link or object name.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A name (link, object) is unknown.
    #[error("unknown {kind} '{name}'{hint}")]
    Unknown {
        /// "link", "object", "robot".
        kind: &'static str,
        /// The name given.
        name: String,
        /// Extra hint (known names).
        hint: String,
    },
    /// A name is already used.
    #[error("{kind} '{name}' already exists")]
    Duplicate {
        /// "object".
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// The URDF could not be parsed.
    #[error("URDF: {0}")]
    Urdf(#[source] cella_kinematics::error::Shared<urdf_rs::UrdfError>),
    /// Kinematics failure (joint count, non-finite joints).
    #[error(transparent)]
    Kinematics(#[from] cella_kinematics::KinematicsError),
}

/// Result alias of the collision crate.
pub type Result<T> = std::result::Result<T, CollisionError>;
