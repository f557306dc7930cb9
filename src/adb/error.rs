//! The typed errors of the adb client. Every variant carries the phone (when there is
//! one) and the operation, so a message read on a bench of sixteen phones names the one
//! that failed. Knows nothing about Xiaomi phones or the terminal.

use crate::exit::{Exit, HasExit};

/// Names the phone in a message, or the server for host-side requests.
pub(crate) fn on(serial: &Option<String>) -> String {
    match serial {
        Some(s) => format!("phone {s}"),
        None => "the adb server".to_string(),
    }
}

/// What went wrong talking to the adb server or through it to a phone.
#[derive(Debug, thiserror::Error)]
pub enum AdbError {
    /// Nothing answers at the server address (and starting one did not help).
    #[error("no adb server answers at {addr}: {reason}")]
    ServerUnavailable { addr: String, reason: String },
    /// The server answered FAIL with a message we have no better type for.
    #[error("{} refused {op}: {msg}", on(.serial))]
    ServerRefused {
        op: &'static str,
        serial: Option<String>,
        msg: String,
    },
    /// The phone is not (or no longer) connected to the server.
    #[error("phone {serial} is not connected (adb does not list it)")]
    DeviceNotFound { serial: String },
    /// No phone at all is connected.
    #[error("no phone is connected to the adb server")]
    NoDevice,
    /// Several phones are connected and none was chosen.
    #[error("{} phones are connected ({}); choose one", serials.len(), serials.join(", "))]
    MoreThanOne { serials: Vec<String> },
    /// The phone has not accepted this computer's key yet.
    #[error(
        "phone {serial} is unauthorized: unlock it and accept the USB debugging prompt \
         (tick \"Always allow from this computer\")"
    )]
    Unauthorized { serial: String },
    /// The phone is listed but cannot be talked to (offline, still connecting, …).
    #[error("phone {serial} is {state}: reconnect the cable or wait for it to come online")]
    Offline { serial: String, state: String },
    /// Nothing moved within the timeout.
    #[error("{op} on {} timed out: nothing for {secs} s", on(.serial))]
    Timeout {
        op: &'static str,
        serial: Option<String>,
        secs: u64,
    },
    /// The connection ended before the answer was complete (phone unplugged, server
    /// killed).
    #[error("{op} on {}: connection lost ({detail})", on(.serial))]
    ConnectionLost {
        op: &'static str,
        serial: Option<String>,
        detail: String,
    },
    /// Bytes that do not follow the protocol.
    #[error("{op} on {}: protocol error: {detail}", on(.serial))]
    Protocol {
        op: &'static str,
        serial: Option<String>,
        detail: String,
    },
    /// The phone refused one file (missing, permission denied, …).
    #[error("phone {serial}: {path}: {msg}")]
    RemoteFile {
        serial: String,
        path: String,
        msg: String,
    },
    /// A host-side write or read (the destination file of a pull, the source of a push).
    #[error("{op} on phone {serial}: local I/O failed for {path}: {source}")]
    Local {
        op: &'static str,
        serial: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl AdbError {
    /// The phone the error is about, when there is one.
    pub fn serial(&self) -> Option<&str> {
        match self {
            AdbError::ServerRefused { serial, .. }
            | AdbError::Timeout { serial, .. }
            | AdbError::ConnectionLost { serial, .. }
            | AdbError::Protocol { serial, .. } => serial.as_deref(),
            AdbError::DeviceNotFound { serial }
            | AdbError::Unauthorized { serial }
            | AdbError::Offline { serial, .. }
            | AdbError::RemoteFile { serial, .. }
            | AdbError::Local { serial, .. } => Some(serial),
            AdbError::ServerUnavailable { .. }
            | AdbError::NoDevice
            | AdbError::MoreThanOne { .. } => None,
        }
    }

    /// Whether the phone (or the path to it) went away: retrying on a fresh connection
    /// may help, the data already received is incomplete.
    pub fn is_lost(&self) -> bool {
        self.exit() == Exit::PhoneLost
    }
}

impl HasExit for AdbError {
    fn exit(&self) -> Exit {
        match self {
            AdbError::Unauthorized { .. } => Exit::Refused,
            AdbError::MoreThanOne { .. } => Exit::Usage,
            // A phone that is not there is a lost phone, whether it left mid-command or
            // was never plugged in (README: "no phone" exits 5).
            AdbError::DeviceNotFound { .. }
            | AdbError::NoDevice
            | AdbError::Offline { .. }
            | AdbError::Timeout { .. }
            | AdbError::ConnectionLost { .. } => Exit::PhoneLost,
            AdbError::ServerUnavailable { .. }
            | AdbError::ServerRefused { .. }
            | AdbError::Protocol { .. }
            | AdbError::RemoteFile { .. }
            | AdbError::Local { .. } => Exit::Other,
        }
    }
}

/// Turns a server FAIL message into the most specific error. The texts are adb's own
/// (transport.cpp); SERIAL is what we asked for, used when the message does not say.
pub(crate) fn classify_fail(op: &'static str, serial: Option<&str>, msg: &str) -> AdbError {
    let lower = msg.to_ascii_lowercase();
    let who = serial.unwrap_or("?").to_string();
    if lower.starts_with("more than one device") {
        return AdbError::MoreThanOne {
            serials: Vec::new(),
        };
    }
    if lower.starts_with("no devices/emulators found") {
        return match serial {
            Some(s) => AdbError::DeviceNotFound { serial: s.into() },
            None => AdbError::NoDevice,
        };
    }
    if lower.starts_with("no device with transport id") || lower.contains("' not found") {
        return AdbError::DeviceNotFound { serial: who };
    }
    if lower.starts_with("device unauthorized") {
        return AdbError::Unauthorized { serial: who };
    }
    for state in [
        "device offline",
        "device still authorizing",
        "device still connecting",
    ] {
        if lower.starts_with(state) {
            return AdbError::Offline {
                serial: who,
                state: state.trim_start_matches("device ").to_string(),
            };
        }
    }
    AdbError::ServerRefused {
        op,
        serial: serial.map(str::to_string),
        msg: msg.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_fail_messages_become_typed_errors() {
        let e = classify_fail("transport", Some("abc"), "device 'abc' not found");
        assert!(matches!(e, AdbError::DeviceNotFound { ref serial } if serial == "abc"));
        assert_eq!(e.exit(), Exit::PhoneLost);
        let e = classify_fail(
            "transport",
            Some("abc"),
            "device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set",
        );
        assert_eq!(e.exit(), Exit::Refused);
        assert!(e.to_string().contains("accept the USB debugging prompt"));
        let e = classify_fail("transport", Some("abc"), "device offline");
        assert!(matches!(e, AdbError::Offline { ref state, .. } if state == "offline"));
        assert_eq!(e.exit(), Exit::PhoneLost);
        let e = classify_fail("transport", None, "no devices/emulators found");
        assert!(matches!(e, AdbError::NoDevice));
        let e = classify_fail("shell", Some("abc"), "closed");
        assert!(matches!(e, AdbError::ServerRefused { .. }));
        assert!(e.to_string().contains("phone abc"));
    }

    #[test]
    fn lost_and_timeout_mean_phone_lost() {
        let e = AdbError::Timeout {
            op: "shell",
            serial: Some("x".into()),
            secs: 3,
        };
        assert!(e.is_lost());
        assert!(e.to_string().contains("phone x"));
        let e = AdbError::ConnectionLost {
            op: "sync recv",
            serial: Some("x".into()),
            detail: "eof".into(),
        };
        assert_eq!(e.exit().code(), 5);
    }
}
