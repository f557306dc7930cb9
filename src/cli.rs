//! Command-line definitions (clap). Only the binary uses this module. The global options
//! (where the adb server is, which phone, how long to wait) are resolved once into
//! [`Global`], which every command's `run` receives.

use std::time::Duration;

use clap::{Parser, Subcommand};
use mi_offboard::adb::{Adb, ServerAddr};

use crate::cmd;

/// Prepare Xiaomi phones for their next owner over ADB: back up the owner's files, sign
/// the phone out of its Mi account (Find Device off), factory reset it through Xiaomi's
/// own screen, and delete the owner's Xiaomi cloud account — every step verified.
///
/// Exit codes: 0 success; 2 usage error; 3 refused by a precondition (nothing changed);
/// 4 password or code refused; 5 phone lost or timed out; 1 anything else.
#[derive(Debug, Parser)]
#[command(name = "mi-offboard", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// One line per command: the variant here and its arm in `main.rs`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every phone the adb server sees: serial, state, model, Xiaomi or not, OS.
    Devices(cmd::devices::Args),
    /// Read one phone's identity and what stands between it and a clean hand-over
    /// (changes nothing on the phone).
    Inspect(cmd::inspect::Args),
    /// Copy the owner's files off the phone into DIR, byte-exact and verified against
    /// the phone, with a manifest; rerun to resume.
    Backup(cmd::backup::BackupArgs),
    /// Sign the phone out of its Mi account through Xiaomi's screens (Find Device off),
    /// verified with `dumpsys account`.
    Signout(cmd::signout::SignoutArgs),
    /// Factory reset through Xiaomi's own reset screen, after the safety interlocks.
    Reset(cmd::reset::ResetArgs),
    /// Xiaomi's web service: delete the owner's account, check a phone's activation lock.
    Cloud(cmd::cloud::CloudArgs),
    /// The whole journey for one phone: inspect, back up, sign out, reset (and delete
    /// the cloud account), checkpointed so a rerun resumes.
    Run(cmd::run::RunArgs),
    /// Process every phone plugged in, concurrently, under a bench policy.
    Bench(cmd::bench::BenchArgs),
    /// List what the journal in DIR says was processed.
    History(cmd::history::HistoryArgs),
}

/// Options every command takes, as adb spells them.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Host of the adb server [default: 127.0.0.1, or from ADB_SERVER_SOCKET=tcp:HOST:PORT].
    #[arg(short = 'H', long = "host", global = true)]
    pub host: Option<String>,
    /// Port of the adb server [default: ANDROID_ADB_SERVER_PORT, else 5037].
    #[arg(short = 'P', long = "port", global = true)]
    pub port: Option<u16>,
    /// The phone to work on [default: ANDROID_SERIAL, else the only phone connected].
    #[arg(short = 's', long = "serial", global = true, env = "ANDROID_SERIAL")]
    pub serial: Option<String>,
    /// Seconds a phone may stay silent before a call fails (for transfers: time
    /// without progress, not the whole transfer).
    #[arg(long, global = true, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub timeout: u64,
}

/// The global options, resolved against the environment.
#[derive(Debug, Clone)]
pub struct Global {
    pub server: ServerAddr,
    pub serial: Option<String>,
    pub timeout: Duration,
}

impl GlobalArgs {
    /// Applies adb's environment variables; the error names the bad value (usage, exit 2).
    pub fn resolve(&self) -> Result<Global, String> {
        let env = |k: &str| std::env::var(k).ok();
        let server = ServerAddr::resolve(
            self.host.as_deref(),
            self.port,
            env("ADB_SERVER_SOCKET").as_deref(),
            env("ANDROID_ADB_SERVER_PORT").as_deref(),
        )?;
        Ok(Global {
            server,
            serial: self.serial.clone().filter(|s| !s.is_empty()),
            timeout: Duration::from_secs(self.timeout),
        })
    }
}

impl Global {
    /// A client of the chosen server (no I/O yet).
    pub fn adb(&self) -> Adb {
        Adb::new(self.server.clone(), self.timeout)
    }
}
