//! Many phones: watch the adb server, one flow task per phone, shared progress; and what a
//! bench does without an owner present (the [`policy`]) or with owners' credentials
//! supplied in advance (the [`intake`]). Never prints: progress goes through a Reporter.

pub mod intake;
pub mod phone;
pub mod policy;
pub mod run;

use std::path::Path;

/// Where in a TOML file something went wrong: 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A TOML parse error as (line, column, message). With `redact`, the message is dropped
/// when the offending line mentions a password: toml's messages may quote the value.
fn toml_error(text: &str, err: &toml::de::Error, redact: bool) -> (usize, usize, String) {
    let (line, col) = err.span().map_or((0, 0), |span| line_col(text, span.start));
    let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let message = if redact && line_text.to_ascii_lowercase().contains("password") {
        "invalid value (not shown: the line holds a password)".to_owned()
    } else {
        err.message().trim().to_owned()
    };
    (line, col, message)
}

fn read_text(path: &Path) -> Result<String, std::io::Error> {
    std::fs::read_to_string(path)
}
