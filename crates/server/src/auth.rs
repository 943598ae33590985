//! Who may call what: authentication and authorization of `cella.v1` callers, the server's
//! TLS, and the policy on which addresses a server may listen on.
//!
//! A caller is identified by a bearer token (the `authorization: Bearer TOKEN` header) or,
//! under mutual TLS, by the subject of its client certificate. A tokens file
//! ([`Authenticator::from_toml`]) names each token and each certificate subject and gives it a
//! [`Role`]:
//!
//! ```toml
//! [[token]]
//! token = "4f1c0a9e6b2d47c3a8e5f0b19d7c2e6a"
//! name = "hmi-line-3"
//! role = "viewer"
//!
//! [[certificate]]
//! subject = "CN=plc-line-3,O=Plant"   # every attribute of the subject, in any order
//! role = "operator"
//! name = "plc-line-3"                 # optional: the subject is the name otherwise
//! ```
//!
//! [`AuthLayer`] checks every request before the service sees it and puts the caller's
//! [`Identity`] into the request's extensions ([`crate::identity::identity_of`] reads it):
//! no or unknown credentials are `UNAUTHENTICATED`, too small a role `PERMISSION_DENIED`
//! naming the role needed ([`METHOD_ROLES`]). Health and reflection are open to everyone.
//! Without a tokens file every caller is [`Identity::local`]; [`check_exposure`] allows that
//! on loopback addresses only, unless overridden explicitly.

mod subject;

use crate::audit::{AuditLog, AuditRecord, clip, code_name};
use crate::identity::{Identity, Role};
use cella_proto::v1::cell_service_server::SERVICE_NAME;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;
use subject::Subject;
use tonic::Status;
use tonic::codegen::Service;
use tonic::codegen::http;
use tonic::transport::server::{ServerTlsConfig, TcpConnectInfo, TlsConnectInfo};

/// The role each `cella.v1.CellService` method needs, by method name. A method missing here
/// needs [`Role::Admin`] (closed by default); a unit test checks that every RPC of the API is
/// listed.
pub const METHOD_ROLES: &[(&str, Role)] = &[
    // looking: the cell, kinematics, checks, plans, the streams
    ("GetCellInfo", Role::Viewer),
    ("ComputeFk", Role::Viewer),
    ("ComputeIk", Role::Viewer),
    ("CheckState", Role::Viewer),
    ("Plan", Role::Viewer),
    ("PlanBatch", Role::Viewer),
    ("PlanSequence", Role::Viewer),
    ("ValidateTrajectory", Role::Viewer),
    ("StreamState", Role::Viewer),
    ("StreamEvents", Role::Viewer),
    ("GetLoopHealth", Role::Viewer),
    // stopping a robot is never refused to an authenticated caller, whatever its role
    ("Stop", Role::Viewer),
    // moving robots and changing the world they move in
    ("Execute", Role::Operator),
    ("Heartbeat", Role::Operator),
    ("Jog", Role::Operator),
    ("Pause", Role::Operator),
    ("Resume", Role::Operator),
    ("SetSpeedOverride", Role::Operator),
    ("AddObject", Role::Operator),
    ("MoveObject", Role::Operator),
    ("RemoveObject", Role::Operator),
    ("AttachObject", Role::Operator),
    ("DetachObject", Role::Operator),
    // clearing a fault: the cell is trusted to move again
    ("Reset", Role::Admin),
];

/// Services anyone may call, authenticated or not: load balancers and tools must reach them.
pub const OPEN_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// Shortest token a tokens file may hold, characters.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The role a request for `path` (`/cella.v1.CellService/Execute`) needs; `None` for the
/// [`OPEN_SERVICES`]. Paths of no known method need [`Role::Admin`].
pub fn role_needed(path: &str) -> Option<Role> {
    let (service, method) = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .unwrap_or(("", ""));
    if OPEN_SERVICES.contains(&service) {
        return None;
    }
    if service != SERVICE_NAME {
        return Some(Role::Admin);
    }
    Some(
        METHOD_ROLES
            .iter()
            .find(|(m, _)| *m == method)
            .map_or(Role::Admin, |(_, role)| *role),
    )
}

/// A tokens file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Not TOML, or not the tables a tokens file holds (the text of the file is not quoted:
    /// it holds secrets).
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// An entry that cannot be used.
    #[error("[[{table}]] #{index}: {message}")]
    Entry {
        /// `token` or `certificate`.
        table: &'static str,
        /// 1-based position among the tables of its kind.
        index: usize,
        /// What is wrong (never the token).
        message: String,
    },
    /// No entry at all: nobody could call.
    #[error("no [[token]] or [[certificate]] entry: no caller could be authenticated")]
    Empty,
}

