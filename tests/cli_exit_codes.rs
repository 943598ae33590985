#![allow(clippy::unwrap_used)]
//! The exit codes of the `cella` binary, each from real invocations: 0 success, 1 an answer
//! that says no (no solution, in collision, outside the limits, invalid), 2 bad usage or input,
//! 3 a server or connection failure. The expected answer of every case is known independently
//! of the command (a pose 8.7 m from a 0.85 m arm, a sphere put on the TCP, a wrist below the
//! table top, a port nobody listens on).

mod common;

use cella_kinematics::library;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Output;

/// Runs `cella` and returns its exit code with its output.
fn run(args: &[&str]) -> (Option<i32>, Output) {
    let out = common::cella(args);
    (out.status.code(), out)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that `args` exit with `code` and that stderr mentions `needle`.
fn expect(args: &[&str], code: i32, needle: &str) -> Output {
    let (got, out) = run(args);
    let err = stderr(&out);
    assert_eq!(got, Some(code), "{args:?}: {err}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{args:?}: '{err}' does not mention '{needle}'"
    );
    out
}

/// A directory of its own for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cella-exit-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The UR5e's home pose and a goal a quarter turn of the base away.
fn ur5e_home_and_goal() -> (Vec<f64>, Vec<f64>) {
    let robot = library::load("ur5e").unwrap();
    let home = robot.named_pose("home").unwrap().to_vec();
    let goal = vec![1.5, -1.2, 1.3, -1.6, -1.57, 0.0];
    (home, goal)
}

/// A UR5e problem (`peer-bench-problem/v1`) with one sphere of radius 0.1 m centred on the TCP
/// of the goal: the goal is in collision by construction, the start (1.3 m of arc away) free.
fn problem_with_a_sphere_on_the_goal(start: &[f64], goal: &[f64]) -> String {
    let robot = library::load("ur5e").unwrap();
    let tcp = robot.fk(goal).unwrap().translation.vector;
    let names: Vec<&str> = robot.chain().joint_names().collect();
    json!({
        "format": "peer-bench-problem/v1",
        "name": "sphere_on_goal",
        "robot": "ur5e",
        "joint_names": names,
        "obstacles": [
            {"name": "ball", "type": "sphere", "position": [tcp.x, tcp.y, tcp.z], "radius": 0.1}
        ],
        "start": start,
        "goals": [goal],
    })
    .to_string()
}

#[test]
fn local_commands_exit_0_on_success_and_1_when_the_answer_is_no() {
    let dir = Scratch::new("local");
    let (home, goal) = ur5e_home_and_goal();
    let problem = dir.file("p.json", &problem_with_a_sphere_on_the_goal(&home, &goal));

    // 0: the start is free, FK is answered
    let (code, out) = run(&[
        "check",
        "--problem",
        &problem,
        "--joints",
        &common::csv(&home),
        "--json",
    ]);
    assert_eq!(code, Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");
    let (code, _) = run(&["fk", "--robot", "ur5e", "--joints", &common::csv(&home)]);
    assert_eq!(code, Some(0));

    // 1: the goal touches the sphere put on its TCP; --json still prints the verdict
    let out = expect(
        &[
            "check",
            "--problem",
            &problem,
            "--joints",
            &common::csv(&goal),
            "--json",
        ],
        1,
        "ball",
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["min_distance"].as_f64().unwrap() < 0.0, "{v}");
    let out = expect(&["plan", "--problem", &problem, "--json"], 1, "collision");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&v["solved"], &v["invalid"]), (&json!(false), &json!(true)));
    assert!(v["reason"].as_str().unwrap().contains("ball"), "{v}");

    // 1: outside the joint limits (the UR5e's joints turn ±2π)
    let mut beyond = home.clone();
    beyond[0] = 7.0;
    expect(
        &[
            "check",
            "--problem",
            &problem,
            "--joints",
            &common::csv(&beyond),
        ],
        1,
        "outside its limits",
    );
    let start_beyond = dir.file(
        "beyond.json",
        &problem_with_a_sphere_on_the_goal(&beyond, &home),
    );
    expect(
        &["plan", "--problem", &start_beyond],
        1,
        "outside its limits",
    );

    // 1: no joint values put a 0.85 m arm's TCP 8.7 m away
    expect(
        &["ik", "--robot", "ur5e", "--pose", "5,5,5,0,0,0,1"],
        1,
        "unreachable",
    );

    // 1: a description that loads but cannot be collision-checked: `robot check` says so
    let urdf = dir.file(
        "bare.urdf",
        r#"<robot name="bare">
  <link name="base"/><link name="arm"/>
  <joint name="j1" type="revolute"><parent link="base"/><child link="arm"/>
    <axis xyz="0 0 1"/><limit lower="-1" upper="1" velocity="1" effort="1"/></joint>
</robot>"#,
    );
    let out = expect(
        &["robot", "check", &urdf, "--json"],
        1,
        "cannot be used for planning",
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["problems"]
            .to_string()
            .contains("no link has collision geometry"),
        "{report}"
    );
}

