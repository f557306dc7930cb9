//! Toybox's file applets as a backup tool meets them on a phone: ls, cat, find, stat,
//! sha256sum/md5sum/sha1sum, df, rm, mkdir, touch, mv, cp, wc, head, tail, grep, test,
//! with toybox's message formats (`ls: /x: No such file or directory`, exit 1) and the
//! phone's access rules (Android/data unreadable, only shared storage and
//! /data/local/tmp writable). Also the shell's globbing and redirection targets.

use std::fs::{self, Metadata};
use std::io::{self, Read};
#[cfg(unix)]
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::Digest;

use super::{Io, Sh};
use crate::sim::phone::fs::{PRIMARY, TMP};
use crate::sim::phone::tree;

pub const NAMES: &[&str] = &[
    "ls",
    "cat",
    "find",
    "stat",
    "sha256sum",
    "md5sum",
    "sha1sum",
    "df",
    "rm",
    "rmdir",
    "mkdir",
    "touch",
    "mv",
    "cp",
    "wc",
    "head",
    "tail",
    "grep",
    "basename",
    "dirname",
    "realpath",
    "readlink",
];

/// toybox's text for an errno.
pub fn errstr(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(2) => "No such file or directory".into(),
        Some(13) | Some(1) => "Permission denied".into(),
        Some(17) => "File exists".into(),
        Some(20) => "Not a directory".into(),
        Some(21) => "Is a directory".into(),
        Some(28) => "No space left on device".into(),
        Some(30) => "Read-only file system".into(),
        Some(39) => "Directory not empty".into(),
        _ => match e.kind() {
            io::ErrorKind::NotFound => "No such file or directory".into(),
            io::ErrorKind::PermissionDenied => "Permission denied".into(),
            _ => e.to_string(),
        },
    }
}

const ENOENT: &str = "No such file or directory";
const EACCES: &str = "Permission denied";
const EROFS: &str = "Read-only file system";

/// A path typed on the command line, resolved.
struct P {
    canon: String,
    host: PathBuf,
}

fn at(sh: &Sh, path: &str) -> P {
    P {
        canon: sh.phone.fs.canonical(&sh.cwd, path),
        host: sh.phone.fs.host(&sh.cwd, path),
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// Splits `-abc` style flags from operands (`--` ends flags; a lone `-` is an operand).
fn flags(args: &[String]) -> (String, Vec<String>) {
    let mut f = String::new();
    let mut ops = Vec::new();
    let mut done = false;
    for a in args {
        if !done && a == "--" {
            done = true;
        } else if !done && a.len() > 1 && a.starts_with('-') {
            f.push_str(&a[1..]);
        } else {
            ops.push(a.clone());
        }
    }
    (f, ops)
}

/// Reads a file for the shell (`<` redirection, `sh FILE`), applying the access rules.
pub fn read_for_shell(sh: &Sh, path: &str) -> Result<Vec<u8>, String> {
    let p = at(sh, path);
    if !sh.phone.fs.readable(&p.canon) {
        return Err(EACCES.into());
    }
    if p.host.is_dir() {
        return Err("Is a directory".into());
    }
    fs::read(&p.host).map_err(|e| errstr(&e))
}

/// Creates or truncates the target of `>` (or checks it for `>>`).
pub fn prepare_write(sh: &Sh, path: &str, append: bool) -> Result<(), String> {
    let p = at(sh, path);
    check_writable(sh, &p)?;
    let mut o = fs::OpenOptions::new();
    o.create(true).write(true);
    if append {
        o.append(true);
    } else {
        o.truncate(true);
    }
    o.open(&p.host).map(|_| ()).map_err(|e| errstr(&e))
}

pub fn append_for_shell(sh: &Sh, path: &str, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let p = at(sh, path);
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&p.host)
        .map_err(|e| errstr(&e))?;
    f.write_all(data).map_err(|e| errstr(&e))
}

fn check_writable(sh: &Sh, p: &P) -> Result<(), String> {
    if sh.phone.fs.writable(&p.canon) {
        Ok(())
    } else if p.canon.starts_with(PRIMARY) || p.canon.starts_with("/data") {
        Err(EACCES.into())
    } else {
        Err(EROFS.into())
    }
}

/// Shell glob: wildcards in the last path component only (what tools send).
pub fn glob(sh: &Sh, pattern: &str) -> Vec<String> {
    let (dir, pat) = match pattern.rfind('/') {
        Some(i) => (&pattern[..=i], &pattern[i + 1..]),
        None => ("", pattern),
    };
    if dir.contains(['*', '?']) {
        return Vec::new();
    }
    let dir_plain = dir.replace('\\', "");
    let p = at(
        sh,
        if dir_plain.is_empty() {
            "."
        } else {
            &dir_plain
        },
    );
    if !sh.phone.fs.readable(&p.canon) {
        return Vec::new();
    }
    let Ok(rd) = fs::read_dir(&p.host) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| (pat.starts_with('.') || !n.starts_with('.')) && wildmatch(pat, n))
        .map(|n| format!("{dir_plain}{n}"))
        .collect();
    out.sort();
    out
}

