//! One file per command's face: its clap arguments and the function that runs it and
//! prints. Part of the binary, not the library. `common` holds what every face shares:
//! reaching the server, choosing the phone, printing an error with its exit code.

pub mod backup;
pub mod bench;
pub mod cloud;
pub mod common;
pub mod devices;
pub mod history;
pub mod inspect;
pub mod reset;
pub mod run;
pub mod signout;
