//! The audit trail (`cella serve --audit FILE`): who commanded what, when, and how it ended.
//!
//! # Format
//!
//! JSON lines, appended. Each state-changing command writes two lines with the same `seq`:
//! an **intent** line, written and synced to disk (`fdatasync`) *before* the command takes
//! effect, and an **outcome** line after it (`"outcome":"ok"`, or `"error"` with the gRPC
//! `code` and `message`), with the world version after it. An intent without an outcome is
//! a command in flight when the server died.
//!
//! ```text
//! {"seq":7,"phase":"intent","time":"2025-01-01T12:00:00.000Z","unix":1735732800.0,"who":"cell-hmi","role":"operator","peer":"10.0.0.7:50122","rpc":"Execute","robot":"ur5e","request_id":"job-42"}
//! {"seq":7,"phase":"outcome","time":"2025-01-01T12:00:00.004Z","unix":1735732800.004,"who":"cell-hmi","role":"operator","peer":"10.0.0.7:50122","rpc":"Execute","robot":"ur5e","request_id":"job-42","execution_id":3,"outcome":"ok","world_version":5}
//! ```
//!
//! Fields: `seq` (increasing, continued across restarts), `phase`, `time` (UTC, RFC 3339,
//! milliseconds), `unix` (seconds since the epoch), `who` and `role` (the caller's identity,
//! [`crate::identity`]; "local"/"admin" without authentication), `peer` (its address), `rpc`,
//! the command's key fields (`robot` ("*" for a Stop of every robot), `object`, `link`,
//! `request_id`, `planned_version`, `lease`, `speed_override`, `immediate`, `reason`, `jog`),
//! and on outcome lines `execution_id`, `stopped` (robots a world edit stopped), `outcome`,
//! `code`, `message` and `world_version`. Credentials are never written: no field is read
//! from request metadata. Strings from the client are cut at 256 characters.
//!
//! A request the authentication layer refuses (no or unknown credentials:
//! `UNAUTHENTICATED`; too small a role: `PERMISSION_DENIED`) is one `"phase":"refused"` line
//! with `who` and `role` when the caller was identified, its `peer`, `rpc`, `code` and
//! `message`, for every RPC (a read refused is as telling as a command). At most
//! [`MAX_REFUSALS_PER_SECOND`] are written a second; the line after a burst says how many were
//! left out (`suppressed`).
//!
//! # What is audited
//!
//! Execute, Jog (the first command of each jog sequence: see [`CellServer::audit_jog`]),
//! Pause, Resume, Stop, SetSpeedOverride, Reset, AddObject, MoveObject, RemoveObject,
//! AttachObject and DetachObject. Not Heartbeat: it renews a lease many times a second and
//! changes nothing a person decided (the Execute that took the lease is audited); not the
//! stops the server decides itself (lease expiry, world edits, gates), which are in the stop
//! log (StreamEvents).
//!
//! # Rotation
//!
//! [`AuditLog::reopen`] opens the path again (`cella serve` calls it on `SIGHUP`): a log
//! rotator moves the file away and signals; the sequence numbers go on in the new file, and
//! [`read_trails`] reads the files back as one trail.
//!
//! # Failures
//!
//! A command whose intent cannot be written is refused with `UNAVAILABLE` and not executed,
//! except Stop, which is never held back by the audit trail (the failure is logged). An
//! outcome line is written without its own sync (the next intent's sync, or the kernel,
//! flushes it): a `kill -9` loses none, a power cut may lose the last outcomes, never an
//! intent. A failed outcome write is logged; the command's answer stands.

use crate::identity::identity_of;
use crate::service::CellServer;
use cella_control::CellControl;
use cella_proto::v1 as pb;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tonic::{Request, Response, Status};

/// Longest string field written, characters.
const MAX_FIELD: usize = 256;
/// Bytes read from the end of an existing trail to continue its sequence numbers.
const TAIL: u64 = 64 * 1024;

/// Errors of the audit trail.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The file could not be opened, read, written or synced.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The audit file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
}

