//! The simulated phone, in-process (its shell, state and effects) and end to end
//! through Debian's real adb server once the transport serves it.

mod common;

use std::sync::Arc;
use std::time::Duration;

use mi_offboard::sim::device::{Device, Link, ShellOutput};
use mi_offboard::sim::phone::world::WipeKind;
use mi_offboard::sim::{Phone, PhoneSpec, Registry};
use sha2::Digest;

fn phone(profile: &str, seed: u64) -> (Arc<Phone>, Registry) {
    let registry = Registry::new();
    let spec = PhoneSpec {
        profile: profile.into(),
        seed,
        ..PhoneSpec::default()
    };
    (Phone::new(spec, registry.clone()).expect("phone"), registry)
}

async fn sh(p: &Phone, cmd: &str) -> ShellOutput {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    drop(tx);
    p.shell(cmd, rx).await
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn getprop_prints_a_full_realistic_prop_set() {
    let (p, _) = phone("miui14-global", 1);
    let one = sh(&p, "getprop ro.product.manufacturer").await;
    assert_eq!(text(&one.stdout), "Xiaomi\n");
    let all = sh(&p, "getprop").await;
    let lines: Vec<String> = text(&all.stdout).lines().map(String::from).collect();
    assert!(lines.len() >= 100, "{} props", lines.len());
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with('[') && l.contains("]: [") && l.ends_with(']'))
    );
    let serial = p.serial();
    assert!(lines.contains(&format!("[ro.serialno]: [{serial}]")));
    assert!(lines.contains(&"[ro.miui.ui.version.name]: [V140]".to_string()));
    let missing = sh(&p, "getprop no.such.key").await;
    assert_eq!((text(&missing.stdout).as_str(), missing.code), ("\n", 0));

    let (h, _) = phone("hyperos1-cn", 1);
    assert_eq!(
        text(&sh(&h, "getprop ro.mi.os.version.name").await.stdout),
        "OS1.0\n"
    );
    let (px, _) = phone("pixel", 1);
    assert_eq!(
        text(&sh(&px, "getprop ro.product.manufacturer").await.stdout),
        "Google\n"
    );
}

#[tokio::test]
async fn shell_syntax_exit_codes_and_not_found() {
    let (p, _) = phone("miui14-global", 2);
    assert_eq!(sh(&p, "exit 42").await.code, 42);
    assert_eq!(sh(&p, "sh -c 'exit 3'; echo $?").await.stdout, b"3\n");
    let nf = sh(&p, "frobnicate x").await;
    assert_eq!(nf.code, 127);
    assert_eq!(
        text(&nf.stderr),
        "/system/bin/sh: frobnicate: inaccessible or not found\n"
    );
    let out = sh(
        &p,
        r#"echo 'a b'"c"\ d && false || echo ok; true && echo yes"#,
    )
    .await;
    assert_eq!(text(&out.stdout), "a bc d\nok\nyes\n");
    let out = sh(&p, "ls /nope 2>/dev/null; echo code=$?").await;
    assert_eq!(
        (text(&out.stdout).as_str(), out.stderr.len()),
        ("code=1\n", 0)
    );
    let out = sh(&p, "ls /nope 2>&1").await;
    assert_eq!(text(&out.stdout), "ls: /nope: No such file or directory\n");
    let out = sh(&p, "getprop | grep ro.product.model | wc -l").await;
    assert!(text(&out.stdout).trim().parse::<u32>().unwrap() >= 1);
    let out = sh(
        &p,
        "echo hi > /sdcard/x.txt && cat /sdcard/x.txt /storage/emulated/0/x.txt",
    )
    .await;
    assert_eq!(text(&out.stdout), "hi\nhi\n");
    let out = sh(&p, "echo x > /system/y").await;
    assert_eq!(out.code, 1);
    assert!(text(&out.stderr).contains("Read-only file system"));
    assert_eq!(sh(&p, "echo 'open").await.code, 1);
}

