//! One phone behind the server: transport selection (by serial or transport id),
//! features, shell (v2 with exit codes, v1 fallback), exec, reboot, and the door to a
//! sync session. Each call opens its own connection through [`Conn`], so calls on one
//! phone may run concurrently and a dropped call closes only its own socket.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::OnceCell;

use super::Adb;
use super::conn::Conn;
use super::devices::DeviceState;
use super::error::AdbError;
use super::shell::{self, CodeSource, ShellOutput};
use super::sync::SyncSession;

/// Largest shell or exec answer kept in memory; bigger ones should stream.
const MAX_OUTPUT: usize = 256 * 1024 * 1024;

/// Which phone: by serial (what people type) or by transport id (unique even when two
/// phones report the same serial).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    Serial(String),
    TransportId(u64),
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Selector::Serial(s) => f.write_str(s),
            Selector::TransportId(t) => write!(f, "transport {t}"),
        }
    }
}

/// The feature flags a phone advertises (`shell_v2`, `stat_v2`, `ls_v2`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Features(Vec<String>);

impl Features {
    pub fn parse(text: &str) -> Features {
        Features(
            text.split(',')
                .map(|f| f.trim().to_string())
                .filter(|f| !f.is_empty())
                .collect(),
        )
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|f| f == name)
    }
    pub fn names(&self) -> &[String] {
        &self.0
    }
}

/// A handle on one phone. Cheap to clone; holds no connection.
#[derive(Debug, Clone)]
pub struct Device {
    adb: Adb,
    selector: Selector,
    /// What error messages call the phone.
    label: String,
    timeout: Duration,
    features: Arc<OnceCell<Features>>,
}

impl Device {
    pub(crate) fn new(adb: Adb, selector: Selector) -> Device {
        Device {
            label: selector.to_string(),
            timeout: adb.timeout(),
            adb,
            selector,
            features: Arc::new(OnceCell::new()),
        }
    }

    /// The phone as error messages name it (its serial, or `transport N`).
    pub fn serial(&self) -> &str {
        &self.label
    }

    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The same phone with another timeout (e.g. a `uiautomator dump` that takes long).
    pub fn with_timeout(&self, timeout: Duration) -> Device {
        Device {
            timeout,
            ..self.clone()
        }
    }

    fn transport_request(&self) -> String {
        match &self.selector {
            Selector::Serial(s) => format!("host:transport:{s}"),
            Selector::TransportId(t) => format!("host:transport-id:{t}"),
        }
    }

    /// Opens SERVICE on the phone: the transport switch, then the service request.
    pub(crate) async fn open(&self, op: &'static str, service: &str) -> Result<Conn, AdbError> {
        let mut conn = Conn::open(self.adb.addr(), Some(self.label.clone()), self.timeout).await?;
        conn.request(op, &self.transport_request()).await?;
        match conn.request(op, service).await {
            Ok(()) => Ok(conn),
            Err(e) => Err(self.explain_refusal(op, e).await),
        }
    }

