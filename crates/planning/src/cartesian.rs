//! Cartesian industrial motions: LIN (the TCP on a straight line) and CIRC (the TCP on a
//! circular arc, by a via point or a centre), orientation interpolated (slerp) in proportion to
//! the path, the arm configuration kept, IK tracked densely. A motion that would pass through
//! or near a singularity, need a configuration flip, leave the workspace or the joint limits,
//! or collide is refused with the fraction of the path and the TCP position where it fails.
//!
//! Timing: the path parameter follows a jerk-limited profile under the Cartesian limits (TCP
//! speed and acceleration, angular speed and acceleration); joint values come from IK at every
//! sample, joint velocities and accelerations from the samples; when a joint limit would be
//! exceeded the Cartesian speed is lowered uniformly (the path never changes) and the motion
//! retimed. Poses are the TCP in the robot's reference frame, metres and radians.
//!
//! Sizes: the duration (at most [`MAX_DURATION`](cella_trajectory::MAX_DURATION)), the samples
//! (at most [`CartesianOptions::max_samples`]) and the IK steps of the walk (at most
//! [`MAX_PATH_STEPS`]) are checked before the path is walked, a refusal naming the limit or
//! scale to change. A motion shorter than one sampling period (none, when the goal is the
//! start) takes one period: two samples at rest, the start and the goal.

use crate::bounds::{Culprit, cartesian_culprit, check_min_duration, number, size_error};
use crate::checker::ValidityChecker;
use crate::error::{PlanningError, Result, TimingError};
use cella_kinematics::{ArmConfiguration, IkOptions, IkSolutions, Robot};
use cella_trajectory::{
    CartesianLimits, Limits, MAX_SAMPLES, SampledTrajectory, ScalarProfile, TrajectoryError,
    check_size, validate,
};
use nalgebra::{Isometry3, Point3, Translation3, Unit, UnitQuaternion, Vector3};
use std::time::{Duration, Instant};

/// Most IK steps of the dense walk along a Cartesian path: 100 m of TCP travel at the default
/// 1 mm step. A path that needs more (a goal or a circle far out of reach, a tiny step) is
/// refused ([`PlanningError::TooLarge`]) before it is walked.
pub const MAX_PATH_STEPS: usize = 100_000;

/// IK is tracked at least every this much TCP rotation, rad.
const ROTATION_STEP: f64 = 0.005;

/// A goal within this distance (m) and angle (rad) of the start pose is the start pose (the
/// goal of a plan to where the robot already is, after a frame change or two): the motion
/// holds the start for one period, for CIRC too, whose arc through its start and goal would
/// be undefined. Far below any motion, far above the rounding of coordinates (1e-16).
const SAME_POSE: f64 = 1e-9;

/// The geometric path of a Cartesian motion.
#[derive(Debug, Clone, PartialEq)]
pub enum CartesianPath {
    /// LIN: a straight line from the start TCP pose to `goal`.
    Line {
        /// Goal TCP pose, reference frame.
        goal: Isometry3<f64>,
    },
    /// CIRC through an intermediate point: the circle through the start, `via` and the goal
    /// positions, from the start to the goal passing `via`.
    ArcVia {
        /// A point the TCP passes (reference frame, m); only its position is used.
        via: Point3<f64>,
        /// Goal TCP pose.
        goal: Isometry3<f64>,
    },
    /// CIRC about a centre: the shorter arc from the start to the goal position about
    /// `centre` (both at the same distance from it).
    ArcCentre {
        /// Circle centre (reference frame, m).
        centre: Point3<f64>,
        /// Goal TCP pose.
        goal: Isometry3<f64>,
    },
}

impl CartesianPath {
    fn name(&self) -> &'static str {
        match self {
            Self::Line { .. } => "LIN",
            Self::ArcVia { .. } | Self::ArcCentre { .. } => "CIRC",
        }
    }

    fn goal(&self) -> &Isometry3<f64> {
        match self {
            Self::Line { goal } | Self::ArcVia { goal, .. } | Self::ArcCentre { goal, .. } => goal,
        }
    }
}

