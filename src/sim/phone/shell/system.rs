//! Android's own commands as the shell user sees them: getprop/setprop, settings,
//! dumpsys (account, window, battery, package), dpm, pm, cmd, service call
//! iphonesubinfo (a Parcel hex dump), am, uiautomator, input (refused with Android's
//! INJECT_EVENTS SecurityException while `persist.security.adbinput` is 0), screencap,
//! reboot, and the small identity commands (id, whoami, uname, date).
//!
//! The UI itself (what `am start`, `uiautomator dump` and `input` do on screen) is
//! [`crate::sim::phone::screens`]; this module only routes to it, counts, and applies
//! costs.

use std::fmt::Write as _;

use super::{Io, Sh, policy};
use crate::sim::phone::Effect;

pub const NAMES: &[&str] = &[
    "getprop",
    "setprop",
    "locksettings",
    "settings",
    "dumpsys",
    "dpm",
    "pm",
    "cmd",
    "service",
    "am",
    "uiautomator",
    "input",
    "screencap",
    "reboot",
    "id",
    "whoami",
    "uname",
    "date",
    "wm",
    "log",
    "logcat",
    "getenforce",
    "monkey",
];

pub fn run(sh: &mut Sh, name: &str, args: &[String], io: &mut Io) -> Option<u8> {
    Some(match name {
        "getprop" => getprop(sh, args, io),
        "setprop" => setprop(sh, args, io),
        // Android 8+ ships `locksettings` as a script running `cmd lock_settings "$@"`.
        "locksettings" => policy::lock_settings_cmd(sh, args, io),
        "settings" => settings(sh, args, io),
        "dumpsys" => dumpsys(sh, args, io),
        "dpm" => dpm(sh, args, io),
        "pm" => pm(sh, args, io),
        "cmd" => cmd(sh, args, io),
        "service" => service(sh, args, io),
        "am" => am(sh, args, io),
        "uiautomator" => uiautomator(sh, args, io),
        "input" => input(sh, args, io),
        "screencap" => screencap(sh, args, io),
        "reboot" => {
            let target = args
                .iter()
                .find(|a| !a.starts_with('-'))
                .cloned()
                .unwrap_or_default();
            sh.st.effects.push(Effect::Reboot(target));
            0
        }
        "id" => {
            io.outln("uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),1015(sdcard_rw),1028(sdcard_r),1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid),3012(readtracefs) context=u:r:shell:s0");
            0
        }
        "whoami" => {
            io.outln("shell");
            0
        }
        "uname" => {
            let u = sh.phone.profile.uname;
            if args.iter().any(|a| a == "-a") {
                io.outln(u);
            } else if args.iter().any(|a| a == "-r") {
                io.outln(u.split_whitespace().nth(2).unwrap_or(""));
            } else if args.iter().any(|a| a == "-m") {
                io.outln("aarch64");
            } else {
                io.outln("Linux");
            }
            0
        }
        "date" => {
            let now = chrono::Utc::now();
            match args.first().and_then(|a| a.strip_prefix('+')) {
                Some(fmt) => io.outln(now.format(fmt).to_string()),
                None => io.outln(now.format("%a %b %e %H:%M:%S GMT %Y").to_string()),
            }
            0
        }
        "wm" => {
            match args.first().map(String::as_str) {
                Some("size") => io.outln("Physical size: 1080x2400"),
                Some("density") => io.outln(format!(
                    "Physical density: {}",
                    sh.st
                        .props
                        .get("ro.sf.lcd_density")
                        .cloned()
                        .unwrap_or_default()
                )),
                _ => {}
            }
            0
        }
        "getenforce" => {
            io.outln("Enforcing");
            0
        }
        "log" | "logcat" | "monkey" => 0,
        _ => return None,
    })
}

