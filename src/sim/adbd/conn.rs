//! One TCP connection from a host: the CNXN handshake, the table of open streams, the
//! writer task, and the things that end a connection — the host, the phone's link going
//! down, a fault, a hostile packet, the simulator shutting down.
//!
//! Knows packets and stream ids; hands each opened service to [`super::services`] and
//! never interprets service bytes itself.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::auth::{
    AUTH_RSAPUBLICKEY, AUTH_SIGNATURE, AUTH_TOKEN, HostKey, MAX_AUTH_PAYLOAD, TOKEN_SIZE,
    new_token, signed_by_any,
};
use super::link::LinkClock;
use super::packet::{
    A_AUTH, A_CLSE, A_CNXN, A_OKAY, A_OPEN, A_VERSION, A_WRTE, Decoder, MAX_PAYLOAD, Packet,
    command_name,
};
use super::services::{self, Service};
use super::stream::{OutTx, Outgoing, StreamInput, StreamOutput};
use crate::sim::device::{Authorization, Device, Link};

/// The smallest payload any ADB peer handles (protocol v1); a host announcing less is
/// treated as if it said this, so a zero can never make an empty-WRTE loop.
const MIN_PAYLOAD: usize = 4096;
/// Host WRTEs a stream may have queued before its service takes them. adb keeps one in
/// flight; more than this means the peer ignores the protocol.
const INPUT_QUEUE: usize = 8;
/// Streams one connection may hold open; beyond it OPENs are refused (hostile peers).
const MAX_STREAMS: usize = 1024;
/// How often a stalled connection looks whether the stall was lifted.
const STALL_POLL: Duration = Duration::from_millis(100);
/// How often a host waiting at "Allow USB debugging?" looks whether the user answered.
const PROMPT_POLL: Duration = Duration::from_millis(100);
/// Wrong signatures one connection may send. adb sends one per key it holds; adbd slows
/// down past 256, we close instead (no peer that speaks adb gets there).
const MAX_FAILED_SIGNATURES: u32 = 256;

/// What services share about the connection they run on.
pub struct ConnCtx {
    pub device: Arc<dyn Device>,
    pub serial: String,
    /// Bytes of sync RECV file data sent on this connection, for the drop fault.
    pub sync_sent: AtomicU64,
}

/// A stream the host opened and has not closed.
struct StreamEntry {
    remote: u32,
    input: mpsc::Sender<Vec<u8>>,
    okay: mpsc::Sender<()>,
    task: AbortHandle,
}

/// Where the connection is in its handshake.
enum Phase {
    /// Waiting for the host's CNXN.
    Connecting,
    /// `AUTH(TOKEN)` sent: waiting for a signature, or for the user to answer the prompt
    /// about `prompt`, the public key the host sent.
    Authenticating {
        token: [u8; TOKEN_SIZE],
        failures: u32,
        prompt: Option<HostKey>,
    },
    /// CNXN sent: streams may be opened.
    Online,
}

