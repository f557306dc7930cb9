//! Every path, parameter, JSON field and answer code the client uses to talk to Xiaomi's
//! account service and to the Find Device host, in one place.
//!
//! Sign-in and two-factor verification follow Xiaomi's own SDK (FACTS.md §7, read in
//! source). Account deletion is **not documented by Xiaomi**: the [`deletion`] table is the
//! project's model of it (issue 6). When a real browser session shows different paths or
//! fields, correct them here and nothing else in `cloud/` needs to change.
//! This module knows no HTTP and no flow; it is data only.

/// Every JSON body from account.xiaomi.com starts with this guard (against JSON hijacking).
pub const JSON_PREFIX: &str = "&&&START&&&";

/// The service id the browser signs in for when it opens account.xiaomi.com itself.
pub const SID: &str = "passport";

/// Common form/query fields.
pub const F_JSON: &str = "_json";
pub const F_SID: &str = "sid";
pub const F_CODE: &str = "code";
pub const F_DESC: &str = "desc";
pub const F_DESCRIPTION: &str = "description";
pub const F_LOCATION: &str = "location";
pub const F_CONTEXT: &str = "context";

/// Step 1 and 2 of signing in, and the STS hop that turns a ticket into `serviceToken`.
pub mod login {
    pub const SERVICE_LOGIN: &str = "/pass/serviceLogin";
    pub const AUTH2: &str = "/pass/serviceLoginAuth2";

    // Fields of the first answer (code 70016) that the second request sends back.
    pub const F_SIGN: &str = "_sign";
    pub const F_QS: &str = "qs";
    pub const F_CALLBACK: &str = "callback";

    // Fields of the password request.
    pub const F_USER: &str = "user";
    pub const F_HASH: &str = "hash";
    pub const F_CAPTCHA_CODE: &str = "captCode";

    // Fields of a successful answer. Any of them may instead sit in the
    // `extension-pragma` header (a JSON object), which the SDK reads as a fallback.
    pub const F_USER_ID: &str = "userId";
    pub const F_C_USER_ID: &str = "cUserId";
    pub const F_PASS_TOKEN: &str = "passToken";
    pub const F_SSECURITY: &str = "ssecurity";
    pub const F_NONCE: &str = "nonce";
    pub const F_SECURITY_STATUS: &str = "securityStatus";
    pub const F_NOTIFICATION_URL: &str = "notificationUrl";
    pub const F_CAPTCHA_URL: &str = "captchaUrl";
    pub const HEADER_EXTENSION_PRAGMA: &str = "extension-pragma";

    /// Appended to the STS `location`: urlencode(base64(sha1("nonce=N&SSECURITY"))).
    pub const F_CLIENT_SIGN: &str = "clientSign";
    /// The cookie the STS hop sets; its presence proves the session.
    pub const COOKIE_SERVICE_TOKEN: &str = "serviceToken";
    /// The cookie the captcha image sets; it ties the typed answer to that image.
    pub const COOKIE_ICK: &str = "ick";
}

/// Two-factor verification ("identity"), used by sign-in and by deletion alike.
pub mod identity {
    pub const LIST: &str = "/identity/list";
    pub const SEND_PHONE: &str = "/identity/auth/sendPhoneTicket";
    pub const SEND_EMAIL: &str = "/identity/auth/sendEmailTicket";
    pub const VERIFY_PHONE: &str = "/identity/auth/verifyPhone";
    pub const VERIFY_EMAIL: &str = "/identity/auth/verifyEmail";

    /// Option numbers in the list answer (and the `_flag` of the verify request).
    pub const OPTION_PHONE: i64 = 4;
    pub const OPTION_EMAIL: i64 = 8;

    pub const F_OPTIONS: &str = "options";
    pub const F_MASKED_PHONE: &str = "maskedPhone";
    pub const F_MASKED_EMAIL: &str = "maskedEmail";
    pub const F_RETRY: &str = "retry";
    pub const F_FLAG: &str = "_flag";
    pub const F_TICKET: &str = "ticket";
    pub const F_TRUST: &str = "trust";
    /// The cookie `/identity/list` sets; the send and verify requests need it.
    pub const COOKIE_SESSION: &str = "identity_session";
}

/// The project's model of account deletion (issue 6) — a **\[guess\]** until checked
/// against a real browser session.
pub mod deletion {
    /// `GET INFO?_json=true` with the session cookies: who is signed in, which devices
    /// are bound, and where identity verification for the deletion starts.
    pub const INFO: &str = "/pass/del";
    /// `POST CONFIRM` with `context=CTX&_json=true` once identity is verified.
    pub const CONFIRM: &str = "/pass/del/confirm";

    pub const F_USER_ID: &str = "userId";
    pub const F_BOUND_DEVICES: &str = "boundDevices";
    pub const F_DEVICE_MODEL: &str = "model";
    pub const F_DEVICE_IMEI: &str = "imei";
    pub const F_DEVICE_FIND: &str = "findDevice";
    pub const F_NOTIFICATION_URL: &str = "notificationUrl";
    pub const F_STATUS: &str = "status";
    pub const F_DELETE_AT: &str = "deleteAt";
    pub const STATUS_SCHEDULED: &str = "scheduled";
}

/// The anonymous activation-lock check on the Find Device host (i.mi.com).
pub mod lock {
    pub const STATUS: &str = "/support/anonymous/status";
    pub const Q_TS: &str = "ts";
    pub const Q_ID: &str = "id";
    pub const F_DATA: &str = "data";
    pub const F_LOCKED: &str = "locked";
    pub const F_APPROVED: &str = "approved";
    pub const F_MODEL: &str = "model";
    pub const F_COUNTRY: &str = "country";
    pub const F_ACTIVATED: &str = "activated";
}

/// Answer codes (FACTS.md §7; 21317 and 70040 come from the deletion model).
pub mod codes {
    pub const OK: i64 = 0;
    /// First answer of serviceLogin (sign in needed); on serviceLoginAuth2: wrong password.
    pub const LOGIN_REQUIRED_OR_WRONG_PASSWORD: i64 = 70016;
    pub const CAPTCHA: i64 = 87001;
    pub const INVALID_USER: i64 = 20003;
    pub const WRONG_CODE: i64 = 70014;
    pub const TOO_MANY_CODES: i64 = 70022;
    pub const RESTRICTED: &[i64] = &[10031, 20023];
    pub const NO_SESSION: i64 = 21317;
    pub const STILL_BOUND: i64 = 70040;
}
