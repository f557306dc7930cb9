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
        let PartFile {
            partial,
            dest,
            out,
            hasher,
            written,
        } = self;
        let result = (|| {
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.set_modified(system_time(mtime))?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&partial, &dest)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        Ok(Landed {
            sha256: hex::encode(hasher.finalize()),
            size: written,
        })
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
