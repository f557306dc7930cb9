//! Factory reset of one phone through Xiaomi's own screen, MiuiMasterClear (FACTS.md §5):
//! the interlocks first, then its confirmations and, while Find Device is on, the Mi
//! account password it asks for. Success is the phone leaving adb after the final
//! confirmation (USB debugging is off after a reset); a phone still there is never
//! called reset.

use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::interlock::{self, ResetRequest};
use super::{FlowContext, FlowError, FlowReport, Outcome, PasswordSource, probe};
use crate::exit::Exit;
use crate::miui::ui::{DeviceError, Driver, FlowEnd, UiDevice, UiError};

/// Resets the phone. Always returns a report; its `exit` is the command's exit code.
pub async fn run<D: UiDevice>(
    dev: &D,
    ctx: &FlowContext<'_>,
    req: &ResetRequest,
    password: PasswordSource<'_>,
) -> FlowReport {
    super::run_journey(dev, ctx, "reset", async |drv, secret, report| {
        journey(drv, ctx, req, password, secret, report).await
    })
    .await
}

/// The interlocks refused; nothing on the phone was changed.
#[derive(Debug, thiserror::Error)]
#[error("reset of {serial} refused, nothing was changed: {why}")]
pub struct Refused {
    pub serial: String,
    pub why: String,
}

impl crate::exit::HasExit for Refused {
    fn exit(&self) -> Exit {
        Exit::Refused
    }
}

async fn journey<D: UiDevice>(
    drv: &mut Driver<'_, D>,
    ctx: &FlowContext<'_>,
    req: &ResetRequest,
    password: PasswordSource<'_>,
    secret: &mut Option<SecretString>,
    report: &mut FlowReport,
) -> Result<(), FlowError> {
    let serial = report.serial.clone();
    let facts = probe::for_reset(drv.device()).await?;
    let verdict = interlock::check(req, &facts);
    report.checks = verdict.checks.clone();
    report.backup = verdict.backup.clone();
    report.backup_waiver = verdict.waiver.clone();
    if !verdict.passed() {
        let r = Refused {
            serial,
            why: verdict.refusal(),
        };
        report.fail(&r);
        return Ok(());
    }
    drv.check_input_allowed().await?;
    // Xiaomi's screen asks for the Mi account password while Find Device is on; ask the
    // operator now, before the first tap, rather than halfway through.
    if facts.mi_signed_in() {
        *secret = Some(super::get_password(password)?);
    }

    match drv.run_flow("reset", secret.as_ref()).await {
        Ok(FlowEnd::Done) => {}
        Ok(FlowEnd::Outcome { outcome, step }) => {
            return Err(FlowError::NotVerified {
                serial,
                detail: format!("unexpected {outcome} at step \"{step}\""),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let left = wait_gone(drv, ctx, password, secret).await?;
    report.left_adb_at = Some(left);
    report.find_device = Some("off");
    report.end(
        Outcome::Done,
        Exit::Ok,
        format!(
            "{serial} confirmed the factory reset on Xiaomi's screen and left adb at {}: it is erasing (Find Device was turned off by Xiaomi's reset screen)",
            report.left_adb_at.as_deref().unwrap_or("?")
        ),
    );
    Ok(())
}

/// After the last confirmation: answer the password prompt if Xiaomi shows one, then
/// wait for the phone to leave adb. Returns when it left (RFC 3339).
async fn wait_gone<D: UiDevice>(
    drv: &mut Driver<'_, D>,
    ctx: &FlowContext<'_>,
    password: PasswordSource<'_>,
    secret: &mut Option<SecretString>,
) -> Result<String, FlowError> {
    let serial = drv.device().serial().to_string();
    let deadline = Instant::now() + ctx.settle;
    let mut password_given = false;
    // Read the screen only while it can still ask something; once it is erasing, only
    // watch for the phone to go.
    let mut watch_screen = true;
    let mut next_look = Instant::now();
    loop {
        if gone(drv.device()).await? {
            return Ok(super::now());
        }
        if watch_screen && Instant::now() >= next_look {
            let screen = match drv
                .look(&["password_dialog", "erasing"], ctx.limits.step)
                .await
            {
                Ok(name) => name,
                Err(UiError::Device(e)) if is_lost(&e) => return Ok(super::now()),
                Err(e) => return Err(e.into()),
            };
            match screen.as_deref() {
                Some("password_dialog") if !password_given => {
                    let pw = match secret {
                        Some(pw) => pw,
                        None => secret.insert(super::get_password(password)?),
                    };
                    match drv.run_flow("reset_password", Some(pw)).await {
                        Ok(FlowEnd::Done) => password_given = true,
                        Ok(FlowEnd::Outcome { .. }) => return refused_password(drv, &serial).await,
                        Err(UiError::Device(e)) if is_lost(&e) => return Ok(super::now()),
                        Err(e) => return Err(e.into()),
                    }
                    // Give Xiaomi's server a moment before looking again.
                    next_look = Instant::now() + Duration::from_secs(3);
                }
                Some("wrong_password") => return refused_password(drv, &serial).await,
                Some("erasing") => watch_screen = false,
                _ => next_look = Instant::now() + Duration::from_secs(2),
            }
        }
        if Instant::now() >= deadline {
            return Err(FlowError::NotVerified {
                serial,
                detail: "the last confirmation was given but the phone is still connected: the reset is NOT confirmed".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn refused_password<D: UiDevice>(
    drv: &mut Driver<'_, D>,
    serial: &str,
) -> Result<String, FlowError> {
    drv.run_flow("dismiss_password", None).await?;
    Err(FlowError::WrongPassword {
        serial: serial.to_string(),
    })
}

fn is_lost(e: &DeviceError) -> bool {
    matches!(e, DeviceError::Lost { .. })
}

/// Whether the phone has left adb.
async fn gone<D: UiDevice>(dev: &D) -> Result<bool, FlowError> {
    match dev.shell("true").await {
        Ok(_) => Ok(false),
        Err(e) if is_lost(&e) => Ok(true),
        // A phone going down may time out before adb notices it left; ask again.
        Err(DeviceError::Timeout { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
