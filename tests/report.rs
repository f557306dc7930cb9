//! report.json against its documented schema (docs/report.schema.json), its snapshot, the
//! files `report::write` leaves, and the certificate's escaping and masking of hostile,
//! device-provided strings.

use mi_offboard::report::html::{self, Copy};
use mi_offboard::report::journal::{Journal, JourneyStart, StepEnd};
use mi_offboard::report::*;
use serde_json::Value;

fn t(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

/// A full, successful journey with fixed times: the sample in docs/.
fn sample() -> Report {
    let mut r = Report::new("4f8e2a1c", t("2026-11-30T10:42:00Z"));
    r.issued_by = Some("PhoneCare Repairs, 12 Market Street".to_owned());
    r.device = Device {
        manufacturer: Some("Xiaomi".to_owned()),
        brand: Some("Redmi".to_owned()),
        model: Some("23124RA7EO".to_owned()),
        marketname: Some("Redmi Note 13".to_owned()),
        hardware_serial: Some("4f8e2a1c".to_owned()),
        imei: Some("861234567890123".to_owned()),
        os: Os {
            family: Some("hyperos".to_owned()),
            version: Some("OS1.0.5.0.UMCCNXM".to_owned()),
            android: Some("14".to_owned()),
            sdk: Some(34),
        },
        region: Some("global".to_owned()),
    };
    r.found = vec![Blocker {
        code: "mi_account_signed_in".to_owned(),
        message: "The phone is signed in to a Mi account (Find Device on).".to_owned(),
    }];
    let step = |step, start, end, note: Option<&str>| StepReport {
        step,
        started_at: t(start),
        ended_at: Some(t(end)),
        result: StepResult::Ok,
        error: None,
        note: note.map(str::to_owned),
        exit_code: None,
    };
    r.steps = vec![
        step(
            StepKind::Inspect,
            "2026-11-30T10:31:02Z",
            "2026-11-30T10:31:05Z",
            None,
        ),
        step(
            StepKind::Backup,
            "2026-11-30T10:31:05Z",
            "2026-11-30T10:38:40Z",
            Some("1,284 files verified by SHA-256"),
        ),
        step(
            StepKind::Signout,
            "2026-11-30T10:38:40Z",
            "2026-11-30T10:39:31Z",
            None,
        ),
        step(
            StepKind::Reset,
            "2026-11-30T10:39:31Z",
            "2026-11-30T10:40:58Z",
            Some("phone left adb at 10:40:58 after the final confirmation"),
        ),
        step(
            StepKind::CloudDelete,
            "2026-11-30T10:41:00Z",
            "2026-11-30T10:41:40Z",
            None,
        ),
        step(
            StepKind::LockStatus,
            "2026-11-30T10:41:40Z",
            "2026-11-30T10:41:41Z",
            None,
        ),
    ];
    r.backup = Some(BackupSummary {
        location: "4f8e2a1c/backup".to_owned(),
        files: 1284,
        bytes: 7_412_000_000,
        verified: 1284,
        failed: vec![],
        manifest_sha256: Some(
            "9f2c4e1b7a3d5f60c8e9a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f50".to_owned(),
        ),
        notes: vec!["Android/data is not readable over adb on Android 11+; not copied.".to_owned()],
    });
    r.accounts_before = Some(Accounts {
        mi_account_signed_in: true,
        mi_account_id: Some("6123456789".to_owned()),
        google_accounts: 0,
        frp_armed: false,
    });
    r.accounts_after = Some(Accounts::default());
    r.lock_status = Some(LockStatus {
        checked_at: t("2026-11-30T10:41:41Z"),
        locked: false,
        source: "i.mi.com".to_owned(),
    });
    r.cloud_account = Some(CloudAccount {
        user_id: "6123456789".to_owned(),
        status: "scheduled".to_owned(),
        delete_at: Some(t("2026-12-14T10:41:40Z")),
    });
    r.warnings = vec![
        "Two apps were installed from outside the store; their data is not in the backup."
            .to_owned(),
    ];
    r.outcome = Outcome {
        status: OutcomeStatus::Done,
        exit_code: 0,
        summary: "Backed up, signed out, reset and the Xiaomi account deleted; not locked."
            .to_owned(),
    };
    r
}

/// A bench phone refused under the refurbisher policy: still signed in to Google.
fn sample_refused() -> Report {
    let mut r = sample();
    r.issued_by = Some("PhoneCare Refurbishing — bench 2".to_owned());
    r.generated_at = t("2026-11-30T11:05:00Z");
    r.found = vec![
        Blocker {
            code: "frp_armed".to_owned(),
            message: "A Google account and a screen lock are on the phone: a reset now would lock it to that Google account (FRP).".to_owned(),
        },
        Blocker {
            code: "google_account".to_owned(),
            message: "Signed in to 1 Google account.".to_owned(),
        },
    ];
    r.steps = vec![
        StepReport {
            step: StepKind::Inspect,
            started_at: t("2026-11-30T11:04:51Z"),
            ended_at: Some(t("2026-11-30T11:04:54Z")),
            result: StepResult::Ok,
            error: None,
            note: None,
            exit_code: None,
        },
        StepReport {
            step: StepKind::Reset,
            started_at: t("2026-11-30T11:04:54Z"),
            ended_at: Some(t("2026-11-30T11:04:54Z")),
            result: StepResult::Refused,
            error: Some("owner action needed: remove the Google account (Settings → Accounts), then plug the phone in again".to_owned()),
            note: None,
            exit_code: Some(3),
        },
    ];
    r.backup = None;
    r.cloud_account = None;
    r.lock_status = None;
    r.accounts_before = Some(Accounts {
        mi_account_signed_in: false,
        mi_account_id: None,
        google_accounts: 1,
        frp_armed: true,
    });
    r.accounts_after = None;
    r.warnings = vec![];
    r.waiver = Some(Waiver {
        kind: "no_backup".to_owned(),
        reason: "refurbisher stock: no owner data kept".to_owned(),
        given_by: "policy".to_owned(),
    });
    r.outcome = Outcome {
        status: OutcomeStatus::OwnerActionNeeded,
        exit_code: 3,
        summary: "Not reset: the phone is still signed in to a Google account. Nothing on the phone was changed.".to_owned(),
    };
    r
}

// ---- A small JSON Schema checker for the keywords docs/report.schema.json uses. ----

fn schema() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/report.schema.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn check(root: &Value, s: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").unwrap();
        return check(root, &root["$defs"][name], v, at, errs);
    }
    if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
        let ok = alts
            .iter()
            .filter(|a| {
                let mut e = Vec::new();
                check(root, a, v, at, &mut e);
                e.is_empty()
            })
            .count();
        if ok != 1 {
            errs.push(format!("{at}: matches {ok} of oneOf"));
        }
        return;
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array) {
        if !options.contains(v) {
            errs.push(format!("{at}: {v} not in enum"));
        }
    }
    if let Some(ty) = s.get("type") {
        let types: Vec<&str> = match ty {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type in schema at {at}"),
        };
        let fits = types.iter().any(|t| match *t {
            "null" => v.is_null(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "integer" => v.is_i64() || v.is_u64(),
            "object" => v.is_object(),
            "array" => v.is_array(),
            other => panic!("unknown type {other}"),
        });
        if !fits {
            errs.push(format!("{at}: {v} is not {types:?}"));
            return;
        }
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_i64), v.as_i64()) {
        if n < min {
            errs.push(format!("{at}: {n} < {min}"));
        }
    }
    if s.get("format").and_then(Value::as_str) == Some("date-time") {
        if let Some(text) = v.as_str() {
            if Timestamp::parse(text).is_none() {
                errs.push(format!("{at}: {text:?} is not a date-time"));
            }
        }
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for req in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let req = req.as_str().unwrap();
            if !obj.contains_key(req) {
                errs.push(format!("{at}: missing {req}"));
            }
        }
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => check(root, ps, val, &format!("{at}.{k}"), errs),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errs.push(format!("{at}: unexpected {k}"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(root, items, item, &format!("{at}[{i}]"), errs);
        }
    }
}

