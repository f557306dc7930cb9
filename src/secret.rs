//! Where passwords and verification codes come from: a file, an environment variable or
//! a hidden prompt — never argv. The values stay inside `secrecy::SecretString`, whose
//! `Debug` prints a redaction, so they cannot leak through logs, errors or panics.

pub use secrecy::{ExposeSecret, SecretString};

use std::path::Path;

/// Errors reading a secret. They name the source, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the password file {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the password file {path} is empty")]
    EmptyFile { path: String },
    #[error(
        "no {what} given: use --password-file, the {env} environment variable, or run on a terminal to be asked"
    )]
    Missing {
        what: &'static str,
        env: &'static str,
    },
}

impl crate::exit::HasExit for SecretError {
    fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::Usage
    }
}

/// Reads a secret from the first line of a file (a trailing newline is not part of it).
pub fn from_file(path: &Path) -> Result<SecretString, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretError::File {
        path: path.display().to_string(),
        source,
    })?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(SecretError::EmptyFile {
            path: path.display().to_string(),
        });
    }
    Ok(SecretString::from(line.to_owned()))
}

/// Reads a secret from an environment variable, if set and non-empty.
pub fn from_env(var: &str) -> Option<SecretString> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_secret_drops_newline_and_debug_redacts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "hunter2 two\r\n").unwrap();
        let s = from_file(&p).unwrap();
        assert_eq!(s.expose_secret(), "hunter2 two");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn empty_file_is_refused_without_echoing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(from_file(&p), Err(SecretError::EmptyFile { .. })));
    }
}