/// `*`, `?` and `\` escapes.
pub fn wildmatch(pat: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| go(&p[1..], &n[i..])),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..]),
            Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && go(&p[2..], &n[1..]),
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

pub fn run(sh: &mut Sh, name: &str, args: &[String], io: &mut Io) -> Option<u8> {
    Some(match name {
        "ls" => ls(sh, args, io),
        "cat" => cat(sh, args, io),
        "find" => find(sh, args, io),
        "stat" => stat(sh, args, io),
        "sha256sum" | "md5sum" | "sha1sum" => sum(sh, name, args, io),
        "df" => df(sh, args, io),
        "rm" => rm(sh, args, io),
        "rmdir" => rmdir(sh, args, io),
        "mkdir" => mkdir(sh, args, io),
        "touch" => touch(sh, args, io),
        "mv" | "cp" => mv_cp(sh, name, args, io),
        "wc" => wc(sh, args, io),
        "head" | "tail" => head_tail(sh, name, args, io),
        "grep" => grep(sh, args, io),
        "basename" => {
            let a = args.first().map(String::as_str).unwrap_or("");
            io.outln(a.trim_end_matches('/').rsplit('/').next().unwrap_or(""));
            0
        }
        "dirname" => {
            let a = args.first().map(String::as_str).unwrap_or("");
            let d = match a.trim_end_matches('/').rfind('/') {
                Some(0) => "/",
                Some(i) => &a[..i],
                None => ".",
            };
            io.outln(d);
            0
        }
        "realpath" | "readlink" => {
            let (f, ops) = flags(args);
            let mut code = 0;
            for a in &ops {
                let p = at(sh, a);
                if name == "readlink" && !f.contains('f') {
                    match fs::read_link(&p.host) {
                        Ok(t) => io.outln(t.to_string_lossy()),
                        Err(_) => code = 1,
                    }
                } else {
                    io.outln(p.canon);
                }
            }
            code
        }
        _ => return None,
    })
}

/// Reads operands (or stdin when there are none, or for `-`) and calls F per input.
/// Errors are printed as `NAME: PATH: reason`; returns 1 if any input failed.
fn each_input(
    sh: &Sh,
    cmd: &str,
    ops: &[String],
    io: &mut Io,
    mut f: impl FnMut(&str, &mut dyn Read, &mut Io),
) -> u8 {
    let mut code = 0;
    if ops.is_empty() {
        let stdin = std::mem::take(&mut io.stdin);
        f("-", &mut &stdin[..], io);
        return 0;
    }
    for op in ops {
        if op == "-" {
            let stdin = std::mem::take(&mut io.stdin);
            f("-", &mut &stdin[..], io);
            continue;
        }
        let p = at(sh, op);
        if !sh.phone.fs.readable(&p.canon) {
            io.errln(format!("{cmd}: {op}: {EACCES}"));
            code = 1;
            continue;
        }
        match fs::metadata(&p.host) {
            Ok(m) if m.is_dir() => {
                io.errln(format!("{cmd}: {op}: Is a directory"));
                code = 1;
            }
            Ok(_) => match fs::File::open(&p.host) {
                Ok(mut file) => f(op, &mut file, io),
                Err(e) => {
                    io.errln(format!("{cmd}: {op}: {}", errstr(&e)));
                    code = 1;
                }
            },
            Err(e) => {
                io.errln(format!("{cmd}: {op}: {}", errstr(&e)));
                code = 1;
            }
        }
    }
    code
}

fn cat(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let (_, ops) = flags(args);
    each_input(sh, "cat", &ops, io, |_, r, io| {
        let _ = r.read_to_end(&mut io.out);
    })
}

fn sum(sh: &mut Sh, name: &str, args: &[String], io: &mut Io) -> u8 {
    let (_, ops) = flags(args);
    fn digest<D: Digest>(r: &mut dyn Read) -> io::Result<String> {
        let mut h = D::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        Ok(hex::encode(h.finalize()))
    }
    let mut failed = false;
    let code = each_input(sh, name, &ops, io, |op, r, io| {
        let res = match name {
            "md5sum" => digest::<md5::Md5>(r),
            "sha1sum" => digest::<sha1::Sha1>(r),
            _ => digest::<sha2::Sha256>(r),
        };
        match res {
            Ok(h) => io.outln(format!("{h}  {op}")),
            Err(e) => {
                io.errln(format!("{name}: {op}: {}", errstr(&e)));
                failed = true;
            }
        }
    });
    if failed { 1 } else { code }
}

#[derive(Clone)]
struct Entry {
    name: String,
    /// Display path (as typed + components).
    shown: String,
    canon: String,
    host: PathBuf,
    meta: Metadata,
}

fn entry(sh: &Sh, shown: &str, name: &str) -> io::Result<Entry> {
    let p = at(sh, shown);
    let meta = fs::symlink_metadata(&p.host)?;
    Ok(Entry {
        name: name.to_string(),
        shown: shown.to_string(),
        canon: p.canon,
        host: p.host,
        meta,
    })
}

