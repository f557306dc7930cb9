//! The journal: every phone and every step with start, end, result and error, kept so a
//! rerun after a crash, a kill -9 or an unplugged phone resumes where it was.
//!
//! Rules a rerun relies on: a step that reached a final result (ok, skipped) is never
//! redone; a step that started and never ended (the process died) is "unfinished" and is
//! redone, as are failed, refused and interrupted ones. A journey stays open until it is
//! closed as done (or given up); reopening a phone with an open journey resumes it.
//!
//! One process at a time: opening a journey takes its lease (host, pid, heartbeat) in the
//! same write transaction that finds it, so a second `run`, or `run` while `bench` works
//! on the phone, is refused ([`JournalError::Busy`]) instead of tapping through the same
//! dialogs. A lease whose process is gone (same host, pid not alive) or whose heartbeat is
//! older than [`LEASE_STALE_AFTER`] is taken over.
//!
//! Storage is behind [`JournalStore`]; every SQL statement lives in the SQLite backend
//! (`sqlite.rs`) so a shared PostgreSQL backend for several bench hosts can be added by
//! implementing the trait. This module holds the rules, not the SQL.

use super::{Outcome, OutcomeStatus, StepKind, StepReport, StepResult, Timestamp};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A lease not refreshed for this long belongs to a process that hangs or a host that
/// went away; the holder refreshes it every [`HEARTBEAT_EVERY`] and at every step.
pub const LEASE_STALE_AFTER: Duration = Duration::from_secs(300);
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(30);

pub type JourneyId = i64;
pub type StepId = i64;

/// The journal's file name under DIR.
pub const FILE_NAME: &str = "journal.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot open the journal {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("journal: {op} failed: {source}")]
    Backend {
        op: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("journal: unknown {what} {value:?} in the database (written by a newer version?)")]
    Unknown { what: &'static str, value: String },
    #[error("journal: no {what} with id {id}")]
    Missing { what: &'static str, id: i64 },
    #[error("journal: a thread panicked while writing it; refusing to continue")]
    Poisoned,
    #[error(
        "{serial} is being processed by pid {} on {} since {} (last heartbeat {}); nothing was changed",
        lease.pid, lease.host, lease.since, lease.heartbeat
    )]
    Busy { serial: String, lease: Lease },
    #[error(
        "another process took over journey {journey} (this one was silent long enough to be thought gone); this run records nothing more and starts no further step: the phone is that process's now"
    )]
    LeaseLost { journey: JourneyId },
}

impl crate::exit::HasExit for JournalError {
    fn exit(&self) -> crate::exit::Exit {
        match self {
            JournalError::Busy { .. } | JournalError::LeaseLost { .. } => {
                crate::exit::Exit::Refused
            }
            _ => crate::exit::Exit::Other,
        }
    }
}

/// Which process holds a journey, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub host: String,
    pub pid: u32,
    pub since: Timestamp,
    pub heartbeat: Timestamp,
}

impl Lease {
    /// Whether another process may take the lease over: its heartbeat is too old, or it
    /// was taken on this host by a process that no longer exists.
    pub fn is_stale(&self, my_host: &str, now: Timestamp) -> bool {
        let silent = Duration::from_millis(self.heartbeat.millis_until(now));
        silent > LEASE_STALE_AFTER || (self.host == my_host && !pid_alive(self.pid))
    }
}

/// Linux's /proc says whether a pid runs (no signal needed, so no `unsafe`). Where there is
/// no /proc the process counts as alive and only the heartbeat can free its lease.
fn pid_alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    pid != 0 && Path::new("/proc").join(pid.to_string()).exists()
}

/// Who the phone says it is, as recorded for history and for telling phones apart that
/// share an adb serial.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `ro.serialno`.
    pub hardware_serial: Option<String>,
    pub imei: Option<String>,
    pub model: Option<String>,
}

