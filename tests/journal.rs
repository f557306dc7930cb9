//! The journal's resume rules, on a real SQLite file: finished steps are never redone,
//! steps that started and never ended are, and a process killed with SIGKILL in the
//! middle of writing leaves a journal that opens and resumes.

use mi_offboard::report::journal::{Identity, Journal, JournalError, JourneyStart, StepEnd};
use mi_offboard::report::{Outcome, OutcomeStatus, StepKind, StepResult};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start(serial: &str) -> JourneyStart {
    JourneyStart {
        serial: serial.to_owned(),
        mode: "run".to_owned(),
        plan: vec![
            StepKind::Inspect,
            StepKind::Backup,
            StepKind::Signout,
            StepKind::Reset,
        ],
        host: "test-host".to_owned(),
        pid: std::process::id(),
    }
}

fn outcome(status: OutcomeStatus, code: i32) -> Outcome {
    Outcome {
        status,
        exit_code: code,
        summary: format!("{status:?}"),
    }
}

#[test]
fn finished_step_is_kept_and_unfinished_step_is_redone_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let journal = Journal::open(dir.path()).unwrap();
        let log = journal.open_journey(&start("SER1")).unwrap();
        assert!(!log.resumed);
        let s = log.begin(StepKind::Inspect).unwrap();
        log.end(
            s,
            &StepEnd::ok(Some(serde_json::json!({"model": "M2101K9G"}))),
        )
        .unwrap();
        // Backup starts and the process "dies": the journal is dropped without an end.
        log.begin(StepKind::Backup).unwrap();
    }
    let journal = Journal::open(dir.path()).unwrap();
    let log = journal.open_journey(&start("SER1")).unwrap();
    assert!(log.resumed, "an open journey must be resumed");
    let inspect = log
        .finished(StepKind::Inspect)
        .expect("inspect is finished");
    assert_eq!(inspect.detail.as_ref().unwrap()["model"], "M2101K9G");
    assert!(
        log.finished(StepKind::Backup).is_none(),
        "backup must be redone"
    );
    let unfinished: Vec<_> = log.unfinished().map(|r| r.step).collect();
    assert_eq!(unfinished, vec![StepKind::Backup]);

    // Redo backup: a second attempt row, and the report shows both attempts.
    let b = log.begin(StepKind::Backup).unwrap();
    log.end(b, &StepEnd::ok(None)).unwrap();
    let steps = log.step_reports().unwrap();
    let results: Vec<_> = steps.iter().map(|s| (s.step, s.result)).collect();
    assert_eq!(
        results,
        vec![
            (StepKind::Inspect, StepResult::Ok),
            (StepKind::Backup, StepResult::Unfinished),
            (StepKind::Backup, StepResult::Ok),
        ]
    );
    assert!(steps[1].ended_at.is_none());
    assert!(steps[2].ended_at.is_some());
}

#[test]
fn failed_and_refused_steps_are_redone_but_ok_and_skipped_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let log = journal.open_journey(&start("SER2")).unwrap();
    for (step, result) in [
        (StepKind::Inspect, StepResult::Ok),
        (StepKind::Backup, StepResult::Skipped),
        (StepKind::Signout, StepResult::Failed),
        (StepKind::Reset, StepResult::Refused),
    ] {
        let id = log.begin(step).unwrap();
        let end = StepEnd {
            result: Some(result),
            error: (result == StepResult::Failed).then(|| "wrong password".to_owned()),
            exit_code: (result == StepResult::Failed).then_some(4),
            ..StepEnd::default()
        };
        log.end(id, &end).unwrap();
    }
    log.record_outcome(&outcome(OutcomeStatus::Failed, 4))
        .unwrap();
    let again = journal.open_journey(&start("SER2")).unwrap();
    assert!(again.resumed, "a failed journey stays open");
    assert!(again.finished(StepKind::Inspect).is_some());
    assert!(again.finished(StepKind::Backup).is_some());
    assert!(again.finished(StepKind::Signout).is_none());
    assert!(again.finished(StepKind::Reset).is_none());
    assert_eq!(again.unfinished().count(), 0);

    // A later failure of a step that once succeeded means it must run again.
    let id = again.begin(StepKind::Inspect).unwrap();
    again
        .end(
            id,
            &StepEnd {
                result: Some(StepResult::Interrupted),
                ..StepEnd::default()
            },
        )
        .unwrap();
    let third = journal.open_journey(&start("SER2")).unwrap();
    assert!(third.finished(StepKind::Inspect).is_none());
}