fn children(sh: &Sh, dir: &Entry) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for e in fs::read_dir(&dir.host)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let meta = match fs::symlink_metadata(e.path()) {
            Ok(m) => m,
            Err(_) => continue,
        };
        out.push(Entry {
            shown: join(&dir.shown, &name),
            canon: join(&dir.canon, &name),
            host: e.path(),
            name,
            meta,
        });
    }
    let _ = sh;
    Ok(out)
}

fn mode_string(sh: &Sh, e: &Entry) -> (String, u32) {
    let ft = e.meta.file_type();
    let kind = if ft.is_symlink() {
        'l'
    } else if ft.is_dir() {
        'd'
    } else {
        '-'
    };
    // Shared storage looks like Android's FUSE view whatever the host's permissions are.
    let bits: u32 = if ft.is_symlink() {
        0o777
    } else if e.canon.starts_with(PRIMARY) {
        if ft.is_dir() { 0o2771 } else { 0o660 }
    } else {
        host_mode(&e.meta) & 0o7777
    };
    let _ = sh;
    let mut s = String::new();
    s.push(kind);
    for (i, c) in ['r', 'w', 'x', 'r', 'w', 'x', 'r', 'w', 'x']
        .iter()
        .enumerate()
    {
        let bit = 1 << (8 - i);
        let set = bits & bit != 0;
        let ch = if i == 5 && bits & 0o2000 != 0 {
            if set { 's' } else { 'S' }
        } else if set {
            *c
        } else {
            '-'
        };
        s.push(ch);
    }
    (s, bits)
}

#[cfg(unix)]
fn host_mode(m: &Metadata) -> u32 {
    m.permissions().mode()
}
#[cfg(not(unix))]
fn host_mode(m: &Metadata) -> u32 {
    if m.is_dir() { 0o755 } else { 0o644 }
}

fn owner(e: &Entry) -> (&'static str, &'static str, u32, u32) {
    if e.canon.starts_with(PRIMARY) {
        ("u0_a159", "media_rw", 10159, 1023)
    } else if e.canon.starts_with(TMP) {
        ("shell", "shell", 2000, 2000)
    } else {
        ("root", "root", 0, 0)
    }
}

fn nlink(e: &Entry) -> u64 {
    #[cfg(unix)]
    {
        e.meta.nlink()
    }
    #[cfg(not(unix))]
    {
        1
    }
}

fn fmt_time(secs: i64, fmt: &str) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.format(fmt).to_string())
        .unwrap_or_default()
}

fn size_of(e: &Entry) -> u64 {
    if e.meta.is_dir() { 3452 } else { e.meta.len() }
}

fn ls_long(sh: &Sh, entries: &[Entry], io: &mut Io) {
    let w_size = entries
        .iter()
        .map(|e| size_of(e).to_string().len())
        .max()
        .unwrap_or(1);
    let w_link = entries
        .iter()
        .map(|e| nlink(e).to_string().len())
        .max()
        .unwrap_or(1);
    for e in entries {
        let (mode, _) = mode_string(sh, e);
        let (u, g, _, _) = owner(e);
        let mut line = format!(
            "{mode} {:>w_link$} {u} {g} {:>w_size$} {} {}",
            nlink(e),
            size_of(e),
            fmt_time(tree::mtime_secs(&e.meta), "%Y-%m-%d %H:%M"),
            e.name
        );
        if e.meta.file_type().is_symlink() {
            if let Ok(t) = fs::read_link(&e.host) {
                line.push_str(&format!(" -> {}", t.to_string_lossy()));
            }
        }
        io.outln(line);
    }
}