fn getprop(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let props = &sh.st.props_now();
    match args {
        [] => {
            for (k, v) in props {
                io.outln(format!("[{k}]: [{v}]"));
            }
        }
        [key, rest @ ..] => {
            let v = props
                .get(key.as_str())
                .cloned()
                .or_else(|| rest.first().cloned())
                .unwrap_or_default();
            io.outln(v);
        }
    }
    0
}

/// toolbox's `setprop` (Android 10+): usage on stdout, its own name checks, then
/// SELinux decides. The shell domain may only write debug and log-tag properties; any
/// other name (ro.*, persist.security.*, persist.sys.*, …) fails like a real phone.
fn setprop(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let [key, value] = args else {
        io.outln("usage: setprop NAME VALUE\n\nSets an Android system property.");
        return 1;
    };
    if key.is_empty() || key.starts_with('.') || key.ends_with('.') {
        io.errln("Property names must not start or end with a '.'");
        return 1;
    }
    if key.contains("..") {
        io.errln("'..' is not allowed in a property name");
        return 1;
    }
    if let Some(c) = key
        .chars()
        .find(|c| !c.is_ascii_alphanumeric() && !":@_.-".contains(*c))
    {
        io.errln(format!("Invalid character '{c}' in name '{key}'"));
        return 1;
    }
    // PROP_VALUE_MAX is 92; toolbox exempts values that start with "ro.".
    if value.len() >= 92 && !value.starts_with("ro.") {
        io.errln(format!(
            "Value '{value}' is too long, {} bytes vs a max of 92",
            value.len()
        ));
        return 1;
    }
    let shell_may_set = ["debug.", "persist.debug.", "log.tag", "persist.log.tag"]
        .iter()
        .any(|p| key.starts_with(p));
    if !shell_may_set {
        io.errln(format!(
            "Failed to set property '{key}' to '{value}'.\nSee dmesg for error reason."
        ));
        return 1;
    }
    sh.st.props.insert(key.clone(), value.clone());
    0
}

fn settings(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let args: Vec<&String> = {
        let mut v = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--user" {
                it.next();
            } else {
                v.push(a);
            }
        }
        v
    };
    let usage = |io: &mut Io| {
        io.errln("usage:  settings [--user <USER_ID> | current] get namespace key\n        settings [--user <USER_ID> | current] put namespace key value\n        settings [--user <USER_ID> | current] delete namespace key\n        settings [--user <USER_ID> | current] list namespace\n\n'namespace' is one of {system, secure, global}, case-insensitive");
        255
    };
    let (Some(verb), Some(ns)) = (args.first(), args.get(1)) else {
        return usage(io);
    };
    let ns = ns.to_lowercase();
    if !["system", "secure", "global"].contains(&ns.as_str()) {
        return usage(io);
    }
    let table = sh.st.settings.entry(ns).or_default();
    match (verb.as_str(), args.get(2), args.get(3)) {
        ("get", Some(k), _) => {
            io.outln(table.get(k.as_str()).map(String::as_str).unwrap_or("null"))
        }
        ("put", Some(k), Some(v)) => {
            table.insert(k.to_string(), v.to_string());
        }
        ("delete", Some(k), _) => {
            let n = u8::from(table.remove(k.as_str()).is_some());
            io.outln(format!("Deleted {n} rows"));
        }
        ("list", _, _) => {
            for (k, v) in table.iter() {
                io.outln(format!("{k}={v}"));
            }
        }
        _ => return usage(io),
    }
    0
}

