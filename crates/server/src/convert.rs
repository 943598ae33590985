//! Validation in one place: proto messages become domain values here, and every error names the
//! field (INVALID_ARGUMENT with BadRequest field violations).

use cella_collision::{Shape, WorldObject};
use cella_proto::v1 as pb;
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion, Vector3};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// Most joint values, points or goals accepted in one request.
pub const MAX_LIST: usize = 100_000;

/// INVALID_ARGUMENT naming `field` with a BadRequest field violation.
pub fn invalid(field: &str, reason: impl Into<String>) -> Status {
    let reason = reason.into();
    Status::with_error_details(
        Code::InvalidArgument,
        format!("{field}: {reason}"),
        ErrorDetails::with_bad_request_violation(field, reason),
    )
}

/// RESOURCE_EXHAUSTED naming `field` (the request field to change) with a BadRequest field
/// violation: the answer would be larger than the service returns (samples of a trajectory,
/// IK steps of a path), refused before it was computed.
pub fn too_large(field: &str, reason: impl Into<String>) -> Status {
    let reason = reason.into();
    Status::with_error_details(
        Code::ResourceExhausted,
        format!("{field}: {reason}"),
        ErrorDetails::with_bad_request_violation(field, reason),
    )
}

/// Bytes of a response kept for everything but its trajectory points (joint names, world
/// version, planning time, message framing).
const RESPONSE_RESERVE: usize = 64 * 1024;

/// Bytes of a varint encoding `v`.
fn varint_len(v: usize) -> usize {
    (usize::BITS - v.max(1).leading_zeros()).div_ceil(7) as usize
}

/// Bytes one `TrajectoryPoint` of `dof` joints takes in a `Trajectory` message at most:
/// its key and length, `t` (fixed64) and `q`, `qd`, `qdd` (packed doubles, each with its
/// key and length).
pub fn trajectory_point_bytes(dof: usize) -> usize {
    let packed = 1 + varint_len(8 * dof) + 8 * dof;
    let point = 1 + 8 + 3 * packed;
    1 + varint_len(point) + point
}

/// Most samples a planned trajectory of a `dof`-joint robot may have: as many points as fit
/// in one response ([`crate::MAX_MESSAGE_BYTES`], 100 000 points of 6 joints), no more than
/// Execute accepts ([`MAX_LIST`]) nor than the planners produce
/// ([`cella_trajectory::MAX_SAMPLES`]). Passed to the planners, which refuse a motion that
/// needs more (RESOURCE_EXHAUSTED) before they allocate its samples.
pub fn max_samples(dof: usize) -> usize {
    ((crate::MAX_MESSAGE_BYTES - RESPONSE_RESERVE) / trajectory_point_bytes(dof))
        .min(MAX_LIST)
        .min(cella_trajectory::MAX_SAMPLES)
}

/// Bytes of a PlanBatch response kept per item for everything but its trajectory points
/// (joint names, code, the message of a refusal).
pub const BATCH_ITEM_RESERVE: usize = 4 * 1024;

/// Bytes of a PlanBatch response its items may take: [`crate::MAX_MESSAGE_BYTES`] but the
/// framing.
pub const BATCH_BYTES: usize = crate::MAX_MESSAGE_BYTES - RESPONSE_RESERVE;

/// Most samples the next item of a PlanBatch response may carry for a `dof`-joint robot
/// when its items have `left` bytes left (of [`BATCH_BYTES`]): 0 when not even a refusal
/// fits, never more than [`max_samples`].
pub fn batch_item_samples(left: usize, dof: usize) -> usize {
    (left.saturating_sub(BATCH_ITEM_RESERVE) / trajectory_point_bytes(dof)).min(max_samples(dof))
}

/// Bytes a PlanBatch item carrying `samples` points of `dof` joints takes at most (the
/// points and [`BATCH_ITEM_RESERVE`]).
pub fn batch_item_bytes(samples: usize, dof: usize) -> usize {
    BATCH_ITEM_RESERVE + samples * trajectory_point_bytes(dof)
}