/// Options of a Cartesian motion.
#[derive(Debug, Clone, PartialEq)]
pub struct CartesianOptions {
    /// TCP limits.
    pub limits: CartesianLimits,
    /// Scales the TCP and joint velocity limits, (0, 1].
    pub velocity_scale: f64,
    /// Scales the TCP and joint acceleration limits, (0, 1].
    pub acceleration_scale: f64,
    /// Sampling period of the returned trajectory, s.
    pub period: f64,
    /// IK is tracked at least this finely along the path, m of TCP travel (and 0.005 rad of
    /// rotation).
    pub step: f64,
    /// A joint moving more than this per step is a singularity or a configuration flip, rad.
    pub max_joint_step: f64,
    /// Most samples of the returned trajectory, at most [`MAX_SAMPLES`]: a motion that
    /// would need more is refused ([`PlanningError::TooLarge`]) before they are allocated.
    pub max_samples: usize,
}

impl Default for CartesianOptions {
    fn default() -> Self {
        Self {
            limits: CartesianLimits::default(),
            velocity_scale: 1.0,
            acceleration_scale: 1.0,
            period: cella_trajectory::DEFAULT_PERIOD,
            step: 0.001,
            max_joint_step: 0.05,
            max_samples: MAX_SAMPLES,
        }
    }
}

/// A planned Cartesian motion.
#[derive(Debug, Clone)]
pub struct CartesianMotion {
    /// The trajectory sampled at the requested period, validated (limits and collision).
    pub samples: SampledTrajectory,
    /// TCP path length, m.
    pub length: f64,
    /// TCP rotation, rad.
    pub rotation: f64,
    /// The Cartesian speed used, m/s (lower than the limit when joint limits required it).
    pub linear_velocity: f64,
    /// Wall time from the call to the validated trajectory.
    pub planning_time: Duration,
}

/// Position of the TCP along a line or arc as a function of the path parameter σ ∈ [0, 1].
enum Curve {
    Line {
        from: Vector3<f64>,
        to: Vector3<f64>,
    },
    Arc {
        centre: Vector3<f64>,
        radius_vector: Vector3<f64>,
        axis: Unit<Vector3<f64>>,
        angle: f64,
    },
}

impl Curve {
    fn at(&self, sigma: f64) -> Vector3<f64> {
        match self {
            Self::Line { from, to } => from + (to - from) * sigma,
            Self::Arc {
                centre,
                radius_vector,
                axis,
                angle,
            } => centre + UnitQuaternion::from_axis_angle(axis, angle * sigma) * radius_vector,
        }
    }

    fn length(&self) -> f64 {
        match self {
            Self::Line { from, to } => (to - from).norm(),
            Self::Arc {
                radius_vector,
                angle,
                ..
            } => radius_vector.norm() * angle,
        }
    }
}

/// A pose the arm can no longer reach, after the manipulability fell below this share of the
/// start's, is reported as a singularity.
const SINGULAR_SHARE: f64 = 0.25;

/// Tolerance on circle construction (start and goal at the same distance from the centre,
/// points not collinear), m.
const CIRCLE_TOLERANCE: f64 = 1e-3;

