//! `virtstrap butane`: input from stdin or a file, `-o`, `--pretty`,
//! `--check`, `--strict`, errors with `file:line:col`, `--help`, and
//! `butane` argv[0] mode through a symlink.

use std::os::unix::fs::PermissionsExt;

use crate::util::{virtstrap, Dir, TestCommand};

const VALID: &str = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/motd\n      mode: 0644\n      contents:\n        inline: hello\n";
const EXPECTED: &str = r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"/etc/motd","contents":{"compression":"","source":"data:,hello"},"mode":420}]}}"#;
/// Translates, with a warning (decimal mode 644).
const WARNS: &str =
    "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/a\n      mode: 644\n";
/// Relative path: an error at line 5, column 13.
const INVALID: &str = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: etc/a\n";

/// `virtstrap butane`, run in `dir`.
fn butane(dir: &Dir) -> TestCommand {
    dir.command().args(["butane"])
}

#[test]
fn stdin_input() {
    let dir = Dir::new();
    butane(&dir)
        .stdin(VALID)
        .run()
        .assert_ok()
        .assert_stdout_json(EXPECTED)
        .assert_stderr_empty();
}

#[test]
fn file_input() {
    let dir = Dir::new();
    dir.write("in.bu", VALID);
    butane(&dir)
        .args(["in.bu"])
        .run()
        .assert_ok()
        .assert_stdout_json(EXPECTED);
}

#[test]
fn output_file_is_private() {
    let dir = Dir::new();
    butane(&dir)
        .args(["-o", "out.ign"])
        .stdin(VALID)
        .run()
        .assert_ok()
        .assert_stdout_empty();
    let written: serde_json::Value =
        serde_json::from_str(&dir.read("out.ign")).expect("the output is JSON");
    let expected: serde_json::Value = serde_json::from_str(EXPECTED).expect("EXPECTED is JSON");
    assert_eq!(written, expected);
    let meta = std::fs::metadata(dir.join("out.ign")).expect("stat out.ign");
    let mode = meta.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "output mode {mode:o}");
}

#[test]
fn pretty_output() {
    let dir = Dir::new();
    butane(&dir)
        .args(["--pretty"])
        .stdin(VALID)
        .run()
        .assert_ok()
        .assert_stdout_contains("\n  \"ignition\": {")
        .assert_stdout_json(EXPECTED);
}

#[test]
fn check_prints_nothing() {
    let dir = Dir::new();
    butane(&dir)
        .args(["--check"])
        .stdin(VALID)
        .run()
        .assert_ok()
        .assert_stdout_empty();
}

#[test]
fn warnings_pass_without_strict() {
    let dir = Dir::new();
    let out = butane(&dir).stdin(WARNS).run();
    out.assert_ok()
        .assert_stderr_contains("$.storage.files.0.mode");
    out.stdout_json();
}

#[test]
fn strict_fails_on_warning() {
    let dir = Dir::new();
    butane(&dir)
        .args(["--strict"])
        .stdin(WARNS)
        .run()
        .assert_exit(1)
        .assert_stderr_contains("$.storage.files.0.mode");
}

#[test]
fn invalid_input_reports_file_line_col() {
    let dir = Dir::new();
    dir.write("bad.bu", INVALID);
    butane(&dir)
        .args(["bad.bu"])
        .run()
        .assert_failed()
        .assert_stdout_empty()
        .assert_stderr_contains("bad.bu:5:13")
        .assert_stderr_contains("$.storage.files.0.path");
}

#[test]
fn raw_errors_one_line() {
    let dir = Dir::new();
    butane(&dir)
        .args(["--raw-errors"])
        .stdin(INVALID)
        .run()
        .assert_failed()
        .assert_stderr_contains(
            "error at $.storage.files.0.path, line 5 col 13: path not absolute",
        );
}

#[test]
fn files_dir_flag() {
    let dir = Dir::new();
    dir.write("files/motd", "hello");
    let input = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/motd\n      mode: 0644\n      contents:\n        local: motd\n";
    butane(&dir)
        .args(["-d", "files"])
        .stdin(input)
        .run()
        .assert_ok()
        .assert_stdout_json(EXPECTED);
    // local without -d must fail
    butane(&dir).stdin(input).run().assert_failed();
}

#[test]
fn help_exits_zero() {
    let dir = Dir::new();
    for args in [&["butane", "--help"][..], &["--help"][..]] {
        let out = dir.command().args(args).run();
        out.assert_ok()
            .assert(!out.stdout().is_empty(), "help text on stdout");
    }
}

#[test]
fn butane_argv0_mode() {
    let dir = Dir::new();
    let link = dir.join("butane");
    std::os::unix::fs::symlink(virtstrap(), &link).expect("symlink");
    TestCommand::new(&link, dir.path())
        .args(["--pretty"])
        .stdin(VALID)
        .run()
        .assert_ok()
        .assert_stdout_json(EXPECTED);
    TestCommand::new(&link, dir.path())
        .args(["--strict"])
        .stdin(WARNS)
        .run()
        .assert_exit(1);
}

#[test]
fn butane_usage_version_and_usage_errors_name_virtstrap_butane() {
    let dir = Dir::new();
    let help = butane(&dir).args(["--help"]).run();
    help.assert_exit(0)
        .assert_stdout_contains("Usage: virtstrap butane [OPTIONS] [INPUT]");
    let version = butane(&dir).args(["--version"]).run();
    let want = format!("virtstrap-butane {}", env!("CARGO_PKG_VERSION"));
    version.assert(version.stdout().trim() == want, &format!("stdout {want:?}"));
    butane(&dir)
        .args(["--bogus"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("Usage: virtstrap butane");
    // the same command through the whole command line's parser
    let via_help = dir.command().args(["help", "butane"]).run();
    via_help.assert_same_stdout(&help);
}
