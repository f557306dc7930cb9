//! The endpoints of the simulated service, one function each, plus the recording
//! middleware. Protocol per FACTS.md §7 and issue 6 (deletion model).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use md5::Digest as _;
use serde_json::{Value, json};

use super::{Context, IdentitySession, Purpose, StsTicket, Svc};
use crate::sim::account::record::{Delivery, Recorded};

type Params = HashMap<String, String>;

const PREFIX: &str = "&&&START&&&";
const SID: &str = "passport";

/// Records every request (decoded query and form, raw text) before it is handled.
pub(super) async fn record(State(svc): State<Svc>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let decode = |s: &[u8]| -> Vec<(String, String)> {
        url::form_urlencoded::parse(s).into_owned().collect()
    };
    let cookies = parts
        .headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    svc.config.recorder.push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: decode(raw_query.as_bytes()),
        form: decode(&bytes),
        raw: format!(
            "{raw_query}\n{cookies}\n{}",
            String::from_utf8_lossy(&bytes)
        ),
    });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn account_json(v: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        format!("{PREFIX}{v}"),
    )
        .into_response()
}

fn set_cookies(mut resp: Response, cookies: &[(&str, &str)]) -> Response {
    for (name, value) in cookies {
        if let Ok(v) = HeaderValue::from_str(&format!("{name}={value}; Path=/")) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

fn html(text: &str) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
        format!("<html><body>{text}</body></html>"),
    )
        .into_response()
}

fn code(c: i64, desc: &str) -> Response {
    account_json(json!({"code": c, "desc": desc}))
}

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

fn md5_upper(s: &str) -> String {
    hex::encode_upper(md5::Md5::digest(s.as_bytes()))
}

/// The user a valid `serviceToken` cookie belongs to.
fn session_user(svc: &Svc, headers: &HeaderMap) -> Option<String> {
    let token = cookie(headers, "serviceToken")?;
    svc.with(|s| s.service_tokens.get(&token).cloned())
}

fn live_user(svc: &Svc, user_id: &str) -> bool {
    svc.registry
        .account(user_id)
        .is_some_and(|a| a.deletion_scheduled_at.is_none())
}

/// A code-0 sign-in answer: STS ticket minted, passToken cookie set. When IN_HEADER,
/// `ssecurity` and `nonce` travel in `extension-pragma` as the SDK tolerates.
fn signed_in(svc: &Svc, user_id: &str, in_header: bool) -> Response {
    let pass_token = svc.token();
    let auth = svc.token();
    let nonce = (now_ms() % 1_000_000_000).to_string();
    let ssecurity = base64::engine::general_purpose::STANDARD.encode(&svc.token()[..16]);
    svc.with(|s| {
        s.pass_tokens
            .insert(pass_token.clone(), user_id.to_string());
        s.tickets.insert(
            auth.clone(),
            StsTicket {
                user_id: user_id.to_string(),
                nonce: nonce.clone(),
                ssecurity: ssecurity.clone(),
            },
        );
    });
    let location = format!("{}/sts?sid={SID}&auth={auth}", svc.base);
    let mut body = json!({
        "code": 0, "userId": user_id.parse::<u64>().map(Value::from).unwrap_or(Value::from(user_id)),
        "cUserId": format!("c{user_id}"), "passToken": pass_token, "location": location,
        "securityStatus": 0, "desc": "成功",
    });
    let pragma = json!({"nonce": nonce, "ssecurity": ssecurity, "psecurity": "p"});
    if !in_header {
        body["nonce"] = json!(nonce);
        body["ssecurity"] = json!(ssecurity);
    }
    let mut resp = set_cookies(
        account_json(body),
        &[("passToken", &pass_token), ("userId", user_id)],
    );
    if in_header {
        if let Ok(v) = HeaderValue::from_str(&pragma.to_string()) {
            resp.headers_mut().insert("extension-pragma", v);
        }
    }
    resp
}

pub(super) async fn service_login(
    State(svc): State<Svc>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let known = cookie(&headers, "passToken")
        .and_then(|t| svc.with(|s| s.pass_tokens.get(&t).cloned()))
        .filter(|u| live_user(&svc, u));
    if let Some(user_id) = known {
        return signed_in(&svc, &user_id, false);
    }
    let sign = svc.token();
    svc.with(|s| s.signs.push(sign.clone()));
    let sid = q.get("sid").cloned().unwrap_or_else(|| SID.into());
    account_json(json!({
        "code": 70016, "desc": "登录验证失败", "_sign": sign, "sid": sid,
        "qs": format!("%3Fsid%3D{sid}%26_json%3Dtrue"),
        "callback": format!("{}/sts?sid={sid}", svc.base),
        "location": format!("{}/pass/serviceLogin?sid={sid}", svc.base),
    }))
}

