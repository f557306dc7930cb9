//! The owner's files under `/sdcard`, generated from a seed into the phone's host
//! directory: the folders a Xiaomi user has (DCIM/Camera, Screenshots, MIUI backups,
//! sound recordings…), names a backup tool must survive (spaces, quotes, `$`, `;`,
//! Chinese, emoji, a very long path), empty folders, 0-byte files, a symlink, a file the
//! shell cannot read, and optionally a few big files. Content and mtimes are
//! deterministic from the seed, so a test can recompute what it expects.
//!
//! This module writes files only; the rules of who may read them live in [`super::fs`].

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::profile::{hash_str, mix};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeSpec {
    /// Ordinary photos, screenshots, downloads, recordings… spread over the folders.
    pub files: usize,
    pub min_size: u64,
    pub max_size: u64,
    /// Sizes of extra big videos in DCIM/Camera (e.g. one of 200 MB).
    pub big_files: Vec<u64>,
}

impl Default for TreeSpec {
    /// Small: about 60 files, 1–3 MB in all, so tests stay fast.
    fn default() -> TreeSpec {
        TreeSpec {
            files: 60,
            min_size: 0,
            max_size: 64 * 1024,
            big_files: Vec::new(),
        }
    }
}

/// Paths (relative to primary storage) the generator makes special, for tests.
pub const UNREADABLE_FILE: &str = "Documents/bank statement (locked).pdf";
pub const SYMLINK: &str = "Documents/latest notes.txt";
pub const PRIVATE_FILE: &str = "Android/data/com.miui.gallery/files/cache.db";

/// Seconds since the epoch around which the owner's files were made (2023-2024).
const EPOCH_BASE: u64 = 1_672_531_200; // 2023-01-01
const SPAN: u64 = 2 * 365 * 86_400;

struct Gen {
    seed: u64,
    counter: u64,
}

impl Gen {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        mix(self.seed ^ self.counter.wrapping_mul(0x2545_F491_4F6C_DD1D))
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next() % (hi - lo + 1)
        }
    }
}

/// Writes SIZE deterministic bytes for PATH (seeded by the path) in 1 MiB chunks.
/// The first bytes look like the file type so `file`-style sniffing is plausible.
pub fn write_content(host: &Path, rel: &str, seed: u64, size: u64) -> io::Result<()> {
    let mut f = File::create(host)?;
    let mut state = mix(seed ^ hash_str(rel));
    let magic: &[u8] = if rel.ends_with(".jpg") {
        &[0xFF, 0xD8, 0xFF, 0xE1]
    } else if rel.ends_with(".mp4") {
        &[0, 0, 0, 0x18, b'f', b't', b'y', b'p']
    } else if rel.ends_with(".pdf") {
        b"%PDF-1.7"
    } else {
        &[]
    };
    let mut left = size;
    let mut first = true;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let bytes = (state ^ (state >> 29)).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        if first {
            let m = magic.len().min(n);
            buf[..m].copy_from_slice(&magic[..m]);
            first = false;
        }
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn set_mtime(path: &Path, secs: u64) -> io::Result<()> {
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    File::options()
        .write(true)
        .open(path)
        .or_else(|_| File::open(path))?
        .set_modified(t)
}

fn date_name(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|d| d.format("%Y%m%d_%H%M%S").to_string())
        .unwrap_or_else(|| "20240101_000000".into())
}

