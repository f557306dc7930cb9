//! The simulated Settings UI of a Xiaomi phone: a screen state machine driven by
//! `am start` and `input`, read back by `uiautomator dump` (XML as the real tool writes
//! it) and `screencap -p`. It models MIUI 14 and HyperOS 1/2 in English and Chinese:
//! the Mi account page and its sign-out dialogs, Xiaomi's MiuiMasterClear reset flow
//! with count-down buttons and the Find Device password, the stock AOSP reset screen,
//! and an unexpected system-update dialog as a fault. docs/sim-screens.md lists every
//! screen and says what is sourced and what is guessed.
//!
//! It acts on the phone only through [`World`] (sign out, password check, wipe
//! request); it knows nothing about the shell, the transport, timing of dumps or how a
//! wipe is carried out — the phone core owns those.

mod layout;
mod pages;
mod png;
mod xml;

use std::time::{Duration, Instant};

use super::world::{Lang, WipeKind, World};
use crate::sim::device::ShellOutput;
use xml::Node;

/// Which Xiaomi firmware family the screens imitate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OsFlavour {
    #[default]
    Miui14,
    HyperOs1,
    HyperOs2,
}

/// How the UI looks and behaves, and the faults that live in it.
#[derive(Debug, Clone, Default)]
pub struct UiConfig {
    /// Firmware family: layouts, some class names and non-key ids, some texts.
    pub os: OsFlavour,
    /// Show an unexpected dialog (a system update prompt) over the next screen opened;
    /// it stays on top of everything until dismissed ("Later" or BACK).
    pub unexpected_dialog: bool,
    /// Length of each count-down on the reset confirmations. Real phones count 5–10 s;
    /// the default (zero) enables the buttons at once, for fast tests.
    pub countdown: Duration,
    /// The next N dumps fail with "ERROR: could not get idle state." (a busy screen).
    pub idle_failures: u32,
    /// The stock reset screen as before Android 12 (`MasterClear`, ids
    /// `initiate_master_clear`/`execute_master_clear`). The default is Android 12+
    /// (`MainClear`, `initiate_main_clear`/`execute_main_clear`), what MIUI 14 and
    /// HyperOS are built on [aosp].
    pub stock_reset_pre12: bool,
}

/// What tapping a node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Noop,
    Back,
    Home,
    OpenSettings,
    OpenAbout,
    OpenAccount,
    OpenMasterClear,
    SignOut,
    FocusPassword,
    DialogOk,
    DialogCancel,
    RemoveData,
    KeepData,
    EraseAllData,
    StockErase,
    StockConfirm,
    UpdateLater,
    UpdateNow,
}

/// An activity on the back stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Page {
    Home,
    Settings,
    About,
    Account,
    MasterClear,
    StockReset,
    StockConfirm,
    Updater,
    Wiping,
}

/// A password field in a dialog. The typed text never leaves this struct except as
/// bullets in a dump and as the argument of [`World::password_ok`].
#[derive(Clone, Default)]
pub struct PasswordBox {
    typed: String,
    error: bool,
    focused: bool,
}

impl std::fmt::Debug for PasswordBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordBox")
            .field("typed_len", &self.typed.chars().count())
            .field("error", &self.error)
            .field("focused", &self.focused)
            .finish()
    }
}

/// A dialog over the top page.
#[derive(Debug, Clone)]
enum Dialog {
    SignOutPassword(PasswordBox),
    KeepOrRemove,
    /// MiuiMasterClear confirmation STEP (1 or 2); its button enables at `until`.
    ResetConfirm {
        step: u8,
        until: Instant,
    },
    ResetPassword(PasswordBox),
}

/// What the UI was asked to do, for benchmarks and the state file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UiCounters {
    pub am_starts: u64,
    pub dumps: u64,
    pub dump_errors: u64,
    pub taps: u64,
    /// Taps that landed on an enabled clickable node.
    pub taps_hit: u64,
    pub texts: u64,
    pub keys: u64,
}

/// The screen state machine of one phone.
#[derive(Debug)]
pub struct Ui {
    config: UiConfig,
    stack: Vec<Page>,
    dialog: Option<Dialog>,
    /// The system-update dialog is showing over everything.
    update_dialog: bool,
    /// The soft keyboard is up (after a tap on a text field).
    ime: bool,
    screen_on: bool,
    /// Added to the real clock: tests move time forward without sleeping.
    skew: Duration,
    counters: UiCounters,
}

