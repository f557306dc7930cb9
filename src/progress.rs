//! How long-running library work tells the face what is happening, without the library
//! knowing about terminals. The binary implements [`Reporter`] with indicatif; tests and
//! `--json` runs use [`Silent`].

/// Progress events from the library. Implementations must be cheap: they are called
/// from hot transfer loops.
pub trait Reporter: Send + Sync {
    /// A phone's work moved to a new named step (e.g. "backup", "signout").
    fn step(&self, _serial: &str, _step: &str) {}
    /// A byte-counted job started: total bytes and files planned.
    fn start_transfer(&self, _serial: &str, _total_bytes: u64, _total_files: u64) {}
    /// Bytes moved since the last call.
    fn advance(&self, _serial: &str, _bytes: u64) {}
    /// One file (or unit) finished.
    fn file_done(&self, _serial: &str, _path: &str) {}
    /// A non-fatal note a person should read (a skipped folder, a retry).
    fn warn(&self, _serial: &str, _message: &str) {}
    /// The phone's work ended; `ok` says how.
    fn finish(&self, _serial: &str, _ok: bool, _summary: &str) {}
}

/// A reporter that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Reporter for Silent {}
