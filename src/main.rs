//! The face of mi-offboard: parse the command line, dispatch, print, exit. The only place
//! that writes to the terminal.

mod cli;
mod cmd;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(mi_offboard::exit::Exit::Other.code());
        }
    };
    let exit = match cli.command {
        cli::Command::Cloud(args) => runtime.block_on(cmd::cloud::run(args)),
    };
    std::process::exit(exit.code());
}