impl Default for Ui {
    fn default() -> Ui {
        Ui::new(UiConfig::default())
    }
}

const KEY_HOME: u32 = 3;
const KEY_BACK: u32 = 4;
const KEY_POWER: u32 = 26;
const KEY_ENTER: u32 = 66;
const KEY_DEL: u32 = 67;
const KEY_SLEEP: u32 = 223;
const KEY_WAKEUP: u32 = 224;

impl Ui {
    pub fn new(config: UiConfig) -> Ui {
        Ui {
            config,
            stack: vec![Page::Home],
            dialog: None,
            update_dialog: false,
            ime: false,
            screen_on: true,
            skew: Duration::ZERO,
            counters: UiCounters::default(),
        }
    }

    pub fn config(&self) -> &UiConfig {
        &self.config
    }

    /// Changes faults and costs at run time (the simulator's control interface).
    pub fn config_mut(&mut self) -> &mut UiConfig {
        &mut self.config
    }

    pub fn counters(&self) -> UiCounters {
        self.counters
    }

    /// Moves this UI's clock forward, so tests can end a count-down without sleeping.
    pub fn advance(&mut self, by: Duration) {
        self.skew += by;
    }

    fn now(&self) -> Instant {
        Instant::now() + self.skew
    }

    fn lang(world: &World) -> Lang {
        world.lang
    }

    fn top(&self) -> Page {
        self.stack.last().copied().unwrap_or(Page::Home)
    }

    /// Opens PAGE as a new activity on top, dropping any dialog of the old one.
    fn open(&mut self, page: Page) {
        self.dialog = None;
        self.ime = false;
        if self.top() != page {
            self.stack.push(page);
        }
    }

    /// `am start ARGS…` (args after `start`).
    pub fn am_start(&mut self, world: &mut World, args: &[String]) -> ShellOutput {
        self.counters.am_starts += 1;
        let intent = match Intent::parse(args) {
            Ok(i) => i,
            Err(msg) => return fail(format!("Error: {msg}\n"), 255),
        };
        let mut out = ShellOutput {
            stdout: format!("Starting: Intent {{ {} }}\n", intent.describe(false)).into_bytes(),
            ..ShellOutput::default()
        };
        let Some(page) = intent.resolve() else {
            out.stderr = format!(
                "Error: Activity not started, unable to resolve Intent {{ {} }}\n",
                intent.describe(true)
            )
            .into_bytes();
            out.code = 1;
            return out;
        };
        let _ = world;
        if self.config.unexpected_dialog {
            self.config.unexpected_dialog = false;
            self.update_dialog = true;
        }
        match page {
            // `am` reports an activity already on top instead of starting it again; its
            // dialogs stay open.
            Some(page) if page == self.top() => {
                out.stdout.extend_from_slice(
                    b"Warning: Activity not started, intent has been delivered to currently running top-most instance.\n",
                );
            }
            Some(page) => self.open(page),
            None => {}
        }
        out
    }

    /// `uiautomator dump`: the XML of the current screen, or the error line uiautomator
    /// prints (e.g. "ERROR: could not get idle state.").
    pub fn dump(&mut self, world: &World) -> Result<String, String> {
        self.counters.dumps += 1;
        if self.config.idle_failures > 0 {
            self.config.idle_failures -= 1;
            self.counters.dump_errors += 1;
            return Err("ERROR: could not get idle state.".into());
        }
        match self.window(world) {
            Some(root) => Ok(xml::render(&root)),
            None => {
                self.counters.dump_errors += 1;
                Err("ERROR: null root node returned by UiTestAutomationBridge.".into())
            }
        }
    }

