//! Xiaomi's account web service (account.xiaomi.com) and the Find Device status
//! endpoint (i.mi.com), simulated on one port: sign-in with captcha and two-factor
//! verification, the project's model of account deletion, and the anonymous
//! activation-lock check. Accounts and devices live in the shared [`Registry`], so a
//! phone signed out through its own screens is no longer bound here either.
//!
//! It records every request ([`Recorder`]) and delivers codes to an [`Outbox`]; it never
//! logs a password or code. Paths and fields are written out here independently of the
//! client's table, so a typo on either side fails the tests instead of cancelling out.

mod handlers;
mod record;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

pub use record::{Delivery, Outbox, Recorded, Recorder};

use super::registry::Registry;

/// How the simulated service behaves. Clone it before `serve` to keep handles on the
/// recorder and the outbox.
#[derive(Debug, Clone)]
pub struct AccountServiceConfig {
    pub recorder: Recorder,
    pub outbox: Outbox,
    /// Codes one account may be sent before the service answers 70022.
    pub code_limit: u32,
    /// Between a confirmed deletion and the moment it takes effect.
    pub deletion_delay: Duration,
    /// Every verification code is this one instead of a random one (demos and CLI tests
    /// that must type the code before it is sent).
    pub fixed_code: Option<String>,
    /// Accounts Xiaomi has restricted: their sign-in answers 20023.
    pub restricted: Vec<String>,
}

impl Default for AccountServiceConfig {
    fn default() -> Self {
        AccountServiceConfig {
            recorder: Recorder::default(),
            outbox: Outbox::default(),
            code_limit: 5,
            deletion_delay: Duration::from_secs(30 * 24 * 3600),
            fixed_code: None,
            restricted: Vec::new(),
        }
    }
}

/// Serves the account service and the Find Device status on LISTENER until SHUTDOWN.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Registry,
    config: AccountServiceConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let base = format!("http://{}", listener.local_addr()?);
    let svc = Svc {
        registry,
        config,
        base,
        state: Arc::default(),
        seed: std::collections::hash_map::RandomState::new(),
    };
    let app = router(svc);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

fn router(svc: Svc) -> Router {
    use handlers::*;
    Router::new()
        .route("/pass/serviceLogin", get(service_login))
        .route("/pass/serviceLoginAuth2", post(service_login_auth2))
        .route("/pass/getCode", get(captcha_image))
        .route("/sts", get(sts))
        .route("/identity/authStart", get(auth_start))
        .route("/identity/list", get(identity_list))
        .route("/identity/auth/sendPhoneTicket", post(send_phone))
        .route("/identity/auth/sendEmailTicket", post(send_email))
        .route("/identity/auth/verifyPhone", post(verify_phone))
        .route("/identity/auth/verifyEmail", post(verify_email))
        .route("/identity/done", get(identity_done))
        .route("/identity/finished", get(identity_finished))
        .route("/pass/del", get(deletion_page))
        .route("/pass/del/confirm", post(deletion_confirm))
        .route("/support/anonymous/status", get(lock_status))
        .layer(axum::middleware::from_fn_with_state(
            svc.clone(),
            handlers::record,
        ))
        .with_state(svc)
}

#[derive(Clone)]
struct Svc {
    registry: Registry,
    config: AccountServiceConfig,
    /// Absolute base for `location`s, as the real service sends absolute URLs.
    base: String,
    state: Arc<Mutex<State>>,
    /// Random per instance, so tokens differ between runs.
    seed: std::collections::hash_map::RandomState,
}

/// What the identity verification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Login,
    Delete,
}

#[derive(Debug, Clone)]
struct Context {
    user_id: String,
    purpose: Purpose,
    verified: bool,
}

#[derive(Debug, Clone)]
struct IdentitySession {
    context: String,
    /// (flag, code) of the code sent last.
    pending: Option<(i64, String)>,
}

#[derive(Debug, Clone)]
struct StsTicket {
    user_id: String,
    nonce: String,
    ssecurity: String,
}

#[derive(Debug, Default)]
struct State {
    counter: u64,
    signs: Vec<String>,
    pass_tokens: HashMap<String, String>,
    tickets: HashMap<String, StsTicket>,
    service_tokens: HashMap<String, String>,
    captchas: HashMap<String, String>,
    contexts: HashMap<String, Context>,
    identity: HashMap<String, IdentitySession>,
    codes_sent: HashMap<String, u32>,
}

impl Svc {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    /// A fresh random token (hex); unique within the instance.
    fn token(&self) -> String {
        let n = self.with(|s| {
            s.counter += 1;
            s.counter
        });
        let mut out = String::new();
        for round in 0..2u64 {
            let mut h = self.seed.build_hasher();
            h.write_u64(n);
            h.write_u64(round);
            out.push_str(&format!("{:016x}", h.finish()));
        }
        out
    }

    fn code(&self) -> String {
        if let Some(fixed) = &self.config.fixed_code {
            return fixed.clone();
        }
        let t = self.token();
        let n = u64::from_str_radix(&t[..12], 16).unwrap_or(0);
        format!("{:06}", n % 1_000_000)
    }
}
