//! What the simulated service received and what it "sent" to the owner: the
//! [`Recorder`] keeps every request (query, form fields, cookies) so tests can prove no
//! plain password ever arrived; the [`Outbox`] is the owner's phone and mailbox, where
//! verification codes and captcha answers are delivered (never logged).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// One request as the service received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Decoded form pairs (urlencoded bodies).
    pub form: Vec<(String, String)>,
    /// The raw query, cookie header and body, for substring checks.
    pub raw: String,
}

/// Every request received, in order. Cheap to clone; clones share the record.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<Vec<Recorded>>>,
    /// Plain passwords the service noticed in a request: always a client bug.
    violations: Arc<Mutex<Vec<String>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Recorder {
    pub(super) fn push(&self, r: Recorded) {
        lock(&self.inner).push(r);
    }

    pub(super) fn violation(&self, path: &str) {
        lock(&self.violations).push(format!("a plain password arrived at {path}"));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner).clone()
    }

    /// How many requests reached PATH.
    pub fn count(&self, path: &str) -> usize {
        lock(&self.inner).iter().filter(|r| r.path == path).count()
    }

    /// Whether NEEDLE appears anywhere in what was received, raw or decoded.
    pub fn saw(&self, needle: &str) -> bool {
        lock(&self.inner).iter().any(|r| {
            r.raw.contains(needle)
                || r.query
                    .iter()
                    .chain(&r.form)
                    .any(|(k, v)| k.contains(needle) || v.contains(needle))
        })
    }

    /// Plain passwords the service itself caught arriving (empty when the client is right).
    pub fn violations(&self) -> Vec<String> {
        lock(&self.violations).clone()
    }
}

/// A message the service delivered to an account's owner.
#[derive(Clone)]
pub struct Delivery {
    pub user_id: String,
    /// "sms", "email" or "captcha".
    pub channel: &'static str,
    pub to: String,
    pub secret: String,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("user_id", &self.user_id)
            .field("channel", &self.channel)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// The owner's inbox. Optionally also appended to a file (one JSON object a line) so a
/// person running `mi-sim` by hand can read the code as if from their phone.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    inner: Arc<Mutex<Vec<Delivery>>>,
    file: Option<PathBuf>,
}

impl Outbox {
    pub fn to_file(path: PathBuf) -> Outbox {
        Outbox {
            inner: Arc::default(),
            file: Some(path),
        }
    }

    pub(super) fn deliver(&self, d: Delivery) {
        if let Some(path) = &self.file {
            use std::io::Write as _;
            let line = serde_json::json!({
                "user_id": d.user_id, "channel": d.channel, "to": d.to, "code": d.secret,
            });
            // The inbox file is a convenience for demos; failing to write it must not
            // break the service.
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{line}");
            }
        }
        lock(&self.inner).push(d);
    }

    /// The newest verification code sent to USER_ID (SMS or email).
    pub fn last_code(&self, user_id: &str) -> Option<String> {
        lock(&self.inner)
            .iter()
            .rev()
            .find(|d| d.user_id == user_id && d.channel != "captcha")
            .map(|d| d.secret.clone())
    }

    /// The answer to the newest captcha image served.
    pub fn last_captcha(&self) -> Option<String> {
        lock(&self.inner)
            .iter()
            .rev()
            .find(|d| d.channel == "captcha")
            .map(|d| d.secret.clone())
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.inner).clone()
    }
}
