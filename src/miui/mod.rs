//! What a Xiaomi phone is, as read over adb: props → identity, OS family and region,
//! accounts, lock state, blockers to a hand-over. Parses device output (pure functions,
//! tested on captured output) and never prints.

pub mod ui;