fn ls(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let (f, mut ops) = flags(args);
    for c in f.chars() {
        if !"laAR1dhnstrcu".contains(c) {
            io.errln(format!("ls: Unknown option '{c}'"));
            return 1;
        }
    }
    let long = f.contains('l') || f.contains('n');
    let all = f.contains('a');
    let almost = f.contains('A');
    let recurse = f.contains('R');
    let dir_itself = f.contains('d');
    if ops.is_empty() {
        ops.push(".".into());
    }
    let mut code = 0;
    let mut files = Vec::new();
    let mut dirs = Vec::new();
    for op in &ops {
        match entry(sh, op, op) {
            Ok(e) => {
                // `ls /sdcard` lists the folder the alias points to.
                let is_dir = fs::metadata(&e.host).is_ok_and(|m| m.is_dir());
                if is_dir && !dir_itself {
                    dirs.push(e);
                } else {
                    files.push(e);
                }
            }
            Err(err) => {
                io.errln(format!("ls: {op}: {}", errstr(&err)));
                code = 1;
            }
        }
    }
    if long {
        ls_long(sh, &files, io);
    } else {
        for e in &files {
            io.outln(&e.name);
        }
    }
    let headers = ops.len() > 1 || recurse;
    let mut first = files.is_empty();
    let mut queue: Vec<Entry> = dirs;
    queue.sort_by(|a, b| a.shown.cmp(&b.shown));
    let mut idx = 0;
    while idx < queue.len() {
        let d = queue[idx].clone();
        idx += 1;
        if !first {
            io.outln("");
        }
        first = false;
        if headers {
            io.outln(format!("{}:", d.shown));
        }
        if !sh.phone.fs.readable(&d.canon) {
            io.errln(format!("ls: {}: {EACCES}", d.shown));
            code = 1;
            continue;
        }
        let mut kids = match children(sh, &d) {
            Ok(k) => k,
            Err(err) => {
                io.errln(format!("ls: {}: {}", d.shown, errstr(&err)));
                code = 1;
                continue;
            }
        };
        kids.retain(|k| all || almost || !k.name.starts_with('.'));
        kids.sort_by(|a, b| a.name.cmp(&b.name));
        let mut shown = kids.clone();
        if all {
            if let (Ok(dot), Ok(dotdot)) = (
                entry(sh, &d.shown, "."),
                entry(sh, &join(&d.shown, ".."), ".."),
            ) {
                shown.insert(0, dotdot);
                shown.insert(0, dot);
            }
        }
        if long {
            let blocks: u64 = shown.iter().map(|e| size_of(e).div_ceil(4096) * 4).sum();
            io.outln(format!("total {blocks}"));
            ls_long(sh, &shown, io);
        } else {
            for e in &shown {
                io.outln(&e.name);
            }
        }
        if recurse {
            // Depth-first like toybox: this directory's subfolders come next.
            let subs: Vec<Entry> = kids.into_iter().filter(|k| k.meta.is_dir()).collect();
            for (n, s) in subs.into_iter().enumerate() {
                queue.insert(idx + n, s);
            }
        }
    }
    code
}

#[derive(Debug)]
enum Pred {
    Type(char),
    Name(String, bool),
    Newer(i64),
    MaxDepth(usize),
    MinDepth(usize),
    Print0,
    Size(char, u64),
}