#[test]
fn done_journey_is_closed_and_the_next_run_starts_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let log = journal.open_journey(&start("SER3")).unwrap();
    let id = log.begin(StepKind::Inspect).unwrap();
    log.end(id, &StepEnd::ok(None)).unwrap();
    log.set_identity(&Identity {
        hardware_serial: Some("a1b2c3d4".to_owned()),
        imei: Some("861234567890123".to_owned()),
        model: Some("Redmi Note 13".to_owned()),
    })
    .unwrap();
    log.record_outcome(&outcome(OutcomeStatus::Done, 0))
        .unwrap();
    let next = journal.open_journey(&start("SER3")).unwrap();
    assert!(!next.resumed);
    assert!(next.finished(StepKind::Inspect).is_none());
    assert_ne!(next.id, log.id);

    // A refused phone can be closed explicitly so its inspection is redone.
    next.close(&outcome(OutcomeStatus::OwnerActionNeeded, 3))
        .unwrap();
    let history = journal.history().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].status, Some(OutcomeStatus::Done));
    assert_eq!(history[0].imei.as_deref(), Some("861234567890123"));
    assert_eq!(history[0].hardware_serial.as_deref(), Some("a1b2c3d4"));
    assert_eq!(history[0].model.as_deref(), Some("Redmi Note 13"));
    assert!(history[0].ended_at.is_some());
    assert_eq!(history[0].steps.len(), 1);
    assert_eq!(history[1].status, Some(OutcomeStatus::OwnerActionNeeded));
    assert_eq!(history[1].exit_code, Some(3));
}

#[test]
fn phones_do_not_share_journeys() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let a = journal.open_journey(&start("A")).unwrap();
    let id = a.begin(StepKind::Inspect).unwrap();
    a.end(id, &StepEnd::ok(None)).unwrap();
    let b = journal.open_journey(&start("B")).unwrap();
    assert!(!b.resumed);
    assert!(b.finished(StepKind::Inspect).is_none());
}

#[test]
fn journal_from_a_newer_version_is_refused_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    drop(Journal::open(dir.path()).unwrap());
    let path = dir.path().join("journal.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Journal::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("newer"), "{err}");
}

#[test]
fn garbage_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("journal.sqlite"),
        b"not a database at all, honest",
    )
    .unwrap();
    let err = Journal::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("journal.sqlite"), "{err}");
}

/// Environment variable that turns [`writer_child`] into the process the kill test kills.
const CHILD_DIR: &str = "MI_OFFBOARD_JOURNAL_CHILD_DIR";

/// Writes journeys in a tight loop: each iteration finishes inspect and leaves a backup
/// step open, like a run doing real work. Run in-process (no environment variable) it
/// checks one iteration; as the kill test's child it loops until killed.
fn write_loop(dir: &Path, forever: bool) {
    let journal = Journal::open(dir).unwrap();
    let mut i = 0u64;
    loop {
        let log = journal
            .open_journey(&start(&format!("K{}", i % 4)))
            .unwrap();
        let s = log.begin(StepKind::Inspect).unwrap();
        log.end(s, &StepEnd::ok(Some(serde_json::json!({ "i": i }))))
            .unwrap();
        let b = log.begin(StepKind::Backup).unwrap();
        if i == 20 {
            std::fs::write(dir.join("ready"), b"1").unwrap();
        }
        log.end(b, &StepEnd::ok(None)).unwrap();
        log.begin(StepKind::Signout).unwrap();
        i += 1;
        if !forever {
            return;
        }
    }
}

#[test]
fn writer_child() {
    match std::env::var_os(CHILD_DIR) {
        Some(dir) => write_loop(Path::new(&dir), true),
        None => {
            let dir = tempfile::tempdir().unwrap();
            write_loop(dir.path(), false);
            let log = Journal::open(dir.path())
                .unwrap()
                .open_journey(&start("K0"))
                .unwrap();
            assert!(log.finished(StepKind::Backup).is_some());
            assert_eq!(
                log.unfinished().map(|r| r.step).collect::<Vec<_>>(),
                vec![StepKind::Signout]
            );
        }
    }
}

#[test]
fn kill_9_mid_write_leaves_a_journal_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "writer_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.path().join("ready").exists() {
        assert!(Instant::now() < deadline, "child never got going");
        assert!(child.try_wait().unwrap().is_none(), "child exited early");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Child::kill is SIGKILL on Unix: no destructor, no flush, like kill -9.
    child.kill().unwrap();
    child.wait().unwrap();

    let journal = Journal::open(dir.path()).unwrap();
    let history = journal.history().unwrap();
    assert!(history.len() >= 4, "{} journeys", history.len());
    for serial in ["K0", "K1", "K2", "K3"] {
        let log = journal.open_journey(&start(serial)).unwrap();
        assert!(log.resumed);
        // Each step's latest attempt is either done (kept) or unfinished (redone):
        // whatever was in flight at the kill is never silently counted as done.
        let rows = log.step_reports().unwrap();
        assert!(!rows.is_empty(), "{serial}");
        for kind in [StepKind::Inspect, StepKind::Backup, StepKind::Signout] {
            let Some(latest) = rows.iter().rev().find(|r| r.step == kind) else {
                continue;
            };
            match latest.result {
                StepResult::Ok => assert!(log.finished(kind).is_some(), "{serial} {kind:?}"),
                StepResult::Unfinished => {
                    assert!(latest.ended_at.is_none());
                    assert!(log.finished(kind).is_none(), "{serial} {kind:?}");
                }
                other => panic!("{serial} {kind:?}: unexpected {other:?}"),
            }
        }
        assert!(
            log.unfinished().count() >= 1,
            "{serial}: the loop always leaves one open"
        );
        let id = log.begin(StepKind::Reset).unwrap();
        log.end(id, &StepEnd::ok(None)).unwrap();
    }
}

