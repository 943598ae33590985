//! Shared argument parsing: number lists, robot resolution and the motion of a plan request.

use cella_kinematics::{Robot, library};
use cella_proto::v1 as pb;
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

/// The motion a plan request asks for: `--motion` and, for a CIRC, its circle.
#[derive(Debug, Clone, PartialEq)]
pub struct Motion {
    /// `PlanRequest.motion`.
    pub motion: pb::MotionType,
    /// `PlanRequest.circ_via`: a point the TCP passes (cell frame, position only).
    pub circ_via: Option<pb::Pose>,
    /// `PlanRequest.circ_centre`: or the arc's centre.
    pub circ_centre: Option<pb::Pose>,
}

/// Parses `--motion` (`free`, `ptp`, `lin` or `circ`) with `--circ-via` or `--circ-centre`
/// (`x,y,z`, m, cell frame): a CIRC needs exactly one of them, the other motions neither.
pub fn motion(
    motion: &str,
    circ_via: Option<&str>,
    circ_centre: Option<&str>,
) -> Result<Motion, String> {
    let kind = match motion {
        "free" => pb::MotionType::Free,
        "ptp" => pb::MotionType::Ptp,
        "lin" => pb::MotionType::Lin,
        "circ" => pb::MotionType::Circ,
        other => return Err(format!("--motion {other}: free, ptp, lin or circ")),
    };
    let point = |flag: &str, text: Option<&str>| -> Result<Option<pb::Pose>, String> {
        let Some(text) = text else {
            return Ok(None);
        };
        let v = parse_list(flag, text)?;
        if v.len() != 3 {
            return Err(format!("{flag}: 3 values x,y,z (m, cell frame)"));
        }
        Ok(Some(pb::Pose {
            position: v,
            quaternion_xyzw: vec![0.0, 0.0, 0.0, 1.0],
        }))
    };
    let circ_via = point("--circ-via", circ_via)?;
    let circ_centre = point("--circ-centre", circ_centre)?;
    match (kind, circ_via.is_some(), circ_centre.is_some()) {
        (pb::MotionType::Circ, true, true) | (pb::MotionType::Circ, false, false) => {
            return Err("--motion circ: give one of --circ-via and --circ-centre".into());
        }
        (pb::MotionType::Circ, ..) | (_, false, false) => {}
        (_, via, _) => {
            return Err(format!(
                "{}: only with --motion circ",
                if via { "--circ-via" } else { "--circ-centre" }
            ));
        }
    }
    Ok(Motion {
        motion: kind,
        circ_via,
        circ_centre,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_circ_takes_one_circle_point_and_the_other_motions_none() {
        let m = motion("circ", Some("0.4,-0.1,1.2"), None).unwrap();
        assert_eq!(m.motion, pb::MotionType::Circ);
        assert_eq!(m.circ_via.unwrap().position, [0.4, -0.1, 1.2]);
        assert!(m.circ_centre.is_none());
        let m = motion("circ", None, Some("0,0,1")).unwrap();
        assert_eq!(m.circ_centre.unwrap().position, [0.0, 0.0, 1.0]);
        assert_eq!(
            motion("lin", None, None).unwrap().motion,
            pb::MotionType::Lin
        );
        for (name, via, centre, needle) in [
            ("circ", None, None, "--circ-via"),
            ("circ", Some("0,0,1"), Some("0,0,1"), "one of"),
            ("circ", Some("0,0"), None, "3 values"),
            ("ptp", Some("0,0,1"), None, "only with --motion circ"),
            ("free", None, Some("0,0,1"), "--circ-centre"),
            ("arc", None, None, "--motion arc"),
        ] {
            let e = motion(name, via, centre).unwrap_err();
            assert!(e.contains(needle), "{name} {via:?} {centre:?}: {e}");
        }
    }
}