fn curve(path: &CartesianPath, start: &Vector3<f64>) -> Result<Curve> {
    let goal = path.goal().translation.vector;
    match path {
        CartesianPath::Line { .. } => Ok(Curve::Line {
            from: *start,
            to: goal,
        }),
        CartesianPath::ArcVia { via, .. } => {
            let (a, b, c) = (*start, via.coords, goal);
            let (ab, ac) = (b - a, c - a);
            let normal = ab.cross(&ac);
            if normal.norm() < CIRCLE_TOLERANCE * ab.norm().max(ac.norm()) {
                return Err(PlanningError::invalid(
                    "via",
                    "start, via and goal are (nearly) on one line: no circle through them",
                ));
            }
            // circumcentre of the triangle
            let centre = a
                + (normal.cross(&ab) * ac.norm_squared() + ac.cross(&normal) * ab.norm_squared())
                    / (2.0 * normal.norm_squared());
            let axis = Unit::new_normalize(normal);
            let angle_to = |p: &Vector3<f64>| {
                let (u, v) = (a - centre, p - centre);
                let mut phi = u.cross(&v).dot(&axis).atan2(u.dot(&v));
                if phi < 0.0 {
                    phi += std::f64::consts::TAU;
                }
                phi
            };
            // the normal (a→b)×(a→c) orients the circle so that b comes before c
            let angle = angle_to(&c);
            Ok(Curve::Arc {
                centre,
                radius_vector: a - centre,
                axis,
                angle,
            })
        }
        CartesianPath::ArcCentre { centre, .. } => {
            let (u, v) = (start - centre.coords, goal - centre.coords);
            if (u.norm() - v.norm()).abs() > CIRCLE_TOLERANCE {
                return Err(PlanningError::invalid(
                    "centre",
                    format!(
                        "start and goal are {:.4} m and {:.4} m from the centre: not on one circle",
                        u.norm(),
                        v.norm()
                    ),
                ));
            }
            let normal = u.cross(&v);
            if normal.norm() < CIRCLE_TOLERANCE * u.norm() {
                return Err(PlanningError::invalid(
                    "centre",
                    "start and goal are (nearly) opposite or equal about the centre: the arc's plane is undefined; give a via point",
                ));
            }
            let axis = Unit::new_normalize(normal);
            Ok(Curve::Arc {
                centre: centre.coords,
                radius_vector: u,
                axis,
                angle: u.angle(&v),
            })
        }
    }
}

/// Tracks IK along the path: one joint state per path parameter, in the start's arm
/// configuration, nearest to the previous state.
struct Tracker<'a> {
    robot: &'a Robot,
    configuration: Option<ArmConfiguration>,
    options: IkOptions,
    solutions: IkSolutions,
}

impl<'a> Tracker<'a> {
    fn new(robot: &'a Robot, start: &[f64]) -> Self {
        let options = IkOptions {
            max_solutions: 16,
            ..IkOptions::default()
        };
        let mut t = Self {
            robot,
            configuration: None,
            options,
            solutions: IkSolutions::new(),
        };
        // the start's arm configuration: that of the IK solution at the start pose nearest to it
        if let Ok(pose) = robot.fk(start)
            && robot
                .ik(&pose, Some(start), &t.options, &mut t.solutions)
                .is_ok()
        {
            t.configuration = t.solutions.as_slice().first().and_then(|s| s.configuration);
        }
        t
    }

    /// The solution at `pose` in the tracked configuration nearest to `previous`.
    fn next(
        &mut self,
        pose: &Isometry3<f64>,
        previous: &[f64],
    ) -> std::result::Result<Vec<f64>, String> {
        self.robot
            .ik(pose, Some(previous), &self.options, &mut self.solutions)
            .map_err(|e| format!("unreachable: {e}"))?;
        let same = self
            .solutions
            .as_slice()
            .iter()
            .find(|s| self.configuration.is_none() || s.configuration == self.configuration);
        match same {
            Some(s) => Ok(s.joints().to_vec()),
            None => Err(format!(
                "reachable only with another arm configuration than the start's ({}): a configuration flip",
                self.configuration.map_or_else(String::new, |c| c.label())
            )),
        }
    }
}

