//! The phone's `/system/bin/sh`: runs a parsed command line ([`parse`]) against the
//! phone's state and file system, with toybox's messages and exit codes: builtins
//! (`exit`, `echo`, `cd`, `sh -c`, `test`…), pipes and redirections here, file commands
//! in [`files`], Android's own commands (getprop, dumpsys, pm, input, uiautomator…)
//! in [`system`].
//!
//! It runs synchronously under the phone's lock: waits (`sleep`, a slow dump) are added
//! up in [`Sh::delay`] and slept by the caller after the lock is released, and effects
//! that outlive the command (reboot) are queued in the phone state.

pub mod files;
pub mod parse;
pub mod system;

use std::collections::BTreeMap;
use std::time::Duration;

use parse::{AndOr, Connector, Part, Pipeline, RedirOp, Simple, Word};

use super::{Phone, State};

/// Output buffers of one command.
#[derive(Debug, Default)]
pub struct Io {
    pub stdin: Vec<u8>,
    pub out: Vec<u8>,
    pub err: Vec<u8>,
}

impl Io {
    pub fn outln(&mut self, s: impl AsRef<str>) {
        self.out.extend_from_slice(s.as_ref().as_bytes());
        self.out.push(b'\n');
    }
    pub fn errln(&mut self, s: impl AsRef<str>) {
        self.err.extend_from_slice(s.as_ref().as_bytes());
        self.err.push(b'\n');
    }
}

/// One running shell (a nested `sh -c` gets its own).
pub struct Sh<'a> {
    pub phone: &'a Phone,
    pub st: &'a mut State,
    pub cwd: String,
    pub vars: BTreeMap<String, String>,
    pub last: u8,
    /// Set by `exit`: stops the rest of the script.
    pub exit: Option<u8>,
    /// Time the command line takes on the phone (slept after the lock is released).
    pub delay: Duration,
    depth: u32,
}

/// Where fd 1 or 2 of a command goes.
#[derive(Debug, Clone, PartialEq)]
enum Sink {
    Out,
    Err,
    Null,
    File(String, bool),
}

const SH: &str = "/system/bin/sh";

