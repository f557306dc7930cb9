//! `mi-offboard bench --dest DIR [--policy FILE] [--intake FILE] [--until-idle SECONDS]`:
//! every phone plugged in goes through the journey under the bench policy, one progress
//! line per phone, a summary table on stdout at the end. Also the progress lines that
//! `run` uses for its one phone. The bench takes no `-s`: it processes every phone
//! plugged in, so it refuses `-s`, warns that ANDROID_SERIAL is ignored, and prints the
//! policy in force before any phone is touched.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mi_offboard::bench::intake::Intake;
use mi_offboard::bench::phone::{AdbFactory, AdbWatch, CloudSetup, Shared, UnreadableRule};
use mi_offboard::bench::policy::{BackupWhen, CloudRule, GoogleRule, MiAccountRule, Policy};
use mi_offboard::bench::run::{self, BenchConfig, BenchEvents, BenchSummary};
use mi_offboard::cloud::{ClientOptions, Endpoints};
use mi_offboard::exit::Exit;
use mi_offboard::miui::ui::{Limits, Recipes};
use mi_offboard::progress::Reporter;
use mi_offboard::report::journal::Journal;
use tokio_util::sync::CancellationToken;

use super::cloud::{Terminal, Urls};
use super::common;
use crate::cli::{AdbArgs, Global};

/// What `run` and `bench` both take: where everything goes, the recipes, the output
/// form and the account service's addresses.
#[derive(Debug, clap::Args)]
pub struct JourneyArgs {
    /// Where backups, reports and the journal go (DIR/<serial>/, DIR/journal.sqlite).
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// Screen recipes laid over the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub recipes: Option<PathBuf>,
    /// Print the outcome (run: the report; bench: the summary) as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub urls: Urls,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub journey: JourneyArgs,
    /// What the bench does without an owner present [default: the refurbisher's:
    /// no backup, refuse phones signed in to Mi or Google, reset the rest].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Owners' credentials per serial or IMEI, for owner-present batches.
    #[arg(long, value_name = "FILE")]
    pub intake: Option<PathBuf>,
    /// Exit once no phone has needed work for this many seconds (a phone waiting for
    /// "Allow USB debugging?" to be accepted keeps the bench waiting).
    #[arg(long, value_name = "SECONDS")]
    pub until_idle: Option<u64>,
    /// Not taken: declared only to refuse it with a sentence rather than clap's bare
    /// "unexpected argument" (an operator typing it believes one phone is affected).
    #[arg(short = 's', long = "serial", hide = true, value_parser = refuse_serial)]
    pub serial: Option<String>,
    #[command(flatten)]
    pub adb: AdbArgs,
}

fn refuse_serial(_: &str) -> Result<String, String> {
    Err("bench processes EVERY phone plugged in and takes no -s; \
         for one phone use `mi-offboard run -s SERIAL --dest DIR`"
        .to_owned())
}

pub const HELP: &str = "\
Examples:
  mi-offboard bench --dest /srv/bench/today                   # the default policy
  mi-offboard bench --dest /srv/bench/today --policy shop.toml
  mi-offboard bench --dest /srv/intake --policy desk.toml --intake batch.toml
  mi-offboard bench --dest /srv/bench/today --until-idle 60 --json   # for scripts

There is no -s: EVERY phone plugged in is processed (ANDROID_SERIAL is ignored, with a
warning). For one phone, use `mi-offboard run -s SERIAL --dest DIR`.

Passwords: the owners' Mi account passwords come only from the intake file (--intake),
one entry per phone; the bench asks for none and does not read MI_PASSWORD. Xiaomi's
verification codes are asked on the terminal, or read from standard input.

