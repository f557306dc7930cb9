//! `mi-offboard history [--dest DIR] [--json|--csv]`: what the journal in DIR says was
//! processed — a table for people, JSON or CSV on stdout for scripts and spreadsheets.

use std::path::PathBuf;

use mi_offboard::exit::Exit;
use mi_offboard::report::history;
use mi_offboard::report::journal::{FILE_NAME, Journal};

use super::common;

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The folder given to `run`/`bench` as --dest (holds journal.sqlite).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dest: PathBuf,
    /// JSON array on stdout.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// CSV on stdout (spreadsheet-safe).
    #[arg(long)]
    pub csv: bool,
}

pub const HELP: &str = "\
Examples:
  mi-offboard history --dest /srv/bench/today
  mi-offboard history --dest /srv/bench/today --csv > today.csv
  mi-offboard history --dest /srv/bench/today --json | jq '.[] | select(.exit_code != 0)'

Needs no password; talks to no phone.

Exit codes:
  0  the list was printed
  1  the journal could not be read
  2  usage error; no journal.sqlite in DIR";

pub fn run(args: HistoryArgs) -> Exit {
    // Reading must not create an empty journal where there was none.
    if !args.dest.join(FILE_NAME).is_file() {
        return common::fail_msg(
            &format!(
                "no journal in {}: give the folder used as --dest by run or bench",
                args.dest.display()
            ),
            Exit::Usage,
        );
    }
    let rows = match Journal::open(&args.dest).and_then(|j| j.history()) {
        Ok(r) => r,
        Err(e) => return common::fail(&e),
    };
    if args.json {
        println!("{}", history::to_json(&rows));
    } else if args.csv {
        print!("{}", history::to_csv(&rows));
    } else {
        print!("{}", history::to_table(&rows));
    }
    Exit::Ok
}
