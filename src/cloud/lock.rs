//! The anonymous activation-lock check on the Find Device host: is this IMEI locked to
//! a Mi account? Needs no sign-in; the answer is what a buyer would see.

use super::http::{Http, Retry, host_of};
use super::protocol::{codes, lock as p};
use super::{CloudError, Step, code_of, common_failure, missing};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockStatus {
    pub imei: String,
    /// A reset would ask for the Mi account (or already does).
    pub locked: bool,
    pub approved: Option<bool>,
    pub model: Option<String>,
    pub country: Option<String>,
    pub activated: Option<bool>,
}

/// An IMEI as *#06# shows it: 15 digits (spaces and dashes tolerated).
pub fn normalize_imei(imei: &str) -> Result<String, CloudError> {
    let digits: String = imei.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() == 15 && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(CloudError::BadImei {
            imei: super::error::clean(imei),
        })
    }
}

pub(super) async fn status(http: &Http, imei: &str) -> Result<LockStatus, CloudError> {
    let imei = normalize_imei(imei)?;
    let step = Step::LockStatus;
    let mut url = http.find_url(step, p::STATUS)?;
    url.query_pairs_mut()
        .append_pair(p::Q_TS, &chrono::Utc::now().timestamp_millis().to_string())
        .append_pair(p::Q_ID, &imei);
    let host = host_of(&url);
    let body = http
        .get(step, url, Retry::Safe)
        .await?
        .loose_json(step, &host)?;
    match code_of(&body, step, &host)? {
        codes::OK => {}
        other => return Err(common_failure(step, other, &body)),
    }
    let data = body
        .get(p::F_DATA)
        .filter(|d| d.is_object())
        .ok_or_else(|| missing(step, &host, p::F_DATA))?;
    let flag = |name: &str| match data.get(name)? {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    };
    let text = |name: &str| {
        data.get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(super::error::clean)
    };
    Ok(LockStatus {
        locked: flag(p::F_LOCKED).ok_or_else(|| missing(step, &host, p::F_LOCKED))?,
        approved: flag(p::F_APPROVED),
        model: text(p::F_MODEL),
        country: text(p::F_COUNTRY),
        activated: flag(p::F_ACTIVATED),
        imei,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imei_must_be_fifteen_digits() {
        assert_eq!(
            normalize_imei("86123 456789 0123").unwrap(),
            "861234567890123"
        );
        for bad in [
            "",
            "86123456789012",
            "8612345678901234",
            "86123456789012x",
            "８６1234567890123",
        ] {
            assert!(normalize_imei(bad).is_err(), "{bad}");
        }
    }
}
