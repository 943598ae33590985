//! The cella gRPC server: the `cella.v1.CellService` over a cell, with `grpc.health.v1`,
//! server reflection, message size limits and graceful shutdown.

pub mod cartesian;
pub mod convert;
pub mod execution;
pub mod sequence;
pub mod service;

pub use service::CellServer;

use cella_proto::v1::cell_service_server::CellServiceServer;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Largest request or response message, bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Transport failure.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// Reflection setup failure.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The executors could not start.
    #[error("control: {0}")]
    Control(#[from] cella_control::ControlError),
}

/// Serves `cell` on an already bound listener until `shutdown` completes, with a simulated
/// controller per robot (`control` sets their loops).
pub async fn serve_on(
    listener: TcpListener,
    cell: Arc<cella_cell::CellSnapshot>,
    control: cella_control::ControlOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let service = CellServer::new(cell, workers, control)?;
    {
        // say how each executor runs, once its thread has asked for real-time scheduling
        let control = service.control().clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            for id in control.robot_ids() {
                if let Ok(ex) = control.executor(id) {
                    let stats = ex.stats();
                    tracing::info!(
                        robot = id,
                        period_ms = stats.period_us / 1000.0,
                        realtime = stats.realtime,
                        heap_resident = cella_control::memory::keep_heap_resident(),
                        "executor running (simulated controller)"
                    );
                }
            }
        });
    }
    {
        // executions bound to a client by a lease stop when it lapses
        let control = service.control().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(5));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let c = control.clone();
                let Ok(stopped) = tokio::task::spawn_blocking(move || c.enforce_leases()).await
                else {
                    continue;
                };
                for e in stopped {
                    tracing::warn!(robot = %e.robot, execution = e.execution_id, reason = %e.reason, "stopped: lease lapsed");
                }
            }
        });
    }
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<CellServiceServer<CellServer>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(cella_proto::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // no Nagle: a response written in several segments must not wait for a delayed ACK
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(
            CellServiceServer::new(service)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}
