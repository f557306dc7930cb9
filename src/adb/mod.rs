//! Async client of the adb server protocol (FACTS.md §1): server connection, device
//! listing and tracking, transport selection, shell v2 with exit codes, sync, reboot.
//! Every call has a timeout and is cancellable (dropping the future closes the socket).
//! Knows nothing about Xiaomi phones; only bytes, services and typed errors.
//!
//! Framing lives in one place (`conn.rs`); [`Adb`] asks the server about phones,
//! [`Device`] opens services on one phone, [`SyncSession`] moves files. Why not the
//! adb_client crate: docs/adb-client.md.

mod conn;
mod device;
mod devices;
mod error;
mod shell;
mod sync;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use device::{Device, Features, Selector};
pub use devices::{
    DeviceEvent, DeviceInfo, DeviceState, TrackUpdate, Tracker, diff, parse_device_line,
    parse_device_list,
};
pub use error::AdbError;
pub use shell::{CodeSource, ShellOutput, encode_packet, packet_id};
pub use sync::{
    DirEntry, FileStat, MAX_CHUNK, MAX_PATH, PIPELINE_DEPTH, RecvSink, SyncSession, WalkEntry,
};

use conn::Conn;

/// Default port of the adb server.
pub const DEFAULT_PORT: u16 = 5037;

/// Where the adb server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    pub host: String,
    pub port: u16,
}

impl Default for ServerAddr {
    fn default() -> ServerAddr {
        ServerAddr {
            host: "127.0.0.1".into(),
            port: DEFAULT_PORT,
        }
    }
}

impl std::fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl ServerAddr {
    /// Chooses the address as adb does: `-H`/`-P` flags first, then
    /// `ADB_SERVER_SOCKET=tcp:HOST:PORT`, then `ANDROID_ADB_SERVER_PORT`, then
    /// 127.0.0.1:5037. The error text names the bad value.
    pub fn resolve(
        host_flag: Option<&str>,
        port_flag: Option<u16>,
        env_socket: Option<&str>,
        env_port: Option<&str>,
    ) -> Result<ServerAddr, String> {
        let mut addr = ServerAddr::default();
        if let Some(spec) = env_socket.filter(|s| !s.is_empty()) {
            addr = ServerAddr::parse_socket_spec(spec)?;
        } else if let Some(p) = env_port.filter(|s| !s.is_empty()) {
            addr.port = match p.trim().parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(format!(
                        "ANDROID_ADB_SERVER_PORT={p:?} is not a port number"
                    ));
                }
            };
        }
        if let Some(h) = host_flag {
            addr.host = h.to_string();
        }
        if let Some(p) = port_flag {
            addr.port = p;
        }
        Ok(addr)
    }

    /// Parses `tcp:HOST:PORT` or `tcp:PORT` (the forms of `ADB_SERVER_SOCKET` that a
    /// TCP client can use).
    pub fn parse_socket_spec(spec: &str) -> Result<ServerAddr, String> {
        let bad = || format!("ADB_SERVER_SOCKET={spec:?} is not tcp:HOST:PORT");
        let rest = spec.strip_prefix("tcp:").ok_or_else(bad)?;
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h.trim_start_matches('[').trim_end_matches(']'), p),
            None => ("127.0.0.1", rest),
        };
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(ServerAddr {
            host: host.to_string(),
            port,
        })
    }

    fn is_local(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "::1")
    }
}

/// A client of one adb server. Cheap to clone; holds no connection (each call opens
/// its own, so concurrent calls never interleave on a socket).
#[derive(Debug, Clone)]
pub struct Adb {
    addr: ServerAddr,
    timeout: Duration,
    /// `adb start-server` is tried at most once per client, however many clones ask.
    start_tried: Arc<AtomicBool>,
}