/// Generates the tree into PRIMARY (the host directory behind /storage/emulated/0).
/// Returns the number of bytes written.
pub fn generate(primary: &Path, seed: u64, spec: &TreeSpec) -> io::Result<u64> {
    let mut g = Gen { seed, counter: 0 };
    let mut total = 0u64;
    let mut file = |rel: &str, size: u64, mtime: u64| -> io::Result<()> {
        let host = primary.join(rel);
        if let Some(parent) = host.parent() {
            fs::create_dir_all(parent)?;
        }
        write_content(&host, rel, seed, size)?;
        set_mtime(&host, mtime)?;
        total += size;
        Ok(())
    };

    for dir in [
        "DCIM/Camera",
        "DCIM/.thumbnails",
        "Pictures/Screenshots",
        "Pictures/WhatsApp",
        "Download",
        "Documents",
        "Music",
        "Recordings",
        "MIUI/sound_recorder/call_rec",
        "MIUI/backup/AllBackup",
        "Movies",
        "Alarms",
        "Notifications",
        "Ringtones",
        "Podcasts",
        "Android/media",
        "Android/data/com.miui.gallery/files",
        "Android/obb",
    ] {
        fs::create_dir_all(primary.join(dir))?;
    }

    let mut when = || EPOCH_BASE + g.range(0, SPAN);
    let fixed: Vec<(String, u64)> = vec![
        ("Download/report final (1).pdf".into(), 48_213),
        ("Download/it's a \"quoted\" name.txt".into(), 1_207),
        (
            "Download/$HOME; rm -rf x && echo `id` | cat.txt".into(),
            333,
        ),
        ("Download/发票_2024年3月.pdf".into(), 20_480),
        ("Download/😀 party 🎉.mp4".into(), 65_536),
        ("Download/back\\slash and\ttab.txt".into(), 12),
        ("Documents/notes.txt".into(), 2_048),
        ("Documents/empty.txt".into(), 0),
        (UNREADABLE_FILE.into(), 9_999),
        ("Documents/-starts-with-dash.txt".into(), 100),
        ("Documents/.hidden_config".into(), 64),
        ("Music/Ludovico Einaudi – Nuvole Bianche.mp3".into(), 40_000),
        ("Recordings/Voice 001.m4a".into(), 30_000),
        (
            "MIUI/sound_recorder/录音 2024-03-01 10-00-00.mp3".into(),
            25_000,
        ),
        (
            "MIUI/sound_recorder/call_rec/+8613800138000 (2024-03-02).mp3".into(),
            18_000,
        ),
        (
            "MIUI/backup/AllBackup/20240301_101010/com.whatsapp.bak".into(),
            120_000,
        ),
        (
            "MIUI/backup/AllBackup/20240301_101010/descript.xml".into(),
            1_024,
        ),
        ("MIUI/backup/AllBackup/20240301_101010/empty.bak".into(), 0),
        (PRIVATE_FILE.into(), 4_096),
        ("DCIM/.thumbnails/.nomedia".into(), 0),
    ];
    for (rel, size) in &fixed {
        file(rel, *size, when())?;
    }
    // A very long path: nested folders with long names (over 300 bytes in all).
    let long_dir: String = (0..4)
        .map(|i| format!("very long folder name number {i} {}", "x".repeat(48)))
        .collect::<Vec<_>>()
        .join("/");
    file(
        &format!(
            "Documents/{long_dir}/{}.txt",
            "long file name ".repeat(12).trim_end()
        ),
        777,
        when(),
    )?;

    let folders: &[(&str, &str, &str)] = &[
        ("DCIM/Camera", "IMG_", ".jpg"),
        ("DCIM/Camera", "VID_", ".mp4"),
        ("Pictures/Screenshots", "Screenshot_", "_com.miui.home.jpg"),
        ("Pictures/WhatsApp", "IMG-", "-WA0001.jpg"),
        ("Download", "file_", ".bin"),
        ("Recordings", "Recording_", ".m4a"),
        ("Music", "track ", ".mp3"),
    ];
    for i in 0..spec.files {
        // Most files are camera photos, as on a real phone.
        let pick = if i % 3 == 0 {
            folders[(g.next() % folders.len() as u64) as usize]
        } else {
            folders[0]
        };
        let t = EPOCH_BASE + g.range(0, SPAN);
        let rel = format!("{}/{}{}_{i:03}{}", pick.0, pick.1, date_name(t), pick.2);
        let size = g.range(spec.min_size, spec.max_size);
        file(&rel, size, t)?;
    }
    for (i, size) in spec.big_files.iter().enumerate() {
        let t = EPOCH_BASE + g.range(0, SPAN);
        file(
            &format!("DCIM/Camera/VID_{}_big{i}.mp4", date_name(t)),
            *size,
            t,
        )?;
    }

    // A relative symlink inside the tree (stays inside the phone's root when followed).
    #[cfg(unix)]
    std::os::unix::fs::symlink("notes.txt", primary.join(SYMLINK))?;

    Ok(total)
}

/// Removes everything below DIR (a factory reset of user data), keeping DIR.
pub fn empty_dir(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && !path.is_symlink() {
            fs::remove_dir_all(&path)?;
        } else {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Whether DIR exists and holds anything (a phone's data dir reused across runs).
pub fn has_content(dir: &Path) -> bool {
    fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some())
}

/// Seconds since the epoch of a host file's mtime (0 if unknown).
pub fn mtime_secs(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(root: &Path) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let e = e.unwrap();
                let m = fs::symlink_metadata(e.path()).unwrap();
                if m.is_dir() {
                    stack.push(e.path());
                }
                let rel = e.path().strip_prefix(root).unwrap().display().to_string();
                out.push((rel, if m.is_file() { m.len() } else { 0 }));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn same_seed_same_tree_other_seed_other_tree() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let spec = TreeSpec::default();
        let total = generate(a.path(), 5, &spec).unwrap();
        generate(b.path(), 5, &spec).unwrap();
        generate(c.path(), 6, &spec).unwrap();
        assert_eq!(listing(a.path()), listing(b.path()));
        assert_ne!(listing(a.path()), listing(c.path()));
        assert!(total < 8 << 20, "default tree too big: {total}");
        let photo = listing(a.path())
            .into_iter()
            .find(|(p, s)| p.ends_with(".jpg") && *s > 16)
            .unwrap();
        let x = fs::read(a.path().join(&photo.0)).unwrap();
        let y = fs::read(b.path().join(&photo.0)).unwrap();
        assert_eq!(x, y);
        assert_eq!(&x[..3], &[0xFF, 0xD8, 0xFF]);
        assert!(
            fs::symlink_metadata(a.path().join(SYMLINK))
                .unwrap()
                .is_symlink()
        );
        assert_eq!(
            fs::metadata(a.path().join("Documents/empty.txt"))
                .unwrap()
                .len(),
            0
        );
        let long = listing(a.path())
            .into_iter()
            .map(|(p, _)| p.len())
            .max()
            .unwrap();
        assert!(long > 300);
        empty_dir(a.path()).unwrap();
        assert!(!has_content(a.path()));
    }
}
