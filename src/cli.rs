//! Command-line definitions (clap). Only the binary uses this module. There are no
//! global options: the adb options ([`AdbArgs`]) sit on the commands that talk to the adb
//! server, and `-s` ([`PhoneArgs`]) only on the commands that work on one phone, so that
//! `--help` never offers an option a command ignores (`bench` would otherwise appear to
//! honour `-s` and then reset every phone on the hub). They are resolved into [`Global`].

use std::time::Duration;

use clap::{Parser, Subcommand};
use mi_offboard::adb::{Adb, ServerAddr};

use crate::cmd;

/// Prepare Xiaomi phones for their next owner over ADB: back up the owner's files, sign
/// the phone out of its Mi account (Find Device off), factory reset it through Xiaomi's
/// own screen, and delete the owner's Xiaomi cloud account — every step verified.
#[derive(Debug, Parser)]
#[command(name = "mi-offboard", version, about, long_about, after_help = TOP_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const TOP_HELP: &str = "\
Examples:
  mi-offboard devices                                  # what is plugged in
  mi-offboard inspect -s 4f8e2a1c                      # what blocks a hand-over
  mi-offboard run -s 4f8e2a1c --dest /srv/handover     # one phone, owner at the counter
  mi-offboard bench --dest /srv/bench/today            # every phone plugged in, by policy
  mi-offboard <COMMAND> --help                         # each command's options and codes

Passwords come from --password-file FILE, else MI_PASSWORD, else a hidden prompt;
never from the command line.

Exit codes:
  0  success, verified
  1  anything else
  2  usage error (bad flags, missing input)
  3  refused by a precondition; nothing on the phone was changed
  4  password, verification code or captcha answer refused
  5  phone lost (unplugged, offline) or timed out";

/// One line per command: the variant here and its arm in `main.rs`. The first paragraph
/// of each doc comment is the short help (`-h`), the whole comment the long one.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every phone the adb server sees: serial, state, model, Xiaomi or not, OS.
    ///
    /// Lists every phone the adb server sees, whatever its state (device, unauthorized,
    /// offline, recovery, ...). Online phones are asked one `getprop` each, all at once,
    /// for their model, maker and OS (HyperOS, MIUI or Android). Nothing on any phone is
    /// changed.
    #[command(after_help = cmd::devices::HELP)]
    Devices(cmd::devices::Args),
    /// Read one phone's identity and what stands between it and a clean hand-over
    /// (changes nothing on the phone).
    ///
    /// Reads one phone's identity (maker, model, OS, region, IMEI) and everything that
    /// would stop a clean hand-over: a Mi account still signed in, a Google account that
    /// would arm reset protection, a device owner, USB debugging (Security settings)
    /// off, not a Xiaomi. Each blocker comes with what the operator does about it. Read
    /// only, in one round trip.
    #[command(after_help = cmd::inspect::HELP)]
    Inspect(cmd::inspect::Args),
    /// Copy the owner's files off the phone into DIR, byte-exact and verified against
    /// the phone, with a manifest; rerun to resume.
    ///
    /// Copies the folders that hold people's data (DCIM, Pictures, Movies, Music,
    /// Download, Documents, recordings, MIUI's local backups) into DIR/data/, checks every
    /// file's size and sha256 against the phone, and writes DIR/manifest.json. Running
    /// the same command again resumes: files already verified are not copied again. A
    /// complete backup in DIR is what `reset --backup DIR` accepts.
    #[command(after_help = cmd::backup::HELP)]
    Backup(cmd::backup::BackupArgs),
    /// Sign the phone out of its Mi account through Xiaomi's screens (Find Device off),
    /// verified with `dumpsys account`.
    ///
    /// Opens the phone's Mi account page, taps Sign out, types the account's password
    /// into Xiaomi's dialog, removes the synced data and confirms — the way a careful
    /// person would — then checks with `dumpsys account` that no Xiaomi account is left
    /// (Find Device is then off). A phone already signed out is left alone (exit 0). When
    /// a screen is not the expected one, the flow stops and saves what it saw.
    #[command(after_help = cmd::signout::HELP)]
    Signout(cmd::signout::SignoutArgs),
    /// Factory reset through Xiaomi's own reset screen, after the safety interlocks.
    ///
    /// Checks the interlocks first, each refusing with nothing changed: --confirm names
    /// this phone; a verified backup in --backup DIR matches it, or --no-backup gives the
    /// reason for going without one (exactly one of the two is required); no Google
    /// account that would arm reset protection; no device owner. Then walks Xiaomi's own
    /// reset screen (never the stock Android reset, which leaves the phone
    /// activation-locked), typing the Mi account password when the phone asks for it.
    /// Done means the phone left adb to erase itself after the last confirmation.
    #[command(after_help = cmd::reset::HELP)]
    Reset(cmd::reset::ResetArgs),
    /// Xiaomi's web service: delete the owner's account, check a phone's activation lock.
    ///
    /// Talks to Xiaomi's web service only, never to a phone or the adb server:
    /// `cloud delete` signs in to the owner's account and schedules its deletion;
    /// `cloud lock-status` asks whether a phone's IMEI is activation-locked.
    #[command(after_help = cmd::cloud::HELP)]
    Cloud(cmd::cloud::CloudArgs),
    /// The whole journey for one phone: inspect, back up, sign out, reset (and delete
    /// the cloud account), checkpointed so a rerun resumes.
    ///
    /// Inspects the phone, prints the plan, asks once for everything it will need, and
    /// then runs without questions: backup (verified), sign-out, factory reset and, with
    /// --delete-cloud-account, the cloud account's deletion and the activation-lock check.
    /// Every step is recorded in DIR/journal.sqlite; running the same command again
    /// resumes after the last finished step. The report and the customer's certificate
    /// land in DIR/<serial>/.
    #[command(after_help = cmd::run::HELP)]
    Run(cmd::run::RunArgs),
    /// Process every phone plugged in, concurrently, under a bench policy.
    ///
    /// Watches the adb server and runs the whole journey for every phone plugged in, one
    /// progress line per phone, without asking anything: what happens to a phone is
    /// decided by the policy (--policy; by default a refurbisher's: no backup, refuse
    /// phones signed in to Mi or Google, factory reset the rest) and the intake file. It
    /// takes no -s: EVERY phone plugged in is processed. The policy in force is printed
    /// before any phone is touched.
    #[command(after_help = cmd::bench::HELP)]
    Bench(cmd::bench::BenchArgs),
    /// List what the journal in DIR says was processed.
    ///
    /// Lists every phone that `run` or `bench` processed into DIR (its journal.sqlite):
    /// serial, model, when, outcome and exit code. A table for people, or JSON or CSV for
    /// scripts and spreadsheets. Talks to no phone.
    #[command(after_help = cmd::history::HELP)]
    History(cmd::history::HistoryArgs),
}

