//! The whole journey of one phone: inspect → backup → sign out → reset → cloud account
//! deletion → activation-lock check, each step checkpointed in the journal so a rerun
//! after a crash, a kill -9 or an unplugged phone resumes without redoing finished steps.
//!
//! The journey is the order and the safety rules; the steps themselves are behind
//! [`Steps`] (implemented over the adb client, backup, the UI flows and the cloud client,
//! and by fakes in tests). It runs in two halves so the caller can decide in between:
//! [`prepare`] inspects (read-only) and [`Prepared::execute`] runs a [`JourneyPlan`]
//! that `run` builds from flags and `bench` from its policy. It writes the report at
//! the end whatever happened. Never prints; never holds a secret beyond the call.
//!
//! The adb serial alone does not name a phone (`ip:port`, clones' `0123456789ABCDEF`):
//! a resumed journey inspects again and compares `ro.serialno` with the journey's, and a
//! different phone gets a journey of its own. The journal's lease keeps a second process
//! off a phone this one is driving.

use crate::exit::{Exit, HasExit};
use crate::progress::Reporter;
use crate::report::journal::{
    HEARTBEAT_EVERY, Identity, Journal, JournalError, JourneyLog, JourneyStart, StepEnd,
};
use crate::report::{
    Accounts, BackupSummary, Blocker, CloudAccount, Device, LockStatus, Outcome, OutcomeStatus,
    Report, StepKind, StepResult, Timestamp, Waiver,
};
use crate::secret::SecretString;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// What inspect learned: kept as the inspect step's detail so a resumed journey knows
/// the phone without asking it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub device: Device,
    pub blockers: Vec<Blocker>,
    pub accounts: Accounts,
}

impl Inspection {
    pub fn has(&self, code: &str) -> bool {
        self.blockers.iter().any(|b| b.code == code)
    }
}

/// A step that did not reach its verified end: words for the operator and the exit code
/// it means. Never holds a secret (the step implementations guarantee it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StepError {
    pub message: String,
    pub exit: Exit,
    /// What the journey must tell apart beyond the exit code.
    pub cause: Option<StepCause>,
}

/// Failures the journey treats specially.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepCause {
    /// The cloud sign-in answered "no such account" (20003): after an interrupted
    /// deletion this means the deletion went through.
    UnknownAccount,
}

impl StepError {
    pub fn new(exit: Exit, message: impl Into<String>) -> StepError {
        StepError {
            message: message.into(),
            exit,
            cause: None,
        }
    }

    pub fn because(mut self, cause: StepCause) -> StepError {
        self.cause = Some(cause);
        self
    }

    /// Any typed error of the library, keeping its exit code.
    pub fn from_err(err: &(impl std::fmt::Display + HasExit)) -> StepError {
        StepError::new(err.exit(), err.to_string())
    }
}

impl HasExit for StepError {
    fn exit(&self) -> Exit {
        self.exit
    }
}

/// A step's verified result, with an optional one-line note for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Done<T> {
    pub value: T,
    pub note: Option<String>,
    /// Things the operator must read (a skipped folder, a retry).
    pub warnings: Vec<String>,
}

