//! Async client of the adb server protocol (FACTS.md §1): server connection, device
//! listing and tracking, transport selection, shell v2 with exit codes, sync, reboot.
//! Every call has a timeout and is cancellable (dropping the future closes the socket).
//! Knows nothing about Xiaomi phones; only bytes, services and typed errors.
