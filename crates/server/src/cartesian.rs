//! LIN and CIRC plan requests: the goal as a TCP pose (a joint or named goal gives its TCP
//! pose), the circle's via point or centre, the Cartesian limits; all world-frame inputs are
//! taken to the robot's base frame.

use crate::convert::{self, invalid};
use cella_cell::CellSnapshot;
use cella_collision::Checker;
use cella_planning::{CartesianOptions, CartesianPath, PlanOptions, PlanningError, plan_cartesian};
use cella_proto::v1 as pb;
use cella_trajectory::{CartesianLimits, Limits};
use nalgebra::{Isometry3, Point3};
use tonic::Status;

pub(crate) fn limits_of(msg: Option<&pb::CartesianLimits>) -> Result<CartesianLimits, Status> {
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
    let path = cartesian_path(
        robot,
        &to_base,
        None,
        &req.goals[0],
        req.motion,
        req.circ_via.as_ref(),
        req.circ_centre.as_ref(),
    )?;
    let cartesian = CartesianOptions {
        limits: limits_of(req.cartesian_limits.as_ref())?,
        velocity_scale: options.velocity_scale,
        acceleration_scale: options.acceleration_scale,
        period: options.period,
        max_samples: convert::max_samples(robot.chain().dof()).min(options.max_samples),
        ..CartesianOptions::default()
    };
    let motion = plan_cartesian(checker, robot, limits, start, &path, &cartesian)
        .map_err(|e| convert::planning_status(request_fields(e)))?;
    Ok(crate::service::plan_response(
        robot,
        &motion.samples,
        cell.version,
        motion.planning_time,
        0,
    ))
}

/// A Cartesian planning error with its field named as in the PlanRequest: the planner's
/// `goal`, `via` and `centre` are `goals[0]`, `circ_via` and `circ_centre`.
fn request_fields(e: PlanningError) -> PlanningError {
    e.map_field(|field| match field.as_str() {
        "goal" => "goals[0]".to_owned(),
        "via" => "circ_via".to_owned(),
        "centre" => "circ_centre".to_owned(),
        _ => field,
    })
}

/// The Cartesian path of a LIN or CIRC goal: the goal as a TCP pose in the robot's base frame
/// (`to_base` takes world poses there; a joint or named goal gives its TCP pose), the circle by
/// its via point or centre. Errors name the fields of a PlanRequest (`goals[0]`, `circ_via`,
/// `circ_centre`), or of `steps[i]` of a PlanSequenceRequest for `step` `Some(i)`
/// (`steps[i].goal`, `steps[i].circ_via`, `steps[i].circ_centre`).
pub(crate) fn cartesian_path(
    robot: &cella_kinematics::Robot,
    to_base: &Isometry3<f64>,
    step: Option<usize>,
    goal: &pb::Goal,
    motion: i32,
    circ_via: Option<&pb::Pose>,
    circ_centre: Option<&pb::Pose>,
) -> Result<CartesianPath, Status> {
    let (field, prefix) = match step {
        None => ("goals[0]".to_owned(), String::new()),
        Some(i) => (format!("steps[{i}].goal"), format!("steps[{i}].")),
    };
    let field = field.as_str();
    let goal: Isometry3<f64> = match goal.kind.as_ref() {
        None => return Err(invalid(field, "empty goal")),
        Some(pb::goal::Kind::Pose(p)) => {
            to_base * convert::pose(&format!("{field}.pose"), Some(p))?
        }
        Some(pb::goal::Kind::Joints(j)) => {
            let q = convert::values(&format!("{field}.joints"), &j.values)?;
            robot
                .fk(&q)
                .map_err(|e| invalid(&format!("{field}.joints"), e.to_string()))?
        }
        Some(pb::goal::Kind::NamedPose(name)) => {
            let q = robot
                .named_pose(name)
                .map_err(|e| Status::not_found(format!("{field}: {e}")))?;
            robot
                .fk(q)
                .map_err(|e| invalid(&format!("{field}.named_pose"), e.to_string()))?
        }
    };
    let point = |name: &str, p: &pb::Pose| -> Result<Point3<f64>, Status> {
        let v = convert::values(&format!("{prefix}{name}.position"), &p.position)?;
        if v.len() != 3 {
            return Err(invalid(
                &format!("{prefix}{name}.position"),
                "3 values: x, y, z",
            ));
        }
        Ok(to_base * Point3::new(v[0], v[1], v[2]))
    };
    Ok(match pb::MotionType::try_from(motion) {
        Ok(pb::MotionType::Lin) => CartesianPath::Line { goal },
        _ => match (circ_via, circ_centre) {
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
                    &format!("{prefix}circ_via"),
                    "CIRC needs exactly one of circ_via and circ_centre",
                ));
            }
        },
    })
}
