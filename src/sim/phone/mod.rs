//! The simulated phone (being written): props, accounts, file tree, shell, screens.
//! [`world::World`] is the account-and-lock state the shell and the screens share;
//! [`screens`] is the Settings UI (uiautomator XML, input).

pub mod screens;
pub mod world;