impl<T> Done<T> {
    pub fn new(value: T) -> Done<T> {
        Done {
            value,
            note: None,
            warnings: Vec::new(),
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Done<T> {
        self.note = Some(note.into());
        self
    }
}

pub type StepOutput<T> = Result<Done<T>, StepError>;

/// The operations a journey composes, on one phone. Each must verify its own result and
/// leave the phone in a known state when it fails. `Send` futures so a bench can run
/// one journey per phone on tokio tasks.
pub trait Steps: Sync {
    fn serial(&self) -> &str;
    /// Read-only: identity, accounts, blockers.
    fn inspect(&self) -> impl Future<Output = StepOutput<Inspection>> + Send;
    /// Backs up into `dest` (resuming what an earlier attempt left) and verifies.
    fn backup(&self, dest: &Path) -> impl Future<Output = StepOutput<BackupSummary>> + Send;
    /// Why the finished backup in `dest` no longer holds everything on the phone (one
    /// listing, no file read), or None when it does or cannot be told: the reset's own
    /// interlock compares again and refuses what is not current, so None is safe.
    fn backup_outdated(&self, _dest: &Path) -> impl Future<Output = Option<String>> + Send {
        async { None }
    }
    /// The reset's refusal of the finished backup in `dest` for files the phone would
    /// not send, when nobody accepted their loss; asked before the sign-out, so a phone
    /// is not signed out for a reset that cannot happen. None is safe: the reset's own
    /// interlock refuses them anyway.
    fn unaccepted_losses(&self, _dest: &Path) -> impl Future<Output = Option<String>> + Send {
        async { None }
    }
    /// Signs out through Xiaomi's screens; returns the accounts left afterwards.
    fn signout(&self, password: &SecretString)
    -> impl Future<Output = StepOutput<Accounts>> + Send;
    /// Resets through Xiaomi's reset screen; done only when the phone left adb.
    /// `backup` is the verified backup's folder, or None with a recorded waiver.
    fn reset(
        &self,
        password: Option<&SecretString>,
        backup: Option<&Path>,
        waiver: Option<&Waiver>,
    ) -> impl Future<Output = StepOutput<()>> + Send;
    /// Deletes the cloud account `user` (the phone must be signed out by now).
    fn cloud_delete(
        &self,
        user: &str,
        password: &SecretString,
    ) -> impl Future<Output = StepOutput<CloudAccount>> + Send;
    /// The anonymous activation-lock check by IMEI.
    fn lock_status(&self, imei: &str) -> impl Future<Output = StepOutput<LockStatus>> + Send;
}

/// Whether to back up, or the waiver that replaces the backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupChoice {
    Backup,
    Waive(Waiver),
}

/// What this journey will do, decided after inspection by `run` (flags) or `bench`
/// (policy and intake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JourneyPlan {
    pub backup: BackupChoice,
    pub signout: bool,
    pub reset: bool,
    /// The confirmed account id to delete.
    pub cloud_delete: Option<String>,
    pub check_lock: bool,
}

impl JourneyPlan {
    /// The steps in the order they will run (for the journal and the printed plan).
    pub fn steps(&self) -> Vec<StepKind> {
        let mut s = vec![StepKind::Inspect, StepKind::Backup, StepKind::Signout];
        if self.reset {
            s.push(StepKind::Reset);
        }
        if self.cloud_delete.is_some() {
            s.push(StepKind::CloudDelete);
        }
        if self.check_lock {
            s.push(StepKind::LockStatus);
        }
        s
    }

    /// The plan in words, one line per step, for `run`'s preview and `--dry-run`.
    pub fn describe(&self, inspection: &Inspection) -> Vec<String> {
        let mut lines = vec!["inspect: done (read-only)".to_owned()];
        lines.push(match &self.backup {
            BackupChoice::Backup => {
                "backup: copy the owner's files and verify each by SHA-256".to_owned()
            }
            BackupChoice::Waive(w) => format!("backup: skipped, waiver recorded: {}", w.reason),
        });
        lines.push(if self.signout {
            format!(
                "signout: sign out of Mi account {} through Xiaomi's screen (Find Device off)",
                inspection
                    .accounts
                    .mi_account_id
                    .as_deref()
                    .unwrap_or("(id hidden)")
            )
        } else {
            "signout: not needed (no Mi account on the phone)".to_owned()
        });
        if self.reset {
            lines.push(
                "reset: factory reset through Xiaomi's reset screen; the phone leaves adb"
                    .to_owned(),
            );
        }
        if let Some(user) = &self.cloud_delete {
            lines.push(format!(
                "cloud_delete: delete Xiaomi account {user} (verification code may be asked)"
            ));
        }
        if self.check_lock {
            lines.push("lock_status: check the activation lock by IMEI".to_owned());
        }
        lines
    }
}

/// Why a phone was refused before anything changed: every reason, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reasons: Vec<String>,
}

