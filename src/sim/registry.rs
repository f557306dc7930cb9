//! Server-side truth of the simulated Xiaomi world, shared by every simulated phone and
//! the simulated account service: which Mi accounts exist (with their passwords), which
//! devices are bound to them, and whether Find Device is on (which makes a wiped phone
//! activation-locked). A phone's sign-out screen checks the password here and turns
//! Find Device off here, as a real phone does online.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One Mi account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MiAccount {
    /// Numeric Xiaomi user id, as a string ("1234567890").
    pub user_id: String,
    /// Plain password; the service only ever compares MD5 hashes sent by clients.
    #[serde(skip_serializing)]
    pub password: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Login asks for a verification code (SMS or email) before it succeeds.
    pub two_factor: bool,
    /// Login answers with a captcha (87001) first.
    pub captcha: bool,
    /// Set once deletion was confirmed: epoch milliseconds when it takes effect.
    pub deletion_scheduled_at: Option<u64>,
}

/// A device bound to an account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BoundDevice {
    pub imei: String,
    pub model: String,
    pub country: String,
    pub user_id: String,
    /// Find Device on: the account can locate and lock the phone.
    pub find_device: bool,
    /// The phone was wiped while Find Device was on: it asks for this account at setup.
    pub activation_locked: bool,
}

#[derive(Debug, Default, serde::Serialize)]
struct Inner {
    accounts: BTreeMap<String, MiAccount>,
    devices: BTreeMap<String, BoundDevice>,
}

/// Shared, cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<Inner>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        // A poisoned lock only means a test thread panicked; the data is still usable.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Adds (or replaces) an account.
    pub fn add_account(&self, account: MiAccount) {
        self.with(|i| i.accounts.insert(account.user_id.clone(), account));
    }

    pub fn account(&self, user_id: &str) -> Option<MiAccount> {
        self.with(|i| i.accounts.get(user_id).cloned())
    }

    /// Finds an account by user id, email or phone number, as the login form accepts.
    pub fn find_login(&self, login: &str) -> Option<MiAccount> {
        self.with(|i| {
            i.accounts
                .values()
                .find(|a| {
                    a.user_id == login
                        || a.email.as_deref() == Some(login)
                        || a.phone.as_deref() == Some(login)
                })
                .cloned()
        })
    }

    /// Whether PASSWORD is this account's password (and the account still exists).
    pub fn check_password(&self, user_id: &str, password: &str) -> bool {
        self.with(|i| {
            i.accounts
                .get(user_id)
                .is_some_and(|a| a.password == password && a.deletion_scheduled_at.is_none())
        })
    }

    pub fn update_account(&self, user_id: &str, f: impl FnOnce(&mut MiAccount)) -> bool {
        self.with(|i| i.accounts.get_mut(user_id).map(f).is_some())
    }

    /// Binds a device to an account with Find Device on (what signing in on a phone does).
    pub fn bind(&self, imei: &str, model: &str, country: &str, user_id: &str) {
        self.with(|i| {
            i.devices.insert(
                imei.to_string(),
                BoundDevice {
                    imei: imei.to_string(),
                    model: model.to_string(),
                    country: country.to_string(),
                    user_id: user_id.to_string(),
                    find_device: true,
                    activation_locked: false,
                },
            )
        });
    }

    /// Signing out on the phone: Find Device off and the device unbound.
    pub fn unbind(&self, imei: &str) {
        self.with(|i| i.devices.remove(imei));
    }

    /// The phone was wiped: if Find Device was still on, it is now activation-locked.
    pub fn wiped(&self, imei: &str) {
        self.with(|i| {
            if let Some(d) = i.devices.get_mut(imei) {
                if d.find_device {
                    d.activation_locked = true;
                }
            }
        });
    }

    pub fn device(&self, imei: &str) -> Option<BoundDevice> {
        self.with(|i| i.devices.get(imei).cloned())
    }

    pub fn devices_of(&self, user_id: &str) -> Vec<BoundDevice> {
        self.with(|i| {
            i.devices
                .values()
                .filter(|d| d.user_id == user_id)
                .cloned()
                .collect()
        })
    }

    /// JSON view for tests and the state file (passwords are never serialised).
    pub fn snapshot(&self) -> serde_json::Value {
        self.with(|i| serde_json::to_value(&*i).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> MiAccount {
        MiAccount {
            user_id: "1234567890".into(),
            password: "pw one".into(),
            email: Some("a@example.com".into()),
            phone: None,
            two_factor: false,
            captcha: false,
            deletion_scheduled_at: None,
        }
    }

    #[test]
    fn wiping_a_bound_phone_locks_it_and_signing_out_first_does_not() {
        let r = Registry::new();
        r.add_account(account());
        r.bind("861234567890123", "M2101K9G", "DE", "1234567890");
        r.wiped("861234567890123");
        assert!(r.device("861234567890123").unwrap().activation_locked);

        r.bind("869999999999999", "M2101K9G", "DE", "1234567890");
        r.unbind("869999999999999");
        r.wiped("869999999999999");
        assert!(r.device("869999999999999").is_none());
    }

    #[test]
    fn snapshot_never_holds_the_password() {
        let r = Registry::new();
        r.add_account(account());
        assert!(!r.snapshot().to_string().contains("pw one"));
        assert!(r.check_password("1234567890", "pw one"));
        assert!(r.find_login("a@example.com").is_some());
    }
}
