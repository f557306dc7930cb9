//! The simulated transport (`mi_offboard::sim::adbd`) against real clients: Debian's
//! `adb` server and PyPI's adb-shell, plus raw TCP for hostile input. Each test runs its
//! own fake phones (a small `Device` over a temp dir) and its own adb server.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mi_offboard::sim::adbd;
use mi_offboard::sim::adbd::link::LinkCost;
use mi_offboard::sim::device::{BoxFuture, Device, Link, ShellOutput, Stdin, TransportFaults};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

const BANNER: &str = "device::ro.product.name=fuxi_global;ro.product.model=23127PN0CG;\
ro.product.device=fuxi;features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir,apex";

/// A fake phone: a temp dir as its file system and a handful of commands.
struct FakePhone {
    serial: String,
    root: tempfile::TempDir,
    link: tokio::sync::watch::Sender<Link>,
    faults: Mutex<TransportFaults>,
    services: Mutex<Vec<String>>,
    reboots: Mutex<Vec<String>>,
}

impl FakePhone {
    fn new(serial: &str) -> Arc<FakePhone> {
        let root = tempfile::tempdir().expect("phone root");
        std::fs::create_dir_all(root.path().join("sdcard")).unwrap();
        Arc::new(FakePhone {
            serial: serial.to_string(),
            root,
            link: tokio::sync::watch::channel(Link::Up).0,
            faults: Mutex::new(TransportFaults::default()),
            services: Mutex::new(Vec::new()),
            reboots: Mutex::new(Vec::new()),
        })
    }

    /// The host file behind a device path.
    fn host(&self, device_path: &str) -> PathBuf {
        self.root.path().join(device_path.trim_start_matches('/'))
    }

    fn set_link(&self, l: Link) {
        self.link.send_replace(l);
    }

    fn set_faults(&self, f: TransportFaults) {
        *self.faults.lock().unwrap() = f;
    }

    fn services(&self) -> Vec<String> {
        self.services.lock().unwrap().clone()
    }

    /// One simple command (no pipes); `;` sequences are handled by the caller.
    async fn run_one(&self, cmd: &str, stdin: &mut Stdin, out: &mut ShellOutput) {
        let cmd = cmd.trim();
        let (cmd, to_stderr) = match cmd.strip_suffix(">&2") {
            Some(c) => (c.trim(), true),
            None => (cmd, false),
        };
        let mut text = Vec::new();
        let (name, arg) = cmd.split_once(' ').unwrap_or((cmd, ""));
        match name {
            "echo" => text.extend_from_slice(format!("{arg}\n").as_bytes()),
            "getprop" if arg == "ro.product.manufacturer" => text.extend_from_slice(b"Xiaomi\n"),
            "getprop" => text.push(b'\n'),
            "exit" => out.code = arg.parse().unwrap_or(0),
            // Echoes stdin until EOF: proves stdin reaches the command and closes.
            "cat" if arg.is_empty() => {
                while let Some(chunk) = stdin.recv().await {
                    text.extend_from_slice(&chunk);
                }
            }
            // Every byte value, twice: proves exec-out passes bytes untouched.
            "rawbytes" => text.extend((0..=255u8).chain(0..=255u8)),
            _ => {
                out.stderr
                    .extend_from_slice(format!("/system/bin/sh: {name}: not found\n").as_bytes());
                out.code = 127;
                return;
            }
        }
        if to_stderr {
            out.stderr.extend_from_slice(&text);
        } else {
            out.stdout.extend_from_slice(&text);
        }
    }
}

impl Device for FakePhone {
    fn serial(&self) -> String {
        self.serial.clone()
    }

    fn banner(&self) -> String {
        BANNER.to_string()
    }

    fn shell<'a>(&'a self, command: &'a str, mut stdin: Stdin) -> BoxFuture<'a, ShellOutput> {
        Box::pin(async move {
            let mut out = ShellOutput::default();
            for part in command.split(';') {
                let exit = part.trim().starts_with("exit");
                self.run_one(part, &mut stdin, &mut out).await;
                if exit {
                    break;
                }
            }
            out
        })
    }

    fn resolve(&self, device_path: &str) -> Result<PathBuf, i32> {
        if !device_path.starts_with('/') || device_path.split('/').any(|c| c == "..") {
            return Err(2);
        }
        Ok(self.host(device_path))
    }

