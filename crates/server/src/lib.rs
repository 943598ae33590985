//! The cella gRPC server: the `cella.v1.CellService` over a cell, with `grpc.health.v1`,
//! server reflection, message size limits and graceful shutdown.
//!
//! # Example
//!
//! Serve the demo cell on a port the system picks (bind port 0, then read the bound address
//! from the listener), ask it for a forward kinematics, and shut it down:
//!
//! ```
//! use cella_cell::{CellFile, DEMO_CELL};
//! use cella_control::ControlOptions;
//! use cella_proto::v1::{FkRequest, cell_service_client::CellServiceClient};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = tokio::runtime::Runtime::new()?;
//! runtime.block_on(async {
//!     let cell = CellFile::parse(DEMO_CELL)?.build(None)?;
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let url = format!("http://{}", listener.local_addr()?);
//!     let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//!     let server = tokio::spawn(cella_server::serve_on(
//!         listener,
//!         cell.clone(),
//!         ControlOptions::default(),
//!         async { stopped.await.unwrap_or(()) },
//!     ));
//!
//!     // the UR5e's TCP at its home pose, in the cell frame: its base pose times its FK
//!     let ur = cell.robot("ur5e")?;
//!     let mut client = CellServiceClient::connect(url).await?;
//!     let request = FkRequest {
//!         robot_id: "ur5e".into(),
//!         joints: ur.joints.clone(),
//!         frame: String::new(),
//!     };
//!     let pose = client
//!         .compute_fk(request)
//!         .await?
//!         .into_inner()
//!         .pose
//!         .ok_or("no pose")?;
//!     let expected = (ur.base * ur.geometry.robot().fk(&ur.joints)?).translation.vector;
//!     for (got, want) in pose.position.iter().zip(expected.iter()) {
//!         assert!((got - want).abs() < 1e-9);
//!     }
//!
//!     let _ = stop.send(());
//!     server.await??;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! # }
//! ```

pub mod audit;
pub mod auth;
mod cartesian;
mod convert;
mod execution;
pub mod identity;
mod journal;
pub mod limits;
mod sequence;
mod service;

pub use limits::Limits;
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

/// Concurrent CPU-heavy requests a server runs by default: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Serves `cell` on an already bound listener until `shutdown` completes, with a simulated
/// controller per robot (`control` sets their loops). [`serve`] serves robots driven by the
/// drivers a caller chose.
pub async fn serve_on(
    listener: TcpListener,
    cell: Arc<cella_cell::CellSnapshot>,
    control: cella_control::ControlOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = CellServer::new(cell, default_workers(), control)?;
    serve(listener, service, shutdown).await
}

/// Serves `service` (built with the drivers of its robots, [`CellServer::with_drivers`], or
/// simulated ones, [`CellServer::new`]) on an already bound listener until `shutdown`
/// completes, in plaintext and without authentication (see [`serve_secured`]).
pub async fn serve(
    listener: TcpListener,
    service: CellServer,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    serve_secured(listener, service, auth::Security::default(), shutdown).await
}

/// Serves `service` like [`serve`], secured by `security`: TLS on every connection when it
/// has a TLS configuration, and every request authenticated and authorized by an
/// [`auth::AuthLayer`] (the caller's identity in its extensions).
pub async fn serve_secured(
    listener: TcpListener,
    service: CellServer,
    security: auth::Security,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
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
                        heap_resident = cella_control::memory::heap_kept_resident(),
                        "executor running"
                    );
                }
            }
        });
    }
    {
        // supervision: executions bound to a client by a lease stop when it lapses; braking
        // at a gate is logged
        let control = service.control().clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(5));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                let c = control.clone();
                let Ok(stopped) = tokio::task::spawn_blocking(move || c.supervise()).await else {
                    continue;
                };
                for e in stopped {
                    tracing::warn!(robot = %e.robot, execution = e.execution_id, cause = e.cause.name(), reason = %e.reason, "stopped");
                }
            }
        });
    }
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<CellServiceServer<CellServer>>()
        .await;
    // reflection in both versions: grpc.reflection.v1, and v1alpha for the clients that only
    // speak it (Google's Python reflection client, older grpcurl and Postman)
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(cella_proto::FILE_DESCRIPTOR_SET)
    };
    let (reflection, reflection_v1alpha) =
        (reflection().build_v1()?, reflection().build_v1alpha()?);
    // the limits on clients (`limits`): connections, streams, idle and keepalive timeouts
    let incoming = service.limiter.incoming(listener);
    let mut builder = service.limits().server_builder();
    if let Some(tls) = security.tls {
        builder = builder.tls_config(tls)?;
    }
    builder
        .layer(
            auth::AuthLayer::new(security.authenticator, security.warnings)
                .with_audit(service.audit.clone()),
        )
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(
            CellServiceServer::new(service)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cella_control::{Driver, DriverError, JointCommand, MeasuredState, SimDriver};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant};

    /// A simulated controller that counts the commands it is sent.
    struct Counting {
        inner: SimDriver,
        commands: Arc<AtomicU64>,
    }

    impl Driver for Counting {
        fn dof(&self) -> usize {
            self.inner.dof()
        }

        fn read(&mut self, out: &mut MeasuredState) -> Result<(), DriverError> {
            self.inner.read(out)
        }

        fn command(&mut self, command: &JointCommand, dt: f64) -> Result<(), DriverError> {
            self.commands.fetch_add(1, Ordering::Relaxed);
            self.inner.command(command, dt)
        }
    }

    #[test]
    fn a_server_drives_its_robots_through_the_drivers_it_is_given() {
        let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
            .unwrap()
            .build(None)
            .unwrap();
        let options = cella_control::ControlOptions {
            realtime: false,
            ..cella_control::ControlOptions::default()
        };
        let counters: Vec<Arc<AtomicU64>> = cell.robots.iter().map(|_| Arc::default()).collect();
        let drivers = cell
            .robots
            .iter()
            .zip(&counters)
            .map(|(r, commands)| {
                Box::new(Counting {
                    inner: SimDriver::new(&r.joints),
                    commands: commands.clone(),
                }) as Box<dyn Driver>
            })
            .collect();
        let server = CellServer::with_drivers(cell.clone(), 1, drivers, options.clone()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while counters.iter().any(|c| c.load(Ordering::Relaxed) == 0) {
            assert!(Instant::now() < deadline, "a driver was never commanded");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(server.control().robot_ids().count(), cell.robots.len());
        // one driver per robot, or the server is not built
        let e = CellServer::with_drivers(cell, 1, Vec::new(), options).unwrap_err();
        assert!(e.to_string().contains("drivers"), "{e}");
    }
}
