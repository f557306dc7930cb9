//! What the shell user reads about users, accounts, owners and the screen lock, in the
//! formats AOSP's services print them: `dumpsys account` (AccountManagerService),
//! `dumpsys user` (UserManagerService, Android 13 layout), `dumpsys lock_settings`
//! (LockSettingsService, Android 14 layout), `locksettings` / `cmd lock_settings`
//! (LockSettingsShellCommand) and `dpm list-owners`. Every answer is derived from the
//! phone's [`World`](crate::sim::phone::world::World), so they never disagree.
//!
//! It must not know the transport, the file tree or the Settings screens.

use super::{Io, Sh};

/// The credential of a simulated screen lock until `locksettings set-pin` changes it
/// (documented in docs/simulator.md).
pub const DEMO_LOCK_PIN: &str = "1590";

/// One Android user as the services list it.
struct User {
    id: u32,
    /// `UserInfo.toString()`: `UserInfo{id:name:flags-hex}`.
    info: &'static str,
    serial: u32,
    primary: bool,
    user_type: &'static str,
    /// Decimal flags and `UserInfo.flagsToString` (ART lists the FLAG_ fields by name).
    flags: &'static str,
}

/// User 0, and Xiaomi's dual-apps user 999 while the phone has not been wiped.
fn users(sh: &Sh) -> Vec<User> {
    let mut v = vec![User {
        id: 0,
        info: "UserInfo{0:Owner:c13}",
        serial: 0,
        primary: true,
        user_type: "android.os.usertype.full.SYSTEM",
        flags: "3091 (ADMIN|FULL|INITIALIZED|PRIMARY|SYSTEM)",
    }];
    if sh.phone.profile.xiaomi && !sh.st.wiped {
        // [guess] XSpace's type and its MIUI-only flag bit 0x800000 (printed in hex by
        // flagsToString since no FLAG_ field names it).
        v.push(User {
            id: 999,
            info: "UserInfo{999:XSpace:801010}",
            serial: 10,
            primary: false,
            user_type: "android.os.usertype.profile.CLONE",
            flags: "8392720 (INITIALIZED|PROFILE|800000)",
        });
    }
    v
}

/// `pm list users`.
pub fn pm_list_users(sh: &Sh, io: &mut Io) {
    io.outln("Users:");
    for u in users(sh) {
        io.outln(format!("\t{} running", u.info));
    }
}

/// `ComponentName.flattenToShortString()`: the class loses its package prefix.
pub fn short_component(c: &str) -> String {
    match c.split_once('/') {
        Some((pkg, cls)) => match cls.strip_prefix(pkg) {
            Some(rest) if rest.starts_with('.') => format!("{pkg}/{rest}"),
            _ => c.to_string(),
        },
        None => c.to_string(),
    }
}

/// `ComponentName.toString()`: `ComponentInfo{pkg/full.Class}`.
pub fn component_info(c: &str) -> String {
    match c.split_once('/') {
        Some((pkg, cls)) if cls.starts_with('.') => format!("ComponentInfo{{{pkg}/{pkg}{cls}}}"),
        _ => format!("ComponentInfo{{{c}}}"),
    }
}

/// `dpm list-owners` (DevicePolicyManagerServiceShellCommand): the device owner's user
/// is always affiliated with the device.
pub fn dpm_list_owners(sh: &Sh, io: &mut Io) {
    match &sh.st.world.device_owner {
        Some(o) => {
            io.outln("1 owner:");
            io.outln(format!(
                "User {:>2}: admin={},DeviceOwner,Affiliated",
                0,
                short_component(o)
            ));
        }
        None => io.outln("no owners"),
    }
}

fn mask(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= 3 {
        return "*".repeat(chars.len());
    }
    let mut s: String = chars[..1].iter().collect();
    s.push_str(&"*".repeat(chars.len() - 3));
    s.extend(&chars[chars.len() - 2..]);
    s
}

/// Authenticator type, service component (full class, as `ComponentName.toString()`
/// prints it) and uid.
const MI_AUTH: &[(&str, &str, u32)] = &[
    (
        "com.xiaomi",
        "com.xiaomi.account/com.xiaomi.passport.accountmanager.MiAuthenticatorService",
        10112,
    ),
    (
        "com.xiaomi.unactivated",
        "com.xiaomi.account/com.xiaomi.passport.accountmanager.MiAuthenticatorService",
        10112,
    ),
];
const GOOGLE_AUTH: &[(&str, &str, u32)] = &[
    (
        "com.google",
        "com.google.android.gms/com.google.android.gms.auth.account.authenticator.GoogleAccountAuthenticatorService",
        10146,
    ),
    (
        "com.google.work",
        "com.google.android.gms/com.google.android.gms.auth.account.authenticator.WorkAccountAuthenticatorService",
        10146,
    ),
];

