//! Client of the Xiaomi account web service, as a person uses it in a browser: sign in
//! (with two-factor verification and captcha), delete the account, and the anonymous
//! activation-lock check of the Find Device host. Knows nothing about adb or terminals:
//! verification codes and captcha answers come through [`Prompter`], which the face
//! implements.
//!
//! Layout: [`protocol`] is the table of every path, field and code (the deletion model is
//! a guess kept there so it can be corrected from a real browser session); `http` is
//! transport (timeouts, bounded answers, trusted redirects, safe retries); `login`,
//! `identity`, `deletion` and `lock` are the flows.
//!
//! Secrets: the password stays a [`SecretString`] and is hashed (MD5, as Xiaomi wants)
//! only while building the one request that carries it; codes are exposed only into the
//! one form that sends them. No secret, hash or token is in any error or `Debug`.

mod deletion;
mod error;
mod http;
mod identity;
mod lock;
mod login;
pub mod protocol;

use std::future::Future;
use std::path::{Path, PathBuf};

pub use deletion::{DeletionPage, Scheduled};
pub use error::{BoundDevice, CloudError, PromptError, Step};
pub use http::{DEFAULT_ACCOUNT_URL, DEFAULT_FIND_URL, Endpoints, HttpOptions, base_url};
pub use lock::{LockStatus, normalize_imei};
pub use secrecy::SecretString;

/// Where Xiaomi sends a verification code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Channel {
    /// SMS to the account's phone number (identity option 4).
    Phone,
    /// Email to the account's address (identity option 8).
    Email,
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Channel::Phone => "SMS",
            Channel::Email => "email",
        })
    }
}

/// Why a code is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    Deletion,
}

/// What the prompt for a verification code should tell the person.
#[derive(Debug, Clone)]
pub struct CodeAsk {
    pub channel: Channel,
    /// Masked phone number or address as Xiaomi shows it ("+86 ***5678").
    pub destination: Option<String>,
    pub purpose: Purpose,
    /// 1 for the first try; more after a wrong code.
    pub attempt: u32,
}

/// The face's side of the flows: it asks a person (or reads standard input).
pub trait Prompter: Sync {
    /// The verification code Xiaomi just sent.
    fn code(&self, ask: &CodeAsk)
    -> impl Future<Output = Result<SecretString, PromptError>> + Send;
    /// The characters shown in the captcha image saved at IMAGE.
    fn captcha(
        &self,
        image: &Path,
        attempt: u32,
    ) -> impl Future<Output = Result<SecretString, PromptError>> + Send;
}

/// Limits and choices of one client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub http: HttpOptions,
    /// Where captcha images are saved for the operator to open.
    pub captcha_dir: PathBuf,
    /// Preferred way to receive codes when Xiaomi offers both.
    pub prefer: Channel,
    /// Tries for a verification code before giving up (exit 4).
    pub code_tries: u32,
    /// Tries for a captcha before giving up (exit 4).
    pub captcha_tries: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            http: HttpOptions::default(),
            captcha_dir: std::env::temp_dir(),
            prefer: Channel::Phone,
            code_tries: 3,
            captcha_tries: 3,
        }
    }
}

/// A not-yet-signed-in client. Signing in consumes it and yields a [`Session`] that
/// carries the cookies.
#[derive(Debug)]
pub struct Client {
    http: http::Http,
    options: ClientOptions,
}

impl Client {
    pub fn new(endpoints: Endpoints, options: ClientOptions) -> Result<Client, CloudError> {
        Ok(Client {
            http: http::Http::new(endpoints, options.http.clone())?,
            options,
        })
    }

    /// Signs in as USER (account id, email or phone number) with PASSWORD, asking
    /// PROMPTER for a captcha answer or a verification code when Xiaomi wants one.
    pub async fn sign_in<P: Prompter>(
        self,
        user: &str,
        password: &SecretString,
        prompter: &P,
    ) -> Result<Session, CloudError> {
        let user_id = login::sign_in(&self.http, &self.options, user, password, prompter).await?;
        Ok(Session {
            http: self.http,
            options: self.options,
            login: user.to_string(),
            user_id,
        })
    }