    /// The active window's view tree (what uiautomator dumps), None with the screen off.
    fn window(&self, world: &World) -> Option<Node> {
        if !self.screen_on {
            return None;
        }
        let os = self.config.os;
        let lang = Self::lang(world);
        if self.update_dialog {
            return Some(pages::update_dialog(os, lang));
        }
        if let Some(d) = &self.dialog {
            return Some(match d {
                Dialog::SignOutPassword(pw) => pages::sign_out_password(os, lang, pw, self.ime),
                Dialog::KeepOrRemove => pages::keep_or_remove(os, lang),
                Dialog::ResetConfirm { step, until } => {
                    pages::reset_confirm(os, lang, *step, self.remaining(*until))
                }
                Dialog::ResetPassword(pw) => pages::reset_password(os, lang, pw, self.ime),
            });
        }
        Some(match self.top() {
            Page::Home => pages::home(lang),
            Page::Settings => pages::settings(os, lang, world),
            Page::About => pages::about(os, lang),
            Page::Account => match &world.mi_account {
                Some(id) => pages::account_signed_in(os, lang, world, id),
                None => pages::account_signed_out(os, lang),
            },
            Page::MasterClear => pages::master_clear(os, lang),
            Page::StockReset => pages::stock_reset(os, lang, false, self.config.stock_reset_pre12),
            Page::StockConfirm => pages::stock_reset(os, lang, true, self.config.stock_reset_pre12),
            Page::Updater => pages::updater(os, lang),
            Page::Wiping => pages::wiping(lang),
        })
    }

    /// Whole seconds left on a count-down, rounded up as the button label shows them.
    fn remaining(&self, until: Instant) -> u64 {
        let left = until.saturating_duration_since(self.now());
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }

    /// `input ARGS…` (tap X Y | text S | keyevent K | swipe …), after the phone checked
    /// that input injection is allowed.
    pub fn input(&mut self, world: &mut World, args: &[String]) -> ShellOutput {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        // `input [SOURCE] [-d DISPLAY] COMMAND ARGS`.
        if args.first().is_some_and(|a| SOURCES.contains(a)) {
            args.remove(0);
        }
        if args.first() == Some(&"-d") && args.len() >= 2 {
            args.drain(..2);
        }
        let Some((&cmd, rest)) = args.split_first() else {
            return usage();
        };
        match cmd {
            "tap" => match rest {
                [x, y, ..] => match (x.parse::<f32>(), y.parse::<f32>()) {
                    (Ok(x), Ok(y)) => {
                        self.counters.taps += 1;
                        self.tap(world, x as i32, y as i32);
                        ShellOutput::default()
                    }
                    _ => number_error(x, y),
                },
                _ => usage(),
            },
            "text" => match rest.first() {
                Some(s) => self.text(s),
                None => usage(),
            },
            "keyevent" | "press" => {
                if rest.is_empty() && cmd == "keyevent" {
                    return usage();
                }
                let keys: Vec<&str> = if cmd == "press" {
                    vec!["DPAD_CENTER"]
                } else {
                    rest.to_vec()
                };
                for k in keys.into_iter().filter(|k| !k.starts_with("--")) {
                    self.counters.keys += 1;
                    if let Some(code) = keycode(k) {
                        self.key(world, code);
                    }
                }
                ShellOutput::default()
            }
            // Gestures change nothing on these short, unscrolled screens.
            "swipe" | "draganddrop" | "roll" | "motionevent" => ShellOutput::default(),
            _ => usage(),
        }
    }

    fn tap(&mut self, world: &mut World, x: i32, y: i32) {
        if !self.screen_on {
            return;
        }
        // With the keyboard up, touches on its area type on the keyboard (not modelled).
        if self.ime && y >= layout::IME_TOP {
            return;
        }
        let Some(root) = self.window(world) else {
            return;
        };
        let Some(node) = xml::hit(&root, x, y) else {
            return;
        };
        if !node.enabled {
            return;
        }
        let Some(action) = node.action else {
            return;
        };
        self.counters.taps_hit += 1;
        self.act(world, action);
    }

