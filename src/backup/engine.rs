//! One backup run against one phone: identity, walk (one sync session), plan, resume,
//! free-space check, then the transfer and the phone-side verification running side by
//! side — RECV requests pipelined on the sync session feeding a writer thread, while
//! batched `sha256sum` commands run on a separate shell connection. A file counts only
//! when the phone's sha256 and size match what landed. The manifest is saved when the
//! run ends, also when it ends because the phone was lost, so a rerun resumes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::error::BackupError;
use super::manifest::{self, FileRecord, Manifest};
use super::plan::{self, Entry, Kind, PlannedFile, Skipped};
use super::writer::{Complete, DirMaker, Landed, PartFile};
use super::{paths, phonehash, space};
use crate::adb::RecvSink;
use crate::adb::{AdbError, Device};
use crate::exit::Exit;
use crate::miui::identity::{SERIAL_PROPS, usable_serial};
use crate::progress::Reporter;

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub dest: PathBuf,
    pub includes: Vec<String>,
    pub all: bool,
}

/// A file that is not backed up, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failed {
    pub path: String,
    pub why: String,
}

/// The outcome of a run, for people and for `--json`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub serial: String,
    pub dir: PathBuf,
    /// Files in the manifest (fetched now or verified by an earlier run).
    pub files: usize,
    pub bytes: u64,
    pub verified: usize,
    pub verified_bytes: u64,
    /// Fetched in this run.
    pub fetched: usize,
    /// Skipped because an earlier run verified them and they have not changed.
    pub resumed: usize,
    pub failed: Vec<Failed>,
    pub skipped: Vec<Skipped>,
    pub symlinks: Vec<String>,
    pub notes: Vec<String>,
    pub complete: bool,
    pub manifest_sha256: String,
}

impl Summary {
    /// 0 when every file is verified; 1 when some failed.
    pub fn exit(&self) -> Exit {
        if self.complete { Exit::Ok } else { Exit::Other }
    }
}

const NOTE_APP_DATA: &str = "Android/data and Android/obb (apps' private files) cannot be read over adb on Android 11 and later; they are not in this backup";

/// Bytes of phone-side hashing per shell command: its output only arrives when the
/// whole command ends, so the command's timeout grows with it (see `hash_timeout`).
const HASH_BATCH_BYTES: u64 = 512 * 1024 * 1024;
const HASH_BATCH_FILES: usize = 256;
/// A slow phone hashes about this fast; used to size a batch's timeout.
const PHONE_HASH_BYTES_PER_SEC: u64 = 25 * 1024 * 1024;
/// Batches buffered between the network and the disk: memory stays flat.
const WRITER_QUEUE: usize = 16;
/// Bytes of one file handed to the writer thread at once. The phone sends 64 KiB
/// chunks; passing each across threads on its own cost a wake-up, an allocation and a
/// copy per chunk, more than the hashing of it.
const BATCH: usize = 256 * 1024;
/// How often a long run saves its manifest, so a killed run still resumes.
const SAVE_EVERY: Duration = Duration::from_secs(15);

