//! The HTTP layer under the flows: one reqwest client with rustls, a cookie store, a
//! timeout on every request, bounded answers, redirects followed only to trusted hosts,
//! and bounded retries where a retry cannot do anything twice.
//! Knows no Xiaomi flow; it only knows which hosts are trusted and how to read an answer.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect;
use url::{Host, Url};

use super::error::{CloudError, Step, clean};
use super::protocol::JSON_PREFIX;

/// Where the two services live. Defaults are Xiaomi's; tests and the simulator point
/// them at loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub account: Url,
    pub find: Url,
}

pub const DEFAULT_ACCOUNT_URL: &str = "https://account.xiaomi.com";
pub const DEFAULT_FIND_URL: &str = "https://i.mi.com";

impl Endpoints {
    /// Parses and checks both base URLs: https, or plain http to loopback only.
    pub fn new(account: &str, find: &str) -> Result<Endpoints, CloudError> {
        Ok(Endpoints {
            account: base_url(account)?,
            find: base_url(find)?,
        })
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        // Both constants are valid https URLs.
        Endpoints::new(DEFAULT_ACCOUNT_URL, DEFAULT_FIND_URL)
            .unwrap_or_else(|e| unreachable!("default endpoints: {e}"))
    }
}

/// Parses a base URL and refuses plain http anywhere but loopback: a password hash and
/// session cookies must never cross a network in clear.
pub fn base_url(text: &str) -> Result<Url, CloudError> {
    let url = Url::parse(text.trim()).map_err(|e| CloudError::BadUrl {
        url: text.to_string(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(CloudError::InsecureUrl {
                url: text.to_string(),
            });
        }
        other => {
            return Err(CloudError::BadUrl {
                url: text.to_string(),
                reason: format!("scheme {other} is not http(s)"),
            });
        }
    }
    if url.host().is_none() || url.cannot_be_a_base() {
        return Err(CloudError::BadUrl {
            url: text.to_string(),
            reason: "no host".into(),
        });
    }
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Which URLs the client may be sent to by a redirect or a `location` field: the two
/// configured origins, and (when talking to the real service over https) Xiaomi's own
/// domains, because sign-in hops through sts/other hosts of xiaomi.com and mi.com.
#[derive(Debug, Clone)]
struct Trust {
    origins: Vec<url::Origin>,
    xiaomi_domains: bool,
}

impl Trust {
    fn allows(&self, url: &Url) -> bool {
        if self.origins.contains(&url.origin()) {
            return true;
        }
        if !self.xiaomi_domains || url.scheme() != "https" {
            return false;
        }
        match url.host() {
            Some(Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                ["xiaomi.com", "mi.com"]
                    .iter()
                    .any(|root| d == *root || d.ends_with(&format!(".{root}")))
            }
            _ => false,
        }
    }
}

/// Per-request limits. Defaults suit a shop's network; tests shorten them.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Whole-request timeout, every request.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts for requests that are safe to repeat (at least 1).
    pub attempts: u32,
    /// First back-off; doubled each retry.
    pub backoff: Duration,
    /// Largest answer read; a bigger one is an error, not an allocation.
    pub max_body: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(500),
            max_body: 2 * 1024 * 1024,
        }
    }
}

/// Whether repeating a request can do something twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A read: retried on connection errors, timeouts and 502/503/504.
    Safe,
    /// Changes state: retried only when the connection failed before it was sent.
    ConnectOnly,
}

/// An answer read in full (bounded).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
    pub content_type: String,
}

