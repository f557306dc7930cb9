//! Parses a command line the way Android's `/system/bin/sh` (mksh) does, for the subset a
//! host tool sends: quoting (`'…'`, `"…"`, backslash), `$NAME`/`${NAME}`/`$?`
//! expansion, `;` `&` newline, `&&` `||`, `|`, `!`, redirections (`>`, `>>`, `<`,
//! `2>`, `2>&1`, `>&2`) and `#` comments. Words keep which parts were quoted so that
//! expansion and globbing happen at run time, as in a real shell.
//!
//! Pure: no file system, no phone state.

/// A piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text from quotes or escapes: never globbed.
    Quoted(String),
    /// Unquoted literal text (glob characters are live).
    Bare(String),
    /// `$NAME` (quoted: inside double quotes).
    Var(String, bool),
}

pub type Word = Vec<Part>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirOp {
    /// `>` / `>>` / `<` to a file word.
    Write {
        append: bool,
    },
    Read,
    /// `N>&M`.
    Dup(u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redir {
    pub fd: u8,
    pub op: RedirOp,
    pub target: Word,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simple {
    pub words: Vec<Word>,
    pub redirs: Vec<Redir>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pipeline {
    pub negate: bool,
    pub cmds: Vec<Simple>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    And,
    Or,
}

/// `a && b || c`: the first pipeline, then each with the connector before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AndOr {
    pub first: Pipeline,
    pub rest: Vec<(Connector, Pipeline)>,
}

pub type Script = Vec<AndOr>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(Word),
    Semi,
    AndIf,
    OrIf,
    Pipe,
    Bang,
    Redir(u8, RedirOp),
}

/// A syntax error in mksh's words (`syntax error: 'X' unexpected`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn lex(input: &str) -> Result<Vec<Tok>, SyntaxError> {
    let chars: Vec<char> = input.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut word: Word = Vec::new();
    let mut in_word = false;

    fn push_lit(word: &mut Word, quoted: bool, c: char) {
        match (word.last_mut(), quoted) {
            (Some(Part::Quoted(s)), true) | (Some(Part::Bare(s)), false) => s.push(c),
            _ => word.push(if quoted {
                Part::Quoted(c.to_string())
            } else {
                Part::Bare(c.to_string())
            }),
        }
    }
    // Reads `$…` at chars[i] == '$'; returns the part and the next index.
    fn dollar(chars: &[char], i: usize, quoted: bool) -> (Part, usize) {
        match chars.get(i + 1) {
            Some('{') => {
                let mut j = i + 2;
                let mut name = String::new();
                while j < chars.len() && chars[j] != '}' {
                    name.push(chars[j]);
                    j += 1;
                }
                (Part::Var(name, quoted), (j + 1).min(chars.len()))
            }
            Some(&c) if matches!(c, '?' | '$' | '#' | '!' | '0'..='9') => {
                (Part::Var(c.to_string(), quoted), i + 2)
            }
            Some(&c) if is_name_char(c) => {
                let mut j = i + 1;
                let mut name = String::new();
                while j < chars.len() && is_name_char(chars[j]) {
                    name.push(chars[j]);
                    j += 1;
                }
                (Part::Var(name, quoted), j)
            }
            _ => {
                let p = if quoted {
                    Part::Quoted("$".into())
                } else {
                    Part::Bare("$".into())
                };
                (p, i + 1)
            }
        }
    }

    macro_rules! end_word {
        () => {
            if in_word {
                toks.push(Tok::Word(std::mem::take(&mut word)));
                in_word = false;
            }
        };
    }

    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' => {
                end_word!();
                i += 1;
            }
            '\n' | ';' => {
                end_word!();
                if c == ';' && chars.get(i + 1) == Some(&';') {
                    return Err(SyntaxError("';;'".into()));
                }
                toks.push(Tok::Semi);
                i += 1;
            }
            '#' if !in_word => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '&' => {
                end_word!();
                if chars.get(i + 1) == Some(&'&') {
                    toks.push(Tok::AndIf);
                    i += 2;
                } else {
                    // Background jobs run in the foreground here: same output, simpler.
                    toks.push(Tok::Semi);
                    i += 1;
                }
            }
            '|' => {
                end_word!();
                if chars.get(i + 1) == Some(&'|') {
                    toks.push(Tok::OrIf);
                    i += 2;
                } else {
                    toks.push(Tok::Pipe);
                    i += 1;
                }
            }
            '(' | ')' => {
                return Err(SyntaxError(format!("'{c}'")));
            }
            '!' if !in_word
                && matches!(chars.get(i + 1), Some(' ' | '\t'))
                && matches!(
                    toks.last(),
                    None | Some(Tok::Semi | Tok::AndIf | Tok::OrIf | Tok::Pipe)
                ) =>
            {
                toks.push(Tok::Bang);
                i += 1;
            }
            '>' | '<' => {
                // A single unquoted digit right before the operator names the fd.
                let fd = match (&word[..], in_word) {
                    ([Part::Bare(s)], true) if s.len() == 1 && s.as_bytes()[0].is_ascii_digit() => {
                        let fd = s.as_bytes()[0] - b'0';
                        word.clear();
                        in_word = false;
                        Some(fd)
                    }
                    _ => None,
                };
                end_word!();
                let mut j = i + 1;
                let op = if c == '<' {
                    RedirOp::Read
                } else if chars.get(j) == Some(&'>') {
                    j += 1;
                    RedirOp::Write { append: true }
                } else if chars.get(j) == Some(&'&')
                    && chars.get(j + 1).is_some_and(|d| d.is_ascii_digit())
                {
                    let d = chars[j + 1] as u8 - b'0';
                    j += 2;
                    RedirOp::Dup(d)
                } else {
                    if chars.get(j) == Some(&'|') {
                        j += 1;
                    }
                    RedirOp::Write { append: false }
                };
                let default_fd = if c == '<' { 0 } else { 1 };
                toks.push(Tok::Redir(fd.unwrap_or(default_fd), op));
                i = j;
            }
            '\'' => {
                in_word = true;
                let mut j = i + 1;
                let mut s = String::new();
                while j < chars.len() && chars[j] != '\'' {
                    s.push(chars[j]);
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(SyntaxError("unterminated '".into()));
                }
                word.push(Part::Quoted(s));
                i = j + 1;
            }
            '"' => {
                in_word = true;
                // An empty "" still makes a (quoted, empty) word.
                word.push(Part::Quoted(String::new()));
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(SyntaxError("unterminated \"".into())),
                        Some('"') => break,
                        Some('\\')
                            if matches!(chars.get(j + 1), Some('"' | '\\' | '$' | '`' | '\n')) =>
                        {
                            if chars[j + 1] != '\n' {
                                push_lit(&mut word, true, chars[j + 1]);
                            }
                            j += 2;
                        }
                        Some('$') => {
                            let (p, next) = dollar(&chars, j, true);
                            word.push(p);
                            j = next;
                        }
                        Some(&ch) => {
                            push_lit(&mut word, true, ch);
                            j += 1;
                        }
                    }
                }
                i = j + 1;
            }
            '\\' => {
                in_word = true;
                match chars.get(i + 1) {
                    Some('\n') => {}
                    Some(&n) => push_lit(&mut word, true, n),
                    None => push_lit(&mut word, true, '\\'),
                }
                i += 2;
            }
            '$' => {
                in_word = true;
                let (p, next) = dollar(&chars, i, false);
                word.push(p);
                i = next;
            }
            _ => {
                in_word = true;
                push_lit(&mut word, false, c);
                i += 1;
            }
        }
    }
    if in_word {
        toks.push(Tok::Word(word));
    }
    Ok(toks)
}

