//! A durable cell: world edits journaled in a directory and replayed on the next start, so the
//! world and its version survive a restart (and a `kill -9`, and a power cut once the journal
//! is on a disk that honours `fsync`).
//!
//! # Files
//!
//! `DIR/journal` holds one record per line, each `LEN CRC JSON\n`: `LEN` is the byte length
//! of `JSON` in decimal, `CRC` its CRC-32 (IEEE) in 8 hex digits. The first record is a
//! header (`{"format":"cella-journal/1","cell":FINGERPRINT,"version":V}`: the cell file's
//! fingerprint and first version); each next one is either an edit (`{"record":"edit",
//! "v":VERSION_AFTER,"edit":{"op":"add_object",...}}`, a [`WorldEdit`]) or a whole world
//! (`{"record":"state","v":VERSION,"world":{...}}`) that replaces everything before it.
//! `DIR/lock` is held locked by the process using the directory.
//!
//! # Invariant
//!
//! **The journal on disk is always a complete header followed by complete records, then at
//! most one incomplete record at its end.** Records are only appended, one `write` then
//! `fdatasync` per edit, before the edit takes effect; a record is complete once its line ends
//! and its length and checksum match. So a crash at any moment leaves every acknowledged edit
//! in the journal, and at most the edit in flight torn at its end: [`Journal::open`] ignores
//! (and truncates) such a tail. A failed append is truncated away before the next; if that
//! fails too, the journal refuses every later append rather than write after a torn record.
//! Compaction (every [`COMPACT_AFTER`] edits, and on open when due) writes a new journal (the
//! header and the current world) to `DIR/journal.tmp`, syncs it, renames it over
//! `DIR/journal` and syncs the directory: a crash leaves the old journal or the new one.
//!
//! A checksummed record that does not parse or replay, or a bad record followed by good ones,
//! is not a torn tail: opening fails ([`JournalError::Corrupt`], [`JournalError::Replay`])
//! and nothing is thrown away. A journal written over another cell file (other robots, bases
//! or world) fails to open too ([`JournalError::CellChanged`]): its edits would mean something
//! else there.
//!
//! Replay is exact: floats are written in their shortest round-trip form and read back to the
//! same bits, and attachments carry the link pose they were made at ([`WorldEdit`]), so a
//! restart serves the same world at the same version.

use crate::{CellError, CellSnapshot, WorldEdit};
use cella_collision::{AttachedObject, Shape, World, WorldObject};
use nalgebra::{Isometry3, Quaternion, Translation3, UnitQuaternion};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The journal file in a state directory.
pub const JOURNAL_FILE: &str = "journal";
/// The lock file in a state directory.
pub const LOCK_FILE: &str = "lock";
/// The header's format name.
pub const FORMAT: &str = "cella-journal/1";
/// Edit records after which the journal is compacted into one world record.
pub const COMPACT_AFTER: usize = 4096;

/// Errors opening or appending to a journal. None of them is a torn last record: that one is
/// dropped (see the module documentation).
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file of the state directory could not be read, written or synced.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the state directory.
    #[error("{}: in use by another process (one server per state directory)", .path.display())]
    InUse {
        /// The lock file.
        path: PathBuf,
    },
    /// The journal was written over another cell (robots, bases, world or first version).
    #[error(
        "{}: recorded over another cell (fingerprint {recorded}, this cell {current}): \
         move it away to start from the cell file",
        .path.display()
    )]
    CellChanged {
        /// The journal.
        path: PathBuf,
        /// The fingerprint in its header.
        recorded: String,
        /// This cell's fingerprint.
        current: String,
    },
    /// A complete record that cannot be read, or a bad record with good ones after it: not a
    /// torn tail. Nothing was changed on disk.
    #[error("{}: record {record} (byte {offset}): {reason}", .path.display())]
    Corrupt {
        /// The journal.
        path: PathBuf,
        /// The record's index (0: the header).
        record: usize,
        /// Its byte offset.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A record that does not apply to the cell it was recorded over.
    #[error("{}: record {record}: does not replay: {source}", .path.display())]
    Replay {
        /// The journal.
        path: PathBuf,
        /// The record's index.
        record: usize,
        /// Why the edit fails (boxed: it is large).
        #[source]
        source: Box<CellError>,
    },
    /// An earlier append failed and could not be undone: the journal takes no more records.
    #[error("{}: an earlier write failed and could not be undone; restart to recover", .path.display())]
    Broken {
        /// The journal.
        path: PathBuf,
    },
}

