//! PlanSequence: PTP, LIN and CIRC steps planned as one trajectory
//! ([`cella_planning::plan_sequence`]); PTP pose goals take the IK solution nearest to the
//! previous step's state.

use crate::cartesian::{cartesian_path, limits_of};
use crate::convert::{self, invalid};
use cella_cell::CellSnapshot;
use cella_control::CellControl;
use cella_kinematics::{IkOptions, IkSolutions};
use cella_planning::{CartesianOptions, PlanOptions, PlanningError, SequenceStep};
use cella_proto::v1 as pb;
use std::time::Duration;
use tonic::Status;

/// Most steps in one sequence.
const MAX_STEPS: usize = 64;

/// Plans a sequence request on `cell` (live robot states) with `control`'s view of the other
/// robots, within half of the client's `deadline` (as a search gets at most half of it).
pub(crate) fn plan_sequence_request(
    cell: &CellSnapshot,
    control: &CellControl,
    req: &pb::PlanSequenceRequest,
    deadline: Option<Duration>,
) -> Result<pb::PlanResponse, Status> {
    let r = cell.robot(&req.robot_id).map_err(convert::cell_status)?;
    let robot = r.geometry.robot();
    let to_base = r.base.inverse();
    let start = convert::start_state(r, &req.start)?;
    if req.steps.is_empty() || req.steps.len() > MAX_STEPS {
        return Err(invalid(
            "steps",
            format!("{} steps (1..={MAX_STEPS})", req.steps.len()),
        ));
    }
    let period = convert::sampling_period(req.period)?;
    let cartesian = CartesianOptions {
        limits: limits_of(req.cartesian_limits.as_ref())?,
        ..CartesianOptions::default()
    };
    let mut steps = Vec::with_capacity(req.steps.len());
    let mut previous = start.clone();
    for (i, step) in req.steps.iter().enumerate() {
        let field = format!("steps[{i}]");
        let goal = step
            .goal
            .as_ref()
            .ok_or_else(|| invalid(&format!("{field}.goal"), "missing"))?;
        match pb::MotionType::try_from(step.motion) {
            Ok(pb::MotionType::Free | pb::MotionType::Ptp) => {
                let q = match goal.kind.as_ref() {
                    None => return Err(invalid(&format!("{field}.goal"), "empty goal")),
                    Some(pb::goal::Kind::Joints(j)) => {
                        convert::values(&format!("{field}.goal.joints"), &j.values)?
                    }
                    Some(pb::goal::Kind::NamedPose(name)) => robot
                        .named_pose(name)
                        .map_err(|e| Status::not_found(format!("{field}: {e}")))?
                        .to_vec(),
                    Some(pb::goal::Kind::Pose(p)) => {
                        let target =
                            to_base * convert::pose(&format!("{field}.goal.pose"), Some(p))?;
                        let mut sols = IkSolutions::new();
                        robot
                            .ik(&target, Some(&previous), &IkOptions::default(), &mut sols)
                            .map_err(|e| {
                                Status::failed_precondition(format!(
                                    "{field}: goal unreachable: {e}"
                                ))
                            })?;
                        sols.as_slice()[0].joints().to_vec()
                    }
                };
                previous = q.clone();
                steps.push(SequenceStep::Ptp {
                    goal: q,
                    blend: step.blend_deviation,
                });
            }
            Ok(pb::MotionType::Lin | pb::MotionType::Circ) => {
                let path = cartesian_path(
                    robot,
                    &to_base,
                    Some(i),
                    goal,
                    step.motion,
                    step.circ_via.as_ref(),
                    step.circ_centre.as_ref(),
                )?;
                steps.push(SequenceStep::Cartesian {
                    path,
                    options: cartesian.clone(),
                });
            }
            Err(_) => {
                return Err(invalid(
                    &format!("{field}.motion"),
                    format!("unknown motion type {}", step.motion),
                ));
            }
        }
    }
    let options = PlanOptions {
        velocity_scale: convert::unit_scale("velocity_scale", req.velocity_scale)?,
        acceleration_scale: convert::unit_scale("acceleration_scale", req.acceleration_scale)?,
        period,
        // every sample of the sequence fits in the response (and the Cartesian steps get
        // what the steps before them left)
        max_samples: convert::max_samples(robot.chain().dof()),
        ..PlanOptions::default()
    };
    let (checker, space, limits) = crate::service::planning_inputs(cell, control, &req.robot_id)?;
    let motion = cella_planning::plan_sequence_within(
        &checker,
        robot,
        &space,
        &limits,
        &start,
        &steps,
        &options,
        deadline.map(|d| d / 2),
    )
    .map_err(|e| convert::planning_status(request_fields(e)))?;
    Ok(crate::service::plan_response(
        robot,
        &motion.samples,
        cell.version,
        motion.planning_time,
        0,
    ))
}

/// A sequence planning error with its field named as in the PlanSequenceRequest: the
/// planner's `steps[i].blend`, `steps[i].via` and `steps[i].centre` are
/// `steps[i].blend_deviation`, `steps[i].circ_via` and `steps[i].circ_centre`.
fn request_fields(e: PlanningError) -> PlanningError {
    e.map_field(|field| {
        let Some((step, name)) = field
            .strip_prefix("steps[")
            .and_then(|rest| rest.split_once("]."))
        else {
            return field;
        };
        let name = match name {
            "blend" => "blend_deviation",
            "via" => "circ_via",
            "centre" => "circ_centre",
            _ => return field,
        };
        format!("steps[{step}].{name}")
    })
}
