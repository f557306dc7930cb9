//! Signing in, as Xiaomi's SDK does it: `serviceLogin` (answers 70016 with the form's
//! hidden fields), `serviceLoginAuth2` with the password's MD5, captcha and two-factor
//! detours, then the STS hop whose `clientSign` proves we hold `ssecurity` and which
//! sets the `serviceToken` cookie. Knows the flow only; paths and fields are in
//! `protocol`, transport in `http`.

use base64::Engine as _;
use md5::Digest as _;
use secrecy::ExposeSecret as _;
use sha1::Sha1;

use super::http::{Http, Reply, Retry, host_of};
use super::protocol::{self, codes, login as p};
use super::{
    ClientOptions, CloudError, Prompter, Purpose, SecretString, Step, code_of, common_failure,
    field, identity, missing,
};

/// Signs in and returns the numeric user id; the session cookies stay in HTTP's jar.
pub(super) async fn sign_in<P: Prompter>(
    http: &Http,
    options: &ClientOptions,
    user: &str,
    password: &SecretString,
    prompter: &P,
) -> Result<String, CloudError> {
    let first = service_login(http).await?;
    let host = host_of(&http.endpoints.account);
    match code_of(&first, Step::OpenSignIn, &host)? {
        // Already signed in (a passToken cookie was accepted): straight to STS.
        codes::OK => return sts(http, &first, None).await,
        codes::LOGIN_REQUIRED_OR_WRONG_PASSWORD => {}
        other => return Err(common_failure(Step::OpenSignIn, other, &first)),
    }
    let hidden = |name: &str| {
        field(&first, None, name).ok_or_else(|| missing(Step::OpenSignIn, &host, name))
    };
    let sign = hidden(p::F_SIGN)?;
    let qs = hidden(p::F_QS)?;
    let callback = hidden(p::F_CALLBACK)?;

    let url = http.account_url(Step::SendPassword, p::AUTH2)?;
    let mut captcha: Option<SecretString> = None;
    let mut captcha_tries = 0;
    loop {
        // The hash is made here and dropped with this iteration: the plain password
        // never leaves the SecretString except into the digest.
        let hash = hex::encode_upper(md5::Md5::digest(password.expose_secret().as_bytes()));
        let mut form = vec![
            (protocol::F_SID, protocol::SID),
            (p::F_HASH, hash.as_str()),
            (p::F_USER, user),
            (protocol::F_JSON, "true"),
            (p::F_SIGN, sign.as_str()),
            (p::F_QS, qs.as_str()),
            (p::F_CALLBACK, callback.as_str()),
        ];
        if let Some(answer) = &captcha {
            form.push((p::F_CAPTCHA_CODE, answer.expose_secret()));
        }
        let reply = http
            .post_form(Step::SendPassword, url.clone(), &form)
            .await?;
        drop(form);
        let body = reply.account_json(Step::SendPassword, &host)?;
        match code_of(&body, Step::SendPassword, &host)? {
            codes::OK => {
                return after_password(http, options, &reply, &body, prompter).await;
            }
            codes::CAPTCHA => {
                if captcha_tries >= options.captcha_tries {
                    return Err(CloudError::WrongCaptcha {
                        attempts: captcha_tries,
                    });
                }
                captcha_tries += 1;
                let image_url = field(&body, None, p::F_CAPTCHA_URL)
                    .ok_or_else(|| missing(Step::SendPassword, &host, p::F_CAPTCHA_URL))?;
                let path = fetch_captcha(http, options, &image_url, captcha_tries).await?;
                let answer = prompter.captcha(&path, captcha_tries).await;
                // The image was only for the operator's eyes; best effort tidy-up.
                let _ = std::fs::remove_file(&path);
                captcha = Some(answer?);
            }
            codes::LOGIN_REQUIRED_OR_WRONG_PASSWORD => return Err(CloudError::WrongPassword),
            codes::INVALID_USER => {
                return Err(CloudError::UnknownUser {
                    user: user.to_string(),
                });
            }
            other => return Err(common_failure(Step::SendPassword, other, &body)),
        }
    }
}

async fn service_login(http: &Http) -> Result<serde_json::Value, CloudError> {
    let mut url = http.account_url(Step::OpenSignIn, p::SERVICE_LOGIN)?;
    url.query_pairs_mut()
        .append_pair(protocol::F_SID, protocol::SID)
        .append_pair(protocol::F_JSON, "true");
    let host = host_of(&url);
    http.get(Step::OpenSignIn, url, Retry::Safe)
        .await?
        .account_json(Step::OpenSignIn, &host)
}