impl Adb {
    /// TIMEOUT bounds every call's time without progress.
    pub fn new(addr: ServerAddr, timeout: Duration) -> Adb {
        Adb {
            addr,
            timeout,
            start_tried: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn addr(&self) -> &ServerAddr {
        &self.addr
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn host(&self, op: &'static str, request: &str) -> Result<Conn, AdbError> {
        let mut conn = Conn::open(&self.addr, None, self.timeout).await?;
        conn.request(op, request).await?;
        Ok(conn)
    }

    /// The server's protocol version (`host:version`), 41 for adb 29.
    pub async fn version(&self) -> Result<u32, AdbError> {
        let mut conn = self.host("version", "host:version").await?;
        let block = conn.read_hex_block("version").await?;
        let text = String::from_utf8_lossy(&block);
        u32::from_str_radix(text.trim(), 16)
            .map_err(|_| conn.protocol("version", format!("version {text:?} is not hexadecimal")))
    }

    /// Makes sure a server answers: when nothing listens on a local address, runs
    /// `adb -P PORT start-server` once (as adb itself does) and asks again.
    pub async fn ensure_server(&self) -> Result<u32, AdbError> {
        match self.version().await {
            Err(AdbError::ServerUnavailable { .. })
                if self.addr.is_local() && !self.start_tried.swap(true, Ordering::SeqCst) =>
            {
                self.start_server().await?;
                self.version().await
            }
            other => other,
        }
    }

    async fn start_server(&self) -> Result<(), AdbError> {
        let unavailable = |reason: String| AdbError::ServerUnavailable {
            addr: self.addr.to_string(),
            reason,
        };
        let child = tokio::process::Command::new("adb")
            .args(["-P", &self.addr.port.to_string(), "start-server"])
            .env_remove("ADB_SERVER_SOCKET")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .output();
        // Starting takes a second or two; give it more than one timeout.
        match tokio::time::timeout(self.timeout.max(Duration::from_secs(10)), child).await {
            Ok(Ok(out)) if out.status.success() => Ok(()),
            Ok(Ok(out)) => Err(unavailable(format!(
                "`adb start-server` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ))),
            Ok(Err(e)) => Err(unavailable(format!(
                "could not run `adb start-server`: {e}"
            ))),
            Err(_) => Err(unavailable("`adb start-server` did not finish".into())),
        }
    }

    /// Every phone the server sees (`host:devices-l`).
    pub async fn devices(&self) -> Result<Vec<DeviceInfo>, AdbError> {
        let mut conn = self.host("devices", "host:devices-l").await?;
        let block = conn.read_hex_block("devices").await?;
        Ok(parse_device_list(&String::from_utf8_lossy(&block)))
    }

    /// Follows the server's list: the first update is the list now, then one per change.
    pub async fn track(&self) -> Result<Tracker, AdbError> {
        let mut conn = self.host("track-devices", "host:track-devices-l").await?;
        conn.set_timeout(None);
        Ok(Tracker {
            conn,
            last: Vec::new(),
        })
    }

    /// A handle on one phone (no I/O until it is used).
    pub fn device(&self, selector: Selector) -> Device {
        Device::new(self.clone(), selector)
    }

    /// The phone to work on: SERIAL when given (it must be listed), else the only phone
    /// connected. Several phones without a serial is `MoreThanOne` with their serials.
    pub async fn select(&self, serial: Option<&str>) -> Result<(Device, DeviceInfo), AdbError> {
        let list = self.devices().await?;
        let info = match serial {
            Some(s) => list
                .into_iter()
                .find(|d| d.serial == s)
                .ok_or_else(|| AdbError::DeviceNotFound { serial: s.into() })?,
            None => match list.len() {
                0 => return Err(AdbError::NoDevice),
                1 => list.into_iter().next().ok_or(AdbError::NoDevice)?,
                _ => {
                    return Err(AdbError::MoreThanOne {
                        serials: list.into_iter().map(|d| d.serial).collect(),
                    });
                }
            },
        };
        Ok((self.device(Selector::Serial(info.serial.clone())), info))
    }

    /// `host:connect:HOST:PORT` (a phone over TCP, or a simulated one). Returns the
    /// server's message; adb answers OKAY even when the connection failed, so the text
    /// is the only verdict.
    pub async fn connect_device(&self, hostport: &str) -> Result<String, AdbError> {
        let mut conn = self
            .host("connect", &format!("host:connect:{hostport}"))
            .await?;
        let block = conn.read_hex_block("connect").await?;
        Ok(String::from_utf8_lossy(&block).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_address_follows_adbs_precedence() {
        let d = ServerAddr::resolve(None, None, None, None).unwrap();
        assert_eq!(d.to_string(), "127.0.0.1:5037");
        let a = ServerAddr::resolve(None, None, None, Some("6000")).unwrap();
        assert_eq!(a.port, 6000);
        let a = ServerAddr::resolve(None, None, Some("tcp:10.0.0.2:7000"), Some("6000")).unwrap();
        assert_eq!((a.host.as_str(), a.port), ("10.0.0.2", 7000));
        let a = ServerAddr::resolve(Some("h"), Some(1), Some("tcp:10.0.0.2:7000"), None).unwrap();
        assert_eq!((a.host.as_str(), a.port), ("h", 1));
        assert!(ServerAddr::resolve(None, None, None, Some("x")).is_err());
        assert!(ServerAddr::resolve(None, None, Some("local:/tmp/s"), None).is_err());
        assert_eq!(
            ServerAddr::parse_socket_spec("tcp:5038").unwrap().port,
            5038
        );
        assert_eq!(
            ServerAddr::parse_socket_spec("tcp:[::1]:5038")
                .unwrap()
                .host,
            "::1"
        );
    }
}
