//! The intake file (TOML): what owners handed over with their phones for an owner-present
//! batch — per phone (by serial or IMEI) the Mi account id, its password, whether to back
//! up, whether the owner accepts losing the files the phone refuses to send, and whether
//! to delete the cloud account (confirmed by repeating the account id).
//!
//! Passwords go straight into `SecretString` and the types do not implement `Serialize`,
//! so they are never written back anywhere; parse errors on a line holding a password do
//! not quote it. Knows nothing about phones beyond matching serials and IMEIs.

use crate::exit::{Exit, HasExit};
use crate::secret::SecretString;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("cannot read the intake file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("intake file {path}, line {line}, column {col}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("intake file {path}, phone #{index}: {message}")]
    Invalid {
        path: PathBuf,
        /// 1-based position of the `[[phone]]` table.
        index: usize,
        message: String,
    },
    #[error("intake file {path}, phone #{index}: {source}")]
    PasswordFile {
        path: PathBuf,
        index: usize,
        source: crate::secret::SecretError,
    },
}

impl HasExit for IntakeError {
    fn exit(&self) -> Exit {
        Exit::Usage
    }
}

/// One owner's phone. `Debug` shows the password as redacted.
#[derive(Debug, Clone)]
pub struct IntakeEntry {
    pub serial: Option<String>,
    pub imei: Option<String>,
    /// The Mi account id the owner gave (also the cloud login's user).
    pub account_id: Option<String>,
    pub mi_password: Option<SecretString>,
    /// The owner wants a backup (overrides a policy that would not back up).
    pub backup: Option<bool>,
    /// The owner's word on files the phone refuses to send during the backup (the reset
    /// erases them without a copy): `Some(true)` accepts their loss, `Some(false)`
    /// refuses it even on a bench whose policy accepts it, `None` leaves it to the policy.
    pub accept_unreadable: Option<bool>,
    /// The account id typed again to confirm deletion; must equal `account_id`.
    delete_cloud_account: Option<String>,
}

