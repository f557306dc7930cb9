//! The simulated Settings UI (being written). The signatures here are the contract the
//! phone's shell builds on: `am start`, `uiautomator dump`, `input`, `screencap`.

use super::world::World;
use crate::sim::device::ShellOutput;

/// Faults that live in the UI.
#[derive(Debug, Clone, Default)]
pub struct UiConfig {
    /// Show an unexpected dialog (a system update prompt) over the next screen opened.
    pub unexpected_dialog: bool,
}

/// The screen state machine of one phone.
#[derive(Debug, Default)]
pub struct Ui {
    _config: UiConfig,
}

impl Ui {
    pub fn new(config: UiConfig) -> Ui {
        Ui { _config: config }
    }

    /// `am start ARGS…` (args after `start`).
    pub fn am_start(&mut self, _world: &mut World, _args: &[String]) -> ShellOutput {
        ShellOutput::default()
    }

    /// `uiautomator dump`: the XML of the current screen, or the error line uiautomator
    /// prints (e.g. "ERROR: could not get idle state.").
    pub fn dump(&mut self, _world: &World) -> Result<String, String> {
        Err("ERROR: null root node returned by UiTestAutomationBridge.".into())
    }

    /// `input ARGS…` (tap X Y | text S | keyevent K | swipe …), after the phone checked
    /// that input injection is allowed.
    pub fn input(&mut self, _world: &mut World, _args: &[String]) -> ShellOutput {
        ShellOutput::default()
    }

    /// `screencap -p`: a PNG of the current screen.
    pub fn screencap_png(&self, _world: &World) -> Vec<u8> {
        Vec::new()
    }

    /// Name of the current screen, for the observable state.
    pub fn current(&self) -> String {
        String::new()
    }
}
