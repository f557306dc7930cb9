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

/// What `am start` may open, argument for argument: the Mi account page (and its
/// action fallback), and Xiaomi's own reset screen. Anything else is refused, so a
/// recipe or a future code path cannot open the stock reset screen by a new name.
pub const ACCOUNT_PAGE_STARTS: &[&[&str]] = &[
    &["-n", "com.xiaomi.account/.ui.AccountSettingsActivity"],
    &["-a", "android.settings.XIAOMI_ACCOUNT_SYNC_SETTINGS"],
];

/// The one way a reset starts (FACTS.md §5). Hard-coded: recipes cannot replace it.
pub const RESET_SCREEN_START: &[&str] = &[
    "-n",
    "com.android.settings/.SubSettings",
    "--es",
    ":android:show_fragment",
    "com.android.settings.MiuiMasterClear",
];

/// Whether `am start ARGS` is one of the starts the tool may make.
pub fn start_allowed(args: &[&str]) -> bool {
    args == RESET_SCREEN_START || ACCOUNT_PAGE_STARTS.contains(&args)
}

/// The stock reset in every spelling AOSP (and its forks) use, compared with case,
/// `_`, `.`, `$`, `/`, `\` and `-` removed: `MasterClear`/`master_clear` (before Android
/// 12), `MainClear`/`main_clear`/`MainClearConfirm` (12+), `Settings$FactoryResetActivity`,
/// `FACTORY_RESET` / `MASTER_CLEAR` actions, recovery's `--wipe_data`.
const STOCK_RESET_WORDS: &[&str] = &["factoryreset", "masterclear", "mainclear", "wipedata"];

