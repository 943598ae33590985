//! `cella serve`: the gRPC service on a cell file (or the embedded demo cell).

use super::error::{CliError, CliResult};
use super::output::line;
use cella_cell::{CellFile, DEMO_CELL};
use cella_control::ControlOptions;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `cella serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Cell description (TOML); without it the embedded demo cell is served.
    #[arg(long)]
    pub cell: Option<PathBuf>,
    /// Address to listen on (port 0: any free port). Once bound, the server prints
    /// `listening on http://ADDR` with the bound address on stdout.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: SocketAddr,
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
        tracing::info!(
            cell = %file.name,
            robots = cell.robots.len(),
            objects = cell.world.objects().len(),
            addr = %local,
            "cella serving cella.v1.CellService (health, reflection enabled)"
        );
        // connections are queued from here on: whoever started us (with port 0) learns where
        line(format!("listening on http://{local}"));
        cella_server::serve_on(listener, cell, ControlOptions::default(), shutdown_signal())
            .await
            .map_err(|e| CliError::Server(e.to_string()))?;
        tracing::info!("shut down");
        Ok(())
    })
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