fn dumpsys(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    if let Some(svc) = args
        .first()
        .filter(|a| sh.st.faults.dumpsys_fail.as_ref() == Some(a))
    {
        io.errln(format!("Can't find service: {svc}"));
        return 0;
    }
    match args.first().map(String::as_str) {
        None | Some("-l") => {
            io.outln("Currently running services:");
            for s in [
                "account", "activity", "battery", "device_policy", "input", "iphonesubinfo",
                "lock_settings", "package", "phone", "settings", "user", "window",
            ] {
                io.outln(format!("  {s}"));
            }
        }
        Some("account") => policy::dumpsys_account(sh, io),
        Some("user") => policy::dumpsys_user(sh, io),
        Some("lock_settings") => policy::dumpsys_lock_settings(sh, io),
        Some("battery") => io.outln("Current Battery Service state:\n  AC powered: false\n  USB powered: true\n  Wireless powered: false\n  Max charging current: 500000\n  Max charging voltage: 5000000\n  Charge counter: 3021000\n  status: 2\n  health: 2\n  present: true\n  level: 76\n  scale: 100\n  voltage: 4123\n  temperature: 301\n  technology: Li-poly"),
        Some("window") => {
            let screen = sh.st.ui.current();
            let comp = if screen.is_empty() { "com.miui.home/.launcher.Launcher".to_string() } else { screen };
            io.outln(format!("WINDOW MANAGER WINDOWS (dumpsys window windows)\n  mCurrentFocus=Window{{8c1f2e3 u0 {comp}}}\n  mFocusedApp=ActivityRecord{{5a7b9c1 u0 {comp} t42}}"));
        }
        Some("package") => {
            let Some(pkg) = args.get(1) else {
                io.outln("Packages:");
                return 0;
            };
            match sh.phone.profile.packages.iter().find(|p| p.0 == pkg) {
                Some((name, code, _)) => io.outln(format!(
                    "Packages:\n  Package [{name}] (3f2a1b0):\n    userId=10159\n    versionCode={code} minSdk=28 targetSdk=34\n    versionName={}.{}.{}",
                    code / 1_000_000 % 100,
                    code / 1000 % 1000,
                    code % 1000
                )),
                None => io.outln(format!("Unable to find package: {pkg}")),
            }
        }
        Some("device_policy") => {
            let owner = sh.st.world.device_owner.clone();
            io.outln("Current Device Policy Manager state:");
            if let Some(o) = owner {
                io.outln(format!("  Device Owner: \n    admin={}\n    name=\n    package={}", policy::component_info(&o), o.split('/').next().unwrap_or("")));
            }
        }
        Some(other) => {
            io.errln(format!("Can't find service: {other}"));
        }
    }
    0
}

fn dpm(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    match args.first().map(String::as_str) {
        Some("list-owners") => {
            policy::dpm_list_owners(sh, io);
            0
        }
        _ => {
            io.errln("usage: dpm [subcommand] [options]\nusage: dpm set-active-admin [ --user <USER_ID> | current ] <COMPONENT>\nusage: dpm list-owners");
            1
        }
    }
}

fn pm(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let p = sh.phone.profile;
    match args.first().map(String::as_str) {
        Some("list") => match args.get(1).map(String::as_str) {
            Some("packages") => {
                let opts = &args[2..];
                let third = opts.iter().any(|o| o == "-3");
                let system = opts.iter().any(|o| o == "-s");
                let versions = opts.iter().any(|o| o == "--show-versioncode");
                let paths = opts.iter().any(|o| o == "-f");
                let filter = opts.iter().find(|o| !o.starts_with('-'));
                for (name, code, is_third) in p.packages {
                    if (third && !is_third) || (system && *is_third) {
                        continue;
                    }
                    if filter.is_some_and(|f| !name.contains(f.as_str())) {
                        continue;
                    }
                    let mut line = String::from("package:");
                    if paths {
                        let _ = write!(line, "/data/app/~~{:x}==/{name}-1/base.apk=", code);
                    }
                    line.push_str(name);
                    if versions {
                        let _ = write!(line, " versionCode:{code}");
                    }
                    io.outln(line);
                }
                0
            }
            Some("users") => {
                policy::pm_list_users(sh, io);
                0
            }
            _ => {
                io.errln("Error: unknown list type");
                1
            }
        },
        Some("path") => match args
            .get(1)
            .and_then(|n| p.packages.iter().find(|x| x.0 == n))
        {
            Some((name, code, _)) => {
                io.outln(format!("package:/data/app/~~{code:x}==/{name}-1/base.apk"));
                0
            }
            None => 1,
        },
        Some("clear") | Some("uninstall") | Some("disable-user") | Some("disable") => {
            // The shell user cannot clear or remove protected Xiaomi apps; the tool must
            // never try (FACTS.md §5). Fail like a real phone refusing it.
            io.errln(format!(
                "Exception occurred while executing '{}':\njava.lang.SecurityException: Shell cannot change component state for {} to 0",
                args[0],
                args.get(1).map(String::as_str).unwrap_or("null")
            ));
            255
        }
        _ => {
            io.errln("Unknown command");
            1
        }
    }
}