    fn readable(&self, device_path: &str) -> bool {
        !device_path.contains("secret")
    }

    fn reboot(&self, target: &str) {
        self.reboots.lock().unwrap().push(target.to_string());
        self.set_link(Link::Down);
    }

    fn link(&self) -> tokio::sync::watch::Receiver<Link> {
        self.link.subscribe()
    }

    fn faults(&self) -> TransportFaults {
        self.faults.lock().unwrap().clone()
    }

    fn record(&self, service: &str) {
        self.services.lock().unwrap().push(service.to_string());
    }
}

/// Fake phones served on loopback ports by the real transport, on their own runtime.
struct Sim {
    rt: Option<tokio::runtime::Runtime>,
    shutdown: CancellationToken,
    phones: Vec<(Arc<FakePhone>, u16)>,
}

impl Sim {
    fn start(serials: &[&str]) -> Sim {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let shutdown = CancellationToken::new();
        let mut phones = Vec::new();
        for serial in serials {
            let phone = FakePhone::new(serial);
            let listener = rt
                .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
                .expect("bind");
            let port = listener.local_addr().unwrap().port();
            let device: Arc<dyn Device> = phone.clone();
            rt.spawn(adbd::serve(listener, device, shutdown.clone()));
            phones.push((phone, port));
        }
        Sim {
            rt: Some(rt),
            shutdown,
            phones,
        }
    }

    fn phone(&self, i: usize) -> &Arc<FakePhone> {
        &self.phones[i].0
    }