pub(super) async fn service_login_auth2(
    State(svc): State<Svc>,
    headers: HeaderMap,
    Form(f): Form<Params>,
) -> Response {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let sign_ok = svc.with(|s| s.signs.iter().any(|x| x == get("_sign")));
    if !sign_ok || get("qs").is_empty() || get("callback").is_empty() {
        return code(70002, "invalid sign");
    }
    let Some(account) = svc.registry.find_login(get("user")) else {
        return code(20003, "用户名不存在");
    };
    if f.values().any(|v| *v == account.password) {
        svc.config.recorder.violation("/pass/serviceLoginAuth2");
    }
    if account.deletion_scheduled_at.is_some() {
        return code(20003, "用户名不存在");
    }
    if svc.config.restricted.contains(&account.user_id) {
        return code(20023, "account restricted");
    }
    if account.captcha {
        let expected =
            cookie(&headers, "ick").and_then(|ick| svc.with(|s| s.captchas.remove(&ick)));
        let typed = get("captCode");
        let passed = expected.is_some_and(|e| !typed.is_empty() && e.eq_ignore_ascii_case(typed));
        if !passed {
            return account_json(json!({
                "code": 87001, "desc": if typed.is_empty() { "需要验证码" } else { "验证码错误" },
                "captchaUrl": format!("/pass/getCode?icodeType=login&_={}", now_ms()),
            }));
        }
    }
    if get("hash") != md5_upper(&account.password) {
        return code(70016, "密码错误");
    }
    if account.two_factor {
        let context = svc.token();
        svc.with(|s| {
            s.contexts.insert(
                context.clone(),
                Context {
                    user_id: account.user_id.clone(),
                    purpose: Purpose::Login,
                    verified: false,
                },
            )
        });
        return account_json(json!({
            "code": 0, "securityStatus": 16, "desc": "need verification",
            "notificationUrl": format!("{}/identity/authStart?sid={SID}&context={context}", svc.base),
        }));
    }
    signed_in(&svc, &account.user_id, true)
}

pub(super) async fn captcha_image(State(svc): State<Svc>) -> Response {
    let ick = svc.token();
    // Letters a person can read without ambiguity.
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let answer: String = svc.token()[..5]
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect();
    svc.with(|s| s.captchas.insert(ick.clone(), answer.clone()));
    svc.config.outbox.deliver(Delivery {
        user_id: String::new(),
        channel: "captcha",
        to: "image".into(),
        secret: answer.clone(),
    });
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"160\" height=\"50\">\
         <rect width=\"160\" height=\"50\" fill=\"#eee\"/>\
         <text x=\"20\" y=\"35\" font-size=\"28\" font-family=\"monospace\">{answer}</text></svg>"
    );
    set_cookies(
        ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        &[("ick", &ick)],
    )
}

pub(super) async fn sts(State(svc): State<Svc>, Query(q): Query<Params>) -> Response {
    let ticket = q
        .get("auth")
        .and_then(|a| svc.with(|s| s.tickets.remove(a)));
    let Some(StsTicket {
        user_id,
        nonce,
        ssecurity,
    }) = ticket
    else {
        return (StatusCode::UNAUTHORIZED, "invalid ticket").into_response();
    };
    let expected = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(
        format!("nonce={nonce}&{ssecurity}").as_bytes(),
    ));
    if q.get("clientSign") != Some(&expected) {
        return (StatusCode::FORBIDDEN, "invalid clientSign").into_response();
    }
    let token = svc.token();
    svc.with(|s| s.service_tokens.insert(token.clone(), user_id));
    set_cookies("ok".into_response(), &[("serviceToken", &token)])
}

pub(super) async fn auth_start(State(svc): State<Svc>, Query(q): Query<Params>) -> Response {
    let known = q
        .get("context")
        .is_some_and(|c| svc.with(|s| s.contexts.contains_key(c)));
    if !known {
        return (StatusCode::NOT_FOUND, html("unknown context")).into_response();
    }
    html("Verify your identity")
}