/// A certificate, key or CA for TLS that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// The server certificate chain holds no PEM certificate.
    #[error("server certificate: no PEM 'CERTIFICATE' block")]
    NoCertificate,
    /// The server key holds no PEM private key.
    #[error("server key: no PEM 'PRIVATE KEY' block")]
    NoKey,
    /// The client CA holds no PEM certificate.
    #[error("client CA: no PEM 'CERTIFICATE' block")]
    NoClientCa,
    /// rustls refused the configuration (a malformed certificate or key, a key that is not
    /// the certificate's, an unsupported algorithm).
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Why a server may not listen on an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{addr} is not a loopback address: serving it needs {}",
    missing(*.tls_missing, *.authentication_missing)
)]
pub struct ExposureError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// No TLS was configured.
    pub tls_missing: bool,
    /// No authentication was configured.
    pub authentication_missing: bool,
}

fn missing(tls: bool, authentication: bool) -> &'static str {
    match (tls, authentication) {
        (true, true) => "TLS and authentication",
        (true, false) => "TLS",
        (false, _) => "authentication",
    }
}

/// Whether a server may listen on `addr` secured as said. A loopback address may always be
/// served; any other needs TLS and authentication, or an explicit `insecure` override, which
/// returns the warnings to give at start and in `GetCellInfo`.
pub fn check_exposure(
    addr: SocketAddr,
    tls: bool,
    authentication: bool,
    insecure: bool,
) -> Result<Vec<String>, ExposureError> {
    if addr.ip().to_canonical().is_loopback() || (tls && authentication) {
        return Ok(Vec::new());
    }
    if !insecure {
        return Err(ExposureError {
            addr,
            tls_missing: !tls,
            authentication_missing: !authentication,
        });
    }
    let mut warnings = Vec::new();
    if !tls {
        warnings.push(format!(
            "insecure: served without TLS on {addr}, a non-loopback address: requests, \
             tokens and answers cross the network readable and alterable"
        ));
    }
    if !authentication {
        warnings.push(format!(
            "insecure: served without authentication on {addr}, a non-loopback address: \
             whoever reaches the port may move the robots"
        ));
    }
    Ok(warnings)
}

/// The TLS configuration of a server from PEM texts: its certificate chain and private key,
/// and with `client_ca` mutual TLS (a client without a certificate that chains to it is
/// refused at the handshake). Checked here, so a bad file is found before the server starts.
pub fn server_tls(
    certificate_chain: &[u8],
    key: &[u8],
    client_ca: Option<&[u8]>,
) -> Result<ServerTlsConfig, TlsError> {
    let has = |pem: &[u8], label: &str| {
        String::from_utf8_lossy(pem).contains(&format!("-----BEGIN {label}"))
    };
    if !has(certificate_chain, "CERTIFICATE-----") {
        return Err(TlsError::NoCertificate);
    }
    if ![
        "PRIVATE KEY-----",
        "RSA PRIVATE KEY-----",
        "EC PRIVATE KEY-----",
    ]
    .iter()
    .any(|label| has(key, label))
    {
        return Err(TlsError::NoKey);
    }
    let mut config = ServerTlsConfig::new()
        .identity(tonic::transport::Identity::from_pem(certificate_chain, key))
        // a peer that opens a connection and never finishes the handshake is dropped
        .timeout(Duration::from_secs(10));
    if let Some(ca) = client_ca {
        if !has(ca, "CERTIFICATE-----") {
            return Err(TlsError::NoClientCa);
        }
        config = config.client_ca_root(tonic::transport::Certificate::from_pem(ca));
    }
    // building the acceptor parses and checks everything; the server builds its own
    tonic::transport::Server::builder()
        .tls_config(config.clone())
        .map_err(|e| TlsError::Config(error_chain(&e)))?;
    Ok(config)
}

/// An error and its sources, `: `-separated (tonic's transport errors say little alone).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        // an I/O error wrapping another says its message again: once is enough
        let said = s.to_string();
        if !text.ends_with(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = s.source();
    }
    text
}

/// Whether `presented` equals `expected`, in a time that depends on the lengths of the two
/// only, never on where they differ: every byte of `expected` is visited and the differences
/// are accumulated, not returned at the first one.
fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut difference = u32::from(presented.len() != expected.len());
    for (i, &e) in expected.iter().enumerate() {
        let p = presented.get(i).copied().unwrap_or(0);
        difference |= u32::from(p ^ e);
    }
    // keep the compiler from turning the loop back into an early exit
    std::hint::black_box(difference) == 0
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
    #[serde(default)]
    certificate: Vec<CertificateEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    token: String,
    name: String,
    role: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateEntry {
    subject: String,
    role: String,
    #[serde(default)]
    name: Option<String>,
}

