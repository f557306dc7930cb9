//! The reset interlocks: every one is checked before anything on the phone changes, and
//! any one failing refuses the reset (exit 3). Pure decisions over [`PhoneFacts`] and the
//! operator's request, plus the backup proof from `crate::backup`. The one look at the
//! phone they need besides the facts (is the backup still current?) is taken when the
//! request is made, by [`ResetRequest::checked_against`].

use std::path::{Path, PathBuf};

use super::Check;
use super::probe::PhoneFacts;
use crate::backup::plan::Skipped;
use crate::backup::{BackupProof, BackupProofError, Recheck};

/// What the operator asked for.
#[derive(Debug, Clone, Default)]
pub struct ResetRequest {
    /// `--confirm SERIAL`: must name this phone.
    pub confirm: String,
    /// `--backup DIR`: a verified backup of this phone is there.
    pub backup: Option<PathBuf>,
    /// `--no-backup "reason"`: the waiver, recorded in the report. It covers files the
    /// phone would not send, too: nothing of the phone is kept.
    pub no_backup: Option<String>,
    /// `--accept-unreadable`: the operator has seen which files the phone would not send
    /// during the backup and accepts that the reset erases them.
    pub accept_unreadable: bool,
    /// The backup compared with the phone's files just before the reset. None means not
    /// compared, which refuses a reset with `--backup`: a caller cannot forget it safely.
    pub recheck: Option<Recheck>,
}

impl ResetRequest {
    /// Compares the backup in `backup` (if any) with the phone's files now, in one sync
    /// session; the interlock then refuses a backup the phone has outgrown.
    pub async fn checked_against(mut self, device: &crate::adb::Device) -> ResetRequest {
        if let Some(dir) = &self.backup {
            self.recheck = Some(crate::backup::recheck(device, dir).await);
        }
        self
    }
}

/// How many unreadable files a refusal names.
const LOST_NAMED: usize = 5;

/// "a, b, … and M more (listed in the manifest)": the lost files a sentence names.
pub fn lost_names(lost: &[Skipped]) -> String {
    let mut names: Vec<&str> = lost
        .iter()
        .take(LOST_NAMED)
        .map(|s| s.path.as_str())
        .collect();
    let more = lost.len().saturating_sub(LOST_NAMED);
    let more = if more > 0 {
        format!(" and {more} more (listed in the manifest)")
    } else {
        String::new()
    };
    if names.is_empty() {
        names.push("none");
    }
    format!("{}{more}", names.join(", "))
}

/// "N files could not be read and will be lost: a, b, … (and M more)".
fn lost_sentence(lost: &[Skipped]) -> String {
    format!(
        "{} file{} could not be read and will be lost: {}",
        lost.len(),
        if lost.len() == 1 { "" } else { "s" },
        lost_names(lost)
    )
}