/// Finite values, at most `MAX_LIST`.
pub fn values(field: &str, v: &[f64]) -> Result<Vec<f64>, Status> {
    if v.len() > MAX_LIST {
        return Err(invalid(field, format!("{} values is too many", v.len())));
    }
    if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(invalid(
            &format!("{field}[{i}]"),
            format!("{x} is not finite"),
        ));
    }
    Ok(v.to_vec())
}

/// A pose message into an isometry (unit quaternion required, within 1e-6).
pub fn pose(field: &str, p: Option<&pb::Pose>) -> Result<Isometry3<f64>, Status> {
    let p = p.ok_or_else(|| invalid(field, "missing"))?;
    let pos = values(&format!("{field}.position"), &p.position)?;
    let q = values(&format!("{field}.quaternion_xyzw"), &p.quaternion_xyzw)?;
    if pos.len() != 3 {
        return Err(invalid(
            &format!("{field}.position"),
            format!("{} values, need 3", pos.len()),
        ));
    }
    if q.len() != 4 {
        return Err(invalid(
            &format!("{field}.quaternion_xyzw"),
            format!("{} values, need 4", q.len()),
        ));
    }
    let quat = Quaternion::new(q[3], q[0], q[1], q[2]);
    if (quat.norm() - 1.0).abs() > 1e-6 {
        return Err(invalid(
            &format!("{field}.quaternion_xyzw"),
            format!("norm {} is not 1", quat.norm()),
        ));
    }
    Ok(Isometry3::from_parts(
        Translation3::from(Vector3::new(pos[0], pos[1], pos[2])),
        UnitQuaternion::from_quaternion(quat),
    ))
}

/// An isometry into a pose message (w ≥ 0).
pub fn pose_msg(p: &Isometry3<f64>) -> pb::Pose {
    let q = p.rotation.quaternion();
    let s = if q.w < 0.0 { -1.0 } else { 1.0 };
    pb::Pose {
        position: p.translation.vector.iter().copied().collect(),
        quaternion_xyzw: vec![s * q.i, s * q.j, s * q.k, s * q.w],
    }
}

/// A shape message into a validated shape.
pub fn shape(field: &str, s: Option<&pb::Shape>) -> Result<Shape, Status> {
    use pb::shape::Kind;
    let kind = s
        .and_then(|s| s.kind.as_ref())
        .ok_or_else(|| invalid(field, "missing"))?;
    let shape = match kind {
        Kind::Box(b) => {
            let h = values(&format!("{field}.box.half_extents"), &b.half_extents)?;
            if h.len() != 3 {
                return Err(invalid(
                    &format!("{field}.box.half_extents"),
                    "need 3 values",
                ));
            }
            Shape::Box {
                half_extents: [h[0], h[1], h[2]],
            }
        }
        Kind::Sphere(s) => Shape::Sphere { radius: s.radius },
        Kind::Cylinder(c) => Shape::Cylinder {
            radius: c.radius,
            half_length: c.length / 2.0,
        },
        Kind::Capsule(c) => Shape::Capsule {
            radius: c.radius,
            half_length: c.length / 2.0,
        },
    };
    shape.validate().map_err(|r| invalid(field, r))?;
    Ok(shape)
}

/// A shape into its message.
pub fn shape_msg(s: &Shape) -> pb::Shape {
    use pb::shape::Kind;
    let kind = match *s {
        Shape::Box { half_extents } => Kind::Box(pb::Box {
            half_extents: half_extents.to_vec(),
        }),
        Shape::Sphere { radius } => Kind::Sphere(pb::Sphere { radius }),
        Shape::Cylinder {
            radius,
            half_length,
        } => Kind::Cylinder(pb::Cylinder {
            radius,
            length: 2.0 * half_length,
        }),
        Shape::Capsule {
            radius,
            half_length,
        } => Kind::Capsule(pb::Capsule {
            radius,
            length: 2.0 * half_length,
        }),
    };
    pb::Shape { kind: Some(kind) }
}

