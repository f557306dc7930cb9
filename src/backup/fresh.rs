//! Is a finished backup still the phone's? A backup can be days old when the reset comes
//! (a journey resumed after a failed sign-out, `reset --backup` with an old folder), and
//! whatever the owner made since would be erased. So, just before a reset, the phone's
//! backed-up roots are listed again in one sync session (no file is read) and compared
//! with the manifest: same paths, sizes and mtimes. Files deleted on the phone since do
//! not matter; new or changed ones make the backup out of date. Knows nothing of resets.

use std::collections::HashSet;
use std::path::Path;

use super::engine::walk;
use super::manifest::{self, Manifest};
use super::plan;
use crate::adb::Device;

/// How many out-of-date paths a refusal names.
const EXAMPLES: usize = 3;

/// The outcome of comparing a backup with the phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Recheck {
    /// Every file on the phone is in the backup, unchanged.
    Current { files: usize },
    /// Files are on the phone that the backup lacks or holds in another version.
    Stale {
        count: usize,
        /// When the backup finished (RFC 3339), or "an unfinished run".
        since: String,
        /// The first few such paths, relative to /sdcard.
        examples: Vec<String>,
    },
    /// The comparison could not be made (no manifest, phone lost): never "current".
    Failed { why: String },
}

impl Recheck {
    /// The sentence for a refusal; None when the backup is current.
    pub fn problem(&self) -> Option<String> {
        match self {
            Recheck::Current { .. } => None,
            Recheck::Stale {
                count,
                since,
                examples,
            } => Some(format!(
                "backup is out of date: {count} file{} new or changed since {since} (e.g. {}); run the backup again (it resumes and copies only those)",
                if *count == 1 { "" } else { "s" },
                examples.join(", ")
            )),
            Recheck::Failed { why } => Some(format!(
                "the backup could not be compared with the phone's files: {why}"
            )),
        }
    }
}

/// Lists the manifest's roots on the phone behind `device` and compares.
pub async fn recheck(device: &Device, dir: &Path) -> Recheck {
    let m = match manifest::load(dir) {
        Ok((m, _)) => m,
        Err(e) => return Recheck::Failed { why: e.to_string() },
    };
    let listed = async {
        let mut session = device.sync().await?;
        let r = walk(&mut session, &m.roots).await;
        let _ = session.quit().await;
        r
    };
    match listed.await {
        Ok((entries, _missing, odd)) => {
            let odd: Vec<String> = odd.into_iter().map(|s| s.path).collect();
            compare(&m, plan::plan(entries), &odd)
        }
        Err(e) => Recheck::Failed {
            why: format!("listing the phone's files failed: {e}"),
        },
    }
}

