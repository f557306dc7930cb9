//! The bench loop with scripted phones and a scripted device list: one task per phone,
//! the refurbisher policy (Google phone flagged and untouched), a phone unplugged in
//! the middle of a step ends only its own journey and resumes from its checkpoint when
//! plugged back, an unauthorized phone is announced once and starts when allowed, a finished phone left plugged in is not processed twice, Ctrl-C lets
//! the running step finish and starts no new one.

mod steps_support;

use mi_offboard::bench::intake::Intake;
use mi_offboard::bench::policy::Policy;
use mi_offboard::bench::run::*;
use mi_offboard::exit::Exit;
use mi_offboard::flow::journey::*;
use mi_offboard::progress::Reporter;
use mi_offboard::report::journal::Journal;
use mi_offboard::report::*;
use mi_offboard::secret::SecretString;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use steps_support::{deletion_scheduled, not_locked};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// A phone lost during its reset, then plugged back: inspected again (the same phone?),
/// its journey resumes at the reset.
const RESUMED_AT_RESET: [StepKind; 5] = [
    StepKind::Inspect,
    StepKind::Reset,
    StepKind::Inspect,
    StepKind::Reset,
    StepKind::LockStatus,
];

/// What a scripted phone does; shared by every journey of that serial.
#[derive(Default)]
struct Script {
    inspection: Inspection,
    calls: Mutex<Vec<StepKind>>,
    /// When set, this step waits for `release` and then ends with the given exit
    /// (PhoneLost = the phone was pulled out) — once.
    gate: Mutex<Option<(StepKind, Exit)>>,
    entered: Notify,
    release: Notify,
}

impl Script {
    fn calls(&self) -> Vec<StepKind> {
        self.calls.lock().unwrap().clone()
    }
}

struct Phone {
    serial: String,
    script: Arc<Script>,
}

impl Phone {
    async fn enter<T>(&self, kind: StepKind, value: T) -> StepOutput<T> {
        self.script.calls.lock().unwrap().push(kind);
        let gated = {
            let g = self.script.gate.lock().unwrap();
            g.filter(|(k, _)| *k == kind)
        };
        if let Some((_, exit)) = gated {
            self.script.entered.notify_one();
            self.script.release.notified().await;
            *self.script.gate.lock().unwrap() = None;
            if exit != Exit::Ok {
                return Err(StepError::new(
                    exit,
                    format!("{} lost the phone", kind.as_str()),
                ));
            }
        }
        Ok(Done::new(value))
    }
}

impl Steps for Phone {
    fn serial(&self) -> &str {
        &self.serial
    }
    async fn inspect(&self) -> StepOutput<Inspection> {
        self.enter(StepKind::Inspect, self.script.inspection.clone())
            .await
    }
    async fn backup(&self, _dest: &Path) -> StepOutput<BackupSummary> {
        self.enter(StepKind::Backup, BackupSummary::default()).await
    }
    async fn signout(&self, _password: &SecretString) -> StepOutput<Accounts> {
        self.enter(StepKind::Signout, Accounts::default()).await
    }
    async fn reset(
        &self,
        _password: Option<&SecretString>,
        _backup: Option<&Path>,
        _waiver: Option<&Waiver>,
    ) -> StepOutput<()> {
        self.enter(StepKind::Reset, ()).await
    }
    async fn cloud_delete(&self, user: &str, _password: &SecretString) -> StepOutput<CloudAccount> {
        self.enter(StepKind::CloudDelete, deletion_scheduled(user))
            .await
    }
    async fn lock_status(&self, _imei: &str) -> StepOutput<LockStatus> {
        self.enter(StepKind::LockStatus, not_locked()).await
    }
}

struct Factory(HashMap<String, Arc<Script>>);

impl PhoneFactory for Factory {
    type Phone = Phone;
    fn phone(&self, serial: &str) -> Phone {
        Phone {
            serial: serial.to_owned(),
            script: self.0[serial].clone(),
        }
    }
}

struct ListWatch(mpsc::UnboundedReceiver<Vec<Seen>>);

impl Watch for ListWatch {
    async fn next(&mut self) -> Result<Vec<Seen>, StepError> {
        match self.0.recv().await {
            Some(list) => Ok(list),
            None => std::future::pending().await,
        }
    }
}

#[derive(Default)]
struct Lines {
    finished: Mutex<Vec<(String, bool)>>,
    plugged: Mutex<Vec<String>>,
    unauthorized: Mutex<Vec<String>>,
    done: Notify,
}

