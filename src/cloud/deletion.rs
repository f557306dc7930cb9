//! Deleting the account, per the project's model (`protocol::deletion`): read the
//! deletion page (who, which devices), verify identity, confirm. Refuses before sending
//! the confirmation while any device still has Find Device on, because Xiaomi would
//! refuse too (70040) and the phone would stay lockable by an account about to vanish.

use super::http::{Http, Retry, host_of};
use super::protocol::{self, codes, deletion as p};
use super::{
    BoundDevice, ClientOptions, CloudError, Prompter, Purpose, Step, code_of, common_failure,
    field, identity, missing,
};

/// What the deletion page shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeletionPage {
    pub user_id: String,
    pub devices: Vec<BoundDevice>,
    /// Where identity verification for the deletion starts.
    pub notification_url: String,
}

impl DeletionPage {
    /// Devices that block deletion: Find Device still on.
    pub fn blockers(&self) -> Vec<BoundDevice> {
        self.devices
            .iter()
            .filter(|d| d.find_device)
            .cloned()
            .collect()
    }
}

/// Xiaomi's answer to a confirmed deletion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Scheduled {
    pub user_id: String,
    /// When deletion takes effect, epoch milliseconds.
    pub delete_at_ms: u64,
}

impl Scheduled {
    pub fn delete_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::from_timestamp_millis(i64::try_from(self.delete_at_ms).ok()?)
    }
}

pub(super) async fn page(http: &Http) -> Result<DeletionPage, CloudError> {
    let step = Step::DeletionPage;
    let mut url = http.account_url(step, p::INFO)?;
    url.query_pairs_mut().append_pair(protocol::F_JSON, "true");
    let host = host_of(&url);
    let body = http
        .get(step, url, Retry::Safe)
        .await?
        .account_json(step, &host)?;
    match code_of(&body, step, &host)? {
        codes::OK => {}
        other => return Err(common_failure(step, other, &body)),
    }
    let user_id =
        field(&body, None, p::F_USER_ID).ok_or_else(|| missing(step, &host, p::F_USER_ID))?;
    let notification_url = field(&body, None, p::F_NOTIFICATION_URL)
        .ok_or_else(|| missing(step, &host, p::F_NOTIFICATION_URL))?;
    let list = body
        .get(p::F_BOUND_DEVICES)
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| missing(step, &host, p::F_BOUND_DEVICES))?;
    let mut devices = Vec::new();
    for d in list {
        let text = |name| field(d, None, name).map(|s| super::error::clean(&s));
        let find_device = d.get(p::F_DEVICE_FIND).and_then(serde_json::Value::as_bool);
        let (Some(imei), Some(find_device)) = (text(p::F_DEVICE_IMEI), find_device) else {
            return Err(CloudError::Protocol {
                step,
                host,
                what: format!(
                    "a bound device lacks {:?} or {:?}",
                    p::F_DEVICE_IMEI,
                    p::F_DEVICE_FIND
                ),
            });
        };
        devices.push(BoundDevice {
            model: text(p::F_DEVICE_MODEL).unwrap_or_else(|| "unknown model".into()),
            imei,
            find_device,
        });
    }
    Ok(DeletionPage {
        user_id,
        devices,
        notification_url,
    })
}

pub(super) async fn delete<P: Prompter>(
    http: &Http,
    options: &ClientOptions,
    user_id: &str,
    page: &DeletionPage,
    prompter: &P,
) -> Result<Scheduled, CloudError> {
    let host = host_of(&http.endpoints.account);
    if page.user_id != user_id {
        return Err(CloudError::Protocol {
            step: Step::DeletionPage,
            host,
            what: format!(
                "the page is for account {} but we signed in as {user_id}",
                page.user_id
            ),
        });
    }
    let blockers = page.blockers();
    if !blockers.is_empty() {
        return Err(CloudError::DevicesStillBound { devices: blockers });
    }
    let location = identity::verify(
        http,
        options,
        &page.notification_url,
        Purpose::Deletion,
        prompter,
    )
    .await?;

    let step = Step::ConfirmDeletion;
    // The verified location names the context to confirm; the path stays the table's.
    let context = http
        .account_url(step, &location)?
        .query_pairs()
        .find(|(k, _)| k == protocol::F_CONTEXT)
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| missing(step, &host, protocol::F_CONTEXT))?;
    let body = http
        .post_form(
            step,
            http.account_url(step, p::CONFIRM)?,
            &[
                (protocol::F_CONTEXT, context.as_str()),
                (protocol::F_JSON, "true"),
            ],
        )
        .await?
        .account_json(step, &host)?;
    match code_of(&body, step, &host)? {
        codes::OK => {}
        codes::STILL_BOUND => {
            // A phone was signed in again meanwhile; name what the page showed.
            return Err(CloudError::DevicesStillBound {
                devices: page.devices.clone(),
            });
        }
        other => return Err(common_failure(step, other, &body)),
    }
    let status =
        field(&body, None, p::F_STATUS).ok_or_else(|| missing(step, &host, p::F_STATUS))?;
    let delete_at_ms = body
        .get(p::F_DELETE_AT)
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| missing(step, &host, p::F_DELETE_AT))?;
    if status != p::STATUS_SCHEDULED {
        return Err(CloudError::Protocol {
            step,
            host,
            what: format!(
                "status {:?} instead of {:?}",
                super::error::clean(&status),
                p::STATUS_SCHEDULED
            ),
        });
    }
    Ok(Scheduled {
        user_id: user_id.to_string(),
        delete_at_ms,
    })
}
