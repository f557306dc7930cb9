//! The phones the server sees: `host:devices-l` and `host:track-devices-l` parsed
//! tolerantly into [`DeviceInfo`] snapshots, and a [`Tracker`] that turns the stream of
//! snapshots into added / changed / removed events. adb prints states with spaces in them
//! (`no permissions (…); see […]`), so parsing works from the known `key:value` tokens at
//! the end of a line, never by splitting on a fixed column.

use std::collections::BTreeMap;

use super::conn::Conn;
use super::error::AdbError;

/// A phone's state as adb names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceState {
    /// Online: services can be opened.
    Device,
    Offline,
    /// The USB debugging prompt has not been accepted.
    Unauthorized,
    Authorizing,
    Connecting,
    Recovery,
    Rescue,
    Sideload,
    Bootloader,
    Host,
    /// `no permissions (…)`: the host user may not open the USB device (udev rules).
    NoPermissions(String),
    /// Any other text adb prints (newer servers add states).
    Unknown(String),
}

impl DeviceState {
    pub fn parse(text: &str) -> DeviceState {
        let t = text.trim();
        match t {
            "device" => DeviceState::Device,
            "offline" => DeviceState::Offline,
            "unauthorized" => DeviceState::Unauthorized,
            "authorizing" => DeviceState::Authorizing,
            "connecting" => DeviceState::Connecting,
            "recovery" => DeviceState::Recovery,
            "rescue" => DeviceState::Rescue,
            "sideload" => DeviceState::Sideload,
            "bootloader" => DeviceState::Bootloader,
            "host" => DeviceState::Host,
            _ if t.starts_with("no permissions") => DeviceState::NoPermissions(t.to_string()),
            _ => DeviceState::Unknown(t.to_string()),
        }
    }

    /// The word adb prints (the full text for `no permissions` and unknown states).
    pub fn as_str(&self) -> &str {
        match self {
            DeviceState::Device => "device",
            DeviceState::Offline => "offline",
            DeviceState::Unauthorized => "unauthorized",
            DeviceState::Authorizing => "authorizing",
            DeviceState::Connecting => "connecting",
            DeviceState::Recovery => "recovery",
            DeviceState::Rescue => "rescue",
            DeviceState::Sideload => "sideload",
            DeviceState::Bootloader => "bootloader",
            DeviceState::Host => "host",
            DeviceState::NoPermissions(s) | DeviceState::Unknown(s) => s,
        }
    }

    /// Whether services (shell, sync) can be opened.
    pub fn is_online(&self) -> bool {
        *self == DeviceState::Device
    }
}

impl std::fmt::Display for DeviceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of `adb devices -l`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    pub serial: String,
    pub state: DeviceState,
    /// `usb:1-1.4` for USB phones; absent for TCP ones.
    pub devpath: Option<String>,
    pub product: Option<String>,
    pub model: Option<String>,
    pub device: Option<String>,
    /// Stable for the life of the connection; survives serial clashes.
    pub transport_id: Option<u64>,
}

const KEYS: [&str; 5] = ["usb", "product", "model", "device", "transport_id"];

/// Parses one listing line; `None` for blank lines and lines with no state.
pub fn parse_device_line(line: &str) -> Option<DeviceInfo> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return None;
    }
    // Short form: `serial\tstate`. Long form: `serial<spaces>state key:value…`.
    let (serial, rest) = match line.split_once('\t') {
        Some((s, r)) => (s.trim(), r),
        None => {
            let t = line.trim_start();
            let end = t.find(char::is_whitespace)?;
            (&t[..end], &t[end..])
        }
    };
    if serial.is_empty() {
        return None;
    }
    let tokens: Vec<&str> = rest.split_whitespace().collect();
    let mut cut = tokens.len();
    while cut > 0 {
        let known = tokens[cut - 1]
            .split_once(':')
            .is_some_and(|(k, _)| KEYS.contains(&k));
        if !known {
            break;
        }
        cut -= 1;
    }
    let state = tokens[..cut].join(" ");
    if state.is_empty() {
        return None;
    }
    let mut info = DeviceInfo {
        serial: serial.to_string(),
        state: DeviceState::parse(&state),
        devpath: None,
        product: None,
        model: None,
        device: None,
        transport_id: None,
    };
    for tok in &tokens[cut..] {
        let Some((k, v)) = tok.split_once(':') else {
            continue;
        };
        let v = Some(v.to_string());
        match k {
            "usb" => info.devpath = Some(tok.to_string()),
            "product" => info.product = v,
            "model" => info.model = v,
            "device" => info.device = v,
            "transport_id" => info.transport_id = tok[k.len() + 1..].parse().ok(),
            _ => {}
        }
    }
    Some(info)
}

