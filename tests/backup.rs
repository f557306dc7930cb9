//! `backup` end to end: the tool's library and binary, Debian's real adb server, and a
//! simulated phone with a seeded tree of hostile names, a symlink, an unreadable file
//! and 0-byte files. What each test guards is in its name.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mi_offboard::adb::{Adb, Device, Selector, ServerAddr};
use mi_offboard::backup::{self, BackupError, Options, manifest, paths, plan};
use mi_offboard::exit::{Exit, HasExit};
use mi_offboard::progress::{Reporter, Silent};
use mi_offboard::sim::phone::tree;
use mi_offboard::sim::{PhoneFaults, PhoneSpec, Registry, SimPhone, TreeSpec, spawn_phone};

struct Bench {
    server: common::AdbServer,
    phone: SimPhone,
    serial: String,
}

impl Bench {
    async fn start(tree: TreeSpec) -> Bench {
        let spec = PhoneSpec {
            seed: 42,
            tree,
            ..PhoneSpec::default()
        };
        let phone = spawn_phone(spec, 0, Registry::new()).await.expect("phone");
        let port = phone.port();
        let (server, serial) = tokio::task::spawn_blocking(move || {
            let server = common::AdbServer::start();
            let serial = server.connect(port);
            (server, serial)
        })
        .await
        .expect("adb");
        Bench {
            server,
            phone,
            serial,
        }
    }

    fn device(&self, timeout: Duration) -> Device {
        let adb = Adb::new(
            ServerAddr {
                host: "127.0.0.1".into(),
                port: self.server.port,
            },
            timeout,
        );
        adb.device(Selector::Serial(self.serial.clone()))
    }

    /// The phone's own serial (`ro.serialno`), what a backup is matched on.
    async fn serialno(&self) -> String {
        let out = self
            .device(Duration::from_secs(20))
            .shell("getprop ro.serialno")
            .await
            .expect("getprop");
        out.stdout_text().trim().to_string()
    }

    fn sdcard(&self) -> PathBuf {
        self.phone.phone().sdcard_dir()
    }

    /// Runs the binary: `mi-offboard backup -P PORT -s SERIAL --timeout T ARGS…`.
    async fn cli(&self, timeout: u64, args: &[&str]) -> std::process::Output {
        let mut c = tokio::process::Command::new(common::AdbServer::bin("mi-offboard"));
        c.env("HOME", self.server.home())
            .env_remove("ANDROID_SERIAL")
            .env_remove("ADB_SERVER_SOCKET")
            .args([
                "backup",
                "-P",
                &self.server.port.to_string(),
                "-s",
                &self.serial,
            ])
            .args(["--timeout", &timeout.to_string()])
            .args(args);
        c.output().await.expect("run mi-offboard")
    }

    async fn wait_online(&self) {
        let server_port = self.server.port;
        let serial = self.serial.clone();
        let home = self.server.home().to_path_buf();
        tokio::task::spawn_blocking(move || {
            // The server reconnects a dropped phone by itself (FACTS.md §2); connect again
            // in case it gave up, then wait for `device`.
            let adb = |args: &[&str]| {
                std::process::Command::new("adb")
                    .env("HOME", &home)
                    .env("ANDROID_ADB_SERVER_PORT", server_port.to_string())
                    .args(args)
                    .output()
                    .expect("adb")
            };
            for _ in 0..200 {
                let out = adb(&["devices"]);
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                if text.lines().any(|l| l == format!("{serial}\tdevice")) {
                    return;
                }
                adb(&["connect", &serial]);
                std::thread::sleep(Duration::from_millis(100));
            }
            panic!("{serial} did not come back online");
        })
        .await
        .expect("wait");
    }
}

fn opts(dest: &Path) -> Options {
    Options {
        dest: dest.to_path_buf(),
        includes: Vec::new(),
        all: false,
    }
}

/// Every regular file the phone holds below the default folders, relative to /sdcard.
fn phone_files(sdcard: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for root in plan::DEFAULT_FOLDERS {
        collect(sdcard, &sdcard.join(root), &mut out);
    }
    out
}

fn collect(base: &Path, at: &Path, out: &mut BTreeMap<String, PathBuf>) {
    let Ok(md) = std::fs::symlink_metadata(at) else {
        return;
    };
    if md.is_dir() {
        for e in std::fs::read_dir(at).unwrap() {
            collect(base, &e.unwrap().path(), out);
        }
    } else if md.is_file() {
        let rel = at.strip_prefix(base).unwrap().to_str().unwrap().to_string();
        out.insert(rel, at.to_path_buf());
    }
}

/// Every file under DIR/data that carries a real name (not a temporary), relative.
fn landed_files(dest: &Path) -> BTreeMap<String, PathBuf> {
    let data = backup::data_dir(dest);
    let mut out = BTreeMap::new();
    collect(&data, &data, &mut out);
    out
}

