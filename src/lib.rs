//! mi-offboard: prepares Xiaomi phones for their next owner over ADB.
//!
//! The library holds everything but the terminal. Data flows down only:
//! `bench` → `flow` → {`backup`, `miui`, `cloud`, `report`} → `adb`. Only the binary
//! (`src/main.rs`, `src/cli.rs`) prints, prompts or draws progress; the library reports
//! progress through [`progress::Reporter`] and returns typed errors that map to the
//! documented exit codes through [`exit::Exit`].
//!
//! `sim` is the simulated bench used by tests and demos. No other module imports it.

pub mod adb;
pub mod backup;
pub mod bench;
pub mod cloud;
pub mod exit;
pub mod flow;
pub mod miui;
pub mod progress;
pub mod report;
pub mod secret;
pub mod sim;
