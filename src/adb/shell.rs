//! Shell results and the two ways of getting an exit code: the shell protocol v2 packets
//! (FACTS.md §1), or — only on phones without `shell_v2` — a marker line the command
//! echoes after itself. Pure decoding; the I/O is in [`super::device`].

/// How the exit code of a shell command was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSource {
    /// The shell protocol's exit packet (stdout and stderr separate).
    ShellV2,
    /// The phone lacks `shell_v2`: the command ran as `( CMD ); echo MARKER$?` over the
    /// old shell, stderr is merged into stdout, and the code is read from the marker.
    EchoMarker,
}

/// What a shell command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellOutput {
    pub stdout: Vec<u8>,
    /// Empty under [`CodeSource::EchoMarker`] (the old shell merges it into stdout).
    pub stderr: Vec<u8>,
    pub code: u8,
    pub via: CodeSource,
}

impl ShellOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }
    /// Stdout as text (invalid UTF-8 replaced, never an error).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Shell protocol v2 packet ids.
pub mod packet_id {
    pub const STDIN: u8 = 0;
    pub const STDOUT: u8 = 1;
    pub const STDERR: u8 = 2;
    pub const EXIT: u8 = 3;
    pub const CLOSE_STDIN: u8 = 4;
}

/// Prefix of the v1 exit-code marker; a per-call nonce follows so that output which
/// happens to contain the prefix is not mistaken for it.
const MARKER: &str = "__mi_offboard_rc_";

/// A fresh marker for one v1 call.
pub(crate) fn new_marker() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{MARKER}{:x}{:x}{n:x}_", std::process::id(), nanos)
}

/// The v1 command line: the newline ends a trailing `#` comment, the subshell keeps an
/// `exit N` in CMD from skipping the marker, and the bare `echo` guarantees the marker
/// starts a line whether or not CMD's output ended with one.
pub(crate) fn v1_command(cmd: &str, marker: &str) -> String {
    format!("( {cmd}\n); __r=$?; echo; echo {marker}$__r")
}

/// Splits v1 output into (output, exit code). `None` when the marker is missing or
/// malformed — the command was cut short (phone lost) or the phone did not run it.
pub(crate) fn split_v1_output(mut raw: Vec<u8>, marker: &str) -> Option<(Vec<u8>, u8)> {
    let m = marker.as_bytes();
    let pos = raw.windows(m.len()).rposition(|w| w == m)?;
    let tail = std::str::from_utf8(&raw[pos + m.len()..]).ok()?;
    let code: u16 = tail.trim_end_matches(['\r', '\n']).parse().ok()?;
    raw.truncate(pos);
    // Remove the line break the bare `echo` added (a pty turns it into CRLF).
    if raw.ends_with(b"\r\n") {
        raw.truncate(raw.len() - 2);
    } else if raw.ends_with(b"\n") {
        raw.truncate(raw.len() - 1);
    } else {
        return None;
    }
    Some((raw, u8::try_from(code).unwrap_or(u8::MAX)))
}

/// Encodes a v2 packet (used for stdin and by tests playing the phone).
pub fn encode_packet(id: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + data.len());
    out.push(id);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_marker_round_trip_keeps_output_exact() {
        let m = new_marker();
        for (out, code) in [
            (&b"hello\n"[..], 0u8),
            (b"no newline", 42),
            (b"", 127),
            (b"a\r\nb\r\n", 1),
        ] {
            let mut raw = out.to_vec();
            raw.extend_from_slice(format!("\n{m}{code}\n").as_bytes());
            assert_eq!(split_v1_output(raw, &m), Some((out.to_vec(), code)));
        }
        // CRLF from a pty on old phones.
        let raw = format!("x\r\n\r\n{m}3\r\n").into_bytes();
        assert_eq!(split_v1_output(raw, &m), Some((b"x\r\n".to_vec(), 3)));
    }

    #[test]
    fn v1_missing_or_garbled_marker_is_none() {
        let m = new_marker();
        assert_eq!(split_v1_output(b"cut short".to_vec(), &m), None);
        assert_eq!(split_v1_output(format!("\n{m}xx\n").into_bytes(), &m), None);
        assert_eq!(split_v1_output(format!("\n{m}").into_bytes(), &m), None);
        assert_ne!(new_marker(), new_marker());
        assert!(v1_command("exit 3", &m).contains(&m));
    }

    #[test]
    fn encodes_packets() {
        assert_eq!(encode_packet(packet_id::EXIT, &[7]), vec![3, 1, 0, 0, 0, 7]);
        let _ = (
            packet_id::STDIN,
            packet_id::CLOSE_STDIN,
            packet_id::STDOUT,
            packet_id::STDERR,
        );
    }
}
