#![allow(clippy::unwrap_used, clippy::print_stdout)]
//! The viewer pages in a real browser: Debian's chromium driven by playwright-core from npm
//! (`viewer/test/browser.mjs`; `.ci/run` installs both, and a missing one fails these tests,
//! it never skips them). What the page shows is compared with what cella computes here:
//! - every file page (`cella plan --html`, `cella view --problem` and `--cell`, a refused
//!   plan, `cella bench --html`) loads with no console error and makes no request but the
//!   file itself; the canvas has ink where the robot stands; the timeline lasts the
//!   trajectory's duration; scrubbed to time t, the TCP read from the page's scene graph is
//!   cella's FK of q(t) within 1 mm (both written to `target/viewer-screenshots/*-fk.json`);
//!   every joint plot draws its limits; a refused plan shows its colliding pair;
//! - the live page of `cella serve --http` follows a robot executing a motion over gRPC.
//!
//! Screenshots are kept in `target/viewer-screenshots/`.

mod common;

use cella::problem::Problem;
use cella::trajectory_file::TrajectoryFile;
use cella_proto::v1 as pb;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const CHROMIUM: &str = "/usr/bin/chromium";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The browser and its driver, or a failure saying how to install them.
fn browser_tools() {
    let chromium = std::env::var("CELLA_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
    assert!(
        Path::new(&chromium).is_file(),
        "{chromium} is missing: `apt-get install chromium` (.ci/run installs it)"
    );
    assert!(
        root().join("viewer/node_modules/playwright-core").is_dir(),
        "viewer/node_modules/playwright-core is missing: `npm ci` in viewer/ (.ci/run does it)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is missing (the machine's Node.js runs playwright-core)"
    );
}

fn dirs() -> (PathBuf, PathBuf) {
    let work = root().join("target/viewer-test");
    let shots = root().join("target/viewer-screenshots");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&shots).unwrap();
    (work, shots)
}

