//! What every command's face shares: reaching the adb server (started once if none
//! answers), choosing the phone (`-s`, `ANDROID_SERIAL`, else the only one), and printing
//! an error on stderr with the exit code it means.

use mi_offboard::adb::{Adb, AdbError, Device, DeviceInfo};
use mi_offboard::exit::{Exit, HasExit};

use crate::cli::Global;

/// Where the Mi account password comes from, said the same way in every command's help.
#[macro_export]
macro_rules! password_help {
    () => {
        "Password: the Mi account password comes from --password-file FILE (its first line),
else the environment variable MI_PASSWORD, else a hidden prompt on a terminal. It is
never taken from the command line, where every user of the computer could read it.\n"
    };
}

/// Prints a usage error and returns its code.
pub fn usage(msg: &str) -> Exit {
    eprintln!("mi-offboard: {msg}");
    Exit::Usage
}

/// Prints a message and returns EXIT.
pub fn fail_msg(msg: &str, exit: Exit) -> Exit {
    eprintln!("mi-offboard: {msg}");
    exit
}

/// Prints ERR (with a hint on what to do where there is one) and returns its exit code.
pub fn fail(err: &(impl std::fmt::Display + HasExit)) -> Exit {
    eprintln!("mi-offboard: {err}");
    err.exit()
}

/// Prints an adb error with the operator's next step.
pub fn fail_adb(err: &AdbError) -> Exit {
    match err {
        AdbError::MoreThanOne { serials } => {
            eprintln!(
                "mi-offboard: {} phones are connected; choose one with -s SERIAL (or ANDROID_SERIAL):",
                serials.len()
            );
            for s in serials {
                eprintln!("  {s}");
            }
        }
        AdbError::NoDevice => {
            eprintln!(
                "mi-offboard: {err}: plug the phone in, unlock it, and check `mi-offboard devices`"
            );
        }
        AdbError::ServerUnavailable { .. } => {
            eprintln!("mi-offboard: {err} (is `adb` installed? try `adb start-server`)");
        }
        _ => {
            fail(err);
        }
    }
    err.exit()
}

/// A client of the server, started once with `adb start-server` if nothing answers.
pub async fn connect(global: &Global) -> Result<Adb, AdbError> {
    let adb = global.adb();
    adb.ensure_server().await?;
    Ok(adb)
}

/// The phone this command works on.
pub async fn select(adb: &Adb, global: &Global) -> Result<(Device, DeviceInfo), AdbError> {
    adb.select(global.serial.as_deref()).await
}

/// The exit code a journey's report recorded, unchanged: 2 (missing input) stays 2.
/// An unknown number (a newer or damaged journal) is "anything else".
pub fn exit_of(code: i32) -> Exit {
    [
        Exit::Ok,
        Exit::Other,
        Exit::Usage,
        Exit::Refused,
        Exit::Credentials,
        Exit::PhoneLost,
    ]
    .into_iter()
    .find(|e| e.code() == code)
    .unwrap_or(Exit::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_exit_code_passes_through_unchanged() {
        for code in 0..=5 {
            assert_eq!(exit_of(code).code(), code);
        }
        for odd in [-1, 6, 42, i32::MAX] {
            assert_eq!(exit_of(odd), Exit::Other);
        }
    }
}
