//! `inspect`: a phone's identity and hand-over readiness in ONE shell round trip, and
//! the blockers that would stop a hand-over, each with a message for people and what the
//! operator does about it. Read-only: every command in [`BATCH`] only reads.

use crate::adb::{AdbError, Device, DeviceState};
use crate::exit::{Exit, HasExit};

use super::accounts::{self, AccountSummary};
use super::identity::{Identity, OsInfo, identity};
use super::imei;
use super::policy;
use super::props::{Props, parse_getprop};

/// The section marker the batch prints after each command, with its exit code.
const MARK: &str = "@@mi-offboard-section@@";

/// The read-only commands of one inspection, by section name. Their stderr joins stdout
/// so an error text lands in its own section, not elsewhere.
pub const BATCH: [(&str, &str); 6] = [
    ("getprop", "getprop"),
    ("account", "dumpsys account"),
    ("owners", "dpm list-owners"),
    ("user", "dumpsys user"),
    ("lock", "dumpsys lock_settings"),
    // Call 1 is getDeviceId on the Android releases that still let the shell read it;
    // elsewhere it returns a SecurityException Parcel and the props are tried.
    ("imei", "service call iphonesubinfo 1 s16 com.android.shell"),
];

/// The one shell command line of an inspection.
pub fn batch_command() -> String {
    BATCH
        .iter()
        .map(|(name, cmd)| format!("{cmd} 2>&1; echo \"{MARK} {name} $?\""))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Splits the batch output into (section name, text). A section whose marker is missing
/// (output cut short) is absent; text before a marker belongs to that marker's section.
pub fn split_sections(out: &str) -> Vec<(String, String)> {
    let mut sections = Vec::new();
    let mut current = String::new();
    for line in out.split_inclusive('\n') {
        let t = line.trim_end_matches(['\r', '\n']);
        if let Some(rest) = t.strip_prefix(MARK) {
            let name = rest.split_whitespace().next().unwrap_or("").to_string();
            sections.push((name, std::mem::take(&mut current)));
        } else if let Some(pos) = t.find(MARK) {
            // Output without a final newline: the marker sits at the end of its line.
            current.push_str(&t[..pos]);
            let name = t[pos + MARK.len()..]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string();
            sections.push((name, std::mem::take(&mut current)));
        } else {
            current.push_str(line);
        }
    }
    sections
}

/// What would stop a hand-over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockerCode {
    MiAccountSignedIn,
    FrpArmed,
    GoogleAccount,
    DeviceOwner,
    InputDisabled,
    NotXiaomi,
    Unauthorized,
}

/// One blocker: a code for programs, a message for people, and what the operator does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Blocker {
    pub code: BlockerCode,
    pub message: String,
    pub action: String,
}

/// The Mi account on the phone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MiAccount {
    pub signed_in: bool,
    /// The account id as the phone prints it (possibly masked).
    pub id: Option<String>,
}

/// Everything `inspect` reports. Fields the phone could not tell are `None`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inspection {
    pub serial: String,
    pub state: String,
    pub manufacturer: Option<String>,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub marketname: Option<String>,
    pub hardware_serial: Option<String>,
    pub os: Option<OsInfo>,
    pub region: Option<String>,
    pub xiaomi: Option<bool>,
    pub imei: Option<String>,
    pub mi_account: Option<MiAccount>,
    pub google_accounts: Option<usize>,
    /// `None` when the lock type could not be read (see `policy`).
    pub screen_lock: Option<bool>,
    pub frp_armed: Option<bool>,
    pub device_owner: Option<String>,
    pub no_factory_reset: Option<bool>,
    pub input_allowed: Option<bool>,
    pub blockers: Vec<Blocker>,
}

/// Why an inspection could not finish.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Adb(#[from] AdbError),
    /// The phone answered but `getprop` printed nothing usable.
    #[error("phone {serial} answered, but its properties could not be read ({detail})")]
    NoProps { serial: String, detail: String },
}

impl HasExit for InspectError {
    fn exit(&self) -> Exit {
        match self {
            InspectError::Adb(e) => e.exit(),
            InspectError::NoProps { .. } => Exit::Other,
        }
    }
}

