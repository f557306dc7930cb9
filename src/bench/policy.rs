//! The bench policy (TOML): what a bench does to a phone when no owner stands at the
//! counter, and the pure decision it leads to for one inspected phone.
//!
//! With no policy file the bench is a refurbisher's: no backup (a waiver with the reason
//! is recorded on every report), phones still signed in to a Mi or Google account are
//! refused and flagged "owner action needed" with the reason, the rest are reset. An
//! intake entry with the owner's password lets the bench sign a Mi account out itself.
//! Knows inspect's blocker codes, not how they are read from a phone.

use super::intake::IntakeEntry;
use crate::exit::{Exit, HasExit};
use crate::flow::journey::{BackupChoice, Inspection, JourneyPlan};
use crate::report::Waiver;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read the policy file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("policy file {path}, line {line}, column {col}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("policy file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl HasExit for PolicyError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

/// When the bench backs a phone up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupWhen {
    /// Never (refurbisher stock): every report records the waiver and its reason.
    Never,
    /// Always; a phone whose backup fails is not reset.
    Always,
    /// Only phones with an intake entry (their owner asked for the hand-over).
    OwnerPresent,
}

/// What to do with a phone still signed in to a Mi account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MiAccountRule {
    /// Always refuse: the owner signs out, then the phone comes back.
    Refuse,
    /// Sign out when the intake holds the owner's password for this phone; else refuse.
    SignOutWithIntake,
}

/// What to do with a phone signed in to a Google account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoogleRule {
    /// Refuse any Google account: the owner removes it (data, FRP).
    Refuse,
    /// Refuse only when it would arm reset protection (an account and a screen lock).
    RefuseIfFrp,
}

/// When the owner's Xiaomi cloud account may be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudRule {
    Never,
    /// Only for phones whose intake entry asks for it and repeats the account id.
    WhenIntakeConfirms,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Printed at the top of every certificate (the shop's name and address).
    pub issued_by: Option<String>,
    pub backup: BackupWhen,
    /// The waiver's reason when a phone is not backed up; printed on the certificate.
    pub no_backup_reason: String,
    /// Reset after a backup that lists files the phone refused to send (they are named
    /// in the report and lost). Off by default: the reset refuses and names them. A
    /// phone's intake entry that says `accept_unreadable` overrides it for that phone
    /// (see [`Policy::unreadable_consent`]).
    pub accept_unreadable: bool,
    pub mi_account: MiAccountRule,
    pub google_account: GoogleRule,
    /// False for an intake desk that backs up and signs out but leaves resets to later.
    pub reset: bool,
    pub cloud_delete: CloudRule,
    /// Check the activation lock (anonymous, by IMEI) after a reset.
    pub check_lock: bool,
}

/// Who accepted that a phone's reset erases the files it refused to send during the
/// backup; the report names it next to the loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnreadableConsent {
    /// `run --accept-unreadable` (or `reset --accept-unreadable`): the operator.
    Operator,
    /// `accept_unreadable = true` in the phone's intake entry: its owner.
    Owner,
    /// `[backup] accept_unreadable = true` in the bench policy, for every phone.
    Policy,
}

impl UnreadableConsent {
    /// "accepted …", for the report.
    pub fn accepted_by(self) -> &'static str {
        match self {
            UnreadableConsent::Operator => "accepted with --accept-unreadable",
            UnreadableConsent::Owner => {
                "accepted by the owner (accept_unreadable in the phone's intake entry)"
            }
            UnreadableConsent::Policy => {
                "accepted by the bench policy ([backup] accept_unreadable, for every phone)"
            }
        }
    }
}

pub const DEFAULT_NO_BACKUP_REASON: &str =
    "refurbisher bench: no owner data is kept (default bench policy)";

impl Default for Policy {
    /// The refurbisher's bench.
    fn default() -> Policy {
        Policy {
            issued_by: None,
            backup: BackupWhen::Never,
            no_backup_reason: DEFAULT_NO_BACKUP_REASON.to_owned(),
            accept_unreadable: false,
            mi_account: MiAccountRule::SignOutWithIntake,
            google_account: GoogleRule::Refuse,
            reset: true,
            cloud_delete: CloudRule::WhenIntakeConfirms,
            check_lock: true,
        }
    }
}

