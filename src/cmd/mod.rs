//! One file per command's face: its clap arguments and the function that runs it and
//! prints. Part of the binary, not the library.

pub mod cloud;