/// What is known when a journey starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyStart {
    pub serial: String,
    /// "run" or "bench".
    pub mode: String,
    /// The steps this journey means to run, in order.
    pub plan: Vec<StepKind>,
    /// The bench host, so a shared database can tell hosts apart.
    pub host: String,
    /// This process (`std::process::id()`), the lease's holder with `host`.
    pub pid: u32,
}

/// How a step ended, as recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepEnd {
    pub result: Option<StepResult>,
    pub error: Option<String>,
    pub note: Option<String>,
    pub exit_code: Option<i32>,
    /// What later steps or a resumed run need from this one (identity, backup summary).
    /// Never a secret.
    pub detail: Option<serde_json::Value>,
}

impl StepEnd {
    pub fn ok(detail: Option<serde_json::Value>) -> StepEnd {
        StepEnd {
            result: Some(StepResult::Ok),
            detail,
            ..StepEnd::default()
        }
    }
}

/// One attempt at one step, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    pub id: StepId,
    pub step: StepKind,
    pub attempt: u32,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// `Unfinished` when the row has no end: the process died during the step.
    pub result: StepResult,
    pub error: Option<String>,
    pub note: Option<String>,
    pub exit_code: Option<i32>,
    pub detail: Option<serde_json::Value>,
}

impl StepRow {
    pub fn to_report(&self) -> StepReport {
        StepReport {
            step: self.step,
            started_at: self.started_at,
            ended_at: self.ended_at,
            result: self.result,
            error: self.error.clone(),
            note: self.note.clone(),
            exit_code: self.exit_code,
        }
    }
}

/// A journey that was opened: fresh, or resumed with what earlier runs recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedJourney {
    pub id: JourneyId,
    pub resumed: bool,
    /// The hardware serial recorded for this journey by an earlier run, if any.
    pub hardware_serial: Option<String>,
    /// A stale lease this open took over (the process that held it is gone).
    pub taken_over: Option<Lease>,
    pub steps: Vec<StepRow>,
}

/// One processed phone, for `mi-offboard history`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryRow {
    pub journey: JourneyId,
    pub serial: String,
    /// `ro.serialno`, when inspect read it.
    pub hardware_serial: Option<String>,
    pub imei: Option<String>,
    pub model: Option<String>,
    pub mode: String,
    pub host: String,
    pub started_at: Timestamp,
    /// Set once the journey was closed.
    pub ended_at: Option<Timestamp>,
    /// The latest outcome; None while the first attempt is still running or died.
    pub status: Option<OutcomeStatus>,
    pub exit_code: Option<i32>,
    pub summary: Option<String>,
    /// Each step's latest attempt.
    pub steps: Vec<HistoryStep>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistoryStep {
    pub step: StepKind,
    pub result: StepResult,
}

/// Where journal records live. Implementations hold all of their query language; the
/// rules (what counts as done, what resumes) are in [`Journal`] and [`JourneyLog`].
pub trait JournalStore: Send {
    /// Opens the serial's open journey if there is one (`resumed`), else starts one, and
    /// takes its lease for `start`'s host and pid, all in one write transaction. A lease
    /// held by another process is taken over only when `stale` says so; otherwise
    /// [`JournalError::Busy`].
    fn open_journey(
        &mut self,
        start: &JourneyStart,
        now: Timestamp,
        stale: &dyn Fn(&Lease) -> bool,
    ) -> Result<OpenedJourney, JournalError>;
    /// Refreshes the lease; [`JournalError::LeaseLost`] when another process holds it now.
    fn heartbeat(
        &mut self,
        journey: JourneyId,
        host: &str,
        pid: u32,
        now: Timestamp,
    ) -> Result<(), JournalError>;
    /// Gives the lease up, if this host and pid still hold it.
    fn release(&mut self, journey: JourneyId, host: &str, pid: u32) -> Result<(), JournalError>;
    /// Records what inspect learned, for history and for finding a phone by IMEI.
    fn set_identity(&mut self, journey: JourneyId, id: &Identity) -> Result<(), JournalError>;
    /// Records that a step started; the row stays unfinished until [`end_step`].
    ///
    /// [`end_step`]: JournalStore::end_step
    fn begin_step(
        &mut self,
        journey: JourneyId,
        step: StepKind,
        now: Timestamp,
    ) -> Result<StepId, JournalError>;
    fn end_step(&mut self, step: StepId, end: &StepEnd, now: Timestamp)
    -> Result<(), JournalError>;
    /// Every attempt of every step of a journey, in the order they started.
    fn steps(&mut self, journey: JourneyId) -> Result<Vec<StepRow>, JournalError>;
    /// Records the latest outcome; `close` ends the journey (and its lease) so the next
    /// run starts afresh.
    fn set_outcome(
        &mut self,
        journey: JourneyId,
        outcome: &Outcome,
        close: bool,
        now: Timestamp,
    ) -> Result<(), JournalError>;
    /// Every journey, oldest first.
    fn history(&mut self) -> Result<Vec<HistoryRow>, JournalError>;
}