/// Backs up the phone behind `device` into `opts.dest`.
pub async fn backup(
    device: &Device,
    opts: &Options,
    reporter: &dyn Reporter,
) -> Result<Summary, BackupError> {
    let serial = device.serial().to_string();
    let lost = |source: AdbError| BackupError::Adb {
        serial: serial.clone(),
        source,
    };
    let selection = plan::select(&opts.includes, opts.all)?;
    let dir = opts.dest.clone();
    prepare_dest(&dir)?;
    let previous = match manifest::load(&dir) {
        Ok((m, _)) => Some(m),
        Err(manifest::LoadError::Missing { .. }) => None,
        Err(e) => return Err(BackupError::Manifest(e)),
    };
    reporter.step(&serial, "backup");

    let id = identity(device).await.map_err(lost)?;
    if let Some(found) = previous
        .as_ref()
        .and_then(|m| other_phone(&m.device, &serial, &id))
    {
        return Err(BackupError::OtherPhone { dir, serial, found });
    }
    let mut man = Manifest::new(
        manifest::Device {
            serial: serial.clone(),
            hardware_serial: id.hardware_serial,
            model: id.model,
            imei: id.imei,
        },
        selection.roots.clone(),
    );
    man.notes.push(NOTE_APP_DATA.to_string());
    match apps(device).await.map_err(lost)? {
        Ok(list) => man.apps = list,
        Err(why) => man.notes.push(format!("installed apps not listed: {why}")),
    }

    let mut session = device.sync().await.map_err(lost)?;
    let (entries, missing, odd) = walk(&mut session, &selection.roots).await.map_err(lost)?;
    if let Some(path) = missing.iter().find(|m| selection.explicit.contains(m)) {
        return Err(BackupError::NotOnPhone {
            serial,
            path: plan::device_path(path),
        });
    }
    for m in &missing {
        man.notes
            .push(format!("{}: not on this phone", plan::device_path(m)));
    }
    let plan = plan::plan(entries);
    man.dirs = plan.dirs.clone();
    man.symlinks = plan.symlinks.clone();
    man.skipped = plan.skipped.clone();
    man.skipped.extend(odd);
    for n in &man.notes {
        reporter.warn(&serial, n);
    }

    let data = super::data_dir(&dir);
    let (carried, todo) = {
        let files = plan.files.clone();
        let data = data.clone();
        tokio::task::spawn_blocking(move || resume(previous.as_ref(), files, &data))
            .await
            .unwrap_or_else(|_| (Vec::new(), plan.files.clone()))
    };
    let resumed = carried.len();

    let todo_bytes: u64 = todo.iter().map(|f| f.size).sum();
    let available = space::available(&dir).map_err(|source| BackupError::Destination {
        dir: dir.clone(),
        source,
    })?;
    if let Err((needed, available)) = space::check(todo_bytes, todo.len() as u64, available) {
        return Err(BackupError::NoSpace {
            dir,
            serial,
            needed,
            available,
        });
    }

    let targets = {
        let data = data.clone();
        let dirs = plan.dirs.clone();
        let todo = todo.clone();
        tokio::task::spawn_blocking(move || make_targets(&data, &dirs, &todo))
            .await
            .map_err(|e| BackupError::Destination {
                dir: dir.clone(),
                source: std::io::Error::other(e.to_string()),
            })?
            .map_err(|source| BackupError::Destination {
                dir: dir.clone(),
                source,
            })?
    };

    // A copy about to be replaced stays under a second name until its successor is
    // verified: the rename lands before the phone's hash arrives, and a mismatch must
    // not cost the owner the earlier, verified bytes.
    let earlier = {
        let targets = targets.clone();
        tokio::task::spawn_blocking(move || keep_earlier(&targets))
            .await
            .unwrap_or_default()
    };
    reporter.start_transfer(&serial, todo_bytes, todo.len() as u64);
    let mut run = Transfer::new(&todo, targets);
    let outcome = run
        .go(
            device,
            &mut session,
            &todo,
            reporter,
            &dir,
            &mut man,
            &carried,
        )
        .await;
    let _ = session.quit().await;
    // Renames become durable with their directories; the final manifest (the only one
    // that can say `complete`) is written after that.
    let run = tokio::task::spawn_blocking(move || {
        run.sync_dirs();
        run
    })
    .await
    .map_err(|e| BackupError::Destination {
        dir: dir.clone(),
        source: std::io::Error::other(e.to_string()),
    })?;

    {
        let verified: Vec<bool> = run.records.iter().map(|r| r.verified).collect();
        let targets = run.targets.clone();
        let _ = tokio::task::spawn_blocking(move || settle_earlier(&targets, &earlier, &verified))
            .await;
    }
    man.finished = Some(manifest::now());
    let (failed, skipped_now) = run.failures(&todo);
    man.skipped.extend(skipped_now);
    man.files = merged(&carried, &run.kept());
    man.complete = outcome.is_ok() && failed.is_empty();
    let sha = man
        .save(&dir)
        .map_err(|source| BackupError::ManifestWrite {
            dir: dir.clone(),
            source,
        })?;
    if let Err(source) = outcome {
        reporter.finish(&serial, false, &source.to_string());
        return Err(lost(source));
    }
    let summary = Summary {
        serial: serial.clone(),
        dir,
        files: man.files.len(),
        bytes: man.files.iter().map(|f| f.size).sum(),
        verified: man.verified_count(),
        verified_bytes: man.verified_bytes(),
        fetched: run.records.iter().filter(|r| r.verified).count(),
        resumed,
        failed,
        skipped: man.skipped.clone(),
        symlinks: man.symlinks.clone(),
        notes: man.notes.clone(),
        complete: man.complete,
        manifest_sha256: sha,
    };
    reporter.finish(
        &serial,
        summary.complete,
        &format!("{} of {} files verified", summary.verified, summary.files),
    );
    Ok(summary)
}

/// Creates DIR and proves it writable before anything is asked of the phone.
fn prepare_dest(dir: &Path) -> Result<(), BackupError> {
    let err = |source| BackupError::Destination {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(".mi-offboard-probe");
    std::fs::write(&probe, b"").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)
}

/// Who the phone is, as far as its props tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Identity {
    model: Option<String>,
    hardware_serial: Option<String>,
    imei: Option<String>,
}

/// Whether an existing manifest is another phone's: the hardware serials decide when
/// both are known (the adb serial of one phone changes between USB and TCP, and two
/// phones can share one); otherwise the adb serials. Returns the other phone's serial.
fn other_phone(old: &manifest::Device, adb_serial: &str, now: &Identity) -> Option<String> {
    match (&old.hardware_serial, &now.hardware_serial) {
        (Some(a), Some(b)) if a == b => None,
        (Some(a), Some(_)) => Some(a.clone()),
        _ if old.serial != adb_serial => Some(old.serial.clone()),
        _ => None,
    }
}

/// Model, `ro.serialno` and the IMEI (when a Xiaomi build exposes it as a prop;
/// FACTS.md §4), one command.
async fn identity(device: &Device) -> Result<Identity, AdbError> {
    let out = device
        .shell(&format!(
            "getprop ro.product.model;getprop ro.ril.miui.imei0;getprop ro.ril.oem.imei;{}",
            SERIAL_PROPS.map(|k| format!("getprop {k}")).join(";")
        ))
        .await?;
    Ok(parse_identity(&out.stdout_text()))
}

