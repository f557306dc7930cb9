//! The phone's file system as the shell and the sync service see it: device paths
//! (`/sdcard/…`, `/storage/emulated/0/…`, `/data/local/tmp/…`) mapped onto one host
//! directory per phone, with Android's aliases, its read-only places and the folders
//! the shell user may not read (`Android/data` on Android 11+).
//!
//! Paths are normalised lexically and clamped at the phone's root, so no device path
//! (`..`, absolute, hostile bytes) can reach outside the phone's host directory.
//! This module knows nothing of commands or accounts.

use std::path::{Path, PathBuf};

/// The primary shared storage; `/sdcard` and friends are aliases of it.
pub const PRIMARY: &str = "/storage/emulated/0";
pub const TMP: &str = "/data/local/tmp";

const ALIASES: &[&str] = &[
    "/sdcard",
    "/storage/self/primary",
    "/mnt/sdcard",
    "/mnt/user/0/primary",
];

/// Folders (below primary storage) the shell user cannot read on Android 11+.
const PRIVATE: &[&str] = &["Android/data", "Android/obb"];

/// errno values the sync service sends back.
pub const ENOENT: i32 = 2;
pub const EACCES: i32 = 13;

#[derive(Debug, Clone)]
pub struct Fs {
    root: PathBuf,
    /// Single files (device paths) the shell may list but not read.
    unreadable: Vec<String>,
}

impl Fs {
    pub fn new(root: PathBuf) -> Fs {
        Fs {
            root,
            unreadable: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host directory behind `/storage/emulated/0`.
    pub fn primary(&self) -> PathBuf {
        self.root.join(&PRIMARY[1..])
    }

    pub fn tmp(&self) -> PathBuf {
        self.root.join(&TMP[1..])
    }

    pub fn mark_unreadable(&mut self, device_path: &str) {
        self.unreadable.push(normalize("/", device_path));
    }

    /// Device path (absolute, normalised, aliases resolved) of PATH typed relative to CWD.
    pub fn canonical(&self, cwd: &str, path: &str) -> String {
        normalize(cwd, path)
    }

    /// The host path behind a device path (any path under the phone's root maps).
    pub fn host(&self, cwd: &str, path: &str) -> PathBuf {
        let canon = normalize(cwd, path);
        let rel = canon.trim_start_matches('/');
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// Whether the shell user may read what is at this (canonical) device path.
    pub fn readable(&self, canon: &str) -> bool {
        if self.unreadable.iter().any(|u| u == canon) {
            return false;
        }
        if let Some(rest) = strip_dir(canon, PRIMARY) {
            return !PRIVATE.iter().any(|p| strip_dir(rest, p).is_some());
        }
        // `/data` itself and everything under it but local/tmp is closed to the shell.
        !(strip_dir(canon, "/data").is_some()
            && strip_dir(canon, TMP).is_none()
            && canon != "/data/local")
    }

    /// Whether the shell user may create, change or remove what is at this path.
    pub fn writable(&self, canon: &str) -> bool {
        (strip_dir(canon, PRIMARY).is_some_and(|r| !r.is_empty())
            || strip_dir(canon, TMP).is_some_and(|r| !r.is_empty()))
            && self.readable(canon)
    }

    /// Creates the skeleton of the root file system (mount points, build.prop).
    pub fn create_skeleton(&self, build_prop: &str) -> std::io::Result<()> {
        for d in [
            PRIMARY,
            TMP,
            "/system/bin",
            "/vendor",
            "/proc",
            "/dev",
            "/data/app",
            "/odm",
            "/product",
            "/system_ext",
            "/apex",
            "/cache",
        ] {
            std::fs::create_dir_all(self.root.join(&d[1..]))?;
        }
        std::fs::write(self.root.join("system/build.prop"), build_prop)
    }
}

/// The part of PATH below DIR ("" for DIR itself), if PATH is DIR or below it.
fn strip_dir<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(dir)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

/// Lexical normalisation: joins PATH onto CWD, resolves `.`/`..` (clamped at `/`),
/// collapses slashes and rewrites the aliases of primary storage.
pub fn normalize(cwd: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{cwd}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut canon = format!("/{}", parts.join("/"));
    for alias in ALIASES {
        if let Some(rest) = strip_dir(&canon, alias) {
            canon = if rest.is_empty() {
                PRIMARY.to_string()
            } else {
                format!("{PRIMARY}/{rest}")
            };
            break;
        }
    }
    canon
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_and_dots_resolve_and_never_escape_the_root() {
        assert_eq!(normalize("/", "/sdcard/DCIM"), "/storage/emulated/0/DCIM");
        assert_eq!(normalize("/", "/sdcard"), PRIMARY);
        assert_eq!(
            normalize("/sdcard", "../../../../etc/passwd"),
            "/etc/passwd"
        );
        assert_eq!(
            normalize("/", "/storage/self/primary//a/./b/"),
            "/storage/emulated/0/a/b"
        );
        assert_eq!(normalize("/data/local/tmp", "x"), "/data/local/tmp/x");
        let fs = Fs::new(PathBuf::from("/tmp/root"));
        assert_eq!(fs.host("/", "/../../x"), PathBuf::from("/tmp/root/x"));
        assert!(fs.host("/", "/sdcard/../../../..").starts_with("/tmp/root"));
    }

    #[test]
    fn private_folders_and_data_are_closed_to_the_shell() {
        let mut fs = Fs::new(PathBuf::from("/r"));
        fs.mark_unreadable("/sdcard/Documents/secret.db");
        assert!(!fs.readable("/storage/emulated/0/Android/data/com.x"));
        assert!(!fs.readable("/storage/emulated/0/Android/data"));
        assert!(fs.readable("/storage/emulated/0/Android"));
        assert!(fs.readable("/storage/emulated/0/Android/media"));
        assert!(!fs.readable("/storage/emulated/0/Documents/secret.db"));
        assert!(!fs.readable("/data/data"));
        assert!(fs.readable("/data/local/tmp/a"));
        assert!(fs.writable("/storage/emulated/0/x"));
        assert!(!fs.writable("/storage/emulated/0"));
        assert!(!fs.writable("/system/x"));
    }
}
