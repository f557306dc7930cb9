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

    let password_expected = facts.mi_signed_in();
    if let Err(e) = drv
        .open_reset_screen(OPEN_STEP, "master_clear", "erase_all_data")
        .await
    {
        return Err(not_confirmed_if_lost(e, &serial, "before any confirmation"));
    }
    match drv.run_flow("reset", secret.as_ref()).await {
        Ok(FlowEnd::Done) => {}
        Ok(FlowEnd::Outcome { outcome, step }) => {
            return Err(FlowError::NotVerified {
                serial,
                detail: format!("unexpected {outcome} at step \"{step}\""),
            });
        }
        Err(e) => {
            return Err(not_confirmed_if_lost(
                e,
                &serial,
                "before the last confirmation was given",
            ));
        }
    }
    let (left, erasing_seen) = wait_gone(drv, ctx, password, secret, password_expected).await?;
    report.left_adb_at = Some(left);
    report.find_device = Some("off");
    // Without the erasing screen, leaving adb right after the final confirmation is the
    // evidence; a cable pulled in that moment looks the same, so say how to be sure.
    let how = if erasing_seen {
        "it is erasing"
    } else {
        "taken as erasing (Xiaomi's erasing screen was not seen; `mi-offboard cloud lock-status --imei IMEI` confirms Find Device is off)"
    };
    report.end(
        Outcome::Done,
        Exit::Ok,
        format!(
            "{serial} confirmed the factory reset on Xiaomi's screen and left adb at {}: {how} (Find Device was turned off by Xiaomi's reset screen)",
            report.left_adb_at.as_deref().unwrap_or("?")
        ),
    );
    Ok(())
}

/// Named in the report as the first step (the tool opens the screen itself).
const OPEN_STEP: &str = "open Xiaomi's factory reset screen";

/// How long after the last accepted action (the final confirmation, or the password's
/// OK while Find Device is on) a phone that leaves adb counts as erasing. Xiaomi reboots
/// into recovery within seconds; a phone that goes much later, having shown nothing,
/// more likely lost its cable.
const LEAVES_WITHIN: Duration = Duration::from_secs(30);

/// A phone lost, silent or cut off (adb's "closed" while the cable goes) during the walk
/// to the last confirmation: nothing says the reset was accepted.
fn not_confirmed_if_lost(e: UiError, serial: &str, when: &str) -> FlowError {
    match e {
        UiError::Device(d) if !matches!(d, DeviceError::Forbidden { .. }) => {
            FlowError::ResetNotConfirmed {
                serial: serial.to_string(),
                detail: format!("the phone stopped answering {when} ({d})"),
            }
        }
        e => e.into(),
    }
}

/// What the phone has shown since the last confirmation: the evidence a reset needs.
#[derive(Debug, Default)]
struct Evidence {
    /// Xiaomi's reset screen said it is erasing.
    erasing: bool,
    /// Xiaomi asks for the Mi account password (Find Device on, or its dialog was seen).
    password_needed: bool,
    /// When the last action the reset needs was accepted: the final confirmation, or,
    /// when the password is needed, its OK.
    final_at: Option<Instant>,
    /// The last screen read since then showed the password or its error: the phone is
    /// still asking, not erasing.
    asking: bool,
}

impl Evidence {
    /// Whether a phone that left adb now has reset, or why that is not known.
    fn verdict(&self) -> Result<(), String> {
        if self.erasing {
            return Ok(());
        }
        match self.final_at {
            None => {
                Err("the phone left adb while Xiaomi's password dialog was still unanswered".into())
            }
            Some(_) if self.asking => {
                Err("the phone left adb while Xiaomi's password dialog was still open".into())
            }
            Some(at) if at.elapsed() > LEAVES_WITHIN => Err(format!(
                "the phone left adb {} s after the last confirmation without showing that it was erasing",
                at.elapsed().as_secs()
            )),
            Some(_) => Ok(()),
        }
    }
}

/// After the last confirmation: answer the password prompt if Xiaomi shows one, then
/// wait for the phone to leave adb. Returns when it left (RFC 3339) and whether the
/// erasing screen was seen. Leaving counts
/// only on evidence ([`Evidence::verdict`]): a cable pulled while the phone still asks
/// for the password is "reset NOT confirmed", exit 5.
async fn wait_gone<D: UiDevice>(
    drv: &mut Driver<'_, D>,
    ctx: &FlowContext<'_>,
    password: PasswordSource<'_>,
    secret: &mut Option<SecretString>,
    password_expected: bool,
) -> Result<(String, bool), FlowError> {
    let serial = drv.device().serial().to_string();
    let deadline = Instant::now() + ctx.settle;
    let mut ev = Evidence {
        password_needed: password_expected,
        final_at: (!password_expected).then(Instant::now),
        ..Evidence::default()
    };
    let left = |ev: &Evidence| match ev.verdict() {
        Ok(()) => Ok((super::now(), ev.erasing)),
        Err(detail) => Err(FlowError::ResetNotConfirmed {
            serial: serial.clone(),
            detail,
        }),
    };
    // Read the screen only while it can still ask something; once it is erasing, only
    // watch for the phone to go.
    let mut watch_screen = true;
    let mut next_look = Instant::now();
    loop {
        if gone(drv.device()).await? {
            return left(&ev);
        }
        if watch_screen && Instant::now() >= next_look {
            let screen = match drv
                .look(&["password_dialog", "erasing"], ctx.limits.step)
                .await
            {
                Ok(name) => name,
                Err(UiError::Device(e)) if is_lost(&e) => return left(&ev),
                // A phone going down may stop answering, or have its stream closed,
                // before adb notices it left: ask again, keeping what was last seen (a
                // failed read is no evidence that the password dialog closed).
                Err(UiError::Device(DeviceError::Timeout { .. } | DeviceError::Other { .. })) => {
                    next_look = Instant::now() + Duration::from_secs(1);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            ev.asking = matches!(
                screen.as_deref(),
                Some("password_dialog" | "wrong_password")
            );
            match screen.as_deref() {
                Some("password_dialog") if ev.final_at.is_none() || !ev.password_needed => {
                    ev.password_needed = true;
                    ev.final_at = None;
                    let pw = match secret {
                        Some(pw) => pw,
                        None => secret.insert(super::get_password(password)?),
                    };
                    match drv.run_flow("reset_password", Some(pw)).await {
                        Ok(FlowEnd::Done) => {
                            ev.final_at = Some(Instant::now());
                            ev.asking = false;
                        }
                        Ok(FlowEnd::Outcome { .. }) => return refused_password(drv, &serial).await,
                        Err(e) => {
                            return Err(not_confirmed_if_lost(
                                e,
                                &serial,
                                "while the password was being entered",
                            ));
                        }
                    }
                    // Give Xiaomi's server a moment before looking again.
                    next_look = Instant::now() + Duration::from_secs(3);
                }
                Some("wrong_password") => return refused_password(drv, &serial).await,
                Some("erasing") => {
                    ev.erasing = true;
                    watch_screen = false;
                }
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

async fn refused_password<D: UiDevice, T>(
    drv: &mut Driver<'_, D>,
    serial: &str,
) -> Result<T, FlowError> {
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
        // A phone going down may time out, or have its stream closed, before adb
        // notices it left; ask again.
        Err(DeviceError::Timeout { .. } | DeviceError::Other { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