/// One answer per line, in the command's order; a missing prop is an empty line.
fn parse_identity(text: &str) -> Identity {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let line = |i: usize| {
        lines
            .get(i)
            .filter(|l| !l.is_empty())
            .map(|l| l.to_string())
    };
    // The same serial, by the same rule, as the inspection the reset interlock reads.
    let hardware_serial = (3..3 + SERIAL_PROPS.len())
        .filter_map(line)
        .find(|s| usable_serial(s));
    let imei = lines
        .iter()
        .skip(1)
        .take(2)
        .find(|l| (14..=16).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_digit()))
        .map(|l| l.to_string());
    Identity {
        model: line(0),
        hardware_serial,
        imei,
    }
}

/// Installed user apps with versions; the inner error is a note, not a failure.
async fn apps(device: &Device) -> Result<Result<Vec<manifest::App>, String>, AdbError> {
    let out = device
        .shell("pm list packages -3 --show-versioncode")
        .await?;
    if !out.success() {
        let why = out.stderr_text();
        return Ok(Err(format!("pm exited {}: {}", out.code, why.trim())));
    }
    Ok(Ok(parse_apps(&out.stdout_text())))
}

/// `package:NAME versionCode:N` lines (CRLF on old shells tolerated).
fn parse_apps(text: &str) -> Vec<manifest::App> {
    let mut apps: Vec<manifest::App> = text
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("package:")?;
            let mut words = rest.split_whitespace();
            let package = words.next()?.to_string();
            let version = words
                .find_map(|w| w.strip_prefix("versionCode:"))
                .map(str::to_string);
            Some(manifest::App { package, version })
        })
        .collect();
    apps.sort_by(|a, b| a.package.cmp(&b.package));
    apps
}

/// Lists every root in the one session: entries, roots missing on the phone, and names
/// that cannot be kept (not UTF-8).
pub(super) async fn walk(
    session: &mut crate::adb::SyncSession,
    roots: &[String],
) -> Result<(Vec<Entry>, Vec<String>, Vec<Skipped>), AdbError> {
    let mut entries = Vec::new();
    let mut missing = Vec::new();
    let mut odd = Vec::new();
    for root in roots {
        let dp = plan::device_path(root);
        // /sdcard itself is a symlink on real phones: follow it for `--all` only.
        let st = if root.is_empty() {
            session.stat(&dp).await?
        } else {
            session.lstat(&dp).await?
        };
        let Some(st) = st else {
            missing.push(root.clone());
            continue;
        };
        if !st.is_dir() {
            entries.push(Entry {
                rel: root.clone(),
                kind: Kind::from_mode(st.mode),
                size: st.size,
                mtime: st.mtime,
            });
            continue;
        }
        if !root.is_empty() {
            entries.push(Entry {
                rel: root.clone(),
                kind: Kind::Dir,
                size: 0,
                mtime: st.mtime,
            });
        }
        let prefix = format!("{}/", plan::SDCARD);
        for w in session.walk(&dp).await? {
            let tail = w.raw_path.get(prefix.len()..).unwrap_or_default();
            match std::str::from_utf8(tail) {
                Ok(rel) if w.raw_path.starts_with(prefix.as_bytes()) => entries.push(Entry {
                    rel: rel.to_string(),
                    kind: Kind::from_mode(w.stat.mode),
                    size: w.stat.size,
                    mtime: w.stat.mtime,
                }),
                _ => odd.push(Skipped {
                    path: w.path,
                    reason: "name is not UTF-8; the manifest cannot record it exactly".into(),
                }),
            }
        }
    }
    Ok((entries, missing, odd))
}

/// Splits the planned files into those an earlier run verified and that are unchanged
/// on both sides (carried over) and those to fetch. "Unchanged on the host" is checked
/// by re-hashing: a copy altered since must never stay marked verified.
fn resume(
    previous: Option<&Manifest>,
    files: Vec<PlannedFile>,
    data: &Path,
) -> (Vec<FileRecord>, Vec<PlannedFile>) {
    let Some(prev) = previous else {
        return (Vec::new(), files);
    };
    let by_path: std::collections::HashMap<&str, &FileRecord> =
        prev.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut carried = Vec::new();
    let mut todo = Vec::new();
    for f in files {
        let keep = by_path.get(f.rel.as_str()).filter(|r| {
            r.verified
                && r.size == f.size
                && r.mtime == f.mtime
                && paths::host_path(data, &f.rel)
                    .ok()
                    .and_then(|p| hash_file(&p).ok())
                    .is_some_and(|(sha, size)| sha == r.sha256 && size == r.size)
        });
        match keep {
            Some(r) => carried.push((*r).clone()),
            None => todo.push(f),
        }
    }
    (carried, todo)
}

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::Digest;
    use std::io::Read;
    let md = std::fs::symlink_metadata(path)?;
    if !md.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok((hex::encode(h.finalize()), n));
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
}