    fn act(&mut self, world: &mut World, action: Action) {
        match action {
            Action::Noop => {}
            Action::Back => self.back(),
            Action::Home => self.home(),
            Action::OpenSettings => self.open(Page::Settings),
            Action::OpenAbout => self.open(Page::About),
            Action::OpenAccount => self.open(Page::Account),
            Action::OpenMasterClear => self.open(Page::MasterClear),
            Action::SignOut => {
                if world.mi_account.is_some() {
                    self.dialog = Some(Dialog::SignOutPassword(PasswordBox::default()));
                }
            }
            Action::FocusPassword => {
                if let Some(Dialog::SignOutPassword(pw) | Dialog::ResetPassword(pw)) =
                    &mut self.dialog
                {
                    pw.focused = true;
                    self.ime = true;
                }
            }
            Action::DialogOk => self.dialog_ok(world),
            Action::DialogCancel => self.close_dialog(),
            Action::RemoveData | Action::KeepData => {
                // Either way the account leaves the phone and Find Device goes off; only
                // the local copy of synced data differs, which the simulator does not hold.
                world.sign_out_mi();
                self.close_dialog();
            }
            Action::EraseAllData => self.start_countdown(1),
            Action::StockErase => self.open(Page::StockConfirm),
            Action::StockConfirm => {
                world.request_wipe(WipeKind::Stock);
                self.open(Page::Wiping);
            }
            Action::UpdateLater => self.update_dialog = false,
            Action::UpdateNow => {
                self.update_dialog = false;
                self.open(Page::Updater);
            }
        }
    }

    fn start_countdown(&mut self, step: u8) {
        let until = self.now() + self.config.countdown;
        self.dialog = Some(Dialog::ResetConfirm { step, until });
    }

    fn dialog_ok(&mut self, world: &mut World) {
        match self.dialog.take() {
            Some(Dialog::SignOutPassword(mut pw)) => {
                if world.password_ok(&pw.typed) {
                    self.ime = false;
                    self.dialog = Some(Dialog::KeepOrRemove);
                } else {
                    // The dialog stays with its text; only the error line appears.
                    pw.error = true;
                    self.dialog = Some(Dialog::SignOutPassword(pw));
                }
            }
            Some(Dialog::ResetConfirm { step: 1, .. }) => self.start_countdown(2),
            Some(Dialog::ResetConfirm { .. }) => {
                if world.find_device_on() {
                    self.dialog = Some(Dialog::ResetPassword(PasswordBox::default()));
                } else {
                    self.wipe(world);
                }
            }
            Some(Dialog::ResetPassword(mut pw)) => {
                if world.password_ok(&pw.typed) {
                    self.wipe(world);
                } else {
                    pw.error = true;
                    self.dialog = Some(Dialog::ResetPassword(pw));
                }
            }
            other => self.dialog = other,
        }
    }

    fn wipe(&mut self, world: &mut World) {
        // Xiaomi's own path: request_wipe turns Find Device off before the wipe.
        world.request_wipe(WipeKind::MiuiMasterClear);
        self.open(Page::Wiping);
    }

    fn close_dialog(&mut self) {
        self.dialog = None;
        self.ime = false;
    }

    fn back(&mut self) {
        if self.update_dialog {
            self.update_dialog = false;
        } else if self.ime {
            // Android's BACK first hides the keyboard; the field keeps its focus.
            self.ime = false;
        } else if self.dialog.is_some() {
            self.close_dialog();
        } else if self.top() == Page::Wiping {
            // Nothing leaves the erase screen.
        } else if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    fn home(&mut self) {
        if self.top() == Page::Wiping {
            return;
        }
        self.close_dialog();
        // The update prompt is a system window: HOME does not dismiss it.
        self.stack.truncate(1);
    }

    fn key(&mut self, world: &mut World, code: u32) {
        match code {
            KEY_POWER => self.screen_on = !self.screen_on,
            KEY_WAKEUP => self.screen_on = true,
            KEY_SLEEP => self.screen_on = false,
            _ if !self.screen_on => {}
            KEY_BACK => self.back(),
            KEY_HOME => self.home(),
            KEY_DEL => {
                if let Some(pw) = self.focused_field() {
                    pw.typed.pop();
                }
            }
            // The IME's action on a password field submits nothing on these dialogs.
            KEY_ENTER => {}
            _ => {
                let _ = world;
            }
        }
    }

    fn focused_field(&mut self) -> Option<&mut PasswordBox> {
        if self.update_dialog || !self.screen_on {
            return None;
        }
        match &mut self.dialog {
            Some(Dialog::SignOutPassword(pw) | Dialog::ResetPassword(pw)) if pw.focused => Some(pw),
            _ => None,
        }
    }

    /// `input text S`: decodes `%s` as Android's `input` does, then types into the
    /// focused field, if any.
    fn text(&mut self, raw: &str) -> ShellOutput {
        self.counters.texts += 1;
        let decoded = decode_input_text(raw);
        // The virtual keyboard map has no keys for non-ASCII characters; `input` then
        // dies on a null event array and types nothing.
        if !decoded.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
            return fail(
                "Exception occurred while executing 'text':\njava.lang.NullPointerException: Attempt to get length of null array\n".into(),
                255,
            );
        }
        if let Some(pw) = self.focused_field() {
            pw.typed.push_str(&decoded);
        }
        ShellOutput::default()
    }