fn cella_ok(args: &[&str]) -> String {
    let out = common::cella(args);
    assert!(
        out.status.success(),
        "cella {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the browser script on `spec`; returns its JSON report.
fn run_browser(spec: &Value, name: &str) -> Value {
    let (work, _) = dirs();
    let spec_path = work.join(format!("{name}-spec.json"));
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let out = Command::new("node")
        .arg(root().join("viewer/test/browser.mjs"))
        .arg(&spec_path)
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Joint values at time t of a trajectory file: linear between its samples.
fn q_at(file: &TrajectoryFile, t: f64) -> Vec<f64> {
    let p = &file.points;
    let k = p.partition_point(|x| x.t <= t).clamp(1, p.len() - 1);
    let (a, b) = (&p[k - 1], &p[k]);
    let u = ((t - a.t) / (b.t - a.t)).clamp(0.0, 1.0);
    a.q.iter().zip(&b.q).map(|(x, y)| x + u * (y - x)).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Checks what every page must show: no console error, no request but itself, the robot on
/// the canvas.
fn check_common(page: &Value, file: &Path) {
    let name = page["name"].as_str().unwrap();
    let errors: Vec<&str> = page["console"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|m| !m.starts_with("warning:"))
        .collect();
    assert!(errors.is_empty(), "{name}: console errors {errors:?}");
    // the page's own URL, as the browser spells it (percent-encoded)
    let url = page["url"].as_str().unwrap();
    let file_name = file.file_name().unwrap().to_string_lossy();
    assert!(
        url.starts_with("file://") && url.ends_with(&*file_name),
        "{url}"
    );
    let requests: Vec<&str> = page["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(requests, vec![url], "{name}: requests");
    assert_eq!(page["blocked"], json!([]), "{name}: blocked requests");
    if page["mode"] != "bench" {
        let ink = page["ink"].as_f64().unwrap();
        assert!(ink > 0.1, "{name}: {ink} of the robot's box is drawn");
    }
}

/// The reference TCP of a motion page: cella's FK of q(t), and the page's, within 1 mm.
fn check_tcp(page: &Value, file: &TrajectoryFile, tcp: impl Fn(&[f64]) -> [f64; 3], shots: &Path) {
    let name = page["name"].as_str().unwrap();
    let mut rows = Vec::new();
    let mut worst: f64 = 0.0;
    for s in page["tcp"].as_array().unwrap() {
        let t = s["t"].as_f64().unwrap();
        let got = floats(&s["p"]);
        let q = q_at(file, t);
        let want = tcp(&q);
        let err = (0..3)
            .map(|k| (got[k] - want[k]).powi(2))
            .sum::<f64>()
            .sqrt();
        worst = worst.max(err);
        rows.push(json!({"t": t, "q": q, "cella_fk": want, "page": got, "error_m": err}));
    }
    std::fs::write(
        shots.join(format!("{name}-fk.json")),
        serde_json::to_string_pretty(&rows).unwrap(),
    )
    .unwrap();
    assert!(rows.len() >= 5, "{name}: TCP read at {} times", rows.len());
    assert!(worst < 1e-3, "{name}: TCP {worst} m from cella's FK");
    // the timeline lasts the trajectory
    let duration = file.points.last().unwrap().t - file.points[0].t;
    let tl = &page["timeline"];
    let span = tl["max"].as_f64().unwrap() - tl["min"].as_f64().unwrap();
    assert!((span - duration).abs() < 1e-9, "{name}: timeline {span} s");
    assert!((page["duration"].as_f64().unwrap() - duration).abs() < 1e-9);
    assert!(
        page["played"].as_f64().unwrap() > 0.2,
        "{name}: playing advances"
    );
    let times: Vec<f64> = rows.iter().map(|r| r["t"].as_f64().unwrap()).collect();
    let mid = times[times.len() / 2];
    assert!(
        (page["slider"].as_f64().unwrap() - mid).abs() < 1e-9,
        "{name}: scrubbed"
    );
}

/// Every joint plot draws its limit lines (and the clearance plot its zero line).
fn check_limits(page: &Value, dof: usize) {
    let name = page["name"].as_str().unwrap();
    let plots = page["plots"].as_array().unwrap();
    let mut drawn = 0;
    let red = |rgb: &Value| {
        let c = floats(rgb);
        c[0] > 150.0 && c[1] < 110.0 && c[2] < 110.0
    };
    for p in plots {
        for l in p["limits"].as_array().unwrap() {
            // read across the plot: a series riding the limit covers it here and there
            let along = l["rgb"].as_array().unwrap();
            let on = along.iter().filter(|c| red(c)).count();
            assert!(
                2 * on > along.len(),
                "{name}: {} limit {} drawn as {along:?}",
                p["id"],
                l["value"]
            );
            drawn += 1;
        }
    }
    let joint_plots = plots.iter().filter(|p| p["joint"].is_number()).count();
    assert_eq!(
        joint_plots,
        4 * dof,
        "{name}: q, qd, qdd and jerk plots per joint"
    );
    // position, velocity and acceleration limits of every joint (both sides), and more
    assert!(drawn >= 6 * dof, "{name}: {drawn} limit lines");
}

fn times_of(file: &TrajectoryFile) -> Vec<f64> {
    let d = file.points.last().unwrap().t;
    vec![0.0, 0.25 * d, 0.3137 * d, 0.5 * d, 0.75 * d, 0.9 * d, d]
}

#[test]
fn the_file_pages_show_the_motion_the_clearance_and_the_limits_in_a_browser() {
    browser_tools();
    let began = Instant::now();
    let (work, shots) = dirs();
    let path = |n: &str| work.join(n);
    let s = |p: &PathBuf| p.display().to_string();

    // a Panda problem, planned, with its page; and the same through `cella view`
    let problem_path = common::shared("problems/panda-mbm").join("box/box_0001.json");
    let traj_path = path("panda.json");
    cella_ok(&[
        "plan",
        "--problem",
        &s(&problem_path),
        "--out",
        &s(&traj_path),
        "--html",
        &s(&path("panda-plan.html")),
    ]);
    let said = cella_ok(&[
        "view",
        "--problem",
        &s(&problem_path),
        "--trajectory",
        &s(&traj_path),
        "--out",
        &s(&path("panda-view.html")),
    ]);
    assert!(said.contains("closest"), "{said}");
    let panda_traj =
        TrajectoryFile::from_json(&std::fs::read_to_string(&traj_path).unwrap()).unwrap();
    let problem = Problem::from_file(&problem_path).unwrap();

    // a refused plan: the cage goal with a finger in the cube
    let refused_problem = common::shared("problems/panda-mbm").join("cage/cage_0001.json");
    let out = common::cella(&[
        "plan",
        "--problem",
        &s(&refused_problem),
        "--html",
        &s(&path("panda-refused.html")),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refusal = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(refusal.contains("goal is in collision"), "{refusal}");

    // a cell robot's motion: the UR5e of the demo cell, retimed from home
    let cell_path = root().join("cells/demo.toml");
    use std::f64::consts::FRAC_PI_2 as HALF;
    let home = [0.0, -HALF, HALF, -HALF, -HALF, 0.0];
    let to = [0.9, -1.2, 1.3, -1.7, -HALF, 0.6];
    std::fs::write(
        path("ur5e-path.json"),
        json!({"joint_names": ["shoulder_pan_joint", "shoulder_lift_joint", "elbow_joint",
            "wrist_1_joint", "wrist_2_joint", "wrist_3_joint"],
            "points": [{"q": home}, {"q": to}]})
        .to_string(),
    )
    .unwrap();
    let ur_traj_path = path("ur5e.json");
    cella_ok(&[
        "retime",
        "--robot",
        "ur5e",
        "--path",
        &s(&path("ur5e-path.json")),
        "--out",
        &s(&ur_traj_path),
    ]);
    cella_ok(&[
        "view",
        "--cell",
        &s(&cell_path),
        "--robot",
        "ur5e",
        "--trajectory",
        &s(&ur_traj_path),
        "--out",
        &s(&path("demo-cell.html")),
    ]);
    let ur_traj =
        TrajectoryFile::from_json(&std::fs::read_to_string(&ur_traj_path).unwrap()).unwrap();

    // a benchmark report over a few problems of two scenes
    let bench_dir = path("bench");
    let _ = std::fs::remove_dir_all(&bench_dir);
    for (scene, n) in [("box", 3), ("table_pick", 2)] {
        std::fs::create_dir_all(bench_dir.join(scene)).unwrap();
        for k in 1..=n {
            let f = format!("{scene}_{k:04}.json");
            std::fs::copy(
                common::shared("problems/panda-mbm").join(scene).join(&f),
                bench_dir.join(scene).join(&f),
            )
            .unwrap();
        }
    }
    cella_ok(&["bench", &s(&bench_dir), "--html", &s(&path("bench.html"))]);

    let pages = [
        ("panda-plan", times_of(&panda_traj)),
        ("panda-view", times_of(&panda_traj)),
        ("panda-refused", Vec::new()),
        ("demo-cell", times_of(&ur_traj)),
        ("bench", Vec::new()),
    ];
    let spec = json!({
        "chromium": std::env::var("CELLA_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into()),
        "screenshots": s(&shots),
        "pages": pages.iter().map(|(n, times)| json!({
            "name": n, "file": s(&path(&format!("{n}.html"))), "times": times,
        })).collect::<Vec<_>>(),
    });
    let report = run_browser(&spec, "files");
    let by_name = |n: &str| -> &Value {
        report["pages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .unwrap()
    };
    let mut sizes = Vec::new();
    for (n, _) in &pages {
        let file = path(&format!("{n}.html"));
        check_common(by_name(n), &file);
        sizes.push(format!(
            "{n}: {} kB",
            std::fs::metadata(&file).unwrap().len() / 1000
        ));
        assert!(
            shots.join(format!("{n}.png")).is_file(),
            "{n}: screenshot kept"
        );
    }
    println!("page sizes: {}", sizes.join(", "));

    let panda_tcp = |q: &[f64]| {
        let p = (problem.base * problem.geometry.robot().fk(q).unwrap())
            .translation
            .vector;
        [p.x, p.y, p.z]
    };
    for n in ["panda-plan", "panda-view"] {
        let page = by_name(n);
        assert_eq!(page["mode"], "motion");
        check_tcp(page, &panda_traj, panda_tcp, &shots);
        check_limits(page, 7);
        let closest = &page["closest"];
        assert!(
            closest["d"].as_f64().unwrap() > 0.0,
            "{n}: a valid plan keeps clear"
        );
        assert!(closest["a"].is_string() && closest["b"].is_string());
    }

    let cell = cella_cell::CellFile::parse(&std::fs::read_to_string(&cell_path).unwrap())
        .unwrap()
        .build(cell_path.parent())
        .unwrap();
    let ur = cell.robot("ur5e").unwrap();
    let ur_tcp = |q: &[f64]| {
        let p = (ur.base * ur.geometry.robot().fk(q).unwrap())
            .translation
            .vector;
        [p.x, p.y, p.z]
    };
    let demo = by_name("demo-cell");
    assert_eq!(demo["mode"], "motion");
    check_tcp(demo, &ur_traj, ur_tcp, &shots);
    check_limits(demo, 6);

    // the refused plan shows its offending state with the colliding pair highlighted
    let refused = by_name("panda-refused");
    assert_eq!(refused["mode"], "refused");
    let highlighted: Vec<&str> = refused["highlighted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!highlighted.is_empty(), "a colliding pair is highlighted");
    for name in &highlighted {
        assert!(refusal.contains(name), "{name} is named in: {refusal}");
    }

    let bench = by_name("bench");
    assert_eq!(bench["mode"], "bench");
    assert_eq!(
        bench["canvases"],
        json!([
            "dist-planning_time_us",
            "dist-path_length",
            "dist-duration_s"
        ])
    );
    // header + two scenes + all
    assert!(bench["tables"].as_u64().unwrap() >= 4);
    println!(
        "browser checks of the file pages: {:.1} s",
        began.elapsed().as_secs_f64()
    );
}

/// The data a page embeds.
fn page_data(html: &str) -> Value {
    let start = html.find(r#"id="cella-data">"#).unwrap() + r#"id="cella-data">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[test]
fn a_robot_given_by_urdf_is_drawn_with_its_own_meshes_decimated() {
    let (work, _) = dirs();
    let urdf = common::shared("robot-data").join("fanuc_lrmate200id/fanuc_lrmate200id.urdf");
    let problem = work.join("fanuc-problem.json");
    std::fs::write(
        &problem,
        json!({"urdf": urdf, "tip_link": "tool0",
            "joint_names": ["joint_1", "joint_2", "joint_3", "joint_4", "joint_5", "joint_6"],
            "obstacles": [{"name": "post", "type": "cylinder", "position": [0.5, 0.3, 0.3],
                           "radius": 0.05, "length": 0.6}],
            "start": [0.0, 0.0, 0.0, 0.0, -1.0, 0.0], "goals": [[1.0, 0.3, 0.2, 0.0, -1.0, 0.0]]})
        .to_string(),
    )
    .unwrap();
    let html = work.join("fanuc.html");
    let said = cella_ok(&[
        "view",
        "--problem",
        &problem.display().to_string(),
        "--out",
        &html.display().to_string(),
    ]);
    assert!(said.contains("fanuc"), "{said}");
    let data = page_data(&std::fs::read_to_string(&html).unwrap());
    assert_eq!(data["mode"], "scene");
    let robot = &data["scene"]["robots"][0];
    assert_eq!(robot["notes"], json!([]), "every visual mesh was read");
    let parts = robot["visuals"].as_array().unwrap();
    assert!(parts.len() >= 6, "{} visual parts", parts.len());
    assert!(
        !robot["hulls"].as_array().unwrap().is_empty(),
        "and its hulls"
    );
    assert_eq!(data["scene"]["world"]["objects"][0]["name"], "post");
}

/// A `cella serve` process, killed when dropped.
struct Served {
    child: Child,
    grpc: String,
    http: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_demo() -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cella"))
        .args(["serve", "--addr", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut grpc, mut http) = (None, None);
    while grpc.is_none() || http.is_none() {
        let line = lines.next().expect("cella serve ended").unwrap();
        if let Some(a) = line.strip_prefix("live view on ") {
            http = Some(a.to_owned());
        } else if let Some(a) = line.strip_prefix("listening on ") {
            grpc = Some(a.to_owned());
        }
    }
    Served {
        child,
        grpc: grpc.unwrap(),
        http: http.unwrap(),
    }
}

/// One plain HTTP/1.1 request; returns the status line and the body.
fn http(base: &str, method: &str, path: &str) -> (String, String) {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

const KUKA_GOAL: [f64; 6] = [1.2, -1.1, 1.2, 0.8, 1.0, 1.5];

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

#[test]
fn the_live_page_follows_a_robot_executing_over_grpc() {
    browser_tools();
    let (_, shots) = dirs();
    let served = serve_demo();

    // read-only: the feed answers, nothing else does
    let (status, body) = http(&served.http, "GET", "/state");
    assert!(status.contains("200"), "{status}");
    let state: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(state["robots"].as_array().unwrap().len(), 2);
    assert!(http(&served.http, "POST", "/state").0.contains("405"));
    assert!(http(&served.http, "GET", "/nothing").0.contains("404"));
    let (status, world) = http(&served.http, "GET", "/world");
    assert!(
        status.contains("200") && world.contains("conveyor"),
        "{world}"
    );

    // the browser opens the page and says when it follows the feed
    let spec = json!({
        "chromium": std::env::var("CELLA_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into()),
        "screenshots": shots.display().to_string(),
        "live": {"name": "live", "url": format!("{}/", served.http), "robot": "kuka",
                 "goal": KUKA_GOAL, "timeout_ms": 20000, "object": "probe_ball"},
    });
    let (work, _) = dirs();
    let spec_path = work.join("live-spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let mut node = Command::new("node")
        .arg(root().join("viewer/test/browser.mjs"))
        .arg(&spec_path)
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err_lines = BufReader::new(node.stderr.take().unwrap()).lines();
    let mut early = String::new();
    loop {
        match err_lines.next() {
            Some(Ok(l)) if l.trim() == "READY" => break,
            Some(Ok(l)) => early.push_str(&l),
            _ => panic!("the browser script ended before the page followed the feed: {early}"),
        }
    }

    // execute a motion over gRPC, recording the robot's state stream
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (streamed, completed_ms): (Vec<(f64, f64, Vec<f64>)>, f64) = runtime.block_on(async {
        let mut c = pb::cell_service_client::CellServiceClient::connect(served.grpc.clone())
            .await
            .unwrap();
        let plan = c
            .plan(pb::PlanRequest {
                robot_id: "kuka".into(),
                velocity_scale: 0.25,
                acceleration_scale: 0.25,
                goals: vec![pb::Goal {
                    kind: Some(pb::goal::Kind::Joints(pb::JointValues {
                        values: KUKA_GOAL.to_vec(),
                    })),
                }],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        // read as it comes, on its own task: each state stamped when it arrives
        let mut stream = c
            .stream_state(pb::StreamStateRequest {
                robot_ids: vec!["kuka".into()],
                rate_hz: 250.0,
            })
            .await
            .unwrap()
            .into_inner();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(Ok(s)) = tokio_stream::StreamExt::next(&mut stream).await {
                if tx.send((now_ms(), s)).is_err() {
                    break;
                }
            }
        });
        let id = c
            .execute(pb::ExecuteRequest {
                robot_id: "kuka".into(),
                trajectory: plan.trajectory,
                world_version: plan.world_version,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .execution_id;
        let mut seen = Vec::new();
        let mut completed = f64::INFINITY;
        while let Some((ms, s)) = rx.recv().await {
            seen.push((ms, s.time, s.positions.clone()));
            if s.execution_id == id && s.outcome != pb::ExecutionOutcome::Running as i32 {
                completed = ms;
                break;
            }
        }
        reader.abort();
        // a world edit: the page shows the new object
        c.add_object(pb::AddObjectRequest {
            object: Some(common::sphere(
                "probe_ball",
                0.05,
                pb::Pose {
                    position: vec![0.0, 0.3, 1.2],
                    quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
                },
            )),
        })
        .await
        .unwrap();
        (seen, completed)
    });
    let mut out = String::new();
    node.stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(node.wait().unwrap().success(), "browser script failed");
    let report: Value = serde_json::from_str(&out).unwrap();
    let live = &report["live"];
    let errors: Vec<&Value> = live["console"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| !m.as_str().unwrap_or("").starts_with("warning:"))
        .collect();
    assert!(errors.is_empty(), "live page console errors: {errors:?}");
    assert!(live["ink"].as_f64().unwrap() > 0.1, "the robot is drawn");
    // the page's only requests: itself and its feed (and the world, had it changed)
    for r in live["requests"].as_array().unwrap() {
        let r = r.as_str().unwrap();
        assert!(r.starts_with(&served.http), "request to {r}");
    }

    let dist = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    };
    // the states the page applied, as it applied them, and what the test read from its scene
    let applied: Vec<(f64, f64, Vec<f64>)> = live["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["ms"].as_f64().unwrap(),
                s["time"].as_f64().unwrap(),
                floats(&s["q"]),
            )
        })
        .collect();
    let samples: Vec<(f64, Vec<f64>)> = applied.iter().map(|(ms, _, q)| (*ms, q.clone())).collect();
    let read: Vec<Vec<f64>> = live["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| floats(&s["q"]))
        .collect();
    assert!(
        read.iter()
            .all(|q| samples.iter().any(|(_, s)| dist(q, s) < 1e-12)),
        "the scene shows the states the page applied"
    );
    // it ends where the robot ends, and was seen in between
    let start = floats(&live["initial"]);
    let last = &samples.last().unwrap().1;
    assert!(dist(last, &KUKA_GOAL) < 1e-6, "the page ends at {last:?}");
    let between = samples
        .iter()
        .filter(|(_, q)| dist(q, &start) > 0.05 && dist(q, &KUKA_GOAL) > 0.05)
        .count();
    assert!(between >= 5, "{between} page states between start and goal");
    // every state the page applied is the robot's state at that time of its executor:
    // between the two streamed states around it (the stream samples the control cycles)
    let at = |time: f64| -> Option<Vec<f64>> {
        let k = streamed.partition_point(|s| s.1 <= time);
        if k == 0 || k == streamed.len() {
            return None;
        }
        let (a, b) = (&streamed[k - 1], &streamed[k]);
        let u = if b.1 > a.1 {
            (time - a.1) / (b.1 - a.1)
        } else {
            0.0
        };
        Some(a.2.iter().zip(&b.2).map(|(x, y)| x + u * (y - x)).collect())
    };
    let mut checked = 0;
    for (_, time, q) in &applied {
        if let Some(robot) = at(*time) {
            assert!(
                dist(q, &robot) < 5e-3,
                "at {time} s of its executor the page showed {q:?}, the robot was at {robot:?}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 5,
        "{checked} page states within the streamed motion"
    );
    // and it showed them while the robot moved, not after
    let first_moving = applied
        .iter()
        .find(|(_, _, q)| dist(q, &start) > 0.05)
        .map(|(ms, _, _)| *ms)
        .unwrap();
    let first_after_ms = first_moving - streamed[0].0;
    assert!(
        first_moving < completed_ms,
        "the page showed the motion only after it ended"
    );
    println!(
        "live page: {} states applied, {between} while moving, {checked} checked against the \
         robot's, the first moving one {first_after_ms:.0} ms after the stream began",
        samples.len()
    );
    assert!(shots.join("live-moving.png").is_file());
    assert_eq!(
        live["object"], true,
        "the page shows the object added over gRPC"
    );
}
