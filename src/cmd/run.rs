//! `mi-offboard run [-s SERIAL] --dest DIR [--confirm SERIAL] [--password-file F]
//! [--delete-cloud-account [--confirm-account ID]] [--no-backup "reason"] [--dry-run]`:
//! the whole journey for one phone. Inspects, prints the plan, asks once for everything
//! it needs (or takes it from flags, to run unattended), then runs without questions but
//! verification codes and captchas. Resumes from the journal in DIR.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use mi_offboard::bench::phone::AdbPhone;
use mi_offboard::exit::Exit;
use mi_offboard::flow::journey::{self, JourneyEnv, JourneyPlan, Secrets, Steps, plan_for_run};
use mi_offboard::report::{Report, StepKind};

use super::bench::{JourneyArgs, host_name, open_journal, setup, stop_on_ctrl_c};
use super::common;
use super::signout::password_source;
use crate::cli::{Global, PhoneArgs};
use crate::password_help;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub journey: JourneyArgs,
    /// The phone's adb serial, typed again to confirm which phone is erased [else asked].
    #[arg(long, value_name = "SERIAL")]
    pub confirm: Option<String>,
    /// Read the Mi account password from the first line of this file [else MI_PASSWORD,
    /// else a hidden prompt].
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Also delete the owner's Xiaomi cloud account (after the sign-out), then check
    /// that the phone's IMEI is not activation-locked.
    #[arg(long)]
    pub delete_cloud_account: bool,
    /// The account id, typed to confirm its deletion [else asked].
    #[arg(long, value_name = "ID", requires = "delete_cloud_account")]
    pub confirm_account: Option<String>,
    /// Reset without a backup; the reason is recorded in the report.
    #[arg(long, value_name = "REASON")]
    pub no_backup: Option<String>,
    /// Reset even though the backup lists files the phone refused to send; they are
    /// named in the report and lost [default: the reset refuses and names them].
    #[arg(long, conflicts_with = "no_backup")]
    pub accept_unreadable: bool,
    /// Print the plan and exit without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub phone: PhoneArgs,
}

pub const HELP: &str = concat!(
    "\
Examples:
  mi-offboard run -s 4f8e2a1c --dest /srv/handover --dry-run      # the plan only
  mi-offboard run -s 4f8e2a1c --dest /srv/handover                # asks what it needs
  mi-offboard run -s 4f8e2a1c --dest /srv/handover --delete-cloud-account
  mi-offboard run -s 4f8e2a1c --dest /srv/handover --confirm 4f8e2a1c \\
      --password-file pw.txt --no-backup \"owner declined\"         # unattended

Questions, all asked up front in this order, before anything on the phone changes
(each one skipped when its flag gives the answer):
  1. with --delete-cloud-account: the Xiaomi account id, typed to confirm its deletion
     (--confirm-account ID);
  2. when the plan resets the phone: its adb serial, typed to confirm (--confirm SERIAL;
     only the adb serial shown by `mi-offboard devices` is accepted);
  3. when the phone is signed in to a Mi account, or the cloud account is deleted: the
     Mi account password (--password-file, MI_PASSWORD).
After that it asks nothing but Xiaomi's verification codes and captchas. When standard
input is not a terminal, the questions are not asked: a missing answer is exit 2, and
codes are read from standard input line by line.

",
    password_help!(),
    "
Exit codes (the report's code, unchanged):
  0  every planned step done and verified
  1  a step failed for another reason (a screen not recognised, ...)
  2  usage error, or an answer is missing (no password, no --confirm when not asked)
  3  refused by a precondition or an interlock, nothing changed; or --confirm /
     --confirm-account do not match the phone
  4  a password, verification code or captcha answer was refused
  5  the phone was unplugged or stopped answering: run the same command to resume"
);

/// Asks a question on the terminal, or reads a line from standard input when it is
/// not one. None when nothing can be read.
fn ask_line(prompt: &str) -> Option<String> {
    eprint!("{prompt}");
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => Some(line.trim().to_owned()),
        _ => {
            eprintln!();
            None
        }
    }
}

fn print_plan(serial: &str, plan: &JourneyPlan, inspection: &journey::Inspection, resumed: bool) {
    eprintln!(
        "Plan for {serial}{}:",
        if resumed {
            " (resuming an earlier run)"
        } else {
            ""
        }
    );
    for (i, line) in plan.describe(inspection).iter().enumerate() {
        eprintln!("  {}. {line}", i + 1);
    }
}

