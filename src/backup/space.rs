//! Will the backup fit? Asked before the first byte moves, from the file system's own
//! count of space available to this user (statvfs, through the `fs4` crate), against
//! the bytes still to fetch plus what the file system spends on them.

use std::path::Path;

/// Headroom for the manifest, directories and temporary files.
const MARGIN: u64 = 16 * 1024 * 1024;
/// Each file costs up to one block beyond its bytes.
const PER_FILE: u64 = 4096;

/// Space the backup needs for `files` files totalling `bytes`.
pub fn required(bytes: u64, files: u64) -> u64 {
    bytes
        .saturating_add(files.saturating_mul(PER_FILE))
        .saturating_add(MARGIN)
}

/// Bytes available to us on the file system that holds `dir` (or its nearest existing
/// ancestor, since the backup directory may not exist yet).
pub fn available(dir: &Path) -> std::io::Result<u64> {
    let mut at = dir;
    loop {
        if at.exists() {
            return fs4::available_space(at);
        }
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => return fs4::available_space("."),
        }
    }
}

/// `Err((needed, available))` when it will not fit.
pub fn check(bytes: u64, files: u64, available: u64) -> Result<(), (u64, u64)> {
    let needed = required(bytes, files);
    if needed > available {
        Err((needed, available))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_when_the_files_and_their_overhead_do_not_fit() {
        assert!(check(1_000, 1, 100 * 1024 * 1024).is_ok());
        let (needed, avail) = check(100 * 1024 * 1024, 10, 100 * 1024 * 1024).unwrap_err();
        assert!(needed > avail);
        assert!(check(u64::MAX, u64::MAX, u64::MAX - 1).is_err());
    }

    #[test]
    fn available_space_is_read_for_a_directory_not_yet_made() {
        let d = tempfile::tempdir().unwrap();
        let n = available(&d.path().join("not/yet/made")).unwrap();
        assert!(n > 0);
    }
}
