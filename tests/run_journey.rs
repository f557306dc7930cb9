//! The journey's order, interlocks and checkpoints against a scripted phone: which steps
//! run, which are skipped on resume, which are refused, and that a journey dropped in the
//! middle of a step (as a killed process would) resumes by redoing exactly that step.

mod steps_support;

use mi_offboard::exit::Exit;
use mi_offboard::flow::journey::*;
use mi_offboard::progress::Silent;
use mi_offboard::report::journal::Journal;
use mi_offboard::report::*;
use mi_offboard::secret::{ExposeSecret, SecretString};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use steps_support::{deletion_scheduled, not_locked};
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "pw-SECRET-7f3a";

#[derive(Default)]
struct Fake {
    serial: String,
    inspection: Inspection,
    /// Steps that fail once with this exit code (then succeed).
    fail_once: Mutex<Vec<(StepKind, Exit)>>,
    /// Steps that never complete (the test drops the journey).
    hang: Mutex<Vec<StepKind>>,
    backup_failed_files: bool,
    /// What the sign-out step reads afterwards (all clear when `None`).
    accounts_after: Option<Accounts>,
    calls: Mutex<Vec<StepKind>>,
    passwords_seen: AtomicUsize,
    /// The cloud sign-in answers 20003 (Xiaomi knows no such account).
    cloud_unknown: AtomicBool,
    /// What `unaccepted_losses` answers: the backup lists files the phone would not send.
    unaccepted: Option<String>,
}

impl Fake {
    fn new(serial: &str) -> Fake {
        Fake {
            serial: serial.to_owned(),
            inspection: Inspection {
                device: Device {
                    manufacturer: Some("Xiaomi".into()),
                    model: Some("M2101K9G".into()),
                    imei: Some("861234567890123".into()),
                    ..Device::default()
                },
                blockers: vec![Blocker {
                    code: "mi_account_signed_in".into(),
                    message: "signed in to a Mi account".into(),
                }],
                accounts: Accounts {
                    mi_account_signed_in: true,
                    mi_account_id: Some("6123456789".into()),
                    google_accounts: 0,
                    frp_armed: false,
                },
            },
            ..Fake::default()
        }
    }

    fn fail_once_at(&self, kind: StepKind, exit: Exit) {
        self.fail_once.lock().unwrap().push((kind, exit));
    }

    fn calls(&self) -> Vec<StepKind> {
        self.calls.lock().unwrap().clone()
    }

    async fn enter<T>(&self, kind: StepKind, value: T) -> StepOutput<T> {
        self.calls.lock().unwrap().push(kind);
        if self.hang.lock().unwrap().contains(&kind) {
            std::future::pending::<()>().await;
        }
        let mut f = self.fail_once.lock().unwrap();
        if let Some(pos) = f.iter().position(|(k, _)| *k == kind) {
            let (_, exit) = f.remove(pos);
            return Err(StepError::new(
                exit,
                format!("{} went wrong", kind.as_str()),
            ));
        }
        Ok(Done::new(value))
    }

    fn saw(&self, pw: &SecretString) {
        assert_eq!(pw.expose_secret(), PASSWORD);
        self.passwords_seen.fetch_add(1, Ordering::SeqCst);
    }
}

