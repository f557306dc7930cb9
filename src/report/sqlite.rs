//! The embedded SQLite journal backend: every SQL statement of the project is here.
//!
//! Durability against kill -9: WAL mode with `synchronous=FULL`, one short transaction per
//! checkpoint, so a row is either fully in the file or not at all. Times are RFC 3339
//! text and step names plain text, which a PostgreSQL backend could keep as they are.
//! Knows the journal's tables, nothing about phones.

use super::journal::{
    HistoryRow, HistoryStep, JournalError, JournalStore, JourneyId, JourneyStart, OpenedJourney,
    StepEnd, StepId, StepRow,
};
use super::{Outcome, OutcomeStatus, StepKind, StepResult, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::time::Duration;

/// Bumped when the tables change; older files are migrated in [`SqliteStore::open`].
const SCHEMA_VERSION: i64 = 1;

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

pub struct SqliteStore {
    conn: Connection,
}

fn backend(op: &'static str) -> impl FnOnce(rusqlite::Error) -> JournalError {
    move |e| JournalError::Backend {
        op,
        source: Box::new(e),
    }
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore, JournalError> {
        let open_err = |e: rusqlite::Error| JournalError::Open {
            path: path.to_owned(),
            source: Box::new(e),
        };
        let conn = Connection::open(path).map_err(open_err)?;
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
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(open_err)?;
        Ok(SqliteStore { conn })
    }
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
    ) -> Result<OpenedJourney, JournalError> {
        let tx = self.conn.transaction().map_err(backend("begin"))?;
        let now_s = now.to_string();
        tx.execute(
            "INSERT INTO phones (serial, first_seen, last_seen) VALUES (?1, ?2, ?2)
             ON CONFLICT (serial) DO UPDATE SET last_seen = excluded.last_seen",
            params![start.serial, now_s],
        )
        .map_err(backend("record phone"))?;
        let plan = start
            .plan
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let open: Option<i64> = tx
            .query_row(
                "SELECT id FROM journeys WHERE serial = ?1 AND ended_at IS NULL
                 ORDER BY id DESC LIMIT 1",
                params![start.serial],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend("find open journey"))?;
        let (id, resumed) = match open {
            Some(id) => {
                // The plan may change between runs (a flag added): the new one rules.
                tx.execute(
                    "UPDATE journeys SET plan = ?2, mode = ?3, host = ?4 WHERE id = ?1",
                    params![id, plan, start.mode, start.host],
                )
                .map_err(backend("resume journey"))?;
                (id, true)
            }
            None => {
                tx.execute(
                    "INSERT INTO journeys (serial, mode, host, plan, started_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![start.serial, start.mode, start.host, plan, now_s],
                )
                .map_err(backend("start journey"))?;
                (tx.last_insert_rowid(), false)
            }
        };
        tx.commit().map_err(backend("commit"))?;
        let steps = self.steps(id)?;
        Ok(OpenedJourney { id, resumed, steps })
    }

    fn set_identity(
        &mut self,
        journey: JourneyId,
        imei: Option<&str>,
        model: Option<&str>,
    ) -> Result<(), JournalError> {
        let tx = self.conn.transaction().map_err(backend("begin"))?;
        let n = tx
            .execute(
                "UPDATE journeys SET imei = COALESCE(?2, imei), model = COALESCE(?3, model)
                 WHERE id = ?1",
                params![journey, imei, model],
            )
            .map_err(backend("record identity"))?;
        if n == 0 {
            return Err(JournalError::Missing {
                what: "journey",
                id: journey,
            });
        }
        tx.execute(
            "UPDATE phones SET imei = COALESCE(?2, imei), model = COALESCE(?3, model)
             WHERE serial = (SELECT serial FROM journeys WHERE id = ?1)",
            params![journey, imei, model],
        )
        .map_err(backend("record identity"))?;
        tx.commit().map_err(backend("commit"))
    }

    fn begin_step(
        &mut self,
        journey: JourneyId,
        step: StepKind,
        now: Timestamp,
    ) -> Result<StepId, JournalError> {
        let tx = self.conn.transaction().map_err(backend("begin"))?;
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
        let id = tx.last_insert_rowid();
        tx.commit().map_err(backend("commit"))?;
        Ok(id)
    }

    fn end_step(
        &mut self,
        step: StepId,
        end: &StepEnd,
        now: Timestamp,
    ) -> Result<(), JournalError> {
        let result = end.result.unwrap_or(StepResult::Failed);
        let detail = end.detail.as_ref().map(|d| d.to_string());
        let n = self
            .conn
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
        if n == 0 {
            return Err(JournalError::Missing {
                what: "step",
                id: step,
            });
        }
        Ok(())
    }

    fn steps(&mut self, journey: JourneyId) -> Result<Vec<StepRow>, JournalError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, step, attempt, started_at, ended_at, result, error, note,
                 exit_code, detail FROM steps WHERE journey_id = ?1 ORDER BY id",
            )
            .map_err(backend("read steps"))?;
        let raws = stmt
            .query_map(params![journey], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })
            .map_err(backend("read steps"))?
            .collect::<Result<Vec<RawStep>, _>>()
            .map_err(backend("read steps"))?;
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
        let n = self
            .conn
            .execute(
                "UPDATE journeys SET status = ?2, exit_code = ?3, summary = ?4,
                 ended_at = COALESCE(?5, ended_at) WHERE id = ?1",
                params![
                    journey,
                    outcome.status.as_str(),
                    outcome.exit_code,
                    outcome.summary,
                    ended
                ],
            )
            .map_err(backend("record outcome"))?;
        if n == 0 {
            return Err(JournalError::Missing {
                what: "journey",
                id: journey,
            });
        }
        Ok(())
    }

    fn history(&mut self) -> Result<Vec<HistoryRow>, JournalError> {
        type RawJourney = (
            i64,
            String,
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
                "SELECT id, serial, imei, model, mode, host, started_at, ended_at, status,
                 exit_code, summary FROM journeys ORDER BY id",
            )
            .map_err(backend("read history"))?;
        let raws = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })
            .map_err(backend("read history"))?
            .collect::<Result<Vec<RawJourney>, _>>()
            .map_err(backend("read history"))?;
        drop(stmt);
        let mut rows = Vec::with_capacity(raws.len());
        for (id, serial, imei, model, mode, host, started, ended, status, exit_code, summary) in
            raws
        {
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
