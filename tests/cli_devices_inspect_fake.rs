//! `devices` / `inspect` against a scripted fake adb server, for what the real server
//! and the simulator cannot be made to do on demand: an unauthorized phone, garbage on
//! the wire, no server at all.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};

fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let n = usize::from_str_radix(std::str::from_utf8(&len).ok()?, 16).ok()?;
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).ok()?;
    String::from_utf8(buf).ok()
}

fn okay_block(text: &str) -> Vec<u8> {
    format!("OKAY{:04x}{text}", text.len()).into_bytes()
}

/// Serves REPLY(request) on a thread for every connection; returns the port.
fn fake(reply: fn(&str) -> Vec<u8>) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                while let Some(req) = read_request(&mut s) {
                    if s.write_all(&reply(&req)).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn tool(port: u16, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(common::AdbServer::bin("mi-offboard"))
        .env("HOME", home.path())
        .env_remove("ANDROID_SERIAL")
        .env_remove("ADB_SERVER_SOCKET")
        .env("ANDROID_ADB_SERVER_PORT", port.to_string())
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn an_unauthorized_phone_exits_3_and_says_to_accept_the_prompt() {
    let port = fake(|req| match req {
        "host:version" => okay_block("0029"),
        "host:devices-l" => {
            okay_block("R58M123                unauthorized usb:1-2 transport_id:4\n")
        }
        _ => b"FAIL0012device unauthorized".to_vec(),
    });
    let out = tool(port, &["inspect", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["serial"], "R58M123");
    assert_eq!(r["blockers"][0]["code"], "unauthorized");
    assert!(r["imei"].is_null());
    let err = text(&out.stderr);
    assert!(
        err.contains("R58M123") && err.contains("accept the USB debugging prompt"),
        "{err}"
    );
    // `devices` lists it as it is, without failing.
    let out = tool(port, &["devices", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["state"], "unauthorized");
    assert!(rows[0]["xiaomi"].is_null());
}

#[test]
fn garbage_from_the_server_exits_1_with_a_protocol_error() {
    let port = fake(|req| match req {
        "host:version" => okay_block("0029"),
        _ => b"\x00\xffGARBAGE".to_vec(),
    });
    let out = tool(port, &["devices"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("protocol error"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn no_server_and_no_adb_to_start_one_exits_1() {
    let port = common::free_port();
    let empty = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(common::AdbServer::bin("mi-offboard"))
        .env("HOME", home.path())
        .env("PATH", empty.path())
        .env_remove("ANDROID_SERIAL")
        .env_remove("ADB_SERVER_SOCKET")
        .args(["devices", "-P", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no adb server answers") && err.contains("adb start-server"),
        "{err}"
    );
}

#[test]
fn bad_environment_is_a_usage_error() {
    let out = Command::new(common::AdbServer::bin("mi-offboard"))
        .env("ADB_SERVER_SOCKET", "local:/tmp/nope")
        .args(["devices"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("ADB_SERVER_SOCKET"));
}