/// The second name of a copy kept while its replacement is unverified.
fn earlier_path(target: &Path) -> PathBuf {
    let mut name = paths::partial_path(target).into_os_string();
    name.push(".prev");
    PathBuf::from(name)
}

/// Hard-links every host copy about to be replaced to its second name (no bytes are
/// copied). Returns which targets have one.
fn keep_earlier(targets: &[PathBuf]) -> Vec<bool> {
    targets
        .iter()
        .map(|t| {
            let prev = earlier_path(t);
            let _ = std::fs::remove_file(&prev);
            std::fs::symlink_metadata(t).is_ok_and(|m| m.is_file())
                && std::fs::hard_link(t, &prev).is_ok()
        })
        .collect()
}

/// After the run: a verified new copy drops the earlier one; an unverified one (hash
/// mismatch, no answer, phone lost) gives the earlier copy its name back.
fn settle_earlier(targets: &[PathBuf], earlier: &[bool], verified: &[bool]) {
    for ((t, kept), ok) in targets.iter().zip(earlier).zip(verified) {
        if !kept {
            continue;
        }
        let prev = earlier_path(t);
        let _ = if *ok {
            std::fs::remove_file(&prev)
        } else {
            std::fs::rename(&prev, t)
        };
    }
}

/// Makes every directory (empty ones too) and returns each file's host path.
fn make_targets(
    data: &Path,
    dirs: &[String],
    todo: &[PlannedFile],
) -> std::io::Result<Vec<PathBuf>> {
    let mut maker = DirMaker::new(data)?;
    for d in dirs {
        maker.ensure(d)?;
    }
    todo.iter()
        .map(|f| {
            let parent = maker.ensure_parent_of(&f.rel)?;
            let name = f.rel.rsplit('/').next().unwrap_or(&f.rel);
            Ok(parent.join(name))
        })
        .collect()
}

fn merged(carried: &[FileRecord], fresh: &[FileRecord]) -> Vec<FileRecord> {
    let mut all: Vec<FileRecord> = carried.iter().chain(fresh).cloned().collect();
    all.sort_by(|a, b| a.path.cmp(&b.path));
    all
}

/// What the writer thread made of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Landing {
    Landed(Landed),
    /// The phone would not send it (permission, vanished): listed, not fatal.
    Refused(String),
    Failed(String),
}

enum Msg {
    Data(usize, Vec<u8>),
    End(usize, Result<u64, String>, bool),
}

/// Feeds the pipelined RECV stream to the writer thread, in batches of one file's
/// bytes; the writer sends the emptied buffers back to be filled again.
struct Sink<'a> {
    tx: mpsc::Sender<Msg>,
    reporter: &'a dyn Reporter,
    serial: &'a str,
    batch: Option<(usize, Vec<u8>)>,
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
}

fn writer_gone() -> std::io::Error {
    std::io::Error::other("the writer thread stopped")
}

impl Sink<'_> {
    async fn send_batch(&mut self) -> std::io::Result<()> {
        if let Some((i, buf)) = self.batch.take() {
            self.reporter.advance(self.serial, buf.len() as u64);
            self.tx
                .send(Msg::Data(i, buf))
                .await
                .map_err(|_| writer_gone())?;
        }
        Ok(())
    }
}

impl RecvSink for Sink<'_> {
    async fn data(&mut self, index: usize, chunk: &[u8]) -> std::io::Result<()> {
        if self.batch.as_ref().is_some_and(|(i, _)| *i != index) {
            self.send_batch().await?;
        }
        let (_, buf) = self.batch.get_or_insert_with(|| {
            let mut b = self
                .spare
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(BATCH));
            b.clear();
            (index, b)
        });
        buf.extend_from_slice(chunk);
        if buf.len() >= BATCH {
            self.send_batch().await?;
        }
        Ok(())
    }

    async fn end(&mut self, index: usize, result: Result<u64, AdbError>) -> std::io::Result<()> {
        self.send_batch().await?;
        let msg = match result {
            Ok(n) => Msg::End(index, Ok(n), false),
            Err(AdbError::RemoteFile { msg, .. }) => Msg::End(index, Err(msg), true),
            Err(e) => Msg::End(index, Err(e.to_string()), false),
        };
        self.tx.send(msg).await.map_err(|_| writer_gone())
    }
}

/// Work for the committer thread.
enum Job {
    /// Start writing back what a big file has so far.
    Writeback(std::fs::File),
    Commit(usize, Complete, i64),
}

/// Files waiting for their fsync; bounds open handles and dirty memory.
const COMMIT_QUEUE: usize = 64;
const COMMITTERS: usize = 16;

