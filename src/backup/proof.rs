//! The reset interlock's question: is there a finished, fully verified backup of *this*
//! phone in DIR? Answered from the manifest plus a cheap check that every recorded file
//! is still on disk with its recorded size (hashes were checked against the phone when
//! the backup ran; re-reading gigabytes here would make the interlock slow to no gain).

use std::path::{Path, PathBuf};

use super::manifest::{self, LoadError};
use crate::exit::{Exit, HasExit};

/// Evidence that DIR holds a complete, verified backup of one phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupProof {
    pub dir: PathBuf,
    /// The adb serial the manifest was written under.
    pub serial: String,
    /// The phone's own serial the manifest was matched on (None: an older manifest,
    /// matched on the adb serial; see `notes`).
    pub hardware_serial: Option<String>,
    /// sha256 of `manifest.json` as read: cite it in reports to pin the exact record.
    pub manifest_sha256: String,
    pub files: usize,
    pub bytes: u64,
    /// Entries listed but not fetched (unreadable, special files): not failures, but a
    /// person may want to see them before the phone is wiped.
    pub skipped: usize,
    /// The owner's files the phone would not send (or whose names the host cannot
    /// hold): not in the backup, so a reset erases them for good. Not the app-data
    /// folders, which no backup over adb can read (stated in the manifest's notes).
    pub lost: Vec<super::plan::Skipped>,
    pub finished: String,
    /// How the match was made when it is weaker than usual.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupProofError {
    #[error("no verified backup: {0}")]
    Manifest(#[from] LoadError),
    #[error("the backup in {dir} is of phone {found}, not {expected}")]
    OtherPhone {
        dir: PathBuf,
        expected: String,
        found: String,
    },
    #[error(
        "cannot tell whether the backup in {dir} (of phone {found}) is this phone's: its ro.serialno could not be read"
    )]
    Unidentified { dir: PathBuf, found: String },
    #[error("the backup of {serial} in {dir} did not finish; run `mi-offboard backup` again")]
    Unfinished { dir: PathBuf, serial: String },
    #[error("the backup of {serial} in {dir} has {count} unverified file(s), first {first}")]
    Unverified {
        dir: PathBuf,
        serial: String,
        count: usize,
        first: String,
    },
    #[error("the backup of {serial} in {dir} lost {path}: {why}")]
    FileGone {
        dir: PathBuf,
        serial: String,
        path: String,
        why: String,
    },
}

impl HasExit for BackupProofError {
    fn exit(&self) -> Exit {
        // The interlock refuses; nothing on the phone has been touched.
        Exit::Refused
    }
}

