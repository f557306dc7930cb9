//! `mi-offboard cloud`: delete the owner's Xiaomi account and check a phone's activation
//! lock, over Xiaomi's web service. The face only: arguments, the password source,
//! prompts for codes and captchas (terminal, or standard input when it is not one), and
//! what is printed. Data goes to stdout, conversation to stderr. The flows are in
//! `mi_offboard::cloud`.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};

use mi_offboard::cloud::{
    self, Channel, Client, ClientOptions, CloudError, CodeAsk, Endpoints, PromptError, Prompter,
    Purpose, SecretString,
};
use mi_offboard::exit::{Exit, HasExit};
use mi_offboard::secret;

use crate::password_help;

/// Environment variable read for the password when no --password-file is given.
pub const PASSWORD_ENV: &str = "MI_PASSWORD";

#[derive(Debug, clap::Args)]
pub struct CloudArgs {
    #[command(subcommand)]
    pub command: CloudCommand,
}

pub const HELP: &str = "\
Examples:
  mi-offboard cloud lock-status --imei 861234567890123
  mi-offboard cloud delete --user 6203145003 --confirm 6203145003
  mi-offboard cloud delete --help                     # passwords, codes, exit codes

Only `cloud delete` needs a password (see its help).

Exit codes:
  0  done (deletion scheduled; or Xiaomi answered the lock check, locked or not)
  1  anything else (network, an unexpected answer from Xiaomi)
  2  usage error (bad IMEI or URL; no password available)
  3  refused, nothing deleted: --confirm differs, a phone still has Find Device on
  4  password, verification code or captcha answer refused";

#[derive(Debug, clap::Subcommand)]
pub enum CloudCommand {
    /// Delete the owner's Xiaomi account. Refuses unless --confirm repeats the account
    /// and while any phone still has Find Device on for it (sign those out first).
    ///
    /// Signs in to the owner's Xiaomi account as a browser would (verification code by
    /// SMS or email, captcha when Xiaomi wants one), lists the phones bound to it, and
    /// schedules the account's deletion. Refuses, with nothing deleted, unless --confirm
    /// repeats the account and while any phone still has Find Device on for it: sign
    /// those phones out first (`mi-offboard signout`), or a reset phone stays locked.
    #[command(after_help = DELETE_HELP)]
    Delete(DeleteArgs),
    /// Check whether a phone is activation-locked to a Mi account (no sign-in needed).
    /// Exit 0 whenever Xiaomi answered, locked or not: the answer is printed.
    ///
    /// Asks Xiaomi's Find Device service, anonymously, whether the phone with this IMEI
    /// is activation-locked to a Mi account. A locked phone is an answer, not a failure:
    /// the exit code is 0 whenever Xiaomi answered; read the sentence or `locked` in the
    /// JSON.
    #[command(after_help = LOCK_HELP)]
    LockStatus(LockStatusArgs),
}

const DELETE_HELP: &str = concat!(
    "\
Examples:
  mi-offboard cloud delete --user 6203145003 --confirm 6203145003
  mi-offboard cloud delete --user owner@example.com --confirm owner@example.com \\
      --password-file pw.txt --code-via email --captcha-dir ~/captchas

Verification codes and captcha answers are asked on the terminal, or read line by line
from standard input when it is not one.

",
    password_help!(),
    "
Exit codes:
  0  the account is scheduled for deletion (the date is printed)
  1  anything else (network, an unexpected answer from Xiaomi)
  2  usage error (a bad URL); no password available
  3  refused, nothing deleted: --confirm differs from --user, a phone still has Find
     Device on, too many codes asked, or the account is restricted
  4  password, verification code or captcha answer refused; or no such account"
);

const LOCK_HELP: &str = "\
Examples:
  mi-offboard cloud lock-status --imei 861234567890123
  mi-offboard cloud lock-status --imei 861234567890123 --json | jq .locked

Needs no password and no sign-in.

