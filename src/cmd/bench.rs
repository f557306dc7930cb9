//! `mi-offboard bench --dest DIR [--policy FILE] [--intake FILE] [--until-idle SECONDS]`:
//! every phone plugged in goes through the journey under the bench policy, one progress
//! line per phone, a summary table on stdout at the end. Also the progress lines that
//! `run` uses for its one phone.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mi_offboard::bench::intake::Intake;
use mi_offboard::bench::phone::{AdbFactory, AdbWatch, CloudSetup, Shared};
use mi_offboard::bench::policy::Policy;
use mi_offboard::bench::run::{self, BenchConfig, BenchEvents, BenchSummary};
use mi_offboard::cloud::{ClientOptions, Endpoints};
use mi_offboard::exit::Exit;
use mi_offboard::miui::ui::{Limits, Recipes};
use mi_offboard::progress::Reporter;
use mi_offboard::report::journal::Journal;
use tokio_util::sync::CancellationToken;

use super::cloud::{Terminal, Urls};
use super::common;
use crate::cli::Global;

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
}

/// One indicatif line per phone on stderr; plain lines when stderr is not a terminal.
pub struct Lines {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    models: Mutex<HashMap<String, String>>,
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
        b.set_style(
            ProgressStyle::with_template(
                "{prefix} {spinner} {wide_msg} {bytes:>10}/{total_bytes:<10}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.set_prefix(self.prefix(serial));
        b.enable_steady_tick(Duration::from_millis(200));
        bars.insert(serial.to_owned(), b.clone());
        Some(b)
    }

    fn say(&self, serial: &str, text: &str) {
        if self.plain {
            eprintln!("{} {text}", self.prefix(serial));
        }
    }
}

impl Reporter for Lines {
    fn step(&self, serial: &str, step: &str) {
        if let Some(b) = self.bar(serial) {
            b.set_message(step.to_owned());
        }
        self.say(serial, step);
    }
    fn start_transfer(&self, serial: &str, total_bytes: u64, _total_files: u64) {
        if let Some(b) = self.bar(serial) {
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
pub async fn setup(
    args: &JourneyArgs,
    global: &Global,
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
    let journal = open_journal(&args.journey.dest)?;
    let (lines, shared) = setup(&args.journey, global).await?;
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
    if let Some(e) = &summary.watch_error {
        eprintln!("mi-offboard: lost the adb server's device list: {e}");
    }
    if summary.stopped {
        eprintln!(
            "mi-offboard: stopped by Ctrl-C; run the bench again to resume interrupted phones"
        );
    }
}
