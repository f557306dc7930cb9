//! Where a file from the phone lands on the host. Device names are hostile input: a
//! phone (or whatever sits behind adb) may send `..`, absolute paths, NUL bytes or names
//! the host cannot hold. Every device path goes through [`host_path`] before anything is
//! created, and nothing it returns can point outside `DIR/data/`. Knows nothing about
//! adb or the manifest.

use std::path::{Path, PathBuf};

/// Longest single name most Linux file systems accept (NAME_MAX).
const NAME_MAX: usize = 255;

/// Prefix of the temporary names files are written under until they are complete. A
/// phone file whose name starts with it is refused, so that a leftover temporary can
/// never be mistaken for (or overwrite) a real file.
pub const PARTIAL_PREFIX: &str = ".mi-offboard-part-";

/// Why a device path cannot be mapped below the backup's data directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeName {
    #[error("empty path")]
    Empty,
    #[error("absolute path where a relative one was expected")]
    Absolute,
    #[error("path component `{0}` would leave the backup directory")]
    Traversal(String),
    #[error("name contains a NUL byte")]
    Nul,
    #[error("name is {0} bytes long; the host accepts at most {NAME_MAX}")]
    TooLong(usize),
    #[error("name is reserved for the tool's temporary files")]
    Reserved,
}

/// Checks a path relative to /sdcard (components separated by `/`) and returns its
/// components. Empty components (`a//b`) are refused rather than collapsed: a real phone
/// never lists them, so seeing one means the input is not what it claims to be.
pub fn components(rel: &str) -> Result<Vec<&str>, UnsafeName> {
    if rel.is_empty() {
        return Err(UnsafeName::Empty);
    }
    if rel.starts_with('/') {
        return Err(UnsafeName::Absolute);
    }
    if rel.contains('\0') {
        return Err(UnsafeName::Nul);
    }
    rel.split('/').map(check_name).collect()
}

/// Checks one name as a directory listing gives it.
pub fn check_name(name: &str) -> Result<&str, UnsafeName> {
    match name {
        "" => Err(UnsafeName::Empty),
        "." | ".." => Err(UnsafeName::Traversal(name.to_string())),
        _ if name.contains('\0') => Err(UnsafeName::Nul),
        _ if name.contains('/') => Err(UnsafeName::Traversal(name.to_string())),
        _ if name.len() > NAME_MAX => Err(UnsafeName::TooLong(name.len())),
        _ if name.starts_with(PARTIAL_PREFIX) => Err(UnsafeName::Reserved),
        _ => Ok(name),
    }
}

/// The host path of a device path relative to /sdcard, below `data_dir`.
pub fn host_path(data_dir: &Path, rel: &str) -> Result<PathBuf, UnsafeName> {
    let mut out = data_dir.to_path_buf();
    for c in components(rel)? {
        out.push(c);
    }
    Ok(out)
}

/// The temporary name a file is written under, in the same directory as its final
/// name (so the rename is atomic). Derived from the final name, so a rerun reuses and
/// overwrites the leftover of an interrupted run instead of piling up new ones, and
/// short whatever the final name's length.
pub fn partial_path(final_path: &Path) -> PathBuf {
    use sha2::Digest;
    let name = final_path
        .file_name()
        .map(|n| n.as_encoded_bytes().to_vec())
        .unwrap_or_default();
    let digest = sha2::Sha256::digest(&name);
    let tag = hex::encode(&digest[..8]);
    final_path.with_file_name(format!("{PARTIAL_PREFIX}{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_never_leave_the_data_dir() {
        let data = Path::new("/backup/data");
        for bad in [
            "..",
            "../etc/passwd",
            "DCIM/../../x",
            "DCIM/./x",
            "/etc/passwd",
            "DCIM//x",
            "DCIM/a\0b",
            "",
            "DCIM/",
        ] {
            assert!(host_path(data, bad).is_err(), "{bad:?} was accepted");
        }
        let long = "x".repeat(256);
        assert_eq!(
            host_path(data, &format!("DCIM/{long}")),
            Err(UnsafeName::TooLong(256))
        );
    }

    #[test]
    fn shell_hostile_but_legal_names_map_verbatim() {
        let data = Path::new("/backup/data");
        for ok in [
            "DCIM/it's a \"photo\" $HOME; rm -rf ~.jpg",
            "Music/日本語 ünïcödé/♫.mp3",
            "Download/back\\slash\nnewline",
            "Documents/...",
            "Documents/..hidden",
            "Documents/-rf",
        ] {
            let p = host_path(data, ok).unwrap();
            assert!(p.starts_with(data), "{ok:?} -> {p:?}");
            assert_eq!(p, data.join(ok));
        }
    }

    #[test]
    fn temporary_names_are_short_stable_and_reserved() {
        let f = Path::new("/b/data/DCIM").join("y".repeat(255));
        let p = partial_path(&f);
        assert_eq!(p.parent(), f.parent());
        assert!(p.file_name().unwrap().len() < 64);
        assert_eq!(p, partial_path(&f));
        assert_ne!(p, partial_path(Path::new("/b/data/DCIM/z")));
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(check_name(name), Err(UnsafeName::Reserved));
    }
}
