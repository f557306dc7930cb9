//! The `sync:` service: file transfer as adbd does it (FACTS.md §1). Requests are
//! `id(4) + u32 LE length + path`; the stream is read as plain bytes, so a request may
//! span WRTE packets and one packet may carry several (adb pipelines small pushes).
//!
//! Device paths reach host files only through [`Device::resolve`]; which files exist and
//! which are readable is the phone's business. File data is streamed in 64 KiB chunks
//! and never held whole in memory.
//!
//! [`Device::resolve`]: crate::sim::device::Device::resolve

use std::fs::Metadata;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use thiserror::Error;
use tokio::sync::mpsc;

use super::conn::ConnCtx;
use super::stream::{ByteReader, ChunkSource, Closed, Eof, StreamOutput};
use crate::exit::{Exit, HasExit};

/// Largest DATA chunk either side sends (adb's SYNC_DATA_MAX).
pub const SYNC_DATA_MAX: usize = 64 * 1024;
/// Longest path a request may carry.
pub const MAX_PATH: usize = 1024;

/// How often a stalled transfer looks whether the stall was lifted.
const STALL_POLL: Duration = Duration::from_millis(100);
const ENOENT: i32 = 2;
const EIO: i32 = 5;
const EACCES: i32 = 13;
const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;

/// A sync request, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `STAT`: v1 stat, which adbd answers with lstat.
    Stat(String),
    Sta2(String),
    Lst2(String),
    List(String),
    Lis2(String),
    Recv(String),
    /// `SEND path,mode`, followed by DATA… DONE.
    Send(String),
    Quit,
}

/// One piece of a SEND body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendPiece {
    Data(Vec<u8>),
    Done { mtime: u32 },
}

/// What ends a sync session with a FAIL message (texts as adbd words them).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SyncError {
    #[error("path too long")]
    PathTooLong,
    #[error("unknown command {0:08x}")]
    Unknown(u32),
    #[error("invalid data message")]
    InvalidData,
    #[error("oversize data message")]
    OversizeData,
    /// The host's stream ended inside a message: nothing to answer.
    #[error("stream ended inside a request")]
    Eof,
}

impl HasExit for SyncError {
    fn exit(&self) -> Exit {
        Exit::Other
    }
}

impl From<Eof> for SyncError {
    fn from(_: Eof) -> Self {
        SyncError::Eof
    }
}

/// The next request, `Ok(None)` when the host ended the stream between requests.
pub async fn read_request<S: ChunkSource>(
    r: &mut ByteReader<S>,
) -> Result<Option<Request>, SyncError> {
    if !r.fill().await {
        return Ok(None);
    }
    let id = r.read_u32().await?;
    let len = r.read_u32().await? as usize;
    if len > MAX_PATH {
        return Err(SyncError::PathTooLong);
    }
    let path = String::from_utf8_lossy(&r.read_exact(len).await?).into_owned();
    Ok(Some(match &id.to_le_bytes() {
        b"STAT" => Request::Stat(path),
        b"STA2" => Request::Sta2(path),
        b"LST2" => Request::Lst2(path),
        b"LIST" => Request::List(path),
        b"LIS2" => Request::Lis2(path),
        b"RECV" => Request::Recv(path),
        b"SEND" => Request::Send(path),
        b"QUIT" => Request::Quit,
        _ => return Err(SyncError::Unknown(id)),
    }))
}

/// The next DATA or DONE of a SEND.
pub async fn read_send_piece<S: ChunkSource>(
    r: &mut ByteReader<S>,
) -> Result<SendPiece, SyncError> {
    let id = r.read_u32().await?;
    let len = r.read_u32().await?;
    match &id.to_le_bytes() {
        b"DONE" => Ok(SendPiece::Done { mtime: len }),
        b"DATA" if len as usize > SYNC_DATA_MAX => Err(SyncError::OversizeData),
        b"DATA" => Ok(SendPiece::Data(r.read_exact(len as usize).await?)),
        _ => Err(SyncError::InvalidData),
    }
}

