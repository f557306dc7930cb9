//! A step that does not find what it expects: stop, save the last dump (no password) and
//! a screenshot next to the report, close the dialog, name the step (exit 1).

mod ui_harness;

use ui_harness::{Bench, PASSWORD, all_files, assert_no_password, code, text};

#[test]
fn a_missing_target_saves_evidence_and_backs_out_of_the_dialog() {
    let b = Bench::start("miui14-global", |_| {});
    let r = b.dir.path().join("teach.toml");
    // A firmware whose keep/remove dialog we do not know: the step cannot find it.
    std::fs::write(
        &r,
        "[targets.remove_data]\ntext = { en = [\"No such button\"] }\n\n[[flows.signout]]\nname = \"open the Mi account page\"\ndo = \"start\"\nargs = [\"-n\", \"com.xiaomi.account/.ui.AccountSettingsActivity\"]\n\n[[flows.signout]]\nname = \"tap Sign out\"\ndo = \"tap\"\nscreen = \"mi_account\"\ntarget = \"logout\"\n\n[[flows.signout]]\nname = \"enter the password\"\ndo = \"type_password\"\nscreen = \"password_dialog\"\ntarget = \"password_field\"\ntimeout_secs = 2\n\n[[flows.signout]]\nname = \"find the unknown button\"\ndo = \"tap\"\nscreen = \"keep_or_remove\"\ntarget = \"remove_data\"\ntimeout_secs = 2\n",
    )
    .unwrap();
    let out = b.run(
        &["signout", "--recipes", r.to_str().unwrap()],
        Some(PASSWORD),
    );
    let all = text(&out);
    assert_eq!(code(&out), 1, "{all}");
    assert!(all.contains("find the unknown button"), "{all}");
    let rd = b.report_dir();
    assert!(rd.join("signout-dump.xml").exists(), "{all}");
    let png = std::fs::read(rd.join("signout-screen.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let screen = b.state()["screen"].as_str().unwrap_or("").to_string();
    assert!(!screen.contains("password"), "left on {screen}");
    assert_no_password(&all);
    assert_no_password(&all_files(b.dir.path()));
    assert!(b.signed_in());
}