/// Which line of a command a record is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Written before the command takes effect.
    #[default]
    Intent,
    /// Written once it has been answered.
    Outcome,
    /// A request the authentication layer refused (`UNAUTHENTICATED`, `PERMISSION_DENIED`):
    /// one line, never executed.
    Refused,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One line of the audit trail (see the module documentation for the fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The command's sequence number (shared by its intent and outcome lines).
    pub seq: u64,
    /// Intent or outcome.
    pub phase: Phase,
    /// UTC, RFC 3339 with milliseconds.
    pub time: String,
    /// Seconds since the Unix epoch.
    pub unix: f64,
    /// The caller's identity.
    pub who: String,
    /// Its role.
    pub role: String,
    /// Its address, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub peer: String,
    /// The RPC ("Execute", "Stop", ...).
    pub rpc: String,
    /// The robot commanded ("*": every robot).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub robot: String,
    /// The object edited.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub object: String,
    /// The link an object is attached to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub link: String,
    /// Execute's retry key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_id: String,
    /// Execute: the world version the trajectory was planned against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_version: Option<u64>,
    /// Execute: the lease asked for, s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<f64>,
    /// SetSpeedOverride's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_override: Option<f64>,
    /// Stop: along the path as fast as possible.
    #[serde(default, skip_serializing_if = "is_false")]
    pub immediate: bool,
    /// Stop: the reason given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Jog: "joints" or "twist".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jog: String,
    /// Execute's outcome: the execution started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<u64>,
    /// A world edit's outcome: the robots it stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopped: Vec<String>,
    /// "ok" or "error" (outcome lines).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub outcome: String,
    /// The gRPC status code of an error ("FAILED_PRECONDITION", ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// The error's message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The world version after the command (outcome lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world_version: Option<u64>,
    /// Refused lines: how many refusals before this one were not written (more than
    /// [`MAX_REFUSALS_PER_SECOND`] in a second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<u64>,
}

/// Refusals written in one second at most; the others are counted and the count written
/// with the next refusal, so that a client hammering the port cannot fill the disk.
pub const MAX_REFUSALS_PER_SECOND: u32 = 20;

/// The refusals of the current one-second window.
#[derive(Debug)]
struct RefusalWindow {
    start: std::time::Instant,
    written: u32,
    suppressed: u64,
}

/// An open audit trail: appends [`AuditRecord`]s to a file.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<Trail>,
    /// The identity whose jog was last audited, by robot.
    jogs: Mutex<HashMap<String, String>>,
    refusals: Mutex<RefusalWindow>,
}

#[derive(Debug)]
struct Trail {
    file: File,
    next_seq: u64,
}

impl AuditLog {
    /// Opens `path` for appending (created, readable by its owner only, when absent); the
    /// sequence numbers continue from the last line already in it.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let err = |source| AuditError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = open_append(path).map_err(err)?;
        let next_seq = last_seq(&mut file).map_err(err)?.map_or(1, |s| s + 1);
        Ok(Self {
            path: path.to_owned(),
            file: Mutex::new(Trail { file, next_seq }),
            jogs: Mutex::default(),
            refusals: Mutex::new(RefusalWindow {
                start: std::time::Instant::now(),
                written: 0,
                suppressed: 0,
            }),
        })
    }

    /// The audit file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the audit file's path again and appends there from now on: after a log rotator
    /// moved the file away (`cella serve` does this on `SIGHUP`). The sequence numbers go on
    /// from the last one written, so the rotated files read as one trail. When the path cannot
    /// be opened the trail stays on the file it had, and the error is returned.
    pub fn reopen(&self) -> Result<(), AuditError> {
        let file = open_append(&self.path).map_err(|source| AuditError::Io {
            path: self.path.clone(),
            source,
        })?;
        let mut trail = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // what was written to the old file reaches its disk before it is let go
        let _ = trail.file.sync_data();
        trail.file = file;
        Ok(())
    }

    /// Writes `record` as an intent line (its `seq`, `phase` and time set here) and syncs it
    /// to disk; returns it as written.
    pub fn write_intent(&self, mut record: AuditRecord) -> Result<AuditRecord, AuditError> {
        let mut trail = self.file.lock().unwrap_or_else(|p| p.into_inner());
        record.seq = trail.next_seq;
        record.phase = Phase::Intent;
        stamp(&mut record);
        self.write(&mut trail.file, &record, true)?;
        trail.next_seq += 1;
        Ok(record)
    }

    /// Writes `record` as an outcome line (its time set here), without waiting for the disk.
    pub fn write_outcome(&self, mut record: AuditRecord) -> Result<(), AuditError> {
        let mut trail = self.file.lock().unwrap_or_else(|p| p.into_inner());
        record.phase = Phase::Outcome;
        stamp(&mut record);
        self.write(&mut trail.file, &record, false)
    }

    /// Writes `record` as a refused line (its `seq`, `phase` and time set here), without
    /// waiting for the disk; beyond [`MAX_REFUSALS_PER_SECOND`] the line is not written, only
    /// counted (in the next written line's `suppressed`). Returns whether it was written.
    pub fn write_refusal(&self, mut record: AuditRecord) -> Result<bool, AuditError> {
        {
            let mut window = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
            if window.start.elapsed() >= std::time::Duration::from_secs(1) {
                window.start = std::time::Instant::now();
                window.written = 0;
            }
            if window.written >= MAX_REFUSALS_PER_SECOND {
                window.suppressed += 1;
                return Ok(false);
            }
            window.written += 1;
            if window.suppressed > 0 {
                record.suppressed = Some(std::mem::take(&mut window.suppressed));
            }
        }
        let mut trail = self.file.lock().unwrap_or_else(|p| p.into_inner());
        record.seq = trail.next_seq;
        record.phase = Phase::Refused;
        record.outcome = "error".into();
        stamp(&mut record);
        self.write(&mut trail.file, &record, false)?;
        trail.next_seq += 1;
        Ok(true)
    }

    fn write(&self, file: &mut File, record: &AuditRecord, sync: bool) -> Result<(), AuditError> {
        let mut line = serde_json::to_string(record).unwrap_or_default();
        line.push('\n');
        file.write_all(line.as_bytes())
            .and_then(|()| if sync { file.sync_data() } else { Ok(()) })
            .map_err(|source| AuditError::Io {
                path: self.path.clone(),
                source,
            })
    }
}