fn find(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let mut roots = Vec::new();
    let mut i = 0;
    while i < args.len() && !args[i].starts_with('-') && args[i] != "!" && args[i] != "(" {
        roots.push(args[i].clone());
        i += 1;
    }
    if roots.is_empty() {
        roots.push(".".into());
    }
    let mut preds = Vec::new();
    while i < args.len() {
        let a = args[i].as_str();
        let val = args.get(i + 1).cloned();
        let need = |io: &mut Io| {
            io.errln(format!("find: '{a}' needs 1 arg"));
        };
        match a {
            "-print" => {}
            "-print0" => preds.push(Pred::Print0),
            "-type" | "-name" | "-iname" | "-newer" | "-maxdepth" | "-mindepth" | "-size" => {
                let Some(v) = val else {
                    need(io);
                    return 1;
                };
                i += 1;
                match a {
                    "-type" => match v.as_str() {
                        "f" | "d" | "l" => preds.push(Pred::Type(v.chars().next().unwrap_or('f'))),
                        _ => {
                            io.errln(format!("find: bad -type '{v}'"));
                            return 1;
                        }
                    },
                    "-name" => preds.push(Pred::Name(v, false)),
                    "-iname" => preds.push(Pred::Name(v.to_lowercase(), true)),
                    "-newer" => {
                        let p = at(sh, &v);
                        match fs::metadata(&p.host) {
                            Ok(m) => preds.push(Pred::Newer(tree::mtime_secs(&m))),
                            Err(e) => {
                                io.errln(format!("find: '{v}': {}", errstr(&e)));
                                return 1;
                            }
                        }
                    }
                    "-size" => {
                        let (cmp, num) = match v.chars().next() {
                            Some(c @ ('+' | '-')) => (c, &v[1..]),
                            _ => ('=', v.as_str()),
                        };
                        let (digits, mult) = match num.chars().last() {
                            Some('c') => (&num[..num.len() - 1], 1),
                            Some('k') => (&num[..num.len() - 1], 1024),
                            Some('M') => (&num[..num.len() - 1], 1 << 20),
                            _ => (num, 512),
                        };
                        match digits.parse::<u64>() {
                            Ok(n) => preds.push(Pred::Size(cmp, n * mult)),
                            Err(_) => {
                                io.errln(format!("find: bad -size '{v}'"));
                                return 1;
                            }
                        }
                    }
                    _ => match v.parse::<usize>() {
                        Ok(n) if a == "-maxdepth" => preds.push(Pred::MaxDepth(n)),
                        Ok(n) => preds.push(Pred::MinDepth(n)),
                        Err(_) => {
                            io.errln(format!("find: bad {a} '{v}'"));
                            return 1;
                        }
                    },
                }
            }
            _ => {
                io.errln(format!("find: Unknown option '{a}'"));
                return 1;
            }
        }
        i += 1;
    }
    let max = preds.iter().find_map(|p| match p {
        Pred::MaxDepth(n) => Some(*n),
        _ => None,
    });
    let min = preds
        .iter()
        .find_map(|p| match p {
            Pred::MinDepth(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0);
    let print0 = preds.iter().any(|p| matches!(p, Pred::Print0));
    let matches = |e: &Entry| {
        preds.iter().all(|p| match p {
            Pred::Type('f') => e.meta.file_type().is_file(),
            Pred::Type('d') => e.meta.file_type().is_dir(),
            Pred::Type(_) => e.meta.file_type().is_symlink(),
            Pred::Name(pat, ci) => {
                let n = if *ci {
                    e.name.to_lowercase()
                } else {
                    e.name.clone()
                };
                wildmatch(pat, &n)
            }
            Pred::Newer(t) => tree::mtime_secs(&e.meta) > *t,
            Pred::Size(c, n) => match c {
                '+' => e.meta.len() > *n,
                '-' => e.meta.len() < *n,
                _ => e.meta.len() == *n,
            },
            _ => true,
        })
    };
    let mut code = 0;
    for root in &roots {
        let top = match entry(
            sh,
            root,
            root.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(root),
        ) {
            Ok(e) => e,
            Err(e) => {
                io.errln(format!("find: {root}: {}", errstr(&e)));
                code = 1;
                continue;
            }
        };
        // The root is followed if it is a symlink (e.g. /sdcard on a real phone).
        let mut stack = vec![(top, 0usize)];
        while let Some((e, depth)) = stack.pop() {
            if depth >= min && matches(&e) {
                io.out.extend_from_slice(e.shown.as_bytes());
                io.out.push(if print0 { 0 } else { b'\n' });
            }
            let is_dir = if depth == 0 {
                fs::metadata(&e.host).is_ok_and(|m| m.is_dir())
            } else {
                e.meta.is_dir()
            };
            if !is_dir || max.is_some_and(|m| depth >= m) {
                continue;
            }
            if !sh.phone.fs.readable(&e.canon) {
                io.errln(format!("find: {}: {EACCES}", e.shown));
                code = 1;
                continue;
            }
            match children(sh, &e) {
                Ok(kids) => {
                    // Readdir order, as toybox: a tool must not rely on sorted output.
                    for k in kids.into_iter().rev() {
                        stack.push((k, depth + 1));
                    }
                }
                Err(err) => {
                    io.errln(format!("find: {}: {}", e.shown, errstr(&err)));
                    code = 1;
                }
            }
        }
    }
    code
}

fn file_type(e: &Entry) -> &'static str {
    let ft = e.meta.file_type();
    if ft.is_symlink() {
        "symbolic link"
    } else if ft.is_dir() {
        "directory"
    } else if e.meta.len() == 0 {
        "regular empty file"
    } else {
        "regular file"
    }
}

fn stat(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let mut format: Option<String> = None;
    let mut follow = false;
    let mut ops = Vec::new();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "-c" | "--format" => {
                format = args.get(i + 1).cloned();
                i += 1;
            }
            "-L" => follow = true,
            "-t" => format = Some("%n %s %b %f %u %g %D %i %h %t %T %X %Y %Z %o".into()),
            a => ops.push(a.to_string()),
        }
        i += 1;
    }
    if ops.is_empty() {
        io.errln("stat: Needs 1 argument");
        return 1;
    }
    let mut code = 0;
    for op in &ops {
        let mut e = match entry(sh, op, op) {
            Ok(e) => e,
            Err(err) => {
                io.errln(format!("stat: '{op}': {}", errstr(&err)));
                code = 1;
                continue;
            }
        };
        if follow {
            if let Ok(m) = fs::metadata(&e.host) {
                e.meta = m;
            }
        }
        let (mode_s, bits) = mode_string(sh, &e);
        let (u, g, uid, gid) = owner(&e);
        let mtime = tree::mtime_secs(&e.meta);
        let human = fmt_time(mtime, "%Y-%m-%d %H:%M:%S.000000000 +0000");
        let blocks = e.meta.len().div_ceil(512);
        #[cfg(unix)]
        let ino = e.meta.ino();
        #[cfg(not(unix))]
        let ino = 0u64;
        let Some(fmt) = &format else {
            io.outln(format!(
                "  File: {}\n  Size: {}\t Blocks: {blocks}\t IO Blocks: 4096\t{}\nDevice: 1fh/31d\t Inode: {ino}\t Links: {}\nAccess: (0{:o}/{mode_s})\tUid: ({uid:>5}/{u:>8})\tGid: ({gid:>5}/{g:>8})\nAccess: {human}\nModify: {human}\nChange: {human}",
                e.shown,
                size_of(&e),
                file_type(&e),
                nlink(&e),
                bits & 0o7777
            ));
            continue;
        };
        let mut out = String::new();
        let mut chars = fmt.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('s') => out.push_str(&size_of(&e).to_string()),
                Some('Y') | Some('X') | Some('Z') => out.push_str(&mtime.to_string()),
                Some('y') | Some('x') | Some('z') => out.push_str(&human),
                Some('n') => out.push_str(&e.shown),
                Some('N') => out.push_str(&format!("'{}'", e.shown)),
                Some('F') => out.push_str(file_type(&e)),
                Some('a') => out.push_str(&format!("{:o}", bits & 0o7777)),
                Some('A') => out.push_str(&mode_s),
                Some('f') => out.push_str(&format!("{:x}", bits)),
                Some('u') => out.push_str(&uid.to_string()),
                Some('g') => out.push_str(&gid.to_string()),
                Some('U') => out.push_str(u),
                Some('G') => out.push_str(g),
                Some('b') => out.push_str(&blocks.to_string()),
                Some('B') => out.push_str("512"),
                Some('i') => out.push_str(&ino.to_string()),
                Some('h') => out.push_str(&nlink(&e).to_string()),
                Some('o') => out.push_str("4096"),
                Some('%') => out.push('%'),
                Some(o) => {
                    out.push('%');
                    out.push(o);
                }
                None => out.push('%'),
            }
        }
        io.outln(out);
    }
    code
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            match fs::symlink_metadata(e.path()) {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn human(bytes: u64) -> String {
    let units = ["", "K", "M", "G", "T"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes}")
    } else if v < 10.0 {
        format!("{v:.1}{}", units[u])
    } else {
        format!("{v:.0}{}", units[u])
    }
}

