//! `cella fk`: TCP pose in the base frame for given joint values.

use super::CliResult;
use super::args::{load_robot, parse_list};
use super::output::{line, print_json, quat_xyzw};
use clap::Args;

/// Arguments of `cella fk`.
#[derive(Debug, Args)]
pub struct FkArgs {
    /// Bundled robot name, a robot.toml, or a URDF file.
    #[arg(long)]
    robot: String,
    /// Joint values in chain order, comma-separated (rad or m).
    #[arg(long, allow_hyphen_values = true)]
    joints: String,
    /// Base link of the chain (default: the robot's group base, or the URDF root).
    #[arg(long)]
    base: Option<String>,
    /// Tip link (default: the robot's TCP frame, or the URDF's deepest leaf).
    #[arg(long)]
    tip: Option<String>,
    /// Print `{"position": [x,y,z], "quaternion_xyzw": [x,y,z,w]}`.
    #[arg(long)]
    json: bool,
    /// Ask a running `cella serve` instead (then --robot is the robot's id in its cell and
    /// the pose is in the cell frame).
    #[arg(long)]
    server: Option<String>,
    #[command(flatten)]
    connect: super::client::ConnectArgs,
}

/// Runs `cella fk`.
pub fn run(a: FkArgs) -> CliResult {
    if let Some(url) = &a.server {
        return super::client::fk(
            super::client::Target {
                url,
                conn: &a.connect,
            },
            &a.robot,
            parse_list("--joints", &a.joints)?,
            a.json,
        );
    }
    let robot = load_robot(&a.robot, a.base.as_deref(), a.tip.as_deref())?;
    let q = parse_list("--joints", &a.joints)?;
    robot
        .chain()
        .check_limits(&q)
        .map_err(|e| format!("--joints: {e}"))?;
    let pose = robot.fk(&q).map_err(|e| format!("--joints: {e}"))?;
    let p = pose.translation.vector;
    let quat = quat_xyzw(&pose);
    if a.json {
        print_json(&serde_json::json!({"position": [p.x, p.y, p.z], "quaternion_xyzw": quat}));
    } else {
        let tcp = robot.tool_frame().unwrap_or(robot.chain().tip());
        let (r, pi, y) = pose.rotation.euler_angles();
        line(format!("{} in {}:", tcp, robot.chain().base()));
        line(format!(
            "  position (m)         {:.6} {:.6} {:.6}",
            p.x, p.y, p.z
        ));
        line(format!(
            "  quaternion (x y z w) {:.6} {:.6} {:.6} {:.6}",
            quat[0], quat[1], quat[2], quat[3]
        ));
        line(format!("  rpy (rad)            {r:.6} {pi:.6} {y:.6}"));
    }
    Ok(())
}
