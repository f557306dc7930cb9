//! What each simulated screen shows: the launcher, Settings, About phone, the Mi
//! account page (signed in / signed out), the sign-out dialogs, Xiaomi's MiuiMasterClear
//! flow, the stock AOSP reset screens and the system-update interruption, in English
//! and Chinese, MIUI 14 or HyperOS. Pure rendering from state: it decides nothing about
//! what happens next (that is [`super::Ui`]).

use super::layout::{
    BUTTON, BodyPart, CONTENT_TOP, DialogButton, DialogSpec, HEIGHT, ROW_HEIGHT, TEXT, WIDTH,
    activity, bottom_button, dialog, label, list, row, tr,
};
use super::xml::{Node, Rect};
use super::{Action, OsFlavour, PasswordBox};
use crate::sim::phone::world::{Lang, World};

pub const ACCOUNT_PKG: &str = "com.xiaomi.account";
pub const SETTINGS_PKG: &str = "com.android.settings";
pub const LAUNCHER_PKG: &str = "com.miui.home";
pub const UPDATER_PKG: &str = "com.android.updater";

/// Key ids (FACTS.md §5): the same on every flavour.
pub const ID_USER_ID: &str = "com.xiaomi.account:id/user_id";
pub const ID_LOGOUT: &str = "com.xiaomi.account:id/logout_btn";
/// Guessed ids of the password dialog's field and error line.
pub const ID_PASSWORD: &str = "com.xiaomi.account:id/password";
pub const ID_PASSWORD_ERROR: &str = "com.xiaomi.account:id/error_tip";
pub const ID_OK: &str = "android:id/button1";
pub const ID_CANCEL: &str = "android:id/button2";
pub const ID_NEUTRAL: &str = "android:id/button3";

fn account_title(os: OsFlavour, lang: Lang) -> String {
    match os {
        OsFlavour::Miui14 => tr(lang, "Mi Account", "小米账号"),
        OsFlavour::HyperOs1 | OsFlavour::HyperOs2 => tr(lang, "Xiaomi account", "小米账号"),
    }
}

fn rows(pkg: &str, os: OsFlavour, items: Vec<(String, Option<String>, Action)>) -> Vec<Node> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, (t, s, a))| {
            row(
                pkg,
                os,
                CONTENT_TOP + i as i32 * ROW_HEIGHT,
                &t,
                s.as_deref(),
                a,
            )
        })
        .collect()
}

pub fn home(lang: Lang) -> Node {
    let pkg = LAUNCHER_PKG;
    let icons = [
        (tr(lang, "Settings", "设置"), Action::OpenSettings),
        (tr(lang, "Security", "手机管家"), Action::Noop),
        (tr(lang, "Gallery", "相册"), Action::Noop),
        (tr(lang, "Camera", "相机"), Action::Noop),
    ];
    let dock = icons.into_iter().enumerate().map(|(i, (name, a))| {
        let x = 40 + i as i32 * 255;
        // Launcher icons are single TextViews with the icon drawn above the label.
        Node::new(TEXT, pkg, Rect::new(x, 1980, x + 235, 2250))
            .text(name.clone())
            .desc(name)
            .tap(a)
    });
    let full = Rect::new(0, 0, WIDTH, HEIGHT);
    Node::new("android.widget.FrameLayout", pkg, full).child(
        Node::new("android.widget.FrameLayout", pkg, full)
            .id("com.miui.home:id/launcher")
            .child(
                Node::new(
                    "android.view.ViewGroup",
                    pkg,
                    Rect::new(0, 1950, WIDTH, 2280),
                )
                .id("com.miui.home:id/hotseat")
                .children(dock),
            ),
    )
}

pub fn settings(os: OsFlavour, lang: Lang, world: &World) -> Node {
    let pkg = SETTINGS_PKG;
    let account_summary = match &world.mi_account {
        Some(id) => id.clone(),
        None => tr(lang, "Sign in", "登录"),
    };
    let items = vec![
        (
            account_title(os, lang),
            Some(account_summary),
            Action::OpenAccount,
        ),
        (tr(lang, "About phone", "我的设备"), None, Action::OpenAbout),
        (tr(lang, "Wi-Fi", "WLAN"), None, Action::Noop),
        (tr(lang, "Bluetooth", "蓝牙"), None, Action::Noop),
        (
            tr(lang, "Additional settings", "更多设置"),
            None,
            Action::Noop,
        ),
    ];
    let body = list(pkg, os, CONTENT_TOP, HEIGHT, rows(pkg, os, items));
    activity(pkg, os, lang, &tr(lang, "Settings", "设置"), vec![body])
}