fn start_as(serial: &str, host: &str, pid: u32) -> JourneyStart {
    JourneyStart {
        host: host.to_owned(),
        pid,
        ..start(serial)
    }
}

/// A pid that certainly ran and is gone: a child that was waited for.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn a_second_process_on_the_same_phone_is_refused_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    // Two handles on one file, as two processes (`run` while `bench` runs) would have.
    let bench = Journal::open(dir.path()).unwrap();
    let run = Journal::open(dir.path()).unwrap();
    let held = bench.open_journey(&start("LEASE1")).unwrap();
    held.begin(StepKind::Inspect).unwrap();
    // Same host, another (live) pid: pid 1 always exists.
    let err = run
        .open_journey(&start_as("LEASE1", "test-host", 1))
        .unwrap_err();
    assert!(matches!(err, JournalError::Busy { .. }), "{err}");
    use mi_offboard::exit::HasExit;
    assert_eq!(err.exit().code(), 3);
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "being processed by pid {} on test-host since",
            std::process::id()
        )),
        "{text}"
    );
    // Another host cannot tell whether the pid lives: a fresh heartbeat is enough.
    let other = run.open_journey(&start_as("LEASE1", "bench-2", 4242));
    assert!(matches!(other, Err(JournalError::Busy { .. })));
    // Other phones are not affected.
    run.open_journey(&start_as("LEASE2", "test-host", 1))
        .unwrap();
    let open_step = held.begin(StepKind::Inspect).unwrap();
    // Released, the journey is free, and resumed with what the holder recorded.
    held.release().unwrap();
    let taken = run
        .open_journey(&start_as("LEASE1", "test-host", 1))
        .unwrap();
    assert!(taken.resumed);
    assert_eq!(taken.id, held.id);
    assert!(
        taken.taken_over.is_none(),
        "a released lease is not a takeover"
    );
    // The former holder finds out before its next step, and writes nothing more into
    // the journey that is the new holder's now: no step end, no outcome, no closing.
    assert!(matches!(
        held.begin(StepKind::Backup),
        Err(JournalError::LeaseLost { .. })
    ));
    let lost = |r: Result<(), JournalError>| matches!(r, Err(JournalError::LeaseLost { .. }));
    assert!(lost(held.end(open_step, &StepEnd::default())));
    let done = Outcome {
        status: OutcomeStatus::Done,
        exit_code: 0,
        summary: "the old holder says done".into(),
    };
    assert!(lost(held.record_outcome(&done)));
    assert!(lost(held.close(&done)));
    taken
        .heartbeat()
        .expect("the new holder still holds the journey");
    assert!(taken.unfinished().any(|r| r.id == open_step));
}

#[test]
fn a_lease_whose_process_is_gone_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let crashed = Journal::open(dir.path()).unwrap();
    let gone = dead_pid();
    let log = crashed
        .open_journey(&start_as("LEASE3", "test-host", gone))
        .unwrap();
    log.begin(StepKind::Inspect).unwrap();
    let rerun = Journal::open(dir.path()).unwrap();
    let taken = rerun.open_journey(&start("LEASE3")).unwrap();
    assert!(taken.resumed);
    let lease = taken
        .taken_over
        .expect("the dead process's lease was taken");
    assert_eq!(lease.pid, gone);
    // The same dead pid on another host proves nothing: there only the heartbeat
    // counts, and it is fresh.
    let log = crashed
        .open_journey(&start_as("LEASE4", "bench-2", gone))
        .unwrap();
    log.begin(StepKind::Inspect).unwrap();
    assert!(matches!(
        rerun.open_journey(&start("LEASE4")),
        Err(JournalError::Busy { .. })
    ));
}

#[test]
fn closing_a_journey_frees_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let a = Journal::open(dir.path()).unwrap();
    let b = Journal::open(dir.path()).unwrap();
    let log = a.open_journey(&start("LEASE5")).unwrap();
    log.record_outcome(&outcome(OutcomeStatus::Done, 0))
        .unwrap();
    let next = b.open_journey(&start_as("LEASE5", "test-host", 1)).unwrap();
    assert!(!next.resumed);
    // An open (failed) journey keeps its lease until released.
    next.record_outcome(&outcome(OutcomeStatus::Failed, 1))
        .unwrap();
    assert!(matches!(
        a.open_journey(&start("LEASE5")),
        Err(JournalError::Busy { .. })
    ));
}
