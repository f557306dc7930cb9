//! Broken or hostile answers where Xiaomi's service should be: each gives a clear error
//! naming the step, never a panic, and never more requests than the bounded retries.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use mi_offboard::cloud::{
    Client, ClientOptions, CloudError, CodeAsk, Endpoints, HttpOptions, PromptError, Prompter,
    SecretString,
};
use mi_offboard::exit::{Exit, HasExit};

struct NoPrompts;

impl Prompter for NoPrompts {
    async fn code(&self, _: &CodeAsk) -> Result<SecretString, PromptError> {
        Err(PromptError::NoInput)
    }
    async fn captcha(&self, _: &std::path::Path, _: u32) -> Result<SecretString, PromptError> {
        Err(PromptError::NoInput)
    }
}

struct Hostile {
    url: String,
    hits: Arc<AtomicUsize>,
}

async fn start(routes: Router) -> Hostile {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = routes.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            counter.fetch_add(1, Ordering::SeqCst);
            next.run(req)
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Hostile { url, hits }
}

fn client(url: &str) -> Client {
    let options = ClientOptions {
        http: HttpOptions {
            timeout: Duration::from_millis(500),
            backoff: Duration::from_millis(1),
            ..HttpOptions::default()
        },
        ..ClientOptions::default()
    };
    Client::new(Endpoints::new(url, url).unwrap(), options).unwrap()
}

async fn sign_in_error(routes: Router) -> (CloudError, usize) {
    let h = start(routes).await;
    let pw = SecretString::from("pw".to_string());
    let e = client(&h.url)
        .sign_in("u", &pw, &NoPrompts)
        .await
        .expect_err("a hostile server must not sign us in");
    (e, h.hits.load(Ordering::SeqCst))
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn first_step(body: &'static str, content_type: &'static str) -> Router {
    Router::new().route(
        "/pass/serviceLogin",
        get(move || async move { reply(StatusCode::OK, content_type, body.to_string()) }),
    )
}

const GOOD_FIRST: &str = r#"&&&START&&&{"code":70016,"_sign":"s","qs":"q","callback":"c"}"#;

#[tokio::test]
async fn json_without_the_guard_prefix_is_not_xiaomi() {
    let (e, hits) = sign_in_error(first_step(r#"{"code":70016}"#, "application/json")).await;
    assert_eq!(e.exit(), Exit::Other);
    let text = e.to_string();
    assert!(
        text.contains("opening the sign-in page") && text.contains("&&&START&&&"),
        "{text}"
    );
    assert_eq!(hits, 1);
}

#[tokio::test]
async fn an_html_page_instead_of_json_is_named() {
    let (e, _) = sign_in_error(first_step("<html>Wi-Fi login</html>", "text/html")).await;
    assert!(e.to_string().contains("(an HTML page)"), "{e}");
}

#[tokio::test]
async fn a_huge_answer_is_refused_not_swallowed() {
    let routes = Router::new().route(
        "/pass/serviceLogin",
        get(|| async { reply(StatusCode::OK, "application/json", "x".repeat(3 << 20)) }),
    );
    let (e, hits) = sign_in_error(routes).await;
    assert!(e.to_string().contains("larger than 2048 KiB"), "{e}");
    assert_eq!(hits, 1);
}

#[tokio::test]
async fn missing_fields_and_unknown_codes_are_named() {
    let (e, _) = sign_in_error(first_step(
        r#"&&&START&&&{"code":70016,"_sign":"s"}"#,
        "application/json",
    ))
    .await;
    assert!(e.to_string().contains("\"qs\" is missing"), "{e}");
    let (e, _) = sign_in_error(first_step(
        r#"&&&START&&&{"_sign":"s"}"#,
        "application/json",
    ))
    .await;
    assert!(e.to_string().contains("\"code\" is missing"), "{e}");
    let (e, _) = sign_in_error(first_step(
        "&&&START&&&{\"code\":99999,\"desc\":\"odd\\u001b[2J\"}",
        "application/json",
    ))
    .await;
    let text = e.to_string();
    assert!(
        text.contains("code 99999") && text.contains("odd") && !text.contains('\x1b'),
        "{text}"
    );
}

#[tokio::test]
async fn redirects_and_locations_to_other_hosts_are_not_followed() {
    let routes = Router::new().route(
        "/pass/serviceLogin",
        get(|| async {
            (
                StatusCode::FOUND,
                [(header::LOCATION, "http://evil.example/steal")],
            )
                .into_response()
        }),
    );
    let (e, hits) = sign_in_error(routes).await;
    assert!(matches!(e, CloudError::OffHost { .. }), "{e}");
    assert!(e.to_string().contains("evil.example"), "{e}");
    assert_eq!(hits, 1);

    // A "successful" sign-in whose STS location points elsewhere.
    let routes = first_step(GOOD_FIRST, "application/json").route(
        "/pass/serviceLoginAuth2",
        post(|| async {
            reply(
                StatusCode::OK,
                "application/json",
                r#"&&&START&&&{"code":0,"userId":1,"location":"https://evil.example/sts","nonce":"1","ssecurity":"s"}"#.into(),
            )
        }),
    );
    let (e, _) = sign_in_error(routes).await;
    assert!(matches!(e, CloudError::OffHost { .. }), "{e}");
}

#[tokio::test]
async fn a_failing_read_is_retried_a_bounded_number_of_times_and_a_post_never() {
    let routes = Router::new().route(
        "/pass/serviceLogin",
        get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
    );
    let (e, hits) = sign_in_error(routes).await;
    assert!(matches!(e, CloudError::Http { status: 503, .. }), "{e}");
    assert_eq!(hits, 3, "three attempts of a safe GET, no more");

    let routes = first_step(GOOD_FIRST, "application/json").route(
        "/pass/serviceLoginAuth2",
        post(|| async { StatusCode::SERVICE_UNAVAILABLE }),
    );
    let (e, hits) = sign_in_error(routes).await;
    assert!(e.to_string().contains("sending the password"), "{e}");
    assert_eq!(
        hits, 2,
        "one GET and one POST: the password request is not repeated"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_with_the_step_named() {
    let routes = Router::new().route(
        "/support/anonymous/status",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let h = start(routes).await;
    let e = client(&h.url)
        .lock_status("861234567895678")
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::Timeout { .. }), "{e}");
    assert!(
        e.to_string().contains("checking the activation lock"),
        "{e}"
    );
    assert_eq!(h.hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn lock_answers_without_data_are_errors() {
    for body in [
        r#"{"code":0}"#,
        r#"{"code":0,"data":{"model":"x"}}"#,
        r#"{"code":0,"data":[]}"#,
    ] {
        let routes = Router::new().route(
            "/support/anonymous/status",
            get(move || async move { reply(StatusCode::OK, "application/json", body.into()) }),
        );
        let h = start(routes).await;
        let e = client(&h.url)
            .lock_status("861234567895678")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("is missing"), "{body}: {e}");
    }
}