fn host_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

#[tokio::test]
async fn file_commands_see_the_seeded_tree_with_android_rules() {
    let (p, _) = phone("miui14-global", 3);
    let root = p.sdcard_dir();
    let files = host_files(&root);
    let f = files
        .iter()
        .find(|f| f.to_string_lossy().contains("DCIM/Camera/IMG_"))
        .unwrap();
    let rel = f
        .strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let want = hex::encode(sha2::Sha256::digest(std::fs::read(f).unwrap()));
    let out = sh(&p, &format!("sha256sum '/sdcard/{rel}' /sdcard/missing")).await;
    assert_eq!(out.code, 1);
    assert_eq!(text(&out.stdout), format!("{want}  /sdcard/{rel}\n"));
    assert_eq!(
        text(&out.stderr),
        "sha256sum: /sdcard/missing: No such file or directory\n"
    );

    // Hostile names survive quoting.
    let out = sh(
        &p,
        r#"cat '/sdcard/Download/$HOME; rm -rf x && echo `id` | cat.txt' | wc -c"#,
    )
    .await;
    assert_eq!(text(&out.stdout), "333\n");
    let out = sh(&p, "ls /sdcard/Download").await;
    assert!(text(&out.stdout).contains("发票_2024年3月.pdf\n"));
    assert!(text(&out.stdout).contains("😀 party 🎉.mp4\n"));

    // Android/data and the locked file are listed but not readable.
    let out = sh(&p, "ls /sdcard/Android/data").await;
    assert_eq!(
        (out.code, text(&out.stderr)),
        (1, "ls: /sdcard/Android/data: Permission denied\n".into())
    );
    let out = sh(&p, "cat '/sdcard/Documents/bank statement (locked).pdf'").await;
    assert_eq!(out.code, 1);
    assert!(text(&out.stderr).ends_with("Permission denied\n"));
    assert!(!p.readable("/sdcard/Android/data/com.miui.gallery/files/cache.db"));
    assert!(p.readable("/sdcard/DCIM/Camera"));

    // find lists every regular file outside Android/data, and reports the denied folder.
    let out = sh(&p, "find /sdcard -type f").await;
    assert_eq!(out.code, 1);
    assert!(text(&out.stderr).contains("find: /sdcard/Android/data: Permission denied"));
    let listed = text(&out.stdout).lines().count();
    let expected = files
        .iter()
        .filter(|f| !f.starts_with(root.join("Android/data")))
        .count();
    assert_eq!(listed, expected);
    let out = sh(&p, "find /sdcard/DCIM -name '*.jpg' -print0").await;
    assert!(out.stdout.ends_with(b"\0") && !out.stdout.contains(&b'\n'));

    let out = sh(
        &p,
        "stat -c '%s %F %n' /sdcard/Documents/empty.txt /sdcard/DCIM",
    )
    .await;
    assert_eq!(
        text(&out.stdout),
        "0 regular empty file /sdcard/Documents/empty.txt\n3452 directory /sdcard/DCIM\n"
    );
    let out = sh(&p, "ls -l '/sdcard/Documents/latest notes.txt'").await;
    assert!(
        text(&out.stdout).starts_with("lrwxrwxrwx"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).trim_end().ends_with("-> notes.txt"));

    let out = sh(&p, "mkdir -p /sdcard/a/b && touch /sdcard/a/b/c && ls -R /sdcard/a && rm -r /sdcard/a && ls /sdcard/a").await;
    assert_eq!(text(&out.stdout), "/sdcard/a:\nb\n\n/sdcard/a/b:\nc\n");
    assert_eq!(
        text(&out.stderr),
        "ls: /sdcard/a: No such file or directory\n"
    );
    let df = sh(&p, "df -h /sdcard").await;
    assert!(
        text(&df.stdout).contains("/storage/emulated"),
        "{}",
        text(&df.stdout)
    );
}

