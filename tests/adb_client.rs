//! The adb client against a scripted fake adb server (a TcpListener in the test that
//! answers as the server does, or does not): garbage, FAIL replies, truncated replies, a
//! server that dies or stalls. Each test proves one failure ends as the right typed
//! error, within the timeout, and that good answers decode exactly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mi_offboard::adb::{
    Adb, AdbError, CodeSource, DeviceEvent, DeviceState, RecvSink, Selector, ServerAddr,
    ShellOutput, SyncSession, encode_packet, packet_id,
};
use mi_offboard::exit::{Exit, HasExit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const T: Duration = Duration::from_secs(2);

/// Reads one `XXXXtext` request; `None` at EOF.
async fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let n = usize::from_str_radix(std::str::from_utf8(&len).ok()?, 16).ok()?;
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).await.ok()?;
    String::from_utf8(buf).ok()
}

fn block(text: &str) -> Vec<u8> {
    format!("{:04x}{text}", text.len()).into_bytes()
}

fn fail(msg: &str) -> Vec<u8> {
    let mut v = b"FAIL".to_vec();
    v.extend(block(msg));
    v
}

/// A fake server: HANDLER runs once per accepted connection.
async fn fake<F, Fut>(handler: F) -> Adb
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(handler(s));
        }
    });
    Adb::new(
        ServerAddr {
            host: "127.0.0.1".into(),
            port,
        },
        T,
    )
}

/// `cmd` in a shell on the phone `serial`.
async fn shell_on(adb: &Adb, serial: &str, cmd: &str) -> Result<ShellOutput, AdbError> {
    adb.device(Selector::Serial(serial.into())).shell(cmd).await
}

/// A sync session with the scripted phone "x".
async fn sync_x(adb: &Adb) -> SyncSession {
    adb.device(Selector::Serial("x".into()))
        .sync()
        .await
        .unwrap()
}

/// A fake server answering host requests from a table (request → raw reply bytes).
async fn host_table(table: &[(&str, Vec<u8>)]) -> Adb {
    let table: BTreeMap<String, Vec<u8>> = table
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let table = Arc::new(table);
    fake(move |mut s| {
        let table = table.clone();
        async move {
            while let Some(req) = read_request(&mut s).await {
                match table.get(&req) {
                    Some(reply) => {
                        let _ = s.write_all(reply).await;
                    }
                    None => {
                        let _ = s.write_all(&fail(&format!("unknown {req}"))).await;
                    }
                }
            }
        }
    })
    .await
}

fn okay_block(text: &str) -> Vec<u8> {
    let mut v = b"OKAY".to_vec();
    v.extend(block(text));
    v
}

#[tokio::test]
async fn version_and_device_listing_decode_tolerantly() {
    let listing = "0123456789ABCDEF       device usb:1-1 product:alioth model:M2012K11AG device:alioth transport_id:3\n\
                   garbage\n\
                   abc                    no permissions (user in plugdev group; are your udev rules wrong?); see [http://developer.android.com/tools/device.html] usb:1-3 transport_id:5\n";
    let adb = host_table(&[
        ("host:version", okay_block("0029")),
        ("host:devices-l", okay_block(listing)),
    ])
    .await;
    assert_eq!(adb.version().await.unwrap(), 0x29);
    let list = adb.devices().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].model.as_deref(), Some("M2012K11AG"));
    assert!(matches!(list[1].state, DeviceState::NoPermissions(_)));
}

#[tokio::test]
async fn garbage_status_is_a_protocol_error() {
    let adb = host_table(&[("host:version", b"HELO0004zzzz".to_vec())]).await;
    let e = adb.version().await.unwrap_err();
    assert!(matches!(e, AdbError::Protocol { .. }), "{e:?}");
    assert_eq!(e.exit(), Exit::Other);
    let adb = host_table(&[("host:version", okay_block("zz"))]).await;
    assert!(matches!(
        adb.version().await,
        Err(AdbError::Protocol { .. })
    ));
    let adb = host_table(&[("host:devices-l", b"OKAYxyz!".to_vec())]).await;
    assert!(matches!(
        adb.devices().await,
        Err(AdbError::Protocol { .. })
    ));
}