/// Plans a Cartesian motion of `robot` from joint state `start` along `path`, checked by
/// `checker` and timed under the joint `limits` and the Cartesian limits of `options`.
pub fn plan_cartesian<C: ValidityChecker>(
    checker: &C,
    robot: &Robot,
    limits: &Limits,
    start: &[f64],
    path: &CartesianPath,
    options: &CartesianOptions,
) -> Result<CartesianMotion> {
    let began = Instant::now();
    let dof = robot.chain().dof();
    if checker.dof() != dof || limits.dof() != dof {
        return Err(PlanningError::invalid(
            "robot",
            "checker, robot and limits disagree on the joint count",
        ));
    }
    robot
        .chain()
        .check_limits(start)
        .map_err(PlanningError::Kinematics)?;
    for (field, v) in [
        ("step", options.step),
        ("max_joint_step", options.max_joint_step),
        ("period", options.period),
    ] {
        if !(v.is_finite() && v > 0.0) {
            return Err(PlanningError::invalid(
                field,
                format!("{v} is not positive"),
            ));
        }
    }
    let cart = options
        .limits
        .scaled(options.velocity_scale, options.acceleration_scale)
        .map_err(|source| PlanningError::InvalidLimits {
            field: "cartesian limits".into(),
            source,
        })?;
    let joint_limits =
        crate::plan::scaled_limits(limits, options.velocity_scale, options.acceleration_scale)?;
    cella_kinematics::robot::check_target(path.goal()).map_err(PlanningError::Kinematics)?;
    let start_pose = robot.fk(start)?;
    let r0 = start_pose.rotation;
    let turn = rotation_between(&r0, &path.goal().rotation);
    let (from, to) = (
        start_pose.translation.vector,
        path.goal().translation.vector,
    );
    let curve = if (to - from).norm() <= SAME_POSE && turn.norm() <= SAME_POSE {
        Curve::Line { from, to }
    } else {
        curve(path, &from)?
    };
    let rotation = turn.norm();
    let length = curve.length();
    let pose_at = |sigma: f64| {
        Isometry3::from_parts(
            Translation3::from(curve.at(sigma)),
            interpolate_rotation(&r0, &turn, sigma),
        )
    };
    // 0. sizes, before anything is walked or sampled: the duration at the Cartesian limits,
    //    its samples, the IK steps of the walk
    let max_samples = options.max_samples.min(MAX_SAMPLES);
    let culprit = |too_many_samples: bool| {
        cartesian_culprit(
            &options.limits,
            options.velocity_scale,
            options.acceleration_scale,
            length,
            rotation,
            too_many_samples,
        )
    };
    check_min_duration(cart.min_duration(length, rotation), &culprit(false))?;
    let full_speed = sigma_profile(&cart, length, rotation)?;
    check_size(full_speed.duration(), options.period, max_samples).map_err(|e| {
        let many = matches!(e, TrajectoryError::TooManySamples { .. });
        size_error(e, &culprit(many))
    })?;
    let steps = walk_steps(length, rotation, options.step)?;
    let mut scratch = checker.scratch();
    crate::plan::free_start(checker, &mut scratch, start)?;
    // 1. dense IK walk: reachability, configuration, singularities, collision
    let mut tracker = Tracker::new(robot, start);
    let fail = |sigma: f64, reason: String| PlanningError::CartesianPathFailed {
        motion: path.name().into(),
        fraction: sigma,
        position: {
            let p = curve.at(sigma);
            [p.x, p.y, p.z]
        },
        reason,
    };
    let start_manipulability = robot.chain().manipulability(start).unwrap_or(0.0);
    let mut previous = start.to_vec();
    for i in 1..=steps {
        let sigma = i as f64 / steps as f64;
        let q = tracker.next(&pose_at(sigma), &previous).map_err(|r| {
            // name a singularity when the arm was losing manipulability on the way here
            let w = robot.chain().manipulability(&previous).unwrap_or(0.0);
            if w < SINGULAR_SHARE * start_manipulability {
                fail(
                    sigma,
                    format!(
                        "{r}; the arm approaches a singularity here (manipulability {w:.2e}, {:.0} % of the start's)",
                        100.0 * w / start_manipulability
                    ),
                )
            } else {
                fail(sigma, r)
            }
        })?;
        let jump = q
            .iter()
            .zip(&previous)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        if jump > options.max_joint_step {
            let w = robot.chain().manipulability(&q).unwrap_or(0.0);
            return Err(fail(
                sigma,
                format!(
                    "a joint would move {jump:.3} rad for {:.1} mm of path: passes through or near a singularity (manipulability {w:.2e})",
                    1e3 * length / steps as f64
                ),
            ));
        }
        if !checker.motion_valid(&mut scratch, &previous, &q) {
            return Err(fail(
                sigma,
                format!(
                    "collision: {}",
                    crate::error::pairs_text(&checker.colliding_pairs(&mut scratch, &q))
                ),
            ));
        }
        previous = q;
    }
    // 2. timing: jerk-limited path parameter under the Cartesian limits, slowed down while a
    //    joint limit would be broken
    let mut speed_factor: f64 = 1.0;
    for _ in 0..6 {
        let scaled = CartesianLimits {
            linear_velocity: cart.linear_velocity * speed_factor,
            linear_acceleration: cart.linear_acceleration * speed_factor * speed_factor,
            angular_velocity: cart.angular_velocity * speed_factor,
            angular_acceleration: cart.angular_acceleration * speed_factor * speed_factor,
        };
        let profile = if speed_factor == 1.0 {
            full_speed.clone()
        } else {
            sigma_profile(&scaled, length, rotation)?
        };
        let sampling = Sampling {
            period: options.period,
            max_samples,
        };
        let samples = sample(&mut tracker, start, &profile, &pose_at, &sampling, dof).map_err(
            |failure| match failure {
                SampleFailure::Path(sigma, r) => fail(sigma, r),
                // slower than at full speed: the joint limits along this path are to blame
                SampleFailure::Size(e) => size_error(
                    e,
                    &Culprit {
                        field: "goal".into(),
                        value: format!(
                            "the path (the joint limits slow the TCP to {} % of the Cartesian speed along it)",
                            number(100.0 * speed_factor)
                        ),
                        advice: "choose a path farther from singularities",
                    },
                ),
            },
        )?;
        let ratio = worst_ratio(&samples, &joint_limits);
        if ratio <= 1.0 {
            validate(&samples, &joint_limits, 1e-6).map_err(PlanningError::timing)?;
            // collision along every sample-to-sample motion
            if let Some(k) = checker.path_first_collision(&mut scratch, &samples.q) {
                let sigma = profile.evaluate(samples.times[k]).0;
                return Err(fail(
                    sigma,
                    format!(
                        "collision: {}",
                        crate::error::pairs_text(
                            &checker.colliding_pairs(&mut scratch, samples.q_at(k))
                        )
                    ),
                ));
            }
            return Ok(CartesianMotion {
                samples,
                length,
                rotation,
                linear_velocity: scaled.linear_velocity,
                planning_time: began.elapsed(),
            });
        }
        speed_factor *= 0.97 / ratio;
    }
    Err(PlanningError::timing(TimingError::SpeedLimited {
        motion: path.name().to_owned(),
        speed_percent: 100.0 * speed_factor,
    }))
}