/// What the request reader passes to the part that answers.
enum Incoming {
    Request(Request),
    Piece(SendPiece),
    /// A request that ends the session with a FAIL.
    Bad(SyncError),
    /// A SEND body that is malformed or cut (`Eof`).
    BadPiece(SyncError),
}

/// Requests read ahead of the answers. adbd's sync thread reads requests from its socket
/// as it gets to them; the host's pipelined requests wait there meanwhile.
const REQUEST_QUEUE: usize = 64;

/// Runs one sync session until QUIT, the end of the stream, or a failure (after which
/// adbd closes the session too).
///
/// Requests are read by their own future, so the answering side knows whether the host
/// has already sent its next request. Only when it has not is the answer flushed as a
/// WRTE of its own: with pipelined requests, answers follow each other in full-size
/// packets, as they do from adbd, whose sync thread writes answers into a socket that
/// the transport drains in packets of the negotiated size, never one per file.
pub async fn serve<S: ChunkSource>(
    ctx: &ConnCtx,
    r: ByteReader<S>,
    out: &mut StreamOutput,
) -> Result<(), Closed> {
    let (tx, mut rx) = mpsc::channel(REQUEST_QUEUE);
    let reader = read_requests(r, tx);
    let answers = answer(ctx, &mut rx, out);
    tokio::pin!(reader, answers);
    let mut reading = true;
    loop {
        tokio::select! {
            // When the answers end the session, requests still unread do not matter.
            res = &mut answers => return res,
            _ = &mut reader, if reading => reading = false,
        }
    }
}

async fn read_requests<S: ChunkSource>(mut r: ByteReader<S>, tx: mpsc::Sender<Incoming>) {
    loop {
        let req = match read_request(&mut r).await {
            Ok(Some(req)) => req,
            Ok(None) | Err(SyncError::Eof) => return,
            Err(e) => {
                let _ = tx.send(Incoming::Bad(e)).await;
                return;
            }
        };
        let body = matches!(req, Request::Send(_));
        let quit = matches!(req, Request::Quit);
        if tx.send(Incoming::Request(req)).await.is_err() || quit {
            return;
        }
        if !body {
            continue;
        }
        loop {
            let (msg, more) = match read_send_piece(&mut r).await {
                Ok(p @ SendPiece::Data(_)) => (Incoming::Piece(p), true),
                Ok(p @ SendPiece::Done { .. }) => (Incoming::Piece(p), false),
                Err(e) => {
                    let _ = tx.send(Incoming::BadPiece(e)).await;
                    return;
                }
            };
            if tx.send(msg).await.is_err() {
                return;
            }
            if !more {
                break;
            }
        }
    }
}

/// The next thing the host sent. Before waiting for the host, everything answered so
/// far goes out: the host may be waiting for it.
async fn next_incoming(
    rx: &mut mpsc::Receiver<Incoming>,
    out: &mut StreamOutput,
) -> Result<Option<Incoming>, Closed> {
    match rx.try_recv() {
        Ok(m) => Ok(Some(m)),
        Err(mpsc::error::TryRecvError::Disconnected) => Ok(None),
        Err(mpsc::error::TryRecvError::Empty) => {
            out.flush().await?;
            Ok(rx.recv().await)
        }
    }
}

async fn answer(
    ctx: &ConnCtx,
    rx: &mut mpsc::Receiver<Incoming>,
    out: &mut StreamOutput,
) -> Result<(), Closed> {
    loop {
        let req = match next_incoming(rx, out).await? {
            Some(Incoming::Request(Request::Quit)) | None => break,
            Some(Incoming::Request(req)) => req,
            Some(Incoming::Bad(e)) => {
                out.write(&fail(&e.to_string())).await?;
                break;
            }
            // The reader sends pieces only after a SEND, which `send` consumes.
            Some(Incoming::Piece(_) | Incoming::BadPiece(_)) => break,
        };
        let go_on = match req {
            Request::Stat(p) => {
                let st = lookup(ctx, &p, false).await;
                out.write(&stat_v1(st.as_ref().ok())).await?;
                true
            }
            Request::Sta2(p) => {
                out.write(&stat_v2(*b"STA2", &lookup(ctx, &p, true).await))
                    .await?;
                true
            }
            Request::Lst2(p) => {
                out.write(&stat_v2(*b"LST2", &lookup(ctx, &p, false).await))
                    .await?;
                true
            }
            Request::List(p) => list(ctx, &p, false, out).await?,
            Request::Lis2(p) => list(ctx, &p, true, out).await?,
            Request::Recv(p) => recv(ctx, &p, out).await?,
            Request::Send(spec) => send(ctx, &spec, rx, out).await?,
            Request::Quit => false,
        };
        if !go_on {
            break;
        }
    }
    out.finish().await
}