impl Inspection {
    fn empty(serial: &str, state: &str) -> Inspection {
        Inspection {
            serial: serial.to_string(),
            state: state.to_string(),
            manufacturer: None,
            brand: None,
            model: None,
            marketname: None,
            hardware_serial: None,
            os: None,
            region: None,
            xiaomi: None,
            imei: None,
            mi_account: None,
            google_accounts: None,
            screen_lock: None,
            frp_armed: None,
            device_owner: None,
            no_factory_reset: None,
            input_allowed: None,
            blockers: Vec::new(),
        }
    }

    /// Whether nothing could be read because the phone has not accepted this computer.
    pub fn is_unauthorized(&self) -> bool {
        self.blockers
            .iter()
            .any(|b| b.code == BlockerCode::Unauthorized)
    }

    /// The report for a phone that has not accepted this computer: nothing can be read.
    pub fn unauthorized(serial: &str) -> Inspection {
        let mut i = Inspection::empty(serial, DeviceState::Unauthorized.as_str());
        i.blockers.push(Blocker {
            code: BlockerCode::Unauthorized,
            message: "The phone has not accepted this computer yet, so nothing can be read from it."
                .into(),
            action: "Unlock the phone and accept the \"Allow USB debugging?\" prompt (tick \"Always allow from this computer\"), then run inspect again."
                .into(),
        });
        i
    }
}

/// Builds the report from the batch's sections (pure: tested on captured output).
pub fn assess(serial: &str, sections: &[(String, String)]) -> Inspection {
    let get = |name: &str| {
        sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
    };
    let props: Props = parse_getprop(get("getprop").unwrap_or(""));
    let id: Identity = identity(&props);
    let acc: Option<AccountSummary> =
        get("account").map(|t| accounts::summarize(&accounts::parse_dumpsys_account(t)));
    let owner = get("owners").and_then(policy::device_owner);
    let nfr = get("user").map(policy::no_factory_reset);
    let lock = get("lock").and_then(policy::screen_lock);
    let imei = get("imei")
        .and_then(imei::imei_from_parcel)
        .or_else(|| imei::imei_from_props(&props));
    let input = policy::input_allowed(&props, id.is_xiaomi);
    let google = acc.as_ref().map(|a| a.google_accounts);
    // The guess lives in `policy`: an unreadable lock with a Google account counts as armed.
    let frp = google.map(|g| g > 0 && lock != Some(false));

    let mut r = Inspection::empty(serial, DeviceState::Device.as_str());
    r.blockers = blockers(&id, acc.as_ref(), lock, frp, owner.as_deref(), nfr, input);
    r.manufacturer = id.manufacturer;
    r.brand = id.brand;
    r.model = id.model;
    r.marketname = id.marketname;
    r.hardware_serial = id.hardware_serial;
    r.os = Some(id.os);
    r.region = id.region;
    r.xiaomi = Some(id.is_xiaomi);
    r.imei = imei;
    r.mi_account = acc.as_ref().map(|a| MiAccount {
        signed_in: a.mi_account.is_some(),
        id: a.mi_account.clone(),
    });
    r.google_accounts = google;
    r.screen_lock = lock;
    r.frp_armed = frp;
    r.device_owner = owner;
    r.no_factory_reset = nfr;
    r.input_allowed = Some(input);
    r
}

