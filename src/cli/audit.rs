//! `cella audit`: reads the audit trail `cella serve --audit FILE` writes, filters it and
//! prints one row per command (or, with `--json`, its lines as they are in the file).

use super::error::{CliError, CliResult};
use super::output::line;
use cella_server::audit::{AuditCommand, AuditFilter, AuditRecord, parse_time, read_trails};
use std::path::PathBuf;

/// Arguments of `cella audit`.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// The audit file (`cella serve --audit FILE`); after rotations, the rotated files oldest
    /// first and the current one last, read as one trail.
    #[arg(required = true, num_args = 1.., value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only the commands of this robot (a Stop of every robot included).
    #[arg(long)]
    pub robot: Option<String>,
    /// Only the commands of this identity (a token's name, a certificate's subject, "local").
    #[arg(long)]
    pub who: Option<String>,
    /// Only commands sent at or after this time: RFC 3339 (2025-01-31T08:00:00Z), a date
    /// (2025-01-31, UTC), Unix seconds, or a time ago (90s, 15m, 8h, 2d).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only the commands of this RPC (Execute, Stop, AddObject, ...; any case).
    #[arg(long)]
    pub rpc: Option<String>,
    /// Print the matching lines of the file (intent, then outcome) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cella audit`.
pub fn run(a: &AuditArgs) -> CliResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let since = match &a.since {
        Some(text) => Some(parse_time(text, now).ok_or_else(|| {
            CliError::Input(format!(
                "--since '{text}': not a time (RFC 3339, a date, Unix seconds, or 90s/15m/8h/2d)"
            ))
        })?),
        None => None,
    };
    let filter = AuditFilter {
        robot: a.robot.clone(),
        who: a.who.clone(),
        rpc: a.rpc.clone(),
        since,
    };
    let paths: Vec<&std::path::Path> = a.files.iter().map(PathBuf::as_path).collect();
    let trail = read_trails(&paths).map_err(|e| CliError::Input(e.to_string()))?;
    if trail.unreadable > 0 {
        eprintln!(
            "warning: {} line(s) of {} are not audit records (skipped: a line cut short by a \
             crash?)",
            trail.unreadable,
            a.files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let shown = trail.commands.iter().filter(|c| filter.matches(c));
    if a.json {
        for c in shown {
            for r in std::iter::once(&c.intent).chain(&c.outcome) {
                line(serde_json::to_string(r).unwrap_or_default());
            }
        }
        return Ok(());
    }
    let rows: Vec<[String; 7]> = shown.map(row).collect();
    let header = ["SEQ", "TIME", "WHO", "RPC", "TARGET", "VERSION", "OUTCOME"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let mut text = String::new();
        for (i, (cell, w)) in r.iter().zip(widths).enumerate() {
            if i + 1 == r.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$}  "));
            }
        }
        line(text.trim_end());
    }
    Ok(())
}

/// A table row: seq, time, who (role), RPC, target, world version after, outcome.
fn row(c: &AuditCommand) -> [String; 7] {
    let i = &c.intent;
    [
        i.seq.to_string(),
        i.time.clone(),
        if i.who.is_empty() {
            "(unidentified)".into()
        } else {
            format!("{} ({})", i.who, i.role)
        },
        i.rpc.clone(),
        target(i),
        c.outcome
            .as_ref()
            .and_then(|o| o.world_version)
            .map_or_else(|| "-".into(), |v| v.to_string()),
        match &c.outcome {
            None if c.refused() => {
                let suppressed = i
                    .suppressed
                    .map(|n| format!(" ({n} earlier refusals not written)"))
                    .unwrap_or_default();
                format!("refused, {}: {}{suppressed}", i.code, i.message)
            }
            None => "(no outcome: in flight when the server stopped)".into(),
            Some(o) if o.outcome == "ok" => match o.execution_id {
                Some(id) => format!("ok (execution {id})"),
                None if !o.stopped.is_empty() => format!("ok (stopped {})", o.stopped.join(", ")),
                None => "ok".into(),
            },
            Some(o) => format!("{}: {}", o.code, o.message),
        },
    ]
}

/// What a command was about: its robot, object and key values.
fn target(r: &AuditRecord) -> String {
    let mut parts = Vec::new();
    if !r.object.is_empty() {
        parts.push(format!("object {}", r.object));
    }
    if !r.robot.is_empty() {
        let robot = if r.robot == "*" {
            "every robot"
        } else {
            &r.robot
        };
        if r.link.is_empty() {
            parts.push(robot.to_owned());
        } else {
            parts.push(format!("{robot}/{}", r.link));
        }
    }
    if !r.request_id.is_empty() {
        parts.push(format!("request {}", r.request_id));
    }
    if let Some(v) = r.speed_override {
        parts.push(format!("override {v}"));
    }
    if r.immediate {
        parts.push("immediate".into());
    }
    if !r.jog.is_empty() {
        parts.push(format!("jog {}", r.jog));
    }
    if !r.reason.is_empty() {
        parts.push(format!("\"{}\"", r.reason));
    }
    parts.join(" ")
}
