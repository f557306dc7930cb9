//! What to back up: which folders below /sdcard (the defaults, `--include`, `--all`),
//! and, once the phone's tree has been listed, which entries become files to fetch,
//! directories to create, symlinks to record and entries to skip (with why). Pure: it
//! sees a listing, never a connection.

use super::paths;

/// Root of the owner's shared storage on every Android phone the tool supports.
pub const SDCARD: &str = "/sdcard";

/// Folders that hold people's data on a Xiaomi phone, relative to /sdcard.
/// `MIUI/sound_recorder` is where MIUI's recorder app saves; `MIUI/backup` holds
/// Xiaomi's own local backups (app data the owner may want back).
pub const DEFAULT_FOLDERS: &[&str] = &[
    "DCIM",
    "Pictures",
    "Movies",
    "Music",
    "Download",
    "Documents",
    "Recordings",
    "MIUI/sound_recorder",
    "MIUI/backup",
];

/// Since Android 11 the shell user cannot read other apps' private storage, so these
/// are skipped (and said so) rather than failing the backup.
pub const UNREADABLE_OVER_ADB: &[&str] = &["Android/data", "Android/obb"];

/// Other spellings of /sdcard a user may type for `--include`.
const SDCARD_ALIASES: &[&str] = &["/sdcard", "/storage/emulated/0", "/storage/self/primary"];

/// Why a special file is skipped: it has no bytes to keep, so nothing is lost.
pub const NOT_REGULAR: &str = "not a regular file (device, socket or pipe)";

/// Whether a skipped entry is an owner's file whose bytes the backup does not hold (and
/// a reset would erase): not the app-data folders (out of scope by design, stated in
/// the manifest's notes) and not special files.
pub fn loses_data(s: &Skipped) -> bool {
    !UNREADABLE_OVER_ADB.contains(&s.path.as_str()) && s.reason != NOT_REGULAR
}

/// Which trees to walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Paths relative to /sdcard; "" is /sdcard itself (`--all`).
    pub roots: Vec<String>,
    /// Roots the user asked for by name: missing ones are failures, not notes.
    pub explicit: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error("--include {path}: only paths below /sdcard can be backed up")]
    OutsideSdcard { path: String },
    #[error("--include {path}: {why}")]
    Unsafe {
        path: String,
        why: paths::UnsafeName,
    },
}

/// Turns `--include` values (absolute below /sdcard, or relative to it) and `--all`
/// into the roots to walk. Overlapping roots are merged so no file is fetched twice.
pub fn select(includes: &[String], all: bool) -> Result<Selection, SelectionError> {
    let mut explicit = Vec::new();
    for raw in includes {
        explicit.push(normalise_include(raw)?);
    }
    let mut roots: Vec<String> = if all {
        vec![String::new()]
    } else {
        DEFAULT_FOLDERS.iter().map(|s| s.to_string()).collect()
    };
    roots.extend(explicit.iter().cloned());
    roots.sort();
    roots.dedup();
    // Drop a root that lies inside another root (sorted, so parents come first).
    let mut merged: Vec<String> = Vec::new();
    for r in roots {
        if !merged.iter().any(|p| is_within(&r, p)) {
            merged.push(r);
        }
    }
    Ok(Selection {
        roots: merged,
        explicit,
    })
}

fn normalise_include(raw: &str) -> Result<String, SelectionError> {
    let trimmed = raw.trim_end_matches('/');
    let rel = if trimmed.starts_with('/') {
        SDCARD_ALIASES
            .iter()
            .find_map(|a| {
                if trimmed == *a {
                    Some("")
                } else {
                    trimmed.strip_prefix(a).and_then(|r| r.strip_prefix('/'))
                }
            })
            .ok_or_else(|| SelectionError::OutsideSdcard {
                path: raw.to_string(),
            })?
    } else {
        trimmed
    };
    if rel.is_empty() {
        return Ok(String::new());
    }
    paths::components(rel).map_err(|why| SelectionError::Unsafe {
        path: raw.to_string(),
        why,
    })?;
    Ok(rel.to_string())
}

/// Whether `path` equals `root` or lies below it ("" is /sdcard, which holds everything).
pub fn is_within(path: &str, root: &str) -> bool {
    root.is_empty()
        || path == root
        || (path.starts_with(root) && path.as_bytes().get(root.len()) == Some(&b'/'))
}

/// The absolute device path of a path relative to /sdcard.
pub fn device_path(rel: &str) -> String {
    if rel.is_empty() {
        SDCARD.to_string()
    } else {
        format!("{SDCARD}/{rel}")
    }
}

/// The kind of a listed entry, from its mode bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

impl Kind {
    pub fn from_mode(mode: u32) -> Kind {
        match mode & 0o170000 {
            0o100000 => Kind::File,
            0o040000 => Kind::Dir,
            0o120000 => Kind::Symlink,
            _ => Kind::Other,
        }
    }
}

/// One entry of the phone's tree, relative to /sdcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub rel: String,
    pub kind: Kind,
    pub size: u64,
    pub mtime: i64,
}