fn cmd(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let rest = args.get(1..).unwrap_or(&[]);
    match args.first().map(String::as_str) {
        Some("-l") => {
            for s in [
                "account",
                "activity",
                "input",
                "lock_settings",
                "package",
                "settings",
                "window",
            ] {
                io.outln(s);
            }
            0
        }
        Some("package") => pm(sh, rest, io),
        Some("settings") => settings(sh, rest, io),
        Some("input") => input(sh, rest, io),
        Some("activity") => am(sh, rest, io),
        Some("device_policy") => dpm(sh, rest, io),
        Some("lock_settings") => policy::lock_settings_cmd(sh, rest, io),
        Some(other) => {
            io.errln(format!("cmd: Can't find service: {other}"));
            20
        }
        None => {
            io.errln("cmd: No service specified; use -l to list all running services. Use -w to start and wait for a service.");
            20
        }
    }
}

/// AOSP's Parcel hex dump as `service call` prints it: 16 bytes a row, as four
/// little-endian 32-bit words, then the bytes as text with `.` for the unprintable.
pub fn parcel_dump(data: &[u8]) -> String {
    let mut out = String::from("Result: Parcel(\n");
    let rows: Vec<&[u8]> = data.chunks(16).collect();
    for (i, row) in rows.iter().enumerate() {
        let words: Vec<String> = row
            .chunks(4)
            .map(|w| {
                let mut b = [0u8; 4];
                b[..w.len()].copy_from_slice(w);
                format!("{:08x}", u32::from_le_bytes(b))
            })
            .collect();
        let text: String = row
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        let _ = write!(
            out,
            "  0x{:08x}: {:<35} '{:<16}'",
            i * 16,
            words.join(" "),
            text
        );
        out.push_str(if i + 1 == rows.len() { ")\n" } else { "\n" });
    }
    out
}

/// A Parcel holding a status word then a String16 (length, UTF-16 chars, NUL, padding).
fn string16_parcel(status: u32, s: &str) -> Vec<u8> {
    let mut data = status.to_le_bytes().to_vec();
    let units: Vec<u16> = s.encode_utf16().collect();
    data.extend_from_slice(&(units.len() as u32).to_le_bytes());
    for u in units {
        data.extend_from_slice(&u.to_le_bytes());
    }
    data.extend_from_slice(&[0, 0]);
    while data.len() % 4 != 0 {
        data.push(0);
    }
    data
}

