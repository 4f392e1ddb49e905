//! Invalid inputs must fail with an error at the right key path and position.

use virtstrap_butane::Kind;

use crate::common::{std_files_dir, translate};
use crate::invalid_cases::INVALID;

/// Translate an invalid input and check its first error.
pub fn check_invalid(
    name: &str,
    input: &str,
    needs_files: bool,
    path: &str,
    line: usize,
    col: usize,
) {
    let files = std_files_dir();
    let dir = needs_files.then(|| files.path());
    let err = match translate(input, dir) {
        Ok(t) => panic!("{name}: must fail, translated to {}", t.to_json(false)),
        Err(e) => e,
    };
    let errors: Vec<_> = err
        .report
        .entries
        .iter()
        .filter(|e| e.kind == Kind::Error)
        .collect();
    assert!(
        !errors.is_empty(),
        "{name}: failed without an error entry: {err}"
    );
    let found = errors.iter().any(|e| {
        e.path.to_string() == path && e.mark.is_some_and(|m| m.line == line && m.col == col)
    });
    assert!(
        found,
        "{name}: expected an error at {path}, line {line} col {col}; got:\n{}",
        errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn invalid_inputs_fail_at_the_right_place() {
    assert!(INVALID.len() >= 35);
    let mut failures = Vec::new();
    for &(name, input, needs_files, path, line, col) in INVALID {
        if crate::known_bugs::KNOWN_BUGS.contains(&name) {
            continue;
        }
        let r =
            std::panic::catch_unwind(|| check_invalid(name, input, needs_files, path, line, col));
        if let Err(e) = r {
            failures.push(e.downcast_ref::<String>().cloned().unwrap_or_default());
        }
    }
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn empty_input_fails_without_position() {
    for input in ["", "# only a comment\n", "---\n"] {
        let err = translate(input, None).expect_err("empty config must fail");
        assert!(
            err.report.entries.iter().any(|e| e.kind == Kind::Error),
            "{input:?}: {err}"
        );
    }
}

#[test]
fn non_utf8_input_fails() {
    let opts = virtstrap_butane::Options {
        files_dir: None,
        no_auto_compression: false,
    };
    let err = virtstrap_butane::translate(b"variant: fcos\nversion: 1.4.0\n# \xff\n", &opts)
        .expect_err("invalid UTF-8 must fail");
    assert!(!err.report.entries.is_empty());
}

#[test]
fn local_without_files_dir_names_the_flag() {
    let input = "variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /a\n      contents:\n        local: hello.txt\n";
    let err = translate(input, None).expect_err("no files-dir");
    assert!(
        err.report
            .entries
            .iter()
            .any(|e| e.message.contains("-d/--files-dir")),
        "{:?}",
        err.report.entries
    );
}
