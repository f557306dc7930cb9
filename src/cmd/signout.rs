//! `mi-offboard signout [-s SERIAL] [--password-file F]`: sign the phone out of its Mi
//! account through Xiaomi's screens and verify it. The password comes from the file,
//! else MI_PASSWORD, else a hidden prompt — never from the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use mi_offboard::adb::Device;
use mi_offboard::exit::Exit;
use mi_offboard::flow::{self, FlowContext, FlowReport};
use mi_offboard::miui::ui::{Limits, Recipes};
use mi_offboard::progress::Silent;
use mi_offboard::secret::{self, SecretError, SecretString};

use super::common;
use crate::cli::{Global, PhoneArgs};
use crate::password_help;

/// The environment variable the password may come from.
pub const PASSWORD_ENV: &str = "MI_PASSWORD";

#[derive(Debug, clap::Args)]
pub struct SignoutArgs {
    #[command(flatten)]
    pub ui: UiArgs,
    #[command(flatten)]
    pub phone: PhoneArgs,
}

pub const HELP: &str = concat!(
    "\
Examples:
  mi-offboard signout -s 4f8e2a1c                       # asks for the password (hidden)
  mi-offboard signout -s 4f8e2a1c --password-file pw.txt
  MI_PASSWORD=... mi-offboard signout --json

",
    password_help!(),
    "It is needed only while the phone is signed in to a Mi account.

Exit codes:
  0  signed out and verified (or the phone was already signed out)
  1  a screen was not the expected one: the flow stopped, the evidence is saved
  2  usage error; no password available; several phones and no -s
  3  refused, nothing changed: USB debugging (Security settings) is off, not a Xiaomi,
     or the phone is unauthorized
  4  Xiaomi's dialog refused the password: the phone is still signed in
  5  the phone was unplugged or stopped answering"
);

/// Options shared by the commands that drive the phone's screens.
#[derive(Debug, Clone, clap::Args)]
pub struct UiArgs {
    /// Read the Mi account password from the first line of this file [else MI_PASSWORD,
    /// else a hidden prompt].
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Screen recipes laid over the built-in ones (to teach a new firmware's screens).
    #[arg(long, value_name = "FILE")]
    pub recipes: Option<PathBuf>,
    /// Where the report (and, when a step fails, its screen dump and screenshot) is
    /// saved [default: ./<serial>/].
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Where the password comes from, asked only when a journey needs it.
pub fn password_source(
    file: Option<PathBuf>,
    serial: String,
) -> impl Fn() -> Result<SecretString, SecretError> + Send + Sync {
    move || {
        if let Some(f) = &file {
            return secret::from_file(f);
        }
        if let Some(s) = secret::from_env(PASSWORD_ENV) {
            return Ok(s);
        }
        let missing = SecretError::Missing {
            what: "Mi account password",
            env: PASSWORD_ENV,
        };
        if !std::io::stdin().is_terminal() {
            return Err(missing);
        }
        match rpassword::prompt_password(format!("Mi account password for {serial}: ")) {
            Ok(p) if !p.is_empty() => Ok(SecretString::from(p)),
            _ => Err(missing),
        }
    }
}

/// What every UI journey starts from: the selected phone, its serial, the recipes and
/// where its report goes.
pub struct UiPhone {
    pub dev: Device,
    pub serial: String,
    pub recipes: Recipes,
    pub report_dir: PathBuf,
}

/// Connects to the adb server, selects the phone and loads the recipes; on failure, the
/// error is already printed and the exit code is returned.
pub async fn ui_phone(ui: &UiArgs, global: &Global) -> Result<UiPhone, Exit> {
    let adb = common::connect(global)
        .await
        .map_err(|e| common::fail_adb(&e))?;
    let (dev, _) = common::select(&adb, global)
        .await
        .map_err(|e| common::fail_adb(&e))?;
    let serial = dev.serial().to_string();
    let recipes = Recipes::load(ui.recipes.as_deref()).map_err(|e| common::fail(&e))?;
    let report_dir = ui
        .report_dir
        .clone()
        .unwrap_or_else(|| flow::default_report_dir(&serial));
    Ok(UiPhone {
        dev,
        serial,
        recipes,
        report_dir,
    })
}

pub fn context<'a>(recipes: &'a Recipes, report_dir: PathBuf, global: &Global) -> FlowContext<'a> {
    FlowContext {
        recipes,
        limits: Limits {
            step: global.timeout.max(Duration::from_secs(10)),
            ..Limits::default()
        },
        report_dir,
        reporter: &Silent,
        settle: Duration::from_secs(90),
    }
}

/// Prints a journey's report: the sentence (stdout when it succeeded, stderr when not),
/// where the evidence is, or the JSON.
pub fn print_report(report: &FlowReport, json: bool) -> Exit {
    if json {
        match serde_json::to_string_pretty(report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("mi-offboard: cannot print the report: {e}"),
        }
    } else if report.exit == Exit::Ok {
        println!("{}", report.message);
    } else {
        eprintln!("mi-offboard: {}", report.message);
    }
    if !json {
        for p in &report.evidence {
            eprintln!("  saved {}", p.display());
        }
        if let Some(p) = &report.report_file {
            eprintln!("  report {}", p.display());
        }
    }
    report.exit
}

pub async fn run(args: SignoutArgs, global: &Global) -> Exit {
    let p = match ui_phone(&args.ui, global).await {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let ctx = context(&p.recipes, p.report_dir, global);
    let source = password_source(args.ui.password_file.clone(), p.serial);
    let report = flow::signout::run(&p.dev, &ctx, &source).await;
    print_report(&report, args.ui.json)
}
