//! `mi-offboard reset [-s SERIAL] --confirm SERIAL [--backup DIR | --no-backup "reason"]`:
//! factory reset through Xiaomi's own screen after the interlocks (see docs/safety.md).

use std::path::PathBuf;

use mi_offboard::exit::Exit;
use mi_offboard::flow::{self, interlock::ResetRequest};

use super::signout::{UiArgs, context, password_source, print_report, ui_phone};
use crate::cli::{Global, PhoneArgs};
use crate::password_help;

#[derive(Debug, clap::Args)]
// Going without a backup is a decision someone must type: a missing choice is a usage
// error (exit 2) that clap names in the usage line, not a refusal found later.
#[group(id = "backup_choice", required = true, multiple = false, args = ["backup", "no_backup"])]
pub struct ResetArgs {
    /// The phone's serial (its adb serial or ro.serialno), typed again to confirm which
    /// phone is erased.
    #[arg(long, value_name = "SERIAL", required = true)]
    pub confirm: String,
    /// A directory holding a complete, verified `mi-offboard backup` of this phone.
    #[arg(long, value_name = "DIR")]
    pub backup: Option<PathBuf>,
    /// Reset without a backup; the reason is recorded in the report.
    #[arg(long, value_name = "REASON")]
    pub no_backup: Option<String>,
    /// Reset even though the backup lists files the phone would not send (they are
    /// erased for good); without it such a backup refuses the reset, naming them.
    #[arg(long, requires = "backup")]
    pub accept_unreadable: bool,
    #[command(flatten)]
    pub ui: UiArgs,
    #[command(flatten)]
    pub phone: PhoneArgs,
}

pub const HELP: &str = concat!(
    "\
Examples:
  mi-offboard backup -s 4f8e2a1c --dest /srv/backups/4f8e2a1c
  mi-offboard reset -s 4f8e2a1c --confirm 4f8e2a1c --backup /srv/backups/4f8e2a1c
  mi-offboard reset -s 4f8e2a1c --confirm 4f8e2a1c --no-backup \"owner took a cloud backup\"

Exactly one of --backup DIR and --no-backup REASON is required.

",
    password_help!(),
    "It is needed only while the phone is signed in to a Mi account: Xiaomi's reset screen
asks for it, and then turns Find Device off itself.

Exit codes:
  0  the phone confirmed the factory reset and left adb to erase itself
  1  a screen was not the expected one: the flow stopped, the evidence is saved
  2  usage error (no --backup/--no-backup, ...); no password available; several phones
     and no -s
  3  refused by an interlock, nothing changed: --confirm is not this phone, no verified
     backup, a Google account (FRP), a device owner, USB debugging (Security settings)
     off, or the phone is unauthorized
  4  Xiaomi's dialog refused the password: the phone was not reset
  5  the phone was unplugged or stopped answering before the reset was confirmed"
);

pub async fn run(args: ResetArgs, global: &Global) -> Exit {
    let p = match ui_phone(&args.ui, global).await {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let ctx = context(&p.recipes, p.report_dir, global);
    let req = ResetRequest {
        confirm: args.confirm,
        backup: args.backup,
        no_backup: args.no_backup,
        accept_unreadable: args.accept_unreadable,
        recheck: None,
    }
    .checked_against(&p.dev)
    .await;
    let source = password_source(args.ui.password_file.clone(), p.serial);
    let report = flow::reset::run(&p.dev, &ctx, &req, &source).await;
    print_report(&report, args.ui.json)
}