fn blockers(
    id: &Identity,
    acc: Option<&AccountSummary>,
    lock: Option<bool>,
    frp: Option<bool>,
    owner: Option<&str>,
    no_factory_reset: Option<bool>,
    input: bool,
) -> Vec<Blocker> {
    let mut out = Vec::new();
    let mut add = |code, message: String, action: &str| {
        out.push(Blocker {
            code,
            message,
            action: action.to_string(),
        })
    };
    if !id.is_xiaomi {
        add(
            BlockerCode::NotXiaomi,
            format!(
                "This is not a Xiaomi phone ({}): the sign-out and reset steps of this tool are Xiaomi's.",
                id.manufacturer.as_deref().unwrap_or("unknown maker")
            ),
            "Hand it over with its maker's own procedure; `backup` still works on it.",
        );
    }
    if let Some(mi) = acc.and_then(|a| a.mi_account.as_deref()) {
        add(
            BlockerCode::MiAccountSignedIn,
            format!(
                "The phone is signed in to Mi account {mi}: Find Device would keep it activation-locked after a reset."
            ),
            "With the owner present, run `mi-offboard signout` (the owner types the Mi account password), or sign out in Settings > Mi Account.",
        );
    }
    let google = acc.map(|a| a.google_accounts).unwrap_or(0);
    if frp == Some(true) {
        let why = if lock == Some(true) {
            "and a screen lock"
        } else {
            "and the screen lock could not be read (assumed set)"
        };
        add(
            BlockerCode::FrpArmed,
            format!(
                "{google} Google account(s) {why}: after a reset the phone would ask for that Google account (Factory Reset Protection)."
            ),
            "Remove the Google account(s) in Settings > Accounts & sync (or the screen lock) before the reset.",
        );
    } else if google > 0 {
        add(
            BlockerCode::GoogleAccount,
            format!(
                "{google} Google account(s) on the phone: Factory Reset Protection arms as soon as a screen lock is set."
            ),
            "Remove the Google account(s) in Settings > Accounts & sync before the hand-over.",
        );
    }
    if owner.is_some() || no_factory_reset == Some(true) {
        let what = match owner {
            Some(o) => format!("The phone is managed by a device owner ({o})"),
            None => "A policy forbids factory reset (no_factory_reset)".to_string(),
        };
        add(
            BlockerCode::DeviceOwner,
            format!("{what}: it cannot be reset from here."),
            "Ask the organisation that manages the phone to release it (remove the device owner or the restriction).",
        );
    }
    if id.is_xiaomi && !input {
        add(
            BlockerCode::InputDisabled,
            "\"USB debugging (Security settings)\" is off: the tool cannot tap through Xiaomi's sign-out and reset screens.".into(),
            "On the phone: Settings > Additional settings > Developer options > turn on \"USB debugging (Security settings)\" (Xiaomi may ask for a signed-in Mi account and a SIM).",
        );
    }
    out
}

