//! What forbids or arms a reset, read from command output: the device owner
//! (`dpm list-owners`), the `no_factory_reset` user restriction (`dumpsys user`), the
//! screen lock (`dumpsys lock_settings`) and input injection (`persist.security.adbinput`).
//!
//! The screen-lock reading is the project's one guess here, kept in this one place:
//! FRP arms with a Google account plus a *secure* lock (FACTS.md §4). Android 12+
//! prints `CredentialType: None|Pattern|Pin|Password` per user in `dumpsys
//! lock_settings`; older releases print the numeric type (-1 = none). We never use
//! `locksettings verify` (an empty attempt may count against the lockout), and
//! `lockscreen.disabled` only says whether the swipe screen shows, not whether a
//! credential exists. When no credential type can be read, the lock is "unknown" and a
//! phone with a Google account counts as FRP-armed: the safe side.

use super::props::{Props, first};

/// The device owner component from `dpm list-owners`, which prints `no owners`, or
/// `N owner(s):` then `User  0: admin=PKG/.Receiver,DeviceOwner[,…]` lines.
pub fn device_owner(list_owners: &str) -> Option<String> {
    list_owners
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("DeviceOwner") || l.starts_with("Device Owner"))
        .find_map(|l| {
            let (_, after) = l.split_once("admin=")?;
            let comp = after.split([',', ' ', '}']).next()?.trim();
            (!comp.is_empty()).then(|| comp.to_string())
        })
}

/// Whether `dpm list-owners` answered with its list: `no owners`, or the `N owner(s):`
/// header (DevicePolicyManagerServiceShellCommand). Anything else (a usage text, a
/// `cmd: Can't find service: device_policy`, an exception) says nothing about owners.
pub fn owners_listed(list_owners: &str) -> bool {
    list_owners.lines().map(str::trim).any(|l| {
        l == "no owners"
            || l.split_once(' ').is_some_and(|(n, rest)| {
                n.parse::<u32>().is_ok() && (rest == "owner:" || rest == "owners:")
            })
    })
}

/// Whether `dumpsys user` listed user 0 (`UserInfo{0:…}` under `Users:`): only then
/// does the absence of `no_factory_reset` mean it is not in force.
pub fn users_listed(dumpsys_user: &str) -> bool {
    dumpsys_user.lines().any(|l| l.trim() == "Users:")
        && dumpsys_user
            .lines()
            .any(|l| l.trim().starts_with("UserInfo{0:"))
}

/// Whether `no_factory_reset` is in force: AOSP's `dumpsys user` lists each active
/// restriction on a line of its own under `Restrictions:` / `Effective restrictions:`
/// (and `none` when there are none); some releases print a Bundle (`{no_factory_reset=true}`).
pub fn no_factory_reset(dumpsys_user: &str) -> bool {
    dumpsys_user.lines().any(|l| {
        let t = l.trim();
        t == "no_factory_reset"
            || t.contains("no_factory_reset=true")
            || t.split([' ', ',', '[', ']', '{', '}'])
                .any(|w| w == "no_factory_reset" && !t.contains("=false"))
    })
}

/// Whether user 0 has a secure screen lock, from `dumpsys lock_settings`; `None` when
/// the output says nothing we recognise.
pub fn screen_lock(lock_settings: &str) -> Option<bool> {
    let mut in_user0 = true;
    for raw in lock_settings.lines() {
        let t = raw.trim();
        if let Some(u) = t.strip_prefix("User ") {
            in_user0 = u.trim().split([' ', ':']).next() == Some("0");
            continue;
        }
        if !in_user0 {
            continue;
        }
        if let Some(v) = t.strip_prefix("CredentialType:") {
            return match v.trim().to_ascii_lowercase().as_str() {
                "none" | "-1" => Some(false),
                "pattern" | "pin" | "password" | "password_or_pin" | "1" | "2" | "3" | "4" => {
                    Some(true)
                }
                _ => None,
            };
        }
    }
    None
}

/// Whether a factory reset would leave the phone asking for a Google account (Factory
/// Reset Protection): a Google account plus a secure lock. A lock that could not be
/// read (`None`) counts as set, the safe side (see the module's note). This is the one
/// statement of the rule; `inspect` and the reset interlocks both ask it.
pub fn frp_armed(google_accounts: usize, screen_lock: Option<bool>) -> bool {
    google_accounts > 0 && screen_lock != Some(false)
}