fn df(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let (f, ops) = flags(args);
    let h = f.contains('h');
    let total = sh.phone.profile.storage_gb * 1_000_000_000;
    let base_used = total / 5;
    let used = base_used + dir_bytes(&sh.phone.fs.primary()) + dir_bytes(&sh.phone.fs.tmp());
    let rows: Vec<(&str, u64, u64, &str)> = vec![
        ("/dev/block/dm-5", 4_318_032_896, 4_318_032_896, "/"),
        ("tmpfs", 5_851_566_080, 1_675_264, "/dev"),
        ("tmpfs", 5_851_566_080, 0, "/mnt"),
        (
            "/dev/block/dm-6",
            1_432_354_816,
            1_432_354_816,
            "/system_ext",
        ),
        ("/dev/block/dm-7", 3_217_031_168, 3_217_031_168, "/product"),
        ("/dev/block/dm-8", 1_046_888_448, 1_046_888_448, "/vendor"),
        ("/dev/block/dm-58", total, used, "/data"),
        ("/dev/fuse", total, used, "/storage/emulated"),
    ];
    let selected: Vec<_> = if ops.is_empty() {
        rows
    } else {
        let mut sel = Vec::new();
        for op in &ops {
            let p = at(sh, op);
            if !p.host.exists() {
                io.errln(format!("df: {op}: {ENOENT}"));
                continue;
            }
            if let Some(r) = rows
                .iter()
                .filter(|r| {
                    r.3 == "/" || p.canon == r.3 || p.canon.starts_with(&format!("{}/", r.3))
                })
                .max_by_key(|r| r.3.len())
            {
                sel.push(*r);
            }
        }
        if sel.is_empty() {
            return 1;
        }
        sel
    };
    if h {
        io.outln("Filesystem        Size Used Avail Use% Mounted on");
    } else {
        io.outln("Filesystem       1K-blocks     Used Available Use% Mounted on");
    }
    for (fsname, size, used, mnt) in selected {
        let avail = size.saturating_sub(used);
        let pct = if size == 0 {
            0
        } else {
            (used * 100).div_ceil(size)
        };
        if h {
            io.outln(format!(
                "{fsname:<16} {:>5} {:>4} {:>5} {pct:>3}% {mnt}",
                human(size),
                human(used),
                human(avail)
            ));
        } else {
            io.outln(format!(
                "{fsname:<16} {:>9} {:>8} {:>9} {pct:>3}% {mnt}",
                size / 1024,
                used / 1024,
                avail / 1024
            ));
        }
    }
    0
}

fn rm(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let (f, ops) = flags(args);
    let force = f.contains('f');
    let recursive = f.contains('r') || f.contains('R');
    if ops.is_empty() && !force {
        io.errln("rm: Needs 1 argument");
        return 1;
    }
    let mut code = 0;
    for op in &ops {
        let p = at(sh, op);
        let meta = match fs::symlink_metadata(&p.host) {
            Ok(m) => m,
            Err(e) => {
                if !force {
                    io.errln(format!("rm: {op}: {}", errstr(&e)));
                    code = 1;
                }
                continue;
            }
        };
        if let Err(msg) = check_writable(sh, &p) {
            io.errln(format!("rm: {op}: {msg}"));
            code = 1;
            continue;
        }
        let res = if meta.is_dir() {
            if !recursive {
                io.errln(format!("rm: {op}: Is a directory"));
                code = 1;
                continue;
            }
            fs::remove_dir_all(&p.host)
        } else {
            fs::remove_file(&p.host)
        };
        if let Err(e) = res {
            io.errln(format!("rm: {op}: {}", errstr(&e)));
            code = 1;
        }
    }
    code
}