/// Refuses commands the project must never send (DESIGN.md "Safety interlocks are code").
/// `pm clear`/uninstall of account or Find Device apps does not release the server-side
/// lock and is anti-theft circumvention; the stock reset action and recovery wipe skip
/// Find Device and leave an activation-locked phone. Matching is on words, and on the
/// basename of a command word (`/system/bin/pm` is `pm`), so quoting, paths or extra
/// spaces do not get around it.
pub fn check_command(serial: &str, cmd: &str) -> Result<(), DeviceError> {
    let words: Vec<String> = unquoted(cmd)
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '`'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    // A command word as the shell would find it: `/system/bin/pm` runs `pm`.
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let bases: Vec<String> = words.iter().map(|w| base(w)).collect();
    let has = |w: &str| bases.iter().any(|x| x == w);
    let follows = |a: &str, b: &[&str]| {
        bases
            .windows(2)
            .any(|p| p[0] == a && b.contains(&p[1].as_str()))
    };
    let squashed = |w: &String| -> String {
        w.chars()
            .filter(|c| !matches!(c, '_' | '.' | '$' | '/' | '\\' | '-'))
            .collect()
    };
    let why = if follows(
        "pm",
        &[
            "clear",
            "uninstall",
            "uninstall-system-updates",
            "disable",
            "disable-user",
            "disable-until-used",
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
            "disable-until-used",
            "hide",
            "suspend",
        ],
    ) && has("cmd"))
    {
        Some(
            "clearing, uninstalling or disabling apps is never done: it does not release the Mi account lock (FACTS.md §5)",
        )
    } else if words.iter().any(|w| {
        // Xiaomi's own screen is the one allowed reset; its name holds "MasterClear".
        let s = squashed(w).replace("miuimasterclear", "");
        STOCK_RESET_WORDS.iter().any(|k| s.contains(k)) || w.starts_with("--wipe")
    }) || (has("reboot") && has("recovery"))
        // `setprop sys.powerctl reboot,recovery` is the same reboot by another door.
        || (has("setprop") && words.iter().any(|w| w.contains("powerctl")))
    {
        Some(
            "only Xiaomi's own reset screen (MiuiMasterClear) may reset a phone: other ways leave Find Device on",
        )
    } else if has("rm") && words.iter().any(|w| w.starts_with("/data/")) {
        Some("deleting app data behind the apps' back is never done")
    } else if starts_other_than_allowed(cmd) {
        Some(
            "`am start` may open only the Mi account page and Xiaomi's reset screen (MiuiMasterClear)",
        )
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

/// CMD after the shell's quote removal, which happens before a word is run: `p''m`,
/// `"p"m`, `p\m` and a backslash-newline inside a word all run `pm`. Both matchers of
/// the guard read this. (Expansions such as `$x` are beyond a word match; the tool never
/// builds a command from text it did not write.)
fn unquoted(cmd: &str) -> String {
    cmd.replace("\\\n", "")
        .chars()
        .filter(|c| !matches!(c, '\'' | '"' | '\\'))
        .collect()
}

/// Whether CMD holds an `am start` (or `cmd activity start`) whose arguments are not one
/// of the allowed starts. Arguments are compared as the shell would pass them (the
/// engine single-quotes them); case is kept (components are case-sensitive). A start
/// hidden behind `;`/`&&` is found too.
fn starts_other_than_allowed(cmd: &str) -> bool {
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_ascii_lowercase();
    unquoted(cmd)
        .split([';', '&', '|', '(', ')', '`', '\n'])
        .any(|segment| {
            let words: Vec<&str> = segment.split_whitespace().collect();
            (0..words.len()).any(|i| {
                // `cmd` may take options before its service (`cmd -w activity …`).
                let after_cmd = words[i + 1..]
                    .iter()
                    .position(|w| !w.starts_with('-'))
                    .map(|p| i + 1 + p);
                let from = match (base(words[i]).as_str(), words.get(i + 1)) {
                    ("am", Some(s)) if s.starts_with("start") => i + 2,
                    ("cmd", _) => match after_cmd {
                        Some(a)
                            if words[a] == "activity"
                                && words.get(a + 1).is_some_and(|s| s.starts_with("start")) =>
                        {
                            a + 2
                        }
                        _ => return false,
                    },
                    _ => return false,
                };
                !start_allowed(&words[from..])
            })
        })
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
            "/system/bin/pm clear com.xiaomi.account",
            "pm disable-until-used com.xiaomi.finddevice",
            "cmd package disable-until-used com.xiaomi.finddevice",
            "setprop sys.powerctl reboot,recovery",
            "cmd -w activity start-activity -n com.android.settings/.Settings",
            "'/system/bin/pm' 'uninstall' com.xiaomi.finddevice",
            "/system/bin/cmd package clear com.xiaomi.account",
            "am start -n com.android.settings/.Settings\\$FactoryResetActivity",
            "p''m clear com.xiaomi.account",
            "\"p\"m uninstall com.xiaomi.finddevice",
            "p\\m clear com.xiaomi.account",
            "reb''oot rec\"\"overy",
            "a''m start -n com.android.settings/.Settings",
            "cm''d package clear com.xiaomi.account",
            "p\\\nm clear com.xiaomi.account",
            "am start -n 'com.android.settings/.Settings$FactoryResetActivity'",
            "am start -n com.android.settings/.SubSettings --es :android:show_fragment com.android.settings.MainClear",
            "am start -n com.android.settings/.SubSettings --es :android:show_fragment com.android.settings.MasterClear",
            "am start -n com.android.settings/.SubSettings --es :android:show_fragment com.android.settings.MainClearConfirm",
            "am broadcast -a android.intent.action.FACTORY_RESET -p android",
            "am broadcast -a com.android.internal.intent.action.MASTER_CLEAR",
            "/system/bin/am start -a android.settings.MAIN_CLEAR",
            "recovery --wipe-data",
            "/system/bin/reboot recovery",
            "am start -n com.android.settings/.SubSettings --es :android:show_fragment com.android.settings.MiuiMasterClearMasterClear",
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
            "am start '-n' 'com.xiaomi.account/.ui.AccountSettingsActivity'",
            "am start '-a' 'android.settings.XIAOMI_ACCOUNT_SYNC_SETTINGS'",
            "dumpsys user",
        ] {
            assert!(check_command("S1", cmd).is_ok(), "{cmd}");
        }
    }

    /// `am start` opens only the two screens the journeys need: not Settings, not a
    /// fragment a forum recipe names, not one hidden after another command.
    #[test]
    fn am_start_opens_only_the_allowlisted_screens() {
        for cmd in [
            "am start -n com.android.settings/.Settings",
            "am start -a android.settings.SETTINGS",
            "am start -n com.android.settings/.SubSettings --es :android:show_fragment com.android.settings.ResetDashboardFragment",
            "am start -n com.android.settings/.SubSettings --es :android:show_fragment com.android.settings.MiuiMasterClear --ez extra true",
            "am start -n com.xiaomi.account/.ui.AccountSettingsActivity; am start -n com.android.settings/.Settings",
            "cmd activity start-activity -n com.android.settings/.Settings",
            "/system/bin/am start-activity -a android.settings.SETTINGS",
            "a\\m start -n com.android.settings/.Settings",
            "c\\md activity start -n com.android.settings/.Settings",
        ] {
            let e = check_command("S1", cmd).unwrap_err();
            assert_eq!(e.exit(), Exit::Refused, "{cmd}");
        }
        assert!(start_allowed(RESET_SCREEN_START));
        assert!(ACCOUNT_PAGE_STARTS.iter().all(|a| start_allowed(a)));
    }
}