/// The writer thread: one file open at a time (RECV replies arrive in order). Complete
/// files go to a committer thread for fsync and rename, so waiting for the disk
/// overlaps with receiving the next file.
fn write_files(
    mut rx: mpsc::Receiver<Msg>,
    spare: std::sync::mpsc::Sender<Vec<u8>>,
    targets: Vec<PathBuf>,
    planned: Vec<(u64, i64)>,
    out: mpsc::UnboundedSender<(usize, Landing)>,
) {
    let (jobs, job_rx) = std::sync::mpsc::sync_channel::<Job>(COMMIT_QUEUE);
    let job_rx = Arc::new(std::sync::Mutex::new(job_rx));
    // Several committers: an fsync mostly waits for the journal, and concurrent ones
    // share a journal commit, so small files do not pay one disk flush each in turn.
    let committers: Vec<_> = (0..COMMITTERS)
        .map(|_| {
            let job_rx = job_rx.clone();
            let committed = out.clone();
            std::thread::spawn(move || {
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(Job::Writeback(f)) => {
                            let _ = f.sync_data();
                        }
                        Ok(Job::Commit(i, c, mtime)) => {
                            let landing = match c.commit(mtime) {
                                Ok(l) => Landing::Landed(l),
                                Err(e) => Landing::Failed(format!("cannot complete the file: {e}")),
                            };
                            let _ = committed.send((i, landing));
                        }
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    let mut open: Option<(usize, Result<PartFile, String>)> = None;
    let start = |i: usize| -> Result<PartFile, String> {
        let t = targets.get(i).ok_or("no such file in the plan")?;
        PartFile::create(t.clone()).map_err(|e| format!("cannot create {}: {e}", t.display()))
    };
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Msg::Data(i, chunk) => {
                if open.as_ref().is_none_or(|(k, _)| *k != i) {
                    if let Some((_, Ok(p))) = open.take() {
                        p.abort();
                    }
                    open = Some((i, start(i)));
                }
                if let Some((_, slot)) = open.as_mut() {
                    if let Ok(p) = slot {
                        match p.write(&chunk) {
                            Ok(()) => {
                                if let Some(f) = p.writeback_due() {
                                    let _ = jobs.send(Job::Writeback(f));
                                }
                            }
                            Err(e) => *slot = Err(format!("write failed: {e}")),
                        }
                    }
                }
                // Back to the network side; if it is gone the buffer is just freed.
                let _ = spare.send(chunk);
            }
            Msg::End(i, result, refused) => {
                let file = match open.take() {
                    Some((k, f)) if k == i => f,
                    other => {
                        if let Some((_, Ok(p))) = other {
                            p.abort();
                        }
                        start(i)
                    }
                };
                let (size, mtime) = planned.get(i).copied().unwrap_or_default();
                let landing = match (file, result) {
                    (Ok(p), Ok(_)) if p.written() != size => {
                        let got = p.written();
                        p.abort();
                        Landing::Failed(format!(
                            "changed on the phone during the backup: listed {size} bytes, received {got}"
                        ))
                    }
                    (Ok(p), Ok(_)) => match p.complete() {
                        Ok(c) => match jobs.send(Job::Commit(i, c, mtime)) {
                            Ok(()) => continue,
                            Err(std::sync::mpsc::SendError(Job::Commit(_, c, _))) => {
                                c.abort();
                                Landing::Failed("the committer thread stopped".into())
                            }
                            Err(_) => Landing::Failed("the committer thread stopped".into()),
                        },
                        Err(e) => Landing::Failed(format!("cannot complete the file: {e}")),
                    },
                    (Err(e), _) => Landing::Failed(e),
                    (Ok(p), Err(e)) => {
                        p.abort();
                        if refused {
                            Landing::Refused(format!("the phone refused to send it: {e}"))
                        } else {
                            Landing::Failed(e)
                        }
                    }
                };
                if out.send((i, landing)).is_err() {
                    break;
                }
            }
        }
    }
    // The stream ended mid-file (phone lost): only the temporary name is removed.
    // Files already complete are still committed: every byte of them arrived.
    if let Some((_, Ok(p))) = open {
        p.abort();
    }
    drop(jobs);
    for c in committers {
        let _ = c.join();
    }
}

/// Hashes the files on the phone, batch after batch, on its own shell connections.
async fn hash_on_phone(
    device: Device,
    files: Arc<Vec<(String, u64)>>,
    out: mpsc::UnboundedSender<(usize, Option<String>)>,
) -> Result<(), AdbError> {
    let nonce = phonehash::nonce();
    let paths: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    let mut start = 0;
    while start < paths.len() {
        // Cut the list where the bytes per batch would exceed the budget.
        let mut end = start;
        let mut bytes = 0u64;
        while end < paths.len() && (end == start || bytes + files[end].1 <= HASH_BATCH_BYTES) {
            bytes += files[end].1;
            end += 1;
        }
        for b in phonehash::batches(
            &paths[start..end],
            &nonce,
            phonehash::MAX_COMMAND_BYTES,
            HASH_BATCH_FILES,
        ) {
            let range = (b.range.start + start)..(b.range.end + start);
            let batch_bytes: u64 = files[range.clone()].iter().map(|(_, s)| s).sum();
            let dev = device.with_timeout(hash_timeout(device.timeout(), batch_bytes));
            // Indices in the command are relative to the slice it was built from.
            let got = dev.shell(&b.command).await?;
            let hashes = phonehash::parse(&got.stdout, &nonce, b.range.clone());
            for (k, h) in hashes.into_iter().enumerate() {
                if out.send((range.start + k, h)).is_err() {
                    return Ok(());
                }
            }
        }
        start = end;
    }
    Ok(())
}

fn hash_timeout(base: Duration, bytes: u64) -> Duration {
    base + Duration::from_secs(bytes / PHONE_HASH_BYTES_PER_SEC)
}

/// The state of the files being fetched in this run.
struct Transfer {
    records: Vec<FileRecord>,
    /// Host paths, to remove a copy the phone disowns.
    targets: Vec<PathBuf>,
    landed: Vec<Option<Landing>>,
    phone: Vec<Option<Option<String>>>,
}

impl Transfer {
    fn new(todo: &[PlannedFile], targets: Vec<PathBuf>) -> Transfer {
        Transfer {
            targets,
            records: todo
                .iter()
                .map(|f| FileRecord {
                    path: f.rel.clone(),
                    size: f.size,
                    mtime: f.mtime,
                    sha256: String::new(),
                    verified: false,
                    error: Some("not fetched: the run ended before it".into()),
                })
                .collect(),
            landed: vec![None; todo.len()],
            phone: vec![None; todo.len()],
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn go(
        &mut self,
        device: &Device,
        session: &mut crate::adb::SyncSession,
        todo: &[PlannedFile],
        reporter: &dyn Reporter,
        dir: &Path,
        man: &mut Manifest,
        carried: &[FileRecord],
    ) -> Result<(), AdbError> {
        if todo.is_empty() {
            return Ok(());
        }
        let serial = device.serial().to_string();
        let (tx, rx) = mpsc::channel(WRITER_QUEUE);
        let (spare_tx, spare_rx) = std::sync::mpsc::channel();
        let (land_tx, mut land_rx) = mpsc::unbounded_channel();
        let planned: Vec<(u64, i64)> = todo.iter().map(|f| (f.size, f.mtime)).collect();
        let targets = self.targets.clone();
        let writer =
            std::thread::spawn(move || write_files(rx, spare_tx, targets, planned, land_tx));

        let (hash_tx, mut hash_rx) = mpsc::unbounded_channel();
        let hash_list: Arc<Vec<(String, u64)>> = Arc::new(
            todo.iter()
                .map(|f| (plan::device_path(&f.rel), f.size))
                .collect(),
        );
        let mut hasher = tokio::spawn(hash_on_phone(device.clone(), hash_list, hash_tx));

        let raw: Vec<String> = todo.iter().map(|f| plan::device_path(&f.rel)).collect();
        let mut sink = Sink {
            tx,
            reporter,
            serial: &serial,
            batch: None,
            spare: spare_rx,
        };
        let transfer = async {
            let r = session.recv_many(&raw, &mut sink).await;
            drop(sink);
            r
        };
        tokio::pin!(transfer);

        let mut transfer_result: Option<Result<(), AdbError>> = None;
        let mut hash_result: Option<Result<(), AdbError>> = None;
        let mut land_open = true;
        let mut hash_open = true;
        let mut last_save = Instant::now();
        while land_open || hash_open || transfer_result.is_none() {
            tokio::select! {
                r = &mut transfer, if transfer_result.is_none() => {
                    let failed = r.is_err();
                    transfer_result = Some(r);
                    if failed {
                        // Nothing more will land; the phone is gone or stuck, so
                        // its hashes would not come either.
                        hasher.abort();
                        hash_open = false;
                    }
                }
                m = land_rx.recv(), if land_open => match m {
                    Some((i, l)) => {
                        self.landed[i] = Some(l);
                        self.settle(i, reporter, &serial);
                    }
                    None => land_open = false,
                },
                m = hash_rx.recv(), if hash_open => match m {
                    Some((i, h)) => {
                        self.phone[i] = Some(h);
                        self.settle(i, reporter, &serial);
                    }
                    None => hash_open = false,
                },
                r = &mut hasher, if hash_result.is_none() => {
                    hash_result = Some(match r {
                        Ok(r) => r,
                        Err(_) => Ok(()),
                    });
                }
            }
            if last_save.elapsed() > SAVE_EVERY {
                man.files = merged(carried, &self.kept());
                let _ = man.save(dir);
                last_save = Instant::now();
            }
        }
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        transfer_result.unwrap_or(Ok(()))?;
        match hash_result {
            Some(Err(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// fsyncs every directory a file was renamed into (each file's data was fsynced
    /// before its rename). A directory that cannot be synced takes its files' verified
    /// mark with it: they are fetched again by the next run.
    fn sync_dirs(&mut self) {
        let mut dirs: std::collections::BTreeMap<&Path, Option<String>> = Default::default();
        for (rec, target) in self.records.iter().zip(&self.targets) {
            if let (true, Some(parent)) = (rec.verified, target.parent()) {
                dirs.entry(parent).or_insert(None);
            }
        }
        for (dir, err) in dirs.iter_mut() {
            if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
                *err = Some(e.to_string());
            }
        }
        for (rec, target) in self.records.iter_mut().zip(&self.targets) {
            let failed = target
                .parent()
                .and_then(|p| dirs.get(p))
                .and_then(Option::as_ref);
            if let (true, Some(e)) = (rec.verified, failed) {
                rec.verified = false;
                rec.error = Some(format!("not durable: fsync of its directory failed: {e}"));
            }
        }
    }

    /// Decides a file once both the landing and the phone's hash are known.
    fn settle(&mut self, i: usize, reporter: &dyn Reporter, serial: &str) {
        let (Some(landing), Some(phone)) = (&self.landed[i], &self.phone[i]) else {
            if let Some(Landing::Landed(l)) = &self.landed[i] {
                self.records[i].sha256 = l.sha256.clone();
                self.records[i].error = Some("not verified: the phone has not confirmed it".into());
            }
            return;
        };
        let rec = &mut self.records[i];
        let target = &self.targets[i];
        match landing {
            Landing::Landed(l) => {
                rec.sha256 = l.sha256.clone();
                match phone {
                    Some(h) if *h == l.sha256 && l.size == rec.size => {
                        rec.verified = true;
                        rec.error = None;
                    }
                    Some(h) => {
                        rec.error = Some(format!(
                            "sha256 differs: the phone has {h}, received {}; the new copy was removed (an earlier copy, if any, is kept)",
                            l.sha256
                        ));
                        rec.sha256 = String::new();
                        let _ = std::fs::remove_file(target);
                    }
                    None => {
                        rec.error = Some("not verified: sha256sum on the phone gave no hash".into())
                    }
                }
            }
            Landing::Refused(why) | Landing::Failed(why) => rec.error = Some(why.clone()),
        }
        reporter.file_done(serial, &rec.path);
    }

    /// Records for the manifest: all but the files the phone refused (those are
    /// listed as skipped, with why).
    fn kept(&self) -> Vec<FileRecord> {
        self.records
            .iter()
            .zip(&self.landed)
            .filter(|(_, l)| !matches!(l, Some(Landing::Refused(_))))
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Files that failed (for the summary) and those the phone refused (skipped).
    fn failures(&self, todo: &[PlannedFile]) -> (Vec<Failed>, Vec<Skipped>) {
        let mut failed = Vec::new();
        let mut skipped = Vec::new();
        for (i, rec) in self.records.iter().enumerate() {
            if rec.verified {
                continue;
            }
            let why = rec.error.clone().unwrap_or_default();
            if let Some(Landing::Refused(_)) = &self.landed[i] {
                skipped.push(Skipped {
                    path: todo[i].rel.clone(),
                    reason: why,
                });
            } else {
                failed.push(Failed {
                    path: rec.path.clone(),
                    why,
                });
            }
        }
        (failed, skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_reads_model_serial_and_a_plausible_imei_only() {
        // Lines: model, ro.ril.miui.imei0, ro.ril.oem.imei, then the serial props.
        let id = parse_identity("Redmi Note 10 Pro\r\n\r\n861234567890123\r\n86ab1c2d\r\n\r\n\r\n");
        assert_eq!(id.model.as_deref(), Some("Redmi Note 10 Pro"));
        assert_eq!(id.hardware_serial.as_deref(), Some("86ab1c2d"));
        assert_eq!(id.imei.as_deref(), Some("861234567890123"));
        assert_eq!(parse_identity(""), Identity::default());
        // A serial made of digits is not taken for the IMEI, nor the reverse.
        let id = parse_identity("\nnot-an-imei\n12\n12345678901234\n");
        assert_eq!(id.hardware_serial.as_deref(), Some("12345678901234"));
        assert_eq!((id.model, id.imei), (None, None));
        // Placeholders are skipped for the next prop, as the inspection does.
        for junk in ["unknown", "000000", "a b", "0123456789ABCDEF"] {
            let id = parse_identity(&format!("m\n\n\n{junk}\n\n\n"));
            assert_eq!(id.hardware_serial, None, "{junk}");
            let id = parse_identity(&format!("m\n\n\n{junk}\nboot1234\n\n"));
            assert_eq!(id.hardware_serial.as_deref(), Some("boot1234"), "{junk}");
        }
    }

    #[test]
    fn a_previous_manifest_is_matched_on_the_hardware_serial_when_known() {
        let old = |adb: &str, hw: Option<&str>| manifest::Device {
            serial: adb.into(),
            hardware_serial: hw.map(Into::into),
            model: None,
            imei: None,
        };
        let now = |hw: Option<&str>| Identity {
            hardware_serial: hw.map(Into::into),
            ..Identity::default()
        };
        // Same phone, now over TCP: its own.
        assert_eq!(
            other_phone(&old("USB1", Some("hw")), "10.0.0.5:5555", &now(Some("hw"))),
            None
        );
        // Same shared adb serial, another phone: refused.
        assert_eq!(
            other_phone(
                &old("0123456789ABCDEF", Some("hwA")),
                "0123456789ABCDEF",
                &now(Some("hwB"))
            ),
            Some("hwA".into())
        );
        // An older manifest without the hardware serial: the adb serial decides.
        assert_eq!(other_phone(&old("S1", None), "S1", &now(Some("hw"))), None);
        assert_eq!(
            other_phone(&old("S1", None), "S2", &now(Some("hw"))),
            Some("S1".into())
        );
    }

    #[test]
    fn apps_are_parsed_tolerantly() {
        let out = "package:com.whatsapp versionCode:231\r\npackage:org.telegram versionCode:5\ngarbage\npackage:\npackage:com.novc\n";
        let a = parse_apps(out);
        let names: Vec<&str> = a.iter().map(|x| x.package.as_str()).collect();
        assert_eq!(names, ["com.novc", "com.whatsapp", "org.telegram"]);
        assert_eq!(a[1].version.as_deref(), Some("231"));
        assert_eq!(a[0].version, None);
    }

    fn planned(n: usize) -> Vec<PlannedFile> {
        (0..n)
            .map(|i| PlannedFile {
                rel: format!("DCIM/{i}.jpg"),
                size: 3,
                mtime: 1,
            })
            .collect()
    }

    #[test]
    fn a_file_is_verified_only_when_the_phone_agrees_and_a_mismatch_is_removed() {
        let d = tempfile::tempdir().unwrap();
        let todo = planned(4);
        let targets: Vec<PathBuf> = (0..4).map(|i| d.path().join(format!("{i}"))).collect();
        for t in &targets {
            std::fs::write(t, b"abc").unwrap();
        }
        let mut t = Transfer::new(&todo, targets.clone());
        let good = manifest::sha256_hex(b"abc");
        let landed = Landing::Landed(Landed {
            sha256: good.clone(),
            size: 3,
        });
        let r = crate::progress::Silent;
        // 0: both agree. 1: the phone has other bytes. 2: the phone gave no hash.
        // 3: the phone refused to send it.
        for i in 0..3 {
            t.landed[i] = Some(landed.clone());
            t.settle(i, &r, "s");
            assert!(!t.records[i].verified, "verified before the phone answered");
        }
        t.landed[3] = Some(Landing::Refused("Permission denied".into()));
        t.phone[0] = Some(Some(good.clone()));
        t.phone[1] = Some(Some("0".repeat(64)));
        t.phone[2] = Some(None);
        t.phone[3] = Some(None);
        for i in 0..4 {
            t.settle(i, &r, "s");
        }
        assert!(t.records[0].verified);
        assert!(!t.records[1].verified && !targets[1].exists());
        assert!(!t.records[2].verified && targets[2].exists());
        let (failed, skipped) = t.failures(&todo);
        let failed: Vec<&str> = failed.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(failed, ["DCIM/1.jpg", "DCIM/2.jpg"]);
        assert_eq!(skipped.len(), 1);
        assert_eq!(t.kept().len(), 3);
    }

    /// Regression: a resumed run renamed the new copy over an earlier verified one and
    /// then, on a hash mismatch, deleted it: the owner's bytes were gone from the host.
    #[test]
    fn an_unverified_replacement_gives_the_earlier_copy_back() {
        let d = tempfile::tempdir().unwrap();
        let targets: Vec<PathBuf> = (0..3).map(|i| d.path().join(format!("{i}.jpg"))).collect();
        std::fs::write(&targets[0], b"old0").unwrap();
        std::fs::write(&targets[1], b"old1").unwrap();
        let earlier = keep_earlier(&targets);
        assert_eq!(earlier, [true, true, false]);
        // The new copies land under the real names; 0 verifies, 1 is removed for a
        // mismatch (as `settle` does), 2 was new and fails too.
        for (t, body) in targets.iter().zip([&b"new0"[..], b"new1", b"new2"]) {
            let part = paths::partial_path(t);
            std::fs::write(&part, body).unwrap();
            std::fs::rename(&part, t).unwrap();
        }
        std::fs::remove_file(&targets[1]).unwrap();
        settle_earlier(&targets, &earlier, &[true, false, false]);
        assert_eq!(std::fs::read(&targets[0]).unwrap(), b"new0");
        assert_eq!(std::fs::read(&targets[1]).unwrap(), b"old1");
        assert_eq!(std::fs::read(&targets[2]).unwrap(), b"new2");
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(left.len(), 3, "no second names left behind");
    }

    #[test]
    fn resume_keeps_only_unchanged_verified_files() {
        let d = tempfile::tempdir().unwrap();
        let data = d.path().join("data");
        std::fs::create_dir_all(data.join("DCIM")).unwrap();
        let todo = planned(3);
        let mut prev = Manifest::new(
            manifest::Device {
                serial: "s".into(),
                hardware_serial: None,
                model: None,
                imei: None,
            },
            vec![],
        );
        for f in &todo {
            std::fs::write(data.join(&f.rel), b"abc").unwrap();
            prev.files.push(FileRecord {
                path: f.rel.clone(),
                size: 3,
                mtime: 1,
                sha256: manifest::sha256_hex(b"abc"),
                verified: true,
                error: None,
            });
        }
        // 1 was altered on the host (same size), 2 changed on the phone (mtime).
        std::fs::write(data.join("DCIM/1.jpg"), b"abX").unwrap();
        let mut now = todo.clone();
        now[2].mtime = 2;
        let (carried, fetch) = resume(Some(&prev), now, &data);
        assert_eq!(carried.len(), 1);
        assert_eq!(carried[0].path, "DCIM/0.jpg");
        let f: Vec<&str> = fetch.iter().map(|x| x.rel.as_str()).collect();
        assert_eq!(f, ["DCIM/1.jpg", "DCIM/2.jpg"]);
        assert_eq!(resume(None, todo.clone(), &data).1.len(), 3);
    }
}