/// The file's shape; every table optional, unknown keys refused (a typo must not
/// silently fall back to a default that resets phones).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    issued_by: Option<String>,
    #[serde(default)]
    backup: BackupSection,
    #[serde(default)]
    accounts: AccountsSection,
    #[serde(default)]
    reset: ResetSection,
    #[serde(default)]
    cloud: CloudSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupSection {
    when: Option<BackupWhen>,
    no_backup_reason: Option<String>,
    accept_unreadable: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsSection {
    mi_account: Option<MiAccountRule>,
    google_account: Option<GoogleRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetSection {
    enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloudSection {
    delete_account: Option<CloudRule>,
    check_lock: Option<bool>,
}

impl Policy {
    /// Reads a policy file; keys left out keep the refurbisher's defaults.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = super::read_text(path).map_err(|source| PolicyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Policy::parse(&text, path)
    }

    /// Parses policy text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Policy, PolicyError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let (line, col, message) = super::toml_error(text, &e, false);
            PolicyError::Parse {
                path: path.to_owned(),
                line,
                col,
                message,
            }
        })?;
        let d = Policy::default();
        let reason = file.backup.no_backup_reason.map(|r| r.trim().to_owned());
        if reason.as_deref() == Some("") {
            return Err(PolicyError::Invalid {
                path: path.to_owned(),
                message: "backup.no_backup_reason is empty: a waiver needs a reason".to_owned(),
            });
        }
        Ok(Policy {
            issued_by: file
                .issued_by
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            backup: file.backup.when.unwrap_or(d.backup),
            no_backup_reason: reason.unwrap_or(d.no_backup_reason),
            accept_unreadable: file.backup.accept_unreadable.unwrap_or(d.accept_unreadable),
            mi_account: file.accounts.mi_account.unwrap_or(d.mi_account),
            google_account: file.accounts.google_account.unwrap_or(d.google_account),
            reset: file.reset.enabled.unwrap_or(d.reset),
            cloud_delete: file.cloud.delete_account.unwrap_or(d.cloud_delete),
            check_lock: file.cloud.check_lock.unwrap_or(d.check_lock),
        })
    }

    /// Whether this phone's reset may erase the files it refused to send, and on whose
    /// word. It is the owner's data: an intake entry that says `accept_unreadable`
    /// decides, its `false` overriding a policy that accepts; without one the policy
    /// decides (a refurbisher's batch has no owners to ask).
    pub fn unreadable_consent(&self, intake: Option<&IntakeEntry>) -> Option<UnreadableConsent> {
        match intake.and_then(|e| e.accept_unreadable) {
            Some(true) => Some(UnreadableConsent::Owner),
            Some(false) => None,
            None => self.accept_unreadable.then_some(UnreadableConsent::Policy),
        }
    }

    /// What the bench does with one inspected phone. Pure: the same facts give the same
    /// decision, so every rule is tested without a phone.
    pub fn decide(&self, facts: &PhoneFacts, intake: Option<&IntakeEntry>) -> Decision {
        let mut reasons = Vec::new();
        let has = |code: &str| facts.blockers.iter().any(|b| b == code);
        if has("unauthorized") {
            reasons.push(
                "USB debugging is not yet allowed: accept the prompt on the phone's screen"
                    .to_owned(),
            );
        }
        // Unread is not "none": a phone whose accounts could not be read may be signed
        // in (Find Device, FRP), so nothing starts until a fresh read says otherwise.
        if has("accounts_unreadable") {
            reasons.push(
                "could not read the phone's accounts: retry / replug (unplug it and plug it back in once it has finished starting up)"
                    .to_owned(),
            );
        }
        if has("not_xiaomi") {
            reasons.push("not a Xiaomi phone: this bench only handles Xiaomi phones".to_owned());
        }
        if has("device_owner") {
            reasons.push(
                "managed by an organisation (device owner or no_factory_reset): the organisation must release it"
                    .to_owned(),
            );
        }
        let google_blocks = match self.google_account {
            GoogleRule::Refuse => facts.google_accounts > 0 || facts.frp_armed,
            GoogleRule::RefuseIfFrp => facts.frp_armed,
        };
        if google_blocks {
            reasons.push(format!(
                "still signed in to {} Google account{}: the owner must remove {} (Settings → Accounts){}",
                facts.google_accounts.max(1),
                if facts.google_accounts > 1 { "s" } else { "" },
                if facts.google_accounts > 1 { "them" } else { "it" },
                if facts.frp_armed {
                    "; a reset now would lock the phone to it (FRP)"
                } else {
                    ""
                }
            ));
        }
        let password = intake.is_some_and(|e| e.mi_password.is_some());
        let signout = facts.mi_signed_in;
        if signout && (self.mi_account == MiAccountRule::Refuse || !password) {
            reasons.push(
                "still signed in to a Mi account (Find Device on): the owner must sign out, or the intake file must give the account's password"
                    .to_owned(),
            );
        }
        if has("input_disabled") && (signout || self.reset) {
            reasons.push(
                "\"USB debugging (Security settings)\" is off: turn it on in Developer options (it may need a Mi account sign-in)"
                    .to_owned(),
            );
        }
        if !reasons.is_empty() {
            return Decision::OwnerActionNeeded { reasons };
        }
        let backup = match self.backup {
            BackupWhen::Never => false,
            BackupWhen::Always => true,
            BackupWhen::OwnerPresent => intake.is_some(),
        } || intake.is_some_and(|e| e.backup == Some(true));
        let cloud_delete = match (self.cloud_delete, intake) {
            (CloudRule::WhenIntakeConfirms, Some(e)) => e.confirmed_deletion().map(str::to_owned),
            _ => None,
        };
        Decision::Proceed(Plan {
            backup,
            no_backup_reason: (!backup).then(|| self.no_backup_reason.clone()),
            signout,
            reset: self.reset,
            cloud_delete,
            check_lock: self.check_lock && self.reset,
        })
    }
}

