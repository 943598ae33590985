//! The stop log: every stop of an execution, with who asked and why, numbered so that a
//! reader can follow it (gRPC `StreamEvents`) and a robot's state can say why it stopped.

use std::collections::VecDeque;
use std::sync::Mutex;

/// Stops kept for readers that fall behind.
const KEPT: usize = 1024;

/// Who stopped a motion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopCause {
    /// A client's Stop request.
    Client,
    /// A world edit (an object added or moved) put the rest of the motion in collision.
    WorldEdit,
    /// The execution's lease lapsed: its client stopped renewing it.
    LeaseExpired,
    /// The execution braked at a gate: the robot it was admitted to follow through shared
    /// space had not left it in time (paused, held, slowed or stopped).
    ReservationLate,
}

impl StopCause {
    /// Lower-case name ("client", "world_edit", "lease_expired", "reservation_late").
    pub fn name(self) -> &'static str {
        match self {
            StopCause::Client => "client",
            StopCause::WorldEdit => "world_edit",
            StopCause::LeaseExpired => "lease_expired",
            StopCause::ReservationLate => "reservation_late",
        }
    }
}

/// One stop.
#[derive(Debug, Clone, PartialEq)]
pub struct StopEvent {
    /// Position in the log, from 1.
    pub seq: u64,
    /// Robot id.
    pub robot: String,
    /// The execution stopped (0 for a jog or an idle robot).
    pub execution_id: u64,
    /// Who stopped it.
    pub cause: StopCause,
    /// Why, in words (the colliding pair and when, the lapsed lease).
    pub reason: String,
}

/// The log (bounded: the oldest stops are dropped first).
#[derive(Debug, Default)]
pub struct EventLog {
    inner: Mutex<(u64, VecDeque<StopEvent>)>,
}

impl EventLog {
    /// Appends a stop; returns it with its number.
    pub fn push(
        &self,
        robot: &str,
        execution_id: u64,
        cause: StopCause,
        reason: String,
    ) -> StopEvent {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += 1;
        let event = StopEvent {
            seq: g.0,
            robot: robot.to_owned(),
            execution_id,
            cause,
            reason,
        };
        if g.1.len() == KEPT {
            g.1.pop_front();
        }
        g.1.push_back(event.clone());
        event
    }

    /// The stops numbered after `seq`, oldest first.
    pub fn since(&self, seq: u64) -> Vec<StopEvent> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.1.iter().filter(|e| e.seq > seq).cloned().collect()
    }

    /// The number of the latest stop (0 when none).
    pub fn last_seq(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    /// The latest stop of execution `execution_id` of robot `robot`.
    pub fn of_execution(&self, robot: &str, execution_id: u64) -> Option<StopEvent> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.1.iter()
            .rev()
            .find(|e| e.robot == robot && e.execution_id == execution_id)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_numbers_stops_and_forgets_the_oldest_first() {
        let log = EventLog::default();
        for i in 0..(KEPT as u64 + 5) {
            log.push("a", i, StopCause::Client, format!("stop {i}"));
        }
        assert_eq!(log.last_seq(), KEPT as u64 + 5);
        let all = log.since(0);
        assert_eq!(all.len(), KEPT);
        assert_eq!(all[0].seq, 6);
        assert_eq!(log.since(KEPT as u64 + 3).len(), 2);
        let e = log.of_execution("a", 7).unwrap();
        assert_eq!(e.reason, "stop 7");
        assert!(log.of_execution("b", 7).is_none());
    }
}