impl<'a> Sh<'a> {
    pub fn new(phone: &'a Phone, st: &'a mut State) -> Sh<'a> {
        let mut vars = BTreeMap::new();
        for (k, v) in [
            ("HOME", "/"),
            (
                "PATH",
                "/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin",
            ),
            ("EXTERNAL_STORAGE", "/sdcard"),
            ("ANDROID_DATA", "/data"),
            ("ANDROID_ROOT", "/system"),
            ("USER", "shell"),
            ("HOSTNAME", "localhost"),
            ("TMPDIR", "/data/local/tmp"),
            ("SHELL", SH),
        ] {
            vars.insert(k.to_string(), v.to_string());
        }
        Sh {
            phone,
            st,
            cwd: "/".into(),
            vars,
            last: 0,
            exit: None,
            delay: Duration::ZERO,
            depth: 0,
        }
    }

    /// Runs a whole command line; returns the exit code.
    pub fn run_line(&mut self, line: &str, io: &mut Io) -> u8 {
        let script = match parse::parse(line) {
            Ok(s) => s,
            Err(e) => {
                io.errln(format!("{SH}: syntax error: {} unexpected", e.0));
                return 1;
            }
        };
        let stdin = std::mem::take(&mut io.stdin);
        for ao in &script {
            // Only the first pipeline gets the shell's stdin (it reads it to the end).
            let input = if std::ptr::eq(ao, &script[0]) {
                stdin.clone()
            } else {
                Vec::new()
            };
            self.last = self.and_or(ao, input, io);
            if let Some(code) = self.exit {
                return code;
            }
        }
        self.last
    }

    fn and_or(&mut self, ao: &AndOr, stdin: Vec<u8>, io: &mut Io) -> u8 {
        let mut code = self.pipeline(&ao.first, stdin, io);
        for (conn, p) in &ao.rest {
            if self.exit.is_some() {
                break;
            }
            let run = match conn {
                Connector::And => code == 0,
                Connector::Or => code != 0,
            };
            if run {
                self.last = code;
                code = self.pipeline(p, Vec::new(), io);
            }
        }
        code
    }

    fn pipeline(&mut self, p: &Pipeline, stdin: Vec<u8>, io: &mut Io) -> u8 {
        let mut data = stdin;
        let mut code = 0;
        let n = p.cmds.len();
        for (i, cmd) in p.cmds.iter().enumerate() {
            let mut sub = Io {
                stdin: std::mem::take(&mut data),
                ..Io::default()
            };
            code = self.simple(cmd, &mut sub);
            io.err.append(&mut sub.err);
            if i + 1 < n {
                data = sub.out;
            } else {
                io.out.append(&mut sub.out);
            }
            if self.exit.is_some() {
                break;
            }
        }
        if p.negate { u8::from(code == 0) } else { code }
    }

    /// Expands a word: variables, then globbing of unquoted `*`/`?` in the last component.
    fn expand(&self, word: &Word) -> Vec<String> {
        let mut text = String::new();
        let mut pattern = String::new();
        let mut glob = false;
        let mut any_quoted = false;
        for part in word {
            match part {
                Part::Quoted(s) => {
                    any_quoted = true;
                    text.push_str(s);
                    for c in s.chars() {
                        if matches!(c, '*' | '?' | '[' | '\\') {
                            pattern.push('\\');
                        }
                        pattern.push(c);
                    }
                }
                Part::Bare(s) => {
                    glob |= s.contains(['*', '?']);
                    text.push_str(s);
                    pattern.push_str(s);
                }
                Part::Var(name, quoted) => {
                    any_quoted |= quoted;
                    let v = match name.as_str() {
                        "?" => self.last.to_string(),
                        "$" => "4242".into(),
                        "#" => "0".into(),
                        "0" => SH.into(),
                        n => self.vars.get(n).cloned().unwrap_or_default(),
                    };
                    text.push_str(&v);
                    pattern.push_str(&v);
                }
            }
        }
        if glob {
            let matches = files::glob(self, &pattern);
            if !matches.is_empty() {
                return matches;
            }
        }
        if text.is_empty() && !any_quoted {
            return Vec::new();
        }
        vec![text]
    }

    fn simple(&mut self, cmd: &Simple, io: &mut Io) -> u8 {
        let mut argv: Vec<String> = Vec::new();
        for w in &cmd.words {
            argv.extend(self.expand(w));
        }
        // `NAME=value cmd` and plain assignments.
        while let Some(first) = argv.first() {
            match first.split_once('=') {
                Some((k, v)) if !k.is_empty() && k.chars().all(parse_name_char) => {
                    self.vars.insert(k.to_string(), v.to_string());
                    argv.remove(0);
                }
                _ => break,
            }
        }
        let mut out_sink = Sink::Out;
        let mut err_sink = Sink::Err;
        for r in &cmd.redirs {
            let target = self.expand(&r.target).join(" ");
            let sink = match &r.op {
                RedirOp::Read => {
                    match files::read_for_shell(self, &target) {
                        Ok(data) => io.stdin = data,
                        Err(msg) => {
                            io.errln(format!("{SH}: can't open {target}: {msg}"));
                            return 1;
                        }
                    }
                    continue;
                }
                RedirOp::Dup(2) => err_sink.clone(),
                RedirOp::Dup(_) => out_sink.clone(),
                RedirOp::Write { append } => match target.as_str() {
                    "/dev/null" => Sink::Null,
                    "/dev/tty" | "/dev/stdout" => Sink::Out,
                    "/dev/stderr" => Sink::Err,
                    _ => match files::prepare_write(self, &target, *append) {
                        Ok(()) => Sink::File(target, true),
                        Err(msg) => {
                            io.errln(format!("{SH}: can't create {target}: {msg}"));
                            return 1;
                        }
                    },
                },
            };
            match r.fd {
                2 => err_sink = sink,
                _ => out_sink = sink,
            }
        }
        let mut sub = Io {
            stdin: std::mem::take(&mut io.stdin),
            ..Io::default()
        };
        let code = if argv.is_empty() {
            0
        } else {
            self.dispatch(&argv, &mut sub)
        };
        for (data, sink) in [(sub.out, &out_sink), (sub.err, &err_sink)] {
            match sink {
                Sink::Out => io.out.extend_from_slice(&data),
                Sink::Err => io.err.extend_from_slice(&data),
                Sink::Null => {}
                Sink::File(path, _) => {
                    if let Err(msg) = files::append_for_shell(self, path, &data) {
                        io.errln(format!("{SH}: can't create {path}: {msg}"));
                    }
                }
            }
        }
        code
    }

    /// Runs one command with its expanded arguments.
    pub fn dispatch(&mut self, argv: &[String], io: &mut Io) -> u8 {
        let full = argv[0].as_str();
        // /system/bin/ls and friends are the same toybox applets.
        let name = ["/system/bin/", "/system/xbin/", "/vendor/bin/", "/bin/"]
            .iter()
            .find_map(|d| full.strip_prefix(d))
            .unwrap_or(full);
        let args = &argv[1..];
        match name {
            "exit" => {
                let code = match args.first() {
                    None => self.last,
                    Some(a) => match a.parse::<i64>() {
                        Ok(n) => (n & 0xff) as u8,
                        Err(_) => {
                            io.errln(format!("{SH}: exit: {a}: bad number"));
                            1
                        }
                    },
                };
                self.exit = Some(code);
                code
            }
            "true" | ":" => 0,
            "false" => 1,
            "echo" => echo(args, io),
            "printf" => printf(args, io),
            "cd" => {
                let target = args.first().map(String::as_str).unwrap_or("/");
                let canon = self.phone.fs.canonical(&self.cwd, target);
                if self.phone.fs.host(&self.cwd, target).is_dir() {
                    if self.phone.fs.readable(&canon) {
                        self.cwd = canon;
                        0
                    } else {
                        io.errln(format!("{SH}: cd: {target}: Permission denied"));
                        2
                    }
                } else {
                    io.errln(format!("{SH}: cd: {target}: No such file or directory"));
                    2
                }
            }
            "pwd" => {
                io.outln(&self.cwd);
                0
            }
            "export" | "unset" | "set" | "trap" | "ulimit" | "umask" => 0,
            "sh" | "mksh" => self.sh(args, io),
            "test" | "[" => files::test(self, name, args, io),
            "sleep" => {
                let secs: f64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(0.0);
                if secs.is_finite() && secs > 0.0 {
                    self.delay += Duration::from_secs_f64(secs.min(3600.0));
                }
                0
            }
            "which" | "command" => {
                let mut code = 0;
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    if known(a) {
                        io.outln(format!("/system/bin/{a}"));
                    } else {
                        code = 1;
                    }
                }
                code
            }
            _ => {
                if let Some(code) = files::run(self, name, args, io) {
                    return code;
                }
                if let Some(code) = system::run(self, name, args, io) {
                    return code;
                }
                io.errln(format!("{SH}: {full}: inaccessible or not found"));
                127
            }
        }
    }

    fn sh(&mut self, args: &[String], io: &mut Io) -> u8 {
        if self.depth > 16 {
            io.errln(format!("{SH}: too deeply nested"));
            return 1;
        }
        let script = match args.first().map(String::as_str) {
            Some("-c") => match args.get(1) {
                Some(s) => s.clone(),
                None => {
                    io.errln(format!("{SH}: -c: option requires an argument"));
                    return 1;
                }
            },
            Some(file) => match files::read_for_shell(self, file) {
                Ok(data) => String::from_utf8_lossy(&data).into_owned(),
                Err(msg) => {
                    io.errln(format!("{SH}: {file}: {msg}"));
                    return 127;
                }
            },
            None => String::from_utf8_lossy(&std::mem::take(&mut io.stdin)).into_owned(),
        };
        let mut inner = Sh {
            phone: self.phone,
            st: &mut *self.st,
            cwd: self.cwd.clone(),
            vars: self.vars.clone(),
            last: 0,
            exit: None,
            delay: Duration::ZERO,
            depth: self.depth + 1,
        };
        let code = inner.run_line(&script, io);
        let delay = inner.delay;
        self.delay += delay;
        code
    }
}

