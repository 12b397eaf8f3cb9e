//! Go binaries: the build information the Go linker embeds (`\xff Go buildinf:`),
//! read from ELF, Mach-O and PE executables without running them.
//!
//! The layout follows Go's `debug/buildinfo`: a 32-byte header aligned to 16
//! bytes holding the magic, the pointer size and flags. Since Go 1.18 (flag bit
//! 2) the toolchain version and the module information follow the header as
//! varint-prefixed strings; before that, the header holds two pointers to Go
//! string headers, which are translated to file offsets through the program
//! headers (ELF), load commands (Mach-O) or section table (PE).

use super::{exe_kind, ExeKind};
use garrison_model::{Ecosystem, Package};
use object::{Object, ObjectSection, ObjectSegment};
use std::collections::BTreeMap;

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_SIZE: usize = 32;
const ALIGN: usize = 16;
/// How far past the start of the data area the header is searched for, as Go does.
const SEARCH_WINDOW: usize = 64 * 1024;
/// Longest version or module-info string accepted.
const MAX_STRING: u64 = 4 << 20;
/// Longest build-setting value kept in a property.
const MAX_PROPERTY: usize = 512;

const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_VERSION_INLINE: u8 = 0x2;

/// Why build information could not be read from a binary that looks like Go.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildInfoError {
    #[error("cannot read the executable headers: {0}")]
    Object(String),
    #[error("build info header is truncated")]
    TruncatedHeader,
    #[error("unsupported pointer size {0} in the build info header")]
    PointerSize(u8),
    #[error("{what} string is truncated or has a bad length")]
    BadString { what: &'static str },
    #[error("{what} string points to address {addr:#x}, which no segment maps")]
    Unmapped { what: &'static str, addr: u64 },
    #[error("{what} string is longer than {MAX_STRING} bytes")]
    TooLong { what: &'static str },
    #[error("the Go version string is empty")]
    NoVersion,
    #[error("module info line {line}: {reason}")]
    ModInfo { line: usize, reason: String },
}

/// The raw build information of a Go binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBuildInfo {
    /// Toolchain version as recorded: `go1.19.8`.
    pub go_version: String,
    /// Module information text (without its framing), empty when the binary
    /// was built outside module mode.
    pub modinfo: String,
}

/// One module line (`mod` or `dep`), with its replacement when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Module {
    pub path: String,
    pub version: String,
    pub sum: String,
    pub replace: Option<Box<Module>>,
}

/// The parsed module information.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildInfo {
    pub go_version: String,
    /// The main package path (`path` line).
    pub path: String,
    pub main: Option<Module>,
    pub deps: Vec<Module>,
    /// `build` settings in order: `-compiler=gc`, `GOOS=linux`, `vcs.revision=...`.
    pub settings: Vec<(String, String)>,
}

/// Finds and decodes the build information of a Go executable.
///
/// `Ok(None)` means the bytes are not a Go executable with build information
/// (not an executable format, or no header where Go puts it). Never panics.
pub fn read_build_info(data: &[u8]) -> Result<Option<RawBuildInfo>, BuildInfoError> {
    let Some(kind) = exe_kind(data) else {
        return Ok(None);
    };
    let file = object::File::parse(data).map_err(|e| BuildInfoError::Object(e.to_string()))?;
    build_info_of(&file, kind)
}