/// The rotation from orientation `from` to `to`, in the frame of `from`, as its axis scaled
/// by its angle (at most π: the shorter way). Its angle comes from the vector part of the
/// relative rotation by `atan2`, exact down to the smallest turns.
fn rotation_between(from: &UnitQuaternion<f64>, to: &UnitQuaternion<f64>) -> Vector3<f64> {
    (from.inverse() * to).scaled_axis()
}

/// The orientation a fraction `sigma` of the way from `from` through `turn`
/// ([`rotation_between`]): the slerp, about one fixed axis at a constant rate, and a unit
/// quaternion to rounding for every angle.
///
/// Not nalgebra's `slerp`: it takes the sine of the half angle as `sqrt(1 − cos²)`, which
/// drops the cosine's last digits, so for turns near 1e-4 rad its quaternions are off unit by
/// up to 1e-9; the analytic IK solvers verify every solution to 1e-9 rad by forward
/// kinematics and drop some branches for such a target, the tracked arm configuration among
/// them (a LIN rotating the tool by 1e-4 or 3e-4 rad was refused as a configuration flip).
fn interpolate_rotation(
    from: &UnitQuaternion<f64>,
    turn: &Vector3<f64>,
    sigma: f64,
) -> UnitQuaternion<f64> {
    let q = from * UnitQuaternion::from_scaled_axis(turn * sigma);
    UnitQuaternion::new_normalize(q.into_inner())
}