impl IntakeEntry {
    /// The account id to delete, when the owner asked for it and confirmed it.
    pub fn confirmed_deletion(&self) -> Option<&str> {
        match (&self.delete_cloud_account, &self.account_id) {
            (Some(c), Some(id)) if c == id => Some(id),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Intake {
    pub phones: Vec<IntakeEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    phone: Vec<RawEntry>,
}

/// The raw table. The password is moved into a `SecretString` right after parsing and
/// this struct is dropped; it has no `Debug` so it cannot be printed meanwhile.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    serial: Option<String>,
    imei: Option<String>,
    account_id: Option<String>,
    mi_password: Option<String>,
    /// Relative to the intake file's folder.
    mi_password_file: Option<PathBuf>,
    backup: Option<bool>,
    accept_unreadable: Option<bool>,
    delete_cloud_account: Option<String>,
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Intake {
    pub fn load(path: &Path) -> Result<Intake, IntakeError> {
        let text = super::read_text(path).map_err(|source| IntakeError::Read {
            path: path.to_owned(),
            source,
        })?;
        Intake::parse(&text, path)
    }

    /// Parses intake text; `path` names the file in errors and anchors password files.
    pub fn parse(text: &str, path: &Path) -> Result<Intake, IntakeError> {
        let file: File = toml::from_str(text).map_err(|e| {
            let (line, col, message) = super::toml_error(text, &e, true);
            IntakeError::Parse {
                path: path.to_owned(),
                line,
                col,
                message,
            }
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut phones: Vec<IntakeEntry> = Vec::with_capacity(file.phone.len());
        for (i, raw) in file.phone.into_iter().enumerate() {
            let index = i + 1;
            let invalid = |message: String| IntakeError::Invalid {
                path: path.to_owned(),
                index,
                message,
            };
            let serial = clean(raw.serial);
            // As printed on a box: "86 123456 789012 7", or with dashes.
            let imei = clean(raw.imei).map(|i| i.replace([' ', '-'], ""));
            if serial.is_none() && imei.is_none() {
                return Err(invalid("give the phone's serial or its IMEI".to_owned()));
            }
            if let Some(imei) = &imei {
                if !(14..=16).contains(&imei.len()) || !imei.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(format!("IMEI {imei:?} is not 14 to 16 digits")));
                }
                // A 15-digit IMEI carries a check digit: most typos fail it.
                if imei.len() == 15 && !crate::miui::imei::is_valid_imei(imei) {
                    return Err(invalid(format!(
                        "IMEI {imei} fails its check digit: a typo? (copy it from *#06# or the box)"
                    )));
                }
            }
            let mi_password = match (raw.mi_password, raw.mi_password_file) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "give mi_password or mi_password_file, not both".to_owned(),
                    ));
                }
                (Some(pw), None) if pw.is_empty() => {
                    return Err(invalid("mi_password is empty".to_owned()));
                }
                (Some(pw), None) => Some(SecretString::from(pw)),
                (None, Some(file)) => Some(crate::secret::from_file(&base.join(file)).map_err(
                    |source| IntakeError::PasswordFile {
                        path: path.to_owned(),
                        index,
                        source,
                    },
                )?),
                (None, None) => None,
            };
            let account_id = clean(raw.account_id);
            let delete = clean(raw.delete_cloud_account);
            if let Some(confirm) = &delete {
                match &account_id {
                    None => {
                        return Err(invalid(
                            "delete_cloud_account needs account_id: the deletion is confirmed by repeating it"
                                .to_owned(),
                        ));
                    }
                    Some(id) if id != confirm => {
                        return Err(invalid(format!(
                            "delete_cloud_account {confirm:?} does not repeat account_id {id:?}"
                        )));
                    }
                    Some(_) if mi_password.is_none() => {
                        return Err(invalid(
                            "delete_cloud_account needs the account's password".to_owned(),
                        ));
                    }
                    Some(_) => {}
                }
            }
            for earlier in &phones {
                let same_serial = serial.is_some() && earlier.serial == serial;
                let imei_twice = match (&imei, &earlier.imei) {
                    (Some(a), Some(b)) => same_imei(a, b),
                    _ => false,
                };
                if same_serial || imei_twice {
                    return Err(invalid(
                        "the same phone is listed twice (serial or IMEI)".to_owned(),
                    ));
                }
            }
            phones.push(IntakeEntry {
                serial,
                imei,
                account_id,
                mi_password,
                backup: raw.backup,
                accept_unreadable: raw.accept_unreadable,
                delete_cloud_account: delete,
            });
        }
        Ok(Intake { phones })
    }

    /// The same entries without their passwords, for parts that only match phones and
    /// read their choices: one copy of each secret is enough.
    pub fn without_passwords(&self) -> Intake {
        Intake {
            phones: self
                .phones
                .iter()
                .map(|e| IntakeEntry {
                    mi_password: None,
                    ..e.clone()
                })
                .collect(),
        }
    }

    /// Whether an owner who refused the loss of their unreadable files might own a phone
    /// whose IMEI could not be read: their entry names no serial, so only the IMEI could
    /// have matched it. Such a phone must not fall back to an accepting policy.
    pub fn refusal_matched_by_imei_only(&self) -> bool {
        self.phones
            .iter()
            .any(|e| e.serial.is_none() && e.accept_unreadable == Some(false))
    }

    /// The entry for a phone: by adb serial first, then by IMEI (a phone on a USB hub
    /// may show a different serial than the owner wrote down; the IMEI is on the box).
    /// A serial match whose IMEI differs is still returned: [`Intake::imei_conflict`]
    /// says so, and the phone is refused rather than run as if it had no entry.
    pub fn find(&self, serial: &str, imei: Option<&str>) -> Option<&IntakeEntry> {
        self.index_of(serial, imei).map(|i| &self.phones[i])
    }

    /// [`Intake::find`], as the entry's position in `phones`.
    pub fn index_of(&self, serial: &str, imei: Option<&str>) -> Option<usize> {
        self.phones
            .iter()
            .position(|e| e.serial.as_deref() == Some(serial))
            .or_else(|| {
                let imei = imei?;
                self.phones
                    .iter()
                    .position(|e| e.imei.as_deref().is_some_and(|i| same_imei(i, imei)))
            })
    }

    /// Why entry `index`, matched by serial, may not be this phone's: its IMEI differs
    /// from the one the phone reports. A dual-SIM phone's other IMEI, a typo, or another
    /// phone with the same serial (cheap boards share `0123456789ABCDEF`): which one
    /// cannot be told, so neither the owner's choices nor the policy's defaults apply.
    pub fn imei_conflict(&self, index: usize, imei: Option<&str>) -> Option<String> {
        let e = self.phones.get(index)?;
        let (said, read) = (e.imei.as_deref()?, imei?);
        (!same_imei(said, read)).then(|| {
            format!(
                "intake entry #{} ({}) gives IMEI {said}, but this phone reports {read} (a \
                 dual-SIM phone's other IMEI, a typo, or another phone with the same serial): \
                 write the IMEI the phone reports (the first line of *#06#) and run again",
                index + 1,
                self.describe(index)
            )
        })
    }

    /// How an entry names its phone, for the operator: "serial X, IMEI Y".
    pub fn describe(&self, index: usize) -> String {
        let Some(e) = self.phones.get(index) else {
            return String::new();
        };
        [("serial", &e.serial), ("IMEI", &e.imei)]
            .iter()
            .filter_map(|(what, v)| v.as_ref().map(|v| format!("{what} {v}")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Whether two IMEIs name the same phone: their first 14 digits (the IMEI proper) agree,
/// so the 15-digit form with its check digit, the 14-digit one and a 16-digit IMEISV
/// from the box all match.
fn same_imei(a: &str, b: &str) -> bool {
    a.len() >= 14 && b.len() >= 14 && a.get(..14) == b.get(..14)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::ExposeSecret;

    fn parse(text: &str) -> Result<Intake, IntakeError> {
        Intake::parse(text, Path::new("/nonexistent/intake.toml"))
    }

    #[test]
    fn entries_by_serial_and_imei_with_crlf() {
        let i = parse(
            "[[phone]]\r\nserial = \"4f8e2a1c\"\r\naccount_id = \"6123456789\"\r\nmi_password = \"s3cr3t pass\"\r\nbackup = true\r\n\r\n[[phone]]\r\nimei = \"861234567890127\"\r\n",
        )
        .unwrap();
        assert_eq!(i.phones.len(), 2);
        let a = i.find("4f8e2a1c", None).unwrap();
        assert_eq!(
            a.mi_password.as_ref().unwrap().expose_secret(),
            "s3cr3t pass"
        );
        assert_eq!(a.backup, Some(true));
        assert_eq!(a.confirmed_deletion(), None);
        assert!(i.find("other", Some("861234567890127")).is_some());
        assert!(i.find("other", Some("000000000000000")).is_none());
        assert!(i.find("other", None).is_none());
        assert!(parse("").unwrap().phones.is_empty());
    }

    #[test]
    fn password_never_shows_in_debug_or_errors() {
        let i =
            parse("[[phone]]\nserial = \"S\"\nmi_password = \"hunter2-very-secret\"\n").unwrap();
        assert!(!format!("{i:?}").contains("hunter2"));
        // A wrongly typed password line: toml would quote the value; we must not.
        for text in [
            "[[phone]]\nserial = \"S\"\nmi_password = hunter2-very-secret\n",
            "[[phone]]\nserial = \"S\"\nmi_password = \"hunter2-very-secret\n",
            "[[phone]]\nserial = \"S\"\nmi_password = 12345678901\n",
        ] {
            let e = parse(text).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("12345678901"), "{shown}");
            assert!(matches!(e, IntakeError::Parse { line: 3, .. }), "{shown}");
        }
    }

    #[test]
    fn deletion_must_repeat_the_account_id_and_have_a_password() {
        let ok = parse(
            "[[phone]]\nserial = \"S\"\naccount_id = \"6123\"\nmi_password = \"p\"\ndelete_cloud_account = \"6123\"\n",
        )
        .unwrap();
        assert_eq!(ok.phones[0].confirmed_deletion(), Some("6123"));
        for text in [
            "[[phone]]\nserial = \"S\"\naccount_id = \"6123\"\nmi_password = \"p\"\ndelete_cloud_account = \"6124\"\n",
            "[[phone]]\nserial = \"S\"\nmi_password = \"p\"\ndelete_cloud_account = \"6124\"\n",
            "[[phone]]\nserial = \"S\"\naccount_id = \"6123\"\ndelete_cloud_account = \"6123\"\n",
        ] {
            assert!(
                matches!(parse(text), Err(IntakeError::Invalid { index: 1, .. })),
                "{text}"
            );
        }
    }

    #[test]
    fn bad_entries_are_refused() {
        for text in [
            "[[phone]]\naccount_id = \"1\"\n",
            "[[phone]]\nimei = \"86123\"\n",
            "[[phone]]\nimei = \"86123456789012x\"\n",
            "[[phone]]\nserial = \"S\"\n[[phone]]\nserial = \"S\"\n",
            "[[phone]]\nserial = \"S\"\nmi_password = \"\"\n",
            "[[phone]]\nserial = \"S\"\nmi_password = \"a\"\nmi_password_file = \"f\"\n",
            "[[phone]]\nserial = \"S\"\npasword = \"typo\"\n",
            "[phone]\nserial = \"S\"\n",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn the_owner_may_accept_or_refuse_losing_unreadable_files() {
        let i = parse(
            "[[phone]]\r\nserial = \"A\"\r\naccept_unreadable = true\r\n[[phone]]\r\nserial = \"B\"\r\naccept_unreadable = false\r\n[[phone]]\r\nserial = \"C\"\r\n",
        )
        .unwrap();
        let said = |s: &str| i.find(s, None).map(|e| e.accept_unreadable);
        assert_eq!(said("A"), Some(Some(true)));
        assert_eq!(said("B"), Some(Some(false)));
        assert_eq!(said("C"), Some(None));
        // A word instead of a boolean is an error on its line, never a silent default.
        for (text, line, says) in [
            (
                "[[phone]]\nserial = \"A\"\naccept_unreadable = \"yes\"\n",
                3,
                "boolean",
            ),
            (
                "[[phone]]\nserial = \"A\"\nbackup = true\naccept_unreadable = 1\n",
                4,
                "boolean",
            ),
            (
                "[[phone]]\nserial = \"A\"\naccept_unreadable = yes\n",
                3,
                "must be quoted",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(
                matches!(&e, IntakeError::Parse { line: l, .. } if *l == line),
                "{text}: {e}"
            );
            let shown = e.to_string();
            assert!(shown.contains(&format!("line {line}")), "{shown}");
            assert!(shown.contains(says), "{shown}");
        }
        assert!(parse("[[phone]]\nserial = \"A\"\naccept_unreadables = true\n").is_err());
    }

    #[test]
    fn imeis_are_taken_as_printed_and_typos_fail_the_check_digit() {
        let i = parse("[[phone]]\nimei = \"86 123456 789012 7\"\n").unwrap();
        assert_eq!(i.phones[0].imei.as_deref(), Some("861234567890127"));
        let e = parse("[[phone]]\nimei = \"861234567890124\"\n").unwrap_err();
        assert!(e.to_string().contains("fails its check digit"), "{e}");
    }

    #[test]
    fn a_serial_match_whose_imei_differs_is_a_conflict_not_a_match() {
        let i = parse(
            "[[phone]]\nserial = \"0123456789ABCDEF\"\nimei = \"86123456789012\"\naccount_id = \"A\"\n",
        )
        .unwrap();
        let id = |serial: &str, imei: Option<&str>| {
            i.find(serial, imei).and_then(|e| e.account_id.clone())
        };
        // The same IMEI in its 15-digit form (check digit) or unread: the owner's phone.
        for (serial, imei) in [
            ("0123456789ABCDEF", Some("861234567890127")),
            ("0123456789ABCDEF", None),
            ("other", Some("8612345678901274")),
        ] {
            assert_eq!(id(serial, imei), Some("A".into()));
            assert_eq!(i.imei_conflict(0, imei), None);
        }
        // Another IMEI behind the same serial: found, and flagged.
        let read = Some("490154203237518");
        assert_eq!(i.index_of("0123456789ABCDEF", read), Some(0));
        let why = i.imei_conflict(0, read).unwrap_or_default();
        assert!(
            why.starts_with("intake entry #1 (serial 0123456789ABCDEF, IMEI 86123456789012) gives IMEI 86123456789012, but this phone reports 490154203237518"),
            "{why}"
        );
        // The same phone twice, once by its IMEISV: refused at load.
        assert!(
            parse(
                "[[phone]]\nimei = \"861234567890127\"\n[[phone]]\nimei = \"8612345678901299\"\n"
            )
            .is_err()
        );
    }

    #[test]
    fn password_file_is_relative_to_the_intake_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw.txt"), "from-file\n").unwrap();
        let path = dir.path().join("intake.toml");
        std::fs::write(
            &path,
            "[[phone]]\nserial = \"S\"\nmi_password_file = \"pw.txt\"\n",
        )
        .unwrap();
        let i = Intake::load(&path).unwrap();
        assert_eq!(
            i.phones[0].mi_password.as_ref().unwrap().expose_secret(),
            "from-file"
        );
        std::fs::write(
            &path,
            "[[phone]]\nserial = \"S\"\nmi_password_file = \"missing\"\n",
        )
        .unwrap();
        assert!(matches!(
            Intake::load(&path),
            Err(IntakeError::PasswordFile { .. })
        ));
    }
}
