#![allow(clippy::unwrap_used)]
//! `cella study` end to end: a small study of a UR5e and a bin at two distances, one within
//! its 0.85 m reach and one 1.5 m out, so the answer is known before it runs: the results file
//! (the same bytes with one thread or two), the report and the best variant's data, the
//! ranked table, and the exit codes (0; 1 when no variant is feasible; 2 for a bad study).

mod common;

use serde_json::Value;
use std::path::PathBuf;

const STUDY: &str = r#"
name = "UR5e and a bin"
seed = 11
[sampling]
method = "grid"
[parameters]
bin_x = { range = [0.4, 1.5], steps = 2 }
[cell]
name = "floor"
[[cell.robots]]
id = "ur5e"
model = "ur5e"
base = { xyz = [0.0, 0.0, 0.0] }
[[cell.objects]]
name = "bin"
type = "box"
half_extents = [0.1, 0.1, 0.05]
pose = { xyz = ["$bin_x", 0.2, 0.05] }
[targets]
above_bin = { xyz = ["$bin_x", 0.2, 0.3], rpy = [3.141592653589793, 0.0, 0.0] }
[task]
[[task.stages]]
name = "to the bin and back"
ur5e = [{ free = "above_bin" }, { dwell = 0.2 }, { ptp = "home" }]
"#;

struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cella-study-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_study_writes_ranked_results_a_report_and_the_best_variants_data() {
    let dir = Scratch::new("ok");
    let study = dir.path("STUDY.toml");
    std::fs::write(&study, STUDY).unwrap();
    let (out1, out2, html) = (
        dir.path("r1.json"),
        dir.path("r2.json"),
        dir.path("report.html"),
    );
    let run = common::cella(&[
        "study",
        &study,
        "--out",
        &out1,
        "--html",
        &html,
        "--threads",
        "1",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run2 = common::cella(&["study", &study, "--out", &out2, "--threads", "2"]);
    assert!(run2.status.success());
    let text = std::fs::read_to_string(&out1).unwrap();
    assert_eq!(text, std::fs::read_to_string(&out2).unwrap());
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["format"], "cella-study-results/v1");
    assert_eq!(doc["ranking"], serde_json::json!([0, 1]));
    let near = &doc["results"][0];
    assert_eq!(near["parameters"]["bin_x"], 0.4);
    assert_eq!(near["feasible"], true);
    assert!(near["cycle_time"].as_f64().unwrap() > 0.2);
    assert!(near["min_clearance"].as_f64().unwrap() > 0.0);
    let far = &doc["results"][1];
    assert_eq!(far["reachable"], false);
    assert_eq!(far["unreachable"], serde_json::json!(["ur5e: above_bin"]));
    // the table: the near bin first
    let table = String::from_utf8_lossy(&run.stdout);
    let first = table.lines().nth(1).unwrap();
    assert!(
        first.contains("bin_x=0.4000") && first.contains("yes"),
        "{table}"
    );
    assert!(table.contains("1 of 2 variants feasible"), "{table}");
    // the report and the best variant's cell and trajectory, which cella reads back
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Best variant: 0") && page.contains("<svg"));
    let cell = dir.path("report_best/cell.toml");
    let trajectory = dir.path("report_best/ur5e.trajectory.json");
    let traj: Value = serde_json::from_str(&std::fs::read_to_string(&trajectory).unwrap()).unwrap();
    let last = traj["points"].as_array().unwrap().last().unwrap();
    assert_eq!(last["t"].as_f64(), near["cycle_time"].as_f64());
    let served = cella_cell::CellFile::parse(&std::fs::read_to_string(&cell).unwrap())
        .unwrap()
        .build(None)
        .unwrap();
    assert_eq!(served.world.objects()[0].pose.translation.x, 0.4);
    // the viewer's page of the robot's cycle: its trajectory, times as in the file, clearance
    assert!(
        page.contains("report_best/ur5e.html"),
        "the report links the 3D view"
    );
    let view = std::fs::read_to_string(dir.path("report_best/ur5e.html")).unwrap();
    let start = view.find(r#"id="cella-data">"#).unwrap() + r#"id="cella-data">"#.len();
    let end = start + view[start..].find("</script>").unwrap();
    let data: Value = serde_json::from_str(&view[start..end]).unwrap();
    assert_eq!(data["mode"], "motion");
    let times = data["trajectory"]["t"].as_array().unwrap();
    assert_eq!(times.len(), traj["points"].as_array().unwrap().len());
    assert_eq!(times.last().unwrap().as_f64(), last["t"].as_f64());
    assert!(data["clearance"].is_object(), "{}", data["clearance"]);
}

#[test]
fn no_feasible_variant_exits_1_and_a_bad_study_exits_2() {
    let dir = Scratch::new("codes");
    let far = dir.path("far.toml");
    std::fs::write(&far, STUDY.replace("[0.4, 1.5]", "[1.5, 2.0]")).unwrap();
    let run = common::cella(&["study", &far]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("no variant is feasible"));
    let bad = dir.path("bad.toml");
    std::fs::write(
        &bad,
        STUDY.replace("\"$bin_x\", 0.2, 0.3", "\"$bin_y\", 0.2, 0.3"),
    )
    .unwrap();
    let run = common::cella(&["study", &bad]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("targets.above_bin.xyz[0]") && err.contains("bin_y"),
        "{err}"
    );
}