impl Steps for Fake {
    fn serial(&self) -> &str {
        &self.serial
    }
    async fn inspect(&self) -> StepOutput<Inspection> {
        self.enter(StepKind::Inspect, self.inspection.clone()).await
    }
    async fn backup(&self, dest: &Path) -> StepOutput<BackupSummary> {
        assert!(dest.ends_with("backup"));
        let failed = if self.backup_failed_files {
            vec![FailedFile {
                path: "DCIM/x.jpg".into(),
                reason: "hash differs".into(),
            }]
        } else {
            vec![]
        };
        self.enter(
            StepKind::Backup,
            BackupSummary {
                location: "backup".into(),
                files: 3,
                bytes: 300,
                verified: 3 - failed.len() as u64,
                failed,
                manifest_sha256: Some("ab".repeat(32)),
                notes: vec![],
            },
        )
        .await
    }
    async fn unaccepted_losses(&self, _dest: &Path) -> Option<String> {
        self.unaccepted.clone()
    }
    async fn signout(&self, password: &SecretString) -> StepOutput<Accounts> {
        self.saw(password);
        let after = self.accounts_after.clone().unwrap_or_default();
        self.enter(StepKind::Signout, after).await
    }
    async fn reset(
        &self,
        password: Option<&SecretString>,
        backup: Option<&Path>,
        waiver: Option<&Waiver>,
    ) -> StepOutput<()> {
        assert!(backup.is_some() != waiver.is_some(), "backup xor waiver");
        if let Some(p) = password {
            self.saw(p);
        }
        self.enter(StepKind::Reset, ()).await
    }
    async fn cloud_delete(&self, user: &str, password: &SecretString) -> StepOutput<CloudAccount> {
        self.saw(password);
        if self.cloud_unknown.load(Ordering::SeqCst) {
            self.calls.lock().unwrap().push(StepKind::CloudDelete);
            return Err(StepError::new(
                Exit::Credentials,
                format!("Xiaomi knows no account {user:?} (or it is already being deleted)"),
            )
            .because(StepCause::UnknownAccount));
        }
        self.enter(StepKind::CloudDelete, deletion_scheduled(user))
            .await
    }
    async fn lock_status(&self, _imei: &str) -> StepOutput<LockStatus> {
        self.enter(StepKind::LockStatus, not_locked()).await
    }
}

fn env<'a>(journal: &'a Journal, dest: &'a Path, stop: CancellationToken) -> JourneyEnv<'a> {
    JourneyEnv {
        journal,
        dest,
        mode: "run",
        host: "test",
        issued_by: Some("Test shop".into()),
        reporter: &Silent,
        stop,
    }
}

fn secrets() -> Secrets {
    Secrets {
        mi_password: Some(SecretString::from(PASSWORD)),
    }
}

/// Prepares a journey with no stop requested and no plan hint.
async fn prepare_fresh<'a>(
    fake: &'a Fake,
    journal: &'a Journal,
    dest: &'a Path,
) -> Prepared<'a, Fake> {
    prepare(fake, env(journal, dest, CancellationToken::new()), &[])
        .await
        .unwrap()
}

async fn run_once(fake: &Fake, journal: &Journal, dest: &Path, delete: bool) -> Report {
    let p = prepare_fresh(fake, journal, dest).await;
    let i = p.inspection.clone().unwrap();
    let plan = plan_for_run(&i, None, delete.then_some("6123456789")).unwrap();
    p.execute(&plan, &secrets()).await.unwrap()
}

/// Runs a journey whose `step` never ends and drops it there, as a killed process would;
/// afterwards the step no longer hangs.
async fn die_during(fake: &Fake, dest: &Path, step: StepKind, delete: bool) {
    fake.hang.lock().unwrap().push(step);
    {
        let journal = Journal::open(dest).unwrap();
        let fut = run_once(fake, &journal, dest, delete);
        let r = tokio::time::timeout(std::time::Duration::from_millis(300), fut).await;
        assert!(r.is_err(), "the journey ended although {step:?} never does");
    }
    fake.hang.lock().unwrap().clear();
}