/// What [`Journal::open`] restored.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The cell with every journaled edit applied (the cell given when the journal is new).
    pub cell: Arc<CellSnapshot>,
    /// Records replayed after the header (edits and world records).
    pub records: usize,
    /// Bytes of a torn last record dropped (0 when the journal ended cleanly).
    pub torn_bytes: u64,
}

/// An open journal: appends world edits to `DIR/journal` (see the module documentation).
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    path: PathBuf,
    file: File,
    /// The directory's lock, held while the journal is open.
    _lock: File,
    header: String,
    /// Bytes of complete records in the file.
    len: u64,
    /// Edit records since the last world record (or the header).
    since_state: usize,
    compact_after: usize,
    broken: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Journal {
    /// Opens (creating when needed) the journal of directory `dir` for the cell `base` as its
    /// cell file builds it, and replays it: the cell it restores has the world and version
    /// of the last journaled edit. A torn last record is dropped and truncated away.
    pub fn open(dir: &Path, base: &CellSnapshot) -> Result<(Self, Restored), JournalError> {
        Self::open_compacting(dir, base, COMPACT_AFTER)
    }

    /// [`Journal::open`], compacting after `compact_after` edits (at least 1) instead of
    /// [`COMPACT_AFTER`].
    pub fn open_compacting(
        dir: &Path,
        base: &CellSnapshot,
        compact_after: usize,
    ) -> Result<(Self, Restored), JournalError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(JournalError::InUse { path: lock_path });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        let path = dir.join(JOURNAL_FILE);
        let header = encode(&Header {
            format: FORMAT.to_owned(),
            cell: fingerprint(base),
            version: base.version,
        });
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut journal = Journal {
            dir: dir.to_owned(),
            file,
            path,
            _lock: lock,
            header,
            len: 0,
            since_state: 0,
            compact_after: compact_after.max(1),
            broken: false,
        };
        let base = Arc::new(base.clone());
        if bytes.is_empty() {
            journal.rewrite(&[])?;
            let restored = Restored {
                cell: base,
                records: 0,
                torn_bytes: 0,
            };
            return Ok((journal, restored));
        }
        let (cell, scan) = journal.replay(&bytes, base)?;
        let torn_bytes = bytes.len() as u64 - scan.good_len;
        journal.since_state = scan.since_state;
        if torn_bytes > 0 {
            // the torn tail goes before anything is appended after it
            let f = OpenOptions::new()
                .write(true)
                .open(&journal.path)
                .map_err(io(&journal.path))?;
            f.set_len(scan.good_len).map_err(io(&journal.path))?;
            f.sync_all().map_err(io(&journal.path))?;
        }
        journal.len = scan.good_len;
        journal.file = journal.append_handle()?;
        if journal.since_state >= journal.compact_after {
            journal.compact(&cell)?;
        }
        let restored = Restored {
            cell,
            records: scan.records,
            torn_bytes,
        };
        Ok((journal, restored))
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Journals `edit`, whose result is `after` (its version is the record's), and syncs it
    /// to disk: once this returns `Ok`, a restart restores `after`. When the journal is due
    /// for compaction, `after`'s whole world is written instead (in a new file, see the
    /// module documentation).
    pub fn append(&mut self, edit: &WorldEdit, after: &CellSnapshot) -> Result<(), JournalError> {
        if self.broken {
            return Err(JournalError::Broken {
                path: self.path.clone(),
            });
        }
        if self.since_state + 1 >= self.compact_after {
            return self.compact(after);
        }
        let line = frame(&encode(&Record::Edit {
            v: after.version,
            edit: EditRec::of(edit),
        }));
        let written = self
            .file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // undo a partial record, or take no more
            if self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.sync_data())
                .is_err()
            {
                self.broken = true;
            }
            return Err(io(&self.path)(e));
        }
        self.len += line.len() as u64;
        self.since_state += 1;
        Ok(())
    }

    /// Replaces the journal by its header and `cell`'s world (see the module documentation).
    pub fn compact(&mut self, cell: &CellSnapshot) -> Result<(), JournalError> {
        let state = encode(&Record::State {
            v: cell.version,
            world: WorldRec::of(&cell.world),
        });
        self.rewrite(&[state])
    }

    /// Writes a new journal of the header and `records` beside the old one, syncs it, and
    /// renames it over the old one.
    fn rewrite(&mut self, records: &[String]) -> Result<(), JournalError> {
        let tmp = self.dir.join(format!("{JOURNAL_FILE}.tmp"));
        let mut text = frame(&self.header);
        for r in records {
            text.push_str(&frame(r));
        }
        let written = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })();
        written.map_err(io(&tmp))?;
        std::fs::rename(&tmp, &self.path).map_err(io(&self.path))?;
        #[cfg(unix)]
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        self.file = self.append_handle()?;
        self.len = text.len() as u64;
        self.since_state = 0;
        self.broken = false;
        Ok(())
    }

    fn append_handle(&self) -> Result<File, JournalError> {
        OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io(&self.path))
    }

    /// Replays the records of `bytes` over `base`.
    fn replay(
        &self,
        bytes: &[u8],
        base: Arc<CellSnapshot>,
    ) -> Result<(Arc<CellSnapshot>, Scan), JournalError> {
        let corrupt = |record: usize, offset: usize, reason: String| JournalError::Corrupt {
            path: self.path.clone(),
            record,
            offset: offset as u64,
            reason,
        };
        let mut cell = base;
        let mut scan = Scan {
            good_len: 0,
            records: 0,
            since_state: 0,
        };
        let mut pos = 0;
        let mut index = 0;
        while pos < bytes.len() {
            let (json, end) = match next_record(bytes, pos) {
                Ok(r) => r,
                Err(reason) => {
                    // torn when nothing good follows it; the header is never torn (written
                    // whole and renamed into place)
                    if index == 0 || has_record_after(bytes, pos) {
                        return Err(corrupt(index, pos, reason));
                    }
                    break;
                }
            };
            if index == 0 {
                let header: Header =
                    serde_json::from_str(json).map_err(|e| corrupt(0, pos, e.to_string()))?;
                let mine: Header = serde_json::from_str(&self.header)
                    .map_err(|e| corrupt(0, pos, e.to_string()))?;
                if header.format != FORMAT {
                    return Err(corrupt(0, pos, format!("format '{}'", header.format)));
                }
                if header.cell != mine.cell || header.version != mine.version {
                    return Err(JournalError::CellChanged {
                        path: self.path.clone(),
                        recorded: format!("{}@{}", header.cell, header.version),
                        current: format!("{}@{}", mine.cell, mine.version),
                    });
                }
            } else {
                let record: Record =
                    serde_json::from_str(json).map_err(|e| corrupt(index, pos, e.to_string()))?;
                let replay = |source| JournalError::Replay {
                    path: self.path.clone(),
                    record: index,
                    source: Box::new(source),
                };
                let v = match record {
                    Record::Edit { v, edit } => {
                        let edit = edit.into_edit().map_err(replay)?;
                        cell = cell.apply(&edit).map_err(replay)?;
                        scan.since_state += 1;
                        v
                    }
                    Record::State { v, world } => {
                        cell = Arc::new(CellSnapshot {
                            version: v,
                            robots: cell.robots.clone(),
                            world: world.into_world().map_err(replay)?,
                        });
                        scan.since_state = 0;
                        v
                    }
                };
                if v != cell.version {
                    return Err(corrupt(
                        index,
                        pos,
                        format!("version {v} where the replay is at {}", cell.version),
                    ));
                }
                scan.records += 1;
            }
            pos = end;
            scan.good_len = end as u64;
            index += 1;
        }
        Ok((cell, scan))
    }
}

