//! `cella robot list` and `cella robot check`.

use super::CliResult;
use super::args::load_robot;
use super::error::CliError;
use super::output::{line, print_json};
use cella_kinematics::{JointKind, library};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// `cella robot ...`
#[derive(Debug, Subcommand)]
pub enum RobotCommand {
    /// List the bundled robots.
    List {
        /// Print a JSON array of `{name, description, dof, solver}`.
        #[arg(long)]
        json: bool,
    },
    /// Load a robot and report its joints, limits, links, collision geometry and problems.
    Check(CheckArgs),
    /// Compute the allowed-collision matrix of a robot on its real collision geometry (convex
    /// hulls of the meshes): adjacent links, pairs in contact at the default pose or in ≥ 95 %
    /// of 1000 random states, each with its evidence; print it as `[[allowed_collisions]]`
    /// TOML to store in its robot.toml.
    Acm(AcmArgs),
}

/// Arguments of `cella robot check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Bundled robot name, a robot.toml, or a URDF file.
    robot: String,
    /// Directories searched for `package://` meshes (also `CELLA_PACKAGE_PATH`,
    /// `ROS_PACKAGE_PATH`); repeatable.
    #[arg(long = "package-path")]
    package_path: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `cella robot acm`.
#[derive(Debug, Args)]
pub struct AcmArgs {
    /// Bundled robot name, a robot.toml, or a URDF file.
    robot: String,
    /// Directories searched for `package://` meshes (also `CELLA_PACKAGE_PATH`,
    /// `ROS_PACKAGE_PATH`); repeatable.
    #[arg(long = "package-path")]
    package_path: Vec<PathBuf>,
    /// Print `{robot, samples, seed, default_pose, allowed_collisions: [{links, reason,
    /// measured: {movable_joints, default_distance, contact_fraction, deepest, exact_geometry}}]}`.
    #[arg(long)]
    json: bool,
}

/// Runs a `cella robot` command.
pub fn run(cmd: RobotCommand) -> CliResult {
    match cmd {
        RobotCommand::List { json } => list(json),
        RobotCommand::Acm(a) => acm(&a),
        RobotCommand::Check(a) => check(a),
    }
}

fn list(json: bool) -> CliResult {
    let mut rows = Vec::new();
    for name in library::names() {
        let r = library::load(name).map_err(|e| format!("{name}: {e}"))?;
        rows.push(serde_json::json!({
            "name": name,
            "description": r.description(),
            "dof": r.chain().dof(),
            "solver": r.solver().name(),
        }));
    }
    if json {
        print_json(&serde_json::Value::Array(rows));
    } else {
        for r in &rows {
            line(format!(
                "{:<20} {} axes  ik={:<9}  {}",
                r["name"].as_str().unwrap_or(""),
                r["dof"],
                r["solver"].as_str().unwrap_or(""),
                r["description"].as_str().unwrap_or("")
            ));
        }
    }
    Ok(())
}

/// URDF text and the directory its relative mesh paths start from.
fn urdf_source(spec: &str) -> Result<(String, Option<PathBuf>), String> {
    let path = Path::new(spec);
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("urdf"))
    {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{spec}: {e}"))?;
        return Ok((text, path.parent().map(Path::to_path_buf)));
    }
    if let Ok(t) = library::urdf_text(spec) {
        return Ok((t.to_owned(), None));
    }
    let cfg_path = if path.is_dir() {
        path.join("robot.toml")
    } else {
        path.to_path_buf()
    };
    let cfg_text =
        std::fs::read_to_string(&cfg_path).map_err(|e| format!("{}: {e}", cfg_path.display()))?;
    let cfg = cella_kinematics::RobotConfig::from_toml_str(
        &cfg_text,
        Some(&cfg_path.display().to_string()),
    )
    .map_err(|e| e.to_string())?;
    let dir = cfg_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let text = std::fs::read_to_string(dir.join(&cfg.urdf))
        .map_err(|e| format!("{}: {e}", dir.join(&cfg.urdf).display()))?;
    Ok((text, Some(dir)))
}

