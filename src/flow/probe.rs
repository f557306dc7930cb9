//! What the journeys need to know about a phone before they touch it: identity props,
//! accounts (users 0 and 999), device owner, reset restrictions and whether a screen lock
//! is set. A thin adapter over `crate::miui`: the commands, their parsers and the FRP
//! rule live there (`miui::inspect`'s batch, `miui::policy`); this module only picks
//! the sections a journey needs, reads them in ONE shell round trip and shapes them into
//! [`PhoneFacts`]. Reads only; changes nothing. It must not parse device output itself,
//! and never asks `lock_settings` to verify a credential (an empty attempt may count
//! toward the lockout, or a wipe-after-failures policy).

use crate::miui::inspect::{self, Section, Unreadable, read_sections, section};
use crate::miui::ui::{DeviceError, UiDevice};
use crate::miui::{accounts, parse_getprop, policy};

/// The batch sections the sign-out journey needs.
const ACCOUNT_SECTIONS: [&str; 2] = ["getprop", "account"];
/// The batch sections the reset interlocks need (the IMEI is not among them).
const RESET_SECTIONS: [&str; 5] = ["getprop", "account", "owners", "user", "lock"];

/// Facts about one phone, as read before a journey.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PhoneFacts {
    /// The serial the adb server knows the phone by.
    pub adb_serial: String,
    /// `ro.serialno`, the phone's own serial (differs from the adb serial over TCP).
    pub serialno: String,
    pub manufacturer: String,
    pub model: String,
    pub is_xiaomi: bool,
    /// `persist.security.adbinput` as read ("" when unset).
    pub adb_input: String,
    /// Xiaomi accounts (type `com.xiaomi*`) in users 0 and 999, as `dumpsys account`
    /// names them (often masked).
    pub mi_accounts: Vec<String>,
    pub google_accounts: usize,
    /// `dpm list-owners`: the device owner, if any.
    pub device_owner: Option<String>,
    /// The `no_factory_reset` user restriction is in force.
    pub no_factory_reset: bool,
    /// A screen lock is set: `Some(false)` only when the phone said so plainly.
    pub screen_lock: Option<bool>,
    /// Reads that failed (a service missing early in boot, a dump that timed out or was
    /// cut short), each naming its command; their facts above are unknown, and the
    /// methods below count them on the unsafe side.
    pub unreadable: Vec<Unreadable>,
}

impl PhoneFacts {
    /// Whether a Mi account may be on the phone: one was listed, or the accounts could
    /// not be read (never "signed out" on a failed read).
    pub fn mi_signed_in(&self) -> bool {
        !self.mi_accounts.is_empty() || self.accounts_unreadable().is_some()
    }

    /// Why `dumpsys account` could not be trusted, if it could not.
    pub fn accounts_unreadable(&self) -> Option<&Unreadable> {
        self.unreadable
            .iter()
            .find(|u| u.command == "dumpsys account")
    }

    /// Why whether the phone is managed (device owner, `no_factory_reset`) is unknown.
    pub fn management_unreadable(&self) -> Vec<&Unreadable> {
        self.unreadable
            .iter()
            .filter(|u| u.command != "dumpsys account")
            .collect()
    }

    /// Serials that name this phone: what `--confirm` and a backup manifest may say.
    pub fn serials(&self) -> Vec<&str> {
        let mut v = vec![self.adb_serial.as_str()];
        if !self.serialno.is_empty() && self.serialno != self.adb_serial {
            v.push(self.serialno.as_str());
        }
        v
    }