#[tokio::test]
async fn accounts_owners_packages_and_imei_read_like_a_real_phone() {
    let (p, registry) = phone("hyperos2-eea", 4);
    let out = text(&sh(&p, "dumpsys account").await.stdout);
    assert!(
        out.starts_with("User UserInfo{0:Owner:c13}:\n  Accounts: 2\n"),
        "{out}"
    );
    assert!(out.contains(", type=com.xiaomi}"));
    assert!(out.contains(", type=com.google}"));
    assert!(out.contains("User UserInfo{999:XSpace:801010}:"));
    let user_id = p.identity().mi_user_id.clone().unwrap();
    // HyperOS masks the account name; the type is what a tool must match.
    assert!(!out.contains(&user_id));
    assert!(registry.device(p.imei()).unwrap().find_device);

    assert_eq!(text(&sh(&p, "dpm list-owners").await.stdout), "no owners\n");
    let pkgs = text(
        &sh(&p, "pm list packages -3 --show-versioncode")
            .await
            .stdout,
    );
    assert!(
        pkgs.lines()
            .all(|l| l.starts_with("package:") && l.contains(" versionCode:"))
    );
    assert!(pkgs.contains("package:com.whatsapp "));
    assert!(!pkgs.contains("com.xiaomi.account"));

    let parcel = text(
        &sh(&p, "service call iphonesubinfo 1 s16 com.android.shell")
            .await
            .stdout,
    );
    assert!(parcel.starts_with("Result: Parcel(\n  0x00000000: 00000000 0000000f "));
    let digits: String = parcel
        .lines()
        .filter_map(|l| l.split('\'').nth(1))
        .collect::<String>()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(digits, p.imei());

    // Input injection is off on this phone: Android's SecurityException, non-zero exit.
    let out = sh(&p, "input tap 100 200").await;
    assert_eq!(out.code, 255);
    assert!(text(&out.stderr).contains("INJECT_EVENTS"));
    assert_eq!(
        text(&sh(&p, "getprop persist.security.adbinput").await.stdout),
        "0\n"
    );
    let set = sh(&p, "setprop persist.security.adbinput 1").await;
    assert_eq!(set.code, 1);
}

#[tokio::test]
async fn stock_reset_locks_the_phone_and_xiaomi_reset_does_not() {
    let registry = Registry::new();
    let stock = Phone::new(
        PhoneSpec {
            seed: 10,
            ..PhoneSpec::default()
        },
        registry.clone(),
    )
    .unwrap();
    let miui = Phone::new(
        PhoneSpec {
            seed: 11,
            ..PhoneSpec::default()
        },
        registry.clone(),
    )
    .unwrap();
    assert_ne!(stock.serial(), miui.serial());
    let mut link = stock.link();

    stock.with_world(|w| w.request_wipe(WipeKind::Stock));
    let s = stock.state_json();
    assert_eq!(s["wiped"], true);
    assert_eq!(s["activation_locked"], true);
    assert_eq!(s["mi_account"], serde_json::Value::Null);
    assert!(
        std::fs::read_dir(stock.sdcard_dir())
            .unwrap()
            .next()
            .is_none()
    );
    tokio::time::timeout(Duration::from_secs(5), link.wait_for(|l| *l == Link::Gone))
        .await
        .expect("link gone")
        .unwrap();
    stock.replug();
    assert_eq!(
        stock.link_now(),
        Link::Gone,
        "a reset phone never comes back"
    );

    miui.with_world(|w| w.request_wipe(WipeKind::MiuiMasterClear));
    let s = miui.state_json();
    assert_eq!(
        (s["wiped"].as_bool(), s["activation_locked"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(registry.device(miui.imei()).is_none());
}

#[tokio::test]
async fn reboot_takes_the_link_down_then_up_and_recovery_stays_down() {
    let (p, _) = phone("xiaomi-clean", 5);
    let mut link = p.link();
    assert_eq!(sh(&p, "reboot").await.code, 0);
    let wait = |l: Link| {
        let mut link = link.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(5), link.wait_for(|x| *x == l))
                .await
                .expect("link change")
                .map(|_| ())
                .unwrap()
        }
    };
    wait(Link::Down).await;
    wait(Link::Up).await;
    p.reboot("recovery");
    link.wait_for(|x| *x == Link::Down).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(p.link_now(), Link::Down);
    assert_eq!(p.counter("reboots"), 2);
}

#[tokio::test]
async fn state_file_records_commands_but_never_typed_text() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let p = Phone::new(
        PhoneSpec {
            state_file: Some(state.clone()),
            ..PhoneSpec::default()
        },
        Registry::new(),
    )
    .unwrap();
    sh(&p, "input text 'Hunter2 secret'; getprop ro.serialno").await;
    p.record("shell,v2,raw:input text Hunter2");
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(!saved.contains("Hunter2"), "{saved}");
    let v: serde_json::Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(
        v["commands"][0],
        "input text <redacted>; getprop ro.serialno"
    );
    assert_eq!(v["services"][0], "shell,v2,raw:input text <redacted>");
    assert_eq!(v["profile"], "miui14-global");
    assert_eq!(v["find_device"], true);
    assert_eq!(v["link"], "up");
    assert_eq!(v["counters"]["texts"], 1);
}

