//! The face of mi-offboard: parse the command line, dispatch, print, exit. The only place
//! that writes to the terminal (with the per-command faces in `cmd/`).

mod cli;
mod cmd;

use std::future::Future;
use std::process::ExitCode;

use clap::Parser;
use mi_offboard::exit::Exit;

use cli::{Cli, Command, Global};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            Command::Devices(a) => {
                with(a.adb.resolve(None), |g| async move {
                    cmd::devices::run(a, &g).await
                })
                .await
            }
            Command::Inspect(a) => {
                with(a.phone.resolve(), |g| async move {
                    cmd::inspect::run(a, &g).await
                })
                .await
            }
            Command::Backup(a) => {
                with(a.phone.resolve(), |g| async move {
                    cmd::backup::run(a, &g).await
                })
                .await
            }
            Command::Signout(a) => {
                with(a.phone.resolve(), |g| async move {
                    cmd::signout::run(a, &g).await
                })
                .await
            }
            Command::Reset(a) => {
                with(a.phone.resolve(), |g| async move {
                    cmd::reset::run(a, &g).await
                })
                .await
            }
            Command::Cloud(a) => cmd::cloud::run(a).await,
            Command::Run(a) => {
                with(
                    a.phone.resolve(),
                    |g| async move { cmd::run::run(a, &g).await },
                )
                .await
            }
            Command::Bench(a) => {
                with(a.adb.resolve(None), |g| async move {
                    cmd::bench::run(a, &g).await
                })
                .await
            }
            Command::History(a) => cmd::history::run(a),
        }
    });
    done(exit)
}

/// Runs a command that talks to the adb server once its options resolved; a bad value
/// (`-P 0`, a malformed ADB_SERVER_SOCKET) is a usage error.
async fn with<F, Fut>(global: Result<Global, String>, run: F) -> Exit
where
    F: FnOnce(Global) -> Fut,
    Fut: Future<Output = Exit>,
{
    match global {
        Ok(g) => run(g).await,
        Err(msg) => cmd::common::usage(&msg),
    }
}

fn done(exit: Exit) -> ExitCode {
    ExitCode::from(u8::try_from(exit.code()).unwrap_or(1))
}