fn all_text_under(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push_str(&String::from_utf8_lossy(&std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// Files the phone would not send, their loss not accepted: the reset would be refused,
/// so the journey stops before the sign-out and the phone keeps its account.
#[tokio::test]
async fn unaccepted_lost_files_stop_the_journey_before_the_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake {
        unaccepted: Some("1 file could not be read and will be lost: DCIM/x.jpg".into()),
        ..Fake::new("SER-LOST")
    };
    let r = run_once(&fake, &journal, dir.path(), false).await;
    assert_eq!(fake.calls(), vec![StepKind::Inspect, StepKind::Backup]);
    assert_eq!(fake.passwords_seen.load(Ordering::SeqCst), 0);
    assert_eq!(r.outcome.exit_code, 3, "{:?}", r.outcome);
    assert!(r.outcome.summary.contains("DCIM/x.jpg"), "{:?}", r.outcome);
}

#[tokio::test]
async fn whole_journey_in_order_with_report_and_no_secret_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-A");
    let r = run_once(&fake, &journal, dir.path(), true).await;
    assert_eq!(
        fake.calls(),
        vec![
            StepKind::Inspect,
            StepKind::Backup,
            StepKind::Signout,
            StepKind::Reset,
            StepKind::CloudDelete,
            StepKind::LockStatus
        ]
    );
    assert_eq!(r.outcome.status, OutcomeStatus::Done, "{:?}", r.outcome);
    assert_eq!(r.outcome.exit_code, 0);
    assert_eq!(r.steps.len(), 6);
    assert!(r.steps.iter().all(|s| s.result == StepResult::Ok));
    assert!(r.backup.is_some() && r.cloud_account.is_some() && r.lock_status.is_some());
    assert_eq!(r.accounts_after, Some(Accounts::default()));
    assert_eq!(r.issued_by.as_deref(), Some("Test shop"));
    // Reset runs while the account is already signed out: no password for it.
    assert_eq!(fake.passwords_seen.load(Ordering::SeqCst), 2);
    let on_disk: Report =
        serde_json::from_slice(&std::fs::read(dir.path().join("SER-A/report.json")).unwrap())
            .unwrap();
    assert_eq!(on_disk, r);
    assert!(dir.path().join("SER-A/report.html").exists());
    drop(journal);
    let all = all_text_under(dir.path());
    assert!(
        !all.contains(PASSWORD),
        "the password reached a file under DIR"
    );
    // The journey is closed: the same phone next time starts afresh.
    let journal = Journal::open(dir.path()).unwrap();
    let h = journal.history().unwrap();
    assert_eq!(h.len(), 1);
    assert!(h[0].ended_at.is_some());
}

#[tokio::test]
async fn lost_phone_resumes_without_redoing_finished_steps() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-B");
    fake.fail_once_at(StepKind::Signout, Exit::PhoneLost);
    let first = run_once(&fake, &journal, dir.path(), false).await;
    assert_eq!(first.outcome.status, OutcomeStatus::Interrupted);
    assert_eq!(first.outcome.exit_code, 5);
    assert_eq!(first.steps.last().unwrap().result, StepResult::Interrupted);

    let second = run_once(&fake, &journal, dir.path(), false).await;
    assert_eq!(
        second.outcome.status,
        OutcomeStatus::Done,
        "{:?}",
        second.outcome
    );
    // Backup ran once; inspect again (the same phone?); sign-out twice; reset once.
    assert_eq!(
        fake.calls(),
        vec![
            StepKind::Inspect,
            StepKind::Backup,
            StepKind::Signout,
            StepKind::Inspect,
            StepKind::Signout,
            StepKind::Reset
        ]
    );
    // The resumed report still has the backup that the first run made.
    assert!(second.backup.is_some());
    let results: Vec<_> = second.steps.iter().map(|s| (s.step, s.result)).collect();
    assert_eq!(
        results,
        vec![
            (StepKind::Inspect, StepResult::Ok),
            (StepKind::Backup, StepResult::Ok),
            (StepKind::Signout, StepResult::Interrupted),
            (StepKind::Inspect, StepResult::Ok),
            (StepKind::Signout, StepResult::Ok),
            (StepKind::Reset, StepResult::Ok),
        ]
    );
}

#[tokio::test]
async fn journey_dropped_mid_step_redoes_exactly_that_step() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new("SER-C");
    // The backup never ends: the "process" dies here (the future is dropped).
    die_during(&fake, dir.path(), StepKind::Backup, false).await;
    let journal = Journal::open(dir.path()).unwrap();
    let r = run_once(&fake, &journal, dir.path(), false).await;
    assert_eq!(r.outcome.status, OutcomeStatus::Done);
    assert_eq!(
        fake.calls(),
        vec![
            StepKind::Inspect,
            StepKind::Backup,
            StepKind::Inspect,
            StepKind::Backup,
            StepKind::Signout,
            StepKind::Reset
        ]
    );
    assert_eq!(r.steps[1].result, StepResult::Unfinished);
    assert!(
        r.warnings.iter().any(|w| w.contains("redone")),
        "{:?}",
        r.warnings
    );
}

