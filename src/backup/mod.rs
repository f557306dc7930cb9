//! Backing up the owner's files: plan, pipelined pull over one sync session,
//! manifest with sha256 computed while streaming, verification against the phone, resume.
//!
//! Layout of a backup directory `DIR`: `DIR/manifest.json` ([`manifest`]) and the files
//! under `DIR/data/`, mirroring their paths below /sdcard ([`paths`] keeps hostile names
//! inside it). The reset interlock asks [`verified_backup`], and [`recheck`] whether the
//! phone has files since that the backup lacks. Never prints: progress goes
//! through [`crate::progress::Reporter`], failures are typed errors.

pub mod engine;
pub mod error;
pub mod fresh;
pub mod manifest;
pub mod paths;
pub mod phonehash;
pub mod plan;
pub mod proof;
pub mod space;
pub mod writer;

use std::path::{Path, PathBuf};

pub use fresh::{Recheck, recheck};
pub use proof::{BackupProof, BackupProofError, verified_backup};

/// Where the files of the backup in `dir` live.
pub fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

pub use engine::{Failed, Options, Summary, backup};
pub use error::BackupError;