pub(crate) struct Http {
    client: reqwest::Client,
    jar: Arc<Jar>,
    trust: Trust,
    options: HttpOptions,
    pub endpoints: Endpoints,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The cookie jar holds session tokens: never print it.
        f.debug_struct("Http")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

const MAX_REDIRECTS: usize = 8;

impl Http {
    pub fn new(endpoints: Endpoints, options: HttpOptions) -> Result<Http, CloudError> {
        let trust = Trust {
            origins: vec![endpoints.account.origin(), endpoints.find.origin()],
            xiaomi_domains: endpoints.account.scheme() == "https",
        };
        let policy_trust = trust.clone();
        // Redirects to untrusted hosts are not followed: the 3xx comes back and
        // `send` turns it into an error naming the step.
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS || !policy_trust.allows(attempt.url()) {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(false)
            .cookie_provider(jar.clone())
            .redirect(policy)
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("mi-offboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CloudError::BadUrl {
                url: endpoints.account.to_string(),
                reason: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Http {
            client,
            jar,
            trust,
            options,
            endpoints,
        })
    }

    /// Resolves a path or a server-given `location` against the account host, refusing
    /// anything outside the trusted hosts.
    pub fn account_url(&self, step: Step, location: &str) -> Result<Url, CloudError> {
        self.resolve(&self.endpoints.account, step, location)
    }

    pub fn find_url(&self, step: Step, location: &str) -> Result<Url, CloudError> {
        self.resolve(&self.endpoints.find, step, location)
    }

    fn resolve(&self, base: &Url, step: Step, location: &str) -> Result<Url, CloudError> {
        let url = base.join(location).map_err(|_| CloudError::Protocol {
            step,
            host: host_of(base),
            what: format!(
                "{:?} is not a usable address",
                clean(without_query(location))
            ),
        })?;
        if !self.trust.allows(&url) {
            return Err(CloudError::OffHost {
                step,
                url: shown(&url),
            });
        }
        Ok(url)
    }

    /// The value of cookie NAME as it would be sent to URL.
    pub fn cookie(&self, url: &Url, name: &str) -> Option<String> {
        let header = self.jar.cookies(url)?;
        let text = header.to_str().ok()?;
        text.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }

    pub async fn get(&self, step: Step, url: Url, retry: Retry) -> Result<Reply, CloudError> {
        self.send(step, &url, retry, || self.client.get(url.clone()))
            .await
    }

    /// POSTs a form. FORM holds no plain secret: the password is already hashed and a
    /// code is exposed only for this call by the caller.
    pub async fn post_form(
        &self,
        step: Step,
        url: Url,
        form: &[(&str, &str)],
    ) -> Result<Reply, CloudError> {
        self.send(step, &url, Retry::ConnectOnly, || {
            self.client.post(url.clone()).form(form)
        })
        .await
    }

    async fn send(
        &self,
        step: Step,
        url: &Url,
        retry: Retry,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Reply, CloudError> {
        let host = host_of(url);
        let attempts = self.options.attempts.max(1);
        let mut backoff = self.options.backoff;
        let mut attempt = 1;
        loop {
            let outcome = self.send_once(step, &host, build()).await;
            let again = attempt < attempts
                && match (&outcome, retry) {
                    (Err(Transient::Connect(_)), _) => true,
                    (Err(Transient::Timeout), Retry::Safe) => true,
                    (Ok(r), Retry::Safe) => matches!(r.status, 502..=504),
                    _ => false,
                };
            if !again {
                return match outcome {
                    Ok(reply) => self.check_redirect(step, url, reply),
                    Err(Transient::Connect(reason)) | Err(Transient::Other(reason)) => {
                        Err(CloudError::Network { step, host, reason })
                    }
                    Err(Transient::Timeout) => Err(CloudError::Timeout { step, host }),
                    Err(Transient::Fatal(e)) => Err(e),
                };
            }
            tracing::debug!(%step, %host, attempt, "retrying after a transient failure");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        step: Step,
        host: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Reply, Transient> {
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if let Some(len) = response.content_length() {
            if len > self.options.max_body as u64 {
                return Err(Transient::Fatal(too_big(step, host, self.options.max_body)));
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > self.options.max_body {
                return Err(Transient::Fatal(too_big(step, host, self.options.max_body)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply {
            status,
            headers,
            body,
            content_type,
        })
    }

    /// A 3xx that came back was stopped by the policy: an untrusted target or a loop.
    fn check_redirect(&self, step: Step, url: &Url, reply: Reply) -> Result<Reply, CloudError> {
        if !(300..400).contains(&reply.status) {
            return Ok(reply);
        }
        let target = reply
            .headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url.join(l).ok());
        match target {
            Some(t) if !self.trust.allows(&t) => Err(CloudError::OffHost {
                step,
                url: shown(&t),
            }),
            _ => Err(CloudError::Protocol {
                step,
                host: host_of(url),
                what: format!("too many redirects (HTTP {})", reply.status),
            }),
        }
    }
}

enum Transient {
    Connect(String),
    Timeout,
    Other(String),
    Fatal(CloudError),
}

fn classify(e: reqwest::Error) -> Transient {
    // `without_url`: a URL may carry a ticket or nonce in its query.
    let e = e.without_url();
    if e.is_timeout() {
        Transient::Timeout
    } else if e.is_connect() {
        Transient::Connect(error_chain(&e))
    } else {
        Transient::Other(error_chain(&e))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn too_big(step: Step, host: &str, max: usize) -> CloudError {
    CloudError::Protocol {
        step,
        host: host.to_string(),
        what: format!("the answer is larger than {} KiB", max / 1024),
    }
}

pub(crate) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => format!("{}:", url.scheme()),
    }
}

/// A URL as errors may show it: scheme, host and path only. Xiaomi's redirect and STS
/// addresses carry `ticket`, `nonce`, `_ssign` and `clientSign` in the query, and an
/// error's text reaches stderr, the journal and the customer's report.
/// User names and passwords in the authority are left out as well.
fn shown(url: &Url) -> String {
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    clean(&format!("{}://{host}{}", url.scheme(), url.path()))
}

/// A server-given location up to its query or fragment, for the same reason.
fn without_query(location: &str) -> &str {
    location.split(['?', '#']).next().unwrap_or_default()
}

impl Reply {
    /// The JSON object of an account-service answer, which must carry the guard prefix:
    /// an answer without it is a proxy, a captive portal or an error page, not Xiaomi.
    pub fn account_json(&self, step: Step, host: &str) -> Result<serde_json::Value, CloudError> {
        let text = String::from_utf8_lossy(&self.body);
        let trimmed = text.trim_start();
        let Some(rest) = trimmed.strip_prefix(JSON_PREFIX) else {
            return Err(self.not_json(step, host, "it does not start with &&&START&&&"));
        };
        self.object(step, host, rest)
    }

    /// The JSON object of an answer where the guard prefix is optional (i.mi.com).
    pub fn loose_json(&self, step: Step, host: &str) -> Result<serde_json::Value, CloudError> {
        let text = String::from_utf8_lossy(&self.body);
        let trimmed = text.trim_start();
        self.object(
            step,
            host,
            trimmed.strip_prefix(JSON_PREFIX).unwrap_or(trimmed),
        )
    }

    fn object(&self, step: Step, host: &str, text: &str) -> Result<serde_json::Value, CloudError> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err(self.not_json(step, host, "it is JSON but not an object")),
            Err(_) => Err(self.not_json(step, host, "it is not JSON")),
        }
    }

    fn not_json(&self, step: Step, host: &str, why: &str) -> CloudError {
        if !(200..300).contains(&self.status) {
            return CloudError::Http {
                step,
                host: host.to_string(),
                status: self.status,
            };
        }
        let kind = if self.content_type.contains("html") {
            " (an HTML page)"
        } else {
            ""
        };
        CloudError::Protocol {
            step,
            host: host.to_string(),
            what: format!("{why}{kind}"),
        }
    }

    /// The `extension-pragma` header, a JSON object some answers move fields into.
    pub fn extension_pragma(&self) -> Option<serde_json::Value> {
        let raw = self
            .headers
            .get(super::protocol::login::HEADER_EXTENSION_PRAGMA)?;
        serde_json::from_slice(raw.as_bytes())
            .ok()
            .filter(serde_json::Value::is_object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(base_url("http://127.0.0.1:8080").is_ok());
        assert!(base_url("http://[::1]:1").is_ok());
        assert!(base_url("http://localhost").is_ok());
        assert!(base_url("https://account.xiaomi.com").is_ok());
        for bad in [
            "http://account.xiaomi.com",
            "http://10.0.0.1",
            "http://127.0.0.1.evil.com",
        ] {
            assert!(
                matches!(base_url(bad), Err(CloudError::InsecureUrl { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            base_url("ftp://x"),
            Err(CloudError::BadUrl { .. })
        ));
        assert!(matches!(
            base_url("not a url"),
            Err(CloudError::BadUrl { .. })
        ));
    }

    #[test]
    fn trust_covers_configured_origins_and_xiaomi_domains_over_https() {
        let t = Trust {
            origins: vec![Url::parse("https://account.xiaomi.com").unwrap().origin()],
            xiaomi_domains: true,
        };
        for ok in [
            "https://account.xiaomi.com/pass/x",
            "https://sts.api.io.mi.com/sts",
            "https://mi.com/",
        ] {
            assert!(t.allows(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in [
            "http://sts.api.io.mi.com/sts",
            "https://evilmi.com/",
            "https://xiaomi.com.evil.org/",
        ] {
            assert!(!t.allows(&Url::parse(bad).unwrap()), "{bad}");
        }
    }

    fn reply(body: &str, ct: &str) -> Reply {
        Reply {
            status: 200,
            headers: Default::default(),
            body: body.as_bytes().to_vec(),
            content_type: ct.into(),
        }
    }

    #[test]
    fn urls_in_errors_keep_no_query_fragment_or_credentials() {
        let u = Url::parse(
            "https://user:pw@evil.example:8443/sts/login?ticket=T1CK3T&nonce=N0NC3&clientSign=S1GN#frag",
        )
        .unwrap();
        assert_eq!(shown(&u), "https://evil.example:8443/sts/login");
        assert_eq!(without_query("/pass/x?_ssign=S1GN#f"), "/pass/x");
        assert_eq!(without_query("?ticket=T"), "");
    }

    #[tokio::test]
    async fn an_off_host_location_is_named_without_its_query() {
        let endpoints = Endpoints::new("http://127.0.0.1:9", "http://127.0.0.1:9").unwrap();
        let http = Http::new(endpoints, HttpOptions::default()).unwrap();
        let e = http
            .account_url(
                Step::OpenSignIn,
                "https://evil.example/sts?ticket=T1CK3T&nonce=N0NC3&_ssign=S1GN",
            )
            .unwrap_err();
        assert!(matches!(e, CloudError::OffHost { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("https://evil.example/sts"), "{text}");
        for secret in ["T1CK3T", "N0NC3", "S1GN", "ticket", "?"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn account_answers_need_the_prefix_and_an_object() {
        let ok = reply("&&&START&&&{\"code\":0}", "application/json");
        assert_eq!(ok.account_json(Step::OpenSignIn, "h").unwrap()["code"], 0);
        for bad in [
            "{\"code\":0}",
            "<html>login</html>",
            "&&&START&&&[1]",
            "&&&START&&&{\"code\":",
            "",
        ] {
            let e = reply(bad, "text/html")
                .account_json(Step::OpenSignIn, "h")
                .unwrap_err();
            assert!(e.to_string().contains("opening the sign-in page"), "{e}");
        }
        assert!(
            reply("{\"code\":0}", "")
                .loose_json(Step::LockStatus, "h")
                .is_ok()
        );
    }
}