#[test]
fn bad_usage_and_bad_input_exit_2() {
    let dir = Scratch::new("input");
    let (home, goal) = ur5e_home_and_goal();
    let problem = dir.file("p.json", &problem_with_a_sphere_on_the_goal(&home, &goal));
    let malformed = dir.file("malformed.json", "{\"format\": \"peer-bench-problem/v1\",");
    let missing = dir.0.join("absent.json");
    let missing = missing.to_str().unwrap();
    let cases: [(&[&str], &str); 10] = [
        // clap's usage errors
        (&["fk", "--robot", "ur5e"], "--joints"),
        (&["no-such-command"], "no-such-command"),
        // unknown robot, malformed values
        (
            &["fk", "--robot", "no_such_robot", "--joints", "0"],
            "no_such_robot",
        ),
        (
            &["fk", "--robot", "ur5e", "--joints", "0,x,0,0,0,0"],
            "--joints",
        ),
        (&["check", "--problem", &problem, "--joints", "0,0"], "6"),
        (
            &["ik", "--robot", "ur5e", "--pose", "0.3,0,0.3,0,0,0,0"],
            "quaternion",
        ),
        // unreadable and malformed files
        (
            &["check", "--problem", missing, "--joints", "0"],
            "absent.json",
        ),
        (&["plan", "--problem", &malformed], "malformed.json"),
        // a request value the planner refuses to work with
        (
            &["plan", "--problem", &problem, "--time-budget", "0"],
            "--time-budget",
        ),
        // a malformed server address is bad input, not a connection failure
        (
            &[
                "fk",
                "--server",
                "not a url",
                "--robot",
                "ur5e",
                "--joints",
                "0,0,0,0,0,0",
            ],
            "not a url",
        ),
    ];
    for (args, needle) in cases {
        expect(args, 2, needle);
    }
    // an argument of `exec` is checked before any server is contacted (none runs here)
    expect(
        &[
            "exec",
            "--server",
            "http://127.0.0.1:9",
            "--robot",
            "ur5e",
            "--goal",
            "0,0,0,0,0,0",
            "--motion",
            "sideways",
        ],
        2,
        "--motion",
    );
    // a CIRC names its circle by --circ-via or --circ-centre
    expect(
        &[
            "exec",
            "--server",
            "http://127.0.0.1:9",
            "--robot",
            "kuka",
            "--goal",
            "0,0,0,0,0,0",
            "--motion",
            "circ",
        ],
        2,
        "--circ-via",
    );
}

/// A local TCP port that refuses connections for as long as the socket lives: bound (so no
/// one else gets it) but not listening.
fn refusing_port() -> (tokio::net::TcpSocket, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}", socket.local_addr().unwrap());
    (socket, url)
}

#[test]
fn an_unreachable_or_failing_server_exits_3() {
    let (_held, url) = refusing_port();
    for args in [
        &[
            "fk",
            "--server",
            &url,
            "--robot",
            "ur5e",
            "--joints",
            "0,0,0,0,0,0",
        ][..],
        &[
            "ik",
            "--server",
            &url,
            "--robot",
            "ur5e",
            "--pose",
            "0.4,0,0.4,0,1,0,0",
        ],
        &[
            "plan", "--server", &url, "--robot", "ur5e", "--named", "home",
        ],
        &[
            "exec", "--server", &url, "--robot", "ur5e", "--named", "home",
        ],
    ] {
        expect(args, 3, &url);
    }

    // a peer that accepts connections and closes them at once: not a gRPC server
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    let (code, out) = run(&[
        "fk",
        "--server",
        &url,
        "--robot",
        "ur5e",
        "--joints",
        "0,0,0,0,0,0",
    ]);
    assert_eq!(code, Some(3), "{}", stderr(&out));

    // `serve` on an address another socket holds cannot serve
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    expect(&["serve", "--addr", &addr], 3, &addr);
}

