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
