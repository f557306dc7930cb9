//! `mi-offboard reset [-s SERIAL] --confirm SERIAL [--backup DIR | --no-backup "reason"]`:
//! factory reset through Xiaomi's own screen after the interlocks (see docs/safety.md).

use std::path::PathBuf;

use mi_offboard::exit::Exit;
use mi_offboard::flow::{self, interlock::ResetRequest};

use super::signout::{UiArgs, context, password_source, print_report, ui_phone};
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
    let p = match ui_phone(&args.ui, global).await {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let ctx = context(&p.recipes, p.report_dir, global);
    let req = ResetRequest {
        confirm: args.confirm,
        backup: args.backup,
        no_backup: args.no_backup,
    };
    let source = password_source(args.ui.password_file.clone(), p.serial);
    let report = flow::reset::run(&p.dev, &ctx, &req, &source).await;
    print_report(&report, args.ui.json)
}
