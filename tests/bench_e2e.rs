//! `mi-offboard bench` end to end: eight simulated phones at once behind Debian's adb
//! server, one of them unplugged in the middle of its backup and plugged back, a phone
//! with a Google account and one without "USB debugging (Security settings)" flagged and
//! left untouched, one owner's cloud account deleted from the intake file, reports for
//! all, and no password anywhere.

#[path = "run_support/mod.rs"]
mod run_support;

use run_support::*;
use std::time::{Duration, Instant};

const PROFILES: [&str; 8] = [
    "miui14-global",
    "hyperos1-cn",
    "miui14-global",
    "hyperos1-cn",
    "miui14-global",
    "hyperos1-cn",
    "hyperos2-eea",
    "xiaomi-clean",
];

#[test]
fn eight_phones_one_unplugged_mid_backup_google_phone_untouched() {
    let shop = Shop::start(&PROFILES, |i, spec| {
        if i == 0 {
            // Slow enough to be unplugged in the middle of its backup.
            spec.tree.files = 40;
            spec.tree.max_size = 256 * 1024;
            spec.costs.link_bytes_per_sec = Some(1_000_000);
        }
    });
    let dest = shop.dest();
    let policy = shop.dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "issued_by = \"Test Refurbishing\"\n[backup]\nwhen = \"always\"\naccept_unreadable = true\n",
    )
    .unwrap();
    let intake = shop.dir.path().join("intake.toml");
    let mut entries = String::new();
    for (i, serial) in shop.serials.iter().enumerate() {
        if let Some(account) = shop.mi_account(i) {
            entries.push_str(&format!(
                "[[phone]]\nserial = \"{serial}\"\nmi_password = \"{}\"\n",
                PASSWORD.replace('\\', "\\\\").replace('"', "\\\"")
            ));
            // Phone 1's owner also asked for the cloud account to go.
            if i == 1 {
                entries.push_str(&format!(
                    "account_id = \"{account}\"\ndelete_cloud_account = \"{account}\"\n"
                ));
            }
        }
    }
    std::fs::write(&intake, entries).unwrap();
    let before: Vec<_> = (0..PROFILES.len()).map(|i| shop.mi_account(i)).collect();
    let deleted = before[1].clone().expect("hyperos1-cn has a Mi account");

    let mut child = shop.spawn(
        &[
            "bench",
            "--dest",
            dest.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
            "--intake",
            intake.to_str().unwrap(),
            "--until-idle",
            "4",
        ],
        // The verification code for the deletion, as the owner would read it out.
        &format!("{CODE}\n{CODE}\n"),
    );
    // Wait for phone 0's backup to be under way, then pull its cable.
    let deadline = Instant::now() + Duration::from_secs(120);
    let slow = shop.serials[0].clone();
    loop {
        let h = shop
            .command(&["history", "--dest", dest.to_str().unwrap(), "--csv"])
            .output()
            .unwrap();
        let csv = String::from_utf8_lossy(&h.stdout).to_string();
        if csv
            .lines()
            .any(|l| l.contains(&slow) && l.contains("backup:unfinished"))
        {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!("the bench ended before the unplug: {}", text(&out));
        }
        assert!(
            Instant::now() < deadline,
            "the slow phone's backup never started: {csv}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    shop.phones[0].phone().unplug();
    shop.server
        .wait_state(&slow, "offline", Duration::from_secs(30));
    shop.phones[0].phone().replug();
    let out = child.wait_with_output().unwrap();
    let all = text(&out);

    // Google/FRP and disabled input: refused, so the bench's exit code is 3.
    assert_eq!(code(&out), 3, "{all}");
    for (i, serial) in shop.serials.iter().enumerate() {
        let r = shop.report(serial);
        match PROFILES[i] {
            "hyperos2-eea" | "xiaomi-clean" => {
                assert_eq!(
                    r["outcome"]["status"], "owner_action_needed",
                    "{serial}: {all}"
                );
                assert_eq!(shop.mi_account(i), before[i], "{serial} was changed");
                assert_eq!(shop.server.state_of(serial), "device", "{serial} was reset");
                assert!(!shop.phones[i].phone().wiped());
            }
            _ => {
                assert_eq!(r["outcome"]["status"], "done", "{serial}: {r}\n{all}");
                assert!(shop.mi_account(i).is_none(), "{serial} still signed in");
                assert!(shop.phones[i].phone().wiped(), "{serial} not reset");
                assert_eq!(r["issued_by"], "Test Refurbishing");
                assert!(
                    r["backup"]["verified"].as_u64().unwrap_or(0) > 0,
                    "{serial}"
                );
            }
        }
    }
    let r1 = shop.report(&shop.serials[1]);
    assert_eq!(r1["cloud_account"]["status"], "scheduled", "{r1}");
    assert!(steps(&r1).contains(&"cloud_delete:ok".to_owned()));
    assert!(
        shop.registry
            .account(&deleted)
            .unwrap()
            .deletion_scheduled_at
            .is_some(),
        "the service scheduled the deletion"
    );
    let slow_steps = steps(&shop.report(&slow));
    assert!(
        slow_steps.contains(&"backup:interrupted".to_owned())
            || slow_steps.contains(&"backup:unfinished".to_owned()),
        "{slow_steps:?} {}",
        shop.report(&slow)["steps"]
    );
    let backups = slow_steps.iter().filter(|s| s.starts_with("backup"));
    assert_eq!(backups.count(), 2, "{slow_steps:?}");
    assert_eq!(
        slow_steps
            .iter()
            .filter(|s| s.starts_with("inspect"))
            .count(),
        2,
        "the replugged phone is inspected once more (the same phone?): {slow_steps:?}"
    );
    assert_eq!(
        slow_steps.last().map(String::as_str),
        Some("lock_status:ok")
    );
    assert_no_password(&all);
    assert_no_password_under(&dest);
}

/// An intake table for the phone with SERIAL: the owner's password (a bench signs the Mi
/// account out before the reset), then EXTRA lines.
fn intake_entry(serial: &str, extra: &str) -> String {
    format!(
        "[[phone]]\nserial = \"{serial}\"\nmi_password = \"{}\"\n{extra}",
        PASSWORD.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// Two small phones with a Mi account; each one's seeded tree holds one file the phone
/// refuses to send, so its backup lists it as skipped.
fn two_small_phones() -> Shop {
    Shop::start(&["miui14-global", "miui14-global"], |_, spec| {
        spec.tree.files = 4;
        spec.tree.max_size = 16 * 1024;
    })
}

/// Runs the bench once over the shop's phones with POLICY and INTAKE; returns the bench's
/// exit code and everything it printed.
fn bench_once(shop: &Shop, policy: &str, intake: &str) -> (i32, String) {
    let (p, i) = (
        shop.dir.path().join("policy.toml"),
        shop.dir.path().join("intake.toml"),
    );
    std::fs::write(&p, policy).unwrap();
    std::fs::write(&i, intake).unwrap();
    let dest = shop.dest();
    let out = shop.run(
        &[
            "bench",
            "--dest",
            dest.to_str().unwrap(),
            "--policy",
            p.to_str().unwrap(),
            "--intake",
            i.to_str().unwrap(),
            "--until-idle",
            "2",
        ],
        "",
    );
    let all = text(&out);
    assert_no_password(&all);
    assert_no_password_under(&dest);
    (code(&out), all)
}

/// The reset step's note on the phone's report.
fn reset_note(report: &serde_json::Value) -> String {
    report["steps"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["step"] == "reset"))
        .and_then(|s| s["note"].as_str())
        .unwrap_or("")
        .to_owned()
}

/// The phone was reset, and its report says on whose word the unreadable file was lost.
fn assert_reset_accepted(shop: &Shop, i: usize, by: &str, all: &str) {
    let serial = &shop.serials[i];
    let r = shop.report(serial);
    assert_eq!(r["outcome"]["status"], "done", "{serial}: {r}\n{all}");
    assert!(shop.phones[i].phone().wiped(), "{serial} not reset");
    let note = reset_note(&r);
    assert!(
        note.contains(
            "1 file the phone refused to send erased without a copy \
             (Documents/bank statement (locked).pdf)"
        ) && note.contains(by),
        "{serial}: {note:?}"
    );
    // The printed certificate carries the same note.
    let html = mi_offboard::report::phone_dir(&shop.dest(), serial).join("report.html");
    let html = std::fs::read_to_string(&html).unwrap_or_default();
    assert!(
        html.contains(by),
        "{serial}: the certificate does not say {by:?}"
    );
}

/// The phone's reset was refused for the file it would not send, which is named, with
/// both ways a bench can accept the loss; the phone was not erased.
fn assert_reset_refused_for_unreadable(shop: &Shop, i: usize, all: &str) {
    let serial = &shop.serials[i];
    let r = shop.report(serial);
    assert_eq!(
        r["outcome"]["status"], "owner_action_needed",
        "{serial}: {r}\n{all}"
    );
    assert_eq!(r["outcome"]["exit_code"], 3, "{r}");
    assert!(steps(&r).contains(&"reset:refused".to_owned()), "{r}");
    assert!(!shop.phones[i].phone().wiped(), "{serial} was reset");
    // Settled before the sign-out: a phone that cannot be reset keeps its account.
    assert!(shop.mi_account(i).is_some(), "{serial} was signed out: {r}");
    assert!(!steps(&r).contains(&"signout:ok".to_owned()), "{r}");
    assert_eq!(shop.server.state_of(serial), "device", "{serial} was reset");
    let summary = r["outcome"]["summary"].as_str().unwrap_or("");
    for words in [
        "1 file could not be read and will be lost: Documents/bank statement (locked).pdf",
        "`accept_unreadable = true` in the phone's intake entry",
    ] {
        assert!(summary.contains(words), "{summary}");
    }
    // The bench's summary table shows the refusal on the phone's line.
    assert!(
        all.lines()
            .any(|l| l.contains(serial.as_str()) && l.contains("owner_action_needed")),
        "{all}"
    );
}

/// The owner of phone 0 accepted losing the file their phone would not send; the owner of
/// phone 1 said nothing, and the policy does not accept it: only phone 0 is reset.
#[test]
fn the_owner_who_accepts_unreadable_files_gets_a_reset_the_other_is_refused() {
    let shop = two_small_phones();
    let intake = intake_entry(&shop.serials[0], "accept_unreadable = true\n")
        + &intake_entry(&shop.serials[1], "");
    let (code, all) = bench_once(&shop, "[backup]\nwhen = \"always\"\n", &intake);
    assert_eq!(code, 3, "{all}");
    // The policy in force, printed wrapped, names the owner's exception.
    let words = all.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("except on the 1 phone whose owner accepted their loss"),
        "{all}"
    );
    assert_reset_accepted(&shop, 0, "accepted by the owner", &all);
    assert_reset_refused_for_unreadable(&shop, 1, &all);
}

/// The policy accepts losing unreadable files on every phone, but the owner of phone 0
/// said no in the intake file: phone 0 is refused, phone 1 (no word) is reset.
#[test]
fn the_owner_who_refuses_unreadable_loss_overrides_an_accepting_policy() {
    let shop = two_small_phones();
    let intake = intake_entry(&shop.serials[0], "accept_unreadable = false\n")
        + &intake_entry(&shop.serials[1], "");
    let (code, all) = bench_once(
        &shop,
        "[backup]\nwhen = \"always\"\naccept_unreadable = true\n",
        &intake,
    );
    assert_eq!(code, 3, "{all}");
    assert_reset_refused_for_unreadable(&shop, 0, &all);
    assert_reset_accepted(&shop, 1, "accepted by the bench policy", &all);
}
