//! The engine that walks a recipe's steps on one phone: dump, recognise, tap, type, wait
//! for count-down buttons, dismiss interruptions, and on failure save the evidence and
//! leave the phone where a person can carry on.
//!
//! Dumps cost 1.5–3 s on a real phone (FACTS.md §6), so the engine re-reads the screen
//! only when a step needs to verify something: a step may reuse the previous dump when
//! the recipe says the last action moved nothing. Knows recipes and [`UiDevice`]; knows
//! nothing about accounts, backups or what a journey means.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use super::device::{DeviceError, RESET_SCREEN_START, ShellResult, UiDevice};
use super::dump::{self, DumpError, Screen};
use super::input::{UntypeableText, input_text_commands, sh_quote};
use super::recipe::{Action, Recipes, Step};
use crate::exit::{Exit, HasExit};

/// Time limits of the engine.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a step waits for its screen when the recipe does not say.
    pub step: Duration,
    /// Pause between two dumps while waiting for a screen to settle.
    pub poll: Duration,
    /// Longest single wait on a count-down button before re-reading it.
    pub countdown_cap: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            step: Duration::from_secs(30),
            poll: Duration::from_millis(400),
            countdown_cap: Duration::from_secs(15),
        }
    }
}

/// How a UI journey failed.
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// Input injection is off: the one developer option the operator must turn on.
    #[error(
        "phone {serial} refuses simulated taps: turn on Settings → Additional settings → Developer options → \"USB debugging (Security settings)\" (persist.security.adbinput is {value:?}), then run again"
    )]
    InputDisabled { serial: String, value: String },
    /// A step did not see what it expected within its time limit.
    #[error(
        "phone {serial}: step \"{step}\" failed: {detail} (last screen: {seen}); the dump and a screenshot are saved with the report"
    )]
    StepFailed {
        serial: String,
        step: String,
        detail: String,
        seen: String,
    },
    #[error("the password cannot be typed on the phone: {0}")]
    Untypeable(#[from] UntypeableText),
    #[error("this step needs the Mi account password and none was given")]
    NoPassword,
    #[error("the recipes have no flow named {0}")]
    NoFlow(String),
    /// The screen is Android's stock reset, which skips Find Device (FACTS.md §5).
    #[error(
        "phone {serial} shows Android's stock factory reset screen, which would leave the phone locked to the owner's Mi account: nothing was tapped; only Xiaomi's own reset screen may be used"
    )]
    StockReset { serial: String },
}

impl HasExit for UiError {
    fn exit(&self) -> Exit {
        match self {
            UiError::Device(e) => e.exit(),
            UiError::InputDisabled { .. } => Exit::Refused,
            UiError::StepFailed { .. } => Exit::Other,
            UiError::Untypeable(_) => Exit::Refused,
            UiError::NoPassword | UiError::NoFlow(_) => Exit::Usage,
            UiError::StockReset { .. } => Exit::Refused,
        }
    }
}

/// How a flow ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowEnd {
    /// Every step ran.
    Done,
    /// A screen marked with an outcome appeared (e.g. `wrong_password`) during STEP.
    Outcome { outcome: String, step: String },
}

/// The cost of a journey, reported so runs can be compared with the goal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub dumps: u32,
    pub taps: u32,
    /// `input text` and `input keyevent` commands.
    pub keys: u32,
}

struct Seen {
    screen: Screen,
    /// The recipe screen it was recognised as.
    name: Option<String>,
    /// No action since it was taken.
    fresh: bool,
}

/// Walks recipes on one phone.
pub struct Driver<'a, D: UiDevice> {
    dev: &'a D,
    recipes: &'a Recipes,
    limits: Limits,
    last: Option<Seen>,
    pub counts: Counts,
    /// Names of the steps that ran, in order (for the report).
    pub steps_done: Vec<String>,
    /// The step running now (named when it fails).
    pub current_step: String,
}

