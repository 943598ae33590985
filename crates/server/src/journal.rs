//! The durable cell on the service side (`cella serve --state-dir DIR`): a world edit is
//! written to the cell's journal ([`cella_cell::Journal`]) and synced to disk after every
//! check has passed and before it takes effect, under the admission lock (so the journal
//! holds the edits in version order). An edit the journal cannot take is not made
//! (`UNAVAILABLE`); the response of an edit is sent only once it is on disk.

use crate::convert;
use crate::service::CellServer;
use cella_cell::{CellError, CellSnapshot, Journal, JournalError, WorldEdit};
use cella_control::{ControlError, EditKind, EditOutcome};
use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use tonic::Status;

/// Why an edit was not made.
enum EditError {
    Control(ControlError),
    Journal(JournalError),
}

impl From<ControlError> for EditError {
    fn from(e: ControlError) -> Self {
        EditError::Control(e)
    }
}

impl CellServer {
    /// This service, journaling every world edit to `journal`. Open the journal over the
    /// cell file's snapshot and build the service over the cell it restores
    /// ([`Journal::open`] gives both).
    pub fn with_journal(mut self, journal: Journal) -> Self {
        self.journal = Some(Arc::new(Mutex::new(journal)));
        self
    }

    /// Resolves an edit against the live cell (`resolve`), applies it with every admission
    /// check ([`cella_control::CellControl::edit_committed`]) and journals it before it takes
    /// effect. Blocking: run it on the blocking pool.
    pub(crate) fn commit_edit(
        &self,
        kind: EditKind,
        resolve: impl FnOnce(&CellSnapshot) -> Result<WorldEdit, CellError>,
    ) -> Result<EditOutcome, Status> {
        let resolved = RefCell::new(None);
        let outcome = self.control.edit_committed(
            kind,
            |live| {
                let edit = resolve(live)?;
                let next = live.apply(&edit)?;
                *resolved.borrow_mut() = Some(edit);
                Ok(next)
            },
            |next| {
                let (Some(journal), Some(edit)) = (&self.journal, resolved.borrow_mut().take())
                else {
                    return Ok(());
                };
                let mut journal = journal.lock().unwrap_or_else(|p| p.into_inner());
                journal.append(&edit, next).map_err(EditError::Journal)
            },
        );
        outcome.map_err(|e| match e {
            EditError::Control(e) => convert::control_status(e),
            EditError::Journal(e) => {
                tracing::error!(error = %e, "state journal: the edit was not journaled");
                Status::unavailable(format!(
                    "the world edit was not made: the state journal cannot take it ({e})"
                ))
            }
        })
    }
}
