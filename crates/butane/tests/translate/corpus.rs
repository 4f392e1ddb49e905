//! The shared conformance corpus, translated in-process. The corpus lives
//! outside this repository (`../shared/conformance/butane/corpus/valid`
//! relative to the repository root, or `$VIRTSTRAP_SHARED/conformance/...`
//! as `scripts/test` takes it); when it is missing the test fails.

use std::fs;
use std::path::{Path, PathBuf};

use virtstrap_butane::Kind;

use crate::common::{
    assert_ignition_parses, assert_same_config, parse_raw, positions, read, symlink, translate,
};

/// The corpus directory; panics when it is absent.
fn corpus_dir() -> PathBuf {
    let shared = std::env::var_os("VIRTSTRAP_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    let dir = shared.join("conformance/butane/corpus/valid");
    assert!(
        dir.is_dir(),
        "conformance corpus not found at {} (expected ../shared/conformance next to the repository)",
        dir.display()
    );
    dir
}

/// The files-dir named by `NAME.args` (`--files-dir X`), if any.
fn files_dir_arg(dir: &Path, name: &str) -> Option<PathBuf> {
    let args_file = dir.join(format!("{name}.args"));
    if !args_file.exists() {
        return None;
    }
    let text = read(&args_file);
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [] => None,
        ["--files-dir" | "-d", d] => Some(dir.join(d)),
        other => panic!("{name}: unexpected args {other:?}"),
    }
}

/// Copy a directory tree (regular files and directories only).
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// butanedoc-examples-08: the corpus copy lost `tree/directory/symlink`
/// (now a regular file holding `../file`); restore the symlink in a copy.
fn restored_example_08(files_dir: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(files_dir, tmp.path());
    let link = tmp.path().join("tree/directory/symlink");
    fs::remove_file(&link).expect("remove symlink stand-in");
    symlink("../file", &link);
    tmp
}

/// Expected warnings of a case, from its `NAME.meta.json`.
fn expected_warnings(dir: &Path, name: &str) -> Vec<(String, usize, usize)> {
    let meta: serde_json::Value =
        serde_json::from_str(&read(&dir.join(format!("{name}.meta.json")))).expect("meta JSON");
    parse_raw(meta["warnings_raw"].as_str().unwrap_or(""), "warning")
}

fn check_case(dir: &Path, name: &str) {
    let input = read(&dir.join(format!("{name}.bu")));
    let expected = read(&dir.join(format!("{name}.ign")));
    let mut files_dir = files_dir_arg(dir, name);
    let _restored = if name == "butanedoc-examples-08" {
        let tmp = restored_example_08(files_dir.as_deref().expect("08 has a files-dir"));
        files_dir = Some(tmp.path().to_path_buf());
        Some(tmp)
    } else {
        None
    };
    let t = translate(&input, files_dir.as_deref())
        .unwrap_or_else(|e| panic!("{name}: translation failed: {e} {:#?}", e.report.entries));
    assert_same_config(name, &t.to_json(false), &expected);
    assert_eq!(
        positions(&t.report, Kind::Warning),
        expected_warnings(dir, name),
        "{name}: warnings differ from Butane v0.29.0"
    );
    assert_ignition_parses(name, &t);
}

#[test]
fn conformance_corpus_valid() {
    let dir = corpus_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("read corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".bu").map(str::to_string))
        .collect();
    names.sort();
    assert!(
        names.len() >= 60,
        "corpus looks truncated: {} cases",
        names.len()
    );
    let mut failures = Vec::new();
    for name in &names {
        if let Err(e) = std::panic::catch_unwind(|| check_case(&dir, name)) {
            failures.push(e.downcast_ref::<String>().cloned().unwrap_or_default());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n\n")
    );
}