/// Why a connection ended; hostile reasons are logged as warnings.
enum End {
    Quiet(&'static str),
    Hostile(String),
}

struct Conn {
    ctx: Arc<ConnCtx>,
    peer: SocketAddr,
    out: OutTx,
    streams: HashMap<u32, StreamEntry>,
    /// Ids below this were handed out on this connection: packets for such an id that is
    /// no longer open are late (the stream just closed) and ignored, as adbd does; ids at
    /// or above it were never opened, and a peer using them is not speaking ADB.
    next_id: u32,
    max_payload: usize,
    phase: Phase,
    tasks: JoinSet<()>,
    closed_tx: mpsc::UnboundedSender<u32>,
}

/// Runs one connection to its end. Every way it ends closes only this socket.
pub async fn run(
    socket: TcpStream,
    peer: SocketAddr,
    device: Arc<dyn Device>,
    shutdown: CancellationToken,
) {
    let serial = device.serial();
    let mut link = device.link();
    let end = tokio::select! {
        end = serve_conn(socket, peer, device) => end,
        _ = shutdown.cancelled() => End::Quiet("simulator shutting down"),
        _ = link_lost(&mut link) => End::Quiet("link down"),
    };
    match end {
        End::Quiet(why) => tracing::debug!(serial, %peer, "adb connection closed: {why}"),
        End::Hostile(why) => {
            tracing::warn!(serial, %peer, "closing adb connection on hostile input: {why}")
        }
    }
}

/// Resolves once the phone's link is not `Up` (or its watch is gone).
async fn link_lost(link: &mut watch::Receiver<Link>) {
    loop {
        if *link.borrow_and_update() != Link::Up {
            return;
        }
        if link.changed().await.is_err() {
            return;
        }
    }
}

/// Holds the connection without reading or writing while the stall fault is on.
async fn stall_while_set(device: &dyn Device) {
    while device.faults().stall {
        tokio::time::sleep(STALL_POLL).await;
    }
}

async fn serve_conn(socket: TcpStream, peer: SocketAddr, device: Arc<dyn Device>) -> End {
    if *device.link().borrow() != Link::Up {
        return End::Quiet("link not up");
    }
    stall_while_set(device.as_ref()).await;
    let (mut rd, wr) = socket.into_split();
    let (out, out_rx) = mpsc::channel(64);
    let killed = CancellationToken::new();
    let writer = tokio::spawn(write_loop(wr, out_rx, killed.clone(), device.clone()));
    let _writer_guard = AbortOnDrop(writer.abort_handle());
    let (closed_tx, mut closed_rx) = mpsc::unbounded_channel();
    let mut conn = Conn {
        ctx: Arc::new(ConnCtx {
            serial: device.serial(),
            device,
            sync_sent: AtomicU64::new(0),
        }),
        peer,
        out,
        streams: HashMap::new(),
        next_id: 1,
        max_payload: MIN_PAYLOAD,
        phase: Phase::Connecting,
        tasks: JoinSet::new(),
        closed_tx,
    };
    let mut decoder = Decoder::new(MAX_PAYLOAD);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        if conn.ctx.device.faults().stall {
            stall_while_set(conn.ctx.device.as_ref()).await;
        }
        tokio::select! {
            _ = killed.cancelled() => return End::Quiet("closed by fault or write error"),
            Some(local) = closed_rx.recv() => conn.service_ended(local).await,
            Some(_) = conn.tasks.join_next(), if !conn.tasks.is_empty() => {}
            _ = tokio::time::sleep(PROMPT_POLL), if conn.prompting() => {
                if let Err(end) = conn.answer_prompt().await {
                    return end;
                }
            }
            read = rd.read(&mut buf) => {
                let n = match read {
                    Ok(0) => return End::Quiet("host closed"),
                    Ok(n) => n,
                    Err(_) => return End::Quiet("read error"),
                };
                ack_at_once(&rd);
                decoder.feed(&buf[..n]);
                loop {
                    match decoder.next_packet() {
                        Ok(Some(p)) => {
                            if let Err(end) = conn.handle(p).await {
                                return end;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => return End::Hostile(e.to_string()),
                    }
                }
            }
        }
    }
}

/// Waits until `at`, to within tens of microseconds. tokio's timer rounds a sleep up to
/// the next whole millisecond, which would add up to 1 ms to every simulated round trip
/// — twice the modelled USB latency, charged to every request that waits for its answer
/// (`adb pull`, once per file) and not to a pipeline. A blocking thread's sleep is
/// exact, and costs no CPU while it waits.
async fn arrive_at(at: std::time::Instant) {
    if at <= std::time::Instant::now() {
        return;
    }
    let _ = tokio::task::spawn_blocking(move || {
        std::thread::sleep(at.saturating_duration_since(std::time::Instant::now()));
    })
    .await;
}

/// USB acknowledges every transfer at once. TCP delays its ACK (up to 40 ms) when it has
/// nothing to send back, and the adb server, which does not disable Nagle on its
/// transport sockets, then holds its next small packet until that ACK: a `RECV` queued
/// behind an `OKAY` waited 40 ms per file in `adb pull` over the simulator. Quick-ack
/// is not sticky in Linux, hence after every read.
fn ack_at_once(rd: &tokio::net::tcp::OwnedReadHalf) {
    #[cfg(target_os = "linux")]
    let _ = socket2::SockRef::from(rd.as_ref()).set_tcp_quickack(true);
    #[cfg(not(target_os = "linux"))]
    let _ = rd;
}

struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Puts packets on the socket in order, batching whatever is queued into one flush, each
/// no earlier than the phone's link would have carried it ([`LinkClock`]).
async fn write_loop(
    wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Outgoing>,
    killed: CancellationToken,
    device: Arc<dyn Device>,
) {
    let mut w = BufWriter::with_capacity(128 * 1024, wr);
    let mut clock = LinkClock::default();
    while let Some(first) = rx.recv().await {
        // Read per batch so a test can change the link while the phone runs.
        let cost = device.faults().link;
        let mut item = Some(first);
        while let Some(next) = item {
            let ok = match next {
                Outgoing::Packet(p, queued) => {
                    let mut ok = true;
                    if !cost.is_free() {
                        let at = clock.arrival(&cost, queued, p.data.len());
                        if at > std::time::Instant::now() {
                            // What is already written has arrived; only this packet waits.
                            ok = w.flush().await.is_ok();
                            arrive_at(at).await;
                        }
                    }
                    ok && w.write_all(&p.header()).await.is_ok()
                        && w.write_all(&p.data).await.is_ok()
                }
                Outgoing::Flushed(done) => {
                    let ok = w.flush().await.is_ok();
                    let _ = done.send(());
                    ok
                }
                Outgoing::Kill => {
                    let _ = w.flush().await;
                    let _ = w.shutdown().await;
                    killed.cancel();
                    return;
                }
            };
            if !ok {
                killed.cancel();
                return;
            }
            item = rx.try_recv().ok();
        }
        if w.flush().await.is_err() {
            killed.cancel();
            return;
        }
    }
}

impl Conn {
    async fn send(&self, p: Packet) -> Result<(), End> {
        self.out
            .send(Outgoing::packet(p))
            .await
            .map_err(|_| End::Quiet("writer gone"))
    }

    async fn handle(&mut self, p: Packet) -> Result<(), End> {
        match (&self.phase, p.command) {
            (Phase::Online, _) => {}
            (_, A_CNXN) => return self.connect(&p).await,
            (Phase::Authenticating { .. }, A_AUTH) => return self.auth(p).await,
            (Phase::Authenticating { .. }, other) => {
                return Err(End::Hostile(format!(
                    "{} before the host is authorized",
                    command_name(other)
                )));
            }
            (Phase::Connecting, other) => {
                return Err(End::Hostile(format!("{} before CNXN", command_name(other))));
            }
        }
        match p.command {
            A_CNXN => {
                // A host that reconnects on the same socket resets the transport: adbd
                // drops every stream and answers the handshake again.
                for (_, s) in self.streams.drain() {
                    s.task.abort();
                }
                self.connect(&p).await
            }
            // The host is authorized already; a late AUTH (a signature racing our CNXN)
            // changes nothing, as in adbd.
            A_AUTH => Ok(()),
            A_OPEN => self.open(p).await,
            A_OKAY => {
                let remote = p.arg0;
                if let Some(s) = self.stream_for(p.arg1, remote, "OKAY")? {
                    // Capacity one: a second OKAY before our next WRTE changes nothing.
                    let _ = s.okay.try_send(());
                }
                Ok(())
            }
            A_WRTE => {
                let (local, remote) = (p.arg1, p.arg0);
                let Some(s) = self.stream_for(local, remote, "WRTE")? else {
                    return Ok(());
                };
                match s.input.try_send(p.data) {
                    Ok(()) => Ok(()),
                    // The service already ended; its CLSE is on the way.
                    Err(mpsc::error::TrySendError::Closed(_)) => Ok(()),
                    Err(mpsc::error::TrySendError::Full(_)) => Err(End::Hostile(format!(
                        "more than {INPUT_QUEUE} unacknowledged WRTEs on stream {local}"
                    ))),
                }
            }
            A_CLSE => {
                let local = p.arg1;
                if local == 0 || local >= self.next_id {
                    return Err(End::Hostile(format!("CLSE for unknown stream {local}")));
                }
                // arg0 may be 0 here: old hosts closed that way (adbd accepts it).
                let matches = self
                    .streams
                    .get(&local)
                    .is_some_and(|s| p.arg0 == 0 || s.remote == p.arg0);
                if matches {
                    if let Some(s) = self.streams.remove(&local) {
                        s.task.abort();
                        self.send(Packet::new(A_CLSE, local, s.remote, Vec::new()))
                            .await?;
                    }
                }
                Ok(())
            }
            other => Err(End::Hostile(format!(
                "unknown command {}",
                command_name(other)
            ))),
        }
    }

    /// The open stream `local`, `None` for one that closed a moment ago, an error for one
    /// this connection never opened or whose host id does not match.
    fn stream_for(&self, local: u32, remote: u32, what: &str) -> Result<Option<&StreamEntry>, End> {
        if local == 0 || local >= self.next_id {
            return Err(End::Hostile(format!("{what} to unknown stream {local}")));
        }
        match self.streams.get(&local) {
            Some(s) if s.remote != remote => Err(End::Hostile(format!(
                "{what} to stream {local} with host id {remote}, expected {}",
                s.remote
            ))),
            found => Ok(found),
        }
    }

    /// The host's CNXN: online at once on an open phone, else the AUTH challenge (adbd
    /// answers a CNXN on a live connection the same way, so a reset re-authenticates).
    async fn connect(&mut self, p: &Packet) -> Result<(), End> {
        self.max_payload = (p.arg1 as usize).clamp(MIN_PAYLOAD, MAX_PAYLOAD);
        if self.ctx.device.authorization() == Authorization::Open {
            return self.go_online().await;
        }
        self.phase = Phase::Authenticating {
            token: [0; TOKEN_SIZE],
            failures: 0,
            prompt: None,
        };
        self.send_token().await
    }

    /// A fresh `AUTH(TOKEN)`: the first challenge, and the answer to a wrong signature.
    async fn send_token(&mut self) -> Result<(), End> {
        let fresh = new_token();
        if let Phase::Authenticating { token, .. } = &mut self.phase {
            *token = fresh;
        }
        self.send(Packet::new(A_AUTH, AUTH_TOKEN, 0, fresh.to_vec()))
            .await
    }

    async fn auth(&mut self, p: Packet) -> Result<(), End> {
        if p.data.len() > MAX_AUTH_PAYLOAD {
            return Err(End::Hostile(format!(
                "AUTH payload of {} bytes",
                p.data.len()
            )));
        }
        match p.arg0 {
            AUTH_SIGNATURE => {
                let Phase::Authenticating {
                    token, failures, ..
                } = &mut self.phase
                else {
                    return Ok(());
                };
                if signed_by_any(&self.ctx.device.adb_keys(), token, &p.data) {
                    tracing::debug!(serial = self.ctx.serial, peer = %self.peer, "host key accepted");
                    return self.go_online().await;
                }
                *failures += 1;
                if *failures > MAX_FAILED_SIGNATURES {
                    return Err(End::Hostile(format!(
                        "more than {MAX_FAILED_SIGNATURES} wrong AUTH signatures"
                    )));
                }
                self.send_token().await
            }
            AUTH_RSAPUBLICKEY => {
                let key = HostKey::parse(&p.data)
                    .map_err(|e| End::Hostile(format!("AUTH(RSAPUBLICKEY): {e}")))?;
                tracing::info!(serial = self.ctx.serial, peer = %self.peer, "showing \"Allow USB debugging?\"");
                if let Phase::Authenticating { prompt, .. } = &mut self.phase {
                    *prompt = Some(key);
                }
                self.answer_prompt().await
            }
            other => Err(End::Hostile(format!("AUTH of unknown type {other}"))),
        }
    }

    /// Whether the "Allow USB debugging?" prompt is up for this host.
    fn prompting(&self) -> bool {
        matches!(
            self.phase,
            Phase::Authenticating {
                prompt: Some(_),
                ..
            }
        )
    }

    /// Looks at what the user did with the prompt: accepted (or authorization turned
    /// off) lets the host online, accepting also remembers its key; else it waits.
    async fn answer_prompt(&mut self) -> Result<(), End> {
        let Phase::Authenticating {
            prompt: Some(key), ..
        } = &self.phase
        else {
            return Ok(());
        };
        match self.ctx.device.authorization() {
            Authorization::Prompt { accept: false } => Ok(()),
            Authorization::Prompt { accept: true } => {
                self.ctx.device.remember_key(key.line());
                self.go_online().await
            }
            Authorization::Open => self.go_online().await,
        }
    }

    async fn go_online(&mut self) -> Result<(), End> {
        self.phase = Phase::Online;
        let banner = self.ctx.device.banner().into_bytes();
        tracing::debug!(serial = self.ctx.serial, peer = %self.peer, max_payload = self.max_payload, "adb host connected");
        self.send(Packet::new(
            A_CNXN,
            A_VERSION,
            self.max_payload as u32,
            banner,
        ))
        .await
    }

    async fn open(&mut self, p: Packet) -> Result<(), End> {
        let remote = p.arg0;
        if remote == 0 {
            return Err(End::Hostile("OPEN with host id 0".into()));
        }
        let name_bytes = p.data.strip_suffix(&[0]).unwrap_or(&p.data);
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        self.ctx.device.record(&name);
        let service = services::parse(&name);
        let Some(service) = service.filter(|_| self.streams.len() < MAX_STREAMS) else {
            tracing::debug!(serial = self.ctx.serial, service = name, "refusing service");
            return self.send(Packet::new(A_CLSE, 0, remote, Vec::new())).await;
        };
        let local = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let (in_tx, in_rx) = mpsc::channel(INPUT_QUEUE);
        let (okay_tx, okay_rx) = mpsc::channel(1);
        // OKAY goes out before the service can produce its first WRTE.
        self.send(Packet::new(A_OKAY, local, remote, Vec::new()))
            .await?;
        let input = StreamInput::new(in_rx, self.out.clone(), local, remote);
        let output = StreamOutput::new(self.out.clone(), okay_rx, local, remote, self.max_payload);
        let ctx = self.ctx.clone();
        let closed = self.closed_tx.clone();
        let task = self.tasks.spawn(async move {
            run_service(service, ctx, input, output).await;
            let _ = closed.send(local);
        });
        self.streams.insert(
            local,
            StreamEntry {
                remote,
                input: in_tx,
                okay: okay_tx,
                task,
            },
        );
        Ok(())
    }

    /// A service finished on its own: close its stream from our side.
    async fn service_ended(&mut self, local: u32) {
        if let Some(s) = self.streams.remove(&local) {
            let _ = self
                .send(Packet::new(A_CLSE, local, s.remote, Vec::new()))
                .await;
        }
    }
}

async fn run_service(
    service: Service,
    ctx: Arc<ConnCtx>,
    input: StreamInput,
    output: StreamOutput,
) {
    services::run(service, ctx, input, output).await;
}
