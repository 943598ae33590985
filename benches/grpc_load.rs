//! gRPC load generator: a real server on loopback serving the demo cell, N concurrent clients
//! issuing one kind of request for a fixed duration; prints requests per second and latency
//! percentiles (p50, p99, max) for FK, IK, state checks and plans.
//!
//! `cargo bench --bench grpc_load` (optionally `-- --seconds 5`).
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_client::CellServiceClient;
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Kind {
    Fk,
    Ik,
    Check,
    Plan,
}

/// Returns the server-side planning time (s) for plans, 0 otherwise.
async fn one(c: &mut CellServiceClient<tonic::transport::Channel>, kind: Kind, k: u64) -> f64 {
    let q = vec![0.1 * (k % 7) as f64, -1.4, 1.4, 0.0, 1.2, 0.0];
    match kind {
        Kind::Fk => {
            c.compute_fk(pb::FkRequest {
                robot_id: "kuka".into(),
                joints: q,
                frame: String::new(),
            })
            .await
            .unwrap();
            0.0
        }
        Kind::Ik => {
            let pose = pb::Pose {
                position: vec![0.2, 0.05 * (k % 5) as f64, 1.3],
                quaternion_xyzw: vec![1.0, 0.0, 0.0, 0.0],
            };
            let _ = c
                .compute_ik(pb::IkRequest {
                    robot_id: "kuka".into(),
                    pose: Some(pose),
                    all_solutions: true,
                    ..Default::default()
                })
                .await;
            0.0
        }
        Kind::Check => {
            c.check_state(pb::CheckStateRequest {
                robot_id: "kuka".into(),
                joints: q,
            })
            .await
            .unwrap();
            0.0
        }
        Kind::Plan => {
            let goal = pb::Goal {
                kind: Some(pb::goal::Kind::Joints(pb::JointValues { values: q })),
            };
            c.plan(pb::PlanRequest {
                robot_id: "kuka".into(),
                goals: vec![goal],
                ..Default::default()
            })
            .await
            .map_or(0.0, |r| r.into_inner().planning_time)
        }
    }
}

async fn scenario(url: &str, name: &str, kind: Kind, clients: usize, seconds: f64) {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for i in 0..clients {
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut c = CellServiceClient::connect(url).await.unwrap();
            let mut lat = Vec::new();
            let mut overhead = Vec::new();
            let mut k = i as u64;
            while Instant::now() < end {
                let t = Instant::now();
                let planning = one(&mut c, kind, k).await;
                let total = t.elapsed().as_secs_f64() * 1e6;
                lat.push(total);
                if planning > 0.0 {
                    overhead.push(total - planning * 1e6);
                }
                k += 1;
            }
            (lat, overhead)
        }));
    }
    let mut all: Vec<f64> = Vec::new();
    let mut overhead: Vec<f64> = Vec::new();
    for t in tasks {
        let (l, o) = t.await.unwrap();
        all.extend(l);
        overhead.extend(o);
    }
    if !overhead.is_empty() {
        overhead.sort_by(f64::total_cmp);
        println!(
            "{name:<6} {clients:>3} clients: round trip minus the planner's own time: p50 {:.0} µs, p99 {:.0} µs",
            overhead[overhead.len() / 2],
            overhead[(overhead.len() - 1) * 99 / 100]
        );
    }
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
    println!(
        "{name:<6} {clients:>3} clients: {:>8.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  max {:>8.0} µs  ({} requests)",
        all.len() as f64 / seconds,
        pct(0.5),
        pct(0.99),
        all.last().copied().unwrap_or(0.0),
        all.len()
    );
}

fn main() {
    let seconds: f64 = std::env::args()
        .skip_while(|a| a != "--seconds")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
            .unwrap()
            .build(None)
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(cella_server::serve_on(
            listener,
            cell,
            cella_control::ControlOptions::default(),
            std::future::pending(),
        ));
        for (name, kind, clients) in [
            ("fk", Kind::Fk, 1),
            ("fk", Kind::Fk, 32),
            ("ik", Kind::Ik, 32),
            ("check", Kind::Check, 32),
            ("plan", Kind::Plan, 1),
            ("plan", Kind::Plan, 8),
        ] {
            scenario(&url, name, kind, clients, seconds).await;
        }
    });
}
