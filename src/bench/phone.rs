//! A real phone behind the adb server as the journey's [`Steps`]: inspect (`miui`),
//! backup (`backup`), sign-out and reset (the UI flows in `flow`), cloud deletion and the
//! lock check (`cloud`). Converts each module's result into the report's types and each
//! error into a [`StepError`] with its exit code. Its one decision of its own: whose
//! word, if anyone's, lets a reset erase files the phone would not send
//! ([`UnreadableRule`]).
//! Also the bench's device list from adb's track-devices ([`AdbWatch`]).

use super::intake::Intake;
use super::policy::{Policy, UnreadableConsent};
use super::run::{PhoneFactory, Seen, Watch};
use crate::adb::{Adb, Device, DeviceState, Selector, Tracker};
use crate::cloud::{Client, ClientOptions, CloudError, Endpoints, Prompter};
use crate::exit::Exit;
use crate::flow::journey::{Done, Inspection, StepCause, StepError, StepOutput, Steps};
use crate::flow::probe::PhoneFacts;
use crate::flow::{FlowContext, FlowReport, interlock::ResetRequest};
use crate::miui::ui::{Limits, Recipes};
use crate::progress::Reporter;
use crate::report::{
    Accounts, BackupSummary, Blocker, CloudAccount, Device as ReportDevice, FailedFile, LockStatus,
    Os, Timestamp, Waiver,
};
use crate::secret::SecretString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where the cloud steps go, and who answers their questions (codes, captchas).
pub struct CloudSetup<P> {
    pub endpoints: Endpoints,
    pub options: ClientOptions,
    pub prompter: Arc<P>,
}

/// What every phone of a run or bench shares.
pub struct Shared<P> {
    pub adb: Adb,
    pub recipes: Arc<Recipes>,
    pub limits: Limits,
    /// How long sign-out and reset wait for their final effect.
    pub settle: Duration,
    pub reporter: Arc<dyn Reporter>,
    /// DIR: the UI flows save their evidence under `DIR/<serial>/`.
    pub dest: PathBuf,
    pub cloud: CloudSetup<P>,
    /// Whether a reset goes ahead although the backup lists files the phone refused to
    /// send (they are named in the report and lost).
    pub unreadable: UnreadableRule,
}

/// Who may accept, per phone, that its reset erases the files it refused to send.
#[derive(Debug, Clone)]
pub enum UnreadableRule {
    /// `run`: `--accept-unreadable` given (true) or not, for its one phone.
    Operator(bool),
    /// `bench`: the phone's intake entry when it says, else the policy
    /// ([`Policy::unreadable_consent`]); but never the policy for a phone whose IMEI is
    /// unknown while an owner known only by IMEI refused. The entries come without
    /// passwords ([`Intake::without_passwords`]).
    Bench { policy: Policy, intake: Intake },
}

impl From<bool> for UnreadableRule {
    fn from(accept: bool) -> UnreadableRule {
        UnreadableRule::Operator(accept)
    }
}

impl UnreadableRule {
    /// The consent for the phone with this adb serial and IMEI (matched to its intake
    /// entry the way the bench matches it for the plan), if any.
    pub fn consent(&self, serial: &str, imei: Option<&str>) -> Option<UnreadableConsent> {
        match self {
            UnreadableRule::Operator(accept) => accept.then_some(UnreadableConsent::Operator),
            UnreadableRule::Bench { policy, intake } => match intake.index_of(serial, imei) {
                // The bench refuses such a phone; should it get here, nobody consented.
                Some(i) if intake.imei_conflict(i, imei).is_some() => None,
                Some(i) => policy.unreadable_consent(intake.phones.get(i)),
                // An unknown IMEI proves no phone is not an owner's who said no.
                None if imei.is_none() && intake.refusal_matched_by_imei_only() => None,
                None => policy.unreadable_consent(None),
            },
        }
    }
}

pub struct AdbPhone<P> {
    dev: Device,
    shared: Arc<Shared<P>>,
    /// The IMEI this journey's inspection read, to find the phone's intake entry at the
    /// reset (a journey always inspects before it resets, resumed or not).
    imei: Mutex<Option<String>>,
}

impl<P> AdbPhone<P> {
    pub fn new(shared: Arc<Shared<P>>, serial: &str) -> AdbPhone<P> {
        AdbPhone {
            dev: shared.adb.device(Selector::Serial(serial.to_owned())),
            shared,
            imei: Mutex::new(None),
        }
    }