fn describe(t: &Tok) -> &'static str {
    match t {
        Tok::Semi => ";",
        Tok::AndIf => "&&",
        Tok::OrIf => "||",
        Tok::Pipe => "|",
        Tok::Bang => "!",
        Tok::Redir(..) => "newline",
        Tok::Word(_) => "word",
    }
}

/// Parses a whole command line.
pub fn parse(input: &str) -> Result<Script, SyntaxError> {
    let toks = lex(input)?;
    let mut script = Vec::new();
    let mut i = 0;
    let unexpected = |t: Option<&Tok>| SyntaxError(format!("'{}'", t.map_or("newline", describe)));

    let parse_pipeline = |i: &mut usize| -> Result<Pipeline, SyntaxError> {
        let mut p = Pipeline::default();
        if toks.get(*i) == Some(&Tok::Bang) {
            p.negate = true;
            *i += 1;
        }
        loop {
            let mut cmd = Simple::default();
            loop {
                match toks.get(*i) {
                    Some(Tok::Word(w)) => {
                        cmd.words.push(w.clone());
                        *i += 1;
                    }
                    Some(Tok::Redir(fd, op)) => {
                        let target = match (op, toks.get(*i + 1)) {
                            (RedirOp::Dup(_), _) => {
                                *i += 1;
                                Vec::new()
                            }
                            (_, Some(Tok::Word(w))) => {
                                *i += 2;
                                w.clone()
                            }
                            (_, t) => return Err(unexpected(t)),
                        };
                        cmd.redirs.push(Redir {
                            fd: *fd,
                            op: op.clone(),
                            target,
                        });
                    }
                    _ => break,
                }
            }
            if cmd.words.is_empty() && cmd.redirs.is_empty() {
                return Err(unexpected(toks.get(*i)));
            }
            p.cmds.push(cmd);
            if toks.get(*i) == Some(&Tok::Pipe) {
                *i += 1;
                continue;
            }
            return Ok(p);
        }
    };

    while i < toks.len() {
        if toks[i] == Tok::Semi {
            if script.is_empty() && i == 0 {
                return Err(unexpected(Some(&toks[i])));
            }
            i += 1;
            continue;
        }
        let first = parse_pipeline(&mut i)?;
        let mut rest = Vec::new();
        loop {
            let conn = match toks.get(i) {
                Some(Tok::AndIf) => Connector::And,
                Some(Tok::OrIf) => Connector::Or,
                _ => break,
            };
            i += 1;
            // mksh allows a newline after && / ||.
            while toks.get(i) == Some(&Tok::Semi) && input.contains('\n') {
                i += 1;
            }
            rest.push((conn, parse_pipeline(&mut i)?));
        }
        script.push(AndOr { first, rest });
        match toks.get(i) {
            None | Some(Tok::Semi) => {}
            t => return Err(unexpected(t)),
        }
    }
    Ok(script)
}

