//! `mi-offboard devices [--json]`: every phone the server sees — serial, state, model,
//! whether it is a Xiaomi, OS family and version. One `getprop` per online phone, all
//! phones at once, so a full bench answers in about one round trip.

use mi_offboard::adb::{Adb, DeviceInfo, Selector};
use mi_offboard::exit::{Exit, HasExit};
use mi_offboard::miui::{self, OsInfo};
use serde::Serialize;

use super::common;
use crate::cli::{AdbArgs, Global};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub adb: AdbArgs,
}

pub const HELP: &str = "\
Examples:
  mi-offboard devices
  mi-offboard devices --json | jq -r '.[] | select(.xiaomi) | .serial'
  mi-offboard devices -P 5038            # an adb server on another port

Needs no password.

Exit codes:
  0  the list was printed (also when no phone is connected)
  1  the adb server could not be reached or started
  2  usage error (bad option)
  5  a phone stopped answering while it was asked";

/// One phone as `devices --json` prints it.
#[derive(Debug, Serialize)]
struct Row {
    serial: String,
    state: String,
    transport_id: Option<u64>,
    model: Option<String>,
    marketname: Option<String>,
    manufacturer: Option<String>,
    /// `None` when the phone could not be asked (unauthorized, offline, error).
    xiaomi: Option<bool>,
    os: Option<OsInfo>,
    /// Why the phone's details are missing, when they are.
    error: Option<String>,
}

async fn describe(adb: Adb, info: DeviceInfo) -> (Row, Exit) {
    let mut row = Row {
        serial: info.serial.clone(),
        state: info.state.to_string(),
        transport_id: info.transport_id,
        model: info.model.clone(),
        marketname: None,
        manufacturer: None,
        xiaomi: None,
        os: None,
        error: None,
    };
    if !info.state.is_online() {
        return (row, Exit::Ok);
    }
    match adb
        .device(Selector::Serial(info.serial.clone()))
        .shell("getprop")
        .await
    {
        Ok(out) => {
            let id = miui::identity(&miui::parse_getprop(&out.stdout_text()));
            row.model = id.model.or(row.model);
            row.marketname = id.marketname;
            row.manufacturer = id.manufacturer;
            row.xiaomi = Some(id.is_xiaomi);
            row.os = Some(id.os);
            (row, Exit::Ok)
        }
        Err(e) => {
            let exit = e.exit();
            row.error = Some(e.to_string());
            (row, exit)
        }
    }
}

fn os_text(os: &OsInfo) -> String {
    let mut s = format!("{} {}", os.family, os.version.as_deref().unwrap_or("?"));
    if let Some(a) = &os.android {
        s.push_str(&format!(" (Android {a})"));
    }
    s
}

pub async fn run(args: Args, global: &Global) -> Exit {
    let adb = match common::connect(global).await {
        Ok(a) => a,
        Err(e) => return common::fail_adb(&e),
    };
    let list = match adb.devices().await {
        Ok(l) => l,
        Err(e) => return common::fail_adb(&e),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for (i, info) in list.into_iter().enumerate() {
        let adb = adb.clone();
        tasks.spawn(async move { (i, describe(adb, info).await) });
    }
    let mut rows = Vec::new();
    let mut exit = Exit::Ok;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((i, (row, e))) => {
                exit = exit.worst(e);
                rows.push((i, row));
            }
            Err(e) => {
                eprintln!("mi-offboard: internal error while asking a phone: {e}");
                exit = exit.worst(Exit::Other);
            }
        }
    }
    rows.sort_by_key(|(i, _)| *i);
    let rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();
    if args.json {
        match serde_json::to_string_pretty(&rows) {
            Ok(s) => println!("{s}"),
            Err(e) => return common::fail_msg(&format!("cannot encode JSON: {e}"), Exit::Other),
        }
        return exit;
    }
    if rows.is_empty() {
        eprintln!("No phone is connected (plug one in and accept the USB debugging prompt).");
        return exit;
    }
    println!(
        "{:<24} {:<14} {:<28} {:<7} OS",
        "SERIAL", "STATE", "MODEL", "XIAOMI"
    );
    for r in &rows {
        let model = match (&r.marketname, &r.model) {
            (Some(m), Some(code)) if m != code => format!("{m} ({code})"),
            (_, Some(code)) => code.clone(),
            (Some(m), None) => m.clone(),
            (None, None) => "-".into(),
        };
        let xiaomi = match r.xiaomi {
            Some(true) => "yes",
            Some(false) => "no",
            None => "?",
        };
        let os = match (&r.os, &r.error) {
            (_, Some(e)) => format!("error: {e}"),
            (Some(os), None) => os_text(os),
            (None, None) => "-".into(),
        };
        println!(
            "{:<24} {:<14} {:<28} {:<7} {}",
            r.serial, r.state, model, xiaomi, os
        );
    }
    exit
}
