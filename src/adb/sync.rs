//! The sync service (FACTS.md §1): stat, list, recursive walk, receive (one file or many
//! pipelined) and send, all over one session. Replies are read as a byte stream — packet
//! boundaries mean nothing. A real adbd ends the session after refusing a RECV, so the
//! session reopens itself transparently when it has to.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::conn::Conn;
use super::device::Device;
use super::error::AdbError;

/// Longest path the protocol accepts.
pub const MAX_PATH: usize = 1024;
/// Largest DATA chunk adbd sends or accepts.
pub const MAX_CHUNK: usize = 64 * 1024;
/// RECV requests kept in flight by [`SyncSession::recv_many`].
pub const PIPELINE_DEPTH: usize = 32;
/// How much of a RECV reply is read from the socket at once. Larger than the
/// connection's own buffer, so reads bypass it and land here directly.
const STAGE: usize = 512 * 1024;

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

/// What stat or a listing says about a file. Fields v1 cannot report are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct FileStat {
    pub mode: u32,
    pub size: u64,
    pub mtime: i64,
    pub uid: u32,
    pub gid: u32,
}

impl FileStat {
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }
    /// Permission bits only (what SEND wants).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// One entry of a listing. `raw_name` holds the exact bytes (file names on a phone need
/// not be UTF-8); `name` is for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub raw_name: Vec<u8>,
    pub stat: FileStat,
}

/// One entry of a recursive walk: the full path below the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkEntry {
    pub path: String,
    /// Exact bytes of the path, to pass back to [`SyncSession::recv`].
    pub raw_path: Vec<u8>,
    pub stat: FileStat,
}

/// Where [`SyncSession::recv_many`] delivers files. Every file gets its data in order,
/// then exactly one `end`, before the next file starts.
pub trait RecvSink {
    /// A chunk of file `index`.
    fn data(
        &mut self,
        index: usize,
        chunk: &[u8],
    ) -> impl Future<Output = std::io::Result<()>> + Send;
    /// File `index` ended: its size, or why the phone refused it (`RemoteFile`).
    fn end(
        &mut self,
        index: usize,
        result: Result<u64, AdbError>,
    ) -> impl Future<Output = std::io::Result<()>> + Send;
}

/// Where the DATA of one RECV goes.
trait Chunks {
    fn put(&mut self, chunk: &[u8]) -> impl Future<Output = std::io::Result<()>> + Send;
}

struct ToWriter<'a, W: ?Sized> {
    out: &'a mut W,
    progress: &'a mut (dyn FnMut(u64) + Send),
}

impl<W: AsyncWrite + Unpin + Send + ?Sized> Chunks for ToWriter<'_, W> {
    async fn put(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.out.write_all(chunk).await?;
        (self.progress)(chunk.len() as u64);
        Ok(())
    }
}

struct ToSink<'a, S> {
    sink: &'a mut S,
    index: usize,
}

impl<S: RecvSink + Send> Chunks for ToSink<'_, S> {
    fn put(&mut self, chunk: &[u8]) -> impl Future<Output = std::io::Result<()>> + Send {
        self.sink.data(self.index, chunk)
    }
}

/// Bytes of RECV replies read from the connection and not yet consumed. Replies are
/// read in large pieces and their DATA headers parsed in place: a 64 KiB chunk costs
/// neither a copy nor a read (and timer) of its own, and with pipelined requests the
/// next file's reply is often already here. Belongs to the connection: it is emptied
/// whenever the connection is dropped.
struct Staging {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl std::fmt::Debug for Staging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Staging({} bytes)", self.end - self.start)
    }
}

impl Staging {
    fn new() -> Staging {
        Staging {
            buf: vec![0u8; STAGE],
            start: 0,
            end: 0,
        }
    }

    fn len(&self) -> usize {
        self.end - self.start
    }

    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    fn consume(&mut self, n: usize) -> &[u8] {
        let at = self.start;
        self.start += n;
        &self.buf[at..at + n]
    }

