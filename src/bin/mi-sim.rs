//! mi-sim: runs simulated phones and Xiaomi's account service for tests and demos.
//!
//! Data on stdout (one line per phone when it listens: `SERIAL PORT PROFILE`, and with
//! `--account-port` a line `account URL` for the account service), logs on
//! stderr. While running, lines on stdin control faults (see `help` on stdin and
//! docs/simulator.md), so a demo or a test can unplug a phone or slow it down.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use mi_offboard::sim::account::{self, AccountServiceConfig, Outbox};
use mi_offboard::sim::device::Authorization;
use mi_offboard::sim::phone::profile;
use mi_offboard::sim::{Costs, PhoneSpec, Registry, SimPhone, TreeSpec, spawn_phone};
use tokio::io::AsyncBufReadExt;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "mi-sim",
    version,
    about = "Simulated Xiaomi phones behind the real ADB transport"
)]
struct Cli {
    /// Also serve Xiaomi's account service (account.xiaomi.com and i.mi.com paths) on
    /// this port of 127.0.0.1 (0 = any free port), sharing its accounts with the phones.
    #[arg(long, global = true)]
    account_port: Option<u16>,
    /// Append the verification codes the account service "sends" to this file, one JSON
    /// line each (a demo reads the code from there).
    #[arg(long, global = true)]
    outbox: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct TreeArgs {
    /// Ordinary files generated under /sdcard.
    #[arg(long, default_value_t = 60)]
    files: usize,
    /// Largest ordinary file, in KiB.
    #[arg(long, default_value_t = 64)]
    max_kib: u64,
    /// Add a big video of this many MB to DCIM/Camera (repeatable).
    #[arg(long = "big-file-mb")]
    big_file_mb: Vec<u64>,
    /// Real phones' costs: 2 s uiautomator dumps, a USB 2 link (40 MB/s, 0.5 ms round
    /// trips, shared by every stream), 25 s reboots.
    #[arg(long)]
    realistic: bool,
}

impl TreeArgs {
    fn tree(&self) -> TreeSpec {
        TreeSpec {
            files: self.files,
            min_size: 0,
            max_size: self.max_kib * 1024,
            big_files: self.big_file_mb.iter().map(|m| m * 1_000_000).collect(),
        }
    }
    fn costs(&self) -> Costs {
        if self.realistic {
            Costs::realistic()
        } else {
            Costs::default()
        }
    }
}

#[derive(Subcommand, Clone)]
enum Command {
    /// Run one phone.
    Phone {
        /// TCP port to listen on (0 = any free port; the chosen one is printed).
        #[arg(long)]
        port: u16,
        #[arg(long, default_value = "miui14-global")]
        profile: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Host directory for the phone's files (default: a temporary directory).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Keep the phone's state as JSON in this file (rewritten on change).
        #[arg(long)]
        state: Option<PathBuf>,
        #[command(flatten)]
        tree: TreeArgs,
    },
    /// Run several phones in one process (ports BASE, BASE+1, …).
    Bench {
        #[arg(long)]
        phones: usize,
        #[arg(long)]
        base_port: u16,
        /// Profiles, used in turn (default: all).
        #[arg(long, value_delimiter = ',')]
        profiles: Vec<String>,
        /// Seed of the first phone; the others count up.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write each phone's state to DIR/SERIAL.json.
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[command(flatten)]
        tree: TreeArgs,
    },
    /// List the profiles.
    Profiles,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let command = cli.command.clone();
    let registry = Registry::new();
    let mut phones: Vec<SimPhone> = Vec::new();
    match command {
        Command::Profiles => {
            for p in profile::PROFILES {
                println!("{:<14} {}", p.name, p.summary);
            }
            return;
        }
        Command::Phone {
            port,
            profile,
            seed,
            data,
            state,
            tree,
        } => {
            let spec = PhoneSpec {
                profile,
                seed,
                tree: tree.tree(),
                costs: tree.costs(),
                data_dir: data,
                state_file: state,
                ..PhoneSpec::default()
            };
            match spawn_phone(spec, port, registry.clone()).await {
                Ok(p) => phones.push(p),
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::Bench {
            phones: n,
            base_port,
            profiles,
            seed,
            state_dir,
            tree,
        } => {
            let names: Vec<String> = if profiles.is_empty() {
                profile::names().into_iter().map(String::from).collect()
            } else {
                profiles
            };
            if let Some(d) = &state_dir {
                if let Err(e) = std::fs::create_dir_all(d) {
                    fail(&format!("cannot create {}: {e}", d.display()));
                }
            }
            for i in 0..n {
                let profile = names[i % names.len()].clone();
                let seed = seed + i as u64;
                let state_file = state_dir.as_ref().map(|d| {
                    let id = profile::find(&profile).map(|p| p.identity(seed).serial);
                    d.join(format!(
                        "{}.json",
                        id.unwrap_or_else(|| format!("phone{i}"))
                    ))
                });
                let spec = PhoneSpec {
                    profile,
                    seed,
                    tree: tree.tree(),
                    costs: tree.costs(),
                    state_file,
                    ..PhoneSpec::default()
                };
                let port = if base_port == 0 {
                    0
                } else {
                    base_port.saturating_add(i as u16)
                };
                match spawn_phone(spec, port, registry.clone()).await {
                    Ok(p) => phones.push(p),
                    Err(e) => fail(&e.to_string()),
                }
            }
        }
    }
    for p in &phones {
        println!("{} {} {}", p.serial(), p.port(), p.phone().profile().name);
    }
    let account = CancellationToken::new();
    if let Some(port) = cli.account_port {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => fail(&format!("cannot listen on 127.0.0.1:{port}: {e}")),
        };
        if let Ok(addr) = listener.local_addr() {
            println!("account http://{addr}");
        }
        let config = AccountServiceConfig {
            outbox: cli.outbox.clone().map(Outbox::to_file).unwrap_or_default(),
            ..AccountServiceConfig::default()
        };
        let (registry, token) = (registry.clone(), account.clone());
        tokio::spawn(async move {
            if let Err(e) = account::serve(listener, registry, config, token).await {
                tracing::error!("account service stopped: {e}");
            }
        });
    }
    control(&phones).await;
    account.cancel();
    for p in phones {
        p.shutdown().await;
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("mi-sim: {msg}");
    std::process::exit(1);
}

const HELP: &str = "commands: unplug|replug [SERIAL|all] · stall on|off [SERIAL|all] · \
drop BYTES|off [SERIAL|all] · slow-dump MS [SERIAL|all] · dumpsys-fail SERVICE|off [SERIAL|all] · dialog [SERIAL|all] · idle-fail N [SERIAL|all] · \
adbinput on|off [SERIAL|all] · screenlock on|off [SERIAL|all] · \
nofactoryreset on|off [SERIAL|all] · owner COMPONENT|none [SERIAL|all] · \
auth accept|deny|open [SERIAL|all] · state [SERIAL] · quit";

/// Reads control lines on stdin until `quit` or a signal; stdin at EOF is ignored
/// (mi-sim often runs in the background).
async fn control(phones: &[SimPhone]) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        let line = tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            l = lines.next_line(), if stdin_open => l,
        };
        let line = match line {
            Ok(Some(l)) => l,
            _ => {
                stdin_open = false;
                continue;
            }
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let (cmd, arg) = (words.first().copied(), words.get(1).copied());
        let target = |idx: usize| -> Vec<&SimPhone> {
            match words.get(idx) {
                None | Some(&"all") => phones.iter().collect(),
                Some(s) => phones
                    .iter()
                    .filter(|p| p.serial() == *s || p.port().to_string() == *s)
                    .collect(),
            }
        };
        match cmd {
            None => {}
            Some("quit") | Some("exit") => return,
            Some("unplug") => target(1).iter().for_each(|p| p.phone().unplug()),
            Some("replug") => target(1).iter().for_each(|p| p.phone().replug()),
            Some("stall") => {
                for p in target(2) {
                    let mut f = p.phone().faults_now();
                    f.stall = arg == Some("on");
                    p.phone().set_faults(f);
                }
            }
            Some("drop") => {
                for p in target(2) {
                    let mut f = p.phone().faults_now();
                    f.drop_after_sync_bytes = arg.and_then(|a| a.parse().ok());
                    p.phone().set_faults(f);
                }
            }
            Some("slow-dump") => {
                for p in target(2) {
                    let mut f = p.phone().faults_now();
                    f.slow_dump = arg
                        .and_then(|a| a.parse().ok())
                        .filter(|ms| *ms > 0)
                        .map(Duration::from_millis);
                    p.phone().set_faults(f);
                }
            }
            Some("dumpsys-fail") => {
                for p in target(2) {
                    let mut f = p.phone().faults_now();
                    f.dumpsys_fail = arg.filter(|a| *a != "off").map(str::to_string);
                    p.phone().set_faults(f);
                }
            }
            Some("dialog") => target(1).iter().for_each(|p| {
                p.phone()
                    .with_ui(|u| u.config_mut().unexpected_dialog = true)
            }),
            Some("idle-fail") => {
                let n = arg.and_then(|a| a.parse().ok()).unwrap_or(1);
                for p in target(2) {
                    p.phone().with_ui(|u| u.config_mut().idle_failures = n);
                }
            }
            // What an operator changes by hand in Settings while the phone runs.
            Some(switch @ ("adbinput" | "screenlock" | "nofactoryreset"))
                if matches!(arg, Some("on" | "off")) =>
            {
                let on = arg == Some("on");
                for p in target(2) {
                    match switch {
                        "adbinput" => p.phone().set_adb_input(on),
                        "screenlock" => p.phone().set_screen_lock(on),
                        _ => p.phone().set_no_factory_reset(on),
                    }
                }
            }
            // The "Allow USB debugging?" prompt: accept, leave it up, or no AUTH at all.
            Some("auth") if matches!(arg, Some("accept" | "deny" | "open")) => {
                let mode = match arg {
                    Some("accept") => Authorization::Prompt { accept: true },
                    Some("deny") => Authorization::Prompt { accept: false },
                    _ => Authorization::Open,
                };
                for p in target(2) {
                    p.phone().set_authorization(mode);
                }
            }
            Some("owner") if arg.is_some() => {
                let owner = arg.filter(|a| *a != "none").map(str::to_string);
                for p in target(2) {
                    p.phone().set_device_owner(owner.clone());
                }
            }
            Some("state") => {
                for p in target(1) {
                    println!("{}", p.phone().state_json());
                }
            }
            Some(_) => eprintln!("mi-sim: {HELP}"),
        }
    }
}