/// How many IK steps the walk along a path of `length` m and `rotation` rad takes at `step`
/// m (and [`ROTATION_STEP`] rad) per step; more than [`MAX_PATH_STEPS`] is refused.
fn walk_steps(length: f64, rotation: f64, step: f64) -> Result<usize> {
    let steps = (length / step)
        .max(rotation / ROTATION_STEP)
        .ceil()
        .max(1.0);
    if steps.is_nan() || steps > MAX_PATH_STEPS as f64 {
        return Err(PlanningError::TooLarge {
            field: "goal".into(),
            reason: format!(
                "a path of {} m and {} rad is {} IK steps of {step} m (or {ROTATION_STEP} rad), more than the {MAX_PATH_STEPS} allowed; choose a goal within reach",
                number(length),
                number(rotation),
                number(steps)
            ),
        });
    }
    Ok(steps as usize)
}

/// The path-parameter profile: the Cartesian limits give the velocity and acceleration of σ;
/// the jerk ramps the acceleration in a tenth of a second (the convention of the bundled
/// robots' jerk limits).
fn sigma_profile(limits: &CartesianLimits, length: f64, rotation: f64) -> Result<ScalarProfile> {
    let trapezoid =
        limits
            .profile(length, rotation)
            .map_err(|source| PlanningError::InvalidLimits {
                field: "cartesian limits".into(),
                source,
            })?;
    if trapezoid.duration() == 0.0 {
        return Ok(trapezoid);
    }
    let (v, a) = limits.parameter_rates(length, rotation);
    ScalarProfile::double_s(1.0, v, a, 10.0 * a).map_err(PlanningError::timing)
}

/// How the timed motion is sampled.
struct Sampling {
    period: f64,
    max_samples: usize,
}

/// Why a timed motion could not be sampled.
enum SampleFailure {
    /// IK failed at path fraction σ, for this reason.
    Path(f64, String),
    /// Too long, or too many samples (refused before they are allocated).
    Size(TrajectoryError),
}

/// Samples the motion every `period`: σ from the profile, joints from IK (tracked), joint
/// velocities and accelerations by central differences (zero at both ends: at rest). A motion
/// shorter than one period (none at all when the goal is the start) takes one period: the
/// start at 0 and the goal at `period`, both at rest, so that it can be executed.
fn sample(
    tracker: &mut Tracker<'_>,
    start: &[f64],
    profile: &ScalarProfile,
    pose_at: &dyn Fn(f64) -> Isometry3<f64>,
    sampling: &Sampling,
    dof: usize,
) -> std::result::Result<SampledTrajectory, SampleFailure> {
    let Sampling {
        period,
        max_samples,
    } = *sampling;
    let duration = profile.duration();
    check_size(duration, period, max_samples).map_err(SampleFailure::Size)?;
    if duration < period {
        let goal = tracker
            .next(&pose_at(1.0), start)
            .map_err(|r| SampleFailure::Path(1.0, r))?;
        let mut out = SampledTrajectory::hold(start, period).map_err(SampleFailure::Size)?;
        out.q[dof..].copy_from_slice(&goal);
        return Ok(out);
    }
    let ticks = ((duration / period).ceil() as usize).max(1);
    let dt = duration / ticks as f64;
    let mut out = SampledTrajectory {
        dof,
        times: Vec::with_capacity(ticks + 1),
        q: Vec::with_capacity((ticks + 1) * dof),
        qd: vec![0.0; (ticks + 1) * dof],
        qdd: vec![0.0; (ticks + 1) * dof],
    };
    let mut previous = start.to_vec();
    for k in 0..=ticks {
        let t = k as f64 * dt;
        let q = if k == 0 {
            start.to_vec()
        } else {
            let sigma = profile.evaluate(t).0;
            tracker
                .next(&pose_at(sigma), &previous)
                .map_err(|r| SampleFailure::Path(sigma, r))?
        };
        out.times.push(t);
        out.q.extend_from_slice(&q);
        previous = q;
    }
    if ticks >= 2 {
        for k in 1..ticks {
            for j in 0..dof {
                let (a, b, c) = (
                    out.q[(k - 1) * dof + j],
                    out.q[k * dof + j],
                    out.q[(k + 1) * dof + j],
                );
                out.qd[k * dof + j] = (c - a) / (2.0 * dt);
                out.qdd[k * dof + j] = (c - 2.0 * b + a) / (dt * dt);
            }
        }
    }
    Ok(out)
}