pub fn about(os: OsFlavour, lang: Lang) -> Node {
    let pkg = SETTINGS_PKG;
    let (name, version) = match os {
        OsFlavour::Miui14 => (tr(lang, "MIUI version", "MIUI 版本"), "MIUI Global 14.0.10"),
        OsFlavour::HyperOs1 => (
            tr(lang, "Xiaomi HyperOS version", "Xiaomi HyperOS 版本"),
            "OS1.0.5.0",
        ),
        OsFlavour::HyperOs2 => (
            tr(lang, "Xiaomi HyperOS version", "Xiaomi HyperOS 版本"),
            "OS2.0.6.0",
        ),
    };
    let items = vec![
        (name, Some(version.to_string()), Action::Noop),
        (tr(lang, "Storage", "存储空间"), None, Action::Noop),
        (
            tr(lang, "Back up and restore", "备份与恢复"),
            None,
            Action::Noop,
        ),
        (
            tr(lang, "Factory reset", "恢复出厂设置"),
            None,
            Action::OpenMasterClear,
        ),
    ];
    let body = list(pkg, os, CONTENT_TOP, HEIGHT, rows(pkg, os, items));
    activity(
        pkg,
        os,
        lang,
        &tr(lang, "About phone", "我的设备"),
        vec![body],
    )
}

pub fn account_signed_in(os: OsFlavour, lang: Lang, world: &World, user_id: &str) -> Node {
    let pkg = ACCOUNT_PKG;
    let nickname = world
        .registry
        .account(user_id)
        .and_then(|a| a.email)
        .and_then(|e| e.split('@').next().map(str::to_string))
        .unwrap_or_else(|| tr(lang, "Xiaomi user", "小米用户"));
    let header_bottom = CONTENT_TOP + 300;
    let header = Node::new(
        "android.widget.LinearLayout",
        pkg,
        Rect::new(0, CONTENT_TOP, WIDTH, header_bottom),
    )
    .id(&format!("{pkg}:id/account_header"))
    .tap(Action::Noop)
    .child(
        Node::new(
            "android.widget.ImageView",
            pkg,
            Rect::new(63, CONTENT_TOP + 60, 243, CONTENT_TOP + 240),
        )
        .id(&format!("{pkg}:id/avatar"))
        .desc(tr(lang, "Avatar", "头像")),
    )
    .child(label(
        pkg,
        Rect::new(285, CONTENT_TOP + 70, 1000, CONTENT_TOP + 150),
        &format!("{pkg}:id/user_name"),
        &nickname,
    ))
    .child(label(
        pkg,
        Rect::new(285, CONTENT_TOP + 160, 1000, CONTENT_TOP + 220),
        ID_USER_ID,
        user_id,
    ));
    let fd = if world.find_device_on() {
        tr(lang, "On", "已开启")
    } else {
        tr(lang, "Off", "已关闭")
    };
    let items = vec![
        (tr(lang, "Personal info", "个人信息"), None, Action::Noop),
        (
            tr(lang, "Password & security", "账号安全"),
            None,
            Action::Noop,
        ),
        (tr(lang, "Xiaomi Cloud", "小米云服务"), None, Action::Noop),
        (tr(lang, "Find device", "查找设备"), Some(fd), Action::Noop),
        (tr(lang, "Privacy", "隐私"), None, Action::Noop),
    ];
    let rows: Vec<Node> = items
        .into_iter()
        .enumerate()
        .map(|(i, (t, s, a))| {
            row(
                pkg,
                os,
                header_bottom + i as i32 * ROW_HEIGHT,
                &t,
                s.as_deref(),
                a,
            )
        })
        .collect();
    let list_node = list(pkg, os, header_bottom, 2120, rows);
    let sign_out = tr(lang, "Sign out", "退出登录");
    // MIUI 14 draws sign-out as a Button with its own text; HyperOS as a clickable
    // container around a plain label. The id stays on the clickable node in both.
    let button = match os {
        OsFlavour::Miui14 => bottom_button(pkg, ID_LOGOUT, &sign_out, Action::SignOut),
        OsFlavour::HyperOs1 | OsFlavour::HyperOs2 => Node::new(
            "android.widget.LinearLayout",
            pkg,
            Rect::new(63, 2156, 1017, 2300),
        )
        .id(ID_LOGOUT)
        .tap(Action::SignOut)
        .child(label(
            pkg,
            Rect::new(400, 2196, 680, 2260),
            &format!("{pkg}:id/logout_text"),
            &sign_out,
        )),
    };
    activity(
        pkg,
        os,
        lang,
        &account_title(os, lang),
        vec![header, list_node, button],
    )
}

