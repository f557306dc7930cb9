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