/// The journal shared by every phone's task. Cheap to clone. Calls are short
/// (a few rows), so a plain mutex around the store is enough.
#[derive(Clone)]
pub struct Journal {
    store: Arc<Mutex<Box<dyn JournalStore>>>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Journal")
    }
}

impl Journal {
    /// Opens (creating if needed) `DIR/journal.sqlite`.
    pub fn open(dest: &Path) -> Result<Journal, JournalError> {
        let path = dest.join(FILE_NAME);
        let store = super::sqlite::SqliteStore::open(&path)?;
        Ok(Journal::with_store(store))
    }

    pub fn with_store(store: impl JournalStore + 'static) -> Journal {
        Journal {
            store: Arc::new(Mutex::new(Box::new(store))),
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn JournalStore) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let mut guard = self.store.lock().map_err(|_| JournalError::Poisoned)?;
        f(guard.as_mut())
    }

    /// Starts or resumes the journey of one phone, taking its lease.
    pub fn open_journey(&self, start: &JourneyStart) -> Result<JourneyLog, JournalError> {
        let now = Timestamp::now();
        let stale = |l: &Lease| l.is_stale(&start.host, now);
        let opened = self.with(|s| s.open_journey(start, now, &stale))?;
        Ok(JourneyLog {
            journal: self.clone(),
            id: opened.id,
            resumed: opened.resumed,
            hardware_serial: opened.hardware_serial,
            taken_over: opened.taken_over,
            host: start.host.clone(),
            pid: start.pid,
            earlier: opened.steps,
        })
    }

    pub fn history(&self) -> Result<Vec<HistoryRow>, JournalError> {
        self.with(|s| s.history())
    }
}

/// One phone's journey in the journal: what earlier runs finished, and the checkpoints
/// of this one.
#[derive(Debug, Clone)]
pub struct JourneyLog {
    journal: Journal,
    pub id: JourneyId,
    /// True when an earlier run of this journey was found (crash, unplug, refusal).
    pub resumed: bool,
    /// The phone's own serial as an earlier run recorded it.
    pub hardware_serial: Option<String>,
    /// The stale lease this run took over, for a warning.
    pub taken_over: Option<Lease>,
    host: String,
    pid: u32,
    /// Attempts recorded before this run opened the journey.
    earlier: Vec<StepRow>,
}

impl JourneyLog {
    /// The latest earlier attempt of `step` if it reached a final result: such a step is
    /// not redone. Unfinished, failed, refused and interrupted attempts return None.
    pub fn finished(&self, step: StepKind) -> Option<&StepRow> {
        self.earlier
            .iter()
            .rev()
            .find(|r| r.step == step)
            .filter(|r| r.result.is_final())
    }

