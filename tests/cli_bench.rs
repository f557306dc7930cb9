//! `mi-offboard bench`'s face against a simulated phone through the real adb server:
//! ANDROID_SERIAL is ignored with a warning (the phone it does not name is processed
//! anyway, as the warning says), the policy in force is printed before any phone is
//! touched, and on a pipe every step line is printed once.

mod run_support;

use run_support::*;

#[test]
fn cli_bench_warns_ignored_serial_prints_policy_and_each_step_once() {
    let shop = Shop::start(&["miui14-global"], |_, _| {});
    let serial = shop.serials[0].clone();
    let dest = shop.dest();
    let intake = shop.dir.path().join("intake.toml");
    std::fs::write(
        &intake,
        format!(
            "[[phone]]\nserial = \"{serial}\"\nmi_password = \"{}\"\n",
            PASSWORD.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    )
    .unwrap();
    let out = shop
        .command(&[
            "bench",
            "--dest",
            dest.to_str().unwrap(),
            "--intake",
            intake.to_str().unwrap(),
            "--until-idle",
            "2",
        ])
        .env("ANDROID_SERIAL", "SOME_OTHER_PHONE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let all = text(&out);
    assert_eq!(code(&out), 0, "{all}");
    assert!(
        err.contains("ANDROID_SERIAL is set but ignored") && err.contains("EVERY phone"),
        "{err}"
    );
    // The policy paragraph comes before the first line about a phone.
    let policy_at = err.find("Bench policy (the default").expect(&err);
    let first_phone = err.find(&serial).expect(&err);
    assert!(policy_at < first_phone, "{err}");
    // The paragraph is wrapped for the terminal: compare words, not line breaks.
    let before = err[..first_phone]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for said in [
        "no backup",
        "signed out when the intake file holds the owner's password",
        "factory reset is ON",
        "1 intake entry",
    ] {
        assert!(before.contains(said), "{said:?} not in {err}");
    }
    assert!(
        shop.phones[0].phone().wiped(),
        "the phone was processed: {all}"
    );

    // Plain (piped) output: no line of the phone's is repeated right after itself, and
    // the steps that both the journey and its flow announce appear once each.
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with(&serial)).collect();
    for pair in lines.windows(2) {
        assert_ne!(pair[0], pair[1], "printed twice:\n{err}");
    }
    for step in ["signout", "reset"] {
        let n = lines
            .iter()
            .filter(|l| l.split_whitespace().last() == Some(step))
            .count();
        assert_eq!(n, 1, "{step} printed {n} times:\n{err}");
    }
    assert_no_password(&all);
}

#[test]
fn cli_bench_prints_a_policy_file_that_turns_reset_off() {
    let shop = Shop::start(&[], |_, _| {});
    let policy = shop.dir.path().join("desk.toml");
    std::fs::write(
        &policy,
        "[backup]\nwhen = \"always\"\n[reset]\nenabled = false\n",
    )
    .unwrap();
    let dest = shop.dest();
    let out = shop
        .command(&[
            "bench",
            "--dest",
            dest.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--until-idle",
            "1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let err = err.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        err.contains(&format!("Bench policy (from {}", policy.display())),
        "{err}"
    );
    assert!(err.contains("every phone is backed up first"), "{err}");
    assert!(err.contains("factory reset is off"), "{err}");
    assert!(!err.contains("ANDROID_SERIAL"), "{err}");
}
