//! Test harness shared by the integration tests: a private, real adb server per test.
//!
//! Each [`AdbServer`] runs Debian's `adb` with its own `HOME` (adb keeps its key there)
//! and its own `ANDROID_ADB_SERVER_PORT`, and kills exactly that server when dropped.
//! Tests never touch a server they did not start (FACTS.md §2).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A free TCP port on loopback (bound then released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind loopback")
        .local_addr()
        .unwrap()
        .port()
}

/// A private adb server for one test.
pub struct AdbServer {
    pub port: u16,
    home: tempfile::TempDir,
}

impl AdbServer {
    /// Starts a fresh adb server on a free port with a private HOME.
    pub fn start() -> AdbServer {
        let home = tempfile::tempdir().expect("temp HOME");
        let server = AdbServer {
            port: free_port(),
            home,
        };
        let out = server.adb(&["start-server"]);
        assert!(
            out.status.success(),
            "adb start-server failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        server
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// A `Command` for `adb` bound to this server.
    pub fn command(&self) -> Command {
        let mut c = Command::new("adb");
        c.env("HOME", self.home.path())
            .env("ANDROID_ADB_SERVER_PORT", self.port.to_string())
            .env_remove("ANDROID_SERIAL")
            .env_remove("ADB_SERVER_SOCKET");
        c
    }

    /// Runs `adb ARGS…` against this server and returns its output.
    pub fn adb(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run adb")
    }

    /// `adb -s SERIAL pull DEVICE_PATH DEST`, which must succeed.
    #[allow(dead_code)] // not every test crate pulls
    pub fn pull(&self, serial: &str, device_path: &str, dest: &std::path::Path) {
        let out = self.adb(&["-s", serial, "pull", device_path, &dest.to_string_lossy()]);
        assert!(
            out.status.success(),
            "adb pull {device_path} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `adb connect 127.0.0.1:PORT`, then waits until the phone is `device`.
    /// Returns its serial as adb names it.
    pub fn connect(&self, phone_port: u16) -> String {
        let serial = format!("127.0.0.1:{phone_port}");
        let out = self.adb(&["connect", &serial]);
        assert!(
            out.status.success(),
            "adb connect failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        self.wait_state(&serial, "device", Duration::from_secs(20));
        serial
    }

    /// Waits until `adb devices` lists SERIAL in STATE ("" = absent).
    pub fn wait_state(&self, serial: &str, state: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let now = self.state_of(serial);
            if now == state {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "{serial} did not reach state {state:?} (last {now:?})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The state `adb devices` shows for SERIAL, "" when it is not listed.
    pub fn state_of(&self, serial: &str) -> String {
        let out = self.adb(&["devices"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .find(|(s, _)| *s == serial)
            .map(|(_, st)| st.trim().to_string())
            .unwrap_or_default()
    }

    /// The path of this test's built binary NAME (mi-offboard or mi-sim).
    pub fn bin(name: &str) -> PathBuf {
        match name {
            "mi-offboard" => PathBuf::from(env!("CARGO_BIN_EXE_mi-offboard")),
            "mi-sim" => PathBuf::from(env!("CARGO_BIN_EXE_mi-sim")),
            other => panic!("unknown binary {other}"),
        }
    }
}

impl Drop for AdbServer {
    fn drop(&mut self) {
        let _ = self.adb(&["kill-server"]);
    }
}
