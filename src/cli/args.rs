//! Shared argument parsing: number lists and robot resolution.

use cella_kinematics::{Robot, library};
use std::path::Path;

/// Parses `a,b,c` into numbers, naming the flag and the bad item.
pub fn parse_list(flag: &str, text: &str) -> Result<Vec<f64>, String> {
    text.split(',')
        .enumerate()
        .map(|(i, s)| {
            let s = s.trim();
            let v: f64 = s
                .parse()
                .map_err(|_| format!("{flag}: item {} '{s}' is not a number", i + 1))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(format!("{flag}: item {} '{s}' is not finite", i + 1))
            }
        })
        .collect()
}

/// Resolves `<NAME|PATH>`: a `.urdf` file, a `robot.toml` (or a directory holding one), or
/// a bundled robot name. `base`/`tip` override the planning group's chain (then the numerical
/// IK solver is used for that chain, and the TCP is the tip link).
pub fn load_robot(spec: &str, base: Option<&str>, tip: Option<&str>) -> Result<Robot, String> {
    let path = Path::new(spec);
    let err = |e: cella_kinematics::KinematicsError| format!("{spec}: {e}");
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("urdf"))
    {
        return Robot::from_urdf_file(path, base, tip).map_err(err);
    }
    let robot = if path.is_dir() && path.join("robot.toml").is_file() {
        Robot::from_config_file(&path.join("robot.toml")).map_err(err)?
    } else if path.extension().is_some_and(|e| e == "toml") {
        Robot::from_config_file(path).map_err(err)?
    } else if !path.exists() || library::names().any(|n| n == spec) {
        library::load(spec).map_err(|e| e.to_string())?
    } else {
        return Err(format!(
            "{spec}: not a .urdf, a robot.toml or a bundled robot name"
        ));
    };
    let group_base = robot.chain().base().to_owned();
    let group_tcp = robot.tool_frame().unwrap_or(robot.chain().tip()).to_owned();
    let same_base = base.is_none_or(|b| b == group_base);
    let same_tip = tip.is_none_or(|t| t == group_tcp);
    if same_base && same_tip {
        return Ok(robot);
    }
    let urdf = urdf_text_of(spec, path)?;
    Robot::from_urdf_str(
        &urdf,
        Some(base.unwrap_or(&group_base)),
        Some(tip.unwrap_or(&group_tcp)),
    )
    .map_err(err)
}

fn urdf_text_of(spec: &str, path: &Path) -> Result<String, String> {
    if let Ok(text) = library::urdf_text(spec) {
        return Ok(text.to_owned());
    }
    let config_path = if path.is_dir() {
        path.join("robot.toml")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&config_path)
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let cfg = cella_kinematics::RobotConfig::from_toml_str(
        &text,
        Some(&config_path.display().to_string()),
    )
    .map_err(|e| e.to_string())?;
    let urdf = config_path
        .parent()
        .unwrap_or(Path::new("."))
        .join(cfg.urdf);
    std::fs::read_to_string(&urdf).map_err(|e| format!("{}: {e}", urdf.display()))
}