/// `path` opened for appending (and reading its tail), created readable by its owner only.
fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true).read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The `seq` of the last readable line of `file`; a last line cut short by a crash is ended
/// with a newline so the next record starts on a line of its own.
fn last_seq(file: &mut File) -> std::io::Result<Option<u64>> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok(None);
    }
    let start = len.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    if tail.last() != Some(&b'\n') {
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    let seq_of = |line: &[u8]| {
        serde_json::from_slice::<AuditRecord>(line)
            .ok()
            .map(|r| r.seq)
    };
    if let Some(seq) = tail.split(|&b| b == b'\n').rev().find_map(seq_of) {
        return Ok(Some(seq));
    }
    if start == 0 {
        return Ok(None);
    }
    // nothing readable in the tail: the whole file
    file.seek(SeekFrom::Start(0))?;
    let mut max = None;
    for line in std::io::BufReader::new(&mut *file).split(b'\n') {
        max = max.max(seq_of(&line?));
    }
    Ok(max)
}

fn stamp(record: &mut AuditRecord) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ms = i64::try_from(now.as_millis()).unwrap_or(i64::MAX);
    record.time = rfc3339(ms);
    record.unix = ms as f64 / 1000.0;
}

pub(crate) fn clip(s: &str) -> String {
    s.chars().take(MAX_FIELD).collect()
}

/// The key fields of a command's request, for its audit lines.
pub(crate) trait AuditFields {
    /// Fills `record` with them.
    fn fields(&self, record: &mut AuditRecord);
}

impl AuditFields for pb::ExecuteRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.robot = clip(&self.robot_id);
        r.request_id = clip(&self.request_id);
        r.planned_version = (self.world_version != 0).then_some(self.world_version);
        r.lease = (self.lease != 0.0).then_some(self.lease);
    }
}

impl AuditFields for pb::RobotRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.robot = clip(&self.robot_id);
    }
}

impl AuditFields for pb::StopRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.robot = if self.robot_id.is_empty() {
            "*".into()
        } else {
            clip(&self.robot_id)
        };
        r.immediate = self.immediate;
        r.reason = clip(&self.reason);
    }
}

impl AuditFields for pb::SpeedOverrideRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.robot = clip(&self.robot_id);
        r.speed_override = Some(self.speed_override);
    }
}

impl AuditFields for pb::JogRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.robot = clip(&self.robot_id);
        r.jog = if self.twist.is_empty() {
            "joints"
        } else {
            "twist"
        }
        .into();
    }
}

impl AuditFields for pb::AddObjectRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.object = self
            .object
            .as_ref()
            .map_or_else(String::new, |o| clip(&o.name));
    }
}

impl AuditFields for pb::MoveObjectRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.object = clip(&self.name);
    }
}

impl AuditFields for pb::RemoveObjectRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.object = clip(&self.name);
    }
}

impl AuditFields for pb::AttachObjectRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.object = clip(&self.name);
        r.robot = clip(&self.robot_id);
        r.link = clip(&self.link);
    }
}

