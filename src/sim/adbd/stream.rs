//! One ADB stream as a service sees it: bytes the host wrote (acknowledged as they are
//! taken, so the host's one-WRTE-in-flight rule gives back-pressure) and bytes to send
//! (cut into WRTE packets of at most the negotiated payload, each waiting for the host's
//! OKAY before the next goes out).
//!
//! Knows packets and stream ids; knows nothing of what a service means by its bytes.

use std::collections::VecDeque;
use std::future::Future;

use tokio::sync::mpsc;

use super::packet::{A_OKAY, A_WRTE, Packet};

/// What the connection's writer task puts on the socket, in order.
#[derive(Debug)]
pub enum Outgoing {
    /// A packet and when it was handed over (the link model times it from there).
    Packet(Packet, std::time::Instant),
    /// Flush what came before, then close the TCP connection (the sync-drop fault).
    Kill,
    /// Flush what came before, then say so (before the phone drops off on reboot).
    Flushed(tokio::sync::oneshot::Sender<()>),
}

impl Outgoing {
    pub fn packet(p: Packet) -> Outgoing {
        Outgoing::Packet(p, std::time::Instant::now())
    }
}

pub type OutTx = mpsc::Sender<Outgoing>;

/// The host stopped listening: the stream or the whole connection is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stream closed")]
pub struct Closed;

/// A source of byte chunks in arrival order; `None` once the sender is done.
/// Implemented by [`StreamInput`] and, in tests, by a queue of chunks.
pub trait ChunkSource: Send {
    fn next_chunk(&mut self) -> impl Future<Output = Option<Vec<u8>>> + Send;
}

impl ChunkSource for VecDeque<Vec<u8>> {
    #[allow(clippy::manual_async_fn)]
    fn next_chunk(&mut self) -> impl Future<Output = Option<Vec<u8>>> + Send {
        async move { self.pop_front() }
    }
}

/// The data of the host's WRTE packets to one stream.
pub struct StreamInput {
    rx: mpsc::Receiver<Vec<u8>>,
    out: OutTx,
    local: u32,
    remote: u32,
}

impl StreamInput {
    pub fn new(rx: mpsc::Receiver<Vec<u8>>, out: OutTx, local: u32, remote: u32) -> Self {
        StreamInput {
            rx,
            out,
            local,
            remote,
        }
    }
}

impl ChunkSource for StreamInput {
    /// The next WRTE's data. Taking it acknowledges it: the OKAY lets the host send the
    /// next one, so a slow consumer (a file being written) slows the host down instead
    /// of queueing its data here.
    #[allow(clippy::manual_async_fn)]
    fn next_chunk(&mut self) -> impl Future<Output = Option<Vec<u8>>> + Send {
        async move {
            let chunk = self.rx.recv().await?;
            let okay = Packet::new(A_OKAY, self.local, self.remote, Vec::new());
            // If the writer is gone the connection is ending; the caller will see it.
            let _ = self.out.send(Outgoing::packet(okay)).await;
            Some(chunk)
        }
    }
}

/// The host sent fewer bytes than a request needs (its stream closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stream ended inside a message")]
pub struct Eof;

/// Reads a chunked stream as plain bytes: a request may span WRTE packets, and one WRTE
/// may carry several requests (adb pipelines small pushes).
pub struct ByteReader<S> {
    src: S,
    cur: Vec<u8>,
    pos: usize,
}

impl<S: ChunkSource> ByteReader<S> {
    pub fn new(src: S) -> Self {
        ByteReader {
            src,
            cur: Vec::new(),
            pos: 0,
        }
    }

    /// True when at least one unread byte is available (waiting for it if needed);
    /// false once the source has ended.
    pub async fn fill(&mut self) -> bool {
        while self.pos >= self.cur.len() {
            match self.src.next_chunk().await {
                Some(c) => {
                    self.cur = c;
                    self.pos = 0;
                }
                None => return false,
            }
        }
        true
    }

