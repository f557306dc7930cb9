//! Shared by the cloud tests: the simulated account service on 127.0.0.1:0 with its own
//! registry, and a prompter that reads codes from the service's outbox as the owner
//! would read them from their phone.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mi_offboard::cloud::{
    Channel, Client, ClientOptions, CodeAsk, Endpoints, HttpOptions, PromptError, Prompter,
    Purpose, SecretString,
};
use mi_offboard::sim::account::{AccountServiceConfig, Outbox, Recorder, serve};
use mi_offboard::sim::registry::{MiAccount, Registry};
use tokio_util::sync::CancellationToken;

pub const USER: &str = "1234567890";
pub const PASSWORD: &str = "s3cret pass+word&x";
pub const IMEI: &str = "861234567895678";

pub struct Service {
    pub url: String,
    pub registry: Registry,
    pub recorder: Recorder,
    pub outbox: Outbox,
    stop: CancellationToken,
    pub captcha_dir: tempfile::TempDir,
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub fn account(two_factor: bool, captcha: bool) -> MiAccount {
    MiAccount {
        user_id: USER.into(),
        password: PASSWORD.into(),
        email: Some("owner@example.com".into()),
        phone: Some("+8613800005678".into()),
        two_factor,
        captcha,
        deletion_scheduled_at: None,
    }
}

impl Service {
    pub async fn start(account: MiAccount) -> Service {
        Service::start_with(account, AccountServiceConfig::default()).await
    }

    pub async fn start_with(account: MiAccount, config: AccountServiceConfig) -> Service {
        let registry = Registry::new();
        registry.add_account(account);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let (recorder, outbox) = (config.recorder.clone(), config.outbox.clone());
        tokio::spawn(serve(listener, registry.clone(), config, stop.clone()));
        Service {
            url,
            registry,
            recorder,
            outbox,
            stop,
            captcha_dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn options(&self) -> ClientOptions {
        ClientOptions {
            http: HttpOptions {
                timeout: Duration::from_secs(10),
                backoff: Duration::from_millis(10),
                ..HttpOptions::default()
            },
            captcha_dir: self.captcha_dir.path().to_path_buf(),
            ..ClientOptions::default()
        }
    }

    pub fn client_with(&self, options: ClientOptions) -> Client {
        Client::new(Endpoints::new(&self.url, &self.url).unwrap(), options).unwrap()
    }

    pub fn client(&self) -> Client {
        self.client_with(self.options())
    }

    /// The test fails if the plain password reached the service in any form.
    pub fn assert_password_never_sent(&self) {
        assert!(!self.recorder.requests().is_empty());
        assert!(!self.recorder.saw(PASSWORD), "plain password was sent");
        assert!(
            !self.recorder.saw("s3cret"),
            "part of the password was sent"
        );
        assert!(self.recorder.violations().is_empty());
    }
}

/// One code prompt as the prompter saw it: channel, purpose, attempt, masked destination.
pub type Asked = (Channel, Purpose, u32, Option<String>);

/// Answers prompts from the service's outbox; records what it was asked.
pub struct Inbox {
    pub outbox: Outbox,
    /// Give this code instead of the real one (wrong-code tests).
    pub wrong: Option<String>,
    pub asked: Mutex<Vec<Asked>>,
    pub captchas: Mutex<Vec<(PathBuf, bool, String)>>,
    /// Runs when a code is asked for (e.g. a phone signs in again meanwhile).
    pub on_code: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Inbox {
    pub fn new(service: &Service) -> Inbox {
        Inbox {
            outbox: service.outbox.clone(),
            wrong: None,
            asked: Mutex::default(),
            captchas: Mutex::default(),
            on_code: None,
        }
    }

    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }
}

impl Prompter for Inbox {
    async fn code(&self, ask: &CodeAsk) -> Result<SecretString, PromptError> {
        self.asked.lock().unwrap().push((
            ask.channel,
            ask.purpose,
            ask.attempt,
            ask.destination.clone(),
        ));
        if let Some(f) = &self.on_code {
            f();
        }
        let code = match &self.wrong {
            Some(w) => w.clone(),
            None => self.outbox.last_code(USER).ok_or(PromptError::NoInput)?,
        };
        Ok(SecretString::from(code))
    }

    async fn captcha(
        &self,
        image: &std::path::Path,
        _attempt: u32,
    ) -> Result<SecretString, PromptError> {
        let content = std::fs::read_to_string(image).unwrap_or_default();
        let answer = self.outbox.last_captcha().ok_or(PromptError::NoInput)?;
        self.captchas.lock().unwrap().push((
            image.to_path_buf(),
            content.contains(&answer),
            answer.clone(),
        ));
        Ok(SecretString::from(answer.to_lowercase()))
    }
}

pub fn password() -> SecretString {
    SecretString::from(PASSWORD.to_string())
}