impl AuditFields for pb::DetachObjectRequest {
    fn fields(&self, r: &mut AuditRecord) {
        r.object = clip(&self.name);
    }
}

/// What an answer adds to its outcome line.
pub(crate) trait AuditOutcome {
    /// Fills `record` with it.
    fn outcome(&self, _record: &mut AuditRecord) {}
}

impl AuditOutcome for pb::ExecuteResponse {
    fn outcome(&self, r: &mut AuditRecord) {
        r.execution_id = Some(self.execution_id);
    }
}

impl AuditOutcome for pb::WorldEditResponse {
    fn outcome(&self, r: &mut AuditRecord) {
        r.world_version = Some(self.world_version);
        r.stopped = self.stopped.iter().map(|e| clip(&e.robot_id)).collect();
    }
}

impl AuditOutcome for pb::CommandResponse {}

/// A command whose intent is written: [`AuditTicket::end`] writes its outcome. Empty (writes
/// nothing) without an audit trail, or for a command not audited.
#[derive(Debug, Default)]
pub(crate) struct AuditTicket {
    pending: Option<(Arc<AuditLog>, Arc<CellControl>, AuditRecord)>,
}

impl AuditTicket {
    /// Writes the outcome line of `result` and passes it on.
    pub(crate) fn end<X: AuditOutcome>(
        self,
        result: Result<Response<X>, Status>,
    ) -> Result<Response<X>, Status> {
        if let Some((log, control, mut record)) = self.pending {
            record.world_version = Some(control.snapshot().version);
            match &result {
                Ok(answer) => {
                    record.outcome = "ok".into();
                    answer.get_ref().outcome(&mut record);
                }
                Err(s) => {
                    record.outcome = "error".into();
                    record.code = code_name(s.code()).into();
                    record.message = s.message().chars().take(4 * MAX_FIELD).collect();
                }
            }
            if let Err(e) = log.write_outcome(record) {
                tracing::error!(error = %e, "audit trail: the outcome line was not written");
            }
        }
        result
    }
}

/// The name of a gRPC code as the gRPC specification spells it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

impl CellServer {
    /// This service, writing an audit trail of its state-changing commands to `log`.
    pub fn with_audit(mut self, log: AuditLog) -> Self {
        self.audit = Some(Arc::new(log));
        self
    }

    /// Its audit trail, if it has one ([`AuditLog::reopen`] after a rotation).
    pub fn audit_log(&self) -> Option<Arc<AuditLog>> {
        self.audit.clone()
    }

    /// Writes the intent line of command `rpc` (who sent `request`, its key fields) and syncs
    /// it to disk, before the command takes effect; the ticket writes its outcome. Refuses the
    /// command (`UNAVAILABLE`) when the line cannot be written.
    pub(crate) async fn audit<T: AuditFields>(
        &self,
        request: &Request<T>,
        rpc: &'static str,
    ) -> Result<AuditTicket, Status> {
        let Some(log) = self.audit.clone() else {
            return Ok(AuditTicket::default());
        };
        let who = identity_of(request);
        let mut record = AuditRecord {
            who: clip(&who.name),
            role: who.role.name().into(),
            peer: request
                .remote_addr()
                .map(|a| a.to_string())
                .unwrap_or_default(),
            rpc: rpc.into(),
            ..AuditRecord::default()
        };
        request.get_ref().fields(&mut record);
        let writer = log.clone();
        let written = tokio::task::spawn_blocking(move || writer.write_intent(record))
            .await
            .map_err(|e| Status::internal(format!("worker failed: {e}")))?;
        match written {
            Ok(record) => Ok(AuditTicket {
                pending: Some((log, self.control.clone(), record)),
            }),
            Err(e) => {
                tracing::error!(error = %e, rpc, "audit trail: the intent line was not written");
                Err(Status::unavailable(format!(
                    "{rpc} refused, not executed: the audit trail cannot be written ({e})"
                )))
            }
        }
    }