fn rmdir(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let (_, ops) = flags(args);
    let mut code = 0;
    for op in &ops {
        let p = at(sh, op);
        let res =
            check_writable(sh, &p).and_then(|_| fs::remove_dir(&p.host).map_err(|e| errstr(&e)));
        if let Err(msg) = res {
            io.errln(format!("rmdir: {op}: {msg}"));
            code = 1;
        }
    }
    code
}

fn mkdir(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let (f, ops) = flags(args);
    let parents = f.contains('p');
    if ops.is_empty() {
        io.errln("mkdir: Needs 1 argument");
        return 1;
    }
    let mut code = 0;
    for op in &ops {
        let p = at(sh, op);
        if p.host.is_dir() && parents {
            continue;
        }
        let res = check_writable(sh, &p).and_then(|_| {
            if parents {
                fs::create_dir_all(&p.host)
            } else {
                fs::create_dir(&p.host)
            }
            .map_err(|e| errstr(&e))
        });
        if let Err(msg) = res {
            io.errln(format!("mkdir: '{op}': {msg}"));
            code = 1;
        }
    }
    code
}

fn touch(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let (_, ops) = flags(args);
    let mut code = 0;
    for op in &ops {
        let p = at(sh, op);
        let res = check_writable(sh, &p).and_then(|_| {
            fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p.host)
                .and_then(|f| f.set_modified(std::time::SystemTime::now()))
                .map_err(|e| errstr(&e))
        });
        if let Err(msg) = res {
            io.errln(format!("touch: '{op}': {msg}"));
            code = 1;
        }
    }
    code
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    let m = fs::symlink_metadata(from)?;
    if m.is_dir() {
        fs::create_dir_all(to)?;
        for e in fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else {
        fs::copy(from, to).map(|_| ())
    }
}

fn mv_cp(sh: &mut Sh, name: &str, args: &[String], io: &mut Io) -> u8 {
    let (f, ops) = flags(args);
    if ops.len() < 2 {
        io.errln(format!("{name}: Needs 2 arguments"));
        return 1;
    }
    let (srcs, dst) = ops.split_at(ops.len() - 1);
    let dst = at(sh, &dst[0]);
    let dst_is_dir = dst.host.is_dir();
    let mut code = 0;
    for s in srcs {
        let src = at(sh, s);
        let target = if dst_is_dir {
            let base = src.canon.rsplit('/').next().unwrap_or("");
            P {
                canon: join(&dst.canon, base),
                host: dst.host.join(base),
            }
        } else {
            P {
                canon: dst.canon.clone(),
                host: dst.host.clone(),
            }
        };
        let res = (|| {
            if !sh.phone.fs.readable(&src.canon) {
                return Err(EACCES.to_string());
            }
            let meta = fs::symlink_metadata(&src.host).map_err(|e| errstr(&e))?;
            check_writable(sh, &target)?;
            if name == "mv" {
                check_writable(sh, &src)?;
                fs::rename(&src.host, &target.host).map_err(|e| errstr(&e))
            } else if meta.is_dir() && !(f.contains('r') || f.contains('R') || f.contains('a')) {
                Err("Is a directory (use -r)".into())
            } else {
                copy_tree(&src.host, &target.host).map_err(|e| errstr(&e))
            }
        })();
        if let Err(msg) = res {
            io.errln(format!("{name}: {s}: {msg}"));
            code = 1;
        }
    }
    code
}

fn wc(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let (f, ops) = flags(args);
    let (l, w, c) = if f.is_empty() {
        (true, true, true)
    } else {
        (
            f.contains('l'),
            f.contains('w'),
            f.contains('c') || f.contains('m'),
        )
    };
    each_input(sh, "wc", &ops, io, |op, r, io| {
        let mut data = Vec::new();
        let _ = r.read_to_end(&mut data);
        let mut fields = Vec::new();
        if l {
            fields.push(data.iter().filter(|&&b| b == b'\n').count().to_string());
        }
        if w {
            fields.push(
                data.split(|b| b.is_ascii_whitespace())
                    .filter(|s| !s.is_empty())
                    .count()
                    .to_string(),
            );
        }
        if c {
            fields.push(data.len().to_string());
        }
        if op != "-" {
            fields.push(op.to_string());
        }
        io.outln(fields.join(" "));
    })
}

fn head_tail(sh: &mut Sh, name: &str, args: &[String], io: &mut Io) -> u8 {
    let mut lines: usize = 10;
    let mut bytes: Option<usize> = None;
    let mut ops = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "-n" || a == "-c" {
            let v = args
                .get(i + 1)
                .and_then(|v| v.trim_start_matches(['+', '-']).parse().ok());
            let Some(v) = v else {
                io.errln(format!("{name}: bad {a}"));
                return 1;
            };
            if a == "-n" {
                lines = v;
            } else {
                bytes = Some(v);
            }
            i += 1;
        } else if let Some(n) = a.strip_prefix('-').and_then(|n| n.parse().ok()) {
            lines = n;
        } else {
            ops.push(a.clone());
        }
        i += 1;
    }
    let tail = name == "tail";
    each_input(sh, name, &ops, io, |_, r, io| {
        let mut data = Vec::new();
        let _ = r.read_to_end(&mut data);
        if let Some(b) = bytes {
            let s = if tail {
                &data[data.len().saturating_sub(b)..]
            } else {
                &data[..b.min(data.len())]
            };
            io.out.extend_from_slice(s);
            return;
        }
        let parts: Vec<&[u8]> = data.split_inclusive(|&b| b == b'\n').collect();
        let chosen = if tail {
            &parts[parts.len().saturating_sub(lines)..]
        } else {
            &parts[..lines.min(parts.len())]
        };
        for p in chosen {
            io.out.extend_from_slice(p);
        }
    })
}

