//! USB-debugging authorization in the simulated transport (`mi_offboard::sim::adbd`,
//! docs/sim-transport.md "AUTH") against Debian's real `adb` server: a phone whose user
//! has not accepted the prompt is `unauthorized`, accepting brings the waiting host
//! online and remembers its key, a remembered key needs no prompt, another host's key is
//! refused, an open phone is unaffected, and hostile AUTH packets close only their
//! connection. Raw TCP for the wire-level checks.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mi_offboard::sim::adbd;
use mi_offboard::sim::adbd::auth::{AUTH_RSAPUBLICKEY, AUTH_SIGNATURE, AUTH_TOKEN, TOKEN_SIZE};
use mi_offboard::sim::adbd::packet::{A_AUTH, A_CNXN, A_OPEN, Decoder, MAX_PAYLOAD, Packet};
use mi_offboard::sim::device::{
    AdbAuth, Authorization, BoxFuture, Device, Link, ShellOutput, Stdin, TransportFaults,
};
use tokio_util::sync::CancellationToken;

const BANNER: &str = "device::ro.product.name=fuxi_global;ro.product.model=23127PN0CG;\
ro.product.device=fuxi;features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir,apex";

/// A phone that knows `true` and `echo`, with USB-debugging authorization.
struct AuthPhone {
    serial: String,
    link: tokio::sync::watch::Sender<Link>,
    auth: AdbAuth,
}

impl Device for AuthPhone {
    fn serial(&self) -> String {
        self.serial.clone()
    }
    fn banner(&self) -> String {
        BANNER.to_string()
    }
    fn shell<'a>(&'a self, command: &'a str, _stdin: Stdin) -> BoxFuture<'a, ShellOutput> {
        Box::pin(async move {
            match command.split_once(' ') {
                _ if command == "true" => ShellOutput::default(),
                Some(("echo", rest)) => ShellOutput {
                    stdout: format!("{rest}\n").into_bytes(),
                    ..ShellOutput::default()
                },
                _ => ShellOutput {
                    stderr: format!("/system/bin/sh: {command}: not found\n").into_bytes(),
                    code: 127,
                    ..ShellOutput::default()
                },
            }
        })
    }
    fn resolve(&self, _device_path: &str) -> Result<PathBuf, i32> {
        Err(2)
    }
    fn readable(&self, _device_path: &str) -> bool {
        true
    }
    fn reboot(&self, _target: &str) {}
    fn link(&self) -> tokio::sync::watch::Receiver<Link> {
        self.link.subscribe()
    }
    fn faults(&self) -> TransportFaults {
        TransportFaults::default()
    }
    fn record(&self, _service: &str) {}
    fn authorization(&self) -> Authorization {
        self.auth.mode()
    }
    fn adb_keys(&self) -> Vec<String> {
        self.auth.keys()
    }
    fn remember_key(&self, key: &str) {
        self.auth.remember(key);
    }
}

/// One phone served on a loopback port by the real transport, on its own runtime.
struct Sim {
    rt: Option<tokio::runtime::Runtime>,
    shutdown: CancellationToken,
    phone: Arc<AuthPhone>,
    port: u16,
}