impl Reporter for Lines {
    fn finish(&self, serial: &str, ok: bool, _summary: &str) {
        self.finished.lock().unwrap().push((serial.to_owned(), ok));
        self.done.notify_waiters();
    }
}

impl BenchEvents for Lines {
    fn plugged(&self, serial: &str, model: Option<&str>) {
        assert_eq!(model, Some("M2101K9G"));
        self.plugged.lock().unwrap().push(serial.to_owned());
    }
    fn unauthorized(&self, serial: &str, model: Option<&str>) {
        assert_eq!(model, Some("M2101K9G"));
        self.unauthorized.lock().unwrap().push(serial.to_owned());
        self.done.notify_waiters();
    }
}

impl Lines {
    async fn wait_unauthorized(&self, serial: &str) {
        loop {
            let notified = self.done.notified();
            if self
                .unauthorized
                .lock()
                .unwrap()
                .iter()
                .any(|s| s == serial)
            {
                return;
            }
            notified.await;
        }
    }

    async fn wait_finished(&self, serial: &str, count: usize) {
        loop {
            let notified = self.done.notified();
            let n = self
                .finished
                .lock()
                .unwrap()
                .iter()
                .filter(|(s, _)| s == serial)
                .count();
            if n >= count {
                return;
            }
            notified.await;
        }
    }
}

fn clean() -> Inspection {
    Inspection {
        device: Device {
            imei: Some("861234567890123".into()),
            ..Device::default()
        },
        ..Inspection::default()
    }
}

fn google() -> Inspection {
    let mut i = clean();
    i.blockers.push(Blocker {
        code: "google_account".into(),
        message: "signed in to a Google account".into(),
    });
    i.accounts.google_accounts = 1;
    i
}

fn seen(serials: &[&str]) -> Vec<Seen> {
    serials
        .iter()
        .map(|s| Seen {
            serial: s.to_string(),
            model: Some("M2101K9G".into()),
            online: true,
            unauthorized: false,
        })
        .collect()
}

fn bench_config(dest: &Path) -> BenchConfig {
    BenchConfig {
        dest: dest.to_owned(),
        policy: Policy::default(),
        intake: Intake::default(),
        until_idle: Some(Duration::from_millis(300)),
        host: "bench-test".into(),
    }
}

fn config(dest: &Path) -> Arc<BenchConfig> {
    Arc::new(bench_config(dest))
}

/// A bench over one scripted phone (SERIAL), fed by the returned sender.
fn one_phone_bench(
    dir: &Path,
    serial: &str,
    script: &Arc<Script>,
    cfg: Arc<BenchConfig>,
    stop: CancellationToken,
) -> (
    mpsc::UnboundedSender<Vec<Seen>>,
    Arc<Lines>,
    tokio::task::JoinHandle<BenchSummary>,
) {
    let scripts: HashMap<String, Arc<Script>> = [(serial.to_owned(), script.clone())].into();
    let (tx, rx) = mpsc::unbounded_channel();
    let lines = Arc::new(Lines::default());
    let bench = tokio::spawn(run(
        ListWatch(rx),
        Arc::new(Factory(scripts)),
        cfg,
        Journal::open(dir).unwrap(),
        lines.clone(),
        lines.clone(),
        stop,
    ));
    (tx, lines, bench)
}

/// [`one_phone_bench`] with the test config and no Ctrl-C.
fn plain_bench(
    dir: &Path,
    serial: &str,
    script: &Arc<Script>,
) -> (
    mpsc::UnboundedSender<Vec<Seen>>,
    Arc<Lines>,
    tokio::task::JoinHandle<BenchSummary>,
) {
    one_phone_bench(dir, serial, script, config(dir), CancellationToken::new())
}