struct Scan {
    good_len: u64,
    records: usize,
    since_state: usize,
}

/// `LEN CRC JSON\n` for `json`.
fn frame(json: &str) -> String {
    format!("{} {:08x} {json}\n", json.len(), crc32(json.as_bytes()))
}

/// The record starting at `pos`: its JSON and the offset after it, or why it is not one.
fn next_record(bytes: &[u8], pos: usize) -> Result<(&str, usize), String> {
    let rest = &bytes[pos..];
    let nl = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no end of line")?;
    let line = std::str::from_utf8(&rest[..nl]).map_err(|_| "not UTF-8".to_owned())?;
    let mut parts = line.splitn(3, ' ');
    let (Some(len), Some(crc), Some(json)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("not LEN CRC JSON".into());
    };
    let len: usize = len.parse().map_err(|_| format!("length '{len}'"))?;
    if len != json.len() {
        return Err(format!("{} bytes where {len} were written", json.len()));
    }
    let crc = u32::from_str_radix(crc, 16).map_err(|_| format!("checksum '{crc}'"))?;
    if crc != crc32(json.as_bytes()) {
        return Err("checksum mismatch".into());
    }
    Ok((json, pos + nl + 1))
}

/// Whether a good record starts at a line after `pos`.
fn has_record_after(bytes: &[u8], pos: usize) -> bool {
    let mut at = pos;
    while let Some(nl) = bytes[at..].iter().position(|&b| b == b'\n') {
        at += nl + 1;
        if at < bytes.len() && next_record(bytes, at).is_ok() {
            return true;
        }
    }
    false
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, as zlib and PNG).
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |c, &b| {
        CRC_TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// What a journal depends on in its cell: the first version, each robot's id, model, base
/// and links, and the world; FNV-1a (64 bits) of their JSON, in hex.
fn fingerprint(cell: &CellSnapshot) -> String {
    #[derive(Serialize)]
    struct RobotRec<'a> {
        id: &'a str,
        model: &'a str,
        base: PoseRec,
        links: Vec<&'a str>,
    }
    #[derive(Serialize)]
    struct CellRec<'a> {
        version: u64,
        robots: Vec<RobotRec<'a>>,
        world: WorldRec,
    }
    let rec = CellRec {
        version: cell.version,
        robots: cell
            .robots
            .iter()
            .map(|r| RobotRec {
                id: &r.id,
                model: &r.model,
                base: PoseRec::of(&r.base),
                links: r
                    .geometry
                    .robot()
                    .model()
                    .links()
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect(),
            })
            .collect(),
        world: WorldRec::of(&cell.world),
    };
    let hash = encode(&rec).bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// JSON of a record type (these cannot fail to encode: no maps with non-string keys; a
