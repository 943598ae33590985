//! `cella serve`: the gRPC service on a cell file (or the embedded demo cell).

use super::error::{CliError, CliResult};
use super::output::line;
use cella_cell::{CellFile, DEMO_CELL};
use cella_control::ControlOptions;
use cella_server::auth::{Authenticator, Security, check_exposure, server_tls};
use cella_server::{CellServer, default_workers};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `cella serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Cell description (TOML); without it the embedded demo cell is served.
    #[arg(long)]
    pub cell: Option<PathBuf>,
    /// Address to listen on (port 0: any free port). Once bound, the server prints
    /// `listening on http://ADDR` with the bound address on stdout.
    ///
    /// An address that is not loopback is refused unless the server has TLS and
    /// authentication (--tls-cert, --tls-key and --tokens), or --insecure is given.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,
    /// Append an audit trail of every state-changing command to FILE: JSON lines saying who,
    /// when, what, the outcome and the world version after, each command's intent synced to
    /// disk before it takes effect. `cella audit FILE` prints it.
    #[arg(long, value_name = "FILE")]
    pub audit: Option<PathBuf>,
    /// Keep the world in DIR across restarts: every world edit (objects, attachments, allowed
    /// contacts) is journaled there before it takes effect, and replayed at start, so the
    /// server comes back with the same world at the same version. One server per DIR.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Serve over TLS with this certificate chain (PEM, the server's certificate first), with
    /// --tls-key; the server then prints `listening on https://ADDR`.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: every client must present a certificate that chains to this CA (PEM); one
    /// without is refused at the handshake. Certificate subjects get their roles from the
    /// [[certificate]] tables of --tokens.
    #[arg(long, value_name = "FILE", requires_all = ["tls_cert", "tokens"])]
    pub client_ca: Option<PathBuf>,
    /// Authenticate every call (health and reflection excepted): a TOML file of [[token]]
    /// tables (token, name, role) and [[certificate]] tables (subject, role, optional name);
    /// roles are viewer, operator and admin. Clients send `authorization: Bearer TOKEN`.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// Serve a non-loopback --addr without TLS or without authentication anyway; the server
    /// warns of it at start and in every GetCellInfo answer.
    #[arg(long)]
    pub insecure: bool,
    /// Also serve a live, read-only 3D view of the cell on ADDR (port 0: any free port;
    /// printed as `live view on http://ADDR`): the robots moving, the world, the executions.
    /// With --tls-cert it is HTTPS, with --tokens it asks for a token (open /?token=TOKEN
    /// once). A non-loopback ADDR needs both, or --insecure.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Limits against slow or greedy clients.
    #[command(flatten)]
    pub limits: super::serve_limits::LimitArgs,
}

/// The security `a` asks for, its files read and checked: bad files and an exposed address
/// without TLS and authentication are bad input (exit 2) found before anything starts.
fn security(a: &ServeArgs) -> Result<Security, CliError> {
    let read = |flag: &str, path: &PathBuf| {
        std::fs::read(path).map_err(|e| CliError::Input(format!("{flag} {}: {e}", path.display())))
    };
    let warnings = check_exposure(a.addr, a.tls_cert.is_some(), a.tokens.is_some(), a.insecure)
        .map_err(|e| {
            let mut missing = Vec::new();
            if e.tls_missing {
                missing.push("TLS (--tls-cert and --tls-key)");
            }
            if e.authentication_missing {
                missing.push("authentication (--tokens)");
            }
            CliError::Input(format!(
                "--addr {}: not a loopback address: serving it needs {}; give --insecure to \
                 serve it without",
                e.addr,
                missing.join(" and ")
            ))
        })?;
    let authenticator = match &a.tokens {
        Some(path) => {
            let text = String::from_utf8(read("--tokens", path)?)
                .map_err(|_| CliError::Input(format!("--tokens {}: not UTF-8", path.display())))?;
            warn_if_readable_by_others(path);
            let auth = Authenticator::from_toml(&text)
                .map_err(|e| CliError::Input(format!("--tokens {}: {e}", path.display())))?;
            if auth.certificate_count() > 0 && a.client_ca.is_none() {
                tracing::warn!(
                    "--tokens: [[certificate]] entries are unused without --client-ca (no client \
                     presents a certificate)"
                );
            }
            Some(Arc::new(auth))
        }
        None => None,
    };
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => {
            let ca = a
                .client_ca
                .as_ref()
                .map(|p| read("--client-ca", p))
                .transpose()?;
            Some(
                server_tls(
                    &read("--tls-cert", cert)?,
                    &read("--tls-key", key)?,
                    ca.as_deref(),
                )
                .map_err(|e| CliError::Input(format!("--tls-cert/--tls-key/--client-ca: {e}")))?,
            )
        }
        _ => None,
    };
    Ok(Security {
        tls,
        authenticator,
        warnings,
    })
}

