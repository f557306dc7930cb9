//! Device side of the ADB transport (being written: replaced by the transport's own
//! module tree). The signature of [`serve`] is the contract the rest of `sim` builds on.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::device::Device;

/// Serves one phone on `listener` until `shutdown` is cancelled: each accepted TCP
/// connection is an ADB transport (CNXN, streams, services) to `device`.
pub async fn serve(listener: TcpListener, device: Arc<dyn Device>, shutdown: CancellationToken) {
    let _ = (listener, device);
    shutdown.cancelled().await;
}