impl PhoneFacts {
    pub fn from_inspection(i: &Inspection) -> PhoneFacts {
        PhoneFacts {
            blockers: i.blockers.iter().map(|b| b.code.clone()).collect(),
            mi_signed_in: i.accounts.mi_account_signed_in,
            google_accounts: i.accounts.google_accounts,
            frp_armed: i.accounts.frp_armed,
        }
    }
}

impl Plan {
    /// The journey's plan; a skipped backup becomes the policy's recorded waiver.
    pub fn journey_plan(&self) -> JourneyPlan {
        JourneyPlan {
            backup: match &self.no_backup_reason {
                Some(reason) if !self.backup => BackupChoice::Waive(Waiver {
                    kind: "no_backup".to_owned(),
                    reason: reason.clone(),
                    given_by: "policy".to_owned(),
                }),
                _ => BackupChoice::Backup,
            },
            signout: self.signout,
            reset: self.reset,
            cloud_delete: self.cloud_delete.clone(),
            check_lock: self.check_lock,
        }
    }
}

/// What inspect found, reduced to what the policy decides on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneFacts {
    /// Inspect's blocker codes.
    pub blockers: Vec<String>,
    pub mi_signed_in: bool,
    pub google_accounts: u32,
    pub frp_armed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Leave the phone as it is and flag it, with every reason a person must act on.
    OwnerActionNeeded {
        reasons: Vec<String>,
    },
    Proceed(Plan),
}