/// non-finite float, which the world refuses, would be written as `null` and refused on
/// read).
fn encode(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    cell: String,
    version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case", deny_unknown_fields)]
enum Record {
    Edit { v: u64, edit: EditRec },
    State { v: u64, world: WorldRec },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
// the variants are the RPCs' and WorldEdit's names, and their snake case is the file's `op`
#[allow(clippy::enum_variant_names)]
enum EditRec {
    AddObject {
        object: ObjectRec,
        allowed: Vec<(String, String)>,
    },
    MoveObject {
        name: String,
        pose: PoseRec,
    },
    RemoveObject {
        name: String,
    },
    AttachObject {
        name: String,
        robot: String,
        link: String,
        touch_links: Vec<String>,
        link_pose: PoseRec,
    },
    DetachObject {
        name: String,
        link_pose: PoseRec,
    },
}

impl EditRec {
    fn of(e: &WorldEdit) -> Self {
        match e {
            WorldEdit::AddObject { object, allowed } => EditRec::AddObject {
                object: ObjectRec::of(object),
                allowed: allowed.clone(),
            },
            WorldEdit::MoveObject { name, pose } => EditRec::MoveObject {
                name: name.clone(),
                pose: PoseRec::of(pose),
            },
            WorldEdit::RemoveObject { name } => EditRec::RemoveObject { name: name.clone() },
            WorldEdit::AttachObject {
                name,
                robot,
                link,
                touch_links,
                link_pose,
            } => EditRec::AttachObject {
                name: name.clone(),
                robot: robot.clone(),
                link: link.clone(),
                touch_links: touch_links.clone(),
                link_pose: PoseRec::of(link_pose),
            },
            WorldEdit::DetachObject { name, link_pose } => EditRec::DetachObject {
                name: name.clone(),
                link_pose: PoseRec::of(link_pose),
            },
        }
    }

    fn into_edit(self) -> Result<WorldEdit, CellError> {
        Ok(match self {
            EditRec::AddObject { object, allowed } => WorldEdit::AddObject {
                object: object.into_object()?,
                allowed,
            },
            EditRec::MoveObject { name, pose } => WorldEdit::MoveObject {
                name,
                pose: pose.into_pose(),
            },
            EditRec::RemoveObject { name } => WorldEdit::RemoveObject { name },
            EditRec::AttachObject {
                name,
                robot,
                link,
                touch_links,
                link_pose,
            } => WorldEdit::AttachObject {
                name,
                robot,
                link,
                touch_links,
                link_pose: link_pose.into_pose(),
            },
            EditRec::DetachObject { name, link_pose } => WorldEdit::DetachObject {
                name,
                link_pose: link_pose.into_pose(),
            },
        })
    }
}

/// A pose as stored: translation and the quaternion's raw components (no sign change).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoseRec {
    xyz: [f64; 3],
    xyzw: [f64; 4],
}

impl PoseRec {
    fn of(p: &Isometry3<f64>) -> Self {
        let q = p.rotation.quaternion();
        let t = &p.translation.vector;
        Self {
            xyz: [t.x, t.y, t.z],
            xyzw: [q.i, q.j, q.k, q.w],
        }
    }

    fn into_pose(self) -> Isometry3<f64> {
        let [x, y, z, w] = self.xyzw;
        Isometry3::from_parts(
            Translation3::new(self.xyz[0], self.xyz[1], self.xyz[2]),
            UnitQuaternion::new_unchecked(Quaternion::new(w, x, y, z)),
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ShapeRec {
    Sphere { radius: f64 },
    Box { half_extents: [f64; 3] },
    Cylinder { radius: f64, half_length: f64 },
    Capsule { radius: f64, half_length: f64 },
}

impl ShapeRec {
    fn of(s: &Shape) -> Self {
        match *s {
            Shape::Sphere { radius } => ShapeRec::Sphere { radius },
            Shape::Box { half_extents } => ShapeRec::Box { half_extents },
            Shape::Cylinder {
                radius,
                half_length,
            } => ShapeRec::Cylinder {
                radius,
                half_length,
            },
            Shape::Capsule {
                radius,
                half_length,
            } => ShapeRec::Capsule {
                radius,
                half_length,
            },
        }
    }

    fn into_shape(self, field: &str) -> Result<Shape, CellError> {
        let shape = match self {
            ShapeRec::Sphere { radius } => Shape::Sphere { radius },
            ShapeRec::Box { half_extents } => Shape::Box { half_extents },
            ShapeRec::Cylinder {
                radius,
                half_length,
            } => Shape::Cylinder {
                radius,
                half_length,
            },
            ShapeRec::Capsule {
                radius,
                half_length,
            } => Shape::Capsule {
                radius,
                half_length,
            },
        };
        crate::check_shape(field, &shape)?;
        Ok(shape)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectRec {
    name: String,
    shape: ShapeRec,
    pose: PoseRec,
    /// Written only when set, so that journals of objects without one read as before.
    #[serde(default, skip_serializing_if = "is_zero")]
    padding: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl ObjectRec {
    fn of(o: &WorldObject) -> Self {
        Self {
            name: o.name.clone(),
            shape: ShapeRec::of(&o.shape),
            pose: PoseRec::of(&o.pose),
            padding: o.padding,
        }
    }

    fn into_object(self) -> Result<WorldObject, CellError> {
        Ok(WorldObject {
            shape: self.shape.into_shape(&format!("object '{}'", self.name))?,
            name: self.name,
            pose: self.pose.into_pose(),
            padding: self.padding,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachedRec {
    name: String,
    shape: ShapeRec,
    robot: String,
    link: String,
    pose_in_link: PoseRec,
    touch_links: Vec<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactRec {
    object: String,
    robot: String,
    link: String,
}

/// A whole world: objects, attachments and allowed contacts in their order, and padding.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldRec {
    objects: Vec<ObjectRec>,
    attached: Vec<AttachedRec>,
    allowed: Vec<ContactRec>,
    padding: f64,
}

impl WorldRec {
    fn of(w: &World) -> Self {
        Self {
            objects: w.objects().iter().map(ObjectRec::of).collect(),
            attached: w
                .attached()
                .iter()
                .map(|a: &AttachedObject| AttachedRec {
                    name: a.name.clone(),
                    shape: ShapeRec::of(&a.shape),
                    robot: a.robot.clone(),
                    link: a.link.clone(),
                    pose_in_link: PoseRec::of(&a.pose_in_link),
                    touch_links: a.touch_links.clone(),
                })
                .collect(),
            allowed: w
                .allowed_contacts()
                .iter()
                .map(|c| ContactRec {
                    object: c.object.clone(),
                    robot: c.robot.clone(),
                    link: c.link.clone(),
                })
                .collect(),
            padding: w.padding(),
        }
    }

    /// The world, built through its validating API: objects, then each attachment as an
    /// object at its pose in the link attached at the identity (which keeps that pose
    /// exactly), then the allowed contacts.
    fn into_world(self) -> Result<World, CellError> {
        let mut world = World::new();
        world.set_padding(self.padding)?;
        for o in self.objects {
            world.add(o.into_object()?)?;
        }
        for a in self.attached {
            world.add(WorldObject {
                shape: a.shape.into_shape(&format!("object '{}'", a.name))?,
                name: a.name.clone(),
                pose: a.pose_in_link.into_pose(),
                padding: 0.0,
            })?;
            world.attach_to_robot(
                &a.name,
                &a.robot,
                &a.link,
                &Isometry3::identity(),
                a.touch_links,
            )?;
        }
        for c in self.allowed {
            world.allow_contact_for(&c.object, &c.robot, &c.link)?;
        }
        Ok(world)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{CellFile, DEMO_CELL};

    fn demo() -> Arc<CellSnapshot> {
        CellFile::parse(DEMO_CELL).unwrap().build(None).unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "cella-journal-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// A few edits of every kind, applied and journaled; the cell after them.
    fn edit_some(journal: &mut Journal, cell: Arc<CellSnapshot>) -> Arc<CellSnapshot> {
        let id = cell.robots[0].id.clone();
        let link = cell.robots[0].geometry.robot().chain().tip().to_owned();
        let mut cell = cell;
        let mut step = |cell: &mut Arc<CellSnapshot>, edit: WorldEdit| {
            let next = cell.apply(&edit).unwrap();
            journal.append(&edit, &next).unwrap();
            *cell = next;
        };
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            let object = WorldObject {
                name: name.into(),
                shape: Shape::Sphere { radius: 0.05 },
                pose: Isometry3::new(
                    nalgebra::Vector3::new(0.1 * i as f64, 1.0 / 3.0, 2.0),
                    nalgebra::Vector3::new(0.1, 0.2, 0.3),
                ),
                // one object keeps robots further away than the cell's padding
                padding: if name == "b" { 0.04 } else { 0.0 },
            };
            step(
                &mut cell,
                WorldEdit::AddObject {
                    object,
                    allowed: vec![(id.clone(), link.clone())],
                },
            );
        }
        let pose = Isometry3::new(
            nalgebra::Vector3::new(0.7, -0.1, 1.9),
            nalgebra::Vector3::new(-0.4, 0.0, 1.0),
        );
        step(
            &mut cell,
            WorldEdit::MoveObject {
                name: "b".into(),
                pose,
            },
        );
        step(&mut cell, WorldEdit::RemoveObject { name: "c".into() });
        let attach = cell.attach_edit("a", &id, &link, vec![]).unwrap();
        step(&mut cell, attach);
        cell
    }

    #[test]
    fn crc32_is_the_ieee_one() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_reopened_journal_restores_the_same_world_and_version() {
        let dir = scratch("reopen");
        let base = demo();
        let (mut journal, restored) = Journal::open(&dir, &base).unwrap();
        assert_eq!(restored.records, 0);
        let after = edit_some(&mut journal, restored.cell);
        // one server per directory
        assert!(matches!(
            Journal::open(&dir, &base).unwrap_err(),
            JournalError::InUse { .. }
        ));
        drop(journal);
        let (_journal, restored) = Journal::open(&dir, &base).unwrap();
        assert_eq!(restored.records, 6);
        assert_eq!(restored.torn_bytes, 0);
        assert_eq!(restored.cell.version, after.version);
        assert_eq!(restored.cell.world, after.world);
        let b = restored.cell.world.objects().iter().find(|o| o.name == "b");
        assert_eq!(b.map(|o| o.padding), Some(0.04));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn compaction_keeps_the_world_exactly() {
        let dir = scratch("compact");
        let base = demo();
        let (mut journal, restored) = Journal::open_compacting(&dir, &base, 4).unwrap();
        let after = edit_some(&mut journal, restored.cell);
        drop(journal);
        let text = std::fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();
        assert!(text.contains("\"record\":\"state\""), "{text}");
        assert!(text.lines().count() < 7, "{text}");
        let (_journal, restored) = Journal::open_compacting(&dir, &base, 4).unwrap();
        assert_eq!(restored.cell.version, after.version);
        assert_eq!(restored.cell.world, after.world);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_every_cut_loads() {
        let dir = scratch("torn");
        let base = demo();
        let (mut journal, restored) = Journal::open(&dir, &base).unwrap();
        let after = edit_some(&mut journal, restored.cell);
        drop(journal);
        let path = dir.join(JOURNAL_FILE);
        let full = std::fs::read(&path).unwrap();
        let ends: Vec<usize> = full
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1)
            .collect();
        // a cut anywhere after the header: the complete records before it, nothing else
        for cut in ends[0]..=full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (_j, restored) = Journal::open(&dir, &base).unwrap();
            let complete = ends.iter().filter(|&&e| e <= cut).count() - 1;
            assert_eq!(restored.records, complete, "cut at {cut}");
            assert_eq!(restored.cell.version, base.version + complete as u64);
            let good = ends.iter().copied().filter(|&e| e <= cut).max().unwrap();
            assert_eq!(restored.torn_bytes, (cut - good) as u64);
            // truncated on disk
            assert_eq!(std::fs::metadata(&path).unwrap().len(), good as u64);
        }
        assert_eq!(
            Journal::open(&dir, &base).unwrap().1.cell.world,
            after.world
        );
        // garbage in the middle, good records after it: refused, nothing thrown away
        let mut bad = full.clone();
        bad[ends[1] + 3] ^= 0x20;
        std::fs::write(&path, &bad).unwrap();
        assert!(matches!(
            Journal::open(&dir, &base).unwrap_err(),
            JournalError::Corrupt { record: 2, .. }
        ));
        assert_eq!(std::fs::read(&path).unwrap(), bad);
        std::fs::write(&path, &full).unwrap();
        assert_eq!(
            Journal::open(&dir, &base).unwrap().1.cell.world,
            after.world
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_journal_of_another_cell_is_refused() {
        let dir = scratch("other");
        let base = demo();
        let (mut journal, restored) = Journal::open(&dir, &base).unwrap();
        edit_some(&mut journal, restored.cell);
        drop(journal);
        let other = base.apply(&WorldEdit::RemoveObject {
            name: base.world.objects()[0].name.clone(),
        });
        let other = other.unwrap();
        let e = Journal::open(&dir, &other).unwrap_err();
        assert!(matches!(e, JournalError::CellChanged { .. }), "{e}");
        assert!(e.to_string().contains("move it away"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