/// `FAIL` + length + message.
pub fn fail(msg: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + msg.len());
    v.extend_from_slice(b"FAIL");
    v.extend_from_slice(&(msg.len() as u32).to_le_bytes());
    v.extend_from_slice(msg.as_bytes());
    v
}

/// `strerror` text for an errno, as adbd puts it into FAIL messages.
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(EIO)
}

/// Runs blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

/// stat (`follow`) or lstat of a device path.
async fn lookup(ctx: &ConnCtx, device_path: &str, follow: bool) -> Result<Metadata, i32> {
    let host = ctx.device.resolve(device_path)?;
    blocking(move || {
        let m = if follow {
            std::fs::metadata(&host)
        } else {
            std::fs::symlink_metadata(&host)
        };
        m.map_err(|e| errno_of(&e))
    })
    .await
    .unwrap_or(Err(EIO))
}

fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}

fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// v1 STAT answer: mode, size, mtime as u32 (all zero when missing).
pub fn stat_v1(m: Option<&Metadata>) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    v.extend_from_slice(b"STAT");
    let (mode, size, mtime) =
        m.map_or((0, 0, 0), |m| (m.mode(), m.size() as u32, m.mtime() as u32));
    put32(&mut v, mode);
    put32(&mut v, size);
    put32(&mut v, mtime);
    v
}

/// The stat_v2 body shared by STA2/LST2 answers and DNT2 entries (everything after id).
fn stat_v2_body(v: &mut Vec<u8>, m: &Result<Metadata, i32>) {
    match m {
        Ok(m) => {
            put32(v, 0);
            put64(v, m.dev());
            put64(v, m.ino());
            put32(v, m.mode());
            put32(v, m.nlink() as u32);
            put32(v, m.uid());
            put32(v, m.gid());
            put64(v, m.size());
            put64(v, m.atime() as u64);
            put64(v, m.mtime() as u64);
            put64(v, m.ctime() as u64);
        }
        Err(errno) => {
            put32(v, *errno as u32);
            v.extend_from_slice(&[0u8; 64]);
        }
    }
}

/// STA2/LST2 answer: 72 bytes.
pub fn stat_v2(id: [u8; 4], m: &Result<Metadata, i32>) -> Vec<u8> {
    let mut v = Vec::with_capacity(72);
    v.extend_from_slice(&id);
    stat_v2_body(&mut v, m);
    v
}

/// One LIST (`DENT`) or LIS2 (`DNT2`) entry.
pub fn dent(v2: bool, m: &Result<Metadata, i32>, name: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(76 + name.len());
    if v2 {
        v.extend_from_slice(b"DNT2");
        stat_v2_body(&mut v, m);
    } else {
        v.extend_from_slice(b"DENT");
        let m = m.as_ref().ok();
        v.extend_from_slice(&stat_v1(m)[4..]);
    }
    put32(&mut v, name.len() as u32);
    v.extend_from_slice(name);
    v
}

/// The DONE that ends a listing: a zeroed entry of the listing's size.
pub fn list_done(v2: bool) -> Vec<u8> {
    let mut v = vec![0u8; if v2 { 76 } else { 20 }];
    v[..4].copy_from_slice(b"DONE");
    v
}