/// A world object message (static object) into a domain object.
pub fn world_object(o: Option<&pb::WorldObject>) -> Result<WorldObject, Status> {
    let o = o.ok_or_else(|| invalid("object", "missing"))?;
    if o.name.trim().is_empty() || o.name.len() > 256 {
        return Err(invalid("object.name", "must be 1-256 characters"));
    }
    Ok(WorldObject {
        name: o.name.clone(),
        shape: shape("object.shape", o.shape.as_ref())?,
        pose: pose("object.pose", o.pose.as_ref())?,
        padding: if o.padding.is_finite()
            && (0.0..=cella_collision::MAX_OBJECT_PADDING).contains(&o.padding)
        {
            o.padding
        } else {
            return Err(invalid(
                "object.padding",
                format!(
                    "{} m is not in [0, {}]",
                    o.padding,
                    cella_collision::MAX_OBJECT_PADDING
                ),
            ));
        },
    })
}

/// Maps cell errors to statuses (no catch-all arm: a new error kind must be mapped here).
pub fn cell_status(e: cella_cell::CellError) -> Status {
    use cella_cell::CellError;
    match e {
        CellError::NotFound { kind, ref name } => {
            Status::not_found(format!("unknown {kind} '{name}'"))
        }
        CellError::Invalid {
            ref field,
            ref reason,
        } => invalid(field, reason.clone()),
        CellError::Rejected {
            ref field,
            ref source,
        } => invalid(field, source.to_string()),
        CellError::Kinematics {
            ref field,
            ref source,
        } => invalid(field, source.to_string()),
        CellError::File(msg) => Status::invalid_argument(msg),
        CellError::FileSyntax(source) => Status::invalid_argument(source.to_string()),
        CellError::FileRead { field, source } => {
            Status::invalid_argument(format!("{field}: {source}"))
        }
        CellError::FileRobot { field, source } => {
            Status::invalid_argument(format!("{field}: {source}"))
        }
        CellError::FileGeometry { field, source } => {
            Status::invalid_argument(format!("{field}: {source}"))
        }
        CellError::WorldFull { .. } => Status::resource_exhausted(e.to_string()),
    }
}

/// The start of a plan: `start`, or the robot's current joints when empty; `start` must have
/// one finite value per joint.
pub fn start_state(robot: &cella_cell::CellRobot, start: &[f64]) -> Result<Vec<f64>, Status> {
    let dof = robot.geometry.robot().chain().dof();
    let q = if start.is_empty() {
        robot.joints.clone()
    } else {
        values("start", start)?
    };
    if q.len() != dof {
        return Err(invalid(
            "start",
            format!("{} values for {dof} joints", q.len()),
        ));
    }
    Ok(q)
}

/// A velocity or acceleration scale: (0, 1], 0 meaning 1.
pub fn unit_scale(field: &str, v: f64) -> Result<f64, Status> {
    if v == 0.0 {
        Ok(1.0)
    } else if v.is_finite() && v > 0.0 && v <= 1.0 {
        Ok(v)
    } else {
        Err(invalid(field, format!("{v} is not in (0, 1]")))
    }
}

/// A sampling period: [0.5 ms, 1 s], 0 meaning 4 ms.
pub fn sampling_period(v: f64) -> Result<f64, Status> {
    let period = if v == 0.0 {
        cella_trajectory::DEFAULT_PERIOD
    } else {
        v
    };
    if !(period.is_finite() && (0.0005..=1.0).contains(&period)) {
        return Err(invalid(
            "period",
            format!("{period} s is not in [0.0005, 1]"),
        ));
    }
    Ok(period)
}

/// Maps execution errors to statuses.
pub fn control_status(e: cella_control::ControlError) -> Status {
    use cella_control::ControlError as C;
    let text = e.to_string();
    match e {
        C::Invalid { field, reason } => invalid(&field, reason),
        C::UnknownRobot(_) => Status::not_found(text),
        C::NotReady { .. } | C::StartMismatch(_) | C::Collision(_) => {
            Status::failed_precondition(text)
        }
        C::Limits(_) => Status::invalid_argument(text),
        C::RobotLimits(_) => invalid("limits", text),
        C::Geometry(_) => invalid("cell", text),
        C::Executor(_) | C::Driver(_) => Status::unavailable(text),
        C::Cell(e) => cell_status(e),
    }
}

