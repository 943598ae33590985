//! LIN and CIRC plan requests: the goal as a TCP pose (a joint or named goal gives its TCP
//! pose), the circle's via point or centre, the Cartesian limits; all world-frame inputs are
//! taken to the robot's base frame.

use crate::convert::{self, invalid};
use cella_cell::CellSnapshot;
use cella_collision::Checker;
use cella_planning::{CartesianOptions, CartesianPath, PlanOptions, plan_cartesian};
use cella_proto::v1 as pb;
use cella_trajectory::{CartesianLimits, Limits};
use nalgebra::{Isometry3, Point3};
use tonic::Status;

fn limits_of(msg: Option<&pb::CartesianLimits>) -> Result<CartesianLimits, Status> {
    let d = CartesianLimits::default();
    let Some(m) = msg else {
        return Ok(d);
    };
    let pick = |field: &str, v: f64, default: f64| {
        if v == 0.0 {
            Ok(default)
        } else if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(invalid(
                &format!("cartesian_limits.{field}"),
                format!("{v} is not positive"),
            ))
        }
    };
    Ok(CartesianLimits {
        linear_velocity: pick("linear_velocity", m.linear_velocity, d.linear_velocity)?,
        linear_acceleration: pick(
            "linear_acceleration",
            m.linear_acceleration,
            d.linear_acceleration,
        )?,
        angular_velocity: pick("angular_velocity", m.angular_velocity, d.angular_velocity)?,
        angular_acceleration: pick(
            "angular_acceleration",
            m.angular_acceleration,
            d.angular_acceleration,
        )?,
    })
}

/// Plans a LIN or CIRC request for robot `req.robot_id` from `start`.
pub(crate) fn plan_cartesian_request(
    cell: &CellSnapshot,
    req: &pb::PlanRequest,
    start: &[f64],
    checker: &Checker,
    limits: &Limits,
    options: &PlanOptions,
) -> Result<pb::PlanResponse, Status> {
    let r = cell.robot(&req.robot_id).map_err(convert::cell_status)?;
    let robot = r.geometry.robot();
    let to_base = r.base.inverse();
    if req.goals.len() != 1 {
        return Err(invalid("goals", "LIN and CIRC take exactly one goal"));
    }
    let goal: Isometry3<f64> = match req.goals[0].kind.as_ref() {
        None => return Err(invalid("goals[0]", "empty goal")),
        Some(pb::goal::Kind::Pose(p)) => to_base * convert::pose("goals[0].pose", Some(p))?,
        Some(pb::goal::Kind::Joints(j)) => {
            let q = convert::values("goals[0].joints", &j.values)?;
            robot
                .fk(&q)
                .map_err(|e| invalid("goals[0].joints", e.to_string()))?
        }
        Some(pb::goal::Kind::NamedPose(name)) => {
            let q = robot
                .named_pose(name)
                .map_err(|e| Status::not_found(format!("goals[0]: {e}")))?;
            robot
                .fk(q)
                .map_err(|e| invalid("goals[0].named_pose", e.to_string()))?
        }
    };
    let point = |field: &str, p: &pb::Pose| -> Result<Point3<f64>, Status> {
        let v = convert::values(&format!("{field}.position"), &p.position)?;
        if v.len() != 3 {
            return Err(invalid(&format!("{field}.position"), "3 values: x, y, z"));
        }
        Ok(to_base * Point3::new(v[0], v[1], v[2]))
    };
    let path = match pb::MotionType::try_from(req.motion) {
        Ok(pb::MotionType::Lin) => CartesianPath::Line { goal },
        _ => match (&req.circ_via, &req.circ_centre) {
            (Some(via), None) => CartesianPath::ArcVia {
                via: point("circ_via", via)?,
                goal,
            },
            (None, Some(centre)) => CartesianPath::ArcCentre {
                centre: point("circ_centre", centre)?,
                goal,
            },
            _ => {
                return Err(invalid(
                    "circ_via",
                    "CIRC needs exactly one of circ_via and circ_centre",
                ));
            }
        },
    };
    let cartesian = CartesianOptions {
        limits: limits_of(req.cartesian_limits.as_ref())?,
        velocity_scale: options.velocity_scale,
        acceleration_scale: options.acceleration_scale,
        period: options.period,
        ..CartesianOptions::default()
    };
    let motion = plan_cartesian(checker, robot, limits, start, &path, &cartesian)
        .map_err(convert::planning_status)?;
    Ok(crate::service::plan_response(
        robot,
        &motion.samples,
        cell.version,
        motion.planning_time,
    ))
}