    /// `screencap -p`: a PNG of the current screen.
    pub fn screencap_png(&self, world: &World) -> Vec<u8> {
        let name = if self.screen_on {
            self.current()
        } else {
            "screen_off".into()
        };
        let _ = world;
        png::solid(&name)
    }

    /// Name of the current screen (the top-most window), for the observable state.
    pub fn current(&self) -> String {
        if !self.screen_on {
            return "screen_off".into();
        }
        if self.update_dialog {
            return "system_update_dialog".into();
        }
        let name = match &self.dialog {
            Some(Dialog::SignOutPassword(_)) => "signout_password",
            Some(Dialog::KeepOrRemove) => "signout_keep_or_remove",
            Some(Dialog::ResetConfirm { step: 1, .. }) => "master_clear_confirm_1",
            Some(Dialog::ResetConfirm { .. }) => "master_clear_confirm_2",
            Some(Dialog::ResetPassword(_)) => "master_clear_password",
            None => match self.top() {
                Page::Home => "home",
                Page::Settings => "settings",
                Page::About => "about_phone",
                Page::Account => "mi_account",
                Page::MasterClear => "master_clear",
                Page::StockReset => "stock_reset",
                Page::StockConfirm => "stock_reset_confirm",
                Page::Updater => "updater",
                Page::Wiping => "wiping",
            },
        };
        name.into()
    }
}

const SOURCES: [&str; 11] = [
    "keyboard",
    "mouse",
    "joystick",
    "touchnavigation",
    "touchpad",
    "trackball",
    "dpad",
    "stylus",
    "gamepad",
    "touchscreen",
    "rotaryencoder",
];

fn fail(stderr: String, code: u8) -> ShellOutput {
    ShellOutput {
        stdout: Vec::new(),
        stderr: stderr.into_bytes(),
        code,
    }
}

fn usage() -> ShellOutput {
    fail(
        "Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]\n\nThe commands and default sources are:\n      text <string> (Default: touchscreen)\n      keyevent [--longpress|--doubletap] <key code number or name> ... (Default: keyboard)\n      tap <x> <y> (Default: touchscreen)\n      swipe <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)\n".into(),
        1,
    )
}

fn number_error(x: &str, y: &str) -> ShellOutput {
    let bad = if x.parse::<f32>().is_err() { x } else { y };
    fail(
        format!(
            "Exception occurred while executing 'tap':\njava.lang.NumberFormatException: For input string: \"{bad}\"\n"
        ),
        255,
    )
}

/// Android's `input text` escape: `%s` becomes a space; every other character stays.
fn decode_input_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' && chars.peek() == Some(&'s') {
            chars.next();
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// A key name (`BACK`, `KEYCODE_BACK`) or number, as `input keyevent` takes it.
fn keycode(k: &str) -> Option<u32> {
    if let Ok(n) = k.parse::<u32>() {
        return Some(n);
    }
    let name = k.strip_prefix("KEYCODE_").unwrap_or(k);
    Some(match name {
        "HOME" => KEY_HOME,
        "BACK" => KEY_BACK,
        "POWER" => KEY_POWER,
        "ENTER" => KEY_ENTER,
        "DEL" => KEY_DEL,
        "SLEEP" => KEY_SLEEP,
        "WAKEUP" => KEY_WAKEUP,
        "MENU" => 82,
        "APP_SWITCH" => 187,
        "DPAD_CENTER" => 23,
        "TAB" => 61,
        "ESCAPE" => 111,
        "MOVE_END" => 123,
        "MOVE_HOME" => 122,
        "FORWARD_DEL" => 112,
        _ => return None,
    })
}

/// The parts of an `am start` intent the screens look at.
#[derive(Debug, Default)]
struct Intent {
    action: Option<String>,
    categories: Vec<String>,
    component: Option<(String, String)>,
    extras: Vec<(String, String)>,
}

