//! `mi-offboard run` end to end: the built binary, Debian's adb server, simulated phones
//! and the simulated account service. Whole journeys per profile, refusals that leave the
//! phone untouched, the dry run, and kill -9 in the middle of a run followed by a resume.

mod run_support;

use run_support::*;

fn run_args<'a>(serial: &'a str, dest: &'a str, pw: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        "-s",
        serial,
        "--dest",
        dest,
        "--confirm",
        serial,
        "--password-file",
        pw,
        // The simulated phone holds one file it refuses to send, as real phones do.
        "--accept-unreadable",
    ]
}

#[test]
fn a_backup_with_files_the_phone_refused_stops_before_the_reset_unless_accepted() {
    let shop = Shop::start(&["miui14-global"], |_, _| {});
    let serial = shop.serials[0].clone();
    let dest = shop.dest();
    let pw = shop.password_file();
    let mut args = run_args(&serial, dest.to_str().unwrap(), pw.to_str().unwrap());
    args.retain(|a| *a != "--accept-unreadable");
    let out = shop.run(&args, "");
    let all = text(&out);
    assert_eq!(code(&out), 3, "{all}");
    assert!(all.contains("could not be read"), "{all}");
    assert!(all.contains("bank statement (locked).pdf"), "{all}");
    let r = shop.report(&serial);
    // Signed out already (not destructive); the reset waits for the operator.
    assert_eq!(r["outcome"]["status"], "owner_action_needed", "{all}");
    assert!(
        !shop.phones[0].phone().wiped(),
        "the phone must not be wiped"
    );
    assert_no_password(&all);
}

#[test]
fn whole_journey_with_cloud_deletion_leaves_the_phone_reset_and_unlocked() {
    let shop = Shop::start(&["miui14-global"], |_, _| {});
    let serial = shop.serials[0].clone();
    let account = shop.mi_account(0).expect("profile has a Mi account");
    let dest = shop.dest();
    let pw = shop.password_file();
    let mut args = run_args(&serial, dest.to_str().unwrap(), pw.to_str().unwrap());
    args.extend(["--delete-cloud-account", "--confirm-account", &account]);
    let out = shop.run(&args, &format!("{CODE}\n{CODE}\n"));
    let all = text(&out);
    assert_eq!(code(&out), 0, "{all}");
    let r = shop.report(&serial);
    assert_eq!(r["outcome"]["status"], "done", "{all}");
    assert_eq!(
        steps(&r),
        [
            "inspect:ok",
            "backup:ok",
            "signout:ok",
            "reset:ok",
            "cloud_delete:ok",
            "lock_status:ok"
        ]
    );
    assert_eq!(r["lock_status"]["locked"], false);
    assert_eq!(r["cloud_account"]["status"], "scheduled");
    assert_eq!(r["accounts_before"]["mi_account_signed_in"], true);
    assert_eq!(r["accounts_after"]["mi_account_signed_in"], false);
    assert!(r["backup"]["verified"].as_u64().unwrap() > 0);
    assert!(
        shop.registry
            .account(&account)
            .unwrap()
            .deletion_scheduled_at
            .is_some(),
        "the service scheduled the deletion"
    );
    assert!(shop.mi_account(0).is_none(), "the phone is signed out");
    assert!(dest.join(&serial).join("report.html").exists() || shop.report(&serial).is_object());
    assert_no_password(&all);
    assert_no_password_under(&dest);
}

