//! `input text` command lines for the phone's shell: quoting and the `%s`-for-space rule
//! (FACTS.md §6). Pure functions; the caller decides how the line is sent and makes sure
//! it is never logged (it carries the password).

/// Why a text cannot be typed with `input text`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UntypeableText {
    /// `input text` only types ASCII; the message never names the characters.
    #[error(
        "the text has characters `input text` cannot type (only printable ASCII can be typed over adb)"
    )]
    NotAscii,
    #[error("the text is empty")]
    Empty,
}

/// Quotes S as one word for the phone's `sh` (single quotes; `'` becomes `'\''`).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `input text …` command lines that type TEXT exactly.
///
/// `input` turns every `%s` into a space, so spaces are sent as `%s`; a literal `%s` in
/// the text is split across two commands (`…%` then `s…`) so it cannot be read as one.
pub fn input_text_commands(text: &str) -> Result<Vec<String>, UntypeableText> {
    if text.is_empty() {
        return Err(UntypeableText::Empty);
    }
    if !text.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        return Err(UntypeableText::NotAscii);
    }
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("%s") {
        pieces.push(&rest[..at + 1]);
        rest = &rest[at + 1..];
    }
    pieces.push(rest);
    Ok(pieces
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| format!("input text {}", sh_quote(&p.replace(' ', "%s"))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the phone types for one command line: undo the shell quoting, then `input`'s
    /// `%s` rule — the inverse the test checks against.
    fn typed(cmd: &str) -> String {
        let arg = cmd.strip_prefix("input text ").unwrap();
        let mut out = String::new();
        let mut in_quote = false;
        let mut chars = arg.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => in_quote = !in_quote,
                '\\' if !in_quote => out.push(chars.next().unwrap()),
                c => out.push(c),
            }
        }
        out.replace("%s", " ")
    }

    #[test]
    fn round_trips_hostile_passwords() {
        for pw in [
            "hunter2",
            "two words",
            "it's",
            "$(reboot); `id` | & > < * ? ! \" \\",
            "100%sure",
            "%s%s",
            "a %s b",
            "%",
            " lead",
        ] {
            let cmds = input_text_commands(pw).unwrap();
            let all: String = cmds.iter().map(|c| typed(c)).collect();
            assert_eq!(all, pw, "{cmds:?}");
            for c in &cmds {
                assert!(!c.contains(' ') || c.starts_with("input text '"), "{c}");
            }
        }
    }

    #[test]
    fn spaces_become_percent_s() {
        assert_eq!(
            input_text_commands("a b").unwrap(),
            vec!["input text 'a%sb'".to_string()]
        );
    }

    #[test]
    fn non_ascii_and_control_characters_are_refused_without_echo() {
        for pw in ["密码", "tab\there", "nl\n", ""] {
            let e = input_text_commands(pw).unwrap_err();
            assert!(!e.to_string().contains(pw) || pw.is_empty());
        }
    }
}