/// What a motion through space another robot is leaving counts on, as a message.
pub fn assumption_msg(a: cella_control::Assumption) -> pb::ReservationAssumption {
    pb::ReservationAssumption {
        robot_id: a.robot,
        execution_id: a.execution_id,
        clear_at: a.clear_at,
        brake_at: a.brake_at,
        gate_at: a.gate_at,
        expected_clear_in: a.expected_clear_in,
    }
}

/// Maps planning errors to statuses.
pub fn planning_status(e: cella_planning::PlanningError) -> Status {
    use cella_planning::PlanningError as P;
    let text = e.to_string();
    match e {
        P::InvalidInput { field, reason } => invalid(&field, reason),
        P::InvalidLimits { field, source } => invalid(&field, source.to_string()),
        P::OutOfLimits { field, .. } => invalid(&field, text),
        P::StartInCollision { .. } => Status::failed_precondition(format!(
            "{text}; to recover, jog the robot where its clearance grows (a jog from a \
             colliding state may) or remove the object"
        )),
        P::GoalInCollision { .. } => Status::failed_precondition(text),
        P::GoalUnreachable { .. } | P::CartesianPathFailed { .. } | P::MotionInCollision { .. } => {
            Status::failed_precondition(text)
        }
        P::Timeout { .. } | P::NoPath { .. } => Status::deadline_exceeded(text),
        P::Cancelled => Status::cancelled(text),
        P::TooLong { field, reason } => invalid(&field, reason),
        P::TooLarge { field, reason } => too_large(&field, reason),
        P::Trajectory { .. } => Status::internal(text),
        P::Kinematics(_) => Status::invalid_argument(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_of_the_most_samples_fits_in_a_message() {
        assert_eq!(varint_len(0), 1);
        assert_eq!(varint_len(127), 1);
        assert_eq!(varint_len(128), 2);
        assert_eq!(varint_len(16_383), 2);
        assert_eq!(varint_len(16_384), 3);
        // 6 joints: 1 + 8 for t, 3 x (1 + 1 + 48) for q, qd, qdd, 1 + 2 around the point
        assert_eq!(trajectory_point_bytes(6), 162);
        assert_eq!(max_samples(6), cella_trajectory::MAX_SAMPLES);
        for dof in 1..=32 {
            let n = max_samples(dof);
            assert!(n * trajectory_point_bytes(dof) + RESPONSE_RESERVE <= crate::MAX_MESSAGE_BYTES);
            assert!(n <= MAX_LIST && n > 10_000, "{dof} joints: {n}");
        }
        // the Panda's 7 joints take 186 bytes a point: fewer than 100 000 fit
        assert!(max_samples(7) < cella_trajectory::MAX_SAMPLES);
    }

    #[test]
    fn a_batch_of_the_most_samples_fits_in_a_message() {
        // items planned one after the other, each as large as what is left allows
        let dof = 6;
        let mut left = BATCH_BYTES;
        let mut items = 0;
        while items < 256 {
            let n = batch_item_samples(left, dof);
            left -= batch_item_bytes(n, dof).min(left);
            items += 1;
        }
        assert!(left < BATCH_ITEM_RESERVE, "{left} bytes unused");
        assert_eq!(batch_item_samples(BATCH_BYTES, dof), max_samples(dof));
        assert_eq!(batch_item_samples(BATCH_ITEM_RESERVE, dof), 0);
        assert_eq!(batch_item_samples(0, dof), 0);
        assert!(batch_item_bytes(max_samples(dof), dof) <= BATCH_BYTES);
    }

    #[test]
    fn size_refusals_name_the_field_with_the_right_code() {
        use cella_planning::PlanningError as P;
        let s = planning_status(P::TooLong {
            field: "velocity_scale".into(),
            reason: "1e-9 would make a 3.14e9 s motion".into(),
        });
        assert_eq!(s.code(), Code::InvalidArgument);
        assert_eq!(
            s.message(),
            "velocity_scale: 1e-9 would make a 3.14e9 s motion"
        );
        let s = planning_status(P::TooLarge {
            field: "period".into(),
            reason: "too many samples".into(),
        });
        assert_eq!(s.code(), Code::ResourceExhausted);
        let violations = s.get_details_bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, "period");
    }
}
