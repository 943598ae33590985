//! `cella serve --http ADDR`: a live, read-only view of the cell over plain HTTP/1.1. The
//! page is the viewer page (`cella view`'s, in live mode) of the cell as it was when the
//! server started; it follows the robots through a feed read from the cell's control:
//!
//! | GET | answer |
//! |---|---|
//! | `/` | the page (`text/html`) |
//! | `/events` | server-sent events: the robots' states (`/state`'s JSON) every 40 ms |
//! | `/state` | the robots' states once: `{"version", "robots": [{"id", "time", "q", "status", "execution", "outcome", "progress", "trajectory_time", "duration", "speed"}]}` (`time`: the executor's clock, s) |
//! | `/world` | the world's objects and attached parts (re-read by the page when `version` changes) |
//!
//! Nothing else: other paths are 404, other methods 405. Nothing here changes the cell.
//! hyper serves it directly (it is already in the tree through tonic, with the `http1` and
//! `server` features): four fixed routes need no router crate.

use super::error::{CliError, CliResult};
use super::output::line;
use bytes::Bytes;
use cella_cell::CellSnapshot;
use cella_control::CellControl;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_stream::StreamExt;

/// Period of the `/events` feed.
const FEED_PERIOD: Duration = Duration::from_millis(40);
/// Most connections served at once (each open page holds one for its feed).
const MAX_CONNECTIONS: usize = 64;

type Body = BoxBody<Bytes, Infallible>;

struct Live {
    page: Bytes,
    control: Arc<CellControl>,
}

/// Binds `addr`, prints `live view on http://ADDR` and serves the view in the background
/// (until the runtime ends). An address that is not loopback needs `insecure`: the view has
/// neither TLS nor authentication.
pub async fn start(
    addr: SocketAddr,
    insecure: bool,
    control: Arc<CellControl>,
    name: &str,
    cell: &CellSnapshot,
    dir: Option<&Path>,
) -> CliResult {
    if !addr.ip().is_loopback() && !insecure {
        return Err(CliError::Input(format!(
            "--http {addr}: not a loopback address: the live view has no TLS and no \
             authentication; give --insecure to serve it anyway"
        )));
    }
    let page = super::view::live_page(name, cell, dir)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Server(format!("--http {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::Server(e.to_string()))?;
    tracing::info!(addr = %local, bytes = page.len(), "live view (read-only HTTP) serving");
    line(format!("live view on http://{local}"));
    let live = Arc::new(Live {
        page: Bytes::from(page),
        control,
    });
    tokio::spawn(accept(listener, live));
    Ok(())
}

async fn accept(listener: tokio::net::TcpListener, live: Arc<Live>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "live view: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "live view: too many connections, one refused");
            continue;
        };
        let live = live.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let live = live.clone();
                async move { Ok::<_, Infallible>(live.answer(&req)) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(%peer, error = %e, "live view connection ended");
            }
            drop(slot);
        });
    }
}

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn respond(status: StatusCode, content_type: &str, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    if let Ok(v) = content_type.parse() {
        h.insert(hyper::header::CONTENT_TYPE, v);
    }
    h.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    h.insert(
        hyper::header::X_CONTENT_TYPE_OPTIONS,
        hyper::header::HeaderValue::from_static("nosniff"),
    );
    r
}

impl Live {
    fn answer<B>(&self, req: &Request<B>) -> Response<Body> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = respond(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                full("the live view is read-only: GET and HEAD only\n"),
            );
            r.headers_mut().insert(
                hyper::header::ALLOW,
                hyper::header::HeaderValue::from_static("GET, HEAD"),
            );
            return r;
        }
        match req.uri().path() {
            "/" | "/index.html" => respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                full(self.page.clone()),
            ),
            "/state" => respond(
                StatusCode::OK,
                "application/json",
                full(state_json(&self.control)),
            ),
            "/world" => {
                let world = cella_view::scene::WorldData::from(&self.control.snapshot().world);
                respond(
                    StatusCode::OK,
                    "application/json",
                    full(serde_json::to_string(&world).unwrap_or_else(|_| "null".into())),
                )
            }
            "/events" => {
                let control = self.control.clone();
                let ticks =
                    tokio_stream::wrappers::IntervalStream::new(tokio::time::interval(FEED_PERIOD));
                let events = ticks.map(move |_| {
                    Ok::<_, Infallible>(Frame::data(Bytes::from(format!(
                        "data: {}\n\n",
                        state_json(&control)
                    ))))
                });
                respond(
                    StatusCode::OK,
                    "text/event-stream",
                    StreamBody::new(events).boxed(),
                )
            }
            _ => respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                full("not found: the live view serves /, /events, /state and /world\n"),
            ),
        }
    }
}

/// The robots' states and the world version, as `/state` and `/events` send them.
fn state_json(control: &CellControl) -> String {
    let version = control.snapshot().version;
    let robots: Vec<serde_json::Value> = control
        .robot_ids()
        .filter_map(|id| {
            let s = control.executor(id).ok()?.state();
            Some(serde_json::json!({
                "id": id,
                "time": s.time,
                "q": s.q.as_slice(),
                "status": s.status.name(),
                "execution": s.execution_id,
                "outcome": s.outcome.name(),
                "progress": s.progress(),
                "trajectory_time": s.trajectory_time,
                "duration": s.trajectory_duration,
                "speed": s.speed_scale,
            }))
        })
        .collect();
    serde_json::json!({ "version": version, "robots": robots }).to_string()
}