/// The steps a bench runs for one phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub backup: bool,
    /// Set when `backup` is false: the waiver's reason.
    pub no_backup_reason: Option<String>,
    pub signout: bool,
    pub reset: bool,
    /// The account id to delete, confirmed in the intake.
    pub cloud_delete: Option<String>,
    pub check_lock: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::intake::Intake;

    fn p(text: &str) -> Result<Policy, PolicyError> {
        Policy::parse(text, Path::new("bench.toml"))
    }

    fn facts(blockers: &[&str], mi: bool, google: u32, frp: bool) -> PhoneFacts {
        PhoneFacts {
            blockers: blockers.iter().map(|s| s.to_string()).collect(),
            mi_signed_in: mi,
            google_accounts: google,
            frp_armed: frp,
        }
    }

    #[test]
    fn unreadable_accounts_never_proceed() {
        // Regression: the inspection's unknown accounts arrived as "not signed in, no
        // Google account", and the default policy said Proceed.
        for pol in [
            Policy::default(),
            p("[accounts]\ngoogle_account = \"refuse_if_frp\"\n").unwrap(),
        ] {
            match pol.decide(&facts(&["accounts_unreadable"], false, 0, false), None) {
                Decision::OwnerActionNeeded { reasons } => {
                    assert_eq!(reasons.len(), 1, "{reasons:?}");
                    assert!(
                        reasons[0]
                            .starts_with("could not read the phone's accounts: retry / replug")
                    );
                }
                d => panic!("{d:?}"),
            }
        }
    }

    #[test]
    fn empty_file_is_the_refurbisher_default() {
        assert_eq!(p("").unwrap(), Policy::default());
        assert_eq!(p("# nothing\r\n\r\n").unwrap(), Policy::default());
    }

    #[test]
    fn full_file_parses_with_crlf() {
        let text = "issued_by = \"PhoneCare\"\r\n[backup]\r\nwhen = \"owner_present\"\r\nno_backup_reason = \"stock\"\r\n[accounts]\r\nmi_account = \"refuse\"\r\ngoogle_account = \"refuse_if_frp\"\r\n[reset]\r\nenabled = false\r\n[cloud]\r\ndelete_account = \"never\"\r\ncheck_lock = false\r\n";
        let pol = p(text).unwrap();
        assert_eq!(pol.issued_by.as_deref(), Some("PhoneCare"));
        assert_eq!(pol.backup, BackupWhen::OwnerPresent);
        assert_eq!(pol.no_backup_reason, "stock");
        assert_eq!(pol.mi_account, MiAccountRule::Refuse);
        assert_eq!(pol.google_account, GoogleRule::RefuseIfFrp);
        assert!(!pol.reset);
        assert_eq!(pol.cloud_delete, CloudRule::Never);
        assert!(!pol.check_lock);
    }

    #[test]
    fn typos_and_garbage_are_refused_with_a_line_number() {
        let e = p("[backup]\nwhen = \"never\"\nwehn = \"always\"\n").unwrap_err();
        assert!(matches!(e, PolicyError::Parse { line: 3, .. }), "{e}");
        assert!(e.to_string().contains("bench.toml"), "{e}");
        let e = p("[backup]\nwhen = \"sometimes\"\n").unwrap_err();
        assert!(matches!(e, PolicyError::Parse { line: 2, .. }), "{e}");
        assert!(p("[reset\nenabled = true").is_err());
        assert!(p("\u{0}\u{1}garbage").is_err());
        assert!(p("[backup]\nno_backup_reason = \"  \"\n").is_err());
        assert!(p("reset = 3").is_err());
    }

    #[test]
    fn default_refuses_signed_in_phones_and_resets_the_rest() {
        let pol = Policy::default();
        match pol.decide(&facts(&["mi_account_signed_in"], true, 0, false), None) {
            Decision::OwnerActionNeeded { reasons } => {
                assert_eq!(reasons.len(), 1);
                assert!(reasons[0].contains("Mi account"), "{reasons:?}");
            }
            d => panic!("{d:?}"),
        }
        match pol.decide(&facts(&["google_account"], false, 1, false), None) {
            Decision::OwnerActionNeeded { reasons } => {
                assert!(reasons[0].contains("1 Google account"), "{reasons:?}")
            }
            d => panic!("{d:?}"),
        }
        let d = pol.decide(&facts(&[], false, 0, false), None);
        let Decision::Proceed(plan) = &d else {
            panic!("{d:?}")
        };
        match plan.journey_plan().backup {
            BackupChoice::Waive(w) => {
                assert_eq!(w.given_by, "policy");
                assert_eq!(w.reason, DEFAULT_NO_BACKUP_REASON);
            }
            BackupChoice::Backup => panic!("the default bench does not back up"),
        }
        assert_eq!(
            d,
            Decision::Proceed(Plan {
                backup: false,
                no_backup_reason: Some(DEFAULT_NO_BACKUP_REASON.to_owned()),
                signout: false,
                reset: true,
                cloud_delete: None,
                check_lock: true,
            })
        );
    }

    #[test]
    fn every_reason_is_given_at_once() {
        let d = Policy::default().decide(
            &facts(
                &[
                    "mi_account_signed_in",
                    "frp_armed",
                    "google_account",
                    "device_owner",
                    "input_disabled",
                ],
                true,
                2,
                true,
            ),
            None,
        );
        let Decision::OwnerActionNeeded { reasons } = d else {
            panic!("{d:?}")
        };
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("2 Google accounts") && r.contains("FRP"))
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("USB debugging (Security settings)"))
        );
    }

    #[test]
    fn the_owners_word_on_unreadable_files_beats_the_policy() {
        let intake = Intake::parse(
            "[[phone]]\nserial = \"yes\"\naccept_unreadable = true\n[[phone]]\nserial = \"no\"\naccept_unreadable = false\n[[phone]]\nserial = \"silent\"\n",
            Path::new("intake.toml"),
        )
        .unwrap();
        let accepting = Policy {
            accept_unreadable: true,
            ..Policy::default()
        };
        let refusing = Policy::default();
        let consent = |p: &Policy, serial: &str| p.unreadable_consent(intake.find(serial, None));
        for p in [&accepting, &refusing] {
            assert_eq!(consent(p, "yes"), Some(UnreadableConsent::Owner));
            assert_eq!(consent(p, "no"), None, "the owner refused");
        }
        assert_eq!(
            consent(&accepting, "silent"),
            Some(UnreadableConsent::Policy)
        );
        assert_eq!(
            consent(&accepting, "not-in-intake"),
            Some(UnreadableConsent::Policy)
        );
        assert_eq!(consent(&refusing, "silent"), None);
        assert_eq!(consent(&refusing, "not-in-intake"), None);
    }

    #[test]
    fn intake_password_lets_the_bench_sign_out_and_delete_when_confirmed() {
        let intake = Intake::parse(
            "[[phone]]\nserial = \"S1\"\naccount_id = \"6123456789\"\nmi_password = \"pw\"\ndelete_cloud_account = \"6123456789\"\n",
            Path::new("intake.toml"),
        )
        .unwrap();
        let entry = intake.find("S1", None);
        let d = Policy::default().decide(&facts(&["mi_account_signed_in"], true, 0, false), entry);
        let Decision::Proceed(plan) = d else {
            panic!("{d:?}")
        };
        assert!(plan.signout && plan.reset && !plan.backup);
        assert_eq!(plan.cloud_delete.as_deref(), Some("6123456789"));

        let strict = Policy {
            mi_account: MiAccountRule::Refuse,
            cloud_delete: CloudRule::Never,
            ..Policy::default()
        };
        assert!(matches!(
            strict.decide(&facts(&["mi_account_signed_in"], true, 0, false), entry),
            Decision::OwnerActionNeeded { .. }
        ));
        let Decision::Proceed(plan) = strict.decide(&facts(&[], false, 0, false), entry) else {
            panic!()
        };
        assert_eq!(plan.cloud_delete, None);
    }

    #[test]
    fn google_account_without_lock_passes_only_under_refuse_if_frp() {
        let lenient = Policy {
            google_account: GoogleRule::RefuseIfFrp,
            ..Policy::default()
        };
        assert!(matches!(
            lenient.decide(&facts(&["google_account"], false, 1, false), None),
            Decision::Proceed(_)
        ));
        assert!(matches!(
            lenient.decide(&facts(&["frp_armed"], false, 1, true), None),
            Decision::OwnerActionNeeded { .. }
        ));
    }

    #[test]
    fn owner_present_backs_up_only_phones_in_the_intake() {
        let pol = Policy {
            backup: BackupWhen::OwnerPresent,
            ..Policy::default()
        };
        let intake =
            Intake::parse("[[phone]]\nimei = \"861234567890127\"\n", Path::new("i")).unwrap();
        let known = intake.find("X", Some("861234567890127"));
        assert!(known.is_some());
        let Decision::Proceed(plan) = pol.decide(&facts(&[], false, 0, false), known) else {
            panic!()
        };
        assert!(plan.backup && plan.no_backup_reason.is_none());
        let Decision::Proceed(plan) = pol.decide(&facts(&[], false, 0, false), None) else {
            panic!()
        };
        assert!(!plan.backup && plan.no_backup_reason.is_some());
    }
}
