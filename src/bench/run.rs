//! The bench loop: follow the adb server's device list, tell the operator about phones
//! that wait for USB debugging to be allowed, start one journey task per phone that is
//! plugged in and online, let an unplugged phone end only its own task, resume a
//! phone that comes back from its checkpoint, stop taking new work on Ctrl-C, and exit
//! after `--until-idle` with nothing to do.
//!
//! Generic over where the device list comes from ([`Watch`]) and how a phone's steps are
//! made ([`PhoneFactory`]), so the loop is tested without adb; the real ones sit on the
//! adb client. Never prints: progress goes to the Reporter.

use super::intake::Intake;
use super::policy::{Decision, PhoneFacts, Policy};
use crate::exit::{Exit, HasExit};
use crate::flow::journey::{self, JourneyEnv, Refusal, Secrets, StepError, Steps};
use crate::progress::Reporter;
use crate::report::journal::Journal;
use crate::report::{OutcomeStatus, StepKind};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// One phone as the adb server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub serial: String,
    /// The model adb lists (`model:`), for the phone's progress line.
    pub model: Option<String>,
    /// In the `device` state (not offline, unauthorized, recovery, …).
    pub online: bool,
    /// In the `unauthorized` state: the phone shows "Allow USB debugging?" and nothing
    /// can be read from it until someone taps Allow (adb then lists it as `device`).
    pub unauthorized: bool,
}

/// The server's device list, as whole snapshots: the first is the list now, then one
/// per change.
pub trait Watch: Send {
    fn next(&mut self) -> impl Future<Output = Result<Vec<Seen>, StepError>> + Send;
}

/// What the bench itself tells the face, besides each journey's progress.
pub trait BenchEvents: Send + Sync {
    /// A phone appeared in the list (or came back); its line can show the model.
    fn plugged(&self, _serial: &str, _model: Option<&str>) {}
    /// A phone left the list.
    fn unplugged(&self, _serial: &str) {}
    /// A phone is listed as `unauthorized` (once per time it turns so): someone must
    /// accept the "Allow USB debugging?" prompt on it; its journey starts when adb lists
    /// it as `device`.
    fn unauthorized(&self, _serial: &str, _model: Option<&str>) {}
}

/// Makes the steps of one phone.
pub trait PhoneFactory: Send + Sync + 'static {
    type Phone: Steps + Send + Sync + 'static;
    fn phone(&self, serial: &str) -> Self::Phone;
}

pub struct BenchConfig {
    pub dest: PathBuf,
    pub policy: Policy,
    pub intake: Intake,
    /// Exit once no phone has needed work for this long (a phone waiting for USB
    /// debugging to be allowed is work to come).
    pub until_idle: Option<Duration>,
    /// This host's name, for a journal shared by several benches.
    pub host: String,
}

/// How one phone ended, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneResult {
    pub serial: String,
    pub status: OutcomeStatus,
    pub exit: i32,
    pub summary: String,
    /// The intake entry the phone was matched to (its position), when it was.
    pub intake_entry: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenchSummary {
    /// Every journey that ended, in the order they ended (a phone replugged twice
    /// appears twice).
    pub phones: Vec<PhoneResult>,
    /// True when Ctrl-C ended the bench.
    pub stopped: bool,
    /// Set when the device list could not be followed (adb server gone).
    pub watch_error: Option<String>,
    /// Intake entries no phone was matched to, as they name their phone: a serial or
    /// IMEI typed wrong, or a phone that never came, which the operator should see.
    pub intake_unmatched: Vec<String>,
}

impl BenchSummary {
    /// The process exit code: the most specific failure among the phones' latest
    /// journeys; a phone that was interrupted and later finished counts as finished.
    pub fn exit(&self) -> Exit {
        let mut latest: HashMap<&str, i32> = HashMap::new();
        for p in &self.phones {
            latest.insert(&p.serial, p.exit);
        }
        let mut exit = if self.watch_error.is_some() {
            Exit::Other
        } else {
            Exit::Ok
        };
        for code in latest.values() {
            let e = match code {
                0 => Exit::Ok,
                2 => Exit::Usage,
                3 => Exit::Refused,
                4 => Exit::Credentials,
                5 => Exit::PhoneLost,
                _ => Exit::Other,
            };
            exit = exit.worst(e);
        }
        exit
    }
}