/// `dumpsys account`. AccountManagerService writes through an IndentingPrintWriter
/// ("  " per level, also on blank lines): per user a `User UserInfo{…}:` header, then
/// `Accounts: N` and `  Account {name=…, type=…}` (Account.toString), the debug table
/// (`AccountId, Action_Type, timestamp, UID, TableName, Key` / `Accounts History` / one
/// CSV row per logged action), `Active Sessions: N`, the authenticator cache
/// (`RegisteredServicesCache: N services` / `  ServiceInfo: AuthenticatorDescription
/// {type=…}, ComponentInfo{…}, uid N`) and, for an unlocked user, `Account visibility:`
/// (`  name` / `    package, value`).
pub fn dumpsys_account(sh: &Sh, io: &mut Io) {
    let p = sh.phone.profile;
    let w = &sh.st.world;
    let mi = w.mi_account.as_ref().map(|id| {
        if p.mask_account_names {
            mask(id)
        } else {
            id.clone()
        }
    });
    let mut authenticators: Vec<(&str, &str, u32)> = Vec::new();
    if p.xiaomi {
        authenticators.extend_from_slice(MI_AUTH);
    }
    authenticators.extend_from_slice(GOOGLE_AUTH);
    for u in users(sh) {
        let mut accounts: Vec<(String, &str, u32)> = Vec::new();
        if u.id == 0 {
            if let Some(m) = &mi {
                accounts.push((m.clone(), "com.xiaomi", 10112));
            }
            for g in &w.google_accounts {
                accounts.push((g.clone(), "com.google", 10146));
            }
        } else if p.dual_apps_mi {
            // Xiaomi's dual-apps user lists the Mi account again.
            if let Some(m) = &mi {
                accounts.push((m.clone(), "com.xiaomi", 10112));
            }
        }
        let mut out = vec![format!("User {}:", u.info)];
        let mut ind = |s: String| out.push(format!("  {s}"));
        ind(format!("Accounts: {}", accounts.len()));
        for (name, ty, _) in &accounts {
            ind(format!("  Account {{name={name}, type={ty}}}"));
        }
        ind(String::new());
        ind("AccountId, Action_Type, timestamp, UID, TableName, Key".into());
        ind("Accounts History".into());
        for (i, (_, _, uid)) in accounts.iter().enumerate() {
            ind(format!(
                "{},action_account_add,2024-03-11 09:4{}:07,{uid},accounts,{}",
                i + 1,
                i % 10,
                i
            ));
        }
        ind(String::new());
        ind("Active Sessions: 0".into());
        ind(String::new());
        ind(format!(
            "RegisteredServicesCache: {} services",
            authenticators.len()
        ));
        for (ty, comp, uid) in &authenticators {
            ind(format!(
                "  ServiceInfo: AuthenticatorDescription {{type={ty}}}, ComponentInfo{{{comp}}}, uid {uid}"
            ));
        }
        ind(String::new());
        ind("Account visibility:".into());
        for (name, _, _) in &accounts {
            ind(format!("  {name}"));
            ind("    android:accounts:key_legacy_visible, 1".into());
        }
        ind(String::new());
        for l in out {
            io.outln(l);
        }
    }
}

/// UserRestrictionsUtils.dumpRestrictions: one key a line, `none` for an empty bundle,
/// `null` for no bundle.
fn restrictions(io: &mut Io, list: Option<&[&str]>) {
    match list {
        None => io.outln("      null"),
        Some([]) => io.outln("      none"),
        Some(keys) => keys.iter().for_each(|k| io.outln(format!("      {k}"))),
    }
}