Exit codes:
  0  Xiaomi answered, locked or not (the answer is printed)
  1  anything else (network, an unexpected answer from Xiaomi)
  2  usage error: the IMEI is not 15 digits, or a bad URL";

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The account: its numeric id (or the email / phone number used to sign in).
    #[arg(long, value_name = "ID")]
    pub user: String,
    /// Type the account again to confirm its deletion.
    #[arg(long, value_name = "ID")]
    pub confirm: String,
    /// File whose first line is the password (else $MI_PASSWORD, else a hidden prompt).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Receive verification codes by SMS or email, when the account offers both.
    #[arg(long, value_enum, default_value_t = Via::Sms)]
    pub code_via: Via,
    /// Folder where a captcha image is saved for you to open.
    #[arg(long, value_name = "DIR")]
    pub captcha_dir: Option<PathBuf>,
    #[command(flatten)]
    pub urls: Urls,
}

#[derive(Debug, clap::Args)]
pub struct Urls {
    /// Xiaomi's account service (plain http only for this computer, e.g. the simulator).
    #[arg(long, value_name = "URL", env = "MI_ACCOUNT_URL", default_value = cloud::DEFAULT_ACCOUNT_URL)]
    pub account_url: String,
    /// Xiaomi's Find Device host.
    #[arg(long, value_name = "URL", env = "MI_FIND_URL", default_value = cloud::DEFAULT_FIND_URL)]
    pub find_url: String,
}

#[derive(Debug, clap::Args)]
pub struct LockStatusArgs {
    /// The phone's IMEI (dial *#06#), 15 digits.
    #[arg(long)]
    pub imei: String,
    /// Xiaomi's Find Device host.
    #[arg(long, value_name = "URL", env = "MI_FIND_URL", default_value = cloud::DEFAULT_FIND_URL)]
    pub find_url: String,
    /// Print the answer as JSON on stdout (`locked`: true or false).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Via {
    Sms,
    Email,
}

pub async fn run(args: CloudArgs) -> Exit {
    let outcome = match args.command {
        CloudCommand::Delete(a) => delete(a).await,
        CloudCommand::LockStatus(a) => lock_status(a).await,
    };
    match outcome {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit
        }
    }
}

/// An error already worded for the operator, with its exit code.
struct Failure {
    text: String,
    exit: Exit,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl<E: HasExit + std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure {
            text: e.to_string(),
            exit: e.exit(),
        }
    }
}

async fn delete(a: DeleteArgs) -> Result<Exit, Failure> {
    // The interlock comes first: nothing is asked or sent for a mistyped confirmation.
    cloud::check_confirmation(&a.user, &a.confirm)?;
    let endpoints = Endpoints::new(&a.urls.account_url, &a.urls.find_url)?;
    let password = password(a.password_file.as_deref())?;
    let options = ClientOptions {
        prefer: match a.code_via {
            Via::Sms => Channel::Phone,
            Via::Email => Channel::Email,
        },
        captcha_dir: a.captcha_dir.unwrap_or_else(std::env::temp_dir),
        ..ClientOptions::default()
    };
    let client = Client::new(endpoints, options)?;
    eprintln!("Signing in to Xiaomi as {} ...", a.user);
    let session = client.sign_in(&a.user, &password, &Terminal).await?;
    drop(password);
    eprintln!("Signed in to account {}.", session.user_id());

    let page = session.deletion_page().await?;
    if page.devices.is_empty() {
        println!("No devices are bound to account {}.", page.user_id);
    } else {
        println!("Devices bound to account {}:", page.user_id);
        for d in &page.devices {
            println!("  {d}");
        }
    }
    eprintln!("Verifying the owner's identity for the deletion ...");
    let done = session.delete_account(&page, &a.confirm, &Terminal).await?;
    let when = done
        .delete_at()
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| format!("{} ms after the epoch", done.delete_at_ms));
    println!(
        "Account {} is scheduled for deletion; it takes effect on {when}.",
        done.user_id
    );
    Ok(Exit::Ok)
}