    /// The anonymous activation-lock check of IMEI; needs no sign-in.
    pub async fn lock_status(&self, imei: &str) -> Result<LockStatus, CloudError> {
        lock::status(&self.http, imei).await
    }
}

/// A signed-in browser session (cookies live inside; `Debug` shows none of them).
pub struct Session {
    http: http::Http,
    options: ClientOptions,
    /// What the operator typed to sign in (id, email or phone).
    login: String,
    /// The numeric account id Xiaomi answered.
    user_id: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user_id", &self.user_id)
            .field("endpoints", &self.http.endpoints)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The numeric account id this session belongs to.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Step 1 of deletion: the deletion page, with the devices the account still holds.
    pub async fn deletion_page(&self) -> Result<DeletionPage, CloudError> {
        deletion::page(&self.http).await
    }

    /// Steps 2 and 3 of deletion. Refuses (exit 3) before sending anything when CONFIRM
    /// does not repeat the account (as typed to sign in, or its numeric id), or when
    /// PAGE shows a device with Find Device still on.
    pub async fn delete_account<P: Prompter>(
        &self,
        page: &DeletionPage,
        confirm: &str,
        prompter: &P,
    ) -> Result<Scheduled, CloudError> {
        let confirm = confirm.trim();
        if confirm != self.login && confirm != self.user_id {
            return Err(CloudError::ConfirmMismatch {
                user: self.login.clone(),
                confirm: confirm.to_string(),
            });
        }
        deletion::delete(&self.http, &self.options, &self.user_id, page, prompter).await
    }
}

/// The typed-confirmation interlock, checked before anything is asked or sent: CONFIRM
/// must repeat USER exactly (surrounding spaces aside).
pub fn check_confirmation(user: &str, confirm: &str) -> Result<(), CloudError> {
    if user.trim() == confirm.trim() && !user.trim().is_empty() {
        Ok(())
    } else {
        Err(CloudError::ConfirmMismatch {
            user: user.to_string(),
            confirm: confirm.to_string(),
        })
    }
}

/// Reads an answer field that may be a string or a number (Xiaomi sends ids both ways),
/// from the body first and then from the `extension-pragma` header.
fn field(
    body: &serde_json::Value,
    pragma: Option<&serde_json::Value>,
    name: &str,
) -> Option<String> {
    [Some(body), pragma]
        .into_iter()
        .flatten()
        .find_map(|v| match v.get(name)? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// The answer code; its absence is a protocol error naming the step.
fn code_of(body: &serde_json::Value, step: Step, host: &str) -> Result<i64, CloudError> {
    body.get(protocol::F_CODE)
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| missing(step, host, protocol::F_CODE))
}

fn missing(step: Step, host: &str, name: &str) -> CloudError {
    CloudError::Protocol {
        step,
        host: host.to_string(),
        what: format!("the field {name:?} is missing"),
    }
}

/// Codes that mean the same thing at every step; anything else is reported with
/// Xiaomi's own description, cleaned.
fn common_failure(step: Step, code: i64, body: &serde_json::Value) -> CloudError {
    use protocol::codes;
    match code {
        codes::TOO_MANY_CODES => CloudError::TooManyCodes,
        codes::NO_SESSION => CloudError::SessionExpired { step },
        c if codes::RESTRICTED.contains(&c) => CloudError::Restricted { code: c },
        _ => {
            let desc = field(body, None, protocol::F_DESC)
                .or_else(|| field(body, None, protocol::F_DESCRIPTION))
                .unwrap_or_else(|| "no description".into());
            CloudError::Server {
                step,
                code,
                desc: error::clean(&desc),
            }
        }
    }
}
