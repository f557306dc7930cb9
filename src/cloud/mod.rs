//! Client of the Xiaomi account web service: login (with 2FA and captcha), account
//! deletion, and the anonymous activation-lock check. Knows nothing about adb.