    /// adb answers a service request with a bare FAIL "closed" when the phone closed the
    /// stream before accepting it: a phone refusing that service, or — far more often —
    /// a phone that was just unplugged and whose transport is going away. Asking the
    /// server how it lists the phone tells the two apart, so an unplug mid-command is
    /// reported as a lost phone (exit 5), not as "refused" (exit 1).
    async fn explain_refusal(&self, op: &'static str, e: AdbError) -> AdbError {
        if !matches!(&e, AdbError::ServerRefused { msg, .. } if msg == "closed") {
            return e;
        }
        // The server marks a dead transport offline or drops it within moments.
        for _ in 0..3 {
            let Ok(list) = self.adb.devices().await else {
                return e;
            };
            let listed = list.into_iter().find(|d| match &self.selector {
                Selector::Serial(s) => &d.serial == s,
                Selector::TransportId(t) => d.transport_id == Some(*t),
            });
            match listed {
                None => {
                    return AdbError::ConnectionLost {
                        op,
                        serial: Some(self.label.clone()),
                        detail: "the phone left adb while the command was being opened".into(),
                    };
                }
                Some(d) if d.state != DeviceState::Device => {
                    return AdbError::Offline {
                        serial: d.serial,
                        state: d.state.to_string(),
                    };
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        e
    }

    /// The phone's feature flags, asked once and cached for the life of this handle.
    pub async fn features(&self) -> Result<Features, AdbError> {
        self.features
            .get_or_try_init(|| async {
                let req = match &self.selector {
                    Selector::Serial(s) => format!("host-serial:{s}:features"),
                    Selector::TransportId(t) => format!("host-transport-id:{t}:features"),
                };
                let mut conn =
                    Conn::open(self.adb.addr(), Some(self.label.clone()), self.timeout).await?;
                conn.request("features", &req).await?;
                let block = conn.read_hex_block("features").await?;
                Ok(Features::parse(&String::from_utf8_lossy(&block)))
            })
            .await
            .cloned()
    }

    /// Runs CMD through `sh -c` on the phone: stdout, stderr and the exit code. Uses the
    /// shell protocol v2; only a phone without `shell_v2` gets the old shell, and then
    /// the result says how the code was obtained. Each read is bounded by the timeout.
    pub async fn shell(&self, cmd: &str) -> Result<ShellOutput, AdbError> {
        if self.features().await?.has("shell_v2") {
            self.shell_v2(cmd).await
        } else {
            self.shell_v1(cmd).await
        }
    }

    async fn shell_v2(&self, cmd: &str) -> Result<ShellOutput, AdbError> {
        const OP: &str = "shell";
        let mut conn = self.open(OP, &format!("shell,v2,raw:{cmd}")).await?;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        loop {
            let mut head = [0u8; 5];
            // End of stream before the exit packet: the command was cut short, which
            // must never pass for success (FACTS.md §3).
            conn.read_exact(OP, &mut head).await?;
            let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
            if stdout.len() + stderr.len() + len > MAX_OUTPUT {
                return Err(conn.protocol(OP, "shell output too large"));
            }
            let mut data = vec![0u8; len];
            conn.read_exact(OP, &mut data).await?;
            match head[0] {
                shell::packet_id::STDOUT => stdout.extend_from_slice(&data),
                shell::packet_id::STDERR => stderr.extend_from_slice(&data),
                shell::packet_id::EXIT => {
                    let Some(&code) = data.first() else {
                        return Err(conn.protocol(OP, "empty exit packet"));
                    };
                    return Ok(ShellOutput {
                        stdout,
                        stderr,
                        code,
                        via: CodeSource::ShellV2,
                    });
                }
                // Window size and unknown ids carry nothing for us.
                _ => {}
            }
        }
    }

    async fn shell_v1(&self, cmd: &str) -> Result<ShellOutput, AdbError> {
        const OP: &str = "shell";
        let marker = shell::new_marker();
        let mut conn = self
            .open(OP, &format!("shell:{}", shell::v1_command(cmd, &marker)))
            .await?;
        let raw = conn.read_to_end(OP, MAX_OUTPUT).await?;
        match shell::split_v1_output(raw, &marker) {
            Some((stdout, code)) => Ok(ShellOutput {
                stdout,
                stderr: Vec::new(),
                code,
                via: CodeSource::EchoMarker,
            }),
            None => Err(AdbError::ConnectionLost {
                op: OP,
                serial: Some(self.label.clone()),
                detail: "the old shell ended without the exit-code marker".into(),
            }),
        }
    }

    /// `exec:CMD`: the raw bytes of stdout (binary-safe, e.g. `screencap -p`). There is
    /// no exit code and no way to tell a cut-short stream from the end: use it for data
    /// whose format shows truncation.
    pub async fn exec(&self, cmd: &str) -> Result<Vec<u8>, AdbError> {
        let mut conn = self.open("exec", &format!("exec:{cmd}")).await?;
        conn.read_to_end("exec", MAX_OUTPUT).await
    }

    /// `exec:CMD` streamed into OUT; the timeout bounds the time without bytes, not the
    /// whole transfer. Returns the number of bytes written.
    pub async fn exec_to<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        cmd: &str,
        out: &mut W,
    ) -> Result<u64, AdbError> {
        const OP: &str = "exec";
        let mut conn = self.open(OP, &format!("exec:{cmd}")).await?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = conn.read_some(OP, &mut buf).await?;
            if n == 0 {
                out.flush().await.map_err(|e| self.local(OP, cmd, e))?;
                return Ok(total);
            }
            out.write_all(&buf[..n])
                .await
                .map_err(|e| self.local(OP, cmd, e))?;
            total += n as u64;
        }
    }

    /// Reboots the phone (`None`), or into `recovery` / `bootloader` / `sideload`.
    /// Returns once the phone accepted; it leaves the server's list shortly after.
    pub async fn reboot(&self, target: Option<&str>) -> Result<(), AdbError> {
        let mut conn = self
            .open("reboot", &format!("reboot:{}", target.unwrap_or("")))
            .await?;
        // adbd may answer with nothing more, or close: both mean it is rebooting.
        let mut buf = [0u8; 256];
        let _ = tokio::time::timeout(
            Duration::from_millis(500),
            conn.read_some("reboot", &mut buf),
        )
        .await;
        Ok(())
    }

    /// Opens a sync session (file transfer), using 64-bit stat and listing when the phone
    /// advertises `stat_v2` / `ls_v2`.
    pub async fn sync(&self) -> Result<SyncSession, AdbError> {
        SyncSession::open(self.clone()).await
    }

    pub(crate) fn local(&self, op: &'static str, path: &str, source: std::io::Error) -> AdbError {
        AdbError::Local {
            op,
            serial: self.label.clone(),
            path: path.to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_parse_tolerates_blanks() {
        let f = Features::parse("shell_v2,cmd,,stat_v2, ls_v2\n");
        assert!(f.has("shell_v2") && f.has("ls_v2") && !f.has("abb"));
        assert_eq!(f.names().len(), 4);
    }
}