    /// Shapes the batch sections (see [`inspect::split_sections`]) into facts, through
    /// `miui`'s parsers. Sections that were not asked for leave their facts at the
    /// default; sections that were asked for but failed are listed in `unreadable`.
    pub fn from_sections(adb_serial: &str, sections: &[Section]) -> PhoneFacts {
        let i = inspect::assess(adb_serial, sections);
        let props = parse_getprop(section(sections, "getprop").unwrap_or(""));
        let asked = |name: &str| section(sections, name).is_some();
        let mut unreadable = Vec::new();
        let u = &mut unreadable;
        let accs = keep(asked("account"), inspect::accounts_of(sections), u).unwrap_or_default();
        let owner = keep(asked("owners"), inspect::device_owner_of(sections), u).flatten();
        let nfr = keep(asked("user"), inspect::no_factory_reset_of(sections), u).unwrap_or(false);
        PhoneFacts {
            adb_serial: adb_serial.to_string(),
            serialno: i.hardware_serial.unwrap_or_default(),
            manufacturer: i.manufacturer.unwrap_or_default(),
            model: i.model.unwrap_or_default(),
            is_xiaomi: i.xiaomi.unwrap_or(false),
            adb_input: props
                .get("persist.security.adbinput")
                .cloned()
                .unwrap_or_default(),
            mi_accounts: accounts::mi_account_names(&accs),
            google_accounts: accounts::summarize(&accs).google_accounts,
            device_owner: owner,
            no_factory_reset: nfr,
            screen_lock: i.screen_lock,
            unreadable,
        }
    }

    /// Whether a reset would arm Factory Reset Protection ([`policy::frp_armed`]).
    /// Unreadable accounts count as armed: a Google account cannot be ruled out.
    pub fn frp_armed(&self) -> bool {
        self.accounts_unreadable().is_some()
            || policy::frp_armed(self.google_accounts, self.screen_lock)
    }
}

/// R's value when its section was ASKED for; a failure goes to SINK. `None` leaves the
/// fact at its default.
fn keep<T>(asked: bool, r: Result<T, Unreadable>, sink: &mut Vec<Unreadable>) -> Option<T> {
    if !asked {
        return None;
    }
    r.map_err(|e| sink.push(e)).ok()
}

/// Reads the facts the sign-out journey needs (props and accounts), in one round trip.
pub async fn accounts<D: UiDevice>(dev: &D) -> Result<PhoneFacts, DeviceError> {
    let sections = read_sections(dev, &ACCOUNT_SECTIONS).await?;
    Ok(PhoneFacts::from_sections(dev.serial(), &sections))
}

