//! `mi-offboard devices` and `inspect` end to end: the real binary, Debian's real adb
//! server, and mi-sim phones of every profile. Each test runs its own server and phones.

mod common;

use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use mi_offboard::sim::{Phone, PhoneFaults, PhoneSpec, Registry, SimPhone, TreeSpec, spawn_phone};
use serde_json::Value;

const PROFILES: [&str; 5] = [
    "miui14-global",
    "hyperos1-cn",
    "hyperos2-eea",
    "xiaomi-clean",
    "pixel",
];

/// Simulated phones on their own runtime, connected to a private adb server.
struct Bench {
    rt: Option<tokio::runtime::Runtime>,
    phones: Vec<SimPhone>,
    serials: Vec<String>,
    adb: common::AdbServer,
}

impl Bench {
    fn start(profiles: &[&str]) -> Bench {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let registry = Registry::new();
        let adb = common::AdbServer::start();
        let mut phones = Vec::new();
        let mut serials = Vec::new();
        for (i, profile) in profiles.iter().enumerate() {
            let spec = PhoneSpec {
                profile: profile.to_string(),
                seed: i as u64 + 1,
                tree: TreeSpec {
                    files: 5,
                    ..TreeSpec::default()
                },
                ..PhoneSpec::default()
            };
            let phone = rt
                .block_on(spawn_phone(spec, 0, registry.clone()))
                .expect("spawn phone");
            serials.push(adb.connect(phone.port()));
            phones.push(phone);
        }
        Bench {
            rt: Some(rt),
            phones,
            serials,
            adb,
        }
    }

    fn phone(&self, i: usize) -> Arc<Phone> {
        self.phones[i].phone()
    }

    fn tool(&self) -> Command {
        let mut c = Command::new(common::AdbServer::bin("mi-offboard"));
        c.env("HOME", self.adb.home())
            .env("ANDROID_ADB_SERVER_PORT", self.adb.port.to_string())
            .env_remove("ANDROID_SERIAL")
            .env_remove("ADB_SERVER_SOCKET");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.tool().args(args).output().expect("run mi-offboard")
    }

    /// Phone `i` from now on takes commands and never answers them.
    fn stall(&self, i: usize) -> Arc<Phone> {
        let phone = self.phone(i);
        phone.set_faults(PhoneFaults {
            stall: true,
            ..PhoneFaults::default()
        });
        phone
    }