pub fn account_signed_out(os: OsFlavour, lang: Lang) -> Node {
    let pkg = ACCOUNT_PKG;
    let blurb = tr(
        lang,
        "Sign in to sync your data with Xiaomi Cloud and to find your device if it's lost.",
        "登录小米账号，同步数据到小米云服务，手机丢失时可查找设备。",
    );
    let content = vec![
        Node::new(
            "android.widget.ImageView",
            pkg,
            Rect::new(390, 560, 690, 860),
        )
        .id(&format!("{pkg}:id/logo")),
        label(
            pkg,
            Rect::new(100, 940, 980, 1100),
            &format!("{pkg}:id/summary"),
            &blurb,
        ),
        bottom_button(
            pkg,
            &format!("{pkg}:id/btn_login"),
            &tr(lang, "Sign in", "登录"),
            Action::Noop,
        ),
    ];
    activity(pkg, os, lang, &account_title(os, lang), content)
}

fn password_body(lang: Lang, pkg: &str, pw: &PasswordBox) -> Vec<BodyPart> {
    let dots: String = "•".repeat(pw.typed.chars().count());
    let focused = pw.focused;
    let hint_empty = pw.typed.is_empty();
    let hint = tr(lang, "Password", "密码");
    let pkg_field = pkg.to_string();
    let mut body: Vec<BodyPart> = vec![(
        160,
        Box::new(move |r: Rect| {
            // Android shows an empty field's hint as its text in accessibility dumps
            // only on newer releases; MIUI 14/HyperOS are Android 13+, so it does.
            let text = if hint_empty {
                hint.clone()
            } else {
                dots.clone()
            };
            let mut n = Node::new(
                "android.widget.EditText",
                &pkg_field,
                Rect::new(r.x1, r.y1 + 10, r.x2, r.y2 - 20),
            )
            .id(ID_PASSWORD)
            .text(text)
            .tap(Action::FocusPassword);
            n.password = true;
            n.focused = focused;
            n.long_clickable = true;
            n
        }),
    )];
    if pw.error {
        let msg = tr(lang, "Incorrect password", "密码错误");
        let pkg_err = pkg.to_string();
        body.push((
            80,
            Box::new(move |r: Rect| {
                Node::new(TEXT, &pkg_err, r)
                    .id(ID_PASSWORD_ERROR)
                    .text(msg.clone())
            }),
        ));
    }
    body
}

fn ok_cancel(lang: Lang, ok: String, ok_enabled: bool) -> Vec<DialogButton> {
    vec![
        DialogButton {
            id: ID_CANCEL,
            text: tr(lang, "Cancel", "取消"),
            action: Action::DialogCancel,
            enabled: true,
        },
        DialogButton {
            id: ID_OK,
            text: ok,
            action: Action::DialogOk,
            enabled: ok_enabled,
        },
    ]
}

pub fn sign_out_password(os: OsFlavour, lang: Lang, pw: &PasswordBox, ime: bool) -> Node {
    let spec = DialogSpec {
        pkg: ACCOUNT_PKG.into(),
        title: tr(lang, "Enter password", "输入密码"),
        message: Some(tr(
            lang,
            "Enter your Mi Account password to turn off Find device and sign out.",
            "请输入小米账号密码以关闭查找设备并退出登录。",
        )),
        body: password_body(lang, ACCOUNT_PKG, pw),
        buttons: ok_cancel(lang, tr(lang, "OK", "确定"), true),
        stacked: false,
    };
    dialog(spec, os, ime)
}

