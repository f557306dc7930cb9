//! The simulated bench: Xiaomi (and other) phones that speak the device side of the real
//! ADB transport, so that Debian's `adb` server sits between the tool and the phone as it
//! would with a phone on USB; and Xiaomi's account web service.
//!
//! Split by concern: [`device`] is the seam between the transport and a phone;
//! [`adbd`] is the transport (packets, streams, services, sync); [`phone`] is the phone
//! (props, accounts, file tree, shell, screens); [`registry`] is the server-side truth
//! shared by phones and [`account`] (which accounts exist, which devices are bound and
//! locked). The tool's own modules never import anything from here.

pub mod account;
pub mod adbd;
pub mod device;
pub mod phone;
pub mod registry;

use std::io;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use phone::{Costs, Phone, PhoneFaults, PhoneSpec, TreeSpec};
pub use registry::Registry;

/// A phone listening on a loopback TCP port, served by [`adbd::serve`].
pub struct SimPhone {
    port: u16,
    phone: Arc<Phone>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl SimPhone {
    /// The TCP port `adb connect 127.0.0.1:PORT` reaches.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The phone's own serial (`ro.serialno`); adb names it `127.0.0.1:PORT`.
    pub fn serial(&self) -> String {
        device::Device::serial(&*self.phone)
    }

    /// The phone, for state and fault control.
    pub fn phone(&self) -> Arc<Phone> {
        self.phone.clone()
    }

    /// Stops serving and waits until the listener is closed.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }
}

/// Builds a phone from SPEC (its accounts registered in REGISTRY) and serves it on
/// 127.0.0.1:PORT (0 picks a free port).
pub async fn spawn_phone(spec: PhoneSpec, port: u16, registry: Registry) -> io::Result<SimPhone> {
    // Generating a big tree is blocking file I/O.
    let phone = tokio::task::spawn_blocking(move || Phone::new(spec, registry))
        .await
        .map_err(io::Error::other)??;
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    let shutdown = CancellationToken::new();
    let device: Arc<dyn device::Device> = phone.clone();
    let task = tokio::spawn(adbd::serve(listener, device, shutdown.clone()));
    tracing::info!(serial = %device::Device::serial(&*phone), port, profile = phone.profile().name, "phone up");
    Ok(SimPhone {
        port,
        phone,
        shutdown,
        task,
    })
}
