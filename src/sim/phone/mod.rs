//! The simulated phone: a profile ([`profile`]) with its props and accounts, a file tree
//! under `/sdcard` backed by a host directory ([`tree`], [`fs`]), the shell
//! ([`shell`]), the Settings UI ([`screens`], written separately) and the state they
//! share ([`world::World`]). [`Phone`] implements [`Device`] for the transport, carries
//! out effects that outlive a command (a wipe, a reboot, USB debugging going away), and
//! exposes its state as JSON for tests.
//!
//! It must not know ADB packets or services (that is [`crate::sim::adbd`]).

pub mod fs;
pub mod profile;
pub mod screens;
pub mod shell;
pub mod tree;
pub mod world;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::sim::device::{
    AdbAuth, Authorization, BoxFuture, Device, Link, ShellOutput, Stdin, TransportFaults,
};
use crate::sim::registry::{MiAccount, Registry};
use profile::{Identity, Profile};
use screens::{Ui, UiConfig};
pub use tree::TreeSpec;
use world::World;

/// What real phones cost in time. The default is fast (tests); [`Costs::realistic`]
/// is what a phone on USB 2 takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Costs {
    /// Added to every `uiautomator dump` (real phones: 1.5–3 s).
    pub dump_time: Duration,
    /// Throughput of the USB link, phone to host, every stream together; `None` is
    /// loopback speed. [guess] USB 2, where most Redmi and POCO phones are: adb moves
    /// about 40 MB/s there.
    pub link_bytes_per_sec: Option<u64>,
    /// Latency of one host → phone → host exchange over the link (USB scheduling plus
    /// adbd's hand-offs between its threads), added to every packet the phone sends.
    /// [guess] 0.5 ms on USB 2; zero is loopback.
    pub link_round_trip: Duration,
    /// How long the link stays down on `reboot`.
    pub reboot_time: Duration,
    /// After `reboot recovery`, come back after this long; `None` stays in recovery.
    pub recovery_time: Option<Duration>,
}

impl Default for Costs {
    fn default() -> Costs {
        Costs {
            dump_time: Duration::ZERO,
            link_bytes_per_sec: None,
            link_round_trip: Duration::ZERO,
            // Long enough that the transport and the adb server see the link go down.
            reboot_time: Duration::from_millis(500),
            recovery_time: None,
        }
    }
}

impl Costs {
    pub fn realistic() -> Costs {
        Costs {
            dump_time: Duration::from_millis(2000),
            link_bytes_per_sec: Some(40_000_000),
            link_round_trip: Duration::from_micros(500),
            reboot_time: Duration::from_secs(25),
            recovery_time: None,
        }
    }
}

/// Faults a test can switch on and off while the phone runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PhoneFaults {
    /// Close a connection after this many bytes of sync file data.
    pub drop_after_sync_bytes: Option<u64>,
    /// Sockets stay open, nothing is answered.
    pub stall: bool,
    /// Extra time for every `uiautomator dump`.
    pub slow_dump: Option<Duration>,
    /// `dumpsys SERVICE` answers as early in boot, before the service has registered:
    /// `Can't find service: SERVICE` on stderr and exit status 0, as dumpsys does.
    pub dumpsys_fail: Option<String>,
}

/// Everything needed to build one phone.
#[derive(Debug, Clone)]
pub struct PhoneSpec {
    /// A name from [`profile::PROFILES`].
    pub profile: String,
    /// Derives serial, IMEI, account ids and the file tree.
    pub seed: u64,
    pub tree: TreeSpec,
    pub costs: Costs,
    pub faults: PhoneFaults,
    pub ui: UiConfig,
    /// Host directory for the phone's files; a temporary one when `None`. An existing
    /// non-empty directory is reused as it is (a phone that kept its data).
    pub data_dir: Option<PathBuf>,
    /// Rewritten with [`Phone::state_json`] whenever the state changes.
    pub state_file: Option<PathBuf>,
    /// USB-debugging authorization. Real phones always run the AUTH handshake; the
    /// default is a user who accepts the "Allow USB debugging?" prompt at once.
    pub auth: Authorization,
}

