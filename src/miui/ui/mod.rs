//! UI automation: uiautomator dump parsing, selectors, and screen recipes (data, not
//! code paths) for Xiaomi Settings screens, and the engine that walks them.
//!
//! Knows screens, taps and typing over a [`device::UiDevice`]; knows nothing about
//! accounts, backups or why a journey is made (that is `crate::flow`).

pub mod adb;
pub mod device;
pub mod driver;
pub mod dump;
pub mod input;
pub mod recipe;

pub use device::{DeviceError, ShellResult, UiDevice, check_command};
pub use driver::{Counts, Driver, FlowEnd, Limits, UiError};
pub use recipe::Recipes;
