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

/// Whether TEXT is a complete `dumpsys account` for the users that count: positive
/// evidence, since a dump that failed, timed out or was cut short parses to "no
/// accounts" just as a clean phone does. User 0's `User UserInfo{0:…}:` header must be
/// there with its `Accounts: N`, and N must equal the `Account {…}` lines that follow
/// it; likewise user 999 when its header is there (the dual-apps user exists only on
/// some phones). `Err` says what was missing, for the operator.
pub fn complete(text: &str) -> Result<(), String> {
    // Per user: (declared `Accounts: N`, `Account {` lines seen, lines that parsed).
    let mut users: Vec<(u32, Option<usize>, usize, usize)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(rest) = line.strip_prefix("User UserInfo{") {
            let id = rest
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(u32::MAX);
            users.push((id, None, 0, 0));
            continue;
        }
        let Some(u) = users.last_mut() else { continue };
        if let Some(n) = line.strip_prefix("Accounts:") {
            // Only the first count belongs to the user's account list.
            if u.1.is_none() {
                u.1 = Some(n.trim().parse().map_err(|_| {
                    format!("printed an unreadable account count for user {}", u.0)
                })?);
            }
        } else if line.starts_with("Account {") {
            u.2 += 1;
            u.3 += usize::from(!parse_dumpsys_account(line).is_empty());
        }
    }
    for id in USERS {
        let Some(&(_, declared, lines, parsed)) = users.iter().find(|u| u.0 == id) else {
            if id == 0 {
                return Err("printed no section for user 0".into());
            }
            continue;
        };
        match declared {
            None => return Err(format!("printed no account count for user {id}")),
            Some(n) if n != lines || n != parsed => {
                return Err(format!(
                    "listed {parsed} readable of {n} accounts for user {id} (dump incomplete)"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
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
    AccountSummary {
        mi_account: mi_account_names(accounts).into_iter().next(),
        google_accounts: relevant(accounts).filter(|a| a.kind == GOOGLE_TYPE).count(),
    }
}

/// Every Mi account on the users that count, as printed, user 0's first. The same
/// account usually shows once per user (Xiaomi mirrors it into the dual-apps user).
pub fn mi_account_names(accounts: &[Account]) -> Vec<String> {
    let mut names: Vec<&Account> = relevant(accounts)
        .filter(|a| MI_TYPES.contains(&a.kind.as_str()))
        .collect();
    names.sort_by_key(|a| a.user);
    names.into_iter().map(|a| a.name.clone()).collect()
}

fn relevant(accounts: &[Account]) -> impl Iterator<Item = &Account> {
    accounts.iter().filter(|a| USERS.contains(&a.user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complete_dump_is_recognised_and_failures_are_not() {
        assert_eq!(complete(DUMP), Ok(()));
        assert_eq!(
            complete("User UserInfo{0:Owner:c13}:\n  Accounts: 0\n\n  Active Sessions: 0\n"),
            Ok(())
        );
        // What a phone prints instead of a dump, early in boot or with a stuck service.
        for failed in [
            "",
            "Can't find service: account\n",
            "\n*** SERVICE 'account' DUMP TIMEOUT (10000ms) EXPIRED ***\n\n",
            "Accounts: 0\r\n",
        ] {
            assert!(complete(failed).is_err(), "{failed:?}");
        }
        // Cut short after the header, before the count or in the middle of the list.
        assert!(complete("User UserInfo{0:Owner:c13}:\r\n").is_err());
        let cut = "User UserInfo{0:Owner:c13}:\r\n  Accounts: 2\r\n    Account {name=a@gmail.com, type=com.google}\r\n    Account {name=12";
        assert!(complete(cut).unwrap_err().contains("user 0"));
        assert!(complete("User UserInfo{0:Owner:c13}:\n  Accounts: two\n").is_err());
        // User 999 is checked when it is there; other users are not.
        let d999 = "User UserInfo{0:Owner:c13}:\n  Accounts: 0\nUser UserInfo{999:XSpace:801010}:\n    Account {name=1*****89, type=com.xiaomi}\n";
        assert!(complete(d999).unwrap_err().contains("user 999"));
        let d10 = "User UserInfo{0:Owner:c13}:\n  Accounts: 0\nUser UserInfo{10:Work:1030}:\n    Account {name=77, type=com.xiaomi}\n";
        assert_eq!(complete(d10), Ok(()));
        // Every cut of a complete dump either is complete or says so; none panics.
        for cut in 0..DUMP.len() {
            if DUMP.is_char_boundary(cut) {
                let _ = complete(&DUMP[..cut]);
            }
        }
    }

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
    fn the_mi_account_of_both_users_is_listed_and_other_users_are_not() {
        let d = "User UserInfo{999:XSpace:801010}:\r\n  Accounts: 1\r\n    Account {name=1*****89, type=com.xiaomi}\r\n\
User UserInfo{0:Owner:c13}:\r\n  Accounts: 2\r\n    Account {name=1*****89, type=com.xiaomi}\r\n    Account {name=a@gmail.com, type=com.google}\r\n\
User UserInfo{10:Work:1030}:\r\n    Account {name=77, type=com.xiaomi}\r\n";
        let acc = parse_dumpsys_account(d);
        assert_eq!(mi_account_names(&acc), vec!["1*****89", "1*****89"]);
        assert_eq!(summarize(&acc).google_accounts, 1);
        assert!(mi_account_names(&parse_dumpsys_account("garbage\nAccount {")).is_empty());
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