impl Default for PhoneSpec {
    fn default() -> PhoneSpec {
        PhoneSpec {
            profile: "miui14-global".into(),
            seed: 1,
            tree: TreeSpec::default(),
            costs: Costs::default(),
            faults: PhoneFaults::default(),
            ui: UiConfig::default(),
            data_dir: None,
            state_file: None,
            auth: Authorization::Prompt { accept: true },
        }
    }
}

/// Effects a command queues for after it returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Reboot(String),
}

/// How many commands and services the state keeps (the oldest are dropped).
const LOG_CAP: usize = 5000;

/// Mutable state of a phone, behind one lock (never held across an await).
pub struct State {
    world: World,
    ui: Ui,
    props: BTreeMap<String, String>,
    /// The firmware has `persist.security.adbinput` (its value lives in the world).
    adbinput_prop: bool,
    /// The screen lock's credential (meaningful while `world.screen_lock` is set).
    lock_credential: String,
    settings: BTreeMap<String, BTreeMap<String, String>>,
    costs: Costs,
    faults: PhoneFaults,
    commands: Vec<String>,
    counters: BTreeMap<String, u64>,
    wiped: bool,
    effects: Vec<Effect>,
}

/// What adbd keeps apart from the shell's world. On a phone adbd is its own process: a
/// long shell command (`sha256sum` of a video) never holds up a file transfer, so the
/// transport must not wait for [`State`]'s lock, which a command holds while it runs.
/// (One exception, for tests only: with a state file, recording a service rewrites the
/// file and so waits for a running command.)
#[derive(Default)]
struct Adbd {
    transport: TransportFaults,
    services: Vec<String>,
    /// `service.KIND` counters, merged with [`State`]'s in [`Phone::counter`].
    counters: BTreeMap<String, u64>,
}

impl Adbd {
    fn new(costs: &Costs, faults: &PhoneFaults) -> Adbd {
        let mut a = Adbd::default();
        a.update(costs, faults);
        a
    }

    fn update(&mut self, costs: &Costs, faults: &PhoneFaults) {
        self.transport = TransportFaults {
            drop_after_sync_bytes: faults.drop_after_sync_bytes,
            stall: faults.stall,
            link: crate::sim::adbd::link::LinkCost {
                bytes_per_sec: costs.link_bytes_per_sec,
                round_trip: costs.link_round_trip,
            },
        };
    }
}

/// Xiaomi's "USB debugging (Security settings)" switch, as `getprop` shows it.
pub const ADBINPUT_PROP: &str = "persist.security.adbinput";

impl State {
    fn count(&mut self, what: &str) {
        *self.counters.entry(what.to_string()).or_default() += 1;
    }

    /// The whole `getprop` set as the phone shows it now (switches read from the world).
    pub fn props_now(&self) -> BTreeMap<String, String> {
        let mut all = self.props.clone();
        if self.adbinput_prop {
            let v = if self.world.adb_input { "1" } else { "0" };
            all.insert(ADBINPUT_PROP.to_string(), v.to_string());
        }
        all
    }
}

fn push_capped(v: &mut Vec<String>, s: String) {
    if v.len() >= LOG_CAP {
        v.remove(0);
    }
    v.push(s);
}

/// One simulated phone.
pub struct Phone {
    profile: &'static Profile,
    id: Identity,
    fs: fs::Fs,
    st: Mutex<State>,
    /// Taken after `st` or alone, never the other way round.
    adbd: Mutex<Adbd>,
    /// The CNXN banner, built once from read-only props.
    banner: String,
    link: Arc<watch::Sender<Link>>,
    /// Bumped by every link change, so a delayed "back up" of an older reboot does not
    /// undo a newer unplug.
    link_gen: Arc<AtomicU64>,
    /// The "Allow USB debugging?" answer and the accepted host keys (adb_keys).
    auth: AdbAuth,
    state_file: Option<PathBuf>,
    me: Weak<Phone>,
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phone")
            .field("profile", &self.profile.name)
            .field("serial", &self.id.serial)
            .finish()
    }
}

