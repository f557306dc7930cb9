//! `DIR/manifest.json`: the record of a backup — whose phone, when, and every file with
//! its size, mtime, sha256 and whether the phone confirmed it. It is what resume trusts
//! and what the reset interlock checks, so it is always replaced atomically (temporary
//! file, fsync, rename): a reader sees the old manifest or the new one, never half.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::plan::Skipped;

/// Bumped when the meaning of a field changes; older readers refuse newer manifests.
pub const FORMAT: u32 = 1;

/// The manifest's file name inside the backup directory.
pub const FILE_NAME: &str = "manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Device {
    /// The serial the adb server knew the phone by (over TCP it is `ip:port`, and cheap
    /// phones share `0123456789ABCDEF`): a label, not an identity.
    pub serial: String,
    /// `ro.serialno`, the phone's own serial: what "this phone's backup" is matched on.
    /// Absent in manifests written before it was recorded, or when the phone hid it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_serial: Option<String>,
    pub model: Option<String>,
    /// Only when the phone gave it out; a backup must not fail for want of it.
    pub imei: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileRecord {
    /// Relative to /sdcard, as on the phone (the host copy is `DIR/data/<path>`).
    pub path: String,
    pub size: u64,
    /// Seconds since the epoch, as the phone listed it; also set on the host copy.
    pub mtime: i64,
    /// Lowercase hex sha256 of the bytes received; empty when nothing was received.
    pub sha256: String,
    /// The phone's own sha256 and size matched what was received.
    pub verified: bool,
    /// Why the file is not verified, for the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct App {
    pub package: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub device: Device,
    pub tool: String,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub started: String,
    /// Set when a run ended, successfully or not; `complete` says how.
    pub finished: Option<String>,
    /// Every planned file was fetched and verified in the run that wrote this.
    pub complete: bool,
    /// The folders walked, relative to /sdcard ("" = all of it).
    pub roots: Vec<String>,
    pub files: Vec<FileRecord>,
    /// Directories (so empty ones are part of the record).
    #[serde(default)]
    pub dirs: Vec<String>,
    /// Symbolic links, recorded and not followed.
    #[serde(default)]
    pub symlinks: Vec<String>,
    /// Entries listed but not fetched (unreadable, unsafe names, special files).
    #[serde(default)]
    pub skipped: Vec<Skipped>,
    /// Installed user apps, for the record (not backed up).
    #[serde(default)]
    pub apps: Vec<App>,
    /// Things a person should know (folders not readable over adb, missing folders).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Manifest {
    pub fn new(device: Device, roots: Vec<String>) -> Manifest {
        Manifest {
            format: FORMAT,
            device,
            tool: env!("CARGO_PKG_NAME").to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            started: now(),
            finished: None,
            complete: false,
            roots,
            files: Vec::new(),
            dirs: Vec::new(),
            symlinks: Vec::new(),
            skipped: Vec::new(),
            apps: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn verified_count(&self) -> usize {
        self.files.iter().filter(|f| f.verified).count()
    }

    /// The owner's files the phone would not send (or whose names the host cannot hold):
    /// not in the backup, so a reset erases them for good. Not the app-data folders,
    /// which no backup over adb can read, nor special files, which hold no data.
    pub fn lost(&self) -> Vec<super::plan::Skipped> {
        self.skipped
            .iter()
            .filter(|s| super::plan::loses_data(s))
            .cloned()
            .collect()
    }

    pub fn verified_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| f.verified)
            .map(|f| f.size)
            .sum()
    }

    pub fn path_in(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    /// Serialises, writes to a temporary file next to the manifest, fsyncs and renames.
    /// Returns the sha256 of the bytes written (what a proof of backup cites).
    pub fn save(&self, dir: &Path) -> std::io::Result<String> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, Self::path_in(dir))?;
        // The rename itself is durable only once the directory is.
        std::fs::File::open(dir)?.sync_all()?;
        Ok(sha256_hex(&bytes))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no manifest at {path}")]
    Missing { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a manifest this version understands: {why}")]
    Invalid { path: PathBuf, why: String },
}

/// Reads `DIR/manifest.json` and returns it with the sha256 of its bytes.
pub fn load(dir: &Path) -> Result<(Manifest, String), LoadError> {
    let path = Manifest::path_in(dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LoadError::Missing { path });
        }
        Err(source) => return Err(LoadError::Io { path, source }),
    };
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| LoadError::Invalid {
        path: path.clone(),
        why: e.to_string(),
    })?;
    if m.format > FORMAT {
        return Err(LoadError::Invalid {
            path,
            why: format!("format {} is newer than {FORMAT}", m.format),
        });
    }
    Ok((m, sha256_hex(&bytes)))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut m = Manifest::new(
            Device {
                serial: "abc123".into(),
                hardware_serial: Some("hw1".into()),
                model: Some("M2101K9G".into()),
                imei: None,
            },
            vec!["DCIM".into()],
        );
        m.files.push(FileRecord {
            path: "DCIM/it's \"x\".jpg".into(),
            size: 3,
            mtime: 1_700_000_000,
            sha256: sha256_hex(b"abc"),
            verified: true,
            error: None,
        });
        m
    }

    #[test]
    fn round_trips_and_hash_is_of_the_bytes_on_disk() {
        let d = tempfile::tempdir().unwrap();
        let m = sample();
        let h = m.save(d.path()).unwrap();
        let (back, h2) = load(d.path()).unwrap();
        assert_eq!(back, m);
        assert_eq!(h, h2);
        let on_disk = std::fs::read(Manifest::path_in(d.path())).unwrap();
        assert_eq!(h, sha256_hex(&on_disk));
        assert!(!d.path().join(".manifest.json.tmp").exists());
    }

    #[test]
    fn missing_garbage_and_future_manifests_are_told_apart() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(load(d.path()), Err(LoadError::Missing { .. })));
        std::fs::write(Manifest::path_in(d.path()), b"{\"format\":1,").unwrap();
        assert!(matches!(load(d.path()), Err(LoadError::Invalid { .. })));
        let mut m = sample();
        m.format = FORMAT + 1;
        m.save(d.path()).unwrap();
        assert!(matches!(load(d.path()), Err(LoadError::Invalid { .. })));
    }
}