Exit codes (the most specific among the phones' outcomes):
  0  every phone done, or none needed work
  1  a phone failed for another reason, or the adb server's device list was lost
  2  usage error: -s given, or a bad --policy or --intake file
  3  a phone was refused (owner action needed); nothing was changed on it
  4  a password, verification code or captcha answer was refused
  5  a phone was unplugged or stopped answering mid-way: run the bench again to resume";

/// One indicatif line per phone on stderr; plain lines when stderr is not a terminal.
pub struct Lines {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    models: Mutex<HashMap<String, String>>,
    /// The last plain line per phone: the journey and the flow under it both announce
    /// a step ("reset", then "reset" again), which a log should show once.
    said: Mutex<HashMap<String, String>>,
    plain: bool,
}

impl Lines {
    pub fn new() -> Lines {
        let plain = !std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if plain {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        });
        Lines {
            multi,
            bars: Mutex::new(HashMap::new()),
            models: Mutex::new(HashMap::new()),
            said: Mutex::new(HashMap::new()),
            plain,
        }
    }

    fn prefix(&self, serial: &str) -> String {
        let model = self
            .models
            .lock()
            .ok()
            .and_then(|m| m.get(serial).cloned())
            .unwrap_or_default();
        let serial: String = serial
            .chars()
            .filter(|c| !c.is_control())
            .take(22)
            .collect();
        let model: String = model.chars().filter(|c| !c.is_control()).take(14).collect();
        format!("{serial:<22} {model:<14}")
    }

    fn bar(&self, serial: &str) -> Option<ProgressBar> {
        let mut bars = self.bars.lock().ok()?;
        if let Some(b) = bars.get(serial) {
            return Some(b.clone());
        }
        let b = self.multi.add(ProgressBar::new(0));
        b.set_style(style(false));
        b.set_prefix(self.prefix(serial));
        b.enable_steady_tick(Duration::from_millis(200));
        bars.insert(serial.to_owned(), b.clone());
        Some(b)
    }

    fn say(&self, serial: &str, text: &str) {
        if !self.plain {
            return;
        }
        if let Ok(mut said) = self.said.lock() {
            if said.get(serial).is_some_and(|last| last == text) {
                return;
            }
            said.insert(serial.to_owned(), text.to_owned());
        }
        eprintln!("{} {text}", self.prefix(serial));
    }
}

