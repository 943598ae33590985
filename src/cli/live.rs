//! `cella serve --http ADDR`: a live, read-only view of the cell over HTTP/1.1 (HTTPS with
//! the server's `--tls-cert`). The
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
//! TLS and tokens, when the server has them, guard every route ([`super::live_access`]).
//! hyper serves it directly (it is already in the tree through tonic, with the `http1` and
//! `server` features): four fixed routes need no router crate.

use super::error::{CliError, CliResult};
use super::live_access::{Admission, LiveAccess};
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
/// Longest a TLS handshake, or the request head of a connection, may take before the
/// connection is dropped.
const HANDSHAKE: Duration = Duration::from_secs(10);

type Body = BoxBody<Bytes, Infallible>;

struct Live {
    page: Bytes,
    control: Arc<CellControl>,
    access: LiveAccess,
}

/// Binds `addr`, prints `live view on http://ADDR` (`https://` with TLS) and serves the view
/// in the background (until the runtime ends). An address that is not loopback needs TLS and
/// tokens in `access`, or `insecure`.
pub async fn start(
    addr: SocketAddr,
    insecure: bool,
    access: LiveAccess,
    control: Arc<CellControl>,
    name: &str,
    cell: &CellSnapshot,
    dir: Option<&Path>,
) -> CliResult {
    let mut missing = Vec::new();
    if access.tls.is_none() {
        missing.push("TLS (--tls-cert and --tls-key)");
    }
    if access.authenticator.is_none() {
        missing.push("authentication (--tokens)");
    }
    if !addr.ip().is_loopback() && !missing.is_empty() && !insecure {
        return Err(CliError::Input(format!(
            "--http {addr}: not a loopback address: serving the live view there needs {}; give \
             --insecure to serve it without",
            missing.join(" and ")
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
    let scheme = if access.tls.is_some() {
        "https"
    } else {
        "http"
    };
    line(format!("live view on {scheme}://{local}"));
    let live = Arc::new(Live {
        page: Bytes::from(page),
        control,
        access,
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
            let tls = live.access.tls.clone();
            let service = hyper::service::service_fn(move |req| {
                let live = live.clone();
                async move { Ok::<_, Infallible>(live.answer(&req)) }
            });
            // a client that opens a connection and sends no request does not keep the slot
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HANDSHAKE);
            let served = match tls {
                None => {
                    http.serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await
                }
                Some(acceptor) => {
                    // a client that never finishes its handshake does not keep the slot
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            http.serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "live view: TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "live view: TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = served {
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
        match self
            .access
            .admit(req.uri().path(), req.uri().query(), req.headers())
        {
            Admission::Admitted => {}
            Admission::SetCookie(token) => {
                let mut r = respond(
                    StatusCode::SEE_OTHER,
                    "text/plain; charset=utf-8",
                    full("signed in: on to /\n"),
                );
                let h = r.headers_mut();
                if let Ok(v) = self.access.cookie(&token).parse() {
                    h.insert(hyper::header::SET_COOKIE, v);
                }
                h.insert(
                    hyper::header::LOCATION,
                    hyper::header::HeaderValue::from_static("/"),
                );
                return r;
            }
            Admission::Refused(why) => {
                let mut r = respond(
                    StatusCode::UNAUTHORIZED,
                    "text/plain; charset=utf-8",
                    full(format!("{why}\n")),
                );
                r.headers_mut().insert(
                    hyper::header::WWW_AUTHENTICATE,
                    hyper::header::HeaderValue::from_static("Bearer realm=\"cella live view\""),
                );
                return r;
            }
        }
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
                // the feed ends when its credentials no longer admit it (the tokens file
                // reloaded without its token): checked at every tick, a constant-time
                // comparison with each known token
                let (access, headers) = (self.access.clone(), req.headers().clone());
                let admitted =
                    move |_: &_| access.admit("/events", None, &headers) == Admission::Admitted;
                let events = ticks.take_while(admitted).map(move |_| {
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