/// A node of a dump: (text, resource-id, password, centre).
fn nodes(xml: &str) -> Vec<(String, String, bool, (i32, i32))> {
    let doc = roxmltree::Document::parse(xml).expect("dump parses");
    doc.descendants()
        .filter(|n| n.has_tag_name("node"))
        .map(|n| {
            let b: Vec<i32> = n
                .attribute("bounds")
                .unwrap_or("")
                .split(|c: char| !c.is_ascii_digit() && c != '-')
                .filter(|s| !s.is_empty())
                .filter_map(|s| s.parse().ok())
                .collect();
            let centre = if b.len() == 4 {
                ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
            } else {
                (0, 0)
            };
            (
                n.attribute("text").unwrap_or("").to_string(),
                n.attribute("resource-id").unwrap_or("").to_string(),
                n.attribute("password") == Some("true"),
                centre,
            )
        })
        .collect()
}

/// One shell command on a phone: exit code, stdout, stderr. The sign-out script below
/// runs through this, in-process and through the real `adb shell`, on the same steps.
type Shell<'a> = dyn Fn(&str) -> (i32, String, String) + 'a;

fn dump(sh: &Shell) -> Vec<(String, String, bool, (i32, i32))> {
    let (code, out, err) = sh("uiautomator dump /dev/tty");
    assert_eq!(code, 0, "{err}");
    let xml = out
        .strip_suffix("UI hierchary dumped to: /dev/tty\n")
        .unwrap_or_else(|| panic!("dump output: {out} / {err}"));
    nodes(xml)
}

fn tap(sh: &Shell, at: (i32, i32)) {
    let (code, _, err) = sh(&format!("input tap {} {}", at.0, at.1));
    assert_eq!(code, 0, "{err}");
}

/// Signs the phone out as a person with a script would: open the Mi account page, tap
/// the sign-out button found in the dump, type the password, OK, choose to remove the
/// synced data.
fn scripted_sign_out(sh: &Shell, password: &str) {
    let (code, _, err) = sh("am start -n com.xiaomi.account/.ui.AccountSettingsActivity");
    assert_eq!(code, 0, "{err}");
    let d = dump(sh);
    let logout = d
        .iter()
        .find(|n| n.1 == "com.xiaomi.account:id/logout_btn")
        .expect("sign-out button");
    tap(sh, logout.3);
    let d = dump(sh);
    let field = d.iter().find(|n| n.2).expect("password field");
    tap(sh, field.3);
    // The host quotes the password; `#` inside a word is not a comment.
    let (code, _, err) = sh(&format!("input text '{password}'"));
    assert_eq!(code, 0, "{err}");
    let d = dump(sh);
    let ok = d.iter().find(|n| n.1 == "android:id/button1").expect("OK");
    tap(sh, ok.3);
    let d = dump(sh);
    let remove = d
        .iter()
        .find(|n| n.0 == "Remove from phone")
        .expect("keep/remove choice");
    tap(sh, remove.3);
}