/// The literal text of a word with no expansion (for logging and command names).
pub fn plain(word: &Word) -> String {
    word.iter()
        .map(|p| match p {
            Part::Quoted(s) | Part::Bare(s) => s.clone(),
            Part::Var(n, _) => format!("${n}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Vec<String>> {
        parse(line)
            .unwrap()
            .iter()
            .flat_map(|ao| std::iter::once(&ao.first).chain(ao.rest.iter().map(|(_, p)| p)))
            .flat_map(|p| p.cmds.iter())
            .map(|c| c.words.iter().map(plain).collect())
            .collect()
    }

    #[test]
    fn quotes_escapes_and_separators() {
        assert_eq!(
            words(r#"ls -l '/sdcard/a b' "c\"d" e\ f; echo x&&true||false"#),
            vec![
                vec!["ls", "-l", "/sdcard/a b", "c\"d", "e f"],
                vec!["echo", "x"],
                vec!["true"],
                vec!["false"]
            ]
        );
        assert_eq!(words("echo 'it'\\''s'"), vec![vec!["echo", "it's"]]);
        assert_eq!(words("echo a#b # comment"), vec![vec!["echo", "a#b"]]);
        assert_eq!(words("echo \"\""), vec![vec!["echo", ""]]);
    }

    #[test]
    fn redirections_and_pipes() {
        let s = parse("ls /x 2>/dev/null | wc -l > '/sdcard/out file' 2>&1").unwrap();
        let p = &s[0].first;
        assert_eq!(p.cmds.len(), 2);
        assert_eq!(p.cmds[0].redirs[0].fd, 2);
        assert_eq!(plain(&p.cmds[0].redirs[0].target), "/dev/null");
        assert_eq!(p.cmds[1].redirs[0].op, RedirOp::Write { append: false });
        assert_eq!(p.cmds[1].redirs[1].op, RedirOp::Dup(1));
        assert_eq!(p.cmds[1].redirs[1].fd, 2);
    }

    #[test]
    fn variables_stay_unexpanded_until_run() {
        let s = parse("echo \"$HOME\" ${X}y $?").unwrap();
        let w = &s[0].first.cmds[0].words;
        assert_eq!(w[1][1], Part::Var("HOME".into(), true));
        assert_eq!(w[2][0], Part::Var("X".into(), false));
        assert_eq!(w[3][0], Part::Var("?".into(), false));
    }

    #[test]
    fn syntax_errors_do_not_panic() {
        for bad in [
            "'open", "\"open", "&& x", "x |", "x >", ";;", "( x )", "| x", "x && ;",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("").unwrap().is_empty());
        assert!(parse("  ;\n").is_err() || parse("  ;\n").unwrap().is_empty());
    }
}