pub fn keep_or_remove(os: OsFlavour, lang: Lang) -> Node {
    let spec = DialogSpec {
        pkg: ACCOUNT_PKG.into(),
        title: tr(lang, "Sign out", "退出登录"),
        message: Some(tr(
            lang,
            "Xiaomi Cloud data (contacts, messages, gallery, notes) synced to this phone. Remove it from this phone or keep it?",
            "已同步到本机的小米云服务数据（联系人、短信、相册、便签）要从手机删除还是保留在手机？",
        )),
        body: Vec::new(),
        buttons: vec![
            DialogButton {
                id: ID_OK,
                text: tr(lang, "Remove from phone", "从手机删除"),
                action: Action::RemoveData,
                enabled: true,
            },
            DialogButton {
                id: ID_NEUTRAL,
                text: tr(lang, "Keep on phone", "保留在手机"),
                action: Action::KeepData,
                enabled: true,
            },
            DialogButton {
                id: ID_CANCEL,
                text: tr(lang, "Cancel", "取消"),
                action: Action::DialogCancel,
                enabled: true,
            },
        ],
        stacked: true,
    };
    dialog(spec, os, false)
}

pub fn master_clear(os: OsFlavour, lang: Lang) -> Node {
    let pkg = SETTINGS_PKG;
    let desc = tr(
        lang,
        "This will erase all data from your phone's internal storage, including:\n• Your Mi Account and Google Account\n• System and app data and settings\n• Downloaded apps\n• Music, pictures, and other user data",
        "将清除手机内部存储中的所有数据，包括：\n• 小米账号和 Google 账号\n• 系统及应用的数据和设置\n• 已下载的应用\n• 音乐、图片及其他用户数据",
    );
    let scroll = Node::new(
        "android.widget.ScrollView",
        pkg,
        Rect::new(0, CONTENT_TOP, WIDTH, 2120),
    )
    .scrollable()
    .child(label(
        pkg,
        Rect::new(63, CONTENT_TOP + 40, 1017, CONTENT_TOP + 640),
        &format!("{pkg}:id/master_clear_desc"),
        &desc,
    ));
    let button = bottom_button(
        pkg,
        &format!("{pkg}:id/erase_all_data"),
        &tr(lang, "Erase all data", "清除所有数据"),
        Action::EraseAllData,
    );
    activity(
        pkg,
        os,
        lang,
        &tr(lang, "Factory reset", "恢复出厂设置"),
        vec![scroll, button],
    )
}

/// Label of a count-down button: "Next (7s)" while counting, "Next" when done.
fn countdown_label(lang: Lang, en: &str, zh: &str, remaining: u64) -> String {
    match (remaining, lang) {
        (0, _) => tr(lang, en, zh),
        (n, Lang::En) => format!("{en} ({n}s)"),
        (n, Lang::Zh) => format!("{zh}（{n}秒）"),
    }
}

pub fn reset_confirm(os: OsFlavour, lang: Lang, step: u8, remaining: u64) -> Node {
    let (title, message, ok) = if step == 1 {
        (
            tr(lang, "Erase all data?", "清除所有数据？"),
            tr(
                lang,
                "All data on this phone, including accounts, apps, photos and files, will be erased and can't be recovered.",
                "手机中的所有数据（包括账号、应用、照片和文件）都将被清除，且无法恢复。",
            ),
            countdown_label(lang, "Next", "下一步", remaining),
        )
    } else {
        (
            tr(lang, "Are you sure?", "确定要清除吗？"),
            tr(
                lang,
                "This is the last step. After erasing, the phone restarts and all data is gone.",
                "这是最后一步。清除后手机将重启，所有数据都将丢失。",
            ),
            countdown_label(lang, "Erase", "确定", remaining),
        )
    };
    let spec = DialogSpec {
        pkg: SETTINGS_PKG.into(),
        title,
        message: Some(message),
        body: Vec::new(),
        buttons: ok_cancel(lang, ok, remaining == 0),
        stacked: false,
    };
    dialog(spec, os, false)
}

pub fn reset_password(os: OsFlavour, lang: Lang, pw: &PasswordBox, ime: bool) -> Node {
    let spec = DialogSpec {
        pkg: ACCOUNT_PKG.into(),
        title: tr(lang, "Enter Mi Account password", "输入小米账号密码"),
        message: Some(tr(
            lang,
            "Find device is on. Enter the password to turn it off and erase all data.",
            "查找设备已开启。请输入密码以关闭查找设备并清除所有数据。",
        )),
        body: password_body(lang, ACCOUNT_PKG, pw),
        buttons: ok_cancel(lang, tr(lang, "OK", "确定"), true),
        stacked: false,
    };
    dialog(spec, os, ime)
}

