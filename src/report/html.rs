//! The printable one-page certificate (`report.html`) a shop hands to the customer.
//!
//! Self-contained HTML and CSS (no script, no external resource), A4 when printed. Every
//! string that came from a phone, a file or the operator goes through [`escape`]: model
//! names and account ids are attacker-controlled. The customer copy masks the IMEI and
//! the account id, since the paper leaves the shop. It never shows a secret because the
//! [`Report`] holds none.

use super::{OutcomeStatus, Report, StepKind, StepReport, StepResult, Timestamp};
use std::fmt::Write as _;

/// Which copy to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// For the customer: IMEI and account id partly masked.
    Customer,
    /// For the shop's files: everything in full.
    Shop,
}

/// Escapes text for HTML element content and quoted attributes. Control characters and
/// bidirectional overrides (which could make "unlocked" read as something else) are
/// replaced with U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(' '),
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push('\u{fffd}')
            }
            c => out.push(c),
        }
    }
    out
}

/// Masks an identifier: IMEI-length ones (14 or more characters) keep their first 6 and
/// last 4 (`861234*****5678`, as Xiaomi's own pages show IMEIs); shorter ones, such as
/// account ids, keep only their last quarter so at least three quarters are hidden.
pub fn mask(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let n = chars.len();
    let (head, tail) = if n >= 14 { (6, 4) } else { (0, n / 4) };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Thousands separators, as a printed page should show counts.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How people write the OS family inspect reports in lower case.
fn family_name(family: &str) -> &str {
    match family {
        "hyperos" => "HyperOS",
        "miui" => "MIUI",
        "android" => "Android",
        other => other,
    }
}

fn when(t: Timestamp) -> String {
    t.0.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn opt(value: &Option<String>) -> String {
    value
        .as_deref()
        .map(escape)
        .unwrap_or_else(|| "—".to_owned())
}

/// The latest attempt of each step, in the order steps first ran: what the customer
/// needs, without the retries (those stay in report.json and the journal).
fn latest_steps(steps: &[StepReport]) -> Vec<&StepReport> {
    let mut latest: Vec<&StepReport> = Vec::new();
    for s in steps {
        match latest.iter_mut().find(|l| l.step == s.step) {
            Some(l) => *l = s,
            None => latest.push(s),
        }
    }
    latest
}

fn badge(result: StepResult) -> (&'static str, &'static str) {
    match result {
        StepResult::Ok => ("ok", "Done"),
        StepResult::Skipped => ("skip", "Not needed"),
        StepResult::Refused => ("warn", "Refused"),
        StepResult::Failed => ("bad", "Failed"),
        StepResult::Interrupted => ("bad", "Interrupted"),
        StepResult::Unfinished => ("bad", "Unfinished"),
    }
}

const STYLE: &str = r#"
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
html { background: #fff; }
body { margin: 0; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
  color: #1d2330; font-size: 17px; line-height: 1.4; }
.page { max-width: 1120px; margin: 0 auto; padding: 56px 60px; }
header { display: flex; justify-content: space-between; align-items: flex-end;
  border-bottom: 3px solid #1d2330; padding-bottom: 14px; }
h1 { font-size: 34px; margin: 0; letter-spacing: 0.5px; }
.issuer { font-size: 17px; font-weight: bold; margin-bottom: 4px; }
.meta { text-align: right; font-size: 14px; color: #4a5263; }
.status { margin: 26px 0 8px; padding: 20px 26px; border-radius: 8px; border: 2px solid;
  font-size: 27px; font-weight: bold; }
.status small { display: block; font-size: 17px; font-weight: normal; margin-top: 4px; }
.status.done { background: #e9f7ee; border-color: #2f8f4e; color: #1e6a37; }
.status.owner { background: #fff6e0; border-color: #c98a00; color: #7a5400; }
.status.bad { background: #fdecec; border-color: #c23b3b; color: #8e2323; }
h2 { font-size: 18px; margin: 30px 0 10px; text-transform: uppercase; letter-spacing: 1px;
  color: #4a5263; border-bottom: 1px solid #c9ced8; padding-bottom: 4px; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 0 36px; }
table { width: 100%; border-collapse: collapse; }
td, th { padding: 7px 6px; vertical-align: top; text-align: left; }
th { font-size: 12px; text-transform: uppercase; color: #6a7283; font-weight: normal; }
table.kv td:first-child { color: #4a5263; width: 40%; }
table.kv td:last-child { font-weight: bold; overflow-wrap: anywhere; }
table.kv td.plain { font-weight: normal; }
.sub { font-weight: normal; font-size: 14px; color: #6a7283; }
table.steps tr + tr td { border-top: 1px solid #e4e7ee; }
table.steps td.time { white-space: nowrap; }
table.steps td.note { color: #4a5263; font-size: 14px; overflow-wrap: anywhere; }
.badge { display: inline-block; min-width: 92px; text-align: center; padding: 2px 8px;
  border-radius: 10px; font-size: 13px; font-weight: bold; }
.badge.ok { background: #d7f0df; color: #1e6a37; }
.badge.skip { background: #e8eaef; color: #4a5263; }
.badge.warn { background: #ffeec2; color: #7a5400; }
.badge.bad { background: #f8d4d4; color: #8e2323; }
.box { border: 1px solid #c9ced8; border-radius: 6px; padding: 10px 14px; margin-top: 8px; }
.box.warn { border-color: #c98a00; background: #fffaf0; }
ul { margin: 4px 0; padding-left: 20px; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-weight: normal; font-size: 14px; }
.sign { display: grid; grid-template-columns: 1fr 1fr; gap: 56px; margin-top: 90px; }
.sign div { border-top: 1px solid #1d2330; padding-top: 8px; font-size: 14px; color: #4a5263; }
footer { margin-top: 34px; font-size: 12px; color: #6a7283; }
"#;

/// Renders the certificate. Pure: the same report gives the same page.
pub fn render(report: &Report, copy: Copy) -> String {
    let masked = |v: &Option<String>| -> String {
        match (v, copy) {
            (Some(v), Copy::Customer) => escape(&mask(v)),
            (v, _) => opt(v),
        }
    };
    let d = &report.device;
    let name = d
        .marketname
        .clone()
        .or_else(|| d.model.clone())
        .unwrap_or_else(|| "Unknown phone".to_owned());
    let mut h = String::with_capacity(16 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>Hand-over certificate — {}</title>",
        escape(&name)
    );
    h.push_str("<meta name=\"viewport\" content=\"width=device-width\">\n");
    let _ = writeln!(
        h,
        "<style>{STYLE}</style>\n</head>\n<body>\n<div class=\"page\">"
    );

    // Header.
    h.push_str("<header><div>");
    if let Some(issuer) = &report.issued_by {
        let _ = write!(h, "<div class=\"issuer\">{}</div>", escape(issuer));
    }
    h.push_str("<h1>Device hand-over certificate</h1></div>");
    let _ = writeln!(
        h,
        "<div class=\"meta\">Issued {}<br>Reference {}-{}<br>{}</div></header>",
        when(report.generated_at),
        escape(&report.serial),
        report.generated_at.0.format("%Y%m%d-%H%M"),
        match copy {
            Copy::Customer => "Customer copy",
            Copy::Shop => "Shop copy",
        }
    );

    // Outcome banner.
    let (class, headline) = match report.outcome.status {
        OutcomeStatus::Done => ("done", "Ready for its next owner"),
        // Not "ready": the shop must check the lock by hand before the phone leaves.
        OutcomeStatus::DoneUnverified => ("owner", "Done — activation lock NOT verified"),
        OutcomeStatus::OwnerActionNeeded => ("owner", "Owner action needed"),
        OutcomeStatus::Failed => ("bad", "Not completed"),
        OutcomeStatus::Interrupted => ("bad", "Interrupted — not completed"),
        OutcomeStatus::Abandoned => ("bad", "Abandoned — another phone took this serial"),
    };
    let _ = writeln!(
        h,
        "<div class=\"status {class}\">{headline}<small>{}</small></div>",
        escape(&report.outcome.summary)
    );

    // Device and accounts, side by side.
    h.push_str("<div class=\"grid\"><section><h2>Device</h2><table class=\"kv\">\n");
    let os = match (&d.os.family, &d.os.version) {
        (Some(f), Some(v)) => format!("{} {v}", family_name(f)),
        (Some(f), None) => family_name(f).to_owned(),
        (None, Some(v)) => v.clone(),
        (None, None) => String::new(),
    };
    let os = match (&d.os.android, os.is_empty()) {
        (Some(a), false) => format!("{os} (Android {a})"),
        (Some(a), true) => format!("Android {a}"),
        (None, _) => os,
    };
    let rows: [(&str, String); 6] = [
        ("Phone", escape(&name)),
        ("Brand / model", {
            let bm = [d.brand.as_deref(), d.model.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            if bm.is_empty() {
                "—".to_owned()
            } else {
                escape(&bm)
            }
        }),
        ("Serial number", {
            let s = d
                .hardware_serial
                .clone()
                .unwrap_or_else(|| report.serial.clone());
            escape(&s)
        }),
        ("IMEI", masked(&d.imei)),
        (
            "System",
            if os.is_empty() {
                "—".to_owned()
            } else {
                escape(&os)
            },
        ),
        ("Region", opt(&d.region)),
    ];
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><td>{k}</td><td>{v}</td></tr>");
    }
    h.push_str("</table></section>\n<section><h2>Accounts and lock</h2><table class=\"kv\">\n");
    let mi = |a: &super::Accounts| -> String {
        match &a.mi_account_id {
            Some(_) if a.mi_account_signed_in => {
                format!("signed in ({})", masked(&a.mi_account_id))
            }
            _ if a.mi_account_signed_in => "signed in".to_owned(),
            _ => "signed out".to_owned(),
        }
    };
    let with_sub = |main: &str, sub: Option<String>| match sub {
        Some(sub) => format!("{main}<div class=\"sub\">{sub}</div>"),
        None => main.to_owned(),
    };
    let (before, after) = (&report.accounts_before, &report.accounts_after);
    let mi_row = match (before, after) {
        (Some(b), Some(a)) => with_sub(&capitalise(&mi(a)), Some(format!("before: {}", mi(b)))),
        (None, Some(a)) => capitalise(&mi(a)),
        (Some(b), None) => with_sub(&capitalise(&mi(b)), Some("as found".to_owned())),
        (None, None) => "—".to_owned(),
    };
    let _ = writeln!(h, "<tr><td>Mi account</td><td>{mi_row}</td></tr>");
    let google_row = match (before, after) {
        (Some(b), Some(a)) if b.google_accounts != a.google_accounts => with_sub(
            &a.google_accounts.to_string(),
            Some(format!("before: {}", b.google_accounts)),
        ),
        (_, Some(a)) | (Some(a), None) => a.google_accounts.to_string(),
        (None, None) => "—".to_owned(),
    };
    let _ = writeln!(h, "<tr><td>Google accounts</td><td>{google_row}</td></tr>");
    let lock = match &report.lock_status {
        Some(l) => with_sub(
            if l.locked { "LOCKED" } else { "Not locked" },
            Some(format!("checked {}", when(l.checked_at))),
        ),
        None => "Not checked".to_owned(),
    };
    let _ = writeln!(h, "<tr><td>Activation lock</td><td>{lock}</td></tr>");
    if let Some(c) = &report.cloud_account {
        let id = masked(&Some(c.user_id.clone()));
        let status = match (c.status.as_str(), c.delete_at) {
            ("scheduled", t) => with_sub(
                &format!("Deletion scheduled ({id})"),
                t.map(|t| format!("takes effect {}", when(t))),
            ),
            (other, _) => with_sub(&escape(other), Some(id)),
        };
        let _ = writeln!(h, "<tr><td>Xiaomi cloud account</td><td>{status}</td></tr>");
    }
    h.push_str("</table></section></div>\n");

    // Steps.
    h.push_str("<h2>What was done</h2><table class=\"steps\">\n");
    h.push_str("<tr><th>Step</th><th>Result</th><th>Finished</th><th>Notes</th></tr>\n");
    for s in latest_steps(&report.steps) {
        let (class, label) = badge(s.result);
        let note = [s.note.as_deref(), s.error.as_deref()]
            .into_iter()
            .flatten()
            .map(escape)
            .collect::<Vec<_>>()
            .join(" — ");
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><span class=\"badge {class}\">{label}</span></td><td class=\"time\">{}</td><td class=\"note\">{note}</td></tr>",
            StepKind::title(s.step),
            s.ended_at.map(when).unwrap_or_else(|| "—".to_owned()),
        );
    }
    if report.steps.is_empty() {
        h.push_str("<tr><td colspan=\"4\">No step ran.</td></tr>\n");
    }
    h.push_str("</table>\n");

    // Backup.
    if let Some(b) = &report.backup {
        h.push_str("<h2>Backup</h2><table class=\"kv\">\n");
        let _ = writeln!(
            h,
            "<tr><td>Files copied and verified</td><td>{} of {} ({})</td></tr>",
            count(b.verified),
            count(b.files),
            human_bytes(b.bytes)
        );
        if !b.failed.is_empty() {
            let _ = writeln!(
                h,
                "<tr><td>Files not copied</td><td>{} (listed in the shop's report)</td></tr>",
                b.failed.len()
            );
        }
        if let Some(m) = &b.manifest_sha256 {
            let _ = writeln!(
                h,
                "<tr><td>Manifest fingerprint (SHA-256)</td><td class=\"mono\">{}</td></tr>",
                escape(m)
            );
        }
        for n in &b.notes {
            let _ = writeln!(
                h,
                "<tr><td>Note</td><td class=\"plain\">{}</td></tr>",
                escape(n)
            );
        }
        h.push_str("</table>\n");
    }

    if let Some(w) = &report.waiver {
        let _ = writeln!(
            h,
            "<div class=\"box warn\"><b>Safety check waived</b> ({}, by {}): {}</div>",
            escape(&w.kind.replace('_', " ")),
            escape(&w.given_by),
            escape(&w.reason)
        );
    }
    if !report.found.is_empty()
        && !matches!(
            report.outcome.status,
            OutcomeStatus::Done | OutcomeStatus::DoneUnverified
        )
    {
        h.push_str("<div class=\"box warn\"><b>Found on the phone</b><ul>");
        for b in &report.found {
            let _ = write!(h, "<li>{}</li>", escape(&b.message));
        }
        h.push_str("</ul></div>\n");
    }
    if !report.warnings.is_empty() {
        h.push_str("<div class=\"box\"><b>Please note</b><ul>");
        for w in &report.warnings {
            let _ = write!(h, "<li>{}</li>", escape(w));
        }
        h.push_str("</ul></div>\n");
    }

    h.push_str(
        "<div class=\"sign\"><div>Operator — name and signature</div>\
         <div>Customer — name and signature</div></div>\n",
    );
    let _ = writeln!(
        h,
        "<footer>Produced by {} {} · report schema {} · the full record, with times of every step, is kept by the shop as report.json.</footer>",
        escape(&report.tool.name),
        escape(&report.tool.version),
        escape(&report.schema)
    );
    h.push_str("</div>\n</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_quotes_and_bidi() {
        assert_eq!(
            escape("<script>alert('x')</script>&\"\u{202e}\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\u{fffd}\u{fffd}"
        );
    }

    #[test]
    fn mask_keeps_ends_of_imeis_only() {
        assert_eq!(mask("861234567890123"), "861234*****0123");
        assert_eq!(mask("12345678"), "******78");
        assert_eq!(mask("123"), "***");
        assert_eq!(mask(""), "");
        assert_eq!(mask("6123456789"), "********89");
        assert_eq!(mask("ééééééééééééééé"), "éééééé*****éééé");
    }

    #[test]
    fn bytes_read_like_a_shop_would_say_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
        assert_eq!(human_bytes(12_300_000_000), "12.3 GB");
    }
}