/// The refusal when the backup lacks files the phone would not send and nobody accepted
/// their loss: what is lost and the two ways on.
pub fn unaccepted_loss(lost: &[Skipped]) -> String {
    format!(
        "{}; copy them by hand, or accept their loss with --accept-unreadable (on a bench: `accept_unreadable = true` in the phone's intake entry, or under [backup] in the policy for every phone)",
        lost_sentence(lost)
    )
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
/// manifest in DIR that `crate::backup` verifies for this phone's hardware serial (or,
/// for a manifest that lacks one, its adb serial).
pub fn backup_proof(dir: &Path, facts: &PhoneFacts) -> Result<BackupProof, BackupProofError> {
    let hardware = Some(facts.serialno.as_str()).filter(|s| !s.is_empty());
    crate::backup::verified_backup(dir, &facts.adb_serial, hardware)
}

/// The backup check once the proof is there: still current, and no file lost unless
/// the operator accepted it. Returns (passed, detail).
fn backup_current(req: &ResetRequest, dir: &Path, p: &BackupProof) -> (bool, String) {
    let mut problems = Vec::new();
    match &req.recheck {
        Some(r) => problems.extend(r.problem()),
        None => problems.push(
            "the backup was not compared with the phone's files just before the reset".to_owned(),
        ),
    }
    let mut detail = format!(
        "verified backup in {} ({} files, manifest sha256 {})",
        dir.display(),
        p.files,
        p.manifest_sha256
    );
    if !p.lost.is_empty() {
        if req.accept_unreadable {
            detail.push_str(&format!(
                "; {} (accepted with --accept-unreadable)",
                lost_sentence(&p.lost)
            ));
        } else {
            problems.push(unaccepted_loss(&p.lost));
        }
    }
    for n in &p.notes {
        detail.push_str(&format!("; {n}"));
    }
    if problems.is_empty() {
        (true, detail)
    } else {
        (false, problems.join("; "))
    }
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
                let r = backup_current(req, dir, &p);
                v.backup = Some(p);
                r
            }
            Err(e) => (false, format!("no verified backup of this phone: {e}")),
        },
        (None, Some(reason)) if !reason.trim().is_empty() => {
            v.waiver = Some(reason.clone());
            // Nothing of the phone is kept, so files it would not send are covered.
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
            ..ResetRequest::default()
        }
    }

    /// A verified backup of the phone of `facts()` in a fresh directory, with `skipped`.
    fn backup_dir(skipped: &[&str]) -> tempfile::TempDir {
        use crate::backup::manifest::{Device, Manifest};
        let d = tempfile::tempdir().unwrap();
        let mut m = Manifest::new(
            Device {
                serial: "127.0.0.1:5555".into(),
                hardware_serial: Some("a1b2c3".into()),
                model: None,
                imei: None,
            },
            vec!["DCIM".into()],
        );
        for p in skipped {
            m.skipped.push(Skipped {
                path: (*p).into(),
                reason: "the phone refused to send it: Permission denied".into(),
            });
        }
        m.finished = Some("2024-05-01T10:00:00Z".into());
        m.complete = true;
        m.save(d.path()).unwrap();
        d
    }

    fn with_backup(dir: &Path, recheck: Option<Recheck>) -> ResetRequest {
        ResetRequest {
            confirm: "a1b2c3".into(),
            backup: Some(dir.to_path_buf()),
            recheck,
            ..ResetRequest::default()
        }
    }

    fn backup_check(v: &Verdict) -> &Check {
        v.checks.iter().find(|c| c.name == "backup").unwrap()
    }

    #[test]
    fn a_backup_must_be_compared_with_the_phone_and_current() {
        let d = backup_dir(&[]);
        let v = check(
            &with_backup(d.path(), Some(Recheck::Current { files: 0 })),
            &facts(),
        );
        assert!(v.passed(), "{}", v.refusal());
        assert!(v.backup.is_some());

        let v = check(&with_backup(d.path(), None), &facts());
        assert!(!v.passed());
        assert!(
            backup_check(&v).detail.contains("not compared"),
            "{}",
            v.refusal()
        );

        let stale = Recheck::Stale {
            count: 2,
            since: "2024-05-01T10:00:00Z".into(),
            examples: vec!["DCIM/new.jpg".into()],
        };
        let v = check(&with_backup(d.path(), Some(stale)), &facts());
        assert!(!v.passed());
        assert!(
            v.refusal().contains(
                "backup is out of date: 2 files new or changed since 2024-05-01T10:00:00Z (e.g. DCIM/new.jpg)"
            ),
            "{}",
            v.refusal()
        );
        let failed = Recheck::Failed {
            why: "phone lost".into(),
        };
        assert!(!check(&with_backup(d.path(), Some(failed)), &facts()).passed());
    }

    #[test]
    fn files_the_phone_would_not_send_refuse_until_accepted_or_waived() {
        let d = backup_dir(&["DCIM/a.jpg", "DCIM/b.jpg", "Android/data"]);
        let mut r = with_backup(d.path(), Some(Recheck::Current { files: 0 }));
        let v = check(&r, &facts());
        assert!(!v.passed());
        assert!(
            v.refusal().contains(
                "2 files could not be read and will be lost: DCIM/a.jpg, DCIM/b.jpg; copy them by hand, or accept their loss with --accept-unreadable (on a bench: `accept_unreadable = true` in the phone's intake entry, or under [backup] in the policy for every phone)"
            ),
            "{}",
            v.refusal()
        );
        r.accept_unreadable = true;
        let v = check(&r, &facts());
        assert!(v.passed(), "{}", v.refusal());
        assert!(
            backup_check(&v)
                .detail
                .contains("2 files could not be read and will be lost: DCIM/a.jpg, DCIM/b.jpg (accepted with --accept-unreadable)"),
            "{}",
            backup_check(&v).detail
        );
        // The waiver keeps nothing, so it covers them.
        assert!(check(&req(), &facts()).passed());
    }

    #[test]
    fn the_backup_of_another_phone_with_the_same_adb_serial_is_refused() {
        let d = backup_dir(&[]);
        let mut f = facts();
        f.serialno = "zz9".into();
        let v = check(
            &with_backup(d.path(), Some(Recheck::Current { files: 0 })),
            &f,
        );
        assert!(!v.passed());
        assert!(backup_check(&v).detail.contains("zz9"), "{}", v.refusal());
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