fn default_settings(p: &Profile, id: &Identity) -> BTreeMap<String, BTreeMap<String, String>> {
    let name = p
        .vars
        .iter()
        .find(|(k, _)| *k == "marketname" || *k == "model")
        .map(|(_, v)| *v)
        .unwrap_or("Android");
    let table = |rows: &[(&str, &str)]| -> BTreeMap<String, String> {
        rows.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let mut s = BTreeMap::new();
    s.insert(
        "global".into(),
        table(&[
            ("adb_enabled", "1"),
            ("adb_wifi_enabled", "0"),
            ("airplane_mode_on", "0"),
            ("auto_time", "1"),
            ("auto_time_zone", "1"),
            ("bluetooth_on", "0"),
            ("boot_count", "57"),
            ("data_roaming", "0"),
            ("development_settings_enabled", "1"),
            ("device_name", name),
            ("device_provisioned", "1"),
            ("mobile_data", "1"),
            ("package_verifier_user_consent", "1"),
            ("stay_on_while_plugged_in", "0"),
            ("usb_mass_storage_enabled", "1"),
            ("verifier_verify_adb_installs", "0"),
            ("wifi_on", "1"),
            ("window_animation_scale", "1.0"),
        ]),
    );
    let mut secure = table(&[
        ("accessibility_enabled", "0"),
        (
            "default_input_method",
            "com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME",
        ),
        ("install_non_market_apps", "1"),
        ("location_mode", "3"),
        ("lock_screen_lock_after_timeout", "5000"),
        ("screensaver_enabled", "0"),
        ("skip_first_use_hints", "1"),
        ("user_setup_complete", "1"),
    ]);
    secure.insert("android_id".into(), id.android_id.clone());
    secure.insert("bluetooth_name".into(), name.to_string());
    s.insert("secure".into(), secure);
    s.insert(
        "system".into(),
        table(&[
            ("accelerometer_rotation", "1"),
            ("font_scale", "1.0"),
            ("haptic_feedback_enabled", "1"),
            ("screen_brightness", "102"),
            ("screen_brightness_mode", "1"),
            ("screen_off_timeout", "30000"),
            ("sound_effects_enabled", "0"),
            ("time_12_24", "24"),
        ]),
    );
    s
}

/// Replaces what follows `input [source] text` up to the next unquoted separator with
/// `<redacted>`: a typed password must never reach a log or the state file.
pub fn redact(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(pos) = rest.find("input") {
        let (before, after) = rest.split_at(pos + "input".len());
        out.push_str(before);
        let words: Vec<&str> = after.split_whitespace().take(2).collect();
        let text_at = match words.as_slice() {
            ["text", ..] => after.find("text"),
            [src, "text", ..] if src.chars().all(|c| c.is_ascii_lowercase()) => after
                .find(src)
                .and_then(|i| after[i..].find("text").map(|j| i + j)),
            _ => None,
        };
        let Some(t) = text_at else {
            rest = after;
            continue;
        };
        let arg_start = t + "text".len();
        out.push_str(&after[..arg_start]);
        out.push_str(" <redacted>");
        // Skip the typed argument, honouring quotes, up to an unquoted separator.
        let bytes = after.as_bytes();
        let mut i = arg_start;
        let mut quote: Option<u8> = None;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'\'' || b == b'"' => quote = Some(b),
                None if b == b'\\' => i += 1,
                None if matches!(b, b';' | b'&' | b'|' | b'\n') => break,
                None => {}
            }
            i += 1;
        }
        rest = &after[i.min(after.len())..];
    }
    out.push_str(rest);
    out
}