/// Largest ratio of a sampled joint velocity, acceleration or jerk to its limit, expressed as
/// the factor by which the motion's speed must shrink (velocity ratio, square root of the
/// acceleration ratio, cube root of the jerk ratio).
fn worst_ratio(s: &SampledTrajectory, limits: &Limits) -> f64 {
    let dof = s.dof;
    let mut worst: f64 = 0.0;
    for k in 0..s.len() {
        for j in 0..dof {
            worst = worst.max(s.qd[k * dof + j].abs() / limits.velocity[j]);
            worst = worst.max((s.qdd[k * dof + j].abs() / limits.acceleration[j]).sqrt());
            if let Some(jerk) = &limits.jerk
                && k > 0
            {
                let dt = s.times[k] - s.times[k - 1];
                let d = (s.qdd[k * dof + j] - s.qdd[(k - 1) * dof + j]).abs() / dt;
                worst = worst.max((d / jerk[j]).cbrt());
            }
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolated_orientations_are_unit_and_on_the_slerp_for_tiny_turns() {
        let from = UnitQuaternion::from_euler_angles(0.3, -1.1, 2.0);
        for angle in [
            0.0, 1e-12, 1e-9, 1e-6, 1e-5, 1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 0.5, 3.0,
        ] {
            for axis in [Vector3::x_axis(), Vector3::y_axis(), Vector3::z_axis()] {
                let to = from * UnitQuaternion::from_axis_angle(&axis, angle);
                let turn = rotation_between(&from, &to);
                assert!((turn.norm() - angle).abs() <= 1e-15 * (1.0 + angle));
                for k in 0..=10 {
                    let sigma = k as f64 / 10.0;
                    let q = interpolate_rotation(&from, &turn, sigma);
                    // unit to rounding: IK verifies its solutions to 1e-9 rad
                    assert!(
                        (q.quaternion().norm() - 1.0).abs() < 1e-15,
                        "{angle} at {sigma}"
                    );
                    // a constant rate about one axis
                    assert!((from.angle_to(&q) - sigma * angle).abs() < 1e-12 * (1.0 + angle));
                    assert!(q.angle_to(&to) - (1.0 - sigma) * angle < 1e-12 * (1.0 + angle));
                }
                assert!(interpolate_rotation(&from, &turn, 1.0).angle_to(&to) < 1e-15);
            }
        }
    }

    #[test]
    fn paths_of_more_ik_steps_than_allowed_are_refused() {
        assert_eq!(walk_steps(0.0, 0.0, 0.001).unwrap(), 1);
        assert_eq!(walk_steps(0.1, 0.0, 0.001).unwrap(), 100);
        assert_eq!(walk_steps(0.0, 0.1, 0.001).unwrap(), 20);
        assert_eq!(walk_steps(100.0, 0.0, 0.001).unwrap(), MAX_PATH_STEPS);
        assert!(matches!(
            walk_steps(100.001, 0.0, 0.001),
            Err(PlanningError::TooLarge { .. })
        ));
        assert!(walk_steps(f64::INFINITY, 0.0, 0.001).is_err());
    }
}
