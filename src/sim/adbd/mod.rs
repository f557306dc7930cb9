//! Device side of the ADB transport: what adbd on a phone does, so that Debian's `adb`
//! server (and clients that talk to a device directly) cannot tell a simulated phone
//! from a real one (FACTS.md §1–2, docs/sim-transport.md).
//!
//! [`packet`] frames bytes, `conn` runs one TCP connection (handshake, stream table,
//! link and faults), [`auth`] checks hosts' keys and signatures, [`stream`] gives each
//! service its bytes in and out, `services` runs shell/exec/reboot, [`sync`] the file-transfer service. What a command *does* is
//! the phone's business, reached only through [`Device`]; this module never looks at
//! the phone's state.

pub mod auth;
mod conn;
pub mod link;
pub mod packet;
mod services;
pub mod stream;
pub mod sync;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::device::{Device, Link};

/// Serves one phone on `listener` until `shutdown` is cancelled: each accepted TCP
/// connection is an ADB transport (CNXN, streams, services) to `device`.
pub async fn serve(listener: TcpListener, device: Arc<dyn Device>, shutdown: CancellationToken) {
    let link = device.link();
    let serial = device.serial();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(done) = conns.join_next(), if !conns.is_empty() => {
                if let Err(e) = done {
                    if e.is_panic() {
                        tracing::warn!(serial, "adb connection task panicked: {e}");
                    }
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let state = *link.borrow();
                    if state != Link::Up {
                        // Unplugged, rebooting or reset: the host sees the connection
                        // close before any CNXN, as with an unreachable adbd.
                        tracing::debug!(serial, %peer, ?state, "refusing adb connection: link not up");
                        drop(socket);
                        continue;
                    }
                    let _ = socket.set_nodelay(true);
                    conns.spawn(conn::run(socket, peer, device.clone(), shutdown.child_token()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(serial, "accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }
    conns.shutdown().await;
}