impl Sim {
    fn start(serial: &str, mode: Authorization) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let shutdown = CancellationToken::new();
        let phone = Arc::new(AuthPhone {
            serial: serial.to_string(),
            link: tokio::sync::watch::channel(Link::Up).0,
            auth: AdbAuth::new(mode),
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("local addr").port();
        let device: Arc<dyn Device> = phone.clone();
        rt.spawn(adbd::serve(listener, device, shutdown.clone()));
        Sim {
            rt: Some(rt),
            shutdown,
            phone,
            port,
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `adb connect` without waiting for `device` (an unauthorized phone never gets there).
fn connect_raw(adb: &common::AdbServer, port: u16) -> String {
    let serial = format!("127.0.0.1:{port}");
    let out = adb.adb(&["connect", &serial]);
    assert!(
        out.status.success(),
        "adb connect failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serial
}

/// The adb server's public key as it sends it (`$HOME/.android/adbkey.pub`).
fn host_public_key(adb: &common::AdbServer) -> String {
    let path = adb.home().join(".android/adbkey.pub");
    let key = std::fs::read_to_string(&path).expect("adb wrote its public key");
    key.trim_end_matches(['\0', '\n']).trim().to_string()
}

#[test]
fn unaccepted_prompt_is_unauthorized_until_the_user_accepts() {
    let sim = Sim::start("AUTH0001", Authorization::Prompt { accept: false });
    let adb = common::AdbServer::start();
    let serial = connect_raw(&adb, sim.port);
    adb.wait_state(&serial, "unauthorized", Duration::from_secs(20));

    let out = adb.adb(&["-s", &serial, "shell", "true"]);
    assert!(!out.status.success(), "shell ran on an unauthorized phone");
    assert!(
        text(&out.stderr).contains("device unauthorized"),
        "stderr: {}",
        text(&out.stderr)
    );
    // The prompt is still up: nothing was remembered and adb still sees no device.
    assert_eq!(adb.state_of(&serial), "unauthorized");
    assert!(sim.phone.auth.keys().is_empty());

    // The user taps "Allow": the waiting connection goes online and the key is kept.
    sim.phone
        .auth
        .set_mode(Authorization::Prompt { accept: true });
    adb.wait_state(&serial, "device", Duration::from_secs(20));
    let out = adb.adb(&["-s", &serial, "shell", "echo allowed"]);
    assert_eq!(text(&out.stdout), "allowed\n", "{}", text(&out.stderr));
    assert_eq!(sim.phone.auth.keys(), vec![host_public_key(&adb)]);
}

#[test]
fn a_remembered_key_goes_online_without_a_prompt_and_a_stranger_does_not() {
    let sim = Sim::start("AUTH0002", Authorization::Prompt { accept: true });
    let adb = common::AdbServer::start();
    let serial = adb.connect(sim.port);
    assert_eq!(sim.phone.auth.keys().len(), 1);

    // From now on nobody accepts a prompt: only the signature can get a host in.
    sim.phone
        .auth
        .set_mode(Authorization::Prompt { accept: false });
    let out = adb.adb(&["disconnect", &serial]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    adb.wait_state(&serial, "", Duration::from_secs(20));
    let serial = adb.connect(sim.port);
    let out = adb.adb(&["-s", &serial, "shell", "echo known"]);
    assert_eq!(text(&out.stdout), "known\n");

    // Another computer has another key: its signature is refused and it waits at the prompt.
    let stranger = common::AdbServer::start();
    let serial2 = connect_raw(&stranger, sim.port);
    stranger.wait_state(&serial2, "unauthorized", Duration::from_secs(20));
    let out = stranger.adb(&["-s", &serial2, "shell", "true"]);
    assert!(text(&out.stderr).contains("device unauthorized"));
    assert_eq!(sim.phone.auth.keys().len(), 1);
    // The first host is untouched.
    assert_eq!(adb.state_of(&serial), "device");
}

#[test]
fn an_open_phone_needs_no_auth() {
    let sim = Sim::start("AUTH0003", Authorization::Open);
    let adb = common::AdbServer::start();
    let serial = adb.connect(sim.port);
    let out = adb.adb(&["-s", &serial, "shell", "echo open"]);
    assert_eq!(text(&out.stdout), "open\n");
    assert!(sim.phone.auth.keys().is_empty());
    // On the wire, CNXN is answered with CNXN: no AUTH at all.
    let mut s = raw(sim.port);
    send(
        &mut s,
        Packet::new(A_CNXN, 0x0100_0001, 256 * 1024, host_banner()),
    );
    assert_eq!(recv(&mut s).map(|p| p.command), Some(A_CNXN));
}

fn host_banner() -> Vec<u8> {
    b"host::features=shell_v2,cmd,stat_v2\0".to_vec()
}

fn raw(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

fn send(s: &mut TcpStream, p: Packet) {
    s.write_all(&p.encode()).expect("write");
}

/// The next packet, `None` when the phone closed the connection.
fn recv(s: &mut TcpStream) -> Option<Packet> {
    let mut d = Decoder::new(MAX_PAYLOAD);
    let mut buf = [0u8; 4096];
    loop {
        if let Some(p) = d.next_packet().expect("phone sends valid packets") {
            return Some(p);
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => d.feed(&buf[..n]),
        }
    }
}

/// CNXN on a fresh connection and the phone's AUTH(TOKEN) challenge.
fn challenged(port: u16) -> (TcpStream, Vec<u8>) {
    let mut s = raw(port);
    send(
        &mut s,
        Packet::new(A_CNXN, 0x0100_0001, 256 * 1024, host_banner()),
    );
    let p = recv(&mut s).expect("an answer to CNXN");
    assert_eq!((p.command, p.arg0, p.arg1), (A_AUTH, AUTH_TOKEN, 0));
    assert_eq!(p.data.len(), TOKEN_SIZE);
    (s, p.data)
}

/// True when the phone closes the connection (EOF or reset) within the read timeout.
fn closed_by_phone(s: &mut TcpStream) -> bool {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return start.elapsed() < Duration::from_secs(9),
        }
    }
}

#[test]
fn wrong_signatures_get_new_tokens_and_hostile_auth_closes_only_that_connection() {
    let sim = Sim::start("AUTH0004", Authorization::Prompt { accept: true });
    let adb = common::AdbServer::start();
    let serial = adb.connect(sim.port);

    // A wrong signature is answered with a fresh challenge, as adbd does.
    let (mut s, first) = challenged(sim.port);
    send(&mut s, Packet::new(A_AUTH, AUTH_SIGNATURE, 0, vec![7; 256]));
    let p = recv(&mut s).expect("a new challenge");
    assert_eq!((p.command, p.arg0), (A_AUTH, AUTH_TOKEN));
    assert_eq!(p.data.len(), TOKEN_SIZE);
    assert_ne!(p.data, first);

    let attacks: Vec<(&str, Packet)> = vec![
        ("unknown AUTH type", Packet::new(A_AUTH, 7, 0, vec![1; 20])),
        (
            "a TOKEN from the host",
            Packet::new(A_AUTH, AUTH_TOKEN, 0, vec![1; 20]),
        ),
        (
            "oversized signature",
            Packet::new(A_AUTH, AUTH_SIGNATURE, 0, vec![0; 64 * 1024]),
        ),
        (
            "oversized public key",
            Packet::new(A_AUTH, AUTH_RSAPUBLICKEY, 0, vec![b'A'; 5000]),
        ),
        (
            "malformed public key",
            Packet::new(
                A_AUTH,
                AUTH_RSAPUBLICKEY,
                0,
                b"bm90IGEga2V5 evil@host\0".to_vec(),
            ),
        ),
        (
            "OPEN before authorization",
            Packet::new(A_OPEN, 1, 0, b"shell:echo sneaky\0".to_vec()),
        ),
    ];
    for (what, p) in attacks {
        let (mut s, _) = challenged(sim.port);
        send(&mut s, p);
        assert!(closed_by_phone(&mut s), "{what}: connection left open");
    }
    // AUTH before any CNXN is not ADB either.
    let mut s = raw(sim.port);
    send(&mut s, Packet::new(A_AUTH, AUTH_SIGNATURE, 0, vec![0; 256]));
    assert!(
        closed_by_phone(&mut s),
        "AUTH before CNXN: connection left open"
    );

    // Nothing was accepted from the attackers, and the real host still works.
    assert_eq!(sim.phone.auth.keys(), vec![host_public_key(&adb)]);
    let out = adb.adb(&["-s", &serial, "shell", "echo still here"]);
    assert_eq!(text(&out.stdout), "still here\n");
}