impl Phone {
    /// Builds a phone: generates (or reuses) its files, registers its accounts in
    /// REGISTRY and binds it there with Find Device on.
    pub fn new(spec: PhoneSpec, registry: Registry) -> io::Result<Arc<Phone>> {
        let profile = profile::find(&spec.profile).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unknown profile {:?} (known: {})",
                    spec.profile,
                    profile::names().join(", ")
                ),
            )
        })?;
        let id = profile.identity(spec.seed);
        let (root, temp) = match &spec.data_dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix(&format!("mi-sim-{}-", id.serial))
                    .tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let mut fs = fs::Fs::new(root);
        fs.mark_unreadable(&format!("{}/{}", fs::PRIMARY, tree::UNREADABLE_FILE));
        let mut props = profile.props(&id, profile.adb_input);
        let build_prop: String = props
            .iter()
            .filter(|(k, _)| k.starts_with("ro.build.") || k.starts_with("ro.product.system."))
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        let fresh = !tree::has_content(&fs.primary());
        fs.create_skeleton(&build_prop)?;
        if fresh {
            tree::generate(&fs.primary(), spec.seed, &spec.tree)?;
        }

        if let (Some(acc), Some(user_id)) = (profile.mi_account, id.mi_user_id.clone()) {
            registry.add_account(MiAccount {
                user_id: user_id.clone(),
                password: acc.password.to_string(),
                email: id.mi_email.clone(),
                phone: id.mi_phone.clone(),
                two_factor: false,
                captcha: false,
                deletion_scheduled_at: None,
            });
            let model = props.get("ro.product.model").cloned().unwrap_or_default();
            registry.bind(&id.imei, &model, profile.country, &user_id);
        }
        // `World::adb_input` is the one truth for "USB debugging (Security settings)";
        // `getprop` reads it from there, so the prop leaves the table (phones without
        // the Xiaomi switch never had it).
        let adbinput_prop = props.remove(ADBINPUT_PROP).is_some();
        let world = World {
            lang: profile.lang,
            registry,
            imei: id.imei.clone(),
            model: props.get("ro.product.model").cloned().unwrap_or_default(),
            country: profile.country.to_string(),
            mi_account: id.mi_user_id.clone(),
            google_accounts: id.google_account.iter().cloned().collect(),
            screen_lock: profile.screen_lock,
            device_owner: profile.device_owner.map(str::to_string),
            no_factory_reset: profile.no_factory_reset,
            adb_input: profile.adb_input,
            wipe_requested: None,
        };
        let st = State {
            world,
            ui: Ui::new(UiConfig {
                os: profile.os,
                ..spec.ui.clone()
            }),
            settings: default_settings(profile, &id),
            props,
            adbinput_prop,
            lock_credential: shell::policy::DEMO_LOCK_PIN.to_string(),
            costs: spec.costs.clone(),
            faults: spec.faults.clone(),
            commands: Vec::new(),
            counters: BTreeMap::new(),
            wiped: false,
            effects: Vec::new(),
        };
        let (tx, _) = watch::channel(Link::Up);
        let adbd = Adbd::new(&st.costs, &st.faults);
        // Read-only props: the banner never changes, and adbd must not wait for the
        // shell's lock to send it.
        let get = |k: &str| st.props.get(k).cloned().unwrap_or_default();
        let banner = format!(
            "device::ro.product.name={};ro.product.model={};ro.product.device={};features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir,apex,fixed_push_symlink_timestamp",
            get("ro.product.name"),
            get("ro.product.model"),
            get("ro.product.device")
        );
        let phone = Arc::new_cyclic(|me| Phone {
            profile,
            id,
            fs,
            st: Mutex::new(st),
            adbd: Mutex::new(adbd),
            banner,
            link: Arc::new(tx),
            link_gen: Arc::new(AtomicU64::new(0)),
            auth: AdbAuth::new(spec.auth),
            state_file: spec.state_file.clone(),
            me: me.clone(),
            _temp: temp,
        });
        phone.write_state();
        Ok(phone)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a test thread panicked; the state is still usable.
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn adbd(&self) -> MutexGuard<'_, Adbd> {
        self.adbd.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn profile(&self) -> &'static Profile {
        self.profile
    }

    pub fn identity(&self) -> &Identity {
        &self.id
    }

    pub fn imei(&self) -> &str {
        &self.id.imei
    }

    /// The host directory behind `/storage/emulated/0` (`/sdcard`).
    pub fn sdcard_dir(&self) -> PathBuf {
        self.fs.primary()
    }

    /// The phone's host root directory.
    pub fn data_dir(&self) -> &Path {
        self.fs.root()
    }

    /// Reads or changes the account-and-lock state (tests set up odd phones this way).
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let out = f(&mut self.lock().world);
        self.after_change();
        out
    }

    /// What an operator does in Developer options → "USB debugging (Security settings)":
    /// `input` works (1) or is refused with INJECT_EVENTS (0); `getprop` follows.
    pub fn set_adb_input(&self, on: bool) {
        self.with_world(|w| w.adb_input = on);
    }

    /// Installs (`Some(component)`, e.g. `com.example.mdm/.AdminReceiver`) or removes a
    /// device owner, as `dpm set-device-owner` / `dpm remove-active-admin` would as root.
    pub fn set_device_owner(&self, component: Option<String>) {
        self.with_world(|w| w.device_owner = component);
    }

    /// Sets or clears the `no_factory_reset` user restriction of user 0 (a device owner's
    /// policy when one is installed, else a base restriction).
    pub fn set_no_factory_reset(&self, on: bool) {
        self.with_world(|w| w.no_factory_reset = on);
    }

    /// Sets (a PIN) or removes the screen lock, as the owner does in Settings.
    pub fn set_screen_lock(&self, on: bool) {
        self.with_world(|w| w.screen_lock = on);
    }

    /// Reaches the Settings UI (its faults: `config_mut()`, its clock: `advance`).
    pub fn with_ui<T>(&self, f: impl FnOnce(&mut Ui) -> T) -> T {
        let out = f(&mut self.lock().ui);
        self.write_state();
        out
    }

    /// What the user does with the "Allow USB debugging?" prompt from now on.
    pub fn set_authorization(&self, mode: Authorization) {
        self.auth.set_mode(mode);
    }

    pub fn faults_now(&self) -> PhoneFaults {
        self.lock().faults.clone()
    }

    pub fn set_faults(&self, faults: PhoneFaults) {
        {
            let mut st = self.lock();
            st.faults = faults;
            // Under `st`, so two setters cannot leave adbd with a stale mix.
            self.adbd().update(&st.costs, &st.faults);
        }
        self.write_state();
    }

    pub fn set_costs(&self, costs: Costs) {
        {
            let mut st = self.lock();
            st.costs = costs;
            self.adbd().update(&st.costs, &st.faults);
        }
        self.write_state();
    }

    /// Pulls the cable: connections close, new ones are refused until [`Phone::replug`].
    pub fn unplug(&self) {
        self.link_gen.fetch_add(1, Ordering::SeqCst);
        set_link(&self.link, Link::Down);
        self.write_state();
    }

    pub fn replug(&self) {
        self.link_gen.fetch_add(1, Ordering::SeqCst);
        set_link(&self.link, Link::Up);
        self.write_state();
    }

    pub fn link_now(&self) -> Link {
        *self.link.borrow()
    }

    /// Whether the owner's data has been wiped (a factory reset happened).
    pub fn wiped(&self) -> bool {
        self.lock().wiped
    }

    /// Commands received so far (redacted).
    pub fn commands(&self) -> Vec<String> {
        self.lock().commands.clone()
    }

    pub fn counter(&self, name: &str) -> u64 {
        let adbd = self.adbd().counters.get(name).copied();
        adbd.or_else(|| self.lock().counters.get(name).copied())
            .unwrap_or(0)
    }

    /// The observable state: identity, accounts, locks, link, screen, commands, counters.
    pub fn state_json(&self) -> serde_json::Value {
        let link = match self.link_now() {
            Link::Up => "up",
            Link::Down => "down",
            Link::Gone => "gone",
        };
        let (services, mut counters) = {
            let a = self.adbd();
            (a.services.clone(), a.counters.clone())
        };
        let st = self.lock();
        counters.extend(st.counters.iter().map(|(k, v)| (k.clone(), *v)));
        let w = &st.world;
        let dev = w.registry.device(&w.imei);
        let mut accounts = Vec::new();
        if let Some(m) = &w.mi_account {
            accounts.push(serde_json::json!({"user": 0, "name": m, "type": "com.xiaomi"}));
        }
        for g in &w.google_accounts {
            accounts.push(serde_json::json!({"user": 0, "name": g, "type": "com.google"}));
        }
        serde_json::json!({
            "profile": self.profile.name,
            "serial": self.id.serial,
            "imei": self.id.imei,
            "model": w.model,
            "lang": w.lang,
            "accounts": accounts,
            "mi_account": w.mi_account,
            "google_accounts": w.google_accounts,
            "screen_lock": w.screen_lock,
            "frp_armed": !w.google_accounts.is_empty() && w.screen_lock,
            "device_owner": w.device_owner,
            "no_factory_reset": w.no_factory_reset,
            "adb_input": w.adb_input,
            "find_device": dev.as_ref().is_some_and(|d| d.find_device),
            "activation_locked": dev.as_ref().is_some_and(|d| d.activation_locked),
            "wiped": st.wiped,
            "wipe_kind": w.wipe_requested,
            "link": link,
            "screen": st.ui.current(),
            "commands": st.commands,
            "services": services,
            "counters": counters,
            "faults": st.faults,
            "costs": st.costs,
        })
    }

    fn write_state(&self) {
        let Some(path) = &self.state_file else { return };
        let text = match serde_json::to_string_pretty(&self.state_json()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(serial = %self.id.serial, "state not serialisable: {e}");
                return;
            }
        };
        // Write then rename, so a reader never sees half a file.
        let tmp = path.with_extension("json.tmp");
        if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)) {
            tracing::warn!(serial = %self.id.serial, path = %path.display(), "cannot write state: {e}");
        }
    }

    /// Runs a command line synchronously (tests call this without a transport).
    /// Returns the output and how long the phone takes for it.
    pub fn run_shell(&self, command: &str, stdin: Vec<u8>) -> (ShellOutput, Duration) {
        let shown = redact(command);
        tracing::debug!(serial = %self.id.serial, command = %shown, "shell");
        let mut st = self.lock();
        push_capped(&mut st.commands, shown);
        st.count("shell");
        let mut io = shell::Io {
            stdin,
            ..shell::Io::default()
        };
        let (code, delay) = {
            let mut sh = shell::Sh::new(self, &mut st);
            let code = sh.run_line(command, &mut io);
            (code, sh.delay)
        };
        drop(st);
        (
            ShellOutput {
                stdout: io.out,
                stderr: io.err,
                code,
            },
            delay,
        )
    }

    /// Carries out what the last commands asked for: a wipe, a reboot.
    fn after_change(&self) {
        let (wipe, effects) = {
            let mut st = self.lock();
            let wipe = st.world.wipe_requested.is_some() && !st.wiped;
            (wipe, std::mem::take(&mut st.effects))
        };
        if wipe {
            self.wipe();
        }
        for e in effects {
            match e {
                Effect::Reboot(target) => self.reboot(&target),
            }
        }
        self.write_state();
    }

    /// Factory reset: user data and accounts gone, Find Device's server-side lock applied
    /// (when it was still on), USB debugging off for good.
    fn wipe(&self) {
        let mut st = self.lock();
        let kind = st.world.wipe_requested;
        let w = &mut st.world;
        // The server decides the lock before the phone forgets its account.
        w.registry.wiped(&w.imei);
        w.mi_account = None;
        w.google_accounts.clear();
        w.screen_lock = false;
        w.device_owner = None;
        w.no_factory_reset = false;
        w.adb_input = false;
        st.wiped = true;
        if let Some(g) = st.settings.get_mut("global") {
            g.insert("adb_enabled".into(), "0".into());
        }
        st.count("wipes");
        drop(st);
        // adb_keys lives in /data: a reset forgets every host the owner had allowed.
        self.auth.forget_keys();
        for dir in [self.fs.primary(), self.fs.tmp()] {
            if let Err(e) = tree::empty_dir(&dir) {
                tracing::warn!(serial = %self.id.serial, "wipe of {} failed: {e}", dir.display());
            }
        }
        tracing::info!(serial = %self.id.serial, ?kind, "phone wiped; USB debugging off for good");
        // Let the command that confirmed the reset return its output first.
        self.link_later(Duration::from_millis(300), Link::Gone, None);
    }

    /// Sets the link after DELAY, then optionally to a second state after another delay,
    /// unless another link change happened meanwhile.
    fn link_later(&self, delay: Duration, link: Link, then: Option<(Duration, Link)>) {
        let generation = self.link_gen.fetch_add(1, Ordering::SeqCst) + 1;
        let tx = self.link.clone();
        let counter = self.link_gen.clone();
        let me = self.me.clone();
        let run = async move {
            tokio::time::sleep(delay).await;
            if counter.load(Ordering::SeqCst) != generation {
                return;
            }
            set_link(&tx, link);
            if let Some(p) = me.upgrade() {
                p.write_state();
            }
            if let Some((d, l)) = then {
                tokio::time::sleep(d).await;
                if counter.load(Ordering::SeqCst) == generation {
                    set_link(&tx, l);
                    if let Some(p) = me.upgrade() {
                        p.write_state();
                    }
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(run);
            }
            Err(_) => set_link(&self.link, link),
        }
    }
}

