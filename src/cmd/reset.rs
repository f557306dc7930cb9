//! `mi-offboard reset [-s SERIAL] --confirm SERIAL [--backup DIR | --no-backup "reason"]`:
//! factory reset through Xiaomi's own screen after the interlocks (see docs/safety.md).

use std::path::PathBuf;

use mi_offboard::exit::Exit;
use mi_offboard::flow::{self, interlock::ResetRequest};

use super::common;
use super::signout::{UiArgs, context, context_parts, password_source, print_report};
use crate::cli::Global;

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// The phone's serial, typed again to confirm which phone is erased.
    #[arg(long, value_name = "SERIAL", required = true)]
    pub confirm: String,
    /// A directory holding a verified `mi-offboard backup` of this phone.
    #[arg(long, value_name = "DIR", conflicts_with = "no_backup")]
    pub backup: Option<PathBuf>,
    /// Reset without a backup; the reason is recorded in the report.
    #[arg(long, value_name = "REASON")]
    pub no_backup: Option<String>,
    #[command(flatten)]
    pub ui: UiArgs,
}

pub async fn run(args: ResetArgs, global: &Global) -> Exit {
    let adb = match common::connect(global).await {
        Ok(a) => a,
        Err(e) => return common::fail_adb(&e),
    };
    let dev = match common::select(&adb, global).await {
        Ok((d, _)) => d,
        Err(e) => return common::fail_adb(&e),
    };
    let serial = dev.serial().to_string();
    let (recipes, dir) = match context_parts(&args.ui, &serial) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let ctx = context(&recipes, dir, global);
    let req = ResetRequest {
        confirm: args.confirm,
        backup: args.backup,
        no_backup: args.no_backup,
    };
    let source = password_source(args.ui.password_file.clone(), serial);
    let report = flow::reset::run(&dev, &ctx, &req, &source).await;
    print_report(&report, args.ui.json)
}