#[tokio::test]
async fn truncated_reply_is_connection_lost_not_a_short_answer() {
    // Says 0x40 bytes follow, sends 5, closes.
    let adb = fake(|mut s| async move {
        let _ = read_request(&mut s).await;
        let _ = s.write_all(b"OKAY0040abc\td").await;
    })
    .await;
    let e = adb.devices().await.unwrap_err();
    assert!(matches!(e, AdbError::ConnectionLost { .. }), "{e:?}");
    assert_eq!(e.exit(), Exit::PhoneLost);
}

#[tokio::test]
async fn fail_replies_become_typed_errors() {
    let adb = host_table(&[
        ("host:version", fail("internal error")),
        (
            "host:devices-l",
            okay_block("u1\tunauthorized\no1\toffline\n"),
        ),
        (
            "host-serial:u1:features",
            fail("device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set"),
        ),
        ("host-serial:o1:features", fail("device offline")),
        ("host-serial:gone:features", fail("device 'gone' not found")),
    ])
    .await;
    let e = adb.version().await.unwrap_err();
    assert!(matches!(e, AdbError::ServerRefused { ref msg, .. } if msg == "internal error"));
    let e = shell_on(&adb, "u1", "true").await.unwrap_err();
    assert!(
        matches!(e, AdbError::Unauthorized { ref serial } if serial == "u1"),
        "{e:?}"
    );
    assert_eq!(e.exit(), Exit::Refused);
    let e = shell_on(&adb, "o1", "true").await.unwrap_err();
    assert!(matches!(e, AdbError::Offline { .. }));
    assert_eq!(e.exit(), Exit::PhoneLost);
    let e = shell_on(&adb, "gone", "true").await.unwrap_err();
    assert!(matches!(e, AdbError::DeviceNotFound { .. }));
    assert!(e.to_string().contains("gone"));
    // Several phones and no serial: a usage error naming them.
    let e = adb.select(None).await.unwrap_err();
    assert!(matches!(e, AdbError::MoreThanOne { ref serials } if serials == &["u1", "o1"]));
    assert_eq!(e.exit(), Exit::Usage);
    let (_, info) = adb.select(Some("o1")).await.unwrap();
    assert_eq!(info.state, DeviceState::Offline);
    assert!(matches!(
        adb.select(Some("zz")).await,
        Err(AdbError::DeviceNotFound { .. })
    ));
}

#[tokio::test]
async fn no_phone_and_no_server() {
    let adb = host_table(&[("host:devices-l", okay_block(""))]).await;
    assert!(matches!(adb.select(None).await, Err(AdbError::NoDevice)));
    // A port nobody listens on.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let adb = Adb::new(
        ServerAddr {
            host: "127.0.0.1".into(),
            port,
        },
        T,
    );
    let e = adb.devices().await.unwrap_err();
    assert!(matches!(e, AdbError::ServerUnavailable { .. }), "{e:?}");
}

