//! Shared by the `run` and `bench` end-to-end tests: simulated phones (in this process)
//! behind a private real adb server, the simulated account service on the same registry,
//! and `mi-offboard` run as a process against them.

#![allow(dead_code)]

#[path = "../common/mod.rs"]
mod common;
// The sign-out tests' password (spaces, quotes, shell syntax, `%s`) and their checks
// that it leaked nowhere. That harness keeps its own copy of `common` private, hence
// the second inclusion.
#[allow(clippy::duplicate_mod)]
#[path = "../ui_harness/mod.rs"]
mod ui_harness;

pub use ui_harness::{PASSWORD, assert_no_password, code, text};

pub use common::AdbServer;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use mi_offboard::sim::account::{AccountServiceConfig, serve};
use mi_offboard::sim::{PhoneSpec, Registry, SimPhone, spawn_phone};
use tokio_util::sync::CancellationToken;

/// Every verification code the simulated service sends.
pub const CODE: &str = "482913";

pub struct Shop {
    pub rt: tokio::runtime::Runtime,
    pub server: AdbServer,
    pub registry: Registry,
    pub phones: Vec<SimPhone>,
    /// adb's serial of each phone (`127.0.0.1:PORT`).
    pub serials: Vec<String>,
    pub account_url: String,
    stop: CancellationToken,
    pub dir: tempfile::TempDir,
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Shop {
    /// Starts one phone per profile (each spec tweaked by TWEAK), the account service,
    /// and a fresh adb server with every phone connected.
    pub fn start(profiles: &[&str], tweak: impl Fn(usize, &mut PhoneSpec)) -> Shop {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let registry = Registry::new();
        let stop = CancellationToken::new();
        let account_url = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let config = AccountServiceConfig {
                fixed_code: Some(CODE.into()),
                ..AccountServiceConfig::default()
            };
            tokio::spawn(serve(listener, registry.clone(), config, stop.clone()));
            url
        });
        let server = AdbServer::start();
        let mut phones = Vec::new();
        let mut serials = Vec::new();
        for (i, profile) in profiles.iter().enumerate() {
            let mut spec = PhoneSpec {
                profile: profile.to_string(),
                seed: 100 + i as u64,
                ..PhoneSpec::default()
            };
            tweak(i, &mut spec);
            let phone = rt
                .block_on(spawn_phone(spec, 0, registry.clone()))
                .expect("phone");
            if let Some(id) = phone.phone().with_world(|w| w.mi_account.clone()) {
                registry.update_account(&id, |a| a.password = PASSWORD.into());
            }
            serials.push(server.connect(phone.port()));
            phones.push(phone);
        }
        Shop {
            rt,
            server,
            registry,
            phones,
            serials,
            account_url,
            stop,
            dir,
        }
    }

    pub fn dest(&self) -> PathBuf {
        self.dir.path().join("dest")
    }

    pub fn password_file(&self) -> PathBuf {
        let p = self.dir.path().join("pw.txt");
        std::fs::write(&p, format!("{PASSWORD}\n")).unwrap();
        p
    }

    /// `mi-offboard ARGS…` against this shop's adb server (ANDROID_ADB_SERVER_PORT, so
    /// commands that take no adb options work too) with the service's URLs.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(AdbServer::bin("mi-offboard"));
        c.args(args)
            .env("ANDROID_ADB_SERVER_PORT", self.server.port.to_string())
            .env("HOME", self.server.home())
            .env("MI_ACCOUNT_URL", &self.account_url)
            .env("MI_FIND_URL", &self.account_url)
            .env_remove("ANDROID_SERIAL")
            .env_remove("ADB_SERVER_SOCKET")
            .env_remove("MI_PASSWORD");
        c
    }

    pub fn spawn(&self, args: &[&str], stdin: &str) -> Child {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run mi-offboard");
        if let Some(mut input) = child.stdin.take() {
            let _ = input.write_all(stdin.as_bytes());
        }
        child
    }

    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.spawn(args, stdin).wait_with_output().expect("wait")
    }

    pub fn mi_account(&self, i: usize) -> Option<String> {
        self.phones[i].phone().with_world(|w| w.mi_account.clone())
    }

    pub fn report(&self, serial: &str) -> serde_json::Value {
        let p = mi_offboard::report::phone_dir(&self.dest(), serial).join("report.json");
        serde_json::from_slice(&std::fs::read(&p).unwrap_or_default())
            .unwrap_or(serde_json::Value::Null)
    }
}

/// The step results of a report, in order, as "step:result".
pub fn steps(report: &serde_json::Value) -> Vec<String> {
    report["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    format!(
                        "{}:{}",
                        s["step"].as_str().unwrap_or("?"),
                        s["result"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts no file under DIR holds the password, naming the file that does. The backed
/// up files themselves are skipped: they are the phone's random bytes, in which a short
/// piece like "Zq7" turns up by chance.
pub fn assert_no_password_under(dir: &std::path::Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if !(p.ends_with("data") && p.parent().is_some_and(|b| b.ends_with("backup"))) {
                assert_no_password_under(&p);
            }
        } else if let Ok(b) = std::fs::read(&p) {
            let text = String::from_utf8_lossy(&b);
            let found = std::panic::catch_unwind(|| assert_no_password(&text));
            assert!(found.is_ok(), "the password is in {}", p.display());
        }
    }
}