/// [`read_build_info`] for an already parsed executable.
pub(crate) fn build_info_of(
    file: &object::File<'_>,
    kind: ExeKind,
) -> Result<Option<RawBuildInfo>, BuildInfoError> {
    let Some(window) = data_window(file, kind) else {
        return Ok(None);
    };
    let Some(header) = find_header(window) else {
        return Ok(None);
    };
    let (Some(&ptr_size), Some(&flags)) = (header.get(14), header.get(15)) else {
        return Err(BuildInfoError::TruncatedHeader);
    };
    let (go_version, modinfo) = if flags & FLAG_VERSION_INLINE != 0 {
        let rest = header
            .get(HEADER_SIZE..)
            .ok_or(BuildInfoError::TruncatedHeader)?;
        let (vers, rest) = decode_varint_string(rest, "version")?;
        let (modinfo, _) = decode_varint_string(rest, "module info")?;
        (vers.to_vec(), modinfo.to_vec())
    } else {
        let big = flags & FLAG_BIG_ENDIAN != 0;
        let read_ptr = |b: &[u8]| -> Option<u64> {
            match (ptr_size, big) {
                (4, false) => Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?) as u64),
                (4, true) => Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as u64),
                (8, false) => Some(u64::from_le_bytes(b.get(..8)?.try_into().ok()?)),
                (8, true) => Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?)),
                _ => None,
            }
        };
        if ptr_size != 4 && ptr_size != 8 {
            return Err(BuildInfoError::PointerSize(ptr_size));
        }
        let p = ptr_size as usize;
        let vers_addr = header
            .get(16..)
            .and_then(read_ptr)
            .ok_or(BuildInfoError::TruncatedHeader)?;
        let mod_addr = header
            .get(16 + p..)
            .and_then(read_ptr)
            .ok_or(BuildInfoError::TruncatedHeader)?;
        let vers = read_go_string(file, vers_addr, p, &read_ptr, "version")?;
        let modinfo = read_go_string(file, mod_addr, p, &read_ptr, "module info")?;
        (vers, modinfo)
    };
    if go_version.is_empty() {
        return Err(BuildInfoError::NoVersion);
    }
    // Module info is framed by two 16-byte sentinels; the text ends with a newline.
    let modinfo = if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        &modinfo[16..modinfo.len() - 16]
    } else {
        &[][..]
    };
    Ok(Some(RawBuildInfo {
        go_version: String::from_utf8_lossy(&go_version).into_owned(),
        modinfo: String::from_utf8_lossy(modinfo).into_owned(),
    }))
}

/// The bytes where the build info header must start, as Go's linker places
/// it: the `.go.buildinfo` section (ELF; `__go_buildinfo` in Mach-O), or the
/// first writable data area when the binary has no such section. `None` when
/// the section table says this is not a Go binary.
fn data_window<'d>(file: &object::File<'d>, kind: ExeKind) -> Option<&'d [u8]> {
    let section = match kind {
        ExeKind::Elf => ".go.buildinfo",
        ExeKind::MachO => "__go_buildinfo",
        ExeKind::Pe => ".data",
    };
    if let Some(s) = file.section_by_name(section) {
        let data = s.data().ok()?;
        return Some(&data[..data.len().min(SEARCH_WINDOW)]);
    }
    let has_sections = file.sections().next().is_some();
    if has_sections {
        // Every Go toolchain that writes build info (1.13+) also writes its section.
        return None;
    }
    // Section headers stripped: the first writable load segment, as `debug/buildinfo` does.
    let seg = file
        .segments()
        .find(|s| s.permissions().writable() && !s.permissions().executable())?;
    let data = seg.data().ok()?;
    Some(&data[..data.len().min(SEARCH_WINDOW)])
}

