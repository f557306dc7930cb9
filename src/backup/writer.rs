//! Putting one received file on the host: written under a temporary name in its final
//! directory, hashed as the bytes go by (never re-read), mtime set, fsynced, and renamed
//! only when every byte is there — so an interrupted run can leave a temporary file, but
//! never a file under its real name that looks complete and is not. Blocking I/O: it
//! runs on a writer thread, off the async transfer loop. Knows nothing about adb.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::Digest;

use super::paths;

/// A file being received.
pub struct PartFile {
    partial: PathBuf,
    dest: PathBuf,
    out: BufWriter<File>,
    hasher: sha2::Sha256,
    written: u64,
    /// `written` when writeback was last started.
    synced_at: u64,
}

/// See [`PartFile::writeback_due`].
pub const WRITEBACK_EVERY: u64 = 32 * 1024 * 1024;

/// A file whose bytes are all written, not yet durable nor under its real name.
pub struct Complete {
    file: File,
    partial: PathBuf,
    dest: PathBuf,
    landed: Landed,
}

impl Complete {
    /// mtime, fsync, then rename over the real name: after a crash the real name holds
    /// either the old file or every byte of the new one.
    pub fn commit(self, mtime: i64) -> std::io::Result<Landed> {
        let Complete {
            file,
            partial,
            dest,
            landed,
        } = self;
        let result = (|| {
            file.set_modified(system_time(mtime))?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&partial, &dest)
        })();
        match result {
            Ok(()) => Ok(landed),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e)
            }
        }
    }

    /// Gives up: the temporary name is removed.
    pub fn abort(self) {
        drop(self.file);
        let _ = std::fs::remove_file(self.partial);
    }
}

/// A file that landed under its real name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub sha256: String,
    pub size: u64,
}

impl PartFile {
    /// Starts `dest` (which must already be checked by [`paths::host_path`]) under its
    /// temporary name, truncating a leftover of an earlier run.
    pub fn create(dest: PathBuf) -> std::io::Result<PartFile> {
        let partial = paths::partial_path(&dest);
        let file = File::create(&partial)?;
        Ok(PartFile {
            partial,
            dest,
            // Chunks arrive in up to 64 KiB pieces; a larger buffer halves the syscalls.
            out: BufWriter::with_capacity(256 * 1024, file),
            hasher: sha2::Sha256::new(),
            written: 0,
            synced_at: 0,
        })
    }

    pub fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.hasher.update(chunk);
        self.written += chunk.len() as u64;
        self.out.write_all(chunk)
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Completes the file: flush, mtime, fsync, then rename over the real name.
    pub fn finish(self, mtime: i64) -> std::io::Result<Landed> {
        self.complete()?.commit(mtime)
    }

    /// Every byte is in the page cache: hands over what [`Complete::commit`] needs, so
    /// the slow part (waiting for the disk) can run on another thread while the next
    /// file streams in.
    pub fn complete(self) -> std::io::Result<Complete> {
        let PartFile {
            partial,
            dest,
            out,
            hasher,
            written,
            ..
        } = self;
        match out.into_inner() {
            Ok(file) => Ok(Complete {
                file,
                partial,
                dest,
                landed: Landed {
                    sha256: hex::encode(hasher.finalize()),
                    size: written,
                },
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e.into_error())
            }
        }
    }

    /// For a big file, every [`WRITEBACK_EVERY`] bytes: a second handle on the file, so
    /// another thread can start its writeback (`sync_data`) while this one writes on.
    /// Without it the kernel waits until gigabytes are dirty and the final fsync of a
    /// large file stalls the run for as long as the disk needs.
    pub fn writeback_due(&mut self) -> Option<File> {
        if self.written - self.synced_at < WRITEBACK_EVERY {
            return None;
        }
        self.synced_at = self.written;
        self.out.flush().ok()?;
        self.out.get_ref().try_clone().ok()
    }

    /// Gives up on the file: the temporary name is removed, the real name untouched.
    pub fn abort(self) {
        let partial = self.partial.clone();
        drop(self);
        let _ = std::fs::remove_file(partial);
    }
}

fn system_time(mtime: i64) -> SystemTime {
    if mtime >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(mtime as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(mtime.unsigned_abs())
    }
}

/// Creates directories below the data directory, refusing to go through anything that
/// is not a plain directory (a symlink planted in DIR/data must not redirect writes
/// outside it). Remembers what it made so each directory is checked once.
#[derive(Debug)]
pub struct DirMaker {
    data: PathBuf,
    known: HashSet<PathBuf>,
}

impl DirMaker {
    pub fn new(data: &Path) -> std::io::Result<DirMaker> {
        std::fs::create_dir_all(data)?;
        Ok(DirMaker {
            data: data.to_path_buf(),
            known: HashSet::new(),
        })
    }

    /// Makes sure the directory `rel` (relative to /sdcard, already checked) exists.
    pub fn ensure(&mut self, rel: &str) -> std::io::Result<PathBuf> {
        let mut at = self.data.clone();
        if rel.is_empty() {
            return Ok(at);
        }
        for c in rel.split('/') {
            at.push(c);
            if self.known.contains(&at) {
                continue;
            }
            match std::fs::symlink_metadata(&at) {
                Ok(md) if md.is_dir() => {}
                Ok(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        format!("{} exists and is not a directory", at.display()),
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&at)?;
                }
                Err(e) => return Err(e),
            }
            self.known.insert(at.clone());
        }
        Ok(at)
    }

    /// The directory part of a file path relative to /sdcard.
    pub fn ensure_parent_of(&mut self, rel_file: &str) -> std::io::Result<PathBuf> {
        let parent = rel_file.rsplit_once('/').map_or("", |(d, _)| d);
        self.ensure(parent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_under_its_name_only_when_finished() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("it's $x.jpg");
        let mut p = PartFile::create(dest.clone()).unwrap();
        p.write(b"hello ").unwrap();
        p.write(b"world").unwrap();
        assert!(!dest.exists());
        assert!(paths::partial_path(&dest).exists());
        let landed = p.finish(1_600_000_000).unwrap();
        assert_eq!(landed.size, 11);
        assert_eq!(
            landed.sha256,
            crate::backup::manifest::sha256_hex(b"hello world")
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello world");
        assert!(!paths::partial_path(&dest).exists());
        let mtime = std::fs::metadata(&dest).unwrap().modified().unwrap();
        assert_eq!(mtime, system_time(1_600_000_000));
    }

    #[test]
    fn an_aborted_file_leaves_nothing_and_keeps_an_older_copy() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("a");
        std::fs::write(&dest, b"old").unwrap();
        let mut p = PartFile::create(dest.clone()).unwrap();
        p.write(b"half").unwrap();
        p.abort();
        assert_eq!(std::fs::read(&dest).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_empty_file_is_a_file() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("zero");
        let landed = PartFile::create(dest.clone()).unwrap().finish(0).unwrap();
        assert_eq!(landed.size, 0);
        assert_eq!(std::fs::metadata(&dest).unwrap().len(), 0);
    }

    #[test]
    fn directories_are_not_made_through_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let data = d.path().join("data");
        let mut m = DirMaker::new(&data).unwrap();
        assert_eq!(m.ensure("DCIM/Camera").unwrap(), data.join("DCIM/Camera"));
        std::os::unix::fs::symlink(outside.path(), data.join("evil")).unwrap();
        assert!(m.ensure("evil/x").is_err());
        assert!(m.ensure_parent_of("evil/x/y.jpg").is_err());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert_eq!(m.ensure_parent_of("top.txt").unwrap(), data);
    }
}