pub(super) async fn identity_list(State(svc): State<Svc>, Query(q): Query<Params>) -> Response {
    let ctx_id = q.get("context").cloned().unwrap_or_default();
    let Some(ctx) = svc.with(|s| s.contexts.get(&ctx_id).cloned()) else {
        return code(21317, "context expired");
    };
    let Some(account) = svc.registry.account(&ctx.user_id) else {
        return code(21317, "context expired");
    };
    let mut options = Vec::new();
    if account.phone.is_some() {
        options.push(4);
    }
    if account.email.is_some() {
        options.push(8);
    }
    let session = svc.token();
    svc.with(|s| {
        s.identity.insert(
            session.clone(),
            IdentitySession {
                context: ctx_id,
                pending: None,
            },
        )
    });
    let mask = |s: &str, keep: usize| {
        let tail: String = s
            .chars()
            .rev()
            .take(keep)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("***{tail}")
    };
    let body = json!({
        "code": 0, "flag": options.first().copied().unwrap_or(0), "options": options,
        "maskedPhone": account.phone.as_deref().map(|p| mask(p, 4)),
        "maskedEmail": account.email.as_deref().map(|e| mask(e, e.len().saturating_sub(e.find('@').unwrap_or(0)))),
    });
    set_cookies(account_json(body), &[("identity_session", &session)])
}

/// The identity session of the request and the account it verifies.
fn identity_of(svc: &Svc, headers: &HeaderMap) -> Option<(String, IdentitySession, Context)> {
    let id = cookie(headers, "identity_session")?;
    svc.with(|s| {
        let session = s.identity.get(&id)?.clone();
        let ctx = s.contexts.get(&session.context)?.clone();
        Some((id, session, ctx))
    })
}

async fn send_ticket(svc: Svc, headers: HeaderMap, flag: i64) -> Response {
    let Some((id, _, ctx)) = identity_of(&svc, &headers) else {
        return code(21317, "identity session expired");
    };
    let Some(account) = svc.registry.account(&ctx.user_id) else {
        return code(21317, "identity session expired");
    };
    let (channel, to) = match flag {
        4 => ("sms", account.phone),
        _ => ("email", account.email),
    };
    let Some(to) = to else {
        return code(70001, "no such channel");
    };
    let over = svc.with(|s| {
        let n = s.codes_sent.entry(ctx.user_id.clone()).or_default();
        if *n >= svc.config.code_limit {
            return true;
        }
        *n += 1;
        false
    });
    if over {
        return code(70022, "发送次数已达上限");
    }
    let ticket = svc.code();
    svc.with(|s| {
        if let Some(session) = s.identity.get_mut(&id) {
            session.pending = Some((flag, ticket.clone()));
        }
    });
    svc.config.outbox.deliver(Delivery {
        user_id: ctx.user_id,
        channel,
        to,
        secret: ticket,
    });
    account_json(json!({"code": 0, "desc": "ok"}))
}

pub(super) async fn send_phone(State(svc): State<Svc>, headers: HeaderMap) -> Response {
    send_ticket(svc, headers, 4).await
}

pub(super) async fn send_email(State(svc): State<Svc>, headers: HeaderMap) -> Response {
    send_ticket(svc, headers, 8).await
}

async fn verify_ticket(svc: Svc, headers: HeaderMap, flag: i64, f: Params) -> Response {
    let Some((_, session, ctx)) = identity_of(&svc, &headers) else {
        return code(21317, "identity session expired");
    };
    let typed = f.get("ticket").map(String::as_str).unwrap_or("");
    let flag_ok = f.get("_flag").and_then(|x| x.parse::<i64>().ok()) == Some(flag);
    let right = match &session.pending {
        Some((sent_flag, ticket)) => *sent_flag == flag && flag_ok && ticket == typed,
        None => false,
    };
    if !right {
        return code(70014, "验证码错误");
    }
    svc.with(|s| {
        if let Some(c) = s.contexts.get_mut(&session.context) {
            c.verified = true;
        }
        if let Some(sess) = s
            .identity
            .get_mut(&cookie(&headers, "identity_session").unwrap_or_default())
        {
            sess.pending = None;
        }
    });
    let location = match ctx.purpose {
        Purpose::Login => format!("{}/identity/done?context={}", svc.base, session.context),
        Purpose::Delete => format!("/pass/del/confirm?context={}", session.context),
    };
    account_json(json!({"code": 0, "location": location}))
}

pub(super) async fn verify_phone(
    State(svc): State<Svc>,
    headers: HeaderMap,
    Form(f): Form<Params>,
) -> Response {
    verify_ticket(svc, headers, 4, f).await
}

pub(super) async fn verify_email(
    State(svc): State<Svc>,
    headers: HeaderMap,
    Form(f): Form<Params>,
) -> Response {
    verify_ticket(svc, headers, 8, f).await
}