/// AOSP's reset screens: `MainClear`/`MainClearConfirm` on Android 12+, whose ids say
/// `main_clear`; PRE12 gives `MasterClear`'s `master_clear` ids [aosp].
pub fn stock_reset(os: OsFlavour, lang: Lang, confirm: bool, pre12: bool) -> Node {
    let ids = if pre12 {
        [
            "com.android.settings:id/execute_master_clear",
            "com.android.settings:id/initiate_master_clear",
        ]
    } else {
        [
            "com.android.settings:id/execute_main_clear",
            "com.android.settings:id/initiate_main_clear",
        ]
    };
    let pkg = SETTINGS_PKG;
    let title = tr(
        lang,
        "Erase all data (factory reset)",
        "清除所有数据（恢复出厂设置）",
    );
    let (text, id, action) = if confirm {
        (
            tr(
                lang,
                "Erase all data?\nAll of your personal information and downloaded apps will be deleted. You can't undo this action.",
                "要清除所有数据吗？\n您的所有个人信息和下载的应用都将被删除。此操作无法撤消。",
            ),
            ids[0],
            Action::StockConfirm,
        )
    } else {
        (
            tr(
                lang,
                "This will erase all data from your phone's internal storage, including:\n• Your Google Account\n• System and app data and settings\n• Downloaded apps",
                "此操作会清除您手机内部存储空间中的所有数据，包括：\n• 您的 Google 账号\n• 系统及应用的数据和设置\n• 下载的应用",
            ),
            ids[1],
            Action::StockErase,
        )
    };
    let content = vec![
        Node::new(
            "android.widget.ScrollView",
            pkg,
            Rect::new(0, CONTENT_TOP, WIDTH, 2120),
        )
        .scrollable()
        .child(label(
            pkg,
            Rect::new(63, CONTENT_TOP + 40, 1017, CONTENT_TOP + 600),
            "com.android.settings:id/sud_layout_description",
            &text,
        )),
        Node::new(BUTTON, pkg, Rect::new(600, 2190, 1017, 2310))
            .id(id)
            .text(tr(lang, "Erase all data", "清除所有数据"))
            .tap(action),
    ];
    activity(pkg, os, lang, &title, content)
}

pub fn wiping(lang: Lang) -> Node {
    let pkg = SETTINGS_PKG;
    Node::new(
        "android.widget.FrameLayout",
        pkg,
        Rect::new(0, 0, WIDTH, HEIGHT),
    )
    .child(
        Node::new(TEXT, pkg, Rect::new(100, 1100, 980, 1200)).text(tr(
            lang,
            "Erasing…",
            "正在清除…",
        )),
    )
}

pub fn update_dialog(os: OsFlavour, lang: Lang) -> Node {
    let version = match os {
        OsFlavour::Miui14 => "MIUI 14.0.11",
        OsFlavour::HyperOs1 => "OS1.0.7.0",
        OsFlavour::HyperOs2 => "OS2.0.8.0",
    };
    let spec = DialogSpec {
        pkg: UPDATER_PKG.into(),
        title: tr(lang, "System update", "系统更新"),
        message: Some(match lang {
            Lang::En => format!("New version {version} is available. Update now?"),
            Lang::Zh => format!("发现新版本 {version}，是否立即更新？"),
        }),
        body: Vec::new(),
        buttons: vec![
            DialogButton {
                id: ID_CANCEL,
                text: tr(lang, "Later", "稍后"),
                action: Action::UpdateLater,
                enabled: true,
            },
            DialogButton {
                id: ID_OK,
                text: tr(lang, "Update", "立即更新"),
                action: Action::UpdateNow,
                enabled: true,
            },
        ],
        stacked: false,
    };
    dialog(spec, os, false)
}

pub fn updater(os: OsFlavour, lang: Lang) -> Node {
    let pkg = UPDATER_PKG;
    let content = vec![label(
        pkg,
        Rect::new(63, 500, 1017, 600),
        &format!("{pkg}:id/version"),
        &tr(lang, "Downloading update…", "正在下载更新…"),
    )];
    activity(
        pkg,
        os,
        lang,
        &tr(lang, "System update", "系统更新"),
        content,
    )
}
