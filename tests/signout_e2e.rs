//! `mi-offboard signout` end to end: the binary, Debian's adb server, a simulated phone.

mod ui_harness;

use ui_harness::{Bench, PASSWORD, all_files, assert_no_password, code, slow_dumps, text};

fn signs_out(profile: &str) {
    signs_out_on(&Bench::start(profile, |_| {}), profile);
}

fn signs_out_on(b: &Bench, profile: &str) {
    assert!(b.signed_in());
    let out = b.run(&["signout"], Some(PASSWORD));
    let all = text(&out);
    assert_eq!(code(&out), 0, "{profile}: {all}");
    assert!(all.contains("signed out"), "{all}");
    assert!(all.contains("Find Device is off"), "{all}");
    let st = b.state();
    assert_eq!(st["mi_account"], serde_json::Value::Null, "{profile}");
    assert_eq!(st["find_device"], false);
    let dumps = b.counter("dumps");
    assert!((1..=6).contains(&dumps), "{profile}: {dumps} dumps");
    assert_no_password(&all);
    assert_no_password(&all_files(b.dir.path()));
}

#[test]
fn signs_out_miui14_global_english() {
    signs_out("miui14-global");
}

#[test]
fn signs_out_hyperos1_cn_chinese() {
    signs_out("hyperos1-cn");
}

/// This profile ships with "USB debugging (Security settings)" off
/// (`persist.security.adbinput` = 0): refused before the first tap, nothing changed.
#[test]
fn hyperos2_eea_with_input_off_is_refused_before_any_tap() {
    let b = Bench::start("hyperos2-eea", |_| {});
    let out = b.run(&["signout"], Some(PASSWORD));
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("USB debugging (Security settings)"));
    assert_eq!(b.counter("taps"), 0);
    assert!(b.signed_in());
}

/// HyperOS 2 (EEA) once the operator has turned the developer option on.
#[test]
fn signs_out_hyperos2_eea_once_usb_debugging_security_settings_is_on() {
    let b = Bench::start("hyperos2-eea", |_| {});
    b.phone.phone().set_adb_input(true);
    signs_out_on(&b, "hyperos2-eea");
}

#[test]
fn already_signed_out_is_success_and_touches_nothing() {
    let b = Bench::start("xiaomi-clean", |_| {});
    let out = b.run(&["signout"], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("already signed out"));
    assert_eq!(b.counter("taps"), 0);
}

#[test]
fn wrong_password_exits_4_still_signed_in_dialog_closed() {
    let b = Bench::start("miui14-global", |_| {});
    let out = b.run(&["signout"], Some("Wr0ng pass"));
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(b.signed_in());
    assert_eq!(b.state()["find_device"], true);
    let screen = b.state()["screen"].as_str().unwrap_or("").to_string();
    assert!(!screen.contains("password"), "dialog left open: {screen}");
    assert!(!text(&out).contains("Wr0ng"));
}

#[test]
fn password_from_file_and_never_in_output() {
    let b = Bench::start("miui14-global", |_| {});
    let f = b.dir.path().join("pw");
    std::fs::write(&f, format!("{PASSWORD}\n")).unwrap();
    let out = b.run(&["signout", "--password-file", f.to_str().unwrap()], None);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(!b.signed_in());
    assert_no_password(&text(&out));
}

#[test]
fn no_password_anywhere_is_a_usage_error_before_any_tap() {
    let b = Bench::start("miui14-global", |_| {});
    let out = b.run(&["signout"], None);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert_eq!(b.counter("taps"), 0);
    assert!(b.signed_in());
}

#[test]
fn input_injection_off_refuses_with_the_developer_option() {
    let b = Bench::start("miui14-global", |_| {});
    b.phone.phone().with_world(|w| w.adb_input = false);
    let out = b.run(&["signout"], Some(PASSWORD));
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(
        text(&out).contains("USB debugging (Security settings)"),
        "{}",
        text(&out)
    );
    assert!(b.signed_in());
}

#[test]
fn unexpected_system_update_dialog_is_dismissed() {
    let b = Bench::start("miui14-global", |s| s.ui.unexpected_dialog = true);
    let out = b.run(&["signout"], Some(PASSWORD));
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(!b.signed_in());
    assert_eq!(
        b.state()["screen"].as_str().map(|s| s.contains("update")),
        Some(false)
    );
}

#[test]
fn unplugged_mid_flow_exits_5() {
    let b = Bench::start("miui14-global", slow_dumps);
    let out = b.run_unplugged_at_first_dump(&["signout"]);
    assert_eq!(code(&out), 5, "{}", text(&out));
}

#[test]
fn a_pixel_is_refused() {
    let b = Bench::start("pixel", |_| {});
    let out = b.run(&["signout"], Some(PASSWORD));
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(text(&out).contains("not a Xiaomi"));
}

/// A `dumpsys account` that fails ("Can't find service: account", as early in boot)
/// parses to no accounts; sign-out must refuse, not report "already signed out".
#[test]
fn an_unreadable_account_list_is_refused_not_already_signed_out() {
    for profile in ["miui14-global", "xiaomi-clean"] {
        let b = Bench::start(profile, |s| s.faults.dumpsys_fail = Some("account".into()));
        let signed_in = b.signed_in();
        let out = b.run(&["signout"], Some(PASSWORD));
        let all = text(&out);
        assert_eq!(code(&out), 1, "{profile}: {all}");
        assert!(!all.contains("already signed out"), "{all}");
        assert!(all.contains("could not read the phone's accounts"), "{all}");
        assert!(
            all.contains(&b.serial) && all.contains("run signout again"),
            "{all}"
        );
        assert_eq!(b.counter("taps"), 0, "{profile}");
        assert_eq!(b.signed_in(), signed_in, "{profile}");
    }
}