#[tokio::test]
async fn google_account_is_refused_and_the_phone_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let mut fake = Fake::new("SER-D");
    fake.inspection.blockers.push(Blocker {
        code: "frp_armed".into(),
        message: "Google account with a screen lock".into(),
    });
    fake.inspection.accounts.google_accounts = 1;
    fake.inspection.accounts.frp_armed = true;
    let p = prepare_fresh(&fake, &journal, dir.path()).await;
    let i = p.inspection.clone().unwrap();
    let refusal = plan_for_run(&i, None, None).unwrap_err();
    assert_eq!(
        refusal.reasons,
        vec!["Google account with a screen lock".to_owned()]
    );
    let r = p.refuse(&refusal).unwrap();
    assert_eq!(fake.calls(), vec![StepKind::Inspect]);
    assert_eq!(r.outcome.status, OutcomeStatus::OwnerActionNeeded);
    assert_eq!(r.outcome.exit_code, 3);
    assert!(r.outcome.summary.contains("Google account"));
    // Closed: the next time the owner brings it, it is inspected again.
    let again = prepare_fresh(&fake, &journal, dir.path()).await;
    assert!(!again.resumed());
    assert_eq!(fake.calls(), vec![StepKind::Inspect, StepKind::Inspect]);
}

/// Regression: the sign-out step's own reading of the accounts once ignored a lock it
/// could not read, and the journey did not look at that reading before the reset.
#[tokio::test]
async fn journey_phone_with_google_account_whose_lock_cannot_be_read_is_refused_reset() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let mut fake = Fake::new("SER-G");
    // Seen only after sign-out: one Google account, FRP armed by the unreadable lock.
    fake.accounts_after = Some(Accounts {
        google_accounts: 1,
        frp_armed: true,
        ..Accounts::default()
    });
    let r = run_once(&fake, &journal, dir.path(), false).await;
    assert_reset_refused(&fake, &r);
}

#[tokio::test]
async fn reset_is_refused_when_the_backup_is_not_fully_verified() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let mut fake = Fake::new("SER-E");
    fake.backup_failed_files = true;
    let r = run_once(&fake, &journal, dir.path(), false).await;
    assert_reset_refused(&fake, &r);
}

/// The phone was never asked to reset, and the report ends with the refused reset (exit 3).
fn assert_reset_refused(fake: &Fake, r: &Report) {
    assert!(
        !fake.calls().contains(&StepKind::Reset),
        "{:?}",
        fake.calls()
    );
    assert_eq!(r.outcome.exit_code, 3);
    let last = r.steps.last().unwrap();
    assert_eq!(last.step, StepKind::Reset);
    assert_eq!(last.result, StepResult::Refused);
}

#[tokio::test]
async fn waiver_replaces_the_backup_and_is_on_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-F");
    let p = prepare_fresh(&fake, &journal, dir.path()).await;
    let plan = plan_for_run(
        p.inspection.as_ref().unwrap(),
        Some("customer declined"),
        None,
    )
    .unwrap();
    let r = p.execute(&plan, &secrets()).await.unwrap();
    assert!(!fake.calls().contains(&StepKind::Backup));
    assert_eq!(r.waiver.as_ref().unwrap().reason, "customer declined");
    assert_eq!(r.steps[1].result, StepResult::Skipped);
    assert_eq!(r.outcome.status, OutcomeStatus::Done);
}

#[tokio::test]
async fn journey_missing_password_stops_before_sign_out_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-G");
    let p = prepare_fresh(&fake, &journal, dir.path()).await;
    let plan = plan_for_run(p.inspection.as_ref().unwrap(), None, None).unwrap();
    let r = p.execute(&plan, &Secrets::default()).await.unwrap();
    assert_eq!(fake.calls(), vec![StepKind::Inspect, StepKind::Backup]);
    // Nothing was refused: an input is missing, which is a usage error.
    assert_eq!(r.outcome.exit_code, Exit::Usage.code());
    assert_eq!(r.steps.last().unwrap().exit_code, Some(2));
}

#[tokio::test]
async fn stop_token_lets_no_new_step_start() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-H");
    let stop = CancellationToken::new();
    let p = prepare(&fake, env(&journal, dir.path(), stop.clone()), &[])
        .await
        .unwrap();
    let plan = plan_for_run(p.inspection.as_ref().unwrap(), None, None).unwrap();
    stop.cancel();
    let r = p.execute(&plan, &secrets()).await.unwrap();
    assert_eq!(fake.calls(), vec![StepKind::Inspect]);
    assert_eq!(r.outcome.status, OutcomeStatus::Interrupted);
    // The journey is open; a later run resumes it.
    let again = prepare_fresh(&fake, &journal, dir.path()).await;
    assert!(again.resumed());
}