fn parse_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether NAME is a command this shell knows (for `which`).
fn known(name: &str) -> bool {
    files::NAMES.contains(&name) || system::NAMES.contains(&name)
}

/// Interprets `\n`, `\t`, `\\`, `\c` as toybox `echo -e` and `printf` do; returns the
/// text and whether `\c` asked to stop output.
fn unescape(s: &str) -> (String, bool) {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('0') => out.push('\0'),
            Some('c') => return (out, true),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    (out, false)
}

fn echo(args: &[String], io: &mut Io) -> u8 {
    let mut newline = true;
    let mut escapes = false;
    let mut rest = args;
    while let Some(first) = rest.first() {
        match first.as_str() {
            "-n" => newline = false,
            "-e" => escapes = true,
            "-E" => escapes = false,
            "-ne" | "-en" => {
                newline = false;
                escapes = true;
            }
            _ => break,
        }
        rest = &rest[1..];
    }
    let mut text = rest.join(" ");
    if escapes {
        let (t, stop) = unescape(&text);
        text = t;
        if stop {
            newline = false;
        }
    }
    io.out.extend_from_slice(text.as_bytes());
    if newline {
        io.out.push(b'\n');
    }
    0
}

/// `printf FORMAT ARGS…` with %s, %d, %% and escapes; the format repeats while
/// arguments remain, as in POSIX.
fn printf(args: &[String], io: &mut Io) -> u8 {
    let Some(fmt) = args.first() else {
        io.errln("printf: Needs 1 argument");
        return 1;
    };
    let (fmt, _) = unescape(fmt);
    let mut rest = args[1..].iter();
    loop {
        let mut consumed = false;
        let mut chars = fmt.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                io.out
                    .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            match chars.next() {
                Some('%') => io.out.push(b'%'),
                Some('s') | Some('d') | Some('b') => {
                    consumed = true;
                    let v = rest.next().map(String::as_str).unwrap_or("");
                    io.out.extend_from_slice(v.as_bytes());
                }
                Some(o) => {
                    io.out.push(b'%');
                    io.out
                        .extend_from_slice(o.encode_utf8(&mut [0; 4]).as_bytes());
                }
                None => io.out.push(b'%'),
            }
        }
        if !consumed || rest.len() == 0 {
            return 0;
        }
    }
}