#[test]
fn every_xiaomi_profile_goes_through_or_is_refused_untouched() {
    let profiles = ["hyperos1-cn", "hyperos2-eea", "xiaomi-clean", "pixel"];
    let shop = Shop::start(&profiles, |_, _| {});
    let dest = shop.dest();
    let pw = shop.password_file();
    for (i, profile) in profiles.iter().enumerate() {
        let serial = shop.serials[i].clone();
        let before = shop.mi_account(i);
        let out = shop.run(
            &run_args(&serial, dest.to_str().unwrap(), pw.to_str().unwrap()),
            "",
        );
        let all = text(&out);
        let r = shop.report(&serial);
        match *profile {
            // A Google account (FRP), "USB debugging (Security settings)" off, or a phone
            // that is not a Xiaomi: refused, untouched.
            "hyperos2-eea" | "xiaomi-clean" | "pixel" => {
                assert_eq!(code(&out), 3, "{profile}: {all}");
                assert_eq!(r["outcome"]["status"], "owner_action_needed", "{profile}");
                assert_eq!(steps(&r), ["inspect:ok", "reset:refused"], "{profile}");
                assert_eq!(shop.mi_account(i), before, "{profile} was changed");
                assert_eq!(shop.server.state_of(&serial), "device", "{profile}");
                let why = r["outcome"]["summary"].as_str().unwrap_or("");
                let expected = match *profile {
                    "hyperos2-eea" => "Google",
                    "xiaomi-clean" => "USB debugging (Security settings)",
                    _ => "Xiaomi",
                };
                assert!(why.contains(expected), "{profile}: {why}");
            }
            _ => {
                assert_eq!(code(&out), 0, "{profile}: {all}");
                assert_eq!(r["outcome"]["status"], "done", "{profile}");
                assert!(shop.mi_account(i).is_none(), "{profile}");
            }
        }
        assert_no_password(&all);
    }
    assert_no_password_under(&dest);
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let shop = Shop::start(&["miui14-global"], |_, _| {});
    let serial = shop.serials[0].clone();
    let dest = shop.dest();
    let out = shop.run(
        &[
            "run",
            "-s",
            &serial,
            "--dest",
            dest.to_str().unwrap(),
            "--dry-run",
        ],
        "",
    );
    let all = text(&out);
    assert_eq!(code(&out), 0, "{all}");
    assert!(all.contains("Plan for"), "{all}");
    assert!(all.contains("backup:"), "{all}");
    assert!(all.contains("reset:"), "{all}");
    assert!(!dest.exists(), "a dry run must not write anything");
    assert!(shop.mi_account(0).is_some());
}

#[test]
fn wrong_confirmation_changes_nothing() {
    let shop = Shop::start(&["miui14-global"], |_, _| {});
    let serial = shop.serials[0].clone();
    let dest = shop.dest();
    let pw = shop.password_file();
    let out = shop.run(
        &[
            "run",
            "-s",
            &serial,
            "--dest",
            dest.to_str().unwrap(),
            "--confirm",
            "some-other-phone",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(shop.mi_account(0).is_some());
    assert_eq!(shop.server.state_of(&serial), "device");
}

#[test]
fn kill_9_mid_backup_then_rerun_resumes_and_finishes() {
    // A slow phone: the backup takes long enough to be killed in the middle.
    let shop = Shop::start(&["hyperos1-cn"], |_, spec| {
        spec.tree.files = 40;
        spec.tree.max_size = 256 * 1024;
        spec.costs.link_bytes_per_sec = Some(1_000_000);
    });
    let serial = shop.serials[0].clone();
    let dest = shop.dest();
    let pw = shop.password_file();
    let args = run_args(&serial, dest.to_str().unwrap(), pw.to_str().unwrap());
    let mut child = shop.spawn(&args, "");
    // Wait for the backup step to have started (the journal says so), then kill -9.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let h = shop
            .command(&["history", "--dest", dest.to_str().unwrap(), "--csv"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&h.stdout).contains("backup:unfinished") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "backup never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "run ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let out = shop.run(&args, "");
    let all = text(&out);
    assert_eq!(code(&out), 0, "{all}");
    let r = shop.report(&serial);
    assert_eq!(
        steps(&r),
        [
            "inspect:ok",
            "backup:unfinished",
            "inspect:ok",
            "backup:ok",
            "signout:ok",
            "reset:ok"
        ],
        "inspect is redone (is it the same phone?), then the killed backup"
    );
    assert!(r["warnings"].to_string().contains("redone"), "{r}");
    let h = shop
        .command(&["history", "--dest", dest.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&h.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "one journey, resumed");
    assert_eq!(rows[0]["status"], "done");
}