/// Gone is final: nothing brings a reset phone back to adb.
fn set_link(tx: &watch::Sender<Link>, link: Link) {
    tx.send_if_modified(|cur| {
        if *cur == Link::Gone || *cur == link {
            false
        } else {
            *cur = link;
            true
        }
    });
}

impl Device for Phone {
    fn serial(&self) -> String {
        self.id.serial.clone()
    }

    fn banner(&self) -> String {
        self.banner.clone()
    }

    fn shell<'a>(&'a self, command: &'a str, mut stdin: Stdin) -> BoxFuture<'a, ShellOutput> {
        Box::pin(async move {
            let input = if shell_reads_stdin(command) {
                let mut data = Vec::new();
                while let Some(chunk) = stdin.recv().await {
                    data.extend_from_slice(&chunk);
                }
                data
            } else {
                Vec::new()
            };
            // Hashing a 200 MB file must not hold up other phones on this worker thread.
            let multi = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            let (out, delay) = if multi {
                tokio::task::block_in_place(|| self.run_shell(command, input))
            } else {
                self.run_shell(command, input)
            };
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.after_change();
            out
        })
    }

    fn resolve(&self, device_path: &str) -> Result<PathBuf, i32> {
        let canon = fs::normalize("/", device_path);
        if canon.starts_with("/data") && !canon.starts_with(fs::TMP) && canon != "/data" {
            return Err(fs::EACCES);
        }
        if canon.starts_with("/proc") || canon.starts_with("/dev/") {
            return Err(fs::ENOENT);
        }
        Ok(self.fs.host("/", device_path))
    }

