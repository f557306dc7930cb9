//! The cloud client against the simulated account service over real HTTP on loopback:
//! sign-in (plain, SMS and email verification, captcha), every refusal the operator can
//! meet, deletion blocked by a bound phone and then allowed once it signs out, and the
//! anonymous activation-lock check before and after.

mod cloud_support;

use cloud_support::*;
use mi_offboard::cloud::{Channel, CloudError, Endpoints, Purpose, Session};
use mi_offboard::exit::{Exit, HasExit};
use mi_offboard::sim::account::AccountServiceConfig;

fn exit_of<T>(r: Result<T, CloudError>) -> (Exit, String) {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => (e.exit(), e.to_string()),
    }
}

/// Signs [`USER`] in with the right password.
async fn try_sign_in(svc: &Service, inbox: &Inbox) -> Result<Session, CloudError> {
    svc.client().sign_in(USER, &password(), inbox).await
}

async fn sign_in(svc: &Service, inbox: &Inbox) -> Session {
    try_sign_in(svc, inbox).await.unwrap()
}

#[tokio::test]
async fn plain_login_gets_a_service_token_and_sends_only_the_hash() {
    let svc = Service::start(account(false, false)).await;
    let inbox = Inbox::new(&svc);
    let session = svc
        .client()
        .sign_in("owner@example.com", &password(), &inbox)
        .await
        .unwrap();
    assert_eq!(session.user_id(), USER);
    assert!(inbox.asked().is_empty(), "no code for a plain sign-in");
    // The uppercase MD5 travelled, not the password.
    let hashes: Vec<String> = svc
        .recorder
        .requests()
        .iter()
        .flat_map(|r| r.form.clone())
        .filter(|(k, _)| k == "hash")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(hashes.len(), 1);
    assert_eq!(hashes[0].len(), 32);
    assert_eq!(hashes[0], hashes[0].to_uppercase());
    svc.assert_password_never_sent();
    // The session is live: the deletion page (which needs serviceToken) answers.
    assert_eq!(session.deletion_page().await.unwrap().user_id, USER);
    let debug = format!("{session:?}");
    assert!(
        !debug.contains(PASSWORD) && !debug.contains("serviceToken="),
        "{debug}"
    );
}

#[tokio::test]
async fn two_factor_by_sms() {
    let svc = Service::start(account(true, false)).await;
    let inbox = Inbox::new(&svc);
    let session = sign_in(&svc, &inbox).await;
    assert_eq!(session.user_id(), USER);
    let asked = inbox.asked();
    assert_eq!(asked.len(), 1);
    assert_eq!(
        (asked[0].0, asked[0].1, asked[0].2),
        (Channel::Phone, Purpose::SignIn, 1)
    );
    assert_eq!(asked[0].3.as_deref(), Some("***5678"));
    assert_eq!(svc.recorder.count("/identity/auth/sendPhoneTicket"), 1);
    assert_eq!(svc.recorder.count("/identity/auth/verifyPhone"), 1);
    svc.assert_password_never_sent();
}

#[tokio::test]
async fn two_factor_by_email_when_preferred_or_the_only_way() {
    let mut acc = account(true, false);
    acc.phone = None;
    let svc = Service::start(acc).await;
    let inbox = Inbox::new(&svc);
    sign_in(&svc, &inbox).await;
    assert_eq!(inbox.asked()[0].0, Channel::Email);
    assert_eq!(svc.recorder.count("/identity/auth/verifyEmail"), 1);
    assert_eq!(svc.recorder.count("/identity/auth/sendPhoneTicket"), 0);

    let svc = Service::start(account(true, false)).await;
    let inbox = Inbox::new(&svc);
    let mut options = svc.options();
    options.prefer = Channel::Email;
    svc.client_with(options)
        .sign_in(USER, &password(), &inbox)
        .await
        .unwrap();
    assert_eq!(inbox.asked()[0].0, Channel::Email);
}

