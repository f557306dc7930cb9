//! The reset interlocks: every one is checked before anything on the phone changes, and
//! any one failing refuses the reset (exit 3). Pure decisions over [`PhoneFacts`] and the
//! operator's request, plus the backup proof from `crate::backup`.

use std::path::{Path, PathBuf};

use super::Check;
use super::probe::PhoneFacts;
use crate::backup::{BackupProof, BackupProofError};

/// What the operator asked for.
#[derive(Debug, Clone, Default)]
pub struct ResetRequest {
    /// `--confirm SERIAL`: must name this phone.
    pub confirm: String,
    /// `--backup DIR`: a verified backup of this phone is there.
    pub backup: Option<PathBuf>,
    /// `--no-backup "reason"`: the waiver, recorded in the report.
    pub no_backup: Option<String>,
}

/// The result of the interlocks: every check, and the backup evidence.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub checks: Vec<Check>,
    pub backup: Option<BackupProof>,
    pub waiver: Option<String>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The failed checks' details, for the refusal message.
    pub fn refusal(&self) -> String {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.detail.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The backup interlock, behind one function so the source of truth can change: a
/// manifest in DIR that `crate::backup` verifies for one of this phone's serials.
pub fn backup_proof(dir: &Path, facts: &PhoneFacts) -> Result<BackupProof, BackupProofError> {
    let mut last = None;
    for serial in facts.serials() {
        match crate::backup::verified_backup(dir, serial) {
            Ok(p) => return Ok(p),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| BackupProofError::OtherPhone {
        dir: dir.to_path_buf(),
        expected: facts.adb_serial.clone(),
        found: String::new(),
    }))
}

/// Checks every interlock (they are all reported, not just the first that fails).
pub fn check(req: &ResetRequest, facts: &PhoneFacts) -> Verdict {
    let mut v = Verdict::default();
    let mut add = |name, passed, detail: String| {
        v.checks.push(Check {
            name,
            passed,
            detail,
        })
    };

    let serials = facts.serials();
    let confirmed = serials.contains(&req.confirm.trim());
    add(
        "confirm_serial",
        confirmed,
        if confirmed {
            format!("--confirm names this phone ({})", req.confirm.trim())
        } else {
            format!(
                "--confirm {:?} does not name this phone (its serial is {})",
                req.confirm,
                serials.join(" / ")
            )
        },
    );

    let (backup_ok, detail) = match (&req.backup, &req.no_backup) {
        (Some(dir), _) => match backup_proof(dir, facts) {
            Ok(p) => {
                let d = format!(
                    "verified backup in {} ({} files, manifest sha256 {})",
                    dir.display(),
                    p.files,
                    p.manifest_sha256
                );
                v.backup = Some(p);
                (true, d)
            }
            Err(e) => (false, format!("no verified backup of this phone: {e}")),
        },
        (None, Some(reason)) if !reason.trim().is_empty() => {
            v.waiver = Some(reason.clone());
            (true, format!("backup waived: {reason:?}"))
        }
        (None, Some(_)) => (false, "--no-backup needs a reason (it is recorded in the report)".into()),
        (None, None) => (
            false,
            "no backup: give --backup DIR (a verified `mi-offboard backup`) or --no-backup \"reason\"".into(),
        ),
    };
    add("backup", backup_ok, detail);

    // A failed read is never "nothing there": the facts it would give are unknown, and
    // the reset waits until they are known.
    let unread: Vec<String> = facts.unreadable.iter().map(ToString::to_string).collect();
    add(
        "phone_read",
        unread.is_empty(),
        if unread.is_empty() {
            "accounts, device owner and restrictions were read".into()
        } else {
            format!(
                "the phone could not be read completely ({}): wait until it has finished starting up, reconnect it and try again",
                unread.join("; ")
            )
        },
    );

    // The rule, and its safe-side guess for an unreadable lock, is `miui::policy`'s.
    let frp = facts.frp_armed();
    add(
        "no_frp",
        !frp,
        if facts.accounts_unreadable().is_some() {
            "Factory Reset Protection cannot be ruled out: the accounts could not be read".into()
        } else if frp {
            format!(
                "{} Google account(s) on the phone{}: after a reset, Factory Reset Protection would ask for it. Remove the Google account in Settings → Accounts & sync first",
                facts.google_accounts,
                if facts.screen_lock == Some(true) {
                    " with a screen lock"
                } else {
                    " and a screen lock could not be ruled out"
                }
            )
        } else {
            "no Google account that would arm Factory Reset Protection".into()
        },
    );

    let unknown = facts.management_unreadable();
    let managed = facts.device_owner.is_some() || facts.no_factory_reset || !unknown.is_empty();
    add(
        "not_managed",
        !managed,
        match (&facts.device_owner, facts.no_factory_reset) {
            (None, false) if !unknown.is_empty() => {
                "whether an organisation manages the phone is unknown: the device owner or restrictions could not be read".into()
            }
            (Some(o), _) => format!(
                "the phone is managed by a device owner ({o}): its organisation must release it"
            ),
            (None, true) => "the no_factory_reset restriction forbids a reset".into(),
            (None, false) => "no device owner, no no_factory_reset restriction".into(),
        },
    );

    add(
        "xiaomi",
        facts.is_xiaomi,
        if facts.is_xiaomi {
            "Xiaomi phone".into()
        } else {
            format!(
                "not a Xiaomi phone ({}): Xiaomi's reset screen is not there",
                facts.manufacturer
            )
        },
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> PhoneFacts {
        PhoneFacts {
            adb_serial: "127.0.0.1:5555".into(),
            serialno: "a1b2c3".into(),
            manufacturer: "Xiaomi".into(),
            is_xiaomi: true,
            screen_lock: None,
            ..PhoneFacts::default()
        }
    }

    fn req() -> ResetRequest {
        ResetRequest {
            confirm: "a1b2c3".into(),
            backup: None,
            no_backup: Some("owner has no data to keep".into()),
        }
    }

    #[test]
    fn a_clean_phone_with_a_waiver_passes_and_records_it() {
        let v = check(&req(), &facts());
        assert!(v.passed(), "{}", v.refusal());
        assert_eq!(v.waiver.as_deref(), Some("owner has no data to keep"));
        let mut r = req();
        r.confirm = "127.0.0.1:5555".into();
        assert!(check(&r, &facts()).passed());
    }

    #[test]
    fn each_violation_refuses() {
        let mut r = req();
        r.confirm = "other".into();
        assert!(!check(&r, &facts()).passed());

        let mut r = req();
        r.no_backup = None;
        assert!(!check(&r, &facts()).passed());
        r.no_backup = Some("  ".into());
        assert!(!check(&r, &facts()).passed());
        let dir = tempfile::tempdir().unwrap();
        r.backup = Some(dir.path().to_path_buf());
        let v = check(&r, &facts());
        assert!(
            !v.passed() && v.refusal().contains("no verified backup"),
            "{}",
            v.refusal()
        );

        let mut f = facts();
        f.google_accounts = 1;
        assert!(!check(&req(), &f).passed(), "lock unknown counts as set");
        f.screen_lock = Some(false);
        assert!(check(&req(), &f).passed(), "no lock: FRP not armed");

        let mut f = facts();
        f.device_owner = Some("com.corp/.Admin".into());
        assert!(!check(&req(), &f).passed());
        let mut f = facts();
        f.no_factory_reset = true;
        assert!(!check(&req(), &f).passed());
        let mut f = facts();
        f.is_xiaomi = false;
        assert!(!check(&req(), &f).passed());
    }

    #[test]
    fn a_phone_not_read_in_full_is_refused() {
        use crate::miui::inspect::Unreadable;
        let mut f = facts();
        f.unreadable.push(Unreadable {
            command: "dumpsys account",
            reason: "failed: Can't find service: account".into(),
        });
        let v = check(&req(), &f);
        assert!(!v.passed());
        let failed: Vec<&str> = v
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect();
        assert_eq!(failed, vec!["phone_read", "no_frp"]);
        assert!(
            v.refusal().contains("Can't find service: account"),
            "{}",
            v.refusal()
        );

        let mut f = facts();
        f.unreadable.push(Unreadable {
            command: "dpm list-owners",
            reason: "failed with exit status 255".into(),
        });
        let v = check(&req(), &f);
        let failed: Vec<&str> = v
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name)
            .collect();
        assert_eq!(failed, vec!["phone_read", "not_managed"]);
    }

    #[test]
    fn a_signed_in_mi_account_does_not_block() {
        let mut f = facts();
        f.mi_accounts = vec!["1****89".into()];
        assert!(check(&req(), &f).passed());
    }
}