/// Whether `input` may inject events. Xiaomi firmware refuses it until "USB debugging
/// (Security settings)" sets `persist.security.adbinput=1` (absent means off); other
/// phones have no such switch.
pub fn input_allowed(props: &Props, is_xiaomi: bool) -> bool {
    if !is_xiaomi {
        return true;
    }
    first(props, &["persist.security.adbinput"]) == Some("1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_device_owner() {
        assert_eq!(device_owner("no owners\n"), None);
        let out = "1 owner:\r\nUser  0: admin=com.afwsamples.testdpc/.DeviceAdminReceiver,DeviceOwner\r\n";
        assert_eq!(
            device_owner(out).as_deref(),
            Some("com.afwsamples.testdpc/.DeviceAdminReceiver")
        );
        let prof = "1 owner:\nUser 10: admin=com.corp/.Admin,ProfileOwner\n";
        assert_eq!(device_owner(prof), None);
        assert_eq!(device_owner("Error: unknown command 'list-owners'"), None);
        assert_eq!(device_owner("User  0: admin=,DeviceOwner"), None);
    }

    #[test]
    fn an_owner_list_and_a_user_list_must_be_there() {
        assert!(owners_listed("no owners\r\n"));
        assert!(owners_listed(
            "1 owner:\nUser  0: admin=com.corp/.Admin,DeviceOwner\n"
        ));
        assert!(owners_listed("2 owners:\n"));
        for bad in [
            "",
            "cmd: Can't find service: device_policy\n",
            "usage: dpm [subcommand] [options]\n",
            "Exception occurred while executing 'list-owners':\njava.lang.SecurityException\n",
            "no owner",
        ] {
            assert!(!owners_listed(bad), "{bad:?}");
        }
        assert!(users_listed(
            "Current user: 0\n\nUsers:\n  UserInfo{0:Owner:c13} serialNo=0 isPrimary=true\n"
        ));
        assert!(!users_listed("Can't find service: user\n"));
        assert!(!users_listed("Users:\n"));
        assert!(!users_listed(""));
    }

    #[test]
    fn reads_no_factory_reset() {
        let on = "Users:\n  UserInfo{0:Owner:c13} running\n    Restrictions:\n      no_factory_reset\n      no_add_user\n    Effective restrictions:\n      no_factory_reset\n";
        assert!(no_factory_reset(on));
        let off = "Users:\n  UserInfo{0:Owner:c13} running\n    Restrictions:\n      none\n    Device policy global restrictions:\n      null\n";
        assert!(!no_factory_reset(off));
        assert!(no_factory_reset(
            "    Restrictions: Bundle[{no_factory_reset=true}]\n"
        ));
        assert!(!no_factory_reset(
            "    Restrictions: Bundle[{no_factory_reset=false}]\n"
        ));
        assert!(!no_factory_reset("Can't find service: user"));
    }

    #[test]
    fn reads_the_screen_lock_of_user_0() {
        let pin = "Current lock settings service state:\n\nUser State:\n    User 0\n        SID: 7d5b\n        Quality: 131072\n        CredentialType: PIN\n    User 10\n        CredentialType: None\n";
        assert_eq!(screen_lock(pin), Some(true));
        let none = "User State:\n    User 0\n        CredentialType: None\r\n";
        assert_eq!(screen_lock(none), Some(false));
        let old = "    User 0\n        CredentialType: -1\n";
        assert_eq!(screen_lock(old), Some(false));
        let other = "    User 10\n        CredentialType: Pin\n";
        assert_eq!(screen_lock(other), None);
        assert_eq!(screen_lock("Can't find service: lock_settings"), None);
        assert_eq!(screen_lock("CredentialType: Quantum"), None);
    }

    #[test]
    fn frp_arms_with_google_and_a_lock_that_is_set_or_unknown() {
        assert!(frp_armed(1, Some(true)));
        assert!(frp_armed(2, None), "an unreadable lock counts as set");
        assert!(!frp_armed(1, Some(false)));
        assert!(!frp_armed(0, Some(true)));
        assert!(!frp_armed(0, None));
    }

    #[test]
    fn input_needs_the_xiaomi_switch() {
        let mut p = Props::new();
        assert!(!input_allowed(&p, true));
        assert!(input_allowed(&p, false));
        p.insert("persist.security.adbinput".into(), "1".into());
        assert!(input_allowed(&p, true));
        p.insert("persist.security.adbinput".into(), "0".into());
        assert!(!input_allowed(&p, true));
    }
}