/// The callers a server knows: tokens and client certificate subjects, each with its
/// [`Identity`]. Its `Debug` output counts them and shows no token. The set can be replaced
/// while the server runs ([`Authenticator::reload_toml`]: a token revoked, a caller added);
/// every request is decided on the set current when it arrives.
pub struct Authenticator {
    callers: RwLock<Arc<Callers>>,
    /// Counts the reloads: open streams watch it to check their caller again
    /// ([`Authenticator::reloads`]).
    reloads: tokio::sync::watch::Sender<u64>,
}

/// One version of the known callers.
struct Callers {
    tokens: Vec<(Box<[u8]>, Identity)>,
    certificates: Vec<(Subject, Identity)>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("tokens", &self.token_count())
            .field("certificates", &self.certificate_count())
            .finish()
    }
}

impl Authenticator {
    /// Parses a tokens file: `[[token]]` tables with `token` (at least [`MIN_TOKEN_CHARS`]
    /// visible ASCII characters, no two alike), `name` and `role` (`viewer`, `operator` or
    /// `admin`), and `[[certificate]]` tables with `subject` (a client certificate's subject
    /// as `CN=...,O=...`: all its attributes, in any order), `role` and an optional `name`
    /// (the subject otherwise). No error quotes a token.
    pub fn from_toml(text: &str) -> Result<Self, AuthError> {
        Ok(Self {
            callers: RwLock::new(Arc::new(Callers::from_toml(text)?)),
            reloads: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Replaces the known callers with those of a tokens file, all at once; a file with an
    /// error changes nothing. Every later request is decided on the new set (a revoked token
    /// is `UNAUTHENTICATED` from then on), and every open stream checks its caller again: a
    /// stream whose credentials no longer admit it ends with `UNAUTHENTICATED` (see
    /// [`AuthLayer`]). Unary requests already running finish.
    pub fn reload_toml(&self, text: &str) -> Result<(), AuthError> {
        let callers = Arc::new(Callers::from_toml(text)?);
        *self.callers.write().unwrap_or_else(|p| p.into_inner()) = callers;
        self.reloads.send_modify(|n| *n += 1);
        Ok(())
    }

    /// A receiver that sees every later reload ([`Authenticator::reload_toml`]).
    pub fn reloads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    fn current(&self) -> Arc<Callers> {
        self.callers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many tokens it knows.
    pub fn token_count(&self) -> usize {
        self.current().tokens.len()
    }

    /// How many client certificate subjects it knows.
    pub fn certificate_count(&self) -> usize {
        self.current().certificates.len()
    }

    /// The identity of a bearer token, compared with every known token in constant time.
    pub fn identify_token(&self, token: &[u8]) -> Option<Identity> {
        let callers = self.current();
        let mut found = None;
        for (secret, identity) in &callers.tokens {
            // no early exit: the time taken does not say which token matched, if any
            if constant_time_eq(token, secret) {
                found = Some(identity);
            }
        }
        found.cloned()
    }

    /// The identity of the client certificate `der` (the leaf, already verified against the
    /// client CA by the TLS handshake), or why it has none.
    pub fn identify_certificate(&self, der: &[u8]) -> Result<Identity, String> {
        let subject =
            Subject::from_certificate(der).map_err(|e| format!("client certificate: {e}"))?;
        self.current()
            .certificates
            .iter()
            .find(|(s, _)| *s == subject)
            .map(|(_, identity)| identity.clone())
            .ok_or_else(|| {
                format!("client certificate {subject} has no [[certificate]] entry with its role")
            })
    }

    /// Who sent a request with these credentials: the `authorization` header's bearer token
    /// when there is one (an unknown token is refused even with a known certificate), the
    /// client certificate otherwise.
    pub fn authenticate(
        &self,
        authorization: Option<&[u8]>,
        client_certificate: Option<&[u8]>,
    ) -> Result<Identity, Status> {
        if let Some(header) = authorization {
            let token = bearer_token(header).ok_or_else(|| {
                Status::unauthenticated("the authorization header is not 'Bearer TOKEN'")
            })?;
            return self
                .identify_token(token)
                .ok_or_else(|| Status::unauthenticated("unknown token"));
        }
        if let Some(der) = client_certificate {
            return self
                .identify_certificate(der)
                .map_err(Status::unauthenticated);
        }
        Err(Status::unauthenticated(
            "no credentials: send 'authorization: Bearer TOKEN' or a client certificate",
        ))
    }
}

impl Callers {
    /// The callers of a tokens file (see [`Authenticator::from_toml`]).
    fn from_toml(text: &str) -> Result<Self, AuthError> {
        let file: TokensFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |span| {
                let before = &text.as_bytes()[..span.start.min(text.len())];
                let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                (line, column)
            });
            AuthError::Syntax {
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        if file.token.is_empty() && file.certificate.is_empty() {
            return Err(AuthError::Empty);
        }
        let role = |table, index, name: &str| {
            Role::parse(name).ok_or_else(|| AuthError::Entry {
                table,
                index,
                message: format!("role '{name}' is not viewer, operator or admin"),
            })
        };
        let mut tokens: Vec<(Box<[u8]>, Identity)> = Vec::new();
        for (i, t) in file.token.into_iter().enumerate() {
            let entry = |message: String| AuthError::Entry {
                table: "token",
                index: i + 1,
                message,
            };
            if t.name.trim().is_empty() {
                return Err(entry("empty name".into()));
            }
            let role = role("token", i + 1, &t.role)?;
            if t.token.len() < MIN_TOKEN_CHARS || !t.token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(entry(format!(
                    "({}) the token must be at least {MIN_TOKEN_CHARS} visible ASCII \
                     characters, without spaces",
                    t.name
                )));
            }
            if let Some((_, first)) = tokens.iter().find(|(s, _)| **s == *t.token.as_bytes()) {
                return Err(entry(format!(
                    "({}) repeats the token of '{}'",
                    t.name, first.name
                )));
            }
            tokens.push((
                t.token.into_bytes().into_boxed_slice(),
                Identity { name: t.name, role },
            ));
        }
        let mut certificates: Vec<(Subject, Identity)> = Vec::new();
        for (i, c) in file.certificate.into_iter().enumerate() {
            let entry = |message: String| AuthError::Entry {
                table: "certificate",
                index: i + 1,
                message,
            };
            let subject = Subject::parse(&c.subject).map_err(|e| entry(format!("subject: {e}")))?;
            let role = role("certificate", i + 1, &c.role)?;
            if certificates.iter().any(|(s, _)| *s == subject) {
                return Err(entry(format!("subject {subject} is listed twice")));
            }
            let name = match c.name {
                Some(n) if n.trim().is_empty() => return Err(entry("empty name".into())),
                Some(n) => n,
                None => subject.to_string(),
            };
            certificates.push((subject, Identity { name, role }));
        }
        Ok(Self {
            tokens,
            certificates,
        })
    }
}

/// The token of an `authorization: Bearer TOKEN` header value (the scheme in any case).
pub fn bearer_token(header: &[u8]) -> Option<&[u8]> {
    let header = header.trim_ascii();
    let split = header.iter().position(|&b| b == b' ')?;
    let (scheme, token) = header.split_at(split);
    let token = token.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"bearer") && !token.is_empty()).then_some(token)
}

/// The warnings a server gives about itself (an insecure override), put into every request's
/// extensions by [`AuthLayer`]; `GetCellInfo` returns them ([`warnings_of`]).
#[derive(Debug, Clone, Default)]
pub struct ServerWarnings(pub Arc<[String]>);

/// The server's warnings as `request` carries them (none when it went through no
/// [`AuthLayer`]).
pub fn warnings_of<T>(request: &tonic::Request<T>) -> Vec<String> {
    request
        .extensions()
        .get::<ServerWarnings>()
        .map(|w| w.0.to_vec())
        .unwrap_or_default()
}

/// How a server secures itself: TLS, who may call, and what it warns of. The default is a
/// plaintext server where every caller is [`Identity::local`] (for loopback addresses).
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// TLS of every connection (see [`server_tls`]); `None`: plaintext HTTP/2.
    pub tls: Option<ServerTlsConfig>,
    /// The callers it knows; `None`: no authentication, every caller is the local
    /// administrator.
    pub authenticator: Option<Arc<Authenticator>>,
    /// Said at start by the caller and in every `GetCellInfo` answer.
    pub warnings: Vec<String>,
}