fn schema_errors(v: &Value) -> Vec<String> {
    let root = schema();
    let mut errs = Vec::new();
    check(&root, &root, v, "$", &mut errs);
    errs
}

#[test]
fn sample_and_empty_reports_match_the_documented_schema() {
    for report in [
        sample(),
        sample_refused(),
        Report::new("x", Timestamp::now()),
    ] {
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(schema_errors(&v), Vec::<String>::new());
    }
}

#[test]
fn schema_check_catches_drift() {
    let good = serde_json::to_value(sample()).unwrap();
    let mut missing = good.clone();
    missing["device"].as_object_mut().unwrap().remove("imei");
    let mut extra = good.clone();
    extra["outcome"]["password"] = Value::from("x");
    let mut bad_enum = good.clone();
    bad_enum["steps"][0]["result"] = Value::from("probably");
    let mut bad_time = good.clone();
    bad_time["lock_status"]["checked_at"] = Value::from("tuesday");
    for (what, v) in [
        ("missing", missing),
        ("extra", extra),
        ("enum", bad_enum),
        ("time", bad_time),
    ] {
        assert!(!schema_errors(&v).is_empty(), "{what} not caught");
    }
}

#[test]
fn report_json_round_trips() {
    let r = sample();
    let text = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<Report>(&text).unwrap(), r);
}