#[tokio::test]
async fn stalled_server_times_out_within_the_timeout() {
    let adb = fake(|mut s| async move {
        let _ = read_request(&mut s).await;
        // Keep the socket open and say nothing.
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let adb = Adb::new(adb.addr().clone(), Duration::from_millis(300));
    let e = adb.devices().await.unwrap_err();
    assert!(matches!(e, AdbError::Timeout { .. }), "{e:?}");
    assert_eq!(e.exit(), Exit::PhoneLost);
}

/// A fake phone behind the fake server: answers the transport switch, features, and
/// hands the service request to SERVICE.
async fn phone<F, Fut>(features: &'static str, service: F) -> Adb
where
    F: Fn(String, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let service = Arc::new(service);
    fake(move |mut s| {
        let service = service.clone();
        async move {
            let Some(req) = read_request(&mut s).await else {
                return;
            };
            if req.ends_with(":features") {
                let _ = s.write_all(&okay_block(features)).await;
                return;
            }
            if !req.starts_with("host:transport") {
                let _ = s.write_all(&fail("unexpected")).await;
                return;
            }
            let _ = s.write_all(b"OKAY").await;
            let Some(svc) = read_request(&mut s).await else {
                return;
            };
            let _ = s.write_all(b"OKAY").await;
            service(svc, s).await;
        }
    })
    .await
}

#[tokio::test]
async fn shell_v2_separates_streams_and_returns_the_code() {
    let adb = phone("shell_v2,cmd,stat_v2,ls_v2", |svc, mut s| async move {
        assert_eq!(svc, "shell,v2,raw:exit 42");
        let mut out = encode_packet(packet_id::STDOUT, b"out\n");
        out.extend(encode_packet(packet_id::STDERR, b"err\n"));
        out.extend(encode_packet(5, b"ignored window size"));
        out.extend(encode_packet(packet_id::EXIT, &[42]));
        // Dribble it a few bytes at a time: boundaries mean nothing.
        for c in out.chunks(3) {
            let _ = s.write_all(c).await;
            let _ = s.flush().await;
        }
    })
    .await;
    let out = shell_on(&adb, "x", "exit 42").await.unwrap();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.code, 42);
    assert_eq!(out.via, CodeSource::ShellV2);
}

#[tokio::test]
async fn shell_v2_cut_before_the_exit_packet_is_lost_not_success() {
    let adb = phone("shell_v2", |_svc, mut s| async move {
        let _ = s
            .write_all(&encode_packet(packet_id::STDOUT, b"partial"))
            .await;
    })
    .await;
    let e = shell_on(&adb, "x", "ls").await.unwrap_err();
    assert!(
        matches!(e, AdbError::ConnectionLost { ref serial, .. } if serial.as_deref() == Some("x")),
        "{e:?}"
    );
    assert_eq!(e.exit(), Exit::PhoneLost);
}

#[tokio::test]
async fn old_phones_get_shell_v1_with_the_code_from_the_marker() {
    let adb = phone("cmd", |svc, mut s| async move {
        // Plays `sh`: runs nothing, prints output then what the marker echo would print.
        let cmd = svc.strip_prefix("shell:").unwrap();
        let marker = cmd.rsplit("echo ").next().unwrap().trim_end_matches("$__r");
        let reply = if cmd.contains("cut") {
            "half".to_string()
        } else {
            format!("hello\r\nerr merged\r\n\r\n{marker}7\r\n")
        };
        let _ = s.write_all(reply.as_bytes()).await;
    })
    .await;
    let dev = adb.device(Selector::TransportId(9));
    let out = dev.shell("something").await.unwrap();
    assert_eq!(out.stdout, b"hello\r\nerr merged\r\n");
    assert_eq!(out.code, 7);
    assert_eq!(out.via, CodeSource::EchoMarker);
    assert!(out.stderr.is_empty());
    let e = dev.shell("cut").await.unwrap_err();
    assert!(matches!(e, AdbError::ConnectionLost { .. }), "{e:?}");
    assert!(e.to_string().contains("transport 9"));
}

#[tokio::test]
async fn dropping_a_call_closes_its_socket() {
    let closed = Arc::new(AtomicUsize::new(0));
    let seen = closed.clone();
    let adb = phone("shell_v2", move |_svc, mut s| {
        let seen = seen.clone();
        async move {
            let mut b = [0u8; 1];
            // Waits for the client to go away: read returns 0 at EOF.
            if let Ok(0) = s.read(&mut b).await {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        }
    })
    .await;
    let dev = adb.device(Selector::Serial("x".into()));
    let r = tokio::time::timeout(Duration::from_millis(300), dev.shell("sleep 100")).await;
    assert!(r.is_err(), "the call was still waiting");
    for _ in 0..100 {
        if closed.load(Ordering::SeqCst) == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the fake phone never saw the socket close");
}

#[tokio::test]
async fn tracker_yields_snapshots_and_events_and_ends_when_the_server_dies() {
    let adb = fake(|mut s| async move {
        let _ = read_request(&mut s).await;
        let _ = s.write_all(b"OKAY").await;
        for snap in [
            "a\tdevice\n",
            "a\tdevice\nb\tunauthorized\n",
            "b\tdevice\n",
            "",
        ] {
            let _ = s.write_all(&block(snap)).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let mut t = adb.track().await.unwrap();
    let u = t.next().await.unwrap();
    assert!(matches!(&u.events[..], [DeviceEvent::Added(d)] if d.serial == "a"));
    let u = t.next().await.unwrap();
    assert_eq!(u.devices.len(), 2);
    assert!(matches!(&u.events[..], [DeviceEvent::Added(d)] if d.serial == "b"));
    let u = t.next().await.unwrap();
    assert_eq!(u.events.len(), 2);
    let u = t.next().await.unwrap();
    assert!(u.devices.is_empty());
    assert!(matches!(&u.events[..], [DeviceEvent::Removed(d)] if d.serial == "b"));
    let e = t.next().await.unwrap_err();
    assert!(matches!(e, AdbError::ConnectionLost { .. }), "{e:?}");
}

/// A fake sync service over an in-memory file table, v2 replies. Files named `cut*`
/// drop the connection mid-DATA; `deny*` are refused with FAIL, after which the
/// session ends as on a real adbd.
async fn sync_phone(files: BTreeMap<String, Vec<u8>>) -> (Adb, Arc<AtomicUsize>) {
    let sessions = Arc::new(AtomicUsize::new(0));
    let count = sessions.clone();
    let files = Arc::new(files);
    let adb = phone("shell_v2,stat_v2,ls_v2", move |svc, mut s| {
        let files = files.clone();
        let count = count.clone();
        async move {
            assert_eq!(svc, "sync:");
            count.fetch_add(1, Ordering::SeqCst);
            loop {
                let mut head = [0u8; 8];
                if s.read_exact(&mut head).await.is_err() {
                    return;
                }
                let n = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
                let mut path = vec![0u8; n];
                if s.read_exact(&mut path).await.is_err() {
                    return;
                }
                let path = String::from_utf8(path).unwrap();
                match &head[..4] {
                    b"STA2" | b"LST2" => {
                        let mut r = head[..4].to_vec();
                        let mut body = [0u8; 68];
                        match files.get(&path) {
                            Some(data) => {
                                body[20..24].copy_from_slice(&0o100644u32.to_le_bytes());
                                body[36..44].copy_from_slice(&(data.len() as u64).to_le_bytes());
                            }
                            None if path == "/d" => {
                                body[20..24].copy_from_slice(&0o040755u32.to_le_bytes());
                            }
                            None => body[0..4].copy_from_slice(&2u32.to_le_bytes()),
                        }
                        r.extend_from_slice(&body);
                        let _ = s.write_all(&r).await;
                    }
                    b"LIS2" => {
                        let mut r = Vec::new();
                        let prefix = format!("{}/", path.trim_end_matches('/'));
                        let mut names: Vec<(String, u32, u64)> =
                            vec![(".".into(), 0o040755, 0), ("..".into(), 0o040755, 0)];
                        let mut dirs = std::collections::BTreeSet::new();
                        for (p, d) in files.iter() {
                            if let Some(rest) = p.strip_prefix(&prefix) {
                                match rest.split_once('/') {
                                    Some((dir, _)) => {
                                        dirs.insert(dir.to_string());
                                    }
                                    None => names.push((rest.into(), 0o100644, d.len() as u64)),
                                }
                            }
                        }
                        names.extend(dirs.into_iter().map(|d| (d, 0o040755, 0)));
                        for (name, mode, size) in names {
                            r.extend_from_slice(b"DNT2");
                            let mut body = [0u8; 72];
                            body[20..24].copy_from_slice(&mode.to_le_bytes());
                            body[36..44].copy_from_slice(&size.to_le_bytes());
                            body[68..72].copy_from_slice(&(name.len() as u32).to_le_bytes());
                            r.extend_from_slice(&body);
                            r.extend_from_slice(name.as_bytes());
                        }
                        r.extend_from_slice(b"DONE");
                        r.extend_from_slice(&[0u8; 72]);
                        let _ = s.write_all(&r).await;
                    }
                    b"RECV" => {
                        let name = path.rsplit('/').next().unwrap_or("");
                        if name.starts_with("deny") {
                            let msg = b"open failed: Permission denied";
                            let mut r = b"FAIL".to_vec();
                            r.extend_from_slice(&(msg.len() as u32).to_le_bytes());
                            r.extend_from_slice(msg);
                            let _ = s.write_all(&r).await;
                            // adbd ends the service; the server reads what the client
                            // had already sent, so the client sees FIN, not a reset.
                            let _ = s.shutdown().await;
                            let mut sink = Vec::new();
                            let _ = s.read_to_end(&mut sink).await;
                            return;
                        }
                        let Some(data) = files.get(&path) else { return };
                        for (i, c) in data.chunks(65536).enumerate() {
                            let mut r = b"DATA".to_vec();
                            r.extend_from_slice(&(c.len() as u32).to_le_bytes());
                            if name.starts_with("cut") && i == 1 {
                                let _ = s.write_all(&r).await;
                                return;
                            }
                            r.extend_from_slice(c);
                            let _ = s.write_all(&r).await;
                        }
                        let _ = s.write_all(b"DONE\0\0\0\0").await;
                    }
                    _ => return,
                }
            }
        }
    })
    .await;
    (adb, sessions)
}

fn data(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn sync_stat_walk_and_recv_in_one_session() {
    let mut files = BTreeMap::new();
    files.insert("/d/a.bin".to_string(), data(1, 200_000));
    files.insert("/d/sub/b.txt".to_string(), b"bee".to_vec());
    files.insert("/d/sub/deeper/c".to_string(), Vec::new());
    let (adb, sessions) = sync_phone(files.clone()).await;
    let dev = adb.device(Selector::Serial("x".into()));
    let mut sync = dev.sync().await.unwrap();
    let st = sync.stat("/d/a.bin").await.unwrap().unwrap();
    assert!(st.is_file());
    assert_eq!(st.size, 200_000);
    assert!(sync.stat("/nope").await.unwrap().is_none());
    assert!(sync.lstat("/d").await.unwrap().unwrap().is_dir());
    let walk = sync.walk("/d/").await.unwrap();
    let paths: Vec<&str> = walk.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/d/a.bin",
            "/d/sub",
            "/d/sub/b.txt",
            "/d/sub/deeper",
            "/d/sub/deeper/c"
        ]
    );
    let mut out = Vec::new();
    let mut seen = 0u64;
    let n = sync
        .recv("/d/a.bin", &mut out, &mut |b| seen += b)
        .await
        .unwrap();
    assert_eq!(n, 200_000);
    assert_eq!(seen, 200_000);
    assert_eq!(out, files["/d/a.bin"]);
    assert_eq!(
        sessions.load(Ordering::SeqCst),
        1,
        "all of it over one session"
    );
}

#[tokio::test]
async fn a_pull_cut_mid_data_is_lost_never_a_short_file() {
    let mut files = BTreeMap::new();
    files.insert("/d/cut.bin".to_string(), data(2, 150_000));
    let (adb, _) = sync_phone(files).await;
    let mut sync = sync_x(&adb).await;
    let mut out = Vec::new();
    let e = sync
        .recv("/d/cut.bin", &mut out, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(e, AdbError::ConnectionLost { .. }), "{e:?}");
    assert_eq!(e.exit(), Exit::PhoneLost);
}

#[derive(Default)]
struct Collect {
    files: BTreeMap<usize, Vec<u8>>,
    ends: Vec<(usize, Result<u64, String>)>,
}

impl RecvSink for Collect {
    async fn data(&mut self, index: usize, chunk: &[u8]) -> std::io::Result<()> {
        self.files
            .entry(index)
            .or_default()
            .extend_from_slice(chunk);
        Ok(())
    }
    async fn end(&mut self, index: usize, result: Result<u64, AdbError>) -> std::io::Result<()> {
        self.ends.push((index, result.map_err(|e| e.to_string())));
        Ok(())
    }
}

#[tokio::test]
async fn recv_many_pipelines_and_carries_on_after_a_refused_file() {
    let mut files = BTreeMap::new();
    let mut paths = Vec::new();
    for i in 0..80 {
        let p = if i == 40 {
            "/d/deny.txt".to_string()
        } else {
            format!("/d/f{i:03}")
        };
        files.insert(p.clone(), data(i as u8, (i * 997) % 70_000));
        paths.push(p);
    }
    let (adb, sessions) = sync_phone(files.clone()).await;
    let mut sync = sync_x(&adb).await;
    let mut sink = Collect::default();
    sync.recv_many(&paths, &mut sink).await.unwrap();
    assert_eq!(sink.ends.len(), 80);
    for (i, (idx, r)) in sink.ends.iter().enumerate() {
        assert_eq!(*idx, i, "files end in order");
        if i == 40 {
            let msg = r.as_ref().unwrap_err();
            assert!(
                msg.contains("Permission denied") && msg.contains("deny.txt"),
                "{msg}"
            );
        } else {
            let want = &files[&paths[i]];
            assert_eq!(*r.as_ref().unwrap(), want.len() as u64);
            assert_eq!(
                sink.files.get(&i).map(Vec::as_slice).unwrap_or(&[]),
                &want[..]
            );
        }
    }
    // One session, plus one reopened after the refusal ended it.
    assert_eq!(sessions.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn recv_many_stops_with_the_error_when_the_phone_is_lost() {
    let mut files = BTreeMap::new();
    let paths = vec!["/d/a".to_string(), "/d/cut".to_string(), "/d/c".to_string()];
    files.insert(paths[0].clone(), data(1, 10));
    files.insert(paths[1].clone(), data(2, 100_000));
    files.insert(paths[2].clone(), data(3, 10));
    let (adb, _) = sync_phone(files).await;
    let mut sync = sync_x(&adb).await;
    let mut sink = Collect::default();
    let e = sync.recv_many(&paths, &mut sink).await.unwrap_err();
    assert!(e.is_lost(), "{e:?}");
    assert_eq!(sink.ends.len(), 1, "only the first file ended");
}

/// A fake server whose phone closes every service before accepting it (adb's FAIL
/// "closed") and is listed by `host:devices-l` as LISTING says.
async fn closing_phone(listing: &'static str) -> Adb {
    fake(move |mut s| async move {
        let Some(req) = read_request(&mut s).await else {
            return;
        };
        if req.ends_with(":features") {
            let _ = s.write_all(&okay_block("shell_v2")).await;
        } else if req == "host:devices-l" {
            let _ = s.write_all(&okay_block(listing)).await;
        } else if req.starts_with("host:transport") {
            let _ = s.write_all(b"OKAY").await;
            if read_request(&mut s).await.is_some() {
                let _ = s.write_all(&fail("closed")).await;
            }
        }
    })
    .await
}

#[tokio::test]
async fn a_service_closed_by_a_phone_that_left_adb_is_a_lost_phone() {
    // Unplugged mid-journey: the server says "closed", then lists the phone offline.
    let adb = closing_phone("x                      offline transport_id:7\n").await;
    let e = shell_on(&adb, "x", "ls").await.unwrap_err();
    assert!(matches!(e, AdbError::Offline { .. }), "{e:?}");
    assert_eq!(e.exit(), Exit::PhoneLost);
    // Or no longer lists it at all.
    let adb = closing_phone("").await;
    let e = shell_on(&adb, "x", "ls").await.unwrap_err();
    assert!(matches!(e, AdbError::ConnectionLost { .. }), "{e:?}");
    assert_eq!(e.exit(), Exit::PhoneLost);
}

#[tokio::test]
async fn a_service_refused_by_a_phone_still_online_stays_a_refusal() {
    let adb = closing_phone("x                      device transport_id:7\n").await;
    let e = shell_on(&adb, "x", "ls").await.unwrap_err();
    assert!(matches!(e, AdbError::ServerRefused { .. }), "{e:?}");
    assert_eq!(e.exit(), Exit::Other);
}