/// LIST/LIS2: every entry with its lstat, `.` and `..` included as readdir gives them;
/// an unreadable directory is an empty listing.
async fn list(ctx: &ConnCtx, path: &str, v2: bool, out: &mut StreamOutput) -> Result<bool, Closed> {
    let entries = match ctx.device.resolve(path) {
        Ok(dir) => {
            let parent = parent_device_path(path).and_then(|p| ctx.device.resolve(&p).ok());
            blocking(move || read_listing(&dir, parent.as_deref()))
                .await
                .unwrap_or_default()
        }
        Err(_) => Vec::new(),
    };
    for (name, meta) in &entries {
        if v2 || meta.is_ok() {
            out.write(&dent(v2, meta, name)).await?;
        }
    }
    out.write(&list_done(v2)).await?;
    Ok(true)
}

type Listing = Vec<(Vec<u8>, Result<Metadata, i32>)>;

fn read_listing(dir: &Path, parent: Option<&Path>) -> Listing {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let lstat = |p: &Path| std::fs::symlink_metadata(p).map_err(|e| errno_of(&e));
    let mut out: Listing = vec![
        (b".".to_vec(), lstat(dir)),
        (b"..".to_vec(), lstat(parent.unwrap_or(dir))),
    ];
    for entry in rd.flatten() {
        let meta = lstat(&entry.path());
        out.push((entry.file_name().as_bytes().to_vec(), meta));
    }
    out
}

fn parent_device_path(path: &str) -> Option<String> {
    let trimmed = path.trim_end_matches('/');
    let (head, _) = trimmed.rsplit_once('/')?;
    Some(if head.is_empty() {
        "/".to_string()
    } else {
        head.to_string()
    })
}

/// Bytes the file reader hands over at once: several DATA chunks, so a 64 KiB chunk
/// does not cost a thread hand-off (and a zeroed allocation) of its own. Only how the
/// simulator reads its disk; the wire still carries 64 KiB DATA chunks.
const READ_BLOCK: usize = 4 * SYNC_DATA_MAX;

/// A file being read on a blocking thread, a few blocks ahead.
fn spawn_reader(file: std::fs::File) -> mpsc::Receiver<Result<Vec<u8>, i32>> {
    let (tx, rx) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        loop {
            // Not zeroed first: read_to_end fills spare capacity directly.
            let mut buf = Vec::with_capacity(READ_BLOCK);
            let res = std::io::Read::by_ref(&mut file)
                .take(READ_BLOCK as u64)
                .read_to_end(&mut buf);
            // Bytes read before an error still go out first, as a chunked read would.
            if !buf.is_empty() && tx.blocking_send(Ok(buf)).is_err() {
                return;
            }
            match res {
                Ok(n) if n < READ_BLOCK => return,
                Ok(_) => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(errno_of(&e)));
                    return;
                }
            }
        }
    });
    rx
}

/// RECV: DATA chunks then DONE, or FAIL (after which adbd ends the session).
async fn recv(ctx: &ConnCtx, path: &str, out: &mut StreamOutput) -> Result<bool, Closed> {
    let faults = ctx.device.faults();
    let opened = match ctx.device.resolve(path) {
        Err(errno) => Err(errno),
        Ok(_) if !ctx.device.readable(path) => Err(EACCES),
        Ok(host) => blocking(move || std::fs::File::open(host).map_err(|e| errno_of(&e)))
            .await
            .unwrap_or(Err(EIO)),
    };
    let file = match opened {
        Ok(f) => f,
        Err(errno) => {
            out.write(&fail(&format!("open failed: {}", strerror(errno))))
                .await?;
            return Ok(false);
        }
    };
    let mut blocks = spawn_reader(file);
    while let Some(block) = blocks.recv().await {
        let block = match block {
            Ok(d) => d,
            Err(errno) => {
                out.write(&fail(&format!("read failed: {}", strerror(errno))))
                    .await?;
                return Ok(false);
            }
        };
        for data in block.chunks(SYNC_DATA_MAX) {
            if ctx.device.faults().stall {
                // A stalled phone: the host's pull hangs with the socket open until the
                // fault is lifted or the connection ends.
                out.flush().await?;
                while ctx.device.faults().stall {
                    tokio::time::sleep(STALL_POLL).await;
                }
            }
            let before = ctx
                .sync_sent
                .fetch_add(data.len() as u64, Ordering::Relaxed);
            let mut header = [0u8; 8];
            header[..4].copy_from_slice(b"DATA");
            header[4..].copy_from_slice(&(data.len() as u32).to_le_bytes());
            if let Some(limit) = faults.drop_after_sync_bytes {
                if before + data.len() as u64 >= limit {
                    let keep = limit.saturating_sub(before) as usize;
                    out.write(&header).await?;
                    out.write(&data[..keep.min(data.len())]).await?;
                    out.flush_and_kill().await?;
                    std::future::pending::<()>().await;
                }
            }
            out.write(&header).await?;
            out.write(data).await?;
        }
    }
    let mut done = b"DONE".to_vec();
    put32(&mut done, 0);
    out.write(&done).await?;
    Ok(true)
}