/// `run`'s own interlocks: refuse what no flag may override. A Mi account does not
/// block (the password signs it out); Google accounts, FRP, device owners, disabled
/// input and non-Xiaomi phones do.
pub fn plan_for_run(
    inspection: &Inspection,
    no_backup: Option<&str>,
    delete_cloud_account: Option<&str>,
) -> Result<JourneyPlan, Refusal> {
    let blocking = [
        "unauthorized",
        "not_xiaomi",
        "device_owner",
        "frp_armed",
        "google_account",
        "input_disabled",
    ];
    let reasons: Vec<String> = inspection
        .blockers
        .iter()
        .filter(|b| blocking.contains(&b.code.as_str()))
        .map(|b| b.message.clone())
        .collect();
    if !reasons.is_empty() {
        return Err(Refusal { reasons });
    }
    Ok(JourneyPlan {
        backup: match no_backup {
            Some(reason) => BackupChoice::Waive(Waiver {
                kind: "no_backup".to_owned(),
                reason: reason.to_owned(),
                given_by: "operator".to_owned(),
            }),
            None => BackupChoice::Backup,
        },
        signout: inspection.accounts.mi_account_signed_in,
        reset: true,
        cloud_delete: delete_cloud_account.map(str::to_owned),
        check_lock: delete_cloud_account.is_some(),
    })
}

/// What a journey is given besides the phone.
pub struct JourneyEnv<'a> {
    pub journal: &'a Journal,
    /// DIR: reports under `DIR/<serial>/`, the backup under `DIR/<serial>/backup/`.
    pub dest: &'a Path,
    /// "run" or "bench", for the journal.
    pub mode: &'a str,
    pub host: &'a str,
    /// Printed on the certificate.
    pub issued_by: Option<String>,
    pub reporter: &'a dyn Reporter,
    /// Cancelled on Ctrl-C: no new step starts; the running one finishes.
    pub stop: CancellationToken,
}

/// Where the phone's backup goes.
pub fn backup_dir(dest: &Path, serial: &str) -> PathBuf {
    crate::report::phone_dir(dest, serial).join("backup")
}

#[derive(Debug, thiserror::Error)]
pub enum JourneyError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

impl HasExit for JourneyError {
    fn exit(&self) -> Exit {
        match self {
            // A phone another process holds is refused (3), like any precondition.
            JourneyError::Journal(e) => e.exit(),
            JourneyError::Report(_) => Exit::Other,
        }
    }
}

/// The journey after inspection, waiting for its plan. Holds the journey's lease until
/// it is dropped.
pub struct Prepared<'a, S: Steps> {
    steps: &'a S,
    env: JourneyEnv<'a>,
    log: JourneyLog,
    /// Inspect failed: no plan can be made; `execute` is not offered.
    pub inspection: Result<Inspection, StepError>,
    /// The journey's first inspection, when an earlier run made it: what the report
    /// says was found before anything changed.
    before: Option<Inspection>,
    warnings: Vec<String>,
    heartbeat: Option<tokio::task::AbortHandle>,
}

impl<S: Steps> Drop for Prepared<'_, S> {
    fn drop(&mut self) {
        if let Some(h) = self.heartbeat.take() {
            h.abort();
        }
        // Best effort: a lease left behind is freed anyway once this process is gone.
        let _ = self.log.release();
    }
}