fn clean_script() -> Arc<Script> {
    Arc::new(Script {
        inspection: clean(),
        ..Script::default()
    })
}

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn bench_processes_flags_and_resumes_an_unplugged_phone() {
    let dir = tempfile::tempdir().unwrap();
    let scripts: HashMap<String, Arc<Script>> = [("A", clean()), ("G", google()), ("U", clean())]
        .into_iter()
        .map(|(s, i)| {
            (
                s.to_owned(),
                Arc::new(Script {
                    inspection: i,
                    ..Script::default()
                }),
            )
        })
        .collect();
    let u = scripts["U"].clone();
    *u.gate.lock().unwrap() = Some((StepKind::Reset, Exit::PhoneLost));
    let (tx, rx) = mpsc::unbounded_channel();
    let lines = Arc::new(Lines::default());
    let journal = Journal::open(dir.path()).unwrap();
    let bench = tokio::spawn(run(
        ListWatch(rx),
        Arc::new(Factory(scripts.clone())),
        config(dir.path()),
        journal.clone(),
        lines.clone(),
        lines.clone(),
        CancellationToken::new(),
    ));
    tx.send(seen(&["A", "G", "U"])).unwrap();
    tokio::time::timeout(WAIT, u.entered.notified())
        .await
        .unwrap();
    // U is pulled out in the middle of its reset.
    tx.send(seen(&["A", "G"])).unwrap();
    u.release.notify_one();
    tokio::time::timeout(WAIT, lines.wait_finished("U", 1))
        .await
        .unwrap();
    tokio::time::timeout(WAIT, lines.wait_finished("A", 1))
        .await
        .unwrap();
    // A stays plugged in: a new list must not start it again. U comes back.
    tx.send(seen(&["A", "G", "U"])).unwrap();
    let summary = tokio::time::timeout(WAIT, bench).await.unwrap().unwrap();

    let a = scripts["A"].calls();
    assert_eq!(
        a,
        vec![StepKind::Inspect, StepKind::Reset, StepKind::LockStatus]
    );
    let g = scripts["G"].calls();
    assert_eq!(
        g,
        vec![StepKind::Inspect],
        "the Google phone must be left untouched"
    );
    let uc = u.calls();
    assert_eq!(
        uc, RESUMED_AT_RESET,
        "U is inspected again (same phone?) and resumes at its reset"
    );

    let by = |s: &str| -> Vec<OutcomeStatus> {
        summary
            .phones
            .iter()
            .filter(|p| p.serial == s)
            .map(|p| p.status)
            .collect()
    };
    assert_eq!(by("A"), vec![OutcomeStatus::Done]);
    assert_eq!(by("G"), vec![OutcomeStatus::OwnerActionNeeded]);
    assert_eq!(
        by("U"),
        vec![OutcomeStatus::Interrupted, OutcomeStatus::Done]
    );
    assert_eq!(summary.exit(), Exit::Refused);
    assert!(!summary.stopped);

    let g_report: Report =
        serde_json::from_slice(&std::fs::read(dir.path().join("G/report.json")).unwrap()).unwrap();
    assert!(
        g_report.outcome.summary.contains("Google account"),
        "{}",
        g_report.outcome.summary
    );
    let u_report: Report =
        serde_json::from_slice(&std::fs::read(dir.path().join("U/report.json")).unwrap()).unwrap();
    let results: Vec<_> = u_report.steps.iter().map(|s| (s.step, s.result)).collect();
    assert!(results.contains(&(StepKind::Reset, StepResult::Interrupted)));
    assert_eq!(u_report.waiver.as_ref().unwrap().given_by, "policy");
    assert_eq!(
        journal.history().unwrap().len(),
        3,
        "U's two runs are one journey"
    );
}

#[tokio::test]
async fn ctrl_c_lets_the_running_step_finish_and_starts_no_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let script = clean_script();
    *script.gate.lock().unwrap() = Some((StepKind::Reset, Exit::Ok));
    let stop = CancellationToken::new();
    let cfg = Arc::new(BenchConfig {
        until_idle: None,
        ..Arc::try_unwrap(config(dir.path())).ok().unwrap()
    });
    let (tx, _lines, bench) = one_phone_bench(dir.path(), "P", &script, cfg, stop.clone());
    tx.send(seen(&["P"])).unwrap();
    tokio::time::timeout(WAIT, script.entered.notified())
        .await
        .unwrap();
    stop.cancel();
    // A phone plugged in after Ctrl-C is not started.
    tx.send(seen(&["P", "Q"])).unwrap();
    script.release.notify_one();
    let summary = tokio::time::timeout(WAIT, bench).await.unwrap().unwrap();
    assert!(summary.stopped);
    assert_eq!(
        script.calls(),
        vec![StepKind::Inspect, StepKind::Reset],
        "the reset finished; the lock check did not start"
    );
    assert_eq!(summary.phones.len(), 1);
    assert_eq!(summary.phones[0].status, OutcomeStatus::Interrupted);
    assert_eq!(summary.exit(), Exit::PhoneLost);
}

