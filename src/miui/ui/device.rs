//! What the UI engine needs from a phone: a shell with exit codes, `exec` for raw bytes
//! (dumps, screenshots), and a separate path for command lines that carry a secret. The
//! adb client implements it for a real phone; tests implement it with fakes.
//!
//! Also the guard every shell command from the engine and the journeys passes through:
//! commands that would wipe account data behind Xiaomi's back, or reset the phone
//! without Xiaomi's Find Device step, are refused here (FACTS.md §5, DESIGN.md).

use std::future::Future;

use secrecy::SecretString;

use crate::exit::{Exit, HasExit};

/// The result of a shell command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellResult {
    pub stdout: String,
    pub stderr: String,
    /// The exit code (shell v2); `None` when the transport could not tell.
    pub code: Option<i32>,
}

impl ShellResult {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
    /// stdout then stderr: some tools print errors on stdout.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// How a call to the phone failed. Never carries a command line (it may hold a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The phone left adb (unplugged, rebooted, offline).
    #[error("phone {serial} is gone: {detail}")]
    Lost { serial: String, detail: String },
    /// The phone did not answer within the timeout.
    #[error("phone {serial} did not answer within {secs} s")]
    Timeout { serial: String, secs: u64 },
    /// The guard refused a command (see [`check_command`]).
    #[error("refused to send `{command}` to {serial}: {why}")]
    Forbidden {
        serial: String,
        command: String,
        why: &'static str,
    },
    /// Anything else the transport reported.
    #[error("adb error on {serial}: {detail}")]
    Other { serial: String, detail: String },
}

impl HasExit for DeviceError {
    fn exit(&self) -> Exit {
        match self {
            DeviceError::Lost { .. } | DeviceError::Timeout { .. } => Exit::PhoneLost,
            DeviceError::Forbidden { .. } => Exit::Refused,
            DeviceError::Other { .. } => Exit::Other,
        }
    }
}

/// A phone the UI engine can drive. Futures are `Send` so a bench can run one journey
/// per phone on its own task.
pub trait UiDevice: Send + Sync {
    /// The serial the adb server knows the phone by.
    fn serial(&self) -> &str;
    /// Runs CMD with `sh -c` on the phone. Implementations must call [`check_command`]
    /// first.
    fn shell(&self, cmd: &str) -> impl Future<Output = Result<ShellResult, DeviceError>> + Send;
    /// Runs a command line that holds a secret (`input text 'password'`). The
    /// implementation must not log, record or echo it, nor put it in an error.
    fn shell_secret(
        &self,
        cmd: &SecretString,
    ) -> impl Future<Output = Result<ShellResult, DeviceError>> + Send;
    /// `exec:CMD`: the raw bytes of stdout (and stderr merged, as adb does for exec).
    fn exec(&self, cmd: &str) -> impl Future<Output = Result<Vec<u8>, DeviceError>> + Send;
}

/// Refuses commands the project must never send (DESIGN.md "Safety interlocks are code").
/// `pm clear`/uninstall of account or Find Device apps does not release the server-side
/// lock and is anti-theft circumvention; the stock reset action and recovery wipe skip
/// Find Device and leave an activation-locked phone. Matching is on words, so quoting or
/// extra spaces do not get around it.
pub fn check_command(serial: &str, cmd: &str) -> Result<(), DeviceError> {
    let words: Vec<String> = cmd
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ';' | '&' | '|' | '\'' | '"' | '(' | ')' | '`')
        })
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    let follows = |a: &str, b: &[&str]| {
        words
            .windows(2)
            .any(|p| p[0] == a && b.contains(&p[1].as_str()))
    };
    let why = if follows(
        "pm",
        &[
            "clear",
            "uninstall",
            "uninstall-system-updates",
            "disable",
            "disable-user",
            "hide",
            "suspend",
        ],
    ) || (follows(
        "package",
        &[
            "clear",
            "uninstall",
            "disable",
            "disable-user",
            "hide",
            "suspend",
        ],
    ) && has("cmd"))
    {
        Some(
            "clearing, uninstalling or disabling apps is never done: it does not release the Mi account lock (FACTS.md §5)",
        )
    } else if words.iter().any(|w| {
        w.contains("factory_reset")
            || w.contains("master_clear")
            || w.contains("wipe_data")
            || w.contains("--wipe")
    }) || (has("reboot") && has("recovery"))
    {
        Some(
            "only Xiaomi's own reset screen (MiuiMasterClear) may reset a phone: other ways leave Find Device on",
        )
    } else if has("rm") && words.iter().any(|w| w.starts_with("/data/")) {
        Some("deleting app data behind the apps' back is never done")
    } else {
        None
    };
    match why {
        Some(why) => Err(DeviceError::Forbidden {
            serial: serial.to_string(),
            command: cmd.chars().take(120).collect(),
            why,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_refuses_clearing_uninstalling_and_stock_resets() {
        for cmd in [
            "pm clear com.xiaomi.account",
            "pm  uninstall --user 0 com.xiaomi.finddevice",
            "'pm' 'clear' com.miui.cloudservice",
            "cmd package clear com.xiaomi.account",
            "true; pm clear com.xiaomi.account",
            "am start -a com.android.settings.action.FACTORY_RESET",
            "am broadcast -a android.intent.action.MASTER_CLEAR",
            "recovery --wipe_data",
            "reboot recovery",
            "rm -rf /data/data/com.xiaomi.account",
            "PM CLEAR com.xiaomi.account",
        ] {
            let e = check_command("S1", cmd).unwrap_err();
            assert_eq!(e.exit(), Exit::Refused, "{cmd}");
        }
    }

    #[test]
    fn guard_lets_the_tools_own_commands_through() {
        for cmd in [
            "getprop persist.security.adbinput",
            "dumpsys account",
            "dpm list-owners",
            "am start -n com.android.settings/.SubSettings --es :android:show_fragment com.android.settings.MiuiMasterClear",
            "am start -n com.xiaomi.account/.ui.AccountSettingsActivity",
            "input tap 540 2172",
            "input keyevent KEYCODE_BACK",
            "uiautomator dump /dev/tty",
            "pm list packages",
        ] {
            assert!(check_command("S1", cmd).is_ok(), "{cmd}");
        }
    }
}