    /// Up to `max` bytes, without copying across chunk boundaries.
    pub async fn read_some(&mut self, max: usize) -> Result<&[u8], Eof> {
        if !self.fill().await {
            return Err(Eof);
        }
        let end = self.cur.len().min(self.pos + max);
        let s = &self.cur[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub async fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, Eof> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let want = n - out.len();
            out.extend_from_slice(self.read_some(want).await?);
        }
        Ok(out)
    }

    pub async fn read_u32(&mut self) -> Result<u32, Eof> {
        let mut w = [0u8; 4];
        let b = self.read_exact(4).await?;
        w.copy_from_slice(&b);
        Ok(u32::from_le_bytes(w))
    }

    pub async fn read_u8(&mut self) -> Result<u8, Eof> {
        Ok(self.read_some(1).await?[0])
    }
}

/// Bytes from a service to the host.
pub struct StreamOutput {
    out: OutTx,
    local: u32,
    remote: u32,
    max_payload: usize,
    okay_rx: mpsc::Receiver<()>,
    in_flight: bool,
    pending: Vec<u8>,
}

impl StreamOutput {
    pub fn new(
        out: OutTx,
        okay_rx: mpsc::Receiver<()>,
        local: u32,
        remote: u32,
        max_payload: usize,
    ) -> Self {
        StreamOutput {
            out,
            local,
            remote,
            max_payload,
            okay_rx,
            in_flight: false,
            pending: Vec::new(),
        }
    }

    pub fn max_payload(&self) -> usize {
        self.max_payload
    }

    /// Queues bytes; full WRTE packets go out as they fill.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), Closed> {
        while !data.is_empty() {
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(self.max_payload);
            }
            let room = self.max_payload - self.pending.len();
            let n = room.min(data.len());
            self.pending.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.pending.len() == self.max_payload {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Sends what is queued as one WRTE (after the previous one's OKAY).
    pub async fn flush(&mut self) -> Result<(), Closed> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.pending);
        self.send_wrte(data).await
    }

    /// `data` as WRTE packets of its own, not merged with neighbours (shell v2 packets:
    /// naive clients expect one per WRTE when it fits).
    pub async fn write_separate(&mut self, data: &[u8]) -> Result<(), Closed> {
        self.flush().await?;
        for piece in data.chunks(self.max_payload) {
            self.send_wrte(piece.to_vec()).await?;
        }
        Ok(())
    }

    async fn send_wrte(&mut self, data: Vec<u8>) -> Result<(), Closed> {
        self.wait_okay().await?;
        let p = Packet::new(A_WRTE, self.local, self.remote, data);
        self.out
            .send(Outgoing::packet(p))
            .await
            .map_err(|_| Closed)?;
        self.in_flight = true;
        Ok(())
    }

    async fn wait_okay(&mut self) -> Result<(), Closed> {
        if self.in_flight {
            self.okay_rx.recv().await.ok_or(Closed)?;
            self.in_flight = false;
        }
        Ok(())
    }

    /// Flushes and waits until the host has taken everything: adbd only notices a
    /// service's end after its last WRTE is acknowledged, so CLSE never overtakes data.
    pub async fn finish(&mut self) -> Result<(), Closed> {
        self.flush().await?;
        self.wait_okay().await
    }

    /// Returns once everything sent so far (this stream's OKAY included) is on the wire.
    pub async fn on_the_wire(&mut self) -> Result<(), Closed> {
        self.flush().await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.out
            .send(Outgoing::Flushed(tx))
            .await
            .map_err(|_| Closed)?;
        rx.await.map_err(|_| Closed)
    }

    /// Sends what is queued, then has the connection closed under the host's feet.
    pub async fn flush_and_kill(&mut self) -> Result<(), Closed> {
        self.flush().await?;
        self.out.send(Outgoing::Kill).await.map_err(|_| Closed)
    }
}