/// The end of a verified sign-in: sets passToken and redirects to a plain page, so
/// the client must keep cookies across a redirect as a browser does.
pub(super) async fn identity_done(State(svc): State<Svc>, Query(q): Query<Params>) -> Response {
    let ctx = q
        .get("context")
        .and_then(|c| svc.with(|s| s.contexts.get(c).cloned()))
        .filter(|c| c.verified && c.purpose == Purpose::Login);
    let Some(ctx) = ctx else {
        return (StatusCode::FORBIDDEN, html("not verified")).into_response();
    };
    let pass_token = svc.token();
    svc.with(|s| {
        s.pass_tokens
            .insert(pass_token.clone(), ctx.user_id.clone())
    });
    let mut resp = StatusCode::FOUND.into_response();
    resp.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_static("/identity/finished"),
    );
    set_cookies(
        resp,
        &[("passToken", &pass_token), ("userId", &ctx.user_id)],
    )
}

pub(super) async fn identity_finished() -> Response {
    html("Verified")
}

pub(super) async fn deletion_page(State(svc): State<Svc>, headers: HeaderMap) -> Response {
    let Some(user_id) = session_user(&svc, &headers).filter(|u| live_user(&svc, u)) else {
        return code(21317, "no session");
    };
    let context = svc.token();
    svc.with(|s| {
        s.contexts.insert(
            context.clone(),
            Context {
                user_id: user_id.clone(),
                purpose: Purpose::Delete,
                verified: false,
            },
        )
    });
    let devices: Vec<Value> = svc
        .registry
        .devices_of(&user_id)
        .into_iter()
        .map(|d| {
            let chars: Vec<char> = d.imei.chars().collect();
            let imei = if chars.len() > 10 {
                let head: String = chars[..6].iter().collect();
                let tail: String = chars[chars.len() - 4..].iter().collect();
                format!("{head}******{tail}")
            } else {
                "******".into()
            };
            json!({"model": d.model, "imei": imei, "findDevice": d.find_device})
        })
        .collect();
    account_json(json!({
        "code": 0, "userId": user_id.parse::<u64>().map(Value::from).unwrap_or(Value::from(user_id.clone())),
        "boundDevices": devices,
        "notificationUrl": format!("/identity/authStart?sid={SID}&context={context}"),
    }))
}

pub(super) async fn deletion_confirm(
    State(svc): State<Svc>,
    headers: HeaderMap,
    Form(f): Form<Params>,
) -> Response {
    let Some(user_id) = session_user(&svc, &headers).filter(|u| live_user(&svc, u)) else {
        return code(21317, "no session");
    };
    let ctx = f
        .get("context")
        .and_then(|c| svc.with(|s| s.contexts.get(c).cloned()));
    let ok =
        ctx.is_some_and(|c| c.verified && c.purpose == Purpose::Delete && c.user_id == user_id);
    if !ok {
        return code(21317, "identity not verified");
    }
    if svc
        .registry
        .devices_of(&user_id)
        .iter()
        .any(|d| d.find_device)
    {
        return account_json(json!({"code": 70040, "desc": "devices still bound"}));
    }
    let delay = u64::try_from(svc.config.deletion_delay.as_millis()).unwrap_or(u64::MAX);
    let at = now_ms().saturating_add(delay);
    svc.registry
        .update_account(&user_id, |a| a.deletion_scheduled_at = Some(at));
    // The account's sessions end with it.
    svc.with(|s| {
        s.service_tokens.retain(|_, u| *u != user_id);
        s.pass_tokens.retain(|_, u| *u != user_id);
    });
    account_json(json!({"code": 0, "status": "scheduled", "deleteAt": at}))
}

/// i.mi.com's anonymous status: plain JSON, no guard prefix.
pub(super) async fn lock_status(State(svc): State<Svc>, Query(q): Query<Params>) -> Response {
    let (Some(_ts), Some(imei)) = (q.get("ts"), q.get("id")) else {
        return axum::Json(json!({"code": 10001, "description": "invalid param"})).into_response();
    };
    let data = match svc.registry.device(imei) {
        Some(d) => json!({
            "locked": d.find_device || d.activation_locked, "approved": false,
            "model": d.model, "country": d.country, "activated": true,
        }),
        None => {
            json!({"locked": false, "approved": false, "model": "", "country": "", "activated": false})
        }
    };
    axum::Json(json!({"code": 0, "data": data})).into_response()
}
