//! `--help` of every command, found by walking the help itself (a new command cannot be
//! forgotten): each runs, exits 0 and teaches examples and exit codes. The top-level
//! help is a snapshot. Also the usage errors the help promises: `bench` refuses `-s`,
//! `reset` needs one of `--backup`/`--no-backup`, `cloud` and `history` take no adb
//! options. None of these needs a phone or an adb server.

use std::process::{Command, Output};

fn mi(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp HOME");
    Command::new(env!("CARGO_BIN_EXE_mi-offboard"))
        .args(args)
        .env("HOME", home.path())
        // Values from the environment are shown in help ("[env: ANDROID_SERIAL=…]").
        .env_remove("ANDROID_SERIAL")
        .env_remove("MI_ACCOUNT_URL")
        .env_remove("MI_FIND_URL")
        .env_remove("MI_PASSWORD")
        .env_remove("ANDROID_ADB_SERVER_PORT")
        .env_remove("ADB_SERVER_SOCKET")
        .output()
        .expect("run mi-offboard")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The names in the "Commands:" section of a help text, without `help`.
fn commands_in(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A continuation line of a wrapped description is indented further.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Every command path below the top level, e.g. ["cloud", "lock-status"].
fn every_command() -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = stdout(&mi(&args));
        for name in commands_in(&help) {
            let mut child = path.clone();
            child.push(name);
            found.push(child.clone());
            todo.push(child);
        }
    }
    found
}

#[test]
fn cli_every_command_help_has_examples_and_exit_codes() {
    let all = every_command();
    let names: Vec<String> = all.iter().map(|p| p.join(" ")).collect();
    for expected in [
        "devices",
        "inspect",
        "backup",
        "signout",
        "reset",
        "cloud",
        "cloud delete",
        "cloud lock-status",
        "run",
        "bench",
        "history",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    for path in &all {
        for flag in ["--help", "-h"] {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push(flag);
            let out = mi(&args);
            let help = stdout(&out);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            assert!(
                help.contains("Examples:"),
                "{args:?} has no examples:\n{help}"
            );
            assert!(
                help.contains("Exit codes"),
                "{args:?} lists no exit codes:\n{help}"
            );
            assert!(
                help.contains(&format!("mi-offboard {}", path.join(" "))),
                "{args:?}: no example of the command itself:\n{help}"
            );
        }
    }
}

#[test]
fn cli_password_help_names_every_source_where_a_password_is_taken() {
    for path in [&["signout"][..], &["reset"], &["run"], &["cloud", "delete"]] {
        let mut args = path.to_vec();
        args.push("--help");
        let help = stdout(&mi(&args));
        for source in ["--password-file", "MI_PASSWORD", "hidden prompt", "never"] {
            assert!(
                help.contains(source),
                "{path:?} help lacks {source:?}:\n{help}"
            );
        }
    }
    let bench = stdout(&mi(&["bench", "--help"]));
    assert!(bench.contains("intake file"), "{bench}");
}

#[test]
fn cli_top_level_help_snapshot() {
    let out = mi(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("top_level_help", stdout(&out));
}

#[test]
fn cli_adb_options_only_where_they_act() {
    for path in [
        &["cloud", "lock-status"][..],
        &["cloud", "delete"],
        &["history"],
        &["cloud"],
    ] {
        let mut args = path.to_vec();
        args.push("--help");
        let help = stdout(&mi(&args));
        for opt in ["--serial", "--port", "--host", "--timeout"] {
            assert!(!help.contains(opt), "{path:?} offers {opt}:\n{help}");
        }
    }
    // Given anyway, they are usage errors rather than silently ignored.
    let out = mi(&["history", "-P", "5037", "--dest", "."]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = mi(&["-s", "x", "inspect"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    for path in ["inspect", "backup", "signout", "reset", "run"] {
        let help = stdout(&mi(&[path, "--help"]));
        for opt in [
            "--serial",
            "--port",
            "--host",
            "--timeout",
            "ANDROID_SERIAL",
        ] {
            assert!(help.contains(opt), "{path} lacks {opt}:\n{help}");
        }
    }
    let devices = stdout(&mi(&["devices", "--help"]));
    assert!(
        devices.contains("--port") && !devices.contains("--serial"),
        "{devices}"
    );
}

#[test]
fn cli_bench_refuses_a_serial() {
    let dest = tempfile::tempdir().unwrap();
    let dest = dest.path().to_str().unwrap();
    let help = stdout(&mi(&["bench", "--help"]));
    assert!(!help.contains("--serial"), "{help}");
    for args in [
        &["bench", "-s", "ONE_PHONE", "--dest", dest][..],
        &["bench", "--dest", dest, "--serial", "ONE_PHONE"],
        &["bench", "--dest", dest, "-s"],
    ] {
        let out = mi(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("-s"), "{}", stderr(&out));
    }
    let out = mi(&["bench", "-s", "ONE_PHONE", "--dest", dest]);
    assert!(stderr(&out).contains("EVERY phone"), "{}", stderr(&out));
    // Refused before anything was created or contacted.
    assert!(std::fs::read_dir(dest).unwrap().next().is_none());
}

#[test]
fn cli_reset_needs_exactly_one_backup_choice() {
    let out = mi(&["reset", "--confirm", "X"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("<--backup <DIR>|--no-backup <REASON>>"),
        "{}",
        stderr(&out)
    );
    let out = mi(&[
        "reset",
        "--confirm",
        "X",
        "--backup",
        "d",
        "--no-backup",
        "why",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
    let usage = stdout(&mi(&["reset", "--help"]));
    assert!(
        usage.contains("<--backup <DIR>|--no-backup <REASON>>"),
        "{usage}"
    );
}