/// Opens (or resumes) the phone's journey, taking its lease, and inspects the phone.
/// A resumed journey inspects again (one cheap batch) to be sure it is the same phone,
/// except after its reset: a wiped phone has nothing left to tell, and the steps after
/// it (cloud deletion, lock check) do not need it.
pub async fn prepare<'a, S: Steps>(
    steps: &'a S,
    env: JourneyEnv<'a>,
    plan_hint: &[StepKind],
) -> Result<Prepared<'a, S>, JourneyError> {
    let serial = steps.serial().to_owned();
    let start = JourneyStart {
        serial: serial.clone(),
        mode: env.mode.to_owned(),
        plan: plan_hint.to_vec(),
        host: env.host.to_owned(),
        pid: std::process::id(),
    };
    let mut log = env.journal.open_journey(&start)?;
    let mut warnings = Vec::new();
    if let Some(l) = &log.taken_over {
        warnings.push(format!(
            "took the phone over from pid {} on {}, which stopped answering (last heartbeat {})",
            l.pid, l.host, l.heartbeat
        ));
    }
    if log.unfinished().next().is_some() {
        warnings.push(
            "an earlier run stopped in the middle of a step; that step is being redone".to_owned(),
        );
    }
    let earlier = log
        .finished(StepKind::Inspect)
        .and_then(|r| r.detail.clone())
        .and_then(|d| serde_json::from_value::<Inspection>(d).ok());
    let mut before = None;
    let inspection = match earlier {
        Some(i) if log.finished(StepKind::Reset).is_some() => Ok(i),
        earlier => {
            env.reporter.step(&serial, StepKind::Inspect.as_str());
            let id = log.begin(StepKind::Inspect)?;
            let out = steps.inspect().await;
            end_inspection(&log, id, &out)?;
            let recorded = log.hardware_serial.clone().or_else(|| {
                earlier
                    .as_ref()
                    .and_then(|i| i.device.hardware_serial.clone())
            });
            let now = out
                .as_ref()
                .ok()
                .and_then(|d| d.value.device.hardware_serial.clone());
            match (recorded, now) {
                (Some(old), Some(new)) if old != new => {
                    log.close(&Outcome {
                        status: OutcomeStatus::Abandoned,
                        exit_code: Exit::Other.code(),
                        summary: format!(
                            "abandoned: another phone took this serial (ro.serialno {old} was \
                             recorded, {new} answered)"
                        ),
                    })?;
                    log = env.journal.open_journey(&start)?;
                    warnings.push(format!(
                        "{serial} is now a different phone (ro.serialno {new}, was {old}): the \
                         earlier phone's journey was closed and this one starts afresh"
                    ));
                    let id = log.begin(StepKind::Inspect)?;
                    end_inspection(&log, id, &out)?;
                }
                _ => before = earlier,
            }
            // Only now: the journey's identity must not change before it was compared.
            if let Ok(done) = &out {
                let d = &done.value.device;
                log.set_identity(&Identity {
                    hardware_serial: d.hardware_serial.clone(),
                    imei: d.imei.clone(),
                    model: d.marketname.clone().or_else(|| d.model.clone()),
                })?;
            }
            if let Ok(done) = &out {
                warnings.extend(done.warnings.iter().cloned());
            }
            out.map(|d| d.value)
        }
    };
    let heartbeat = tokio::runtime::Handle::try_current().ok().map(|rt| {
        let log = log.clone();
        rt.spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT_EVERY).await;
                match log.heartbeat() {
                    Ok(()) => {}
                    // Another process holds the phone now: the next step refuses.
                    Err(JournalError::LeaseLost { .. }) => break,
                    // A busy or briefly failing database: beat again next time, long
                    // before the lease could look stale to another process.
                    Err(_) => {}
                }
            }
        })
        .abort_handle()
    });
    Ok(Prepared {
        steps,
        env,
        log,
        inspection,
        before,
        warnings,
        heartbeat,
    })
}

/// Ends an inspect attempt, keeping what it learned for a resumed run.
fn end_inspection(
    log: &JourneyLog,
    id: crate::report::journal::StepId,
    out: &StepOutput<Inspection>,
) -> Result<(), JournalError> {
    match out {
        Ok(done) => log.end(
            id,
            &StepEnd {
                result: Some(StepResult::Ok),
                note: done.note.clone(),
                detail: serde_json::to_value(&done.value).ok(),
                ..StepEnd::default()
            },
        ),
        Err(e) => log.end(id, &failure_end(e)),
    }
}

fn failure_end(e: &StepError) -> StepEnd {
    StepEnd {
        result: Some(result_for(e.exit)),
        error: Some(e.message.clone()),
        exit_code: Some(e.exit.code()),
        ..StepEnd::default()
    }
}

/// A lost phone is an interruption (resumed when it comes back); a refusal leaves the
/// phone untouched; anything else failed.
fn result_for(exit: Exit) -> StepResult {
    match exit {
        Exit::PhoneLost => StepResult::Interrupted,
        Exit::Refused => StepResult::Refused,
        _ => StepResult::Failed,
    }
}

fn outcome_for(exit: Exit, summary: String) -> Outcome {
    let status = match exit {
        Exit::Ok => OutcomeStatus::Done,
        Exit::PhoneLost => OutcomeStatus::Interrupted,
        Exit::Refused => OutcomeStatus::OwnerActionNeeded,
        _ => OutcomeStatus::Failed,
    };
    Outcome {
        status,
        exit_code: exit.code(),
        summary,
    }
}