/// Where a SEND failed, worded as adbd words its FAIL messages.
#[derive(Debug)]
enum SendFailure {
    Resolve(i32),
    Mkdirs(i32),
    Create(i32),
    Write(i32),
    Symlink(i32),
}

impl SendFailure {
    fn message(&self) -> String {
        match self {
            SendFailure::Resolve(e) | SendFailure::Create(e) => {
                format!("couldn't create file: {}", strerror(*e))
            }
            SendFailure::Mkdirs(e) => format!("secure_mkdirs failed: {}", strerror(*e)),
            SendFailure::Write(e) => format!("write failed: {}", strerror(*e)),
            SendFailure::Symlink(e) => format!("symlink failed: {}", strerror(*e)),
        }
    }
}

/// What the blocking writer is fed.
enum WriteMsg {
    Data(Vec<u8>),
    Done(u32),
}

/// SEND `path,mode`: DATA… DONE mtime, answered OKAY or FAIL. Parent directories are
/// created (`fixed_push_mkdir`); on failure the rest of the body is read and dropped so
/// the host sees the FAIL rather than a write error.
async fn send(
    ctx: &ConnCtx,
    spec: &str,
    incoming: &mut mpsc::Receiver<Incoming>,
    out: &mut StreamOutput,
) -> Result<bool, Closed> {
    let Some((path, mode)) = spec.rsplit_once(',') else {
        out.write(&fail("missing , in ID_SEND_V1")).await?;
        return Ok(false);
    };
    let Some(mode) = parse_mode(mode) else {
        out.write(&fail("bad mode")).await?;
        return Ok(false);
    };
    let target = ctx.device.resolve(path);
    let (tx, rx) = mpsc::channel::<WriteMsg>(4);
    let writer = tokio::task::spawn_blocking(move || write_file(target, mode, rx));
    let mut tx = Some(tx);
    loop {
        let piece = match next_incoming(incoming, out).await? {
            Some(Incoming::Piece(p)) => Ok(p),
            Some(Incoming::BadPiece(e)) => Err(e),
            Some(Incoming::Request(_) | Incoming::Bad(_)) | None => Err(SyncError::Eof),
        };
        match piece {
            Ok(SendPiece::Data(d)) => {
                if let Some(t) = &tx {
                    if t.send(WriteMsg::Data(d)).await.is_err() {
                        // The writer failed; keep draining until DONE.
                        tx = None;
                    }
                }
            }
            Ok(SendPiece::Done { mtime }) => {
                if let Some(t) = tx.take() {
                    let _ = t.send(WriteMsg::Done(mtime)).await;
                }
                break;
            }
            Err(SyncError::Eof) => return Ok(false),
            Err(e) => {
                drop(tx);
                let _ = writer.await;
                out.write(&fail(&e.to_string())).await?;
                return Ok(false);
            }
        }
    }
    drop(tx);
    match writer.await {
        Ok(Ok(())) => {
            let mut okay = b"OKAY".to_vec();
            put32(&mut okay, 0);
            out.write(&okay).await?;
            Ok(true)
        }
        Ok(Err(f)) => {
            out.write(&fail(&f.message())).await?;
            Ok(false)
        }
        Err(_) => {
            out.write(&fail(&format!("write failed: {}", strerror(EIO))))
                .await?;
            Ok(false)
        }
    }
}