/// Finds the 16-byte aligned build info header in `window`, returning the
/// bytes from the header on.
fn find_header(mut window: &[u8]) -> Option<&[u8]> {
    loop {
        let i = find(window, MAGIC)?;
        if window.len() - i < HEADER_SIZE {
            return None;
        }
        if i % ALIGN == 0 {
            return window.get(i..);
        }
        let next = (i + ALIGN - 1) & !(ALIGN - 1);
        window = window.get(next..)?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a uvarint-length-prefixed string (Go 1.18+ inline format).
fn decode_varint_string<'a>(
    data: &'a [u8],
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), BuildInfoError> {
    let mut len: u64 = 0;
    let mut shift = 0u32;
    let mut i = 0usize;
    loop {
        let b = *data.get(i).ok_or(BuildInfoError::BadString { what })?;
        i += 1;
        if shift >= 64 {
            return Err(BuildInfoError::BadString { what });
        }
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    if len > MAX_STRING {
        return Err(BuildInfoError::TooLong { what });
    }
    let end = i
        .checked_add(len as usize)
        .ok_or(BuildInfoError::BadString { what })?;
    let s = data.get(i..end).ok_or(BuildInfoError::BadString { what })?;
    Ok((s, &data[end..]))
}

/// Reads a Go string header (data pointer, length) at `addr` and the bytes it
/// points to (pre-1.18 pointer format).
fn read_go_string(
    file: &object::File<'_>,
    addr: u64,
    ptr_size: usize,
    read_ptr: &dyn Fn(&[u8]) -> Option<u64>,
    what: &'static str,
) -> Result<Vec<u8>, BuildInfoError> {
    let hdr =
        read_at(file, addr, 2 * ptr_size as u64).ok_or(BuildInfoError::Unmapped { what, addr })?;
    let data_addr = read_ptr(hdr).ok_or(BuildInfoError::BadString { what })?;
    let len = hdr
        .get(ptr_size..)
        .and_then(read_ptr)
        .ok_or(BuildInfoError::BadString { what })?;
    if len > MAX_STRING {
        return Err(BuildInfoError::TooLong { what });
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    read_at(file, data_addr, len)
        .map(<[u8]>::to_vec)
        .ok_or(BuildInfoError::Unmapped {
            what,
            addr: data_addr,
        })
}

/// The file bytes that virtual address range `addr..addr+len` maps to.
fn read_at<'d>(file: &object::File<'d>, addr: u64, len: u64) -> Option<&'d [u8]> {
    for seg in file.segments() {
        if let Ok(Some(d)) = seg.data_range(addr, len) {
            return Some(d);
        }
    }
    for sec in file.sections() {
        if let Ok(Some(d)) = sec.data_range(addr, len) {
            return Some(d);
        }
    }
    None
}

/// Parses module information text as `runtime/debug.ParseBuildInfo` does.
pub fn parse_modinfo(go_version: &str, text: &str) -> Result<BuildInfo, BuildInfoError> {
    let mut info = BuildInfo {
        go_version: go_version.to_string(),
        ..BuildInfo::default()
    };
    // Which module a `=>` line replaces: None, the main module, or deps[i].
    #[derive(Clone, Copy)]
    enum Last {
        None,
        Main,
        Dep(usize),
    }
    let mut last = Last::None;
    for (n, line) in text.lines().enumerate() {
        let err = |reason: &str| BuildInfoError::ModInfo {
            line: n + 1,
            reason: reason.to_string(),
        };
        if line.is_empty() {
            continue;
        }
        let (word, rest) = line.split_once('\t').unwrap_or((line, ""));
        match word {
            "go" => {}
            "path" => info.path = rest.to_string(),
            "mod" | "dep" => {
                let m = parse_module(rest)
                    .ok_or_else(|| err("module line needs a path and a version"))?;
                if word == "mod" {
                    info.main = Some(m);
                    last = Last::Main;
                } else {
                    info.deps.push(m);
                    last = Last::Dep(info.deps.len() - 1);
                }
            }
            "=>" => {
                let r =
                    parse_replacement(rest).ok_or_else(|| err("replacement line needs a path"))?;
                let target = match last {
                    Last::Main => info.main.as_mut(),
                    Last::Dep(i) => info.deps.get_mut(i),
                    Last::None => None,
                };
                let m = target.ok_or_else(|| err("replacement without a module before it"))?;
                if m.replace.is_some() {
                    return Err(err("module replaced twice"));
                }
                m.replace = Some(Box::new(r));
                last = Last::None;
            }
            "build" => {
                let (k, v) = parse_setting(rest).ok_or_else(|| err("malformed build setting"))?;
                info.settings.push((k, v));
            }
            _ => return Err(err("unknown line type")),
        }
    }
    Ok(info)
}

fn parse_module(rest: &str) -> Option<Module> {
    let mut f = rest.split('\t');
    let path = f.next().filter(|s| !s.is_empty())?;
    let version = f.next()?;
    let sum = f.next().unwrap_or("");
    Some(Module {
        path: path.to_string(),
        version: version.to_string(),
        sum: sum.to_string(),
        replace: None,
    })
}

fn parse_replacement(rest: &str) -> Option<Module> {
    let mut f = rest.split('\t');
    let path = f.next().filter(|s| !s.is_empty())?;
    Some(Module {
        path: path.to_string(),
        version: f.next().unwrap_or("").to_string(),
        sum: f.next().unwrap_or("").to_string(),
        replace: None,
    })
}

/// `key=value`, either side possibly Go-quoted.
fn parse_setting(kv: &str) -> Option<(String, String)> {
    let (key, raw_value) = match kv.as_bytes().first()? {
        b'=' => return None,
        b'"' | b'`' => {
            let (key, used) = unquote_prefix(kv)?;
            let rest = kv.get(used..)?.strip_prefix('=')?;
            (key, rest)
        }
        _ => {
            let (k, v) = kv.split_once('=')?;
            (k.to_string(), v)
        }
    };
    let value = match raw_value.as_bytes().first() {
        Some(b'"') | Some(b'`') => {
            let (v, used) = unquote_prefix(raw_value)?;
            if used != raw_value.len() {
                return None;
            }
            v
        }
        _ => raw_value.to_string(),
    };
    Some((key, value))
}

/// Unquotes a Go string literal at the start of `s` (raw or interpreted),
/// returning the value and how many bytes the literal took.
fn unquote_prefix(s: &str) -> Option<(String, usize)> {
    let mut chars = s.char_indices();
    let (_, q) = chars.next()?;
    let mut out = String::new();
    if q == '`' {
        for (i, c) in chars {
            if c == '`' {
                return Some((out, i + 1));
            }
            out.push(c);
        }
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, i + 1)),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    '\\' => out.push('\\'),
                    '"' => out.push('"'),
                    '\'' => out.push('\''),
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v = 0u32;
                        for _ in 0..n {
                            v = v * 16 + chars.next()?.1.to_digit(16)?;
                        }
                        out.push(char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    d @ '0'..='7' => {
                        let mut v = d.to_digit(8)?;
                        for _ in 0..2 {
                            v = v * 8 + chars.next()?.1.to_digit(8)?;
                        }
                        out.push(char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER));
                    }
                    _ => return None,
                }
            }
            '\n' => return None,
            c => out.push(c),
        }
    }
    None
}