/// Runs `cella` on a blocking thread (the server under test runs on the runtime).
async fn run_async(args: Vec<String>) -> (Option<i32>, Output) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answers_map_to_their_codes() {
    let s = common::start().await;
    let args = |list: &[&str]| -> Vec<String> {
        let mut v = list.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        v.extend(["--server".to_owned(), s.url.clone()]);
        v
    };
    // 0: the UR5e's TCP at its home pose
    let (code, out) = run_async(args(&[
        "fk",
        "--robot",
        "ur5e",
        "--joints",
        "0,-1.5707963,1.5707963,-1.5707963,-1.5707963,0",
        "--json",
    ]))
    .await;
    assert_eq!(code, Some(0), "{}", stderr(&out));

    // 1: the UR5e stands on the table top (its base plane); lowering its shoulder by 0.3 rad
    // below the horizontal puts the TCP under that plane, inside the table
    let down = [0.0, 0.3, 0.0, 0.0, 0.0, 0.0];
    let tcp_z = library::load("ur5e")
        .unwrap()
        .fk(&down)
        .unwrap()
        .translation
        .z;
    assert!(tcp_z < 0.0, "TCP {tcp_z} m above the base plane");
    let (code, out) = run_async(args(&[
        "plan",
        "--robot",
        "ur5e",
        "--goal",
        &common::csv(&down),
    ]))
    .await;
    assert_eq!(code, Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("table"), "{}", stderr(&out));
    let (code, out) = run_async(args(&["ik", "--robot", "ur5e", "--pose", "5,5,5,0,0,0,1"])).await;
    assert_eq!(code, Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("unreachable"), "{}", stderr(&out));

    // 2: an unknown robot id, a goal of the wrong length
    let (code, out) = run_async(args(&["plan", "--robot", "r2d2", "--named", "home"])).await;
    assert_eq!(code, Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("r2d2"), "{}", stderr(&out));
    let (code, out) = run_async(args(&["plan", "--robot", "ur5e", "--goal", "0.1,0.2"])).await;
    assert_eq!(code, Some(2), "{}", stderr(&out));

    // every tuning flag of `plan` reaches the server, which refuses values out of its bounds
    for (flag, value, field) in [
        ("--time-budget", "100", "time_budget"),
        ("--period", "2", "period"),
        ("--acceleration-scale", "1.5", "acceleration_scale"),
        ("--velocity-scale", "1.5", "velocity_scale"),
    ] {
        let (code, out) = run_async(args(&[
            "plan", "--robot", "ur5e", "--named", "home", flag, value,
        ]))
        .await;
        assert_eq!(code, Some(2), "{flag}: {}", stderr(&out));
        assert!(stderr(&out).contains(field), "{flag}: {}", stderr(&out));
    }

    // CIRC: the KUKA's base turning 0.3 rad moves its TCP on a circle about the base axis,
    // through the TCP of the base turned halfway
    let mut c = common::client(&s).await;
    let info = common::cell_info(&mut c).await;
    let kuka = info.robots.iter().find(|r| r.id == "kuka").unwrap();
    let start = kuka.current.as_ref().unwrap().values.clone();
    let turned = |a: f64| {
        let mut q = start.clone();
        q[0] += a;
        q
    };
    let via = c
        .compute_fk(cella_proto::v1::FkRequest {
            robot_id: "kuka".into(),
            joints: turned(0.15),
            frame: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pose
        .unwrap()
        .position;
    let (code, out) = run_async(args(&[
        "plan",
        "--robot",
        "kuka",
        "--goal",
        &common::csv(&turned(0.3)),
        "--motion",
        "circ",
        "--circ-via",
        &common::csv(&via),
        "--json",
    ]))
    .await;
    assert_eq!(code, Some(0), "{}", stderr(&out));

    // a trajectory file keeps its joint names: the KUKA's names on a UR5e trajectory are
    // refused (2); the UR5e's own run (0)
    let ur5e = info.robots.iter().find(|r| r.id == "ur5e").unwrap();
    let here = ur5e.current.as_ref().unwrap().values.clone();
    let zeros = [0.0; 6];
    let file = |names: Vec<String>| {
        json!({
            "joint_names": names,
            "points": [
                {"t": 0.0, "q": here, "qd": zeros, "qdd": zeros},
                {"t": 0.004, "q": here, "qd": zeros, "qdd": zeros},
            ],
        })
        .to_string()
    };
    let names = |r: &cella_proto::v1::RobotInfo| -> Vec<String> {
        r.joints.iter().map(|j| j.name.clone()).collect()
    };
    let dir = Scratch::new("server");
    let wrong = dir.file("kuka_names.json", &file(names(kuka)));
    let right = dir.file("ur5e_names.json", &file(names(ur5e)));
    let (code, out) = run_async(args(&["exec", "--robot", "ur5e", "--trajectory", &wrong])).await;
    assert_eq!(code, Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("joint_names"), "{}", stderr(&out));
    let (code, out) = run_async(args(&[
        "exec",
        "--robot",
        "ur5e",
        "--trajectory",
        &right,
        "--json",
    ]))
    .await;
    assert_eq!(code, Some(0), "{}", stderr(&out));
}