    fn port(&self, i: usize) -> u16 {
        self.phones[i].1
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

/// Waits until adb no longer lists SERIAL as a usable `device`.
fn wait_not_device(adb: &common::AdbServer, serial: &str) {
    let start = Instant::now();
    while adb.state_of(serial) == "device" {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{serial} stayed online"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Deterministic bytes, fast enough for hundreds of megabytes.
fn fill_pseudo_random(seed: u64, buf: &mut [u8]) -> u64 {
    let mut x = seed | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    x
}

fn write_file(path: &Path, seed: u64, len: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut block = vec![0u8; 1 << 20];
    let mut state = seed;
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len());
        state = fill_pseudo_random(state, &mut block[..n]);
        f.write_all(&block[..n]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
}

/// sha256 of every file below `dir`, keyed by relative path.
fn tree_hashes(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let mut h = Sha256::new();
                let mut f = std::fs::File::open(&p).unwrap();
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = f.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, hex::encode(h.finalize()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn two_phones_at_once_answer_getprop_with_their_own_banner() {
    let sim = Sim::start(&["FAKE0001", "FAKE0002"]);
    let adb = common::AdbServer::start();
    let a = adb.connect(sim.port(0));
    let b = adb.connect(sim.port(1));
    for serial in [&a, &b] {
        let out = adb.adb(&["-s", serial, "shell", "getprop", "ro.product.manufacturer"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "Xiaomi\n");
    }
    let list = text(&adb.adb(&["devices", "-l"]).stdout);
    for serial in [&a, &b] {
        let line = list
            .lines()
            .find(|l| l.starts_with(serial.as_str()))
            .unwrap_or("");
        assert!(
            line.contains("product:fuxi_global model:23127PN0CG device:fuxi"),
            "{list}"
        );
    }
    assert!(
        sim.phone(0)
            .services()
            .iter()
            .any(|s| s.starts_with("shell,v2,") && s.ends_with(":getprop ro.product.manufacturer")),
        "{:?}",
        sim.phone(0).services()
    );
}

#[test]
fn shell_v2_keeps_stderr_apart_and_returns_the_exit_code() {
    let sim = Sim::start(&["FAKE0003"]);
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));
    let out = adb.adb(&["-s", &s, "shell", "echo out; echo err >&2; exit 42"]);
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(text(&out.stdout), "out\n");
    assert_eq!(text(&out.stderr), "err\n");

    let out = adb.adb(&["-s", &s, "shell", "nosuchcmd"]);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(text(&out.stderr), "/system/bin/sh: nosuchcmd: not found\n");

    // `-x` forces the v1 `shell:` service: output merged, exit code lost, as on a phone.
    let out = adb.adb(&["-s", &s, "shell", "-x", "echo out; echo err >&2; exit 42"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "out\nerr\n");
    assert!(
        sim.phone(0)
            .services()
            .iter()
            .any(|s| s.starts_with("shell:"))
    );
}

#[test]
fn shell_stdin_reaches_the_command_and_closes() {
    let sim = Sim::start(&["FAKE0004"]);
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));
    let mut child = adb
        .command()
        .args(["-s", &s, "shell", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let payload: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut stdin = child.stdin.take().unwrap();
    let data = payload.clone();
    let feeder = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout.len(), payload.len());
    assert!(out.stdout == payload);
}

#[test]
fn shell_without_a_command_reads_commands_from_stdin() {
    let sim = Sim::start(&["FAKE0013"]);
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));
    let mut child = adb
        .command()
        .args(["-s", &s, "shell"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"echo one\ngetprop ro.product.manufacturer\nexit 5\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "one\nXiaomi\n");
    assert_eq!(out.status.code(), Some(5));
}

#[test]
fn stalled_phone_keeps_the_socket_open_without_answering() {
    let sim = Sim::start(&["FAKE0014"]);
    let phone = sim.phone(0);
    phone.set_faults(TransportFaults {
        stall: true,
        ..Default::default()
    });
    let mut s = TcpStream::connect(("127.0.0.1", sim.port(0))).unwrap();
    s.write_all(&cnxn()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 24];
    let err = s.read(&mut buf).expect_err("a stalled phone answered");
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
    // Lifting the stall lets the same connection go on.
    phone.set_faults(TransportFaults::default());
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (cmd, _, _, _) = read_packet(&mut s).unwrap();
    assert_eq!(&cmd, b"CNXN");
}

#[test]
fn exec_out_returns_raw_bytes() {
    let sim = Sim::start(&["FAKE0005"]);
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));
    let out = adb.adb(&["-s", &s, "exec-out", "rawbytes"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let want: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    assert_eq!(out.stdout, want);
    assert!(
        sim.phone(0)
            .services()
            .contains(&"exec:rawbytes".to_string())
    );
}

#[test]
fn pull_of_a_tree_with_hundreds_of_files_and_a_200_mb_file_is_byte_identical() {
    let sim = Sim::start(&["FAKE0006"]);
    let phone = sim.phone(0);
    let dcim = phone.host("/sdcard/DCIM");
    for i in 0..400u64 {
        let name = match i % 4 {
            0 => format!("Camera/IMG_2024{i:04}.jpg"),
            1 => format!("Screenshots/Screenshot {i} (copy).png"),
            2 => format!("Camera/été 東京 {i}.jpg"),
            _ => format!("Camera/burst/{i}/frame 'q' $x.jpg"),
        };
        write_file(&dcim.join(name), i, ((i * 7919) % 50_000) as usize);
    }
    write_file(&dcim.join("Camera/empty.jpg"), 1, 0);
    write_file(&dcim.join("Video/VID_big.mp4"), 99, 200 * 1024 * 1024);
    std::fs::create_dir_all(dcim.join("Empty folder")).unwrap();

    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));
    let dest = tempfile::tempdir().unwrap();
    adb.pull(&s, "/sdcard/DCIM", dest.path());
    let want = tree_hashes(&dcim);
    assert_eq!(want.len(), 402);
    assert_eq!(tree_hashes(&dest.path().join("DCIM")), want);
}

/// With the link cost on (packets paced and delayed), a pull and shell commands on the
/// same connection still get every byte, in order: the delay line never reorders or
/// drops what it holds back.
#[test]
fn a_slow_link_delays_packets_but_keeps_every_byte_in_order() {
    let sim = Sim::start(&["FAKE0011"]);
    let phone = sim.phone(0);
    phone.set_faults(TransportFaults {
        link: LinkCost {
            bytes_per_sec: Some(50_000_000),
            round_trip: Duration::from_millis(2),
        },
        ..TransportFaults::default()
    });
    let dcim = phone.host("/sdcard/DCIM");
    for i in 0..40u64 {
        write_file(
            &dcim.join(format!("Camera/IMG_{i:04}.jpg")),
            i,
            (i as usize) * 9_000,
        );
    }
    write_file(&dcim.join("Camera/VID.mp4"), 7, 6 * 1024 * 1024);
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));
    let dest = tempfile::tempdir().unwrap();
    std::thread::scope(|scope| {
        let echoes = scope.spawn(|| {
            (0..20)
                .map(|i| text(&adb.adb(&["-s", &s, "shell", &format!("echo {i}")]).stdout))
                .collect::<Vec<_>>()
        });
        adb.pull(&s, "/sdcard/DCIM", dest.path());
        let echoes = echoes.join().unwrap();
        for (i, e) in echoes.iter().enumerate() {
            assert_eq!(e.trim(), i.to_string());
        }
    });
    assert_eq!(tree_hashes(&dest.path().join("DCIM")), tree_hashes(&dcim));
}

#[test]
fn push_round_trips_and_creates_parent_directories() {
    let sim = Sim::start(&["FAKE0007"]);
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));
    let host = tempfile::tempdir().unwrap();
    let src = host.path().join("up.bin");
    write_file(&src, 7, 3 * 1024 * 1024 + 17);
    let small = host.path().join("small.txt");
    std::fs::write(&small, "hello phone\n").unwrap();

    // One file into a directory that does not exist yet (fixed_push_mkdir), then a
    // second into it.
    let out = adb.adb(&[
        "-s",
        &s,
        "push",
        src.to_str().unwrap(),
        "/sdcard/Download/new dir/up.bin",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = adb.adb(&[
        "-s",
        &s,
        "push",
        small.to_str().unwrap(),
        "/sdcard/Download/new dir/",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let on_phone = sim.phone(0).host("/sdcard/Download/new dir");
    assert_eq!(
        std::fs::read(on_phone.join("up.bin")).unwrap(),
        std::fs::read(&src).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(on_phone.join("small.txt")).unwrap(),
        "hello phone\n"
    );

    let back = host.path().join("back.bin");
    let out = adb.adb(&[
        "-s",
        &s,
        "pull",
        "/sdcard/Download/new dir/up.bin",
        back.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&src).unwrap());

    // The phone refuses to read some files: the pull fails with adbd's message.
    std::fs::write(sim.phone(0).host("/sdcard/secret.db"), "x").unwrap();
    let out = adb.adb(&[
        "-s",
        &s,
        "pull",
        "/sdcard/secret.db",
        host.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        said.contains("remote open failed: Permission denied"),
        "{said}"
    );
}

#[test]
fn dropped_sync_connection_fails_the_pull_and_adb_reconnects() {
    let sim = Sim::start(&["FAKE0008"]);
    let phone = sim.phone(0);
    write_file(&phone.host("/sdcard/Movies/clip.mp4"), 5, 4 * 1024 * 1024);
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));
    phone.set_faults(TransportFaults {
        drop_after_sync_bytes: Some(1_000_000),
        ..Default::default()
    });
    let dest = tempfile::tempdir().unwrap();
    let local = dest.path().join("clip.mp4");
    let out = adb.adb(&[
        "-s",
        &s,
        "pull",
        "/sdcard/Movies/clip.mp4",
        local.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success(),
        "pull through a dropped connection succeeded"
    );
    let got = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0);
    assert!(got < 4 * 1024 * 1024, "a complete file arrived: {got}");

    phone.set_faults(TransportFaults::default());
    adb.wait_state(&s, "device", Duration::from_secs(30));
    let out = adb.adb(&[
        "-s",
        &s,
        "pull",
        "/sdcard/Movies/clip.mp4",
        local.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(&local).unwrap(),
        std::fs::read(phone.host("/sdcard/Movies/clip.mp4")).unwrap()
    );
}

#[test]
fn link_down_closes_connections_and_adb_reconnects_when_it_is_up() {
    let sim = Sim::start(&["FAKE0009"]);
    let phone = sim.phone(0);
    let adb = common::AdbServer::start();
    let s = adb.connect(sim.port(0));

    phone.set_link(Link::Down);
    wait_not_device(&adb, &s);
    // While down, a connection closes before any handshake.
    let mut raw = TcpStream::connect(("127.0.0.1", sim.port(0))).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = raw.write_all(&cnxn());
    let mut buf = [0u8; 24];
    assert!(matches!(raw.read(&mut buf), Ok(0) | Err(_)));

    phone.set_link(Link::Up);
    adb.wait_state(&s, "device", Duration::from_secs(60));
    let out = adb.adb(&["-s", &s, "shell", "echo back"]);
    assert_eq!(text(&out.stdout), "back\n");

    // `adb reboot recovery` reaches the phone, which drops off the bus.
    let out = adb.adb(&["-s", &s, "reboot", "recovery"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(*phone.reboots.lock().unwrap(), ["recovery"]);
    assert!(phone.services().contains(&"reboot:recovery".to_string()));
    wait_not_device(&adb, &s);
    phone.set_link(Link::Up);
    adb.wait_state(&s, "device", Duration::from_secs(60));
}

// ---- raw wire ----

fn packet(cmd: &[u8; 4], arg0: u32, arg1: u32, data: &[u8]) -> Vec<u8> {
    let c = u32::from_le_bytes(*cmd);
    let sum: u32 = data.iter().map(|&b| u32::from(b)).sum();
    let mut v = Vec::new();
    for w in [c, arg0, arg1, data.len() as u32, sum, c ^ 0xffff_ffff] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn cnxn() -> Vec<u8> {
    packet(
        b"CNXN",
        0x0100_0001,
        256 * 1024,
        b"host::features=shell_v2\0",
    )
}

/// Reads one packet: (command, arg0, arg1, data), checking magic and checksum.
fn read_packet(s: &mut TcpStream) -> std::io::Result<([u8; 4], u32, u32, Vec<u8>)> {
    let mut h = [0u8; 24];
    s.read_exact(&mut h)?;
    let w = |i: usize| u32::from_le_bytes(h[i * 4..i * 4 + 4].try_into().unwrap());
    assert_eq!(w(5), w(0) ^ 0xffff_ffff, "magic");
    let mut data = vec![0u8; w(3) as usize];
    s.read_exact(&mut data)?;
    assert_eq!(
        w(4),
        data.iter().map(|&b| u32::from(b)).sum::<u32>(),
        "checksum"
    );
    Ok((h[0..4].try_into().unwrap(), w(1), w(2), data))
}

/// True when the peer closes the connection (EOF or reset) within the timeout.
fn closed_by_peer(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
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

fn handshaken(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&cnxn()).unwrap();
    let (cmd, version, max, banner) = read_packet(&mut s).unwrap();
    assert_eq!(&cmd, b"CNXN");
    assert_eq!(version, 0x0100_0001);
    assert_eq!(max, 256 * 1024);
    assert_eq!(text(&banner), BANNER);
    s
}

#[test]
fn raw_wire_streams_follow_the_protocol() {
    let sim = Sim::start(&["FAKE0010"]);
    let mut s = handshaken(sim.port(0));
    // Unknown services are refused with CLSE(0, host id).
    s.write_all(&packet(b"OPEN", 5, 0, b"bogus:thing\0"))
        .unwrap();
    let (cmd, a0, a1, _) = read_packet(&mut s).unwrap();
    assert_eq!((&cmd, a0, a1), (b"CLSE", 0, 5));

    s.write_all(&packet(b"OPEN", 6, 0, b"shell,v2,raw:echo hi; exit 3\0"))
        .unwrap();
    let (cmd, local, remote, _) = read_packet(&mut s).unwrap();
    assert_eq!((&cmd, remote), (b"OKAY", 6));
    let mut v2 = Vec::new();
    loop {
        let (cmd, a0, a1, data) = read_packet(&mut s).unwrap();
        assert_eq!((a0, a1), (local, 6));
        if &cmd == b"CLSE" {
            break;
        }
        assert_eq!(&cmd, b"WRTE");
        v2.extend(data);
        s.write_all(&packet(b"OKAY", 6, local, b"")).unwrap();
    }
    assert_eq!(v2, b"\x01\x03\0\0\0hi\n\x03\x01\0\0\0\x03");
    // Our answering CLSE and a late WRTE to the closed stream are both harmless.
    s.write_all(&packet(b"CLSE", 6, local, b"")).unwrap();
    s.write_all(&packet(b"WRTE", 6, local, b"late")).unwrap();
    s.write_all(&packet(b"OPEN", 7, 0, b"exec:echo again\0"))
        .unwrap();
    let (cmd, local, _, _) = read_packet(&mut s).unwrap();
    assert_eq!(&cmd, b"OKAY");
    let (cmd, _, _, data) = read_packet(&mut s).unwrap();
    assert_eq!((&cmd, data.as_slice()), (b"WRTE", &b"again\n"[..]));
    s.write_all(&packet(b"OKAY", 7, local, b"")).unwrap();
    let (cmd, _, _, _) = read_packet(&mut s).unwrap();
    assert_eq!(&cmd, b"CLSE");
}

#[test]
fn hostile_input_closes_only_that_connection() {
    let sim = Sim::start(&["FAKE0011"]);
    let port = sim.port(0);
    let adb = common::AdbServer::start();
    let serial = adb.connect(port);
    let mut long_lived = handshaken(port);

    let mut bad_magic = packet(b"OPEN", 1, 0, b"shell:echo\0");
    bad_magic[20] ^= 0xff;
    let mut huge = packet(b"WRTE", 1, 1, b"");
    huge[12..16].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let attacks: Vec<(&str, bool, Vec<u8>)> = vec![
        (
            "garbage before CNXN",
            false,
            b"GET / HTTP/1.1\r\nHost: phone\r\n\r\n".to_vec(),
        ),
        (
            "OPEN before CNXN",
            false,
            packet(b"OPEN", 1, 0, b"shell:echo x\0"),
        ),
        ("bad magic", true, bad_magic),
        ("absurd length", true, huge),
        ("unknown command", true, packet(b"ZZZZ", 0, 0, b"")),
        (
            "WRTE to unknown stream",
            true,
            packet(b"WRTE", 9, 4242, b"data"),
        ),
        ("OKAY to unknown stream", true, packet(b"OKAY", 9, 77, b"")),
    ];
    for (what, after_handshake, bytes) in attacks {
        let mut s = if after_handshake {
            handshaken(port)
        } else {
            TcpStream::connect(("127.0.0.1", port)).unwrap()
        };
        s.write_all(&bytes).unwrap();
        assert!(closed_by_peer(&mut s), "{what}: connection left open");
    }

    // The phone still serves: an existing raw connection, the adb server's connection,
    // and new ones.
    long_lived
        .write_all(&packet(b"OPEN", 1, 0, b"exec:echo alive\0"))
        .unwrap();
    let (cmd, _, _, _) = read_packet(&mut long_lived).unwrap();
    assert_eq!(&cmd, b"OKAY");
    let (_, _, _, data) = read_packet(&mut long_lived).unwrap();
    assert_eq!(data, b"alive\n");
    let out = adb.adb(&["-s", &serial, "shell", "echo still here"]);
    assert_eq!(text(&out.stdout), "still here\n");
    let adb2 = common::AdbServer::start();
    let serial2 = adb2.connect(port);
    let out = adb2.adb(&["-s", &serial2, "shell", "getprop ro.product.manufacturer"]);
    assert_eq!(text(&out.stdout), "Xiaomi\n");
}

#[test]
fn adb_shell_from_pypi_runs_a_command_and_pulls_a_file() {
    let sim = Sim::start(&["FAKE0012"]);
    let port = sim.port(0);
    write_file(&sim.phone(0).host("/sdcard/Documents/note.bin"), 3, 300_000);
    let dest = tempfile::tempdir().unwrap();
    let local = dest.path().join("note.bin");
    let script = format!(
        r#"
import sys
from adb_shell.adb_device import AdbDeviceTcp
d = AdbDeviceTcp("127.0.0.1", {port}, default_transport_timeout_s=20)
d.connect(rsa_keys=None, auth_timeout_s=5)
sys.stdout.write(d.shell("getprop ro.product.manufacturer"))
sys.stdout.write("|" + d.shell("echo two") + "|")
d.pull("/sdcard/Documents/note.bin", "{local}")
d.close()
"#,
        local = local.display()
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "adb-shell client failed (run scripts/ensure-deps): {}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "Xiaomi\n|two\n|");
    assert_eq!(
        std::fs::read(&local).unwrap(),
        std::fs::read(sim.phone(0).host("/sdcard/Documents/note.bin")).unwrap()
    );
}
