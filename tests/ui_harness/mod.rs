//! Shared by the signout/reset end-to-end tests: one simulated phone (in this process)
//! behind a private real adb server, and `mi-offboard` run as a process against it.

#![allow(dead_code)]

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use mi_offboard::sim::{PhoneSpec, Registry, SimPhone, spawn_phone};

/// A password with everything that can go wrong when typed over adb: spaces, quotes,
/// shell syntax and a literal `%s`.
pub const PASSWORD: &str = "Zq7 it's $(x) 100%sure";

/// Every screen dump takes a while: time for a test to act in the middle of a flow.
pub fn slow_dumps(spec: &mut PhoneSpec) {
    spec.faults.slow_dump = Some(Duration::from_millis(300));
}

pub struct Bench {
    pub rt: tokio::runtime::Runtime,
    pub server: common::AdbServer,
    pub phone: SimPhone,
    pub serial: String,
    pub registry: Registry,
    pub dir: tempfile::TempDir,
}

impl Bench {
    /// Starts PROFILE (after TWEAK on its spec) and connects it to a fresh adb server.
    /// A Mi account gets [`PASSWORD`].
    pub fn start(profile: &str, tweak: impl FnOnce(&mut PhoneSpec)) -> Bench {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = Registry::new();
        let mut spec = PhoneSpec {
            profile: profile.into(),
            state_file: Some(dir.path().join("state.json")),
            ..PhoneSpec::default()
        };
        tweak(&mut spec);
        let phone = rt
            .block_on(spawn_phone(spec, 0, registry.clone()))
            .expect("phone");
        if let Some(id) = phone.phone().with_world(|w| w.mi_account.clone()) {
            registry.update_account(&id, |a| a.password = PASSWORD.into());
        }
        let server = common::AdbServer::start();
        let serial = server.connect(phone.port());
        Bench {
            rt,
            server,
            phone,
            serial,
            registry,
            dir,
        }
    }

    pub fn report_dir(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    /// Runs `mi-offboard ARGS… -s SERIAL` with MI_PASSWORD = PW (when given).
    pub fn run(&self, args: &[&str], pw: Option<&str>) -> Output {
        let mut c = std::process::Command::new(common::AdbServer::bin("mi-offboard"));
        c.args(args)
            .args(["-s", &self.serial, "-P", &self.server.port.to_string()])
            .arg("--report-dir")
            .arg(self.report_dir())
            .env("HOME", self.server.home())
            .env_remove("ANDROID_SERIAL")
            .env_remove("ADB_SERVER_SOCKET")
            .env_remove("MI_PASSWORD")
            .stdin(std::process::Stdio::null());
        if let Some(pw) = pw {
            c.env("MI_PASSWORD", pw);
        }
        c.output().expect("run mi-offboard")
    }

    /// Runs `mi-offboard ARGS…` (as [`Bench::run`], password given) and pulls the phone's
    /// cable as soon as the flow has dumped its first screen. Start the bench with
    /// [`slow_dumps`] so the flow is still running then.
    pub fn run_unplugged_at_first_dump(&self, args: &[&str]) -> Output {
        self.run_unplugged_when(args, |p| p.counter("dumps") >= 1)
    }

    /// As [`Bench::run_unplugged_at_first_dump`], but pulls the cable as soon as the
    /// phone shows SCREEN (a `current()` name of the simulated UI).
    pub fn run_unplugged_on_screen(&self, args: &[&str], screen: &'static str) -> Output {
        self.run_unplugged_when(args, move |p| p.state_json()["screen"] == screen)
    }

    fn run_unplugged_when(
        &self,
        args: &[&str],
        when: impl Fn(&mi_offboard::sim::Phone) -> bool + Send + 'static,
    ) -> Output {
        let phone = self.phone.phone();
        let watcher = std::thread::spawn(move || {
            for _ in 0..1500 {
                if when(&phone) {
                    phone.unplug();
                    return true;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            false
        });
        let out = self.run(args, Some(PASSWORD));
        assert!(watcher.join().unwrap(), "the flow never got there");
        out
    }

    pub fn state(&self) -> serde_json::Value {
        self.phone.phone().state_json()
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.phone.phone().counter(name)
    }

    pub fn signed_in(&self) -> bool {
        self.phone.phone().with_world(|w| w.mi_account.is_some())
    }
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file under DIR as text (reports, saved dumps, the state file).
pub fn all_files(dir: &Path) -> String {
    let mut out = String::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.push_str(&all_files(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push_str(&String::from_utf8_lossy(&b));
        }
    }
    out
}

/// Asserts the password (or any long piece of it) appears nowhere in HAYSTACK.
pub fn assert_no_password(haystack: &str) {
    for piece in [PASSWORD, "Zq7", "100%sure", "it's $(x)"] {
        assert!(!haystack.contains(piece), "password piece {piece:?} leaked");
    }
}
