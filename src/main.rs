//! The face of mi-offboard: parse the command line, dispatch, print, exit. The only place
//! that writes to the terminal (with the per-command faces in `cmd/`).

mod cli;
mod cmd;

use std::process::ExitCode;

use clap::Parser;
use mi_offboard::exit::Exit;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let global = match cli.global.resolve() {
        Ok(g) => g,
        Err(msg) => return done(cmd::common::usage(&msg)),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mi-offboard: cannot start the async runtime: {e}");
            return done(Exit::Other);
        }
    };
    let exit = runtime.block_on(async {
        match cli.command {
            Command::Devices(args) => cmd::devices::run(args, &global).await,
            Command::Inspect(args) => cmd::inspect::run(args, &global).await,
            Command::Backup(args) => cmd::backup::run(args, &global).await,
            Command::Signout(args) => cmd::signout::run(args, &global).await,
            Command::Reset(args) => cmd::reset::run(args, &global).await,
            Command::Cloud(args) => cmd::cloud::run(args).await,
            Command::Run(args) => cmd::run::run(args, &global).await,
            Command::Bench(args) => cmd::bench::run(args, &global).await,
            Command::History(args) => cmd::history::run(args),
        }
    });
    done(exit)
}

fn done(exit: Exit) -> ExitCode {
    ExitCode::from(u8::try_from(exit.code()).unwrap_or(1))
}