/// Reads everything the reset interlocks need, in one round trip.
pub async fn for_reset<D: UiDevice>(dev: &D) -> Result<PhoneFacts, DeviceError> {
    let sections = read_sections(dev, &RESET_SECTIONS).await?;
    Ok(PhoneFacts::from_sections(dev.serial(), &sections))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use secrecy::SecretString;

    use super::*;
    use crate::miui::ui::{ShellResult, check_command};

    /// A phone that answers the read-only commands a probe may send, and records every
    /// command line it is given. It runs a batch the way `sh` would: each `CMD 2>&1` by
    /// its canned answer, each `echo "…$?"` with status 0. Any `lock_settings`/
    /// `locksettings` call other than the dump answers as an unlock attempt would.
    struct Recorder {
        sent: Mutex<Vec<String>>,
        answers: Vec<(&'static str, String)>,
    }

    impl Recorder {
        fn new(answers: &[(&'static str, &str)]) -> Recorder {
            Recorder {
                sent: Mutex::new(Vec::new()),
                answers: answers.iter().map(|(c, a)| (*c, a.to_string())).collect(),
            }
        }

        fn sent(&self) -> Vec<String> {
            self.sent.lock().map(|v| v.clone()).unwrap_or_default()
        }

        fn run(&self, line: &str) -> String {
            let mut out = String::new();
            for part in line.split("; ") {
                let part = part.trim();
                if let Some(text) = part.strip_prefix("echo \"") {
                    out.push_str(&text.trim_end_matches('"').replace("$?", "0"));
                    out.push('\n');
                    continue;
                }
                let cmd = part.trim_end_matches("2>&1").trim();
                match self.answers.iter().find(|(c, _)| *c == cmd) {
                    Some((_, a)) => out.push_str(a),
                    None if cmd.contains("lock_settings") || cmd.contains("locksettings") => {
                        out.push_str("Lock credential verified successfully\n")
                    }
                    None => out.push_str(&format!("/system/bin/sh: {cmd}: not found\n")),
                }
            }
            out
        }
    }

    impl UiDevice for Recorder {
        fn serial(&self) -> &str {
            "REC1"
        }
        async fn shell(&self, cmd: &str) -> Result<ShellResult, DeviceError> {
            check_command("REC1", cmd)?;
            if let Ok(mut v) = self.sent.lock() {
                v.push(cmd.to_string());
            }
            Ok(ShellResult {
                stdout: self.run(cmd),
                stderr: String::new(),
                code: Some(0),
            })
        }
        async fn shell_secret(&self, _cmd: &SecretString) -> Result<ShellResult, DeviceError> {
            if let Ok(mut v) = self.sent.lock() {
                v.push("<secret>".into());
            }
            Ok(ShellResult::default())
        }
        async fn exec(&self, cmd: &str) -> Result<Vec<u8>, DeviceError> {
            if let Ok(mut v) = self.sent.lock() {
                v.push(format!("exec:{cmd}"));
            }
            Ok(Vec::new())
        }
    }

    const PROPS: &str = "[ro.product.manufacturer]: [Xiaomi]\r\n[ro.product.brand]: [Redmi]\r\n\
[ro.product.model]: [22101316G]\r\n[ro.serialno]: [a1b2c3]\r\n[persist.security.adbinput]: [1]\r\n";
    const ACCOUNTS: &str = "User UserInfo{0:Owner:c13}:\r\n  Accounts: 2\r\n    Account {name=1*****89, type=com.xiaomi}\r\n    Account {name=a@gmail.com, type=com.google}\r\n\r\nUser UserInfo{999:XSpace:801010}:\r\n  Accounts: 1\r\n    Account {name=1*****89, type=com.xiaomi}\r\n";

    fn pin_phone() -> Recorder {
        Recorder::new(&[
            ("getprop", PROPS),
            ("dumpsys account", ACCOUNTS),
            ("dpm list-owners", "no owners\n"),
            (
                "dumpsys user",
                "Users:\n  UserInfo{0:Owner:c13} running\n    Restrictions:\n      none\n",
            ),
            (
                "dumpsys lock_settings",
                "User State:\n  User 0\n    CredentialType: Pin\n",
            ),
        ])
    }

    /// The guard: no probe ever asks lock settings to verify a credential (with a PIN
    /// set, that is an unlock attempt), and each probe is one round trip.
    #[tokio::test]
    async fn the_probe_never_asks_lock_settings_to_verify() {
        let dev = pin_phone();
        let f = for_reset(&dev).await.unwrap();
        accounts(&dev).await.unwrap();
        let sent = dev.sent();
        assert_eq!(sent.len(), 2, "one round trip per probe: {sent:?}");
        for cmd in &sent {
            let c = cmd.to_ascii_lowercase();
            let lock = c.contains("lock_settings") || c.contains("locksettings");
            assert!(!(lock && c.contains("verify")), "sent {cmd:?}");
        }
        assert!(sent[0].contains("dumpsys lock_settings"));
        // The lock came from the dump, not from a "verified" answer.
        assert_eq!(f.screen_lock, Some(true));
        assert!(f.frp_armed());
    }

    #[tokio::test]
    async fn facts_come_from_the_batch() {
        let dev = pin_phone();
        let f = for_reset(&dev).await.unwrap();
        assert_eq!(f.adb_serial, "REC1");
        assert_eq!(f.serialno, "a1b2c3");
        assert_eq!(f.serials(), vec!["REC1", "a1b2c3"]);
        assert_eq!(
            (f.manufacturer.as_str(), f.model.as_str()),
            ("Xiaomi", "22101316G")
        );
        assert!(f.is_xiaomi);
        assert_eq!(f.adb_input, "1");
        assert_eq!(f.mi_accounts, vec!["1*****89", "1*****89"]);
        assert!(f.mi_signed_in());
        assert_eq!(f.google_accounts, 1);
        assert_eq!(f.device_owner, None);
        assert!(!f.no_factory_reset);

        let a = accounts(&dev).await.unwrap();
        assert!(!dev.sent()[1].contains("lock_settings"));
        assert_eq!(a.mi_accounts, f.mi_accounts);
        assert_eq!(
            a.screen_lock, None,
            "the sign-out probe does not read the lock"
        );
    }

    /// The reviewer's case: `dumpsys account` fails but its marker is printed. The
    /// facts must say "unknown" (and count as signed in and FRP-armed), not "clean".
    #[tokio::test]
    async fn a_failed_dump_is_unknown_not_a_clean_phone() {
        for failed in [
            "Can't find service: account\n",
            "\n*** SERVICE 'account' DUMP TIMEOUT (10000ms) EXPIRED ***\n\n",
            "",
        ] {
            let dev = Recorder::new(&[
                ("getprop", PROPS),
                ("dumpsys account", failed),
                (
                    "dpm list-owners",
                    "Exception occurred while executing 'list-owners':\n",
                ),
                ("dumpsys user", "Can't find service: user\n"),
                (
                    "dumpsys lock_settings",
                    "User State:\n  User 0\n    CredentialType: None\n",
                ),
            ]);
            let f = for_reset(&dev).await.unwrap();
            assert!(f.mi_accounts.is_empty());
            let why = f.accounts_unreadable().map(ToString::to_string);
            assert!(
                why.is_some_and(|w| w.contains("dumpsys account")),
                "{failed:?}"
            );
            assert!(f.mi_signed_in(), "an unread account list is not signed out");
            assert!(
                f.frp_armed(),
                "an unread account list may hold a Google account"
            );
            assert_eq!(f.management_unreadable().len(), 2);
            let a = accounts(&dev).await.unwrap();
            assert!(a.accounts_unreadable().is_some() && a.mi_signed_in());
            assert!(
                a.management_unreadable().is_empty(),
                "sections not asked for are not unknown"
            );
        }
        let clean = Recorder::new(&[
            ("getprop", PROPS),
            (
                "dumpsys account",
                "User UserInfo{0:Owner:c13}:\n  Accounts: 0\n",
            ),
        ]);
        let a = accounts(&clean).await.unwrap();
        assert!(a.unreadable.is_empty() && !a.mi_signed_in() && !a.frp_armed());
    }

    #[tokio::test]
    async fn an_answer_cut_short_is_an_error_not_a_clean_phone() {
        // A phone whose `dpm` hangs up mid-batch: no owners/user/lock sections.
        struct Cut(Recorder);
        impl UiDevice for Cut {
            fn serial(&self) -> &str {
                "CUT"
            }
            async fn shell(&self, cmd: &str) -> Result<ShellResult, DeviceError> {
                let mut r = self.0.shell(cmd).await?;
                if let Some(at) = r.stdout.find("no owners") {
                    r.stdout.truncate(at);
                }
                Ok(r)
            }
            async fn shell_secret(&self, c: &SecretString) -> Result<ShellResult, DeviceError> {
                self.0.shell_secret(c).await
            }
            async fn exec(&self, cmd: &str) -> Result<Vec<u8>, DeviceError> {
                self.0.exec(cmd).await
            }
        }
        let dev = Cut(pin_phone());
        let e = for_reset(&dev).await.unwrap_err();
        assert!(e.to_string().contains("cut short"), "{e}");
        assert!(accounts(&dev).await.unwrap().mi_signed_in());
    }
}
