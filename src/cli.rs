//! Command-line definitions (clap). Only the binary uses this module.

use clap::{Parser, Subcommand};

/// Prepare Xiaomi phones for their next owner over ADB: back up the owner's files, sign
/// the phone out of its Mi account (Find Device off), factory reset it through Xiaomi's
/// own screen, and delete the owner's Xiaomi cloud account — every step verified.
///
/// Exit codes: 0 success; 2 usage error; 3 refused by a precondition (nothing changed);
/// 4 password or code refused; 5 phone lost or timed out; 1 anything else.
#[derive(Debug, Parser)]
#[command(name = "mi-offboard", version, about, long_about)]
pub struct Cli {
    /// Host of the adb server.
    #[arg(short = 'H', long = "host", global = true, default_value = "127.0.0.1")]
    pub host: String,
    /// Port of the adb server.
    #[arg(
        short = 'P',
        long = "port",
        global = true,
        env = "ANDROID_ADB_SERVER_PORT",
        default_value_t = 5037
    )]
    pub port: u16,
    /// Seconds a phone may stay silent before a call fails (for transfers: time
    /// without progress, not the whole transfer).
    #[arg(long, global = true, default_value_t = 20)]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Xiaomi's web service: delete the owner's account, check a phone's activation lock.
    Cloud(crate::cmd::cloud::CloudArgs),
}
