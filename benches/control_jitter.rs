//! Control loop jitter under load: the demo cell with both robots' executors at 1 ms, served
//! over gRPC on loopback, while 8 clients send plan requests back to back and the UR5e
//! executes motions back and forth the whole time. Prints each loop's wake-up lateness after
//! its absolute deadline (p50 / p99 / max), work time, overruns, and the plans answered.
//!
//! `cargo bench --bench control_jitter` (optionally `-- --seconds 30 --clients 8`).
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]

use cella_proto::v1 as pb;
use cella_proto::v1::cell_service_client::CellServiceClient;
use std::f64::consts::FRAC_PI_2;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

type Client = CellServiceClient<tonic::transport::Channel>;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn plan(c: &mut Client, robot: &str, goal: Vec<f64>) -> Option<pb::PlanResponse> {
    c.plan(pb::PlanRequest {
        robot_id: robot.into(),
        goals: vec![pb::Goal {
            kind: Some(pb::goal::Kind::Joints(pb::JointValues { values: goal })),
        }],
        ..Default::default()
    })
    .await
    .ok()
    .map(|r| r.into_inner())
}

fn main() {
    // as `cella serve` does at start-up: the measured loops run in a process that keeps its
    // heap resident
    cella_control::memory::keep_heap_resident();
    let seconds = arg("--seconds", 30.0);
    let clients = arg("--clients", 8.0) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut cell = cella_cell::CellFile::parse(cella_cell::DEMO_CELL)
            .unwrap()
            .build(None)
            .unwrap();
        for r in &mut Arc::make_mut(&mut cell).robots {
            r.control_period_ms = 1;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(cella_server::serve_on(
            listener,
            cell,
            cella_control::ControlOptions {
                spin: Duration::from_micros(arg("--spin-us", 0.0) as u64),
                ..cella_control::ControlOptions::default()
            },
            std::future::pending(),
        ));
        let mut c = loop {
            if let Ok(c) = CellServiceClient::connect(url.clone()).await {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.get_loop_health(pb::LoopHealthRequest {
            robot_id: String::new(),
            reset: true,
        })
        .await
        .unwrap();
        let end = Instant::now() + Duration::from_secs_f64(seconds);
        let planned = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for k in 0..clients {
            let url = url.clone();
            let planned = planned.clone();
            tasks.push(tokio::spawn(async move {
                let mut c = CellServiceClient::connect(url).await.unwrap();
                let mut i = k as u64;
                while Instant::now() < end {
                    i += 1;
                    let goal = vec![0.15 * (i % 9) as f64, -1.3, 1.3, 0.3, 1.1, 0.2];
                    if plan(&mut c, "kuka", goal).await.is_some() {
                        planned.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        // the UR5e moves back and forth all the time
        let mover = {
            let url = url.clone();
            tokio::spawn(async move {
                let mut c = CellServiceClient::connect(url).await.unwrap();
                let goals = [
                    vec![0.8, -1.2, 1.4, -1.8, -1.57, 0.3],
                    vec![0.0, -FRAC_PI_2, FRAC_PI_2, -FRAC_PI_2, -FRAC_PI_2, 0.0],
                ];
                let mut n = 0;
                let mut executions = 0;
                while Instant::now() < end {
                    let Some(p) = plan(&mut c, "ur5e", goals[n % 2].clone()).await else {
                        n += 1;
                        continue;
                    };
                    n += 1;
                    if c.execute(pb::ExecuteRequest {
                        robot_id: "ur5e".into(),
                        trajectory: p.trajectory,
                        world_version: p.world_version,
                        ..Default::default()
                    })
                    .await
                    .is_ok()
                    {
                        executions += 1;
                    }
                    // wait for it to finish
                    loop {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        let mut s = c
                            .stream_state(pb::StreamStateRequest {
                                robot_ids: vec!["ur5e".into()],
                                rate_hz: 100.0,
                            })
                            .await
                            .unwrap()
                            .into_inner();
                        let st = s.message().await.unwrap().unwrap();
                        if st.status == pb::RobotStatus::Idle as i32 {
                            break;
                        }
                    }
                }
                executions
            })
        };
        for t in tasks {
            t.await.unwrap();
        }
        let executions = mover.await.unwrap();
        let health = c
            .get_loop_health(pb::LoopHealthRequest {
                robot_id: String::new(),
                reset: false,
            })
            .await
            .unwrap()
            .into_inner();
        println!(
            "control loop jitter, {seconds:.0} s at 1 ms, {clients} plan clients: {} plans answered ({:.0}/s), {executions} UR5e executions",
            planned.load(Ordering::Relaxed),
            planned.load(Ordering::Relaxed) as f64 / seconds
        );
        println!("robot   cycles   jitter p50 / p99 / max (µs)   work p50 / p99 / max (µs)   overruns  realtime");
        for r in &health.robots {
            println!(
                "{:<7} {:>7}   {:>6.0} / {:>5.0} / {:>6.0}          {:>4.0} / {:>4.0} / {:>5.0}          {:>5}    {}",
                r.robot_id,
                r.cycles,
                r.jitter_p50_us,
                r.jitter_p99_us,
                r.jitter_max_us,
                r.work_p50_us,
                r.work_p99_us,
                r.work_max_us,
                r.overruns,
                r.realtime
            );
        }
    });
}
