//! The seam between the simulated ADB transport ([`super::adbd`]) and a simulated phone
//! ([`super::phone`]). The transport knows packets and services; the phone knows what a
//! command does. Neither reaches into the other past this trait.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

/// A boxed, sendable future (the trait must stay object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Bytes the host sends to a running shell command; the channel closes at stdin EOF
/// (shell v2 "close stdin" packet, or the stream closing).
pub type Stdin = tokio::sync::mpsc::Receiver<Vec<u8>>;

/// What a shell command produced. The transport frames it as shell v2 packets, or merges
/// stdout and stderr for v1 `shell:` and `exec:` (where the exit code is lost, as on a
/// real phone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: u8,
}

/// Whether the phone can be reached over USB debugging right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Accepting connections.
    Up,
    /// Unplugged or rebooting: every open connection is closed and new ones are refused
    /// until the link is `Up` again.
    Down,
    /// USB debugging is off for good (the phone was factory reset): connections are
    /// closed and refused for ever.
    Gone,
}

/// Faults and costs that live in the transport. Read at the start of each connection and
/// each sync transfer, so tests can change them while a phone runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportFaults {
    /// Close the connection after this many bytes of sync file data have been sent on it.
    pub drop_after_sync_bytes: Option<u64>,
    /// Stop answering anything (sockets stay open, nothing is read or written).
    pub stall: bool,
    /// What the USB link costs: every packet the phone sends, on every stream.
    pub link: super::adbd::link::LinkCost,
}

/// A simulated phone as the transport sees it.
pub trait Device: Send + Sync + 'static {
    /// The phone's serial number (`ro.serialno`).
    fn serial(&self) -> String;
    /// The CNXN banner: `device::ro.product.name=X;ro.product.model=Y;ro.product.device=Z;features=a,b,c`.
    fn banner(&self) -> String;
    /// Runs a shell command line as `/system/bin/sh -c` would on the phone.
    fn shell<'a>(&'a self, command: &'a str, stdin: Stdin) -> BoxFuture<'a, ShellOutput>;
    /// Maps a device path to the host file that backs it, for the sync service.
    /// Errors are errno values (2 ENOENT, 13 EACCES, …) sent back to the host.
    fn resolve(&self, device_path: &str) -> Result<PathBuf, i32>;
    /// A file below a resolved path the phone refuses to read (permissions on a real
    /// phone); the sync service answers RECV with "Permission denied".
    fn readable(&self, device_path: &str) -> bool;
    /// `reboot:` / `reboot:recovery` / `reboot:bootloader` (target is the part after the colon).
    fn reboot(&self, target: &str);
    /// Watches the USB-debugging link; the transport closes connections on `Down`/`Gone`.
    fn link(&self) -> tokio::sync::watch::Receiver<Link>;
    /// The transport's faults and costs, as set now.
    fn faults(&self) -> TransportFaults;
    /// Records that a service was opened (`shell,v2,raw:…`, `sync:`, …) so tests can see
    /// what the phone was asked to do.
    fn record(&self, service: &str);
    /// Whether a host must authenticate, read at each CNXN and while the
    /// "Allow USB debugging?" prompt is up. Default: no AUTH (the host goes online on CNXN).
    fn authorization(&self) -> Authorization {
        Authorization::Open
    }
    /// Host keys the user accepted before (`adb_keys` lines, `BASE64 user@host`); a host
    /// signing the token with one of them goes online without a prompt.
    fn adb_keys(&self) -> Vec<String> {
        Vec::new()
    }
    /// The user accepted this host key (`BASE64 user@host`) at the prompt.
    fn remember_key(&self, key: &str) {
        let _ = key;
    }
}

/// Whether the phone asks the host to authenticate before it goes online (USB debugging
/// authorization, docs/sim-transport.md "AUTH").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Authorization {
    /// No AUTH at all: the host goes online on CNXN (`ro.adb.secure=0`, an eng build).
    #[default]
    Open,
    /// `ro.adb.secure=1`, as on every retail phone: a host whose key is in the phone's
    /// `adb_keys` goes online at once; any other host sends its public key and the phone
    /// shows "Allow USB debugging?". `accept` is what the user does with that prompt:
    /// `false` leaves the host `unauthorized` (the prompt stays up), turning it `true` at
    /// any time lets waiting hosts online and remembers their keys.
    Prompt { accept: bool },
}

/// The phone's USB-debugging authorization: the mode and the accepted host keys
/// (`/data/misc/adb/adb_keys`). A phone can hold one of these and forward the three
/// `Device` methods to it; a factory reset should [`AdbAuth::forget_keys`].
#[derive(Debug, Default)]
pub struct AdbAuth {
    mode: std::sync::Mutex<Authorization>,
    keys: std::sync::Mutex<Vec<String>>,
}

impl AdbAuth {
    pub fn new(mode: Authorization) -> AdbAuth {
        AdbAuth {
            mode: std::sync::Mutex::new(mode),
            keys: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The mode now (a poisoned lock still holds a valid value).
    pub fn mode(&self) -> Authorization {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the mode; connections waiting at the prompt see it within a moment.
    pub fn set_mode(&self, mode: Authorization) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// The accepted keys, one `adb_keys` line each (`BASE64 user@host`).
    pub fn keys(&self) -> Vec<String> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Adds a key line unless the same key (first field) is already there.
    pub fn remember(&self, key: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let blob = key.split_whitespace().next().unwrap_or("");
        if !keys
            .iter()
            .any(|k| k.split_whitespace().next() == Some(blob))
        {
            keys.push(key.to_string());
        }
    }

    /// Empties `adb_keys` (factory reset, or "Revoke USB debugging authorizations").
    pub fn forget_keys(&self) {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