impl Intent {
    fn parse(args: &[String]) -> Result<Intent, String> {
        let mut it = Intent::default();
        let mut i = 0;
        let next = |i: &mut usize, opt: &str| -> Result<String, String> {
            *i += 1;
            args.get(*i)
                .cloned()
                .ok_or_else(|| format!("No argument expected after \"{opt}\""))
        };
        while i < args.len() {
            let a = args[i].as_str();
            match a {
                "-a" => it.action = Some(next(&mut i, a)?),
                "-c" => it.categories.push(next(&mut i, a)?),
                "-n" => {
                    let c = next(&mut i, a)?;
                    let Some((pkg, cls)) = c.split_once('/') else {
                        return Err(format!("Bad component name: {c}"));
                    };
                    // am accepts ".Cls" and "pkg.Cls"; keep the short form it prints.
                    let short = match cls.strip_prefix(pkg) {
                        Some(rest) if rest.starts_with('.') => rest.to_string(),
                        _ => cls.to_string(),
                    };
                    it.component = Some((pkg.to_string(), short));
                }
                "--es" | "--ez" | "--ei" | "--el" | "--ef" | "--eu" => {
                    let k = next(&mut i, a)?;
                    let v = next(&mut i, a)?;
                    it.extras.push((k, v));
                }
                "-d" | "-t" | "-f" | "--user" | "-p" | "--display" | "--windowingMode"
                | "--activityType" | "-P" | "--start-profiler" | "--sampling" | "-R" => {
                    next(&mut i, a)?;
                }
                "-W"
                | "-S"
                | "-D"
                | "-N"
                | "--activity-clear-task"
                | "--activity-new-task"
                | "--activity-clear-top"
                | "--activity-single-top"
                | "--activity-no-history"
                | "--activity-reorder-to-front"
                | "--receiver-foreground" => {}
                _ if a.starts_with('-') => return Err(format!("Unknown option: {a}")),
                // A bare argument is a URI or component; the screens need neither.
                _ => {}
            }
            i += 1;
        }
        Ok(it)
    }

    /// The text inside `Intent { … }` as Android prints it; the error line also shows
    /// the NEW_TASK flag `am` adds.
    fn describe(&self, with_flags: bool) -> String {
        let mut parts = Vec::new();
        if let Some(a) = &self.action {
            parts.push(format!("act={a}"));
        }
        if !self.categories.is_empty() {
            parts.push(format!("cat=[{}]", self.categories.join(",")));
        }
        if with_flags {
            parts.push("flg=0x10000000".into());
        }
        if let Some((p, c)) = &self.component {
            parts.push(format!("cmp={p}/{c}"));
        }
        if !self.extras.is_empty() {
            parts.push("(has extras)".into());
        }
        parts.join(" ")
    }

    fn extra(&self, key: &str) -> Option<&str> {
        self.extras
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Which page the intent opens: None = unresolvable; Some(None) = resolves but
    /// shows nothing new (e.g. SubSettings with a fragment it does not know).
    fn resolve(&self) -> Option<Option<Page>> {
        if let Some((pkg, cls)) = &self.component {
            return match (pkg.as_str(), cls.as_str()) {
                ("com.xiaomi.account", ".ui.AccountSettingsActivity") => Some(Some(Page::Account)),
                ("com.android.settings", ".SubSettings") => {
                    match self.extra(":android:show_fragment") {
                        Some("com.android.settings.MiuiMasterClear") => {
                            Some(Some(Page::MasterClear))
                        }
                        _ => Some(None),
                    }
                }
                ("com.android.settings", ".Settings" | ".MainSettings") => {
                    Some(Some(Page::Settings))
                }
                ("com.miui.home", ".launcher.Launcher") => Some(Some(Page::Home)),
                _ => None,
            };
        }
        match self.action.as_deref() {
            Some("android.settings.XIAOMI_ACCOUNT_SYNC_SETTINGS") => Some(Some(Page::Account)),
            Some("android.settings.SETTINGS") => Some(Some(Page::Settings)),
            Some("android.settings.DEVICE_INFO_SETTINGS") => Some(Some(Page::About)),
            Some("com.android.settings.action.FACTORY_RESET") => Some(Some(Page::StockReset)),
            Some("android.intent.action.MAIN")
                if self
                    .categories
                    .iter()
                    .any(|c| c == "android.intent.category.HOME") =>
            {
                Some(Some(Page::Home))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
