//! Limits against slow or greedy clients: how many connections the server holds, how many
//! streams each may open, how many state and event subscribers it feeds, and when a connection
//! that stopped answering is closed.
//!
//! Every limit is a field of [`Limits`], documented with its default and what a client sees
//! when it meets it. A service carries its limits ([`crate::CellServer::with_limits`]); the
//! server reads them from it when it starts serving ([`crate::serve`]).
//!
//! | limit | default | over it |
//! | --- | --- | --- |
//! | [`max_connections`](Limits::max_connections) | 256 | refused: accepted and closed at once |
//! | [`max_concurrent_streams`](Limits::max_concurrent_streams) | 64 per connection | HTTP/2: the client queues; a stream past it is reset (`REFUSED_STREAM`) |
//! | [`max_subscribers`](Limits::max_subscribers) | 32 | `RESOURCE_EXHAUSTED` naming the limit |
//! | [`max_header_list_size`](Limits::max_header_list_size) | 16 KiB | the request is refused (HTTP/2) |
//! | [`idle_timeout`](Limits::idle_timeout) | 120 s | the connection is closed |
//! | [`http2_keepalive_interval`](Limits::http2_keepalive_interval) | 30 s | (a PING is sent) |
//! | [`http2_keepalive_timeout`](Limits::http2_keepalive_timeout) | 20 s | the connection is closed |
//! | [`tcp_keepalive`](Limits::tcp_keepalive) | 60 s | the kernel closes a dead peer's socket |
//! | [`request_timeout`](Limits::request_timeout) | none | `DEADLINE_EXCEEDED` (or `CANCELLED`) |

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_stream::{Stream, StreamExt};
use tonic::Status;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};
use tonic_types::StatusExt;

/// The limits a server holds its clients to. `Limits::default()` is what `cella serve` uses
/// unless its flags say otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most connections open at once, over all clients (default 256). A connection past it is
    /// **refused**: accepted and closed at once, without a byte of HTTP/2, so the client fails
    /// fast (`UNAVAILABLE`) instead of waiting in the listen queue behind clients that hold
    /// their connections. The connections already open are not disturbed. A connection counts
    /// from its acceptance (before any TLS handshake) until its socket is closed.
    pub max_connections: usize,
    /// Most requests (HTTP/2 streams) one connection may have open at once (default 64),
    /// announced to the client in the HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` setting. A
    /// well-behaved client (tonic, grpc-go, grpc-java, grpcurl) queues its further requests
    /// until one ends; a stream opened past the limit anyway is reset with `REFUSED_STREAM`.
    pub max_concurrent_streams: u32,
    /// Most `StreamState` and `StreamEvents` streams open at once, over all clients and both
    /// RPCs together (default 32): each costs the server a sampling task. A subscription past
    /// it is refused with `RESOURCE_EXHAUSTED` naming this limit (a `QuotaFailure` detail);
    /// its slot is free again as soon as a subscriber's stream ends or is cancelled.
    pub max_subscribers: usize,
    /// Largest block of request headers, bytes (default 16 KiB), announced in the HTTP/2
    /// `SETTINGS_MAX_HEADER_LIST_SIZE` setting: room for metadata and a bearer token, not for
    /// a client that would make the server buffer megabytes of headers.
    pub max_header_list_size: u32,
    /// A connection on which the client sends nothing for this long is closed (default
    /// 120 s; `None`: never): one that opened TCP and never spoke TLS or HTTP/2, or stalled in
    /// the middle of a frame. A live client answers the server's keepalive pings
    /// ([`http2_keepalive_interval`](Self::http2_keepalive_interval)), so an idle but healthy
    /// connection is never closed by it; keep it longer than the keepalive interval plus its
    /// timeout.
    pub idle_timeout: Option<Duration>,
    /// How often the server pings a connection with HTTP/2 `PING` frames, idle or not
    /// (default 30 s; `None`: never), to find clients that went away without closing.
    pub http2_keepalive_interval: Option<Duration>,
    /// How long a keepalive ping may go unanswered before the connection is closed (default
    /// 20 s).
    pub http2_keepalive_timeout: Duration,
    /// TCP keepalive on accepted sockets (default 60 s of silence before the kernel probes;
    /// `None`: off), so the sockets of peers that vanished (power loss, a cable pulled) are
    /// closed even with HTTP/2 keepalive off.
    pub tcp_keepalive: Option<Duration>,
    /// Longest a unary request may take before the server answers `DEADLINE_EXCEEDED`
    /// (default `None`: no server-side bound). The client's own `grpc-timeout`, when shorter,
    /// wins. Off by default because a `PlanBatch` may legitimately plan 256 problems for up
    /// to a minute each; a server streaming response is not bounded by it once started.
    pub request_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_concurrent_streams: 64,
            max_subscribers: 32,
            max_header_list_size: 16 * 1024,
            idle_timeout: Some(Duration::from_secs(120)),
            http2_keepalive_interval: Some(Duration::from_secs(30)),
            http2_keepalive_timeout: Duration::from_secs(20),
            tcp_keepalive: Some(Duration::from_secs(60)),
            request_timeout: None,
        }
    }
}