    fn unreadable_consent(&self) -> Option<UnreadableConsent> {
        let imei = self.imei.lock().ok().and_then(|i| i.clone());
        self.shared
            .unreadable
            .consent(self.dev.serial(), imei.as_deref())
    }

    fn flow_ctx<'a>(&'a self, reporter: &'a Within<'a>) -> FlowContext<'a> {
        FlowContext {
            recipes: &self.shared.recipes,
            limits: self.shared.limits,
            report_dir: crate::report::phone_dir(&self.shared.dest, self.dev.serial()),
            reporter,
            settle: self.shared.settle,
        }
    }
}

/// The reporter the step modules get: everything passes but `finish`, because a module
/// finishing its part is not the phone's journey finishing (the journey says that, once,
/// and the phone's progress line must not end early).
struct Within<'a>(&'a dyn Reporter);

impl Reporter for Within<'_> {
    fn step(&self, serial: &str, step: &str) {
        self.0.step(serial, step);
    }
    fn start_transfer(&self, serial: &str, total_bytes: u64, total_files: u64) {
        self.0.start_transfer(serial, total_bytes, total_files);
    }
    fn advance(&self, serial: &str, bytes: u64) {
        self.0.advance(serial, bytes);
    }
    fn file_done(&self, serial: &str, path: &str) {
        self.0.file_done(serial, path);
    }
    fn warn(&self, serial: &str, message: &str) {
        self.0.warn(serial, message);
    }
}

/// Makes [`AdbPhone`]s for the bench.
pub struct AdbFactory<P>(pub Arc<Shared<P>>);

impl<P: Prompter + Send + Sync + 'static> PhoneFactory for AdbFactory<P> {
    type Phone = AdbPhone<P>;
    fn phone(&self, serial: &str) -> AdbPhone<P> {
        AdbPhone::new(self.0.clone(), serial)
    }
}

fn step_err(err: &(impl std::fmt::Display + crate::exit::HasExit)) -> StepError {
    StepError::from_err(err)
}

/// A UI flow's report as a step result: its exit code and sentence.
fn flow_result(report: &FlowReport) -> Result<(), StepError> {
    if report.exit == Exit::Ok {
        Ok(())
    } else {
        let mut message = report.message.clone();
        if let Some(step) = &report.failed_step {
            message.push_str(&format!(" (screen step: {step})"));
        }
        if !report.evidence.is_empty() {
            message.push_str(" — the last screen was saved next to the report");
        }
        Err(StepError::new(report.exit, message))
    }
}

const ACCOUNTS_UNREADABLE: &str = "accounts_unreadable";

