//! The IMEI, read without privileges where the phone allows it (FACTS.md §4): the
//! Parcel dump of `service call iphonesubinfo …`, else the properties some Xiaomi builds
//! set. Only a 15-digit number passing the Luhn check is accepted; anything else is
//! "unreadable" (`None`), never a guess.

use super::props::{Props, first};

/// Whether DIGITS is a 15-digit IMEI with a valid Luhn check digit.
pub fn is_valid_imei(digits: &str) -> bool {
    digits.len() == 15 && digits.bytes().all(|b| b.is_ascii_digit()) && luhn_ok(digits)
}

/// The Luhn check over a string of ASCII digits.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum % 10 == 0
}

/// The 32-bit words of a `service call` Parcel dump, in order. Lines look like
/// `  0x00000000: 00000000 0000000f 00350033 00380035 '........3.5.8.5.'`; the one-line
/// form is `Result: Parcel(00000000 ffffffff   '........')`.
fn parcel_words(text: &str) -> Vec<u32> {
    let mut words = Vec::new();
    for raw in text.lines() {
        let mut line = raw.trim();
        if let Some(rest) = line.strip_prefix("Result: Parcel(") {
            line = rest;
        }
        if let Some((off, rest)) = line.split_once(": ") {
            if off.starts_with("0x") {
                line = rest;
            }
        }
        let hex = line.split('\'').next().unwrap_or("");
        for tok in hex.split_whitespace() {
            if tok.len() == 8 {
                if let Ok(w) = u32::from_str_radix(tok, 16) {
                    words.push(w);
                }
            }
        }
    }
    words
}

/// The string a `service call` returned: status word 0 (no exception), then a UTF-16
/// string (length in code units, -1 for null). `None` for exceptions and garbage.
pub fn parcel_string(text: &str) -> Option<String> {
    if !text.contains("Parcel(") {
        return None;
    }
    let words = parcel_words(text);
    let (&status, rest) = words.split_first()?;
    if status != 0 {
        return None;
    }
    let (&len, body) = rest.split_first()?;
    let len = usize::try_from(len as i32).ok()?;
    // Words print as little-endian u32 values; their bytes in memory order are the
    // UTF-16LE code units.
    let bytes: Vec<u8> = body.iter().flat_map(|w| w.to_le_bytes()).collect();
    if bytes.len() < len * 2 {
        return None;
    }
    let units: Vec<u16> = bytes[..len * 2]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

/// The IMEI from a `service call iphonesubinfo` dump, when it holds a valid one.
pub fn imei_from_parcel(text: &str) -> Option<String> {
    parcel_string(text).filter(|s| is_valid_imei(s))
}

/// The IMEI from the properties some Xiaomi builds set.
pub fn imei_from_props(props: &Props) -> Option<String> {
    [
        "ro.ril.miui.imei0",
        "ro.ril.oem.imei",
        "persist.radio.imei",
        "ro.ril.oem.imei1",
    ]
    .iter()
    .filter_map(|k| first(props, &[k]))
    .find(|v| is_valid_imei(v))
    .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "Result: Parcel(\r\n\
  0x00000000: 00000000 0000000f 00360038 00390030 '........8.6.0.9.'\r\n\
  0x00000010: 00350036 00340030 00300035 00310037 '6.5.0.4.5.0.7.1.'\r\n\
  0x00000020: 00320033 00000034                   '3.2.4...        ')\r\n";

    #[test]
    fn decodes_the_imei_from_a_parcel_dump() {
        assert_eq!(parcel_string(OK).as_deref(), Some("860965045071324"));
        assert!(luhn_ok("860965045071324") == is_valid_imei("860965045071324"));
    }

    #[test]
    fn luhn_accepts_real_and_rejects_altered_numbers() {
        assert!(is_valid_imei("490154203237518"));
        assert!(!is_valid_imei("490154203237519"));
        assert!(!is_valid_imei("49015420323751"));
        assert!(!is_valid_imei("49015420323751x"));
        assert!(!luhn_ok(""));
    }

    #[test]
    fn exceptions_nulls_and_garbage_are_unreadable() {
        let exc = "Result: Parcel(\n  0x00000000: ffffffff 0000004d 00650047 00490074 '....M...G.e.t.I.'\n";
        assert_eq!(parcel_string(exc), None);
        assert_eq!(
            parcel_string("Result: Parcel(00000000 ffffffff   '........')"),
            None
        );
        assert_eq!(
            parcel_string("service: Service iphonesubinfo does not exist"),
            None
        );
        // Truncated after the length word.
        assert_eq!(
            parcel_string("Result: Parcel(\n  0x00000000: 00000000 0000000f 00360038"),
            None
        );
        assert_eq!(
            imei_from_parcel("Result: Parcel(00000000 00000002 00320031 '....1.2.')"),
            None
        );
    }

    #[test]
    fn falls_back_to_valid_props_only() {
        let mut p = Props::new();
        p.insert("ro.ril.oem.imei".into(), "123".into());
        assert_eq!(imei_from_props(&p), None);
        p.insert("ro.ril.miui.imei0".into(), "490154203237518".into());
        assert_eq!(imei_from_props(&p).as_deref(), Some("490154203237518"));
    }
}
