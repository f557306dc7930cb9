//! `mi-offboard backup [-s SERIAL] --dest DIR [--include PATH]... [--all] [--json]`: the
//! face of [`mi_offboard::backup`]. Draws the progress bar (bytes, rate, ETA) on a
//! terminal and nothing on a pipe, prints the summary (JSON with `--json`), and turns
//! the outcome into the exit code. The work itself is all in the library.

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mi_offboard::backup::{self, Options, Summary};
use mi_offboard::exit::Exit;
use mi_offboard::progress::Reporter;

use super::common;
use crate::cli::{Global, PhoneArgs};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Directory to back up into (created if missing); rerunning into the same directory
    /// resumes, skipping files already verified.
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// Also back up this path (below /sdcard; absolute or relative to it). Repeatable.
    #[arg(long, value_name = "PATH")]
    pub include: Vec<String>,
    /// Back up all of /sdcard, not only the folders that hold people's data.
    #[arg(long)]
    pub all: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub phone: PhoneArgs,
}

pub const HELP: &str = "\
Examples:
  mi-offboard backup -s 4f8e2a1c --dest /srv/backups/4f8e2a1c
  mi-offboard backup -s 4f8e2a1c --dest /srv/backups/4f8e2a1c   # again: resumes
  mi-offboard backup --dest ./b --include WhatsApp/Media --include /sdcard/Notes
  mi-offboard backup --dest ./b --all --json

Needs no password; changes nothing on the phone.

Exit codes:
  0  complete: every file copied and verified against the phone
  1  incomplete (some files failed: run the same command again) or another error
  2  usage error; several phones are connected and none was chosen with -s
  3  refused before copying: DIR is not writable or the files will not fit
  5  the phone was unplugged or stopped answering (rerun to resume)";

/// Progress on stderr while a terminal watches; hidden otherwise.
struct Bar {
    bar: ProgressBar,
    /// Notes are also in the summary; on a pipe they are printed only there.
    visible: bool,
}

impl Bar {
    fn new(visible: bool) -> Bar {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        Bar { bar, visible }
    }
}

impl Reporter for Bar {
    fn start_transfer(&self, _serial: &str, total_bytes: u64, total_files: u64) {
        self.bar.set_length(total_bytes);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        ) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_message(format!("{total_files} files"));
    }
    fn advance(&self, _serial: &str, bytes: u64) {
        self.bar.inc(bytes);
    }
    fn warn(&self, serial: &str, message: &str) {
        if self.visible {
            self.bar.suspend(|| eprintln!("{serial}: {message}"));
        }
    }
    fn finish(&self, _serial: &str, _ok: bool, _summary: &str) {
        self.bar.finish_and_clear();
    }
}

pub async fn run(args: BackupArgs, global: &Global) -> Exit {
    let adb = match common::connect(global).await {
        Ok(a) => a,
        Err(e) => return common::fail_adb(&e),
    };
    let device = match common::select(&adb, global).await {
        Ok((d, _)) => d,
        Err(e) => return common::fail_adb(&e),
    };
    let opts = Options {
        dest: args.dest,
        includes: args.include,
        all: args.all,
    };
    let bar = Bar::new(!args.json && std::io::stderr().is_terminal());
    match backup::backup(&device, &opts, &bar).await {
        Ok(summary) => {
            if args.json {
                match serde_json::to_string_pretty(&summary) {
                    Ok(text) => println!("{text}"),
                    Err(e) => eprintln!("mi-offboard: cannot print the summary: {e}"),
                }
            } else {
                print_human(&summary);
            }
            summary.exit()
        }
        Err(e) => {
            bar.bar.finish_and_clear();
            common::fail(&e)
        }
    }
}

fn print_human(s: &Summary) {
    println!("Backup of {} in {}", s.serial, s.dir.display());
    println!(
        "  files: {}  bytes: {}  verified: {} ({} bytes)",
        s.files, s.bytes, s.verified, s.verified_bytes
    );
    println!(
        "  fetched now: {}  already verified earlier: {}",
        s.fetched, s.resumed
    );
    if !s.symlinks.is_empty() {
        println!(
            "  symbolic links recorded (not followed): {}",
            s.symlinks.len()
        );
    }
    if !s.failed.is_empty() {
        println!("  FAILED ({}):", s.failed.len());
        for f in &s.failed {
            println!("    {:?}: {}", f.path, f.why);
        }
    }
    if !s.skipped.is_empty() {
        println!("  not backed up ({}):", s.skipped.len());
        for k in &s.skipped {
            println!("    {:?}: {}", k.path, k.reason);
        }
    }
    for n in &s.notes {
        println!("  note: {n}");
    }
    println!("  manifest sha256: {}", s.manifest_sha256);
    if s.complete {
        println!("  complete: every file verified against the phone");
    } else {
        println!("  INCOMPLETE: run the same command again to retry the failed files");
    }
}
