//! The adb client library through Debian's real adb server: host-side requests with
//! nothing connected, track-devices events as a simulated phone comes and goes, shell v2
//! exit codes, and sync (walk, pipelined receive of a whole tree, push) against mi-sim
//! phones — checked byte for byte against the phone's own files.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use mi_offboard::adb::{
    Adb, AdbError, CodeSource, DeviceEvent, DeviceState, RecvSink, Selector, ServerAddr,
};
use mi_offboard::sim::{PhoneFaults, PhoneSpec, Registry, SimPhone, spawn_phone};
use sha2::{Digest, Sha256};

fn client(server: &common::AdbServer, timeout: Duration) -> Adb {
    Adb::new(
        ServerAddr {
            host: "127.0.0.1".into(),
            port: server.port,
        },
        timeout,
    )
}

async fn phone(profile: &str) -> SimPhone {
    let spec = PhoneSpec {
        profile: profile.into(),
        seed: 5,
        ..PhoneSpec::default()
    };
    spawn_phone(spec, 0, Registry::new())
        .await
        .expect("spawn phone")
}

/// `adb connect` (the harness is synchronous; the phone keeps running on the runtime).
fn connect(server: &common::AdbServer, port: u16) -> String {
    tokio::task::block_in_place(|| server.connect(port))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_requests_with_nothing_connected() {
    let server = common::AdbServer::start();
    let adb = client(&server, Duration::from_secs(5));
    assert_eq!(adb.ensure_server().await.unwrap(), 0x29);
    assert!(adb.devices().await.unwrap().is_empty());
    assert!(matches!(adb.select(None).await, Err(AdbError::NoDevice)));
    let e = adb
        .device(Selector::Serial("ghost".into()))
        .shell("true")
        .await
        .unwrap_err();
    assert!(
        matches!(e, AdbError::DeviceNotFound { ref serial } if serial == "ghost"),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn track_devices_reports_a_phone_coming_and_going() {
    let server = common::AdbServer::start();
    let adb = client(&server, Duration::from_secs(10));
    let mut tracker = adb.track().await.unwrap();
    let first = tracker.next().await.unwrap();
    assert!(first.devices.is_empty() && first.events.is_empty());
    let sim = phone("xiaomi-clean").await;
    let serial = format!("127.0.0.1:{}", sim.port());
    assert!(
        adb.connect_device(&serial)
            .await
            .unwrap()
            .contains("connected")
    );
    let mut seen_online = false;
    while !seen_online {
        let u = tokio::time::timeout(Duration::from_secs(20), tracker.next())
            .await
            .unwrap()
            .unwrap();
        for e in &u.events {
            if let DeviceEvent::Added(d) | DeviceEvent::Changed { after: d, .. } = e {
                assert_eq!(d.serial, serial);
                seen_online |= d.state == DeviceState::Device;
            }
        }
    }
    server.adb(&["disconnect", &serial]);
    loop {
        let u = tokio::time::timeout(Duration::from_secs(20), tracker.next())
            .await
            .unwrap()
            .unwrap();
        if u.events
            .iter()
            .any(|e| matches!(e, DeviceEvent::Removed(d) if d.serial == serial))
        {
            assert!(u.devices.is_empty());
            break;
        }
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_v2_exit_codes_and_stderr_through_the_real_server() {
    let server = common::AdbServer::start();
    let sim = phone("hyperos2-eea").await;
    let serial = connect(&server, sim.port());
    let adb = client(&server, Duration::from_secs(10));
    let (dev, info) = adb.select(None).await.unwrap();
    assert_eq!(info.serial, serial);
    assert!(dev.features().await.unwrap().has("shell_v2"));
    let out = dev.shell("echo out; echo err >&2; exit 42").await.unwrap();
    assert_eq!(
        (
            out.stdout_text().as_str(),
            out.stderr_text().as_str(),
            out.code
        ),
        ("out\n", "err\n", 42)
    );
    assert_eq!(out.via, CodeSource::ShellV2);
    let out = dev.shell("no-such-command").await.unwrap();
    assert_eq!(out.code, 127);
    let raw = dev.exec("getprop ro.product.manufacturer").await.unwrap();
    assert_eq!(raw, b"Xiaomi\n");
    // Streamed exec-out is byte-exact (the build.prop file, read with cat).
    let mut streamed = Vec::new();
    let n = dev
        .exec_to("cat /system/build.prop", &mut streamed)
        .await
        .unwrap();
    assert_eq!(n as usize, streamed.len());
    let shell_copy = dev.shell("cat /system/build.prop").await.unwrap();
    assert_eq!(streamed, shell_copy.stdout);
    assert!(!streamed.is_empty());
    // Reboot reaches the phone.
    dev.reboot(None).await.unwrap();
    assert_eq!(sim.phone().counter("reboots"), 1);
    sim.shutdown().await;
}

#[derive(Default)]
struct Hashes {
    current: BTreeMap<usize, Sha256>,
    done: BTreeMap<usize, Result<(u64, String), String>>,
}

impl RecvSink for Hashes {
    async fn data(&mut self, index: usize, chunk: &[u8]) -> std::io::Result<()> {
        self.current.entry(index).or_default().update(chunk);
        Ok(())
    }
    async fn end(&mut self, index: usize, result: Result<u64, AdbError>) -> std::io::Result<()> {
        let hash = self.current.remove(&index).unwrap_or_default();
        let r = result
            .map(|n| (n, hex::encode(hash.finalize())))
            .map_err(|e| e.to_string());
        self.done.insert(index, r);
        Ok(())
    }
}

fn host_files(root: &Path, dir: &Path, out: &mut BTreeMap<String, (u64, bool)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let md = std::fs::symlink_metadata(e.path()).unwrap();
        let rel = e
            .path()
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if md.is_dir() {
            host_files(root, &e.path(), out);
        } else {
            out.insert(rel, (md.len(), md.file_type().is_symlink()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_and_pipelined_recv_of_the_whole_tree_match_the_phones_files() {
    let server = common::AdbServer::start();
    let sim = phone("miui14-global").await;
    connect(&server, sim.port());
    let adb = client(&server, Duration::from_secs(10));
    let (dev, _) = adb.select(None).await.unwrap();
    let root = sim.phone().sdcard_dir();
    let mut want = BTreeMap::new();
    host_files(&root, &root, &mut want);

    let mut sync = dev.sync().await.unwrap();
    let walk = sync.walk("/sdcard").await.unwrap();
    let files: Vec<_> = walk.iter().filter(|w| !w.stat.is_dir()).collect();
    let visible = want;
    let got: BTreeMap<String, (u64, bool)> = files
        .iter()
        .map(|w| {
            (
                w.path["/sdcard/".len()..].to_string(),
                (w.stat.size, w.stat.is_symlink()),
            )
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        visible.keys().collect::<Vec<_>>()
    );
    for (p, (size, link)) in &got {
        if !link {
            assert_eq!(*size, visible[p].0, "{p}");
        }
    }

    let regular: Vec<_> = files.iter().filter(|w| w.stat.is_file()).collect();
    let paths: Vec<Vec<u8>> = regular.iter().map(|w| w.raw_path.clone()).collect();
    let mut sink = Hashes::default();
    sync.recv_many(&paths, &mut sink).await.unwrap();
    assert_eq!(sink.done.len(), paths.len());
    let mut refused = Vec::new();
    for (i, w) in regular.iter().enumerate() {
        let rel = &w.path["/sdcard/".len()..];
        match &sink.done[&i] {
            Ok((n, hash)) => {
                let bytes = std::fs::read(root.join(rel)).unwrap();
                assert_eq!(*n, bytes.len() as u64, "{rel}");
                assert_eq!(*hash, hex::encode(Sha256::digest(&bytes)), "{rel}");
            }
            Err(msg) => {
                assert!(msg.contains(rel), "{msg}");
                refused.push(rel.to_string());
            }
        }
    }
    // Files the phone refuses end with their own error; the rest carry on.
    refused.sort();
    assert_eq!(
        refused,
        [
            "Android/data/com.miui.gallery/files/cache.db",
            "Documents/bank statement (locked).pdf"
        ]
    );

    // A push round-trips, and stat sees it with its 64-bit size.
    let data = vec![7u8; 100_000];
    let n = sync
        .send(
            &mut &data[..],
            "/sdcard/Download/pushed.bin",
            0o644,
            1_700_000_000,
        )
        .await
        .unwrap();
    assert_eq!(n, 100_000);
    let st = sync
        .stat("/sdcard/Download/pushed.bin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((st.size, st.mtime), (100_000, 1_700_000_000));
    assert_eq!(
        std::fs::read(root.join("Download/pushed.bin")).unwrap(),
        data
    );
    assert!(sync.stat("/sdcard/none").await.unwrap().is_none());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_transfer_is_lost_and_a_stalled_phone_times_out() {
    let server = common::AdbServer::start();
    let spec = PhoneSpec {
        profile: "xiaomi-clean".into(),
        tree: mi_offboard::sim::TreeSpec {
            files: 3,
            big_files: vec![3_000_000],
            ..Default::default()
        },
        ..PhoneSpec::default()
    };
    let sim = spawn_phone(spec, 0, Registry::new()).await.unwrap();
    let serial = connect(&server, sim.port());
    let adb = client(&server, Duration::from_secs(2));
    let (dev, _) = adb.select(None).await.unwrap();
    let mut sync = dev.sync().await.unwrap();
    let big = sync
        .walk("/sdcard/DCIM")
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.stat.size == 3_000_000)
        .expect("the big video");
    sim.phone().set_faults(PhoneFaults {
        drop_after_sync_bytes: Some(1_000_000),
        ..PhoneFaults::default()
    });
    let mut out = Vec::new();
    let e = dev
        .sync()
        .await
        .unwrap()
        .recv(&big.raw_path, &mut out, &mut |_| {})
        .await
        .unwrap_err();
    assert!(e.is_lost(), "{e:?}");
    assert!(out.len() < 3_000_000);

    // The phone's connection was cut: adb reconnects by itself.
    sim.phone().set_faults(PhoneFaults::default());
    tokio::task::block_in_place(|| server.wait_state(&serial, "device", Duration::from_secs(20)));
    sim.phone().set_faults(PhoneFaults {
        stall: true,
        ..PhoneFaults::default()
    });
    let e = dev.shell("getprop").await.unwrap_err();
    assert!(matches!(e, AdbError::Timeout { .. }), "{e:?}");
    sim.phone().set_faults(PhoneFaults::default());
    sim.shutdown().await;
}