/// adb sends the mode in decimal; adbd reads it with strtoul base 0.
fn parse_mode(s: &str) -> Option<u32> {
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

fn write_file(
    target: Result<PathBuf, i32>,
    mode: u32,
    mut rx: mpsc::Receiver<WriteMsg>,
) -> Result<(), SendFailure> {
    let path = target.map_err(SendFailure::Resolve)?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| SendFailure::Mkdirs(errno_of(&e)))?;
    }
    if mode & S_IFMT == S_IFLNK {
        return write_symlink(&path, &mut rx);
    }
    // adbd copies the owner's permission bits to group and other.
    let mut perm = mode & 0o777;
    perm |= (perm >> 3) & 0o070;
    perm |= (perm >> 3) & 0o007;
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() || m.file_type().is_symlink()) {
        let _ = std::fs::remove_file(&path);
    }
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(perm)
        .open(&path)
        .map_err(|e| SendFailure::Create(errno_of(&e)))?;
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, file);
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            WriteMsg::Data(d) => w
                .write_all(&d)
                .map_err(|e| SendFailure::Write(errno_of(&e)))?,
            WriteMsg::Done(mtime) => {
                let file = w
                    .into_inner()
                    .map_err(|e| SendFailure::Write(errno_of(e.error())))?;
                let when = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(mtime));
                let _ = file.set_modified(when);
                return Ok(());
            }
        }
    }
    // The host went away before DONE: leave no half file behind, as adbd unlinks it.
    drop(w);
    let _ = std::fs::remove_file(&path);
    Err(SendFailure::Write(EIO))
}