/// The Go release of a toolchain version string in the form the Go
/// vulnerability database uses: `go1.19.8` -> `1.19.8`, `go1.20` -> `1.20.0`,
/// `go1.21rc2` -> `1.21.0-rc.2`. `None` for development builds.
pub fn stdlib_version(go_version: &str) -> Option<String> {
    let v = go_version.split_whitespace().next()?.strip_prefix("go")?;
    // Experiment suffixes (`go1.21.0 X:boringcrypto`) were dropped by split_whitespace.
    let (num, pre) = match v.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    let parts: Vec<&str> = num.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut out = parts.join(".");
    if parts.len() == 2 {
        out.push_str(".0");
    }
    if let Some(pre) = pre {
        let (label, n) = match pre.find(|c: char| c.is_ascii_digit()) {
            Some(i) => (&pre[..i], &pre[i..]),
            None => (pre, ""),
        };
        if !matches!(label, "rc" | "beta") || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        out.push('-');
        out.push_str(label);
        if !n.is_empty() {
            out.push('.');
            out.push_str(n);
        }
    }
    Some(out)
}

/// The packages a Go binary's build information names: the main module
/// (`go.main=true`), every dependency, and the toolchain as `stdlib`.
pub fn packages(info: &BuildInfo, location: &str) -> Vec<Package> {
    let mut common = BTreeMap::new();
    common.insert("go.toolchain".to_string(), info.go_version.clone());
    let mut settings = BTreeMap::new();
    if !info.path.is_empty() {
        settings.insert("go.path".to_string(), info.path.clone());
    }
    for (k, v) in &info.settings {
        let mut v = v.clone();
        if v.len() > MAX_PROPERTY {
            let mut cut = MAX_PROPERTY;
            while !v.is_char_boundary(cut) {
                cut -= 1;
            }
            v.truncate(cut);
            v.push('…');
        }
        settings.insert(format!("go.build.{k}"), v);
    }
    let mut out = Vec::new();
    if let Some(main) = &info.main {
        let mut p = module_package(main, location);
        p.properties.extend(common.clone());
        p.properties.extend(settings.clone());
        p.properties
            .insert("go.main".to_string(), "true".to_string());
        out.push(p);
    }
    for dep in &info.deps {
        let mut p = module_package(dep, location);
        p.properties.extend(common.clone());
        out.push(p);
    }
    if let Some(v) = stdlib_version(&info.go_version) {
        let mut p = Package::new(Ecosystem::Go, "stdlib", v, location);
        p.properties.extend(common);
        p.properties.extend(settings);
        out.push(p);
    }
    out
}

/// Whether a replacement target is a directory rather than a module path
/// (Go's `modfile.IsDirectoryPath`).
pub fn is_directory_path(p: &str) -> bool {
    p.starts_with("./")
        || p.starts_with("../")
        || p.starts_with('/')
        || p.starts_with(".\\")
        || p.starts_with("..\\")
        || p == "."
        || p == ".."
        || (p.len() >= 3 && p.as_bytes()[1] == b':' && matches!(p.as_bytes()[2], b'\\' | b'/'))
}