/// A file to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub rel: String,
    pub size: u64,
    pub mtime: i64,
}

/// An entry that is listed in the manifest but not fetched, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// The work for one backup, computed from the listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub files: Vec<PlannedFile>,
    /// Every directory, so empty folders are mirrored too.
    pub dirs: Vec<String>,
    /// Recorded, never followed: a link may point anywhere on the phone.
    pub symlinks: Vec<String>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Sorts a listing into the plan. Entries below the unreadable app folders, and entries
/// whose names the host cannot hold safely, are skipped with a reason.
pub fn plan(entries: impl IntoIterator<Item = Entry>) -> Plan {
    let mut p = Plan::default();
    for e in entries {
        if let Some(u) = UNREADABLE_OVER_ADB.iter().find(|u| is_within(&e.rel, u)) {
            if e.rel == *u {
                p.skipped.push(Skipped {
                    path: e.rel,
                    reason: "not readable over adb on Android 11 and later".into(),
                });
            }
            continue;
        }
        if let Err(why) = paths::components(&e.rel) {
            p.skipped.push(Skipped {
                path: e.rel,
                reason: format!("name cannot be stored safely on this host: {why}"),
            });
            continue;
        }
        match e.kind {
            Kind::File => p.files.push(PlannedFile {
                rel: e.rel,
                size: e.size,
                mtime: e.mtime,
            }),
            Kind::Dir => p.dirs.push(e.rel),
            Kind::Symlink => p.symlinks.push(e.rel),
            Kind::Other => p.skipped.push(Skipped {
                path: e.rel,
                reason: NOT_REGULAR.into(),
            }),
        }
    }
    p.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    p.dirs.sort();
    p.symlinks.sort();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn defaults_are_the_people_folders() {
        let sel = select(&[], false).unwrap();
        assert_eq!(sel.roots.len(), DEFAULT_FOLDERS.len());
        assert!(sel.roots.contains(&"MIUI/sound_recorder".to_string()));
        assert!(sel.explicit.is_empty());
    }

    #[test]
    fn includes_accept_every_spelling_of_sdcard_and_merge_overlaps() {
        let sel = select(
            &s(&[
                "/sdcard/Telegram/",
                "/storage/emulated/0/DCIM/Camera",
                "WhatsApp",
            ]),
            false,
        )
        .unwrap();
        assert!(sel.roots.contains(&"Telegram".to_string()));
        assert!(sel.roots.contains(&"WhatsApp".to_string()));
        assert!(
            !sel.roots.contains(&"DCIM/Camera".to_string()),
            "inside DCIM"
        );
        assert_eq!(sel.explicit, s(&["Telegram", "DCIM/Camera", "WhatsApp"]));

        let all = select(&s(&["Telegram"]), true).unwrap();
        assert_eq!(all.roots, s(&[""]));
    }

    #[test]
    fn includes_outside_sdcard_or_escaping_are_refused() {
        for bad in [
            "/data/data",
            "/sdcardx/a",
            "../x",
            "DCIM/../../x",
            "/sdcard/a/../..",
        ] {
            assert!(select(&s(&[bad]), false).is_err(), "{bad}");
        }
    }

    #[test]
    fn within_respects_component_boundaries() {
        assert!(is_within("DCIM/a.jpg", "DCIM"));
        assert!(is_within("DCIM", "DCIM"));
        assert!(!is_within("DCIMX/a", "DCIM"));
        assert!(is_within("anything", ""));
    }

    #[test]
    fn plan_sorts_entries_and_skips_what_it_must() {
        let e = |rel: &str, kind, size| Entry {
            rel: rel.into(),
            kind,
            size,
            mtime: 1,
        };
        let p = plan(vec![
            e("DCIM/b.jpg", Kind::File, 5),
            e("DCIM/a.jpg", Kind::File, 0),
            e("DCIM/empty", Kind::Dir, 0),
            e("DCIM/link", Kind::Symlink, 0),
            e("DCIM/../evil", Kind::File, 9),
            e("Android/data", Kind::Dir, 0),
            e("Android/data/x/y", Kind::File, 9),
            e("DCIM/fifo", Kind::Other, 0),
        ]);
        assert_eq!(p.files.len(), 2);
        assert_eq!(p.files[0].rel, "DCIM/a.jpg");
        assert_eq!(p.total_bytes(), 5);
        assert_eq!(p.dirs, s(&["DCIM/empty"]));
        assert_eq!(p.symlinks, s(&["DCIM/link"]));
        let skipped: Vec<&str> = p.skipped.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(skipped, ["DCIM/../evil", "Android/data", "DCIM/fifo"]);
    }

    #[test]
    fn modes_map_to_kinds() {
        assert_eq!(Kind::from_mode(0o100644), Kind::File);
        assert_eq!(Kind::from_mode(0o040771), Kind::Dir);
        assert_eq!(Kind::from_mode(0o120777), Kind::Symlink);
        assert_eq!(Kind::from_mode(0o020666), Kind::Other);
        assert_eq!(Kind::from_mode(0), Kind::Other);
    }
}