/// A phone's line: its step, and bytes with rate and time left while it transfers.
fn style(transfer: bool) -> ProgressStyle {
    let template = if transfer {
        "{prefix} {spinner} {wide_msg} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>11} {eta:>4}"
    } else {
        "{prefix} {spinner} {wide_msg}"
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Reporter for Lines {
    fn step(&self, serial: &str, step: &str) {
        if let Some(b) = self.bar(serial) {
            // A new step shows no byte counts until it starts a transfer of its own.
            b.set_style(style(false));
            b.set_message(step.to_owned());
        }
        self.say(serial, step);
    }
    fn start_transfer(&self, serial: &str, total_bytes: u64, _total_files: u64) {
        if let Some(b) = self.bar(serial) {
            b.set_style(style(true));
            b.set_length(total_bytes);
            b.set_position(0);
        }
    }
    fn advance(&self, serial: &str, bytes: u64) {
        if let Some(b) = self.bars.lock().ok().and_then(|m| m.get(serial).cloned()) {
            b.inc(bytes);
        }
    }
    fn warn(&self, serial: &str, message: &str) {
        let _ = self
            .multi
            .println(format!("{} warning: {message}", self.prefix(serial)));
        self.say(serial, &format!("warning: {message}"));
    }
    fn finish(&self, serial: &str, ok: bool, summary: &str) {
        let mark = if ok { "done" } else { "STOPPED" };
        let bar = self.bars.lock().ok().and_then(|mut m| m.remove(serial));
        if let Some(b) = bar {
            b.set_style(
                ProgressStyle::with_template("{prefix} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.finish_with_message(format!("{mark}: {summary}"));
        }
        self.say(serial, &format!("{mark}: {summary}"));
    }
}

impl BenchEvents for Lines {
    fn plugged(&self, serial: &str, model: Option<&str>) {
        if let (Some(model), Ok(mut m)) = (model, self.models.lock()) {
            m.insert(serial.to_owned(), model.to_owned());
        }
        self.say(serial, "plugged in");
    }
    fn unplugged(&self, serial: &str) {
        self.say(serial, "unplugged");
    }
    fn unauthorized(&self, serial: &str, model: Option<&str>) {
        if let (Some(model), Ok(mut m)) = (model, self.models.lock()) {
            m.insert(serial.to_owned(), model.to_owned());
        }
        let text = "waiting: accept the \"Allow USB debugging?\" prompt on the phone (tap Allow); its journey starts then";
        if let Some(b) = self.bar(serial) {
            b.set_message(text);
        }
        self.say(serial, text);
    }
}

/// The machine's name for the journal (several benches may share one database later).
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// What `run` and `bench` share to reach phones and the cloud: the recipes, the adb
/// server, the progress lines, and the account service's endpoints.
/// What every journey of this process shares; `unreadable` says which phones' resets go
/// ahead after backups that list files the phone refused to send (`run`: its flag).
pub async fn setup(
    args: &JourneyArgs,
    global: &Global,
    unreadable: impl Into<UnreadableRule>,
) -> Result<(Arc<Lines>, Arc<Shared<Terminal>>), Exit> {
    let (dest, urls) = (&args.dest, &args.urls);
    let recipes = Recipes::load(args.recipes.as_deref()).map_err(|e| common::fail(&e))?;
    let endpoints =
        Endpoints::new(&urls.account_url, &urls.find_url).map_err(|e| common::fail(&e))?;
    let adb = common::connect(global)
        .await
        .map_err(|e| common::fail_adb(&e))?;
    let lines = Arc::new(Lines::new());
    let shared = Arc::new(Shared {
        adb,
        recipes: Arc::new(recipes),
        limits: Limits {
            step: global.timeout.max(Duration::from_secs(10)),
            ..Limits::default()
        },
        settle: Duration::from_secs(90),
        reporter: lines.clone(),
        cloud: CloudSetup {
            endpoints,
            options: ClientOptions {
                captcha_dir: dest.to_owned(),
                ..ClientOptions::default()
            },
            prompter: Arc::new(Terminal),
        },
        dest: dest.to_owned(),
        unreadable: unreadable.into(),
    });
    Ok((lines, shared))
}

/// Creates DIR when needed and opens its journal.
pub fn open_journal(dest: &std::path::Path) -> Result<Journal, Exit> {
    std::fs::create_dir_all(dest).map_err(|e| {
        common::fail_msg(
            &format!("cannot create {}: {e}", dest.display()),
            Exit::Other,
        )
    })?;
    Journal::open(dest).map_err(|e| common::fail(&e))
}

/// Cancels STOP on the first Ctrl-C (running steps reach their safe point).
pub fn stop_on_ctrl_c() -> CancellationToken {
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("mi-offboard: stopping: no new step starts; running steps finish first");
            s.cancel();
        }
    });
    stop
}

pub async fn run(args: BenchArgs, global: &Global) -> Exit {
    bench(args, global).await.unwrap_or_else(|exit| exit)
}

async fn bench(args: BenchArgs, global: &Global) -> Result<Exit, Exit> {
    let policy = match &args.policy {
        Some(p) => Policy::load(p).map_err(|e| common::fail(&e))?,
        None => Policy::default(),
    };
    let intake = match &args.intake {
        Some(p) => Intake::load(p).map_err(|e| common::fail(&e))?,
        None => Intake::default(),
    };
    if std::env::var_os("ANDROID_SERIAL").is_some_and(|s| !s.is_empty()) {
        eprintln!(
            "mi-offboard: warning: ANDROID_SERIAL is set but ignored: the bench processes \
             EVERY phone plugged in (for one phone use `mi-offboard run -s SERIAL`)"
        );
    }
    eprintln!(
        "{}\n",
        wrap(
            &policy_in_force(&policy, args.policy.as_deref(), &intake),
            88
        )
    );
    let journal = open_journal(&args.journey.dest)?;
    // Each phone's reset asks its own intake entry first: the owner's word on their files.
    let unreadable = UnreadableRule::Bench {
        policy: policy.clone(),
        intake: intake.without_passwords(),
    };
    let (lines, shared) = setup(&args.journey, global, unreadable).await?;
    let tracker = shared.adb.track().await.map_err(|e| common::fail_adb(&e))?;
    let config = Arc::new(BenchConfig {
        dest: args.journey.dest.clone(),
        policy,
        intake,
        until_idle: args.until_idle.map(Duration::from_secs),
        host: host_name(),
    });
    let summary = run::run(
        AdbWatch(tracker),
        Arc::new(AdbFactory(shared)),
        config,
        journal,
        lines.clone(),
        lines,
        stop_on_ctrl_c(),
    )
    .await;
    print_summary(&summary, args.journey.json);
    Ok(summary.exit())
}

/// The policy as one paragraph an operator reads before any phone is touched.
fn policy_in_force(policy: &Policy, file: Option<&std::path::Path>, intake: &Intake) -> String {
    let source = match file {
        Some(f) => format!("from {}", f.display()),
        None => "the default refurbisher's; change it with --policy FILE".to_owned(),
    };
    let backup = match policy.backup {
        BackupWhen::Never => format!(
            "no backup (each report records the waiver: {:?})",
            policy.no_backup_reason
        ),
        BackupWhen::Always => {
            "every phone is backed up first; one whose backup fails is not reset".to_owned()
        }
        BackupWhen::OwnerPresent => {
            "phones with an intake entry are backed up first, the others are not".to_owned()
        }
    };
    let owners_said = |word: bool| {
        intake
            .phones
            .iter()
            .filter(|e| e.accept_unreadable == Some(word))
            .count()
    };
    let phones = |n: usize| {
        if n == 1 {
            "1 phone".to_owned()
        } else {
            format!("{n} phones")
        }
    };
    let backup = match (policy.backup, policy.accept_unreadable) {
        (BackupWhen::Never, _) => backup,
        (_, true) => match owners_said(false) {
            0 => format!("{backup}; files a phone refuses to send are listed and lost"),
            n => format!(
                "{backup}; files a phone refuses to send are listed and lost, except on the \
                 {} whose owner refused it in the intake file (not reset then)",
                phones(n)
            ),
        },
        (_, false) => match owners_said(true) {
            0 => backup,
            n => format!(
                "{backup}; files a phone refuses to send stop its reset, except on the {} \
                 whose owner accepted their loss in the intake file",
                phones(n)
            ),
        },
    };
    let mi = match policy.mi_account {
        MiAccountRule::Refuse => "refused (owner action needed)",
        MiAccountRule::SignOutWithIntake => {
            "signed out when the intake file holds the owner's password, else refused"
        }
    };
    let google = match policy.google_account {
        GoogleRule::Refuse => "refused",
        GoogleRule::RefuseIfFrp => "refused when it would arm reset protection (screen lock)",
    };
    let reset = if policy.reset {
        "factory reset is ON: every other phone is erased without further questions"
    } else {
        "factory reset is off: no phone is erased"
    };
    let cloud = match policy.cloud_delete {
        CloudRule::Never => "never",
        CloudRule::WhenIntakeConfirms => "only when the intake entry confirms the account id",
    };
    let owners = match intake.phones.len() {
        0 => "no intake file".to_owned(),
        1 => "1 intake entry".to_owned(),
        n => format!("{n} intake entries"),
    };
    format!(
        "Bench policy ({source}): {backup}. Phones signed in to a Mi account: {mi}. \
         Phones with a Google account: {google}. Then {reset}. Cloud account deletion: \
         {cloud}. {owners}. Every phone plugged in is processed."
    )
}

/// TEXT broken into lines of at most WIDTH characters at spaces (a longer word stays
/// whole on its own line).
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split_whitespace() {
        let n = word.chars().count();
        if line_len > 0 && line_len + 1 + n > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += n;
    }
    out
}