fn is_partial(rel: &str) -> bool {
    rel.rsplit('/')
        .next()
        .is_some_and(|n| n.starts_with(paths::PARTIAL_PREFIX))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_backup_of_hostile_tree_is_byte_identical_with_a_correct_manifest() {
    let bench = Bench::start(TreeSpec::default()).await;
    let dest = tempfile::tempdir().unwrap();
    let device = bench.device(Duration::from_secs(20));
    let s = backup::backup(&device, &opts(dest.path()), &Silent)
        .await
        .expect("backup");

    let phone = phone_files(&bench.sdcard());
    let unreadable = tree::UNREADABLE_FILE;
    let expected: BTreeMap<&String, &PathBuf> = phone
        .iter()
        .filter(|(k, _)| k.as_str() != unreadable)
        .collect();
    let landed = landed_files(dest.path());
    assert_eq!(
        landed.keys().collect::<Vec<_>>(),
        expected.keys().copied().collect::<Vec<_>>(),
        "the backup holds exactly the readable files"
    );
    assert!(expected.keys().any(|k| k.contains('\'') || k.contains('$')));
    assert!(
        expected
            .values()
            .any(|p| std::fs::metadata(p).unwrap().len() == 0)
    );
    for (rel, src) in &expected {
        assert_eq!(
            std::fs::read(src).unwrap(),
            std::fs::read(&landed[*rel]).unwrap(),
            "{rel} differs"
        );
        let m1 = std::fs::metadata(src).unwrap().modified().unwrap();
        let m2 = std::fs::metadata(&landed[*rel])
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(
            m1.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            m2.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            "{rel} mtime"
        );
    }

    let (m, sha) = manifest::load(dest.path()).unwrap();
    assert_eq!(m.device.serial, bench.serial);
    assert!(m.complete && m.finished.is_some());
    assert_eq!(m.files.len(), expected.len());
    for f in &m.files {
        assert!(f.verified, "{} not verified: {:?}", f.path, f.error);
        let bytes = std::fs::read(&landed[&f.path]).unwrap();
        assert_eq!(f.sha256, manifest::sha256_hex(&bytes), "{}", f.path);
        assert_eq!(f.size, bytes.len() as u64);
    }
    assert!(
        m.skipped.iter().any(|k| k.path == unreadable),
        "{:?}",
        m.skipped
    );
    assert!(
        m.symlinks.iter().any(|l| l == tree::SYMLINK),
        "{:?}",
        m.symlinks
    );
    assert!(m.notes.iter().any(|n| n.contains("Android/data")));

    assert!(s.complete);
    assert_eq!(s.exit(), Exit::Ok);
    assert_eq!(
        (s.files, s.verified, s.fetched),
        (m.files.len(), m.files.len(), m.files.len())
    );
    assert_eq!(s.manifest_sha256, sha);
    let hw = bench.serialno().await;
    assert!(!hw.is_empty());
    assert_eq!(m.device.hardware_serial.as_deref(), Some(hw.as_str()));
    let proof = backup::verified_backup(dest.path(), &bench.serial, Some(&hw)).expect("proof");
    assert_eq!(proof.hardware_serial.as_deref(), Some(hw.as_str()));
    assert!(proof.notes.is_empty(), "{:?}", proof.notes);
    // A backup is this phone's by its own serial, not by the adb serial it shares.
    assert!(backup::verified_backup(dest.path(), &bench.serial, Some("other-phone")).is_err());
    assert_eq!(proof.manifest_sha256, sha);
    assert_eq!(proof.files, m.files.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerun_skips_verified_files_and_refetches_a_copy_altered_on_the_host() {
    let bench = Bench::start(TreeSpec::default()).await;
    let dest = tempfile::tempdir().unwrap();
    let device = bench.device(Duration::from_secs(20));
    let first = backup::backup(&device, &opts(dest.path()), &Silent)
        .await
        .expect("first run");
    assert!(first.complete);

    let second = backup::backup(&device, &opts(dest.path()), &Silent)
        .await
        .expect("second run");
    assert_eq!(second.fetched, 0);
    assert_eq!(second.resumed, first.files);
    assert!(second.complete);

    // Same size, same mtime, other bytes: must not stay "verified".
    let (m, _) = manifest::load(dest.path()).unwrap();
    let victim = m
        .files
        .iter()
        .find(|f| f.size > 4)
        .expect("a non-empty file");
    let host = backup::data_dir(dest.path()).join(&victim.path);
    let mtime = std::fs::metadata(&host).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&host).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&host, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&host)
        .unwrap()
        .set_modified(mtime)
        .unwrap();

    let third = backup::backup(&device, &opts(dest.path()), &Silent)
        .await
        .expect("third run");
    assert_eq!(third.fetched, 1);
    assert_eq!(third.resumed, first.files - 1);
    let src = bench.sdcard().join(&victim.path);
    assert_eq!(std::fs::read(src).unwrap(), std::fs::read(&host).unwrap());
}

/// Counts bytes and pulls a trigger once past a threshold.
struct Trigger {
    seen: AtomicU64,
    at: u64,
    fire: Box<dyn Fn() + Send + Sync>,
}

impl Reporter for Trigger {
    fn advance(&self, _serial: &str, bytes: u64) {
        let before = self.seen.fetch_add(bytes, Ordering::SeqCst);
        if before < self.at && before + bytes >= self.at {
            (self.fire)();
        }
    }
}

fn big_tree() -> TreeSpec {
    TreeSpec {
        big_files: vec![3 * 1024 * 1024, 2 * 1024 * 1024],
        ..TreeSpec::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_dropping_mid_file_exits_5_leaves_nothing_corrupt_and_a_rerun_completes() {
    let bench = Bench::start(big_tree()).await;
    let dest = tempfile::tempdir().unwrap();
    let dest_s = dest.path().to_str().unwrap().to_string();
    // Mid-way through the big files (they are the bulk of the bytes).
    bench.phone.phone().set_faults(PhoneFaults {
        drop_after_sync_bytes: Some(2 * 1024 * 1024 + 12_345),
        ..PhoneFaults::default()
    });
    let out = bench.cli(10, &["--dest", &dest_s]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "stderr: {stderr}");
    assert!(stderr.contains("run the same command again"), "{stderr}");

    let phone = phone_files(&bench.sdcard());
    let landed = landed_files(dest.path());
    let (m, _) = manifest::load(dest.path()).expect("manifest saved on the way out");
    assert!(!m.complete);
    for (rel, path) in &landed {
        if is_partial(rel) {
            continue;
        }
        assert_eq!(
            std::fs::read(path).unwrap(),
            std::fs::read(&phone[rel]).unwrap(),
            "{rel} carries its real name but not the phone's bytes"
        );
    }
    assert!(
        backup::verified_backup(
            dest.path(),
            &bench.serial,
            m.device.hardware_serial.as_deref()
        )
        .is_err()
    );

    bench.phone.phone().set_faults(PhoneFaults::default());
    bench.wait_online().await;
    let out = bench.cli(10, &["--dest", &dest_s, "--json"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(s["complete"], true);
    assert_eq!(s["verified"], s["files"]);
    let landed = landed_files(dest.path());
    assert!(
        !landed.keys().any(|k| is_partial(k)),
        "temporaries left behind"
    );
    backup::verified_backup(dest.path(), &bench.serial, Some(&bench.serialno().await))
        .expect("proof after rerun");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_stalling_mid_transfer_ends_with_exit_5_not_a_hang() {
    let bench = Bench::start(big_tree()).await;
    let hw = bench.serialno().await;
    let dest = tempfile::tempdir().unwrap();
    let phone = bench.phone.phone();
    let reporter = Trigger {
        seen: AtomicU64::new(0),
        at: 1024 * 1024,
        fire: Box::new(move || {
            phone.set_faults(PhoneFaults {
                stall: true,
                ..PhoneFaults::default()
            })
        }),
    };
    let device = bench.device(Duration::from_secs(2));
    // A guard against a hang, far above the 2 s timeout; not a timing assertion.
    let r = tokio::time::timeout(
        Duration::from_secs(120),
        backup::backup(&device, &opts(dest.path()), &reporter),
    )
    .await
    .expect("the backup hung on a stalled phone");
    let e = r.expect_err("a stalled phone cannot give a complete backup");
    assert!(matches!(e, BackupError::Adb { .. }), "{e}");
    assert_eq!(e.exit(), Exit::PhoneLost);
    bench.phone.phone().set_faults(PhoneFaults::default());
    assert!(backup::verified_backup(dest.path(), &bench.serial, Some(&hw)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_destination_is_refused_before_the_phone_is_asked_anything() {
    let bench = Bench::start(TreeSpec::default()).await;
    let d = tempfile::tempdir().unwrap();
    // A path through a regular file cannot be created, even by root.
    std::fs::write(d.path().join("file"), b"x").unwrap();
    let dest = d.path().join("file/backup");
    let out = bench.cli(10, &["--dest", dest.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write to the backup directory"),
        "{stderr}"
    );
    assert!(
        !bench
            .phone
            .phone()
            .commands()
            .iter()
            .any(|c| c.contains("sync"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_dir_of_another_phone_is_refused_and_the_proof_names_the_phone() {
    let bench = Bench::start(TreeSpec::default()).await;
    let dest = tempfile::tempdir().unwrap();
    let mut other = manifest::Manifest::new(
        manifest::Device {
            serial: "SOMEONE-ELSE".into(),
            hardware_serial: None,
            model: None,
            imei: None,
        },
        vec![],
    );
    other.complete = true;
    other.finished = Some(manifest::now());
    other.save(dest.path()).unwrap();
    let device = bench.device(Duration::from_secs(20));
    let e = backup::backup(&device, &opts(dest.path()), &Silent)
        .await
        .expect_err("another phone's backup");
    assert_eq!(e.exit(), Exit::Refused);
    assert!(
        backup::verified_backup(dest.path(), &bench.serial, Some(&bench.serialno().await)).is_err()
    );
}
