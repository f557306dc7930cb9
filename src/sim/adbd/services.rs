//! The services a host can open on a stream: `shell:` (v1), `shell,v2,…:` (shell
//! protocol v2 with separate stderr and an exit code), `exec:`, `sync:`, `reboot:…`, and
//! the answers a production build gives to `root:`/`unroot:`. Anything else is refused.
//!
//! Frames a command's input and output; what the command does is [`Device::shell`]'s
//! business.
//!
//! [`Device::shell`]: crate::sim::device::Device::shell

use std::sync::Arc;

use tokio::sync::mpsc;

use super::conn::ConnCtx;
use super::stream::{ByteReader, Closed, StreamInput, StreamOutput};
use crate::sim::device::{Link, ShellOutput};

/// Shell protocol v2 packet ids (FACTS.md §1).
pub const ID_STDIN: u8 = 0;
pub const ID_STDOUT: u8 = 1;
pub const ID_STDERR: u8 = 2;
pub const ID_EXIT: u8 = 3;
pub const ID_CLOSE_STDIN: u8 = 4;
pub const ID_WINDOW_SIZE: u8 = 5;

/// Stdin chunks a command may have waiting before the host is slowed down.
const STDIN_QUEUE: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Service {
    Shell {
        /// Shell protocol v2 (`shell,v2,…:`), else the v1 raw byte stream.
        v2: bool,
        /// A terminal: stderr joins stdout and line ends become CRLF, as a pty does.
        pty: bool,
        command: String,
    },
    Exec(String),
    Sync,
    Reboot(String),
    /// A service adbd answers with a fixed text and closes (`root:` on a user build).
    Text(&'static str),
}

/// What adbd would run for a service name; `None` means the OPEN is refused (CLSE).
pub fn parse(name: &str) -> Option<Service> {
    if let Some(rest) = name.strip_prefix("shell") {
        let (opts, command) = match rest.split_once(':') {
            Some((o, c)) if o.is_empty() || o.starts_with(',') => (o, c),
            _ => return None,
        };
        let mut v2 = false;
        let mut kind = None;
        // adbd ignores options it does not know (TERM=…, future ones).
        for opt in opts.split(',') {
            match opt {
                "v2" => v2 = true,
                "raw" => kind = Some(false),
                "pty" => kind = Some(true),
                _ => {}
            }
        }
        // Without an explicit type, adbd gives an interactive shell a pty.
        let pty = kind.unwrap_or(command.is_empty());
        return Some(Service::Shell {
            v2,
            pty,
            command: command.to_string(),
        });
    }
    if let Some(cmd) = name.strip_prefix("exec:") {
        return Some(Service::Exec(cmd.to_string()));
    }
    if name == "sync:" {
        return Some(Service::Sync);
    }
    if let Some(target) = name.strip_prefix("reboot:") {
        return Some(Service::Reboot(target.to_string()));
    }
    match name {
        "root:" => Some(Service::Text(
            "adbd cannot run as root in production builds\n",
        )),
        "unroot:" => Some(Service::Text("adbd not running as root\n")),
        _ => None,
    }
}

/// Runs a service until it is done; the caller then closes the stream.
pub async fn run(
    service: Service,
    ctx: Arc<ConnCtx>,
    input: StreamInput,
    mut output: StreamOutput,
) {
    let _ = match service {
        Service::Shell { v2, pty, command } if command.is_empty() => {
            interactive(&ctx, ByteReader::new(input), &mut output, v2, pty).await
        }
        Service::Shell { v2, pty, command } => {
            one_command(&ctx, input, &mut output, &command, v2, pty).await
        }
        Service::Exec(command) => {
            one_command(&ctx, input, &mut output, &command, false, false).await
        }
        Service::Sync => super::sync::serve(&ctx, ByteReader::new(input), &mut output).await,
        Service::Reboot(target) => reboot(&ctx, &target, &mut output).await,
        Service::Text(text) => text_reply(&mut output, text).await,
    };
}

async fn text_reply(output: &mut StreamOutput, text: &str) -> Result<(), Closed> {
    output.write(text.as_bytes()).await?;
    output.finish().await
}

async fn reboot(ctx: &ConnCtx, target: &str, output: &mut StreamOutput) -> Result<(), Closed> {
    // adbd acknowledges the OPEN before the phone goes down; make sure the host has it,
    // or `adb reboot` reports "error: closed".
    output.on_the_wire().await?;
    ctx.device.reboot(target);
    if *ctx.device.link().borrow() != Link::Up {
        // The phone went away: the connection closes under the host, as adbd dies with
        // its phone, and `adb reboot` sees the end of its stream that way.
        std::future::pending::<()>().await;
    }
    Ok(())
}

/// Reads the host's side of a shell stream and feeds the command's stdin: raw bytes for
/// v1, stdin packets for v2 until close-stdin. Keeps acknowledging (and dropping) input
/// once the command stops reading, so the host never blocks on a finished command.
async fn pump_stdin(input: StreamInput, stdin: mpsc::Sender<Vec<u8>>, v2: bool) {
    let mut r = ByteReader::new(input);
    let mut stdin = Some(stdin);
    if !v2 {
        while let Ok(bytes) = r.read_some(usize::MAX).await {
            if let Some(tx) = &stdin {
                if tx.send(bytes.to_vec()).await.is_err() {
                    stdin = None;
                }
            }
        }
        return;
    }
    while let Ok((id, data)) = read_v2_packet(&mut r).await {
        match id {
            ID_STDIN => {
                if let Some(tx) = &stdin {
                    if tx.send(data).await.is_err() {
                        stdin = None;
                    }
                }
            }
            ID_CLOSE_STDIN => stdin = None,
            // Output is not laid out for a terminal, so a resize changes nothing.
            ID_WINDOW_SIZE => {}
            // Ids a newer host may send are ignored, as adbd ignores them.
            _ => {}
        }
    }
}

/// One shell v2 packet: id byte, u32 LE length, data.
pub async fn read_v2_packet<S: super::stream::ChunkSource>(
    r: &mut ByteReader<S>,
) -> Result<(u8, Vec<u8>), super::stream::Eof> {
    let id = r.read_u8().await?;
    let len = r.read_u32().await? as usize;
    // adb never sends a packet larger than its payload size; a bigger claim is a peer
    // not speaking the protocol, and the stream ends rather than allocating it.
    if len > super::packet::MAX_PAYLOAD {
        return Err(super::stream::Eof);
    }
    let data = r.read_exact(len).await?;
    Ok((id, data))
}

/// Runs `command` with stdin fed concurrently from the stream, then sends its output.
async fn one_command(
    ctx: &ConnCtx,
    input: StreamInput,
    output: &mut StreamOutput,
    command: &str,
    v2: bool,
    pty: bool,
) -> Result<(), Closed> {
    let (tx, rx) = mpsc::channel(STDIN_QUEUE);
    let pump = pump_stdin(input, tx, v2);
    let run = ctx.device.shell(command, rx);
    tokio::pin!(pump, run);
    let mut pump_done = false;
    let out = loop {
        tokio::select! {
            out = &mut run => break out,
            _ = &mut pump, if !pump_done => pump_done = true,
        }
    };
    send_output(output, &out, v2, pty).await?;
    if v2 {
        output
            .write_separate(&v2_packet(ID_EXIT, &[out.code]))
            .await?;
    }
    output.finish().await
}

/// A command's output as the service frames it.
async fn send_output(
    output: &mut StreamOutput,
    out: &ShellOutput,
    v2: bool,
    pty: bool,
) -> Result<(), Closed> {
    let (stdout, stderr) = if pty {
        let mut merged = crlf(&out.stdout);
        merged.extend_from_slice(&crlf(&out.stderr));
        (merged, Vec::new())
    } else {
        (out.stdout.clone(), out.stderr.clone())
    };
    if !v2 {
        output.write(&stdout).await?;
        output.write(&stderr).await?;
        return output.flush().await;
    }
    let room = output.max_payload() - 5;
    for (id, bytes) in [(ID_STDOUT, &stdout), (ID_STDERR, &stderr)] {
        for piece in bytes.chunks(room) {
            output.write_separate(&v2_packet(id, piece)).await?;
        }
    }
    Ok(())
}

pub fn v2_packet(id: u8, data: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(5 + data.len());
    p.push(id);
    p.extend_from_slice(&(data.len() as u32).to_le_bytes());
    p.extend_from_slice(data);
    p
}

/// What a terminal's output processing (onlcr) does to a bare LF.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    let mut prev = 0u8;
    for &b in bytes {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    out
}

/// `adb shell` with no command: a minimal line-at-a-time shell. Each line runs as its own
/// command (no variables or cwd carry over); `exit [N]` or the end of input ends it.
async fn interactive(
    ctx: &ConnCtx,
    mut r: ByteReader<StreamInput>,
    output: &mut StreamOutput,
    v2: bool,
    pty: bool,
) -> Result<(), Closed> {
    let prompt = format!(
        "{}:/ $ ",
        banner_field(&ctx.device.banner(), "ro.product.device")
    );
    let say = |bytes: &[u8]| {
        if v2 {
            v2_packet(ID_STDOUT, bytes)
        } else {
            bytes.to_vec()
        }
    };
    if pty {
        output.write_separate(&say(prompt.as_bytes())).await?;
    }
    let mut line = Vec::new();
    let mut code = 0u8;
    loop {
        let data = if v2 {
            match read_v2_packet(&mut r).await {
                Ok((ID_STDIN, d)) => d,
                Ok((ID_CLOSE_STDIN, _)) | Err(_) => break,
                Ok(_) => continue,
            }
        } else {
            match r.read_some(usize::MAX).await {
                Ok(d) => d.to_vec(),
                Err(_) => break,
            }
        };
        if pty {
            // A terminal echoes what is typed.
            output.write_separate(&say(&crlf(&data))).await?;
        }
        for &b in &data {
            if b != b'\n' && b != b'\r' {
                line.push(b);
                continue;
            }
            let cmd = String::from_utf8_lossy(&std::mem::take(&mut line)).into_owned();
            if cmd.trim().is_empty() {
                continue;
            }
            let (_tx, rx) = mpsc::channel(1);
            let out = ctx.device.shell(&cmd, rx).await;
            code = out.code;
            send_output(output, &out, v2, pty).await?;
            let first = cmd.split_whitespace().next();
            if first == Some("exit") {
                return finish_interactive(output, v2, code).await;
            }
            if pty {
                output.write_separate(&say(prompt.as_bytes())).await?;
            }
        }
    }
    finish_interactive(output, v2, code).await
}

async fn finish_interactive(output: &mut StreamOutput, v2: bool, code: u8) -> Result<(), Closed> {
    if v2 {
        output.write_separate(&v2_packet(ID_EXIT, &[code])).await?;
    }
    output.finish().await
}

/// One `key=value` of the CNXN banner (`device::k=v;k=v;features=…`).
fn banner_field(banner: &str, key: &str) -> String {
    let props = banner.split_once("::").map_or(banner, |(_, p)| p);
    props
        .split(';')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map_or_else(|| "android".to_string(), |(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    #[test]
    fn service_names_adb_29_sends_are_understood() {
        let sh = |v2, pty, c: &str| {
            Some(Service::Shell {
                v2,
                pty,
                command: c.to_string(),
            })
        };
        assert_eq!(parse("shell:ls -l"), sh(false, false, "ls -l"));
        assert_eq!(parse("shell:"), sh(false, true, ""));
        assert_eq!(
            parse("shell,v2,TERM=xterm-256color,raw:getprop a:b"),
            sh(true, false, "getprop a:b")
        );
        assert_eq!(parse("shell,v2,pty:"), sh(true, true, ""));
        assert_eq!(parse("shell,v2,TERM=dumb,pty:top"), sh(true, true, "top"));
        assert_eq!(parse("shell,v2:id"), sh(true, false, "id"));
        assert_eq!(parse("exec:cat /x"), Some(Service::Exec("cat /x".into())));
        assert_eq!(parse("sync:"), Some(Service::Sync));
        assert_eq!(parse("reboot:"), Some(Service::Reboot(String::new())));
        assert_eq!(
            parse("reboot:recovery"),
            Some(Service::Reboot("recovery".into()))
        );
    }

    #[test]
    fn unknown_services_are_refused() {
        for name in [
            "shellx:ls",
            "shell",
            "framebuffer:",
            "jdwp:1",
            "",
            "sync:x",
            "abb:pm",
        ] {
            assert_eq!(parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn crlf_translates_bare_line_feeds_only() {
        assert_eq!(crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
    }

    #[test]
    fn banner_fields_are_found() {
        let b = "device::ro.product.name=fuxi;ro.product.model=2211133G;ro.product.device=fuxi;features=shell_v2";
        assert_eq!(banner_field(b, "ro.product.device"), "fuxi");
        assert_eq!(banner_field("garbage", "ro.product.device"), "android");
    }

    #[tokio::test]
    async fn v2_packets_parse_across_chunk_boundaries() {
        let mut wire = v2_packet(ID_STDIN, b"hello");
        wire.extend(v2_packet(ID_WINDOW_SIZE, b"24x80,0x0\0"));
        wire.extend(v2_packet(ID_CLOSE_STDIN, b""));
        for piece in [1, 2, 5, 7, wire.len()] {
            let chunks: VecDeque<Vec<u8>> = wire.chunks(piece).map(<[u8]>::to_vec).collect();
            let mut r = ByteReader::new(chunks);
            assert_eq!(
                read_v2_packet(&mut r).await.unwrap(),
                (ID_STDIN, b"hello".to_vec())
            );
            assert_eq!(read_v2_packet(&mut r).await.unwrap().0, ID_WINDOW_SIZE);
            assert_eq!(
                read_v2_packet(&mut r).await.unwrap(),
                (ID_CLOSE_STDIN, vec![])
            );
            assert!(read_v2_packet(&mut r).await.is_err());
        }
    }
}