impl Limits {
    /// A tonic server builder with the per-connection limits set (streams, headers,
    /// keepalive, request timeout). The connection limit, the idle timeout and TCP keepalive
    /// apply to the accepted sockets instead ([`Limiter::incoming`]); the subscriber limit
    /// in the service.
    pub fn server_builder(&self) -> tonic::transport::Server {
        let builder = tonic::transport::Server::builder()
            .max_concurrent_streams(self.max_concurrent_streams)
            .http2_max_header_list_size(self.max_header_list_size)
            .http2_keepalive_interval(self.http2_keepalive_interval)
            .http2_keepalive_timeout(Some(self.http2_keepalive_timeout));
        match self.request_timeout {
            Some(t) => builder.timeout(t),
            None => builder,
        }
    }
}

/// A count of things held open, at most `max`, observable as it changes.
#[derive(Debug)]
struct Counter {
    max: usize,
    open: watch::Sender<usize>,
}

impl Counter {
    fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max,
            open: watch::Sender::new(0),
        })
    }

    /// A slot, unless `max` are taken.
    fn try_acquire(self: &Arc<Self>) -> Option<Slot> {
        let max = self.max;
        self.open
            .send_if_modified(|n| {
                if *n < max {
                    *n += 1;
                    true
                } else {
                    false
                }
            })
            .then(|| Slot(self.clone()))
    }
}

/// One of a [`Counter`]'s slots, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot(Arc<Counter>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The limits of one service and what is held against them: shared by the clones of a
/// [`crate::CellServer`].
#[derive(Debug)]
pub(crate) struct Limiter {
    limits: Limits,
    connections: Arc<Counter>,
    subscribers: Arc<Counter>,
}

impl Limiter {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            connections: Counter::new(limits.max_connections),
            subscribers: Counter::new(limits.max_subscribers),
            limits,
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Connections open now, as the count changes.
    pub(crate) fn open_connections(&self) -> watch::Receiver<usize> {
        self.connections.open.subscribe()
    }

    /// Subscribers fed now, as the count changes.
    pub(crate) fn open_subscribers(&self) -> watch::Receiver<usize> {
        self.subscribers.open.subscribe()
    }

    /// A subscriber's slot, or `RESOURCE_EXHAUSTED` naming the limit.
    pub(crate) fn subscriber(&self, rpc: &str) -> Result<Slot, Status> {
        self.subscribers.try_acquire().ok_or_else(|| {
            let max = self.limits.max_subscribers;
            let description = format!(
                "the server feeds at most {max} StreamState and StreamEvents streams at once \
                 (max_subscribers, `cella serve --max-subscribers`); close one or retry later"
            );
            tracing::warn!(rpc, max, "subscriber refused: max_subscribers reached");
            Status::with_error_details(
                tonic::Code::ResourceExhausted,
                format!("{rpc}: {description}"),
                tonic_types::ErrorDetails::with_quota_failure_violation(
                    "max_subscribers",
                    description,
                ),
            )
        })
    }

    /// The accepted connections of `listener`: no Nagle, TCP keepalive, at most
    /// `max_connections` at once (one more is closed as soon as it is accepted), each closed
    /// after `idle_timeout` without a byte from its client.
    pub(crate) fn incoming(
        &self,
        listener: TcpListener,
    ) -> impl Stream<Item = io::Result<LimitedIo>> + use<> {
        let connections = self.connections.clone();
        let idle = self.limits.idle_timeout;
        // no Nagle: a response written in several segments must not wait for a delayed ACK
        TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .with_keepalive(self.limits.tcp_keepalive)
            .filter_map(move |accepted| match accepted {
                Err(e) => Some(Err(e)),
                Ok(io) => match connections.try_acquire() {
                    Some(slot) => Some(Ok(LimitedIo::new(io, slot, idle))),
                    None => {
                        tracing::warn!(
                            peer = ?io.peer_addr().ok(),
                            max = connections.max,
                            "connection refused: max_connections reached"
                        );
                        None
                    }
                },
            })
    }
}

