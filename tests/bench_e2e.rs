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