impl<'a, D: UiDevice> Driver<'a, D> {
    pub fn new(dev: &'a D, recipes: &'a Recipes, limits: Limits) -> Driver<'a, D> {
        Driver {
            dev,
            recipes,
            limits,
            last: None,
            counts: Counts::default(),
            steps_done: Vec::new(),
            current_step: String::new(),
        }
    }

    fn serial(&self) -> String {
        self.dev.serial().to_string()
    }

    /// The phone this driver works on.
    pub fn device(&self) -> &'a D {
        self.dev
    }

    /// Refuses before the first tap when input injection is off (FACTS.md §4).
    pub async fn check_input_allowed(&self) -> Result<(), UiError> {
        let r = self.dev.shell("getprop persist.security.adbinput").await?;
        let value = r.stdout.trim().to_string();
        if value == "1" || value == "true" {
            Ok(())
        } else {
            Err(UiError::InputDisabled {
                serial: self.serial(),
                value,
            })
        }
    }

    /// Runs the flow NAME. PASSWORD is needed only by `type_password` steps.
    pub async fn run_flow(
        &mut self,
        name: &str,
        password: Option<&SecretString>,
    ) -> Result<FlowEnd, UiError> {
        let recipes = self.recipes;
        let steps = recipes
            .flow(name)
            .ok_or_else(|| UiError::NoFlow(name.to_string()))?;
        for (i, step) in steps.iter().enumerate() {
            self.current_step = step.name.clone();
            tracing::debug!(serial = self.dev.serial(), step = %step.name, "ui step");
            if let Some(end) = self.run_step(step, &steps[i + 1..], password).await? {
                return Ok(end);
            }
            self.steps_done.push(step.name.clone());
        }
        Ok(FlowEnd::Done)
    }

    async fn run_step(
        &mut self,
        step: &Step,
        rest: &[Step],
        password: Option<&SecretString>,
    ) -> Result<Option<FlowEnd>, UiError> {
        match step.action {
            Action::Start => {
                self.am_start(step).await?;
                Ok(None)
            }
            Action::Back => {
                self.key("KEYCODE_BACK").await?;
                Ok(None)
            }
            Action::Tap | Action::TypePassword => {
                let (Some(screen), Some(target)) = (&step.screen, &step.target) else {
                    return Err(self.failed("the recipe step has no screen or target"));
                };
                let mut want = vec![screen.as_str()];
                if step.optional {
                    // Wait for either this step's screen or the next one's, then decide.
                    if let Some(next) = rest.iter().find_map(|s| s.screen.as_deref()) {
                        want.push(next);
                    }
                }
                let limit = step
                    .timeout_secs
                    .map(Duration::from_secs)
                    .unwrap_or(self.limits.step);
                let node = match self
                    .wait_for(&want, screen, target, step.wait_enabled, step.reuse, limit)
                    .await?
                {
                    Waited::Outcome(outcome) => {
                        return Ok(Some(FlowEnd::Outcome {
                            outcome,
                            step: step.name.clone(),
                        }));
                    }
                    Waited::Other => return Ok(None), // optional step skipped
                    Waited::Target(node) => node,
                };
                if step.action == Action::Tap {
                    self.tap_node(node).await?;
                } else {
                    let pw = password.ok_or(UiError::NoPassword)?;
                    self.type_into(node, pw).await?;
                }
                Ok(None)
            }
        }
    }

    async fn am_start(&mut self, step: &Step) -> Result<(), UiError> {
        let alternatives = std::iter::once(&step.args).chain(&step.fallbacks);
        let alternatives: Vec<Vec<&str>> = alternatives
            .map(|a| a.iter().map(String::as_str).collect())
            .collect();
        match self.start_first(&alternatives).await? {
            Ok(()) => Ok(()),
            Err(tried) => Err(self.failed(&format!("the screen would not open: {tried}"))),
        }
    }

    /// `am start` with each of ALTERNATIVES until one is accepted; the inner error lists
    /// what each printed.
    async fn start_first(
        &mut self,
        alternatives: &[Vec<&str>],
    ) -> Result<Result<(), String>, UiError> {
        let mut tried = Vec::new();
        for args in alternatives {
            let line = format!(
                "am start {}",
                args.iter()
                    .map(|a| sh_quote(a))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            let r = self.shell(&line).await?;
            self.mark_stale();
            // `am start` exits 0 even when it prints "Error: Activity … does not exist".
            let out = r.all();
            if r.code.is_none_or(|c| c == 0) && !out.contains("Error") && !out.contains("Exception")
            {
                return Ok(Ok(()));
            }
            tried.push(out.lines().next().unwrap_or("").to_string());
        }
        Ok(Err(tried.join("; ")))
    }

    /// Opens Xiaomi's reset screen (MiuiMasterClear) the one hard-coded way
    /// ([`RESET_SCREEN_START`]; recipes cannot change where a reset starts) and waits
    /// until SCREEN shows with TARGET. The dump that sees it is reused by the flow's
    /// first tap, so this costs no extra dump. Android 12+ `SubSettings` may refuse a
    /// fragment outside its allowlist while `am start` still exits 0: the message then
    /// names that likely cause and the way by hand.
    pub async fn open_reset_screen(
        &mut self,
        step_name: &str,
        screen: &str,
        target: &str,
    ) -> Result<(), UiError> {
        self.current_step = step_name.to_string();
        let opened = self.start_first(&[RESET_SCREEN_START.to_vec()]).await?;
        let seen = match opened {
            Ok(()) => {
                self.wait_for(&[screen], screen, target, false, false, self.limits.step)
                    .await
            }
            Err(printed) => Err(self.failed(&printed)),
        };
        match seen {
            Ok(Waited::Target(_)) => {
                self.steps_done.push(step_name.to_string());
                Ok(())
            }
            Ok(_) | Err(UiError::StepFailed { .. }) if self.on_stock_reset() => {
                Err(UiError::StockReset {
                    serial: self.serial(),
                })
            }
            Ok(_) | Err(UiError::StepFailed { .. }) => Err(self.failed(RESET_SCREEN_REFUSED)),
            Err(e) => Err(e),
        }
    }

    /// Shell through the guard, with the injection refusal recognised.
    async fn shell(&self, cmd: &str) -> Result<ShellResult, UiError> {
        super::device::check_command(self.dev.serial(), cmd)?;
        Ok(self.dev.shell(cmd).await?)
    }

    async fn input(&mut self, cmd: &str) -> Result<(), UiError> {
        let r = self.shell(cmd).await?;
        self.mark_stale();
        self.check_injection(&r)
    }

    fn check_injection(&self, r: &ShellResult) -> Result<(), UiError> {
        let out = r.all();
        if out.contains("INJECT_EVENTS") || out.contains("SecurityException") {
            return Err(UiError::InputDisabled {
                serial: self.serial(),
                value: "0".into(),
            });
        }
        Ok(())
    }

    /// Presses a key (`KEYCODE_BACK`, …).
    pub async fn key(&mut self, key: &str) -> Result<(), UiError> {
        self.counts.keys += 1;
        self.input(&format!("input keyevent {key}")).await
    }

    async fn tap_node(&mut self, node: usize) -> Result<(), UiError> {
        let Some(seen) = &self.last else {
            return Err(self.failed("no screen read before a tap"));
        };
        if self.on_stock_reset() {
            return Err(UiError::StockReset {
                serial: self.serial(),
            });
        }
        let at = seen.screen.clickable_ancestor(node);
        let (x, y) = seen.screen.nodes[at].bounds.centre();
        self.counts.taps += 1;
        self.input(&format!("input tap {x} {y}")).await
    }

    /// Whether the last screen read is Android's stock reset ([`is_stock_reset`]).
    fn on_stock_reset(&self) -> bool {
        self.last
            .as_ref()
            .is_some_and(|s| is_stock_reset(&s.screen))
    }

    async fn type_into(&mut self, node: usize, pw: &SecretString) -> Result<(), UiError> {
        if self.on_stock_reset() {
            return Err(UiError::StockReset {
                serial: self.serial(),
            });
        }
        let cmds = input_text_commands(pw.expose_secret())?;
        let focused = self
            .last
            .as_ref()
            .and_then(|s| s.screen.nodes.get(node))
            .is_some_and(|n| n.focused);
        if !focused {
            self.tap_node(node).await?;
        }
        for cmd in cmds {
            self.counts.keys += 1;
            let r = self.dev.shell_secret(&SecretString::from(cmd)).await?;
            self.mark_stale();
            self.check_injection(&r)?;
        }
        Ok(())
    }

    fn mark_stale(&mut self) {
        if let Some(s) = &mut self.last {
            s.fresh = false;
        }
    }

    /// One `uiautomator dump`, retried while uiautomator reports a transient error.
    /// `/dev/tty` first; when its output holds no hierarchy at all, the same dump through
    /// a file in one round trip, and the way that worked is remembered for the phone.
    pub async fn dump(&mut self, deadline: Instant) -> Result<Screen, UiError> {
        loop {
            let known = remembered_dump_via(self.dev.serial());
            let first = known.unwrap_or(DumpVia::Tty);
            let (mut text, mut via) = (self.dump_via(first).await?, first);
            if known.is_none() && !text.contains("<hierarchy") {
                text = self.dump_via(DumpVia::File).await?;
                via = DumpVia::File;
            }
            match dump::parse(&text) {
                Ok(s) => {
                    if known.is_none() {
                        remember_dump_via(self.dev.serial(), via);
                    }
                    return Ok(s);
                }
                Err(
                    e @ (DumpError::Uiautomator(_) | DumpError::Empty | DumpError::Malformed(_)),
                ) => {
                    tracing::debug!(serial = self.dev.serial(), "dump failed: {e}");
                    if Instant::now() >= deadline {
                        return Err(self.failed(&format!("the screen could not be read: {e}")));
                    }
                    tokio::time::sleep(self.limits.poll).await;
                }
            }
        }
    }

    async fn dump_via(&mut self, via: DumpVia) -> Result<String, UiError> {
        self.counts.dumps += 1;
        let cmd = match via {
            DumpVia::Tty => "uiautomator dump /dev/tty".to_string(),
            // Emptied first: uiautomator exits 0 even when it fails, and a stale file
            // would show a screen that is no longer there. Emptied after: the dump holds
            // the owner's account id, phone number and e-mail, which must not stay behind
            // on a phone going to its next owner.
            DumpVia::File => format!(
                ": > {DUMP_FILE}; uiautomator dump {DUMP_FILE}; cat {DUMP_FILE}; : > {DUMP_FILE}"
            ),
        };
        let bytes = self.dev.exec(&cmd).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Recognises S among WANT, outcome screens and interruptions, in that order of
    /// precedence: outcome first (an error dialog sits over the dialog it belongs to).
    fn recognise(&self, s: &Screen, want: &[&str]) -> Option<String> {
        let r = self.recipes;
        r.outcome_screens()
            .map(|(n, _)| n)
            .chain(want.iter().copied())
            .chain(r.interruptions().map(|(n, _)| n))
            .find(|n| r.is_screen(s, n))
            .map(str::to_string)
    }

    /// Reads the screen until one of WANT shows (and, when it is SCREEN, TARGET is found
    /// and, if asked, enabled), an outcome screen shows, or LIMIT passes.
    async fn wait_for(
        &mut self,
        want: &[&str],
        screen: &str,
        target: &str,
        need_enabled: bool,
        reuse: bool,
        limit: Duration,
    ) -> Result<Waited, UiError> {
        let deadline = Instant::now() + limit;
        let mut dismissed = 0;
        // The previous dump is good enough when nothing happened since, or when the
        // recipe says the last action moved nothing.
        let mut use_last = self
            .last
            .as_ref()
            .is_some_and(|s| (s.fresh || reuse) && s.name.as_deref() == Some(screen));
        loop {
            if !use_last {
                let s = self.dump(deadline).await?;
                let name = self.recognise(&s, want);
                self.last = Some(Seen {
                    screen: s,
                    name,
                    fresh: true,
                });
            }
            use_last = false;
            let Some(seen) = &self.last else { continue };
            let name = seen.name.clone();
            let mut pause = self.limits.poll;
            match name.as_deref() {
                Some(n)
                    if self
                        .recipes
                        .screens
                        .get(n)
                        .is_some_and(|s| s.outcome.is_some())
                        && n != screen =>
                {
                    let outcome = self.recipes.screens[n].outcome.clone().unwrap_or_default();
                    return Ok(Waited::Outcome(outcome));
                }
                Some(n) if n == screen => {
                    if let Some(node) = self.recipes.find(&seen.screen, target) {
                        let at = seen.screen.clickable_ancestor(node);
                        let enabled =
                            seen.screen.nodes[at].enabled && seen.screen.nodes[node].enabled;
                        if !need_enabled || enabled {
                            return Ok(Waited::Target(node));
                        }
                        // A count-down button says how long it stays disabled.
                        pause = countdown(&seen.screen.nodes[node].text)
                            .map(|s| Duration::from_secs(s).min(self.limits.countdown_cap))
                            .unwrap_or(self.limits.poll);
                    }
                }
                Some(n) if want.contains(&n) => return Ok(Waited::Other),
                Some(n) => {
                    if let Some(dismiss) =
                        self.recipes.screens.get(n).and_then(|s| s.dismiss.clone())
                    {
                        if dismissed < 3 {
                            dismissed += 1;
                            tracing::info!(serial = self.dev.serial(), "dismissing {n}");
                            match self.recipes.find(&seen.screen, &dismiss) {
                                Some(node) => self.tap_node(node).await?,
                                None => self.key("KEYCODE_BACK").await?,
                            }
                            continue;
                        }
                    }
                }
                None => {}
            }
            if Instant::now() + pause > deadline {
                let seen = name.unwrap_or_else(|| "not recognised".into());
                return Err(UiError::StepFailed {
                    serial: self.serial(),
                    step: self.current_step.clone(),
                    detail: format!("expected screen {screen} with {target}"),
                    seen,
                });
            }
            tokio::time::sleep(pause).await;
        }
    }

    fn failed(&self, detail: &str) -> UiError {
        UiError::StepFailed {
            serial: self.serial(),
            step: self.current_step.clone(),
            detail: detail.to_string(),
            seen: self
                .last
                .as_ref()
                .and_then(|s| s.name.clone())
                .unwrap_or_else(|| "not recognised".into()),
        }
    }

    /// The name the last dump was recognised as.
    pub fn last_screen(&self) -> Option<&str> {
        self.last.as_ref().and_then(|s| s.name.as_deref())
    }

    /// Reads the screen again (one dump) and recognises it among CANDIDATES, outcome
    /// screens and interruptions.
    pub async fn look(
        &mut self,
        candidates: &[&str],
        limit: Duration,
    ) -> Result<Option<String>, UiError> {
        let s = self.dump(Instant::now() + limit).await?;
        let name = self.recognise(&s, candidates);
        self.last = Some(Seen {
            screen: s,
            name: name.clone(),
            fresh: true,
        });
        Ok(name)
    }

    /// Closes dialogs with BACK while the last screen read is one (or was not
    /// recognised: an unknown dialog is likelier than an unknown page), reading the
    /// screen again after each, so the phone is left on a page a person can continue
    /// from. BACK first hides an open keyboard, hence more than one press.
    pub async fn back_out(&mut self) -> Result<(), UiError> {
        for _ in 0..4 {
            let dialog = match self.last_screen() {
                Some(n) => self.recipes.screens.get(n).is_some_and(|s| s.dialog),
                None => self.last.is_some(),
            };
            if !dialog {
                return Ok(());
            }
            self.key("KEYCODE_BACK").await?;
            let all: Vec<String> = self.recipes.screens.keys().cloned().collect();
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            self.look(&all, self.limits.step).await?;
        }
        Ok(())
    }

    /// Saves the last dump (every text field blanked) and a screenshot into DIR as
    /// `<prefix>-dump.xml` and `<prefix>-screen.png`. Best effort: returns what was saved.
    ///
    /// No screenshot while the last screen read could show a password: MIUI's "show
    /// password" eye and Android's last-character echo put typed characters in the
    /// pixels, which no redaction can find.
    pub async fn save_evidence(&mut self, dir: &Path, prefix: &str) -> Vec<PathBuf> {
        let mut saved = Vec::new();
        if std::fs::create_dir_all(dir).is_err() {
            return saved;
        }
        if let Some(seen) = &self.last {
            let p = dir.join(format!("{prefix}-dump.xml"));
            if std::fs::write(&p, seen.screen.redacted_xml()).is_ok() {
                saved.push(p);
            }
        }
        if self.password_may_show() {
            tracing::info!(
                serial = self.dev.serial(),
                "no screenshot: a password field may be on screen"
            );
            return saved;
        }
        if let Ok(png) = self.dev.exec("screencap -p").await {
            if png.starts_with(b"\x89PNG") {
                let p = dir.join(format!("{prefix}-screen.png"));
                if std::fs::write(&p, png).is_ok() {
                    saved.push(p);
                }
            }
        }
        saved
    }

    /// Whether the last screen read has, or is, somewhere a password is typed.
    fn password_may_show(&self) -> bool {
        let Some(seen) = &self.last else { return false };
        let named = seen
            .name
            .as_deref()
            .is_some_and(|n| PASSWORD_SCREENS.contains(&n));
        named
            || seen
                .screen
                .nodes
                .iter()
                .any(|n| n.password || n.is_text_field())
    }
}

/// Screens of the embedded recipes where the password is typed or judged.
const PASSWORD_SCREENS: &[&str] = &["password_dialog", "wrong_password"];

/// What the operator reads when Xiaomi's reset screen does not appear. The menu path is
/// MIUI 14 / HyperOS's; older MIUI has it under Additional settings (docs/safety.md).
pub const RESET_SCREEN_REFUSED: &str = "Xiaomi's reset screen did not open: this firmware may refuse the fragment; open Settings → About phone → Factory reset by hand (older MIUI: Settings → Additional settings → Backup & reset)";

/// Resource ids of Android's stock reset screens: `MasterClear`/`MasterClearConfirm`
/// before Android 12, `MainClear`/`MainClearConfirm` since [aosp].
const STOCK_RESET_IDS: &[&str] = &[
    "com.android.settings:id/initiate_master_clear",
    "com.android.settings:id/execute_master_clear",
    "com.android.settings:id/initiate_main_clear",
    "com.android.settings:id/execute_main_clear",
];

/// Texts only the stock screen shows: its Android 12+ title [aosp]. Xiaomi's own screen
/// is titled "Factory reset" / 恢复出厂设置, and copies AOSP's description and button
/// label, so those tell nothing.
const STOCK_RESET_TEXTS: &[&str] = &[
    "Erase all data (factory reset)",
    "清除所有数据（恢复出厂设置）",
    "清除所有数据(恢复出厂设置)",
];

/// Whether S is Android's stock reset screen, which skips Find Device and leaves the
/// phone locked to the owner's account (FACTS.md §5). Hard-coded, not a recipe: a
/// recipe file cannot teach it away. Nothing is tapped on it.
pub fn is_stock_reset(s: &Screen) -> bool {
    s.nodes.iter().any(|n| {
        let text = n.text.trim();
        STOCK_RESET_IDS.contains(&n.resource_id.as_str()) || STOCK_RESET_TEXTS.contains(&text)
    })
}

/// How a phone's uiautomator gets its dump to us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DumpVia {
    /// `uiautomator dump /dev/tty`: one round trip, but `/dev/tty` needs a controlling
    /// terminal that `exec:` does not allocate; some builds then print an error or nothing.
    Tty,
    /// Written to [`DUMP_FILE`] and read back with `cat`, in the same round trip.
    File,
}

