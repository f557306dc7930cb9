//! The one place that frames the adb server protocol (FACTS.md §1): connect, send a
//! length-prefixed request, read `OKAY`/`FAIL`, read length-prefixed answers, and every
//! read and write under the call's timeout. Everything above builds on [`Conn`] and never
//! touches a socket; dropping a `Conn` (or a future holding one) closes the socket, which
//! is how calls are cancelled.

use std::io::ErrorKind;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::ServerAddr;
use super::error::{AdbError, classify_fail};

/// Largest length-prefixed answer we accept (the prefix is 4 hex digits anyway).
const MAX_HEX_LEN: usize = 0xffff;

/// One connection to the adb server, possibly switched to a phone's service.
#[derive(Debug)]
pub(crate) struct Conn {
    io: BufReader<TcpStream>,
    /// The phone this connection talks to, for error messages.
    serial: Option<String>,
    /// Time without progress after which a read or write fails; `None` waits for ever
    /// (track-devices, where waiting is the point).
    timeout: Option<Duration>,
}

impl Conn {
    /// Connects to the server. A refused or failed connection is `ServerUnavailable`.
    pub(crate) async fn open(
        addr: &ServerAddr,
        serial: Option<String>,
        timeout: Duration,
    ) -> Result<Conn, AdbError> {
        let target = (addr.host.as_str(), addr.port);
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(target)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(AdbError::ServerUnavailable {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                });
            }
            Err(_) => {
                return Err(AdbError::ServerUnavailable {
                    addr: addr.to_string(),
                    reason: format!("no answer within {} s", timeout.as_secs()),
                });
            }
        };
        // Requests are small and latency-bound (many short shell commands).
        let _ = stream.set_nodelay(true);
        Ok(Conn {
            io: BufReader::with_capacity(256 * 1024, stream),
            serial,
            timeout: Some(timeout),
        })
    }

    pub(crate) fn serial(&self) -> Option<&str> {
        self.serial.as_deref()
    }

    pub(crate) fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }

    fn timed_out(&self, op: &'static str) -> AdbError {
        AdbError::Timeout {
            op,
            serial: self.serial.clone(),
            secs: self.timeout.map(|t| t.as_secs()).unwrap_or(0),
        }
    }

    fn lost(&self, op: &'static str, detail: impl Into<String>) -> AdbError {
        AdbError::ConnectionLost {
            op,
            serial: self.serial.clone(),
            detail: detail.into(),
        }
    }

    pub(crate) fn protocol(&self, op: &'static str, detail: impl Into<String>) -> AdbError {
        AdbError::Protocol {
            op,
            serial: self.serial.clone(),
            detail: detail.into(),
        }
    }

    pub(crate) async fn write_all(
        &mut self,
        op: &'static str,
        bytes: &[u8],
    ) -> Result<(), AdbError> {
        let t = self.timeout;
        let io = &mut self.io;
        let fut = async move {
            io.get_mut().write_all(bytes).await?;
            Ok(())
        };
        let res = match t {
            Some(t) => tokio::time::timeout(t, fut).await.ok(),
            None => Some(fut.await),
        };
        match res {
            Some(r) => r.map_err(|e: std::io::Error| self.lost(op, e.to_string())),
            None => Err(self.timed_out(op)),
        }
    }

    /// Reads exactly `buf.len()` bytes; a closed connection is `ConnectionLost`.
    pub(crate) async fn read_exact(
        &mut self,
        op: &'static str,
        buf: &mut [u8],
    ) -> Result<(), AdbError> {
        let t = self.timeout;
        let fut = self.io.read_exact(buf);
        let res = match t {
            Some(t) => tokio::time::timeout(t, fut).await.ok(),
            None => Some(fut.await),
        };
        match res {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                Err(self.lost(op, "the connection closed mid-answer"))
            }
            Some(Err(e)) => Err(self.lost(op, e.to_string())),
            None => Err(self.timed_out(op)),
        }
    }

    /// Reads what is available (at least one byte), or 0 at the end of the stream.
    pub(crate) async fn read_some(
        &mut self,
        op: &'static str,
        buf: &mut [u8],
    ) -> Result<usize, AdbError> {
        let t = self.timeout;
        let fut = self.io.read(buf);
        let res = match t {
            Some(t) => tokio::time::timeout(t, fut).await.ok(),
            None => Some(fut.await),
        };
        match res {
            Some(Ok(n)) => Ok(n),
            Some(Err(e)) => Err(self.lost(op, e.to_string())),
            None => Err(self.timed_out(op)),
        }
    }

    /// Reads to the end of the stream, refusing more than `limit` bytes.
    pub(crate) async fn read_to_end(
        &mut self,
        op: &'static str,
        limit: usize,
    ) -> Result<Vec<u8>, AdbError> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self.read_some(op, &mut buf).await?;
            if n == 0 {
                return Ok(out);
            }
            if out.len() + n > limit {
                return Err(self.protocol(op, format!("answer larger than {limit} bytes")));
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    /// Reads a 4-hex-digit length, then that many bytes.
    pub(crate) async fn read_hex_block(&mut self, op: &'static str) -> Result<Vec<u8>, AdbError> {
        let mut len = [0u8; 4];
        self.read_exact(op, &mut len).await?;
        let n = parse_hex4(&len).ok_or_else(|| {
            self.protocol(
                op,
                format!("bad length prefix {:?}", String::from_utf8_lossy(&len)),
            )
        })?;
        let mut data = vec![0u8; n.min(MAX_HEX_LEN)];
        self.read_exact(op, &mut data).await?;
        Ok(data)
    }

    /// Reads `OKAY`, or `FAIL` + message turned into a typed error.
    pub(crate) async fn status(&mut self, op: &'static str) -> Result<(), AdbError> {
        let mut id = [0u8; 4];
        self.read_exact(op, &mut id).await?;
        match &id {
            b"OKAY" => Ok(()),
            b"FAIL" => {
                let msg = self.read_hex_block(op).await?;
                Err(classify_fail(
                    op,
                    self.serial(),
                    &String::from_utf8_lossy(&msg),
                ))
            }
            other => Err(self.protocol(
                op,
                format!(
                    "expected OKAY or FAIL, got {:?}",
                    String::from_utf8_lossy(other)
                ),
            )),
        }
    }

    /// Sends one request (`host:…`, a service name) and waits for its status.
    pub(crate) async fn request(&mut self, op: &'static str, text: &str) -> Result<(), AdbError> {
        let frame = frame_request(text).ok_or_else(|| self.protocol(op, "request too long"))?;
        self.write_all(op, &frame).await?;
        self.status(op).await
    }
}

/// `text` prefixed with its length as 4 hex digits, as the server expects.
pub(crate) fn frame_request(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() > MAX_HEX_LEN {
        return None;
    }
    let mut out = format!("{:04x}", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    Some(out)
}

pub(crate) fn parse_hex4(b: &[u8; 4]) -> Option<usize> {
    let s = std::str::from_utf8(b).ok()?;
    usize::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_parses_lengths() {
        assert_eq!(frame_request("host:version").unwrap(), b"000chost:version");
        assert_eq!(parse_hex4(b"001a"), Some(26));
        assert_eq!(parse_hex4(b"zz00"), None);
        assert!(frame_request(&"x".repeat(70000)).is_none());
    }
}