/// `dumpsys user` in Android 13's layout. `no_factory_reset` is a base restriction of
/// user 0 without a device owner; a device owner's is global (it is one of the
/// primary-user-only restrictions) and so in force for every user.
pub fn dumpsys_user(sh: &Sh, io: &mut Io) {
    let w = &sh.st.world;
    let fingerprint = sh
        .st
        .props_now()
        .get("ro.build.fingerprint")
        .cloned()
        .unwrap_or_default();
    let owner = w.device_owner.is_some();
    let nfr: &[&str] = if w.no_factory_reset {
        &["no_factory_reset"]
    } else {
        &[]
    };
    let all = users(sh);
    io.outln("Current user: 0");
    io.outln("");
    io.outln("Users:");
    for u in &all {
        io.outln(format!(
            "  {} serialNo={} isPrimary={}{}",
            u.info,
            u.serial,
            u.primary,
            if u.id == 0 { "" } else { " parentId=0" }
        ));
        io.outln(format!("    Type: {}", u.user_type));
        io.outln(format!("    Flags: {}", u.flags));
        io.outln("    State: RUNNING_UNLOCKED");
        io.outln("    Created: <unknown>");
        io.outln("    Last logged in: +2h13m41s318ms ago");
        io.outln(format!("    Last logged in fingerprint: {fingerprint}"));
        io.outln("    Start time: +2h14m2s77ms ago");
        io.outln("    Unlock time: +2h13m41s301ms ago");
        io.outln("    Has profile owner: false");
        io.outln("    Restrictions:");
        restrictions(io, Some(if u.id == 0 && !owner { nfr } else { &[] }));
        io.outln("    Device policy global restrictions:");
        restrictions(io, (u.id == 0 && owner).then_some(nfr));
        io.outln("    Device policy local restrictions:");
        io.outln("      none");
        io.outln("    Effective restrictions:");
        let effective = if owner || u.id == 0 { nfr } else { &[] };
        restrictions(io, Some(effective));
        io.outln("    Ignore errors preparing storage: false");
    }
    io.outln("");
    io.outln("Device properties:");
    // UserHandle.USER_NULL when there is no device owner.
    io.outln(format!(
        "  Device owner id:{}",
        if owner { "0" } else { "-10000" }
    ));
    io.outln("");
    io.outln("  Guest restrictions:");
    for k in [
        "no_sms",
        "no_install_unknown_sources",
        "no_config_wifi",
        "no_outgoing_calls",
    ] {
        io.outln(format!("    {k}"));
    }
    io.outln("");
    io.outln(format!("  Device managed: {owner}"));
    let ids: Vec<String> = all.iter().map(|u| u.id.to_string()).collect();
    let states: Vec<String> = ids
        .iter()
        .map(|i| format!("{i}=RUNNING_UNLOCKED"))
        .collect();
    io.outln(format!("  Started users state: [{}]", states.join(", ")));
    io.outln(format!("  Cached user IDs: [{}]", ids.join(", ")));
    io.outln(format!(
        "  Cached user IDs (including pre-created): [{}]",
        ids.join(", ")
    ));
    io.outln("");
    io.outln("  Max users: 4 (limit reached: false)");
    io.outln("  Supports switchable users: false");
    io.outln("  All guests ephemeral: false");
    io.outln("  Force ephemeral users: false");
    io.outln("  Is split-system user: false");
    io.outln("  Is headless-system mode: false");
    io.outln("  User version: 10");
    io.outln("  Owner name: Owner");
}

/// `dumpsys lock_settings` in Android 14's layout (per user: protector, SID, quality,
/// `CredentialType: None|Pin`, …). The simulated lock is a PIN (quality 0x20000).
pub fn dumpsys_lock_settings(sh: &Sh, io: &mut Io) {
    let locked = sh.st.world.screen_lock;
    io.outln("Current lock settings service state:");
    io.outln("");
    io.outln("User State:");
    let seed = sh.phone.id.android_id.clone();
    for u in users(sh) {
        let secure = locked && u.id == 0;
        let protector = u64::from_str_radix(seed.get(..15).unwrap_or("1"), 16)
            .unwrap_or(1)
            .wrapping_add(u64::from(u.id));
        io.outln(format!("  User {}", u.id));
        io.outln(format!("    LSKF-based SP protector ID: {protector:016x}"));
        io.outln(
            "    LSKF last changed: 2024-03-11 09:41:07 (previous protector: 0000000000000000)",
        );
        let sid = if secure { protector.rotate_left(17) } else { 0 };
        io.outln(format!("    SID: {sid:016x}"));
        io.outln(format!("    Quality: {}", if secure { 131072 } else { 0 }));
        io.outln(format!(
            "    CredentialType: {}",
            if secure { "Pin" } else { "None" }
        ));
        if !secure {
            io.outln("    IsLockScreenDisabled: false");
        }
        io.outln("    SeparateChallenge: false");
        io.outln("    Metrics: known");
    }
    io.outln("  ");
    for section in [
        "Keys in namespace:",
        "Storage:",
        "StrongAuth:",
        "RebootEscrow:",
    ] {
        io.outln(section);
        io.outln("  ");
    }
    io.outln("PasswordHandleCount: 0");
    io.outln("ThirdPartyAppsStarted: true");
}

