//! Who is calling: the identity and role a request was authenticated as. The authentication
//! layer puts an [`Identity`] into each request's extensions; handlers and the audit trail
//! read it with [`identity_of`]. Without authentication configured, every caller is the
//! [`Identity::local`] administrator.

use tonic::Request;

/// What a caller may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Cell info, FK, IK, check, plan, validate, the state and event streams.
    Viewer,
    /// A viewer that may also execute, jog, pause, resume, set the override, edit the world,
    /// attach and detach.
    Operator,
    /// An operator that may also reset robots and configure the cell.
    Admin,
}

impl Role {
    /// Lower-case name ("viewer", "operator", "admin").
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    /// The role named `name` (as in a tokens file), if any.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Who (a token's name, a client certificate's subject, or "local").
    pub name: String,
    /// What it may do.
    pub role: Role,
}

impl Identity {
    /// The caller when no authentication is configured (a loopback or explicitly insecure
    /// server): an administrator named "local".
    pub fn local() -> Self {
        Self {
            name: "local".into(),
            role: Role::Admin,
        }
    }
}

/// The identity `request` was authenticated as ([`Identity::local`] when the server runs
/// without authentication).
pub fn identity_of<T>(request: &Request<T>) -> Identity {
    request
        .extensions()
        .get::<Identity>()
        .cloned()
        .unwrap_or_else(Identity::local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_named_both_ways() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in [Role::Viewer, Role::Operator, Role::Admin] {
            assert_eq!(Role::parse(r.name()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_request_without_an_identity_is_the_local_administrator() {
        let mut r = Request::new(());
        assert_eq!(identity_of(&r), Identity::local());
        let viewer = Identity {
            name: "hmi".into(),
            role: Role::Viewer,
        };
        r.extensions_mut().insert(viewer.clone());
        assert_eq!(identity_of(&r), viewer);
    }
}
