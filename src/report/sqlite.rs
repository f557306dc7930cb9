//! The embedded SQLite journal backend: every SQL statement of the project is here.
//!
//! Durability against kill -9: WAL mode with `synchronous=FULL`, one short transaction per
//! checkpoint, so a row is either fully in the file or not at all. Times are RFC 3339
//! text and step names plain text, which a PostgreSQL backend could keep as they are.
//! Knows the journal's tables, nothing about phones.

use super::journal::{
    HistoryRow, HistoryStep, Identity, JournalError, JournalStore, JourneyId, JourneyStart, Lease,
    OpenedJourney, StepEnd, StepId, StepRow,
};
use super::{Outcome, OutcomeStatus, StepKind, StepResult, Timestamp};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::Path;
use std::time::Duration;

/// Bumped when the tables change; older files are migrated in [`SqliteStore::open`].
const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS phones (
    serial      TEXT PRIMARY KEY,
    imei        TEXT,
    model       TEXT,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS journeys (
    id          INTEGER PRIMARY KEY,
    serial      TEXT NOT NULL,
    imei        TEXT,
    model       TEXT,
    mode        TEXT NOT NULL,
    host        TEXT NOT NULL,
    plan        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    status      TEXT,
    exit_code   INTEGER,
    summary     TEXT
);
CREATE INDEX IF NOT EXISTS journeys_open ON journeys (serial) WHERE ended_at IS NULL;
CREATE TABLE IF NOT EXISTS steps (
    id          INTEGER PRIMARY KEY,
    journey_id  INTEGER NOT NULL REFERENCES journeys (id),
    step        TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    result      TEXT,
    error       TEXT,
    note        TEXT,
    exit_code   INTEGER,
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS steps_journey ON steps (journey_id, id);
";

/// Version 2: the phone's own serial (`ro.serialno`), since an adb serial (`ip:port`, a
/// clone's `0123456789ABCDEF`) can pass from one phone to another; and the lease that
/// keeps two processes from driving one phone.
const MIGRATE_2: &str = "
ALTER TABLE phones ADD COLUMN hw_serial TEXT;
ALTER TABLE journeys ADD COLUMN hw_serial TEXT;
ALTER TABLE journeys ADD COLUMN lease_host TEXT;
ALTER TABLE journeys ADD COLUMN lease_pid INTEGER;
ALTER TABLE journeys ADD COLUMN lease_since TEXT;
ALTER TABLE journeys ADD COLUMN lease_heartbeat TEXT;
";

pub struct SqliteStore {
    conn: Connection,
}

fn backend(op: &'static str) -> impl FnOnce(rusqlite::Error) -> JournalError {
    move |e| JournalError::Backend {
        op,
        source: Box::new(e),
    }
}

/// An UPDATE by id that changed no row means the row is not there.
fn touched(n: usize, what: &'static str, id: i64) -> Result<(), JournalError> {
    if n == 0 {
        return Err(JournalError::Missing { what, id });
    }
    Ok(())
}

/// Runs `stmt` and reads every row into a tuple of its columns, in column order.
fn read_rows<T>(
    stmt: &mut rusqlite::Statement<'_>,
    params: impl rusqlite::Params,
    op: &'static str,
) -> Result<Vec<T>, JournalError>
where
    T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
{
    stmt.query_map(params, |r| T::try_from(r))
        .map_err(backend(op))?
        .collect::<Result<Vec<T>, _>>()
        .map_err(backend(op))
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, JournalError> {
        let open_err = |e: rusqlite::Error| JournalError::Open {
            path: path.to_owned(),
            source: Box::new(e),
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        // Another process (or another bench host's tool) may hold the write lock for a
        // moment; wait rather than fail a phone's step.
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::Open {
                path: path.to_owned(),
                source: format!("SQLite refused WAL mode (got {mode:?})").into(),
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        if version > SCHEMA_VERSION {
            return Err(JournalError::Open {
                path: path.to_owned(),
                source: format!(
                    "written by a newer mi-offboard (schema {version}, this one knows {SCHEMA_VERSION})"
                )
                .into(),
            });
        }
        // Two processes may open a fresh file at once: the immediate transaction makes
        // one of them wait, and it then sees the version the other wrote.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(open_err)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(open_err)?;
        tx.execute_batch(SCHEMA).map_err(open_err)?;
        if version < 2 {
            tx.execute_batch(MIGRATE_2).map_err(open_err)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(open_err)?;
        tx.commit().map_err(open_err)?;
        Ok(SqliteStore { conn })
    }

    /// Every write takes the write lock at BEGIN: a deferred transaction that reads and
    /// then writes can fail with SQLITE_BUSY_SNAPSHOT when another process wrote in
    /// between, which the busy timeout does not retry.
    fn write<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend(op))?;
        let out = f(&tx)?;
        tx.commit().map_err(backend(op))?;
        Ok(out)
    }
}

/// The lease columns of a journey row, when a process holds it.
fn lease_of(
    host: Option<String>,
    pid: Option<i64>,
    since: Option<String>,
    heartbeat: Option<String>,
) -> Result<Option<Lease>, JournalError> {
    let (Some(host), Some(pid), Some(since), Some(heartbeat)) = (host, pid, since, heartbeat)
    else {
        return Ok(None);
    };
    Ok(Some(Lease {
        host,
        pid: u32::try_from(pid).unwrap_or(0),
        since: parse_time("lease time", &since)?,
        heartbeat: parse_time("heartbeat", &heartbeat)?,
    }))
}

fn parse_time(what: &'static str, text: &str) -> Result<Timestamp, JournalError> {
    Timestamp::parse(text).ok_or_else(|| JournalError::Unknown {
        what,
        value: text.to_owned(),
    })
}

fn parse_step(text: &str) -> Result<StepKind, JournalError> {
    StepKind::parse(text).ok_or_else(|| JournalError::Unknown {
        what: "step",
        value: text.to_owned(),
    })
}

/// The raw columns of a `steps` row, converted after the query so conversion errors are
/// the journal's own, not SQLite's.
type RawStep = (
    i64,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
);

fn convert_step(raw: RawStep) -> Result<StepRow, JournalError> {
    let (id, step, attempt, started, ended, result, error, note, exit_code, detail) = raw;
    let result = match result {
        None => StepResult::Unfinished,
        Some(r) => StepResult::parse(&r).ok_or(JournalError::Unknown {
            what: "step result",
            value: r,
        })?,
    };
    Ok(StepRow {
        id,
        step: parse_step(&step)?,
        attempt: u32::try_from(attempt).unwrap_or(0),
        started_at: parse_time("start time", &started)?,
        ended_at: ended
            .as_deref()
            .map(|t| parse_time("end time", t))
            .transpose()?,
        result,
        error,
        note,
        exit_code,
        // A detail that no longer parses is dropped rather than failing the resume: the
        // step is then treated as having left nothing behind.
        detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
    })
}

impl JournalStore for SqliteStore {
    fn open_journey(
        &mut self,
        start: &JourneyStart,
        now: Timestamp,
        stale: &dyn Fn(&Lease) -> bool,
    ) -> Result<OpenedJourney, JournalError> {
        let now_s = now.to_string();
        let plan = start
            .plan
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let (id, resumed, hardware_serial, taken_over) = self.write("open journey", |tx| {
            tx.execute(
                "INSERT INTO phones (serial, first_seen, last_seen) VALUES (?1, ?2, ?2)
                 ON CONFLICT (serial) DO UPDATE SET last_seen = excluded.last_seen",
                params![start.serial, now_s],
            )
            .map_err(backend("record phone"))?;
            type Open = (
                i64,
                Option<String>,
                Option<String>,
                Option<i64>,
                Option<String>,
                Option<String>,
            );
            let open: Option<Open> = tx
                .query_row(
                    "SELECT id, hw_serial, lease_host, lease_pid, lease_since, lease_heartbeat
                     FROM journeys WHERE serial = ?1 AND ended_at IS NULL
                     ORDER BY id DESC LIMIT 1",
                    params![start.serial],
                    |r| r.try_into(),
                )
                .optional()
                .map_err(backend("find open journey"))?;
            match open {
                Some((id, hw, host, pid, since, heartbeat)) => {
                    let lease = lease_of(host, pid, since, heartbeat)?;
                    let mine = lease
                        .as_ref()
                        .is_some_and(|l| l.host == start.host && l.pid == start.pid);
                    let taken_over = match lease {
                        Some(l) if !mine && !stale(&l) => {
                            return Err(JournalError::Busy {
                                serial: start.serial.clone(),
                                lease: l,
                            });
                        }
                        Some(l) if !mine => Some(l),
                        _ => None,
                    };
                    // The plan may change between runs (a flag added): the new one rules.
                    tx.execute(
                        "UPDATE journeys SET plan = ?2, mode = ?3, host = ?4, lease_host = ?4,
                         lease_pid = ?5, lease_since = ?6, lease_heartbeat = ?6 WHERE id = ?1",
                        params![id, plan, start.mode, start.host, start.pid, now_s],
                    )
                    .map_err(backend("resume journey"))?;
                    Ok((id, true, hw, taken_over))
                }
                None => {
                    tx.execute(
                        "INSERT INTO journeys (serial, mode, host, plan, started_at,
                         lease_host, lease_pid, lease_since, lease_heartbeat)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?6, ?5, ?5)",
                        params![start.serial, start.mode, start.host, plan, now_s, start.pid],
                    )
                    .map_err(backend("start journey"))?;
                    Ok((tx.last_insert_rowid(), false, None, None))
                }
            }
        })?;
        let steps = self.steps(id)?;
        Ok(OpenedJourney {
            id,
            resumed,
            hardware_serial,
            taken_over,
            steps,
        })
    }

    fn heartbeat(
        &mut self,
        journey: JourneyId,
        host: &str,
        pid: u32,
        now: Timestamp,
    ) -> Result<(), JournalError> {
        self.write("heartbeat", |tx| {
            let n = tx
                .execute(
                    "UPDATE journeys SET lease_heartbeat = ?4
                     WHERE id = ?1 AND lease_host = ?2 AND lease_pid = ?3",
                    params![journey, host, pid, now.to_string()],
                )
                .map_err(backend("heartbeat"))?;
            if n == 0 {
                return Err(JournalError::LeaseLost { journey });
            }
            Ok(())
        })
    }

    fn release(&mut self, journey: JourneyId, host: &str, pid: u32) -> Result<(), JournalError> {
        self.write("release lease", |tx| {
            tx.execute(
                "UPDATE journeys SET lease_host = NULL, lease_pid = NULL, lease_since = NULL,
                 lease_heartbeat = NULL WHERE id = ?1 AND lease_host = ?2 AND lease_pid = ?3",
                params![journey, host, pid],
            )
            .map_err(backend("release lease"))?;
            Ok(())
        })
    }

    fn set_identity(&mut self, journey: JourneyId, id: &Identity) -> Result<(), JournalError> {
        self.write("record identity", |tx| {
            let n = tx
                .execute(
                    "UPDATE journeys SET hw_serial = COALESCE(?2, hw_serial),
                     imei = COALESCE(?3, imei), model = COALESCE(?4, model) WHERE id = ?1",
                    params![journey, id.hardware_serial, id.imei, id.model],
                )
                .map_err(backend("record identity"))?;
            touched(n, "journey", journey)?;
            // The phones row follows the adb serial, which another phone may take over:
            // a different hardware serial replaces the whole identity, not just the
            // fields this phone happened to answer.
            tx.execute(
                "UPDATE phones SET
                   imei = CASE WHEN ?2 IS NULL OR hw_serial IS NULL OR hw_serial = ?2
                          THEN COALESCE(?3, imei) ELSE ?3 END,
                   model = CASE WHEN ?2 IS NULL OR hw_serial IS NULL OR hw_serial = ?2
                          THEN COALESCE(?4, model) ELSE ?4 END,
                   hw_serial = COALESCE(?2, hw_serial)
                 WHERE serial = (SELECT serial FROM journeys WHERE id = ?1)",
                params![journey, id.hardware_serial, id.imei, id.model],
            )
            .map_err(backend("record identity"))?;
            Ok(())
        })
    }

    fn begin_step(
        &mut self,
        journey: JourneyId,
        step: StepKind,
        now: Timestamp,
    ) -> Result<StepId, JournalError> {
        self.write("begin step", |tx| {
            let attempt: i64 = tx
                .query_row(
                    "SELECT COUNT(*) + 1 FROM steps WHERE journey_id = ?1 AND step = ?2",
                    params![journey, step.as_str()],
                    |r| r.get(0),
                )
                .map_err(backend("count attempts"))?;
            tx.execute(
                "INSERT INTO steps (journey_id, step, attempt, started_at) VALUES (?1, ?2, ?3, ?4)",
                params![journey, step.as_str(), attempt, now.to_string()],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    JournalError::Missing {
                        what: "journey",
                        id: journey,
                    }
                }
                e => backend("begin step")(e),
            })?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn end_step(
        &mut self,
        step: StepId,
        end: &StepEnd,
        now: Timestamp,
    ) -> Result<(), JournalError> {
        let result = end.result.unwrap_or(StepResult::Failed);
        let detail = end.detail.as_ref().map(|d| d.to_string());
        self.write("end step", |tx| {
            let n = tx
                .execute(
                    "UPDATE steps SET ended_at = ?2, result = ?3, error = ?4, note = ?5,
                     exit_code = ?6, detail = ?7 WHERE id = ?1",
                    params![
                        step,
                        now.to_string(),
                        result.as_str(),
                        end.error,
                        end.note,
                        end.exit_code,
                        detail
                    ],
                )
                .map_err(backend("end step"))?;
            touched(n, "step", step)
        })
    }

    fn steps(&mut self, journey: JourneyId) -> Result<Vec<StepRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, step, attempt, started_at, ended_at, result, error, note,
                 exit_code, detail FROM steps WHERE journey_id = ?1 ORDER BY id",
            )
            .map_err(backend("read steps"))?;
        let raws: Vec<RawStep> = read_rows(&mut stmt, params![journey], "read steps")?;
        raws.into_iter().map(convert_step).collect()
    }

    fn set_outcome(
        &mut self,
        journey: JourneyId,
        outcome: &Outcome,
        close: bool,
        now: Timestamp,
    ) -> Result<(), JournalError> {
        let ended = close.then(|| now.to_string());
        self.write("record outcome", |tx| {
            // Closing a journey also ends its lease: nobody is processing it any more.
            let n = tx
                .execute(
                    "UPDATE journeys SET status = ?2, exit_code = ?3, summary = ?4,
                     ended_at = COALESCE(?5, ended_at),
                     lease_host = CASE WHEN ?5 IS NULL THEN lease_host END,
                     lease_pid = CASE WHEN ?5 IS NULL THEN lease_pid END,
                     lease_since = CASE WHEN ?5 IS NULL THEN lease_since END,
                     lease_heartbeat = CASE WHEN ?5 IS NULL THEN lease_heartbeat END
                     WHERE id = ?1",
                    params![
                        journey,
                        outcome.status.as_str(),
                        outcome.exit_code,
                        outcome.summary,
                        ended
                    ],
                )
                .map_err(backend("record outcome"))?;
            touched(n, "journey", journey)
        })
    }

    fn history(&mut self) -> Result<Vec<HistoryRow>, JournalError> {
        type RawJourney = (
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<i32>,
            Option<String>,
        );
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, serial, hw_serial, imei, model, mode, host, started_at, ended_at,
                 status, exit_code, summary FROM journeys ORDER BY id",
            )
            .map_err(backend("read history"))?;
        let raws: Vec<RawJourney> = read_rows(&mut stmt, [], "read history")?;
        drop(stmt);
        let mut rows = Vec::with_capacity(raws.len());
        for raw in raws {
            let (id, serial, hardware_serial, imei, model, mode, host, started, ended) = (
                raw.0, raw.1, raw.2, raw.3, raw.4, raw.5, raw.6, raw.7, raw.8,
            );
            let (status, exit_code, summary) = (raw.9, raw.10, raw.11);
            let status = status
                .map(|s| {
                    OutcomeStatus::parse(&s).ok_or(JournalError::Unknown {
                        what: "outcome",
                        value: s,
                    })
                })
                .transpose()?;
            // Each step's latest attempt, in the order steps first ran.
            let mut steps: Vec<HistoryStep> = Vec::new();
            for row in self.steps(id)? {
                match steps.iter_mut().find(|s| s.step == row.step) {
                    Some(s) => s.result = row.result,
                    None => steps.push(HistoryStep {
                        step: row.step,
                        result: row.result,
                    }),
                }
            }
            rows.push(HistoryRow {
                journey: id,
                serial,
                hardware_serial,
                imei,
                model,
                mode,
                host,
                started_at: parse_time("start time", &started)?,
                ended_at: ended
                    .as_deref()
                    .map(|t| parse_time("end time", t))
                    .transpose()?,
                status,
                exit_code,
                summary,
                steps,
            });
        }
        Ok(rows)
    }
}
