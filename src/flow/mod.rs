//! One phone's journey: steps, preconditions, interlocks and checkpoints.
//!
//! [`signout::run`] and [`reset::run`] each drive one phone through Xiaomi's own screens
//! (via `crate::miui::ui`), check their preconditions first, verify the result, and
//! always return a [`FlowReport`] that says what happened and which exit code it means.
//! The library never prints: the binary shows the report.
//!
//! Secrets: the password comes from a [`PasswordSource`] the binary provides, is asked
//! for only when needed, and never enters a report, an error or a log.

pub mod interlock;
pub mod journey;
pub mod probe;
pub mod reset;
pub mod signout;

use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::exit::{Exit, HasExit};
use crate::miui::ui::{Counts, Driver, Limits, Recipes, UiDevice, UiError};
use crate::progress::Reporter;
use crate::secret::SecretError;

/// Gives the password when a journey needs it (file, environment or prompt).
pub type PasswordSource<'a> = &'a (dyn Fn() -> Result<SecretString, SecretError> + Send + Sync);

/// What every journey is given.
pub struct FlowContext<'a> {
    pub recipes: &'a Recipes,
    pub limits: Limits,
    /// Where the report, and on failure the last dump and a screenshot, are saved.
    pub report_dir: PathBuf,
    pub reporter: &'a dyn Reporter,
    /// How long a journey waits for its final effect (account gone, phone gone).
    pub settle: std::time::Duration,
}

/// The default report directory for a phone: `./<serial>/` with characters that do not
/// belong in a file name replaced (a TCP serial is `127.0.0.1:5555`).
pub fn default_report_dir(serial: &str) -> PathBuf {
    let safe: String = serial
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(safe)
}

/// How a journey ended, in words a report keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Done,
    AlreadySignedOut,
    Refused,
    WrongPassword,
    Failed,
    PhoneLost,
}

/// One interlock as checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub passed: bool,
    pub detail: String,
}

/// What a journey did, for the operator and the record. Holds no secret.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FlowReport {
    pub command: &'static str,
    pub serial: String,
    pub outcome: Outcome,
    #[serde(serialize_with = "ser_exit")]
    pub exit: Exit,
    /// One sentence for the operator.
    pub message: String,
    pub started: String,
    pub finished: String,
    pub steps_done: Vec<String>,
    pub failed_step: Option<String>,
    pub counts: Counts,
    /// The last dump and a screenshot, saved when a step failed.
    pub evidence: Vec<PathBuf>,
    pub checks: Vec<Check>,
    /// "off" once verified (no Xiaomi account remains, or the phone reset via Xiaomi's
    /// screen); `None` when unknown.
    pub find_device: Option<&'static str>,
    pub backup: Option<crate::backup::BackupProof>,
    /// `--no-backup "reason"`, recorded as given.
    pub backup_waiver: Option<String>,
    /// When the phone left adb after the final confirmation (reset only).
    pub left_adb_at: Option<String>,
    /// Where this report was saved.
    pub report_file: Option<PathBuf>,
}

fn ser_exit<S: serde::Serializer>(e: &Exit, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i32(e.code())
}

pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl FlowReport {
    fn new(command: &'static str, serial: &str) -> FlowReport {
        FlowReport {
            command,
            serial: serial.to_string(),
            outcome: Outcome::Failed,
            exit: Exit::Other,
            message: String::new(),
            started: now(),
            finished: String::new(),
            steps_done: Vec::new(),
            failed_step: None,
            counts: Counts::default(),
            evidence: Vec::new(),
            checks: Vec::new(),
            find_device: None,
            backup: None,
            backup_waiver: None,
            left_adb_at: None,
            report_file: None,
        }
    }

    fn end(&mut self, outcome: Outcome, exit: Exit, message: impl Into<String>) {
        self.outcome = outcome;
        self.exit = exit;
        self.message = message.into();
    }

    /// Ends the report with ERR (its exit code decides the outcome).
    fn fail(&mut self, err: &(impl std::fmt::Display + HasExit)) {
        let exit = err.exit();
        let outcome = match exit {
            Exit::Refused => Outcome::Refused,
            Exit::Credentials => Outcome::WrongPassword,
            Exit::PhoneLost => Outcome::PhoneLost,
            _ => Outcome::Failed,
        };
        self.end(outcome, exit, err.to_string());
    }

    /// Stamps the end time and saves the report as `<dir>/<command>-report.json`.
    fn finish(mut self, dir: &Path) -> FlowReport {
        self.finished = now();
        let path = dir.join(format!("{}-report.json", self.command));
        self.report_file = Some(path.clone());
        let saved = std::fs::create_dir_all(dir).is_ok()
            && serde_json::to_vec_pretty(&self)
                .ok()
                .is_some_and(|json| std::fs::write(&path, json).is_ok());
        if !saved {
            self.report_file = None;
        }
        self
    }
}

