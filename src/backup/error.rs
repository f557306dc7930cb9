//! What can stop a backup, with the context a person needs (the phone, the directory)
//! and the exit code each means. Files that fail one by one are not errors here: they
//! are listed in the summary and the manifest, and the run goes on.

use std::path::PathBuf;

use super::manifest::LoadError;
use super::plan::SelectionError;
use crate::adb::AdbError;
use crate::exit::{Exit, HasExit};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Selection(#[from] SelectionError),
    #[error("cannot write to the backup directory {dir}: {source}")]
    Destination {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir} already holds a backup of phone {found}; choose another --dest for {serial}")]
    OtherPhone {
        dir: PathBuf,
        serial: String,
        found: String,
    },
    #[error("the existing manifest cannot be used: {0}")]
    Manifest(LoadError),
    #[error(
        "not enough space in {dir} for the backup of {serial}: {needed} bytes needed, {available} available"
    )]
    NoSpace {
        dir: PathBuf,
        serial: String,
        needed: u64,
        available: u64,
    },
    #[error("--include {path}: no such file or folder on phone {serial}")]
    NotOnPhone { serial: String, path: String },
    /// The phone was lost or stalled (or adb failed) mid-backup. What was verified
    /// before it is in the manifest; a rerun fetches the rest.
    #[error("{source}; the backup of {serial} is incomplete: run the same command again to resume")]
    Adb {
        serial: String,
        #[source]
        source: AdbError,
    },
    #[error("cannot write the manifest in {dir}: {source}")]
    ManifestWrite {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl HasExit for BackupError {
    fn exit(&self) -> Exit {
        match self {
            BackupError::Selection(_) => Exit::Usage,
            // Nothing was fetched, nothing on the phone changed: refused.
            BackupError::Destination { .. }
            | BackupError::OtherPhone { .. }
            | BackupError::NoSpace { .. } => Exit::Refused,
            BackupError::Adb { source, .. } => source.exit(),
            BackupError::Manifest(_)
            | BackupError::NotOnPhone { .. }
            | BackupError::ManifestWrite { .. } => Exit::Other,
        }
    }
}