    /// Reads once more from CONN (at least one byte) after what is staged.
    async fn fill(&mut self, conn: &mut Conn, op: &'static str) -> Result<(), AdbError> {
        if self.start == self.end {
            self.clear();
        } else if self.buf.len() - self.end < MAX_CHUNK {
            // Only a header or a FAIL message is ever kept across a read: small.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = conn.read_some(op, &mut self.buf[self.end..]).await?;
        if n == 0 {
            return Err(AdbError::ConnectionLost {
                op,
                serial: conn.serial().map(str::to_string),
                detail: "the connection closed mid-answer".into(),
            });
        }
        self.end += n;
        Ok(())
    }

    /// Makes sure at least N (at most [`MAX_CHUNK`]) bytes are staged.
    async fn fill_to(
        &mut self,
        conn: &mut Conn,
        op: &'static str,
        n: usize,
    ) -> Result<(), AdbError> {
        while self.len() < n {
            self.fill(conn, op).await?;
        }
        Ok(())
    }
}

/// An open sync session on one phone.
#[derive(Debug)]
pub struct SyncSession {
    device: Device,
    conn: Option<Conn>,
    stat_v2: bool,
    ls_v2: bool,
    staged: Staging,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// `{errno, dev, ino, mode, nlink, uid, gid, size, atime, mtime, ctime}` after the id.
fn stat_v2_fields(b: &[u8]) -> (u32, FileStat) {
    let errno = u32_at(b, 0);
    let stat = FileStat {
        mode: u32_at(b, 20),
        uid: u32_at(b, 28),
        gid: u32_at(b, 32),
        size: u64_at(b, 36),
        mtime: u64_at(b, 52) as i64,
    };
    (errno, stat)
}

/// `{mode, size, mtime}` of the old STAT and DENT (32-bit size).
fn stat_v1_fields(b: &[u8]) -> FileStat {
    FileStat {
        mode: u32_at(b, 0),
        size: u64::from(u32_at(b, 4)),
        mtime: i64::from(u32_at(b, 8)),
        uid: 0,
        gid: 0,
    }
}

/// Text for the errno values adbd sends (Linux numbering).
fn errno_text(errno: u32) -> String {
    match errno {
        1 => "Operation not permitted".into(),
        2 => "No such file or directory".into(),
        5 => "I/O error".into(),
        13 => "Permission denied".into(),
        20 => "Not a directory".into(),
        40 => "Too many levels of symbolic links".into(),
        n => format!("errno {n}"),
    }
}

fn request(id: &[u8; 4], path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + path.len());
    out.extend_from_slice(id);
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    out.extend_from_slice(path);
    out
}

impl SyncSession {
    pub(crate) async fn open(device: Device) -> Result<SyncSession, AdbError> {
        let f = device.features().await?;
        let mut s = SyncSession {
            stat_v2: f.has("stat_v2"),
            ls_v2: f.has("ls_v2"),
            device,
            conn: None,
            staged: Staging::new(),
        };
        s.conn().await?;
        Ok(s)
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The live connection, reopened after the phone ended the previous one.
    async fn conn(&mut self) -> Result<&mut Conn, AdbError> {
        if self.conn.is_none() {
            self.conn = Some(self.device.open("sync", "sync:").await?);
        }
        self.conn.as_mut().ok_or_else(|| AdbError::ConnectionLost {
            op: "sync",
            serial: Some(self.device.serial().to_string()),
            detail: "sync session closed".into(),
        })
    }

    fn check_path(&self, path: &[u8]) -> Result<(), AdbError> {
        if path.len() > MAX_PATH {
            return Err(AdbError::RemoteFile {
                serial: self.device.serial().to_string(),
                path: lossy(path),
                msg: format!("path longer than {MAX_PATH} bytes"),
            });
        }
        Ok(())
    }

    fn remote(&self, path: &[u8], msg: impl Into<String>) -> AdbError {
        AdbError::RemoteFile {
            serial: self.device.serial().to_string(),
            path: lossy(path),
            msg: msg.into(),
        }
    }

    /// Drops the connection, and with it whatever of its stream was read ahead.
    fn drop_conn(&mut self) {
        self.conn = None;
        self.staged.clear();
    }

    /// Any error other than a refused file leaves the connection at an unknown place in
    /// the stream, so it is dropped (the next call reopens one).
    fn guarded<T>(&mut self, r: Result<T, AdbError>) -> Result<T, AdbError> {
        if let Err(e) = &r {
            if !matches!(e, AdbError::RemoteFile { .. }) {
                self.drop_conn();
            }
        }
        r
    }

    /// After the last reply of a transfer nothing may be left over: bytes the phone sent
    /// unasked would be read as the answer to the next request, so the session is
    /// dropped instead.
    fn check_drained(&mut self) {
        if self.staged.len() > 0 {
            self.drop_conn();
        }
    }

    /// Stat following symlinks. `None` when the path does not exist.
    pub async fn stat(&mut self, path: impl AsRef<[u8]>) -> Result<Option<FileStat>, AdbError> {
        self.stat_impl(path.as_ref(), true).await
    }

    /// Stat of the link itself. Without `stat_v2` both are the old STAT, which adbd
    /// implements with lstat.
    pub async fn lstat(&mut self, path: impl AsRef<[u8]>) -> Result<Option<FileStat>, AdbError> {
        self.stat_impl(path.as_ref(), false).await
    }

    async fn stat_impl(&mut self, path: &[u8], follow: bool) -> Result<Option<FileStat>, AdbError> {
        self.check_path(path)?;
        let v2 = self.stat_v2;
        let r = self.stat_io(path, follow, v2).await;
        let r = self.guarded(r)?;
        match r {
            (0, st) if v2 || st.mode != 0 => Ok(Some(st)),
            (0, _) | (2, _) | (20, _) => Ok(None),
            (errno, _) => Err(self.remote(path, errno_text(errno))),
        }
    }

    async fn stat_io(
        &mut self,
        path: &[u8],
        follow: bool,
        v2: bool,
    ) -> Result<(u32, FileStat), AdbError> {
        const OP: &str = "sync stat";
        let id: &[u8; 4] = match (v2, follow) {
            (true, true) => b"STA2",
            (true, false) => b"LST2",
            (false, _) => b"STAT",
        };
        let conn = self.conn().await?;
        conn.write_all(OP, &request(id, path)).await?;
        let mut head = [0u8; 4];
        conn.read_exact(OP, &mut head).await?;
        if &head != id {
            return Err(conn.protocol(
                OP,
                format!("expected {:?}, got {:?}", lossy(id), lossy(&head)),
            ));
        }
        if v2 {
            let mut b = [0u8; 68];
            conn.read_exact(OP, &mut b).await?;
            Ok(stat_v2_fields(&b))
        } else {
            let mut b = [0u8; 12];
            conn.read_exact(OP, &mut b).await?;
            Ok((0, stat_v1_fields(&b)))
        }
    }

    /// The entries of a directory, without `.` and `..`. A directory the phone cannot
    /// open lists as empty (adbd says nothing else); stat it first to tell.
    pub async fn list(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<DirEntry>, AdbError> {
        let path = path.as_ref();
        self.check_path(path)?;
        let r = self.list_io(path).await;
        self.guarded(r)
    }

    async fn list_io(&mut self, path: &[u8]) -> Result<Vec<DirEntry>, AdbError> {
        const OP: &str = "sync list";
        let v2 = self.ls_v2;
        let conn = self.conn().await?;
        conn.write_all(OP, &request(if v2 { b"LIS2" } else { b"LIST" }, path))
            .await?;
        let mut out = Vec::new();
        // v1 dent: id mode size time namelen (20); v2: id + stat_v2 fields + namelen (76).
        let mut head = vec![0u8; if v2 { 76 } else { 20 }];
        loop {
            conn.read_exact(OP, &mut head).await?;
            let id = &head[..4];
            if id == b"DONE" {
                return Ok(out);
            }
            if id == b"FAIL" {
                let n = u32_at(&head, 4) as usize;
                let msg = lossy(&head[8..8 + n.min(head.len() - 8)]);
                return Err(AdbError::RemoteFile {
                    serial: self.device.serial().to_string(),
                    path: lossy(path),
                    msg,
                });
            }
            let (stat, namelen) = if v2 && id == b"DNT2" {
                let (_errno, st) = stat_v2_fields(&head[4..72]);
                (st, u32_at(&head, 72) as usize)
            } else if !v2 && id == b"DENT" {
                (stat_v1_fields(&head[4..16]), u32_at(&head, 16) as usize)
            } else {
                return Err(conn.protocol(OP, format!("unexpected listing record {:?}", lossy(id))));
            };
            if namelen > MAX_PATH {
                return Err(conn.protocol(OP, format!("name of {namelen} bytes")));
            }
            let mut name = vec![0u8; namelen];
            conn.read_exact(OP, &mut name).await?;
            // A name with a slash would let a hostile phone point outside the tree.
            if name == b"." || name == b".." || name.is_empty() || name.contains(&b'/') {
                continue;
            }
            out.push(DirEntry {
                name: lossy(&name),
                raw_name: name,
                stat,
            });
        }
    }

    /// Every file, directory and link below ROOT (not ROOT itself), depth first, in one
    /// session. Symlinks are reported, never followed.
    pub async fn walk(&mut self, root: impl AsRef<[u8]>) -> Result<Vec<WalkEntry>, AdbError> {
        let root = root.as_ref();
        let mut base = root.to_vec();
        while base.len() > 1 && base.ends_with(b"/") {
            base.pop();
        }
        let mut out = Vec::new();
        let mut stack = vec![base];
        while let Some(dir) = stack.pop() {
            let entries = self.list(&dir).await?;
            let mut subdirs = Vec::new();
            for e in entries {
                let mut p = dir.clone();
                if !p.ends_with(b"/") {
                    p.push(b'/');
                }
                p.extend_from_slice(&e.raw_name);
                if e.stat.is_dir() {
                    subdirs.push(p.clone());
                }
                out.push(WalkEntry {
                    path: lossy(&p),
                    raw_path: p,
                    stat: e.stat,
                });
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(out)
    }

    /// Receives one file into OUT, calling PROGRESS with each chunk's size. The timeout
    /// bounds the time without a byte, not the transfer. A connection that ends before
    /// `DONE` is `ConnectionLost`, never a short file passed off as whole.
    pub async fn recv<W: AsyncWrite + Unpin + Send + ?Sized>(
        &mut self,
        path: impl AsRef<[u8]>,
        out: &mut W,
        progress: &mut (dyn FnMut(u64) + Send),
    ) -> Result<u64, AdbError> {
        let path = path.as_ref();
        self.check_path(path)?;
        let r = async {
            self.conn()
                .await?
                .write_all("sync recv", &request(b"RECV", path))
                .await?;
            self.read_file(path, &mut ToWriter { out, progress }).await
        }
        .await;
        self.check_drained();
        self.after_transfer(r)
    }

    fn after_transfer(&mut self, r: Result<u64, AdbError>) -> Result<u64, AdbError> {
        if matches!(r, Err(AdbError::RemoteFile { .. })) {
            // adbd ends the sync service after a refused RECV.
            self.drop_conn();
        }
        self.guarded(r)
    }

    /// Reads one RECV reply: DATA chunks to OUT, then DONE or FAIL. Chunks reach OUT
    /// in whatever pieces the socket delivers them (a DATA payload may be split).
    async fn read_file<C: Chunks>(&mut self, path: &[u8], out: &mut C) -> Result<u64, AdbError> {
        const OP: &str = "sync recv";
        let serial = self.device.serial().to_string();
        let Some(conn) = self.conn.as_mut() else {
            return Err(AdbError::ConnectionLost {
                op: OP,
                serial: Some(serial),
                detail: "sync session closed".into(),
            });
        };
        let st = &mut self.staged;
        let mut total = 0u64;
        // Bytes of the current DATA payload not yet passed on.
        let mut in_data = 0usize;
        loop {
            if in_data > 0 {
                if st.len() == 0 {
                    st.fill(conn, OP).await?;
                }
                let n = in_data.min(st.len());
                let chunk = st.consume(n);
                out.put(chunk).await.map_err(|e| AdbError::Local {
                    op: OP,
                    serial: serial.clone(),
                    path: lossy(path),
                    source: e,
                })?;
                in_data -= n;
                total += n as u64;
                continue;
            }
            st.fill_to(conn, OP, 8).await?;
            let mut head = [0u8; 8];
            head.copy_from_slice(st.consume(8));
            let len = u32_at(&head, 4) as usize;
            match &head[..4] {
                b"DATA" => {
                    if len > MAX_CHUNK {
                        return Err(conn.protocol(OP, format!("DATA chunk of {len} bytes")));
                    }
                    in_data = len;
                }
                b"DONE" => return Ok(total),
                b"FAIL" => {
                    let n = len.min(MAX_CHUNK);
                    st.fill_to(conn, OP, n).await?;
                    return Err(AdbError::RemoteFile {
                        serial,
                        path: lossy(path),
                        msg: lossy(st.consume(n)),
                    });
                }
                other => {
                    return Err(conn.protocol(OP, format!("unexpected record {:?}", lossy(other))));
                }
            }
        }
    }

    /// Receives many files over this session with up to [`PIPELINE_DEPTH`] requests in
    /// flight, delivering them to SINK in order. A file the phone refuses ends with
    /// `RemoteFile` in `SINK.end` and the rest carry on (on a reopened session). A lost
    /// or stalled phone returns the error; every file before it has had its `end`.
    pub async fn recv_many<P: AsRef<[u8]>, S: RecvSink + Send>(
        &mut self,
        paths: &[P],
        sink: &mut S,
    ) -> Result<(), AdbError> {
        const OP: &str = "sync recv";
        for p in paths {
            self.check_path(p.as_ref())?;
        }
        let n = paths.len();
        let mut sent = 0usize;
        let mut i = 0usize;
        while i < n {
            let upto = (i + PIPELINE_DEPTH).min(n);
            if sent < upto {
                let mut batch = Vec::new();
                for p in &paths[sent..upto] {
                    batch.extend_from_slice(&request(b"RECV", p.as_ref()));
                }
                let r = async { self.conn().await?.write_all(OP, &batch).await }.await;
                self.guarded(r)?;
                sent = upto;
            }
            let path = paths[i].as_ref();
            let r = self
                .read_file(
                    path,
                    &mut ToSink {
                        sink: &mut *sink,
                        index: i,
                    },
                )
                .await;
            match r {
                Ok(size) => sink
                    .end(i, Ok(size))
                    .await
                    .map_err(|e| self.device.local(OP, &lossy(path), e))?,
                Err(e @ AdbError::RemoteFile { .. }) => {
                    // The session is over; requests already sent are lost with it.
                    self.drop_conn();
                    sent = i + 1;
                    sink.end(i, Err(e))
                        .await
                        .map_err(|e| self.device.local(OP, &lossy(path), e))?;
                }
                Err(e) => {
                    self.drop_conn();
                    return Err(e);
                }
            }
            i += 1;
        }
        self.check_drained();
        Ok(())
    }

    /// Sends SOURCE to PATH on the phone with MODE (permission bits) and MTIME (seconds
    /// since the epoch), then waits for the phone to confirm.
    pub async fn send<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        source: &mut R,
        path: &str,
        mode: u32,
        mtime: u32,
    ) -> Result<u64, AdbError> {
        let spec = format!("{path},{}", mode & 0o7777 | S_IFREG);
        self.check_path(spec.as_bytes())?;
        let r = self.send_io(source, path, &spec, mtime).await;
        // adbd ends the sync service after a refused SEND, as after a refused RECV.
        self.after_transfer(r)
    }

    async fn send_io<R: AsyncRead + Unpin + ?Sized>(
        &mut self,
        source: &mut R,
        path: &str,
        spec: &str,
        mtime: u32,
    ) -> Result<u64, AdbError> {
        const OP: &str = "sync send";
        let device = self.device.clone();
        let mut chunk = vec![0u8; MAX_CHUNK];
        let conn = self.conn().await?;
        conn.write_all(OP, &request(b"SEND", spec.as_bytes()))
            .await?;
        let mut total = 0u64;
        loop {
            let n = source
                .read(&mut chunk)
                .await
                .map_err(|e| device.local(OP, path, e))?;
            if n == 0 {
                break;
            }
            let mut msg = Vec::with_capacity(8 + n);
            msg.extend_from_slice(b"DATA");
            msg.extend_from_slice(&(n as u32).to_le_bytes());
            msg.extend_from_slice(&chunk[..n]);
            conn.write_all(OP, &msg).await?;
            total += n as u64;
        }
        let mut done = Vec::with_capacity(8);
        done.extend_from_slice(b"DONE");
        done.extend_from_slice(&mtime.to_le_bytes());
        conn.write_all(OP, &done).await?;
        let mut head = [0u8; 8];
        conn.read_exact(OP, &mut head).await?;
        match &head[..4] {
            b"OKAY" => Ok(total),
            b"FAIL" => {
                let len = u32_at(&head, 4) as usize;
                let mut msg = vec![0u8; len.min(MAX_CHUNK)];
                conn.read_exact(OP, &mut msg).await?;
                Err(AdbError::RemoteFile {
                    serial: device.serial().to_string(),
                    path: path.to_string(),
                    msg: lossy(&msg),
                })
            }
            other => Err(conn.protocol(OP, format!("unexpected reply {:?}", lossy(other)))),
        }
    }

    /// Ends the session politely (dropping it works too).
    pub async fn quit(mut self) -> Result<(), AdbError> {
        if let Some(conn) = self.conn.as_mut() {
            conn.write_all("sync quit", &request(b"QUIT", b"")).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_stat_v2_fields() {
        let mut b = vec![0u8; 68];
        b[20..24].copy_from_slice(&(0o100644u32).to_le_bytes());
        b[36..44].copy_from_slice(&(5_000_000_000u64).to_le_bytes());
        b[52..60].copy_from_slice(&(1_700_000_000i64).to_le_bytes());
        let (errno, st) = stat_v2_fields(&b);
        assert_eq!(errno, 0);
        assert!(st.is_file() && !st.is_dir());
        assert_eq!(st.size, 5_000_000_000);
        assert_eq!(st.mtime, 1_700_000_000);
        assert_eq!(st.permissions(), 0o644);
    }

    #[test]
    fn requests_are_id_length_path() {
        assert_eq!(request(b"RECV", b"/a"), b"RECV\x02\x00\x00\x00/a");
        assert_eq!(errno_text(13), "Permission denied");
    }
}
