//! `mi-offboard inspect [-s SERIAL] [--json]`: one phone's identity and hand-over
//! readiness (being written).

use mi_offboard::exit::Exit;

use super::common;
use crate::cli::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON on stdout instead of a report for people.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args, global: &Global) -> Exit {
    let _ = args;
    let adb = match common::connect(global).await {
        Ok(a) => a,
        Err(e) => return common::fail_adb(&e),
    };
    match common::select(&adb, global).await {
        Ok(_) => Exit::Other,
        Err(e) => common::fail_adb(&e),
    }
}