async fn lock_status(a: LockStatusArgs) -> Result<Exit, Failure> {
    // The account host is never contacted by this check; it only joins the trust list.
    let endpoints = Endpoints::new(cloud::DEFAULT_ACCOUNT_URL, &a.find_url)?;
    let client = Client::new(endpoints, ClientOptions::default())?;
    let s = client.lock_status(&a.imei).await?;
    // A locked phone is an answer, not a refusal: exit 3 would mean "nothing was
    // checked", so a script reads `locked` (or the sentence) instead of the exit code.
    if a.json {
        match serde_json::to_string_pretty(&s) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: cannot write the answer as JSON: {e}");
                return Ok(Exit::Other);
            }
        }
        return Ok(Exit::Ok);
    }
    let mut details = Vec::new();
    if let Some(m) = &s.model {
        details.push(format!("model {m}"));
    }
    if let Some(c) = &s.country {
        details.push(format!("country {c}"));
    }
    let details = if details.is_empty() {
        String::new()
    } else {
        format!(" ({})", details.join(", "))
    };
    if s.locked {
        println!(
            "IMEI {}: LOCKED to a Mi account{details}. A reset phone will ask for that account; \
             sign it out on the phone (Settings > Mi Account > Sign out) before it leaves.",
            s.imei
        );
    } else {
        println!("IMEI {}: not locked{details}.", s.imei);
    }
    Ok(Exit::Ok)
}

/// The password from --password-file, else $MI_PASSWORD, else a hidden prompt on a
/// terminal; never from argv.
fn password(file: Option<&Path>) -> Result<SecretString, Failure> {
    if let Some(path) = file {
        return Ok(secret::from_file(path)?);
    }
    if let Some(p) = secret::from_env(PASSWORD_ENV) {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        let typed = rpassword::prompt_password("Password of the Xiaomi account: ")
            .map_err(PromptError::Io)
            .map_err(CloudError::from)?;
        if !typed.is_empty() {
            return Ok(SecretString::from(typed));
        }
    }
    Err(secret::SecretError::Missing {
        what: "password",
        env: PASSWORD_ENV,
    }
    .into())
}

/// Asks on the terminal, or reads lines from standard input when it is not one (so a
/// script or test can pipe codes in).
pub struct Terminal;

impl Prompter for Terminal {
    async fn code(&self, ask: &CodeAsk) -> Result<SecretString, PromptError> {
        let to = ask
            .destination
            .as_deref()
            .map(|d| format!(" to {d}"))
            .unwrap_or_default();
        let why = match ask.purpose {
            Purpose::SignIn => "to sign in",
            Purpose::Deletion => "to confirm the deletion",
        };
        let again = if ask.attempt > 1 {
            "That code was wrong. "
        } else {
            ""
        };
        let prompt = format!(
            "{again}Xiaomi sent a verification code by {}{to} {why}. Code: ",
            ask.channel
        );
        ask_blocking(prompt, true).await
    }

    async fn captcha(&self, image: &Path, attempt: u32) -> Result<SecretString, PromptError> {
        let again = if attempt > 1 { "Wrong answer. " } else { "" };
        let prompt = format!(
            "{again}Xiaomi wants a captcha: open {} and type the characters you see: ",
            image.display()
        );
        ask_blocking(prompt, false).await
    }
}

async fn ask_blocking(prompt: String, hidden: bool) -> Result<SecretString, PromptError> {
    tokio::task::spawn_blocking(move || ask(&prompt, hidden))
        .await
        .map_err(|e| PromptError::Io(std::io::Error::other(e)))?
}

fn ask(prompt: &str, hidden: bool) -> Result<SecretString, PromptError> {
    let stdin = std::io::stdin();
    let line = if stdin.is_terminal() && hidden {
        rpassword::prompt_password(prompt)?
    } else {
        eprint!("{prompt}");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            eprintln!();
            return Err(PromptError::NoInput);
        }
        if !stdin.is_terminal() {
            // Piped input is not echoed; end the prompt's line for a readable log.
            eprintln!();
        }
        line
    };
    let answer = line.trim();
    if answer.is_empty() {
        return Err(PromptError::NoInput);
    }
    Ok(SecretString::from(answer.to_string()))
}