fn check(a: CheckArgs) -> CliResult {
    let robot = load_robot(&a.robot, None, None)?;
    let (urdf_text, urdf_dir) = urdf_source(&a.robot)?;
    let urdf = urdf_rs::read_from_string(&urdf_text).map_err(|e| format!("{}: {e}", a.robot))?;
    let mut search = a.package_path.clone();
    search.extend(cella_collision::mesh::package_path_from_env());

    // problems make the robot unusable for planning; warnings have a documented fallback
    let mut problems: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let chain = robot.chain();
    let dynamic = robot.dynamic_limits();
    let mut joints = Vec::new();
    for (i, v) in chain.variables().iter().enumerate() {
        let l = v.limits;
        if l.velocity <= 0.0 {
            problems.push(format!(
                "joint '{}' has no velocity limit (velocity = {})",
                v.name, l.velocity
            ));
        }
        if v.kind != JointKind::Continuous && l.upper - l.lower <= 0.0 {
            problems.push(format!("joint '{}' has an empty position range", v.name));
        }
        if dynamic[i].acceleration.is_none() {
            warnings.push(format!(
                "joint '{}' has no acceleration limit: planning assumes 2 x its velocity limit per second (set max_acceleration in robot.toml)",
                v.name
            ));
        }
        joints.push(serde_json::json!({
            "name": v.name, "type": format!("{:?}", v.kind).to_lowercase(),
            "lower": finite_or_null(l.lower), "upper": finite_or_null(l.upper),
            "velocity": l.velocity, "acceleration": dynamic[i].acceleration, "jerk": dynamic[i].jerk,
        }));
    }

    let mut geometry = Vec::new();
    for link in &urdf.links {
        let (mut prims, mut meshes) = (0, 0);
        for c in &link.collision {
            match &c.geometry {
                urdf_rs::Geometry::Mesh { filename, .. } => {
                    meshes += 1;
                    let base_dir = urdf_dir.clone().unwrap_or_else(|| PathBuf::from("."));
                    match cella_collision::mesh::resolve_mesh_uri(filename, &base_dir, &search) {
                        Ok(p) => {
                            if let Err(e) = cella_collision::mesh::load_mesh(&p) {
                                problems.push(format!("link '{}': {e}", link.name));
                            }
                        }
                        Err(e) => problems.push(format!("link '{}': {e}", link.name)),
                    }
                }
                _ => prims += 1,
            }
        }
        if prims + meshes > 0 {
            geometry.push(
                serde_json::json!({"link": link.name, "primitives": prims, "meshes": meshes}),
            );
        }
    }
    if geometry.is_empty() {
        problems
            .push("no link has collision geometry: the robot cannot be collision-checked".into());
    }

    // the allowed-collision matrix against what the real geometry shows (meshes must load)
    let mut allowed = Vec::new();
    if problems.is_empty() {
        match super::acm::load_geometry(
            &a.robot,
            robot.clone(),
            (&urdf_text, urdf_dir.clone()),
            &a.package_path,
        ) {
            Ok(g) => {
                let survey = cella_collision::link_contacts::survey(
                    &g,
                    super::acm::SAMPLES,
                    super::acm::SEED,
                );
                let (rows, acm_warnings) = super::acm::review(&g, &survey);
                allowed = rows;
                warnings.extend(acm_warnings);
            }
            Err(e) => problems.push(e),
        }
    }

    let report = serde_json::json!({
        "name": robot.name(),
        "links": robot.model().links().len(),
        "group": {"base": chain.base(), "tip": chain.tip(), "tool": robot.tool_frame(), "dof": chain.dof()},
        "ik_solver": robot.solver().name(),
        "joints": joints,
        "named_poses": robot.named_poses(),
        "collision_geometry": geometry,
        "allowed_collisions": allowed,
        "problems": problems,
        "warnings": warnings,
    });
    // the description loaded and was checked: problems are the check's answer, not bad input
    let verdict = if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Refused(format!(
            "{}: {} problem(s), the robot cannot be used for planning",
            a.robot,
            problems.len()
        )))
    };
    if a.json {
        print_json(&report);
        return verdict;
    }
    line(format!(
        "robot {}: {} links, group {} -> {} (tool {}), {} axes, IK {}",
        robot.name(),
        robot.model().links().len(),
        chain.base(),
        chain.tip(),
        robot.tool_frame().unwrap_or("-"),
        chain.dof(),
        robot.solver().name()
    ));
    line("joints (rad, rad/s, rad/s², rad/s³):");
    for j in &joints {
        line(format!(
            "  {:<22} {:<10} [{}, {}]  vel {}  acc {}  jerk {}",
            j["name"].as_str().unwrap_or(""),
            j["type"].as_str().unwrap_or(""),
            j["lower"],
            j["upper"],
            j["velocity"],
            j["acceleration"],
            j["jerk"]
        ));
    }
    line("collision geometry:");
    for g in &geometry {
        line(format!(
            "  {:<22} {} primitive(s), {} mesh(es)",
            g["link"].as_str().unwrap_or(""),
            g["primitives"],
            g["meshes"]
        ));
    }
    line(format!(
        "allowed collisions ({}; evidence on the real geometry: distance at the default pose, share of {} random states in contact):",
        allowed.len(),
        super::acm::SAMPLES
    ));
    for p in &allowed {
        let m = &p["measured"];
        line(format!(
            "  {:<22} {:<22} {:<10} {}",
            p["links"][0].as_str().unwrap_or(""),
            p["links"][1].as_str().unwrap_or(""),
            p["reason"].as_str().unwrap_or(""),
            if m.is_null() {
                "no geometry".to_owned()
            } else {
                format!(
                    "{:+.1} mm, {:.1} % in contact",
                    1e3 * m["default_distance"].as_f64().unwrap_or(f64::NAN),
                    100.0 * m["contact_fraction"].as_f64().unwrap_or(f64::NAN)
                )
            }
        ));
    }
    for (title, list) in [("problems", &problems), ("warnings", &warnings)] {
        if list.is_empty() {
            line(format!("{title}: none"));
        } else {
            line(format!("{title} ({}):", list.len()));
            for p in list {
                line(format!("  - {p}"));
            }
        }
    }
    verdict
}

fn acm(a: &AcmArgs) -> CliResult {
    let robot = load_robot(&a.robot, None, None)?;
    let (urdf_text, urdf_dir) = urdf_source(&a.robot)?;
    let geometry =
        super::acm::load_geometry(&a.robot, robot, (&urdf_text, urdf_dir), &a.package_path)?;
    super::acm::print_computed(&geometry, a.json);
    Ok(())
}

fn finite_or_null(v: f64) -> serde_json::Value {
    if v.is_finite() {
        serde_json::json!(v)
    } else {
        serde_json::Value::Null
    }
}
