//! Signing one phone out of its Mi account through Xiaomi's own screens (FACTS.md §5),
//! then verifying with `dumpsys account` that no Xiaomi account remains in users 0 and
//! 999 — which means Find Device is off, as it needs the account.

use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::{FlowContext, FlowError, FlowReport, Outcome, PasswordSource, probe};
use crate::exit::Exit;
use crate::miui::ui::{Driver, FlowEnd, UiDevice};

/// Signs the phone out. Always returns a report; its `exit` is the command's exit code.
pub async fn run<D: UiDevice>(
    dev: &D,
    ctx: &FlowContext<'_>,
    password: PasswordSource<'_>,
) -> FlowReport {
    super::run_journey(dev, ctx, "signout", async |drv, secret, report| {
        journey(drv, ctx, password, secret, report).await
    })
    .await
}

async fn journey<D: UiDevice>(
    drv: &mut Driver<'_, D>,
    ctx: &FlowContext<'_>,
    password: PasswordSource<'_>,
    secret: &mut Option<SecretString>,
    report: &mut FlowReport,
) -> Result<(), FlowError> {
    let dev_serial = report.serial.clone();
    let facts = probe::accounts(drv.device()).await?;
    if !facts.is_xiaomi {
        return Err(FlowError::NotXiaomi {
            serial: dev_serial,
            manufacturer: facts.manufacturer,
        });
    }
    // A failed `dumpsys account` parses to "no accounts": never read that as signed out.
    if let Some(why) = facts.accounts_unreadable() {
        return Err(FlowError::NotVerified {
            serial: dev_serial.clone(),
            detail: format!(
                "could not read the phone's accounts ({why}), so whether it is signed in is unknown; nothing was changed. Wait until phone {dev_serial} has finished starting up, reconnect it and run signout again"
            ),
        });
    }
    if !facts.mi_signed_in() {
        report.find_device = Some("off");
        report.end(
            Outcome::AlreadySignedOut,
            Exit::Ok,
            format!("{dev_serial} is already signed out: no Xiaomi account in users 0 and 999; Find Device is off"),
        );
        return Ok(());
    }
    drv.check_input_allowed().await?;
    let pw = super::get_password(password)?;
    let pw = secret.insert(pw);

    match drv.run_flow("signout", Some(pw)).await? {
        FlowEnd::Done => {}
        FlowEnd::Outcome { outcome, .. } if outcome == "wrong_password" => {
            // Close the dialog (its Cancel is where the last dump showed it), then make
            // sure it is gone and nothing changed.
            drv.run_flow("dismiss_password", None).await?;
            if drv.look(&["mi_account"], ctx.limits.step).await?.as_deref() != Some("mi_account") {
                drv.back_out().await?;
            }
            let after = probe::accounts(drv.device()).await?;
            if !after.mi_signed_in() {
                return Err(FlowError::NotVerified {
                    serial: dev_serial,
                    detail: "the phone reported a wrong password but the account is gone".into(),
                });
            }
            return Err(FlowError::WrongPassword { serial: dev_serial });
        }
        FlowEnd::Outcome { outcome, step } => {
            return Err(FlowError::NotVerified {
                serial: dev_serial,
                detail: format!("unexpected {outcome} at step \"{step}\""),
            });
        }
    }

    // The account leaves the phone once Xiaomi's server has turned Find Device off.
    let deadline = Instant::now() + ctx.settle;
    loop {
        let f = probe::accounts(drv.device()).await?;
        if !f.mi_signed_in() {
            break;
        }
        if Instant::now() >= deadline {
            let detail = match f.accounts_unreadable() {
                Some(why) => format!(
                    "the sign-out screens were walked but the accounts could not be read to verify it ({why}); run signout again to check"
                ),
                None => format!(
                    "the sign-out screens were walked but a Xiaomi account is still listed ({} in users 0/999)",
                    f.mi_accounts.len()
                ),
            };
            return Err(FlowError::NotVerified {
                serial: dev_serial,
                detail,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    report.find_device = Some("off");
    report.end(
        Outcome::Done,
        Exit::Ok,
        format!("{dev_serial} is signed out of its Mi account (verified: no Xiaomi account in users 0 and 999); Find Device is off"),
    );
    Ok(())
}
