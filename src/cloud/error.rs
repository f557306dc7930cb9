//! What can go wrong talking to Xiaomi, each said as a sentence a shop operator can act
//! on, and the exit code it means. Errors name the step and the host, never a password,
//! hash, code or token (none of those is ever put into an error).

use crate::exit::{Exit, HasExit};

/// The step of a web flow an error happened in, so every message says where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    OpenSignIn,
    SendPassword,
    FetchCaptcha,
    OpenVerification,
    ListVerification,
    SendCode,
    CheckCode,
    FollowVerification,
    ServiceToken,
    DeletionPage,
    ConfirmDeletion,
    LockStatus,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::OpenSignIn => "opening the sign-in page",
            Step::SendPassword => "sending the password",
            Step::FetchCaptcha => "fetching the captcha image",
            Step::OpenVerification => "opening the identity verification",
            Step::ListVerification => "listing the ways to receive a verification code",
            Step::SendCode => "asking Xiaomi to send a verification code",
            Step::CheckCode => "checking the verification code",
            Step::FollowVerification => "finishing the identity verification",
            Step::ServiceToken => "getting the session token",
            Step::DeletionPage => "reading the account deletion page",
            Step::ConfirmDeletion => "confirming the account deletion",
            Step::LockStatus => "checking the activation lock",
        })
    }
}

/// A device the account still holds, as the deletion page shows it (IMEI masked).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoundDevice {
    pub model: String,
    pub imei: String,
    pub find_device: bool,
}

impl std::fmt::Display for BoundDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (IMEI {}, Find Device {})",
            self.model,
            self.imei,
            if self.find_device { "on" } else { "off" }
        )
    }
}

fn names(devices: &[BoundDevice]) -> String {
    devices
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a prompt for a code or captcha answer gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("no answer was typed (input ended)")]
    NoInput,
    #[error("cannot read the answer: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error(
        "{url}: plain http is accepted only for this computer (127.0.0.1, ::1, localhost); use https"
    )]
    InsecureUrl { url: String },
    #[error("{url} is not a usable web address: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{imei:?} is not an IMEI (15 digits, as *#06# shows it)")]
    BadImei { imei: String },
    #[error("could not reach {host} while {step}: {reason}. Check the network and try again")]
    Network {
        step: Step,
        host: String,
        reason: String,
    },
    #[error("{host} did not answer in time while {step}. Check the network and try again")]
    Timeout { step: Step, host: String },
    #[error("{host} answered HTTP {status} while {step}")]
    Http {
        step: Step,
        host: String,
        status: u16,
    },
    #[error("unexpected answer from {host} while {step}: {what}")]
    Protocol {
        step: Step,
        host: String,
        what: String,
    },
    #[error(
        "while {step} the server sent us to {url}, which is not a Xiaomi address we trust; stopped"
    )]
    OffHost { step: Step, url: String },
    #[error("Xiaomi says the password is wrong. Ask the owner to type it again")]
    WrongPassword,
    #[error("Xiaomi knows no account {user:?} (or it is already being deleted)")]
    UnknownUser { user: String },
    #[error(
        "the verification code was wrong ({attempts} tries). Ask the owner for the newest code"
    )]
    WrongCode { attempts: u32 },
    #[error("the captcha answer was wrong ({attempts} tries)")]
    WrongCaptcha { attempts: u32 },
    #[error(
        "Xiaomi has sent too many verification codes to this account today; try again tomorrow"
    )]
    TooManyCodes,
    #[error(
        "Xiaomi has restricted this account (code {code}); the owner must sign in at account.xiaomi.com or contact Xiaomi support"
    )]
    Restricted { code: i64 },
    #[error("the Xiaomi session ended while {step}; run the command again")]
    SessionExpired { step: Step },
    #[error(
        "Xiaomi offers no way to send a verification code (no phone number or email on the account)"
    )]
    NoVerificationChannel,
    #[error("no verification code or captcha answer: {0}")]
    Prompt(#[from] PromptError),
    #[error(
        "the confirmation {confirm:?} does not repeat the account id {user:?}; nothing was deleted"
    )]
    ConfirmMismatch { user: String, confirm: String },
    #[error("the account still has devices with Find Device on: {}. Sign each phone out of its Mi account first (mi-offboard signout), then run this again; nothing was deleted", names(.devices))]
    DevicesStillBound { devices: Vec<BoundDevice> },
    #[error("cannot save the captcha image to {path}: {source}")]
    CaptchaFile {
        path: String,
        source: std::io::Error,
    },
    #[error("Xiaomi answered code {code} while {step}: {desc}")]
    Server { step: Step, code: i64, desc: String },
}

impl HasExit for CloudError {
    fn exit(&self) -> Exit {
        match self {
            CloudError::InsecureUrl { .. }
            | CloudError::BadUrl { .. }
            | CloudError::BadImei { .. } => Exit::Usage,
            CloudError::WrongPassword
            | CloudError::UnknownUser { .. }
            | CloudError::WrongCode { .. }
            | CloudError::WrongCaptcha { .. }
            | CloudError::Prompt(_) => Exit::Credentials,
            CloudError::TooManyCodes
            | CloudError::Restricted { .. }
            | CloudError::ConfirmMismatch { .. }
            | CloudError::DevicesStillBound { .. } => Exit::Refused,
            CloudError::Network { .. }
            | CloudError::Timeout { .. }
            | CloudError::Http { .. }
            | CloudError::Protocol { .. }
            | CloudError::OffHost { .. }
            | CloudError::SessionExpired { .. }
            | CloudError::NoVerificationChannel
            | CloudError::CaptchaFile { .. }
            | CloudError::Server { .. } => Exit::Other,
        }
    }
}

/// Server-chosen text shown to the operator: printable, one line, bounded, so a hostile
/// answer cannot flood the terminal or smuggle escape sequences.
pub(crate) fn clean(text: &str) -> String {
    const MAX: usize = 160;
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX)
        .collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_documented_exits() {
        assert_eq!(CloudError::WrongPassword.exit(), Exit::Credentials);
        assert_eq!(
            CloudError::WrongCode { attempts: 3 }.exit(),
            Exit::Credentials
        );
        assert_eq!(CloudError::TooManyCodes.exit(), Exit::Refused);
        let bound = CloudError::DevicesStillBound {
            devices: vec![BoundDevice {
                model: "Redmi Note 10".into(),
                imei: "861234******5678".into(),
                find_device: true,
            }],
        };
        assert_eq!(bound.exit(), Exit::Refused);
        assert!(
            bound
                .to_string()
                .contains("Redmi Note 10 (IMEI 861234******5678")
        );
        let t = CloudError::Timeout {
            step: Step::SendPassword,
            host: "account.xiaomi.com".into(),
        };
        assert_eq!(t.exit(), Exit::Other);
        assert!(t.to_string().contains("sending the password"));
    }

    #[test]
    fn server_text_is_tamed() {
        let hostile = format!("a\x1b[2Jb\n{}", "x".repeat(1000));
        let c = clean(&hostile);
        assert!(!c.contains('\x1b') && !c.contains('\n'));
        assert!(c.chars().count() <= 161);
    }
}