#[tokio::test]
async fn failed_inspection_is_reported_and_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-I");
    fake.fail_once_at(StepKind::Inspect, Exit::PhoneLost);
    let p = prepare_fresh(&fake, &journal, dir.path()).await;
    assert!(p.inspection.is_err());
    let r = p.inspect_failed().unwrap();
    assert_eq!(r.outcome.exit_code, 5);
    let r = run_once(&fake, &journal, dir.path(), false).await;
    assert_eq!(r.outcome.status, OutcomeStatus::Done);
}

fn with_hw_serial(serial: &str, hw: &str) -> Fake {
    let mut f = Fake::new(serial);
    f.inspection.device.hardware_serial = Some(hw.to_owned());
    f
}

/// Phone A (ro.serialno AAA, at 127.0.0.1:5555) is backed up, then lost during its
/// sign-out, leaving its journey open.
async fn phone_a_lost_in_signout(journal: &Journal, dest: &Path) -> Fake {
    let a = with_hw_serial("127.0.0.1:5555", "AAA");
    a.fail_once_at(StepKind::Signout, Exit::PhoneLost);
    let first = run_once(&a, journal, dest, false).await;
    assert_eq!(first.outcome.status, OutcomeStatus::Interrupted);
    a
}

#[tokio::test]
async fn journey_of_another_phone_under_the_same_adb_serial_is_not_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    phone_a_lost_in_signout(&journal, dir.path()).await;
    // Phone B takes A's address: it must get its own backup, not A's.
    let b = with_hw_serial("127.0.0.1:5555", "BBB");
    let r = run_once(&b, &journal, dir.path(), false).await;
    assert_eq!(r.outcome.status, OutcomeStatus::Done, "{:?}", r.outcome);
    assert_eq!(
        b.calls(),
        vec![
            StepKind::Inspect,
            StepKind::Backup,
            StepKind::Signout,
            StepKind::Reset
        ]
    );
    assert_eq!(r.device.hardware_serial.as_deref(), Some("BBB"));
    assert!(
        r.steps.iter().all(|s| s.result == StepResult::Ok),
        "only B's own steps are on its report: {:?}",
        r.steps
    );
    assert!(r.warnings.iter().any(|w| w.contains("different phone")));
    let h = journal.history().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0].status, Some(OutcomeStatus::Abandoned));
    assert!(h[0].ended_at.is_some());
    assert!(
        h[0].summary
            .as_deref()
            .unwrap()
            .contains("abandoned: another phone took this serial")
    );
    assert_eq!(h[0].hardware_serial.as_deref(), Some("AAA"));
    assert_eq!(h[1].hardware_serial.as_deref(), Some("BBB"));
    assert_eq!(h[1].imei.as_deref(), Some("861234567890123"));
    assert_eq!(h[1].status, Some(OutcomeStatus::Done));
}

#[tokio::test]
async fn journey_of_the_same_phone_resumes_after_its_serial_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let a = phone_a_lost_in_signout(&journal, dir.path()).await;
    let r = run_once(&a, &journal, dir.path(), false).await;
    assert_eq!(r.outcome.status, OutcomeStatus::Done);
    assert_eq!(
        a.calls().iter().filter(|k| **k == StepKind::Backup).count(),
        1,
        "the same phone keeps its backup"
    );
    assert_eq!(journal.history().unwrap().len(), 1);
}

#[tokio::test]
async fn journey_without_imei_ends_done_unverified_and_never_says_not_locked() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let mut fake = Fake::new("SER-NOIMEI");
    fake.inspection.device.imei = None;
    let r = run_once(&fake, &journal, dir.path(), true).await;
    assert_eq!(r.outcome.status, OutcomeStatus::DoneUnverified);
    assert_eq!(r.outcome.exit_code, 1);
    assert!(
        !r.outcome.summary.contains("not locked"),
        "{}",
        r.outcome.summary
    );
    assert!(
        r.outcome.summary.contains(
            "ctivation lock not checked (IMEI unreadable: check it by hand with \
             `mi-offboard cloud lock-status --imei …`)"
        ),
        "{}",
        r.outcome.summary
    );
    assert!(r.lock_status.is_none());
    let lock = r.steps.last().unwrap();
    assert_eq!(
        (lock.step, lock.result),
        (StepKind::LockStatus, StepResult::Failed)
    );
    assert!(!fake.calls().contains(&StepKind::LockStatus));
    let html = std::fs::read_to_string(dir.path().join("SER-NOIMEI/report.html")).unwrap();
    assert!(html.contains("NOT verified"));
    // Nothing is left for a rerun to do: the journey is closed.
    assert!(journal.history().unwrap()[0].ended_at.is_some());
}