/// Runs one UI journey (`command` names it in the report and progress) and turns how it
/// ended into the report: a UI error saves its evidence ([`ui_failed`]), the driver's
/// steps and counts are recorded, the reporter is told, and the report is written.
async fn run_journey<D: UiDevice>(
    dev: &D,
    ctx: &FlowContext<'_>,
    command: &'static str,
    journey: impl AsyncFnOnce(
        &mut Driver<'_, D>,
        &mut Option<SecretString>,
        &mut FlowReport,
    ) -> Result<(), FlowError>,
) -> FlowReport {
    let mut report = FlowReport::new(command, dev.serial());
    ctx.reporter.step(dev.serial(), command);
    let mut drv = Driver::new(dev, ctx.recipes, ctx.limits);
    let mut secret: Option<SecretString> = None;
    match journey(&mut drv, &mut secret, &mut report).await {
        Ok(()) => {}
        Err(FlowError::Ui(e)) => ui_failed(&mut drv, &mut report, ctx, e).await,
        Err(e) => report.fail(&e),
    }
    report.steps_done = drv.steps_done.clone();
    report.counts = drv.counts;
    ctx.reporter
        .finish(dev.serial(), report.exit == Exit::Ok, &report.message);
    report.finish(&ctx.report_dir)
}

/// A UI error at the end of a journey: save the evidence, close a dialog the journey
/// left open, and record it all.
async fn ui_failed<D: UiDevice>(
    drv: &mut Driver<'_, D>,
    report: &mut FlowReport,
    ctx: &FlowContext<'_>,
    err: UiError,
) {
    if matches!(err, UiError::StepFailed { .. }) {
        report.failed_step = Some(drv.current_step.clone());
        report.evidence = drv.save_evidence(&ctx.report_dir, report.command).await;
        if let Err(e) = drv.back_out().await {
            tracing::warn!("could not close the dialog after a failed step: {e}");
        }
    } else if !matches!(err, UiError::Device(_)) {
        report.failed_step = Some(drv.current_step.clone()).filter(|s| !s.is_empty());
    }
    report.fail(&err);
}

/// Reads the password and checks it can be typed, before anything on the phone changes.
fn get_password(source: PasswordSource<'_>) -> Result<SecretString, FlowError> {
    use secrecy::ExposeSecret;
    let pw = source()?;
    crate::miui::ui::input::input_text_commands(pw.expose_secret()).map_err(UiError::from)?;
    Ok(pw)
}

/// Errors a journey turns into a report.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Password(#[from] SecretError),
    #[error(transparent)]
    Ui(#[from] UiError),
    #[error(transparent)]
    Device(#[from] crate::miui::ui::DeviceError),
    #[error("{serial} is not a Xiaomi phone ({manufacturer}): Xiaomi's screens are not there")]
    NotXiaomi {
        serial: String,
        manufacturer: String,
    },
    #[error(
        "the Mi account password was refused on {serial}; the phone is still signed in and the dialog was closed"
    )]
    WrongPassword { serial: String },
    #[error("{serial}: {detail}")]
    NotVerified { serial: String, detail: String },
    /// The phone left (or stopped answering) before there was evidence that the reset
    /// was accepted: it may still be bound to the owner's account.
    #[error(
        "{serial}: reset NOT confirmed: {detail}; reconnect the phone and look at its screen before trusting it is reset"
    )]
    ResetNotConfirmed { serial: String, detail: String },
}

impl HasExit for FlowError {
    fn exit(&self) -> Exit {
        match self {
            FlowError::Password(e) => e.exit(),
            FlowError::Ui(e) => e.exit(),
            FlowError::Device(e) => e.exit(),
            FlowError::NotXiaomi { .. } => Exit::Refused,
            FlowError::WrongPassword { .. } => Exit::Credentials,
            FlowError::NotVerified { .. } => Exit::Other,
            FlowError::ResetNotConfirmed { .. } => Exit::PhoneLost,
        }
    }
}
