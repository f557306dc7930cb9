//! `dumpsys account` → the accounts on each user (FACTS.md §4). AOSP prints a
//! `User UserInfo{ID:NAME:FLAGS}:` header, `Accounts: N`, then one
//! `Account {name=…, type=…}` line per account; further down the same user's section
//! lists authenticators (`AuthenticatorDescription {type=…}`) that are *not* accounts.
//! Names may be masked by the ROM, so accounts are matched by type.

/// Mi account types (`com.xiaomi.unactivated` is an account still being set up; it binds
/// the phone just the same).
pub const MI_TYPES: [&str; 2] = ["com.xiaomi", "com.xiaomi.unactivated"];
/// Google account type.
pub const GOOGLE_TYPE: &str = "com.google";
/// Users checked: the owner, and Xiaomi's dual-apps user.
pub const USERS: [u32; 2] = [0, 999];

/// One account line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user: u32,
    /// As printed (possibly masked).
    pub name: String,
    pub kind: String,
}

/// Every `Account {…}` line, with the user whose section it sits in (0 before any
/// header, as Android 6 and older print no headers).
pub fn parse_dumpsys_account(text: &str) -> Vec<Account> {
    let mut user = 0u32;
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("User UserInfo{") {
            user = rest
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(u32::MAX);
            continue;
        }
        let Some(body) = line
            .strip_prefix("Account {")
            .and_then(|b| b.strip_suffix('}'))
        else {
            continue;
        };
        // The name may itself contain ", type="; the type is the last field.
        let Some((name, kind)) = body.rsplit_once(", type=") else {
            continue;
        };
        let Some(name) = name.strip_prefix("name=") else {
            continue;
        };
        out.push(Account {
            user,
            name: name.to_string(),
            kind: kind.trim().to_string(),
        });
    }
    out
}

/// The accounts that matter for a hand-over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSummary {
    /// The Mi account as printed (first one found on user 0, then 999).
    pub mi_account: Option<String>,
    pub google_accounts: usize,
}

/// Mi and Google accounts on the users that count ([`USERS`]).
pub fn summarize(accounts: &[Account]) -> AccountSummary {
    let relevant = || accounts.iter().filter(|a| USERS.contains(&a.user));
    AccountSummary {
        mi_account: relevant()
            .find(|a| MI_TYPES.contains(&a.kind.as_str()))
            .map(|a| a.name.clone()),
        google_accounts: relevant().filter(|a| a.kind == GOOGLE_TYPE).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "Accounts: 0\r\n\
User UserInfo{0:Owner:c13}:\r\n\
  Accounts: 3\r\n\
    Account {name=owner@gmail.com, type=com.google}\r\n\
    Account {name=1234567890, type=com.xiaomi}\r\n\
    Account {name=WhatsApp, type=com.whatsapp}\r\n\
\r\n\
  Active Sessions: 0\r\n\
\r\n\
  RegisteredServicesCache: 3 services\r\n\
    ServiceInfo: AuthenticatorDescription {type=com.xiaomi}, ComponentInfo{com.xiaomi.account/com.xiaomi.account.authenticator.AccountAuthenticatorService}, uid 10091\r\n\
    ServiceInfo: AuthenticatorDescription {type=com.google}, ComponentInfo{com.google.android.gms/.auth.GoogleAuthService}, uid 10150\r\n\
User UserInfo{10:Work:1030}:\r\n\
  Accounts: 1\r\n\
    Account {name=work@corp.com, type=com.google}\r\n\
User UserInfo{999:XSpace:801010}:\r\n\
  Accounts: 1\r\n\
    Account {name=second@gmail.com, type=com.google}\r\n";

    #[test]
    fn counts_accounts_on_users_0_and_999_only() {
        let acc = parse_dumpsys_account(DUMP);
        assert_eq!(acc.len(), 5);
        let s = summarize(&acc);
        assert_eq!(s.mi_account.as_deref(), Some("1234567890"));
        assert_eq!(s.google_accounts, 2);
    }

    #[test]
    fn masked_and_unactivated_mi_accounts_count() {
        let s = summarize(&parse_dumpsys_account(
            "User UserInfo{999:XSpace:801010}:\n    Account {name=12****90, type=com.xiaomi.unactivated}\n",
        ));
        assert_eq!(s.mi_account.as_deref(), Some("12****90"));
    }

    #[test]
    fn no_accounts_truncated_and_garbage() {
        assert_eq!(
            summarize(&parse_dumpsys_account(
                "User UserInfo{0:Owner:c13}:\n  Accounts: 0\n"
            )),
            AccountSummary::default()
        );
        assert!(parse_dumpsys_account("    Account {name=cut, ty").is_empty());
        assert!(parse_dumpsys_account("Can't find service: account\n").is_empty());
        let odd = parse_dumpsys_account("Account {name=a, type=b, type=com.google}");
        assert_eq!(odd[0].kind, "com.google");
        assert_eq!(odd[0].name, "a, type=b");
    }
}
