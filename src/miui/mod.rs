//! What a Xiaomi phone is, as read over adb: props → identity, OS family and region,
//! accounts, lock state, blockers to a hand-over. Parses device output (pure functions,
//! tested on captured output) and never prints. Knows adb only through `crate::adb`.

pub mod accounts;
pub mod identity;
pub mod imei;
pub mod inspect;
pub mod policy;
pub mod props;
pub mod ui;

pub use identity::{Identity, OsFamily, OsInfo, identity};
pub use inspect::{Blocker, BlockerCode, InspectError, Inspection, inspect};
pub use props::{Props, parse_getprop};