    fn readable(&self, device_path: &str) -> bool {
        self.fs.readable(&fs::normalize("/", device_path))
    }

    fn reboot(&self, target: &str) {
        self.lock().count("reboots");
        let (reboot_time, recovery) = {
            let st = self.lock();
            (st.costs.reboot_time, st.costs.recovery_time)
        };
        tracing::info!(serial = %self.id.serial, target, "reboot");
        let back = match target {
            "recovery" | "sideload" => recovery.map(|d| (d, Link::Up)),
            _ => Some((reboot_time, Link::Up)),
        };
        self.link_later(Duration::from_millis(50), Link::Down, back);
    }

    fn link(&self) -> watch::Receiver<Link> {
        self.link.subscribe()
    }

    fn faults(&self) -> TransportFaults {
        self.adbd().transport.clone()
    }

    fn authorization(&self) -> Authorization {
        self.auth.mode()
    }

    fn adb_keys(&self) -> Vec<String> {
        self.auth.keys()
    }

    fn remember_key(&self, key: &str) {
        self.auth.remember(key);
    }

    fn record(&self, service: &str) {
        let shown = redact(service);
        tracing::debug!(serial = %self.id.serial, service = %shown, "service");
        let mut a = self.adbd();
        let kind = shown.split(':').next().unwrap_or("").to_string();
        push_capped(&mut a.services, shown);
        *a.counters.entry(format!("service.{kind}")).or_default() += 1;
        drop(a);
        // Waits for a running shell command only when there is a state file to write
        // (tests); without one (the benchmarks) it returns at once.
        self.write_state();
    }
}