fn service(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    match args.first().map(String::as_str) {
        Some("list") => {
            io.outln("Found 4 services:\n0\tiphonesubinfo: [com.android.internal.telephony.IPhoneSubInfo]\n1\taccount: [android.accounts.IAccountManager]\n2\tinput: [android.hardware.input.IInputManager]\n3\tpackage: [android.content.pm.IPackageManager]");
            0
        }
        Some("check") => {
            let s = args.get(1).map(String::as_str).unwrap_or("");
            io.outln(format!("Service {s}: found"));
            0
        }
        Some("call") => {
            let svc = args.get(1).map(String::as_str).unwrap_or("");
            let code = args.get(2).and_then(|c| c.parse::<u32>().ok());
            if svc != "iphonesubinfo" {
                io.errln(format!("service: Service {svc} does not exist"));
                return 255;
            }
            let data = match code {
                Some(1) if sh.phone.profile.iphonesubinfo_imei => {
                    string16_parcel(0, &sh.st.world.imei)
                }
                Some(1) => string16_parcel(
                    0xffff_ffff,
                    "getDeviceId: The user 2000 does not meet the requirements to access device identifiers.",
                ),
                _ => vec![0; 8],
            };
            io.out.extend_from_slice(parcel_dump(&data).as_bytes());
            0
        }
        _ => {
            io.errln("Usage: service [-h|-?]\n       service list\n       service check SERVICE\n       service call SERVICE CODE [i32 N | i64 N | f N | d N | s16 STR | null | fd f | nfd n | afd f ] ...");
            1
        }
    }
}

fn am(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    match args.first().map(String::as_str) {
        Some("start") | Some("start-activity") => {
            sh.st.count("am_start");
            let st = &mut *sh.st;
            let out = st.ui.am_start(&mut st.world, &args[1..]);
            io.out.extend_from_slice(&out.stdout);
            io.err.extend_from_slice(&out.stderr);
            out.code
        }
        Some("force-stop") | Some("kill") => 0,
        Some("broadcast") => {
            io.outln("Broadcasting: Intent { flg=0x400000 }\nBroadcast completed: result=0");
            0
        }
        _ => {
            io.errln("Activity manager (activity) commands:\n  help\n  start [-D] [-N] [-W] [-P <FILE>] [--start-profiler <FILE>] <INTENT>\n  force-stop <PACKAGE>\n  broadcast <INTENT>");
            if args.is_empty() { 1 } else { 255 }
        }
    }
}

fn uiautomator(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    if args.first().map(String::as_str) != Some("dump") {
        io.errln("Usage: uiautomator <subcommand> [options]\n\nAvailable subcommands:\n\nhelp: displays help message\n\nruntest: executes UI automation tests\n\ndump: creates an XML dump of current UI hierarchy\n\nevents: prints out accessibility events until terminated");
        return 1;
    }
    let path = args[1..]
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "/sdcard/window_dump.xml".into());
    sh.st.count("dumps");
    sh.delay += sh.st.costs.dump_time + sh.st.faults.slow_dump.unwrap_or_default();
    let st = &mut *sh.st;
    match st.ui.dump(&st.world) {
        Ok(xml) => {
            if path == "/dev/tty" || path == "/dev/stdout" {
                io.out.extend_from_slice(xml.as_bytes());
            } else {
                let written = super::files::prepare_write(sh, &path, false)
                    .and_then(|_| super::files::append_for_shell(sh, &path, xml.as_bytes()));
                if let Err(msg) = written {
                    io.errln(format!("ERROR: could not write dump to {path}: {msg}"));
                    return 0;
                }
            }
            // uiautomator's own spelling.
            io.outln(format!("UI hierchary dumped to: {path}"));
        }
        // uiautomator prints its errors and still exits 0.
        Err(line) => io.errln(line),
    }
    0
}

