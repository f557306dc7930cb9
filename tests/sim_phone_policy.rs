//! The simulated phone's policy answers — USB debugging (Security settings), user
//! restrictions, device owner, screen lock, accounts — in AOSP's output formats, always
//! consistent with the phone's state, in-process and through Debian's real adb server.

mod common;

use std::sync::Arc;

use mi_offboard::sim::device::{Device, ShellOutput};
use mi_offboard::sim::{Phone, PhoneSpec, Registry};

fn phone(profile: &str, seed: u64) -> Arc<Phone> {
    let spec = PhoneSpec {
        profile: profile.into(),
        seed,
        ..PhoneSpec::default()
    };
    Phone::new(spec, Registry::new()).expect("phone")
}

async fn sh(p: &Phone, cmd: &str) -> ShellOutput {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    drop(tx);
    p.shell(cmd, rx).await
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn out(p: &Phone, cmd: &str) -> String {
    text(&sh(p, cmd).await.stdout)
}

/// The lines of the block that starts with the line HEADER, up to the next line
/// indented no deeper than HEADER.
fn block(all: &str, header: &str) -> Vec<String> {
    let mut lines = all.lines().skip_while(|l| *l != header);
    let Some(h) = lines.next() else {
        return Vec::new();
    };
    let depth = h.len() - h.trim_start().len();
    lines
        .take_while(|l| l.len() - l.trim_start().len() > depth)
        .map(|l| l.trim().to_string())
        .collect()
}

#[tokio::test]
async fn adbinput_has_one_truth_that_getprop_and_input_follow() {
    // hyperos2-eea starts with the switch off.
    let p = phone("hyperos2-eea", 3);
    assert_eq!(out(&p, "getprop persist.security.adbinput").await, "0\n");
    assert_eq!(sh(&p, "input tap 1 1").await.code, 255);

    // The shell user cannot flip it: toolbox's message on stderr, exit 1, no change.
    let set = sh(&p, "setprop persist.security.adbinput 1").await;
    assert_eq!(set.code, 1);
    assert_eq!(
        text(&set.stderr),
        "Failed to set property 'persist.security.adbinput' to '1'.\nSee dmesg for error reason.\n"
    );
    assert_eq!(out(&p, "getprop persist.security.adbinput").await, "0\n");
    assert_eq!(p.state_json()["adb_input"], false);

    // The operator turns it on in Developer options.
    p.set_adb_input(true);
    assert_eq!(out(&p, "getprop persist.security.adbinput").await, "1\n");
    assert!(
        out(&p, "getprop")
            .await
            .lines()
            .any(|l| l == "[persist.security.adbinput]: [1]")
    );
    assert_eq!(p.state_json()["adb_input"], true);
    assert_ne!(sh(&p, "input tap 1 1").await.code, 255);
    p.set_adb_input(false);
    assert_eq!(out(&p, "getprop persist.security.adbinput").await, "0\n");

    // A phone without Xiaomi's switch has no such property.
    let px = phone("pixel", 3);
    assert!(
        !out(&px, "getprop")
            .await
            .contains("persist.security.adbinput")
    );
}

#[tokio::test]
async fn setprop_behaves_like_toolbox_for_the_shell_user() {
    let p = phone("miui14-global", 4);
    let usage = sh(&p, "setprop onlyone").await;
    assert_eq!(usage.code, 1);
    assert_eq!(
        text(&usage.stdout),
        "usage: setprop NAME VALUE\n\nSets an Android system property.\n"
    );
    let bad = sh(&p, "setprop 'a b' 1").await;
    assert_eq!(
        (bad.code, text(&bad.stderr)),
        (1, "Invalid character ' ' in name 'a b'\n".to_string())
    );
    assert_eq!(sh(&p, "setprop persist.sys.locale en-US").await.code, 1);
    assert_eq!(sh(&p, "setprop debug.mi.test 7").await.code, 0);
    assert_eq!(out(&p, "getprop debug.mi.test").await, "7\n");
}

#[tokio::test]
async fn dumpsys_user_lists_no_factory_reset_where_android_does() {
    let p = phone("miui14-global", 5);
    let before = out(&p, "dumpsys user").await;
    assert!(before.starts_with("Current user: 0\n\nUsers:\n  UserInfo{0:Owner:c13} serialNo=0 isPrimary=true\n    Type: android.os.usertype.full.SYSTEM\n    Flags: 3091 (ADMIN|FULL|INITIALIZED|PRIMARY|SYSTEM)\n    State: RUNNING_UNLOCKED\n"));
    assert!(
        before.contains("\n  UserInfo{999:XSpace:801010} serialNo=10 isPrimary=false parentId=0\n")
    );
    assert!(!before.contains("no_factory_reset"));
    assert_eq!(block(&before, "    Restrictions:"), ["none"]);
    assert_eq!(
        block(&before, "    Device policy global restrictions:"),
        ["null"]
    );
    assert_eq!(block(&before, "    Effective restrictions:"), ["none"]);
    assert!(before.contains("\n  Device owner id:-10000\n"));

    // A base restriction of user 0 (no device owner).
    p.set_no_factory_reset(true);
    let after = out(&p, "dumpsys user").await;
    assert_eq!(block(&after, "    Restrictions:"), ["no_factory_reset"]);
    assert_eq!(
        block(&after, "    Effective restrictions:"),
        ["no_factory_reset"]
    );
    assert_eq!(p.state_json()["no_factory_reset"], true);
    assert_eq!(out(&p, "dpm list-owners").await, "no owners\n");

    // Set by a device owner it is global: every user's effective set has it.
    p.set_device_owner(Some("com.corp.mdm/com.corp.mdm.AdminReceiver".into()));
    let managed = out(&p, "dumpsys user").await;
    assert_eq!(block(&managed, "    Restrictions:"), ["none"]);
    assert_eq!(
        block(&managed, "    Device policy global restrictions:"),
        ["no_factory_reset"]
    );
    assert_eq!(
        managed
            .lines()
            .filter(|l| *l == "      no_factory_reset")
            .count(),
        3,
        "global for user 0, effective for users 0 and 999:\n{managed}"
    );
    assert!(managed.contains("\n  Device owner id:0\n"));
    assert!(managed.contains("\n  Device managed: true\n"));
    assert_eq!(
        out(&p, "dpm list-owners").await,
        "1 owner:\nUser  0: admin=com.corp.mdm/.AdminReceiver,DeviceOwner,Affiliated\n"
    );
    assert!(
        out(&p, "dumpsys device_policy")
            .await
            .contains("admin=ComponentInfo{com.corp.mdm/com.corp.mdm.AdminReceiver}")
    );
    assert_eq!(
        p.state_json()["device_owner"],
        "com.corp.mdm/com.corp.mdm.AdminReceiver"
    );

    p.set_device_owner(None);
    p.set_no_factory_reset(false);
    assert!(!out(&p, "dumpsys user").await.contains("no_factory_reset"));
    assert_eq!(
        out(&p, "cmd device_policy list-owners").await,
        "no owners\n"
    );
}

#[tokio::test]
async fn the_screen_lock_reads_the_same_everywhere() {
    // hyperos2-eea starts with a PIN and a Google account (FRP armed).
    let p = phone("hyperos2-eea", 6);
    for cmd in [
        "locksettings get-disabled",
        "cmd lock_settings get-disabled",
    ] {
        let o = sh(&p, cmd).await;
        assert_eq!((text(&o.stdout).as_str(), o.code), ("false\n", 0), "{cmd}");
    }
    let verify = sh(&p, "cmd lock_settings verify").await;
    assert_eq!(
        (text(&verify.stdout).as_str(), verify.code),
        ("Old password '' didn't match\n", 255)
    );
    let dump = out(&p, "dumpsys lock_settings").await;
    assert!(dump.starts_with("Current lock settings service state:\n\nUser State:\n  User 0\n"));
    assert_eq!(
        block(&dump, "  User 0")
            .iter()
            .find(|l| l.starts_with("CredentialType:"))
            .map(String::as_str),
        Some("CredentialType: Pin")
    );
    assert!(block(&dump, "  User 0").contains(&"Quality: 131072".to_string()));

    // The owner removes the lock: every reading follows.
    p.set_screen_lock(false);
    assert_eq!(p.state_json()["frp_armed"], false);
    let verify = sh(&p, "locksettings verify").await;
    assert_eq!(
        (text(&verify.stdout).as_str(), verify.code),
        ("Lock credential verified successfully\n", 0)
    );
    let dump = out(&p, "dumpsys lock_settings").await;
    let user0 = block(&dump, "  User 0");
    assert!(
        user0.contains(&"CredentialType: None".to_string()),
        "{dump}"
    );
    assert!(user0.contains(&"IsLockScreenDisabled: false".to_string()));
    let o = sh(&p, "locksettings verify --old 1234").await;
    assert_eq!(
        (text(&o.stdout).as_str(), o.code),
        ("Old password provided but user has no password\n", 255)
    );

    // Set and cleared again through the shell, as with a real phone.
    let set = sh(&p, "locksettings set-pin 2468").await;
    assert_eq!(text(&set.stdout), "Pin set to '2468'\n");
    assert_eq!(p.state_json()["screen_lock"], true);
    assert_eq!(sh(&p, "locksettings verify --old 2468").await.code, 0);
    let clear = sh(&p, "locksettings clear --old 2468").await;
    assert_eq!(text(&clear.stdout), "Lock credential cleared\n");
    assert_eq!(p.state_json()["screen_lock"], false);
    assert_eq!(sh(&p, "dumpsys -l").await.code, 0);
    assert!(out(&p, "dumpsys -l").await.contains("  lock_settings\n"));
}

#[tokio::test]
async fn dumpsys_account_has_aosp_layout() {
    let p = phone("miui14-global", 7);
    let id = p.identity().mi_user_id.clone().unwrap();
    let dump = out(&p, "dumpsys account").await;
    // Blank lines carry the indent: IndentingPrintWriter writes it before every newline.
    let want: String = [
        "User UserInfo{0:Owner:c13}:",
        "  Accounts: 1",
        "    Account {name=@ID@, type=com.xiaomi}",
        "  ",
        "  AccountId, Action_Type, timestamp, UID, TableName, Key",
        "  Accounts History",
        "  1,action_account_add,2024-03-11 09:40:07,10112,accounts,0",
        "  ",
        "  Active Sessions: 0",
        "  ",
        "  RegisteredServicesCache: 4 services",
        "    ServiceInfo: AuthenticatorDescription {type=com.xiaomi}, ComponentInfo{com.xiaomi.account/com.xiaomi.passport.accountmanager.MiAuthenticatorService}, uid 10112",
        "    ServiceInfo: AuthenticatorDescription {type=com.xiaomi.unactivated}, ComponentInfo{com.xiaomi.account/com.xiaomi.passport.accountmanager.MiAuthenticatorService}, uid 10112",
        "    ServiceInfo: AuthenticatorDescription {type=com.google}, ComponentInfo{com.google.android.gms/com.google.android.gms.auth.account.authenticator.GoogleAccountAuthenticatorService}, uid 10146",
        "    ServiceInfo: AuthenticatorDescription {type=com.google.work}, ComponentInfo{com.google.android.gms/com.google.android.gms.auth.account.authenticator.WorkAccountAuthenticatorService}, uid 10146",
        "  ",
        "  Account visibility:",
        "    @ID@",
        "      android:accounts:key_legacy_visible, 1",
        "  ",
        "User UserInfo{999:XSpace:801010}:",
        "  Accounts: 0",
    ]
    .iter()
    .map(|l| format!("{}\n", l.replace("@ID@", &id)))
    .collect();
    assert!(dump.starts_with(&want), "{dump}");
}

#[test]
fn real_adb_shows_the_restriction_in_dumpsys_user_after_it_is_set() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(mi_offboard::sim::spawn_phone(
            PhoneSpec {
                seed: 8,
                ..PhoneSpec::default()
            },
            0,
            Registry::new(),
        ))
        .expect("spawn phone");
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port());

    let before = adb.adb(&["-s", &s, "shell", "dumpsys", "user"]);
    assert!(before.status.success());
    assert!(!text(&before.stdout).contains("no_factory_reset"));

    sim.phone().set_no_factory_reset(true);
    let after = adb.adb(&["-s", &s, "shell", "dumpsys", "user"]);
    assert!(after.status.success());
    let stdout = text(&after.stdout);
    assert_eq!(block(&stdout, "    Restrictions:"), ["no_factory_reset"]);
    assert_eq!(
        block(&stdout, "    Effective restrictions:"),
        ["no_factory_reset"]
    );
    rt.block_on(sim.shutdown());
}
