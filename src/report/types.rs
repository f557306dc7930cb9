//! The report's data, as written to `report.json` (schema documented in `docs/report.md`).
//! Plain serde types filled in by the journey; nothing here talks to a phone. No field
//! may ever hold a password, a verification code or a session token: the types have no
//! place for them, and the account id is the only account datum kept.

use super::Timestamp;
use crate::exit::Exit;
use serde::{Deserialize, Serialize};

/// Identifies this schema in every report, so readers can refuse what they do not know.
pub const SCHEMA: &str = "mi-offboard.report/1";

/// Everything one journey did to one phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub tool: Tool,
    /// The adb serial the phone was processed under (the folder name under DIR).
    pub serial: String,
    pub generated_at: Timestamp,
    /// Who issued the certificate (from the bench policy); printed in its header.
    pub issued_by: Option<String>,
    pub device: Device,
    /// What stood between the phone and a clean hand-over when it was first inspected.
    pub found: Vec<Blocker>,
    /// Every step that ran (or was skipped or refused), in order.
    pub steps: Vec<StepReport>,
    pub backup: Option<BackupSummary>,
    pub accounts_before: Option<Accounts>,
    pub accounts_after: Option<Accounts>,
    /// The anonymous activation-lock check after the journey, when it ran.
    pub lock_status: Option<LockStatus>,
    /// What happened to the owner's Xiaomi cloud account, when deletion was asked for.
    pub cloud_account: Option<CloudAccount>,
    /// Things the operator must read; printed on the certificate too.
    pub warnings: Vec<String>,
    /// Set when a safety interlock was waived on purpose (e.g. reset without backup).
    pub waiver: Option<Waiver>,
    pub outcome: Outcome,
}

impl Report {
    /// An empty report for `serial`, to be filled in as the journey goes.
    pub fn new(serial: &str, now: Timestamp) -> Report {
        Report {
            schema: SCHEMA.to_owned(),
            tool: Tool::this(),
            serial: serial.to_owned(),
            generated_at: now,
            issued_by: None,
            device: Device::default(),
            found: Vec::new(),
            steps: Vec::new(),
            backup: None,
            accounts_before: None,
            accounts_after: None,
            lock_status: None,
            cloud_account: None,
            warnings: Vec::new(),
            waiver: None,
            outcome: Outcome {
                status: OutcomeStatus::Interrupted,
                exit_code: Exit::Other.code(),
                summary: "not finished".to_owned(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn this() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// The phone's identity as read by inspect. Every string here came from the device and
/// must be treated as hostile when rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub manufacturer: Option<String>,
    pub brand: Option<String>,
    pub model: Option<String>,
    /// The name people know the phone by ("Redmi Note 13"), when the phone says it.
    pub marketname: Option<String>,
    /// The serial the phone reports itself (`ro.serialno`), which may differ from adb's.
    pub hardware_serial: Option<String>,
    /// Full IMEI (masked only on the customer's copy of the certificate). None when
    /// unreadable.
    pub imei: Option<String>,
    pub os: Os,
    pub region: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Os {
    /// "hyperos" | "miui" | "android" (free text: inspect decides).
    pub family: Option<String>,
    pub version: Option<String>,
    pub android: Option<String>,
    pub sdk: Option<u32>,
}

/// Something that stops or stopped the hand-over, with inspect's codes
/// (`mi_account_signed_in`, `frp_armed`, `google_account`, `device_owner`,
/// `input_disabled`, `not_xiaomi`, `unauthorized`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocker {
    pub code: String,
    pub message: String,
}

/// The steps of a journey, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Inspect,
    Backup,
    Signout,
    Reset,
    CloudDelete,
    LockStatus,
}

impl StepKind {
    pub const ALL: [StepKind; 6] = [
        StepKind::Inspect,
        StepKind::Backup,
        StepKind::Signout,
        StepKind::Reset,
        StepKind::CloudDelete,
        StepKind::LockStatus,
    ];

    /// The name used in the journal, the JSON and on screen.
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Inspect => "inspect",
            StepKind::Backup => "backup",
            StepKind::Signout => "signout",
            StepKind::Reset => "reset",
            StepKind::CloudDelete => "cloud_delete",
            StepKind::LockStatus => "lock_status",
        }
    }

    pub fn parse(name: &str) -> Option<StepKind> {
        StepKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// How the certificate names the step for a customer.
    pub fn title(self) -> &'static str {
        match self {
            StepKind::Inspect => "Inspection",
            StepKind::Backup => "Backup of your files",
            StepKind::Signout => "Mi account sign-out (Find Device off)",
            StepKind::Reset => "Factory reset (Xiaomi reset screen)",
            StepKind::CloudDelete => "Xiaomi cloud account deletion",
            StepKind::LockStatus => "Activation-lock check",
        }
    }
}

/// How a step ended. A step that started and never ended (the process died) is
/// `Unfinished` in a report rebuilt from the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    Ok,
    /// Not needed (already signed out) or not asked for (no backup, waiver given).
    Skipped,
    /// A precondition stopped it; nothing on the phone was changed by it.
    Refused,
    Failed,
    /// The phone left or the operator stopped the bench; it will be redone.
    Interrupted,
    Unfinished,
}

