//! Helpers shared by the test modules.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use virtstrap_butane::{ButaneError, Kind, Options, Report, Translated};

/// Translate `input` with an optional files-dir.
pub fn translate(input: &str, files_dir: Option<&Path>) -> Result<Translated, ButaneError> {
    let opts = Options {
        files_dir: files_dir.map(Path::to_path_buf),
        no_auto_compression: false,
    };
    virtstrap_butane::translate(input.as_bytes(), &opts)
}

/// The standard files-dir the fixtures were generated with (by the
/// generator of `tests/fixtures/valid`): plain files, a binary file, a big
/// file, and a `tree` with an executable, subdirectories, symlinks and an
/// empty directory.
pub fn std_files_dir() -> tempfile::TempDir {
    const FILES: &[(&str, &[u8], u32)] = &[
        ("hello.txt", b"hello\n", 0o644),
        ("sub/nested.txt", b"nested <&>\n", 0o644),
        ("key.pub", b"ssh-ed25519 AAAAlocal user@host\n", 0o644),
        ("unit.service", b"[Service]\nExecStart=/bin/true\n", 0o644),
        ("drop.conf", b"[Service]\nEnvironment=A=1\n", 0o644),
        (
            "ca.pem",
            b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            0o644,
        ),
        ("merge.ign", br#"{"ignition":{"version":"3.0.0"}}"#, 0o644),
        ("bin.dat", b"\x00\x01\x02\xff", 0o644),
        ("tree/a.txt", b"a\n", 0o644),
        ("tree/exec.sh", b"#!/bin/sh\necho hi\n", 0o755),
        ("tree/sub/b.txt", b"b\n", 0o644),
        ("tree/sub/deeper/c.txt", b"c\n", 0o644),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, contents, mode) in FILES {
        write_file(&dir.path().join(path), contents, *mode);
    }
    write_file(&dir.path().join("bigfile"), &[b'B'; 4000], 0o644);
    symlink("a.txt", &dir.path().join("tree/sym"));
    symlink("../exec.sh", &dir.path().join("tree/sub/dsym"));
    fs::create_dir_all(dir.path().join("tree/emptydir")).expect("mkdir emptydir");
    dir
}

fn write_file(path: &Path, contents: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(path, contents).expect("write file");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Create a symlink at `link` pointing to `target`.
pub fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

/// The JSON with every `data:` URL replaced by its decoded (and, when
/// gzipped, decompressed) bytes: Go's gzip output differs from ours.
pub fn canonical(text: &str) -> Value {
    let v: Value = serde_json::from_str(text).expect("output is JSON");
    decode_urls(v)
}

fn decode_urls(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.into_iter().map(|(k, x)| (k, decode_urls(x))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(decode_urls).collect()),
        Value::String(s) if s.starts_with("data:") => {
            Value::String(format!("decoded data URL {:?}", decode_data_url(&s)))
        }
        other => other,
    }
}

fn decode_data_url(url: &str) -> Vec<u8> {
    let (head, data) = url.split_once(',').expect("data URL has a comma");
    let raw = if head.ends_with(";base64") {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("valid base64")
    } else {
        percent_decode(data)
    };
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    } else {
        raw
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ascii escape");
            out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Assert two Ignition JSON texts are equal after decoding data URLs.
pub fn assert_same_config(name: &str, ours: &str, expected: &str) {
    let (a, b) = (canonical(ours), canonical(expected));
    assert!(
        a == b,
        "{name}: output differs from Butane v0.29.0\n ours:     {ours}\n expected: {expected}"
    );
}

/// (kind, path, line, col) of every entry of a report, sorted.
pub fn positions(report: &Report, kind: Kind) -> Vec<(String, usize, usize)> {
    let mut v: Vec<_> = report
        .entries
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| {
            let (l, c) = e.mark.map_or((0, 0), |m| (m.line, m.col));
            (e.path.to_string(), l, c)
        })
        .collect();
    v.sort();
    v
}

/// Parse Butane `--raw-errors` lines (`warning at $.a, line 3 col 5: ...`)
/// of one kind into sorted (path, line, col).
pub fn parse_raw(text: &str, kind: &str) -> Vec<(String, usize, usize)> {
    let prefix = format!("{kind} at ");
    let mut v: Vec<_> = text
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (path, rest) = rest.split_once(", line ").expect("raw line has a position");
            let (line, rest) = rest.split_once(" col ").expect("raw line has a column");
            let col = rest.split(':').next().expect("column");
            (
                path.to_string(),
                line.parse().expect("line number"),
                col.parse().expect("column number"),
            )
        })
        .collect();
    v.sort();
    v
}

/// Every config with Ignition version <= 3.6.0 must parse with the
/// `ignition-config` crate without warnings.
pub fn assert_ignition_parses(name: &str, t: &Translated) {
    if t.ignition_version.contains("experimental") {
        return;
    }
    let json = t.to_json(false);
    let (_, warnings) = ignition_config::Config::parse_str(&json)
        .unwrap_or_else(|e| panic!("{name}: ignition-config rejects our output: {e}\n{json}"));
    assert!(
        warnings.is_empty(),
        "{name}: ignition-config warnings {warnings:?}\n{json}"
    );
}

/// `tests/fixtures/valid` of this crate.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid")
}

/// Read a file that must exist.
pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
