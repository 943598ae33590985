//! The trajectory output format of `../shared/problems/README.md`: what `cella plan --out`,
//! `cella retime` and `cella plan --server --out` write and `cella exec --trajectory` reads.
//!
//! ```json
//! {"joint_names": ["panda_joint1", "..."],
//!  "points": [{"t": 0.0, "q": [...], "qd": [...], "qdd": [...]}, ...]}
//! ```
//!
//! `t` in seconds, strictly increasing; `qd` and `qdd` are optional (a purely geometric path).
//!
//! ```
//! use cella::trajectory_file::TrajectoryFile;
//! use cella_trajectory::SampledTrajectory;
//!
//! let samples = SampledTrajectory::hold(&[0.1, -0.2], 0.004)?;
//! let file = TrajectoryFile::from_samples(vec!["a".into(), "b".into()], &samples);
//! let back = TrajectoryFile::from_json(&file.to_json())?;
//! assert_eq!(back, file);
//! assert_eq!(back.points[1].t, 0.004);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use cella_proto::v1 as pb;
use cella_trajectory::SampledTrajectory;
use serde::{Deserialize, Serialize};

/// One point of a trajectory file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// Time from the start, s.
    pub t: f64,
    /// Joint positions (rad, or m for prismatic joints), in `joint_names` order.
    pub q: Vec<f64>,
    /// Joint velocities, when the trajectory is timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qd: Option<Vec<f64>>,
    /// Joint accelerations, when the trajectory is timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qdd: Option<Vec<f64>>,
}

/// A trajectory file: joint names and the points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryFile {
    /// Names of the joints, in the order of every point's values.
    pub joint_names: Vec<String>,
    /// The points, `t` strictly increasing.
    pub points: Vec<TrajectoryPoint>,
}

impl TrajectoryFile {
    /// Every sample of a timed trajectory, with positions, velocities and accelerations.
    pub fn from_samples(joint_names: Vec<String>, samples: &SampledTrajectory) -> Self {
        let points = (0..samples.len())
            .map(|k| TrajectoryPoint {
                t: samples.times[k],
                q: samples.q_at(k).to_vec(),
                qd: Some(samples.qd_at(k).to_vec()),
                qdd: Some(samples.qdd_at(k).to_vec()),
            })
            .collect();
        Self {
            joint_names,
            points,
        }
    }

    /// The file's JSON text (one line).
    pub fn to_json(&self) -> String {
        // a struct of strings and numbers always serializes (non-finite numbers become null)
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the file's JSON text; the error names the line and column.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// A trajectory as the service returns it (`Plan`): its joint names and every point.
    pub fn from_msg(t: &pb::Trajectory) -> Self {
        Self {
            joint_names: t.joint_names.clone(),
            points: t
                .points
                .iter()
                .map(|p| TrajectoryPoint {
                    t: p.t,
                    q: p.q.clone(),
                    qd: Some(p.qd.clone()),
                    qdd: Some(p.qdd.clone()),
                })
                .collect(),
        }
    }

    /// The trajectory as the service takes it (`Execute`): the joint names, so that the
    /// server refuses a trajectory of another robot's joints, and every point with its
    /// velocities and accelerations. A point without them is refused, naming it
    /// (`points[i].qd`): execution needs both.
    pub fn to_msg(&self) -> Result<pb::Trajectory, String> {
        let points = self
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let missing = |k: &str| format!("points[{i}].{k} missing");
                Ok(pb::TrajectoryPoint {
                    t: p.t,
                    q: p.q.clone(),
                    qd: p.qd.clone().ok_or_else(|| missing("qd"))?,
                    qdd: p.qdd.clone().ok_or_else(|| missing("qdd"))?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(pb::Trajectory {
            joint_names: self.joint_names.clone(),
            points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_text_has_the_documented_shape() {
        let samples = SampledTrajectory::hold(&[0.5], 0.01).unwrap();
        let file = TrajectoryFile::from_samples(vec!["j".into()], &samples);
        let v: serde_json::Value = serde_json::from_str(&file.to_json()).unwrap();
        assert_eq!(v["joint_names"], serde_json::json!(["j"]));
        assert_eq!(
            v["points"][1],
            serde_json::json!({"t": 0.01, "q": [0.5], "qd": [0.0], "qdd": [0.0]})
        );
    }

    #[test]
    fn the_service_message_keeps_the_joint_names_both_ways() {
        let samples = SampledTrajectory::hold(&[0.5, -0.25], 0.01).unwrap();
        let file = TrajectoryFile::from_samples(vec!["a".into(), "b".into()], &samples);
        let msg = file.to_msg().unwrap();
        assert_eq!(msg.joint_names, ["a", "b"]);
        assert_eq!(msg.points.len(), 2);
        assert_eq!(msg.points[1].q, [0.5, -0.25]);
        assert_eq!(TrajectoryFile::from_msg(&msg), file);
        // a geometric path cannot be executed: the point is named
        let path =
            TrajectoryFile::from_json(r#"{"joint_names": ["j"], "points": [{"t": 0, "q": [1]}]}"#)
                .unwrap();
        assert_eq!(path.to_msg().unwrap_err(), "points[0].qd missing");
    }

    #[test]
    fn a_geometric_path_reads_without_velocities() {
        let f =
            TrajectoryFile::from_json(r#"{"joint_names": ["j"], "points": [{"t": 0, "q": [1]}]}"#)
                .unwrap();
        assert_eq!(f.points[0].qd, None);
        let e = TrajectoryFile::from_json(r#"{"joint_names": ["j"], "points": [{"t": 0}]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("missing field `q`"), "{e}");
    }
}
