//! The state of one simulated phone that the shell and the screens both act on:
//! language, identity, accounts, locks, and the effects a screen asks the phone to carry
//! out (a wipe). The phone core owns it; the screens read it and request changes through
//! its methods, so that the server-side truth ([`crate::sim::registry`]) stays in step.

use crate::sim::registry::Registry;

/// UI language of the phone's Settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    En,
    Zh,
}

/// How a wipe was started: Xiaomi's own reset screen turns Find Device off first; the
/// stock Android reset (and recovery) do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WipeKind {
    MiuiMasterClear,
    Stock,
}

#[derive(Debug, Clone)]
pub struct World {
    pub lang: Lang,
    /// Shared server-side truth (accounts, bound devices, activation locks).
    pub registry: Registry,
    pub imei: String,
    pub model: String,
    pub country: String,
    /// The Xiaomi user id signed in on the phone, if any.
    pub mi_account: Option<String>,
    /// Google account names on the phone (user 0).
    pub google_accounts: Vec<String>,
    /// A screen lock (PIN/pattern) is set; with a Google account it arms FRP.
    pub screen_lock: bool,
    /// `dpm list-owners` device owner component, if any.
    pub device_owner: Option<String>,
    /// The `no_factory_reset` user restriction.
    pub no_factory_reset: bool,
    /// `persist.security.adbinput`: USB debugging (Security settings) on.
    pub adb_input: bool,
    /// Set by a screen when the user confirmed a factory reset; the phone core carries it
    /// out (wipes the data, closes USB debugging for good).
    pub wipe_requested: Option<WipeKind>,
}

impl World {
    /// Signs the Mi account out: unbinds the device server-side (Find Device off).
    pub fn sign_out_mi(&mut self) {
        if self.mi_account.take().is_some() {
            self.registry.unbind(&self.imei);
        }
    }

    /// Whether Find Device is on for this phone (read from the server-side truth).
    pub fn find_device_on(&self) -> bool {
        self.registry
            .device(&self.imei)
            .is_some_and(|d| d.find_device)
    }

    /// Checks a password typed on the phone against the signed-in account (online).
    pub fn password_ok(&self, typed: &str) -> bool {
        self.mi_account
            .as_deref()
            .is_some_and(|id| self.registry.check_password(id, typed))
    }

    /// A screen confirmed a factory reset of this kind.
    pub fn request_wipe(&mut self, kind: WipeKind) {
        if kind == WipeKind::MiuiMasterClear {
            // Xiaomi's reset screen turns Find Device off (server-side) before wiping.
            self.sign_out_mi();
        }
        self.wipe_requested = Some(kind);
    }
}