#[tokio::test]
async fn captcha_image_is_saved_for_the_operator_and_the_answer_resent_with_ick() {
    let svc = Service::start(account(false, true)).await;
    let inbox = Inbox::new(&svc);
    sign_in(&svc, &inbox).await;
    let seen = inbox.captchas.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (path, showed_answer, answer) = &seen[0];
    assert!(path.starts_with(svc.captcha_dir.path()), "{path:?}");
    assert!(path.extension().is_some_and(|e| e == "svg"));
    assert!(showed_answer, "the saved image holds the captcha");
    let last = svc.recorder.requests();
    let auth: Vec<_> = last
        .iter()
        .filter(|r| r.path == "/pass/serviceLoginAuth2")
        .collect();
    assert_eq!(auth.len(), 2);
    assert!(
        auth[1]
            .form
            .iter()
            .any(|(k, v)| k == "captCode" && v.eq_ignore_ascii_case(answer))
    );
    assert!(auth[1].raw.contains("ick="), "the ick cookie went back");
    svc.assert_password_never_sent();
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_credential_failures() {
    let svc = Service::start(account(false, false)).await;
    let inbox = Inbox::new(&svc);
    let wrong = mi_offboard::cloud::SecretString::from("not it".to_string());
    let (exit, text) = exit_of(svc.client().sign_in(USER, &wrong, &inbox).await);
    assert_eq!(exit, Exit::Credentials);
    assert!(text.contains("password is wrong"), "{text}");
    assert!(!text.contains("not it"));
    assert!(!svc.recorder.saw("not it"));

    let (exit, text) = exit_of(
        svc.client()
            .sign_in("nobody@example.com", &password(), &inbox)
            .await,
    );
    assert_eq!(exit, Exit::Credentials);
    assert!(text.contains("nobody@example.com"), "{text}");
}

#[tokio::test]
async fn wrong_code_is_asked_again_then_refused_with_exit_4() {
    let svc = Service::start(account(true, false)).await;
    let mut inbox = Inbox::new(&svc);
    inbox.wrong = Some("000000x".into());
    let (exit, text) = exit_of(try_sign_in(&svc, &inbox).await);
    assert_eq!(exit, Exit::Credentials);
    assert!(text.contains("3 tries"), "{text}");
    let attempts: Vec<u32> = inbox.asked().iter().map(|a| a.2).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    assert_eq!(svc.recorder.count("/identity/auth/sendPhoneTicket"), 1);
    assert!(!text.contains("000000x"));
}

#[tokio::test]
async fn too_many_codes_is_a_refusal_for_today() {
    let config = AccountServiceConfig {
        code_limit: 0,
        ..AccountServiceConfig::default()
    };
    let svc = Service::start_with(account(true, false), config).await;
    let inbox = Inbox::new(&svc);
    let (exit, text) = exit_of(try_sign_in(&svc, &inbox).await);
    assert_eq!(exit, Exit::Refused);
    assert!(text.contains("too many verification codes"), "{text}");
    assert!(inbox.asked().is_empty());
}

#[tokio::test]
async fn restricted_account_is_explained() {
    let config = AccountServiceConfig {
        restricted: vec![USER.into()],
        ..AccountServiceConfig::default()
    };
    let svc = Service::start_with(account(false, false), config).await;
    let (exit, text) = exit_of(try_sign_in(&svc, &Inbox::new(&svc)).await);
    assert_eq!(exit, Exit::Refused);
    assert!(text.contains("restricted"), "{text}");
}

#[tokio::test]
async fn deletion_waits_for_the_phone_to_sign_out_then_is_scheduled() {
    let svc = Service::start(account(true, false)).await;
    svc.registry.bind(IMEI, "Redmi Note 10", "DE", USER);
    let inbox = Inbox::new(&svc);
    let client = svc.client();
    let lock_client = svc.client();
    assert!(lock_client.lock_status(IMEI).await.unwrap().locked);

    let session = client.sign_in(USER, &password(), &inbox).await.unwrap();
    let page = session.deletion_page().await.unwrap();
    assert_eq!(page.devices.len(), 1);
    assert_eq!(page.devices[0].imei, "861234******5678");
    let (exit, text) = exit_of(session.delete_account(&page, USER, &inbox).await);
    assert_eq!(exit, Exit::Refused);
    assert!(
        text.contains("Redmi Note 10") && text.contains("861234******5678"),
        "{text}"
    );
    assert_eq!(svc.recorder.count("/pass/del/confirm"), 0);
    assert_eq!(
        inbox.asked().len(),
        1,
        "no code spent on a refused deletion"
    );

    // What signing the phone out through its screens does.
    svc.registry.unbind(IMEI);
    let page = session.deletion_page().await.unwrap();
    assert!(page.devices.is_empty());
    let done = session.delete_account(&page, USER, &inbox).await.unwrap();
    assert!(done.delete_at().unwrap() > chrono::Utc::now());
    assert_eq!(inbox.asked().last().unwrap().1, Purpose::Deletion);
    assert!(
        svc.registry
            .account(USER)
            .unwrap()
            .deletion_scheduled_at
            .is_some()
    );
    assert!(!lock_client.lock_status(IMEI).await.unwrap().locked);

    // Afterwards the account no longer signs in.
    let (exit, _) = exit_of(try_sign_in(&svc, &inbox).await);
    assert_eq!(exit, Exit::Credentials);
    svc.assert_password_never_sent();
}

#[tokio::test]
async fn a_phone_bound_again_during_verification_is_refused_by_the_service() {
    let svc = Service::start(account(false, false)).await;
    let mut inbox = Inbox::new(&svc);
    let session = sign_in(&svc, &inbox).await;
    let page = session.deletion_page().await.unwrap();
    let registry = svc.registry.clone();
    inbox.on_code = Some(std::sync::Arc::new(move || {
        registry.bind(IMEI, "Xiaomi 12", "DE", USER);
    }));
    let (exit, _) = exit_of(session.delete_account(&page, USER, &inbox).await);
    assert_eq!(exit, Exit::Refused);
    assert_eq!(svc.recorder.count("/pass/del/confirm"), 1);
    assert!(
        svc.registry
            .account(USER)
            .unwrap()
            .deletion_scheduled_at
            .is_none()
    );
}

#[tokio::test]
async fn confirmation_that_does_not_repeat_the_account_sends_nothing() {
    let svc = Service::start(account(false, false)).await;
    let inbox = Inbox::new(&svc);
    let session = sign_in(&svc, &inbox).await;
    let page = session.deletion_page().await.unwrap();
    let (exit, text) = exit_of(session.delete_account(&page, "1234567891", &inbox).await);
    assert_eq!(exit, Exit::Refused);
    assert!(text.contains("nothing was deleted"), "{text}");
    assert_eq!(svc.recorder.count("/pass/del/confirm"), 0);
    assert_eq!(svc.recorder.count("/identity/list"), 0);
    assert!(mi_offboard::cloud::check_confirmation(USER, "123456789").is_err());
    assert!(mi_offboard::cloud::check_confirmation(USER, " 1234567890 ").is_ok());
}

#[tokio::test]
async fn lock_status_follows_the_phone() {
    let svc = Service::start(account(false, false)).await;
    let client = svc.client();
    let free = client.lock_status(IMEI).await.unwrap();
    assert!(!free.locked);

    svc.registry.bind(IMEI, "Redmi Note 10", "DE", USER);
    svc.registry.wiped(IMEI);
    let locked = client.lock_status(IMEI).await.unwrap();
    assert!(locked.locked);
    assert_eq!(locked.model.as_deref(), Some("Redmi Note 10"));
    assert_eq!(locked.country.as_deref(), Some("DE"));

    let (exit, _) = exit_of(client.lock_status("12345").await);
    assert_eq!(exit, Exit::Usage);
}

#[test]
fn plain_http_to_another_host_is_refused() {
    for url in ["http://account.xiaomi.com", "http://192.168.1.20:8080"] {
        let e = Endpoints::new(url, "https://i.mi.com").unwrap_err();
        assert_eq!(e.exit(), Exit::Usage);
        assert!(e.to_string().contains("use https"), "{e}");
    }
}

/// Guards the guard: the recorder does notice a plain password, so the checks above
/// can fail.
#[tokio::test]
async fn the_recorder_catches_a_client_that_sends_the_plain_password() {
    let svc = Service::start(account(false, false)).await;
    let http = reqwest::Client::new();
    let first = http
        .get(format!(
            "{}/pass/serviceLogin?sid=passport&_json=true",
            svc.url
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first: serde_json::Value =
        serde_json::from_str(first.trim_start_matches("&&&START&&&")).unwrap();
    let sign = first["_sign"].as_str().unwrap();
    http.post(format!("{}/pass/serviceLoginAuth2", svc.url))
        .form(&[
            ("user", USER),
            ("hash", PASSWORD),
            ("_sign", sign),
            ("qs", "q"),
            ("callback", "c"),
        ])
        .send()
        .await
        .unwrap();
    assert!(svc.recorder.saw(PASSWORD));
    assert_eq!(svc.recorder.violations().len(), 1);
}