/// Whether a command line reads the shell's stdin (so the phone waits for it): an
/// interactive shell, `sh` with no script, or a filter with no file operand at the
/// start of a pipeline.
fn shell_reads_stdin(command: &str) -> bool {
    if command.trim().is_empty() {
        return true;
    }
    let Ok(script) = shell::parse::parse(command) else {
        return false;
    };
    script.iter().any(|ao| {
        std::iter::once(&ao.first)
            .chain(ao.rest.iter().map(|(_, p)| p))
            .any(|p| {
                p.cmds.first().is_some_and(|c| {
                    let words: Vec<String> = c.words.iter().map(shell::parse::plain).collect();
                    let has_input_redir =
                        c.redirs.iter().any(|r| r.op == shell::parse::RedirOp::Read);
                    let operands = words
                        .iter()
                        .skip(1)
                        .filter(|w| !w.starts_with('-') || *w == "-")
                        .count();
                    !has_input_redir
                        && match words.first().map(String::as_str) {
                            Some("cat" | "sha256sum" | "md5sum" | "sha1sum" | "wc") => {
                                operands == 0 || words.iter().any(|w| w == "-")
                            }
                            Some("sh" | "mksh") => words.len() == 1,
                            _ => false,
                        }
                })
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_typed_text_only() {
        assert_eq!(redact("input text 'my pw'"), "input text <redacted>");
        assert_eq!(
            redact("input tap 1 2 && input text secret; input keyevent 66"),
            "input tap 1 2 && input text <redacted>; input keyevent 66"
        );
        assert_eq!(
            redact("input keyboard text abc|x"),
            "input keyboard text <redacted>|x"
        );
        assert_eq!(
            redact("shell,v2,raw:sh -c 'input text \"a;b\"'"),
            "shell,v2,raw:sh -c 'input text <redacted>"
        );
        assert_eq!(redact("getprop ro.serialno"), "getprop ro.serialno");
        assert!(!redact("input text p@ss%sword").contains("p@ss"));
    }

    /// adbd is another process than the shell: while a command runs (and holds the
    /// phone's state), the transport still reads its faults and records services. If it
    /// took the state's lock this would deadlock, so it runs on a thread with a limit.
    #[test]
    fn the_transport_never_waits_for_a_running_shell_command() {
        let phone = Phone::new(PhoneSpec::default(), Registry::default()).unwrap();
        let shell_running = phone.lock();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = phone.clone();
        std::thread::spawn(move || {
            let faults = p.faults();
            p.record("sync:");
            let _ = tx.send(faults);
        });
        let faults = rx.recv_timeout(Duration::from_secs(30));
        drop(shell_running);
        assert_eq!(
            faults.expect("transport blocked by the shell"),
            TransportFaults::default()
        );
        assert_eq!(phone.counter("service.sync"), 1);
    }

    #[test]
    fn stdin_is_awaited_only_by_commands_that_read_it() {
        assert!(shell_reads_stdin(""));
        assert!(shell_reads_stdin("cat > /sdcard/x"));
        assert!(shell_reads_stdin("sh"));
        assert!(!shell_reads_stdin("cat /sdcard/x"));
        assert!(!shell_reads_stdin("getprop"));
        assert!(!shell_reads_stdin("sh -c 'ls'"));
        assert!(!shell_reads_stdin("cat < /sdcard/x"));
    }
}
