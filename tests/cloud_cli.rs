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
    let args = [
        "cloud",
        "delete",
        "--user",
        USER,
        "--confirm",
        USER,
        "--password-file",
        &pw,
        "--account-url",
        &svc.url,
        "--find-url",
        &svc.url,
    ];
    let blocked = mi(&args, &[], &format!("{CODE}\n")).await;
    assert_eq!(blocked.code, 3, "{}", blocked.stderr);
    assert!(
        blocked
            .stdout
            .contains("Redmi Note 10 (IMEI 861234******5678, Find Device on)"),
        "{}",
        blocked.stdout
    );
    assert!(
        blocked.stderr.contains("Sign each phone out"),
        "{}",
        blocked.stderr
    );
    assert!(
        blocked
            .stderr
            .contains("verification code by SMS to ***5678"),
        "{}",
        blocked.stderr
    );
    assert_eq!(svc.recorder.count("/pass/del/confirm"), 0);

    svc.registry.unbind(IMEI);
    let args = ["cloud", "delete", "--user", USER, "--confirm", USER];
    let env = [
        ("MI_PASSWORD", PASSWORD),
        ("MI_ACCOUNT_URL", svc.url.as_str()),
        ("MI_FIND_URL", svc.url.as_str()),
    ];
    let done = mi(&args, &env, &format!("{CODE}\n{CODE}\n")).await;
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(
        done.stdout.contains("No devices are bound"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.contains(&format!(
            "Account {USER} is scheduled for deletion; it takes effect on "
        )),
        "{}",
        done.stdout
    );
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
    assert_eq!(locked.code, 0, "{}", locked.stderr);
    assert!(
        locked.stdout.contains(&format!(
            "IMEI {IMEI}: LOCKED to a Mi account (model Redmi Note 10, country DE)"
        )),
        "{}",
        locked.stdout
    );

    svc.registry.unbind(IMEI);
    let env = [("MI_FIND_URL", svc.url.as_str())];
    let free = mi(&["cloud", "lock-status", "--imei", IMEI], &env, "").await;
    assert_eq!(free.code, 0, "{}", free.stderr);
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
    assert_eq!(locked.code, 0, "{}", locked.stderr);
    let v: serde_json::Value = serde_json::from_str(&locked.stdout).unwrap();
    assert_eq!(v["imei"], IMEI);
    assert_eq!(v["locked"], true);
    assert_eq!(v["model"], "Redmi Note 10");

    svc.registry.unbind(IMEI);
    let free = mi(&args, &env, "").await;
    assert_eq!(free.code, 0, "{}", free.stderr);
    let v: serde_json::Value = serde_json::from_str(&free.stdout).unwrap();
    assert_eq!(v["locked"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistyped_confirmation_is_refused_before_anything_is_sent() {
    let svc = service(false).await;
    let env = [("MI_PASSWORD", PASSWORD)];
    let run = mi(
        &[
            "cloud",
            "delete",
            "--user",
            USER,
            "--confirm",
            "1234567809",
            "--account-url",
            &svc.url,
            "--find-url",
            &svc.url,
        ],
        &env,
        "",
    )
    .await;
    assert_eq!(run.code, 3);
    assert!(
        run.stderr.contains("does not repeat the account id"),
        "{}",
        run.stderr
    );
    assert!(svc.recorder.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_wrong_codes_exit_4() {
    let svc = service(true).await;
    let urls = [
        "--account-url",
        svc.url.as_str(),
        "--find-url",
        svc.url.as_str(),
    ];
    let mut args = vec!["cloud", "delete", "--user", USER, "--confirm", USER];
    args.extend(urls);
    let wrong_pw = mi(&args, &[("MI_PASSWORD", "nope nope")], "").await;
    assert_eq!(wrong_pw.code, 4, "{}", wrong_pw.stderr);
    assert!(
        wrong_pw.stderr.contains("password is wrong"),
        "{}",
        wrong_pw.stderr
    );
    assert!(!wrong_pw.stderr.contains("nope"));

    let wrong_code = mi(
        &args,
        &[("MI_PASSWORD", PASSWORD)],
        "111111\n222222\n333333\n",
    )
    .await;
    assert_eq!(wrong_code.code, 4, "{}", wrong_code.stderr);
    assert!(
        wrong_code.stderr.contains("That code was wrong"),
        "{}",
        wrong_code.stderr
    );
    assert!(
        wrong_code
            .stderr
            .contains("verification code was wrong (3 tries)"),
        "{}",
        wrong_code.stderr
    );

    let no_code = mi(&args, &[("MI_PASSWORD", PASSWORD)], "").await;
    assert_eq!(no_code.code, 4, "{}", no_code.stderr);
    assert!(
        no_code.stderr.contains("no answer was typed"),
        "{}",
        no_code.stderr
    );
    svc.assert_password_never_sent();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_password_and_insecure_urls_are_usage_errors() {
    let svc = service(false).await;
    let run = mi(
        &[
            "cloud",
            "delete",
            "--user",
            USER,
            "--confirm",
            USER,
            "--account-url",
            &svc.url,
            "--find-url",
            &svc.url,
        ],
        &[],
        "",
    )
    .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("MI_PASSWORD"), "{}", run.stderr);
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
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("use https"), "{}", run.stderr);

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
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is not an IMEI"), "{}", run.stderr);
}
