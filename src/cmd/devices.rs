//! `mi-offboard devices [--json]`: every phone the server sees.

use mi_offboard::exit::Exit;

use super::common;
use crate::cli::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args, global: &Global) -> Exit {
    let adb = match common::connect(global).await {
        Ok(a) => a,
        Err(e) => return common::fail_adb(&e),
    };
    match adb.devices().await {
        Ok(list) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&list).unwrap_or_default()
                );
            } else {
                for d in list {
                    println!("{}\t{}", d.serial, d.state);
                }
            }
            Exit::Ok
        }
        Err(e) => common::fail_adb(&e),
    }
}