/// An accepted connection holding its slot of the connection limit, closed (a read error,
/// `TimedOut`) once its client has sent nothing for the idle timeout.
#[derive(Debug)]
pub struct LimitedIo {
    io: TcpStream,
    _slot: Slot,
    idle: Option<(Duration, Pin<Box<tokio::time::Sleep>>)>,
}

impl LimitedIo {
    fn new(io: TcpStream, slot: Slot, idle: Option<Duration>) -> Self {
        Self {
            io,
            _slot: slot,
            idle: idle.map(|d| (d, Box::pin(tokio::time::sleep(d)))),
        }
    }
}

impl Connected for LimitedIo {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

impl AsyncRead for LimitedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending => {
                let Some((limit, sleep)) = &mut this.idle else {
                    return Poll::Pending;
                };
                if sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                tracing::debug!(peer = ?this.io.peer_addr().ok(), "idle connection closed");
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the client sent nothing for {limit:?} (idle_timeout)"),
                )))
            }
            ready => {
                if let Some((limit, sleep)) = &mut this.idle {
                    sleep.as_mut().reset(tokio::time::Instant::now() + *limit);
                }
                ready
            }
        }
    }
}

impl AsyncWrite for LimitedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A server stream holding a subscriber's slot: the slot is free again when the stream is
/// dropped (it ended, or the client cancelled it or went away).
pub(crate) struct Held<S> {
    stream: S,
    _slot: Slot,
}

impl<S> Held<S> {
    pub(crate) fn new(stream: S, slot: Slot) -> Self {
        Self {
            stream,
            _slot: slot,
        }
    }
}

impl<S: Stream + Unpin> Stream for Held<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.stream).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

impl crate::CellServer {
    /// This service with `limits` (the default ones otherwise: [`Limits::default`]). Call it
    /// before the service is served or cloned: clones share the limits and what is held
    /// against them.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limiter = Arc::new(Limiter::new(limits));
        self
    }

    /// The limits this service holds its clients to.
    pub fn limits(&self) -> &Limits {
        self.limiter.limits()
    }

    /// How many connections are open now (counted against [`Limits::max_connections`]),
    /// watched as it changes.
    pub fn open_connections(&self) -> watch::Receiver<usize> {
        self.limiter.open_connections()
    }

    /// How many `StreamState` and `StreamEvents` streams are open now (counted against
    /// [`Limits::max_subscribers`]), watched as it changes.
    pub fn open_subscribers(&self) -> watch::Receiver<usize> {
        self.limiter.open_subscribers()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_gives_at_most_max_slots_and_takes_them_back_when_dropped() {
        let c = Counter::new(2);
        let open = c.open.subscribe();
        let a = c.try_acquire().expect("first");
        let b = c.try_acquire().expect("second");
        assert!(c.try_acquire().is_none(), "a third slot past max 2");
        assert_eq!(*open.borrow(), 2);
        drop(a);
        assert_eq!(*open.borrow(), 1);
        let _c = c.try_acquire().expect("a slot given back is given again");
        drop(b);
        assert_eq!(*open.borrow(), 1);
    }

    #[test]
    fn a_refused_subscriber_is_told_the_limit_by_name() {
        let limiter = Limiter::new(Limits {
            max_subscribers: 1,
            ..Limits::default()
        });
        let _held = limiter
            .subscriber("StreamState")
            .expect("the first subscriber");
        let refused = limiter
            .subscriber("StreamEvents")
            .expect_err("past the limit");
        assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
        assert!(refused.message().contains("max_subscribers"), "{refused:?}");
        assert!(refused.message().contains("at most 1"), "{refused:?}");
    }

    #[test]
    fn no_subscriber_at_all_is_a_limit_too() {
        let limiter = Limiter::new(Limits {
            max_subscribers: 0,
            ..Limits::default()
        });
        assert!(limiter.subscriber("StreamState").is_err());
    }

    #[test]
    fn the_defaults_keep_the_idle_timeout_longer_than_a_keepalive_round() {
        let l = Limits::default();
        let (Some(idle), Some(interval)) = (l.idle_timeout, l.http2_keepalive_interval) else {
            panic!("both on by default");
        };
        assert!(idle > interval + l.http2_keepalive_timeout);
    }
}
