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
    pub serial: String,
    /// sha256 of `manifest.json` as read: cite it in reports to pin the exact record.
    pub manifest_sha256: String,
    pub files: usize,
    pub bytes: u64,
    /// Entries listed but not fetched (unreadable, special files): not failures, but a
    /// person may want to see them before the phone is wiped.
    pub skipped: usize,
    pub finished: String,
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

/// A manifest exists in `dir`, it is for `serial`, the run finished complete, every
/// file in it is verified, and every file is still there with its recorded size.
pub fn verified_backup(dir: &Path, serial: &str) -> Result<BackupProof, BackupProofError> {
    let (m, sha) = manifest::load(dir)?;
    if m.device.serial != serial {
        return Err(BackupProofError::OtherPhone {
            dir: dir.to_path_buf(),
            expected: serial.to_string(),
            found: m.device.serial,
        });
    }
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
        manifest_sha256: sha,
        files: m.files.len(),
        bytes: m.verified_bytes(),
        skipped: m.skipped.len(),
        finished,
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
        let p = verified_backup(d.path(), "SER1").unwrap();
        assert_eq!(p.manifest_sha256, h);
        assert_eq!((p.files, p.bytes, p.skipped), (1, 3, 0));
    }

    #[test]
    fn anything_less_is_refused_with_exit_3() {
        let d = tempfile::tempdir().unwrap();
        let e = verified_backup(d.path(), "SER1").unwrap_err();
        assert!(matches!(e, BackupProofError::Manifest(_)));
        assert_eq!(e.exit(), Exit::Refused);

        backup(d.path()).save(d.path()).unwrap();
        assert!(matches!(
            verified_backup(d.path(), "OTHER"),
            Err(BackupProofError::OtherPhone { .. })
        ));

        let mut m = backup(d.path());
        m.complete = false;
        m.save(d.path()).unwrap();
        assert!(matches!(
            verified_backup(d.path(), "SER1"),
            Err(BackupProofError::Unfinished { .. })
        ));

        let mut m = backup(d.path());
        m.files[0].verified = false;
        m.save(d.path()).unwrap();
        assert!(matches!(
            verified_backup(d.path(), "SER1"),
            Err(BackupProofError::Unverified { count: 1, .. })
        ));

        backup(d.path()).save(d.path()).unwrap();
        std::fs::write(d.path().join("data/DCIM/a b.jpg"), b"ab").unwrap();
        assert!(matches!(
            verified_backup(d.path(), "SER1"),
            Err(BackupProofError::FileGone { .. })
        ));
        std::fs::remove_file(d.path().join("data/DCIM/a b.jpg")).unwrap();
        assert!(matches!(
            verified_backup(d.path(), "SER1"),
            Err(BackupProofError::FileGone { .. })
        ));
    }
}