#[tokio::test]
async fn phone_back_before_its_journey_noticed_the_unplug_resumes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let script = clean_script();
    *script.gate.lock().unwrap() = Some((StepKind::Reset, Exit::PhoneLost));
    let (tx, _lines, bench) = plain_bench(dir.path(), "U", &script);
    tx.send(seen(&["U"])).unwrap();
    tokio::time::timeout(WAIT, script.entered.notified())
        .await
        .unwrap();
    // Out and back in while the reset step is still waiting on the phone.
    let mut offline = seen(&["U"]);
    offline[0].online = false;
    tx.send(offline).unwrap();
    tx.send(seen(&["U"])).unwrap();
    // Only now does the step notice that the phone was gone.
    script.release.notify_one();
    let summary = tokio::time::timeout(WAIT, bench).await.unwrap().unwrap();
    let statuses: Vec<_> = summary.phones.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses,
        vec![OutcomeStatus::Interrupted, OutcomeStatus::Done]
    );
    assert_eq!(script.calls(), RESUMED_AT_RESET);
}

/// An owner's entry that no phone matched (a typo in the serial) is named at the end,
/// so the operator finds it before the owner leaves.
#[tokio::test]
async fn intake_entries_no_phone_matched_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let intake = Intake::parse(
        "[[phone]]\nserial = \"M\"\n\n[[phone]]\nserial = \"MTYPO\"\nimei = \"490154203237518\"\n",
        Path::new("/nonexistent/intake.toml"),
    )
    .unwrap();
    let cfg = Arc::new(BenchConfig {
        intake,
        ..bench_config(dir.path())
    });
    let (tx, _lines, bench) = one_phone_bench(
        dir.path(),
        "M",
        &clean_script(),
        cfg,
        CancellationToken::new(),
    );
    tx.send(seen(&["M"])).unwrap();
    let summary = tokio::time::timeout(WAIT, bench).await.unwrap().unwrap();
    assert_eq!(summary.phones.len(), 1);
    assert_eq!(summary.phones[0].intake_entry, Some(0));
    assert_eq!(
        summary.intake_unmatched,
        vec!["serial MTYPO, IMEI 490154203237518".to_owned()]
    );
}

/// The owner's entry names this phone's serial but another IMEI (their dual-SIM phone's
/// second one, say): the phone is neither run with the owner's choices nor as if it had
/// no entry (the policy's defaults would erase it unasked); it waits for the operator.
#[tokio::test]
async fn a_serial_match_with_another_imei_is_refused_and_counted_as_matched() {
    let dir = tempfile::tempdir().unwrap();
    let intake = Intake::parse(
        "[[phone]]\nserial = \"M\"\nimei = \"490154203237518\"\n",
        Path::new("/nonexistent/intake.toml"),
    )
    .unwrap();
    let cfg = Arc::new(BenchConfig {
        intake,
        ..bench_config(dir.path())
    });
    let script = clean_script();
    let (tx, _lines, bench) =
        one_phone_bench(dir.path(), "M", &script, cfg, CancellationToken::new());
    tx.send(seen(&["M"])).unwrap();
    let summary = tokio::time::timeout(WAIT, bench).await.unwrap().unwrap();
    assert_eq!(script.calls(), vec![StepKind::Inspect]);
    let p = &summary.phones[0];
    assert_eq!(p.status, OutcomeStatus::OwnerActionNeeded, "{p:?}");
    assert!(
        p.summary
            .contains("gives IMEI 490154203237518, but this phone reports 861234567890123"),
        "{p:?}"
    );
    assert!(summary.intake_unmatched.is_empty());
}

#[tokio::test]
async fn unauthorized_phone_is_announced_once_and_starts_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let script = clean_script();
    let (tx, lines, bench) = plain_bench(dir.path(), "W", &script);
    let mut waiting = seen(&["W"]);
    waiting[0].online = false;
    waiting[0].unauthorized = true;
    tx.send(waiting.clone()).unwrap();
    tokio::time::timeout(WAIT, lines.wait_unauthorized("W"))
        .await
        .unwrap();
    // Still waiting in the next list: no second line, no journey, and the bench does not
    // count it as idle (until_idle is far shorter than this wait).
    tx.send(waiting).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!bench.is_finished(), "a waiting phone is work to come");
    assert!(script.calls().is_empty());
    // Someone taps Allow: adb lists it as `device`.
    tx.send(seen(&["W"])).unwrap();
    let summary = tokio::time::timeout(WAIT, bench).await.unwrap().unwrap();
    assert_eq!(lines.unauthorized.lock().unwrap().clone(), vec!["W"]);
    assert_eq!(lines.plugged.lock().unwrap().clone(), vec!["W"]);
    assert_eq!(
        script.calls(),
        vec![StepKind::Inspect, StepKind::Reset, StepKind::LockStatus]
    );
    assert_eq!(summary.phones.len(), 1);
    assert_eq!(summary.phones[0].status, OutcomeStatus::Done);
}
