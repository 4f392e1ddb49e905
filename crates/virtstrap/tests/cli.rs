//! The `virtstrap butane` command, run as a real process in a temporary
//! directory: input from stdin or a file, `-o`, `--pretty`, `--check`,
//! `--strict`, errors with `file:line:col`, `--help`, and `butane` argv[0]
//! mode through a symlink.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const VALID: &str = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/motd\n      mode: 0644\n      contents:\n        inline: hello\n";
const EXPECTED: &str = r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"compression":"","source":"data:,hello"},"mode":420}]}}"#;
/// Translates, with a warning (decimal mode 644).
const WARNS: &str =
    "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/a\n      mode: 644\n";
/// Relative path: an error at line 5, column 13.
const INVALID: &str = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: etc/a\n";

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_virtstrap"))
}

/// Run `program args...` in `dir` with `stdin` as standard input.
fn run_prog(program: &Path, dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn virtstrap");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// Run `virtstrap butane args...` in `dir`.
fn butane(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut all = vec!["butane"];
    all.extend_from_slice(args);
    run_prog(&binary(), dir, &all, stdin)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn stdin_input() {
    let dir = tempdir();
    let out = butane(dir.path(), &[], VALID);
    assert_ok(&out);
    assert_eq!(json(&text(&out.stdout)), json(EXPECTED));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn file_input() {
    let dir = tempdir();
    fs::write(dir.path().join("in.bu"), VALID).expect("write input");
    let out = butane(dir.path(), &["in.bu"], "");
    assert_ok(&out);
    assert_eq!(json(&text(&out.stdout)), json(EXPECTED));
}

#[test]
fn output_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let out = butane(dir.path(), &["-o", "out.ign"], VALID);
    assert_ok(&out);
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    let path = dir.path().join("out.ign");
    let written = fs::read_to_string(&path).expect("output written");
    assert_eq!(json(&written), json(EXPECTED));
    let mode = fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "output mode {mode:o}");
}

#[test]
fn pretty_output() {
    let dir = tempdir();
    let out = butane(dir.path(), &["--pretty"], VALID);
    assert_ok(&out);
    let s = text(&out.stdout);
    assert!(s.contains("\n  \"ignition\": {"), "not pretty: {s}");
    assert_eq!(json(&s), json(EXPECTED));
}

#[test]
fn check_prints_nothing() {
    let dir = tempdir();
    let out = butane(dir.path(), &["--check"], VALID);
    assert_ok(&out);
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
}

#[test]
fn warnings_pass_without_strict() {
    let dir = tempdir();
    let out = butane(dir.path(), &[], WARNS);
    assert_ok(&out);
    assert!(text(&out.stderr).contains("$.storage.files.0.mode"));
    json(&text(&out.stdout));
}

#[test]
fn strict_fails_on_warning() {
    let dir = tempdir();
    let out = butane(dir.path(), &["--strict"], WARNS);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("$.storage.files.0.mode"));
}

#[test]
fn invalid_input_reports_file_line_col() {
    let dir = tempdir();
    fs::write(dir.path().join("bad.bu"), INVALID).expect("write input");
    let out = butane(dir.path(), &["bad.bu"], "");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("bad.bu:5:13"), "stderr: {err}");
    assert!(err.contains("$.storage.files.0.path"), "stderr: {err}");
}

#[test]
fn raw_errors_one_line() {
    let dir = tempdir();
    let out = butane(dir.path(), &["--raw-errors"], INVALID);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("error at $.storage.files.0.path, line 5 col 13: path not absolute"),
        "stderr: {err}"
    );
}

#[test]
fn files_dir_flag() {
    let dir = tempdir();
    fs::create_dir(dir.path().join("files")).expect("mkdir");
    fs::write(dir.path().join("files/motd"), "hello").expect("write local");
    let input = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/motd\n      mode: 0644\n      contents:\n        local: motd\n";
    let out = butane(dir.path(), &["-d", "files"], input);
    assert_ok(&out);
    assert_eq!(json(&text(&out.stdout)), json(EXPECTED));
    let out = butane(dir.path(), &[], input);
    assert!(!out.status.success(), "local without -d must fail");
}

#[test]
fn help_exits_zero() {
    let dir = tempdir();
    for args in [&["butane", "--help"][..], &["--help"][..]] {
        let out = run_prog(&binary(), dir.path(), args, "");
        assert_ok(&out);
        assert!(!out.stdout.is_empty(), "{args:?}: no help text");
    }
}

#[test]
fn butane_argv0_mode() {
    let dir = tempdir();
    let link = dir.path().join("butane");
    std::os::unix::fs::symlink(binary(), &link).expect("symlink");
    let out = run_prog(&link, dir.path(), &["--pretty"], VALID);
    assert_ok(&out);
    assert_eq!(json(&text(&out.stdout)), json(EXPECTED));
    let out = run_prog(&link, dir.path(), &["--strict"], WARNS);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn butane_usage_version_and_usage_errors_name_virtstrap_butane() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = butane(dir.path(), &["--help"], "");
    assert_eq!(help.status.code(), Some(0));
    assert!(
        text(&help.stdout).contains("Usage: virtstrap butane [OPTIONS] [INPUT]"),
        "{}",
        text(&help.stdout)
    );
    let version = butane(dir.path(), &["--version"], "");
    assert_eq!(
        text(&version.stdout).trim(),
        format!("virtstrap-butane {}", env!("CARGO_PKG_VERSION"))
    );
    let bad = butane(dir.path(), &["--bogus"], "");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("Usage: virtstrap butane"),
        "{}",
        text(&bad.stderr)
    );
    // the same command through the whole command line's parser
    let via_help = run_prog(&binary(), dir.path(), &["help", "butane"], "");
    assert_eq!(text(&via_help.stdout), text(&help.stdout));
}