const DUMP_FILE: &str = "/data/local/tmp/mi-offboard-ui.xml";

/// Which way worked, per phone (serial), for every driver of this process: a bench
/// runs several journeys per phone and should pay the failed `/dev/tty` try once.
static DUMP_WAYS: Mutex<BTreeMap<String, DumpVia>> = Mutex::new(BTreeMap::new());

fn remembered_dump_via(serial: &str) -> Option<DumpVia> {
    let ways = DUMP_WAYS.lock().unwrap_or_else(|e| e.into_inner());
    ways.get(serial).copied()
}

fn remember_dump_via(serial: &str, via: DumpVia) {
    let mut ways = DUMP_WAYS.lock().unwrap_or_else(|e| e.into_inner());
    ways.insert(serial.to_string(), via);
}

enum Waited {
    Target(usize),
    Outcome(String),
    /// Another wanted screen showed (an optional step's screen did not appear).
    Other,
}

/// Seconds a count-down label still shows: "OK (5s)", "确定(5)", "Next (10 s)".
fn countdown(label: &str) -> Option<u64> {
    let digits: String = label
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok().map(|n: u64| n.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen_with(id: &str, text: &str) -> Screen {
        let xml = format!(
            "<hierarchy rotation=\"0\"><node text=\"{text}\" resource-id=\"{id}\" class=\"android.widget.Button\" package=\"com.android.settings\" clickable=\"true\" bounds=\"[0,0][9,9]\" /></hierarchy>"
        );
        dump::parse(&xml).unwrap()
    }

    #[test]
    fn the_stock_screen_is_known_by_old_and_android_12_ids_and_title() {
        for id in STOCK_RESET_IDS {
            assert!(is_stock_reset(&screen_with(id, "Erase all data")), "{id}");
        }
        assert!(is_stock_reset(&screen_with(
            "",
            "Erase all data (factory reset)"
        )));
        assert!(is_stock_reset(&screen_with(
            "",
            "清除所有数据（恢复出厂设置）"
        )));
        // Xiaomi's own screen: same button label, AOSP's description, its own ids.
        for (id, text) in [
            ("com.android.settings:id/erase_all_data", "Erase all data"),
            (
                "com.android.settings:id/master_clear_desc",
                "This will erase all data from your phone's internal storage, including:",
            ),
            ("", "Factory reset"),
        ] {
            assert!(!is_stock_reset(&screen_with(id, text)), "{id} {text}");
        }
    }

    /// A phone whose `exec:uiautomator dump /dev/tty` prints no hierarchy (no controlling
    /// terminal). Counts what it was asked.
    struct NoTty {
        serial: String,
        asked: std::sync::Mutex<Vec<String>>,
    }

    const XML: &str = "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\"><node text=\"Sign out\" class=\"android.widget.Button\" bounds=\"[0,0][9,9]\" /></hierarchy>";

    impl UiDevice for NoTty {
        fn serial(&self) -> &str {
            &self.serial
        }
        async fn shell(&self, _: &str) -> Result<ShellResult, DeviceError> {
            Ok(ShellResult::default())
        }
        async fn shell_secret(&self, _: &SecretString) -> Result<ShellResult, DeviceError> {
            Ok(ShellResult::default())
        }
        async fn exec(&self, cmd: &str) -> Result<Vec<u8>, DeviceError> {
            self.asked.lock().unwrap().push(cmd.to_string());
            // [guess] what such a build prints: an error about the device, exit 0.
            if cmd.contains("/dev/tty") {
                return Ok(
                    b"ERROR: could not open /dev/tty: No such device or address\r\n".to_vec(),
                );
            }
            let f = DUMP_FILE;
            if cmd == format!(": > {f}; uiautomator dump {f}; cat {f}; : > {f}") {
                return Ok(format!("UI hierchary dumped to: {f}\n{XML}").into_bytes());
            }
            Ok(Vec::new())
        }
    }

    #[tokio::test]
    async fn a_dump_falls_back_to_a_file_and_remembers_it_per_phone() {
        let dev = NoTty {
            serial: "fallback-test-phone".into(),
            asked: std::sync::Mutex::new(Vec::new()),
        };
        let recipes = Recipes::embedded().unwrap();
        let mut drv = Driver::new(&dev, &recipes, Limits::default());
        let deadline = Instant::now() + Duration::from_secs(5);
        let s = drv.dump(deadline).await.unwrap();
        assert_eq!(s.nodes[0].text, "Sign out");
        assert_eq!(dev.asked.lock().unwrap().len(), 2, "tty, then the file");
        // A later driver for the same phone goes straight to the file.
        let mut again = Driver::new(&dev, &recipes, Limits::default());
        again.dump(deadline).await.unwrap();
        let asked = dev.asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 3, "{asked:?}");
        assert!(!asked[2].contains("/dev/tty"));
        assert_eq!(drv.counts.dumps + again.counts.dumps, 3);
    }

    #[test]
    fn countdown_labels() {
        assert_eq!(countdown("OK (5s)"), Some(5));
        assert_eq!(countdown("确定(10)"), Some(10));
        assert_eq!(countdown("Next"), None);
        assert_eq!(countdown("OK (0)"), Some(1));
    }
}
