//! Drives the screens as the tool will: `am start`, dump, read bounds out of the XML with
//! a real parser, tap centres, type; and checks what the phone's world became.

use super::*;
use crate::sim::registry::{MiAccount, Registry};

const IMEI: &str = "861234567890123";
const USER: &str = "1234567890";
const PASSWORD: &str = "pw one";

fn world(lang: Lang) -> World {
    let registry = Registry::new();
    registry.add_account(MiAccount {
        user_id: USER.into(),
        password: PASSWORD.into(),
        email: Some("owner@example.com".into()),
        phone: None,
        two_factor: false,
        captcha: false,
        deletion_scheduled_at: None,
    });
    registry.bind(IMEI, "M2101K9G", "DE", USER);
    World {
        lang,
        registry,
        imei: IMEI.into(),
        model: "M2101K9G".into(),
        country: "DE".into(),
        mi_account: Some(USER.into()),
        google_accounts: Vec::new(),
        screen_lock: false,
        device_owner: None,
        no_factory_reset: false,
        adb_input: true,
        wipe_requested: None,
    }
}

fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

const ACCOUNT: &[&str] = &["-n", "com.xiaomi.account/.ui.AccountSettingsActivity"];
const MASTER_CLEAR: &[&str] = &[
    "-n",
    "com.android.settings/.SubSettings",
    "--es",
    ":android:show_fragment",
    "com.android.settings.MiuiMasterClear",
];

const FLAVOURS: [OsFlavour; 3] = [OsFlavour::Miui14, OsFlavour::HyperOs1, OsFlavour::HyperOs2];

/// One node of a parsed dump, as the tool would see it.
#[derive(Debug, Clone)]
struct Seen {
    text: String,
    id: String,
    class: String,
    package: String,
    clickable: bool,
    enabled: bool,
    focused: bool,
    password: bool,
    centre: (i32, i32),
}

fn parse_bounds(b: &str) -> Option<(i32, i32, i32, i32)> {
    let nums: Vec<i32> = b
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    match nums[..] {
        [a, b, c, d] => Some((a, b, c, d)),
        _ => None,
    }
}

/// Dumps and parses; every node with its attributes, in document order.
fn dump(ui: &mut Ui, w: &World) -> Vec<Seen> {
    let xml = ui.dump(w).expect("dump succeeds");
    assert!(xml.starts_with(
        "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\"><node "
    ));
    assert!(!xml.contains('\n'), "uiautomator writes one line");
    let doc = roxmltree::Document::parse(&xml).expect("dump is XML");
    let mut out = Vec::new();
    for n in doc.descendants().filter(|n| n.has_tag_name("node")) {
        let attr = |k: &str| n.attribute(k).unwrap_or_default().to_string();
        for k in [
            "index",
            "text",
            "resource-id",
            "class",
            "package",
            "content-desc",
            "checkable",
            "checked",
            "clickable",
            "enabled",
            "focusable",
            "focused",
            "scrollable",
            "long-clickable",
            "password",
            "selected",
            "bounds",
        ] {
            assert!(n.attribute(k).is_some(), "attribute {k} missing");
        }
        let (x1, y1, x2, y2) = parse_bounds(&attr("bounds")).expect("bounds parse");
        assert!(0 <= x1 && x1 < x2 && x2 <= 1080 && 0 <= y1 && y1 < y2 && y2 <= 2400);
        out.push(Seen {
            text: attr("text"),
            id: attr("resource-id"),
            class: attr("class"),
            package: attr("package"),
            clickable: attr("clickable") == "true",
            enabled: attr("enabled") == "true",
            focused: attr("focused") == "true",
            password: attr("password") == "true",
            centre: ((x1 + x2) / 2, (y1 + y2) / 2),
        });
    }
    out
}

fn by_id<'a>(nodes: &'a [Seen], id: &str) -> &'a Seen {
    nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no node {id} in {nodes:#?}"))
}

fn by_text<'a>(nodes: &'a [Seen], text: &str) -> &'a Seen {
    nodes
        .iter()
        .find(|n| n.text == text)
        .unwrap_or_else(|| panic!("no text {text:?} in {nodes:#?}"))
}

fn tap(ui: &mut Ui, w: &mut World, at: (i32, i32)) {
    let out = ui.input(w, &args(&["tap", &at.0.to_string(), &at.1.to_string()]));
    assert_eq!(out.code, 0);
}

/// Dumps, finds the node by id, taps its centre.
fn tap_id(ui: &mut Ui, w: &mut World, id: &str) {
    let at = by_id(&dump(ui, w), id).centre;
    tap(ui, w, at);
}