/// Code 0 after the password: either signed in, or two-factor verification first.
async fn after_password<P: Prompter>(
    http: &Http,
    options: &ClientOptions,
    reply: &Reply,
    body: &serde_json::Value,
    prompter: &P,
) -> Result<String, CloudError> {
    let pragma = reply.extension_pragma();
    let status = field(body, pragma.as_ref(), p::F_SECURITY_STATUS)
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    let notification = field(body, pragma.as_ref(), p::F_NOTIFICATION_URL);
    let Some(notification) = notification.filter(|_| status != 0) else {
        return sts(http, body, pragma.as_ref()).await;
    };
    let location =
        identity::verify(http, options, &notification, Purpose::SignIn, prompter).await?;
    // Following the verified location sets passToken; serviceLogin then answers 0
    // with the STS ticket, as for a returning browser.
    let url = http.account_url(Step::FollowVerification, &location)?;
    let host = host_of(&url);
    let done = http
        .get(Step::FollowVerification, url, Retry::ConnectOnly)
        .await?;
    if done.status >= 400 {
        return Err(CloudError::Http {
            step: Step::FollowVerification,
            host,
            status: done.status,
        });
    }
    let again = service_login(http).await?;
    let host = host_of(&http.endpoints.account);
    match code_of(&again, Step::OpenSignIn, &host)? {
        codes::OK => sts(http, &again, None).await,
        other => Err(common_failure(Step::FollowVerification, other, &again)),
    }
}

/// The STS hop: `location` + `clientSign`, which must set `serviceToken`.
async fn sts(
    http: &Http,
    body: &serde_json::Value,
    pragma: Option<&serde_json::Value>,
) -> Result<String, CloudError> {
    let step = Step::ServiceToken;
    let host = host_of(&http.endpoints.account);
    let need = |name: &str| field(body, pragma, name).ok_or_else(|| missing(step, &host, name));
    let user_id = need(p::F_USER_ID)?;
    let location = need(protocol::F_LOCATION)?;
    let nonce = need(p::F_NONCE)?;
    let ssecurity = need(p::F_SSECURITY)?;
    let mut url = http.account_url(step, &location)?;
    url.query_pairs_mut()
        .append_pair(p::F_CLIENT_SIGN, &client_sign(&nonce, &ssecurity));
    let sts_host = host_of(&url);
    let reply = http.get(step, url.clone(), Retry::ConnectOnly).await?;
    if reply.status >= 400 {
        return Err(CloudError::Http {
            step,
            host: sts_host,
            status: reply.status,
        });
    }
    if http.cookie(&url, p::COOKIE_SERVICE_TOKEN).is_none() {
        return Err(CloudError::Protocol {
            step,
            host: sts_host,
            what: "no serviceToken cookie was set".into(),
        });
    }
    Ok(user_id)
}

/// base64(sha1("nonce=N&SSECURITY")); `append_pair` URL-encodes it.
pub(super) fn client_sign(nonce: &str, ssecurity: &str) -> String {
    let digest = Sha1::digest(format!("nonce={nonce}&{ssecurity}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

async fn fetch_captcha(
    http: &Http,
    options: &ClientOptions,
    image_url: &str,
    attempt: u32,
) -> Result<std::path::PathBuf, CloudError> {
    let step = Step::FetchCaptcha;
    let url = http.account_url(step, image_url)?;
    let host = host_of(&url);
    let reply = http.get(step, url.clone(), Retry::Safe).await?;
    if reply.status != 200 || reply.body.is_empty() || !reply.content_type.starts_with("image/") {
        return Err(CloudError::Protocol {
            step,
            host,
            what: format!(
                "no image came back (HTTP {}, {:?})",
                reply.status,
                super::error::clean(&reply.content_type)
            ),
        });
    }
    if http.cookie(&url, p::COOKIE_ICK).is_none() {
        return Err(CloudError::Protocol {
            step,
            host,
            what: "the image set no ick cookie, so no answer could be matched to it".into(),
        });
    }
    let ext = match reply.content_type.split(';').next().unwrap_or("").trim() {
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/svg+xml" => "svg",
        _ => "img",
    };
    let path = options.captcha_dir.join(format!(
        "mi-offboard-captcha-{}-{attempt}.{ext}",
        std::process::id()
    ));
    std::fs::write(&path, &reply.body).map_err(|source| CloudError::CaptchaFile {
        path: path.display().to_string(),
        source,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_sign_is_base64_of_sha1() {
        // sha1("nonce=1&abc") computed independently with coreutils sha1sum | xxd | base64.
        assert_eq!(client_sign("1", "abc"), "zeLvIgugOiMWFwHaH7xmSEbxhvM=");
    }
}