#[test]
fn scripted_sign_out_through_the_shell_turns_find_device_off() {
    let rt = runtime();
    let (p, registry) = phone("miui14-global", 21);
    let password = "MiDemo#14";
    let sh = |cmd: &str| {
        let o = rt.block_on(sh(&p, cmd));
        (i32::from(o.code), text(&o.stdout), text(&o.stderr))
    };
    scripted_sign_out(&sh, password);

    let s = p.state_json();
    assert_eq!(s["mi_account"], serde_json::Value::Null);
    assert_eq!(s["find_device"], false);
    assert!(registry.device(p.imei()).is_none());
    assert!(!s.to_string().contains(password));
    assert!(s["counters"]["dumps"].as_u64().unwrap() >= 4);
    let acc = sh("dumpsys account").1;
    assert!(!acc.contains(", type=com.xiaomi}"), "{acc}");
    // The dump written to a file is announced with uiautomator's own spelling.
    assert_eq!(
        sh("uiautomator dump").1,
        "UI hierchary dumped to: /sdcard/window_dump.xml\n"
    );
    assert!(p.sdcard_dir().join("window_dump.xml").is_file());
}

#[test]
fn scripted_sign_out_through_real_adb_shell_changes_the_phone_and_its_account() {
    let rt = runtime();
    let phones = serve(&rt, vec![PhoneSpec::default()]);
    let adb = common::AdbServer::start();
    let serial = adb.connect(phones[0].port());
    let sh = |cmd: &str| {
        let o = adb.adb(&["-s", &serial, "shell", cmd]);
        (
            o.status.code().unwrap_or(-1),
            text(&o.stdout),
            text(&o.stderr),
        )
    };
    // Signed in before: the account is on the phone and bound with Find Device on.
    assert!(sh("dumpsys account").1.contains(", type=com.xiaomi}"));
    assert_eq!(phones[0].phone().state_json()["find_device"], true);

    scripted_sign_out(&sh, "MiDemo#14");

    let s = phones[0].phone().state_json();
    assert_eq!(s["mi_account"], serde_json::Value::Null);
    assert_eq!(s["find_device"], false);
    assert!(!sh("dumpsys account").1.contains(", type=com.xiaomi}"));
    assert!(!s.to_string().contains("MiDemo#14"));
}