/// A manifest exists in `dir`, it is of this phone, the run finished complete, every
/// file in it is verified, and every file is still there with its recorded size.
///
/// "This phone" is `hardware_serial` (`ro.serialno`): adb serials are shared by cheap
/// phones and are `ip:port` over TCP, so they identify nothing. A manifest written
/// before the hardware serial was recorded is matched on `adb_serial`, with a note.
pub fn verified_backup(
    dir: &Path,
    adb_serial: &str,
    hardware_serial: Option<&str>,
) -> Result<BackupProof, BackupProofError> {
    let (m, sha) = manifest::load(dir)?;
    let hardware_serial = hardware_serial.filter(|s| !s.is_empty());
    let mut notes = Vec::new();
    match (&m.device.hardware_serial, hardware_serial) {
        (Some(recorded), Some(phone)) if recorded == phone => {}
        (Some(recorded), Some(phone)) => {
            return Err(BackupProofError::OtherPhone {
                dir: dir.to_path_buf(),
                expected: phone.to_string(),
                found: recorded.clone(),
            });
        }
        (Some(recorded), None) => {
            return Err(BackupProofError::Unidentified {
                dir: dir.to_path_buf(),
                found: recorded.clone(),
            });
        }
        (None, _) if m.device.serial == adb_serial => notes.push(format!(
            "the manifest does not record the phone's hardware serial (written by an older version): matched on the adb serial {adb_serial} only"
        )),
        (None, _) => {
            return Err(BackupProofError::OtherPhone {
                dir: dir.to_path_buf(),
                expected: adb_serial.to_string(),
                found: m.device.serial,
            });
        }
    }
    let serial = m.device.serial.as_str();
    let finished = match (&m.finished, m.complete) {
        (Some(f), true) => f.clone(),
        _ => {
            return Err(BackupProofError::Unfinished {
                dir: dir.to_path_buf(),
                serial: serial.to_string(),
            });
        }
    };
    let unverified: Vec<&str> = m
        .files
        .iter()
        .filter(|f| !f.verified)
        .map(|f| f.path.as_str())
        .collect();
    if let Some(first) = unverified.first() {
        return Err(BackupProofError::Unverified {
            dir: dir.to_path_buf(),
            serial: serial.to_string(),
            count: unverified.len(),
            first: first.to_string(),
        });
    }
    let data = super::data_dir(dir);
    for f in &m.files {
        let gone = |why: String| BackupProofError::FileGone {
            dir: dir.to_path_buf(),
            serial: serial.to_string(),
            path: f.path.clone(),
            why,
        };
        let host = super::paths::host_path(&data, &f.path).map_err(|e| gone(e.to_string()))?;
        match std::fs::symlink_metadata(&host) {
            Ok(md) if md.is_file() && md.len() == f.size => {}
            Ok(md) if md.is_file() => {
                return Err(gone(format!("size {} instead of {}", md.len(), f.size)));
            }
            Ok(_) => return Err(gone("not a regular file any more".into())),
            Err(e) => return Err(gone(e.to_string())),
        }
    }
    Ok(BackupProof {
        dir: dir.to_path_buf(),
        serial: serial.to_string(),
        hardware_serial: m.device.hardware_serial.clone(),
        manifest_sha256: sha,
        files: m.files.len(),
        bytes: m.verified_bytes(),
        skipped: m.skipped.len(),
        lost: m.lost(),
        finished,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::{Device, FileRecord, Manifest};

    fn backup(dir: &Path) -> Manifest {
        let mut m = Manifest::new(
            Device {
                serial: "SER1".into(),
                hardware_serial: Some("HW1".into()),
                model: None,
                imei: None,
            },
            vec!["DCIM".into()],
        );
        let data = crate::backup::data_dir(dir);
        std::fs::create_dir_all(data.join("DCIM")).unwrap();
        std::fs::write(data.join("DCIM/a b.jpg"), b"abc").unwrap();
        m.files.push(FileRecord {
            path: "DCIM/a b.jpg".into(),
            size: 3,
            mtime: 1,
            sha256: manifest::sha256_hex(b"abc"),
            verified: true,
            error: None,
        });
        m.finished = Some(manifest::now());
        m.complete = true;
        m
    }

    #[test]
    fn a_complete_verified_backup_is_proof() {
        let d = tempfile::tempdir().unwrap();
        let h = backup(d.path()).save(d.path()).unwrap();
        let p = verified_backup(d.path(), "10.0.0.9:5555", Some("HW1")).unwrap();
        assert_eq!(p.manifest_sha256, h);
        assert_eq!((p.files, p.bytes, p.skipped), (1, 3, 0));
        assert!(p.notes.is_empty() && p.lost.is_empty());
    }

    #[test]
    fn an_older_manifest_is_matched_on_the_adb_serial_with_a_note() {
        let d = tempfile::tempdir().unwrap();
        let mut m = backup(d.path());
        m.device.hardware_serial = None;
        m.save(d.path()).unwrap();
        let p = verified_backup(d.path(), "SER1", Some("HW1")).unwrap();
        assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
        assert!(p.notes[0].contains("adb serial SER1"));
        assert!(matches!(
            verified_backup(d.path(), "OTHER", Some("HW1")),
            Err(BackupProofError::OtherPhone { .. })
        ));
    }

    #[test]
    fn files_the_phone_refused_are_listed_as_lost_but_app_data_is_not() {
        use crate::backup::plan::Skipped;
        let d = tempfile::tempdir().unwrap();
        let mut m = backup(d.path());
        for (path, reason) in [
            (
                "Android/data",
                "not readable over adb on Android 11 and later",
            ),
            ("DCIM/fifo", crate::backup::plan::NOT_REGULAR),
            (
                "DCIM/locked.jpg",
                "the phone refused to send it: Permission denied",
            ),
        ] {
            m.skipped.push(Skipped {
                path: path.into(),
                reason: reason.into(),
            });
        }
        m.save(d.path()).unwrap();
        let p = verified_backup(d.path(), "SER1", Some("HW1")).unwrap();
        assert_eq!(p.skipped, 3);
        let lost: Vec<&str> = p.lost.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(lost, ["DCIM/locked.jpg"]);
    }

    #[test]
    fn anything_less_is_refused_with_exit_3() {
        let d = tempfile::tempdir().unwrap();
        let e = verified_backup(d.path(), "SER1", Some("HW1")).unwrap_err();
        assert!(matches!(e, BackupProofError::Manifest(_)));
        assert_eq!(e.exit(), Exit::Refused);

        backup(d.path()).save(d.path()).unwrap();
        // Same adb serial (a shared `0123456789ABCDEF`, a reused ip:port), other phone.
        assert!(matches!(
            verified_backup(d.path(), "SER1", Some("HW2")),
            Err(BackupProofError::OtherPhone { .. })
        ));
        assert!(matches!(
            verified_backup(d.path(), "SER1", None),
            Err(BackupProofError::Unidentified { .. })
        ));

        let mut m = backup(d.path());
        m.complete = false;
        m.save(d.path()).unwrap();
        assert!(matches!(
            verified_backup(d.path(), "SER1", Some("HW1")),
            Err(BackupProofError::Unfinished { .. })
        ));

        let mut m = backup(d.path());
        m.files[0].verified = false;
        m.save(d.path()).unwrap();
        assert!(matches!(
            verified_backup(d.path(), "SER1", Some("HW1")),
            Err(BackupProofError::Unverified { count: 1, .. })
        ));

        backup(d.path()).save(d.path()).unwrap();
        std::fs::write(d.path().join("data/DCIM/a b.jpg"), b"ab").unwrap();
        assert!(matches!(
            verified_backup(d.path(), "SER1", Some("HW1")),
            Err(BackupProofError::FileGone { .. })
        ));
        std::fs::remove_file(d.path().join("data/DCIM/a b.jpg")).unwrap();
        assert!(matches!(
            verified_backup(d.path(), "SER1", Some("HW1")),
            Err(BackupProofError::FileGone { .. })
        ));
    }
}