fn write_symlink(path: &Path, rx: &mut mpsc::Receiver<WriteMsg>) -> Result<(), SendFailure> {
    let mut target = Vec::new();
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            WriteMsg::Data(d) => target.extend_from_slice(&d),
            WriteMsg::Done(_) => {
                // The link text arrives NUL-terminated from adb.
                if let Some(end) = target.iter().position(|&b| b == 0) {
                    target.truncate(end);
                }
                let _ = std::fs::remove_file(path);
                let text = std::ffi::OsStr::from_bytes(&target);
                return std::os::unix::fs::symlink(text, path)
                    .map_err(|e| SendFailure::Symlink(errno_of(&e)));
            }
        }
    }
    Err(SendFailure::Symlink(ENOENT))
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    fn req(id: &[u8; 4], path: &str) -> Vec<u8> {
        let mut v = id.to_vec();
        v.extend_from_slice(&(path.len() as u32).to_le_bytes());
        v.extend_from_slice(path.as_bytes());
        v
    }

    fn data(bytes: &[u8]) -> Vec<u8> {
        let mut v = b"DATA".to_vec();
        v.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        v.extend_from_slice(bytes);
        v
    }

    /// A session as adb 29 pipelines it: a stat, a small push in one write, a list, quit.
    fn session() -> Vec<u8> {
        let mut w = req(b"STA2", "/sdcard/a b.txt");
        w.extend(req(b"SEND", "/sdcard/Download/x,33188"));
        w.extend(data(b"hello"));
        w.extend(data(&[7u8; 3000]));
        w.extend(b"DONE");
        w.extend(1_700_000_000u32.to_le_bytes());
        w.extend(req(b"LIS2", "/sdcard/DCIM"));
        w.extend(req(b"QUIT", ""));
        w
    }

    async fn parse_session(chunks: VecDeque<Vec<u8>>) -> Vec<String> {
        let mut r = ByteReader::new(chunks);
        let mut seen = Vec::new();
        while let Some(q) = read_request(&mut r).await.expect("valid session") {
            seen.push(format!("{q:?}"));
            if let Request::Send(_) = q {
                loop {
                    match read_send_piece(&mut r).await.expect("valid body") {
                        SendPiece::Data(d) => seen.push(format!("data {}", d.len())),
                        SendPiece::Done { mtime } => {
                            seen.push(format!("done {mtime}"));
                            break;
                        }
                    }
                }
            }
        }
        seen
    }

    #[tokio::test]
    async fn requests_parse_the_same_however_the_stream_is_cut() {
        let wire = session();
        let joined = parse_session(VecDeque::from([wire.clone()])).await;
        assert_eq!(
            joined,
            [
                "Sta2(\"/sdcard/a b.txt\")",
                "Send(\"/sdcard/Download/x,33188\")",
                "data 5",
                "data 3000",
                "done 1700000000",
                "Lis2(\"/sdcard/DCIM\")",
                "Quit",
            ]
        );
        for piece in [1, 3, 4, 7, 8, 9, 100, 1000] {
            let chunks = wire.chunks(piece).map(<[u8]>::to_vec).collect();
            assert_eq!(parse_session(chunks).await, joined, "piece size {piece}");
        }
    }

    #[tokio::test]
    async fn long_paths_and_unknown_ids_are_errors() {
        let long = "/".repeat(MAX_PATH + 1);
        let mut r = ByteReader::new(VecDeque::from([req(b"RECV", &long)]));
        assert_eq!(read_request(&mut r).await, Err(SyncError::PathTooLong));
        let mut r = ByteReader::new(VecDeque::from([req(b"XXXX", "/")]));
        assert!(matches!(
            read_request(&mut r).await,
            Err(SyncError::Unknown(_))
        ));
        assert_eq!(
            SyncError::Unknown(u32::from_le_bytes(*b"XXXX")).to_string(),
            "unknown command 58585858"
        );
    }

    #[tokio::test]
    async fn truncated_request_is_eof_and_empty_stream_is_none() {
        let mut r = ByteReader::new(VecDeque::from([b"STA2\x05\0\0\0/sd".to_vec()]));
        assert_eq!(read_request(&mut r).await, Err(SyncError::Eof));
        let mut r = ByteReader::new(VecDeque::<Vec<u8>>::new());
        assert_eq!(read_request(&mut r).await, Ok(None));
    }

    #[tokio::test]
    async fn oversize_and_foreign_send_pieces_are_refused() {
        let mut big = b"DATA".to_vec();
        big.extend(((SYNC_DATA_MAX + 1) as u32).to_le_bytes());
        let mut r = ByteReader::new(VecDeque::from([big]));
        assert_eq!(read_send_piece(&mut r).await, Err(SyncError::OversizeData));
        let mut r = ByteReader::new(VecDeque::from([req(b"STAT", "")]));
        assert_eq!(read_send_piece(&mut r).await, Err(SyncError::InvalidData));
    }

    #[test]
    fn answers_have_the_wire_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let m = std::fs::metadata(dir.path());
        let m = m.map_err(|_| 0);
        assert_eq!(stat_v1(m.as_ref().ok()).len(), 16);
        assert_eq!(stat_v2(*b"STA2", &m).len(), 72);
        assert_eq!(stat_v2(*b"LST2", &Err(ENOENT)).len(), 72);
        assert_eq!(&stat_v2(*b"LST2", &Err(ENOENT))[4..8], &2u32.to_le_bytes());
        assert_eq!(dent(false, &m, b"ab").len(), 20 + 2);
        assert_eq!(dent(true, &m, b"ab").len(), 76 + 2);
        assert_eq!(list_done(false).len(), 20);
        assert_eq!(list_done(true).len(), 76);
        assert_eq!(fail("x"), b"FAIL\x01\0\0\0x");
    }

    #[test]
    fn errno_texts_are_strerror() {
        assert_eq!(strerror(2), "No such file or directory");
        assert_eq!(strerror(13), "Permission denied");
    }

    #[test]
    fn modes_parse_like_strtoul_base_zero() {
        assert_eq!(parse_mode("33188"), Some(0o100_644));
        assert_eq!(parse_mode("0644"), Some(0o644));
        assert_eq!(parse_mode("0x1ff"), Some(0o777));
        assert_eq!(parse_mode("x"), None);
    }

    #[test]
    fn parents_of_device_paths() {
        assert_eq!(
            parent_device_path("/sdcard/DCIM").as_deref(),
            Some("/sdcard")
        );
        assert_eq!(parent_device_path("/sdcard/").as_deref(), Some("/"));
        assert_eq!(parent_device_path("rel"), None);
    }
}