/// The secrets a journey may need, resolved before it starts.
#[derive(Default)]
pub struct Secrets {
    /// The Mi account password (sign-out, reset screen, cloud sign-in).
    pub mi_password: Option<SecretString>,
}

/// Outcome of a step within `execute`: carry on, or stop the journey with this outcome.
enum Flow {
    Next,
    Stop(Outcome),
}

impl<'a, S: Steps> Prepared<'a, S> {
    /// True when an earlier run of this phone's journey was found.
    pub fn resumed(&self) -> bool {
        self.log.resumed
    }

    /// Records a refusal (nothing changed on the phone) and writes the report. The
    /// journey is closed: the owner will change the phone, so it is inspected afresh.
    pub fn refuse(self, refusal: &Refusal) -> Result<Report, JourneyError> {
        let id = self.log.begin(StepKind::Reset)?;
        let why = format!("owner action needed: {}", refusal.reasons.join("; "));
        self.log.end(
            id,
            &StepEnd {
                result: Some(StepResult::Refused),
                error: Some(why.clone()),
                exit_code: Some(Exit::Refused.code()),
                ..StepEnd::default()
            },
        )?;
        let outcome = Outcome {
            status: OutcomeStatus::OwnerActionNeeded,
            exit_code: Exit::Refused.code(),
            summary: format!("Not changed. {}", capitalised(&why)),
        };
        self.log.close(&outcome)?;
        self.env
            .reporter
            .finish(self.steps.serial(), false, &outcome.summary);
        self.finish(outcome, None)
    }

    /// Inspect failed: record and report it (the journey stays open for a rerun).
    pub fn inspect_failed(self) -> Result<Report, JourneyError> {
        let e = match &self.inspection {
            Err(e) => e.clone(),
            Ok(_) => StepError::new(Exit::Other, "inspection succeeded"),
        };
        let outcome = outcome_for(e.exit, format!("Inspection failed: {}", e.message));
        self.log.record_outcome(&outcome)?;
        self.env
            .reporter
            .finish(self.steps.serial(), false, &outcome.summary);
        self.finish(outcome, None)
    }

    /// Runs the plan from where the journal says this phone is, writes the report and
    /// returns it. Steps that earlier runs finished are not redone.
    pub async fn execute(
        mut self,
        plan: &JourneyPlan,
        secrets: &Secrets,
    ) -> Result<Report, JourneyError> {
        let serial = self.steps.serial().to_owned();
        let inspection = match &self.inspection {
            Ok(i) => i.clone(),
            Err(_) => return self.inspect_failed(),
        };
        let mut state = State::default();
        // What earlier runs finished, so a resumed report is whole.
        state.load(&self.log);
        let outcome = match self
            .run_steps(plan, secrets, &inspection, &mut state)
            .await?
        {
            Flow::Stop(o) => o,
            Flow::Next => done_outcome(plan, &state),
        };
        self.log.record_outcome(&outcome)?;
        self.env.reporter.finish(
            &serial,
            outcome.status == OutcomeStatus::Done,
            &outcome.summary,
        );
        let waiver = match &plan.backup {
            BackupChoice::Waive(w) => Some(w.clone()),
            BackupChoice::Backup => None,
        };
        state.waiver = waiver;
        self.finish(outcome, Some(&state))
    }