impl StepResult {
    pub fn as_str(self) -> &'static str {
        match self {
            StepResult::Ok => "ok",
            StepResult::Skipped => "skipped",
            StepResult::Refused => "refused",
            StepResult::Failed => "failed",
            StepResult::Interrupted => "interrupted",
            StepResult::Unfinished => "unfinished",
        }
    }

    pub fn parse(name: &str) -> Option<StepResult> {
        [
            StepResult::Ok,
            StepResult::Skipped,
            StepResult::Refused,
            StepResult::Failed,
            StepResult::Interrupted,
            StepResult::Unfinished,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }

    /// Whether a rerun may skip a step that ended this way. Only steps that reached
    /// their verified end count; everything else is redone.
    pub fn is_final(self) -> bool {
        matches!(self, StepResult::Ok | StepResult::Skipped)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepReport {
    pub step: StepKind,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub result: StepResult,
    /// What went wrong, in words an operator understands. Never holds a secret.
    pub error: Option<String>,
    /// A one-line note for people ("already signed out", "left adb at 07:12:03").
    pub note: Option<String>,
    /// The process exit code this step's failure means, when it failed.
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupSummary {
    /// Where the files went, relative to DIR when possible.
    pub location: String,
    pub files: u64,
    pub bytes: u64,
    /// Files whose size and sha256 were checked against the phone.
    pub verified: u64,
    pub failed: Vec<FailedFile>,
    /// sha256 of `manifest.json` as written, so the certificate can be tied to the backup.
    pub manifest_sha256: Option<String>,
    /// Things not backed up on purpose (Android/data on Android 11+, …).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedFile {
    pub path: String,
    pub reason: String,
}

/// The accounts on the phone at one moment (users 0 and 999 together).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    pub mi_account_signed_in: bool,
    /// The Mi account id as the phone shows it (may be masked by the phone).
    pub mi_account_id: Option<String>,
    pub google_accounts: u32,
    pub frp_armed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockStatus {
    pub checked_at: Timestamp,
    pub locked: bool,
    /// Where the answer came from (the Find Device service's host).
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudAccount {
    pub user_id: String,
    /// "scheduled" once the service accepted the deletion; "not_deleted" otherwise.
    pub status: String,
    /// When the service says the deletion takes effect.
    pub delete_at: Option<Timestamp>,
}

/// A safety interlock deliberately waived, and why; printed on the certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// e.g. "no_backup".
    pub kind: String,
    pub reason: String,
    /// "operator" (a flag) or "policy" (the bench policy file).
    pub given_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    /// Every planned step done and verified: the phone can go to its next owner.
    Done,
    /// Every step that could run is done, but something asked for could not be
    /// verified (the activation lock, when the IMEI was unreadable): exit 1, and a person
    /// must check it before the phone leaves the shop.
    DoneUnverified,
    /// The tool refused and the owner (or operator) must act: sign out, remove a
    /// Google account, turn an option on. The phone was not changed.
    OwnerActionNeeded,
    Failed,
    /// Stopped part-way (phone unplugged, Ctrl-C, crash); a rerun resumes.
    Interrupted,
    /// Closed unfinished because a different phone (another `ro.serialno`) turned up
    /// under the same adb serial; the journal only, never a phone's outcome.
    Abandoned,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Done => "done",
            OutcomeStatus::DoneUnverified => "done_unverified",
            OutcomeStatus::OwnerActionNeeded => "owner_action_needed",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::Interrupted => "interrupted",
            OutcomeStatus::Abandoned => "abandoned",
        }
    }

    pub fn parse(name: &str) -> Option<OutcomeStatus> {
        [
            OutcomeStatus::Done,
            OutcomeStatus::DoneUnverified,
            OutcomeStatus::OwnerActionNeeded,
            OutcomeStatus::Failed,
            OutcomeStatus::Interrupted,
            OutcomeStatus::Abandoned,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: OutcomeStatus,
    /// The process exit code this outcome means (see README).
    pub exit_code: i32,
    /// One sentence for the operator and the certificate.
    pub summary: String,
}