const INJECT_TRACE: &str = "java.lang.SecurityException: Injecting to another application requires INJECT_EVENTS permission
\tat android.os.Parcel.createExceptionOrNull(Parcel.java:3011)
\tat android.os.Parcel.createException(Parcel.java:2995)
\tat android.os.Parcel.readException(Parcel.java:2978)
\tat android.os.Parcel.readException(Parcel.java:2920)
\tat android.hardware.input.IInputManager$Stub$Proxy.injectInputEvent(IInputManager.java:1245)
\tat android.hardware.input.InputManager.injectInputEvent(InputManager.java:1187)
\tat com.android.server.input.InputShellCommand.injectMotionEvent(InputShellCommand.java:167)
\tat com.android.server.input.InputShellCommand.sendTap(InputShellCommand.java:412)
\tat com.android.server.input.InputShellCommand.runTap(InputShellCommand.java:401)
\tat com.android.server.input.InputShellCommand.onCommand(InputShellCommand.java:134)
\tat com.android.modules.utils.BasicShellCommandHandler.exec(BasicShellCommandHandler.java:97)
\tat android.os.ShellCommand.exec(ShellCommand.java:38)
\tat com.android.server.input.InputManagerService.onShellCommand(InputManagerService.java:3192)
\tat android.os.Binder.shellCommand(Binder.java:1092)
\tat android.os.Binder.onTransact(Binder.java:912)
\tat android.hardware.input.IInputManager$Stub.onTransact(IInputManager.java:1104)
\tat android.os.Binder.execTransactInternal(Binder.java:1392)
\tat android.os.Binder.execTransact(Binder.java:1299)
Caused by: android.os.RemoteException: Remote stack trace:
\tat com.android.server.input.InputManagerService.injectInputEventToTarget(InputManagerService.java:1050)
\tat com.android.server.input.InputManagerService.injectInputEvent(InputManagerService.java:1017)
\tat android.hardware.input.IInputManager$Stub.onTransact(IInputManager.java:595)
\tat com.android.server.input.InputManagerServiceInjector$Stub.onTransact(InputManagerServiceInjector.java:231)
\tat android.os.Binder.execTransactInternal(Binder.java:1392)";

fn input(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    // `input [source] tap …`: the first argument may be a source name.
    let sub = args
        .iter()
        .find(|a| {
            matches!(
                a.as_str(),
                "tap"
                    | "text"
                    | "keyevent"
                    | "swipe"
                    | "press"
                    | "roll"
                    | "draganddrop"
                    | "motionevent"
                    | "keycombination"
            )
        })
        .cloned();
    let Some(sub) = sub else {
        io.errln("Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]\n\nThe commands and default sources are:\n      text <string> (Default: keyboard)\n      keyevent [--longpress|--duration <duration to hold key down in ms>] [--doubletap] [--async] [--delay <duration between keycodes in ms>] <key code number or name> ... (Default: keyboard)\n      tap <x> <y> (Default: touchscreen)\n      swipe <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)");
        return 1;
    };
    let counter = match sub.as_str() {
        "tap" => "taps",
        "text" => "texts",
        "keyevent" => "keyevents",
        "swipe" => "swipes",
        _ => "inputs",
    };
    if !sh.st.world.adb_input {
        sh.st.count("inputs_refused");
        io.errln(format!("Exception occurred while executing '{sub}':"));
        io.errln(INJECT_TRACE);
        return 255;
    }
    sh.st.count(counter);
    let st = &mut *sh.st;
    let out = st.ui.input(&mut st.world, args);
    io.out.extend_from_slice(&out.stdout);
    io.err.extend_from_slice(&out.stderr);
    out.code
}

fn screencap(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    sh.st.count("screencaps");
    let png = sh.st.ui.screencap_png(&sh.st.world);
    match args.iter().find(|a| !a.starts_with('-')) {
        Some(path) => {
            let res = super::files::prepare_write(sh, path, false)
                .and_then(|_| super::files::append_for_shell(sh, path, &png));
            if let Err(msg) = res {
                io.errln(format!("Error opening file: {path} ({msg})"));
                return 1;
            }
        }
        None => io.out.extend_from_slice(&png),
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parcel_dump_matches_a_real_phone_byte_for_byte() {
        let got = parcel_dump(&string16_parcel(0, "861456789023456"));
        let want = "Result: Parcel(\n  0x00000000: 00000000 0000000f 00360038 00340031 '........8.6.1.4.'\n  0x00000010: 00360035 00380037 00300039 00330032 '5.6.7.8.9.0.2.3.'\n  0x00000020: 00350034 00000036                   '4.5.6...        ')\n";
        assert_eq!(got, want);
    }
}