#[test]
fn report_from_the_journal_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Journal::open(dir.path()).unwrap();
    let start = JourneyStart {
        serial: "emulator-5554".to_owned(),
        mode: "run".to_owned(),
        plan: vec![StepKind::Inspect, StepKind::Backup, StepKind::Signout],
        host: "h".to_owned(),
        pid: std::process::id(),
    };
    let log = journal.open_journey(&start).unwrap();
    let s = log.begin(StepKind::Inspect).unwrap();
    log.end(s, &StepEnd::ok(None)).unwrap();
    log.begin(StepKind::Backup).unwrap(); // killed here
    let log = journal.open_journey(&start).unwrap();
    let s = log.begin(StepKind::Backup).unwrap();
    log.end(s, &StepEnd::ok(None)).unwrap();
    let s = log.begin(StepKind::Signout).unwrap();
    log.end(
        s,
        &StepEnd {
            result: Some(StepResult::Failed),
            error: Some("the Mi account password was refused".to_owned()),
            exit_code: Some(4),
            ..StepEnd::default()
        },
    )
    .unwrap();
    let mut r = Report::new("emulator-5554", Timestamp::now());
    r.steps = log.step_reports().unwrap();
    r.outcome = Outcome {
        status: OutcomeStatus::Failed,
        exit_code: 4,
        summary: "Sign-out failed: the password was refused.".to_owned(),
    };
    assert_eq!(
        schema_errors(&serde_json::to_value(&r).unwrap()),
        Vec::<String>::new()
    );
    insta::with_settings!({filters => vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", "[time]"),
        (r#""version": "[^"]+""#, r#""version": "[version]""#),
    ]}, {
        insta::assert_json_snapshot!("journal_report", r);
    });
}

