//! `mi-offboard reset` end to end: interlocks, Xiaomi's reset screen, the phone leaving adb.

mod ui_harness;

use std::time::Duration;

use ui_harness::{Bench, PASSWORD, all_files, assert_no_password, code, slow_dumps, text};

fn serialno(b: &Bench) -> String {
    b.phone.serial()
}

fn reset_ok(b: &Bench) {
    let sn = serialno(b);
    let out = b.run(
        &[
            "reset",
            "--confirm",
            &sn,
            "--no-backup",
            "test phone, nothing to keep",
        ],
        Some(PASSWORD),
    );
    let all = text(&out);
    assert_eq!(code(&out), 0, "{all}");
    assert!(all.contains("left adb at"), "{all}");
    let st = b.state();
    assert_eq!(st["wiped"], true);
    assert_eq!(st["wipe_kind"], "miui_master_clear");
    assert_eq!(st["activation_locked"], false);
    assert_eq!(st["link"], "gone");
    let dumps = b.counter("dumps");
    assert!(dumps <= 8, "{dumps} dumps");
    assert_no_password(&all);
    assert_no_password(&all_files(b.dir.path()));
    let report = all_files(&b.report_dir());
    assert!(
        report.contains("test phone, nothing to keep"),
        "waiver recorded"
    );
}

#[test]
fn resets_miui14_global_asking_the_mi_password() {
    reset_ok(&Bench::start("miui14-global", |_| {}));
}

#[test]
fn resets_hyperos1_cn_chinese_with_count_downs() {
    reset_ok(&Bench::start("hyperos1-cn", |s| {
        s.ui.countdown = Duration::from_secs(2)
    }));
}

/// A phone without a Mi account usually cannot have "USB debugging (Security
/// settings)" on (turning it on asks for a signed-in Mi account): refused, untouched.
#[test]
fn a_clean_xiaomi_with_input_off_is_refused_untouched() {
    let b = Bench::start("xiaomi-clean", |_| {});
    let sn = serialno(&b);
    refused(
        &b,
        &["reset", "--confirm", &sn, "--no-backup", "clean"],
        "USB debugging (Security settings)",
    );
}

/// HyperOS 2 (EEA) once the owner removed the Google account and the operator turned on
/// "USB debugging (Security settings)": Xiaomi's screen asks for the Mi password.
#[test]
fn resets_hyperos2_eea_after_the_google_account_is_removed() {
    let b = Bench::start("hyperos2-eea", |_| {});
    let phone = b.phone.phone();
    phone.with_world(|w| w.google_accounts.clear());
    phone.set_adb_input(true);
    reset_ok(&b);
}

/// A phone with no account: no password is asked.
#[test]
fn resets_a_clean_xiaomi_once_input_is_allowed() {
    let b = Bench::start("xiaomi-clean", |_| {});
    b.phone.phone().set_adb_input(true);
    reset_ok(&b);
}

#[test]
fn resets_through_an_unexpected_dialog() {
    reset_ok(&Bench::start("miui14-global", |s| {
        s.ui.unexpected_dialog = true
    }));
}

fn refused(b: &Bench, args: &[&str], why: &str) {
    let out = b.run(args, Some(PASSWORD));
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains(why), "{}", text(&out));
    let st = b.state();
    assert_eq!(st["wiped"], false);
    assert_eq!(b.counter("taps"), 0, "nothing changed");
    assert_eq!(b.counter("am_starts"), 0);
}

/// `reset` of the phone named `sn`, waiving the backup.
fn waived_reset(sn: &str) -> [&str; 5] {
    ["reset", "--confirm", sn, "--no-backup", "x"]
}

/// A reset of this phone with the backup waived is refused, for `why`.
fn refused_waived(b: &Bench, why: &str) {
    refused(b, &waived_reset(&serialno(b)), why);
}

#[test]
fn interlock_confirm_must_name_this_phone() {
    let b = Bench::start("miui14-global", |_| {});
    refused(
        &b,
        &["reset", "--confirm", "someotherphone", "--no-backup", "x"],
        "does not name this phone",
    );
}

#[test]
fn interlock_backup_or_waiver_is_required() {
    let b = Bench::start("miui14-global", |_| {});
    let sn = serialno(&b);
    // Neither --backup nor --no-backup: a usage error from clap, before any phone is asked.
    let out = b.run(&["reset", "--confirm", &sn], Some(PASSWORD));
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("--no-backup <REASON>"),
        "{}",
        text(&out)
    );
    assert_eq!(b.state()["wiped"], false);
    assert_eq!(b.counter("taps"), 0, "nothing changed");
    let empty = b.dir.path().join("nobackup");
    std::fs::create_dir_all(&empty).unwrap();
    refused(
        &b,
        &[
            "reset",
            "--confirm",
            &sn,
            "--backup",
            empty.to_str().unwrap(),
        ],
        "no verified backup",
    );
}

#[test]
fn interlock_google_account_with_screen_lock_frp() {
    let b = Bench::start("hyperos2-eea", |_| {});
    refused_waived(&b, "Factory Reset Protection");
}

#[test]
fn interlock_device_owner() {
    let b = Bench::start("miui14-global", |_| {});
    b.phone
        .phone()
        .with_world(|w| w.device_owner = Some("com.corp.mdm/.Admin".into()));
    refused_waived(&b, "device owner");
}

#[test]
fn a_pixel_is_refused() {
    let b = Bench::start("pixel", |_| {});
    refused_waived(&b, "not a Xiaomi");
}

