//! `getprop` output → a map of properties. `getprop` prints `[key]: [value]` lines; a
//! value may span lines (rare, but seen in build fingerprints of custom ROMs), adb may
//! add CR before LF (old phones' pty), and output may be cut short. Lines that do not
//! parse are skipped, never fatal.

use std::collections::BTreeMap;

/// Properties by key.
pub type Props = BTreeMap<String, String>;

/// Parses `getprop` output. An unfinished last entry (no closing bracket) is dropped:
/// a cut-off value would be wrong, not merely short.
pub fn parse_getprop(text: &str) -> Props {
    let mut props = Props::new();
    let mut pending: Option<(String, String)> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some((key, mut value)) = pending.take() {
            value.push('\n');
            match line.strip_suffix(']') {
                Some(end) => {
                    value.push_str(end);
                    props.insert(key, value);
                }
                None => {
                    value.push_str(line);
                    pending = Some((key, value));
                }
            }
            continue;
        }
        let Some(rest) = line.trim_start().strip_prefix('[') else {
            continue;
        };
        let Some((key, after)) = rest.split_once("]: [") else {
            continue;
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            continue;
        }
        match after.strip_suffix(']') {
            Some(value) => {
                props.insert(key.to_string(), value.to_string());
            }
            None => pending = Some((key.to_string(), after.to_string())),
        }
    }
    props
}

/// The first of KEYS that is set to a non-empty value.
pub fn first<'a>(props: &'a Props, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|k| props.get(*k))
        .map(|v| v.trim())
        .find(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_crlf_and_multiline_values() {
        let text = "[ro.product.brand]: [Xiaomi]\r\n\
                    [ro.product.model]: [M2012K11AG]\n\
                    [empty]: []\n\
                    garbage line\n\
                    [odd]: [first\nsecond]\n\
                    [ro.build.fingerprint]: [Xiaomi/alioth_eea/alioth:13/TKQ1.220829.002/V14.0.10.0.TKHEUXM:user/release-keys]\r\n\
                    [cut]: [trunc";
        let p = parse_getprop(text);
        assert_eq!(
            p.get("ro.product.brand").map(String::as_str),
            Some("Xiaomi")
        );
        assert_eq!(
            p.get("ro.product.model").map(String::as_str),
            Some("M2012K11AG")
        );
        assert_eq!(p.get("empty").map(String::as_str), Some(""));
        assert_eq!(p.get("odd").map(String::as_str), Some("first\nsecond"));
        assert!(
            p.get("ro.build.fingerprint")
                .is_some_and(|v| v.ends_with("release-keys"))
        );
        assert!(!p.contains_key("cut"));
        assert_eq!(p.len(), 5);
        assert_eq!(first(&p, &["empty", "ro.product.brand"]), Some("Xiaomi"));
    }

    #[test]
    fn garbage_gives_nothing() {
        assert!(parse_getprop("").is_empty());
        assert!(parse_getprop("/system/bin/sh: getprop: not found\n").is_empty());
        assert!(parse_getprop("[]: [x]\n[a b]: [c]\n\u{0}\u{ff}").is_empty());
    }
}