/// Inspects the phone in one shell round trip. An unauthorized phone is not an error
/// here: it yields the report with the `unauthorized` blocker.
pub async fn inspect(device: &Device, state: &DeviceState) -> Result<Inspection, InspectError> {
    let serial = device.serial().to_string();
    match state {
        DeviceState::Device => {}
        DeviceState::Unauthorized => return Ok(Inspection::unauthorized(&serial)),
        other => {
            return Err(AdbError::Offline {
                serial,
                state: other.to_string(),
            }
            .into());
        }
    }
    let out = match device.shell(&batch_command()).await {
        Ok(o) => o,
        Err(AdbError::Unauthorized { .. }) => return Ok(Inspection::unauthorized(&serial)),
        Err(e) => return Err(e.into()),
    };
    let sections = split_sections(&out.stdout_text());
    if !sections.iter().any(|(n, _)| n == "getprop") {
        return Err(InspectError::NoProps {
            serial,
            detail: format!("{} bytes of unexpected output", out.stdout.len()),
        });
    }
    let report = assess(&serial, &sections);
    if report.manufacturer.is_none() && report.model.is_none() {
        return Err(InspectError::NoProps {
            serial,
            detail: "getprop printed no product keys".into(),
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(parts: &[(&str, &str)]) -> String {
        parts
            .iter()
            .map(|(name, text)| format!("{text}{MARK} {name} 0\r\n"))
            .collect()
    }

    const PROPS_EEA: &str = "[ro.product.manufacturer]: [Xiaomi]\r\n[ro.product.brand]: [Xiaomi]\r\n\
[ro.product.model]: [23127PN0CG]\r\n[ro.mi.os.version.name]: [OS2.0]\r\n\
[ro.mi.os.version.incremental]: [OS2.0.3.0.VNCEUXM]\r\n[ro.product.mod_device]: [houji_eea_global]\r\n\
[ro.build.version.release]: [15]\r\n[ro.build.version.sdk]: [35]\r\n[persist.security.adbinput]: [1]\r\n";

    fn codes(i: &Inspection) -> Vec<BlockerCode> {
        i.blockers.iter().map(|b| b.code).collect()
    }

    #[test]
    fn a_signed_in_eea_phone_with_google_and_pin() {
        let out = batch(&[
            ("getprop", PROPS_EEA),
            (
                "account",
                "User UserInfo{0:Owner:c13}:\n  Accounts: 2\n    Account {name=a@gmail.com, type=com.google}\n    Account {name=1234567890, type=com.xiaomi}\n",
            ),
            ("owners", "no owners\n"),
            ("user", "    Restrictions:\n      none\n"),
            (
                "lock",
                "User State:\n    User 0\n        CredentialType: PIN\n",
            ),
            (
                "imei",
                "Result: Parcel(\n  0x00000000: 00000000 0000000f 00360038 00390030 '........8.6.0.9.'\n  0x00000010: 00350036 00340030 00300035 00310037 '6.5.0.4.5.0.7.1.'\n  0x00000020: 00320033 00000034                   '3.2.4...        ')\n",
            ),
        ]);
        let sections = split_sections(&out);
        assert_eq!(sections.len(), 6);
        let i = assess("SER1", &sections);
        assert_eq!(i.region.as_deref(), Some("eea"));
        assert_eq!(i.imei.as_deref(), Some("860965045071324"));
        assert_eq!(
            i.mi_account,
            Some(MiAccount {
                signed_in: true,
                id: Some("1234567890".into())
            })
        );
        assert_eq!(i.google_accounts, Some(1));
        assert_eq!(i.frp_armed, Some(true));
        assert_eq!(i.input_allowed, Some(true));
        assert_eq!(
            codes(&i),
            vec![BlockerCode::MiAccountSignedIn, BlockerCode::FrpArmed]
        );
        assert!(
            i.blockers
                .iter()
                .all(|b| !b.message.is_empty() && !b.action.is_empty())
        );
    }

    #[test]
    fn a_clean_xiaomi_has_only_the_input_blocker_when_switch_is_off() {
        let props = PROPS_EEA.replace(
            "[persist.security.adbinput]: [1]",
            "[persist.security.adbinput]: [0]",
        );
        let out = batch(&[
            ("getprop", &props),
            ("account", "User UserInfo{0:Owner:c13}:\n  Accounts: 0\n"),
            ("owners", "no owners\n"),
            ("user", ""),
            (
                "lock",
                "/system/bin/sh: dumpsys: lock_settings: inaccessible or not found\n",
            ),
            (
                "imei",
                "Result: Parcel(ffffffff 0000004d 00650047 '....M...G.e.')\n",
            ),
        ]);
        let i = assess("SER2", &split_sections(&out));
        assert_eq!(codes(&i), vec![BlockerCode::InputDisabled]);
        assert_eq!(i.imei, None);
        assert_eq!(i.frp_armed, Some(false));
        assert_eq!(i.mi_account.map(|m| m.signed_in), Some(false));
    }

    #[test]
    fn google_without_lock_managed_and_not_xiaomi() {
        let out = batch(&[
            (
                "getprop",
                "[ro.product.manufacturer]: [Google]\n[ro.product.model]: [Pixel 7]\n",
            ),
            (
                "account",
                "    Account {name=x@gmail.com, type=com.google}\n",
            ),
            (
                "owners",
                "1 owner:\nUser  0: admin=com.corp/.Admin,DeviceOwner\n",
            ),
            ("user", "      no_factory_reset\n"),
            ("lock", "    User 0\n        CredentialType: None\n"),
        ]);
        let i = assess("P", &split_sections(&out));
        assert_eq!(
            codes(&i),
            vec![
                BlockerCode::NotXiaomi,
                BlockerCode::GoogleAccount,
                BlockerCode::DeviceOwner
            ]
        );
        assert_eq!(i.input_allowed, Some(true));
        assert_eq!(i.region, None);
    }

    #[test]
    fn truncated_and_garbage_output_never_panics() {
        let full = batch(&[
            ("getprop", PROPS_EEA),
            ("account", "    Account {name=1, type=com.xiaomi}\n"),
        ]);
        for cut in 0..full.len() {
            if full.is_char_boundary(cut) {
                let _ = assess("T", &split_sections(&full[..cut]));
            }
        }
        // The marker at the end of a line without newline still closes the section.
        let s = split_sections(&format!("abc{MARK} getprop 0"));
        assert_eq!(s, vec![("getprop".to_string(), "abc".to_string())]);
        // A lost account section: no account facts, and no invented blockers.
        let i = assess("T", &split_sections(&batch(&[("getprop", PROPS_EEA)])));
        assert_eq!(i.mi_account, None);
        assert_eq!(i.frp_armed, None);
        assert!(i.blockers.is_empty());
        assert!(batch_command().contains("dumpsys account 2>&1"));
    }

    #[test]
    fn unauthorized_report_has_its_blocker() {
        let i = Inspection::unauthorized("U");
        assert_eq!(codes(&i), vec![BlockerCode::Unauthorized]);
        assert!(i.blockers[0].action.contains("USB debugging"));
    }
}
