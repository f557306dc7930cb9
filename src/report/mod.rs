//! Report types (serde), the SQLite journal, and the printable certificate.
//!
//! What a journey leaves behind: [`Report`] (`DIR/<serial>/report.json`, schema in
//! `docs/report.md`), [`html`] (the one-page certificate a shop hands to the customer) and
//! the [`journal`] of every phone and step, which is what a rerun resumes from.
//! This module knows nothing about adb, phones' output or the terminal: the journey fills
//! the types in, this module stores and renders them.

pub mod history;
pub mod html;
pub mod journal;
mod sqlite;
mod time;
mod types;

pub use time::Timestamp;
pub use types::*;

use std::path::{Path, PathBuf};

/// Errors writing a report. They carry the path that failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the report {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the report for {serial}: {source}")]
    Encode {
        serial: String,
        source: serde_json::Error,
    },
}

impl crate::exit::HasExit for ReportError {
    fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::Other
    }
}

/// The folder name for a phone under DIR. Serials come from the device, so anything that
/// could climb out of DIR or confuse a file manager (`/`, `..`, control characters) is
/// replaced; network serials like `127.0.0.1:5555` stay readable.
pub fn serial_dir_name(serial: &str) -> String {
    let cleaned: String = serial
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.as_str() {
        "" => "_".to_owned(),
        s if s.chars().all(|c| c == '.') => s.replace('.', "_"),
        _ => cleaned,
    }
}

/// `DIR/<serial>/`: where everything about one phone goes.
pub fn phone_dir(dest: &Path, serial: &str) -> PathBuf {
    dest.join(serial_dir_name(serial))
}

/// Where [`write()`] put the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub json: PathBuf,
    pub html: PathBuf,
}

/// Writes `report.json` and `report.html` (customer copy) under `DIR/<serial>/`. Each file
/// is written to a temporary name and renamed, so a crash never leaves half a report that
/// looks whole.
pub fn write(dest: &Path, report: &Report) -> Result<Written, ReportError> {
    let dir = phone_dir(dest, &report.serial);
    std::fs::create_dir_all(&dir).map_err(|source| ReportError::Write {
        path: dir.clone(),
        source,
    })?;
    let json = serde_json::to_vec_pretty(report).map_err(|source| ReportError::Encode {
        serial: report.serial.clone(),
        source,
    })?;
    let json_path = dir.join("report.json");
    write_atomic(&json_path, &json)?;
    let html_path = dir.join("report.html");
    let page = html::render(report, html::Copy::Customer);
    write_atomic(&html_path, page.as_bytes())?;
    Ok(Written {
        json: json_path,
        html: html_path,
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError::Write {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_dir_names_cannot_escape_dest() {
        assert_eq!(serial_dir_name("127.0.0.1:5555"), "127.0.0.1:5555");
        assert_eq!(serial_dir_name("abc123"), "abc123");
        assert_eq!(serial_dir_name("../../etc"), ".._.._etc");
        assert_eq!(serial_dir_name(".."), "__");
        assert_eq!(serial_dir_name("."), "_");
        assert_eq!(serial_dir_name(""), "_");
        assert_eq!(serial_dir_name("a/b\n\u{1b}c"), "a_b__c");
        let dest = Path::new("/x");
        assert!(phone_dir(dest, "../..").starts_with("/x"));
        assert_eq!(phone_dir(dest, "../..").components().count(), 3);
    }
}