/// TLS and tokens of the live view: the server's certificate and tokens file.
fn live_access(
    a: &ServeArgs,
    security: &Security,
) -> Result<super::live_access::LiveAccess, CliError> {
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |flag: &str, path: &PathBuf| {
                std::fs::read(path)
                    .map_err(|e| CliError::Input(format!("{flag} {}: {e}", path.display())))
            };
            Some(
                super::live_access::LiveAccess::tls_from_pem(
                    &read("--tls-cert", cert)?,
                    &read("--tls-key", key)?,
                )
                .map_err(|e| CliError::Input(format!("--http with --tls-cert/--tls-key: {e}")))?,
            )
        }
        _ => None,
    };
    Ok(super::live_access::LiveAccess {
        tls,
        authenticator: security.authenticator.clone(),
    })
}

/// A tokens file others may read holds secrets they can use: say so (the server still starts).
fn warn_if_readable_by_others(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                file = %path.display(),
                mode = format!("{:o}", meta.permissions().mode() & 0o777),
                "the tokens file is readable by other users: chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(a: &ServeArgs) -> CliResult {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    // process-wide policy, the program's decision: the control loops this process runs are not
    // held off by memory the rest of it hands back to the kernel
    let heap_resident = cella_control::memory::keep_heap_resident();
    tracing::debug!(heap_resident, "allocator keeps the heap resident");
    let security = security(a)?;
    let limits = a.limits.limits()?;
    let (text, dir, label) = match &a.cell {
        Some(path) => (
            std::fs::read_to_string(path).map_err(|e| format!("--cell {}: {e}", path.display()))?,
            path.parent().map(PathBuf::from),
            path.display().to_string(),
        ),
        None => (DEMO_CELL.to_owned(), None, "embedded demo cell".to_owned()),
    };
    let file = CellFile::parse(&text).map_err(|e| format!("{label}: {e}"))?;
    let cell = file
        .build(dir.as_deref())
        .map_err(|e| format!("{label}: {e}"))?;
    let (cell, durable) = durable(a, cell)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Server(format!("runtime: {e}")))?;
    runtime.block_on(async {
        // an address in use or not ours to bind is a failure to serve, not a bad argument
        let listener = tokio::net::TcpListener::bind(a.addr)
            .await
            .map_err(|e| CliError::Server(format!("--addr {}: {e}", a.addr)))?;
        let local = listener
            .local_addr()
            .map_err(|e| CliError::Server(e.to_string()))?;
        let scheme = if security.tls.is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(
            cell = %file.name,
            robots = cell.robots.len(),
            objects = cell.world.objects().len(),
            addr = %local,
            tls = security.tls.is_some(),
            mutual_tls = a.client_ca.is_some(),
            tokens = security.authenticator.as_ref().map_or(0, |x| x.token_count()),
            certificates = security.authenticator.as_ref().map_or(0, |x| x.certificate_count()),
            "cella serving cella.v1.CellService (health, reflection enabled)"
        );
        if security.authenticator.is_none() {
            tracing::info!("no --tokens: every caller is the local administrator");
        }
        for w in &security.warnings {
            tracing::warn!("{w}");
        }
        let service = CellServer::new(cell, default_workers(), ControlOptions::default())
            .map_err(|e| CliError::Server(e.to_string()))?
            .with_limits(limits);
        let service = durable.attach(service);
        if let Some(http) = a.http {
            let now = service.live_snapshot();
            super::live::start(
                http,
                a.insecure,
                live_access(a, &security)?,
                service.control().clone(),
                &file.name,
                &now,
                dir.as_deref(),
            )
            .await?;
        }
        on_hangup(
            service.audit_log(),
            a.tokens.clone().zip(security.authenticator.clone()),
        );
        // connections are queued from here on: whoever started us (with port 0) learns where
        line(format!("listening on {scheme}://{local}"));
        cella_server::serve_secured(listener, service, security, shutdown_signal())
            .await
            .map_err(|e| CliError::Server(e.to_string()))?;
        tracing::info!("shut down");
        Ok(())
    })
}