#[test]
fn write_puts_both_files_under_the_serial_folder_and_no_part_files() {
    let dir = tempfile::tempdir().unwrap();
    let r = sample();
    let w = write(dir.path(), &r).unwrap();
    assert_eq!(w.json, dir.path().join("4f8e2a1c/report.json"));
    let back: Report = serde_json::from_slice(&std::fs::read(&w.json).unwrap()).unwrap();
    assert_eq!(back, r);
    let html = std::fs::read_to_string(&w.html).unwrap();
    assert!(html.contains("861234*****0123"));
    assert!(
        !html.contains("861234567890123"),
        "customer copy must mask the IMEI"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path().join("4f8e2a1c"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");

    // A hostile serial cannot put the report outside DIR.
    let mut evil = sample();
    evil.serial = "../../outside".to_owned();
    let w = write(dir.path(), &evil).unwrap();
    assert!(w.json.starts_with(dir.path()));
    assert!(!dir.path().parent().unwrap().join("outside").exists());
}

#[test]
fn certificate_escapes_every_device_string() {
    let hostile = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "'; background:url(http://evil/)",
        "</style><h1>FREE</h1>",
        "&lt;already&gt;",
        "\u{202e}dekcolnu",
    ];
    for evil in hostile {
        let mut r = sample();
        let s = Some(evil.to_owned());
        r.issued_by = s.clone();
        r.device.model = s.clone();
        r.device.marketname = s.clone();
        r.device.brand = s.clone();
        r.device.imei = s.clone();
        r.device.hardware_serial = s.clone();
        r.device.region = s.clone();
        r.device.os.family = s.clone();
        r.device.os.version = s.clone();
        r.device.os.android = s.clone();
        r.outcome.status = OutcomeStatus::OwnerActionNeeded;
        r.outcome.summary = evil.to_owned();
        r.found[0].message = evil.to_owned();
        r.warnings = vec![evil.to_owned()];
        r.steps[1].error = s.clone();
        r.steps[1].note = s.clone();
        r.backup.as_mut().unwrap().notes = vec![evil.to_owned()];
        r.backup.as_mut().unwrap().manifest_sha256 = s.clone();
        r.cloud_account.as_mut().unwrap().status = evil.to_owned();
        r.cloud_account.as_mut().unwrap().user_id = evil.to_owned();
        r.accounts_before.as_mut().unwrap().mi_account_id = s.clone();
        r.waiver = Some(Waiver {
            kind: evil.to_owned(),
            reason: evil.to_owned(),
            given_by: evil.to_owned(),
        });
        for copy in [Copy::Customer, Copy::Shop] {
            let page = html::render(&r, copy);
            for needle in [
                "<script",
                "<img",
                "<h1>FREE",
                "\u{202e}",
                "&lt;already",
                "'; back",
            ] {
                assert!(
                    !page.contains(needle),
                    "{copy:?}: {needle:?} from {evil:?} leaked"
                );
            }
            assert_eq!(page.matches("<style>").count(), 1);
            assert_eq!(page.matches("</style>").count(), 1);
            assert_eq!(page.matches("<h1>").count(), 1);
        }
    }
}

#[test]
fn customer_copy_masks_imei_and_account_shop_copy_does_not() {
    let r = sample();
    let customer = html::render(&r, Copy::Customer);
    let shop = html::render(&r, Copy::Shop);
    assert!(customer.contains("Customer copy"));
    assert!(!customer.contains("861234567890123"));
    assert!(!customer.contains("6123456789"));
    assert!(customer.contains("********89"), "account id masked");
    assert!(shop.contains("861234567890123"));
    assert!(shop.contains("Shop copy"));
    assert!(customer.contains("Ready for its next owner"));
}

#[test]
fn certificate_says_plainly_when_the_phone_is_not_ready() {
    let mut r = sample();
    r.outcome = Outcome {
        status: OutcomeStatus::OwnerActionNeeded,
        exit_code: 3,
        summary:
            "Signed in to a Google account: remove it in Settings, then plug the phone in again."
                .to_owned(),
    };
    let page = html::render(&r, Copy::Customer);
    assert!(page.contains("Owner action needed"));
    assert!(!page.contains("Ready for its next owner"));
    assert!(page.contains("The phone is signed in to a Mi account"));
}

/// docs/report-sample.{json,html} are what `scripts/render-report` is checked on and
/// what docs/report.md shows; they must stay what the code renders. Regenerate with
/// MI_OFFBOARD_UPDATE_SAMPLES=1.
#[test]
fn docs_samples_are_current() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let json = serde_json::to_string_pretty(&sample()).unwrap() + "\n";
    let page = html::render(&sample(), Copy::Customer);
    let refused = html::render(&sample_refused(), Copy::Customer);
    for (name, text) in [
        ("report-sample.json", &json),
        ("report-sample.html", &page),
        ("report-sample-refused.html", &refused),
    ] {
        let path = docs.join(name);
        if std::env::var_os("MI_OFFBOARD_UPDATE_SAMPLES").is_some() {
            std::fs::write(&path, text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == *text,
            "{name} is stale: rerun with MI_OFFBOARD_UPDATE_SAMPLES=1"
        );
    }
}
