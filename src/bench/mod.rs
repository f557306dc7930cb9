//! Many phones: watch the adb server, one flow task per phone, shared progress.