/// A tower layer that authenticates and authorizes every request before the services see
/// it (see the module documentation), and inserts the caller's [`Identity`] and the server's
/// [`ServerWarnings`] into its extensions.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    authenticator: Option<Arc<Authenticator>>,
    warnings: ServerWarnings,
    audit: Option<Arc<AuditLog>>,
}

impl AuthLayer {
    /// A layer checking callers against `authenticator` (`None`: every caller is
    /// [`Identity::local`]) and passing `warnings` on to the handlers.
    pub fn new(authenticator: Option<Arc<Authenticator>>, warnings: Vec<String>) -> Self {
        Self {
            shared: Arc::new(Shared {
                authenticator,
                warnings: ServerWarnings(warnings.into()),
                audit: None,
            }),
        }
    }

    /// This layer, writing every request it refuses to `audit` (a `"refused"` line; see
    /// [`crate::audit`]).
    pub fn with_audit(self, audit: Option<Arc<AuditLog>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                authenticator: self.shared.authenticator.clone(),
                warnings: self.shared.warnings.clone(),
                audit,
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around the server's routes.
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl Shared {
    /// The identity a request to `path` runs as, or the status refusing it (with the caller,
    /// when it was identified).
    fn admit(
        &self,
        path: &str,
        credentials: &Credentials,
    ) -> Result<Identity, (Status, Option<Identity>)> {
        let Some(authenticator) = &self.authenticator else {
            return Ok(Identity::local());
        };
        credentials.admit(authenticator, path)
    }
}

/// What a request presented: its `authorization` header and its client certificate chain.
#[derive(Clone)]
struct Credentials {
    authorization: Option<http::HeaderValue>,
    certificates: Option<Arc<Vec<tonic::transport::CertificateDer<'static>>>>,
}

impl Credentials {
    fn of(headers: &http::HeaderMap, extensions: &http::Extensions) -> Self {
        Self {
            authorization: headers.get(http::header::AUTHORIZATION).cloned(),
            certificates: extensions
                .get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(TlsConnectInfo::peer_certs),
        }
    }

    /// The identity these credentials give for a request to `path` with the callers
    /// `authenticator` knows now, or the status refusing it (with the caller, when it was
    /// identified).
    fn admit(
        &self,
        authenticator: &Authenticator,
        path: &str,
    ) -> Result<Identity, (Status, Option<Identity>)> {
        let leaf = self
            .certificates
            .as_ref()
            .and_then(|c| c.first())
            .map(|c| c.as_ref());
        let authorization = self.authorization.as_ref().map(http::HeaderValue::as_bytes);
        let identity = authenticator
            .authenticate(authorization, leaf)
            .map_err(|s| (s, None))?;
        let needed = role_needed(path).unwrap_or(Role::Viewer);
        if identity.role < needed {
            let method = path.rsplit('/').next().unwrap_or(path);
            let status = Status::permission_denied(format!(
                "{method} needs the {} role: '{}' is {}",
                needed.name(),
                identity.name,
                identity.role.name()
            ));
            return Err((status, Some(identity)));
        }
        Ok(identity)
    }
}

impl Shared {
    /// Writes a refused request to the audit trail, when there is one.
    fn audit_refusal(
        &self,
        path: &str,
        extensions: &http::Extensions,
        status: &Status,
        who: Option<&Identity>,
    ) {
        let Some(audit) = &self.audit else {
            return;
        };
        let peer = extensions
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(|t| t.get_ref().remote_addr())
            .or_else(|| {
                extensions
                    .get::<TcpConnectInfo>()
                    .and_then(TcpConnectInfo::remote_addr)
            });
        let record = AuditRecord {
            who: who.map(|i| clip(&i.name)).unwrap_or_default(),
            role: who.map(|i| i.role.name().to_owned()).unwrap_or_default(),
            peer: peer.map(|a| a.to_string()).unwrap_or_default(),
            rpc: clip(path.rsplit('/').next().unwrap_or(path)),
            code: code_name(status.code()).into(),
            message: clip(status.message()),
            ..AuditRecord::default()
        };
        // off the network threads: the trail's lock may be held by a command's fsync
        let audit = audit.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = audit.write_refusal(record) {
                tracing::error!(error = %e, "audit trail: a refusal was not written");
            }
        });
    }
}