/// Dumps, finds the node by text, taps its centre.
fn tap_text(ui: &mut Ui, w: &mut World, text: &str) {
    let at = by_text(&dump(ui, w), text).centre;
    tap(ui, w, at);
}

fn input(ui: &mut Ui, w: &mut World, a: &[&str]) -> ShellOutput {
    ui.input(w, &args(a))
}

fn t(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

fn ui(os: OsFlavour) -> Ui {
    Ui::new(UiConfig {
        os,
        ..UiConfig::default()
    })
}

#[test]
fn every_screen_renders_parseable_xml_in_both_languages_on_every_flavour() {
    for os in FLAVOURS {
        for lang in [Lang::En, Lang::Zh] {
            let mut w = world(lang);
            let mut u = ui(os);
            let home = dump(&mut u, &w);
            assert!(home.iter().all(|n| n.package == "com.miui.home"));
            assert_eq!(u.current(), "home");

            u.am_start(&mut w, &args(&["-a", "android.settings.SETTINGS"]));
            let s = dump(&mut u, &w);
            assert!(s.iter().any(|n| n.text == USER));
            tap(
                &mut u,
                &mut w,
                by_text(&s, t(lang, "About phone", "我的设备")).centre,
            );
            let about = dump(&mut u, &w);
            tap(
                &mut u,
                &mut w,
                by_text(&about, t(lang, "Factory reset", "恢复出厂设置")).centre,
            );
            assert_eq!(u.current(), "master_clear");
            let mc = dump(&mut u, &w);
            by_text(&mc, t(lang, "Erase all data", "清除所有数据"));

            u.am_start(&mut w, &args(ACCOUNT));
            let acc = dump(&mut u, &w);
            assert_eq!(by_id(&acc, "com.xiaomi.account:id/user_id").text, USER);
            let logout = by_id(&acc, "com.xiaomi.account:id/logout_btn");
            assert!(logout.clickable);
            assert!(
                acc.iter()
                    .any(|n| n.text == t(lang, "Sign out", "退出登录"))
            );
            let fd = acc
                .iter()
                .position(|n| n.text == t(lang, "Find device", "查找设备"))
                .expect("find device row");
            assert_eq!(acc[fd + 1].text, t(lang, "On", "已开启"));
            let title = match (os, lang) {
                (OsFlavour::Miui14, Lang::En) => "Mi Account",
                (_, Lang::En) => "Xiaomi account",
                (_, Lang::Zh) => "小米账号",
            };
            by_text(&acc, title);

            u.am_start(
                &mut w,
                &args(&["-a", "com.android.settings.action.FACTORY_RESET"]),
            );
            let stock = dump(&mut u, &w);
            by_id(&stock, "com.android.settings:id/initiate_main_clear");
        }
    }
}

/// The whole sign-out the way the tool does it, by ids and texts read from the dumps.
fn sign_out(os: OsFlavour, lang: Lang) {
    let mut w = world(lang);
    let mut u = ui(os);
    let out = u.am_start(&mut w, &args(ACCOUNT));
    assert_eq!(out.code, 0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Starting: Intent { cmp=com.xiaomi.account/.ui.AccountSettingsActivity }\n"
    );
    let acc = dump(&mut u, &w);
    tap(
        &mut u,
        &mut w,
        by_id(&acc, "com.xiaomi.account:id/logout_btn").centre,
    );

    let d = dump(&mut u, &w);
    assert!(d.iter().all(|n| n.package == "com.xiaomi.account"));
    let field = d.iter().find(|n| n.password).expect("password field");
    assert!(!field.focused, "focus comes with a tap");
    tap(&mut u, &mut w, field.centre);
    assert_eq!(input(&mut u, &mut w, &["text", "pw%sone"]).code, 0);

    let d = dump(&mut u, &w);
    let field = d.iter().find(|n| n.password).expect("password field");
    assert!(field.focused);
    assert_eq!(field.text, "••••••", "the password shows as bullets only");
    assert!(d.iter().all(|n| !n.text.contains(PASSWORD)));
    let ok = by_id(&d, "android:id/button1");
    assert_eq!(ok.text, t(lang, "OK", "确定"));
    tap(&mut u, &mut w, ok.centre);
    assert_eq!(u.current(), "signout_keep_or_remove");
    assert!(w.mi_account.is_some(), "nothing changes before the choice");

    let d = dump(&mut u, &w);
    by_text(&d, t(lang, "Keep on phone", "保留在手机"));
    tap(
        &mut u,
        &mut w,
        by_text(&d, t(lang, "Remove from phone", "从手机删除")).centre,
    );

    assert_eq!(w.mi_account, None);
    assert!(
        w.registry.device(IMEI).is_none(),
        "device unbound server-side"
    );
    assert!(!w.find_device_on());
    let d = dump(&mut u, &w);
    assert!(d.iter().all(|n| n.id != "com.xiaomi.account:id/user_id"));
    assert!(
        d.iter()
            .any(|n| n.text == t(lang, "Sign in", "登录") && n.class == "android.widget.Button")
    );
    assert_eq!(u.current(), "mi_account");
}

#[test]
fn scripted_sign_out_works_on_every_flavour_and_language() {
    for os in FLAVOURS {
        for lang in [Lang::En, Lang::Zh] {
            sign_out(os, lang);
        }
    }
}

#[test]
fn wrong_password_shows_an_error_and_changes_nothing() {
    for lang in [Lang::En, Lang::Zh] {
        let mut w = world(lang);
        let mut u = ui(OsFlavour::HyperOs2);
        u.am_start(
            &mut w,
            &args(&["-a", "android.settings.XIAOMI_ACCOUNT_SYNC_SETTINGS"]),
        );
        let acc = dump(&mut u, &w);
        tap(
            &mut u,
            &mut w,
            by_id(&acc, "com.xiaomi.account:id/logout_btn").centre,
        );
        let d = dump(&mut u, &w);
        tap(
            &mut u,
            &mut w,
            d.iter().find(|n| n.password).expect("field").centre,
        );
        input(&mut u, &mut w, &["text", "wrong"]);
        // The keyboard pushed the dialog up: OK has moved since the last dump.
        let stale_ok = by_id(&d, "android:id/button1").centre;
        tap(&mut u, &mut w, stale_ok);
        assert!(
            dump(&mut u, &w)
                .iter()
                .all(|n| n.id != "com.xiaomi.account:id/error_tip")
        );
        let d = dump(&mut u, &w);
        tap(&mut u, &mut w, by_id(&d, "android:id/button1").centre);

        let d = dump(&mut u, &w);
        assert_eq!(
            by_id(&d, "com.xiaomi.account:id/error_tip").text,
            t(lang, "Incorrect password", "密码错误")
        );
        assert_eq!(u.current(), "signout_password");
        assert_eq!(w.mi_account.as_deref(), Some(USER));
        assert!(w.find_device_on());

        // BACK hides the keyboard first, then dismisses the dialog.
        input(&mut u, &mut w, &["keyevent", "KEYCODE_BACK"]);
        assert_eq!(u.current(), "signout_password");
        input(&mut u, &mut w, &["keyevent", "4"]);
        assert_eq!(u.current(), "mi_account");
        assert!(w.find_device_on());

        // Cancel also dismisses.
        tap(
            &mut u,
            &mut w,
            by_id(&acc, "com.xiaomi.account:id/logout_btn").centre,
        );
        let d = dump(&mut u, &w);
        tap(
            &mut u,
            &mut w,
            by_text(&d, t(lang, "Cancel", "取消")).centre,
        );
        assert_eq!(u.current(), "mi_account");
        assert_eq!(w.mi_account.as_deref(), Some(USER));
    }
}

#[test]
fn master_clear_counts_down_asks_the_password_and_wipes_without_a_lock() {
    for (os, lang) in [
        (OsFlavour::Miui14, Lang::En),
        (OsFlavour::HyperOs1, Lang::Zh),
    ] {
        let mut w = world(lang);
        let mut u = Ui::new(UiConfig {
            os,
            countdown: Duration::from_secs(10),
            ..UiConfig::default()
        });
        let out = u.am_start(&mut w, &args(MASTER_CLEAR));
        assert!(String::from_utf8_lossy(&out.stdout).contains("(has extras)"));
        let d = dump(&mut u, &w);
        tap(
            &mut u,
            &mut w,
            by_text(&d, t(lang, "Erase all data", "清除所有数据")).centre,
        );

        for (step, done) in [
            (1, t(lang, "Next", "下一步")),
            (2, t(lang, "Erase", "确定")),
        ] {
            let d = dump(&mut u, &w);
            let next = by_id(&d, "android:id/button1").clone();
            assert!(!next.enabled, "step {step} starts disabled");
            assert_eq!(
                next.text,
                match lang {
                    Lang::En => format!("{done} (10s)"),
                    Lang::Zh => format!("{done}（10秒）"),
                }
            );
            tap(&mut u, &mut w, next.centre);
            assert_eq!(
                u.current(),
                format!("master_clear_confirm_{step}"),
                "a disabled button does nothing"
            );
            u.advance(Duration::from_secs(4));
            assert!(
                by_id(&dump(&mut u, &w), "android:id/button1")
                    .text
                    .contains("(6s)")
                    || lang == Lang::Zh
            );
            u.advance(Duration::from_secs(6));
            let d = dump(&mut u, &w);
            let next = by_id(&d, "android:id/button1");
            assert!(next.enabled);
            assert_eq!(next.text, done);
            tap(&mut u, &mut w, next.centre);
        }

        assert_eq!(u.current(), "master_clear_password");
        assert_eq!(w.wipe_requested, None);
        let d = dump(&mut u, &w);
        tap(
            &mut u,
            &mut w,
            d.iter().find(|n| n.password).expect("field").centre,
        );
        input(&mut u, &mut w, &["text", "nope"]);
        input(&mut u, &mut w, &["keyevent", "BACK"]); // hide the keyboard to reach OK
        let d = dump(&mut u, &w);
        tap(&mut u, &mut w, by_id(&d, "android:id/button1").centre);
        assert_eq!(w.wipe_requested, None);
        assert!(w.find_device_on());

        for _ in 0..4 {
            input(&mut u, &mut w, &["keyevent", "67"]);
        }
        input(&mut u, &mut w, &["text", "pw%sone"]);
        let d = dump(&mut u, &w);
        tap(&mut u, &mut w, by_id(&d, "android:id/button1").centre);
        assert_eq!(w.wipe_requested, Some(WipeKind::MiuiMasterClear));
        assert_eq!(u.current(), "wiping");
        // What the phone core does next: the wipe leaves no lock behind.
        w.registry.wiped(IMEI);
        assert!(w.registry.device(IMEI).is_none_or(|d| !d.activation_locked));
    }
}

#[test]
fn master_clear_without_find_device_asks_no_password() {
    let mut w = world(Lang::En);
    w.sign_out_mi();
    let mut u = ui(OsFlavour::HyperOs2);
    u.am_start(&mut w, &args(MASTER_CLEAR));
    tap_text(&mut u, &mut w, "Erase all data");
    tap_text(&mut u, &mut w, "Next");
    tap_text(&mut u, &mut w, "Erase");
    assert_eq!(w.wipe_requested, Some(WipeKind::MiuiMasterClear));
}

#[test]
fn stock_reset_wipes_with_find_device_still_on() {
    for (pre12, ids) in [
        (false, ["initiate_main_clear", "execute_main_clear"]),
        (true, ["initiate_master_clear", "execute_master_clear"]),
    ] {
        stock_reset_wipes_with_ids(pre12, ids);
    }
}

fn stock_reset_wipes_with_ids(pre12: bool, ids: [&str; 2]) {
    let mut w = world(Lang::Zh);
    let mut u = ui(OsFlavour::HyperOs2);
    u.config_mut().stock_reset_pre12 = pre12;
    let out = u.am_start(
        &mut w,
        &args(&["-a", "com.android.settings.action.FACTORY_RESET"]),
    );
    assert_eq!(out.code, 0);
    for id in ids {
        tap_id(&mut u, &mut w, &format!("com.android.settings:id/{id}"));
    }
    assert_eq!(w.wipe_requested, Some(WipeKind::Stock));
    assert!(w.find_device_on());
    w.registry.wiped(IMEI);
    assert!(w.registry.device(IMEI).is_some_and(|d| d.activation_locked));
}

#[test]
fn unexpected_dialog_covers_the_next_screen_until_dismissed() {
    for (dismiss, lang) in [("later", Lang::En), ("back", Lang::Zh)] {
        let mut w = world(lang);
        let mut u = Ui::new(UiConfig {
            unexpected_dialog: true,
            ..UiConfig::default()
        });
        u.am_start(&mut w, &args(ACCOUNT));
        assert_eq!(u.current(), "system_update_dialog");
        let d = dump(&mut u, &w);
        assert!(d.iter().all(|n| n.package == "com.android.updater"));
        by_text(&d, t(lang, "System update", "系统更新"));
        assert!(d.iter().all(|n| n.id != "com.xiaomi.account:id/logout_btn"));
        // A tap where the sign-out button would be lands outside the dialog.
        tap(&mut u, &mut w, (540, 1000));
        u.am_start(&mut w, &args(ACCOUNT));
        assert_eq!(
            u.current(),
            "system_update_dialog",
            "stays over a new start"
        );
        match dismiss {
            "later" => tap(&mut u, &mut w, by_text(&d, "Later").centre),
            _ => {
                input(&mut u, &mut w, &["keyevent", "BACK"]);
            }
        }
        assert_eq!(u.current(), "mi_account");
        by_id(&dump(&mut u, &w), "com.xiaomi.account:id/logout_btn");
        assert_eq!(w.mi_account.as_deref(), Some(USER));
        u.am_start(&mut w, &args(&["-a", "android.settings.SETTINGS"]));
        assert_eq!(u.current(), "settings", "the fault fires once");
    }
}

#[test]
fn dump_faults_idle_state_and_screen_off() {
    let mut w = world(Lang::En);
    let mut u = Ui::new(UiConfig {
        idle_failures: 2,
        ..UiConfig::default()
    });
    assert_eq!(
        u.dump(&w),
        Err("ERROR: could not get idle state.".to_string())
    );
    assert!(u.dump(&w).is_err());
    assert!(u.dump(&w).is_ok());
    input(&mut u, &mut w, &["keyevent", "KEYCODE_POWER"]);
    assert_eq!(
        u.dump(&w),
        Err("ERROR: null root node returned by UiTestAutomationBridge.".to_string())
    );
    input(&mut u, &mut w, &["keyevent", "WAKEUP"]);
    assert!(u.dump(&w).is_ok());
    let c = u.counters();
    assert_eq!((c.dumps, c.dump_errors, c.keys), (5, 3, 2));
}

#[test]
fn input_and_am_reject_bad_arguments_like_the_real_tools() {
    let mut w = world(Lang::En);
    let mut u = Ui::default();
    assert_ne!(input(&mut u, &mut w, &["tap", "10"]).code, 0);
    let bad = input(&mut u, &mut w, &["tap", "x", "10"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("NumberFormatException"));
    assert_ne!(input(&mut u, &mut w, &[]).code, 0);
    assert_eq!(
        input(&mut u, &mut w, &["swipe", "1", "2", "3", "4"]).code,
        0
    );
    assert_ne!(input(&mut u, &mut w, &["text", "密码"]).code, 0);
    assert_eq!(
        input(&mut u, &mut w, &["touchscreen", "tap", "1.5", "2.5"]).code,
        0
    );
    // Taps on nothing change nothing.
    tap(&mut u, &mut w, (540, 1000));
    tap(&mut u, &mut w, (5000, -3));
    assert_eq!(u.current(), "home");

    let out = u.am_start(&mut w, &args(&["-a", "com.example.NOPE"]));
    assert_eq!(out.code, 1);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: Activity not started, unable to resolve Intent { act=com.example.NOPE flg=0x10000000 }\n"
    );
    assert_ne!(u.am_start(&mut w, &args(&["-n"])).code, 0);
    assert_ne!(u.am_start(&mut w, &args(&["--bogus"])).code, 0);
    let again = u.am_start(
        &mut w,
        &args(&[
            "-a",
            "android.intent.action.MAIN",
            "-c",
            "android.intent.category.HOME",
        ]),
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("Warning: Activity not started"));
}

#[test]
fn input_text_decodes_percent_s_like_android() {
    assert_eq!(decode_input_text("a%sb"), "a b");
    assert_eq!(decode_input_text("%%s"), "% ");
    assert_eq!(decode_input_text("100%"), "100%");
    assert_eq!(decode_input_text("%t%s"), "%t ");
}

#[test]
fn screencap_is_a_png_named_after_the_screen() {
    let w = world(Lang::En);
    let u = Ui::default();
    let png = u.screencap_png(&w);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.windows(4).any(|x| x == b"home"));
}

#[test]
fn typed_password_never_shows_in_debug_or_dumps() {
    let mut w = world(Lang::En);
    let mut u = ui(OsFlavour::Miui14);
    u.am_start(&mut w, &args(ACCOUNT));
    tap_id(&mut u, &mut w, "com.xiaomi.account:id/logout_btn");
    let field = dump(&mut u, &w)
        .into_iter()
        .find(|n| n.password)
        .expect("field");
    tap(&mut u, &mut w, field.centre);
    input(&mut u, &mut w, &["text", "s3cr3t%sword"]);
    assert!(!format!("{u:?}").contains("s3cr3t"));
    assert!(!u.dump(&w).unwrap_or_default().contains("s3cr3t"));
}
