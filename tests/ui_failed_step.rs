//! A step that does not find what it expects: stop, save the last dump (text fields
//! blanked) and, unless a password may be on screen, a screenshot next to the report;
//! close the dialog, name the step (exit 1).

mod ui_harness;

use ui_harness::{Bench, PASSWORD, all_files, assert_no_password, code, text};

/// Runs `signout` on a fresh miui14-global phone with RECIPE laid over the embedded
/// recipes; its step "find the unknown button" must fail (exit 1, named).
fn fails_with(recipe: &str) -> (Bench, String) {
    let b = Bench::start("miui14-global", |_| {});
    let r = b.dir.path().join("teach.toml");
    std::fs::write(&r, recipe).unwrap();
    let out = b.run(
        &["signout", "--recipes", r.to_str().unwrap()],
        Some(PASSWORD),
    );
    let all = text(&out);
    assert_eq!(code(&out), 1, "{all}");
    assert!(all.contains("find the unknown button"), "{all}");
    (b, all)
}

#[test]
fn a_missing_target_saves_evidence_and_backs_out_of_the_dialog() {
    // A firmware whose keep/remove dialog we do not know: the step cannot find it.
    let (b, all) = fails_with(
        "[targets.remove_data]\ntext = { en = [\"No such button\"] }\n\n[[flows.signout]]\nname = \"open the Mi account page\"\ndo = \"start\"\nargs = [\"-n\", \"com.xiaomi.account/.ui.AccountSettingsActivity\"]\n\n[[flows.signout]]\nname = \"tap Sign out\"\ndo = \"tap\"\nscreen = \"mi_account\"\ntarget = \"logout\"\n\n[[flows.signout]]\nname = \"enter the password\"\ndo = \"type_password\"\nscreen = \"password_dialog\"\ntarget = \"password_field\"\ntimeout_secs = 2\n\n[[flows.signout]]\nname = \"find the unknown button\"\ndo = \"tap\"\nscreen = \"keep_or_remove\"\ntarget = \"remove_data\"\ntimeout_secs = 2\n",
    );
    let rd = b.report_dir();
    // The step failed with the typed password still in its field: the dump is saved
    // with the field blanked, the screenshot is not taken at all.
    let dump = std::fs::read_to_string(rd.join("signout-dump.xml")).unwrap();
    assert!(dump.contains("com.xiaomi.account:id/password"), "{dump}");
    assert!(!dump.contains('•'), "typed characters kept: {dump}");
    assert!(!rd.join("signout-screen.png").exists(), "{all}");
    let screen = b.state()["screen"].as_str().unwrap_or("").to_string();
    assert!(!screen.contains("password"), "left on {screen}");
    assert_no_password(&all);
    assert_no_password(&all_files(b.dir.path()));
    assert!(b.signed_in());
}

#[test]
fn a_failure_away_from_any_password_saves_a_screenshot() {
    let (b, _) = fails_with(
        "[targets.logout]\ntext = { en = [\"No such button\"] }\n\n[[flows.signout]]\nname = \"open the Mi account page\"\ndo = \"start\"\nargs = [\"-n\", \"com.xiaomi.account/.ui.AccountSettingsActivity\"]\n\n[[flows.signout]]\nname = \"find the unknown button\"\ndo = \"tap\"\nscreen = \"password_dialog\"\ntarget = \"logout\"\ntimeout_secs = 2\n",
    );
    let png = std::fs::read(b.report_dir().join("signout-screen.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    assert!(b.signed_in());
}