fn grep(sh: &mut Sh, args: &[String], io: &mut Io) -> u8 {
    let mut f = String::new();
    let mut pattern: Option<String> = None;
    let mut ops = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "-e" {
            pattern = args.get(i + 1).cloned();
            i += 1;
        } else if a.len() > 1 && a.starts_with('-') {
            f.push_str(&a[1..]);
        } else if pattern.is_none() {
            pattern = Some(a.clone());
        } else {
            ops.push(a.clone());
        }
        i += 1;
    }
    let Some(pattern) = pattern else {
        io.errln("grep: no pattern");
        return 2;
    };
    let ci = f.contains('i');
    let invert = f.contains('v');
    let count = f.contains('c');
    let quiet = f.contains('q');
    let pat = if ci { pattern.to_lowercase() } else { pattern };
    // Plain substring match; a leading ^ or trailing $ anchor is honoured.
    let (anchor_start, anchor_end) = (pat.starts_with('^'), pat.ends_with('$') && pat.len() > 1);
    let core = pat
        .trim_start_matches('^')
        .trim_end_matches('$')
        .to_string();
    let multi = ops.len() > 1;
    let mut found = false;
    let code = each_input(sh, "grep", &ops, io, |op, r, io| {
        let mut data = Vec::new();
        let _ = r.read_to_end(&mut data);
        let text = String::from_utf8_lossy(&data);
        let mut n = 0;
        for line in text.lines() {
            let hay = if ci {
                line.to_lowercase()
            } else {
                line.to_string()
            };
            let m = match (anchor_start, anchor_end) {
                (true, true) => hay == core,
                (true, false) => hay.starts_with(&core),
                (false, true) => hay.ends_with(&core),
                _ => hay.contains(&core),
            };
            if m != invert {
                n += 1;
                found = true;
                if !count && !quiet {
                    if multi {
                        io.outln(format!("{op}:{line}"));
                    } else {
                        io.outln(line);
                    }
                }
            }
        }
        if count && !quiet {
            io.outln(if multi {
                format!("{op}:{n}")
            } else {
                n.to_string()
            });
        }
    });
    if code != 0 {
        2
    } else if found {
        0
    } else {
        1
    }
}

/// `test`/`[`: file tests, string and integer comparisons, `!`.
pub fn test(sh: &mut Sh, name: &str, args: &[String], io: &mut Io) -> u8 {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    if name == "[" {
        if args.last() != Some(&"]") {
            io.errln("[: missing ]");
            return 2;
        }
        args.pop();
    }
    let mut negate = false;
    if args.first() == Some(&"!") {
        negate = true;
        args.remove(0);
    }
    let result = match args.as_slice() {
        [] => false,
        [s] => !s.is_empty(),
        ["-n", s] => !s.is_empty(),
        ["-z", s] => s.is_empty(),
        [op, path] if op.len() == 2 && op.starts_with('-') => {
            let p = at(sh, path);
            let m = fs::metadata(&p.host);
            match *op {
                "-e" => m.is_ok(),
                "-f" => m.is_ok_and(|m| m.is_file()),
                "-d" => m.is_ok_and(|m| m.is_dir()),
                "-s" => m.is_ok_and(|m| m.len() > 0),
                "-r" => m.is_ok() && sh.phone.fs.readable(&p.canon),
                "-w" => m.is_ok() && sh.phone.fs.writable(&p.canon),
                "-x" => m.is_ok_and(|m| m.is_dir()),
                "-L" | "-h" => fs::symlink_metadata(&p.host).is_ok_and(|m| m.is_symlink()),
                _ => {
                    io.errln(format!("{name}: unknown operator {op}"));
                    return 2;
                }
            }
        }
        [a, "=", b] | [a, "==", b] => a == b,
        [a, "!=", b] => a != b,
        [a, op, b] => {
            let (Ok(x), Ok(y)) = (a.parse::<i64>(), b.parse::<i64>()) else {
                io.errln(format!("{name}: bad number"));
                return 2;
            };
            match *op {
                "-eq" => x == y,
                "-ne" => x != y,
                "-gt" => x > y,
                "-ge" => x >= y,
                "-lt" => x < y,
                "-le" => x <= y,
                _ => {
                    io.errln(format!("{name}: unknown operator {op}"));
                    return 2;
                }
            }
        }
        _ => {
            io.errln(format!("{name}: too many arguments"));
            return 2;
        }
    };
    u8::from(result == negate)
}