#[test]
fn wrong_password_exits_4_and_does_not_reset() {
    let b = Bench::start("miui14-global", |_| {});
    let sn = serialno(&b);
    let out = b.run(&waived_reset(&sn), Some("Wr0ng pass"));
    assert_eq!(code(&out), 4, "{}", text(&out));
    let st = b.state();
    assert_eq!(st["wiped"], false);
    assert_eq!(st["find_device"], true);
    assert_eq!(st["link"], "up");
}

/// Exit 5, "reset NOT confirmed", the phone untouched, and a report that claims
/// neither a reset nor Find Device off.
fn not_confirmed(b: &Bench, out: &std::process::Output) {
    let all = text(out);
    assert_eq!(code(out), 5, "{all}");
    assert!(all.contains("reset NOT confirmed"), "{all}");
    assert!(!all.contains("left adb at"), "{all}");
    let st = b.state();
    assert_eq!(st["wiped"], false);
    assert_eq!(st["find_device"], true);
    assert!(b.signed_in());
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.report_dir().join("reset-report.json")).unwrap())
            .unwrap();
    assert_eq!(report["outcome"], "phone_lost", "{report}");
    assert_eq!(report["exit"], 5);
    assert!(report["find_device"].is_null(), "{report}");
    assert!(report["left_adb_at"].is_null(), "{report}");
    assert_no_password(&all);
    assert_no_password(&all_files(b.dir.path()));
}

#[test]
fn unplugged_mid_flow_exits_5_and_is_not_called_reset() {
    let b = Bench::start("miui14-global", slow_dumps);
    let sn = serialno(&b);
    let out = b.run_unplugged_at_first_dump(&waived_reset(&sn));
    not_confirmed(&b, &out);
}

/// A waived reset on `profile` whose cable is pulled when the phone shows `screen`.
fn unplugged_on_screen_is_not_confirmed(profile: &str, screen: &'static str) {
    let b = Bench::start(profile, slow_dumps);
    let sn = serialno(&b);
    let out = b.run_unplugged_on_screen(&waived_reset(&sn), screen);
    not_confirmed(&b, &out);
}

/// The review's reproduction: the last count-down confirmation was tapped, Xiaomi asks
/// for the password, and the cable is pulled. Nothing says the phone is erasing.
#[test]
fn unplugged_at_the_password_dialog_is_reset_not_confirmed() {
    unplugged_on_screen_is_not_confirmed("miui14-global", "master_clear_password");
}

#[test]
fn unplugged_before_the_last_confirmation_is_reset_not_confirmed() {
    unplugged_on_screen_is_not_confirmed("hyperos1-cn", "master_clear_confirm_2");
}

/// `mi-offboard backup --dest DIR` against the bench's phone, which must succeed.
fn backup_ok(b: &Bench, dest: &std::path::Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mi-offboard"))
        .args(["backup", "--dest"])
        .arg(dest)
        .args(["-s", &b.serial, "-P", &b.server.port.to_string()])
        .env("HOME", b.server.home())
        .env_remove("ANDROID_SERIAL")
        .env_remove("ADB_SERVER_SOCKET")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run mi-offboard backup");
    assert_eq!(code(&out), 0, "{}", text(&out));
}

/// The review's scenario: a backup finished, the owner kept using the phone, and a
/// reset with the old backup would erase the new photo. The reset re-lists the phone
/// and refuses, naming the file; a rerun of the backup (incremental) lets it proceed.
/// The file the phone would not send is named too, and needs --accept-unreadable.
#[test]
fn reset_with_an_out_of_date_backup_is_refused_until_the_backup_is_rerun() {
    use mi_offboard::sim::phone::tree::UNREADABLE_FILE;
    let b = Bench::start("miui14-global", |_| {});
    let sn = serialno(&b);
    let dest = b.dir.path().join("backup");
    backup_ok(&b, &dest);
    let dest_s = dest.to_str().unwrap();
    let reset = ["reset", "--confirm", &sn, "--backup", dest_s];
    refused(
        &b,
        &reset,
        &format!("1 file could not be read and will be lost: {UNREADABLE_FILE}"),
    );
    refused(&b, &reset, "--accept-unreadable");

    let new = b
        .phone
        .phone()
        .sdcard_dir()
        .join("DCIM/taken after the backup.jpg");
    std::fs::write(&new, b"a photo the owner took later").unwrap();
    let accepted = [&reset[..], &["--accept-unreadable"]].concat();
    refused(
        &b,
        &accepted,
        "backup is out of date: 1 file new or changed since ",
    );
    refused(&b, &accepted, "(e.g. DCIM/taken after the backup.jpg)");
    refused(&b, &accepted, "run the backup again");

    backup_ok(&b, &dest);
    let out = b.run(&accepted, Some(PASSWORD));
    let all = text(&out);
    assert_eq!(code(&out), 0, "{all}");
    assert_eq!(b.state()["wiped"], true);
    assert!(dest.join("data/DCIM/taken after the backup.jpg").is_file());
    assert_no_password(&all);
}

/// A backup of another phone that happens to share the adb serial (cheap phones,
/// ip:port over TCP) is not this phone's backup: matched on ro.serialno.
#[test]
fn a_backup_recorded_for_another_hardware_serial_is_refused() {
    let b = Bench::start("miui14-global", |_| {});
    let sn = serialno(&b);
    let dest = b.dir.path().join("backup");
    backup_ok(&b, &dest);
    let path = dest.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(m["device"]["hardware_serial"], sn.as_str(), "{m}");
    m["device"]["hardware_serial"] = "another-phone".into();
    std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
    refused(
        &b,
        &[
            "reset",
            "--confirm",
            &sn,
            "--backup",
            dest.to_str().unwrap(),
            "--accept-unreadable",
        ],
        "is of phone another-phone",
    );
}