/// Runs the bench until idle (with `until_idle`), Ctrl-C (`stop`) or the watch failing.
pub async fn run<W: Watch, F: PhoneFactory>(
    mut watch: W,
    factory: Arc<F>,
    config: Arc<BenchConfig>,
    journal: Journal,
    reporter: Arc<dyn Reporter>,
    events: Arc<dyn BenchEvents>,
    stop: CancellationToken,
) -> BenchSummary {
    let mut summary = BenchSummary::default();
    let mut tasks: JoinSet<PhoneResult> = JoinSet::new();
    let mut task_serial: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut running: HashSet<String> = HashSet::new();
    // Phones whose journey ended while still plugged in: not started again until they
    // go offline or leave the list, and come back.
    let mut handled: HashSet<String> = HashSet::new();
    let mut present: HashSet<String> = HashSet::new();
    let idle_for = config.until_idle;
    let mut idle_since = tokio::time::Instant::now();
    let mut watching = true;
    // Phones that went offline while their journey ran: when the journey ends
    // (interrupted) and the phone is back, it resumes at once.
    let mut went_away: HashSet<String> = HashSet::new();
    // Phones waiting for the "Allow USB debugging?" prompt, told to the operator once.
    let mut waiting_auth: HashSet<String> = HashSet::new();
    let spawn_in = |tasks: &mut JoinSet<PhoneResult>,
                    task_serial: &mut HashMap<tokio::task::Id, String>,
                    serial: &str| {
        let task = phone_task(
            serial.to_owned(),
            factory.clone(),
            config.clone(),
            journal.clone(),
            reporter.clone(),
            stop.clone(),
        );
        let handle = tasks.spawn(task);
        task_serial.insert(handle.id(), serial.to_owned());
    };

    loop {
        let idle_deadline = idle_for.map(|d| idle_since + d);
        tokio::select! {
            biased;
            _ = stop.cancelled(), if !summary.stopped => {
                summary.stopped = true;
                watching = false;
            }
            update = watch.next(), if watching && !stop.is_cancelled() => {
                match update {
                    Ok(list) => {
                        let now: HashSet<String> = list.iter().filter(|s| s.online).map(|s| s.serial.clone()).collect();
                        let was_waiting = !waiting_auth.is_empty();
                        for seen in list.iter().filter(|s| s.unauthorized) {
                            if waiting_auth.insert(seen.serial.clone()) {
                                events.unauthorized(&seen.serial, seen.model.as_deref());
                            }
                        }
                        waiting_auth.retain(|s| list.iter().any(|l| l.unauthorized && &l.serial == s));
                        // A phone waiting for its prompt is work to come: idle starts after.
                        if was_waiting && waiting_auth.is_empty() {
                            idle_since = tokio::time::Instant::now();
                        }
                        for gone in present.difference(&now) {
                            events.unplugged(gone);
                        }
                        for seen in list.iter().filter(|s| s.online && !present.contains(&s.serial)) {
                            events.plugged(&seen.serial, seen.model.as_deref());
                        }
                        went_away.extend(running.iter().filter(|s| !now.contains(*s)).cloned());
                        present = now;
                        // A phone that went offline or left was unplugged (adb keeps an
                        // unplugged TCP phone listed as offline): when it is back, it is new
                        // work, resumed from its checkpoint.
                        handled.retain(|s| present.contains(s));
                        for seen in list.iter().filter(|s| s.online) {
                            // Ctrl-C may land while this list was being awaited: no new work.
                            if stop.is_cancelled() {
                                break;
                            }
                            if running.contains(&seen.serial) || handled.contains(&seen.serial) {
                                continue;
                            }
                            running.insert(seen.serial.clone());
                            spawn_in(&mut tasks, &mut task_serial, &seen.serial);
                        }
                    }
                    Err(e) => {
                        summary.watch_error = Some(e.message);
                        watching = false;
                    }
                }
            }
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let (id, result) = match joined {
                    Ok((id, r)) => (id, Some(r)),
                    Err(e) => (e.id(), None),
                };
                let serial = task_serial.remove(&id).unwrap_or_default();
                // A panicking journey must not take the bench down: it is a bug, reported
                // on that phone's line only.
                let result = result.unwrap_or_else(|| PhoneResult {
                    serial: serial.clone(),
                    status: OutcomeStatus::Failed,
                    exit: Exit::Other.code(),
                    summary: "internal error: the journey panicked".to_owned(),
                    intake_entry: None,
                });
                let back = went_away.remove(&serial) && present.contains(&serial);
                let interrupted = result.status == OutcomeStatus::Interrupted;
                summary.phones.push(result);
                if back && interrupted && !stop.is_cancelled() {
                    spawn_in(&mut tasks, &mut task_serial, &serial);
                } else {
                    running.remove(&serial);
                    if present.contains(&serial) {
                        handled.insert(serial);
                    }
                }
                if tasks.is_empty() {
                    idle_since = tokio::time::Instant::now();
                }
            }
            _ = sleep_until(idle_deadline), if tasks.is_empty() && waiting_auth.is_empty() && idle_deadline.is_some() => {
                break;
            }
        }
        if tasks.is_empty() && (!watching || summary.stopped) {
            break;
        }
    }
    // Ctrl-C or a lost watch: let running journeys reach their safe point.
    while let Some(joined) = tasks.join_next().await {
        if let Ok(result) = joined {
            summary.phones.push(result);
        }
    }
    let matched: HashSet<usize> = summary
        .phones
        .iter()
        .filter_map(|p| p.intake_entry)
        .collect();
    summary.intake_unmatched = (0..config.intake.phones.len())
        .filter(|i| !matched.contains(i))
        .map(|i| config.intake.describe(i))
        .collect();
    summary
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// One phone's journey under the policy; always returns a result for the summary.
async fn phone_task<F: PhoneFactory>(
    serial: String,
    factory: Arc<F>,
    config: Arc<BenchConfig>,
    journal: Journal,
    reporter: Arc<dyn Reporter>,
    stop: CancellationToken,
) -> PhoneResult {
    let phone = factory.phone(&serial);
    // A phone another process holds (`run` on it while the bench works) keeps its
    // refusal code, 3.
    let fail = |e: &journey::JourneyError| PhoneResult {
        serial: serial.clone(),
        status: OutcomeStatus::Failed,
        exit: e.exit().code(),
        summary: e.to_string(),
        intake_entry: None,
    };
    let env = JourneyEnv {
        journal: &journal,
        dest: &config.dest,
        mode: "bench",
        host: &config.host,
        issued_by: config.policy.issued_by.clone(),
        reporter: reporter.as_ref(),
        stop,
    };
    let prepared = match journey::prepare(&phone, env, &StepKind::ALL).await {
        Ok(p) => p,
        Err(e) => {
            reporter.finish(&serial, false, &e.to_string());
            return fail(&e);
        }
    };
    let mut matched = None;
    let report = match &prepared.inspection {
        Err(_) => prepared.inspect_failed(),
        Ok(inspection) => {
            matched = config
                .intake
                .index_of(&serial, inspection.device.imei.as_deref());
            let imei = inspection.device.imei.as_deref();
            let conflict = matched.and_then(|i| config.intake.imei_conflict(i, imei));
            let entry = matched.map(|i| &config.intake.phones[i]);
            let facts = PhoneFacts::from_inspection(inspection);
            let decision = match conflict {
                Some(why) => Decision::OwnerActionNeeded { reasons: vec![why] },
                None => config.policy.decide(&facts, entry),
            };
            match decision {
                Decision::OwnerActionNeeded { reasons } => prepared.refuse(&Refusal { reasons }),
                Decision::Proceed(plan) => {
                    let secrets = Secrets {
                        mi_password: entry.and_then(|e| e.mi_password.clone()),
                    };
                    prepared.execute(&plan.journey_plan(), &secrets).await
                }
            }
        }
    };
    match report {
        Ok(r) => PhoneResult {
            serial: serial.clone(),
            status: r.outcome.status,
            exit: r.outcome.exit_code,
            summary: r.outcome.summary,
            intake_entry: matched,
        },
        Err(e) => {
            reporter.finish(&serial, false, &e.to_string());
            PhoneResult {
                intake_entry: matched,
                ..fail(&e)
            }
        }
    }
}