/// The report's view of what `miui::inspect` found. The report's account fields cannot
/// say "unknown", so unread accounts always travel as the `accounts_unreadable` blocker
/// (the policy refuses on it) rather than as "not signed in".
pub fn convert_inspection(i: &crate::miui::Inspection) -> Inspection {
    let os = i.os.as_ref();
    let mut blockers: Vec<Blocker> = i
        .blockers
        .iter()
        .map(|b| Blocker {
            code: serde_json::to_value(b.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{:?}", b.code)),
            message: format!("{} {}", b.message, b.action),
        })
        .collect();
    let told = |code: &str| blockers.iter().any(|b| b.code == code);
    if i.google_accounts.is_none() && !told(ACCOUNTS_UNREADABLE) && !told("unauthorized") {
        blockers.push(Blocker {
            code: ACCOUNTS_UNREADABLE.to_owned(),
            message: "The phone's accounts could not be read. Retry, or unplug and replug it."
                .to_owned(),
        });
    }
    Inspection {
        device: ReportDevice {
            manufacturer: i.manufacturer.clone(),
            brand: i.brand.clone(),
            model: i.model.clone(),
            marketname: i.marketname.clone(),
            hardware_serial: i.hardware_serial.clone(),
            imei: i.imei.clone(),
            os: Os {
                family: os.and_then(|o| {
                    serde_json::to_value(o.family)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                }),
                version: os.and_then(|o| o.version.clone()),
                android: os.and_then(|o| o.android.clone()),
                sdk: os.and_then(|o| o.sdk),
            },
            region: i.region.clone(),
        },
        blockers,
        accounts: Accounts {
            mi_account_signed_in: i.mi_account.as_ref().is_some_and(|m| m.signed_in),
            mi_account_id: i.mi_account.as_ref().and_then(|m| m.id.clone()),
            google_accounts: i
                .google_accounts
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            frp_armed: i.frp_armed.unwrap_or(false),
        },
    }
}

/// The report's view of the accounts a probe found after sign-out. FRP is
/// [`PhoneFacts::frp_armed`]'s answer (`miui::policy`'s rule), never restated here.
pub fn accounts_after(after: &PhoneFacts) -> Accounts {
    Accounts {
        mi_account_signed_in: after.mi_signed_in(),
        mi_account_id: None,
        google_accounts: u32::try_from(after.google_accounts).unwrap_or(u32::MAX),
        frp_armed: after.frp_armed(),
    }
}

/// The report's view of a backup summary.
pub fn convert_backup(dest: &Path, s: &crate::backup::Summary) -> BackupSummary {
    let location = s
        .dir
        .strip_prefix(dest)
        .unwrap_or(&s.dir)
        .display()
        .to_string();
    BackupSummary {
        location,
        files: s.files as u64,
        bytes: s.bytes,
        verified: s.verified as u64,
        failed: s
            .failed
            .iter()
            .map(|f| FailedFile {
                path: f.path.clone(),
                reason: f.why.clone(),
            })
            .collect(),
        manifest_sha256: Some(s.manifest_sha256.clone()).filter(|h| !h.is_empty()),
        notes: s.notes.clone(),
    }
}

/// The reset's note on files the phone refused to send: how many, the first few (named
/// as the interlock names them), and whose word let them go.
fn lost_note(lost: &[crate::backup::plan::Skipped], consent: UnreadableConsent) -> String {
    format!(
        "{} file{} the phone refused to send erased without a copy ({}), {}",
        lost.len(),
        if lost.len() == 1 { "" } else { "s" },
        crate::flow::interlock::lost_names(lost),
        consent.accepted_by()
    )
}

impl<P: Prompter + Send + Sync + 'static> Steps for AdbPhone<P> {
    fn serial(&self) -> &str {
        self.dev.serial()
    }

    async fn inspect(&self) -> StepOutput<Inspection> {
        let serial = self.dev.serial();
        let list = self.shared.adb.devices().await.map_err(|e| step_err(&e))?;
        let state = list
            .into_iter()
            .find(|d| d.serial == serial)
            .map(|d| d.state)
            .ok_or_else(|| {
                StepError::new(Exit::PhoneLost, format!("{serial} is no longer connected"))
            })?;
        let found = crate::miui::inspect(&self.dev, &state)
            .await
            .map_err(|e| step_err(&e))?;
        let inspection = convert_inspection(&found);
        if let Ok(mut imei) = self.imei.lock() {
            imei.clone_from(&inspection.device.imei);
        }
        Ok(Done::new(inspection))
    }

    async fn backup(&self, dest: &Path) -> StepOutput<BackupSummary> {
        let opts = crate::backup::Options {
            dest: dest.to_owned(),
            includes: Vec::new(),
            all: false,
        };
        let within = Within(self.shared.reporter.as_ref());
        let s = crate::backup::backup(&self.dev, &opts, &within)
            .await
            .map_err(|e| step_err(&e))?;
        let summary = convert_backup(&self.shared.dest, &s);
        if !s.failed.is_empty() || !s.complete {
            return Err(StepError::new(
                Exit::Other,
                format!(
                    "backup incomplete: {} of {} files verified, {} failed (first: {})",
                    s.verified,
                    s.files,
                    s.failed.len(),
                    s.failed
                        .first()
                        .map(|f| format!("{}: {}", f.path, f.why))
                        .unwrap_or_else(|| "none".to_owned())
                ),
            ));
        }
        // The summary's notes (what cannot be backed up) stay in the backup section;
        // the backup module already showed them to the operator.
        let note = format!("{} files verified by SHA-256", s.verified);
        Ok(Done::new(summary).with_note(note))
    }

    async fn backup_outdated(&self, dest: &Path) -> Option<String> {
        crate::backup::recheck(&self.dev, dest).await.problem()
    }

    async fn unaccepted_losses(&self, dest: &Path) -> Option<String> {
        if self.unreadable_consent().is_some() {
            return None;
        }
        let (m, _) = crate::backup::manifest::load(dest).ok()?;
        let lost = m.lost();
        (!lost.is_empty()).then(|| crate::flow::interlock::unaccepted_loss(&lost))
    }

    async fn signout(&self, password: &SecretString) -> StepOutput<Accounts> {
        let pw = password.clone();
        let source = move || Ok(pw.clone());
        let within = Within(self.shared.reporter.as_ref());
        let ctx = self.flow_ctx(&within);
        let report = crate::flow::signout::run(&self.dev, &ctx, &source).await;
        flow_result(&report)?;
        // Verified by the flow with `dumpsys account`: no Xiaomi account remains. The
        // reset probe also reads the screen lock, which the FRP rule needs.
        let after = crate::flow::probe::for_reset(&self.dev)
            .await
            .map_err(|e| step_err(&e))?;
        let mut done = Done::new(accounts_after(&after));
        if report.outcome == crate::flow::Outcome::AlreadySignedOut {
            done = done.with_note("already signed out");
        }
        Ok(done)
    }

    async fn reset(
        &self,
        password: Option<&SecretString>,
        backup: Option<&Path>,
        waiver: Option<&Waiver>,
    ) -> StepOutput<()> {
        let serial = self.dev.serial().to_owned();
        let pw = password.cloned();
        // Xiaomi's reset screen asks for the password only while Find Device is on; the
        // journey gives it whenever the account was still signed in.
        let source = move || {
            pw.clone().ok_or(crate::secret::SecretError::Missing {
                what: "Mi account password",
                env: "MI_PASSWORD",
            })
        };
        let consent = self.unreadable_consent();
        let req = ResetRequest {
            confirm: serial,
            backup: backup.map(Path::to_owned),
            no_backup: waiver.map(|w| w.reason.clone()),
            accept_unreadable: consent.is_some(),
            ..ResetRequest::default()
        }
        .checked_against(&self.dev)
        .await;
        let within = Within(self.shared.reporter.as_ref());
        let ctx = self.flow_ctx(&within);
        let report = crate::flow::reset::run(&self.dev, &ctx, &req, &source).await;
        flow_result(&report)?;
        let mut notes = Vec::new();
        // The certificate says which files went without a copy, and on whose word.
        let lost = report.backup.as_ref().map_or(&[][..], |b| &b.lost[..]);
        if let (Some(consent), false) = (consent, lost.is_empty()) {
            notes.push(lost_note(lost, consent));
        }
        if let Some(t) = &report.left_adb_at {
            let at = Timestamp::parse(t)
                .map(|t| t.0.format("%H:%M:%S UTC").to_string())
                .unwrap_or_else(|| t.clone());
            notes.push(format!(
                "the phone left adb at {at} after the final confirmation"
            ));
        }
        let done = Done::new(());
        Ok(if notes.is_empty() {
            done
        } else {
            done.with_note(notes.join("; "))
        })
    }

    async fn cloud_delete(&self, user: &str, password: &SecretString) -> StepOutput<CloudAccount> {
        let c = &self.shared.cloud;
        let client =
            Client::new(c.endpoints.clone(), c.options.clone()).map_err(|e| step_err(&e))?;
        let session = client
            .sign_in(user, password, c.prompter.as_ref())
            .await
            .map_err(|e| match e {
                // The journey decides what 20003 means (after an interrupted deletion,
                // that the deletion went through).
                CloudError::UnknownUser { .. } => step_err(&e).because(StepCause::UnknownAccount),
                e => step_err(&e),
            })?;
        let page = session.deletion_page().await.map_err(|e| step_err(&e))?;
        let scheduled = session
            .delete_account(&page, user, c.prompter.as_ref())
            .await
            .map_err(|e| step_err(&e))?;
        let delete_at = scheduled.delete_at().map(Timestamp);
        Ok(Done::new(CloudAccount {
            user_id: scheduled.user_id,
            status: "scheduled".to_owned(),
            delete_at,
        }))
    }

    async fn lock_status(&self, imei: &str) -> StepOutput<LockStatus> {
        let c = &self.shared.cloud;
        let client =
            Client::new(c.endpoints.clone(), c.options.clone()).map_err(|e| step_err(&e))?;
        let s = client.lock_status(imei).await.map_err(|e| step_err(&e))?;
        Ok(Done::new(LockStatus {
            checked_at: Timestamp::now(),
            locked: s.locked,
            source: c.endpoints.find.host_str().unwrap_or("").to_owned(),
        }))
    }
}