fn print_summary(summary: &BenchSummary, json: bool) {
    if json {
        let phones: Vec<_> = summary
            .phones
            .iter()
            .map(|p| {
                serde_json::json!({
                    "serial": p.serial,
                    "status": p.status,
                    "exit_code": p.exit,
                    "summary": p.summary,
                })
            })
            .collect();
        let v = serde_json::json!({
            "phones": phones,
            "stopped": summary.stopped,
            "watch_error": summary.watch_error,
            "intake_unmatched": summary.intake_unmatched,
            "exit_code": summary.exit().code(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    if summary.phones.is_empty() {
        println!("no phone was processed");
    }
    for p in &summary.phones {
        let serial: String = p.serial.chars().filter(|c| !c.is_control()).collect();
        println!("{serial:<22} {:<20} {}", p.status.as_str(), p.summary);
    }
    if !summary.intake_unmatched.is_empty() {
        // Typed by people: no terminal control characters reach the screen.
        let named: String = summary
            .intake_unmatched
            .join("; ")
            .chars()
            .filter(|c| !c.is_control())
            .collect();
        println!(
            "intake entries no phone matched (a serial or IMEI typed wrong, or the phone \
             never came): {named}"
        );
    }
    if let Some(e) = &summary.watch_error {
        eprintln!("mi-offboard: lost the adb server's device list: {e}");
    }
    if summary.stopped {
        eprintln!(
            "mi-offboard: stopped by Ctrl-C; run the bench again to resume interrupted phones"
        );
    }
}
