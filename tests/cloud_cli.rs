//! `mi-offboard cloud ...` through the built binary against the simulated account
//! service: exit codes, what is printed where, and that the password and codes never
//! show up in output or in what the service received.

mod cloud_support;

use std::process::Stdio;
use std::time::Duration;

use cloud_support::*;
use mi_offboard::sim::account::AccountServiceConfig;
use tokio::io::AsyncWriteExt as _;

/// The simulated service sends this code, so it can be piped in before it is asked for.
const CODE: &str = "246810";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The exit code, with stderr shown when it is another.
    #[track_caller]
    fn exits(&self, code: i32) {
        assert_eq!(self.code, code, "{}", self.stderr);
    }

    #[track_caller]
    fn stdout_has(&self, needle: &str) {
        assert!(self.stdout.contains(needle), "{}", self.stdout);
    }

    #[track_caller]
    fn stderr_has(&self, needle: &str) {
        assert!(self.stderr.contains(needle), "{}", self.stderr);
    }
}

async fn mi(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mi-offboard"));
    cmd.args(args)
        .env_remove("MI_PASSWORD")
        .env_remove("MI_ACCOUNT_URL")
        .env_remove("MI_FIND_URL")
        .env("TMPDIR", tmp.path())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    // The binary may exit before reading everything; a broken pipe is fine here.
    let _ = input.write_all(stdin.as_bytes()).await;
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("mi-offboard finished")
        .unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    for secret in [PASSWORD, "s3cret", CODE] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret leaked into the output:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    run
}

async fn service(two_factor: bool) -> Service {
    let config = AccountServiceConfig {
        fixed_code: Some(CODE.into()),
        ..AccountServiceConfig::default()
    };
    Service::start_with(account(two_factor, false), config).await
}

/// `cloud delete` of [`USER`], confirmed as `confirm`, against the service at `url`.
fn delete_args<'a>(confirm: &'a str, url: &'a str) -> Vec<&'a str> {
    vec![
        "cloud",
        "delete",
        "--user",
        USER,
        "--confirm",
        confirm,
        "--account-url",
        url,
        "--find-url",
        url,
    ]
}

fn password_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("pw");
    std::fs::write(&path, format!("{PASSWORD}\n")).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_names_the_bound_phone_then_deletes_after_sign_out() {
    let svc = service(true).await;
    svc.registry.bind(IMEI, "Redmi Note 10", "DE", USER);
    let dir = tempfile::tempdir().unwrap();
    let pw = password_file(&dir);
    let mut args = delete_args(USER, &svc.url);
    args.extend(["--password-file", &pw]);
    let blocked = mi(&args, &[], &format!("{CODE}\n")).await;
    blocked.exits(3);
    blocked.stdout_has("Redmi Note 10 (IMEI 861234******5678, Find Device on)");
    blocked.stderr_has("Sign each phone out");
    blocked.stderr_has("verification code by SMS to ***5678");
    assert_eq!(svc.recorder.count("/pass/del/confirm"), 0);

    svc.registry.unbind(IMEI);
    let args = ["cloud", "delete", "--user", USER, "--confirm", USER];
    let env = [
        ("MI_PASSWORD", PASSWORD),
        ("MI_ACCOUNT_URL", svc.url.as_str()),
        ("MI_FIND_URL", svc.url.as_str()),
    ];
    let done = mi(&args, &env, &format!("{CODE}\n{CODE}\n")).await;
    done.exits(0);
    done.stdout_has("No devices are bound");
    done.stdout_has(&format!(
        "Account {USER} is scheduled for deletion; it takes effect on "
    ));
    assert!(
        svc.registry
            .account(USER)
            .unwrap()
            .deletion_scheduled_at
            .is_some()
    );
    svc.assert_password_never_sent();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_status_before_and_after_sign_out() {
    let svc = service(false).await;
    svc.registry.bind(IMEI, "Redmi Note 10", "DE", USER);
    svc.registry.wiped(IMEI);
    let locked = mi(
        &[
            "cloud",
            "lock-status",
            "--imei",
            IMEI,
            "--find-url",
            &svc.url,
        ],
        &[],
        "",
    )
    .await;
    // A locked phone is a successful answer, not a refusal.
    locked.exits(0);
    locked.stdout_has(&format!(
        "IMEI {IMEI}: LOCKED to a Mi account (model Redmi Note 10, country DE)"
    ));

    svc.registry.unbind(IMEI);
    let env = [("MI_FIND_URL", svc.url.as_str())];
    let free = mi(&["cloud", "lock-status", "--imei", IMEI], &env, "").await;
    free.exits(0);
    assert_eq!(free.stdout, format!("IMEI {IMEI}: not locked.\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_status_json_says_locked_or_not_with_exit_0() {
    let svc = service(false).await;
    svc.registry.bind(IMEI, "Redmi Note 10", "DE", USER);
    svc.registry.wiped(IMEI);
    let env = [("MI_FIND_URL", svc.url.as_str())];
    let args = ["cloud", "lock-status", "--imei", IMEI, "--json"];
    let locked = mi(&args, &env, "").await;
    locked.exits(0);
    let v: serde_json::Value = serde_json::from_str(&locked.stdout).unwrap();
    assert_eq!(v["imei"], IMEI);
    assert_eq!(v["locked"], true);
    assert_eq!(v["model"], "Redmi Note 10");

    svc.registry.unbind(IMEI);
    let free = mi(&args, &env, "").await;
    free.exits(0);
    let v: serde_json::Value = serde_json::from_str(&free.stdout).unwrap();
    assert_eq!(v["locked"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistyped_confirmation_is_refused_before_anything_is_sent() {
    let svc = service(false).await;
    let env = [("MI_PASSWORD", PASSWORD)];
    let run = mi(&delete_args("1234567809", &svc.url), &env, "").await;
    run.exits(3);
    run.stderr_has("does not repeat the account id");
    assert!(svc.recorder.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_wrong_codes_exit_4() {
    let svc = service(true).await;
    let args = delete_args(USER, &svc.url);
    let wrong_pw = mi(&args, &[("MI_PASSWORD", "nope nope")], "").await;
    wrong_pw.exits(4);
    wrong_pw.stderr_has("password is wrong");
    assert!(!wrong_pw.stderr.contains("nope"));

    let wrong_code = mi(
        &args,
        &[("MI_PASSWORD", PASSWORD)],
        "111111\n222222\n333333\n",
    )
    .await;
    wrong_code.exits(4);
    wrong_code.stderr_has("That code was wrong");
    wrong_code.stderr_has("verification code was wrong (3 tries)");

    let no_code = mi(&args, &[("MI_PASSWORD", PASSWORD)], "").await;
    no_code.exits(4);
    no_code.stderr_has("no answer was typed");
    svc.assert_password_never_sent();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_password_and_insecure_urls_are_usage_errors() {
    let svc = service(false).await;
    let run = mi(&delete_args(USER, &svc.url), &[], "").await;
    run.exits(2);
    run.stderr_has("MI_PASSWORD");
    assert!(svc.recorder.requests().is_empty());

    let run = mi(
        &[
            "cloud",
            "delete",
            "--user",
            USER,
            "--confirm",
            USER,
            "--account-url",
            "http://account.xiaomi.com",
        ],
        &[("MI_PASSWORD", PASSWORD)],
        "",
    )
    .await;
    run.exits(2);
    run.stderr_has("use https");

    let run = mi(
        &[
            "cloud",
            "lock-status",
            "--imei",
            "12345",
            "--find-url",
            &svc.url,
        ],
        &[],
        "",
    )
    .await;
    run.exits(2);
    run.stderr_has("is not an IMEI");
}