/// Where the adb server is and how long a phone may stay silent, as adb spells them.
/// Flattened last, like [`PhoneArgs`].
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "ADB server")]
pub struct AdbArgs {
    /// Host of the adb server [default: 127.0.0.1, or from ADB_SERVER_SOCKET=tcp:HOST:PORT].
    #[arg(short = 'H', long = "host")]
    pub host: Option<String>,
    /// Port of the adb server [default: ANDROID_ADB_SERVER_PORT, else 5037].
    #[arg(short = 'P', long = "port")]
    pub port: Option<u16>,
    /// Seconds a phone may stay silent before a call fails (for transfers: time
    /// without progress, not the whole transfer).
    #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub timeout: u64,
}

/// The adb options and the one phone a command works on. Flattened last: clap's help
/// heading carries over to the arguments declared after it.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Phone")]
pub struct PhoneArgs {
    /// The phone to work on [default: ANDROID_SERIAL, else the only phone connected].
    #[arg(short = 's', long = "serial", env = "ANDROID_SERIAL")]
    pub serial: Option<String>,
    #[command(flatten)]
    pub adb: AdbArgs,
}

/// The adb options and phone choice, resolved against the environment.
#[derive(Debug, Clone)]
pub struct Global {
    pub server: ServerAddr,
    pub serial: Option<String>,
    pub timeout: Duration,
}

impl AdbArgs {
    /// Applies adb's environment variables; the error names the bad value (usage, exit 2).
    /// SERIAL is the phone chosen with `-s`, for the commands that take it.
    pub fn resolve(&self, serial: Option<String>) -> Result<Global, String> {
        let env = |k: &str| std::env::var(k).ok();
        let server = ServerAddr::resolve(
            self.host.as_deref(),
            self.port,
            env("ADB_SERVER_SOCKET").as_deref(),
            env("ANDROID_ADB_SERVER_PORT").as_deref(),
        )?;
        Ok(Global {
            server,
            serial: serial.filter(|s| !s.is_empty()),
            timeout: Duration::from_secs(self.timeout),
        })
    }
}

impl PhoneArgs {
    pub fn resolve(&self) -> Result<Global, String> {
        self.adb.resolve(self.serial.clone())
    }
}

impl Global {
    /// A client of the chosen server (no I/O yet).
    pub fn adb(&self) -> Adb {
        Adb::new(self.server.clone(), self.timeout)
    }
}