/// A module as a package: a replacement by another module wins; a replacement
/// by a local directory keeps the required path and version and records the
/// directory.
fn module_package(m: &Module, location: &str) -> Package {
    let mut props = BTreeMap::new();
    let (path, version, sum) = match m.replace.as_deref() {
        Some(r) if is_directory_path(&r.path) => {
            props.insert("go.replace.dir".to_string(), r.path.clone());
            (&m.path, &m.version, &r.sum)
        }
        Some(r) => {
            props.insert(
                "go.replaces".to_string(),
                format!("{}@{}", m.path, m.version),
            );
            (&r.path, &r.version, &r.sum)
        }
        None => (&m.path, &m.version, &m.sum),
    };
    if !sum.is_empty() {
        props.insert("go.sum".to_string(), sum.clone());
    }
    let mut p = Package::new(Ecosystem::Go, path.clone(), version.clone(), location);
    p.properties = props;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_versions() {
        assert_eq!(stdlib_version("go1.19.8").as_deref(), Some("1.19.8"));
        assert_eq!(stdlib_version("go1.20").as_deref(), Some("1.20.0"));
        assert_eq!(stdlib_version("go1.21rc2").as_deref(), Some("1.21.0-rc.2"));
        assert_eq!(
            stdlib_version("go1.22.1 X:boringcrypto").as_deref(),
            Some("1.22.1")
        );
        assert_eq!(stdlib_version("devel go1.23-abcdef"), None);
        assert_eq!(stdlib_version("go"), None);
    }

    #[test]
    fn modinfo_with_replacements_and_quoted_settings() {
        let text = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n\
dep\texample.com/lib\tv1.0.0\t\n=>\t../lib\t(devel)\t\n\
dep\tgolang.org/x/text\tv0.3.0\th1:abc=\n=>\tgithub.com/fork/text\tv0.3.8\th1:def=\n\
build\t-ldflags=\"-s -w\"\nbuild\tGOOS=linux\nbuild\t\"we=ird\"=`raw`\n";
        let info = parse_modinfo("go1.19.8", text).unwrap();
        assert_eq!(info.path, "example.com/app");
        assert_eq!(info.main.as_ref().unwrap().version, "(devel)");
        assert_eq!(info.deps.len(), 2);
        assert_eq!(info.deps[0].replace.as_ref().unwrap().path, "../lib");
        assert_eq!(
            info.settings,
            vec![
                ("-ldflags".into(), "-s -w".into()),
                ("GOOS".into(), "linux".into()),
                ("we=ird".into(), "raw".into())
            ]
        );
        let pkgs = packages(&info, "/app");
        let names: Vec<(&str, &str)> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("example.com/app", "(devel)"),
                ("example.com/lib", "v1.0.0"),
                ("github.com/fork/text", "v0.3.8"),
                ("stdlib", "1.19.8")
            ]
        );
        assert_eq!(pkgs[1].properties["go.replace.dir"], "../lib");
        assert_eq!(
            pkgs[2].properties["go.replaces"],
            "golang.org/x/text@v0.3.0"
        );
        assert_eq!(pkgs[0].properties["go.build.-ldflags"], "-s -w");
    }

    #[test]
    fn modinfo_errors_name_the_line() {
        let e = parse_modinfo("go1.19", "path\tx\n=>\ty\tv1\t\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "module info line 2: replacement without a module before it"
        );
        assert!(parse_modinfo("go1.19", "bogus\tline").is_err());
        assert!(parse_modinfo("go1.19", "build\t=x").is_err());
        assert!(parse_modinfo("go1.19", "build\t\"unterminated=x").is_err());
    }

    #[test]
    fn not_executables_are_ignored() {
        assert_eq!(read_build_info(b""), Ok(None));
        assert_eq!(read_build_info(b"#!/bin/sh\necho hi\n"), Ok(None));
        assert_eq!(read_build_info(b"\x7fELF\x02\x01\x01"), Ok(None));
        let mut short = b"\x7fELF\x02\x01\x01".to_vec();
        short.resize(20, 0);
        assert!(read_build_info(&short).is_err());
    }

    #[test]
    fn header_search_respects_alignment() {
        let mut w = vec![0u8; 8];
        w.extend_from_slice(MAGIC); // misaligned copy, ignored
        w.resize(32, 0);
        w.extend_from_slice(MAGIC);
        w.resize(32 + HEADER_SIZE, 0);
        let h = find_header(&w).unwrap();
        assert_eq!(h.len(), HEADER_SIZE);
        assert!(find_header(&w[..40]).is_none());
    }

    #[test]
    fn varint_strings_are_bounds_checked() {
        assert_eq!(
            decode_varint_string(&[3, b'a', b'b', b'c', 9], "v").unwrap(),
            (&b"abc"[..], &[9u8][..])
        );
        assert!(decode_varint_string(&[5, b'a'], "v").is_err());
        assert!(decode_varint_string(&[0xff; 12], "v").is_err());
        assert!(decode_varint_string(&[], "v").is_err());
    }
}