#[tokio::test]
async fn journey_with_a_checked_lock_says_not_locked() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-LOCK");
    let r = run_once(&fake, &journal, dir.path(), true).await;
    assert_eq!(r.outcome.status, OutcomeStatus::Done);
    assert!(
        r.outcome.summary.ends_with("not locked."),
        "{}",
        r.outcome.summary
    );
}

#[tokio::test]
async fn journey_interrupted_in_cloud_delete_counts_20003_as_scheduled() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Fake::new("SER-20003");
    // The process dies after asking Xiaomi to delete, before recording it.
    die_during(&fake, dir.path(), StepKind::CloudDelete, true).await;
    fake.cloud_unknown.store(true, Ordering::SeqCst);
    let journal = Journal::open(dir.path()).unwrap();
    let r = run_once(&fake, &journal, dir.path(), true).await;
    assert_eq!(r.outcome.status, OutcomeStatus::Done, "{:?}", r.outcome);
    let cloud = r
        .steps
        .iter()
        .rev()
        .find(|s| s.step == StepKind::CloudDelete)
        .unwrap();
    assert_eq!(cloud.result, StepResult::Ok);
    assert!(
        cloud
            .note
            .as_deref()
            .unwrap()
            .contains("deletion already scheduled (Xiaomi no longer knows the account)")
    );
    assert_eq!(r.cloud_account.as_ref().unwrap().status, "scheduled");
    assert_eq!(fake.calls().last(), Some(&StepKind::LockStatus));
}

#[tokio::test]
async fn journey_20003_without_an_interrupted_deletion_is_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-20003B");
    fake.cloud_unknown.store(true, Ordering::SeqCst);
    let r = run_once(&fake, &journal, dir.path(), true).await;
    assert_eq!(r.outcome.status, OutcomeStatus::Failed);
    assert_eq!(r.outcome.exit_code, 4);
    assert!(r.cloud_account.is_none());
    assert!(!fake.calls().contains(&StepKind::LockStatus));
    // The phone is reset and gone: the operator is told how to finish by hand.
    assert!(
        r.outcome
            .summary
            .contains("mi-offboard cloud delete --user"),
        "{}",
        r.outcome.summary
    );
}

#[tokio::test]
async fn journey_on_a_phone_another_process_drives_is_refused_with_exit_3() {
    use mi_offboard::exit::HasExit;
    use mi_offboard::report::journal::JourneyStart;
    let dir = tempfile::tempdir().unwrap();
    let other = Journal::open(dir.path()).unwrap();
    // Another live process (pid 1 always exists) holds the phone's journey.
    let held = other
        .open_journey(&JourneyStart {
            serial: "SER-BUSY".into(),
            mode: "bench".into(),
            plan: vec![],
            host: "test".into(),
            pid: 1,
        })
        .unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let fake = Fake::new("SER-BUSY");
    let err = match prepare(
        &fake,
        env(&journal, dir.path(), CancellationToken::new()),
        &[],
    )
    .await
    {
        Ok(_) => panic!("a phone another process holds must be refused"),
        Err(e) => e,
    };
    assert_eq!(err.exit(), Exit::Refused);
    assert!(
        err.to_string().contains("being processed by pid 1 on test"),
        "{err}"
    );
    assert!(fake.calls().is_empty(), "the phone was not touched");
    // Once the other process lets go, the journey runs; and while it runs, this one
    // holds the phone.
    held.release().unwrap();
    let p = prepare_fresh(&fake, &journal, dir.path()).await;
    let second = other.open_journey(&JourneyStart {
        serial: "SER-BUSY".into(),
        mode: "bench".into(),
        plan: vec![],
        host: "test".into(),
        pid: 1,
    });
    assert!(second.is_err());
    drop(p);
    // Dropping the prepared journey gives the lease back.
    assert!(
        other
            .open_journey(&JourneyStart {
                serial: "SER-BUSY".into(),
                mode: "bench".into(),
                plan: vec![],
                host: "test".into(),
                pid: 1,
            })
            .is_ok()
    );
}
