//! `mi-offboard inspect [-s SERIAL] [--json]`: one phone's identity and what stands
//! between it and a clean hand-over, read without changing anything on the phone.
//! Exit 0 when the phone was read (blockers or not), 3 when it is unauthorized, 5 when
//! it is offline, lost or silent.

use mi_offboard::adb::AdbError;
use mi_offboard::exit::Exit;
use mi_offboard::miui::{self, Inspection};

use super::common;
use crate::cli::{Global, PhoneArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON on stdout instead of a report for people.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub phone: PhoneArgs,
}

pub const HELP: &str = "\
Examples:
  mi-offboard inspect                        # the only phone connected
  mi-offboard inspect -s 4f8e2a1c
  mi-offboard inspect -s 4f8e2a1c --json | jq .blockers

Needs no password; changes nothing on the phone.

Exit codes:
  0  the phone was read (whether or not something blocks its hand-over)
  1  anything else (the adb server could not be reached, ...)
  2  usage error; several phones are connected and none was chosen with -s
  3  the phone is unauthorized: accept \"Allow USB debugging?\" on it
  5  no phone, or it is offline, was unplugged or stopped answering";

pub async fn run(args: Args, global: &Global) -> Exit {
    let adb = match common::connect(global).await {
        Ok(a) => a,
        Err(e) => return common::fail_adb(&e),
    };
    let (device, info) = match common::select(&adb, global).await {
        Ok(d) => d,
        Err(e) => return common::fail_adb(&e),
    };
    let report = match miui::inspect(&device, &info.state).await {
        Ok(r) => r,
        Err(e) => return common::fail(&e),
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return common::fail_msg(&format!("cannot encode JSON: {e}"), Exit::Other),
        }
    } else {
        print_human(&report);
    }
    if report.is_unauthorized() {
        // Nothing could be read: the precondition (an accepted key) is missing.
        return common::fail_adb(&AdbError::Unauthorized {
            serial: report.serial.clone(),
        });
    }
    Exit::Ok
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("unknown")
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

fn print_human(r: &Inspection) {
    println!("Phone {} ({})", r.serial, r.state);
    if !r.is_unauthorized() {
        println!(
            "  Maker:         {} / {}",
            opt(&r.manufacturer),
            opt(&r.brand)
        );
        println!(
            "  Model:         {} ({})",
            opt(&r.marketname),
            opt(&r.model)
        );
        if let Some(os) = &r.os {
            let family = os.family;
            let sdk = os.sdk.map(|s| s.to_string()).unwrap_or_else(|| "?".into());
            println!(
                "  OS:            {family} {}, Android {} (SDK {sdk})",
                opt(&os.version),
                opt(&os.android)
            );
        }
        println!("  Region:        {}", opt(&r.region));
        println!(
            "  IMEI:          {}",
            r.imei.as_deref().unwrap_or("unreadable")
        );
        let mi = match &r.mi_account {
            Some(m) if m.signed_in => format!("signed in ({})", m.id.as_deref().unwrap_or("?")),
            Some(_) => "not signed in".into(),
            None => "unknown".into(),
        };
        println!("  Mi account:    {mi}");
        let google = r
            .google_accounts
            .map(|n| n.to_string())
            .unwrap_or_else(|| "unknown".into());
        println!("  Google:        {google} account(s)");
        println!("  Screen lock:   {}", yes_no(r.screen_lock));
        println!("  FRP armed:     {}", yes_no(r.frp_armed));
        println!(
            "  Device owner:  {}",
            r.device_owner.as_deref().unwrap_or("none")
        );
        println!(
            "  USB debugging (Security settings): {}",
            match r.input_allowed {
                Some(true) => "on",
                Some(false) => "off",
                None => "unknown",
            }
        );
    }
    println!();
    if r.blockers.is_empty() {
        println!("Ready for hand-over: nothing blocks it.");
        return;
    }
    println!("Not ready for hand-over ({} blocker(s)):", r.blockers.len());
    for b in &r.blockers {
        let code = serde_json::to_value(b.code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        println!("  [{code}] {}", b.message);
        println!("      What to do: {}", b.action);
    }
}
