//! The documented exit codes, and the one trait every error type implements to say
//! which of them it means. Only `main.rs` turns an [`Exit`] into a process exit code.

use std::fmt;

/// Process exit codes, as documented in the README. Every command uses these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    /// Everything asked for was done and verified.
    Ok,
    /// Anything not covered by a more specific code.
    Other,
    /// The command line was wrong (clap uses 2 as well).
    Usage,
    /// A precondition refused the operation; nothing on the phone was changed.
    Refused,
    /// A password, verification code or captcha answer was refused.
    Credentials,
    /// The phone was lost (unplugged, offline) or stopped answering within the timeout.
    PhoneLost,
}

impl Exit {
    /// The numeric process exit code.
    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::Other => 1,
            Exit::Usage => 2,
            Exit::Refused => 3,
            Exit::Credentials => 4,
            Exit::PhoneLost => 5,
        }
    }

    /// When several phones fail differently, the most specific code wins; `Other`
    /// only when nothing more specific happened.
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(e: Exit) -> u8 {
            match e {
                Exit::Ok => 0,
                Exit::Other => 1,
                Exit::Refused => 2,
                Exit::Credentials => 3,
                Exit::PhoneLost => 4,
                Exit::Usage => 5,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

/// Implemented by every error type of the library: which exit code it means.
pub trait HasExit {
    fn exit(&self) -> Exit;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_documented_ones() {
        let all = [
            (Exit::Ok, 0),
            (Exit::Other, 1),
            (Exit::Usage, 2),
            (Exit::Refused, 3),
            (Exit::Credentials, 4),
            (Exit::PhoneLost, 5),
        ];
        for (e, c) in all {
            assert_eq!(e.code(), c, "{e:?}");
        }
    }

    #[test]
    fn specific_failures_win_over_other() {
        assert_eq!(Exit::Other.worst(Exit::PhoneLost), Exit::PhoneLost);
        assert_eq!(Exit::PhoneLost.worst(Exit::Other), Exit::PhoneLost);
        assert_eq!(Exit::Ok.worst(Exit::Refused), Exit::Refused);
    }
}