    /// [`CellServer::audit`] for a Jog, the first of a jog sequence only: a jog is audited
    /// when its robot is not jogging, or when another identity jogged it last. The commands
    /// that keep a jog going (tens a second, each renewing the deadman) are not: they would
    /// fill the trail and wait for the disk on every command.
    pub(crate) async fn audit_jog(
        &self,
        request: &Request<pb::JogRequest>,
    ) -> Result<AuditTicket, Status> {
        let Some(log) = &self.audit else {
            return Ok(AuditTicket::default());
        };
        let robot = &request.get_ref().robot_id;
        let who = identity_of(request).name;
        // an unknown robot's jog (refused) is audited, and not remembered
        let first = match self.control.executor(robot) {
            Err(_) => true,
            Ok(e) => {
                let jogging = e.state().status == cella_control::Status::Jogging;
                let mut last = log.jogs.lock().unwrap_or_else(|p| p.into_inner());
                let first = !jogging || last.get(robot) != Some(&who);
                if first {
                    last.insert(robot.clone(), who);
                }
                first
            }
        };
        if first {
            self.audit(request, "Jog").await
        } else {
            Ok(AuditTicket::default())
        }
    }
}

/// A command as read back: its intent line and, unless it was in flight when the server
/// died, its outcome line; or a request refused before it reached the service (one line,
/// `phase` [`Phase::Refused`], no outcome).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditCommand {
    /// The intent line (or the refused line).
    pub intent: AuditRecord,
    /// The outcome line.
    pub outcome: Option<AuditRecord>,
}

impl AuditCommand {
    /// Whether the authentication layer refused it.
    pub fn refused(&self) -> bool {
        self.intent.phase == Phase::Refused
    }
}

/// An audit file read back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditTrail {
    /// The commands, in the order of their intents.
    pub commands: Vec<AuditCommand>,
    /// Lines that are not records (a line cut short by a crash, foreign text), and outcome
    /// lines without their intent.
    pub unreadable: usize,
}

/// Reads an audit file.
pub fn read_trail(path: &Path) -> Result<AuditTrail, AuditError> {
    read_trails(&[path])
}

/// Reads audit files as one trail, in the order given (rotated files oldest first, e.g.
/// `audit.jsonl.1 audit.jsonl`): a command whose intent went to one file and its outcome to
/// the next, as happens when the file is reopened between them, is read whole.
pub fn read_trails(paths: &[&Path]) -> Result<AuditTrail, AuditError> {
    let mut trail = AuditTrail::default();
    let mut by_seq: HashMap<u64, usize> = HashMap::new();
    for path in paths {
        read_into(path, &mut trail, &mut by_seq)?;
    }
    Ok(trail)
}

fn read_into(
    path: &Path,
    trail: &mut AuditTrail,
    by_seq: &mut HashMap<u64, usize>,
) -> Result<(), AuditError> {
    let err = |source| AuditError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(err)?;
    for line in std::io::BufReader::new(file).split(b'\n') {
        let line = line.map_err(err)?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(record) = serde_json::from_slice::<AuditRecord>(&line) else {
            trail.unreadable += 1;
            continue;
        };
        match record.phase {
            Phase::Intent => {
                by_seq.insert(record.seq, trail.commands.len());
                trail.commands.push(AuditCommand {
                    intent: record,
                    outcome: None,
                });
            }
            Phase::Refused => trail.commands.push(AuditCommand {
                intent: record,
                outcome: None,
            }),
            Phase::Outcome => match by_seq.get(&record.seq) {
                Some(&i) => trail.commands[i].outcome = Some(record),
                None => trail.unreadable += 1,
            },
        }
    }
    Ok(())
}

/// Which commands to show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Commands of this robot (a Stop of every robot included).
    pub robot: Option<String>,
    /// Commands of this identity.
    pub who: Option<String>,
    /// Commands of this RPC (case-insensitive).
    pub rpc: Option<String>,
    /// Commands sent at or after this time, seconds since the Unix epoch.
    pub since: Option<f64>,
}

impl AuditFilter {
    /// Whether `command` passes the filter (decided on its intent line).
    pub fn matches(&self, command: &AuditCommand) -> bool {
        let r = &command.intent;
        self.robot
            .as_ref()
            .is_none_or(|robot| &r.robot == robot || r.robot == "*")
            && self.who.as_ref().is_none_or(|who| &r.who == who)
            && self
                .rpc
                .as_ref()
                .is_none_or(|rpc| r.rpc.eq_ignore_ascii_case(rpc))
            && self.since.is_none_or(|t| r.unix >= t)
    }
}