    async fn run_steps(
        &mut self,
        plan: &JourneyPlan,
        secrets: &Secrets,
        inspection: &Inspection,
        state: &mut State,
    ) -> Result<Flow, JourneyError> {
        // A copy of the reference, so step futures borrow the phone, not `self`.
        let steps = self.steps;
        let backup_path = backup_dir(self.env.dest, steps.serial());
        // Backup, or its waiver.
        if let Flow::Stop(o) = match &plan.backup {
            BackupChoice::Backup => {
                let fut = steps.backup(&backup_path);
                self.step(StepKind::Backup, fut, |s, v| s.backup = Some(v), state)
                    .await?
            }
            BackupChoice::Waive(w) => {
                self.skip(StepKind::Backup, &format!("waived: {}", w.reason))?
            }
        } {
            return Ok(Flow::Stop(o));
        }
        // Settle before the sign-out what would only stop the reset after it.
        if plan.reset && matches!(plan.backup, BackupChoice::Backup) {
            if let Some(why) = steps.unaccepted_losses(&backup_path).await {
                return Ok(Flow::Stop(self.refuse_step(
                    StepKind::Reset,
                    &why,
                    Exit::Refused,
                )?));
            }
        }
        // Sign-out.
        if plan.signout {
            let Some(pw) = &secrets.mi_password else {
                return Ok(Flow::Stop(self.refuse_step(
                    StepKind::Signout,
                    "the Mi account password is needed to sign out and was not given",
                    // Nothing was refused: an input is missing (README: 2).
                    Exit::Usage,
                )?));
            };
            let fut = steps.signout(pw);
            if let Flow::Stop(o) = self
                .step(
                    StepKind::Signout,
                    fut,
                    |s, v| s.accounts_after = Some(v),
                    state,
                )
                .await?
            {
                return Ok(Flow::Stop(o));
            }
        } else if let Flow::Stop(o) = self.skip(StepKind::Signout, "no Mi account on the phone")? {
            return Ok(Flow::Stop(o));
        }
        // Reset: the interlocks again, as code, whatever the plan says.
        if plan.reset {
            let backed_up = matches!(plan.backup, BackupChoice::Backup)
                && state.backup.as_ref().is_some_and(|b| b.failed.is_empty());
            let waiver = match &plan.backup {
                BackupChoice::Waive(w) => Some(w),
                BackupChoice::Backup => None,
            };
            if !backed_up && waiver.is_none() {
                return Ok(Flow::Stop(self.refuse_step(
                    StepKind::Reset,
                    "no verified backup and no waiver: not resetting",
                    Exit::Refused,
                )?));
            }
            // What the sign-out step read afterwards counts too: a Google account seen
            // only then (or FRP armed by an unreadable lock) refuses the reset as well.
            let google_after = state
                .accounts_after
                .as_ref()
                .is_some_and(|a| a.frp_armed || a.google_accounts > 0);
            if inspection.has("frp_armed")
                || inspection.has("google_account")
                || inspection.has("device_owner")
                || google_after
            {
                return Ok(Flow::Stop(self.refuse_step(
                    StepKind::Reset,
                    "a Google account or a device owner is on the phone: not resetting",
                    Exit::Refused,
                )?));
            }
            let mi_still_on = state
                .accounts_after
                .as_ref()
                .map_or(inspection.accounts.mi_account_signed_in, |a| {
                    a.mi_account_signed_in
                });
            let pw = if mi_still_on {
                secrets.mi_password.as_ref()
            } else {
                None
            };
            // A backup an earlier run finished may be days old, and the phone in use
            // since: bring it up to date first (a resumed backup copies only what is
            // new or changed). The reset's interlock then compares it with the phone.
            if backed_up && steps.backup_outdated(&backup_path).await.is_some() {
                match steps.backup(&backup_path).await {
                    Ok(done) => state.backup = Some(done.value),
                    Err(e) => {
                        let why = format!(
                            "the backup from an earlier run could not be brought up to date: {}",
                            e.message
                        );
                        return Ok(Flow::Stop(self.refuse_step(
                            StepKind::Reset,
                            &why,
                            e.exit,
                        )?));
                    }
                }
            }
            let bdir = backed_up.then_some(backup_path.as_path());
            let fut = steps.reset(pw, bdir, waiver);
            if let Flow::Stop(o) = self.step(StepKind::Reset, fut, |_, ()| {}, state).await? {
                return Ok(Flow::Stop(o));
            }
        }
        if let Some(user) = &plan.cloud_delete {
            let Some(pw) = &secrets.mi_password else {
                return Ok(Flow::Stop(self.refuse_step(
                    StepKind::CloudDelete,
                    "the account password is needed to delete the cloud account and was not given",
                    Exit::Usage,
                )?));
            };
            // A run that died after asking for the deletion and before recording it: the
            // sign-in now answers "no such account", which is the deletion's effect.
            let interrupted = self
                .log
                .unfinished()
                .any(|r| r.step == StepKind::CloudDelete);
            let fut = async move {
                match steps.cloud_delete(user, pw).await {
                    Err(e) if interrupted && e.cause == Some(StepCause::UnknownAccount) => {
                        Ok(Done::new(CloudAccount {
                            user_id: user.clone(),
                            status: "scheduled".to_owned(),
                            delete_at: None,
                        })
                        .with_note(
                            "deletion already scheduled (Xiaomi no longer knows the account): \
                             an earlier run was stopped right after asking for it",
                        ))
                    }
                    // The phone may already be reset and gone, so a rerun of the
                    // journey cannot reach this step again: say how to finish it.
                    Err(mut e) if e.exit != Exit::Refused => {
                        e.message = format!(
                            "{}; to finish by hand: mi-offboard cloud delete --user {user} \
                             --confirm {user}, then mi-offboard cloud lock-status --imei IMEI",
                            e.message
                        );
                        Err(e)
                    }
                    other => other,
                }
            };
            if let Flow::Stop(o) = self
                .step(StepKind::CloudDelete, fut, |s, v| s.cloud = Some(v), state)
                .await?
            {
                return Ok(Flow::Stop(o));
            }
        }
        if plan.check_lock {
            match inspection.device.imei.as_deref() {
                Some(imei) => {
                    let fut = steps.lock_status(imei);
                    if let Flow::Stop(o) = self
                        .step(StepKind::LockStatus, fut, |s, v| s.lock = Some(v), state)
                        .await?
                    {
                        return Ok(Flow::Stop(o));
                    }
                    if state.lock.as_ref().is_some_and(|l| l.locked) {
                        return Ok(Flow::Stop(outcome_for(
                            Exit::Other,
                            "The activation-lock check says the phone is still LOCKED.".to_owned(),
                        )));
                    }
                }
                None => {
                    // Never "not locked" unless Xiaomi said so: the step is recorded as
                    // failed and the journey ends done_unverified (exit 1).
                    if self.log.finished(StepKind::LockStatus).is_none() {
                        let id = self.log.begin(StepKind::LockStatus)?;
                        let e = StepError::new(Exit::Other, LOCK_NOT_CHECKED);
                        self.log.end(id, &failure_end(&e))?;
                    }
                    state.lock_unchecked = true;
                    state.warnings.push(LOCK_NOT_CHECKED.to_owned());
                }
            }
        }
        Ok(Flow::Next)
    }

