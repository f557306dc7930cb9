//! The face of mi-offboard: parse the command line, dispatch, print, exit. The only place
//! that writes to the terminal.

mod cli;
mod cmd;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    match cli.command {}
}