    /// `inspect` in the background with a timeout long enough that only what the test
    /// does next can end it.
    fn spawn_long_inspect(&self) -> std::process::Child {
        self.tool()
            .args(["inspect", "--timeout", "60"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// The run exited 5 (phone lost or timed out); its stderr.
#[track_caller]
fn phone_lost(out: &Output) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    err
}

impl Drop for Bench {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            for p in self.phones.drain(..) {
                rt.block_on(p.shutdown());
            }
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

fn codes(report: &Value) -> Vec<String> {
    report["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_string())
        .collect()
}

/// The state a read-only command must leave alone.
fn facts(state: &Value) -> Value {
    let mut s = state.clone();
    for k in ["commands", "services", "counters"] {
        s.as_object_mut().unwrap().remove(k);
    }
    s
}

#[test]
fn inspect_reads_every_profile_as_the_phone_knows_itself_in_one_round_trip() {
    let bench = Bench::start(&PROFILES);
    let expected: [(&str, &str, Option<&str>, &[&str]); 5] = [
        (
            "miui14-global",
            "miui",
            Some("global"),
            &["mi_account_signed_in"],
        ),
        (
            "hyperos1-cn",
            "hyperos",
            Some("cn"),
            &["mi_account_signed_in"],
        ),
        (
            "hyperos2-eea",
            "hyperos",
            Some("eea"),
            &["mi_account_signed_in", "frp_armed", "input_disabled"],
        ),
        ("xiaomi-clean", "miui", Some("in"), &["input_disabled"]),
        // A Google account without a screen lock (`dumpsys lock_settings` says
        // CredentialType: None) does not arm FRP, but still needs removing.
        ("pixel", "android", None, &["not_xiaomi", "google_account"]),
    ];
    for (i, (profile, family, region, blockers)) in expected.iter().enumerate() {
        let phone = bench.phone(i);
        let before = phone.state_json();
        let services_before = before["services"].as_array().map_or(0, Vec::len);
        let out = bench.run(&["inspect", "-s", &bench.serials[i], "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{profile}: {}",
            text(&out.stderr)
        );
        let r = json(&out);
        let after = phone.state_json();
        assert_eq!(
            facts(&before),
            facts(&after),
            "{profile}: inspect changed the phone"
        );
        let services = &after["services"].as_array().unwrap()[services_before..];
        assert_eq!(
            services.len(),
            1,
            "{profile}: one device round trip, got {services:?}"
        );

        assert_eq!(r["serial"], bench.serials[i].as_str());
        assert_eq!(r["os"]["family"], *family, "{profile}");
        assert_eq!(r["region"].as_str(), *region, "{profile}");
        assert_eq!(r["model"], after["model"], "{profile}");
        let want_imei = if *profile == "pixel" {
            Value::Null
        } else {
            after["imei"].clone()
        };
        assert_eq!(r["imei"], want_imei, "{profile}");
        assert_eq!(
            r["mi_account"]["signed_in"],
            !after["mi_account"].is_null(),
            "{profile}"
        );
        assert_eq!(
            r["google_accounts"].as_u64().unwrap() as usize,
            after["google_accounts"].as_array().unwrap().len(),
            "{profile}"
        );
        assert_eq!(r["device_owner"], after["device_owner"], "{profile}");
        assert_eq!(r["input_allowed"], after["adb_input"], "{profile}");
        assert_eq!(codes(&r), *blockers, "{profile}");
        for b in r["blockers"].as_array().unwrap() {
            assert!(
                !b["message"].as_str().unwrap().is_empty()
                    && !b["action"].as_str().unwrap().is_empty()
            );
        }
    }
    // The human form explains each blocker and what to do.
    let out = bench.run(&["inspect", "-s", &bench.serials[2]]);
    let human = text(&out.stdout);
    assert!(
        human.contains("[frp_armed]") && human.contains("What to do:"),
        "{human}"
    );
    assert!(
        human.contains("HyperOS") && human.contains("Region:        eea"),
        "{human}"
    );
}

#[test]
fn devices_lists_every_phone_with_model_maker_and_os() {
    let bench = Bench::start(&["hyperos2-eea", "pixel"]);
    let out = bench.run(&["devices", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows = json(&out);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (i, want_xiaomi) in [(0, true), (1, false)] {
        let row = rows
            .iter()
            .find(|r| r["serial"] == bench.serials[i].as_str())
            .unwrap();
        assert_eq!(row["state"], "device");
        assert_eq!(row["xiaomi"], want_xiaomi);
        assert_eq!(row["model"], bench.phone(i).state_json()["model"]);
    }
    let out = bench.run(&["devices"]);
    let table = text(&out.stdout);
    assert!(
        table.contains("HyperOS OS2.0.4.0.VNREUXM (Android 15)"),
        "{table}"
    );
    assert!(table.contains(&bench.serials[1]), "{table}");
}

#[test]
fn several_phones_without_a_serial_is_a_usage_error_naming_them() {
    let bench = Bench::start(&["xiaomi-clean", "pixel"]);
    let out = bench.run(&["inspect", "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&bench.serials[0]) && err.contains(&bench.serials[1]),
        "{err}"
    );
    assert!(err.contains("-s SERIAL"), "{err}");
    assert!(out.stdout.is_empty());
    // ANDROID_SERIAL chooses, as with adb.
    let out = bench
        .tool()
        .env("ANDROID_SERIAL", &bench.serials[1])
        .args(["inspect", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(json(&out)["manufacturer"], "Google");
}

#[test]
fn a_stalled_phone_times_out_with_exit_5_naming_it() {
    let bench = Bench::start(&["miui14-global"]);
    bench.stall(0);
    let out = bench.run(&["inspect", "--timeout", "2"]);
    let err = phone_lost(&out);
    assert!(
        err.contains(&bench.serials[0]) && err.contains("timed out"),
        "{err}"
    );
}

#[test]
fn a_phone_unplugged_mid_command_ends_with_exit_5() {
    let bench = Bench::start(&["hyperos1-cn"]);
    let phone = bench.stall(0);
    let child = bench.spawn_long_inspect();
    // Give the command time to reach the stalled phone, then pull the cable. (A
    // stalled phone records nothing, so there is no event to wait for; if the command
    // were not there yet it would meet an offline phone, which also exits 5.)
    std::thread::sleep(Duration::from_secs(1));
    phone.unplug();
    let out = child.wait_with_output().unwrap();
    let err = phone_lost(&out);
    assert!(err.contains(&bench.serials[0]), "{err}");
    // Ended by the unplug, not by the 60 s timeout.
    assert!(!err.contains("timed out"), "{err}");
}

#[test]
fn the_adb_server_dying_mid_command_ends_the_call() {
    let bench = Bench::start(&["xiaomi-clean"]);
    bench.stall(0);
    let child = bench.spawn_long_inspect();
    std::thread::sleep(Duration::from_secs(1));
    bench.adb.adb(&["kill-server"]);
    let out = child.wait_with_output().unwrap();
    let err = phone_lost(&out);
    assert!(err.contains("connection lost"), "{err}");
}

#[test]
fn no_phone_exits_5_and_an_offline_one_too() {
    let bench = Bench::start(&["miui14-global"]);
    let out = bench.run(&["inspect", "-s", "nope"]);
    let err = phone_lost(&out);
    assert!(err.contains("nope"), "{err}");
    bench.phone(0).unplug();
    bench
        .adb
        .wait_state(&bench.serials[0], "offline", Duration::from_secs(20));
    let out = bench.run(&["inspect"]);
    let err = phone_lost(&out);
    assert!(err.contains("offline"), "{err}");
    let out = bench.run(&["devices", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)[0]["state"], "offline");
    bench.adb.adb(&["disconnect", &bench.serials[0]]);
    let out = bench.run(&["inspect"]);
    let err = phone_lost(&out);
    assert!(err.contains("no phone is connected"), "{err}");
}

/// Early in boot `dumpsys account` prints "Can't find service: account" (and exits 0):
/// inspect must report the accounts as unknown, not the phone as signed out.
#[test]
fn inspect_reports_a_failed_account_dump_as_unknown_not_signed_out() {
    let bench = Bench::start(&["miui14-global"]);
    bench.phone(0).set_faults(PhoneFaults {
        dumpsys_fail: Some("account".into()),
        ..PhoneFaults::default()
    });
    let out = bench.run(&["inspect", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r = json(&out);
    assert_eq!(codes(&r), vec!["accounts_unreadable"], "{r}");
    assert_eq!(r["mi_account"], Value::Null);
    assert_eq!(r["google_accounts"], Value::Null);
    assert_eq!(r["frp_armed"], Value::Null);
    let msg = r["blockers"][0]["message"].as_str().unwrap();
    assert!(msg.contains("Can't find service: account"), "{msg}");

    // The service back: the same phone reads as signed in again.
    bench.phone(0).set_faults(PhoneFaults::default());
    let r = json(&bench.run(&["inspect", "--json"]));
    assert!(
        codes(&r).contains(&"mi_account_signed_in".to_string()),
        "{r}"
    );
}

#[test]
fn a_phone_whose_owner_has_not_allowed_usb_debugging_is_unauthorized_until_allowed() {
    use mi_offboard::sim::device::Authorization;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let spec = PhoneSpec {
        profile: "xiaomi-clean".into(),
        auth: Authorization::Prompt { accept: false },
        ..PhoneSpec::default()
    };
    let phone = rt
        .block_on(spawn_phone(spec, 0, Registry::new()))
        .expect("spawn phone");
    let adb = common::AdbServer::start();
    let serial = format!("127.0.0.1:{}", phone.port());
    // adb answers "failed to authenticate" while the prompt is up on the phone.
    let _ = adb.adb(&["connect", &serial]);
    adb.wait_state(&serial, "unauthorized", Duration::from_secs(20));
    let tool = |args: &[&str]| {
        Command::new(common::AdbServer::bin("mi-offboard"))
            .args(args)
            .env("HOME", adb.home())
            .env("ANDROID_ADB_SERVER_PORT", adb.port.to_string())
            .env_remove("ANDROID_SERIAL")
            .output()
            .expect("run mi-offboard")
    };

    let out = tool(&["devices", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).expect("devices json");
    assert_eq!(list[0]["state"], "unauthorized", "{list}");
    let out = tool(&["inspect", "-s", &serial]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("unauthorized"), "{all}");
    assert!(all.contains(&serial), "{all}");

    // The owner taps "Allow": the same phone goes online and reads normally.
    phone
        .phone()
        .set_authorization(Authorization::Prompt { accept: true });
    adb.wait_state(&serial, "device", Duration::from_secs(20));
    let out = tool(&["inspect", "-s", &serial, "--json"]);
    assert_eq!(out.status.code(), Some(0));
    drop(phone);
    rt.shutdown_background();
}