impl<S, B, R> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    R::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // (a clone of the URI shares its bytes: no copy of the path per request)
        let uri = request.uri().clone();
        let path = uri.path();
        if role_needed(path).is_none() {
            let response = self.inner.call(request);
            return Box::pin(async move { Ok(response.await?.map(tonic::body::Body::new)) });
        }
        let credentials = Credentials::of(request.headers(), request.extensions());
        match self.shared.admit(path, &credentials) {
            Ok(identity) => {
                tracing::debug!(caller = %identity.name, role = identity.role.name(), path, "authorized");
                let extensions = request.extensions_mut();
                extensions.insert(identity);
                extensions.insert(self.shared.warnings.clone());
                let response = self.inner.call(request);
                // a stream checks its caller again whenever the callers are reloaded
                let watch = STREAMING_METHODS
                    .iter()
                    .any(|m| path.rsplit('/').next() == Some(m))
                    .then(|| self.shared.authenticator.clone())
                    .flatten()
                    .map(|authenticator| (authenticator, credentials, path.to_owned()));
                Box::pin(async move {
                    let response = response.await?;
                    Ok(match watch {
                        Some((authenticator, credentials, path)) => response.map(|body| {
                            tonic::body::Body::new(Revocable::new(
                                tonic::body::Body::new(body),
                                authenticator,
                                credentials,
                                path,
                            ))
                        }),
                        None => response.map(tonic::body::Body::new),
                    })
                })
            }
            Err((status, who)) => {
                // the reason names no token: only that it was unknown
                tracing::info!(path, code = ?status.code(), reason = status.message(), "refused");
                self.shared
                    .audit_refusal(path, request.extensions(), &status, who.as_ref());
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

/// The server-streaming methods: their responses last, so a reload of the callers is checked
/// on them while they run ([`Revocable`]).
const STREAMING_METHODS: &[&str] = &["StreamState", "StreamEvents"];

/// The response body of a stream, ended with `UNAUTHENTICATED` (or `PERMISSION_DENIED`) in
/// its trailers as soon as a reload of the callers no longer admits the credentials it was
/// opened with: a revoked token or certificate, or a role lowered below the method's.
struct Revocable {
    inner: tonic::body::Body,
    authenticator: Arc<Authenticator>,
    credentials: Credentials,
    path: String,
    /// Resolves at the next reload (with the receiver, to wait for the one after); `None`
    /// once no reload can come.
    reload: Option<Pin<Box<dyn Future<Output = Option<ReloadReceiver>> + Send>>>,
    ended: bool,
}

type ReloadReceiver = tokio::sync::watch::Receiver<u64>;

/// Waits for the next reload; `None` when the authenticator is gone.
fn next_reload(
    mut reloads: ReloadReceiver,
) -> Pin<Box<dyn Future<Output = Option<ReloadReceiver>> + Send>> {
    Box::pin(async move { reloads.changed().await.ok().map(|()| reloads) })
}

impl Revocable {
    fn new(
        inner: tonic::body::Body,
        authenticator: Arc<Authenticator>,
        credentials: Credentials,
        path: String,
    ) -> Self {
        let reload = Some(next_reload(authenticator.reloads()));
        Self {
            inner,
            authenticator,
            credentials,
            path,
            reload,
            ended: false,
        }
    }

    /// The status ending the stream when its credentials are no longer admitted.
    fn refusal(&mut self, cx: &mut Context<'_>) -> Option<Status> {
        while let Some(reload) = self.reload.as_mut() {
            match reload.as_mut().poll(cx) {
                Poll::Pending => return None,
                Poll::Ready(None) => self.reload = None,
                Poll::Ready(Some(reloads)) => {
                    self.reload = Some(next_reload(reloads));
                    if let Err((status, who)) =
                        self.credentials.admit(&self.authenticator, &self.path)
                    {
                        let who = who.map_or_else(|| "the caller".to_owned(), |i| i.name);
                        tracing::info!(path = self.path, caller = %who, "stream ended: credentials revoked");
                        return Some(Status::new(
                            status.code(),
                            format!(
                                "stream ended: the callers were reloaded and {}",
                                status.message()
                            ),
                        ));
                    }
                }
            }
        }
        None
    }
}

impl tonic::codegen::Body for Revocable {
    type Data = tonic::codegen::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        if let Some(status) = self.refusal(cx) {
            self.ended = true;
            let mut trailers = http::HeaderMap::new();
            return Poll::Ready(Some(match status.add_header(&mut trailers) {
                Ok(()) => Ok(http_body::Frame::trailers(trailers)),
                Err(status) => Err(status),
            }));
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            self.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.is_end_stream()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use prost::Message;

    const FILE: &str = r#"
        [[token]]
        token = "viewer-token-0123456789"
        name = "hmi"
        role = "viewer"

        [[token]]
        token = "operator-token-0123456789"
        name = "cell-pc"
        role = "operator"

        [[certificate]]
        subject = "O=Plant,CN=plc-3"
        role = "admin"
    "#;

    #[test]
    fn every_rpc_of_the_api_has_a_role_and_every_role_an_rpc() {
        let set = prost_types::FileDescriptorSet::decode(cella_proto::FILE_DESCRIPTOR_SET).unwrap();
        let (package, service) = SERVICE_NAME.rsplit_once('.').unwrap();
        let methods: Vec<String> = set
            .file
            .iter()
            .filter(|f| f.package() == package)
            .flat_map(|f| &f.service)
            .filter(|s| s.name() == service)
            .flat_map(|s| &s.method)
            .map(|m| m.name().to_owned())
            .collect();
        assert!(methods.len() >= 20, "{methods:?}");
        for m in &methods {
            assert!(
                METHOD_ROLES.iter().any(|(name, _)| name == m),
                "{SERVICE_NAME}/{m} has no role in METHOD_ROLES"
            );
        }
        for (name, _) in METHOD_ROLES {
            assert!(
                methods.contains(&(*name).to_owned()),
                "{name} is not an RPC"
            );
            let listed = METHOD_ROLES.iter().filter(|(n, _)| n == name).count();
            assert_eq!(listed, 1, "{name} listed {listed} times");
        }
    }

    #[test]
    fn roles_follow_the_table_and_unknown_paths_need_an_administrator() {
        assert_eq!(
            role_needed("/cella.v1.CellService/Plan"),
            Some(Role::Viewer)
        );
        assert_eq!(
            role_needed("/cella.v1.CellService/Stop"),
            Some(Role::Viewer)
        );
        assert_eq!(
            role_needed("/cella.v1.CellService/Jog"),
            Some(Role::Operator)
        );
        assert_eq!(
            role_needed("/cella.v1.CellService/Reset"),
            Some(Role::Admin)
        );
        assert_eq!(role_needed("/cella.v1.CellService/Nope"), Some(Role::Admin));
        assert_eq!(role_needed("/other.Service/Plan"), Some(Role::Admin));
        assert_eq!(role_needed("garbage"), Some(Role::Admin));
        assert_eq!(role_needed("/grpc.health.v1.Health/Check"), None);
        assert_eq!(
            role_needed("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            None
        );
    }

    #[test]
    fn a_reload_revokes_and_adds_tokens_at_once_and_a_bad_file_changes_nothing() {
        let a = Authenticator::from_toml(FILE).unwrap();
        let bearer = |t: &str| format!("Bearer {t}");
        let who = |t: &str| a.authenticate(Some(bearer(t).as_bytes()), None);
        assert!(who("viewer-token-0123456789").is_ok());
        a.reload_toml(
            r#"
            [[token]]
            token = "new-operator-token-9876543210"
            name = "new-pc"
            role = "operator"
            "#,
        )
        .unwrap();
        let e = who("viewer-token-0123456789").unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        assert_eq!(who("new-operator-token-9876543210").unwrap().name, "new-pc");
        assert_eq!((a.token_count(), a.certificate_count()), (1, 0));
        // a file with an error: the callers stay as they were
        assert!(
            a.reload_toml("[[token]]\ntoken = \"short\"\nname = \"x\"\nrole = \"admin\"\n")
                .is_err()
        );
        assert!(a.reload_toml("").is_err());
        assert_eq!(
            who("new-operator-token-9876543210").unwrap().role,
            Role::Operator
        );
    }

    #[test]
    fn tokens_identify_their_callers_and_nothing_else_does() {
        let a = Authenticator::from_toml(FILE).unwrap();
        assert_eq!((a.token_count(), a.certificate_count()), (2, 1));
        let who = |h: &str| a.authenticate(Some(h.as_bytes()), None);
        assert_eq!(who("Bearer viewer-token-0123456789").unwrap().name, "hmi");
        let op = who("bearer  operator-token-0123456789 ").unwrap();
        assert_eq!((op.name.as_str(), op.role), ("cell-pc", Role::Operator));
        for bad in [
            "Bearer viewer-token-012345678",
            "Bearer viewer-token-01234567890",
            "Bearer ",
            "Basic viewer-token-0123456789",
            "viewer-token-0123456789",
            "",
        ] {
            let e = who(bad).unwrap_err();
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{bad}");
            assert!(!e.message().contains("token-0123"), "{}", e.message());
        }
        let none = a.authenticate(None, None).unwrap_err();
        assert_eq!(none.code(), tonic::Code::Unauthenticated);
        assert!(format!("{a:?}").contains("tokens: 2"));
        assert!(!format!("{a:?}").contains("token-0123"));
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abcdef", b"abcdef"));
        assert!(!constant_time_eq(b"abcdeg", b"abcdef"));
        assert!(!constant_time_eq(b"abcde", b"abcdef"));
        assert!(!constant_time_eq(b"abcdefg", b"abcdef"));
        assert!(!constant_time_eq(b"", b"abcdef"));
        assert!(constant_time_eq(b"", b""));
        // a presented token that is the expected one followed by zero bytes is not it
        assert!(!constant_time_eq(b"abcdef\0", b"abcdef"));
    }

    #[test]
    fn client_certificates_are_identified_by_their_whole_subject() {
        let a = Authenticator::from_toml(FILE).unwrap();
        let certificate = |cn: &str| {
            let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name = rcgen::DistinguishedName::new();
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
            params
                .distinguished_name
                .push(rcgen::DnType::OrganizationName, "Plant");
            let key = rcgen::KeyPair::generate().unwrap();
            params.self_signed(&key).unwrap().der().to_vec()
        };
        let plc = a.authenticate(None, Some(&certificate("plc-3"))).unwrap();
        assert_eq!(
            (plc.name.as_str(), plc.role),
            ("O=Plant,CN=plc-3", Role::Admin)
        );
        let e = a
            .authenticate(None, Some(&certificate("plc-4")))
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        assert!(e.message().contains("CN=plc-4"), "{}", e.message());
        // a token, when sent, decides: a wrong one is refused even with a good certificate
        let e = a
            .authenticate(
                Some(b"Bearer wrong-token-0123456789"),
                Some(&certificate("plc-3")),
            )
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let e = a
            .authenticate(None, Some(b"not a certificate"))
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn bad_tokens_files_are_refused_without_quoting_a_token() {
        let token = |t: &str, name: &str, role: &str| {
            format!("[[token]]\ntoken = \"{t}\"\nname = \"{name}\"\nrole = \"{role}\"\n")
        };
        let long = "a-long-enough-secret-42";
        for (text, says) in [
            (String::new(), "no [[token]]".to_owned()),
            (token(long, "hmi", "root"), "role 'root'".into()),
            (token("short", "hmi", "viewer"), "at least 16".into()),
            (
                token("has a space in it, long", "hmi", "viewer"),
                "visible ASCII".into(),
            ),
            (token(long, " ", "viewer"), "empty name".into()),
            (
                token(long, "a", "viewer") + &token(long, "b", "admin"),
                "[[token]] #2: (b) repeats the token of 'a'".into(),
            ),
            (
                format!("[[token]]\ntoken = \"{long}\"\nname = \"x\"\n"),
                "missing field `role`".into(),
            ),
            (
                format!(
                    "[[token]]\ntoken = \"{long}\"\nname = \"x\"\nrole = \"viewer\"\nrol = 1\n"
                ),
                "line 5".into(),
            ),
            (format!("token = \"{long}\" = 3"), "line 1".into()),
            (
                "[[certificate]]\nsubject = \"CN=a\"\nrole = \"viewer\"\n\
                 [[certificate]]\nsubject = \" cn=a \"\nrole = \"admin\"\n"
                    .into(),
                "[[certificate]] #2: subject CN=a is listed twice".into(),
            ),
            (
                "[[certificate]]\nsubject = \"Q=a\"\nrole = \"viewer\"\n".into(),
                "unknown attribute type 'Q'".into(),
            ),
        ] {
            let e = Authenticator::from_toml(&text).unwrap_err().to_string();
            assert!(e.contains(&says), "{text}\n→ {e}");
            assert!(!e.contains(long), "{e}");
        }
    }

    #[test]
    fn only_loopback_addresses_may_be_served_without_tls_and_authentication() {
        let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
        for local in ["127.0.0.1:50051", "[::1]:0", "[::ffff:127.0.0.1]:1"] {
            assert_eq!(check_exposure(addr(local), false, false, false), Ok(vec![]));
        }
        assert_eq!(
            check_exposure(addr("0.0.0.0:1"), true, true, false),
            Ok(vec![])
        );
        let e = check_exposure(addr("0.0.0.0:1"), false, true, false).unwrap_err();
        assert!(e.tls_missing && !e.authentication_missing);
        assert_eq!(
            e.to_string(),
            "0.0.0.0:1 is not a loopback address: serving it needs TLS"
        );
        let e = check_exposure(addr("[::]:1"), false, false, false).unwrap_err();
        assert!(
            e.to_string().ends_with("needs TLS and authentication"),
            "{e}"
        );
        let e = check_exposure(addr("10.0.0.1:1"), true, false, false).unwrap_err();
        assert!(e.to_string().ends_with("needs authentication"), "{e}");
        let warned = check_exposure(addr("0.0.0.0:1"), false, false, true).unwrap();
        assert_eq!(warned.len(), 2);
        assert!(warned[0].contains("without TLS") && warned[1].contains("without authentication"));
        let warned = check_exposure(addr("0.0.0.0:1"), true, false, true).unwrap();
        assert_eq!(warned.len(), 1);
    }

    #[test]
    fn tls_files_are_checked_before_serving() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        assert!(server_tls(cert_pem.as_bytes(), key_pem.as_bytes(), None).is_ok());
        assert!(
            server_tls(
                cert_pem.as_bytes(),
                key_pem.as_bytes(),
                Some(cert_pem.as_bytes())
            )
            .is_ok()
        );
        assert_eq!(
            server_tls(key_pem.as_bytes(), key_pem.as_bytes(), None).unwrap_err(),
            TlsError::NoCertificate
        );
        assert_eq!(
            server_tls(cert_pem.as_bytes(), cert_pem.as_bytes(), None).unwrap_err(),
            TlsError::NoKey
        );
        assert_eq!(
            server_tls(cert_pem.as_bytes(), key_pem.as_bytes(), Some(b"")).unwrap_err(),
            TlsError::NoClientCa
        );
        let garbled = cert_pem.replace("MII", "MIJ");
        let e = server_tls(garbled.as_bytes(), key_pem.as_bytes(), None).unwrap_err();
        assert!(matches!(e, TlsError::Config(_)), "{e}");
    }
}
