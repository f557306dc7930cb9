//! Asking the phone for the sha256 of the files it sent, many files per shell command.
//! File names are hostile (quotes, `$`, `;`, newlines): each path is passed inside
//! single quotes, where a POSIX shell (Android's mksh, toybox) reads every byte
//! literally except `'` itself, which is closed, escaped and reopened. The answer is
//! parsed by position, not by name: before each file the command echoes a marker
//! carrying a per-run random nonce, so no file name (which sha256sum echoes back) can
//! forge a marker or shift the answers. Pure: builds commands, parses output.

use std::ops::Range;

/// Keeps one command well below what every hop accepts: the adb server's 4-hex-digit
/// request length (65535) and old adbd's 4 KiB packets split across WRTEs.
pub const MAX_COMMAND_BYTES: usize = 24 * 1024;

/// Quotes one argument for `sh -c`.
pub fn quote(arg: &str) -> String {
    let mut q = String::with_capacity(arg.len() + 2);
    q.push('\'');
    for ch in arg.chars() {
        if ch == '\'' {
            q.push_str("'\\''");
        } else {
            q.push(ch);
        }
    }
    q.push('\'');
    q
}

/// A nonce hard to guess from a file name: hashed from the clock and the process id.
pub fn nonce() -> String {
    use sha2::Digest;
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!("{t}:{}", std::process::id());
    let d = sha2::Sha256::digest(seed.as_bytes());
    format!("mo{}", hex::encode(&d[..8]))
}

/// One shell command hashing the files `range` of the list it was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub range: Range<usize>,
    pub command: String,
}

/// Splits absolute device paths into commands of at most `max_bytes` (a single path
/// longer than that still gets a command of its own) and at most `max_files` files.
pub fn batches(paths: &[String], nonce: &str, max_bytes: usize, max_files: usize) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut cmd = String::new();
    for (i, p) in paths.iter().enumerate() {
        let part = format!("echo {nonce}:{i};sha256sum {};", quote(p));
        let full = i > start && (cmd.len() + part.len() > max_bytes || i - start >= max_files);
        if full {
            out.push(Batch {
                range: start..i,
                command: std::mem::take(&mut cmd),
            });
            start = i;
        }
        cmd.push_str(&part);
    }
    if start < paths.len() {
        out.push(Batch {
            range: start..paths.len(),
            command: cmd,
        });
    }
    out
}

/// Reads the output of a batch: for each file of `range`, its lowercase hex sha256, or
/// `None` when the phone printed none (unreadable, vanished). Tolerates CRLF (shell v1
/// on old phones), stray output and a leading `\` (GNU marks escaped names that way).
pub fn parse(stdout: &[u8], nonce: &str, range: Range<usize>) -> Vec<Option<String>> {
    let mut out = vec![None; range.len()];
    let mut seen = vec![false; range.len()];
    let text = String::from_utf8_lossy(stdout);
    let mut current: Option<usize> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(idx) = line
            .strip_prefix(nonce)
            .and_then(|r| r.strip_prefix(':'))
            .and_then(|n| n.parse::<usize>().ok())
        {
            // A marker seen twice means the output is not what we asked for: the
            // second one counts for nothing.
            current = idx
                .checked_sub(range.start)
                .filter(|k| *k < out.len() && !seen[*k]);
            if let Some(k) = current {
                seen[k] = true;
            }
            continue;
        }
        // Only the first line after a marker is the hash line; a newline in a name
        // makes more lines, which must not be read as another file's hash.
        let Some(k) = current.take() else { continue };
        let body = line.strip_prefix('\\').unwrap_or(line);
        let hash = body.get(..64).filter(|h| {
            h.bytes().all(|b| b.is_ascii_hexdigit())
                && matches!(body.as_bytes().get(64), None | Some(b' '))
        });
        if let Some(h) = hash {
            out[k] = Some(h.to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const H2: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn quoting_survives_every_hostile_character() {
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$(rm -rf /);`x`\n\"q\""), "'$(rm -rf /);`x`\n\"q\"'");
    }

    #[test]
    fn quoted_names_reach_a_real_shell_unchanged() {
        // /bin/sh here is a POSIX shell like the phone's; printf shows what it received.
        let names = [
            "it's a \"test\" $HOME;`id`",
            "new\nline",
            "ünï ♫",
            "-n",
            "\\x",
        ];
        for n in names {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(n)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), n);
        }
    }

    #[test]
    fn batches_split_by_size_and_count_and_cover_every_file() {
        let paths: Vec<String> = (0..10).map(|i| format!("/sdcard/DCIM/{i}.jpg")).collect();
        let b = batches(&paths, "N", 120, 100);
        assert!(b.len() > 1);
        assert!(b.iter().all(|x| x.command.len() <= 120));
        let covered: Vec<usize> = b.iter().flat_map(|x| x.range.clone()).collect();
        assert_eq!(covered, (0..10).collect::<Vec<_>>());
        assert_eq!(batches(&paths, "N", 1 << 20, 3).len(), 4);
        let huge = vec!["/sdcard/".to_string() + &"x".repeat(500)];
        assert_eq!(batches(&huge, "N", 100, 10).len(), 1);
        assert!(batches(&[], "N", 100, 10).is_empty());
    }

    #[test]
    fn parses_by_marker_not_by_name() {
        let out = format!(
            "N:4\r\n{H1}  /sdcard/a\r\nN:5\nN:6\n\\{H2}  /sdcard/new\\nline\nN:7\n{H1}  /sdcard/x\nN:5\n{H2}  forged\n"
        );
        let got = parse(out.as_bytes(), "N", 4..8);
        assert_eq!(
            got,
            vec![Some(H1.into()), None, Some(H2.into()), Some(H1.into())]
        );
    }

    #[test]
    fn a_name_cannot_fake_a_marker_or_a_second_hash() {
        // A file named "x\nN:1\n<hash>" cannot know the nonce; lines after the hash line
        // are ignored.
        let out = format!("N:0\n{H1}  /sdcard/x\nOTHER:1\n{H2}\nN:1\n");
        assert_eq!(
            parse(out.as_bytes(), "N", 0..2),
            vec![Some(H1.into()), None]
        );
    }

    #[test]
    fn garbage_and_truncation_give_nothing_not_a_panic() {
        for g in [
            &b""[..],
            b"N:",
            b"N:0\nzz",
            b"N:0\nabc",
            b"\xff\xfe\n\n",
            b"N:99999999999999999999\n",
        ] {
            let got = parse(g, "N", 0..1);
            assert_eq!(got, vec![None]);
        }
        let short = format!("N:0\n{}", &H1[..63]);
        assert_eq!(parse(short.as_bytes(), "N", 0..1), vec![None]);
        let glued = format!("N:0\n{H1}x  name");
        assert_eq!(parse(glued.as_bytes(), "N", 0..1), vec![None]);
    }
}