/// `locksettings …` / `cmd lock_settings …` (LockSettingsShellCommand): `get-disabled`
/// needs no credential; `verify`, `clear` and `set-*` first check `--old` against the
/// lock (a miss prints `Old password '…' didn't match` on stdout and exits 255).
pub fn lock_settings_cmd(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let Some(cmd) = args.first().map(String::as_str) else {
        lock_help(io);
        return 255;
    };
    let mut old = String::new();
    let mut user = 0u32;
    let mut rest = args[1..].iter();
    let mut new: Option<String> = None;
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--old" | "--user" => {
                let Some(v) = rest.next() else {
                    io.errln(format!("Error while executing command: {cmd}"));
                    io.errln(format!(
                        "java.lang.IllegalArgumentException: Argument expected after \"{a}\""
                    ));
                    return 255;
                };
                if a == "--old" {
                    old = v.clone();
                } else {
                    user = match v.as_str() {
                        "current" | "cur" => 0,
                        n => n.parse().unwrap_or(u32::MAX),
                    };
                }
            }
            o if o.starts_with("--") && new.is_none() => {
                io.errln(format!("Unknown option: {o}"));
                io.errln(format!("Error while executing command: {cmd}"));
                io.errln("java.lang.IllegalArgumentException");
                return 255;
            }
            v => {
                if new.is_none() {
                    new = Some(v.to_string());
                }
            }
        }
    }
    match cmd {
        "help" | "-h" => {
            lock_help(io);
            return 0;
        }
        // The simulator does not model "lock screen disabled" (swipe vs none); a
        // secure lock always reads false.
        "get-disabled" => {
            io.outln("false");
            return 0;
        }
        "set-disabled" => {
            let v = new.as_deref() == Some("true");
            io.outln(format!("Lock screen disabled set to {v}"));
            return 0;
        }
        _ => {}
    }
    let secure = sh.st.world.screen_lock && user == 0;
    if secure {
        if old != sh.st.lock_credential {
            sh.st.count("lock_failed_attempts");
            io.outln(format!("Old password '{old}' didn't match"));
            return 255;
        }
    } else if !old.is_empty() {
        io.outln("Old password provided but user has no password");
        return 255;
    }
    match cmd {
        "verify" => io.outln("Lock credential verified successfully"),
        "clear" => {
            sh.st.world.screen_lock = false;
            io.outln("Lock credential cleared");
        }
        "set-pin" | "set-password" | "set-pattern" if user == 0 => {
            let Some(cred) = new else {
                io.errln(format!("Error while executing command: {cmd}"));
                io.errln("java.lang.IllegalArgumentException: Argument expected");
                return 255;
            };
            let kind = match cmd {
                "set-pin" => "Pin",
                "set-password" => "Password",
                _ => "Pattern",
            };
            io.outln(format!("{kind} set to '{cred}'"));
            sh.st.lock_credential = cred;
            sh.st.world.screen_lock = true;
        }
        other => io.errln(format!("Unknown command: {other}")),
    }
    0
}

fn lock_help(io: &mut Io) {
    io.outln("lockSettings service commands:");
    io.outln("");
    io.outln(
        "NOTE: when lock screen is set, all commands require the --old <CREDENTIAL> argument.",
    );
    io.outln("");
    for (cmd, what) in [
        ("help", "Prints this help text."),
        (
            "get-disabled [--old <CREDENTIAL>] [--user USER_ID]",
            "Checks whether lock screen is disabled.",
        ),
        (
            "set-disabled [--old <CREDENTIAL>] [--user USER_ID] <true|false>",
            "When true, disables lock screen.",
        ),
        (
            "set-pin [--old <CREDENTIAL>] [--user USER_ID] <PIN>",
            "Sets the lock screen as PIN, using the given PIN to unlock.",
        ),
        (
            "clear [--old <CREDENTIAL>] [--user USER_ID]",
            "Clears the lock credentials.",
        ),
        (
            "verify [--old <CREDENTIAL>] [--user USER_ID]",
            "Verifies the lock credentials.",
        ),
    ] {
        io.outln(format!("  {cmd}"));
        io.outln(format!("    {what}"));
        io.outln("");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_print_as_android_does() {
        assert_eq!(
            short_component("com.corp.mdm/com.corp.mdm.Admin"),
            "com.corp.mdm/.Admin"
        );
        assert_eq!(
            short_component("com.corp.mdm/.Admin"),
            "com.corp.mdm/.Admin"
        );
        assert_eq!(short_component("com.a/org.b.C"), "com.a/org.b.C");
        assert_eq!(short_component("garbage"), "garbage");
        assert_eq!(
            component_info("com.corp.mdm/.Admin"),
            "ComponentInfo{com.corp.mdm/com.corp.mdm.Admin}"
        );
        assert_eq!(
            component_info("com.a/org.b.C"),
            "ComponentInfo{com.a/org.b.C}"
        );
    }

    #[test]
    fn masked_names_keep_first_and_last_two() {
        assert_eq!(mask("6203145001"), "6*******01");
        assert_eq!(mask("ab"), "**");
    }

    #[test]
    fn restriction_lists_say_none_or_null() {
        let mut io = Io::default();
        restrictions(&mut io, None);
        restrictions(&mut io, Some(&[]));
        restrictions(&mut io, Some(&["no_factory_reset"]));
        assert_eq!(
            String::from_utf8_lossy(&io.out),
            "      null\n      none\n      no_factory_reset\n"
        );
    }
}