/// Pure: what on the phone (`now`, plus names that are not UTF-8) the manifest lacks.
/// A path the backup skipped because it could not keep its data (the phone would not
/// send it, a name the host cannot store) is not new: the proof reports those itself and
/// the reset refuses them unless accepted. A path skipped as not being a regular file
/// (a FIFO, a socket) that holds a file now is new data.
pub fn compare(m: &Manifest, now: plan::Plan, odd: &[String]) -> Recheck {
    let recorded: std::collections::HashMap<&str, (u64, i64)> = m
        .files
        .iter()
        .map(|f| (f.path.as_str(), (f.size, f.mtime)))
        .collect();
    let lost = m.lost();
    let excused: HashSet<&str> = lost.iter().map(|s| s.path.as_str()).collect();
    let mut out: Vec<String> = now
        .files
        .iter()
        .filter(|f| recorded.get(f.rel.as_str()) != Some(&(f.size, f.mtime)))
        .filter(|f| !excused.contains(f.rel.as_str()))
        .map(|f| f.rel.clone())
        .chain(
            now.skipped
                .iter()
                .filter(|s| plan::loses_data(s) && !excused.contains(s.path.as_str()))
                .map(|s| s.path.clone()),
        )
        .chain(
            odd.iter()
                .filter(|p| !excused.contains(p.as_str()))
                .cloned(),
        )
        .collect();
    if out.is_empty() {
        return Recheck::Current {
            files: now.files.len(),
        };
    }
    out.sort();
    Recheck::Stale {
        count: out.len(),
        since: m
            .finished
            .clone()
            .unwrap_or_else(|| "an unfinished run".to_owned()),
        examples: out.into_iter().take(EXAMPLES).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::{Device as Dev, FileRecord};
    use crate::backup::plan::{Entry, Kind, Skipped};

    fn manifest() -> Manifest {
        let mut m = Manifest::new(
            Dev {
                serial: "S".into(),
                hardware_serial: None,
                model: None,
                imei: None,
            },
            vec!["DCIM".into()],
        );
        for (p, size) in [("DCIM/a.jpg", 3), ("DCIM/b.jpg", 4)] {
            m.files.push(FileRecord {
                path: p.into(),
                size,
                mtime: 100,
                sha256: String::new(),
                verified: true,
                error: None,
            });
        }
        m.skipped.push(Skipped {
            path: "DCIM/locked.jpg".into(),
            reason: "the phone refused to send it: Permission denied".into(),
        });
        m.finished = Some("2024-05-01T10:00:00Z".into());
        m
    }

    fn file(rel: &str, size: u64, mtime: i64) -> Entry {
        Entry {
            rel: rel.into(),
            kind: Kind::File,
            size,
            mtime,
        }
    }

    #[test]
    fn the_same_listing_is_current_and_deletions_do_not_matter() {
        let now = plan::plan([file("DCIM/a.jpg", 3, 100), file("DCIM/locked.jpg", 9, 5)]);
        assert_eq!(
            compare(&manifest(), now, &[]),
            Recheck::Current { files: 2 }
        );
        assert_eq!(Recheck::Current { files: 2 }.problem(), None);
    }

    #[test]
    fn new_changed_and_unkeepable_names_make_it_stale() {
        let now = plan::plan([
            file("DCIM/a.jpg", 3, 101),
            file("DCIM/b.jpg", 5, 100),
            file("DCIM/new photo.jpg", 1, 200),
            Entry {
                rel: "DCIM/fifo".into(),
                kind: Kind::Other,
                size: 0,
                mtime: 1,
            },
        ]);
        let r = compare(&manifest(), now, &["/sdcard/DCIM/\u{fffd}.jpg".into()]);
        let Recheck::Stale {
            count,
            since,
            examples,
        } = &r
        else {
            panic!("{r:?}");
        };
        assert_eq!(*count, 4);
        assert_eq!(since, "2024-05-01T10:00:00Z");
        assert_eq!(examples.len(), EXAMPLES);
        let p = r.problem().unwrap_or_default();
        assert!(
            p.starts_with(
                "backup is out of date: 4 files new or changed since 2024-05-01T10:00:00Z (e.g. "
            ) && p.ends_with("; run the backup again (it resumes and copies only those)"),
            "{p}"
        );
    }

    /// Skipped as a FIFO then, a photo now: the backup never held its bytes.
    #[test]
    fn a_special_file_that_became_a_regular_file_makes_it_stale() {
        let mut m = manifest();
        m.skipped.push(Skipped {
            path: "DCIM/pipe".into(),
            reason: plan::NOT_REGULAR.into(),
        });
        let same = plan::plan([Entry {
            rel: "DCIM/pipe".into(),
            kind: Kind::Other,
            size: 0,
            mtime: 1,
        }]);
        assert_eq!(compare(&m, same, &[]), Recheck::Current { files: 0 });
        let now = plan::plan([file("DCIM/pipe", 2_000_000, 300)]);
        let r = compare(&m, now, &[]);
        assert!(
            matches!(&r, Recheck::Stale { count: 1, examples, .. } if examples == &["DCIM/pipe"]),
            "{r:?}"
        );
    }

    #[test]
    fn a_comparison_that_failed_is_a_problem() {
        let r = Recheck::Failed {
            why: "phone lost".into(),
        };
        assert!(r.problem().is_some_and(|p| p.contains("phone lost")));
    }
}
