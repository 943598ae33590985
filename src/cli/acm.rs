//! The allowed-collision matrix on the command line: `cella robot acm` computes it on the real
//! collision geometry and prints it as robot.toml TOML (or JSON); `cella robot check` lists the
//! allowances a robot carries, with their evidence, and flags those that hide real contacts.

use super::output::{line, print_json};
use cella_collision::acm::{ALWAYS_FRACTION, Allowance};
use cella_collision::link_contacts::{ContactSurvey, PairContact, survey};
use cella_collision::{AllowedCollisions, MeshSource, RobotGeometry};
use std::path::PathBuf;
use std::sync::Arc;

/// Random states sampled for the matrix and its evidence.
pub const SAMPLES: usize = 1000;
/// Seed of those samples.
pub const SEED: u64 = 1;

/// The collision model of a robot named as `cella robot check` takes it: a bundled robot (with
/// its stored hulls), or a URDF or robot.toml whose meshes are found through `package_path`.
pub fn load_geometry(
    spec: &str,
    robot: cella_kinematics::Robot,
    urdf: (&str, Option<PathBuf>),
    package_path: &[PathBuf],
) -> Result<RobotGeometry, String> {
    let is_bundled = cella_kinematics::library::names().any(|n| n == spec);
    if is_bundled {
        return RobotGeometry::library(spec).map_err(|e| format!("{spec}: {e}"));
    }
    let meshes = MeshSource {
        urdf_dir: urdf.1,
        package_path: package_path.to_vec(),
    };
    RobotGeometry::from_urdf(Arc::new(robot), urdf.0, &meshes).map_err(|e| format!("{spec}: {e}"))
}

/// One allowed pair for a report: the allowance and what the survey measured now.
fn allowance_row(
    a: &str,
    b: &str,
    allowance: &Allowance,
    measured: Option<&PairContact>,
    samples: usize,
) -> serde_json::Value {
    serde_json::json!({
        "links": [a, b],
        "reason": allowance.reason,
        "stored_evidence": allowance.evidence.map(|e| serde_json::json!({
            "default_distance": e.default_distance,
            "contact_fraction": e.contact_fraction,
        })),
        "measured": measured.map(|p| serde_json::json!({
            "movable_joints": p.movable_joints,
            "default_distance": p.default_distance,
            "contact_fraction": p.contact_fraction(samples),
            "deepest": p.deepest,
            "exact_geometry": p.exact,
        })),
    })
}

/// The survey entry of a link pair (by name, either order).
fn measured<'s>(
    geometry: &RobotGeometry,
    survey: &'s ContactSurvey,
    a: &str,
    b: &str,
) -> Option<&'s PairContact> {
    let model = geometry.robot().model();
    let (ia, ib) = (model.link_index(a).ok()?, model.link_index(b).ok()?);
    let (lo, hi) = (ia.min(ib), ia.max(ib));
    survey.pairs.iter().find(|p| p.a == lo && p.b == hi)
}

/// Every allowed pair of the robot's matrix with its evidence, and warnings for allowances
/// that hide real contacts: a non-adjacent allowed pair whose real geometry touches in some
/// sampled states but not in almost all (how often, how deep), a `default` allowance whose
/// pair no longer touches at the default pose, and a checked pair in contact at the default
/// pose (every plan from there would start in collision).
pub fn review(
    geometry: &RobotGeometry,
    survey: &ContactSurvey,
) -> (Vec<serde_json::Value>, Vec<String>) {
    let acm = geometry.acm();
    let links = geometry.robot().model().links();
    let n = survey.samples;
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    for (a, b, allowance) in acm.entries() {
        let m = measured(geometry, survey, a, b);
        rows.push(allowance_row(a, b, allowance, m, n));
        let Some(p) = m else { continue };
        if p.movable_joints <= 1 {
            continue;
        }
        let fraction = p.contact_fraction(n);
        if p.contacts > 0 && fraction < ALWAYS_FRACTION {
            warnings.push(format!(
                "allowed pair {a} - {b} ({}) hides real contacts: its {} geometry touches in {} of {n} random states ({:.1} %), up to {:.1} mm deep",
                allowance.reason,
                if p.exact { "mesh" } else { "capsule" },
                p.contacts,
                100.0 * fraction,
                1e3 * p.deepest
            ));
        }
        if allowance.reason == "default" && !p.touches_at_default() {
            warnings.push(format!(
                "allowed pair {a} - {b} is marked 'default' but is {:.1} mm apart at the {} pose: the allowance is stale (run `cella robot acm`)",
                1e3 * p.default_distance,
                survey.default_pose_name
            ));
        }
    }
    for p in &survey.pairs {
        let (a, b) = (&links[p.a].name, &links[p.b].name);
        if p.touches_at_default() && !acm.allowed(a, b) {
            warnings.push(format!(
                "checked pair {a} - {b} is in contact at the {} pose ({:.1} mm): the robot is in self-collision there",
                survey.default_pose_name,
                1e3 * p.default_distance
            ));
        }
    }
    (rows, warnings)
}

/// `cella robot acm`: the matrix computed on the real geometry, as robot.toml TOML or JSON.
pub fn print_computed(geometry: &RobotGeometry, json: bool) {
    let survey = survey(geometry, SAMPLES, SEED);
    let acm = AllowedCollisions::from_survey(geometry, &survey);
    if json {
        let rows: Vec<_> = acm
            .entries()
            .map(|(a, b, allowance)| {
                allowance_row(
                    a,
                    b,
                    allowance,
                    measured(geometry, &survey, a, b),
                    survey.samples,
                )
            })
            .collect();
        print_json(&serde_json::json!({
            "robot": geometry.robot().name(),
            "samples": survey.samples,
            "seed": SEED,
            "default_pose": survey.default_pose_name,
            "allowed_collisions": rows,
        }));
        return;
    }
    line(format!(
        "# allowed-collision matrix: computed by `cella robot acm` on the real collision geometry\n\
         # (convex hulls of the meshes; capsules where a link has none): adjacent links, pairs in\n\
         # contact at the {} pose, pairs in contact in >= {:.0} % of {} random states (seed {SEED}).\n\
         # Evidence: default_distance (m, negative = depth at that pose), contact_fraction.",
        survey.default_pose_name,
        100.0 * ALWAYS_FRACTION,
        survey.samples
    ));
    for (a, b, allowance) in acm.entries() {
        line("");
        line("[[allowed_collisions]]");
        line(format!("links = [\"{a}\", \"{b}\"]"));
        line(format!("reason = \"{}\"", allowance.reason));
        if let Some(e) = allowance.evidence {
            if e.default_distance.is_finite() {
                line(format!("default_distance = {:.6}", e.default_distance));
            }
            line(format!("contact_fraction = {:.3}", e.contact_fraction));
        }
    }
}