/// On `SIGHUP`: the audit file is opened again at its path (log rotation: move the file away,
/// send `SIGHUP`, the trail goes on in a new file with the next sequence numbers), and the
/// tokens file is read again (a revoked token is refused from then on; a file with an error
/// changes nothing and is logged).
fn on_hangup(
    audit: Option<std::sync::Arc<cella_server::audit::AuditLog>>,
    tokens: Option<(PathBuf, std::sync::Arc<Authenticator>)>,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if audit.is_none() && tokens.is_none() {
            return;
        }
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("SIGHUP cannot be handled: no reopening or reloading on it");
            return;
        };
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let (audit, tokens) = (audit.clone(), tokens.clone());
                let done = tokio::task::spawn_blocking(move || {
                    if let Some(audit) = audit {
                        match audit.reopen() {
                            Ok(()) => tracing::info!("SIGHUP: audit file reopened"),
                            Err(e) => tracing::error!(error = %e, "SIGHUP: the audit file could not be reopened; still writing to the old one"),
                        }
                    }
                    if let Some((path, authenticator)) = tokens {
                        reload_tokens(&path, &authenticator);
                    }
                })
                .await;
                if let Err(e) = done {
                    tracing::error!(error = %e, "SIGHUP: handling failed");
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (audit, tokens);
}

/// Reads the tokens file again into `authenticator`; on an error the callers stay as they
/// were.
fn reload_tokens(path: &std::path::Path, authenticator: &Authenticator) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, file = %path.display(), "SIGHUP: tokens file not read; the callers stay as they were");
            return;
        }
    };
    warn_if_readable_by_others(path);
    match authenticator.reload_toml(&text) {
        Ok(()) => tracing::info!(
            tokens = authenticator.token_count(),
            certificates = authenticator.certificate_count(),
            "SIGHUP: tokens file reloaded"
        ),
        Err(e) => {
            tracing::error!(error = %e, file = %path.display(), "SIGHUP: tokens file refused; the callers stay as they were")
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}

/// The journal and audit trail of a server (`--state-dir`, `--audit`).
struct Durable {
    journal: Option<cella_cell::Journal>,
    audit: Option<cella_server::audit::AuditLog>,
}

impl Durable {
    /// `service` with them.
    fn attach(self, mut service: CellServer) -> CellServer {
        if let Some(journal) = self.journal {
            service = service.with_journal(journal);
        }
        if let Some(audit) = self.audit {
            service = service.with_audit(audit);
        }
        service
    }
}

/// Opens `--audit` and `--state-dir`, and restores the cell from the state directory's
/// journal (the cell file's `cell` when it is new). A state directory written over another
/// cell, or damaged, is bad input (exit 2); one in use or unwritable is a server failure.
fn durable(
    a: &ServeArgs,
    cell: Arc<cella_cell::CellSnapshot>,
) -> Result<(Arc<cella_cell::CellSnapshot>, Durable), CliError> {
    use cella_cell::JournalError;
    let audit = a
        .audit
        .as_ref()
        .map(|path| cella_server::audit::AuditLog::open(path))
        .transpose()
        .map_err(|e| CliError::Input(format!("--audit {e}")))?;
    let Some(dir) = &a.state_dir else {
        let journal = None;
        return Ok((cell, Durable { journal, audit }));
    };
    let (journal, restored) = cella_cell::Journal::open(dir, &cell).map_err(|e| {
        let text = format!("--state-dir {e}");
        match e {
            JournalError::CellChanged { .. }
            | JournalError::Corrupt { .. }
            | JournalError::Replay { .. } => CliError::Input(text),
            JournalError::Io { .. } | JournalError::InUse { .. } | JournalError::Broken { .. } => {
                CliError::Server(text)
            }
        }
    })?;
    tracing::info!(
        dir = %dir.display(),
        records = restored.records,
        world_version = restored.cell.version,
        torn_bytes = restored.torn_bytes,
        "world restored from the state directory"
    );
    if restored.torn_bytes > 0 {
        tracing::warn!(
            bytes = restored.torn_bytes,
            "the state journal ended in a record cut short (an edit in flight when the server \
             stopped): dropped"
        );
    }
    let journal = Some(journal);
    Ok((restored.cell, Durable { journal, audit }))
}