/// Starts PHONES on free ports (one tokio runtime per test, kept alive by the caller).
fn serve(rt: &tokio::runtime::Runtime, specs: Vec<PhoneSpec>) -> Vec<mi_offboard::sim::SimPhone> {
    let registry = Registry::new();
    specs
        .into_iter()
        .map(|s| {
            rt.block_on(mi_offboard::sim::spawn_phone(s, 0, registry.clone()))
                .expect("spawn phone")
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn real_adb_reads_props_exit_codes_hashes_and_accounts() {
    let rt = runtime();
    let phones = serve(
        &rt,
        vec![
            PhoneSpec::default(),
            PhoneSpec {
                profile: "pixel".into(),
                seed: 2,
                ..PhoneSpec::default()
            },
        ],
    );
    let adb = common::AdbServer::start();
    let a = adb.connect(phones[0].port());
    let b = adb.connect(phones[1].port());

    let out = adb.adb(&["-s", &a, "shell", "getprop", "ro.product.manufacturer"]);
    assert_eq!(text(&out.stdout), "Xiaomi\n");
    let out = adb.adb(&["-s", &b, "shell", "getprop", "ro.product.manufacturer"]);
    assert_eq!(text(&out.stdout), "Google\n");

    let out = adb.adb(&["-s", &a, "shell", "echo out; echo err >&2; exit 42"]);
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "err\n");

    let root = phones[0].phone().sdcard_dir();
    let rel = "Download/report final (1).pdf";
    let want = hex::encode(sha2::Sha256::digest(std::fs::read(root.join(rel)).unwrap()));
    let out = adb.adb(&["-s", &a, "shell", &format!("sha256sum '/sdcard/{rel}'")]);
    assert_eq!(text(&out.stdout), format!("{want}  /sdcard/{rel}\n"));

    let out = adb.adb(&["-s", &a, "shell", "dumpsys", "account"]);
    let user = phones[0].phone().identity().mi_user_id.clone().unwrap();
    assert!(text(&out.stdout).contains(&format!("Account {{name={user}, type=com.xiaomi}}")));

    let out = adb.adb(&["-s", &a, "shell", "nosuchcmd"]);
    assert_eq!(out.status.code(), Some(127));

    // What the phone received is observable, and the serials differ.
    assert!(
        phones[0]
            .phone()
            .commands()
            .iter()
            .any(|c| c == "dumpsys account")
    );
    assert_ne!(phones[0].serial(), phones[1].serial());
    for p in phones {
        rt.block_on(p.shutdown());
    }
}

#[test]
fn real_adb_pulls_the_tree_and_loses_a_wiped_phone_for_good() {
    let rt = runtime();
    let phones = serve(
        &rt,
        vec![PhoneSpec {
            seed: 30,
            ..PhoneSpec::default()
        }],
    );
    let phone = phones[0].phone();
    let adb = common::AdbServer::start();
    let s = adb.connect(phones[0].port());

    let dest = tempfile::tempdir().unwrap();
    adb.pull(&s, "/sdcard/DCIM", dest.path());
    for f in host_files(&phone.sdcard_dir().join("DCIM")) {
        let rel = f.strip_prefix(phone.sdcard_dir()).unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(dest.path().join(rel)).unwrap()
        );
    }

    phone.with_world(|w| w.request_wipe(WipeKind::Stock));
    adb.wait_state(&s, "offline", Duration::from_secs(20));
    let out = adb.adb(&["-s", &s, "shell", "true"]);
    assert!(!out.status.success());
    assert_eq!(phone.state_json()["activation_locked"], true);
    rt.block_on(phones.into_iter().next().unwrap().shutdown());
}

#[test]
fn mi_sim_binary_serves_a_phone_and_writes_its_state_file() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut child = std::process::Command::new(common::AdbServer::bin("mi-sim"))
        .args([
            "phone",
            "--port",
            "0",
            "--profile",
            "hyperos2-eea",
            "--seed",
            "9",
        ])
        .arg("--state")
        .arg(&state)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run mi-sim");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{line}");
    assert_eq!(fields[2], "hyperos2-eea");
    let adb = common::AdbServer::start();
    let s = adb.connect(fields[1].parse().unwrap());
    let out = adb.adb(&["-s", &s, "shell", "getprop", "ro.serialno"]);
    assert_eq!(text(&out.stdout).trim(), fields[0]);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["frp_armed"], true);
    assert!(
        saved["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "getprop ro.serialno")
    );

    // The operator's switch, flipped on mi-sim's control line, is what adb then reads.
    let prop = |adb: &common::AdbServer| {
        let out = adb.adb(&["-s", &s, "shell", "getprop", "persist.security.adbinput"]);
        text(&out.stdout).trim().to_string()
    };
    assert_eq!(prop(&adb), "0");
    {
        use std::io::Write;
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(stdin, "adbinput on {}", fields[0]).unwrap();
        stdin.flush().unwrap();
    }
    let mut seen = prop(&adb);
    for _ in 0..100 {
        if seen == "1" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        seen = prop(&adb);
    }
    assert_eq!(seen, "1");
    let _ = child.kill();
    let _ = child.wait();
}