    /// Runs one step with its checkpoints, unless an earlier run finished it.
    async fn step<T: Serialize + serde::de::DeserializeOwned>(
        &mut self,
        kind: StepKind,
        fut: impl Future<Output = StepOutput<T>>,
        keep: impl FnOnce(&mut State, T),
        state: &mut State,
    ) -> Result<Flow, JourneyError> {
        let serial = self.steps.serial().to_owned();
        if let Some(row) = self.log.finished(kind) {
            if let Some(v) = row
                .detail
                .clone()
                .and_then(|d| serde_json::from_value(d).ok())
            {
                keep(state, v);
            }
            return Ok(Flow::Next);
        }
        if self.env.stop.is_cancelled() {
            return Ok(Flow::Stop(outcome_for(
                Exit::PhoneLost,
                format!(
                    "Stopped by the operator before {}; run again to resume.",
                    kind.as_str()
                ),
            )));
        }
        self.env.reporter.step(&serial, kind.as_str());
        let id = self.log.begin(kind)?;
        match fut.await {
            Ok(done) => {
                let detail = serde_json::to_value(&done.value).ok();
                self.log.end(
                    id,
                    &StepEnd {
                        result: Some(StepResult::Ok),
                        note: done.note,
                        detail,
                        ..StepEnd::default()
                    },
                )?;
                for w in &done.warnings {
                    self.env.reporter.warn(&serial, w);
                }
                state.warnings.extend(done.warnings);
                keep(state, done.value);
                Ok(Flow::Next)
            }
            Err(e) => {
                self.log.end(id, &failure_end(&e))?;
                let what = match result_for(e.exit) {
                    StepResult::Interrupted => "interrupted (run again to resume)",
                    StepResult::Refused => "refused",
                    _ => "failed",
                };
                Ok(Flow::Stop(outcome_for(
                    e.exit,
                    format!("{} {what}: {}", capitalised(kind.as_str()), e.message),
                )))
            }
        }
    }