/// The adb server's device list through `host:track-devices`.
pub struct AdbWatch(pub Tracker);

impl Watch for AdbWatch {
    async fn next(&mut self) -> Result<Vec<Seen>, StepError> {
        let update = self.0.next().await.map_err(|e| step_err(&e))?;
        Ok(update
            .devices
            .into_iter()
            .map(|d| Seen {
                online: d.state == DeviceState::Device,
                unauthorized: d.state == DeviceState::Unauthorized,
                model: d.model,
                serial: d.serial,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owner who said no and is known only by IMEI might own the phone whose IMEI
    /// could not be read: that phone does not fall back to the accepting policy.
    #[test]
    fn an_owner_known_by_imei_who_refused_is_not_overruled_when_the_imei_is_unread() {
        let intake = Intake::parse(
            "[[phone]]\nimei = \"861234567890127\"\naccept_unreadable = false\nmi_password = \"pw\"\n\n[[phone]]\nserial = \"S2\"\n",
            Path::new("/nonexistent/intake.toml"),
        )
        .unwrap();
        let intake = intake.without_passwords();
        assert!(intake.phones.iter().all(|e| e.mi_password.is_none()));
        let rule = UnreadableRule::Bench {
            policy: Policy {
                accept_unreadable: true,
                ..Policy::default()
            },
            intake,
        };
        assert_eq!(rule.consent("S1", Some("861234567890127")), None);
        assert_eq!(rule.consent("S1", None), None);
        assert_eq!(
            rule.consent("S1", Some("490154203237518")),
            Some(UnreadableConsent::Policy)
        );
        assert_eq!(rule.consent("S2", None), Some(UnreadableConsent::Policy));
    }

    #[test]
    fn the_reset_note_names_the_lost_files_and_whose_word_let_them_go() {
        let skipped = |p: &str| crate::backup::plan::Skipped {
            path: p.to_owned(),
            reason: "Permission denied".to_owned(),
        };
        let one = [skipped("Documents/a b.pdf")];
        assert_eq!(
            lost_note(&one, UnreadableConsent::Owner),
            "1 file the phone refused to send erased without a copy (Documents/a b.pdf), \
             accepted by the owner (accept_unreadable in the phone's intake entry)"
        );
        let seven: Vec<_> = ["a", "b", "c", "d", "e", "f", "g"].map(skipped).into();
        let note = lost_note(&seven, UnreadableConsent::Policy);
        assert!(
            note.starts_with(
                "7 files the phone refused to send erased without a copy (a, b, c, d, e and 2 \
                 more (listed in the manifest)), accepted by the bench policy"
            ),
            "{note}"
        );
        let rule = UnreadableRule::from(true);
        assert_eq!(rule.consent("S", None), Some(UnreadableConsent::Operator));
        assert_eq!(UnreadableRule::from(false).consent("S", None), None);
    }

    /// Regression: an inspection whose accounts could not be read reached the policy as
    /// "not signed in, no Google account", and the bench said Proceed.
    #[test]
    fn unread_accounts_reach_the_policy_as_a_refusal_not_as_none() {
        use crate::bench::policy::{Decision, PhoneFacts as Facts, Policy};
        let found = crate::miui::inspect::assess("S1", &[]);
        assert_eq!(found.google_accounts, None);
        let i = convert_inspection(&found);
        assert!(i.has(ACCOUNTS_UNREADABLE), "{:?}", i.blockers);
        match Policy::default().decide(&Facts::from_inspection(&i), None) {
            Decision::OwnerActionNeeded { reasons } => assert!(
                reasons
                    .iter()
                    .any(|r| r.contains("could not read the phone's accounts")),
                "{reasons:?}"
            ),
            d => panic!("{d:?}"),
        }
    }

    /// Regression: the bench's sign-out step once read the accounts without the lock and
    /// restated the FRP rule as "lock known set", so a Google phone whose lock could
    /// not be read looked safe to reset.
    #[test]
    fn google_account_with_unreadable_lock_after_signout_counts_as_frp_armed() {
        let facts = PhoneFacts {
            adb_serial: "S1".into(),
            google_accounts: 1,
            screen_lock: None,
            ..PhoneFacts::default()
        };
        let a = accounts_after(&facts);
        assert!(a.frp_armed);
        assert_eq!(a.google_accounts, 1);
        assert!(!a.mi_account_signed_in);
        let unlocked = PhoneFacts {
            screen_lock: Some(false),
            ..facts
        };
        assert!(!accounts_after(&unlocked).frp_armed);
    }
}
