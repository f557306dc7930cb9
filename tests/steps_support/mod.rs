//! The answers scripted phones give for the steps that talk to Xiaomi's cloud, shared by
//! the tests that drive the journey with fake [`Steps`](mi_offboard::flow::journey::Steps)
//! instead of a simulated phone. Knows nothing of adb or the simulator.

use mi_offboard::report::{CloudAccount, LockStatus, Timestamp};

/// Xiaomi accepted the deletion of `user`'s account, with no date given.
pub fn deletion_scheduled(user: &str) -> CloudAccount {
    CloudAccount {
        user_id: user.to_owned(),
        status: "scheduled".into(),
        delete_at: None,
    }
}

/// The anonymous activation-lock check, answered now: not locked.
pub fn not_locked() -> LockStatus {
    LockStatus {
        checked_at: Timestamp::now(),
        locked: false,
        source: "sim".into(),
    }
}