/// Parses a whole listing; lines that make no sense are skipped, not fatal.
pub fn parse_device_list(text: &str) -> Vec<DeviceInfo> {
    text.lines()
        .filter(|l| !l.starts_with("List of devices") && !l.starts_with('*'))
        .filter_map(parse_device_line)
        .collect()
}

/// What changed between two snapshots.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum DeviceEvent {
    Added(DeviceInfo),
    Changed {
        before: DeviceInfo,
        after: DeviceInfo,
    },
    Removed(DeviceInfo),
}

/// Events turning snapshot `before` into `after`, keyed by serial.
pub fn diff(before: &[DeviceInfo], after: &[DeviceInfo]) -> Vec<DeviceEvent> {
    let old: BTreeMap<&str, &DeviceInfo> = before.iter().map(|d| (d.serial.as_str(), d)).collect();
    let new: BTreeMap<&str, &DeviceInfo> = after.iter().map(|d| (d.serial.as_str(), d)).collect();
    let mut events = Vec::new();
    for (serial, d) in &new {
        match old.get(serial) {
            None => events.push(DeviceEvent::Added((*d).clone())),
            Some(o) if o != d => events.push(DeviceEvent::Changed {
                before: (*o).clone(),
                after: (*d).clone(),
            }),
            Some(_) => {}
        }
    }
    for (serial, d) in &old {
        if !new.contains_key(serial) {
            events.push(DeviceEvent::Removed((*d).clone()));
        }
    }
    events
}

/// One message of the tracker: the whole list as it is now, and what changed since the
/// previous one (everything is `Added` in the first).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrackUpdate {
    pub devices: Vec<DeviceInfo>,
    pub events: Vec<DeviceEvent>,
}

/// A `host:track-devices-l` connection. [`Tracker::next`] waits for the next change
/// without a timeout (waiting is the point); drop the tracker to stop.
#[derive(Debug)]
pub struct Tracker {
    pub(crate) conn: Conn,
    pub(crate) last: Vec<DeviceInfo>,
}

impl Tracker {
    /// The next snapshot. A server that dies ends with `ConnectionLost`.
    pub async fn next(&mut self) -> Result<TrackUpdate, AdbError> {
        let block = self.conn.read_hex_block("track-devices").await?;
        let devices = parse_device_list(&String::from_utf8_lossy(&block));
        let events = diff(&self.last, &devices);
        self.last = devices.clone();
        Ok(TrackUpdate { devices, events })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_state_adb_prints() {
        let text = "List of devices attached\n\
            0123456789ABCDEF       device usb:1-1.4 product:alioth_eea model:M2012K11AG device:alioth transport_id:3\n\
            emulator-5554          offline transport_id:1\r\n\
            R58M123                unauthorized usb:1-2 transport_id:4\n\
            abc                    no permissions (user in plugdev group; are your udev rules wrong?); see [http://developer.android.com/tools/device.html] usb:1-3 transport_id:5\n\
            127.0.0.1:5555         device product:venus model:M2011K2C device:venus transport_id:6\n\
            xyz                    sideload transport_id:7\n\
            q                      weird-new-state transport_id:8\n\
            \n\
            garbage\n";
        let list = parse_device_list(text);
        assert_eq!(list.len(), 7, "{list:#?}");
        assert_eq!(list[0].state, DeviceState::Device);
        assert_eq!(list[0].model.as_deref(), Some("M2012K11AG"));
        assert_eq!(list[0].devpath.as_deref(), Some("usb:1-1.4"));
        assert_eq!(list[0].transport_id, Some(3));
        assert_eq!(list[1].state, DeviceState::Offline);
        assert_eq!(list[2].state, DeviceState::Unauthorized);
        assert!(matches!(list[3].state, DeviceState::NoPermissions(ref s) if s.contains("udev")));
        assert_eq!(list[3].transport_id, Some(5));
        assert_eq!(list[4].serial, "127.0.0.1:5555");
        assert_eq!(list[5].state, DeviceState::Sideload);
        assert_eq!(
            list[6].state,
            DeviceState::Unknown("weird-new-state".into())
        );
    }

    #[test]
    fn parses_the_short_form() {
        let list = parse_device_list("a\tdevice\nb\tunauthorized\n\tnothing\n");
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].state, DeviceState::Unauthorized);
        assert_eq!(list[1].transport_id, None);
    }

    #[test]
    fn diff_reports_added_changed_removed() {
        let a = parse_device_list("a\tdevice\nb\toffline\n");
        let b = parse_device_list("b\tdevice\nc\tunauthorized\n");
        let ev = diff(&a, &b);
        assert_eq!(ev.len(), 3);
        assert!(matches!(&ev[0], DeviceEvent::Changed { after, .. } if after.serial == "b"));
        assert!(matches!(&ev[1], DeviceEvent::Added(d) if d.serial == "c"));
        assert!(matches!(&ev[2], DeviceEvent::Removed(d) if d.serial == "a"));
        assert!(diff(&b, &b).is_empty());
    }
}