    fn skip(&mut self, kind: StepKind, note: &str) -> Result<Flow, JourneyError> {
        if self.log.finished(kind).is_none() {
            let id = self.log.begin(kind)?;
            self.log.end(
                id,
                &StepEnd {
                    result: Some(StepResult::Skipped),
                    note: Some(note.to_owned()),
                    ..StepEnd::default()
                },
            )?;
        }
        Ok(Flow::Next)
    }

    fn refuse_step(
        &mut self,
        kind: StepKind,
        why: &str,
        exit: Exit,
    ) -> Result<Outcome, JourneyError> {
        let id = self.log.begin(kind)?;
        let e = StepError::new(exit, why);
        self.log.end(id, &failure_end(&e))?;
        Ok(outcome_for(
            exit,
            format!("{}: {why}", capitalised(kind.as_str())),
        ))
    }

    /// Assembles and writes the report from the journal and what this run learned.
    fn finish(&self, outcome: Outcome, state: Option<&State>) -> Result<Report, JourneyError> {
        let mut r = Report::new(self.steps.serial(), Timestamp::now());
        r.issued_by = self.env.issued_by.clone();
        if let Ok(i) = &self.inspection {
            r.device = i.device.clone();
            let first = self.before.as_ref().unwrap_or(i);
            r.found = first.blockers.clone();
            r.accounts_before = Some(first.accounts.clone());
        }
        r.steps = self.log.step_reports()?;
        if let Some(s) = state {
            r.backup = s.backup.clone();
            r.accounts_after = s.accounts_after.clone();
            r.cloud_account = s.cloud.clone();
            r.lock_status = s.lock.clone();
            r.waiver = s.waiver.clone();
        }
        r.warnings = self.warnings.clone();
        if let Some(s) = state {
            r.warnings.extend(s.warnings.iter().cloned());
        }
        r.outcome = outcome;
        crate::report::write(self.env.dest, &r)?;
        Ok(r)
    }
}

/// What the steps of this journey (this run's and earlier runs') produced.
#[derive(Default)]
struct State {
    backup: Option<BackupSummary>,
    accounts_after: Option<Accounts>,
    cloud: Option<CloudAccount>,
    lock: Option<LockStatus>,
    waiver: Option<Waiver>,
    warnings: Vec<String>,
    /// The lock check was asked for and could not run (no IMEI).
    lock_unchecked: bool,
}

impl State {
    fn load(&mut self, log: &JourneyLog) {
        fn detail<T: serde::de::DeserializeOwned>(log: &JourneyLog, k: StepKind) -> Option<T> {
            log.finished(k)
                .and_then(|r| r.detail.clone())
                .and_then(|d| serde_json::from_value(d).ok())
        }
        self.backup = detail(log, StepKind::Backup);
        self.accounts_after = detail(log, StepKind::Signout);
        self.cloud = detail(log, StepKind::CloudDelete);
        self.lock = detail(log, StepKind::LockStatus);
    }
}

fn capitalised(text: &str) -> String {
    let mut c = text.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

const LOCK_NOT_CHECKED: &str = "activation lock not checked (IMEI unreadable: check it by hand \
     with `mi-offboard cloud lock-status --imei …`)";

/// The outcome of a journey whose steps all ran: built from what was verified, never
/// from what was planned.
fn done_outcome(plan: &JourneyPlan, state: &State) -> Outcome {
    let mut parts = Vec::new();
    if state.backup.is_some() {
        parts.push("backed up");
    } else if matches!(plan.backup, BackupChoice::Waive(_)) {
        parts.push("not backed up (waiver)");
    }
    if state
        .accounts_after
        .as_ref()
        .is_some_and(|a| !a.mi_account_signed_in)
    {
        parts.push("signed out");
    }
    if plan.reset {
        parts.push("reset");
    }
    if state
        .cloud
        .as_ref()
        .is_some_and(|c| c.status == "scheduled")
    {
        parts.push("cloud account deletion scheduled");
    }
    if state.lock.as_ref().is_some_and(|l| !l.locked) {
        parts.push("not locked");
    }
    let done = format!("{}.", capitalised(&parts.join(", ")));
    if state.lock_unchecked {
        Outcome {
            status: OutcomeStatus::DoneUnverified,
            exit_code: Exit::Other.code(),
            summary: format!("{done} {}.", capitalised(LOCK_NOT_CHECKED)),
        }
    } else {
        outcome_for(Exit::Ok, done)
    }
}