/// `unix_ms` (milliseconds since the Unix epoch) as UTC RFC 3339 with milliseconds.
pub fn rfc3339(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// A time as `--since` takes it, in seconds since the Unix epoch: RFC 3339
/// (`2025-01-31T08:00:00Z`, `2025-01-31T09:00:00+01:00`, fractions allowed), a date
/// (`2025-01-31`, midnight UTC), seconds since the epoch (`1738310400`), or a time ago
/// (`90s`, `15m`, `8h`, `2d`) counted back from `now`.
pub fn parse_time(text: &str, now: f64) -> Option<f64> {
    let t = text.trim();
    if let Ok(v) = t.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    if let Some(unit) = t.chars().last().filter(|c| "smhd".contains(*c)) {
        let scale = match unit {
            's' => 1.0,
            'm' => 60.0,
            'h' => 3600.0,
            _ => 86_400.0,
        };
        if let Ok(n) = t[..t.len() - 1].parse::<f64>() {
            return (n.is_finite() && n >= 0.0).then_some(now - n * scale);
        }
    }
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let date = t.get(..10)?;
    let (y, m, d) = (
        num(date.get(..4)?)?,
        num(date.get(5..7)?)?,
        num(date.get(8..10)?)?,
    );
    if date.as_bytes()[4] != b'-' || date.as_bytes()[7] != b'-' || !(1..=12).contains(&m) {
        return None;
    }
    if !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d) as f64 * 86_400.0;
    let rest = &t[10..];
    if rest.is_empty() {
        return Some(days);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (h, mi, s) = (
        num(rest.get(..2)?)?,
        num(rest.get(3..5)?)?,
        num(rest.get(6..8)?)?,
    );
    if rest.as_bytes()[2] != b':' || rest.as_bytes()[5] != b':' || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &rest[8..];
    let mut frac = 0.0;
    if let Some(f) = rest.strip_prefix('.') {
        let digits = f.bytes().take_while(u8::is_ascii_digit).count();
        frac = format!("0.{}", f.get(..digits)?).parse().ok()?;
        rest = &f[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (num(rest.get(1..3)?)? * 3600 + num(rest.get(4..6)?)? * 60)
        }
    };
    Some(days + (h * 3600 + mi * 60 + s - offset) as f64 + frac)
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian; H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a (year, month, day).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_are_written_and_read_as_rfc_3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_735_732_800_000), "2025-01-01T12:00:00.000Z");
        for ms in [0, 951_782_400_123, 1_735_732_800_000, 4_102_444_799_999] {
            let text = rfc3339(ms);
            let back = parse_time(&text, 0.0).unwrap();
            assert!((back * 1000.0 - ms as f64).abs() < 0.5, "{text}: {back}");
        }
        assert_eq!(parse_time("2025-01-01", 0.0), Some(1_735_689_600.0));
        assert_eq!(
            parse_time("2025-01-01T13:00:00+01:00", 0.0),
            Some(1_735_732_800.0)
        );
        assert_eq!(parse_time("1735732800", 0.0), Some(1_735_732_800.0));
        assert_eq!(parse_time("15m", 1000.0), Some(100.0));
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-01-01T25:00:00Z",
            "2025-01-01T12:00",
            "-1h",
        ] {
            assert_eq!(parse_time(bad, 0.0), None, "{bad}");
        }
    }

    #[test]
    fn a_trail_continues_its_sequence_after_a_torn_line() {
        let path = std::env::temp_dir().join(format!("cella-audit-unit-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = AuditLog::open(&path).unwrap();
        let intent = log
            .write_intent(AuditRecord {
                who: "local".into(),
                rpc: "Pause".into(),
                robot: "ur5e".into(),
                ..AuditRecord::default()
            })
            .unwrap();
        assert_eq!(intent.seq, 1);
        log.write_outcome(AuditRecord {
            outcome: "ok".into(),
            ..intent.clone()
        })
        .unwrap();
        let second = log.write_intent(intent.clone()).unwrap();
        drop(log);
        // a crash in the middle of a line
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":3,\"pha").unwrap();
        drop(f);
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.write_intent(intent).unwrap().seq, second.seq + 1);
        let trail = read_trail(&path).unwrap();
        assert_eq!(trail.unreadable, 1);
        assert_eq!(trail.commands.len(), 3);
        assert_eq!(trail.commands[0].outcome.as_ref().unwrap().outcome, "ok");
        assert!(trail.commands[1].outcome.is_none());
        let filter = AuditFilter {
            rpc: Some("pause".into()),
            robot: Some("ur5e".into()),
            ..AuditFilter::default()
        };
        assert!(trail.commands.iter().all(|c| filter.matches(c)));
        let other = AuditFilter {
            who: Some("someone".into()),
            ..AuditFilter::default()
        };
        assert!(!other.matches(&trail.commands[0]));
        let _ = std::fs::remove_file(&path);
    }
}
