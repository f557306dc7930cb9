//! What the journeys need to know about a phone before they touch it, read in a few
//! batched shell calls: identity props, accounts (users 0 and 999), device owner,
//! reset restrictions and whether a screen lock is set. Reads only; changes nothing.

use crate::miui::ui::{DeviceError, UiDevice};

/// Facts about one phone, as read before a journey.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PhoneFacts {
    /// The serial the adb server knows the phone by.
    pub adb_serial: String,
    /// `ro.serialno`, the phone's own serial (differs from the adb serial over TCP).
    pub serialno: String,
    pub manufacturer: String,
    pub model: String,
    pub is_xiaomi: bool,
    /// `persist.security.adbinput` as read ("" when unset).
    pub adb_input: String,
    /// Xiaomi accounts (type `com.xiaomi*`) in users 0 and 999, as `dumpsys account`
    /// names them (often masked).
    pub mi_accounts: Vec<String>,
    pub google_accounts: usize,
    /// `dpm list-owners`: the device owner, if any.
    pub device_owner: Option<String>,
    /// The `no_factory_reset` user restriction is in force.
    pub no_factory_reset: bool,
    /// A screen lock is set: `Some(false)` only when the phone said so plainly.
    pub screen_lock: Option<bool>,
}

impl PhoneFacts {
    pub fn mi_signed_in(&self) -> bool {
        !self.mi_accounts.is_empty()
    }

    /// Serials that name this phone: what `--confirm` and a backup manifest may say.
    pub fn serials(&self) -> Vec<&str> {
        let mut v = vec![self.adb_serial.as_str()];
        if !self.serialno.is_empty() && self.serialno != self.adb_serial {
            v.push(self.serialno.as_str());
        }
        v
    }
}

/// Reads the facts the sign-out journey needs (props and accounts).
pub async fn accounts<D: UiDevice>(dev: &D) -> Result<PhoneFacts, DeviceError> {
    let props = dev.shell("getprop").await?.stdout;
    let acc = dev.shell("dumpsys account").await?.stdout;
    let mut f = PhoneFacts {
        adb_serial: dev.serial().to_string(),
        ..PhoneFacts::default()
    };
    let prop = |k: &str| getprop_value(&props, k).unwrap_or_default();
    f.serialno = prop("ro.serialno");
    f.manufacturer = prop("ro.product.manufacturer");
    f.model = prop("ro.product.model");
    f.adb_input = prop("persist.security.adbinput");
    let brand = prop("ro.product.brand").to_ascii_lowercase();
    f.is_xiaomi = f.manufacturer.eq_ignore_ascii_case("xiaomi")
        || ["xiaomi", "redmi", "poco"].contains(&brand.as_str());
    let (mi, google) = account_types(&acc);
    f.mi_accounts = mi;
    f.google_accounts = google;
    Ok(f)
}

/// Reads everything the reset interlocks need.
pub async fn for_reset<D: UiDevice>(dev: &D) -> Result<PhoneFacts, DeviceError> {
    let mut f = accounts(dev).await?;
    let owners = dev.shell("dpm list-owners").await?;
    f.device_owner = owners
        .stdout
        .lines()
        .find_map(|l| {
            l.split_once("admin=")
                .map(|(_, a)| a.split(',').next().unwrap_or(a))
        })
        .map(|s| s.trim().to_string());
    // Real Android prints the effective restrictions of each user here.
    let users = dev.shell("dumpsys user").await?;
    f.no_factory_reset = users.all().contains("no_factory_reset");
    // With no credential set, `verify` succeeds on an empty one; anything else (a
    // credential, or a phone without the command) leaves the question open.
    let lock = dev.shell("cmd lock_settings verify").await?;
    f.screen_lock = if lock.all().contains("verified successfully") {
        Some(false)
    } else if lock.all().contains("didn't match") {
        Some(true)
    } else {
        None
    };
    Ok(f)
}

fn getprop_value(props: &str, key: &str) -> Option<String> {
    props.lines().find_map(|l| {
        let l = l.trim_end_matches('\r');
        let (k, v) = l.split_once("]: [")?;
        (k.trim_start_matches('[') == key).then(|| v.trim_end_matches(']').to_string())
    })
}

/// Xiaomi account names and the number of Google accounts in `dumpsys account`, over
/// every user it lists (0 and Xiaomi's dual-apps user 999). Names may be masked, so the
/// type decides.
fn account_types(dumpsys: &str) -> (Vec<String>, usize) {
    let mut mi = Vec::new();
    let mut google = 0;
    for l in dumpsys.lines() {
        let l = l.trim();
        let Some(inner) = l
            .strip_prefix("Account {")
            .and_then(|r| r.strip_suffix('}'))
        else {
            continue;
        };
        let Some((name, ty)) = inner.rsplit_once(", type=") else {
            continue;
        };
        let name = name.trim_start_matches("name=").to_string();
        if ty.starts_with("com.xiaomi") {
            mi.push(name);
        } else if ty == "com.google" {
            google += 1;
        }
    }
    (mi, google)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_in_both_users_count_and_crlf_is_fine() {
        let d = "User UserInfo{0:Owner:c13}:\r\n  Accounts: 2\r\n    Account {name=1*****89, type=com.xiaomi}\r\n    Account {name=a@gmail.com, type=com.google}\r\n\r\nUser UserInfo{999:XSpace:801010}:\r\n  Accounts: 1\r\n    Account {name=1*****89, type=com.xiaomi}\r\n    ServiceInfo: AuthenticatorDescription {type=com.xiaomi}, ComponentInfo{x}, uid 1\r\n";
        let (mi, g) = account_types(d);
        assert_eq!(mi.len(), 2);
        assert_eq!(g, 1);
        assert_eq!(account_types("garbage\nAccount {"), (vec![], 0));
    }

    #[test]
    fn getprop_lines() {
        let p = "[ro.serialno]: [abc123]\r\n[persist.security.adbinput]: [1]\n[x]: [";
        assert_eq!(getprop_value(p, "ro.serialno").as_deref(), Some("abc123"));
        assert_eq!(
            getprop_value(p, "persist.security.adbinput").as_deref(),
            Some("1")
        );
        assert_eq!(getprop_value(p, "missing"), None);
    }
}
