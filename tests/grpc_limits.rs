//! The limits a server holds its clients to (`cella_server::Limits`), each met by a client on
//! loopback: the subscriber past `max_subscribers` is refused with RESOURCE_EXHAUSTED naming
//! the limit, the connection past `max_connections` is refused (closed at once) while the
//! others go on, every connection is told `max_concurrent_streams` and a stream past it is
//! reset, a silent connection is closed after `idle_timeout` while one that answers the
//! keepalive pings is not, and a request still running after `request_timeout` is ended. Waits are on events (a count changing, a frame arriving), never on
//! the clock.
#![allow(clippy::unwrap_used)]

use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_client::CellServiceClient;
use cella_server::{CellServer, Limits};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::Code;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt;

/// A guard against a test that would otherwise hang: far longer than anything here takes.
const GUARD: Duration = Duration::from_secs(60);

/// A server on the demo cell at 127.0.0.1:0 with `limits`: its address, and the service (a
/// clone sharing what is held against the limits). Stopped when the sender is dropped.
struct Served {
    addr: std::net::SocketAddr,
    service: CellServer,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(limits: Limits) -> Served {
    let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
        .unwrap()
        .build(None)
        .unwrap();
    let control = cella_control::ControlOptions {
        realtime: false,
        ..cella_control::ControlOptions::default()
    };
    let service = CellServer::new(cell, 2, control)
        .unwrap()
        .with_limits(limits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(cella_server::serve(listener, service.clone(), async {
        let _ = stopped.await;
    }));
    Served {
        addr,
        service,
        _stop: stop,
    }
}

/// A new connection (its own channel) to `s`.
async fn connect(s: &Served) -> Result<Channel, tonic::transport::Error> {
    Endpoint::from_shared(format!("http://{}", s.addr))
        .unwrap()
        .connect()
        .await
}

async fn cell_info(ch: &Channel) -> Result<pb::CellInfo, tonic::Status> {
    CellServiceClient::new(ch.clone())
        .get_cell_info(pb::GetCellInfoRequest {})
        .await
        .map(tonic::Response::into_inner)
}

/// Waits (on the count's changes, not the clock) until `ok` holds for `count`.
async fn until(mut count: tokio::sync::watch::Receiver<usize>, ok: impl FnMut(&usize) -> bool) {
    tokio::time::timeout(GUARD, count.wait_for(ok))
        .await
        .expect("the count never got there")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subscriber_past_the_limit_is_refused_naming_the_limit() {
    let s = serve(Limits {
        max_subscribers: 2,
        ..Limits::default()
    })
    .await;
    let ch = connect(&s).await.unwrap();
    let mut c = CellServiceClient::new(ch);
    let state = pb::StreamStateRequest {
        robot_ids: Vec::new(),
        rate_hz: 20.0,
    };
    // StreamState and StreamEvents count together
    let mut first = c.stream_state(state.clone()).await.unwrap().into_inner();
    first.message().await.unwrap().unwrap();
    let second = c
        .stream_events(pb::StreamEventsRequest { after_seq: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(*s.service.open_subscribers().borrow(), 2);

    for refused in [
        c.stream_state(state.clone()).await.err(),
        c.stream_events(pb::StreamEventsRequest { after_seq: 0 })
            .await
            .err(),
    ] {
        let e = refused.expect("the third subscriber is refused");
        assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
        assert!(e.message().contains("max_subscribers"), "{e:?}");
        assert!(e.message().contains("at most 2"), "{e:?}");
        let quota = e
            .get_details_quota_failure()
            .expect("a QuotaFailure detail");
        assert_eq!(quota.violations[0].subject, "max_subscribers");
    }
    // the subscribers already fed go on
    first.message().await.unwrap().unwrap();

    // a subscriber that goes away gives its slot back
    drop(second);
    until(s.service.open_subscribers(), |n| *n < 2).await;
    let mut third = c.stream_state(state).await.unwrap().into_inner();
    third.message().await.unwrap().unwrap();
    drop((first, third));
    until(s.service.open_subscribers(), |n| *n == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_past_the_limit_is_refused_and_the_others_go_on() {
    let s = serve(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    let a = connect(&s).await.unwrap();
    let b = connect(&s).await.unwrap();
    cell_info(&a).await.unwrap();
    cell_info(&b).await.unwrap();
    until(s.service.open_connections(), |n| *n == 2).await;

    // refused, not queued: the server accepts it and closes it at once, so the client fails
    // fast; whether the failure shows at connect or at the first call is the client's affair
    let refused = match connect(&s).await {
        Err(_) => None,
        Ok(c) => Some(
            cell_info(&c)
                .await
                .expect_err("a third connection is refused"),
        ),
    };
    if let Some(e) = refused {
        // tonic says UNAVAILABLE or UNKNOWN "transport error", as it notices the close
        // or CANCELLED "operation was canceled", when hyper sees the close first
        assert!(
            matches!(e.code(), Code::Cancelled)
                || (matches!(e.code(), Code::Unavailable | Code::Unknown)
                    && e.message().contains("transport")),
            "{e:?}"
        );
    }
    assert_eq!(*s.service.open_connections().borrow(), 2);
    cell_info(&a).await.unwrap();
    cell_info(&b).await.unwrap();

    // a connection that closes gives its slot back
    drop(a);
    until(s.service.open_connections(), |n| *n < 2).await;
    let c = connect(&s).await.unwrap();
    cell_info(&c).await.unwrap();
    cell_info(&b).await.unwrap();
}

/// HTTP/2 by hand, as much of it as the tests need (RFC 9113).
mod h2 {
    use super::*;

    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const ACK: u8 = 0x1;
    pub const END_STREAM: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;
    pub const REFUSED_STREAM: u32 = 0x7;

    /// A frame: type, flags, stream, payload.
    #[derive(Debug)]
    pub struct Frame {
        pub kind: u8,
        pub flags: u8,
        pub stream: u32,
        pub payload: Vec<u8>,
    }

    pub async fn write(io: &mut TcpStream, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
        let mut frame = vec![len[1], len[2], len[3], kind, flags];
        frame.extend_from_slice(&stream.to_be_bytes());
        frame.extend_from_slice(payload);
        io.write_all(&frame).await.unwrap();
    }

    /// The next frame, or `None` when the server closed the connection.
    pub async fn read(io: &mut TcpStream) -> Option<Frame> {
        let mut head = [0u8; 9];
        io.read_exact(&mut head).await.ok()?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        io.read_exact(&mut payload).await.ok()?;
        Some(Frame {
            kind: head[3],
            flags: head[4],
            stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
            payload,
        })
    }

    /// Connects, sends the preface and empty settings, and returns the server's settings
    /// (acknowledged) as (identifier, value) pairs.
    pub async fn handshake(addr: std::net::SocketAddr) -> (TcpStream, Vec<(u16, u32)>) {
        let mut io = TcpStream::connect(addr).await.unwrap();
        io.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        write(&mut io, SETTINGS, 0, 0, &[]).await;
        loop {
            let f = read(&mut io).await.expect("the server's settings");
            if f.kind == SETTINGS && f.flags & ACK == 0 {
                let settings = f
                    .payload
                    .chunks_exact(6)
                    .map(|c| {
                        (
                            u16::from_be_bytes([c[0], c[1]]),
                            u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                        )
                    })
                    .collect();
                write(&mut io, SETTINGS, ACK, 0, &[]).await;
                return (io, settings);
            }
        }
    }

    /// An HPACK header block of literal fields, never indexed, without Huffman coding.
    pub fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in fields {
            out.push(0x10);
            for s in [name, value] {
                out.push(u8::try_from(s.len()).unwrap());
                out.extend_from_slice(s.as_bytes());
            }
        }
        out
    }

    /// Opens stream `id` with the headers of a gRPC call to `method`, its body to follow.
    pub async fn open_call(io: &mut TcpStream, id: u32, method: &str) {
        let block = header_block(&[
            (":method", "POST"),
            (":scheme", "http"),
            (":path", method),
            (":authority", "localhost"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ]);
        write(io, HEADERS, END_HEADERS, id, &block).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_is_told_the_stream_limit_and_a_stream_past_it_is_reset() {
    let s = serve(Limits {
        max_concurrent_streams: 2,
        ..Limits::default()
    })
    .await;
    let (mut io, settings) = h2::handshake(s.addr).await;
    assert!(
        settings.contains(&(h2::SETTINGS_MAX_CONCURRENT_STREAMS, 2)),
        "{settings:?}"
    );
    assert!(
        settings.contains(&(h2::SETTINGS_MAX_HEADER_LIST_SIZE, 16 * 1024)),
        "{settings:?}"
    );
    // two calls whose bodies never come stay open; the third is past the limit
    let method = "/cella.v1.CellService/GetCellInfo";
    for id in [1, 3, 5] {
        h2::open_call(&mut io, id, method).await;
    }
    let reset = tokio::time::timeout(GUARD, async {
        loop {
            let f = h2::read(&mut io).await.expect("the connection stays open");
            if f.kind == h2::RST_STREAM {
                return f;
            }
            assert_ne!(f.kind, h2::GOAWAY, "{f:?}");
        }
    })
    .await
    .unwrap();
    assert_eq!(reset.stream, 5, "{reset:?}");
    assert_eq!(
        u32::from_be_bytes(reset.payload[..4].try_into().unwrap()),
        h2::REFUSED_STREAM
    );

    // the open ones are still served: stream 1's body (an empty GetCellInfoRequest) ends it,
    // and its answer comes
    h2::write(&mut io, h2::DATA, h2::END_STREAM, 1, &[0, 0, 0, 0, 0]).await;
    let answered = tokio::time::timeout(GUARD, async {
        loop {
            let f = h2::read(&mut io).await.expect("the connection stays open");
            if f.stream == 1 && (f.kind == h2::HEADERS || f.kind == h2::DATA) {
                return f;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(answered.stream, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let s = serve(Limits {
        idle_timeout: Some(Duration::from_millis(100)),
        ..Limits::default()
    })
    .await;
    // TCP only: not a byte of HTTP/2
    let mut io = TcpStream::connect(s.addr).await.unwrap();
    until(s.service.open_connections(), |n| *n == 1).await;
    // the server speaks first (its HTTP/2 settings), then closes: end of stream, or a reset
    let mut buf = [0u8; 64];
    tokio::time::timeout(GUARD, async {
        while let Ok(n) = io.read(&mut buf).await
            && n > 0
        {}
    })
    .await
    .expect("the server closes a silent connection");
    until(s.service.open_connections(), |n| *n == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_the_keepalive_pings_is_not_idle() {
    // a ping 20 ms after the client's last byte, and 1 s without one closes the connection:
    // 60 answered pings span at least 1.2 s, more than the idle timeout, with room for a
    // loaded machine between a ping and its answer
    let s = serve(Limits {
        idle_timeout: Some(Duration::from_secs(1)),
        http2_keepalive_interval: Some(Duration::from_millis(20)),
        ..Limits::default()
    })
    .await;
    let (mut io, _) = h2::handshake(s.addr).await;
    let mut pings = 0;
    tokio::time::timeout(GUARD, async {
        while pings < 60 {
            let f = h2::read(&mut io).await.expect("the connection stays open");
            assert_ne!(f.kind, h2::GOAWAY, "{f:?}");
            if f.kind == h2::PING && f.flags & h2::ACK == 0 {
                h2::write(&mut io, h2::PING, h2::ACK, 0, &f.payload).await;
                pings += 1;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(*s.service.open_connections().borrow(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_answering_pings_is_closed() {
    let s = serve(Limits {
        idle_timeout: None,
        http2_keepalive_interval: Some(Duration::from_millis(20)),
        http2_keepalive_timeout: Duration::from_millis(50),
        ..Limits::default()
    })
    .await;
    let (mut io, _) = h2::handshake(s.addr).await;
    // read everything, answer nothing: the server gives up on the unanswered ping
    let closed = tokio::time::timeout(GUARD, async {
        loop {
            match h2::read(&mut io).await {
                None => return,
                Some(f) if f.kind == h2::GOAWAY => return,
                Some(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection was never closed");
    until(s.service.open_connections(), |n| *n == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_still_running_after_the_request_timeout_is_ended_by_the_server() {
    let s = serve(Limits {
        request_timeout: Some(Duration::from_millis(50)),
        ..Limits::default()
    })
    .await;
    let (mut io, _) = h2::handshake(s.addr).await;
    // a call whose request body never comes cannot finish by itself: the server ends it with
    // a trailers-only answer (HEADERS with END_STREAM) once the timeout has passed
    h2::open_call(&mut io, 1, "/cella.v1.CellService/GetCellInfo").await;
    let ended = tokio::time::timeout(GUARD, async {
        loop {
            let f = h2::read(&mut io).await.expect("the connection stays open");
            if f.stream == 1 && f.kind == h2::HEADERS {
                return f;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(ended.flags & h2::END_STREAM, h2::END_STREAM, "{ended:?}");
}

#[test]
fn every_limit_has_a_documented_default() {
    let l = Limits::default();
    assert_eq!(l.max_connections, 256);
    assert_eq!(l.max_concurrent_streams, 64);
    assert_eq!(l.max_subscribers, 32);
    assert_eq!(l.max_header_list_size, 16 * 1024);
    assert_eq!(l.idle_timeout, Some(Duration::from_secs(120)));
    assert_eq!(l.http2_keepalive_interval, Some(Duration::from_secs(30)));
    assert_eq!(l.http2_keepalive_timeout, Duration::from_secs(20));
    assert_eq!(l.tcp_keepalive, Some(Duration::from_secs(60)));
    assert_eq!(l.request_timeout, None);
}

#[test]
fn cella_serve_takes_the_limits_as_flags_and_refuses_bad_ones_before_it_starts() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_cella"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--max-connections",
        "--max-streams",
        "--max-subscribers",
        "--idle-timeout",
        "--keepalive-interval",
        "--keepalive-timeout",
        "--tcp-keepalive",
        "--request-timeout",
    ] {
        assert!(help.contains(flag), "{flag} is not in `cella serve --help`");
    }
    for (flag, value) in [
        ("--idle-timeout", "-1"),
        ("--keepalive-timeout", "0"),
        ("--max-connections", "0"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cella"))
            .args(["serve", "--addr", "127.0.0.1:0", &format!("{flag}={value}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // refused by the limits, not by the parser
        assert!(
            stderr.contains(&format!("{flag} {value}")) || stderr.contains("at least 1"),
            "{flag} {value}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_past_16_mib_is_refused_undecoded_and_the_server_goes_on() {
    let s = serve(Limits::default()).await;
    let ch = connect(&s).await.unwrap();
    let mut c = CellServiceClient::new(ch.clone());
    // 2.2 million joint values: 17.6 MB on the wire
    let joints = vec![0.0; 2_200_000];
    let e = c
        .check_state(pb::CheckStateRequest {
            robot_id: "ur5e".into(),
            joints,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    assert!(e.message().contains("too large"), "{e:?}");
    // one just under the bound is decoded, and refused for what it says
    let e = c
        .check_state(pb::CheckStateRequest {
            robot_id: "ur5e".into(),
            joints: vec![0.0; 2_000_000],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    cell_info(&ch).await.unwrap();
}