fn print_report(report: &Report, dest: &std::path::Path, json: bool) -> Exit {
    if json {
        match serde_json::to_string_pretty(report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("mi-offboard: cannot print the report: {e}"),
        }
    } else {
        println!(
            "{}: {}",
            report.outcome.status.as_str(),
            report.outcome.summary
        );
        let dir = mi_offboard::report::phone_dir(dest, &report.serial);
        println!("report: {}", dir.join("report.json").display());
        println!("certificate: {}", dir.join("report.html").display());
    }
    common::exit_of(report.outcome.exit_code)
}

pub async fn run(args: RunArgs, global: &Global) -> Exit {
    journey_of_one(args, global)
        .await
        .unwrap_or_else(|exit| exit)
}

async fn journey_of_one(args: RunArgs, global: &Global) -> Result<Exit, Exit> {
    let (lines, shared) = setup(&args.journey, global, args.accept_unreadable).await?;
    let serial = common::select(&shared.adb, global)
        .await
        .map_err(|e| common::fail_adb(&e))?
        .0
        .serial()
        .to_owned();
    let phone = AdbPhone::new(shared, &serial);

    if args.dry_run {
        // Read-only: nothing is written, not even the journal.
        let inspection = phone.inspect().await.map_err(|e| common::fail(&e))?.value;
        let account = args.confirm_account.as_deref().or(inspection
            .accounts
            .mi_account_id
            .as_deref()
            .filter(|_| args.delete_cloud_account));
        match plan_for_run(&inspection, args.no_backup.as_deref(), account) {
            Ok(plan) => print_plan(&serial, &plan, &inspection, false),
            Err(refusal) => {
                eprintln!("{serial} would be refused, nothing would change:");
                for r in &refusal.reasons {
                    eprintln!("  - {r}");
                }
            }
        }
        return Ok(Exit::Ok);
    }

    let journal = open_journal(&args.journey.dest)?;
    let host = host_name();
    let env = JourneyEnv {
        journal: &journal,
        dest: &args.journey.dest,
        mode: "run",
        host: &host,
        issued_by: None,
        reporter: lines.as_ref(),
        stop: stop_on_ctrl_c(),
    };
    let prepared = journey::prepare(&phone, env, &StepKind::ALL)
        .await
        .map_err(|e| common::fail(&e))?;
    let inspection = match &prepared.inspection {
        Ok(i) => i.clone(),
        Err(_) => return finish(prepared.inspect_failed(), &args),
    };

    // Everything the journey will need, asked once, before anything changes.
    let account = if args.delete_cloud_account {
        let typed = match args.confirm_account.clone() {
            Some(id) => Some(id),
            None if std::io::stdin().is_terminal() => {
                ask_line("Type the Xiaomi account id to delete, to confirm: ")
            }
            None => None,
        };
        match typed {
            Some(id) if !id.is_empty() => Some(id),
            _ => {
                return Err(common::usage(
                    "--delete-cloud-account needs the account id typed to confirm (--confirm-account ID)",
                ));
            }
        }
    } else {
        None
    };
    if let (Some(typed), Some(seen)) = (&account, &inspection.accounts.mi_account_id) {
        // A phone may mask the id; only a full id can contradict the typed one.
        if !seen.contains('*') && seen != typed {
            return Err(common::fail_msg(
                &format!(
                    "the phone is signed in to account {seen}, not {typed}: nothing was changed"
                ),
                Exit::Refused,
            ));
        }
    }
    let plan = match plan_for_run(&inspection, args.no_backup.as_deref(), account.as_deref()) {
        Ok(p) => p,
        Err(refusal) => return finish(prepared.refuse(&refusal), &args),
    };
    print_plan(&serial, &plan, &inspection, prepared.resumed());
    if plan.reset {
        let confirm = match args.confirm.clone() {
            Some(c) => Some(c),
            None if std::io::stdin().is_terminal() => ask_line(&format!(
                "Type the serial {serial} to confirm the factory reset: "
            )),
            None => None,
        };
        match confirm {
            Some(c) if c == serial => {}
            Some(c) => {
                return Err(common::fail_msg(
                    &format!("--confirm {c:?} is not this phone ({serial}): nothing was changed"),
                    Exit::Refused,
                ));
            }
            None => return Err(common::usage("a reset needs --confirm SERIAL")),
        }
    }
    let mut secrets = Secrets::default();
    if plan.signout || plan.cloud_delete.is_some() {
        let pw = password_source(args.password_file.clone(), serial.clone())()
            .map_err(|e| common::fail(&e))?;
        secrets.mi_password = Some(pw);
    }
    finish(prepared.execute(&plan, &secrets).await, &args)
}

fn finish(report: Result<Report, journey::JourneyError>, args: &RunArgs) -> Result<Exit, Exit> {
    let report = report.map_err(|e| common::fail(&e))?;
    Ok(print_report(&report, &args.journey.dest, args.journey.json))
}