    /// Attempts from earlier runs that started and never ended (the process died).
    pub fn unfinished(&self) -> impl Iterator<Item = &StepRow> {
        self.earlier
            .iter()
            .filter(|r| r.result == StepResult::Unfinished)
    }

    /// The latest earlier attempt of `step`, whatever its result.
    pub fn last_attempt(&self, step: StepKind) -> Option<&StepRow> {
        self.earlier.iter().rev().find(|r| r.step == step)
    }

    pub fn set_identity(&self, id: &Identity) -> Result<(), JournalError> {
        self.journal.with(|s| s.set_identity(self.id, id))
    }

    /// Checkpoint: the step starts now. Refreshes the lease first, so a process whose
    /// lease was taken over stops before it touches the phone again.
    pub fn begin(&self, step: StepKind) -> Result<StepId, JournalError> {
        self.heartbeat()?;
        self.journal
            .with(|s| s.begin_step(self.id, step, Timestamp::now()))
    }

    /// Tells other processes this one is still at work on the phone.
    pub fn heartbeat(&self) -> Result<(), JournalError> {
        self.journal
            .with(|s| s.heartbeat(self.id, &self.host, self.pid, Timestamp::now()))
    }

    /// Gives the lease up (the journey itself stays as it is).
    pub fn release(&self) -> Result<(), JournalError> {
        self.journal
            .with(|s| s.release(self.id, &self.host, self.pid))
    }

    /// Checkpoint: the step ended so. Only while this process holds the lease: a
    /// process that was thought gone and taken over must not write into the new
    /// holder's journey (nor, below, close it).
    pub fn end(&self, step: StepId, end: &StepEnd) -> Result<(), JournalError> {
        self.heartbeat()?;
        self.journal
            .with(|s| s.end_step(step, end, Timestamp::now()))
    }

    /// Every attempt of this journey so far, earlier runs included, for the report.
    pub fn step_reports(&self) -> Result<Vec<StepReport>, JournalError> {
        let rows = self.journal.with(|s| s.steps(self.id))?;
        Ok(rows.iter().map(StepRow::to_report).collect())
    }

    /// Records the outcome. A done journey (verified or not: what is left is for a
    /// person) is closed; any other stays open so the next run of this phone resumes it.
    pub fn record_outcome(&self, outcome: &Outcome) -> Result<(), JournalError> {
        self.heartbeat()?;
        let close = matches!(
            outcome.status,
            OutcomeStatus::Done | OutcomeStatus::DoneUnverified
        );
        self.journal
            .with(|s| s.set_outcome(self.id, outcome, close, Timestamp::now()))
    }

    /// Ends the journey whatever its outcome, so the next run starts afresh (e.g. a
    /// refused phone that the owner will fix: its inspection must be redone anyway).
    pub fn close(&self, outcome: &Outcome) -> Result<(), JournalError> {
        self.heartbeat()?;
        self.journal
            .with(|s| s.set_outcome(self.id, outcome, true, Timestamp::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(host: &str, pid: u32, heartbeat: Timestamp) -> Lease {
        Lease {
            host: host.to_owned(),
            pid,
            since: heartbeat,
            heartbeat,
        }
    }

    #[test]
    fn a_lease_is_stale_when_its_heartbeat_is_old_or_its_process_gone() {
        let now = Timestamp::now();
        let me = std::process::id();
        let old = Timestamp(now.0 - chrono::Duration::seconds(301));
        let recent = Timestamp(now.0 - chrono::Duration::seconds(299));
        assert!(!lease("h", me, recent).is_stale("h", now));
        assert!(!lease("other", 1, recent).is_stale("h", now));
        assert!(lease("other", 1, old).is_stale("h", now));
        assert!(lease("h", me, old).is_stale("h", now), "a hung holder");
        // pid 0 is never a process.
        assert!(lease("h", 0, recent).is_stale("h", now));
        // Another host's pid is not ours to look up.
        assert!(!lease("other", 0, recent).is_stale("h", now));
    }
}
