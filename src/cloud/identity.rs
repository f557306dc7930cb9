//! Identity verification ("two-factor"): open the notification URL, list the ways a
//! code can be sent, have one sent, and check what the person types. Used by sign-in and
//! by deletion. Returns the `location` Xiaomi answers; what to do with it is the
//! caller's business.

use secrecy::ExposeSecret as _;

use super::http::{Http, Retry, host_of};
use super::protocol::{self, codes, identity as p};
use super::{
    Channel, ClientOptions, CloudError, CodeAsk, Prompter, Purpose, Step, code_of, common_failure,
    field, missing,
};

pub(super) async fn verify<P: Prompter>(
    http: &Http,
    options: &ClientOptions,
    notification_url: &str,
    purpose: Purpose,
    prompter: &P,
) -> Result<String, CloudError> {
    // Opening the notification page is what a browser does first; it may set cookies.
    let url = http.account_url(Step::OpenVerification, notification_url)?;
    let host = host_of(&url);
    let opened = http
        .get(Step::OpenVerification, url.clone(), Retry::Safe)
        .await?;
    if opened.status >= 400 {
        return Err(CloudError::Http {
            step: Step::OpenVerification,
            host,
            status: opened.status,
        });
    }
    let context = url
        .query_pairs()
        .find(|(k, _)| k == protocol::F_CONTEXT)
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| missing(Step::OpenVerification, &host, protocol::F_CONTEXT))?;

    let step = Step::ListVerification;
    let mut list_url = http.account_url(step, p::LIST)?;
    list_url
        .query_pairs_mut()
        .append_pair(protocol::F_SID, protocol::SID)
        .append_pair(protocol::F_CONTEXT, &context)
        .append_pair(protocol::F_JSON, "true");
    let list = http
        .get(step, list_url, Retry::Safe)
        .await?
        .account_json(step, &host)?;
    match code_of(&list, step, &host)? {
        codes::OK => {}
        other => return Err(common_failure(step, other, &list)),
    }
    let offered: Vec<Channel> = list
        .get(p::F_OPTIONS)
        .and_then(serde_json::Value::as_array)
        .map(|options| {
            options
                .iter()
                .filter_map(|o| match o.as_i64() {
                    Some(p::OPTION_PHONE) => Some(Channel::Phone),
                    Some(p::OPTION_EMAIL) => Some(Channel::Email),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let channel = if offered.contains(&options.prefer) {
        options.prefer
    } else {
        *offered.first().ok_or(CloudError::NoVerificationChannel)?
    };
    let (send_path, verify_path, flag, masked) = match channel {
        Channel::Phone => (
            p::SEND_PHONE,
            p::VERIFY_PHONE,
            p::OPTION_PHONE,
            p::F_MASKED_PHONE,
        ),
        Channel::Email => (
            p::SEND_EMAIL,
            p::VERIFY_EMAIL,
            p::OPTION_EMAIL,
            p::F_MASKED_EMAIL,
        ),
    };
    let destination = field(&list, None, masked).map(|d| super::error::clean(&d));

    let step = Step::SendCode;
    let sent = http
        .post_form(
            step,
            http.account_url(step, send_path)?,
            &[(p::F_RETRY, "0"), (protocol::F_JSON, "true")],
        )
        .await?
        .account_json(step, &host)?;
    match code_of(&sent, step, &host)? {
        codes::OK => {}
        other => return Err(common_failure(step, other, &sent)),
    }

    let step = Step::CheckCode;
    let verify_url = http.account_url(step, verify_path)?;
    let flag = flag.to_string();
    let mut attempt = 1;
    loop {
        let ask = CodeAsk {
            channel,
            destination: destination.clone(),
            purpose,
            attempt,
        };
        let code = prompter.code(&ask).await?;
        let answer = http
            .post_form(
                step,
                verify_url.clone(),
                &[
                    (p::F_FLAG, flag.as_str()),
                    (p::F_TICKET, code.expose_secret().trim()),
                    (p::F_TRUST, "true"),
                    (protocol::F_JSON, "true"),
                ],
            )
            .await?
            .account_json(step, &host)?;
        match code_of(&answer, step, &host)? {
            codes::OK => {
                return field(&answer, None, protocol::F_LOCATION)
                    .ok_or_else(|| missing(step, &host, protocol::F_LOCATION));
            }
            codes::WRONG_CODE if attempt < options.code_tries => attempt += 1,
            codes::WRONG_CODE => return Err(CloudError::WrongCode { attempts: attempt }),
            other => return Err(common_failure(step, other, &answer)),
        }
    }
}
